//! `read()` and `read_batches()`: a sealed file as Arrow record batches,
//! and never a row of a file that does not verify.
//!
//! `read` verifies and parses in one pass: each chunk read goes to the
//! component and to a parser thread, and the batches are handed over only
//! once the report says the file is valid. `read_batches` streams in
//! constant memory, so it cannot hold rows back until the end: it verifies
//! the file first, through one open descriptor, then parses it from that
//! descriptor, and fails if the file's identity (size, modification and
//! change times, inode) moved since it was taken before verifying: what it
//! yields is what was verified.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use arrow_array::{RecordBatch, RecordBatchIterator, RecordBatchReader};
use arrow_schema::{ArrowError, SchemaRef};
use csvseal::location::Location;
use csvseal::object::ObjectOptions;
use csvseal::{Error, ErrorKind, RowError, VerifyReport};

use crate::locations;

use super::frame_parse::{CellError, FrameParser};
use super::read_schema::{ReadOptions, plan};

/// What a read gives: the report, and the batches when it is valid.
pub struct ReadOutcome {
    pub report: VerifyReport,
    pub batches: Option<Box<dyn RecordBatchReader + Send>>,
}

/// Opens `path` as `verify` does (a directory is refused).
fn open(path: &Path) -> csvseal::Result<File> {
    csvseal::store::by_path::open_file(path, "open").map(cap_std::fs::File::into_std)
}

/// Verifies and parses the file at `location` (a path or an `s3://` URL)
/// in one pass (see the module documentation).
pub fn read_whole(
    sandbox: &csvseal::sandbox::Sandbox,
    schema: Option<&csvseal::Schema>,
    location: &Path,
    object: &ObjectOptions,
    opts: &ReadOptions,
    max_record: u64,
) -> csvseal::Result<ReadOutcome> {
    let (input, label) = locations::open_read(location, object)?;
    let path = label.as_path();
    let (tx, rx) = sync_channel::<Vec<u8>>(4);
    let schema_json = schema.map(|s| s.json.clone());
    let label = path.to_owned();
    let opts_for_parser = opts.clone();
    let parser = std::thread::Builder::new()
        .name("csvseal-read-parse".into())
        .spawn(move || {
            let mut batches = Vec::new();
            let mut source = BatchSource::new(
                ChannelReader::new(rx, max_record),
                schema_json.as_deref(),
                &opts_for_parser,
                &label,
            )?;
            let schema = source.schema();
            for b in source.by_ref() {
                batches.push(b.map_err(|e| arrow_to_lib(e, &label))?);
            }
            Ok::<_, Error>((schema, batches))
        })
        .map_err(|e| Error::io(path, "start parser thread", e))?;
    let mut tee = Tee {
        inner: input,
        to: Some(tx),
    };
    let report = csvseal::verify_reader(sandbox, schema, &mut tee, path);
    drop(tee);
    let parsed = parser
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    let report = report?;
    if !report.valid {
        return Ok(ReadOutcome {
            report,
            batches: None,
        });
    }
    let (schema, batches) = parsed?;
    Ok(ReadOutcome {
        report,
        batches: Some(Box::new(RecordBatchIterator::new(
            batches.into_iter().map(Ok),
            schema,
        ))),
    })
}

