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
//! 6. Complete with `If-None-Match: *` (or `If-Match: ETAG`); then confirm
//!    the stored checksum (or read the object back) before reporting success.
//!
//! Any failure aborts the upload: nothing is visible, the target untouched.

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use super::backup;
use super::bucket::Bucket;
use super::probe::ensure_conditional_writes;
use super::runtime::block_on;
use super::s3api::Condition;
use super::upload::{PART_SIZE, Upload, new_write_id};
use crate::deadline::{DeadlineReader, is_deadline};
use crate::error::{Error, Result};
use crate::location::ObjectUrl;
use crate::sandbox::Sandbox;
use crate::store::naming;
use crate::write::{Committed, WriteControl, WriteRequest, builtin_judge, seal_request};

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
    if control.sign.is_some() {
        return Err(Error::Usage(
            "signing is not supported for object storage yet: write locally with --sign-key, \
             or sign after the upload"
                .into(),
        ));
    }
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

    let own = builtin_judge(sandbox)?;
    let verifier = own.as_ref().unwrap_or(sandbox);
    tracing::debug!(file = %target, "sealing into a multipart upload");
    let mut upload = Upload::new(bucket.clone(), target.key.clone(), new_write_id());
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
    check_deadline(deadline, &target, "commit")?;
    if let (Condition::Match(etag), Some(policy)) = (&cond, &control.replace) {
        backup::backup_object(bucket, verifier, &target, etag, policy)?;
        check_deadline(deadline, &target, "commit")?;
    }
    let stored = upload.commit(&checked.digests.digests, &cond)?;
    tracing::debug!(file = %target, etag = %stored.etag, check = ?stored.check, "stored object confirmed");
    if let Some(policy) = &control.replace {
        backup::prune(bucket, &target, policy);
    }
    Ok(Committed {
        path: target.to_path(),
        summary: checked.summary,
        verified: checked.verified,
        signed: None,
    })
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
