//! The library's typed errors.

use std::io;
use std::path::PathBuf;

use crate::report::{RowError, VerifyReport};

/// Everything that can go wrong in csvseal, one variant per cause a caller
/// may want to act on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation failed.
    #[error("{path}: {op}: {source}")]
    Io {
        path: PathBuf,
        /// What the host was doing, e.g. "create temp file", "fsync".
        op: &'static str,
        #[source]
        source: io::Error,
    },

    /// A name or argument the caller supplied is unusable.
    #[error("{0}")]
    Usage(String),

    /// The schema could not be read or understood.
    #[error("schema {path}: {message}")]
    Schema { path: PathBuf, message: String },

    /// The target already exists; it was left untouched.
    #[error("{path}: target already exists; nothing was written")]
    TargetExists { path: PathBuf },

    /// The temp name is taken by a live writer of this target (it holds the
    /// temp file's lock), or by something that is not a regular file. A temp
    /// left by a dead writer is swept instead.
    #[error(
        "{path}: busy: another writer is writing this target (it holds the temp file's lock); retry, or use --wait"
    )]
    Busy { path: PathBuf },

    /// The input broke the rules (format, schema); nothing was written.
    #[error("{input}: input rejected with {count} error(s); nothing was written")]
    InputRejected {
        input: String,
        /// The first errors, in input order.
        errors: Vec<RowError>,
        count: u64,
        truncated: bool,
    },

    /// The freshly written temp file did not verify; it was removed.
    #[error("{path}: the written file failed verification; nothing was committed")]
    WrittenFileInvalid {
        path: PathBuf,
        report: Box<VerifyReport>,
    },

    /// The temp file, read back after its fsync, does not hold exactly the
    /// bytes the verifier judged (a short or altered write); it was removed.
    #[error(
        "{path}: the temp file, read back, is not the {verified_bytes} bytes that were verified ({read_back_bytes} bytes read back{}); nothing was committed",
        differs_at.map(|at| format!(", SHA-256 differs in the 1 MiB from byte {at}")).unwrap_or_default()
    )]
    WrittenFileMismatch {
        path: PathBuf,
        verified_bytes: u64,
        read_back_bytes: u64,
        /// Where the first segment that differs starts, when the lengths agree.
        differs_at: Option<u64>,
    },

    /// A file to back up (or to be replaced) does not verify; a backup is
    /// only ever made of a good file.
    #[error("{path}: does not verify; no backup made, nothing replaced")]
    SourceInvalid {
        path: PathBuf,
        report: Box<VerifyReport>,
    },

    /// No backup of the file matches its manifest SHA-256 and verifies.
    #[error("{path}: no usable backup ({tried} tried); nothing restored")]
    NoGoodBackup { path: PathBuf, tried: usize },

    /// The write overran its deadline and was abandoned: the temp file was
    /// removed and the target left untouched.
    #[error("{path}: write abandoned: timed out after {after:?} while {step}; nothing was written")]
    Timeout {
        /// The target that was not written.
        path: PathBuf,
        /// What the write was doing when the deadline passed.
        step: &'static str,
        after: std::time::Duration,
    },

    /// The file was committed (it is in place under its final name), but a
    /// step after the rename failed, so it may not survive a crash. Do not
    /// write it again (the target exists); verify it after a reboot.
    #[error(
        "{path}: committed, but durability not confirmed: {op} failed: {source}; the file is in place (do not write it again); verify it after a crash or reboot"
    )]
    CommittedNotDurable {
        /// The committed file.
        path: PathBuf,
        /// The step after the rename that failed.
        op: &'static str,
        #[source]
        source: io::Error,
    },

    /// The sandboxed component failed: trap, or bad component.
    #[error("sandbox: {0}")]
    Sandbox(String),

    /// The component hit a resource limit (memory, CPU, output, tables);
    /// the call was stopped and nothing was committed.
    #[error("sandbox: {limit} limit hit: {message}")]
    LimitExceeded {
        /// Which limit: "memory", "cpu", "output", "table", "instances".
        limit: &'static str,
        /// What was asked for, the limit, and the option that sets it.
        message: String,
    },

    /// The object store does not enforce a conditional write csvseal relies
    /// on (detected by a probe): writing there could silently overwrite a
    /// file, so nothing was written.
    #[error(
        "{location}: the store does not enforce {missing}: csvseal refuses to write there (a concurrent or repeated write could silently overwrite a file); nothing was written"
    )]
    StoreUnsupported { location: PathBuf, missing: String },

    /// `--replace` on object storage: the target changed after csvseal read
    /// it (its ETag no longer matches); nothing was replaced, the backup made
    /// of the version read is kept.
    #[error("{path}: the target changed while it was being replaced; nothing was replaced")]
    TargetChanged { path: PathBuf },

    /// What the object store holds is not what was verified (its checksum or
    /// a read-back differs), or the bytes uploaded were not the bytes
    /// verified.
    #[error("{path}: {detail}")]
    StoredMismatch { path: PathBuf, detail: String },
}

impl Error {
    /// Shorthand for an [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, op: &'static str, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            op,
            source,
        }
    }

    /// A stable, documented name for the error class (used in `--json`).
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Io { .. } => "io",
            Error::Usage(_) => "usage",
            Error::Schema { .. } => "schema",
            Error::TargetExists { .. } => "target-exists",
            Error::Busy { .. } => "busy",
            Error::InputRejected { .. } => "input-rejected",
            Error::WrittenFileInvalid { .. } => "written-file-invalid",
            Error::WrittenFileMismatch { .. } => "written-file-mismatch",
            Error::Sandbox(_) => "sandbox",
            Error::SourceInvalid { .. } => "source-invalid",
            Error::NoGoodBackup { .. } => "no-good-backup",
            Error::Timeout { .. } => "timeout",
            Error::LimitExceeded { .. } => "limit",
            Error::CommittedNotDurable { .. } => "committed-not-durable",
            Error::StoreUnsupported { .. } => "store-unsupported",
            Error::TargetChanged { .. } => "target-changed",
            Error::StoredMismatch { .. } => "stored-mismatch",
        }
    }

    /// Whether the file was committed despite the error (only
    /// [`Error::CommittedNotDurable`]): a caller must not retry the write.
    pub fn committed(&self) -> Option<&std::path::Path> {
        match self {
            Error::CommittedNotDurable { path, .. } => Some(path),
            _ => None,
        }
    }

    /// The process exit code the CLI uses for this error (see docs/operations.md).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::InputRejected { .. }
            | Error::WrittenFileInvalid { .. }
            | Error::WrittenFileMismatch { .. }
            | Error::SourceInvalid { .. }
            | Error::NoGoodBackup { .. }
            | Error::StoredMismatch { .. } => 1,
            Error::TargetExists { .. } | Error::Busy { .. } | Error::TargetChanged { .. } => 3,
            Error::StoreUnsupported { .. }
            | Error::Io { .. }
            | Error::Usage(_)
            | Error::Schema { .. }
            | Error::Sandbox(_)
            | Error::LimitExceeded { .. } => 2,
            Error::Timeout { .. } => 4,
            Error::CommittedNotDurable { .. } => 5,
        }
    }
}

impl From<wasmtime::Error> for Error {
    fn from(e: wasmtime::Error) -> Self {
        // `{:#}` keeps the whole cause chain (trap kind, limit hit) on one line.
        Error::Sandbox(format!("{e:#}"))
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
