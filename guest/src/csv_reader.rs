//! A push-based, streaming CSV record splitter.
//!
//! Bytes arrive in chunks of any size, split anywhere (between `\r` and `\n`,
//! inside quotes, inside a multibyte character); every split of the same
//! input yields the same events. Memory is constant apart from the record
//! being assembled, which [`ReaderConfig::max_record_bytes`] bounds.
//!
//! Dialect: a delimiter (`,` by default) and a quote (`"` by default, doubled
//! to escape itself) chosen by [`Dialect`]; records end with `\n` or `\r\n`.
//! Quoted fields may hold the delimiter, the quote, `\r` and `\n`. Lines are
//! counted by `\n` only (a bare `\r` is an error, not a line end).

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::report::{Dialect, ErrorKind, RowError};
use crate::scan::{Stops, find_quoted_stop, find_unquoted_stop};

/// How the reader treats the end of input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReaderConfig {
    /// Largest record kept, in bytes: its fields after unquoting plus one
    /// byte between fields (for an unquoted record, its length without the
    /// terminator).
    pub max_record_bytes: u64,
    /// Most fields a record may have.
    pub max_columns: u32,
    /// When true (verification), input that does not end with a line
    /// terminator ends in a torn record; when false (seal input), the last
    /// record may lack its terminator.
    pub require_terminator: bool,
}

/// A problem found while splitting records. The reader does not know the
/// header, so it names fields by 0-based index; see [`ReadError::into_row_error`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// 1-based line where the record starts.
    pub line: u64,
    /// 0-based index of the field concerned, when known.
    pub field: Option<usize>,
    /// What is wrong, for people.
    pub message: String,
}

impl ReadError {
    /// Converts to a [`RowError`], naming the field's column when the
    /// header is known and has that many columns.
    pub fn into_row_error(self, header: Option<&[String]>) -> RowError {
        let column = match (self.field, header) {
            (Some(i), Some(h)) => h.get(i).cloned(),
            _ => None,
        };
        RowError {
            kind: self.kind,
            line: self.line,
            seq: None,
            column,
            message: self.message,
        }
    }
}

/// One complete, UTF-8-valid record. Borrowed from the reader (or straight
/// from the fed chunk): it is only valid inside the event callback.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    /// 1-based physical line the record starts on.
    pub line: u64,
    /// The unquoted fields, each followed by a one-byte separator except
    /// the last. For an unquoted record this is the input itself.
    text: &'a str,
    /// Exclusive end of each field in `text`; field `i + 1` starts one byte
    /// (the separator) after field `i` ends.
    ends: &'a [usize],
    /// `text` is the input itself: no quotes, no `\r`, the separators are
    /// the delimiter.
    raw: bool,
}

impl<'a> Record<'a> {
    /// Number of fields (at least 1).
    #[inline]
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Always false: a record has at least one field (blank lines are
    /// reported as [`Event::Blank`], not as records).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The record's size in bytes: its unquoted fields plus one byte
    /// between each two (what a row's checksum input about comes to).
    #[inline]
    pub fn size(&self) -> usize {
        self.text.len()
    }

    /// The record as it was in the input when it held no quote and no
    /// `\r`: its fields joined by the delimiter, none holding either.
    #[inline]
    pub fn raw_text(&self) -> Option<&'a str> {
        self.raw.then_some(self.text)
    }

    /// Length in bytes of the fields and their separators.
    #[inline]
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// Field `i`'s bytes (unquoted). Panics if `i >= len()`.
    #[inline]
    pub fn bytes(&self, i: usize) -> &'a [u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] + 1 };
        &self.text.as_bytes()[start..self.ends[i]]
    }

    /// Field `i` as text. Panics if `i >= len()`.
    #[inline]
    pub fn get(&self, i: usize) -> &'a str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] + 1 };
        let end = self.ends[i];
        debug_assert!(start <= end && end <= self.text.len());
        // SAFETY: `ends` are increasing offsets into `text` (both come from
        // the reader), and `text` is UTF-8 whose field separators are ASCII,
        // so start..end lies on char boundaries.
        unsafe { self.text.get_unchecked(start..end) }
    }

    /// The fields in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
}

