//! Streaming verification of a sealed file (WIT `verify`).
//!
//! Per record, in order: the header (first record) must name every column
//! once and include `file_seq` and `checksum_sha256`; each data record must
//! have the header's field count, a canonical positive `file_seq` greater
//! than the previous valid one, a checksum equal to the computed one, and
//! values the schema accepts. At the end, input that does not end with a
//! line terminator is a torn row.
//!
//! Whole-file outcomes:
//! * a 0-byte file: one `missing-column` error at line 0, "file is empty: no
//!   header";
//! * input with no complete header record (only blank lines, or a torn or
//!   unreadable first record): its own errors plus a `missing-column` error at
//!   line 0, "no header record";
//! * a header and no data rows: valid, `rows` 0, warning "no data rows";
//! * an unusable header (bad or missing columns): its errors; data records
//!   are still counted in `rows` and split (so torn input is still found)
//!   but not checked, which a warning says.
//!
//! Blank lines and a leading byte order mark are `malformed` errors (the
//! reference writer produces neither), and blank lines are not rows.
//!
//! # Verifying in parts
//!
//! A host may verify a large file in parallel: one verifier reads the file
//! from its start up to a record boundary, and each later part goes to a
//! verifier created with [`VerifyOptions::continue_after`] set to the
//! file's header record. Such a verifier reads the header, then treats the
//! next byte as a record boundary: lines count from 1 there, and its first
//! row has no previous `file_seq`. Every report carries what the host needs
//! at the seams: [`VerifyReport::data_start`] (where the header ends, so
//! the host can cut after it), and the `\n` and `"` bytes read. The parts'
//! reports add up to the whole file's exactly when every part is error-free
//! and began where the whole file's reader sees a record boundary; a part
//! that began inside a record ends in a torn record or other error, and the
//! `"` count shows a start inside quotes. The host merges clean parts and
//! verifies the file whole otherwise.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::checksum::{BATCH_MAX_ROW_BYTES, CHECKSUM_COLUMN, ChecksumPlan, SEQ_COLUMN, hex};
use crate::csv_reader::{CsvReader, Event, ReadError, ReaderConfig, Record};
use crate::lanes::{LaneStats, RowHasher};
use crate::policy_compat::PolicyHazards;
use crate::report::{
    ErrorKind, ErrorLog, Limits, RowError, SeqGap, VerifyOptions, VerifyReport, shown,
};
use crate::schema::{Checker, RowContext, Schema};
use crate::values_digest::ValuesDigest;

/// Parses a canonical `file_seq`: ASCII digits, no sign, no leading zero,
/// 1..=u64::MAX.
#[inline]
pub fn parse_seq(text: &[u8]) -> Option<u64> {
    const MAX: &[u8] = b"18446744073709551615";
    match text.first() {
        Some(b'1'..=b'9') if text.len() <= MAX.len() => {}
        _ => return None,
    }
    if !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Same-length digit strings compare like their values; checking this
    // up front keeps the loop free of overflow checks (which on wasm32 cost
    // a 128-bit multiply per digit).
    if text.len() == MAX.len() && text > MAX {
        return None;
    }
    Some(text.iter().fold(0u64, |n, &b| {
        n.wrapping_mul(10).wrapping_add(u64::from(b - b'0'))
    }))
}

/// What is known about the header.
#[derive(Debug)]
enum Header {
    /// No record read yet.
    Pending,
    /// Rows can be checked.
    Usable(Columns),
    /// Rows can only be counted.
    Unusable,
}

/// A usable header, prepared for the per-row checks.
#[derive(Debug)]
struct Columns {
    count: usize,
    seq: usize,
    checksum: usize,
    plan: ChecksumPlan,
    checker: Option<Checker>,
}

/// The verification state, apart from the reader (so that the reader's
/// callback can borrow it mutably).
#[derive(Debug)]
struct State {
    schema: Option<Schema>,
    header: Header,
    columns: Vec<String>,
    t: Tally,
}

/// What the row checks accumulate.
#[derive(Debug)]
struct Tally {
    /// Hashes the rows' checksum inputs (see [`crate::lanes`]).
    hasher: RowHasher,
    /// Rows waiting for their checksum, in row order (one per digest the
    /// hasher has yet to return).
    waiting: Waiting,
    rows: u64,
    prev_seq: Option<u64>,
    first_seq: Option<u64>,
    log: ErrorLog,
    gaps: Vec<SeqGap>,
    gap_cap: usize,
    gap_count: u64,
    /// Rows the policy's own Python validator would reject.
    hazards: PolicyHazards,
    /// The values digest of the rows read, when asked for (WIT `fidelity`).
    values: Option<ValuesDigest>,
}

/// A streaming verifier: [`Verifier::feed`] chunks, then [`Verifier::finish`].
#[derive(Debug)]
pub struct Verifier {
    reader: CsvReader,
    state: State,
    report: Option<VerifyReport>,
    /// Bytes up to the end of the header record, once it has been read.
    header_end: Option<u64>,
    /// True when verifying a later part of a file.
    continuation: bool,
}

impl Verifier {
    /// A verifier; fails only if the schema cannot be parsed, or
    /// `continue_after` is not exactly one record.
    pub fn new(options: VerifyOptions) -> Result<Verifier, String> {
        let schema = options
            .schema_json
            .as_deref()
            .map(Schema::parse)
            .transpose()?;
        let Limits {
            max_errors,
            max_record_bytes,
            max_columns,
        } = options.limits;
        let mut verifier = Verifier {
            reader: CsvReader::new(ReaderConfig {
                max_record_bytes,
                max_columns,
                require_terminator: true,
            }),
            state: State {
                schema,
                header: Header::Pending,
                columns: Vec::new(),
                t: Tally {
                    hasher: RowHasher::new(),
                    waiting: Waiting::default(),
                    rows: 0,
                    prev_seq: None,
                    first_seq: None,
                    log: ErrorLog::new(max_errors),
                    gaps: Vec::new(),
                    gap_cap: max_errors as usize,
                    gap_count: 0,
                    hazards: PolicyHazards::default(),
                    values: None,
                },
            },
            report: None,
            header_end: None,
            continuation: false,
        };
        if let Some(header) = options.continue_after {
            verifier.feed(&header);
            let one_record = verifier.header_end == Some(header.len() as u64)
                && verifier.state.t.rows == 0
                && verifier.reader.resume_here();
            if !one_record {
                return Err("continue-after is not exactly one record".into());
            }
            verifier.continuation = true;
        }
        Ok(verifier)
    }

