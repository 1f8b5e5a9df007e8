//! An example csvseal plugin: the built-in engine plus one custom row rule.
//!
//! The rule: when a file has a `symbol` column, every value in it must be
//! six ASCII uppercase letters (a currency pair such as `EURUSD`). The
//! plugin reuses csvseal's own logic as a library (`csvseal-guest`, feature
//! `plugin-api`) and adds the rule on top:
//!
//! - `verify`: the built-in verifier's report, plus one `schema` error per
//!   offending row;
//! - `seal`: the built-in sealer, with the rule checked on the sealed rows;
//!   the first offending row stops the output and `finish` fails, so
//!   `csvseal write --component` commits nothing.
//!
//! Built for `wasm32-wasip2`, `no_std` like the built-in component, so it
//! imports nothing. See plugins/README.md for the world and how to build.
#![no_std]
extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use csvseal_guest::component::{
    self as api, ChecksumGuest, GuestSealer, GuestVerifier, SealGuest, Sealer, Verifier,
    VerifyGuest, wit,
};
use csvseal_guest::csv_reader::{CsvReader, Event, ReaderConfig};
use csvseal_guest::report::{ErrorKind, Limits, RowError};
use csvseal_guest::{seal, verify};

/// The column the rule applies to.
const COLUMN: &str = "symbol";

/// True when `value` passes the rule.
fn rule_holds(value: &str) -> bool {
    value.len() == 6 && value.bytes().all(|b| b.is_ascii_uppercase())
}

/// Applies the rule to a sealed CSV stream, record by record, in constant
/// memory. Format problems are left to the built-in checks.
struct RowRule {
    reader: CsvReader,
    /// `None` until the header is read; then the rule column's index, if any.
    column: Option<Option<usize>>,
    errors: Vec<RowError>,
    count: u64,
    max_errors: u32,
}

impl RowRule {
    fn new(limits: Limits) -> Self {
        RowRule {
            reader: CsvReader::new(ReaderConfig {
                max_record_bytes: limits.max_record_bytes,
                max_columns: limits.max_columns,
                require_terminator: true,
            }),
            column: None,
            errors: Vec::new(),
            count: 0,
            max_errors: limits.max_errors,
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        let Self {
            reader,
            column,
            errors,
            count,
            max_errors,
        } = self;
        reader.feed(chunk, &mut |ev| {
            let Event::Record(rec) = ev else { return };
            let Some(col) = column else {
                *column = Some(rec.iter().position(|name| name == COLUMN));
                return;
            };
            let Some(i) = *col else { return };
            if i >= rec.len() || rule_holds(rec.get(i)) {
                return;
            }
            *count += 1;
            if errors.len() < *max_errors as usize {
                errors.push(RowError {
                    kind: ErrorKind::Schema,
                    line: rec.line,
                    seq: rec.get(0).parse().ok(),
                    column: Some(COLUMN.into()),
                    message: format!(
                        "row rule: {COLUMN} must be six uppercase letters, got {:?}",
                        rec.get(i)
                    ),
                });
            }
        });
    }
}

/// The exported engine: the built-in one, with the rule layered on.
struct RowRuleEngine;

impl ChecksumGuest for RowRuleEngine {
    fn row_checksum(header: Vec<String>, fields: Vec<String>) -> Result<String, String> {
        api::Engine::row_checksum(header, fields)
    }
}

impl VerifyGuest for RowRuleEngine {
    type Verifier = RuleVerifier;
}

impl SealGuest for RowRuleEngine {
    type Sealer = RuleSealer;
}

struct RuleVerifier {
    inner: RefCell<verify::Verifier>,
    rule: RefCell<RowRule>,
}

impl GuestVerifier for RuleVerifier {
    fn create(options: wit::VerifyOptions) -> Result<Verifier, String> {
        let options = api::verify_options(options);
        let rule = RowRule::new(options.limits);
        let inner = verify::Verifier::new(options)?;
        Ok(Verifier::new(RuleVerifier {
            inner: RefCell::new(inner),
            rule: RefCell::new(rule),
        }))
    }

    fn feed(&self, chunk: Vec<u8>) {
        self.inner.borrow_mut().feed(&chunk);
        self.rule.borrow_mut().feed(&chunk);
    }

    fn finish(&self) -> wit::VerifyReport {
        let mut report = self.inner.borrow_mut().finish();
        let rule = self.rule.borrow();
        if rule.count > 0 {
            let max = rule.max_errors as usize;
            report.valid = false;
            report.error_count += rule.count;
            report.errors.extend(rule.errors.iter().cloned());
            // Keep the report in input order, within the error cap.
            report.errors.sort_by_key(|e| e.line);
            if report.errors.len() > max {
                report.errors.truncate(max);
            }
            report.errors_truncated = report.error_count > report.errors.len() as u64;
        }
        api::verify_report(report)
    }
}

struct RuleSealer {
    inner: RefCell<seal::Sealer>,
    rule: RefCell<RowRule>,
}

impl GuestSealer for RuleSealer {
    fn create(options: wit::SealOptions) -> Result<Sealer, String> {
        let options = api::seal_options(options);
        let rule = RowRule::new(options.limits);
        let inner = seal::Sealer::new(options)?;
        Ok(Sealer::new(RuleSealer {
            inner: RefCell::new(inner),
            rule: RefCell::new(rule),
        }))
    }

    fn feed(&self, chunk: Vec<u8>) -> Vec<u8> {
        let out = self.inner.borrow_mut().feed(&chunk);
        let mut rule = self.rule.borrow_mut();
        if rule.count > 0 {
            return Vec::new();
        }
        rule.feed(&out);
        // The contract: after the first error, emit nothing more.
        if rule.count > 0 { Vec::new() } else { out }
    }

    fn finish(&self) -> Result<(Vec<u8>, wit::SealSummary), wit::SealFailure> {
        let outcome = self.inner.borrow_mut().finish();
        let mut rule = self.rule.borrow_mut();
        if let Ok((tail, _)) = &outcome {
            rule.feed(tail);
        }
        if rule.count == 0 {
            return api::seal_result(outcome);
        }
        let mut failure = api::seal_result(outcome).err().unwrap_or(wit::SealFailure {
            errors: Vec::new(),
            error_count: 0,
            errors_truncated: false,
        });
        let max = rule.max_errors as usize;
        failure.error_count += rule.count;
        failure
            .errors
            .extend(rule.errors.drain(..).map(api::row_error));
        failure.errors.sort_by_key(|e| e.line);
        failure.errors.truncate(max);
        failure.errors_truncated = failure.error_count > failure.errors.len() as u64;
        Err(failure)
    }
}

csvseal_guest::component::export_engine!(RowRuleEngine with_types_in csvseal_guest::component);
