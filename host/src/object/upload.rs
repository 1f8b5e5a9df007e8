//! The object-store "temp file": a multipart upload, invisible to readers
//! until it is completed, and never completed over an existing object.
//!
//! It is the sink of a checked write ([`crate::checked_seal`]) with
//! segments of [`PART_SIZE`]: each segment is one part, sent with the
//! SHA-256 the checking side computed of the bytes it judged (as
//! `x-amz-checksum-sha256`, so the store refuses a part whose bytes are
//! not the bytes judged), on the object-store runtime, at most
//! [`IN_FLIGHT`] at a time, so memory is bounded whatever the file's size.
//! A file that fits in one part is sent as one conditional PutObject at
//! the end instead. The commit completes with `If-None-Match: *` (or
//! `If-Match` when replacing), then confirms that what the store holds is
//! what was verified: its reported checksum, else a re-read. Dropped
//! without a commit, the upload is aborted. Each multipart upload is
//! recorded in [`super::ledger`] while it is open, for `recover`.

use std::sync::Arc;

use bytes::Bytes;
use object_store::PutPayload;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use super::bucket::Bucket;
use super::ledger;
use super::read;
use super::runtime::{block_on, spawn};
use super::s3api::{Committed, Condition, b64};
use crate::checked_seal::SealedSink;
use crate::error::{Error, Result};

/// Part size: S3 needs at least 5 MiB (but the last) and at most 10,000
/// parts, so this allows objects up to ~78 GiB.
pub const PART_SIZE: usize = 8 << 20;
/// Parts being uploaded at once. Memory: about `(IN_FLIGHT + 1) * PART_SIZE`.
pub const IN_FLIGHT: usize = 4;

type PartResult = Result<(String, [u8; 32])>;

/// How the stored object was checked against what was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredCheck {
    /// The store's SHA-256 checksum (whole object, or composite of parts).
    Checksum,
    /// The store reports no usable checksum: the object was read back.
    ReadBack,
}

/// A committed object.
#[derive(Debug, Clone)]
pub struct Stored {
    pub etag: String,
    pub check: StoredCheck,
}

/// An upload in progress.
pub(crate) struct Upload {
    bucket: Arc<Bucket>,
    key: String,
    write_id: String,
    /// Bytes of the segment being given, not yet sent.
    pending: Vec<Bytes>,
    pending_len: usize,
    /// The SHA-256 of a file shorter than a part, sent whole at the commit.
    whole: Option<[u8; 32]>,
    upload_id: Option<String>,
    /// One per part sent, in order; `Err` once taken and failed.
    parts: Vec<Part>,
    slots: Arc<Semaphore>,
    committed: bool,
}

enum Part {
    Running(JoinHandle<PartResult>),
    Done(String, [u8; 32]),
}

impl Upload {
    pub fn new(bucket: Arc<Bucket>, key: String, write_id: String) -> Self {
        Upload {
            bucket,
            key,
            write_id,
            pending: vec![],
            pending_len: 0,
            whole: None,
            upload_id: None,
            parts: vec![],
            slots: Arc::new(Semaphore::new(IN_FLIGHT)),
            committed: false,
        }
    }