    /// Also digests the values of the rows read (see
    /// [`crate::values_digest`]); call before the first [`Self::feed`].
    pub fn with_values_digest(mut self) -> Self {
        self.state.t.values = Some(ValuesDigest::new());
        self
    }

    /// The SHA-256 lanes' work so far (see [`LaneStats`]).
    pub fn lane_stats(&self) -> LaneStats {
        self.state.t.hasher.stats()
    }

    /// After [`Self::finish`], the values digest of the rows read, when
    /// [`Self::with_values_digest`] asked for it (once).
    pub fn take_values_digest(&mut self) -> Option<[u8; 32]> {
        self.state.t.values.take().map(ValuesDigest::finish)
    }

    /// Consumes a chunk of the file. Ignored after [`Self::finish`].
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.report.is_some() {
            return;
        }
        let state = &mut self.state;
        let mut rest = chunk;
        // Until the header is read, feed up to one `\n` at a time: a record
        // ends only at a `\n`, so the header's end is then where the feed
        // that completed it stopped.
        while matches!(state.header, Header::Pending) && !rest.is_empty() {
            let n = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |i| i + 1);
            self.reader.feed(&rest[..n], &mut |ev| state.on_event(ev));
            rest = &rest[n..];
            if !matches!(state.header, Header::Pending) {
                self.header_end = Some(self.reader.bytes_seen());
            }
        }
        if !rest.is_empty() {
            self.reader.feed(rest, &mut |ev| state.on_event(ev));
        }
    }

    /// Ends the input and returns the report; later calls return it again.
    pub fn finish(&mut self) -> VerifyReport {
        if let Some(report) = &self.report {
            return report.clone();
        }
        let state = &mut self.state;
        self.reader.finish(&mut |ev| state.on_event(ev));
        let mut report = self.state.report(self.reader.bytes_seen());
        report.data_start = self.data_start();
        report.newlines = self.reader.newlines();
        report.quotes = self.reader.quotes();
        self.report = Some(report.clone());
        report
    }

    /// Where the rows start, when they can be checked in separate parts.
    fn data_start(&self) -> Option<u64> {
        match &self.state.header {
            Header::Usable(cols) if !self.continuation => {
                let related = cols.checker.as_ref().is_some_and(Checker::compares_rows);
                self.header_end.filter(|_| !related)
            }
            _ => None,
        }
    }
}

impl State {
    fn on_event(&mut self, ev: Event<'_>) {
        match ev {
            Event::Record(record) => match &mut self.header {
                Header::Pending => self.on_header(&record),
                Header::Usable(cols) => {
                    self.t.rows += 1;
                    self.t.hazards.check(&record);
                    check_row(cols, &record, &mut self.t);
                }
                Header::Unusable => self.t.rows += 1,
            },
            Event::Blank(line) => {
                self.t.flush();
                self.t
                    .log
                    .push(RowError::new(ErrorKind::Malformed, line, "blank line"));
            }
            Event::ByteOrderMark => self.t.log.push(RowError::new(
                ErrorKind::Malformed,
                1,
                "file starts with a UTF-8 byte order mark",
            )),
            Event::Error(err) => {
                self.t.flush();
                self.on_read_error(err);
            }
        }
    }

    #[cold]
    fn on_read_error(&mut self, err: ReadError) {
        match self.header {
            Header::Pending => {
                // The first record was meant to be the header, not a row.
                if err.kind != ErrorKind::TornRow {
                    self.header = Header::Unusable;
                }
            }
            _ => self.t.rows += 1,
        }
        let header = (!self.columns.is_empty()).then_some(self.columns.as_slice());
        let row_error = err.into_row_error(header);
        self.t.log.push(row_error);
    }

    fn on_header(&mut self, record: &Record<'_>) {
        let line = record.line;
        self.columns = record.iter().map(String::from).collect();
        let mut usable = true;
        // A set, not a scan of earlier names: headers may have many columns.
        let mut seen = BTreeSet::new();
        for (i, name) in self.columns.iter().enumerate() {
            if name.is_empty() {
                usable = false;
                self.t.log.push(RowError::new(
                    ErrorKind::BadHeader,
                    line,
                    format!("column {} has an empty name", i + 1),
                ));
            } else if !seen.insert(name.as_str()) {
                usable = false;
                self.t.log.push(
                    RowError::new(
                        ErrorKind::BadHeader,
                        line,
                        format!("duplicate column name {}", shown(name)),
                    )
                    .with_column(name.as_str()),
                );
            }
        }
        let find = |name: &str| self.columns.iter().position(|c| c == name);
        let (seq, checksum) = (find(SEQ_COLUMN), find(CHECKSUM_COLUMN));
        if let Some(option) = crate::dialect_hint::other_delimiter(&self.columns) {
            // One error that says why, not two missing columns; and no
            // column label: the one "name" is the whole header line.
            self.t.log.push(RowError::new(
                ErrorKind::BadHeader,
                line,
                format!(
                    "the header is one column holding {option}: the file looks \
                     {option}-delimited, and a sealed file is ','-delimited (the policy \
                     writes and checks it with Python's csv defaults), so it cannot \
                     verify; `csvseal write --delimiter {option}` seals rows delimited \
                     by {option}"
                ),
            ));
            // Nor later: a record's errors would name field 1 by it.
            self.columns.clear();
            self.header = Header::Unusable;
            return;
        }
        for (name, index) in [(SEQ_COLUMN, seq), (CHECKSUM_COLUMN, checksum)] {
            if index.is_none() {
                self.t.log.push(
                    RowError::new(
                        ErrorKind::MissingColumn,
                        line,
                        format!("required column {name} is missing"),
                    )
                    .with_column(name),
                );
            }
        }
        let (Some(seq), Some(checksum), true) = (seq, checksum, usable) else {
            self.header = Header::Unusable;
            return;
        };
        let checker = self.schema.take().map(|schema| {
            let (checker, unknown) = schema.bind(&self.columns);
            for name in unknown {
                self.t.log.push(
                    RowError::new(
                        ErrorKind::Schema,
                        line,
                        format!("schema field {} is not a column", shown(&name)),
                    )
                    .with_column(name),
                );
            }
            checker
        });
        self.header = Header::Usable(Columns {
            count: self.columns.len(),
            seq,
            checksum,
            plan: ChecksumPlan::new(&self.columns),
            checker,
        });
    }

