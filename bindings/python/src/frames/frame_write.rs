//! A frame sealed: Arrow record batches from the C stream interface become
//! CSV records (each cell the text its row dict's value would give), on
//! this thread without the GIL, while the write job seals them on another,
//! chunk by chunk, as `rows.rs` does for row dicts.

use std::io;
use std::sync::mpsc::sync_channel;

use arrow_array::ffi_stream::RecordBatchStreamReader;
use arrow_array::{RecordBatch, RecordBatchReader};
use csvseal::deadline::ThreadedReader;
use csvseal::{Committed, Error, ErrorKind};
use pyo3::prelude::*;

use super::columns::{ColumnStyle, cell_text, check_type};
use super::{StyleArg, styles};
use crate::Job;
use crate::errors::to_py;
use crate::rows::{RowLines, csv_field, rejected_row};

/// Bytes of CSV handed to the writer at a time.
const CHUNK: usize = 1 << 20;

/// Seals every batch of `stream` as `job` says; `styles` are the columns'.
pub fn write_frame(
    py: Python<'_>,
    stream: RecordBatchStreamReader,
    style: &StyleArg,
    job: &Job<'_>,
) -> PyResult<Committed> {
    let schema = stream.schema();
    let mut header = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        if let Err(why) = check_type(field.data_type()) {
            return Err(to_py(Error::Usage(format!(
                "column {:?}: {why}",
                field.name()
            ))));
        }
        header.push(field.name().clone());
    }
    let styles: Vec<ColumnStyle> = styles(style, &header).map_err(to_py)?;
    let mut req = job.req.clone();
    req.header = Some(header.clone());
    let job = Job { req: &req, ..*job };
    let one_column = header.len() == 1;

    let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(2);
    let deadline = job.control.deadline;
    py.detach(|| {
        std::thread::scope(|s| {
            let writer = std::thread::Builder::new()
                .name("csvseal-write".into())
                .spawn_scoped(s, move || {
                    job.run(Box::new(ThreadedReader::from_channel(rx, deadline)))
                })
                .map_err(|e| Failure::Lib(Error::io(job.label, "start writer thread", e)))?;
            let mut lines = RowLines::default();
            let mut problem: Option<Failure> = None;
            let mut buf = Vec::with_capacity(CHUNK + (64 << 10));
            let mut cell = String::new();
            let mut line = 0u64;
            'batches: for batch in stream {
                let batch: RecordBatch = match batch {
                    Ok(b) => b,
                    Err(e) => {
                        problem = Some(Failure::Lib(Error::Usage(format!(
                            "{}: the frame's data could not be read: {e}",
                            job.label
                        ))));
                        break;
                    }
                };
                let columns = batch.columns();
                let texts: Vec<_> = columns
                    .iter()
                    .zip(&styles)
                    .map(|(a, st)| cell_text(a, st))
                    .collect();
                for i in 0..batch.num_rows() {
                    line += 1;
                    let start = buf.len();
                    for (c, text) in texts.iter().enumerate() {
                        if c > 0 {
                            buf.push(b',');
                        }
                        cell.clear();
                        if let Err(why) = text(i, &mut cell) {
                            problem = Some(Failure::Lib(rejected_row(
                                &job,
                                ErrorKind::Malformed,
                                line,
                                Some(header[c].clone()),
                                format!("column {:?}: {why}", header[c]),
                            )));
                            break 'batches;
                        }
                        csv_field(&cell, one_column, &mut buf);
                    }
                    buf.extend_from_slice(b"\r\n");
                    lines.record(line, &buf[start..]);
                    if buf.len() >= CHUNK {
                        if let Err(e) = Python::attach(|py| py.check_signals()) {
                            problem = Some(Failure::Py(e));
                            break 'batches;
                        }
                        let chunk =
                            std::mem::replace(&mut buf, Vec::with_capacity(CHUNK + (64 << 10)));
                        if tx.send(Ok(chunk)).is_err() {
                            break 'batches; // the writer stopped: its error says why
                        }
                    }
                }
            }
            // Ends the input (an empty chunk), or fails it so that the write
            // removes its temp.
            let _ = match problem {
                None if buf.is_empty() => tx.send(Ok(buf)),
                None => tx.send(Ok(buf)).and_then(|()| tx.send(Ok(Vec::new()))),
                Some(_) => tx.send(Err(io::Error::other("the frame could not be read"))),
            };
            drop(tx);
            let result = writer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            match problem {
                Some(e) => Err(e),
                None => result.map_err(|e| Failure::Lib(lines.by_row(e))),
            }
        })
    })
    .map_err(|f| match f {
        Failure::Lib(e) => to_py(e),
        Failure::Py(e) => e,
    })
}

/// Why a frame was not sealed: the library's error, or Python's (an
/// interrupt).
enum Failure {
    Lib(Error),
    Py(PyErr),
}
