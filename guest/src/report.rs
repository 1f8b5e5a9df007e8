//! Native mirrors of the WIT `types` interface, plus [`ErrorLog`].
//!
//! The logic modules use these plain Rust types so that they can be unit
//! tested without the component glue; `component.rs` converts them to and
//! from the generated bindings.

use alloc::string::String;
use alloc::vec::Vec;

/// What went wrong with a record (WIT `error-kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Not CSV as csvseal reads it (ragged, bare CR, stray quote, blank line,
    /// BOM, non-canonical `file_seq`, bad JSON).
    Malformed,
    /// Bytes that are not UTF-8.
    Encoding,
    /// Empty, duplicate or reserved column names.
    BadHeader,
    /// `file_seq` or `checksum_sha256` is absent (or there is no header).
    MissingColumn,
    /// The stored checksum differs from the computed one.
    ChecksumMismatch,
    /// `file_seq` did not strictly increase (or would overflow).
    SequenceViolation,
    /// A value breaks the table schema.
    Schema,
    /// The input stops inside a record.
    TornRow,
    /// A record exceeded `max_record_bytes` or `max_columns`.
    Limit,
}

impl ErrorKind {
    /// The stable WIT name, e.g. `"torn-row"`.
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

/// One problem, located as precisely as the input allows (WIT `row-error`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// 1-based physical line where the record starts; 0 means the whole file.
    pub line: u64,
    /// The record's `file_seq`, when it could be read.
    pub seq: Option<u64>,
    /// The column concerned, when there is one.
    pub column: Option<String>,
    /// What is wrong, for people (the kind is for programs).
    pub message: String,
}

impl RowError {
    /// An error with no `seq` and no column.
    pub fn new(kind: ErrorKind, line: u64, message: impl Into<String>) -> Self {
        RowError {
            kind,
            line,
            seq: None,
            column: None,
            message: message.into(),
        }
    }

    /// Sets the column concerned.
    pub fn with_column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }

    /// Sets the record's `file_seq`.
    pub fn with_seq(mut self, seq: Option<u64>) -> Self {
        self.seq = seq;
        self
    }
}

/// A jump in `file_seq`: `after` was followed by `next` (WIT `seq-gap`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqGap {
    /// Line of the record holding `next`.
    pub line: u64,
    /// The previous valid `file_seq`.
    pub after: u64,
    /// The `file_seq` that jumped.
    pub next: u64,
}

/// Limits that keep memory bounded whatever the input (WIT `limits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Errors (and gaps) kept in a report; later ones are only counted.
    pub max_errors: u32,
    /// Largest record the reader buffers: its fields after unquoting plus
    /// one byte between fields (for an unquoted record, its length without
    /// the line terminator). For JSON Lines, the longest line.
    pub max_record_bytes: u64,
    /// Most fields a record may have.
    pub max_columns: u32,
}

impl Default for Limits {
    /// 100 errors, 1 MiB records, 4096 columns: a convenience for tests; the
    /// host always passes its own values.
    fn default() -> Self {
        Limits {
            max_errors: 100,
            max_record_bytes: 1 << 20,
            max_columns: 4096,
        }
    }
}

/// Options of a verifier (WIT `verify-options`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// A Frictionless Table Schema (JSON text) the rows must satisfy.
    pub schema_json: Option<String>,
    /// Memory and report bounds.
    pub limits: Limits,
    /// Verify a later part of a file: the file's header record, exactly as
    /// stored (see [`crate::verify`], "Verifying in parts").
    pub continue_after: Option<Vec<u8>>,
}

/// The outcome of a verification (WIT `verify-report`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    /// True when there are no errors (gaps and warnings do not count).
    pub valid: bool,
    /// Data records seen, bad ones included (the header and blank lines
    /// excluded).
    pub rows: u64,
    /// The first valid `file_seq`.
    pub first_seq: Option<u64>,
    /// The last `file_seq` that passed the sequence check.
    pub last_seq: Option<u64>,
    /// The header as read (empty when there was none).
    pub columns: Vec<String>,
    /// The first `limits.max_errors` gaps.
    pub gaps: Vec<SeqGap>,
    /// All gaps.
    pub gap_count: u64,
    /// The first `limits.max_errors` errors, in input order.
    pub errors: Vec<RowError>,
    /// All errors.
    pub error_count: u64,
    /// True when `errors` holds fewer than `error_count`.
    pub errors_truncated: bool,
    /// Notes that do not make the file invalid ("no data rows").
    pub warnings: Vec<String>,
    /// Where the first data record starts, when the file can be verified in
    /// parts (see [`crate::verify`], "Verifying in parts").
    pub data_start: Option<u64>,
    /// `\n` bytes read (in a continuation, after the header).
    pub newlines: u64,
    /// `"` bytes read (in a continuation, after the header).
    pub quotes: u64,
}

/// The sealer's input format (WIT `input-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum InputFormat {
    /// CSV, `\n` or `\r\n` line ends, `"` quoting.
    #[default]
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// How a CSV input is written (WIT `dialect`). Sealed output is always the
/// policy's dialect; this describes only the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dialect {
    /// The field delimiter: one ASCII character other than the quote, CR
    /// or LF. Default `,`.
    pub delimiter: u8,
    /// The quote character, doubled inside a quoted field to stand for
    /// itself: one ASCII character other than the delimiter, CR or LF.
    /// Default `"`.
    pub quote: u8,
    /// False when the input has no header line: its columns are then the
    /// `header` option, else the schema's field order.
    pub has_header: bool,
    /// Refuse a header read from the input that is one column holding `;`,
    /// tab or `|` (the input is likely delimited by it). On unless the
    /// delimiter was chosen explicitly.
    pub guard_delimiter: bool,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect {
            delimiter: b',',
            quote: b'"',
            has_header: true,
            guard_delimiter: true,
        }
    }
}