    /// Sends the pending bytes as the next part, whose SHA-256 is `sha`.
    fn send_part(&mut self, sha: [u8; 32]) -> Result<()> {
        self.collect_finished()?;
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let id = block_on(self.bucket.create_upload(&self.key, &self.write_id))?;
                tracing::debug!(file = %self.bucket.url_of(&self.key).display(), "multipart upload started");
                self.upload_id = Some(id.clone());
                // Without its marker `recover` would not know it as ours;
                // a failure here aborts it (Drop).
                block_on(ledger::record(&self.bucket, &self.key, &id, &self.write_id))?;
                id
            }
        };
        // Blocks while IN_FLIGHT parts are uploading: the memory bound.
        let permit = block_on(self.slots.clone().acquire_owned()).expect("semaphore never closed");
        let chunks = std::mem::take(&mut self.pending);
        self.pending_len = 0;
        let number = self.parts.len() + 1;
        let (bucket, key) = (self.bucket.clone(), self.key.clone());
        self.parts.push(Part::Running(spawn(async move {
            let _permit = permit;
            let payload: PutPayload = chunks.into_iter().collect();
            let etag = bucket
                .upload_part(&key, &upload_id, number, payload, sha)
                .await?;
            Ok((etag, sha))
        })));
        Ok(())
    }

    /// Takes the results of parts that have finished; fails at the first
    /// failed one (so a failing store stops the write early).
    fn collect_finished(&mut self) -> Result<()> {
        for part in &mut self.parts {
            if let Part::Running(h) = part
                && h.is_finished()
            {
                *part = finished(&self.bucket, &self.key, block_on(h))?;
            }
        }
        Ok(())
    }

    /// Waits for every part and checks that they are the segments
    /// `verified`, all of them. Returns the parts.
    fn finish_parts(&mut self, verified: &[[u8; 32]]) -> Result<Vec<(String, [u8; 32])>> {
        let mut parts = vec![];
        for part in &mut self.parts {
            if let Part::Running(h) = part {
                *part = finished(&self.bucket, &self.key, block_on(h))?;
            }
            if let Part::Done(etag, sha) = part {
                parts.push((etag.clone(), *sha));
            }
        }
        let shas: Vec<[u8; 32]> = parts.iter().map(|p| p.1).collect();
        self.same_as_verified(&shas, verified)?;
        Ok(parts)
    }

    fn same_as_verified(&self, sent: &[[u8; 32]], verified: &[[u8; 32]]) -> Result<()> {
        if sent != verified {
            return Err(Error::StoredMismatch {
                path: self.bucket.url_of(&self.key),
                detail: "the bytes uploaded are not the bytes verified (SHA-256 per part differs); nothing was committed".into(),
            });
        }
        Ok(())
    }

    /// Commits under `cond`, after checking the bytes sent are all the
    /// bytes `verified` (segment hashes of [`PART_SIZE`]); then confirms the
    /// stored object. A precondition failure is [`Error::TargetExists`]
    /// (create) or [`Error::TargetChanged`] (replace), unless the object
    /// turns out to be this write's own (an earlier attempt of a retried
    /// request took effect).
    pub fn commit(mut self, verified: &[[u8; 32]], cond: &Condition) -> Result<Stored> {
        let bucket = self.bucket.clone();
        let key = self.key.clone();
        if self.pending_len > 0 && self.whole.is_none() {
            return Err(bucket.error(
                &key,
                "commit",
                "bytes were given that did not end a segment; nothing was committed",
            ));
        }
        let (outcome, expected) = if self.upload_id.is_none() {
            // An empty stream has no segment: its SHA-256 is the empty one.
            let sha = self.whole.unwrap_or_else(|| Sha256::digest(b"").into());
            let sent: &[[u8; 32]] = if self.pending_len == 0 { &[] } else { &[sha] };
            self.same_as_verified(sent, verified)?;
            let payload: PutPayload = std::mem::take(&mut self.pending).into_iter().collect();
            let outcome =
                block_on(bucket.put_conditional(&key, payload, sha, cond, &self.write_id))?;
            (outcome, Expected::Whole(sha))
        } else {
            let parts = self.finish_parts(verified)?;
            let upload_id = self.upload_id.clone().expect("multipart upload started");
            let outcome = block_on(bucket.complete_upload(&key, &upload_id, &parts, cond))?;
            (
                outcome,
                Expected::Parts(parts.into_iter().map(|p| p.1).collect()),
            )
        };
        let head = block_on(bucket.head(&key))?;
        let ours = head
            .as_ref()
            .is_some_and(|h| h.write_id.as_deref() == Some(self.write_id.as_str()));
        let etag = match outcome {
            Committed::Done(etag) => etag,
            Committed::PreconditionFailed if ours => {
                tracing::info!(file = %bucket.url_of(&key).display(),
                    "an earlier attempt of the commit took effect");
                head.as_ref().map(|h| h.etag.clone()).unwrap_or_default()
            }
            Committed::PreconditionFailed => {
                let path = bucket.url_of(&key);
                return Err(match cond {
                    Condition::Create => Error::TargetExists { path },
                    Condition::Match(_) => Error::TargetChanged { path },
                });
            }
        };
        // Committed: nothing to abort any more, whatever the check finds.
        self.committed = true;
        if let Some(id) = &self.upload_id {
            ledger::forget(&bucket, &key, id);
        }
        let Some(head) = head.filter(|_| ours) else {
            return Err(Error::StoredMismatch {
                path: bucket.url_of(&key),
                detail: "the object was replaced by another writer right after this write committed it (not through csvseal's conditional writes)".into(),
            });
        };
        let check = confirm(
            &bucket,
            &key,
            &head.etag,
            head.checksum_sha256.as_deref(),
            &expected,
        )?;
        Ok(Stored { etag, check })
    }
}