    fn report(&mut self, bytes_seen: u64) -> VerifyReport {
        self.t.flush();
        let mut warnings = Vec::new();
        match self.header {
            Header::Pending => {
                let message = if bytes_seen == 0 {
                    "file is empty: no header"
                } else {
                    "no header record"
                };
                self.t
                    .log
                    .push(RowError::new(ErrorKind::MissingColumn, 0, message));
            }
            Header::Usable(_) if self.t.rows == 0 => warnings.push("no data rows".to_string()),
            Header::Unusable if self.t.rows > 0 => warnings.push(format!(
                "{} data rows were not checked because the header is unusable",
                self.t.rows
            )),
            _ => {}
        }
        warnings.extend(self.t.hazards.warnings());
        let log = core::mem::replace(&mut self.t.log, ErrorLog::new(0));
        let (errors, error_count, errors_truncated) = log.into_parts();
        VerifyReport {
            valid: error_count == 0,
            rows: self.t.rows,
            first_seq: self.t.first_seq,
            last_seq: self.t.prev_seq,
            columns: self.columns.clone(),
            gaps: core::mem::take(&mut self.t.gaps),
            gap_count: self.t.gap_count,
            errors,
            error_count,
            errors_truncated,
            warnings,
            data_start: None,
            newlines: 0,
            quotes: 0,
        }
    }
}

/// A row waiting for its checksum. Everything else about the row is
/// already checked; its errors wait here too, so that the log stays in
/// input order.
#[derive(Debug, Default)]
struct Pending {
    line: u64,
    seq: Option<u64>,
    /// The stored `checksum_sha256` field (its start, when it is longer
    /// than any checksum: enough to show).
    stored: Vec<u8>,
    /// Errors that precede the checksum's (sequence checks).
    before: Vec<RowError>,
    /// Errors that follow it (schema checks).
    after: Vec<RowError>,
}

/// Rows waiting for their checksum, in row order: a ring of slots reused
/// in place (with their buffers), so a row is never moved.
#[derive(Debug, Default)]
struct Waiting {
    /// A power of two long, or empty.
    slots: Vec<Pending>,
    head: usize,
    len: usize,
}

impl Waiting {
    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The slot after the last row, to fill and then [`Self::push`].
    #[inline]
    fn next_slot(&mut self) -> &mut Pending {
        if self.len == self.slots.len() {
            self.slots.rotate_left(self.head);
            self.head = 0;
            let grown = (2 * self.slots.len()).max(8);
            self.slots.resize_with(grown, Pending::default);
        }
        let i = (self.head + self.len) & (self.slots.len() - 1);
        &mut self.slots[i]
    }

    fn push(&mut self) {
        self.len += 1;
    }

    /// The first row, if any.
    #[inline]
    fn front(&mut self) -> Option<&mut Pending> {
        (self.len > 0).then(|| &mut self.slots[self.head])
    }

    fn pop_front(&mut self) {
        self.head = (self.head + 1) & (self.slots.len() - 1);
        self.len -= 1;
    }
}

impl Tally {
    /// Logs the errors of the rows whose checksum is done, in row order.
    #[inline]
    fn emit(&mut self) {
        while let Some(digest) = self.hasher.pop() {
            let Some(p) = self.waiting.front() else {
                debug_assert!(false, "a digest with no row");
                return;
            };
            let sum = hex(&digest);
            for e in p.before.drain(..) {
                self.log.push(e);
            }
            if !crate::short_bytes::eq64(&p.stored, &sum) {
                self.log.push_with(|| mismatch(p, &sum));
            }
            for e in p.after.drain(..) {
                self.log.push(e);
            }
            self.waiting.pop_front();
        }
    }

    /// Hashes every waiting row and logs their errors in row order.
    fn flush(&mut self) {
        if self.waiting.is_empty() {
            return;
        }
        self.hasher.drain();
        self.emit();
    }
}

#[cold]
fn mismatch(p: &Pending, sum: &[u8; 64]) -> RowError {
    let expected = core::str::from_utf8(sum).unwrap_or_default();
    // The field came from a UTF-8-checked record.
    let stored = core::str::from_utf8(&p.stored).unwrap_or_default();
    let well_formed = stored.len() == 64
        && stored
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let message = if well_formed {
        format!("checksum mismatch: expected {expected}, stored {stored}")
    } else {
        format!(
            "checksum mismatch: expected {expected}, stored {} is not 64 lowercase hex digits",
            shown(stored)
        )
    };
    RowError::new(ErrorKind::ChecksumMismatch, p.line, message)
        .with_seq(p.seq)
        .with_column(CHECKSUM_COLUMN)
}

