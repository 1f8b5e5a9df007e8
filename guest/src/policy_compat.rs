//! Rows that csvseal seals and verifies correctly, but that the policy's own
//! Python `validate_csv_integrity` rejects when run as the policy prints it:
//!
//! * a field holding `\r`: the policy opens files without `newline=''`, so
//!   Python's universal newlines turn `\r\n` and `\r` inside a quoted field
//!   into `\n`, and the row's checksum no longer matches;
//! * a field over 131,072 characters: Python's `csv` module refuses it
//!   unless `csv.field_size_limit` is raised, which the policy does not.
//!
//! The verifier counts both and says so in warnings, so a `write` of such
//! rows, and a `verify` of such a file, tell the user before a consumer
//! running the policy's code does.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::csv_reader::Record;

/// Python's default `csv.field_size_limit()`, in characters.
pub const PYTHON_FIELD_LIMIT: usize = 131_072;

/// Rows with each hazard: how many, and the first one's line.
#[derive(Debug, Default, Clone)]
pub struct PolicyHazards {
    carriage_returns: Hazard,
    long_fields: Hazard,
}

#[derive(Debug, Default, Clone, Copy)]
struct Hazard {
    rows: u64,
    first_line: u64,
}

impl Hazard {
    fn saw(&mut self, line: u64) {
        if self.rows == 0 {
            self.first_line = line;
        }
        self.rows += 1;
    }
}

impl PolicyHazards {
    /// Looks at one data record. Cheap on the hot path: an unquoted record
    /// holds no `\r` by construction, and only a record longer than the
    /// limit in bytes can hold a field longer than it in characters.
    #[inline]
    pub fn check(&mut self, record: &Record<'_>) {
        if record.raw_text().is_some() && record.text_len() <= PYTHON_FIELD_LIMIT {
            return;
        }
        self.check_slow(record);
    }

    // Out of line: off the per-row path (callgrind: no cost either way).
    #[cold]
    #[inline(never)]
    fn check_slow(&mut self, record: &Record<'_>) {
        let fields = || (0..record.len()).map(|i| record.get(i));
        if record.raw_text().is_none() && fields().any(|f| f.contains('\r')) {
            self.carriage_returns.saw(record.line);
        }
        if record.text_len() > PYTHON_FIELD_LIMIT
            && fields()
                .any(|f| f.len() > PYTHON_FIELD_LIMIT && f.chars().count() > PYTHON_FIELD_LIMIT)
        {
            self.long_fields.saw(record.line);
        }
    }

    /// One warning per hazard seen.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let h = self.carriage_returns;
        if h.rows > 0 {
            out.push(format!(
                "{} row(s) hold a field with a carriage return (first: line {}): the policy's \
                 validate_csv_integrity, which opens files without newline='', reads them \
                 altered and rejects this file",
                h.rows, h.first_line
            ));
        }
        let h = self.long_fields;
        if h.rows > 0 {
            out.push(format!(
                "{} row(s) hold a field over {PYTHON_FIELD_LIMIT} characters (first: line {}): \
                 Python's csv module refuses it unless csv.field_size_limit is raised, so the \
                 policy's validate_csv_integrity rejects this file",
                h.rows, h.first_line
            ));
        }
        out
    }
}
