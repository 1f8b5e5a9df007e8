//! Inputs read while the GIL is released: any `Read`, made interruptible
//! by Ctrl-C, and Python binary file objects. A Python exception that stops
//! a read (KeyboardInterrupt, the file object's own error) is kept in an
//! [`ErrorSlot`] and raised once the operation has stopped, instead of the
//! I/O error the library reports for the failed read.

use std::io::{self, Read};
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::to_py;

/// The Python exception that stopped an input, if one did.
pub type ErrorSlot = Arc<Mutex<Option<PyErr>>>;

pub fn new_slot() -> ErrorSlot {
    Arc::new(Mutex::new(None))
}

/// The operation's result; if it failed because a read raised a Python
/// exception, that exception.
pub fn finish<T>(slot: &ErrorSlot, result: csvseal::Result<T>) -> PyResult<T> {
    let kept = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
    match (result, kept) {
        (Ok(v), _) => Ok(v),
        (Err(_), Some(py_err)) => Err(py_err),
        (Err(e), None) => Err(to_py(e)),
    }
}

/// Keeps `e` in `slot`; the read fails with an error naming it.
pub fn keep(slot: &ErrorSlot, e: PyErr) -> io::Error {
    let message = Python::attach(|py| e.value(py).to_string());
    *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
    io::Error::other(format!("input stopped by a Python exception: {message}"))
}

/// Wraps a reader so that a pending signal (Ctrl-C) stops the operation:
/// Python runs signal handlers only when it runs, and a long verify or
/// write runs without the GIL.
pub struct Interruptible<R> {
    inner: R,
    error: ErrorSlot,
}

impl<R> Interruptible<R> {
    pub fn new(inner: R, error: &ErrorSlot) -> Self {
        Interruptible {
            inner,
            error: error.clone(),
        }
    }
}

impl<R: Read> Read for Interruptible<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Reads come up to 1 MiB at a time: one check each costs nothing.
        if let Err(e) = Python::attach(|py| py.check_signals()) {
            return Err(keep(&self.error, e));
        }
        self.inner.read(buf)
    }
}

/// A binary file object (anything with `read(n) -> bytes`), read without
/// the GIL: each read takes it for the call.
pub struct PyFileReader {
    file: Py<PyAny>,
    error: ErrorSlot,
    /// Bytes a `read(n)` returned beyond `n`.
    spill: Vec<u8>,
}

impl PyFileReader {
    pub fn new(file: Py<PyAny>, error: &ErrorSlot) -> Self {
        PyFileReader {
            file,
            error: error.clone(),
            spill: Vec::new(),
        }
    }
}

impl Read for PyFileReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.spill.is_empty() {
            let n = buf.len().min(self.spill.len());
            buf[..n].copy_from_slice(&self.spill[..n]);
            self.spill.drain(..n);
            return Ok(n);
        }
        let spill = &mut self.spill;
        let got = Python::attach(|py| -> PyResult<usize> {
            py.check_signals()?;
            let chunk = self.file.bind(py).call_method1("read", (buf.len(),))?;
            let Ok(bytes) = chunk.cast::<PyBytes>() else {
                let what = chunk.get_type().name()?;
                return Err(PyTypeError::new_err(format!(
                    "read() returned {what}, not bytes: open the file in binary mode ('rb')"
                )));
            };
            let data = bytes.as_bytes();
            let n = buf.len().min(data.len());
            buf[..n].copy_from_slice(&data[..n]);
            spill.extend_from_slice(&data[n..]);
            Ok(n)
        });
        got.map_err(|e| keep(&self.error, e))
    }
}

/// A reader that also sends a copy of every chunk read to another thread,
/// in the form [`csvseal::deadline::ThreadedReader::from_channel`] reads
/// (an empty chunk ends the input). The receiver may stop early: reading
/// goes on, no longer copied, so the reader's own consumer (a verifier,
/// whose report comes first) is never held up by it.
pub struct Tee<R> {
    inner: R,
    /// None once the receiver stopped or the input ended.
    to: Option<SyncSender<io::Result<Vec<u8>>>>,
}

impl<R> Tee<R> {
    pub fn new(inner: R, to: SyncSender<io::Result<Vec<u8>>>) -> Self {
        Tee {
            inner,
            to: Some(to),
        }
    }
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if let Some(to) = &self.to
            && to.send(Ok(buf[..n].to_vec())).is_err()
        {
            self.to = None;
        }
        if n == 0 {
            self.to = None;
        }
        Ok(n)
    }
}
