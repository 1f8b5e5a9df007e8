//! `csvseal._native`: the CPython extension under the `csvseal` Python
//! package. It calls the host library (`csvseal::…`) — the same sandboxed
//! component, limits, locks and atomic commit as the CLI — and releases the
//! GIL while it verifies or writes. The typed Python API (reports, enums,
//! exceptions) is built on top of it in `python/csvseal/`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use csvseal::backup::BackupPolicy;
use csvseal::deadline::ThreadedReader;
use csvseal::store::file_ops::RealFs;
use csvseal::store::naming;
use csvseal::{Committed, InputFormat, Schema, WriteControl, WriteRequest};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

mod errors;
mod fanout;
mod frames;
mod locations;
mod readers;
mod rows;
mod sandboxes;
mod signatures;

use csvseal::location::Location;
use csvseal::object::ObjectOptions;
use errors::{NativeError, to_py};
use locations::ObjectArg;
use readers::{Interruptible, PyFileReader, finish, new_slot};
use sandboxes::LimitsKey;
use signatures::KeysArg;

/// A schema as the Python layer passes it: (label for messages, JSON text).
pub(crate) type SchemaArg = Option<(String, String)>;

pub(crate) fn schema(arg: SchemaArg) -> Option<Schema> {
    arg.map(|(label, json)| Schema {
        path: PathBuf::from(label),
        json,
    })
}

/// Verifies the file at `path`; returns the report as canonical JSON. A
/// large regular file is verified in parts on every core, as `csvseal
/// verify` does (the report is the same; a pipe is read once, in order).
/// With `keys`, its signature (`PATH.minisig`, read by the library: bounded,
/// never through a symlink) is checked too, as `csvseal verify --key`.
/// An `s3://bucket/key` location is verified through the host's object
/// code, as `csvseal verify s3://…` (its signature `KEY.minisig` with keys).
#[pyfunction]
#[pyo3(signature = (path, schema_arg, limits, keys=None, object=None))]
fn verify_path(
    py: Python<'_>,
    path: PathBuf,
    schema_arg: SchemaArg,
    limits: LimitsKey,
    keys: KeysArg,
    object: ObjectArg,
) -> PyResult<String> {
    let result = py.detach(|| {
        let sandbox = sandboxes::get(limits)?;
        let schema = schema(schema_arg);
        let keys = signatures::trusted_keys(&sandbox, keys)?;
        if let Location::Object(url) = locations::parse(&path)? {
            let options = locations::object_options(object)?;
            let verify =
                || csvseal::object::verify_object(&sandbox, None, schema.as_ref(), &url, &options);
            return match &keys {
                Some(keys) => {
                    csvseal::object::verify_object_signed(&sandbox, keys, &url, &options, verify)
                }
                None => verify(),
            }
            .map(|r| r.to_canonical_json());
        }
        let options = csvseal::VerifyFileOptions::default();
        let verify = || csvseal::verify_file_with(&sandbox, schema.as_ref(), &path, &options);
        match &keys {
            Some(keys) => csvseal::verify::verify_signed(&sandbox, keys, &path, verify),
            None => verify(),
        }
        .map(|r| r.to_canonical_json())
    });
    result.map_err(to_py)
}

/// A signature to check for input that is not a path: (keys, the
/// `.minisig` text or None when missing, the signed file's name).
type SignatureArg = (KeysArg, Option<String>, Option<String>);

/// Verifies the bytes of `data` (not copied: `bytes` are immutable).
#[pyfunction]
#[pyo3(signature = (data, label, schema_arg, limits, signature=(None, None, None)))]
fn verify_bytes(
    py: Python<'_>,
    data: &Bound<'_, PyBytes>,
    label: PathBuf,
    schema_arg: SchemaArg,
    limits: LimitsKey,
    signature: SignatureArg,
) -> PyResult<String> {
    let bytes: &[u8] = data.as_bytes();
    let slot = new_slot();
    let mut input = Interruptible::new(bytes, &slot);
    let result = py.detach(|| verify_input(&mut input, &label, schema_arg, limits, signature));
    finish(&slot, result)
}

