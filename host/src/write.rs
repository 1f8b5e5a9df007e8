//! The atomic sealed write: the policy's five steps, plus verification and a
//! rename that never replaces an existing file.

use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use time::OffsetDateTime;

use crate::backup::{BackupPolicy, backup_in};
use crate::checked_seal::{CheckedSeal, SealedSink, seal_checked};
use crate::deadline::{DeadlineReader, is_deadline};
use crate::error::{Error, Result};
use crate::report::{SealSummary, VerifyReport};
use crate::sandbox::{Dialect, InputFormat, Sandbox, SealOptions};
use crate::segment_digest::{Mismatch, SEGMENT_BYTES};
use crate::signing::commit::{check_signable, commit_signature, undo_signature};
use crate::signing::minisig::{PrehashThread, sign_prehashed};
use crate::signing::{Signed, Signer, Statement};
use crate::store::atomic_file::TempFile;
use crate::store::file_ops::{FileOps, RealFs};
use crate::store::naming;
use crate::transcode::{InputEncoding, Transcoder};
use crate::verify::Schema;

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
    /// A CSV input's delimiter, quote and header line. The sealed file is
    /// always in the policy's dialect.
    pub dialect: Dialect,
    /// The input's character encoding; anything but UTF-8 is transcoded to
    /// UTF-8 on the way in (a byte invalid in it rejects the input).
    pub encoding: InputEncoding,
    /// The input's columns, when it has no header line.
    pub header: Option<Vec<String>>,
    pub schema: Option<Schema>,
    /// `file_seq` of the first row (at least 1).
    pub start_seq: u64,
}

impl WriteRequest {
    /// A write of `{base_name}_YYYYMMDD_HHMMSS.csv` into `dir`, named for
    /// now: comma-separated UTF-8 CSV with a header line, no schema,
    /// `file_seq` from 1. Change the fields for anything else.
    pub fn new(dir: impl Into<PathBuf>, base_name: impl Into<String>) -> Self {
        WriteRequest {
            dir: dir.into(),
            base_name: base_name.into(),
            timestamp: OffsetDateTime::now_utc(),
            format: InputFormat::Csv,
            dialect: Dialect::default(),
            encoding: InputEncoding::Utf8,
            header: None,
            schema: None,
            start_seq: 1,
        }
    }
}

/// A file that was written, verified and committed.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The final file's path.
    pub path: PathBuf,
    pub summary: SealSummary,
    /// The built-in verifier's report on the bytes written, which the temp
    /// file, read back after its fsync, matched byte for byte before the
    /// rename.
    pub verified: VerifyReport,
    /// The signature committed beside it, when the write was signed.
    pub signed: Option<Signed>,
}

/// Seals `input` into a new file in `req.dir`, atomically.
///
/// Steps: open the directory as a capability; create `{final}.tmp`
/// exclusively; stream the input through the sandboxed sealer into it while
/// a fresh instance of the built-in verifier (even when `sandbox` is a
/// plugin) judges the same bytes on another thread; fsync; read the file
/// back and check it holds exactly the judged bytes (SHA-256); rename it to
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
    /// is in place (see [`crate::backup`]). `None`: never replace.
    pub replace: Option<BackupPolicy>,
    /// Abandon the write with [`Error::Timeout`] (temp removed, target
    /// untouched) if it is still running at this instant.
    pub deadline: Option<Instant>,
    /// Sign the file: its `.minisig` is committed before it (see
    /// [`crate::signing::commit`]).
    pub sign: Option<Signer>,
}

/// [`write_sealed`], abandoned with [`Error::Timeout`] (temp file removed,
/// target untouched) if it is still running at `deadline`.
///
/// The clock is checked before every input read, between the steps, and
/// during the read-back. A read that blocks is not interrupted:
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
    record(started, &result);
    result
}

