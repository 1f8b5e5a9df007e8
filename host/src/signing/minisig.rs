//! A minisign signature file (`.minisig`) over a file's BLAKE2b-512
//! prehash, as `minisign -S` makes one: algorithm `ED` (prehashed Ed25519),
//! the key ID, the signature of the prehash; then the trusted comment and
//! the global signature of (signature ‖ trusted comment).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use blake2::{Blake2b512, Digest};

use super::keys::SecretKey;

/// BLAKE2b-512 of a byte stream given in chunks: minisign's prehash.
#[derive(Clone, Default)]
pub struct Prehash(Blake2b512);

impl Prehash {
    pub fn new() -> Self {
        Prehash(Blake2b512::new())
    }
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
    pub fn finish(self) -> [u8; 64] {
        self.0.finalize().into()
    }
}

/// [`Prehash`] on a thread of its own, fed shared chunks: a write's two
/// busy threads (sealer and judge) do not wait for the hash, and the bounded
/// queue (a few chunks) keeps memory flat if the hash falls behind.
pub struct PrehashThread {
    tx: Option<std::sync::mpsc::SyncSender<bytes::Bytes>>,
    handle: std::thread::JoinHandle<[u8; 64]>,
}

/// Chunks queued for the hashing thread at most.
const PREHASH_QUEUE: usize = 4;

impl PrehashThread {
    /// Starts the thread.
    pub fn spawn() -> std::io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(PREHASH_QUEUE);
        let handle = std::thread::Builder::new()
            .name("csvseal-prehash".into())
            .spawn(move || {
                let mut h = Prehash::new();
                for chunk in rx {
                    h.update(&chunk);
                }
                h.finish()
            })?;
        Ok(PrehashThread {
            tx: Some(tx),
            handle,
        })
    }

    /// Adds the next bytes (a cheap shared handle, not a copy).
    pub fn update(&self, bytes: bytes::Bytes) {
        if let Some(tx) = &self.tx {
            // The thread only ends when the sender is dropped: a send cannot fail.
            let _ = tx.send(bytes);
        }
    }

    /// The prehash of everything given.
    pub fn finish(mut self) -> [u8; 64] {
        drop(self.tx.take());
        self.handle
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    }
}

/// A reader that takes the prehash of everything read through it.
pub struct PrehashReader<R> {
    inner: R,
    prehash: Prehash,
}

impl<R: std::io::Read> PrehashReader<R> {
    pub fn new(inner: R) -> Self {
        PrehashReader {
            inner,
            prehash: Prehash::new(),
        }
    }

    /// The prehash of the bytes read so far.
    pub fn finish(self) -> [u8; 64] {
        self.prehash.finish()
    }
}

impl<R: std::io::Read> std::io::Read for PrehashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.prehash.update(&buf[..n]);
        Ok(n)
    }
}

/// The `.minisig` text for a file whose prehash is `prehash`.
pub fn sign_prehashed(key: &SecretKey, prehash: &[u8; 64], trusted_comment: &str) -> String {
    let signature = key.sign(prehash);
    let mut line = Vec::with_capacity(74);
    line.extend_from_slice(b"ED");
    line.extend_from_slice(&key.id().0);
    line.extend_from_slice(&signature);
    let mut global = Vec::with_capacity(64 + trusted_comment.len());
    global.extend_from_slice(&signature);
    global.extend_from_slice(trusted_comment.as_bytes());
    let global = key.sign(&global);
    format!(
        "untrusted comment: signature from csvseal secret key {}\n{}\ntrusted comment: {}\n{}\n",
        key.id(),
        B64.encode(line),
        trusted_comment,
        B64.encode(global)
    )
}