/// What the stored object must hash to.
enum Expected {
    /// One PutObject: its SHA-256.
    Whole([u8; 32]),
    /// A multipart object: its parts' SHA-256s.
    Parts(Vec<[u8; 32]>),
}

impl Expected {
    /// The checksum S3 reports for such an object: the SHA-256 (base64),
    /// or for a multipart object the SHA-256 of its parts' SHA-256s
    /// followed by `-N`.
    fn checksum(&self) -> String {
        match self {
            Expected::Whole(sha) => b64(sha),
            Expected::Parts(shas) => {
                let mut composite = Sha256::new();
                for sha in shas {
                    composite.update(sha);
                }
                format!("{}-{}", b64(&composite.finalize()), shas.len())
            }
        }
    }

    /// Its SHA-256 per [`PART_SIZE`] segment.
    fn segments(&self) -> Vec<[u8; 32]> {
        match self {
            Expected::Whole(sha) => vec![*sha],
            Expected::Parts(shas) => shas.clone(),
        }
    }

    /// Compares a reported checksum: `Some(true)` equal, `Some(false)`
    /// different, `None` not comparable (none reported, or for a multipart
    /// object one without its `-N`, i.e. of another kind).
    fn judge(&self, reported: Option<&str>) -> Option<bool> {
        let reported =
            reported.filter(|r| matches!(self, Expected::Whole(_)) || r.contains('-'))?;
        Some(reported == self.checksum())
    }
}

/// Checks the stored object against what was verified: by the store's
/// checksum when it reports a comparable one and was seen by the probe to
/// refuse a wrong one, else by reading it back.
fn confirm(
    bucket: &Arc<Bucket>,
    key: &str,
    etag: &str,
    reported: Option<&str>,
    expected: &Expected,
) -> Result<StoredCheck> {
    let mismatch = |detail: String| Error::StoredMismatch {
        path: bucket.url_of(key),
        detail,
    };
    match expected.judge(reported) {
        // The store's own checksum only if it checks what it is sent: a
        // store that does not may just echo the header of the upload.
        Some(true) if bucket.checksums_checked() => return Ok(StoredCheck::Checksum),
        Some(true) => {
            tracing::debug!(file = %bucket.url_of(key).display(),
                "the store was not seen to check the checksums it is sent; reading the object back");
        }
        Some(false) => {
            return Err(mismatch(format!(
                "the store's SHA-256 checksum is {}, the bytes verified give {}",
                reported.unwrap_or_default(),
                expected.checksum()
            )));
        }
        None => {
            tracing::debug!(file = %bucket.url_of(key).display(), "no stored checksum; reading the object back");
        }
    }
    let read = read::segment_digests(bucket, key, etag, PART_SIZE as u64).map_err(|e| match e {
        Error::TargetChanged { .. } => mismatch(
            "the object was replaced by another writer right after this write committed it".into(),
        ),
        e => e,
    })?;
    if read != expected.segments() {
        return Err(mismatch(
            "reading the committed object back gives other bytes than were verified".into(),
        ));
    }
    Ok(StoredCheck::ReadBack)
}

fn finished(
    bucket: &Bucket,
    key: &str,
    joined: std::result::Result<PartResult, tokio::task::JoinError>,
) -> Result<Part> {
    match joined {
        Ok(Ok((etag, sha))) => Ok(Part::Done(etag, sha)),
        Ok(Err(e)) => Err(e),
        Err(e) => Err(bucket.error(key, "upload part", format!("part upload task failed: {e}"))),
    }
}

impl SealedSink for Upload {
    fn write_sealed(&mut self, bytes: Bytes) -> Result<()> {
        self.pending_len += bytes.len();
        self.pending.push(bytes);
        if self.pending_len > PART_SIZE {
            return Err(self.bucket.error(
                &self.key,
                "upload part",
                "a segment longer than a part was given; nothing was committed",
            ));
        }
        Ok(())
    }

    fn end_segment(&mut self, digest: &[u8; 32]) -> Result<()> {
        if self.upload_id.is_none() && self.pending_len < PART_SIZE {
            // The only segment, shorter than a part: one PutObject at the
            // commit.
            self.whole = Some(*digest);
            return Ok(());
        }
        self.send_part(*digest)
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        for part in &self.parts {
            if let Part::Running(h) = part {
                h.abort();
            }
        }
        let Some(upload_id) = &self.upload_id else {
            return;
        };
        // The policy's "remove the temp file": an aborted upload can never
        // complete, and its parts are deleted.
        let url = self.bucket.url_of(&self.key);
        match block_on(self.bucket.abort_upload(&self.key, upload_id)) {
            Ok(()) => {
                crate::monitor::metrics::temp_swept(
                    crate::monitor::metrics::ORIGIN_ABANDONED_WRITE,
                );
                tracing::debug!(file = %url.display(), "multipart upload aborted");
                ledger::forget(&self.bucket, &self.key, upload_id);
            }
            Err(e) => {
                crate::monitor::metrics::temp_sweep_failed(
                    crate::monitor::metrics::ORIGIN_ABANDONED_WRITE,
                );
                tracing::error!(file = %url.display(), step = "abort multipart upload", cause = %e,
                    "the upload of a failed write could not be aborted; `csvseal recover` will abort it");
            }
        }
    }
}

