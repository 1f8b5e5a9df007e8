//! Streaming sealing (WIT `seal`): input rows in, sealed CSV bytes out.
//!
//! The output is `file_seq,<input columns>,checksum_sha256`, then one line
//! per input record: its `file_seq` (from `first_seq` up), its fields, and
//! the checksum of every output column but `checksum_sha256`, all written
//! like Python's `csv.writer`.
//!
//! Input rules, where the policy leaves room:
//! * CSV: a leading byte order mark is skipped, blank lines are skipped
//!   (as Python's `csv.DictReader` does; they still count for line numbers),
//!   and the last record may lack its line terminator. An unterminated
//!   quoted field at the end is a `torn-row` error.
//! * JSON Lines: see [`crate::jsonl`].
//! * Every data record consumes a `file_seq`, even a bad one, so that the
//!   `seq` in an error is the one the row would have had.
//! * The schema applies to output rows: it may constrain `file_seq` and
//!   `checksum_sha256` as well as the input columns.
//! * An input with no header (CSV without a header option and no header
//!   record; JSON Lines without a header option, schema or any object) is a
//!   `bad-header` error at line 0.
//!
//! Rows are hashed in SIMD lanes (see [`crate::lanes`]): a row is written
//! with a placeholder checksum that is filled in when its lane has hashed
//! it, at the latest before `feed` or `finish` returns. The output never
//! depends on the scheduling.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use alloc::collections::VecDeque;

use crate::checksum::{BATCH_MAX_ROW_BYTES, CHECKSUM_COLUMN, ChecksumPlan, SEQ_COLUMN, hex};
use crate::csv_reader::{CsvReader, Event, ReadError, ReaderConfig, Record};
use crate::csv_writer::{PolicyWriter, write_record};
use crate::jsonl::{ColumnIndex, LineEvent, LineReader, parse_object, simple_row, to_row};
use crate::lanes::{LaneStats, RowHasher};
use crate::report::{
    ErrorKind, ErrorLog, InputFormat, Limits, RowError, SealFailure, SealOptions, SealSummary,
    shown,
};
use crate::schema::{Checker, RowContext, Schema};
use crate::values_digest::ValuesDigest;

/// Problems with a list of input column names: (kind, column, message).
fn header_problems(cols: &[String], limits: &Limits) -> Vec<(ErrorKind, Option<String>, String)> {
    let mut problems = Vec::new();
    // A set, not a scan of earlier names: headers may have many columns.
    let mut seen = BTreeSet::new();
    for (i, name) in cols.iter().enumerate() {
        if name.is_empty() {
            problems.push((
                ErrorKind::BadHeader,
                None,
                format!("column {} has an empty name", i + 1),
            ));
        } else if name == SEQ_COLUMN || name == CHECKSUM_COLUMN {
            problems.push((
                ErrorKind::BadHeader,
                Some(name.clone()),
                format!("input already has a {name} column"),
            ));
        } else if !seen.insert(name.as_str()) {
            problems.push((
                ErrorKind::BadHeader,
                Some(name.clone()),
                format!("duplicate column name {}", shown(name)),
            ));
        }
    }
    if cols.len() as u64 + 2 > u64::from(limits.max_columns) {
        problems.push((
            ErrorKind::Limit,
            None,
            format!(
                "the output would have {} columns, more than {}",
                cols.len() + 2,
                limits.max_columns
            ),
        ));
    }
    problems
}

/// A header of one column holding `;`, tab or `|` is a file delimited by
/// that byte, read with the wrong delimiter: sealed as is, every row would
/// become one column, silently. The error names the delimiter to give (and
/// not the header as a column: it is a whole line, not a name).
fn other_delimiter(cols: &[String], line: u64) -> Option<RowError> {
    let option = crate::dialect_hint::other_delimiter(cols)?;
    Some(RowError::new(
        ErrorKind::BadHeader,
        line,
        format!(
            "the header is one column, {}, holding {option}: the input looks \
             {option}-delimited; give --delimiter {option} to read its columns, or \
             --delimiter ',' to keep one column",
            shown(&cols[0])
        ),
    ))
}

/// Formats `n` in decimal into `buf`, returning the digits.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

/// The decimal text of the row's `file_seq`. Rows take consecutive
/// numbers, so the text is kept and incremented in place: no 64-bit
/// division per digit (which wasm does with a divide instruction).
#[derive(Debug, Clone, Copy)]
struct SeqDigits {
    /// The digits of `value`, right-aligned: `buf[start..]`.
    buf: [u8; 20],
    start: usize,
    value: u64,
}

impl SeqDigits {
    fn new() -> Self {
        let mut d = SeqDigits {
            buf: [b'0'; 20],
            start: 0,
            value: 0,
        };
        d.set(0);
        d
    }

    fn set(&mut self, value: u64) {
        let mut buf = [0u8; 20];
        let len = decimal(value, &mut buf).len();
        self.buf = buf;
        self.start = 20 - len;
        self.value = value;
    }

    /// The digits of `value` (a copy: the caller keeps them while it
    /// borrows the sealer).
    #[inline]
    fn of(&mut self, value: u64) -> ([u8; 20], usize) {
        if Some(value) == self.value.checked_add(1) {
            let mut i = self.buf.len() - 1;
            loop {
                if self.buf[i] != b'9' {
                    self.buf[i] += 1;
                    break;
                }
                self.buf[i] = b'0';
                if i == self.start {
                    // 99..9 + 1: one digit more (a u64 has at most 20).
                    self.start -= 1;
                    self.buf[self.start] = b'1';
                    break;
                }
                i -= 1;
            }
            self.value = value;
        } else if value != self.value {
            self.set(value);
        }
        (self.buf, self.start)
    }
}

#[derive(Debug)]
enum Header {
    Pending,
    Usable,
    Unusable,
}

