//! The atomic sealed write: the policy's five steps, plus verification and a
//! rename that never replaces an existing file.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use time::OffsetDateTime;

use crate::deadline::{DeadlineReader, is_deadline};
use crate::error::{Error, Result};
use crate::report::{SealSummary, VerifyReport};
use crate::sandbox::{InputFormat, Sandbox, SealOptions};
use crate::store::atomic_file::TempFile;
use crate::store::backup::{BackupPolicy, backup_in};
use crate::store::file_ops::{FileOps, RealFs};
use crate::store::naming;
use crate::verify::{CHUNK_SIZE, Schema, read_full, schema_error, verify_stream};

/// What to write.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    /// The directory the file goes in; opened once, as a capability.
    pub dir: PathBuf,
    /// The name's stem: the file is `{base}_YYYYMMDD_HHMMSS.csv`.
    pub base_name: String,
    /// The time in the name (taken in UTC).
    pub timestamp: OffsetDateTime,
    pub format: InputFormat,
    /// The input's columns, when it has no header line.
    pub header: Option<Vec<String>>,
    pub schema: Option<Schema>,
    /// `file_seq` of the first row (at least 1).
    pub start_seq: u64,
}

/// A file that was written, verified and committed.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The final file's path.
    pub path: PathBuf,
    pub summary: SealSummary,
    /// The verification of the file as it was on disk before the rename.
    pub verified: VerifyReport,
}

/// Seals `input` into a new file in `req.dir`, atomically.
///
/// Steps: open the directory as a capability; create `{final}.tmp`
/// exclusively; stream the input through the sandboxed sealer into it;
/// fsync; verify it by reading it back through a fresh instance of the
/// built-in verifier (even when `sandbox` is a plugin); rename it to
/// the final name without replacing anything; fsync the directory. On any
/// failure the temp file is removed and no final file appears.
pub fn write_sealed(
    sandbox: &Sandbox,
    req: &WriteRequest,
    input: &mut dyn Read,
    input_label: &str,
) -> Result<Committed> {
    write_sealed_with(
        &RealFs,
        &WriteControl::default(),
        sandbox,
        req,
        input,
        input_label,
    )
}

/// How a write deals with other writers and its file operations.
#[derive(Debug, Clone, Default)]
pub struct WriteControl {
    /// When another writer holds the target's temp file: wait up to this
    /// long for it to finish instead of failing at once with `busy`.
    pub wait: Option<Duration>,
    /// Supersede an existing target, but only after a verified backup of it
    /// is in place (see [`crate::store::backup`]). `None`: never replace.
    pub replace: Option<BackupPolicy>,
    /// Abandon the write with [`Error::Timeout`] (temp removed, target
    /// untouched) if it is still running at this instant.
    pub deadline: Option<Instant>,
}

/// [`write_sealed`], abandoned with [`Error::Timeout`] (temp file removed,
/// target untouched) if it is still running at `deadline`.
///
/// The clock is checked before every input read, between the steps, and
/// during the read-back verification. A read that blocks is not interrupted:
/// wrap a source that may stall (a pipe) in
/// [`crate::deadline::ThreadedReader`]. Each call into the sandbox is
/// bounded separately by `Limits::call_timeout`.
pub fn write_sealed_until(
    sandbox: &Sandbox,
    req: &WriteRequest,
    input: &mut dyn Read,
    input_label: &str,
    deadline: Option<Instant>,
) -> Result<Committed> {
    let control = WriteControl {
        deadline,
        ..WriteControl::default()
    };
    write_sealed_with(&RealFs, &control, sandbox, req, input, input_label)
}

/// [`write_sealed`] with explicit control and file operations (a test seam:
/// see [`FileOps`]). Records the write's metrics (see [`crate::monitor::metrics`]).
pub fn write_sealed_with(
    ops: &dyn FileOps,
    control: &WriteControl,
    sandbox: &Sandbox,
    req: &WriteRequest,
    input: &mut dyn Read,
    input_label: &str,
) -> Result<Committed> {
    let final_name = naming::final_name(&req.base_name, req.timestamp);
    write_recorded(ops, control, sandbox, req, final_name, input, input_label)
}

/// [`write_sealed_with`], committing to `file_name` in `req.dir` instead of
/// the policy's `{base}_YYYYMMDD_HHMMSS.csv` (`req.base_name` and
/// `req.timestamp` are not used): for callers that name files themselves,
/// such as the Python package's drop-in `atomic_csv_write(target_path, …)`.
/// Same steps, locks and guarantees; the temp file is `{file_name}.tmp`.
pub fn write_sealed_named(
    ops: &dyn FileOps,
    control: &WriteControl,
    sandbox: &Sandbox,
    req: &WriteRequest,
    file_name: &str,
    input: &mut dyn Read,
    input_label: &str,
) -> Result<Committed> {
    let final_name = naming::check_file_name(file_name).map(|()| file_name.to_owned());
    write_recorded(ops, control, sandbox, req, final_name, input, input_label)
}

/// A write to `final_name` (or its naming error), with its metrics and log.
fn write_recorded(
    ops: &dyn FileOps,
    control: &WriteControl,
    sandbox: &Sandbox,
    req: &WriteRequest,
    final_name: Result<String>,
    input: &mut dyn Read,
    input_label: &str,
) -> Result<Committed> {
    let started = Instant::now();
    let deadline = control.deadline;
    let target = final_name.as_ref().map(|n| req.dir.join(n)).ok();
    let result = final_name
        .and_then(|name| write_inner(ops, control, sandbox, req, &name, input, input_label))
        .map_err(|e| as_timeout(e, req, target, started, deadline));
    match &result {
        Ok(c) => {
            crate::monitor::metrics::write_ok(started.elapsed(), c.summary.bytes, c.summary.rows);
            tracing::info!(file = %c.path.display(), rows = c.summary.rows, bytes = c.summary.bytes,
                elapsed_ms = started.elapsed().as_millis() as u64, "committed");
        }
        Err(e) => crate::monitor::metrics::write_failed(started.elapsed(), e),
    }
    result
}