/// Verifies what a binary file object's `read()` yields, chunk by chunk.
#[pyfunction]
#[pyo3(signature = (file, label, schema_arg, limits, signature=(None, None, None)))]
fn verify_file_object(
    py: Python<'_>,
    file: Py<PyAny>,
    label: PathBuf,
    schema_arg: SchemaArg,
    limits: LimitsKey,
    signature: SignatureArg,
) -> PyResult<String> {
    let slot = new_slot();
    let mut input = PyFileReader::new(file, &slot);
    let result = py.detach(|| verify_input(&mut input, &label, schema_arg, limits, signature));
    finish(&slot, result)
}

/// The canonical report of `input`, verified in the sandbox for `limits`
/// (run without the GIL); with keys, its signature checked too.
fn verify_input(
    input: &mut dyn std::io::Read,
    label: &std::path::Path,
    schema_arg: SchemaArg,
    limits: LimitsKey,
    (keys, text, file_name): SignatureArg,
) -> csvseal::Result<String> {
    let sandbox = sandboxes::get(limits)?;
    let schema = schema(schema_arg);
    match signatures::trusted_keys(&sandbox, keys)? {
        Some(keys) => signatures::verify_reader_signed(
            &sandbox,
            schema.as_ref(),
            input,
            label,
            signatures::GivenSignature {
                keys,
                text,
                file_name,
            },
        ),
        None if text.is_some() => Err(csvseal::Error::Usage(
            "signature= needs public_key= (the key or keyring to check it with)".into(),
        )),
        None => csvseal::verify_reader(&sandbox, schema.as_ref(), input, label),
    }
    .map(|r| r.to_canonical_json())
}

/// Verifies the series `dir/{base}_YYYYMMDD_HHMMSS.csv`: every file, the
/// seams between them and, with `keys`, every signature and the chain of
/// signed links, as `csvseal verify --series [--key]`. Returns the report
/// as JSON: the CLI's `--json` document.
#[pyfunction]
#[pyo3(signature = (dir, base, schema_arg, limits, keys=None, object=None))]
fn verify_series(
    py: Python<'_>,
    dir: PathBuf,
    base: String,
    schema_arg: SchemaArg,
    limits: LimitsKey,
    keys: KeysArg,
    object: ObjectArg,
) -> PyResult<String> {
    let result = py.detach(|| {
        let sandbox = sandboxes::get(limits)?;
        let schema = schema(schema_arg);
        let keys = signatures::trusted_keys(&sandbox, keys)?;
        let report = match locations::parse(&dir)? {
            Location::Object(url) => csvseal::object::verify_series_at(
                &sandbox,
                schema.as_ref(),
                keys.as_ref(),
                &url,
                &base,
                &locations::object_options(object)?,
            )?,
            Location::Local(_) => csvseal::jobs::series::verify_series(
                &sandbox,
                schema.as_ref(),
                keys.as_ref(),
                &dir,
                &base,
            )?,
        };
        Ok::<_, csvseal::Error>(report.json_document().to_string())
    });
    result.map_err(to_py)
}

/// The policy's checksum of one row, computed in the sandbox.
#[pyfunction]
fn row_checksum(
    py: Python<'_>,
    header: Vec<String>,
    fields: Vec<String>,
    limits: LimitsKey,
) -> PyResult<String> {
    py.detach(|| sandboxes::get(limits)?.row_checksum(&header, &fields))
        .map_err(to_py)
}

/// What `write` returns: (path, rows, first_seq, last_seq, bytes).
/// (path, rows, first_seq, last_seq, bytes, the verifier's warnings).
/// The path is a `pathlib.Path`, or for an object its `s3://` URL as a
/// `str` (a `Path` would fold its `//`).
type WriteSummary = (Py<PyAny>, u64, Option<u64>, Option<u64>, u64, Vec<String>);

/// Where a write commits: the policy's name, or a name of the caller's.
#[derive(FromPyObject)]
enum Target {
    /// `{base}_YYYYMMDD_HHMMSS.csv`, the time as RFC 3339 (None: now).
    #[pyo3(transparent)]
    Policy((String, Option<String>)),
    /// An explicit file name in the directory.
    #[pyo3(transparent)]
    Named(PathBuf),
}

