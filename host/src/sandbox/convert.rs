//! The component's report types (WIT bindings) to the library's own.

use super::bindings::exports::csvseal::core::types as wit;
use crate::report::{ErrorKind, RowError, SealSummary, SeqGap, VerifyReport};

/// Roughly the bytes a report's variable parts take, for the output limit.
pub(super) fn report_bytes(r: &wit::VerifyReport) -> u64 {
    let strings = |v: &[String]| v.iter().map(|s| s.len() as u64 + 16).sum::<u64>();
    strings(&r.columns) + strings(&r.warnings) + r.gaps.len() as u64 * 24 + errors_bytes(&r.errors)
}

pub(super) fn errors_bytes(errors: &[wit::RowError]) -> u64 {
    errors
        .iter()
        .map(|e| 48 + e.message.len() as u64 + e.column.as_ref().map_or(0, |c| c.len() as u64))
        .sum()
}

pub(super) fn convert_kind(k: wit::ErrorKind) -> ErrorKind {
    match k {
        wit::ErrorKind::Malformed => ErrorKind::Malformed,
        wit::ErrorKind::Encoding => ErrorKind::Encoding,
        wit::ErrorKind::BadHeader => ErrorKind::BadHeader,
        wit::ErrorKind::MissingColumn => ErrorKind::MissingColumn,
        wit::ErrorKind::ChecksumMismatch => ErrorKind::ChecksumMismatch,
        wit::ErrorKind::SequenceViolation => ErrorKind::SequenceViolation,
        wit::ErrorKind::Schema => ErrorKind::Schema,
        wit::ErrorKind::TornRow => ErrorKind::TornRow,
        wit::ErrorKind::Limit => ErrorKind::Limit,
    }
}

pub(super) fn convert_error(e: wit::RowError) -> RowError {
    RowError {
        kind: convert_kind(e.kind),
        line: e.line,
        seq: e.seq,
        column: e.column,
        message: e.message,
    }
}

pub(super) fn convert_report(r: wit::VerifyReport, bytes: u64) -> VerifyReport {
    VerifyReport {
        valid: r.valid,
        rows: r.rows,
        first_seq: r.first_seq,
        last_seq: r.last_seq,
        columns: r.columns,
        gaps: r
            .gaps
            .into_iter()
            .map(|g| SeqGap {
                line: g.line,
                after: g.after,
                next: g.next,
            })
            .collect(),
        gap_count: r.gap_count,
        errors: r.errors.into_iter().map(convert_error).collect(),
        error_count: r.error_count,
        errors_truncated: r.errors_truncated,
        warnings: r.warnings,
        bytes,
        signature: None,
    }
}

pub(super) fn convert_summary(s: wit::SealSummary) -> SealSummary {
    SealSummary {
        columns: s.columns,
        rows: s.rows,
        first_seq: s.first_seq,
        last_seq: s.last_seq,
        bytes: s.bytes,
    }
}
