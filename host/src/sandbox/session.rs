//! A store with one instance of the component, and the streaming verify
//! and seal sessions built on it: per-call CPU budget and output bounds.

use std::time::Duration;

use wasmtime::Store;
use wasmtime::component::ResourceAny;

use super::bindings;
use super::convert::{convert_error, convert_report, convert_summary, errors_bytes, report_bytes};
use super::limits::{State, check};
use crate::error::{Error, Result};
use crate::report::{RowError, SealSummary, VerifyReport};

/// One store with one instance of the component.
pub(super) struct Instance {
    pub(super) store: Store<State>,
    pub(super) bindings: bindings::Exports,
    pub(super) deadline_ticks: u64,
    pub(super) timeout: Duration,
    pub(super) max_output: u64,
}

impl Instance {
    /// Refuses a call's result larger than the per-call output limit.
    pub(super) fn check_output(&self, bytes: u64, what: &str) -> Result<()> {
        if bytes > self.max_output {
            return Err(Error::LimitExceeded {
                limit: "output",
                message: format!(
                    "the component returned {} MiB of {what} in one call, the limit is {} MiB (--max-output-mib)",
                    bytes >> 20,
                    self.max_output >> 20
                ),
            });
        }
        Ok(())
    }

    /// Gives the next call a fresh CPU budget.
    pub(super) fn arm(&mut self) {
        self.store.set_epoch_deadline(self.deadline_ticks);
    }

    /// Maps a failed call to an error that names the limit it hit.
    pub(super) fn check<T>(&self, r: wasmtime::Result<T>) -> Result<T> {
        check(r, self.timeout)
    }
}

/// Which input format a seal reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputFormat {
    /// CSV with `"` quoting.
    #[default]
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// How a CSV input is delimited and quoted, and whether it has a header
/// line. Sealed output is always the policy's dialect (`,`, `"`, CR LF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// The field delimiter: one ASCII character other than the quote, CR or
    /// LF. Default `,`.
    pub delimiter: u8,
    /// The quote character, doubled inside a quoted field: one ASCII
    /// character other than the delimiter, CR or LF. Default `"`.
    pub quote: u8,
    /// False when the input has no header line: its columns are then
    /// [`SealOptions::header`], else the schema's field order.
    pub has_header: bool,
    /// Refuse a header that is one column holding `;`, tab or `|` (the
    /// input is likely delimited by it and would be sealed reshaped). Turn
    /// it off when the delimiter was chosen on purpose.
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
    /// A dialect with this delimiter, chosen on purpose (so the one-column
    /// header guard is off).
    pub fn delimited_by(delimiter: u8) -> Self {
        Dialect {
            delimiter,
            guard_delimiter: false,
            ..Dialect::default()
        }
    }

    /// Refuses a delimiter or quote the reader cannot honour (the component
    /// checks the same; this gives a usage error before it starts).
    pub fn check(&self) -> Result<(), String> {
        for (what, b) in [("delimiter", self.delimiter), ("quote", self.quote)] {
            if !b.is_ascii() || b == b'\r' || b == b'\n' {
                return Err(format!(
                    "the {what} must be one ASCII character other than CR and LF, not byte 0x{b:02x}"
                ));
            }
        }
        if self.delimiter == self.quote {
            return Err(format!(
                "the delimiter and the quote are both {:?}",
                char::from(self.delimiter)
            ));
        }
        Ok(())
    }
}

/// Options for [`Sandbox::sealer`].
#[derive(Debug, Clone)]
pub struct SealOptions {
    pub format: InputFormat,
    /// A CSV input's delimiter, quote and header line (ignored for JSON
    /// Lines).
    pub dialect: Dialect,
    /// The input's columns, when the input has no header line.
    pub header: Option<Vec<String>>,
    pub schema_json: Option<String>,
    /// `file_seq` of the first row.
    pub first_seq: u64,
}

/// A verification in progress: feed the file's bytes, then finish.
pub struct VerifySession {
    pub(super) inst: Instance,
    pub(super) resource: ResourceAny,
    pub(super) bytes: u64,
    /// `\n` bytes fed before the current chunk: where a limit was hit.
    pub(super) newlines: u64,
}

