//! Reports as the library returns them and `--json` prints them.
//!
//! These mirror the WIT `types` interface; conversion from the generated
//! bindings lives in `sandbox.rs`, so callers never see wasmtime types.

use serde::Serialize;

/// Why a record (or the file) failed. Names are stable: see docs/file-format.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
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
    /// `verify --key`: the file has no `.minisig`.
    SignatureMissing,
    /// `verify --key`: the signature does not verify for these bytes, or
    /// its statement does not match the file.
    SignatureInvalid,
    /// `verify --key`: signed by a key not given.
    UnknownKey,
    /// `verify --series --key`: a file's signed link to the one before it
    /// does not match (a file deleted, inserted, reordered or swapped).
    ChainBroken,
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
            ErrorKind::SignatureMissing => "signature-missing",
            ErrorKind::SignatureInvalid => "signature-invalid",
            ErrorKind::UnknownKey => "unknown-key",
            ErrorKind::ChainBroken => "chain-broken",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem, located by line (1-based; 0 means the whole file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RowError {
    pub kind: ErrorKind,
    pub line: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
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
    /// The file's signature, when one was checked (`verify --key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureReport>,
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

/// What the host learnt of a file by verifying it, for a signature's
/// claims to match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileFacts {
    pub file_name: String,
    pub rows: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
}

/// The previous file of a series, as a signature names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChainLink {
    pub file_name: String,
    /// BLAKE2b-512 of its bytes, lowercase hex.
    pub blake2b: String,
}

/// What a csvseal signature's trusted comment states about its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SignedClaims {
    pub file_name: String,
    pub rows: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// BLAKE2b-512 of the file's bytes, lowercase hex (what `b2sum` prints).
    pub blake2b: String,
    /// None for a series' first file.
    pub previous: Option<ChainLink>,
}

/// The outcome of a signature check (`"valid"`, `"missing"`, `"malformed"`,
/// `"unknown-key"`, `"invalid"` in JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignatureStatus {
    /// Made by a listed key over exactly the bytes fed; csvseal's claims,
    /// if any, match.
    Valid,
    /// The file has no signature (the host found no `.minisig`; the
    /// component never reports this).
    Missing,
    /// The signature text is not a (supported) minisign signature.
    Malformed,
    /// Made by a key that is not listed.
    UnknownKey,
    /// Does not verify for these bytes, or its claims do not match the file.
    Invalid,
}

/// A signature check's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SignatureReport {
    pub status: SignatureStatus,
    /// The signing key's ID (16 uppercase hex digits, as minisign prints it).
    pub key_id: Option<String>,
    /// The trusted comment, once its signature verified under a listed key
    /// (not in reports: the claims are its content).
    #[serde(skip)]
    pub trusted_comment: Option<String>,
    /// csvseal's claims (authenticated likewise); none for a plain minisign
    /// signature, which has no chain data.
    pub claims: Option<SignedClaims>,
    /// BLAKE2b-512 of the file's bytes, lowercase hex (none when missing).
    pub blake2b: Option<String>,
    /// Why, when not valid; empty when valid.
    pub message: String,
}

impl SignatureStatus {
    /// The error kind a file gets for this outcome (none when valid).
    pub fn error_kind(self) -> Option<ErrorKind> {
        match self {
            SignatureStatus::Valid => None,
            SignatureStatus::Missing => Some(ErrorKind::SignatureMissing),
            SignatureStatus::Malformed | SignatureStatus::Invalid => {
                Some(ErrorKind::SignatureInvalid)
            }
            SignatureStatus::UnknownKey => Some(ErrorKind::UnknownKey),
        }
    }
}

impl VerifyReport {
    /// Records a signature check in this report: a failed one makes the
    /// file invalid, with one error of its kind first (line 0: the whole
    /// file), within the `max_errors` cap.
    pub fn add_signature(&mut self, check: SignatureReport, max_errors: usize) {
        if let Some(kind) = check.status.error_kind() {
            self.add_file_error(kind, check.message.clone(), max_errors);
        }
        self.signature = Some(check);
    }

    /// Adds an error about the whole file (line 0), first in the list.
    pub fn add_file_error(&mut self, kind: ErrorKind, message: String, max_errors: usize) {
        self.valid = false;
        self.error_count += 1;
        self.errors.insert(
            0,
            RowError {
                kind,
                line: 0,
                seq: None,
                column: None,
                message,
            },
        );
        if self.errors.len() > max_errors.max(1) {
            self.errors.truncate(max_errors.max(1));
            self.errors_truncated = true;
        }
    }
}
