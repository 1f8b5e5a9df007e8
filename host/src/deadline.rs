//! Deadlines for writes: readers that stop at a point in time.
//!
//! [`DeadlineReader`] checks the clock before each read, which bounds a
//! write whose input keeps flowing. A read that *blocks* (a stalled pipe)
//! cannot be interrupted that way; [`ThreadedReader`] moves the blocking
//! reads to a thread so the caller can stop waiting at the deadline.

use std::io::{self, Read};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Instant;

/// The error a reader returns once its deadline has passed.
pub(crate) fn deadline_passed() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "deadline passed")
}

/// Whether `e` is the error of a reader that hit its deadline.
pub(crate) fn is_deadline(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::TimedOut
}

/// Fails every read with `TimedOut` once `deadline` has passed.
pub struct DeadlineReader<R> {
    inner: R,
    deadline: Option<Instant>,
}

impl<R: Read> DeadlineReader<R> {
    /// Wraps `inner`; `None` never times out.
    pub fn new(inner: R, deadline: Option<Instant>) -> Self {
        DeadlineReader { inner, deadline }
    }
}

impl<R: Read> Read for DeadlineReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(deadline_passed());
        }
        self.inner.read(buf)
    }
}

/// Reads `inner` on a background thread, so that a read blocked on a
/// stalled source still returns (`TimedOut`) at the deadline. The thread
/// ends when the source ends, fails, or this reader is dropped and the
/// source next yields; a source blocked forever keeps its thread until the
/// process exits (the CLI exits right after a timeout).
pub struct ThreadedReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    pending: Vec<u8>,
    pos: usize,
    done: bool,
    deadline: Option<Instant>,
}

/// Bytes per message from the reader thread.
const CHUNK: usize = 256 << 10;

impl ThreadedReader {
    /// Starts reading `inner` on a new thread.
    pub fn spawn(mut inner: Box<dyn Read + Send>, deadline: Option<Instant>) -> io::Result<Self> {
        // Two chunks in flight: enough to overlap reading and sealing.
        let (tx, rx): (SyncSender<io::Result<Vec<u8>>>, _) = sync_channel(2);
        std::thread::Builder::new()
            .name("csvseal-input".into())
            .spawn(move || {
                loop {
                    let mut buf = vec![0u8; CHUNK];
                    match inner.read(&mut buf) {
                        Ok(0) => {
                            let _ = tx.send(Ok(Vec::new()));
                            return;
                        }
                        Ok(n) => {
                            buf.truncate(n);
                            if tx.send(Ok(buf)).is_err() {
                                return;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
            })?;
        Ok(Self::from_channel(rx, deadline))
    }

    /// Reads the chunks another thread sends on `rx`, as [`spawn`]'s thread
    /// sends them: an empty chunk ends the input, an error fails it, and the
    /// sender hanging up before either is an error too.
    ///
    /// [`spawn`]: ThreadedReader::spawn
    pub fn from_channel(rx: Receiver<io::Result<Vec<u8>>>, deadline: Option<Instant>) -> Self {
        ThreadedReader {
            rx,
            pending: Vec::new(),
            pos: 0,
            done: false,
            deadline,
        }
    }
}

impl Read for ThreadedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.pending.len() {
            if self.done {
                return Ok(0);
            }
            let msg = match self.deadline {
                None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                Some(d) => self
                    .rx
                    .recv_timeout(d.saturating_duration_since(Instant::now())),
            };
            match msg {
                Ok(Ok(chunk)) if chunk.is_empty() => {
                    self.done = true;
                    return Ok(0);
                }
                Ok(Ok(chunk)) => {
                    self.pending = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.done = true;
                    return Err(e);
                }
                Err(RecvTimeoutError::Timeout) => return Err(deadline_passed()),
                Err(RecvTimeoutError::Disconnected) => {
                    self.done = true;
                    return Err(io::Error::other("input reader thread ended unexpectedly"));
                }
            }
        }
        let n = buf.len().min(self.pending.len() - self.pos);
        buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn threaded_reader_passes_bytes_through() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
        let mut r = ThreadedReader::spawn(Box::new(io::Cursor::new(data.clone())), None).unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn threaded_reader_stops_waiting_at_the_deadline() {
        /// A source that blocks (like a stalled pipe) until dropped.
        struct Stalled(std::sync::mpsc::Receiver<()>);
        impl Read for Stalled {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                let _ = self.0.recv();
                Ok(0)
            }
        }
        let (keep, rx) = std::sync::mpsc::channel::<()>();
        let deadline = Instant::now() + Duration::from_millis(50);
        let mut r = ThreadedReader::spawn(Box::new(Stalled(rx)), Some(deadline)).unwrap();
        let err = r.read(&mut [0u8; 16]).unwrap_err();
        assert!(is_deadline(&err));
        assert!(Instant::now() >= deadline);
        drop(keep);
    }

    #[test]
    fn deadline_reader_fails_after_the_deadline() {
        let past = Instant::now() - Duration::from_millis(1);
        let mut r = DeadlineReader::new(io::Cursor::new(vec![1u8; 10]), Some(past));
        assert!(is_deadline(&r.read(&mut [0u8; 4]).unwrap_err()));
        let mut r = DeadlineReader::new(io::Cursor::new(vec![1u8; 10]), None);
        assert_eq!(r.read(&mut [0u8; 4]).unwrap(), 4);
    }
}