/// The CSV input's dialect from `(delimiter, quote, has_header)` as the
/// CLI's `--delimiter`, `--quote`, `--no-header`: the one-column-header
/// guard is on unless the delimiter was chosen; without a header line
/// flag, columns given (`header`) mean the input has none.
fn input_dialect(
    (delimiter, quote, has_header): (Option<u8>, Option<u8>, Option<bool>),
    columns_given: bool,
) -> csvseal::Dialect {
    let mut d = match delimiter {
        Some(b) => csvseal::Dialect::delimited_by(b),
        None => csvseal::Dialect::default(),
    };
    if let Some(q) = quote {
        d.quote = q;
    }
    d.has_header = has_header.unwrap_or(!columns_given);
    d
}

/// Seals `source` into a new file, atomically. `source_kind` is "path",
/// "bytes", "file" (a binary file object), "rows" (an iterable of dicts
/// or sequences) or "arrow" (a frame: an object with `__arrow_c_stream__`
/// and its columns' styles, see `frames`). Returns (path, rows, first_seq, last_seq, bytes).
#[pyfunction]
#[pyo3(signature = (
    dir, target, source_kind, source, label, *, format, header, dialect, encoding, schema_arg,
    start_seq, replace, backup_dir, keep, wait_secs, timeout_secs, continue_series, limits,
    sign_key=None, object=None,
))]
#[allow(clippy::too_many_arguments)]
fn write(
    py: Python<'_>,
    dir: PathBuf,
    target: Target,
    source_kind: &str,
    source: &Bound<'_, PyAny>,
    label: String,
    format: &str,
    header: Option<Vec<String>>,
    dialect: (Option<u8>, Option<u8>, Option<bool>),
    encoding: &str,
    schema_arg: SchemaArg,
    start_seq: u64,
    replace: bool,
    backup_dir: Option<PathBuf>,
    keep: Option<usize>,
    wait_secs: Option<f64>,
    timeout_secs: Option<f64>,
    continue_series: bool,
    limits: LimitsKey,
    sign_key: Option<PathBuf>,
    object: ObjectArg,
) -> PyResult<WriteSummary> {
    let object = locations::object_options(object).map_err(to_py)?;
    // The key is read here, in the host, and never leaves it: no component
    // and no Python object ever holds it (load errors never quote it).
    let sign = sign_key
        .map(|path| py.detach(|| csvseal::signing::SecretKey::load(&path)))
        .transpose()
        .map_err(to_py)?
        .map(csvseal::signing::Signer::new);
    let (base_name, timestamp, file_name) = match target {
        Target::Policy((base, stamp)) => {
            let at = match stamp {
                Some(s) => naming::parse_timestamp(&s).map_err(to_py)?,
                None => csvseal::time::OffsetDateTime::now_utc(),
            };
            (base, at, None)
        }
        Target::Named(name) => {
            let name = name.to_str().map(str::to_owned).ok_or_else(|| {
                to_py(csvseal::Error::Usage(format!(
                    "file name {}: not valid UTF-8",
                    name.display()
                )))
            })?;
            (
                String::new(),
                csvseal::time::OffsetDateTime::now_utc(),
                Some(name),
            )
        }
    };
    let req = WriteRequest {
        dir,
        base_name,
        timestamp,
        // Rows are sealed as CSV without a header line (see rows.rs).
        format: match if matches!(source_kind, "rows" | "arrow") {
            "csv"
        } else {
            format
        } {
            "csv" => InputFormat::Csv,
            "jsonl" => InputFormat::Jsonl,
            other => {
                return Err(NativeError::new_err(usage(format!(
                    "unknown format {other:?}"
                ))));
            }
        },
        dialect: input_dialect(dialect, header.is_some()),
        encoding: csvseal::InputEncoding::parse(encoding)
            .map_err(|e| NativeError::new_err(usage(e)))?,
        header,
        schema: schema(schema_arg),
        start_seq,
    };
    let control = WriteControl {
        wait: wait_secs.map(seconds).transpose()?,
        replace: replace.then_some(BackupPolicy {
            dir: backup_dir,
            keep,
        }),
        deadline: timeout_secs
            .map(seconds)
            .transpose()?
            .and_then(|t| Instant::now().checked_add(t)),
        sign,
    };
    let job = Job {
        req: &req,
        control: &control,
        file_name: file_name.as_deref(),
        continue_series,
        limits,
        label: &label,
        object: &object,
    };
    let slot = new_slot();
    let committed = match source_kind {
        "path" => {
            let path = source.extract::<PathBuf>()?;
            let result = py.detach(|| {
                let file = std::fs::File::open(&path)
                    .map_err(|e| csvseal::Error::io(&path, "open input", e))?;
                job.run(job.blocking(Interruptible::new(file, &slot))?)
            });
            finish(&slot, result)?
        }
        "bytes" => {
            let data = source.cast::<PyBytes>()?.as_bytes();
            let result = py.detach(|| job.run(Box::new(Interruptible::new(data, &slot))));
            finish(&slot, result)?
        }
        "file" => {
            let reader = PyFileReader::new(source.clone().unbind(), &slot);
            let result = py.detach(|| job.run(job.blocking(reader)?));
            finish(&slot, result)?
        }
        "rows" => rows::write_rows(py, source, &job)?,
        "arrow" => {
            // (an object with __arrow_c_stream__, the columns' styles)
            let (frame, style): (Bound<'_, PyAny>, frames::StyleArg) = source.extract()?;
            let stream = frames::import_stream(&frame, &label)?;
            frames::write_frame(py, stream, &style, &job)?
        }
        other => {
            return Err(NativeError::new_err(usage(format!(
                "unknown source {other:?}"
            ))));
        }
    };
    let s = &committed.summary;
    let path = match committed.path.to_str() {
        Some(url) if url.starts_with("s3://") => url.into_pyobject(py)?.into_any().unbind(),
        _ => committed
            .path
            .clone()
            .into_pyobject(py)?
            .into_any()
            .unbind(),
    };
    Ok((
        path,
        s.rows,
        s.first_seq,
        s.last_seq,
        s.bytes,
        committed.verified.warnings,
    ))
}

/// Seconds from Python as a duration: at most 100 years, as the CLI takes
/// (the Python layer refuses more first; this keeps a direct caller of the
/// native module from a panic on overflow).
fn seconds(secs: f64) -> PyResult<Duration> {
    const MAX_SECS: f64 = 100.0 * 365.0 * 86_400.0;
    if !(0.0..=MAX_SECS).contains(&secs) {
        return Err(NativeError::new_err(usage(format!(
            "{secs} seconds: must be between 0 and 100 years"
        ))));
    }
    Duration::try_from_secs_f64(secs)
        .map_err(|e| NativeError::new_err(usage(format!("{secs} seconds: {e}"))))
}

fn usage(message: String) -> (&'static str, String, String) {
    ("usage", message, "{}".to_owned())
}

/// One write, ready to run on any input.
#[derive(Clone, Copy)]
pub(crate) struct Job<'a> {
    pub req: &'a WriteRequest,
    pub control: &'a WriteControl,
    pub file_name: Option<&'a str>,
    pub continue_series: bool,
    pub limits: LimitsKey,
    pub label: &'a str,
    /// How to reach object storage when `req.dir` is an `s3://` location.
    pub object: &'a ObjectOptions,
}