/// What the reader reports, in input order.
#[derive(Debug)]
pub enum Event<'a> {
    /// A complete record.
    Record(Record<'a>),
    /// An empty line (`\n` or `\r\n` alone) at the given line.
    Blank(u64),
    /// A UTF-8 byte order mark at the start of input; it was skipped.
    ByteOrderMark,
    /// A record that could not be read; the reader has skipped to its end.
    Error(ReadError),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Nothing of the current record consumed yet.
    RecordStart,
    /// At the start of a field after a delimiter.
    FieldStart,
    /// Inside an unquoted field.
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// Just after a `"` inside a quoted field: either `""` or the closing quote.
    QuoteInQuoted,
    /// Just after a `\r` outside quotes; only `\n` may follow.
    Cr,
}

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// The streaming CSV reader. See the module documentation.
#[derive(Debug)]
pub struct CsvReader {
    cfg: ReaderConfig,
    /// The delimiter and the quote, and the bytes that stop a run of
    /// field content (boxed: two 256-entry tables).
    delimiter: u8,
    quote: u8,
    stops: Box<Stops>,
    state: State,
    /// The current record's unquoted fields, each followed by one byte.
    buf: Vec<u8>,
    /// Exclusive end offset in `buf` of each completed field (also used
    /// for records read straight from a chunk).
    ends: Vec<usize>,
    /// Fields completed in the current record (counted even when skipping).
    nfields: usize,
    /// Line of the byte being read.
    line: u64,
    /// Line on which the current record started.
    record_line: u64,
    /// The first error of the current record; the record is then skipped.
    err: Option<ReadError>,
    /// True once the current record has an error: stop buffering it.
    skipping: bool,
    /// In state `Cr`: the `\r` was the first byte of the record.
    blank_cr: bool,
    /// Bytes that may still be a byte order mark.
    bom_pending: [u8; 3],
    bom_len: usize,
    bom_done: bool,
    bytes_seen: u64,
    /// `"` bytes consumed (since [`CsvReader::resume_here`]).
    quotes: u64,
    finished: bool,
}

impl CsvReader {
    /// A reader of the default dialect (`,` and `"`) at the start of input.
    pub fn new(cfg: ReaderConfig) -> Self {
        Self::with_dialect(cfg, &Dialect::default())
    }

    /// A reader of `dialect`'s delimiter and quote (checked by
    /// [`Dialect::check`]) at the start of input.
    pub fn with_dialect(cfg: ReaderConfig, dialect: &Dialect) -> Self {
        CsvReader {
            cfg,
            delimiter: dialect.delimiter,
            quote: dialect.quote,
            stops: Box::new(Stops::new(dialect.delimiter, dialect.quote)),
            state: State::RecordStart,
            buf: Vec::new(),
            ends: Vec::new(),
            nfields: 0,
            line: 1,
            record_line: 1,
            err: None,
            skipping: false,
            blank_cr: false,
            bom_pending: [0; 3],
            bom_len: 0,
            bom_done: false,
            bytes_seen: 0,
            quotes: 0,
            finished: false,
        }
    }

    /// Total bytes fed so far.
    pub fn bytes_seen(&self) -> u64 {
        self.bytes_seen
    }

    /// `\n` bytes consumed (since [`Self::resume_here`]): every one ends a
    /// line, quoted or not.
    pub fn newlines(&self) -> u64 {
        self.line - 1
    }

    /// `"` bytes consumed (since [`Self::resume_here`]). In input without
    /// errors a position is inside a quoted field exactly when an odd number
    /// of `"` precede it: opening and closing quotes pair up, and `""`
    /// inside a field is two.
    pub fn quotes(&self) -> u64 {
        self.quotes
    }

    /// For a reader that resumes inside a file at a record boundary (having
    /// been fed the file's header): numbers lines from 1 again, and restarts
    /// [`Self::newlines`] and [`Self::quotes`], from the next byte. Returns
    /// false, changing nothing, when the reader is not at a record boundary.
    pub fn resume_here(&mut self) -> bool {
        if self.state != State::RecordStart || !self.bom_done || self.finished {
            return false;
        }
        self.line = 1;
        self.record_line = 1;
        self.quotes = 0;
        true
    }

    /// Consumes a chunk, calling `sink` for every event it completes.
    /// Ignored after [`Self::finish`].
    pub fn feed<F: FnMut(Event<'_>)>(&mut self, chunk: &[u8], sink: &mut F) {
        if self.finished {
            return;
        }
        self.bytes_seen += chunk.len() as u64;
        let mut data = chunk;
        if !self.bom_done {
            data = self.strip_bom(data, sink);
        }
        if !data.is_empty() {
            self.run(data, sink);
        }
    }