impl VerifySession {
    /// Feeds the next chunk of the file (any size; 64 KiB–1 MiB is best).
    /// A limit hit names the line the chunk starts on (the record being
    /// read there, or continued, when the component ran out).
    pub fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        let at = self.bytes;
        self.bytes += chunk.len() as u64;
        self.inst.arm();
        let r = self
            .inst
            .bindings
            .csvseal_core_verify()
            .verifier()
            .call_feed(&mut self.inst.store, self.resource, chunk);
        let line = self.newlines + 1;
        self.inst.check(r).map_err(|e| match e {
            Error::LimitExceeded { limit, message } => Error::LimitExceeded {
                limit,
                message: format!(
                    "line {line}: {message} (reading the record there, or the one it continues, from byte {at})"
                ),
            },
            e => e,
        })?;
        // Only for error messages: memchr keeps it a small fraction of the
        // verification (a byte-by-byte count was 12% of all instructions).
        self.newlines += memchr::memchr_iter(b'\n', chunk).count() as u64;
        Ok(())
    }

    /// Ends the input and returns the report.
    pub fn finish(self) -> Result<VerifyReport> {
        self.finish_part().map(|(report, _)| report)
    }

    /// Ends the input: the report and what a merge of parts needs.
    pub(crate) fn finish_part(mut self) -> Result<(VerifyReport, PartFacts)> {
        self.inst.arm();
        let r = self
            .inst
            .bindings
            .csvseal_core_verify()
            .verifier()
            .call_finish(&mut self.inst.store, self.resource);
        let report = self.inst.check(r)?;
        self.inst.check_output(report_bytes(&report), "report")?;
        let _ = self.resource.resource_drop(&mut self.inst.store);
        let facts = PartFacts {
            data_start: report.data_start,
            newlines: report.newlines,
            quotes: report.quotes,
        };
        Ok((convert_report(report, self.bytes), facts))
    }
}

/// What a verifier reports for merging parts of a file (WIT
/// `verify-report`: `data-start`, `newlines`, `quotes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartFacts {
    /// Where the rows start, when the file can be verified in parts.
    pub data_start: Option<u64>,
    /// `\n` bytes read (in a continuation, after the header).
    pub newlines: u64,
    /// `"` bytes read (likewise).
    pub quotes: u64,
}

/// A seal in progress: feed input bytes, write what comes back, then finish.
pub struct SealSession {
    pub(super) inst: Instance,
    pub(super) resource: ResourceAny,
    pub(super) bytes_in: u64,
    /// `\n` bytes in the input fed so far: where a limit was hit.
    pub(super) newlines_in: u64,
    pub(super) bytes_out: u64,
}

/// The most a legitimate seal emits per input byte, with margin: a 2-byte
/// row `a\n` becomes up to 89 bytes (20-digit seq, comma, value, comma, 64
/// hex digits, CR LF), about 45x.
const MAX_EXPANSION: u64 = 64;

/// Why a seal did not complete.
#[derive(Debug)]
pub struct SealRejected {
    pub errors: Vec<RowError>,
    pub count: u64,
    pub truncated: bool,
}

impl SealRejected {
    pub(super) fn from_wit(f: bindings::exports::csvseal::core::types::SealFailure) -> Self {
        SealRejected {
            errors: f.errors.into_iter().map(convert_error).collect(),
            count: f.error_count,
            truncated: f.errors_truncated,
        }
    }
}

impl SealSession {
    /// Feeds input bytes; returns the sealed bytes they complete.
    /// A limit hit names the input line the chunk starts on.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<u8>> {
        self.inst.arm();
        let r = self.inst.bindings.csvseal_core_seal().sealer().call_feed(
            &mut self.inst.store,
            self.resource,
            chunk,
        );
        let (line, at) = (self.newlines_in + 1, self.bytes_in);
        let out = self.inst.check(r).map_err(|e| match e {
            Error::LimitExceeded { limit, message } => Error::LimitExceeded {
                limit,
                message: format!(
                    "input line {line}: {message} (reading the record there, or the one it continues, from byte {at})"
                ),
            },
            e => e,
        })?;
        // Only for error messages (see VerifySession::feed).
        self.newlines_in += memchr::memchr_iter(b'\n', chunk).count() as u64;
        self.bytes_in += chunk.len() as u64;
        self.count_output(out.len())?;
        Ok(out)
    }

    /// Per-call and total output bounds: no call returns more than
    /// `max_output_bytes`, and the whole output stays within what sealing
    /// the input could produce, so a plugin cannot fill the disk.
    fn count_output(&mut self, n: usize) -> Result<()> {
        self.inst.check_output(n as u64, "sealed output")?;
        self.bytes_out += n as u64;
        let bound = self
            .bytes_in
            .saturating_mul(MAX_EXPANSION)
            .saturating_add(self.inst.max_output);
        if self.bytes_out > bound {
            return Err(Error::LimitExceeded {
                limit: "output",
                message: format!(
                    "the component returned {} MiB in all for {} MiB of input, more than sealing can produce ({MAX_EXPANSION}x the input + --max-output-mib)",
                    self.bytes_out >> 20,
                    self.bytes_in >> 20
                ),
            });
        }
        Ok(())
    }

    /// Ends the input: the final bytes and a summary, or the input's errors.
    pub fn finish(mut self) -> Result<std::result::Result<(Vec<u8>, SealSummary), SealRejected>> {
        self.inst.arm();
        let r = self
            .inst
            .bindings
            .csvseal_core_seal()
            .sealer()
            .call_finish(&mut self.inst.store, self.resource);
        let out = self.inst.check(r)?;
        match &out {
            Ok((tail, _)) => self.count_output(tail.len())?,
            Err(f) => self.inst.check_output(errors_bytes(&f.errors), "errors")?,
        }
        let _ = self.resource.resource_drop(&mut self.inst.store);
        Ok(match out {
            Ok((tail, s)) => Ok((tail, convert_summary(s))),
            Err(f) => Err(SealRejected::from_wit(f)),
        })
    }
}