/// The metrics and the log line of a write that began at `started`, local
/// or to object storage.
pub(crate) fn record(started: Instant, result: &Result<Committed>) {
    match result {
        Ok(c) => {
            crate::monitor::metrics::write_ok(started.elapsed(), c.summary.bytes, c.summary.rows);
            tracing::info!(file = %c.path.display(), rows = c.summary.rows, bytes = c.summary.bytes,
                elapsed_ms = started.elapsed().as_millis() as u64, "committed");
        }
        Err(e) => crate::monitor::metrics::write_failed(started.elapsed(), e),
    }
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
    let input = &mut *decoded(input, req.encoding);
    check_request(req)?;
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
    if control.sign.is_some() {
        check_signable(final_name)?;
    }
    let own = builtin_judge(sandbox)?;
    let verifier = own.as_ref().unwrap_or(sandbox);
    let temp_path = temp.path();
    tracing::debug!(temp = %temp_path.display(), "sealing into temp file, verifying as it goes");
    let prehash = match control.sign {
        Some(_) => Some(
            PrehashThread::spawn().map_err(|e| Error::io(&temp_path, "start prehash thread", e))?,
        ),
        None => None,
    };
    let mut sink = Prehashing {
        temp: &mut temp,
        prehash,
    };
    let checked = seal_request(
        sandbox,
        verifier,
        req,
        input,
        input_label,
        &mut sink,
        SEGMENT_BYTES,
        &temp_path,
    )?;
    let prehash = sink.prehash.map(PrehashThread::finish);
    check_deadline(deadline, temp_path.clone(), "fsync temp file")?;
    temp.sync()?;

    // The backup comes before the read-back, so the window from the check
    // of the bytes to the rename holds no long copy. Holding the temp's
    // lock serializes every writer of this target, so the file backed up
    // is the one the rename replaces.
    let replacing = control
        .replace
        .as_ref()
        .filter(|_| dir.symlink_metadata(final_name).is_ok());
    if let Some(policy) = replacing {
        backup_in(ops, verifier, &dir, &req.dir, final_name, policy)?;
    }

    // The file must hold exactly the bytes the verifier judged: read it
    // back after the fsync and compare digests (ARCHITECTURE.md, "The write
    // path", says why this is as strong as verifying the read-back). The
    // handle read is checked to be the locked temp's inode.
    let readback = temp.reopen_for_read()?.into_std();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let checked_back = checked
        .digests
        .check_file(&readback, threads, deadline)
        .map_err(|e| Error::io(&temp_path, "read back temp file", e))?;
    if let Err(mismatch) = checked_back {
        let (read_back_bytes, differs_at) = match mismatch {
            Mismatch::Length { found } => (found, None),
            Mismatch::Segment { offset } => (checked.digests.len, Some(offset)),
        };
        return Err(Error::WrittenFileMismatch {
            path: temp_path,
            verified_bytes: checked.digests.len,
            read_back_bytes,
            differs_at,
        });
    }
    check_deadline(deadline, temp_path, "rename temp file to target")?;
    let CheckedSeal {
        summary, verified, ..
    } = checked;

    // The signature is committed first: no CSV is ever visible without it.
    let signature = match (&control.sign, prehash) {
        (Some(signer), Some(prehash)) => {
            let text = signature_text(signer, final_name, &verified, prehash)?;
            let (path, replaced) = commit_signature(ops, &dir, &req.dir, final_name, &text)?;
            let signed = Signed {
                path,
                key_id: signer.key.id(),
            };
            Some((signed, replaced))
        }
        _ => None,
    };
    // An unsigned --replace: the old version's signature (kept in its
    // backup) goes first, so the new file never stands beside it.
    let dropped = match (&signature, replacing) {
        (None, Some(_)) => drop_signature(ops, &dir, &req.dir, final_name)?,
        _ => None,
    };
    let committed = match replacing {
        Some(_) => temp.commit_replacing(final_name),
        None => temp.commit(final_name),
    };
    if let (Err(e), Some(text)) = (&committed, &dropped)
        && !matches!(e, Error::CommittedNotDurable { .. })
    {
        undo_signature(ops, &dir, &req.dir, final_name, Some(text));
    }
    let path = match committed {
        Ok(path) => path,
        Err(e) => {
            // Renamed but not yet durable: the file stands, and so does its signature.
            if let (Some((_, replaced)), false) =
                (&signature, matches!(e, Error::CommittedNotDurable { .. }))
            {
                undo_signature(ops, &dir, &req.dir, final_name, replaced.as_deref());
            }
            return Err(e);
        }
    };
    Ok(Committed {
        path,
        summary,
        verified,
        signed: signature.map(|(signed, _)| signed),
    })
}