    /// Ends the input: reports the last record, or why it is torn.
    pub fn finish<F: FnMut(Event<'_>)>(&mut self, sink: &mut F) {
        if self.finished {
            return;
        }
        if !self.bom_done {
            // Fewer than three bytes, all a BOM prefix: they are data.
            self.bom_done = true;
            let pending = self.bom_pending;
            let n = self.bom_len;
            self.run(&pending[..n], sink);
        }
        self.finished = true;
        let require = self.cfg.require_terminator;
        match self.state {
            State::RecordStart => {}
            State::Quoted => self.torn("unterminated quoted field at end of input", sink),
            State::Cr if self.blank_cr => {
                if require {
                    self.torn("input ends with a bare carriage return", sink);
                } else {
                    sink(Event::Blank(self.record_line));
                    self.reset_record();
                }
            }
            State::Cr | State::FieldStart | State::Unquoted | State::QuoteInQuoted => {
                if require {
                    self.torn("last record has no line terminator", sink);
                } else {
                    self.end_field();
                    self.end_record(sink);
                }
            }
        }
    }

    fn torn<F: FnMut(Event<'_>)>(&mut self, message: &str, sink: &mut F) {
        // A torn record's other problems are moot: the write was cut short.
        sink(Event::Error(ReadError {
            kind: ErrorKind::TornRow,
            line: self.record_line,
            field: None,
            message: message.into(),
        }));
        self.reset_record();
    }