impl Dialect {
    /// Refuses a delimiter or quote the reader cannot honour: not ASCII
    /// (input reaches the reader as UTF-8, where only ASCII is one byte), a
    /// line terminator, or the same byte for both.
    pub fn check(&self) -> Result<(), String> {
        for (what, b) in [("delimiter", self.delimiter), ("quote", self.quote)] {
            if !b.is_ascii() || b == b'\r' || b == b'\n' {
                return Err(alloc::format!(
                    "the {what} must be one ASCII character other than CR and LF, not byte 0x{b:02x}"
                ));
            }
        }
        if self.delimiter == self.quote {
            return Err(alloc::format!(
                "the delimiter and the quote are both {:?}",
                char::from(self.delimiter)
            ));
        }
        Ok(())
    }
}

/// Options of a sealer (WIT `seal-options`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealOptions {
    /// The input's format.
    pub format: InputFormat,
    /// How a CSV input is delimited and quoted, and whether it has a header
    /// line (ignored for JSON Lines).
    pub dialect: Dialect,
    /// The input's columns when it has no header line.
    pub header: Option<Vec<String>>,
    /// A Table Schema the output rows must satisfy.
    pub schema_json: Option<String>,
    /// `file_seq` of the first row written (at least 1).
    pub first_seq: u64,
    /// Memory and report bounds.
    pub limits: Limits,
}

impl Default for SealOptions {
    fn default() -> Self {
        SealOptions {
            format: InputFormat::Csv,
            dialect: Dialect::default(),
            header: None,
            schema_json: None,
            first_seq: 1,
            limits: Limits::default(),
        }
    }
}

/// What a successful seal wrote (WIT `seal-summary`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealSummary {
    /// The output header: `file_seq`, the input columns, `checksum_sha256`.
    pub columns: Vec<String>,
    /// Rows written.
    pub rows: u64,
    /// `file_seq` of the first row (None when no rows).
    pub first_seq: Option<u64>,
    /// `file_seq` of the last row (None when no rows).
    pub last_seq: Option<u64>,
    /// Bytes emitted in all, header included.
    pub bytes: u64,
}

/// Why a seal failed (WIT `seal-failure`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealFailure {
    /// The first `limits.max_errors` errors, in input order.
    pub errors: Vec<RowError>,
    /// All errors.
    pub error_count: u64,
    /// True when `errors` holds fewer than `error_count`.
    pub errors_truncated: bool,
}

/// A value for an error message: Debug-quoted (so that quotes, newlines
/// and control characters are visible) and cut to 60 characters.
pub(crate) fn shown(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((i, _)) => {
            let q = alloc::format!("{:?}", &text[..i]);
            alloc::format!("{}...\"", &q[..q.len() - 1])
        }
        None => alloc::format!("{text:?}"),
    }
}

/// Keeps the first `max` errors and counts all of them, so that a file full
/// of errors cannot exhaust memory.
#[derive(Clone, Debug)]
pub struct ErrorLog {
    max: usize,
    kept: Vec<RowError>,
    count: u64,
}

impl ErrorLog {
    /// A log that keeps at most `max` errors.
    pub fn new(max: u32) -> Self {
        ErrorLog {
            max: max as usize,
            kept: Vec::new(),
            count: 0,
        }
    }

    /// Records an error (kept only while under the cap).
    pub fn push(&mut self, error: RowError) {
        self.count += 1;
        if self.kept.len() < self.max {
            self.kept.push(error);
        }
    }

    /// Records the error `build` makes, calling it only if the error will
    /// be kept: a file with a million bad rows formats only `max` messages.
    #[inline]
    pub fn push_with(&mut self, build: impl FnOnce() -> RowError) {
        self.count += 1;
        if self.kept.len() < self.max {
            self.kept.push(build());
        }
    }

    /// Whether later errors would still be kept; callers use it to skip
    /// formatting messages nobody will see.
    pub fn has_room(&self) -> bool {
        self.kept.len() < self.max
    }

    /// Counts an error without building it (for when [`Self::has_room`] is
    /// false).
    pub fn count_only(&mut self) {
        self.count += 1;
    }

    /// All errors seen so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// True when no error was seen.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The errors kept.
    pub fn kept(&self) -> &[RowError] {
        &self.kept
    }

    /// True when some errors were only counted.
    pub fn truncated(&self) -> bool {
        self.count > self.kept.len() as u64
    }

    /// Consumes the log: (kept errors, count, truncated).
    pub fn into_parts(self) -> (Vec<RowError>, u64, bool) {
        let truncated = self.truncated();
        (self.kept, self.count, truncated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_log_caps_and_counts() {
        let mut log = ErrorLog::new(2);
        for i in 0..5 {
            log.push(RowError::new(ErrorKind::Malformed, i, "x"));
        }
        assert_eq!(log.count(), 5);
        assert_eq!(log.kept().len(), 2);
        assert!(log.truncated());
        let (kept, count, truncated) = log.into_parts();
        assert_eq!((kept[1].line, count, truncated), (1, 5, true));
    }

    #[test]
    fn error_log_zero_cap() {
        let mut log = ErrorLog::new(0);
        assert!(!log.has_room());
        log.count_only();
        assert!(log.truncated());
        assert!(!log.is_empty());
    }

    #[test]
    fn kind_names_match_wit() {
        assert_eq!(ErrorKind::TornRow.as_str(), "torn-row");
        assert_eq!(ErrorKind::ChecksumMismatch.as_str(), "checksum-mismatch");
    }
}
