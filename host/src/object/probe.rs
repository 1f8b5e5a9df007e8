//! Refusing stores that ignore conditional writes.
//!
//! csvseal's no-clobber guarantee on object storage is the store's: a
//! commit is sent with `If-None-Match: *` (or `If-Match` when replacing),
//! and a store that ignores those headers would silently overwrite. Such a
//! store must be detected, not trusted, so before the first write to a
//! prefix csvseal asks it to break each rule it relies on, on a probe
//! object it owns (`{prefix}.csvseal-probe`, a few bytes, kept), and refuses
//! to write if any rule is not enforced. The result is cached for the run.
//!
//! It also sends a part whose `x-amz-checksum-sha256` is not its bytes'.
//! A store that takes it does not check the checksums it is sent, so the
//! checksum it reports back may be an echo: such a store is not refused,
//! but every write to it is confirmed by reading the object back.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use sha2::{Digest, Sha256};

use super::bucket::Bucket;
use super::runtime::block_on;
use super::s3api::{Committed, Condition};
use crate::error::{Error, Result};

/// The probe object's name under a prefix.
pub const PROBE_NAME: &str = ".csvseal-probe";
const PROBE_BODY: &[u8] =
    b"csvseal conditional-write probe (see csvseal's docs/object-storage.md)\n";
/// An ETag no object can have.
const NO_SUCH_ETAG: &str = "\"csvseal-probe-no-such-etag\"";
const PROBE_WRITE_ID: &str = "probe";

/// Checks, once per run and prefix, that the store enforces `If-None-Match:
/// *` and `If-Match` on PutObject and on CompleteMultipartUpload;
/// [`Error::StoreUnsupported`] if it does not.
pub(crate) fn ensure_conditional_writes(bucket: &Bucket, prefix: &str) -> Result<()> {
    static CHECKED: OnceLock<Mutex<HashSet<(String, String)>>> = OnceLock::new();
    let checked = CHECKED.get_or_init(Default::default);
    let id = (bucket.endpoint.clone(), prefix.to_owned());
    if checked
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(&id)
    {
        return Ok(());
    }
    block_on(probe(bucket, prefix))?;
    tracing::debug!(prefix, "the store enforces conditional writes");
    checked.lock().unwrap_or_else(|e| e.into_inner()).insert(id);
    Ok(())
}

async fn probe(b: &Bucket, prefix: &str) -> Result<()> {
    let key = format!("{prefix}{PROBE_NAME}");
    let sha: [u8; 32] = Sha256::digest(PROBE_BODY).into();
    let put = |cond: &'static Condition| {
        b.put_conditional(&key, PROBE_BODY.into(), sha, cond, PROBE_WRITE_ID)
    };
    let unsupported = |what: &str| Error::StoreUnsupported {
        location: b.url_of(prefix),
        missing: what.to_owned(),
    };
    let no_such = Condition::Match(NO_SUCH_ETAG.into());
    // Make sure the probe object exists (created now, or already there).
    put(&Condition::Create).await?;
    if let Committed::Done(_) = put(&Condition::Create).await? {
        return Err(unsupported("If-None-Match: * on PutObject"));
    }
    if let Committed::Done(_) = b
        .put_conditional(&key, PROBE_BODY.into(), sha, &no_such, PROBE_WRITE_ID)
        .await?
    {
        return Err(unsupported("If-Match on PutObject"));
    }
    // The same rules on completing a multipart upload (how files larger
    // than one part are committed).
    let upload = b.create_upload(&key, PROBE_WRITE_ID).await?;
    let result = async {
        let etag = b
            .upload_part(&key, &upload, 1, PROBE_BODY.into(), sha)
            .await?;
        let parts = [(etag, sha)];
        if let Committed::Done(_) = b
            .complete_upload(&key, &upload, &parts, &Condition::Create)
            .await?
        {
            return Err(unsupported("If-None-Match: * on CompleteMultipartUpload"));
        }
        if let Committed::Done(_) = b.complete_upload(&key, &upload, &parts, &no_such).await? {
            return Err(unsupported("If-Match on CompleteMultipartUpload"));
        }
        // Not a refusal: whether the store's reported checksum proves
        // anything (see `upload::confirm`).
        let wrong: [u8; 32] = Sha256::digest(b"not the probe's bytes").into();
        let taken = b
            .part_taken_with_checksum(&key, &upload, 2, PROBE_BODY.into(), sha, wrong)
            .await?;
        b.note_checksums_checked(!taken);
        if taken {
            tracing::info!(file = %b.url_of(prefix).display(),
                "the store takes parts whose x-amz-checksum-sha256 is wrong: its checksums prove nothing, objects are read back after each write");
        }
        Ok(())
    }
    .await;
    // A refused complete leaves the upload open.
    if let Err(e) = b.abort_upload(&key, &upload).await {
        tracing::warn!(file = %b.url_of(&key).display(), cause = %e,
            "could not abort the probe's upload; `csvseal recover` will");
    }
    result
}
