//! The sealed write to object storage: the local write's guarantees with a
//! multipart upload for the temp file and a conditional complete for the
//! no-replace rename.
//!
//! 1. Refuse a store that ignores conditional writes ([`super::probe`]).
//! 2. If the target exists: `target-exists`, or with `--replace` its ETag
//!    is the condition of the commit (and a `--backup-dir` is probed too).
//! 3. Stream input → sealer → a fresh built-in verifier on its own thread,
//!    which gives the bytes it judged to the upload, a part per segment,
//!    each with its SHA-256 for the store to check
//!    ([`crate::checked_seal`]).
//! 4. The verdict must be valid and agree with the sealer's summary, and
//!    every segment judged must be a part sent.
//! 5. `--replace`: a verified backup object of exactly the version being
//!    replaced ([`super::backup`]).
//! 6. Signed (`--sign-key`): put `KEY.minisig`, signing the prehash of the
//!    bytes judged, with `If-None-Match: *`, or `If-Match` on the ETag of
//!    the signature there (an orphan, or the replaced version's)
//!    ([`super::signature`]).
//! 7. Complete with `If-None-Match: *` (or `If-Match: ETAG`); then confirm
//!    the stored checksum (or read the object back), and that the signature
//!    is still this write's, before reporting success.
//!
//! Any failure aborts the upload: nothing is visible, the target untouched;
//! a signature put in step 6 is deleted (or the replaced one put back).

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::backup;
use super::bucket::Bucket;
use super::probe::ensure_conditional_writes;
use super::runtime::block_on;
use super::s3api::Condition;
use super::signature;
use super::upload::{PART_SIZE, Upload, new_write_id};
use crate::checked_seal::SealedSink;
use crate::deadline::{DeadlineReader, is_deadline};
use crate::error::{Error, Result};
use crate::location::ObjectUrl;
use crate::sandbox::Sandbox;
use crate::signing::Signed;
use crate::signing::minisig::Prehash;
use crate::store::naming;
use crate::write::{
    Committed, WriteControl, WriteRequest, builtin_judge, seal_request, signature_text,
};

/// Seals `input` into a new object `{prefix}{base}_YYYYMMDD_HHMMSS.csv`
/// (`req.dir` is not used; `prefix` is the location). See the module docs
/// for the steps; `control.wait` has no effect (writers of one key never
/// wait for each other: the first to complete wins, the others get
/// `target-exists`). Records the write's metrics.
pub fn write_sealed_object(
    bucket: &Arc<Bucket>,
    prefix: &ObjectUrl,
    control: &WriteControl,
    sandbox: &Sandbox,
    req: &WriteRequest,
    input: &mut dyn Read,
    input_label: &str,
) -> Result<Committed> {
    let started = Instant::now();
    let result = write_inner(bucket, prefix, control, sandbox, req, input, input_label);
    let result = result.map_err(|e| as_timeout(e, prefix, req, started, control.deadline));
    crate::write::record(started, &result);
    result
}

