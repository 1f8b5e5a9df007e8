//! Verifying bytes while they are being written elsewhere.
//!
//! A write sends the sealer's output two ways at once: to its sink (here,
//! the parts of an upload) and, through a bounded channel, to this thread,
//! which feeds a fresh session of csvseal's built-in verifier and hashes
//! what it verified, in segments of a fixed length (one per upload part, so
//! each segment's SHA-256 can be checked against the part the store
//! received). The commit happens only if the verdict is good and the
//! segments' hashes equal the sink's.
//!
//! Nothing here knows about object storage: a local sink can use it with
//! one segment (`u64::MAX`) to get the SHA-256 of the bytes verified.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::report::VerifyReport;
use crate::sandbox::Sandbox;
use crate::verify::{Schema, start};

/// Chunks queued for the verifier; with the sealer's ~1 MiB outputs this
/// bounds the memory the verifier may lag behind by.
const QUEUE: usize = 8;

/// The verifier's verdict on everything it was fed.
#[derive(Debug)]
pub struct TeeVerdict {
    pub report: VerifyReport,
    /// SHA-256 of each segment of the bytes verified, in order.
    pub segments: Vec<[u8; 32]>,
    /// Bytes verified.
    pub bytes: u64,
}

/// A verifier running on its own thread.
pub struct VerifyTee<'scope> {
    tx: Option<SyncSender<Bytes>>,
    handle: ScopedJoinHandle<'scope, Result<TeeVerdict>>,
}

impl<'scope> VerifyTee<'scope> {
    /// Starts the verifier (`sandbox` must be csvseal's built-in one).
    pub fn spawn<'env>(
        scope: &'scope Scope<'scope, 'env>,
        sandbox: &'env Sandbox,
        schema: Option<&'env Schema>,
        segment_len: u64,
    ) -> Self {
        assert!(segment_len > 0);
        let (tx, rx) = sync_channel::<Bytes>(QUEUE);
        let handle = std::thread::Builder::new()
            .name("csvseal-verify".into())
            .spawn_scoped(scope, move || run(sandbox, schema, segment_len, rx))
            .expect("cannot start the verifier thread");
        VerifyTee {
            tx: Some(tx),
            handle,
        }
    }

    /// Queues `chunk` for verification (blocks while the queue is full).
    /// `false`: the verifier has stopped on an error; [`Self::finish`]
    /// returns it.
    pub fn feed(&self, chunk: Bytes) -> bool {
        self.tx.as_ref().is_some_and(|tx| tx.send(chunk).is_ok())
    }

    /// Ends the input and returns the verdict.
    pub fn finish(mut self) -> Result<TeeVerdict> {
        drop(self.tx.take());
        self.handle
            .join()
            .unwrap_or_else(|_| Err(Error::Sandbox("the verifier thread panicked".into())))
    }
}

fn run(
    sandbox: &Sandbox,
    schema: Option<&Schema>,
    segment_len: u64,
    rx: Receiver<Bytes>,
) -> Result<TeeVerdict> {
    let mut session = start(sandbox, schema)?;
    let mut segments = vec![];
    let mut hasher = Sha256::new();
    let mut in_segment = 0u64;
    let mut bytes = 0u64;
    for chunk in rx {
        session.feed(&chunk)?;
        bytes += chunk.len() as u64;
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            let take = rest.len().min((segment_len - in_segment) as usize);
            hasher.update(&rest[..take]);
            in_segment += take as u64;
            rest = &rest[take..];
            if in_segment == segment_len {
                segments.push(hasher.finalize_reset().into());
                in_segment = 0;
            }
        }
    }
    if in_segment > 0 || segments.is_empty() {
        segments.push(hasher.finalize().into());
    }
    Ok(TeeVerdict {
        report: session.finish()?,
        segments,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::Limits;

    fn segments_of(data: &[u8], chunk: usize, segment_len: u64) -> Vec<[u8; 32]> {
        let sandbox = Sandbox::builtin(Limits::default()).unwrap();
        std::thread::scope(|s| {
            let tee = VerifyTee::spawn(s, &sandbox, None, segment_len);
            for c in data.chunks(chunk) {
                assert!(tee.feed(Bytes::copy_from_slice(c)));
            }
            let v = tee.finish().unwrap();
            assert_eq!(v.bytes, data.len() as u64);
            v.segments
        })
    }

    #[test]
    fn segments_are_fixed_slices_whatever_the_chunking() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let want: Vec<[u8; 32]> = data.chunks(64).map(|c| Sha256::digest(c).into()).collect();
        for chunk in [1, 7, 64, 100, 1000] {
            assert_eq!(segments_of(&data, chunk, 64), want, "chunks of {chunk}");
        }
        // A length that is a multiple of the segment: no empty last segment.
        assert_eq!(segments_of(&data[..640], 33, 64).len(), 10);
        // Nothing at all: one segment, the empty hash (one empty object).
        assert_eq!(
            segments_of(&[], 1, 64),
            vec![<[u8; 32]>::from(Sha256::digest(b""))]
        );
    }
}
