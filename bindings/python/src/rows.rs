//! Rows from Python — dicts, or sequences with a header — sealed as CSV
//! records without a header line (the header is passed as an option), and
//! errors reported by row: an error's `line` is the row's 1-based position
//! in the iterable, whatever newlines its values hold.
//!
//! Values become text as the policy's `compute_row_checksum` makes them:
//! `str(value)`, except `None`, which is the empty field `csv.writer`
//! writes. This thread keeps the GIL and turns rows into text, a writer
//! thread seals without it: the two overlap, chunk by chunk.

use std::io;
use std::sync::mpsc::sync_channel;

use csvseal::deadline::ThreadedReader;
use csvseal::{Committed, Error, ErrorKind, RowError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::Job;
use crate::errors::to_py;

/// Bytes of CSV handed to the writer at a time.
const CHUNK: usize = 1 << 20;

/// Seals the rows of `source` (any iterable) as `job` says.
pub fn write_rows(py: Python<'_>, source: &Bound<'_, PyAny>, job: &Job<'_>) -> PyResult<Committed> {
    let mut rows = source.try_iter()?;
    let first = rows.next().transpose()?;
    let header = match (&job.req.header, &first) {
        (Some(h), _) => h.clone(),
        (None, Some(row)) if row.cast::<PyDict>().is_ok() => dict_keys(row, job)?,
        (None, Some(_)) => {
            return Err(usage(
                "rows that are not dicts need header= (the column names)",
            ));
        }
        (None, None) => return Err(usage("no rows and no header= to write")),
    };
    let mut req = job.req.clone();
    req.header = Some(header.clone());
    let job = Job { req: &req, ..*job };
    let mut encoder = Encoder::new(py, header, job);

    let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(2);
    let deadline = job.control.deadline;
    std::thread::scope(|s| {
        let writer = std::thread::Builder::new()
            .name("csvseal-write".into())
            .spawn_scoped(s, move || {
                // A slow generator cannot outlast the write's deadline.
                job.run(Box::new(ThreadedReader::from_channel(rx, deadline)))
            })
            .map_err(|e| to_py(Error::io(job.label, "start writer thread", e)))?;
        let mut problem = None;
        let mut buf = Vec::with_capacity(CHUNK + (64 << 10));
        let mut next = first;
        let mut line = 0u64;
        while let Some(row) = next {
            line += 1;
            if let Err(e) = encoder.row(&row, line, &mut buf) {
                problem = Some(e);
                break;
            }
            if buf.len() >= CHUNK {
                if let Err(e) = py.check_signals() {
                    problem = Some(e);
                    break;
                }
                let chunk = std::mem::replace(&mut buf, Vec::with_capacity(CHUNK + (64 << 10)));
                if py.detach(|| tx.send(Ok(chunk))).is_err() {
                    break; // the writer stopped: its error says why
                }
            }
            next = match rows.next() {
                None => None,
                Some(Ok(row)) => Some(row),
                Some(Err(e)) => {
                    problem = Some(e);
                    break;
                }
            };
        }
        // Ends the input (an empty chunk), or fails it so that the write
        // removes its temp.
        let _ = py.detach(|| match problem {
            None if buf.is_empty() => tx.send(Ok(buf)),
            None => tx.send(Ok(buf)).and_then(|()| tx.send(Ok(Vec::new()))),
            Some(_) => tx.send(Err(io::Error::other("the rows could not be read"))),
        });
        drop(tx);
        let result = py
            .detach(|| writer.join())
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        match problem {
            Some(e) => Err(e),
            None => result.map_err(|e| to_py(encoder.lines.by_row(e))),
        }
    })
}

fn usage(message: &str) -> PyErr {
    to_py(Error::Usage(message.to_owned()))
}

/// The first dict's keys, in order: the columns.
fn dict_keys(row: &Bound<'_, PyAny>, job: &Job<'_>) -> PyResult<Vec<String>> {
    let dict = row.cast::<PyDict>()?;
    let mut keys = Vec::with_capacity(dict.len());
    for key in dict.keys() {
        match key.cast_exact::<PyString>() {
            Ok(k) => keys.push(k.to_str()?.to_owned()),
            Err(_) => return Err(rejected(job, 1, None, not_a_string_key(&key)?)),
        }
    }
    Ok(keys)
}

fn not_a_string_key(key: &Bound<'_, PyAny>) -> PyResult<String> {
    Ok(format!(
        "key {} is a {}, not a str",
        key.repr()?,
        key.get_type().name()?
    ))
}

/// The input rejected at one row, as the sealer would report it.
fn rejected(job: &Job<'_>, line: u64, column: Option<String>, message: String) -> PyErr {
    rejected_as(job, ErrorKind::Malformed, line, column, message)
}

fn rejected_as(
    job: &Job<'_>,
    kind: ErrorKind,
    line: u64,
    column: Option<String>,
    message: String,
) -> PyErr {
    to_py(rejected_row(job, kind, line, column, message))
}

/// The input rejected at row `line` (1-based), as the sealer reports it.
pub(crate) fn rejected_row(
    job: &Job<'_>,
    kind: ErrorKind,
    line: u64,
    column: Option<String>,
    message: String,
) -> Error {
    // Each row consumes a file_seq: the one this row would have had (not
    // known ahead when continuing a series).
    let seq = (!job.continue_series)
        .then(|| job.req.start_seq.checked_add(line - 1))
        .flatten();
    Error::InputRejected {
        input: job.label.to_owned(),
        errors: vec![RowError {
            kind,
            line,
            seq,
            column,
            message,
        }],
        count: 1,
        truncated: false,
    }
}

/// Turns rows into CSV records.
struct Encoder<'a, 'py> {
    header: Vec<String>,
    /// The column names as Python strings (their hashes cached for lookups).
    keys: Vec<Bound<'py, PyString>>,
    job: Job<'a>,
    lines: RowLines,
}

impl<'a, 'py> Encoder<'a, 'py> {
    fn new(py: Python<'py>, header: Vec<String>, job: Job<'a>) -> Self {
        let keys = header.iter().map(|h| PyString::new(py, h)).collect();
        Encoder {
            header,
            keys,
            job,
            lines: RowLines::default(),
        }
    }

    /// Appends row number `line` as one CSV record.
    fn row(&mut self, row: &Bound<'py, PyAny>, line: u64, out: &mut Vec<u8>) -> PyResult<()> {
        let start = out.len();
        if let Ok(dict) = row.cast::<PyDict>() {
            self.dict(dict, line, out)?;
        } else if let Ok(list) = row.cast::<PyList>() {
            self.sequence(list.len(), |i| list.get_item(i), line, out)?;
        } else if let Ok(tuple) = row.cast::<PyTuple>() {
            self.sequence(tuple.len(), |i| tuple.get_item(i), line, out)?;
        } else {
            let what = if row.is_instance_of::<PyString>()
                || row.is_instance_of::<PyBytes>()
                || row.is_instance_of::<PyByteArray>()
            {
                "a string, not a row: rows are dicts, lists or tuples".to_owned()
            } else {
                format!(
                    "a {}, not a row: rows are dicts, lists or tuples",
                    row.get_type().name()?
                )
            };
            return Err(rejected(
                &self.job,
                line,
                None,
                format!("row {line} is {what}"),
            ));
        }
        out.extend_from_slice(b"\r\n");
        self.lines.record(line, &out[start..]);
        Ok(())
    }

    /// A dict's values in header order; its keys must be the header's.
    fn dict(&self, dict: &Bound<'py, PyDict>, line: u64, out: &mut Vec<u8>) -> PyResult<()> {
        for (i, key) in self.keys.iter().enumerate() {
            let Some(value) = dict.get_item(key)? else {
                // A misspelt key shows as both: name the stranger first.
                self.unexpected_keys(dict, line)?;
                let message = format!("missing key {:?}", self.header[i]);
                return Err(rejected(
                    &self.job,
                    line,
                    Some(self.header[i].clone()),
                    message,
                ));
            };
            if i > 0 {
                out.push(b',');
            }
            let text = self.text(&value, line, Some(&self.header[i]))?;
            self.field(&text, out);
        }
        if dict.len() != self.keys.len() {
            self.unexpected_keys(dict, line)?;
        }
        Ok(())
    }

    /// An error for the first key of `dict` that is not a column, if any.
    fn unexpected_keys(&self, dict: &Bound<'py, PyDict>, line: u64) -> PyResult<()> {
        for key in dict.keys() {
            let Ok(k) = key.cast_exact::<PyString>() else {
                return Err(rejected(&self.job, line, None, not_a_string_key(&key)?));
            };
            let name = k.to_str().unwrap_or_default();
            if !self.header.iter().any(|h| h == name) {
                let message = format!("unexpected key {name:?}");
                return Err(rejected(&self.job, line, None, message));
            }
        }
        Ok(())
    }

    fn sequence(
        &self,
        len: usize,
        item: impl Fn(usize) -> PyResult<Bound<'py, PyAny>>,
        line: u64,
        out: &mut Vec<u8>,
    ) -> PyResult<()> {
        if len != self.header.len() {
            let message = format!("expected {} values, found {len}", self.header.len());
            return Err(rejected(&self.job, line, None, message));
        }
        for i in 0..len {
            if i > 0 {
                out.push(b',');
            }
            let text = self.text(&item(i)?, line, Some(&self.header[i]))?;
            self.field(&text, out);
        }
        Ok(())
    }

    /// One CSV field (see [`csv_field`]).
    fn field(&self, text: &str, out: &mut Vec<u8>) {
        csv_field(text, self.header.len() == 1, out);
    }

    /// A value's text: `str(value)`, `""` for None.
    fn text(&self, value: &Bound<'_, PyAny>, line: u64, column: Option<&str>) -> PyResult<String> {
        if value.is_none() {
            return Ok(String::new());
        }
        let s = match value.cast_exact::<PyString>() {
            Ok(s) => s.clone(),
            Err(_) => value.str()?,
        };
        match s.to_str() {
            Ok(t) => Ok(t.to_owned()),
            Err(_) => Err(rejected_as(
                &self.job,
                ErrorKind::Encoding,
                line,
                column.map(str::to_owned),
                "value is not valid Unicode (it holds a lone surrogate)".to_owned(),
            )),
        }
    }
}

/// One CSV field, quoted where the reader needs it: `,` `"` CR LF, a
/// leading byte order mark (else skipped as one), and the empty value of
/// a one-column row (else a blank line, which is skipped).
pub(crate) fn csv_field(text: &str, one_column: bool, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let quote = bytes
        .iter()
        .any(|&b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
        || text.starts_with('\u{feff}')
        || (bytes.is_empty() && one_column);
    if !quote {
        out.extend_from_slice(bytes);
        return;
    }
    out.push(b'"');
    for &b in bytes {
        if b == b'"' {
            out.push(b'"');
        }
        out.push(b);
    }
    out.push(b'"');
}

/// Which row a physical CSV line belongs to. Rows are one line each unless
/// a value holds a newline; only where the two part is recorded.
#[derive(Default)]
pub(crate) struct RowLines {
    /// (first physical line of a row, that row), after each row of several lines.
    shifts: Vec<(u64, u64)>,
    /// The physical line the next row starts on.
    next: u64,
}

impl RowLines {
    pub(crate) fn record(&mut self, row: u64, record: &[u8]) {
        let start = if row == 1 { 1 } else { self.next };
        let lines = record.iter().filter(|&&b| b == b'\n').count() as u64;
        self.next = start + lines;
        if lines > 1 {
            self.shifts.push((self.next, row + 1));
        }
    }

    /// The row that starts on physical line `line`.
    fn row_of(&self, line: u64) -> u64 {
        let i = self.shifts.partition_point(|&(start, _)| start <= line);
        match i.checked_sub(1).map(|i| self.shifts[i]) {
            Some((start, row)) => row + (line - start),
            None => line,
        }
    }

    /// `e` with its row errors located by row instead of line.
    pub(crate) fn by_row(&self, e: Error) -> Error {
        match e {
            Error::InputRejected {
                input,
                mut errors,
                count,
                truncated,
            } => {
                for err in &mut errors {
                    if err.line > 0 {
                        err.line = self.row_of(err.line);
                    }
                }
                Error::InputRejected {
                    input,
                    errors,
                    count,
                    truncated,
                }
            }
            e => e,
        }
    }
}