/// A random id for this write, stored as object metadata.
pub(crate) fn new_write_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    // RandomState is seeded from the OS's randomness once per process.
    let mut id = String::new();
    for round in 0..2u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(round);
        h.write_u32(std::process::id());
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        id += &format!("{:016x}", h.finish());
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(b: &[u8]) -> [u8; 32] {
        Sha256::digest(b).into()
    }

    /// An upload to a store nobody listens at: the checks below fail
    /// before any request is sent.
    fn offline() -> Upload {
        let options = super::super::bucket::ObjectOptions {
            endpoint: Some("http://127.0.0.1:9".into()),
            ..Default::default()
        };
        let bucket = super::super::bucket::connect("offline", &options).unwrap();
        Upload::new(bucket, "k.csv".into(), "id".into())
    }

    fn message(e: Error) -> String {
        format!("{e} {:?}", e)
    }

    #[test]
    fn a_segment_longer_than_a_part_is_refused() {
        let mut u = offline();
        u.write_sealed(Bytes::from(vec![b'x'; PART_SIZE])).unwrap();
        let e = u.write_sealed(Bytes::from_static(b"x")).unwrap_err();
        assert!(message(e).contains("longer than a part"));
    }

    #[test]
    fn bytes_whose_segment_never_ended_are_not_committed() {
        let mut u = offline();
        u.write_sealed(Bytes::from_static(b"a,b\r\n")).unwrap();
        let e = u
            .commit(&[sha(b"a,b\r\n")], &Condition::Create)
            .unwrap_err();
        assert!(message(e).contains("did not end a segment"));
    }

    #[test]
    fn a_small_file_is_kept_for_one_put_and_must_be_what_was_verified() {
        let mut u = offline();
        u.write_sealed(Bytes::from_static(b"abc")).unwrap();
        // Shorter than a part: no upload is started (nothing is sent yet).
        u.end_segment(&sha(b"abc")).unwrap();
        assert!(u.upload_id.is_none() && u.parts.is_empty());
        let e = u.commit(&[sha(b"abd")], &Condition::Create).unwrap_err();
        assert!(matches!(e, Error::StoredMismatch { .. }), "{e:?}");
    }

    #[test]
    fn checksums_are_what_s3_reports() {
        // Reported by SeaweedFS 4.48 for a one-part upload of "a" * 10, and
        // for a PutObject of "hello" (the format AWS documents).
        let parts = Expected::Parts(vec![sha(b"aaaaaaaaaa")]);
        assert_eq!(
            parts.checksum(),
            "WtouwVs7kT2A5BWkNYjTx64NGe8h8mydX/bBnq/WC94=-1"
        );
        let whole = Expected::Whole(sha(b"hello"));
        assert_eq!(
            whole.checksum(),
            "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="
        );
    }

    #[test]
    fn a_different_checksum_is_a_mismatch_and_an_unknown_kind_is_read_back() {
        let parts = Expected::Parts(vec![sha(b"a"), sha(b"b")]);
        assert_eq!(parts.judge(Some(&parts.checksum())), Some(true));
        let other = Expected::Parts(vec![sha(b"a"), sha(b"c")]).checksum();
        assert_eq!(parts.judge(Some(&other)), Some(false));
        // A whole-object checksum of a multipart object: not comparable.
        assert_eq!(
            parts.judge(Some("LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=")),
            None
        );
        assert_eq!(parts.judge(None), None);
        let whole = Expected::Whole(sha(b"hello"));
        assert_eq!(whole.judge(Some(&whole.checksum())), Some(true));
        assert_eq!(whole.judge(Some("x")), Some(false));
        assert_eq!(whole.judge(None), None);
    }

    #[test]
    fn write_ids_differ() {
        let a = new_write_id();
        assert_eq!(a.len(), 32);
        assert_ne!(a, new_write_id());
    }
}