/// Everything but the input splitter.
#[derive(Debug)]
struct Core {
    limits: Limits,
    first_seq: u64,
    schema: Option<Schema>,
    header: Header,
    /// The input columns, once known.
    columns: Vec<String>,
    /// `columns` indexed for JSON object keys.
    index: ColumnIndex,
    /// Where a JSON line's values are (see [`simple_row`]), reused.
    ranges: Vec<core::ops::Range<usize>>,
    /// `file_seq`, the input columns, `checksum_sha256`.
    out_columns: Vec<String>,
    plan: ChecksumPlan,
    checker: Option<Checker>,
    /// The seq of the next data record; None once past u64::MAX.
    next_seq: Option<u64>,
    rows: u64,
    log: ErrorLog,
    out: Vec<u8>,
    /// Writes each output row into `out` in the policy's dialect.
    writer: PolicyWriter,
    bytes: u64,
    header_written: bool,
    /// The line of the header, when it was read from the input.
    header_line: Option<u64>,
    /// CSV input: refuse a one-column header holding another delimiter
    /// (see [`crate::report::Dialect::guard_delimiter`]).
    guard_delimiter: bool,
    /// CSV input: the first data row is yet to be compared with the header
    /// (a header repeated as the first data row is refused).
    check_double_header: bool,
    /// Hashes the rows' checksum inputs in lanes.
    hasher: RowHasher,
    /// Where each row whose checksum is still a placeholder in `out` has
    /// its 64 placeholder bytes, in row order (one per digest the hasher
    /// has yet to return).
    placeholders: VecDeque<usize>,
    /// False when the schema checks `checksum_sha256`: then each checksum
    /// must be known before its row is checked.
    batching: bool,
    /// The text of the last `file_seq` written.
    seq_digits: SeqDigits,
    /// The values digest of the rows written, when asked for (WIT
    /// `fidelity`).
    values: Option<ValuesDigest>,
    /// CSV input in the output's dialect (`,` and `"`): a record read with
    /// no quote and no `\r` is written out as it was read, its fields being
    /// ones the output never quotes.
    copy_raw: bool,
}

#[derive(Debug)]
enum Input {
    Csv(CsvReader),
    Jsonl { lines: LineReader, bytes_seen: u64 },
}

/// A streaming sealer: [`Sealer::feed`] chunks, then [`Sealer::finish`].
#[derive(Debug)]
pub struct Sealer {
    input: Input,
    core: Core,
    result: Option<Result<SealSummary, SealFailure>>,
}

impl Sealer {
    /// A sealer; fails on bad options (`first_seq` 0, an unreadable
    /// schema, a bad header option, or schema fields that are not columns
    /// when the columns are already known).
    pub fn new(options: SealOptions) -> Result<Sealer, String> {
        let SealOptions {
            format,
            dialect,
            header,
            schema_json,
            first_seq,
            limits,
        } = options;
        if first_seq == 0 {
            return Err("first-seq must be at least 1".into());
        }
        let csv = format == InputFormat::Csv;
        if csv {
            dialect.check()?;
        }
        let schema = schema_json.as_deref().map(Schema::parse).transpose()?;
        // Without a header line the columns come from the header option,
        // else the schema's field order.
        let headerless = !csv || !dialect.has_header;
        let known_columns = match (header, &schema) {
            (Some(h), _) => Some(h),
            (None, Some(s)) if headerless => Some(
                s.field_names()
                    .filter(|n| *n != SEQ_COLUMN && *n != CHECKSUM_COLUMN)
                    .map(String::from)
                    .collect(),
            ),
            (None, None) if csv && headerless => {
                return Err(
                    "the input has no header line: give its columns (or a schema to take them from)"
                        .into(),
                );
            }
            _ => None,
        };
        let mut core = Core {
            limits,
            first_seq,
            schema,
            header: Header::Pending,
            columns: Vec::new(),
            index: ColumnIndex::default(),
            ranges: Vec::new(),
            out_columns: Vec::new(),
            plan: ChecksumPlan::new::<&str>(&[]),
            checker: None,
            next_seq: Some(first_seq),
            rows: 0,
            log: ErrorLog::new(limits.max_errors),
            out: Vec::new(),
            writer: PolicyWriter::new(),
            bytes: 0,
            header_written: false,
            header_line: None,
            guard_delimiter: csv && dialect.guard_delimiter,
            check_double_header: csv,
            hasher: RowHasher::new(),
            placeholders: VecDeque::new(),
            batching: true,
            seq_digits: SeqDigits::new(),
            values: None,
            copy_raw: csv && dialect.delimiter == b',' && dialect.quote == b'"',
        };
        if let Some(cols) = known_columns {
            let problems = header_problems(&cols, &limits);
            if !problems.is_empty() {
                let messages: Vec<String> = problems.into_iter().map(|p| p.2).collect();
                return Err(format!("bad header: {}", messages.join("; ")));
            }
            let unknown = core.accept_header(cols);
            if let Some(name) = unknown.first() {
                return Err(format!("schema field {} is not a column", shown(name)));
            }
            core.write_header();
        }
        let input = match format {
            InputFormat::Csv => Input::Csv(CsvReader::with_dialect(
                ReaderConfig {
                    max_record_bytes: limits.max_record_bytes,
                    max_columns: limits.max_columns,
                    require_terminator: false,
                },
                &dialect,
            )),
            InputFormat::Jsonl => Input::Jsonl {
                lines: LineReader::new(limits.max_record_bytes),
                bytes_seen: 0,
            },
        };
        Ok(Sealer {
            input,
            core,
            result: None,
        })
    }

    /// Also digests the values of the rows written (see
    /// [`crate::values_digest`]); call before the first [`Self::feed`].
    pub fn with_values_digest(mut self) -> Self {
        self.core.values = Some(ValuesDigest::new());
        self
    }

    /// After [`Self::finish`], the values digest of the rows written, when
    /// [`Self::with_values_digest`] asked for it (once).
    pub fn take_values_digest(&mut self) -> Option<[u8; 32]> {
        self.core.values.take().map(ValuesDigest::finish)
    }

