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