impl<'a> Job<'a> {
    /// An input that may block (a pipe, a socket): with a timeout it is read
    /// on its own thread, so that a stalled source cannot outlast the
    /// deadline (as the CLI does).
    pub(crate) fn blocking(
        &self,
        input: impl std::io::Read + Send + 'static,
    ) -> csvseal::Result<Box<dyn std::io::Read + Send + 'a>> {
        match self.control.deadline {
            None => Ok(Box::new(input)),
            Some(deadline) => ThreadedReader::spawn(Box::new(input), Some(deadline))
                .map(|r| Box::new(r) as Box<dyn std::io::Read + Send>)
                .map_err(|e| csvseal::Error::io(self.label, "start input reader", e)),
        }
    }

    /// Runs the write (call it without the GIL), dispatching on the
    /// location `req.dir` parses to: a local directory (the local sealed
    /// write, `continue_series`, a named file) or an `s3://` prefix (the
    /// host's object write, as `csvseal write --to s3://…`). Every source
    /// kind that ends here gets both.
    pub(crate) fn run(
        &self,
        mut input: Box<dyn std::io::Read + Send + '_>,
    ) -> csvseal::Result<Committed> {
        let sandbox = sandboxes::get(self.limits)?;
        if let Location::Object(url) = locations::parse(&self.req.dir)? {
            return self.run_object(&url, &sandbox, &mut input);
        }
        let ops = &RealFs;
        if self.continue_series {
            return csvseal::jobs::series::write_continue(
                ops,
                self.control,
                &sandbox,
                self.req,
                &mut input,
                self.label,
            )
            .map(|(committed, _)| committed);
        }
        match self.file_name {
            Some(name) => csvseal::write::write_sealed_named(
                ops,
                self.control,
                &sandbox,
                self.req,
                name,
                &mut input,
                self.label,
            ),
            None => csvseal::write_sealed_with(
                ops,
                self.control,
                &sandbox,
                self.req,
                &mut input,
                self.label,
            ),
        }
    }
}