/// The per-row checks: the hot path. The checksum comparison is deferred
/// to [`Tally::emit`], once the lanes have hashed the row.
#[inline]
fn check_row(cols: &mut Columns, record: &Record<'_>, st: &mut Tally) {
    let line = record.line;
    if record.len() != cols.count {
        st.flush();
        st.log.push_with(|| {
            RowError::new(
                ErrorKind::Malformed,
                line,
                format!("expected {} fields, found {}", cols.count, record.len()),
            )
        });
        return;
    }

    if let Some(values) = &mut st.values {
        values.row(
            (0..record.len())
                .filter(|&i| i != cols.checksum)
                .map(|i| record.bytes(i)),
        );
    }
    let p = st.waiting.next_slot();
    let seq_text = record.bytes(cols.seq);
    let seq = parse_seq(seq_text);
    p.line = line;
    p.seq = seq;
    let room = st.log.has_room();
    match seq {
        None if !room => st.log.count_only(),
        None => p.before.push(
            RowError::new(
                ErrorKind::Malformed,
                line,
                format!(
                    "file_seq {} is not a positive integer without sign or leading zeros",
                    shown(record.get(cols.seq))
                ),
            )
            .with_column(SEQ_COLUMN),
        ),
        Some(s) => match st.prev_seq {
            Some(prev) if s <= prev && !room => st.log.count_only(),
            Some(prev) if s <= prev => p.before.push(
                RowError::new(
                    ErrorKind::SequenceViolation,
                    line,
                    format!("file_seq {s} is not greater than previous {prev}"),
                )
                .with_seq(seq)
                .with_column(SEQ_COLUMN),
            ),
            prev => {
                if let Some(prev) = prev.filter(|&p| s > p + 1) {
                    st.gap_count += 1;
                    if st.gaps.len() < st.gap_cap {
                        st.gaps.push(SeqGap {
                            line,
                            after: prev,
                            next: s,
                        });
                    }
                }
                st.first_seq.get_or_insert(s);
                st.prev_seq = Some(s);
            }
        },
    }

    p.stored.clear();
    let stored = record.get(cols.checksum);
    // A checksum is 64 bytes; keep at most 128 of a longer field, cut at a
    // character boundary, so a huge field is not copied.
    let mut keep = stored.len().min(128);
    while !stored.is_char_boundary(keep) {
        keep -= 1;
    }
    crate::short_bytes::extend(&mut p.stored, &stored.as_bytes()[..keep]);

    if let Some(checker) = &mut cols.checker {
        let after = &mut p.after;
        let log = &mut st.log;
        checker.check_row(|i| record.get(i), RowContext { line, seq }, &mut |e| {
            if room {
                after.push(e);
            } else {
                log.count_only();
            }
        });
    }

    // A large row is hashed here, from its fields: a lane would hold a
    // copy of it (see BATCH_MAX_ROW_BYTES).
    if record.size() > BATCH_MAX_ROW_BYTES {
        st.hasher
            .submit_digest(cols.plan.digest(|i| record.bytes(i)));
    } else {
        st.hasher
            .submit(|buf| cols.plan.join_into(|i| record.bytes(i), buf));
    }
    st.waiting.push();
    st.emit();
}

