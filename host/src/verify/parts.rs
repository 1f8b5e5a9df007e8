//! Merging the reports of a file's parts into the report one verifier of
//! the whole file gives, or refusing to.
//!
//! The file was cut at byte offsets right after a `\n`; part 0 was verified
//! from the start of the file, every later part by a continuation verifier
//! (given the header, lines counted from the part's start, no previous
//! `file_seq`). The merge is exact only when every part is clean (valid, no
//! warnings but row counts, at least one row): then, by induction over the parts, each part
//! ended where the whole file's reader is at a record boundary (a part that
//! ends inside a record is torn), so the parts saw exactly the records one
//! verifier sees, and only the seams remain to check: `file_seq` must rise
//! across them (a gap there is a gap of the whole file), and the number of
//! `"` before each cut must be even (a cut outside quotes; implied by the
//! above, checked anyway). Anything else returns `None`, and the caller
//! verifies the file whole: errors are rare, and one verifier's report is
//! the authority on them.
//!
//! A row count ("N row(s) hold ... (first: line L): ...", the component's
//! warnings about rows the policy's own validator rejects) is not a sign
//! of trouble: the parts' counts of one warning add up, and its first line
//! is the first part's that has it, moved to a file line.

use crate::report::{SeqGap, VerifyReport};
use crate::sandbox::PartFacts;

/// One part's outcome (serde: a part verified in another process or on
/// another machine comes back as JSON, see [`super::remote`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Part {
    /// The part's own report (lines counted from the part's start).
    pub report: VerifyReport,
    /// What the merge needs beside it.
    pub facts: PartFacts,
}

/// Whether a part's report can stand for its bytes in a merge: valid, and
/// warning only row counts. Any other part stops the split early.
pub(crate) fn mergeable(r: &VerifyReport) -> bool {
    r.valid && r.warnings.iter().all(|w| RowCount::parse(w).is_some())
}

/// The whole file's report from its parts, in file order, or `None` when
/// the parts cannot stand for the whole (see the module documentation).
pub fn merge(parts: &[Part], max_errors: u32) -> Option<VerifyReport> {
    let first = &parts.first()?.report;
    let clean = |r: &VerifyReport| mergeable(r) && r.rows > 0 && r.columns == first.columns;
    if !parts.iter().all(|p| clean(&p.report)) {
        return None;
    }
    let cap = max_errors as usize;
    let mut counts: Vec<RowCount> = Vec::new();
    let mut merged = VerifyReport {
        warnings: Vec::new(),
        gaps: Vec::new(),
        gap_count: 0,
        rows: 0,
        bytes: 0,
        ..first.clone()
    };
    // `\n` and `"` bytes before the current part.
    let (mut newlines, mut quotes) = (0u64, 0u64);
    let mut last_seq: Option<u64> = None;
    for part in parts {
        let r = &part.report;
        let (first_seq, part_last) = (r.first_seq?, r.last_seq?);
        if let Some(after) = last_seq {
            if quotes % 2 != 0 || first_seq <= after {
                return None;
            }
            if first_seq > after + 1 {
                merged.gap_count += 1;
                // A clean part's first row is on its first line.
                merged.gaps.push(SeqGap {
                    line: newlines + 1,
                    after,
                    next: first_seq,
                });
            }
        }
        merged.gaps.extend(r.gaps.iter().map(|g| SeqGap {
            line: g.line + newlines,
            ..g.clone()
        }));
        merged.gaps.truncate(cap);
        merged.gap_count += r.gap_count;
        for w in &r.warnings {
            let c = RowCount::parse(w)?;
            match counts
                .iter_mut()
                .find(|k| k.what == c.what && k.rest == c.rest)
            {
                Some(k) => k.rows += c.rows,
                None => counts.push(RowCount {
                    first_line: c.first_line + newlines,
                    ..c
                }),
            }
        }
        merged.rows += r.rows;
        merged.bytes += r.bytes;
        newlines += part.facts.newlines;
        quotes += part.facts.quotes;
        last_seq = Some(part_last);
    }
    merged.last_seq = last_seq;
    merged.warnings = counts.iter().map(RowCount::render).collect();
    Some(merged)
}

/// A warning that counts rows: `{rows} row(s) {what} (first: line
/// {first_line}){rest}`.
#[derive(Debug, Clone, PartialEq)]
struct RowCount<'a> {
    rows: u64,
    what: &'a str,
    first_line: u64,
    rest: &'a str,
}