impl Job<'_> {
    /// The object-store write: what `csvseal write --to s3://…` supports
    /// (no series lock there, so no `continue_series`; the policy's names
    /// only).
    fn run_object(
        &self,
        url: &csvseal::location::ObjectUrl,
        sandbox: &csvseal::Sandbox,
        input: &mut dyn std::io::Read,
    ) -> csvseal::Result<Committed> {
        if self.continue_series {
            return Err(csvseal::Error::Usage(
                "continue_series=True is not supported for object storage (there is no series lock there); give start_seq=".into(),
            ));
        }
        if let Some(name) = self.file_name {
            return Err(csvseal::Error::Usage(format!(
                "{name}: object storage takes the policy's names ({{name}}_YYYYMMDD_HHMMSS.csv) only"
            )));
        }
        let bucket = csvseal::object::connect(&url.bucket, self.object)?;
        csvseal::object::write_sealed_object(
            &bucket,
            url,
            self.control,
            sandbox,
            self.req,
            input,
            self.label,
        )
    }
}

#[pymodule(gil_used = false)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("NativeError", m.py().get_type::<NativeError>())?;
    m.add_function(wrap_pyfunction!(verify_path, m)?)?;
    m.add_function(wrap_pyfunction!(verify_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(verify_file_object, m)?)?;
    m.add_function(wrap_pyfunction!(verify_series, m)?)?;
    m.add_function(wrap_pyfunction!(row_checksum, m)?)?;
    m.add_function(wrap_pyfunction!(write, m)?)?;
    m.add_function(wrap_pyfunction!(frames::read_path, m)?)?;
    m.add_class::<frames::ArrowStream>()?;
    m.add_function(wrap_pyfunction!(fanout::verify_task, m)?)?;
    m.add_function(wrap_pyfunction!(fanout::merge_parts, m)?)?;
    m.add_function(wrap_pyfunction!(fanout::audit, m)?)?;
    m.add_function(wrap_pyfunction!(fanout::verify_series, m)?)?;
    m.add("CHUNK_SIZE", csvseal::verify::CHUNK_SIZE)?;
    m.add(
        "SIGNATURE_FILE_LIMIT",
        csvseal::verify::signed::SIGNATURE_FILE_LIMIT,
    )?;
    m.add("KEY_TEXT_LIMIT", signatures::KEY_TEXT_LIMIT)?;
    let sandboxes::LimitsKey(a, b, c, d, e, f) = sandboxes::LimitsKey::host_default();
    m.add("DEFAULT_LIMITS", (a, b, c, d, e, f))?;
    Ok(())
}