    /// Consumes a chunk and returns the sealed bytes it completed (empty
    /// after the first error, and after [`Self::finish`]).
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<u8> {
        if self.result.is_some() {
            return Vec::new();
        }
        let core = &mut self.core;
        if core.log.is_empty() {
            // Sealed output is typically under twice the input (each row
            // gains a seq and a 64-digit checksum); one reservation avoids
            // regrowing the buffer row by row.
            core.out.reserve(chunk.len().saturating_mul(2));
        }
        match &mut self.input {
            Input::Csv(reader) => reader.feed(chunk, &mut |ev| core.on_csv(ev)),
            Input::Jsonl { lines, bytes_seen } => {
                *bytes_seen += chunk.len() as u64;
                lines.feed(chunk, &mut |ev| core.on_line(ev));
            }
        }
        self.core.take_output()
    }

    /// The SHA-256 lanes' work so far (see [`LaneStats`]).
    pub fn lane_stats(&self) -> LaneStats {
        self.core.hasher.stats()
    }

    /// Ends the input: the last bytes and a summary, or every error (up to
    /// the cap). Later calls return the same outcome with no bytes.
    pub fn finish(&mut self) -> Result<(Vec<u8>, SealSummary), SealFailure> {
        if let Some(result) = &self.result {
            return result.clone().map(|s| (Vec::new(), s));
        }
        let core = &mut self.core;
        let (bytes_seen, is_csv) = match &mut self.input {
            Input::Csv(reader) => {
                reader.finish(&mut |ev| core.on_csv(ev));
                (reader.bytes_seen(), true)
            }
            Input::Jsonl { lines, bytes_seen } => {
                lines.finish(&mut |ev| core.on_line(ev));
                (*bytes_seen, false)
            }
        };
        let core = &mut self.core;
        if let Header::Pending = core.header {
            let message = match (is_csv, bytes_seen) {
                (true, 0) => "input is empty: no header",
                (true, _) => "input has no header record",
                (false, _) => "no JSON object to take the column names from",
            };
            core.log
                .push(RowError::new(ErrorKind::BadHeader, 0, message));
        }
        core.write_header();
        let tail = core.take_output();
        let result = if core.log.is_empty() {
            Ok(SealSummary {
                columns: core.out_columns.clone(),
                rows: core.rows,
                first_seq: (core.rows > 0).then_some(core.first_seq),
                last_seq: (core.rows > 0).then(|| core.first_seq + (core.rows - 1)),
                bytes: core.bytes,
            })
        } else {
            let log = core::mem::replace(&mut core.log, ErrorLog::new(0));
            let (errors, error_count, errors_truncated) = log.into_parts();
            Err(SealFailure {
                errors,
                error_count,
                errors_truncated,
            })
        };
        self.result = Some(result.clone());
        result.map(|summary| (tail, summary))
    }
}

impl Core {
    /// Takes the input columns; returns the schema fields that are not
    /// output columns.
    fn accept_header(&mut self, cols: Vec<String>) -> Vec<String> {
        let mut out = Vec::with_capacity(cols.len() + 2);
        out.push(SEQ_COLUMN.to_string());
        out.extend(cols.iter().cloned());
        out.push(CHECKSUM_COLUMN.to_string());
        self.plan = ChecksumPlan::new(&out);
        let mut unknown = Vec::new();
        if let Some(schema) = self.schema.take() {
            let (checker, missing) = schema.bind(&out);
            self.batching = !checker.uses_column(out.len() - 1);
            self.checker = Some(checker);
            unknown = missing;
        }
        self.index = ColumnIndex::new(&cols);
        self.columns = cols;
        self.out_columns = out;
        self.header = Header::Usable;
        unknown
    }

    /// Checks a header read from the input and takes it if it is usable.
    fn header_from_input(&mut self, line: u64, cols: Vec<String>) {
        self.header_line = Some(line);
        let problems = header_problems(&cols, &self.limits);
        if !problems.is_empty() {
            for (kind, column, message) in problems {
                let mut e = RowError::new(kind, line, message);
                e.column = column;
                self.log.push(e);
            }
            self.columns = cols;
            self.header = Header::Unusable;
            return;
        }
        for name in self.accept_header(cols) {
            self.log.push(
                RowError::new(
                    ErrorKind::Schema,
                    line,
                    format!("schema field {} is not a column", shown(&name)),
                )
                .with_column(name),
            );
        }
        self.write_header();
    }

    /// Writes the output header once, if nothing has gone wrong.
    fn write_header(&mut self) {
        if !self.header_written && self.log.is_empty() && matches!(self.header, Header::Usable) {
            write_record(&mut self.out, self.out_columns.iter().map(|s| s.as_bytes()));
            self.header_written = true;
        }
    }

    /// Fills in the checksums the lanes have computed, in row order.
    #[inline]
    fn fill_done(&mut self) {
        while let Some(digest) = self.hasher.pop() {
            let Some(at) = self.placeholders.pop_front() else {
                debug_assert!(false, "a digest with no row");
                return;
            };
            self.out[at..at + 64].copy_from_slice(&hex(&digest));
        }
    }

    /// Hashes every waiting row and fills in its checksum.
    fn flush(&mut self) {
        if self.placeholders.is_empty() {
            return;
        }
        self.hasher.drain();
        self.fill_done();
    }

    fn take_output(&mut self) -> Vec<u8> {
        self.flush();
        if !self.log.is_empty() {
            // Nothing of a failed seal is worth writing.
            self.out.clear();
        }
        self.bytes += self.out.len() as u64;
        core::mem::take(&mut self.out)
    }

    /// Allocates the next seq (None once past u64::MAX) and counts the row.
    fn next_row(&mut self) -> Option<u64> {
        self.rows += 1;
        let seq = self.next_seq;
        self.next_seq = seq.and_then(|s| s.checked_add(1));
        seq
    }