/// Removes `name`'s signature, if it has one, durably; returns its text
/// (to put back if the write then fails).
fn drop_signature(
    ops: &dyn FileOps,
    dir: &Dir,
    dir_path: &std::path::Path,
    name: &str,
) -> Result<Option<String>> {
    let sig = crate::signing::signature_name(name);
    let path = dir_path.join(&sig);
    let text = match crate::store::by_path::read_small_text(
        &path,
        "read signature",
        crate::signing::commit::SIGNATURE_LIMIT,
        crate::store::by_path::Links::Refuse,
    ) {
        Ok(text) => text,
        Err(e) if crate::store::by_path::is_not_found(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    ops.remove(dir, &sig)
        .and_then(|()| ops.sync_dir(dir))
        .map_err(|e| Error::io(&path, "remove the replaced version's signature", e))?;
    Ok(Some(text))
}

/// The `.minisig` text for the file `final_name`, as the built-in verifier
/// judged it, whose bytes have the BLAKE2b-512 `prehash`.
pub(crate) fn signature_text(
    signer: &Signer,
    final_name: &str,
    verified: &VerifyReport,
    prehash: [u8; 64],
) -> Result<String> {
    let statement = Statement {
        file_name: final_name.to_owned(),
        rows: verified.rows,
        first_seq: verified.first_seq,
        last_seq: verified.last_seq,
        blake2b: prehash,
        previous: signer.previous.clone(),
    };
    Ok(sign_prehashed(
        &signer.key,
        &prehash,
        &statement.trusted_comment()?,
    ))
}

/// The temp file as a sealed sink that also takes the prehash a signature
/// needs of the bytes written (only when the write is signed).
struct Prehashing<'t, 'd> {
    temp: &'t mut TempFile<'d>,
    prehash: Option<PrehashThread>,
}

impl SealedSink for Prehashing<'_, '_> {
    fn write_sealed(&mut self, bytes: Bytes) -> Result<()> {
        if let Some(h) = &self.prehash {
            h.update(bytes.clone());
        }
        self.temp.write_sealed(bytes)
    }

    fn end_segment(&mut self, digest: &[u8; 32]) -> Result<()> {
        self.temp.end_segment(digest)
    }
}

/// Whatever seals a file, csvseal's own verifier judges it: a plugin cannot
/// vouch for its own output. So: a fresh built-in sandbox when `sandbox` is
/// a plugin's; None when it is the built-in one, which then judges too.
pub(crate) fn builtin_judge(sandbox: &Sandbox) -> Result<Option<Sandbox>> {
    if sandbox.is_builtin() {
        return Ok(None);
    }
    Sandbox::builtin(sandbox.limits().clone()).map(Some)
}

/// Seals `req`'s input with `sandbox` into `sink`, judged by `verifier` as
/// it goes ([`seal_checked`], segments of `segment_bytes`; `label` names
/// the file in errors).
#[allow(clippy::too_many_arguments)]
pub(crate) fn seal_request(
    sandbox: &Sandbox,
    verifier: &Sandbox,
    req: &WriteRequest,
    input: &mut dyn Read,
    input_label: &str,
    sink: &mut (dyn SealedSink + Send),
    segment_bytes: u64,
    label: &std::path::Path,
) -> Result<CheckedSeal> {
    let options = SealOptions {
        format: req.format,
        dialect: req.dialect,
        header: req.header.clone(),
        schema_json: req.schema.as_ref().map(|s| s.json.clone()),
        first_seq: req.start_seq,
    };
    let schema = req.schema.as_ref();
    seal_checked(
        sandbox,
        verifier,
        &options,
        schema,
        input,
        input_label,
        sink,
        segment_bytes,
        label,
    )
}

/// The input as UTF-8: transcoded from `encoding` as it is read.
pub(crate) fn decoded<'a>(input: &'a mut dyn Read, encoding: InputEncoding) -> Box<dyn Read + 'a> {
    match encoding {
        InputEncoding::Utf8 => Box::new(input),
        other => Box::new(Transcoder::new(input, other)),
    }
}

/// The checks of a request made before anything is touched.
pub(crate) fn check_request(req: &WriteRequest) -> Result<()> {
    if req.start_seq == 0 {
        return Err(Error::Usage("--start-seq must be at least 1".into()));
    }
    if req.format == InputFormat::Csv {
        req.dialect.check().map_err(Error::Usage)?;
    }
    Ok(())
}

impl SealedSink for TempFile<'_> {
    fn write_sealed(&mut self, bytes: Bytes) -> Result<()> {
        self.write_all(&bytes)
    }

    /// A file is checked after the fsync, against all the digests at once.
    fn end_segment(&mut self, _digest: &[u8; 32]) -> Result<()> {
        Ok(())
    }
}