/// Verifies the file at `location`, then streams its batches (see the
/// module documentation). An object is read twice, the second time only
/// if it is still the version (ETag) the first read verified.
pub fn read_streaming(
    sandbox: &csvseal::sandbox::Sandbox,
    schema: Option<&csvseal::Schema>,
    location: &Path,
    object: &ObjectOptions,
    opts: &ReadOptions,
    max_record: u64,
) -> csvseal::Result<ReadOutcome> {
    let path = match locations::parse(location)? {
        Location::Local(path) => path,
        Location::Object(url) => {
            let label = url.to_path();
            let mut first = csvseal::object::open_object(&url, object)?;
            let etag = first.etag.clone().ok_or_else(|| {
                Error::io(
                    &label,
                    "open",
                    io::Error::other("the store gave no ETag, so a second read cannot be pinned to the verified version"),
                )
            })?;
            let report = csvseal::verify_reader(sandbox, schema, &mut first, &label)?;
            if !report.valid {
                return Ok(ReadOutcome {
                    report,
                    batches: None,
                });
            }
            let second = csvseal::object::open_object_version(&url, object, Some(&etag))?;
            let source = BatchSource::new(
                Bounded(second, max_record, 0),
                schema.map(|s| s.json.as_str()),
                opts,
                &label,
            )?;
            return Ok(ReadOutcome {
                report,
                batches: Some(Box::new(source)),
            });
        }
    };
    let path = path.as_path();
    let file = open(path)?;
    let is_file = file
        .metadata()
        .map_err(|e| Error::io(path, "stat", e))?
        .is_file();
    if !is_file {
        return Err(Error::Usage(format!(
            "{}: read_batches() reads a file twice (to verify it, then to parse it) and this \
             is not a regular file: use read(), which reads once",
            path.display()
        )));
    }
    let before = Identity::of(&file, path)?;
    let report = csvseal::verify_reader(sandbox, schema, &mut &file, path)?;
    if Identity::of(&file, path)? != before {
        return Err(changed(path));
    }
    if !report.valid {
        return Ok(ReadOutcome {
            report,
            batches: None,
        });
    }
    let reader = Unchanged {
        file,
        offset: 0,
        identity: before,
        label: path.to_owned(),
    };
    let source = BatchSource::new(
        Bounded(reader, max_record, 0),
        schema.map(|s| s.json.as_str()),
        opts,
        path,
    )?;
    Ok(ReadOutcome {
        report,
        batches: Some(Box::new(source)),
    })
}

fn changed(path: &Path) -> Error {
    Error::io(
        path,
        "read",
        io::Error::other("the file changed while it was being read (after verifying it)"),
    )
}

/// What identifies one version of a file.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
struct Identity {
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    ino: u64,
}

impl Identity {
    fn of(file: &File, path: &Path) -> csvseal::Result<Identity> {
        let m = file.metadata().map_err(|e| Error::io(path, "stat", e))?;
        Ok(Identity {
            size: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            ino: m.ino(),
        })
    }
}

/// Reads the verified descriptor from the start with positioned reads,
/// failing once its identity moves.
struct Unchanged {
    file: File,
    offset: u64,
    identity: Identity,
    label: PathBuf,
}

impl Read for Unchanged {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.offset)?;
        // Checked after the read: bytes changed before it moved the identity.
        match Identity::of(&self.file, &self.label) {
            Ok(id) if id == self.identity => {}
            _ => return Err(io::Error::other("the file changed after it was verified")),
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Copies every chunk the verifier reads to the parser (which may have
/// stopped: the verifier still reads on, its report comes first).
struct Tee<R> {
    inner: R,
    to: Option<SyncSender<Vec<u8>>>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0
            && let Some(to) = &self.to
            && to.send(buf[..n].to_vec()).is_err()
        {
            self.to = None;
        }
        Ok(n)
    }
}

/// Bytes bounded per record: a record longer than the sandbox allows
/// would be refused by the verifier; the parser stops there too rather
/// than buffer it.
trait RecordBounded: Read {
    /// A record ended: its bytes no longer count.
    fn record_end(&mut self);
}

/// The parser's end of a [`Tee`].
struct ChannelReader {
    rx: Receiver<Vec<u8>>,
    pending: Vec<u8>,
    at: usize,
    since_record: u64,
    max_record: u64,
}

impl ChannelReader {
    fn new(rx: Receiver<Vec<u8>>, max_record: u64) -> Self {
        ChannelReader {
            rx,
            pending: Vec::new(),
            at: 0,
            since_record: 0,
            max_record,
        }
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.pending.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.pending = chunk;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        bounded(&mut self.since_record, n, self.max_record)?;
        Ok(n)
    }
}

impl RecordBounded for ChannelReader {
    fn record_end(&mut self) {
        self.since_record = 0;
    }
}

/// A reader with the per-record bound: (reader, bound, bytes since the
/// last record's end).
struct Bounded<R>(R, u64, u64);

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        bounded(&mut self.2, n, self.1)?;
        Ok(n)
    }
}

impl<R: Read> RecordBounded for Bounded<R> {
    fn record_end(&mut self) {
        self.2 = 0;
    }
}

fn bounded(since: &mut u64, n: usize, max: u64) -> io::Result<()> {
    *since += n as u64;
    // One read past a record's end may count toward it: allow a chunk more.
    if *since > max.saturating_add(1 << 20) {
        return Err(io::Error::other(format!(
            "a record is longer than the record limit ({max} bytes)"
        )));
    }
    Ok(())
}