    fn on_csv(&mut self, ev: Event<'_>) {
        match ev {
            Event::Record(record) => match self.header {
                Header::Pending => {
                    let cols: Vec<String> = record.iter().map(String::from).collect();
                    if self.guard_delimiter
                        && let Some(e) = other_delimiter(&cols, record.line)
                    {
                        self.log.push(e);
                        self.columns = cols;
                        self.header = Header::Unusable;
                        return;
                    }
                    self.header_from_input(record.line, cols)
                }
                Header::Usable if self.check_double_header => {
                    self.check_double_header = false;
                    let repeats = record.len() == self.columns.len()
                        && record.iter().zip(&self.columns).all(|(f, c)| f == c);
                    if repeats {
                        let seq = self.next_row();
                        let message = if self.header_line.is_some() {
                            "the first data row repeats the header (a double header): remove it"
                        } else {
                            "the first row is the given columns: the input has a header line \
                             (do not give its columns, or remove the line)"
                        };
                        self.log.push(
                            RowError::new(ErrorKind::BadHeader, record.line, message).with_seq(seq),
                        );
                        return;
                    }
                    self.csv_row(&record)
                }
                Header::Usable => self.csv_row(&record),
                Header::Unusable => {
                    self.next_row();
                }
            },
            Event::Blank(_) | Event::ByteOrderMark => {}
            Event::Error(err) => self.on_read_error(err),
        }
    }

    #[cold]
    fn on_read_error(&mut self, err: ReadError) {
        let seq = match self.header {
            Header::Pending => {
                self.header = Header::Unusable;
                None
            }
            _ => self.next_row(),
        };
        let header = (!self.columns.is_empty()).then_some(self.columns.as_slice());
        self.log.push(err.into_row_error(header).with_seq(seq));
    }

    fn on_line(&mut self, ev: LineEvent<'_>) {
        let (line, text) = match ev {
            LineEvent::Line(line, text) => (line, text),
            LineEvent::Error(err) => {
                // An unreadable line is a row (it was meant to be one).
                let seq = self.next_row();
                self.log.push(err.into_row_error(None).with_seq(seq));
                return;
            }
        };
        if let Header::Usable = self.header {
            // The usual line needs no allocation: values are ranges of it.
            let mut ranges = core::mem::take(&mut self.ranges);
            let simple = simple_row(text, &self.index, &mut ranges);
            if simple {
                let size = text.len();
                self.row(line, size, ranges.len(), |i| &text[ranges[i].clone()], None);
            }
            self.ranges = ranges;
            if simple {
                return;
            }
        }
        let pairs = match parse_object(text) {
            Ok(pairs) => pairs,
            Err(message) => {
                let seq = self.next_row();
                self.log
                    .push(RowError::new(ErrorKind::Malformed, line, message).with_seq(seq));
                return;
            }
        };
        if let Header::Pending = self.header {
            self.header_from_input(line, pairs.iter().map(|(k, _)| k.clone()).collect());
        }
        match self.header {
            Header::Usable => match to_row(pairs, &self.index) {
                Ok(values) => {
                    let size = text.len();
                    self.row(line, size, values.len(), |i| values[i].as_str(), None)
                }
                Err(message) => {
                    let seq = self.next_row();
                    self.log
                        .push(RowError::new(ErrorKind::Malformed, line, message).with_seq(seq));
                }
            },
            _ => {
                self.next_row();
            }
        }
    }

    /// Seals one data record of `n` fields.
    #[inline]
    fn csv_row(&mut self, record: &Record<'_>) {
        let raw = record.raw_text().filter(|_| self.copy_raw);
        self.row(
            record.line,
            record.size(),
            record.len(),
            |i| record.get(i),
            raw,
        );
    }