    /// Holds back the first bytes until it is known whether they are a BOM.
    fn strip_bom<'d, F: FnMut(Event<'_>)>(&mut self, data: &'d [u8], sink: &mut F) -> &'d [u8] {
        let mut i = 0;
        while self.bom_len < 3 && i < data.len() {
            if data[i] != BOM[self.bom_len] {
                self.bom_done = true;
                let pending = self.bom_pending;
                let n = self.bom_len;
                if n > 0 {
                    self.run(&pending[..n], sink);
                }
                return &data[i..];
            }
            self.bom_pending[self.bom_len] = data[i];
            self.bom_len += 1;
            i += 1;
        }
        if self.bom_len == 3 {
            self.bom_done = true;
            sink(Event::ByteOrderMark);
        }
        &data[i..]
    }

    /// The state machine. On wasm32 it enables `simd128` for itself, so
    /// that the scanners inlined into it use SIMD (see [`crate::scan`]).
    #[cfg_attr(target_arch = "wasm32", target_feature(enable = "simd128"))]
    fn run<F: FnMut(Event<'_>)>(&mut self, data: &[u8], sink: &mut F) {
        let n = data.len();
        let mut i = 0;
        while i < n {
            match self.state {
                State::RecordStart | State::FieldStart => {
                    if self.state == State::RecordStart {
                        if let Some(next) = self.fast_record(data, i, sink) {
                            i = next;
                            continue;
                        }
                        self.record_line = self.line;
                    }
                    match data[i] {
                        b if b == self.quote => {
                            self.quotes += 1;
                            self.state = State::Quoted;
                            i += 1;
                        }
                        b if b == self.delimiter => {
                            self.end_field();
                            self.state = State::FieldStart;
                            i += 1;
                        }
                        b'\n' => {
                            i += 1;
                            if self.state == State::RecordStart {
                                sink(Event::Blank(self.record_line));
                            } else {
                                self.end_field();
                                self.end_record(sink);
                            }
                            self.line += 1;
                        }
                        b'\r' => {
                            self.blank_cr = self.state == State::RecordStart;
                            self.state = State::Cr;
                            i += 1;
                        }
                        _ => self.state = State::Unquoted,
                    }
                }
                State::Unquoted => {
                    let start = i;
                    i = find_unquoted_stop(data, i, &self.stops);
                    self.append(&data[start..i]);
                    if i == n {
                        break;
                    }
                    match data[i] {
                        b if b == self.delimiter => {
                            self.end_field();
                            self.state = State::FieldStart;
                        }
                        b'\n' => {
                            self.end_field();
                            self.end_record(sink);
                            self.line += 1;
                        }
                        b'\r' => {
                            self.blank_cr = false;
                            self.state = State::Cr;
                        }
                        quote => {
                            self.quotes += 1;
                            self.fail(ErrorKind::Malformed, "quote inside an unquoted field");
                            self.append(&[quote]);
                        }
                    }
                    i += 1;
                }
                State::Quoted => {
                    let start = i;
                    i = find_quoted_stop(data, i, &self.stops);
                    self.append(&data[start..i]);
                    if i == n {
                        break;
                    }
                    if data[i] == b'\n' {
                        self.line += 1;
                        self.append(b"\n");
                    } else {
                        self.quotes += 1;
                        self.state = State::QuoteInQuoted;
                    }
                    i += 1;
                }
                State::QuoteInQuoted => match data[i] {
                    quote if quote == self.quote => {
                        self.quotes += 1;
                        self.append(&[quote]);
                        self.state = State::Quoted;
                        i += 1;
                    }
                    b if b == self.delimiter => {
                        self.end_field();
                        self.state = State::FieldStart;
                        i += 1;
                    }
                    b'\n' => {
                        self.end_field();
                        self.end_record(sink);
                        self.line += 1;
                        i += 1;
                    }
                    b'\r' => {
                        self.blank_cr = false;
                        self.state = State::Cr;
                        i += 1;
                    }
                    _ => {
                        // Keep reading the rest as data so that the record's
                        // end is still found where a lenient reader finds it.
                        self.fail(
                            ErrorKind::Malformed,
                            "unexpected character after a closing quote",
                        );
                        self.state = State::Unquoted;
                    }
                },
                State::Cr => {
                    if data[i] == b'\n' {
                        i += 1;
                        if self.blank_cr {
                            sink(Event::Blank(self.record_line));
                            self.reset_record();
                        } else {
                            self.end_field();
                            self.end_record(sink);
                        }
                        self.line += 1;
                    } else {
                        // The `\r` becomes data of an unquoted field; the
                        // record ends at the next `\n`.
                        self.fail(
                            ErrorKind::Malformed,
                            "carriage return not followed by a line feed",
                        );
                        self.state = State::Unquoted;
                    }
                }
            }
        }
    }

    /// The fast path: a record that lies wholly in `data` from `start`, has
    /// no quotes and no bare `\r`, is not blank and is within the limits is
    /// reported straight from `data`, with no copying. Returns the index after
    /// its terminator, or None (having changed nothing) to let the state
    /// machine read it. Both paths give the same events for such a record.
    #[inline(always)]
    fn fast_record<F: FnMut(Event<'_>)>(
        &mut self,
        data: &[u8],
        start: usize,
        sink: &mut F,
    ) -> Option<usize> {
        let max_fields = self.cfg.max_columns as usize;
        let mut j = start;
        let end = loop {
            j = find_unquoted_stop(data, j, &self.stops);
            match data.get(j) {
                Some(&b) if b == self.delimiter => {
                    self.ends.push(j - start);
                    if self.ends.len() >= max_fields {
                        break None;
                    }
                    j += 1;
                }
                Some(b'\n') => break Some(j),
                Some(b'\r') if data.get(j + 1) == Some(&b'\n') => {
                    j += 1;
                    break Some(j - 1);
                }
                _ => break None,
            }
        };
        // `ends` holds one offset fewer than the record has fields.
        let fits = |end: usize| {
            end > start
                && (end - start) as u64 <= self.cfg.max_record_bytes
                && self.ends.len() < max_fields
        };
        let text = end
            .filter(|&end| fits(end))
            .and_then(|end| crate::scan::utf8(&data[start..end]).ok());
        let Some(text) = text else {
            self.ends.clear();
            return None;
        };
        self.ends.push(text.len());
        sink(Event::Record(Record {
            line: self.line,
            text,
            ends: &self.ends,
            raw: true,
        }));
        self.ends.clear();
        self.line += 1;
        Some(j + 1)
    }

    /// Records the first error of the current record and stops buffering it.
    #[cold]
    fn fail(&mut self, kind: ErrorKind, message: &str) {
        self.fail_with(kind, String::from(message));
    }

    #[cold]
    fn fail_with(&mut self, kind: ErrorKind, message: String) {
        if self.err.is_none() {
            self.err = Some(ReadError {
                kind,
                line: self.record_line,
                field: Some(self.nfields),
                message,
            });
        }
        self.skipping = true;
        self.buf.clear();
        self.ends.clear();
    }

    #[inline(always)]
    fn append(&mut self, bytes: &[u8]) {
        if self.skipping {
            return;
        }
        if (self.buf.len() + bytes.len()) as u64 > self.cfg.max_record_bytes {
            let max = self.cfg.max_record_bytes;
            self.fail_with(
                ErrorKind::Limit,
                format!("record is larger than {max} bytes"),
            );
            return;
        }
        let need = self.buf.len() + bytes.len() + 1;
        if need > self.buf.capacity() {
            // Double as usual, but never past the cap (and the separator
            // after the field): a record near the cap must not take twice
            // the cap.
            let cap = usize::try_from(self.cfg.max_record_bytes)
                .unwrap_or(usize::MAX)
                .saturating_add(1);
            let target = self
                .buf
                .capacity()
                .saturating_mul(2)
                .max(need)
                .min(cap.max(need));
            self.buf.reserve_exact(target - self.buf.len());
        }
        self.buf.extend_from_slice(bytes);
    }

    #[inline(always)]
    fn end_field(&mut self) {
        if self.nfields >= self.cfg.max_columns as usize {
            if self.err.is_none() {
                let max = self.cfg.max_columns;
                self.fail_with(
                    ErrorKind::Limit,
                    format!("record has more than {max} fields"),
                );
            }
            self.nfields += 1;
            return;
        }
        self.nfields += 1;
        if !self.skipping {
            self.ends.push(self.buf.len());
            self.buf.push(b',');
        }
    }

    fn end_record<F: FnMut(Event<'_>)>(&mut self, sink: &mut F) {
        if let Some(err) = self.err.take() {
            sink(Event::Error(err));
        } else {
            // Drop the separator after the last field. A field that ends
            // inside a character is caught here too: the ASCII separator
            // cannot continue it.
            let text = &self.buf[..self.buf.len().saturating_sub(1)];
            match crate::scan::utf8(text) {
                Ok(text) => sink(Event::Record(Record {
                    line: self.record_line,
                    text,
                    ends: &self.ends,
                    raw: false,
                })),
                Err(e) => {
                    let at = e.valid_up_to();
                    let k = self.ends.partition_point(|&end| end <= at);
                    sink(Event::Error(self.encoding_error(k)));
                }
            }
        }
        self.reset_record();
    }

    #[cold]
    fn encoding_error(&self, field: usize) -> ReadError {
        ReadError {
            kind: ErrorKind::Encoding,
            line: self.record_line,
            field: Some(field),
            message: format!("field {} is not valid UTF-8", field + 1),
        }
    }

    #[inline]
    fn reset_record(&mut self) {
        self.buf.clear();
        self.ends.clear();
        self.nfields = 0;
        self.err = None;
        self.skipping = false;
        self.state = State::RecordStart;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    /// An owned copy of an event, for comparing runs.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Ev {
        Rec(u64, Vec<String>),
        Blank(u64),
        Bom,
        Err(ErrorKind, u64, Option<usize>, String),
    }

    pub fn cfg(require_terminator: bool) -> ReaderConfig {
        ReaderConfig {
            max_record_bytes: 1 << 20,
            max_columns: 1000,
            require_terminator,
        }
    }

    fn own(ev: Event<'_>) -> Ev {
        match ev {
            Event::Record(r) => Ev::Rec(r.line, r.iter().map(|s| s.to_string()).collect()),
            Event::Blank(l) => Ev::Blank(l),
            Event::ByteOrderMark => Ev::Bom,
            Event::Error(e) => Ev::Err(e.kind, e.line, e.field, e.message),
        }
    }

    /// Reads `input` split at the given cut points.
    pub fn read_split(cfg: ReaderConfig, input: &[u8], cuts: &[usize]) -> Vec<Ev> {
        read_split_in(cfg, &Dialect::default(), input, cuts)
    }

    /// [`read_split`] in `dialect`.
    pub fn read_split_in(
        cfg: ReaderConfig,
        dialect: &Dialect,
        input: &[u8],
        cuts: &[usize],
    ) -> Vec<Ev> {
        let mut out = Vec::new();
        let mut r = CsvReader::with_dialect(cfg, dialect);
        let mut sink = |ev: Event<'_>| out.push(own(ev));
        let mut prev = 0;
        for &c in cuts {
            r.feed(&input[prev..c], &mut sink);
            prev = c;
        }
        r.feed(&input[prev..], &mut sink);
        r.finish(&mut sink);
        out
    }

    fn read(input: &str) -> Vec<Ev> {
        read_split(cfg(true), input.as_bytes(), &[])
    }

    fn rec(line: u64, fields: &[&str]) -> Ev {
        Ev::Rec(line, fields.iter().map(|s| s.to_string()).collect())
    }

    fn kinds(evs: &[Ev]) -> Vec<(ErrorKind, u64)> {
        evs.iter()
            .filter_map(|e| match e {
                Ev::Err(k, l, _, _) => Some((*k, *l)),
                _ => None,
            })
            .collect()
    }

    pub use crate::fuzz_oracle::Rng;

    #[test]
    fn simple_records() {
        assert_eq!(
            read("a,b\r\n1,2\n"),
            vec![rec(1, &["a", "b"]), rec(2, &["1", "2"])]
        );
    }

    #[test]
    fn quoted_fields() {
        let evs = read("\"a,b\",\"q\"\"q\",\"l1\nl2\r\nl3\",\"\"\nx,y\n");
        assert_eq!(
            evs,
            vec![
                rec(1, &["a,b", "q\"q", "l1\nl2\r\nl3", ""]),
                rec(4, &["x", "y"])
            ]
        );
    }

    #[test]
    fn other_dialects() {
        let d = |delimiter, quote| Dialect {
            delimiter,
            quote,
            ..Dialect::default()
        };
        let read_in = |d: Dialect, input: &str| read_split_in(cfg(true), &d, input.as_bytes(), &[]);
        assert_eq!(
            read_in(d(b';', b'"'), "a;\"b;c\";d,e\n"),
            vec![rec(1, &["a", "b;c", "d,e"])]
        );
        assert_eq!(
            read_in(d(b'\t', b'"'), "a\t\"x\"\"y\"\t\n"),
            vec![rec(1, &["a", "x\"y", ""])]
        );
        assert_eq!(
            read_in(d(b'|', b'\''), "'it''s'|\"q\"|'a|b'\n"),
            vec![rec(1, &["it's", "\"q\"", "a|b"])]
        );
        // The default quote is plain data in a dialect that quotes with `'`.
        let evs = read_in(d(b'|', b'\''), "a'b|c\n");
        assert_eq!(kinds(&evs), vec![(ErrorKind::Malformed, 1)]);
    }

    #[test]
    fn empty_fields() {
        assert_eq!(
            read(",\n,,\r\n"),
            vec![rec(1, &["", ""]), rec(2, &["", "", ""])]
        );
    }

    #[test]
    fn blank_lines_are_reported() {
        assert_eq!(
            read("a\n\n\r\nb\n"),
            vec![rec(1, &["a"]), Ev::Blank(2), Ev::Blank(3), rec(4, &["b"])]
        );
    }

    #[test]
    fn quoted_empty_line_is_not_blank() {
        assert_eq!(read("\"\"\n"), vec![rec(1, &[""])]);
    }

    #[test]
    fn bare_cr_is_malformed() {
        let evs = read("a\rb,c\nd,e\n");
        assert_eq!(kinds(&evs), vec![(ErrorKind::Malformed, 1)]);
        assert_eq!(evs[1], rec(2, &["d", "e"]));
        // After a closing quote too.
        let evs = read("\"a\"\rb\nc\n");
        assert_eq!(kinds(&evs), vec![(ErrorKind::Malformed, 1)]);
        // At the start of a record.
        let evs = read("\rb\nc\n");
        assert_eq!(kinds(&evs), vec![(ErrorKind::Malformed, 1)]);
        assert_eq!(evs[1], rec(2, &["c"]));
    }

    #[test]
    fn stray_quotes_are_malformed() {
        let evs = read("ab\"c,d\nx,y\n");
        assert_eq!(
            evs[0],
            Ev::Err(
                ErrorKind::Malformed,
                1,
                Some(0),
                "quote inside an unquoted field".into()
            )
        );
        assert_eq!(evs[1], rec(2, &["x", "y"]));
        let evs = read("a,\"b\"c\nx\n");
        assert_eq!(
            evs[0],
            Ev::Err(
                ErrorKind::Malformed,
                1,
                Some(1),
                "unexpected character after a closing quote".into()
            )
        );
        assert_eq!(evs[1], rec(2, &["x"]));
    }

    #[test]
    fn invalid_utf8_is_encoding_error() {
        let evs = read_split(cfg(true), b"ok,\xff\xfe\nx\n", &[]);
        assert_eq!(
            evs[0],
            Ev::Err(
                ErrorKind::Encoding,
                1,
                Some(1),
                "field 2 is not valid UTF-8".into()
            )
        );
        assert_eq!(evs[1], rec(2, &["x"]));
    }

    #[test]
    fn character_split_across_fields_is_encoding_error() {
        // "é" is C3 A9; putting a comma between the bytes makes a record
        // whose concatenated content is valid but whose fields are not.
        let evs = read_split(cfg(true), b"a\xc3,\xa9b\n", &[]);
        assert_eq!(kinds(&evs), vec![(ErrorKind::Encoding, 1)]);
        assert!(matches!(&evs[0], Ev::Err(_, _, Some(0), _)));
    }

    #[test]
    fn unicode_fields() {
        assert_eq!(read("é,中😀\n"), vec![rec(1, &["é", "中😀"])]);
    }

    #[test]
    fn torn_at_end() {
        let evs = read("a,b\nc,d");
        assert_eq!(evs[0], rec(1, &["a", "b"]));
        assert_eq!(kinds(&evs), vec![(ErrorKind::TornRow, 2)]);
        let evs = read("a,b\n\"c\nd");
        assert_eq!(kinds(&evs), vec![(ErrorKind::TornRow, 2)]);
        let evs = read("a,b\nc,d\r");
        assert_eq!(kinds(&evs), vec![(ErrorKind::TornRow, 2)]);
        let evs = read("a,b\nc,\"d\"");
        assert_eq!(kinds(&evs), vec![(ErrorKind::TornRow, 2)]);
    }

    #[test]
    fn missing_terminator_accepted_for_seal_input() {
        let evs = read_split(cfg(false), b"a,b\nc,d", &[]);
        assert_eq!(evs, vec![rec(1, &["a", "b"]), rec(2, &["c", "d"])]);
        let evs = read_split(cfg(false), b"a,b\nc,\"d\"\r", &[]);
        assert_eq!(evs, vec![rec(1, &["a", "b"]), rec(2, &["c", "d"])]);
        let evs = read_split(cfg(false), b"a,\n", &[]);
        assert_eq!(evs, vec![rec(1, &["a", ""])]);
        let evs = read_split(cfg(false), b"a\n\"x", &[]);
        assert_eq!(kinds(&evs), vec![(ErrorKind::TornRow, 2)]);
    }

    #[test]
    fn empty_input() {
        assert_eq!(read(""), vec![]);
    }

    #[test]
    fn bom_is_reported_and_skipped() {
        let input = b"\xef\xbb\xbfa,b\n";
        for cut in 0..input.len() {
            let evs = read_split(cfg(true), input, &[cut]);
            assert_eq!(evs, vec![Ev::Bom, rec(1, &["a", "b"])], "cut {cut}");
        }
        // A partial BOM is data (and here invalid UTF-8).
        let evs = read_split(cfg(true), b"\xef\xbbx\n", &[1]);
        assert_eq!(kinds(&evs), vec![(ErrorKind::Encoding, 1)]);
        let evs = read_split(cfg(false), b"\xef", &[]);
        assert_eq!(kinds(&evs), vec![(ErrorKind::Encoding, 1)]);
    }

    #[test]
    fn record_byte_limit_skips_the_record() {
        let c = ReaderConfig {
            max_record_bytes: 5,
            max_columns: 10,
            require_terminator: true,
        };
        let evs = read_split(c, b"ab,cd\nabc,def\n\"x\ny\",\"123456\"\nok\n", &[]);
        assert_eq!(evs[0], rec(1, &["ab", "cd"]));
        assert_eq!(
            evs[1],
            Ev::Err(
                ErrorKind::Limit,
                2,
                Some(1),
                "record is larger than 5 bytes".into()
            )
        );
        assert_eq!(
            evs[2].clone(),
            Ev::Err(
                ErrorKind::Limit,
                3,
                Some(1),
                "record is larger than 5 bytes".into()
            )
        );
        assert_eq!(evs[3], rec(5, &["ok"]));
    }

    #[test]
    fn column_limit_skips_the_record() {
        let c = ReaderConfig {
            max_record_bytes: 100,
            max_columns: 3,
            require_terminator: true,
        };
        let evs = read_split(c, b"a,b,c\na,b,c,d,e\nx\n", &[]);
        assert_eq!(evs[0], rec(1, &["a", "b", "c"]));
        assert_eq!(
            evs[1],
            Ev::Err(
                ErrorKind::Limit,
                2,
                Some(3),
                "record has more than 3 fields".into()
            )
        );
        assert_eq!(evs[2], rec(3, &["x"]));
    }

    #[test]
    fn tiny_column_limits() {
        for (max_columns, errors) in [(0, 2), (1, 1), (2, 0)] {
            let c = ReaderConfig {
                max_record_bytes: 100,
                max_columns,
                require_terminator: true,
            };
            let evs = read_split(c, b"abc\nx,y\n", &[]);
            assert_eq!(kinds(&evs).len(), errors, "max_columns {max_columns}");
        }
    }

    #[test]
    fn limit_memory_stays_bounded() {
        let c = ReaderConfig {
            max_record_bytes: 64,
            max_columns: 8,
            require_terminator: true,
        };
        let mut r = CsvReader::new(c);
        let big = vec![b'x'; 10_000];
        let commas = vec![b','; 10_000];
        let mut n = 0;
        let mut sink = |_: Event<'_>| n += 1;
        r.feed(&big, &mut sink);
        r.feed(&commas, &mut sink);
        assert!(r.buf.capacity() <= 64 && r.ends.capacity() <= 16);
        r.feed(b"\n", &mut sink);
        r.finish(&mut sink);
        assert_eq!(n, 1);
    }

    #[test]
    fn line_numbers_count_embedded_newlines() {
        let evs = read("h\n\"a\nb\nc\"\nd\n\ne\n");
        assert_eq!(
            evs,
            vec![
                rec(1, &["h"]),
                rec(2, &["a\nb\nc"]),
                rec(5, &["d"]),
                Ev::Blank(6),
                rec(7, &["e"])
            ]
        );
    }

    #[test]
    fn feed_after_finish_is_ignored() {
        let mut r = CsvReader::new(cfg(true));
        let mut n = 0;
        let mut sink = |_: Event<'_>| n += 1;
        r.feed(b"a\n", &mut sink);
        r.finish(&mut sink);
        r.feed(b"b\n", &mut sink);
        r.finish(&mut sink);
        assert_eq!(n, 1);
    }

    const TRICKY: &[&[u8]] = &[
        b"a,b\r\n1,2\r\n",
        b"\xef\xbb\xbfh1,h2\n\"x,\"\"y\"\"\",\"multi\r\nline\"\r\n,\n",
        b"a,b\n\n\r\n\"\"\n\"\xc3\xa9\xe4\xb8\xad\",\xf0\x9f\x98\x80\n",
        b"a\rb\nc\"d\n\"e\"f\n\"g\"\"\n",
        b"x,\xc3,\xa9\n\xff\nlast,without,newline",
        b"q\n\"unterminated,\n\n",
        b"\r\r\n\r",
        b"a,\"b\"\r\n\"c\"",
    ];

    pub fn random_csv(rng: &mut Rng) -> Vec<u8> {
        const PIECES: &[&[u8]] = &[
            b"a",
            b"bc",
            b",",
            b",",
            b"\"",
            b"\"\"",
            b"\n",
            b"\r\n",
            b"\r",
            b"\xc3\xa9",
            b"\xe4\xb8\xad",
            b"\xf0\x9f\x98\x80",
            b"\xff",
            b"|",
            b" ",
            b"xyzxyzxyz",
            b";",
            b"\t",
            b"'",
            b"''",
        ];
        let mut v = Vec::new();
        for _ in 0..rng.below(60) {
            v.extend_from_slice(PIECES[rng.below(PIECES.len() as u64) as usize]);
        }
        v
    }

    /// Every dialect, with and without terminators required, small and
    /// large limits: any chunking gives the events one whole feed gives.
    fn check_chunking(input: &[u8], rng: &mut Rng) {
        for (require, max_record_bytes, max_columns) in [
            (true, 24, 6),
            (false, 24, 6),
            (true, 1 << 20, 1000),
            (false, 1 << 20, 1000),
        ] {
            let c = ReaderConfig {
                max_record_bytes,
                max_columns,
                require_terminator: require,
            };
            for d in &crate::fuzz_oracle::DIALECTS {
                let whole = read_split_in(c, d, input, &[]);
                let bytewise: Vec<usize> = (1..input.len()).collect();
                assert_eq!(
                    read_split_in(c, d, input, &bytewise),
                    whole,
                    "bytewise {d:?} {input:?}"
                );
                for _ in 0..4 {
                    let mut cuts: Vec<usize> = (0..rng.below(6))
                        .map(|_| rng.below(input.len() as u64 + 1) as usize)
                        .collect();
                    cuts.sort_unstable();
                    assert_eq!(
                        read_split_in(c, d, input, &cuts),
                        whole,
                        "cuts {cuts:?} of {d:?} {input:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn chunking_invariance_tricky_inputs() {
        let mut rng = Rng(0x1234_5678);
        for input in TRICKY {
            check_chunking(input, &mut rng);
        }
    }

    #[test]
    fn fast_and_slow_paths_agree_under_random_limits() {
        // Whole input takes the zero-copy path where it can; byte by byte
        // never does.
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        for _ in 0..2000 {
            let input = random_csv(&mut rng);
            let c = ReaderConfig {
                max_record_bytes: rng.below(40),
                max_columns: rng.below(8) as u32,
                require_terminator: rng.below(2) == 0,
            };
            let bytewise: Vec<usize> = (1..input.len()).collect();
            let d = &crate::fuzz_oracle::DIALECTS[rng.below(4) as usize];
            assert_eq!(
                read_split_in(c, d, &input, &[]),
                read_split_in(c, d, &input, &bytewise),
                "{c:?} {d:?} {input:?}"
            );
        }
    }

    #[test]
    fn chunking_invariance_random_inputs() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for _ in 0..2000 {
            let input = random_csv(&mut rng);
            check_chunking(&input, &mut rng);
        }
    }
}