/// Record batches parsed from a sealed file's bytes.
struct BatchSource<R: RecordBounded> {
    csv: csv::Reader<R>,
    parser: FrameParser,
    schema: SchemaRef,
    /// The first batch, parsed ahead to fix the schema.
    ahead: Option<RecordBatch>,
    record: csv::ByteRecord,
    label: PathBuf,
    done: bool,
    /// The physical line the current record starts on, and the next one.
    line: u64,
    next_line: u64,
}

impl<R: RecordBounded> BatchSource<R> {
    fn new(
        input: R,
        schema: Option<&str>,
        opts: &ReadOptions,
        label: &Path,
    ) -> csvseal::Result<Self> {
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        let mut record = csv::ByteRecord::new();
        let header: Vec<String> = match csv.read_byte_record(&mut record) {
            Ok(true) => record
                .iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect(),
            Ok(false) => Vec::new(),
            Err(e) => return Err(csv_error(e, label)),
        };
        csv.get_mut().record_end();
        let plans = plan(&header, schema, opts)
            .map_err(|m| Error::Usage(format!("{}: {m}", label.display())))?;
        let mut source = BatchSource {
            csv,
            parser: FrameParser::new(plans, opts.batch_rows),
            schema: std::sync::Arc::new(arrow_schema::Schema::empty()),
            ahead: None,
            record,
            label: label.to_owned(),
            done: false,
            line: 1,
            next_line: 2,
        };
        source.ahead = source.next_batch()?;
        source.schema = source.parser.schema();
        Ok(source)
    }

    fn next_batch(&mut self) -> csvseal::Result<Option<RecordBatch>> {
        if self.done {
            return Ok(None);
        }
        loop {
            let more = self
                .csv
                .read_byte_record(&mut self.record)
                .map_err(|e| csv_error(e, &self.label))?;
            self.csv.get_mut().record_end();
            if !more {
                self.done = true;
                return self.parser.finish().map_err(|e| self.cell_error(e));
            }
            // A record spans one line more for each newline in its values.
            self.line = self.next_line;
            let inner = self
                .record
                .as_slice()
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.next_line += 1 + inner as u64;
            if let Some(batch) = self
                .parser
                .push(&self.record)
                .map_err(|e| self.cell_error(e))?
            {
                return Ok(Some(batch));
            }
        }
    }

    fn cell_error(&self, (column, message): CellError) -> Error {
        let line = self.line;
        Error::InputRejected {
            input: self.label.display().to_string(),
            errors: vec![RowError {
                kind: ErrorKind::Malformed,
                line,
                seq: None,
                column: (!column.is_empty()).then_some(column),
                message: format!("read(): {message}"),
            }],
            count: 1,
            truncated: false,
        }
    }
}

fn csv_error(e: csv::Error, label: &Path) -> Error {
    let line = e.position().map_or(0, |p| p.line());
    let message = match e.into_kind() {
        csv::ErrorKind::Io(io) => return Error::io(label, "read", io),
        other => format!("{other:?}"),
    };
    Error::InputRejected {
        input: label.display().to_string(),
        errors: vec![RowError {
            kind: ErrorKind::Malformed,
            line,
            seq: None,
            column: None,
            message,
        }],
        count: 1,
        truncated: false,
    }
}

fn arrow_to_lib(e: ArrowError, label: &Path) -> Error {
    match e {
        ArrowError::ExternalError(inner) => match inner.downcast::<Error>() {
            Ok(lib) => *lib,
            Err(other) => Error::Usage(format!("{}: {other}", label.display())),
        },
        other => Error::Usage(format!("{}: {other}", label.display())),
    }
}

impl<R: RecordBounded> Iterator for BatchSource<R> {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(b) = self.ahead.take() {
            return Some(Ok(b));
        }
        match self.next_batch() {
            Ok(b) => b.map(Ok),
            Err(e) => {
                self.done = true;
                Some(Err(ArrowError::ExternalError(Box::new(e))))
            }
        }
    }
}

impl<R: RecordBounded> RecordBatchReader for BatchSource<R> {
    fn schema(&self) -> SchemaRef {
        std::sync::Arc::clone(&self.schema)
    }
}