    /// Seals one data row of `n` fields, about `size` bytes in all (the
    /// record, or the JSON line, they came from). `raw`, when given, is the
    /// fields joined by `,`, none needing quotes in the output.
    fn row<'a>(
        &mut self,
        line: u64,
        size: usize,
        n: usize,
        field: impl Fn(usize) -> &'a str,
        raw: Option<&str>,
    ) {
        let Some(seq) = self.next_row() else {
            self.log.push(RowError::new(
                ErrorKind::SequenceViolation,
                line,
                format!("file_seq would exceed {}", u64::MAX),
            ));
            return;
        };
        if n != self.columns.len() {
            self.log.push(
                RowError::new(
                    ErrorKind::Malformed,
                    line,
                    format!("expected {} fields, found {n}", self.columns.len()),
                )
                .with_seq(Some(seq)),
            );
            return;
        }
        let (buf, start) = self.seq_digits.of(seq);
        let seq_text = &buf[start..];
        let seq_str = crate::scan::utf8(seq_text).unwrap_or_default();
        // Output column 0 is file_seq, 1..=n the input, n+1 the checksum
        // (which the plan leaves out).
        let out_field = |i: usize| {
            if i == 0 {
                seq_text
            } else {
                field(i - 1).as_bytes()
            }
        };
        if let Some(values) = &mut self.values {
            values.row((0..=n).map(&out_field));
        }
        // A large row is hashed alone, from its fields: a batch would hold
        // a copy of it (see BATCH_MAX_ROW_BYTES).
        if !self.batching || size > BATCH_MAX_ROW_BYTES {
            let hex = self.plan.compute(out_field);
            let hex_str = core::str::from_utf8(&hex).unwrap_or_default();
            if let Some(checker) = &mut self.checker {
                let value = |i: usize| match i {
                    0 => seq_str,
                    i if i <= n => field(i - 1),
                    _ => hex_str,
                };
                let log = &mut self.log;
                checker.check_row(
                    value,
                    RowContext {
                        line,
                        seq: Some(seq),
                    },
                    &mut |e| log.push(e),
                );
            }
            if self.log.is_empty() {
                self.write_row(seq_text, n, &field, raw);
                self.writer.plain(&hex);
                self.writer.terminator(&mut self.out);
            }
            return;
        }
        if let Some(checker) = &mut self.checker {
            // The checker does not read the checksum column (see `batching`).
            let value = |i: usize| match i {
                0 => seq_str,
                i if i <= n => field(i - 1),
                _ => "",
            };
            let log = &mut self.log;
            checker.check_row(
                value,
                RowContext {
                    line,
                    seq: Some(seq),
                },
                &mut |e| log.push(e),
            );
        }
        if self.log.is_empty() {
            self.write_row(seq_text, n, &field, raw);
            // Hex digits are never quoted: the placeholder starts here.
            let at = self.out.len() + self.writer.pending();
            self.writer.plain(&[b'0'; 64]);
            self.writer.terminator(&mut self.out);
            let plan = &self.plan;
            self.hasher.submit(|buf| plan.join_into(out_field, buf));
            self.placeholders.push_back(at);
            self.fill_done();
        }
    }

    /// Writes `seq`, the fields (`raw` in one copy when given) and the
    /// comma before the checksum.
    #[inline]
    fn write_row<'a>(
        &mut self,
        seq_text: &[u8],
        n: usize,
        field: &impl Fn(usize) -> &'a str,
        raw: Option<&str>,
    ) {
        let w = &mut self.writer;
        w.plain(seq_text);
        match raw {
            Some(raw) => {
                w.delimiter();
                w.verbatim(raw.as_bytes());
            }
            None => {
                for i in 0..n {
                    w.delimiter();
                    w.field(field(i).as_bytes());
                }
            }
        }
        w.delimiter();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv_reader::tests::Rng;
    use crate::report::{Dialect, VerifyOptions};
    use crate::verify::tests::verify;
    use alloc::vec;

    fn seal_with(
        options: SealOptions,
        input: &[u8],
        cuts: &[usize],
    ) -> Result<(Vec<u8>, SealSummary), SealFailure> {
        let mut s = Sealer::new(options).unwrap();
        let mut out = Vec::new();
        let mut prev = 0;
        for &c in cuts {
            out.extend(s.feed(&input[prev..c]));
            prev = c;
        }
        out.extend(s.feed(&input[prev..]));
        let (tail, summary) = s.finish()?;
        out.extend(tail);
        assert_eq!(summary.bytes, out.len() as u64);
        Ok((out, summary))
    }

    fn seal(input: &str) -> Result<(String, SealSummary), SealFailure> {
        seal_with(SealOptions::default(), input.as_bytes(), &[])
            .map(|(out, s)| (String::from_utf8(out).unwrap(), s))
    }

    /// An error as (kind, line, seq, column, message).
    type Flat = (ErrorKind, u64, Option<u64>, Option<String>, String);

    fn errors(input: &str, options: SealOptions) -> Vec<Flat> {
        seal_with(options, input.as_bytes(), &[])
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| (e.kind, e.line, e.seq, e.column, e.message))
            .collect()
    }

    #[test]
    fn seq_digits_are_the_decimal_text_across_carries_and_jumps() {
        let mut d = SeqDigits::new();
        let mut buf = [0u8; 20];
        let starts = [1, 8, 98, 999_990, 10u64.pow(19) - 3, u64::MAX - 3];
        for &first in &starts {
            for value in first..=first.saturating_add(3) {
                let (digits, start) = d.of(value);
                assert_eq!(&digits[start..], decimal(value, &mut buf), "{value}");
            }
        }
        // Not consecutive: back, and the same again.
        for value in [5, 5, 1_000_000, 7] {
            let (digits, start) = d.of(value);
            assert_eq!(&digits[start..], decimal(value, &mut buf), "{value}");
        }
    }

    #[test]
    fn policy_example_row() {
        let (out, summary) = seal("timestamp,trade_id,symbol,profit_loss\n2024-09-10T14:30:00Z,TRADE_20240910_001,EURUSD,25.0\n").unwrap();
        assert_eq!(
            out,
            "file_seq,timestamp,trade_id,symbol,profit_loss,checksum_sha256\r\n\
             1,2024-09-10T14:30:00Z,TRADE_20240910_001,EURUSD,25.0,\
             184da472a00855017d3d45a6e735d74b4b4712b97283c2635c606790ff832cc8\r\n"
        );
        assert_eq!(
            summary.columns.first().map(String::as_str),
            Some("file_seq")
        );
        assert_eq!(
            (summary.rows, summary.first_seq, summary.last_seq),
            (1, Some(1), Some(1))
        );
    }

    #[test]
    fn round_trip_verifies_under_any_chunking() {
        let input = "\u{feff}a,b,c\r\n\"x,1\",\"q\"\"\",\"l1\nl2\"\r\n\r\n,,\né,中,😀\n|,|,|";
        let (whole, _) = seal_with(SealOptions::default(), input.as_bytes(), &[]).unwrap();
        let report = verify(&whole);
        assert!(report.valid, "{report:?}");
        assert_eq!(
            (report.rows, report.first_seq, report.last_seq),
            (4, Some(1), Some(4))
        );
        let mut rng = Rng(11);
        for _ in 0..100 {
            let mut cuts: Vec<usize> = (0..rng.below(6))
                .map(|_| rng.below(input.len() as u64) as usize)
                .collect();
            cuts.sort_unstable();
            assert_eq!(
                seal_with(SealOptions::default(), input.as_bytes(), &cuts)
                    .unwrap()
                    .0,
                whole
            );
        }
    }

    #[test]
    fn large_rows_seal_alone_like_small_ones_and_verify() {
        // Rows past the batch size are hashed alone; the output is the same
        // as the policy's, quotes and all, under any chunking.
        let big = "y".repeat(BATCH_MAX_ROW_BYTES + 10);
        let input = format!("a,b\n1,{big}\n2,\"q\"\"{big}\"\n3,x\n4,{big}\n5,z\n");
        let (whole, summary) = seal_with(SealOptions::default(), input.as_bytes(), &[]).unwrap();
        let report = verify(&whole);
        assert!(report.valid, "{:?}", report.errors);
        assert_eq!(summary.rows, 5);
        let text = String::from_utf8(whole.clone()).unwrap();
        let mut rows = text.split("\r\n").skip(1);
        let sum = rows.nth(1).unwrap().rsplit(',').next().unwrap();
        assert_eq!(
            sum,
            crate::checksum::row_checksum(
                &["file_seq".into(), "a".into(), "b".into()],
                &["2".into(), "2".into(), format!("q\"{big}")]
            )
            .unwrap()
        );
        for cuts in [&[7usize][..], &[BATCH_MAX_ROW_BYTES, input.len() - 3]] {
            assert_eq!(
                seal_with(SealOptions::default(), input.as_bytes(), cuts)
                    .unwrap()
                    .0,
                whole
            );
        }
    }

    #[test]
    fn header_option_and_first_seq() {
        let options = SealOptions {
            header: Some(vec!["x".into(), "y".into()]),
            first_seq: 41,
            ..SealOptions::default()
        };
        let (out, summary) = seal_with(options, b"1,2\n3,4\n", &[]).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(
            text.starts_with("file_seq,x,y,checksum_sha256\r\n41,1,2,"),
            "{text}"
        );
        assert_eq!((summary.first_seq, summary.last_seq), (Some(41), Some(42)));
        let r = verify(&out);
        assert!(r.valid);
        assert_eq!(r.first_seq, Some(41));
    }

    #[test]
    fn header_only_and_empty_input() {
        let (out, summary) = seal("a,b\n").unwrap();
        assert_eq!(out, "file_seq,a,b,checksum_sha256\r\n");
        assert_eq!(
            (summary.rows, summary.first_seq, summary.last_seq),
            (0, None, None)
        );
        // With a header option, an empty input still gets its header.
        let options = SealOptions {
            header: Some(vec!["a".into()]),
            ..SealOptions::default()
        };
        let (out, _) = seal_with(options, b"", &[]).unwrap();
        assert_eq!(out, b"file_seq,a,checksum_sha256\r\n");
        let e = errors("", SealOptions::default());
        assert_eq!(
            e,
            vec![(
                ErrorKind::BadHeader,
                0,
                None,
                None,
                "input is empty: no header".into()
            )]
        );
    }

    #[test]
    fn rejects_metadata_and_bad_columns() {
        let e = errors("a,file_seq\n1,2\n", SealOptions::default());
        assert_eq!(
            e,
            vec![(
                ErrorKind::BadHeader,
                1,
                None,
                Some("file_seq".into()),
                "input already has a file_seq column".into()
            )]
        );
        let e = errors("a,,a,checksum_sha256\n", SealOptions::default());
        assert_eq!(e.len(), 3);
        let options = SealOptions {
            header: Some(vec!["checksum_sha256".into()]),
            ..SealOptions::default()
        };
        assert!(
            Sealer::new(options)
                .unwrap_err()
                .contains("input already has a checksum_sha256 column")
        );
        let options = SealOptions {
            first_seq: 0,
            ..SealOptions::default()
        };
        assert!(Sealer::new(options).is_err());
    }

    #[test]
    fn ragged_rows_and_torn_quotes() {
        let e = errors("a,b\n1,2\n1,2,3\n\"x\n", SealOptions::default());
        assert_eq!(
            e,
            vec![
                (
                    ErrorKind::Malformed,
                    3,
                    Some(2),
                    None,
                    "expected 2 fields, found 3".into()
                ),
                (
                    ErrorKind::TornRow,
                    4,
                    Some(3),
                    None,
                    "unterminated quoted field at end of input".into()
                ),
            ]
        );
    }

    #[test]
    fn output_stops_after_first_error_but_checking_goes_on() {
        let mut s = Sealer::new(SealOptions::default()).unwrap();
        let first = s.feed(b"a,b\n1,2\n");
        assert!(!first.is_empty());
        assert!(s.feed(b"1\n").is_empty());
        assert!(s.feed(b"3,4\n5\n").is_empty());
        let failure = s.finish().unwrap_err();
        assert_eq!(failure.error_count, 2);
        assert_eq!(failure.errors[1].line, 5);
        assert_eq!(s.finish().unwrap_err(), failure);
    }

    #[test]
    fn schema_applies_to_output_rows() {
        let schema = r#"{"fields":[
            {"name":"amount","type":"number"},
            {"name":"file_seq","type":"integer","constraints":{"maximum":2}}
        ]}"#;
        let options = SealOptions {
            schema_json: Some(schema.into()),
            ..SealOptions::default()
        };
        let e = errors("id,amount\na,1.5\nb,x\nc,3\n", options);
        assert_eq!(
            e,
            vec![
                (
                    ErrorKind::Schema,
                    3,
                    Some(2),
                    Some("amount".into()),
                    "value \"x\" is not a number".into()
                ),
                (
                    ErrorKind::Schema,
                    4,
                    Some(3),
                    Some("file_seq".into()),
                    "value 3 is above maximum 2".into()
                ),
            ]
        );
        let options = SealOptions {
            schema_json: Some(r#"{"fields":[{"name":"nope"}]}"#.into()),
            ..SealOptions::default()
        };
        let e = errors("id\n1\n", options);
        assert_eq!(e[0].0, ErrorKind::Schema);
        assert_eq!(e[0].1, 1);
    }

    #[test]
    fn schema_on_the_checksum_column() {
        // The checksum must then be computed before the row is checked.
        let schema = |c: &str| SealOptions {
            schema_json: Some(format!(
                r#"{{"fields":[{{"name":"checksum_sha256","constraints":{c}}}]}}"#
            )),
            ..SealOptions::default()
        };
        let input = "a\n1\n2\n3\n4\n5\n";
        let plain = seal(input).unwrap().0;
        let (out, _) = seal_with(
            schema(r#"{"pattern":"[0-9a-f]{64}","unique":true}"#),
            input.as_bytes(),
            &[3],
        )
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), plain);
        let e = errors(input, schema(r#"{"maxLength":3}"#));
        assert_eq!(e.len(), 5);
        assert_eq!(
            (e[0].0, e[0].3.as_deref()),
            (ErrorKind::Schema, Some("checksum_sha256"))
        );
    }

    #[test]
    fn seq_overflow_is_an_error() {
        let options = SealOptions {
            first_seq: u64::MAX - 1,
            ..SealOptions::default()
        };
        let e = errors("a\n1\n2\n3\n", options.clone());
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].0, e[0].1), (ErrorKind::SequenceViolation, 4));
        let (out, s) = seal_with(options, b"a\n1\n2\n", &[]).unwrap();
        assert_eq!(s.last_seq, Some(u64::MAX));
        assert!(verify(&out).valid);
    }

    #[test]
    fn limits_apply_to_input_and_output() {
        let options = SealOptions {
            limits: Limits {
                max_columns: 3,
                ..Limits::default()
            },
            ..SealOptions::default()
        };
        let e = errors("a,b\n", options);
        assert_eq!(e[0].0, ErrorKind::Limit);
    }

    fn jsonl(options: SealOptions, input: &str) -> Result<(String, SealSummary), SealFailure> {
        let options = SealOptions {
            format: InputFormat::Jsonl,
            ..options
        };
        seal_with(options, input.as_bytes(), &[]).map(|(o, s)| (String::from_utf8(o).unwrap(), s))
    }

    #[test]
    fn jsonl_first_object_order() {
        let (out, s) = jsonl(
            SealOptions::default(),
            "{\"timestamp\":\"2024-09-10T14:30:00Z\",\"trade_id\":\"TRADE_20240910_001\",\"symbol\":\"EURUSD\",\"profit_loss\":25.0}\r\n\n",
        )
        .unwrap();
        assert_eq!(
            out,
            "file_seq,timestamp,trade_id,symbol,profit_loss,checksum_sha256\r\n\
             1,2024-09-10T14:30:00Z,TRADE_20240910_001,EURUSD,25.0,\
             184da472a00855017d3d45a6e735d74b4b4712b97283c2635c606790ff832cc8\r\n"
        );
        assert_eq!(s.rows, 1);
    }

    #[test]
    fn jsonl_values_and_round_trip() {
        let input = "{\"a\":\"x,\\\"y\\\"\\n\",\"b\":1E5,\"c\":null,\"d\":true}\n{\"d\":false,\"c\":\"\",\"b\":-0.5,\"a\":\"é\"}";
        let (out, s) = jsonl(SealOptions::default(), input).unwrap();
        assert_eq!(s.rows, 2);
        assert!(out.contains("1,\"x,\"\"y\"\"\n\",1E5,,true,"), "{out}");
        assert!(verify(out.as_bytes()).valid);
    }

    #[test]
    fn jsonl_columns_from_schema_or_header() {
        let options = SealOptions {
            schema_json: Some(
                r#"{"fields":[{"name":"file_seq"},{"name":"b"},{"name":"a","type":"integer"}]}"#
                    .into(),
            ),
            ..SealOptions::default()
        };
        let (out, _) = jsonl(options.clone(), "{\"a\":1,\"b\":2}\n").unwrap();
        assert!(
            out.starts_with("file_seq,b,a,checksum_sha256\r\n1,2,1,"),
            "{out}"
        );
        let err = jsonl(options, "{\"a\":\"x\",\"b\":2}\n").unwrap_err();
        assert_eq!(err.errors[0].kind, ErrorKind::Schema);
        let options = SealOptions {
            header: Some(vec!["b".into(), "a".into()]),
            ..SealOptions::default()
        };
        let (out, _) = jsonl(options, "{\"a\":1,\"b\":2}\n").unwrap();
        assert!(
            out.starts_with("file_seq,b,a,checksum_sha256\r\n1,2,1,"),
            "{out}"
        );
    }

    #[test]
    fn jsonl_errors() {
        let err = jsonl(
            SealOptions::default(),
            "{\"a\":1,\"b\":2}\n{\"a\":1}\n{\"a\":1,\"b\":2,\"c\":3}\n[1]\n{\"a\":[1],\"b\":2}\n{\"a\":1,\"b\":2}\n",
        )
        .unwrap_err();
        let got: Vec<(ErrorKind, u64, Option<u64>, &str)> = err
            .errors
            .iter()
            .map(|e| (e.kind, e.line, e.seq, e.message.as_str()))
            .collect();
        assert_eq!(
            got[0],
            (ErrorKind::Malformed, 2, Some(2), "missing key \"b\"")
        );
        assert_eq!(
            got[1],
            (ErrorKind::Malformed, 3, Some(3), "unexpected key \"c\"")
        );
        assert_eq!((got[2].0, got[2].1), (ErrorKind::Malformed, 4));
        assert_eq!(
            got[3],
            (
                ErrorKind::Malformed,
                5,
                Some(5),
                "value of key \"a\" is an array"
            )
        );
        assert_eq!(got.len(), 4);
        let err = jsonl(SealOptions::default(), "{\"file_seq\":1}\n").unwrap_err();
        assert_eq!(err.errors[0].kind, ErrorKind::BadHeader);
        let err = jsonl(SealOptions::default(), "\n").unwrap_err();
        assert_eq!(
            (err.errors[0].kind, err.errors[0].line),
            (ErrorKind::BadHeader, 0)
        );
    }

    /// Writes `rows` in `dialect`: a field is quoted when it holds the
    /// delimiter, the quote, CR or LF, or is a record's only, empty field.
    fn encode(rows: &[Vec<String>], dialect: Dialect) -> Vec<u8> {
        let (d, q) = (dialect.delimiter, dialect.quote);
        let mut out = Vec::new();
        for row in rows {
            for (i, f) in row.iter().enumerate() {
                if i > 0 {
                    out.push(d);
                }
                let b = f.as_bytes();
                if b.iter()
                    .any(|&c| c == d || c == q || c == b'\r' || c == b'\n')
                    || (row.len() == 1 && b.is_empty())
                {
                    out.push(q);
                    for &c in b {
                        out.push(c);
                        if c == q {
                            out.push(q);
                        }
                    }
                    out.push(q);
                } else {
                    out.extend_from_slice(b);
                }
            }
            out.extend_from_slice(if row.len() % 2 == 0 { b"\r\n" } else { b"\n" });
        }
        out
    }

    fn random_table(rng: &mut Rng) -> Vec<Vec<String>> {
        const PIECES: &[&str] = &[
            "a", "bc", ",", ";", "\t", "|", "\"", "'", "\r\n", "\n", "\r", " ", "é", "中", "😀",
        ];
        let cols = 1 + rng.below(4) as usize;
        let field = |rng: &mut Rng| -> String {
            (0..rng.below(4))
                .map(|_| PIECES[rng.below(PIECES.len() as u64) as usize])
                .collect()
        };
        let mut rows = vec![(0..cols).map(|i| format!("c{i}")).collect::<Vec<_>>()];
        for _ in 0..rng.below(6) {
            rows.push((0..cols).map(|_| field(rng)).collect());
        }
        rows
    }

    fn random_cuts(rng: &mut Rng, len: usize) -> Vec<usize> {
        let mut cuts: Vec<usize> = (0..rng.below(5))
            .map(|_| rng.below(len as u64 + 1) as usize)
            .collect();
        cuts.sort_unstable();
        cuts
    }

    #[test]
    fn every_dialect_seals_like_the_comma_csv() {
        // Same rows written in each dialect, cut anywhere: the same sealed bytes.
        let mut rng = Rng(0x5EA1_D1A1_EC75);
        for _ in 0..1500 {
            let rows = random_table(&mut rng);
            let comma = encode(&rows, Dialect::default());
            let want = seal_with(SealOptions::default(), &comma, &[]).unwrap().0;
            for dialect in crate::fuzz_oracle::DIALECTS {
                let input = encode(&rows, dialect);
                let options = SealOptions {
                    dialect,
                    ..SealOptions::default()
                };
                let cuts = random_cuts(&mut rng, input.len());
                let got = seal_with(options, &input, &cuts).unwrap().0;
                assert_eq!(
                    got,
                    want,
                    "{dialect:?} {:?}",
                    String::from_utf8_lossy(&input)
                );
            }
        }
    }

    #[test]
    fn headerless_input_takes_the_given_columns_or_the_schemas() {
        let with_header = seal("id,name\n1,a\n2,b\n").unwrap().0;
        let headerless = Dialect {
            has_header: false,
            ..Dialect::default()
        };
        let options = SealOptions {
            dialect: headerless,
            header: Some(vec!["id".into(), "name".into()]),
            ..SealOptions::default()
        };
        let (out, _) = seal_with(options, b"1,a\n2,b\n", &[]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), with_header);
        let options = SealOptions {
            dialect: headerless,
            schema_json: Some(
                r#"{"fields":[{"name":"id","type":"integer"},{"name":"name"}]}"#.into(),
            ),
            ..SealOptions::default()
        };
        let (out, _) = seal_with(options, b"1,a\n2,b\n", &[]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), with_header);
        let options = SealOptions {
            dialect: headerless,
            ..SealOptions::default()
        };
        assert!(Sealer::new(options).unwrap_err().contains("no header line"));
    }

    #[test]
    fn bad_dialects_are_refused() {
        for (delimiter, quote) in [(b',', b','), (b'\n', b'"'), (b',', b'\r'), (0xA7, b'"')] {
            let options = SealOptions {
                dialect: Dialect {
                    delimiter,
                    quote,
                    ..Dialect::default()
                },
                ..SealOptions::default()
            };
            assert!(Sealer::new(options).is_err(), "{delimiter} {quote}");
        }
    }

    #[test]
    fn a_one_column_header_holding_another_delimiter_is_refused() {
        for (input, option) in [
            ("a;b\n1;2\n", "--delimiter ';'"),
            ("a\tb\n1\t2\n", "--delimiter tab"),
            ("a|b\n1|2\n", "--delimiter '|'"),
        ] {
            let e = errors(input, SealOptions::default());
            assert_eq!(e.len(), 1, "{e:?}");
            assert_eq!((e[0].0, e[0].1), (ErrorKind::BadHeader, 1));
            assert!(e[0].4.contains(option), "{}", e[0].4);
            // Given explicitly, the delimiter is the user's choice: one column.
            let options = SealOptions {
                dialect: Dialect {
                    guard_delimiter: false,
                    ..Dialect::default()
                },
                ..SealOptions::default()
            };
            let (out, s) = seal_with(options, input.as_bytes(), &[]).unwrap();
            assert_eq!((s.rows, s.columns.len()), (1, 3), "{out:?}");
        }
        // One column without those bytes, or several columns holding them: fine.
        assert!(seal("name\nx\n").is_ok());
        assert!(seal("a;b,c\n1,2\n").is_ok());
    }

    #[test]
    fn a_header_repeated_as_the_first_row_is_refused() {
        let e = errors("a,b\na,b\n1,2\n", SealOptions::default());
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!((e[0].0, e[0].1, e[0].2), (ErrorKind::BadHeader, 2, Some(1)));
        assert!(e[0].4.contains("double header"), "{}", e[0].4);
        // With the columns given, a first row equal to them is a header line.
        let options = SealOptions {
            dialect: Dialect {
                has_header: false,
                ..Dialect::default()
            },
            header: Some(vec!["a".into(), "b".into()]),
            ..SealOptions::default()
        };
        let e = errors("a,b\n1,2\n", options);
        assert_eq!((e[0].0, e[0].1), (ErrorKind::BadHeader, 1));
        assert!(e[0].4.contains("has a header line"), "{}", e[0].4);
        // Only the first row is compared.
        assert!(seal("a,b\n1,2\na,b\n").is_ok());
    }

    #[test]
    fn verify_options_default_is_usable() {
        // Sealed output passes a verifier built from the same limits.
        let (out, _) = seal("a\n1\n").unwrap();
        let mut v = crate::verify::Verifier::new(VerifyOptions::default()).unwrap();
        v.feed(out.as_bytes());
        assert!(v.finish().valid);
    }

    /// `cargo test -p csvseal-guest --release -- --ignored --nocapture bench`
    #[test]
    #[ignore]
    fn bench_seal_1m_rows() {
        let sealed = crate::verify::tests::policy_like_file(1_000_000);
        // Strip the metadata columns to get plain input.
        let mut input = Vec::with_capacity(sealed.len());
        for line in sealed.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let start = line.iter().position(|&b| b == b',').unwrap() + 1;
            let end = line.iter().rposition(|&b| b == b',').unwrap();
            input.extend_from_slice(&line[start..end]);
            input.push(b'\n');
        }
        let start = std::time::Instant::now();
        let mut s = Sealer::new(SealOptions::default()).unwrap();
        let mut out = Vec::new();
        for chunk in input.chunks(256 * 1024) {
            out.extend(s.feed(chunk));
        }
        let (tail, summary) = s.finish().unwrap();
        out.extend(tail);
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(out, sealed);
        std::println!(
            "seal: {} rows in {secs:.3}s: {:.0} rows/s, {:.0} MB/s out",
            summary.rows,
            summary.rows as f64 / secs,
            out.len() as f64 / 1e6 / secs
        );
    }
}