/// A read that failed because the deadline passed is the write's timeout.
fn as_timeout(
    e: Error,
    req: &WriteRequest,
    target: Option<PathBuf>,
    started: Instant,
    deadline: Option<Instant>,
) -> Error {
    let Some(deadline) = deadline else { return e };
    let step = match &e {
        // A real I/O timeout (say, a network filesystem) before the
        // deadline stays an I/O error.
        Error::Io { op, source, .. } if is_deadline(source) && Instant::now() >= deadline => *op,
        _ => return e,
    };
    let path = target.unwrap_or_else(|| req.dir.clone());
    Error::Timeout {
        path,
        step,
        after: deadline.saturating_duration_since(started),
    }
}

/// The deadline has passed: fail as a deadline-interrupted read would.
fn check_deadline(deadline: Option<Instant>, path: PathBuf, step: &'static str) -> Result<()> {
    if deadline.is_some_and(|d| Instant::now() >= d) {
        return Err(Error::io(path, step, crate::deadline::deadline_passed()));
    }
    Ok(())
}

fn write_inner(
    ops: &dyn FileOps,
    control: &WriteControl,
    sandbox: &Sandbox,
    req: &WriteRequest,
    final_name: &str,
    input: &mut dyn Read,
    input_label: &str,
) -> Result<Committed> {
    let deadline = control.deadline;
    let input = &mut DeadlineReader::new(input, deadline);
    if req.start_seq == 0 {
        return Err(Error::Usage("--start-seq must be at least 1".into()));
    }
    let temp_name = naming::temp_name(final_name);
    let dir = Dir::open_ambient_dir(&req.dir, ambient_authority())
        .map_err(|e| Error::io(&req.dir, "open directory", e))?;
    // Early, friendly refusal; the no-replace rename is the real guard.
    if control.replace.is_none() && dir.symlink_metadata(final_name).is_ok() {
        return Err(Error::TargetExists {
            path: req.dir.join(final_name),
        });
    }

    let mut temp = TempFile::acquire(ops, &dir, &req.dir, &temp_name, control.wait)?;
    // A writer we waited for may have committed this very target.
    if control.replace.is_none() && dir.symlink_metadata(final_name).is_ok() {
        return Err(Error::TargetExists {
            path: req.dir.join(final_name),
        });
    }
    tracing::debug!(temp = %temp.path().display(), "sealing into temp file");
    let summary = seal_into(sandbox, req, input, input_label, &mut temp)?;
    check_deadline(deadline, temp.path(), "fsync temp file")?;
    temp.sync()?;

    // Whatever sealed the file, csvseal's own verifier judges it: a plugin
    // cannot vouch for its own output.
    let builtin;
    let verifier = if sandbox.is_builtin() {
        sandbox
    } else {
        builtin = Sandbox::builtin(sandbox.limits().clone())?;
        &builtin
    };
    tracing::debug!(temp = %temp.path().display(), "verifying temp file");
    let mut readback = DeadlineReader::new(temp.reopen_for_read()?, deadline);
    let verified = verify_stream(verifier, req.schema.as_ref(), &mut readback, &temp.path());
    // A read-back cut short by the deadline is the write's timeout, not a
    // failed verification: recording it would raise an integrity alert.
    let verified = match verified {
        Err(Error::Io { path, source, .. }) if is_deadline(&source) => {
            return Err(Error::io(path, "verify temp file", source));
        }
        r => {
            crate::monitor::metrics::verification(&r);
            r?
        }
    };
    check_deadline(deadline, temp.path(), "rename temp file to target")?;
    let agrees = verified.valid
        && verified.rows == summary.rows
        && verified.last_seq == summary.last_seq
        && verified.bytes == summary.bytes;
    if !agrees {
        return Err(Error::WrittenFileInvalid {
            path: temp.path(),
            report: Box::new(verified),
        });
    }

    // Holding the temp's lock serializes every writer of this target, so
    // the file backed up here is the one the rename replaces.
    let path = match &control.replace {
        Some(policy) if dir.symlink_metadata(final_name).is_ok() => {
            backup_in(ops, verifier, &dir, &req.dir, final_name, policy)?;
            temp.commit_replacing(final_name)?
        }
        _ => temp.commit(final_name)?,
    };
    Ok(Committed {
        path,
        summary,
        verified,
    })
}

/// Streams the input through the sealer into the temp file.
fn seal_into(
    sandbox: &Sandbox,
    req: &WriteRequest,
    input: &mut dyn Read,
    input_label: &str,
    temp: &mut TempFile<'_>,
) -> Result<SealSummary> {
    let options = SealOptions {
        format: req.format,
        header: req.header.clone(),
        schema_json: req.schema.as_ref().map(|s| s.json.clone()),
        first_seq: req.start_seq,
    };
    let mut session = sandbox
        .sealer(&options)
        .map_err(|e| schema_error(e, req.schema.as_ref()))?;
    let mut buf = vec![0u8; CHUNK_SIZE];
    loop {
        let n = read_full(input, &mut buf)
            .map_err(|e| Error::io(Path::new(input_label), "read input", e))?;
        if n == 0 {
            break;
        }
        let out = session.feed(&buf[..n])?;
        temp.write_all(&out)?;
    }
    match session.finish()? {
        Ok((tail, summary)) => {
            temp.write_all(&tail)?;
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
