//! The sealed write to object storage: the local write's guarantees with a
//! multipart upload for the temp file and a conditional complete for the
//! no-replace rename.
//!
//! 1. Refuse a store that ignores conditional writes ([`super::probe`]).
//! 2. If the target exists: `target-exists`, or with `--replace` its ETag
//!    is the condition of the commit.
//! 3. Stream input → sealer → parts of the upload and, at the same time, a
//!    fresh built-in verifier on its own thread ([`super::verify_tee`]).
//! 4. The verdict must be valid and agree with the sealer's summary, and
//!    the verified bytes' hashes must equal the parts'.
//! 5. `--replace`: a verified backup object of exactly the version being
//!    replaced ([`super::backup`]).
//! 6. Complete with `If-None-Match: *` (or `If-Match: ETAG`); then confirm
//!    the stored checksum (or read the object back) before reporting success.
//!
//! Any failure aborts the upload: nothing is visible, the target untouched.

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;

use super::backup;
use super::bucket::Bucket;
use super::probe::ensure_conditional_writes;
use super::runtime::block_on;
use super::s3api::Condition;
use super::upload::{PART_SIZE, Upload};
use super::verify_tee::VerifyTee;
use crate::checked_seal::read_error;
use crate::deadline::{DeadlineReader, is_deadline};
use crate::error::{Error, Result};
use crate::location::ObjectUrl;
use crate::report::SealSummary;
use crate::sandbox::{Sandbox, SealOptions};
use crate::store::naming;
use crate::verify::{CHUNK_SIZE, read_full, schema_error};
use crate::write::{Committed, WriteControl, WriteRequest};

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
        (Some(h), Some(_)) => Condition::Match(h.etag.clone()),
    };

    // Whatever sealed the file, csvseal's own verifier judges it.
    let builtin;
    let verifier = if sandbox.is_builtin() {
        sandbox
    } else {
        builtin = Sandbox::builtin(sandbox.limits().clone())?;
        &builtin
    };
    let write_id = new_write_id();
    tracing::debug!(file = %target, "sealing into a multipart upload");
    std::thread::scope(|scope| {
        let tee = VerifyTee::spawn(scope, verifier, req.schema.as_ref(), PART_SIZE as u64);
        let mut upload = Upload::new(bucket.clone(), target.key.clone(), write_id);
        let sealed = seal_into(sandbox, req, input, input_label, &mut |chunk: Bytes| {
            if !tee.feed(chunk.clone()) {
                return Ok(false);
            }
            upload.write(chunk)?;
            Ok(true)
        });
        // The verifier's error explains a stopped feed; else the seal's own.
        let verdict = tee.finish();
        let summary = sealed?;
        let verdict = match verdict {
            Err(Error::Io { path, source, .. }) if is_deadline(&source) => {
                return Err(Error::io(path, "verify upload", source));
            }
            Err(e) => {
                let failed = Err(e);
                crate::monitor::metrics::verification(&failed);
                return failed.map(|_| unreachable!());
            }
            Ok(v) => {
                crate::monitor::metrics::verification(&Ok(v.report.clone()));
                v
            }
        };
        let agrees = verdict.report.valid
            && verdict.report.rows == summary.rows
            && verdict.report.last_seq == summary.last_seq
            && verdict.report.bytes == summary.bytes
            && verdict.bytes == summary.bytes;
        if !agrees {
            return Err(Error::WrittenFileInvalid {
                path: target.to_path(),
                report: Box::new(verdict.report),
            });
        }
        check_deadline(deadline, &target, "commit")?;
        if let (Condition::Match(etag), Some(policy)) = (&cond, &control.replace) {
            backup::backup_object(bucket, verifier, &target, etag, policy)?;
            check_deadline(deadline, &target, "commit")?;
        }
        let stored = upload.commit(&verdict.segments, &cond)?;
        tracing::debug!(file = %target, etag = %stored.etag, check = ?stored.check, "stored object confirmed");
        if let Some(policy) = &control.replace {
            backup::prune(bucket, &target, policy);
        }
        Ok(Committed {
            path: target.to_path(),
            summary,
            verified: verdict.report,
        })
    })
}

/// Streams the input through the sealer into `sink` (which returns `false`
/// to stop early).
fn seal_into(
    sandbox: &Sandbox,
    req: &WriteRequest,
    input: &mut dyn Read,
    input_label: &str,
    sink: &mut dyn FnMut(Bytes) -> Result<bool>,
) -> Result<SealSummary> {
    let options = SealOptions {
        format: req.format,
        dialect: req.dialect,
        header: req.header.clone(),
        schema_json: req.schema.as_ref().map(|s| s.json.clone()),
        first_seq: req.start_seq,
    };
    let mut session = sandbox
        .sealer(&options)
        .map_err(|e| schema_error(e, req.schema.as_ref()))?;
    let mut buf = vec![0u8; CHUNK_SIZE];
    loop {
        let n = read_full(input, &mut buf).map_err(|e| read_error(e, input_label))?;
        if n == 0 {
            break;
        }
        let out = session.feed(&buf[..n])?;
        if !out.is_empty() && !sink(Bytes::from(out))? {
            return Err(Error::Sandbox("the verifier stopped".into()));
        }
    }
    match session.finish()? {
        Ok((tail, summary)) => {
            if !tail.is_empty() && !sink(Bytes::from(tail))? {
                return Err(Error::Sandbox("the verifier stopped".into()));
            }
            Ok(summary)
        }
        Err(rejected) => Err(Error::InputRejected {
            input: input_label.to_owned(),
            errors: rejected.errors,
            count: rejected.count,
            truncated: rejected.truncated,
        }),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_ids_differ() {
        let a = new_write_id();
        assert_eq!(a.len(), 32);
        assert_ne!(a, new_write_id());
    }
}