#[cfg(test)]
mod parts_tests;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::checksum::row_checksum;
    use crate::csv_reader::tests::Rng;
    use crate::csv_writer::write_record;
    use alloc::vec;

    /// A sealed file with the given data rows (values for `cols`, which
    /// must not include the metadata columns), seqs from `seqs`.
    pub fn sealed(cols: &[&str], rows: &[&[&str]], seqs: &[u64]) -> Vec<u8> {
        let mut header: Vec<String> = vec![SEQ_COLUMN.into()];
        header.extend(cols.iter().map(|c| c.to_string()));
        header.push(CHECKSUM_COLUMN.into());
        let mut out = Vec::new();
        write_record(&mut out, header.iter().map(|s| s.as_bytes()));
        for (row, seq) in rows.iter().zip(seqs) {
            let mut values: Vec<String> = vec![seq.to_string()];
            values.extend(row.iter().map(|v| v.to_string()));
            values.push(String::new());
            let sum =
                row_checksum(&header[..header.len() - 1], &values[..values.len() - 1]).unwrap();
            *values.last_mut().unwrap() = sum;
            write_record(&mut out, values.iter().map(|s| s.as_bytes()));
        }
        out
    }

    pub fn verify_with(input: &[u8], options: VerifyOptions, cuts: &[usize]) -> VerifyReport {
        let mut v = Verifier::new(options).unwrap();
        let mut prev = 0;
        for &c in cuts {
            v.feed(&input[prev..c]);
            prev = c;
        }
        v.feed(&input[prev..]);
        v.finish()
    }

    pub fn verify(input: &[u8]) -> VerifyReport {
        verify_with(input, VerifyOptions::default(), &[])
    }

    fn kinds(r: &VerifyReport) -> Vec<(ErrorKind, u64)> {
        r.errors.iter().map(|e| (e.kind, e.line)).collect()
    }

    const COLS: &[&str] = &["timestamp", "trade_id", "symbol", "profit_loss"];

    fn good_rows() -> Vec<[&'static str; 4]> {
        vec![
            [
                "2024-09-10T14:30:00Z",
                "TRADE_20240910_001",
                "EURUSD",
                "25.0",
            ],
            [
                "2024-09-10T14:31:00Z",
                "TRADE_20240910_002",
                "GBP,USD",
                "-3.5",
            ],
            ["2024-09-10T14:32:00Z", "TRADE \"3\"", "multi\nline", ""],
        ]
    }

    fn good_file() -> Vec<u8> {
        let rows = good_rows();
        let rows: Vec<&[&str]> = rows.iter().map(|r| r.as_slice()).collect();
        sealed(COLS, &rows, &[1, 2, 3])
    }

    #[test]
    fn policy_example_file() {
        // The checksum column of the policy's example row.
        let file = "file_seq,timestamp,trade_id,symbol,profit_loss,checksum_sha256\r\n\
                    1,2024-09-10T14:30:00Z,TRADE_20240910_001,EURUSD,25.0,\
                    184da472a00855017d3d45a6e735d74b4b4712b97283c2635c606790ff832cc8\r\n";
        let r = verify(file.as_bytes());
        assert!(r.valid, "{r:?}");
        assert_eq!((r.rows, r.first_seq, r.last_seq), (1, Some(1), Some(1)));
        assert_eq!(r.columns.len(), 6);
    }

    #[test]
    fn good_file_is_valid_under_any_chunking() {
        let file = good_file();
        let r = verify(&file);
        assert!(r.valid, "{r:?}");
        assert_eq!((r.rows, r.first_seq, r.last_seq), (3, Some(1), Some(3)));
        assert!(r.warnings.is_empty() && r.gaps.is_empty());
        let mut rng = Rng(7);
        for _ in 0..50 {
            let mut cuts: Vec<usize> = (0..rng.below(5))
                .map(|_| rng.below(file.len() as u64) as usize)
                .collect();
            cuts.sort_unstable();
            assert_eq!(verify_with(&file, VerifyOptions::default(), &cuts), r);
        }
        let bytewise: Vec<usize> = (1..file.len()).collect();
        assert_eq!(verify_with(&file, VerifyOptions::default(), &bytewise), r);
    }

    #[test]
    fn lf_line_endings_and_column_order_are_accepted() {
        let file = "checksum_sha256,symbol,file_seq\n\
                    e2db5dfcf0c8b7d5d1e0b49c1a8d1d4d9cde4ff7e4c0ad5d0d7d3f6f3e1e8e9a,x,1\n";
        let r = verify(file.as_bytes());
        // Only the checksum is wrong (made up); the layout is fine.
        assert_eq!(kinds(&r), vec![(ErrorKind::ChecksumMismatch, 2)]);
        let sum = row_checksum(
            &["symbol".into(), "file_seq".into()],
            &["x".into(), "1".into()],
        )
        .unwrap();
        let file = format!("checksum_sha256,symbol,file_seq\n{sum},x,1\n");
        assert!(verify(file.as_bytes()).valid);
    }

    #[test]
    fn checksum_mismatch() {
        let file = String::from_utf8(good_file())
            .unwrap()
            .replace("EURUSD", "EURUSX");
        let r = verify(file.as_bytes());
        assert_eq!(kinds(&r), vec![(ErrorKind::ChecksumMismatch, 2)]);
        let e = &r.errors[0];
        assert_eq!(
            (e.seq, e.column.as_deref()),
            (Some(1), Some(CHECKSUM_COLUMN))
        );
        assert!(
            e.message.starts_with("checksum mismatch: expected "),
            "{}",
            e.message
        );
        // Uppercase hex is not the policy's checksum.
        let file = String::from_utf8(good_file()).unwrap();
        let first_sum = &file[file.find("25.0,").unwrap() + 5..][..64];
        let upper = file.replacen(first_sum, &first_sum.to_uppercase(), 1);
        let r = verify(upper.as_bytes());
        assert_eq!(kinds(&r), vec![(ErrorKind::ChecksumMismatch, 2)]);
        assert!(r.errors[0].message.contains("not 64 lowercase hex digits"));
    }

    #[test]
    fn sequence_violations_and_gaps() {
        let row: &[&str] = &["t", "id", "s", "1"];
        let file = sealed(COLS, &[row; 6], &[1, 2, 5, 5, 3, 9]);
        let r = verify(&file);
        assert_eq!(
            kinds(&r),
            vec![
                (ErrorKind::SequenceViolation, 5),
                (ErrorKind::SequenceViolation, 6)
            ]
        );
        assert_eq!(
            r.errors[0].message,
            "file_seq 5 is not greater than previous 5"
        );
        assert_eq!(
            r.errors[1].message,
            "file_seq 3 is not greater than previous 5"
        );
        assert_eq!(r.errors[1].seq, Some(3));
        assert_eq!(
            r.gaps,
            vec![
                SeqGap {
                    line: 4,
                    after: 2,
                    next: 5
                },
                SeqGap {
                    line: 7,
                    after: 5,
                    next: 9
                }
            ]
        );
        assert_eq!(
            (r.gap_count, r.first_seq, r.last_seq, r.rows),
            (2, Some(1), Some(9), 6)
        );
    }

    #[test]
    fn gaps_are_capped_but_counted() {
        let row: &[&str] = &["t", "id", "s", "1"];
        let file = sealed(COLS, &[row; 5], &[1, 3, 5, 7, 9]);
        let options = VerifyOptions {
            limits: Limits {
                max_errors: 2,
                ..Limits::default()
            },
            ..VerifyOptions::default()
        };
        let r = verify_with(&file, options, &[]);
        assert!(r.valid);
        assert_eq!((r.gaps.len(), r.gap_count), (2, 4));
    }

    #[test]
    fn non_canonical_seq_is_malformed() {
        let file = String::from_utf8(sealed(COLS, &[&["t", "i", "s", "1"]], &[1])).unwrap();
        for bad in [
            "01",
            "+1",
            "0",
            "-1",
            "",
            "1.0",
            " 1",
            "18446744073709551616",
        ] {
            let f = file.replacen("\r\n1,", &format!("\r\n{bad},"), 1);
            let r = verify(f.as_bytes());
            let e = &r.errors[0];
            assert_eq!(
                (e.kind, e.column.as_deref()),
                (ErrorKind::Malformed, Some(SEQ_COLUMN)),
                "{bad}"
            );
            assert_eq!(e.seq, None);
        }
        assert_eq!(parse_seq(b"18446744073709551615"), Some(u64::MAX));
    }

    #[test]
    fn ragged_row() {
        let mut file = good_file();
        file.extend_from_slice(b"4,a,b\r\n");
        let r = verify(&file);
        assert_eq!(kinds(&r), vec![(ErrorKind::Malformed, 6)]);
        assert_eq!(r.errors[0].message, "expected 6 fields, found 3");
        assert_eq!(r.rows, 4);
    }

    #[test]
    fn torn_last_row() {
        let file = good_file();
        let torn = &file[..file.len() - 2];
        let r = verify(torn);
        assert_eq!(kinds(&r), vec![(ErrorKind::TornRow, 4)]);
        assert_eq!(r.rows, 3);
        // Cut in the middle of a row, and inside the quoted multi-line field.
        let text = String::from_utf8(file.clone()).unwrap();
        let mid = text.find("multi").unwrap() + 3;
        let r = verify(&file[..mid]);
        assert_eq!(kinds(&r), vec![(ErrorKind::TornRow, 4)]);
        assert_eq!((r.rows, r.last_seq), (3, Some(2)));
    }

    #[test]
    fn rows_the_policy_s_own_validator_rejects_are_valid_with_a_warning() {
        use crate::policy_compat::PYTHON_FIELD_LIMIT;
        let at_limit = "é".repeat(PYTHON_FIELD_LIMIT); // 2 bytes a char
        let over = "x".repeat(PYTHON_FIELD_LIMIT + 1);
        let rows: Vec<[&str; 4]> = vec![
            ["a", "b", "c", "d"],
            ["lf", "only\nhere", &at_limit, ""],
            ["crlf", "x\r\ny", "", ""],
            ["cr", "", "", "lone\r"],
            ["long", &over, "", ""],
        ];
        let rows: Vec<&[&str]> = rows.iter().map(|r| r.as_slice()).collect();
        let file = sealed(COLS, &rows, &[1, 2, 3, 4, 5]);
        let r = verify(&file);
        assert!(r.valid, "{r:?}");
        assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
        // Lines: header 1, rows 2, 3-4, 5-6, 7, 8.
        assert!(
            r.warnings[0]
                .starts_with("2 row(s) hold a field with a carriage return (first: line 5)"),
            "{}",
            r.warnings[0]
        );
        assert!(
            r.warnings[1]
                .starts_with("1 row(s) hold a field over 131072 characters (first: line 8)"),
            "{}",
            r.warnings[1]
        );
        // Any chunking gives the same report.
        let bytewise: Vec<usize> = (1..file.len()).step_by(997).collect();
        assert_eq!(verify_with(&file, VerifyOptions::default(), &bytewise), r);
        // Without those rows: no warning.
        let r = verify(&sealed(COLS, &rows[..2], &[1, 2]));
        assert!(r.valid && r.warnings.is_empty(), "{r:?}");
    }

    #[test]
    fn empty_and_header_only_files() {
        let r = verify(b"");
        assert_eq!(kinds(&r), vec![(ErrorKind::MissingColumn, 0)]);
        assert_eq!(r.errors[0].message, "file is empty: no header");
        assert!(!r.valid);

        let r = verify(b"file_seq,a,checksum_sha256\r\n");
        assert!(r.valid);
        assert_eq!((r.rows, r.first_seq), (0, None));
        assert_eq!(r.warnings, vec!["no data rows".to_string()]);

        let r = verify(b"file_seq,a,checksum_sha256");
        assert_eq!(
            kinds(&r),
            vec![(ErrorKind::TornRow, 1), (ErrorKind::MissingColumn, 0)]
        );
        assert_eq!(r.errors[1].message, "no header record");
    }

    #[test]
    fn a_header_read_with_the_wrong_delimiter_is_one_error_naming_it() {
        for (file, option) in [
            ("file_seq;a;checksum_sha256\r\n1;x;y\r\n", "--delimiter ';'"),
            (
                "file_seq\ta\tchecksum_sha256\r\n1\tx\ty\r\n",
                "--delimiter tab",
            ),
            ("file_seq|a|checksum_sha256\r\n", "--delimiter '|'"),
        ] {
            let r = verify(file.as_bytes());
            assert!(!r.valid);
            assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
            let e = &r.errors[0];
            assert_eq!(
                (e.kind, e.line, e.column.as_deref()),
                (ErrorKind::BadHeader, 1, None)
            );
            assert!(e.message.contains(option), "{}", e.message);
            assert!(r.columns.is_empty(), "{:?}", r.columns);
        }
        // A later record's error names no column after that header.
        let r = verify(b"file_seq;a\r\n\"x\"y\r\n");
        assert!(
            r.errors.iter().all(|e| e.column.is_none()),
            "{:?}",
            r.errors
        );
    }

    #[test]
    fn header_problems() {
        let r = verify(b"file_seq,a,a,,checksum_sha256\r\n1,x,y,z,abc\r\n");
        assert_eq!(
            kinds(&r),
            vec![(ErrorKind::BadHeader, 1), (ErrorKind::BadHeader, 1)]
        );
        assert_eq!(r.errors[0].message, "duplicate column name \"a\"");
        assert_eq!(r.errors[1].message, "column 4 has an empty name");
        assert_eq!(r.rows, 1);
        assert_eq!(r.warnings.len(), 1);

        let r = verify(b"a,b\r\n1,2\r\n3,4\r\n");
        assert_eq!(
            r.errors
                .iter()
                .map(|e| (e.kind, e.column.clone().unwrap()))
                .collect::<Vec<_>>(),
            vec![
                (ErrorKind::MissingColumn, "file_seq".into()),
                (ErrorKind::MissingColumn, "checksum_sha256".into())
            ]
        );
        assert_eq!((r.rows, r.columns.len()), (2, 2));
    }

    #[test]
    fn bom_and_blank_lines_are_malformed() {
        let mut file = b"\xef\xbb\xbf".to_vec();
        file.extend_from_slice(&good_file());
        file.extend_from_slice(b"\r\n");
        let r = verify(&file);
        assert_eq!(
            kinds(&r),
            vec![(ErrorKind::Malformed, 1), (ErrorKind::Malformed, 6)]
        );
        assert_eq!(
            r.errors[0].message,
            "file starts with a UTF-8 byte order mark"
        );
        assert_eq!(r.errors[1].message, "blank line");
        assert_eq!(r.rows, 3);
    }

    #[test]
    fn encoding_error_names_the_column() {
        let mut file = good_file();
        let at = file.windows(6).position(|w| w == b"EURUSD").unwrap();
        file[at] = 0xff;
        let r = verify(&file);
        assert_eq!(kinds(&r), vec![(ErrorKind::Encoding, 2)]);
        assert_eq!(r.errors[0].column.as_deref(), Some("symbol"));
    }

    #[test]
    fn limits_are_reported() {
        let file = good_file();
        let options = VerifyOptions {
            limits: Limits {
                max_record_bytes: 100,
                ..Limits::default()
            },
            ..VerifyOptions::default()
        };
        let r = verify_with(&file, options, &[]);
        assert!(r.errors.iter().all(|e| e.kind == ErrorKind::Limit), "{r:?}");
        assert_eq!(r.error_count, 3);
        assert_eq!(r.rows, 3);
    }

    #[test]
    fn error_cap() {
        let text = String::from_utf8(good_file())
            .unwrap()
            .replace("TRADE", "TRADX");
        let options = VerifyOptions {
            limits: Limits {
                max_errors: 1,
                ..Limits::default()
            },
            ..VerifyOptions::default()
        };
        let r = verify_with(text.as_bytes(), options, &[]);
        assert_eq!(
            (r.errors.len(), r.error_count, r.errors_truncated, r.valid),
            (1, 3, true, false)
        );
    }

    #[test]
    fn error_count_is_independent_of_the_cap() {
        let row: &[&str] = &["t", "id", "s", "1"];
        let text =
            String::from_utf8(sealed(COLS, &[row; 8], &[1, 2, 2, 9, 3, 10, 11, 11])).unwrap();
        let text = text.replace(",id,", ",iX,") + "1,x\r\n\r\n";
        let schema = r#"{"fields":[{"name":"symbol","constraints":{"enum":["S"]}}]}"#;
        let counts: Vec<(u64, usize)> = [0, 1, 5, 1000]
            .into_iter()
            .map(|max_errors| {
                let options = VerifyOptions {
                    schema_json: Some(schema.into()),
                    limits: Limits {
                        max_errors,
                        ..Limits::default()
                    },
                    continue_after: None,
                };
                let r = verify_with(text.as_bytes(), options, &[]);
                (r.error_count, r.errors.len())
            })
            .collect();
        // 8 checksum, 8 schema, 3 sequence, 1 ragged, 1 blank.
        assert_eq!(counts, vec![(21, 0), (21, 1), (21, 5), (21, 21)]);
    }

    #[test]
    fn schema_checks() {
        let schema = r#"{"fields":[
            {"name":"symbol","constraints":{"pattern":"[A-Z]{6}"}},
            {"name":"profit_loss","type":"number","constraints":{"required":true}},
            {"name":"file_seq","type":"integer","constraints":{"maximum":2}}
        ]}"#;
        let options = VerifyOptions {
            schema_json: Some(schema.into()),
            ..VerifyOptions::default()
        };
        let r = verify_with(&good_file(), options, &[]);
        let got: Vec<(u64, Option<u64>, String, String)> = r
            .errors
            .iter()
            .map(|e| {
                assert_eq!(e.kind, ErrorKind::Schema);
                (e.line, e.seq, e.column.clone().unwrap(), e.message.clone())
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    3,
                    Some(2),
                    "symbol".into(),
                    "value \"GBP,USD\" does not match pattern \"[A-Z]{6}\"".into()
                ),
                (
                    4,
                    Some(3),
                    "symbol".into(),
                    "value \"multi\\nline\" does not match pattern \"[A-Z]{6}\"".into()
                ),
                (
                    4,
                    Some(3),
                    "profit_loss".into(),
                    "required value is missing".into()
                ),
                (
                    4,
                    Some(3),
                    "file_seq".into(),
                    "value 3 is above maximum 2".into()
                ),
            ]
        );
    }

    #[test]
    fn schema_field_not_in_header() {
        let options = VerifyOptions {
            schema_json: Some(r#"{"fields":[{"name":"nope"}]}"#.into()),
            ..VerifyOptions::default()
        };
        let r = verify_with(&good_file(), options, &[]);
        assert_eq!(kinds(&r), vec![(ErrorKind::Schema, 1)]);
        assert_eq!(r.errors[0].message, "schema field \"nope\" is not a column");
    }

    #[test]
    fn bad_schema_fails_create() {
        let options = VerifyOptions {
            schema_json: Some("{".into()),
            ..VerifyOptions::default()
        };
        assert!(
            Verifier::new(options)
                .unwrap_err()
                .contains("not valid JSON")
        );
    }

    #[test]
    fn errors_stay_in_input_order_across_hash_batches() {
        // Rows are hashed four at a time; errors found before hashing must
        // still be logged in line order.
        let row: &[&str] = &["t", "id", "s", "1"];
        let file =
            String::from_utf8(sealed(COLS, &[row; 9], &[1, 2, 3, 4, 5, 6, 7, 8, 9])).unwrap();
        let mut lines: Vec<String> = file.split_inclusive("\r\n").map(String::from).collect();
        lines[2] = lines[2].replacen(",id,", ",iX,", 1); // seq 2: checksum
        lines[3] = lines[3].replacen("3,", "1,", 1); // seq 3 -> 1: sequence and checksum
        lines[5] = "5,t\r\n".into(); // ragged
        lines.insert(7, "\r\n".into()); // blank line
        lines[9] = lines[9].replacen(",s,", ",S,", 1); // seq 8: checksum
        let schema = r#"{"fields":[{"name":"symbol","constraints":{"enum":["s"]}}]}"#;
        let options = VerifyOptions {
            schema_json: Some(schema.into()),
            ..VerifyOptions::default()
        };
        let r = verify_with(lines.concat().as_bytes(), options, &[]);
        let got: Vec<(u64, ErrorKind)> = r.errors.iter().map(|e| (e.line, e.kind)).collect();
        assert_eq!(
            got,
            vec![
                (3, ErrorKind::ChecksumMismatch),
                (4, ErrorKind::SequenceViolation),
                (4, ErrorKind::ChecksumMismatch),
                (6, ErrorKind::Malformed),
                (8, ErrorKind::Malformed),
                (10, ErrorKind::ChecksumMismatch),
                (10, ErrorKind::Schema),
            ]
        );
        assert_eq!(r.rows, 9);
    }

    #[test]
    fn rows_over_the_batch_size_are_hashed_alone_with_errors_in_order() {
        // Large rows skip the four-row batch; small rows around them still
        // batch, and every error comes out in line order.
        let big = "b".repeat(BATCH_MAX_ROW_BYTES + 1);
        let rows: Vec<[&str; 4]> = (0..9)
            .map(|i| ["t", if i % 3 == 1 { &big } else { "id" }, "s", "1"])
            .collect();
        let rows: Vec<&[&str]> = rows.iter().map(|r| &r[..]).collect();
        let file = String::from_utf8(sealed(COLS, &rows, &[1, 2, 3, 4, 5, 6, 7, 8, 9])).unwrap();
        assert!(verify(file.as_bytes()).valid);
        let mut lines: Vec<String> = file.split_inclusive("\r\n").map(String::from).collect();
        lines[2] = lines[2].replacen(",bb", ",Xb", 1); // seq 2 (large): checksum
        lines[3] = lines[3].replacen("3,", "1,", 1); // seq 3 -> 1: sequence and checksum
        lines[5] = lines[5].replacen(",bb", ",bX", 1); // seq 5 (large): checksum
        lines[9] = lines[9].replacen(",s,", ",S,", 1); // seq 9: checksum
        let r = verify_with(lines.concat().as_bytes(), VerifyOptions::default(), &[1000]);
        let got: Vec<(u64, ErrorKind)> = r.errors.iter().map(|e| (e.line, e.kind)).collect();
        assert_eq!(
            got,
            vec![
                (3, ErrorKind::ChecksumMismatch),
                (4, ErrorKind::SequenceViolation),
                (4, ErrorKind::ChecksumMismatch),
                (6, ErrorKind::ChecksumMismatch),
                (10, ErrorKind::ChecksumMismatch),
            ]
        );
    }

    #[test]
    fn a_huge_checksum_field_is_not_copied_but_shown_cut() {
        let mut file = b"file_seq,checksum_sha256\r\n1,".to_vec();
        file.extend(core::iter::repeat_n(b'f', 200 << 10));
        file.extend_from_slice(b"\r\n");
        let r = verify(&file);
        assert_eq!(r.errors[0].kind, ErrorKind::ChecksumMismatch);
        assert!(r.errors[0].message.len() < 400, "{}", r.errors[0].message);
    }

    #[test]
    fn finish_is_idempotent_and_feed_after_finish_ignored() {
        let mut v = Verifier::new(VerifyOptions::default()).unwrap();
        v.feed(&good_file());
        let r1 = v.finish();
        v.feed(b"garbage");
        assert_eq!(v.finish(), r1);
        assert!(r1.valid);
    }

    /// Generates an in-memory sealed file like the policy's trade logs.
    pub fn policy_like_file(rows: u64) -> Vec<u8> {
        let header: Vec<String> = [
            "file_seq",
            "timestamp",
            "trade_id",
            "symbol",
            "side",
            "quantity",
            "price",
            "profit_loss",
            "checksum_sha256",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let plan = ChecksumPlan::new(&header);
        let mut out = Vec::new();
        write_record(&mut out, header.iter().map(|s| s.as_bytes()));
        for seq in 1..=rows {
            let values = [
                seq.to_string(),
                format!(
                    "2024-09-10T{:02}:{:02}:{:02}Z",
                    seq / 3600 % 24,
                    seq / 60 % 60,
                    seq % 60
                ),
                format!("TRADE_20240910_{seq:07}"),
                ["EURUSD", "GBPUSD", "USDJPY"][(seq % 3) as usize].to_string(),
                if seq % 2 == 0 { "BUY" } else { "SELL" }.to_string(),
                format!("{}", 1000 + seq % 9000),
                format!("1.{:05}", seq * 7919 % 100_000),
                format!("{}.{:02}", (seq * 31 % 2000) as i64 - 1000, seq % 100),
            ];
            let sum = plan.compute(|i| values[i].as_bytes());
            write_record(
                &mut out,
                values.iter().map(|s| s.as_bytes()).chain([sum.as_slice()]),
            );
        }
        out
    }

    #[test]
    fn generated_file_is_valid() {
        let file = policy_like_file(1000);
        let r = verify_with(&file, VerifyOptions::default(), &[4096, 10_000, 10_001]);
        assert!(r.valid, "{:?}", r.errors.first());
        assert_eq!((r.rows, r.last_seq), (1000, Some(1000)));
    }

    /// `cargo test -p csvseal-guest --release -- --ignored --nocapture bench`
    #[test]
    #[ignore]
    fn bench_verify_1m_rows() {
        let file = policy_like_file(1_000_000);
        let start = std::time::Instant::now();
        let mut v = Verifier::new(VerifyOptions::default()).unwrap();
        for chunk in file.chunks(256 * 1024) {
            v.feed(chunk);
        }
        let r = v.finish();
        let secs = start.elapsed().as_secs_f64();
        assert!(r.valid);
        std::println!(
            "verify: {} rows, {:.1} MB in {:.3}s: {:.0} rows/s, {:.0} MB/s",
            r.rows,
            file.len() as f64 / 1e6,
            secs,
            r.rows as f64 / secs,
            file.len() as f64 / 1e6 / secs
        );
        // The reader alone, for comparison.
        let start = std::time::Instant::now();
        let mut reader = CsvReader::new(ReaderConfig {
            max_record_bytes: 1 << 20,
            max_columns: 1000,
            require_terminator: true,
        });
        let mut n = 0u64;
        for chunk in file.chunks(256 * 1024) {
            reader.feed(chunk, &mut |_| n += 1);
        }
        let secs = start.elapsed().as_secs_f64();
        std::println!(
            "reader only: {n} records in {secs:.3}s: {:.0} MB/s",
            file.len() as f64 / 1e6 / secs
        );
    }
}
