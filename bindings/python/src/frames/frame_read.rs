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
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;

use arrow_array::{RecordBatch, RecordBatchIterator, RecordBatchReader};
use arrow_schema::{ArrowError, SchemaRef};
use csvseal::deadline::ThreadedReader;
use csvseal::jobs::audit::{Identity, identity_of};
use csvseal::location::Location;
use csvseal::object::ObjectOptions;
use csvseal::{Error, ErrorKind, RowError, VerifyReport};

use crate::locations;
use crate::readers::Tee;

use super::frame_parse::{CellError, FrameParser};
use super::read_schema::{ReadOptions, plan};

/// Bytes the parser reads at a time.
const READ_BYTES: usize = csvseal::verify::CHUNK_SIZE;

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
    let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(4);
    let schema_json = schema.map(|s| s.json.clone());
    let label = path.to_owned();
    let opts_for_parser = opts.clone();
    let parser = std::thread::Builder::new()
        .name("csvseal-read-parse".into())
        .spawn(move || {
            let mut batches = Vec::new();
            let mut source = BatchSource::new(
                ThreadedReader::from_channel(rx, None),
                max_record,
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
    let mut tee = Tee::new(input, tx);
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
                second,
                max_record,
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
    let before = identity(&file, path)?;
    let report = csvseal::verify_reader(sandbox, schema, &mut &file, path)?;
    if identity(&file, path)? != before {
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
        reader,
        max_record,
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

/// What identifies this version of the file (as `audit` records it).
fn identity(file: &File, path: &Path) -> csvseal::Result<Identity> {
    let meta = file.metadata().map_err(|e| Error::io(path, "stat", e))?;
    Ok(identity_of(&meta))
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
        match identity(&self.file, &self.label) {
            Ok(id) if id == self.identity => {}
            _ => return Err(io::Error::other("the file changed after it was verified")),
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// A reader that counts the bytes of the record being parsed: a record
/// longer than the sandbox allows would be refused by the verifier; the
/// parser stops there too rather than buffer it.
struct Bounded<R> {
    inner: R,
    max_record: u64,
    /// Bytes read since the last record's end.
    since_record: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.since_record += n as u64;
        // One read past a record's end counts toward it: allow a read more.
        if self.since_record > self.max_record.saturating_add(READ_BYTES as u64) {
            return Err(io::Error::other(format!(
                "a record is longer than the record limit ({} bytes)",
                self.max_record
            )));
        }
        Ok(n)
    }
}

/// Record batches parsed from a sealed file's bytes.
struct BatchSource<R: Read> {
    csv: csv::Reader<Bounded<R>>,
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

impl<R: Read> BatchSource<R> {
    fn new(
        input: R,
        max_record: u64,
        schema: Option<&str>,
        opts: &ReadOptions,
        label: &Path,
    ) -> csvseal::Result<Self> {
        let input = Bounded {
            inner: input,
            max_record,
            since_record: 0,
        };
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            // Reads of a chunk, not of 8 KiB: each read of a verified file
            // also checks its identity.
            .buffer_capacity(READ_BYTES)
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
        csv.get_mut().since_record = 0;
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
            self.csv.get_mut().since_record = 0;
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

impl<R: Read> Iterator for BatchSource<R> {
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

impl<R: Read + Send> RecordBatchReader for BatchSource<R> {
    fn schema(&self) -> SchemaRef {
        std::sync::Arc::clone(&self.schema)
    }
}
