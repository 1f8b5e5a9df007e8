//! Reports as the library returns them and `--json` prints them.
//!
//! These mirror the WIT `types` interface; conversion from the generated
//! bindings lives in `sandbox.rs`, so callers never see wasmtime types.

use serde::Serialize;

/// Why a record (or the file) failed. Names are stable: see README.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    Malformed,
    Encoding,
    BadHeader,
    MissingColumn,
    ChecksumMismatch,
    SequenceViolation,
    Schema,
    TornRow,
    Limit,
}

impl ErrorKind {
    /// The kind's stable name, as in `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::Encoding => "encoding",
            ErrorKind::BadHeader => "bad-header",
            ErrorKind::MissingColumn => "missing-column",
            ErrorKind::ChecksumMismatch => "checksum-mismatch",
            ErrorKind::SequenceViolation => "sequence-violation",
            ErrorKind::Schema => "schema",
            ErrorKind::TornRow => "torn-row",
            ErrorKind::Limit => "limit",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem, located by line (1-based; 0 means the whole file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    pub kind: ErrorKind,
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)?;
        if let Some(seq) = self.seq {
            write!(f, " (seq {seq})")?;
        }
        if let Some(col) = &self.column {
            write!(f, " [{col}]")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A jump in `file_seq`: `after` was followed by `next` at `line`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeqGap {
    pub line: u64,
    pub after: u64,
    pub next: u64,
}

impl SeqGap {
    /// How many sequence numbers are missing.
    pub fn missing(&self) -> u64 {
        self.next - self.after - 1
    }
}

/// The result of verifying one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub valid: bool,
    pub rows: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub columns: Vec<String>,
    pub gaps: Vec<SeqGap>,
    pub gap_count: u64,
    pub errors: Vec<RowError>,
    pub error_count: u64,
    pub errors_truncated: bool,
    pub warnings: Vec<String>,
    /// Bytes read from the file.
    pub bytes: u64,
}

/// What a successful seal produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SealSummary {
    pub columns: Vec<String>,
    pub rows: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    pub bytes: u64,
}