impl<'a> RowCount<'a> {
    fn parse(w: &'a str) -> Option<Self> {
        let (rows, tail) = w.split_once(" row(s) ")?;
        let (what, tail) = tail.split_once(" (first: line ")?;
        let (line, rest) = tail.split_once(')')?;
        Some(RowCount {
            rows: rows.parse().ok()?,
            what,
            first_line: line.parse().ok()?,
            rest,
        })
    }

    fn render(&self) -> String {
        format!(
            "{} row(s) {} (first: line {}){}",
            self.rows, self.what, self.first_line, self.rest
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorKind, RowError};

    fn part(rows: u64, seqs: (u64, u64), gaps: Vec<SeqGap>, newlines: u64, quotes: u64) -> Part {
        Part {
            report: VerifyReport {
                valid: true,
                rows,
                first_seq: Some(seqs.0),
                last_seq: Some(seqs.1),
                columns: vec!["file_seq".into(), "checksum_sha256".into()],
                gap_count: gaps.len() as u64,
                gaps,
                errors: vec![],
                error_count: 0,
                errors_truncated: false,
                warnings: vec![],
                bytes: 100,
                signature: None,
            },
            facts: PartFacts {
                data_start: None,
                newlines,
                quotes,
            },
        }
    }

    fn gap(line: u64, after: u64, next: u64) -> SeqGap {
        SeqGap { line, after, next }
    }

    #[test]
    fn clean_parts_add_up_with_gaps_moved_to_file_lines() {
        let parts = [
            part(3, (1, 4), vec![gap(3, 1, 3)], 5, 2),
            part(2, (6, 7), vec![], 3, 0),
            part(2, (8, 20), vec![gap(2, 8, 20)], 4, 4),
        ];
        let r = merge(&parts, 10).unwrap();
        assert_eq!(
            (r.rows, r.first_seq, r.last_seq, r.bytes),
            (7, Some(1), Some(20), 300)
        );
        assert_eq!(r.gaps, vec![gap(3, 1, 3), gap(6, 4, 6), gap(10, 8, 20)]);
        assert_eq!(r.gap_count, 3);
        assert!(r.valid && r.errors.is_empty());
        // The gap list keeps the first `max_errors`, the count all of them.
        let r = merge(&parts, 2).unwrap();
        assert_eq!((r.gaps.len(), r.gap_count), (2, 3));
    }

    #[test]
    fn row_count_warnings_add_up_across_parts() {
        let cr = |n: u64, line: u64| {
            format!("{n} row(s) hold a field with a carriage return (first: line {line}): why")
        };
        let mut parts = [
            part(2, (1, 2), vec![], 5, 2),
            part(2, (3, 4), vec![], 3, 0),
            part(2, (5, 6), vec![], 4, 0),
        ];
        parts[1].report.warnings.push(cr(2, 2));
        parts[2].report.warnings.push(cr(1, 1));
        parts[2]
            .report
            .warnings
            .push("3 row(s) hold a long one (first: line 4): x".into());
        let r = merge(&parts, 10).unwrap();
        assert_eq!(
            r.warnings,
            vec![
                cr(3, 7),
                "3 row(s) hold a long one (first: line 12): x".to_owned()
            ]
        );
        assert_eq!(RowCount::parse(&cr(3, 7)).unwrap().render(), cr(3, 7));
    }

    #[test]
    fn anything_but_clean_parts_and_sound_seams_is_refused() {
        let good = || [part(2, (1, 2), vec![], 2, 0), part(2, (3, 4), vec![], 2, 0)];
        assert!(merge(&good(), 10).is_some());
        let mut odd_quotes = good();
        odd_quotes[0].facts.quotes = 1;
        assert!(merge(&odd_quotes, 10).is_none());
        let mut seq_falls = good();
        seq_falls[1].report.first_seq = Some(2);
        assert!(merge(&seq_falls, 10).is_none());
        let mut invalid = good();
        invalid[1].report.valid = false;
        invalid[1].report.error_count = 1;
        invalid[1].report.errors = vec![RowError {
            kind: ErrorKind::ChecksumMismatch,
            line: 1,
            seq: Some(3),
            column: None,
            message: "m".into(),
        }];
        assert!(merge(&invalid, 10).is_none());
        let mut warned = good();
        warned[0].report.warnings.push("no data rows".into());
        assert!(merge(&warned, 10).is_none());
        let mut empty = good();
        empty[1].report.rows = 0;
        assert!(merge(&empty, 10).is_none());
        let mut other_header = good();
        other_header[1].report.columns.pop();
        assert!(merge(&other_header, 10).is_none());
        assert!(merge(&[], 10).is_none());
    }
}