fn write_inner(
    bucket: &Arc<Bucket>,
    prefix: &ObjectUrl,
    control: &WriteControl,
    sandbox: &Sandbox,
    req: &WriteRequest,
    input: &mut dyn Read,
    input_label: &str,
) -> Result<Committed> {
    let deadline = control.deadline;
    let input = &mut DeadlineReader::new(input, deadline);
    let input = &mut *crate::write::decoded(input, req.encoding);
    crate::write::check_request(req)?;
    let prefix = prefix.as_prefix();
    let final_name = naming::final_name(&req.base_name, req.timestamp)?;
    let target = prefix.join(&final_name);
    if let Err(e) = object_store::path::Path::parse(&target.key) {
        return Err(Error::Usage(format!(
            "--name {:?}: not usable in an object key: {e}",
            req.base_name
        )));
    }
    ensure_conditional_writes(bucket, &prefix.key)?;
    let existing = block_on(bucket.head(&target.key))?;
    let cond = match (&existing, &control.replace) {
        (None, _) => Condition::Create,
        (Some(_), None) => {
            return Err(Error::TargetExists {
                path: target.to_path(),
            });
        }
        (Some(h), Some(policy)) => {
            // Before sealing: a backup location that cannot be written
            // safely fails the write now, not after the upload.
            backup::ensure_backup_location(bucket, &target, policy)?;
            Condition::Match(h.etag.clone())
        }
    };

    // The signature already there: an orphan (its object was never
    // committed), or the one of the version `--replace` supersedes, which
    // its backup keeps.
    let sig_key = signature::key_of(&target.key);
    let prior_sig = if control.sign.is_some() || existing.is_some() {
        signature::read_text(bucket, &sig_key, None)?
    } else {
        None
    };

    let own = builtin_judge(sandbox)?;
    let verifier = own.as_ref().unwrap_or(sandbox);
    tracing::debug!(file = %target, "sealing into a multipart upload");
    let write_id = new_write_id();
    let mut upload = Prehashing {
        upload: Upload::new(bucket.clone(), target.key.clone(), write_id.clone()),
        prehash: control.sign.as_ref().map(|_| Prehash::new()),
    };
    let checked = seal_request(
        sandbox,
        verifier,
        req,
        input,
        input_label,
        &mut upload,
        PART_SIZE as u64,
        &target.to_path(),
    )?;
    let Prehashing { upload, prehash } = upload;
    check_deadline(deadline, &target, "commit")?;
    if let (Condition::Match(etag), Some(policy)) = (&cond, &control.replace) {
        let sig_text = prior_sig.as_ref().map(|s| s.text.as_str());
        backup::backup_object(bucket, verifier, &target, etag, sig_text, policy)?;
        check_deadline(deadline, &target, "commit")?;
    }

    // The signature is committed first: no object is visible without it.
    let signature = match (&control.sign, prehash) {
        (Some(signer), Some(prehash)) => {
            let text = signature_text(signer, &final_name, &checked.verified, prehash.finish())?;
            let replacing = prior_sig.as_ref().map(|s| s.etag.as_str());
            let etag = signature::put(bucket, &sig_key, &text, replacing, &write_id)?;
            tracing::debug!(file = %bucket.url_of(&sig_key).display(), "signature committed");
            Some((text, etag, signer.key.id()))
        }
        _ => None,
    };
    let stored = match upload.commit(&checked.digests.digests, &cond) {
        Ok(stored) => stored,
        Err(e) => {
            if let Some((_, etag, _)) = &signature
                && !committed_by(bucket, &target.key, &write_id)
            {
                let replaced = prior_sig.as_ref().map(|s| s.text.as_str());
                signature::undo(bucket, &sig_key, etag, &write_id, replaced);
            }
            return Err(e);
        }
    };
    tracing::debug!(file = %target, etag = %stored.etag, check = ?stored.check, "stored object confirmed");
    let signed = match signature {
        Some((text, _, key_id)) => {
            signature::confirm(bucket, &sig_key, &text, &write_id)?;
            Some(Signed {
                path: bucket.url_of(&sig_key),
                key_id,
            })
        }
        None => None,
    };
    if let Some(policy) = &control.replace {
        backup::prune(bucket, &target, policy);
    }
    Ok(Committed {
        path: target.to_path(),
        summary: checked.summary,
        verified: checked.verified,
        signed,
    })
}

/// Whether the object `key` is this write's (its commit took effect even
/// though it reported a failure, such as a checksum it could not confirm):
/// then its signature stays. Unknown counts as not.
fn committed_by(bucket: &Bucket, key: &str, write_id: &str) -> bool {
    matches!(block_on(bucket.head(key)), Ok(Some(h)) if h.write_id.as_deref() == Some(write_id))
}

/// The upload as a sealed sink that also takes the prehash a signature
/// needs of the bytes written (only when the write is signed), as the local
/// write wraps its temp file.
struct Prehashing {
    upload: Upload,
    prehash: Option<Prehash>,
}

impl SealedSink for Prehashing {
    fn write_sealed(&mut self, bytes: Bytes) -> Result<()> {
        if let Some(h) = &mut self.prehash {
            h.update(&bytes);
        }
        self.upload.write_sealed(bytes)
    }

    fn end_segment(&mut self, digest: &[u8; 32]) -> Result<()> {
        self.upload.end_segment(digest)
    }
}

fn check_deadline(deadline: Option<Instant>, target: &ObjectUrl, step: &'static str) -> Result<()> {
    if deadline.is_some_and(|d| Instant::now() >= d) {
        return Err(Error::io(
            target.to_path(),
            step,
            crate::deadline::deadline_passed(),
        ));
    }
    Ok(())
}

/// A read or step cut short by the deadline is the write's timeout.
fn as_timeout(
    e: Error,
    prefix: &ObjectUrl,
    req: &WriteRequest,
    started: Instant,
    deadline: Option<Instant>,
) -> Error {
    let Some(deadline) = deadline else { return e };
    match &e {
        Error::Io { op, source, .. } if is_deadline(source) && Instant::now() >= deadline => {
            let path = naming::final_name(&req.base_name, req.timestamp)
                .map(|n| prefix.join(&n).to_path())
                .unwrap_or_else(|_| prefix.to_path());
            Error::Timeout {
                path,
                step: op,
                after: deadline.saturating_duration_since(started),
            }
        }
        _ => e,
    }
}
