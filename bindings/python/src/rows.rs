//! Rows from Python — dicts, or sequences with a header — sealed as JSON
//! Lines (one object per row, values as text), so that an error's `line` is
//! the row's 1-based position in the iterable.
//!
//! Values become text as the policy's `compute_row_checksum` makes them:
//! `str(value)`, except `None`, which is the empty field `csv.writer`
//! writes. This thread keeps the GIL and turns rows into text, a writer
//! thread seals without it: the two overlap, chunk by chunk.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::Instant;

use csvseal::{Committed, Error, ErrorKind, RowError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyString, PyTuple};

use crate::Job;
use crate::errors::to_py;

/// Bytes of JSON Lines handed to the writer at a time.
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
    let encoder = Encoder::new(header, job);

    let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(2);
    let deadline = job.control.deadline;
    std::thread::scope(|s| {
        let writer = std::thread::Builder::new()
            .name("csvseal-write".into())
            .spawn_scoped(s, move || {
                job.run(Box::new(ChannelReader::new(rx, deadline)))
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
        // Ends the input: whole, or failed so that the write removes its temp.
        let last = match problem {
            None => Ok(buf),
            Some(_) => Err(io::Error::other("the rows could not be read")),
        };
        let _ = py.detach(|| tx.send(last));
        drop(tx);
        let result = py
            .detach(|| writer.join())
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        match problem {
            Some(e) => Err(e),
            None => result.map_err(to_py),
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
    // Each row consumes a file_seq: the one this row would have had (not
    // known ahead when continuing a series).
    let seq = (!job.continue_series)
        .then(|| job.req.start_seq.checked_add(line - 1))
        .flatten();
    to_py(Error::InputRejected {
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
    })
}

/// Turns rows into JSON Lines.
struct Encoder<'a> {
    header: Vec<String>,
    /// `"name":` for each column, escaped once.
    keys: Vec<Vec<u8>>,
    job: Job<'a>,
}

impl<'a> Encoder<'a> {
    fn new(header: Vec<String>, job: Job<'a>) -> Self {
        let keys = header
            .iter()
            .map(|h| {
                let mut k = Vec::with_capacity(h.len() + 3);
                json_string(h, &mut k);
                k.push(b':');
                k
            })
            .collect();
        Encoder { header, keys, job }
    }

    /// Appends row number `line` as one JSON object line.
    fn row(&self, row: &Bound<'_, PyAny>, line: u64, out: &mut Vec<u8>) -> PyResult<()> {
        out.push(b'{');
        if let Ok(dict) = row.cast::<PyDict>() {
            for (i, (key, value)) in dict.iter().enumerate() {
                let Ok(k) = key.cast_exact::<PyString>() else {
                    return Err(rejected(&self.job, line, None, not_a_string_key(&key)?));
                };
                if i > 0 {
                    out.push(b',');
                }
                let name = self.text(k.as_any(), line, None)?;
                json_string(&name, out);
                out.push(b':');
                let text = self.text(&value, line, Some(&name))?;
                json_string(&text, out);
            }
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
        out.extend_from_slice(b"}\n");
        Ok(())
    }

    fn sequence<'py>(
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
        for (i, key) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            let text = self.text(&item(i)?, line, Some(&self.header[i]))?;
            json_string(&text, out);
        }
        Ok(())
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

/// `s` as a JSON string: only `"`, `\` and control characters escaped.
fn json_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// The writer's input: chunks from the row thread, until it ends or the
/// write's deadline passes (a slow generator cannot outlast `timeout=`).
struct ChannelReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    pos: usize,
    deadline: Option<Instant>,
}

impl ChannelReader {
    fn new(rx: Receiver<io::Result<Vec<u8>>>, deadline: Option<Instant>) -> Self {
        ChannelReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
            deadline,
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.chunk.len() {
            let msg = match self.deadline {
                None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(d) => self
                    .rx
                    .recv_timeout(d.saturating_duration_since(Instant::now())),
            };
            match msg {
                Ok(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                // The row thread sends its last chunk, then hangs up.
                Err(RecvTimeoutError::Disconnected) => return Ok(0),
                // The library treats TimedOut as its deadline passing.
                Err(RecvTimeoutError::Timeout) => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "deadline passed"));
                }
            }
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
