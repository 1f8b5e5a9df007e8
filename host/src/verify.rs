//! Streaming verification of sealed files; a large file by several
//! sandboxed instances at once (`parallel.rs`, merged exactly by `parts.rs`).

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::report::VerifyReport;
use crate::sandbox::{Sandbox, VerifySession};
use crate::store::by_path;

mod parallel;
mod parts;

#[doc(hidden)]
pub use parallel::verify_file_at_cuts;

/// Most instances [`default_jobs`] puts on one file: each holds a store
/// (a few MiB) and a 1 MiB read buffer, and memory should stay flat.
pub const MAX_DEFAULT_JOBS: usize = 8;

/// The available cores, at most [`MAX_DEFAULT_JOBS`].
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(MAX_DEFAULT_JOBS)
}

/// How [`verify_file_with`] goes about a file.
#[derive(Clone, Copy, Default)]
pub struct VerifyFileOptions<'a> {
    /// Sandboxed instances that may verify parts of the file at once; 1
    /// means one verifier reads it all, 0 [`default_jobs`]. The report is
    /// the same whatever the number.
    pub jobs: usize,
    /// Called with the number of bytes verified so far (from 0 again if the
    /// file has to be verified a second time, whole).
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
    /// Memory this file's instances may use together, when several files
    /// are verified at once (None: the sandbox's memory limit; never more).
    /// A file that hits a smaller budget fails with a memory `limit` error,
    /// as it would with the limit set that low.
    pub memory: Option<usize>,
}

/// Bytes handed to the component per call: large enough that crossing the
/// boundary costs nothing measurable, small enough to keep memory flat.
pub const CHUNK_SIZE: usize = 1 << 20;

/// A schema, as JSON text, and where it came from (for error messages).
#[derive(Debug, Clone)]
pub struct Schema {
    pub path: PathBuf,
    pub json: String,
}

impl Schema {
    /// Reads a Frictionless Table Schema file. Its content is checked by the
    /// component when a verification or seal starts.
    pub fn read(path: &Path) -> Result<Self> {
        let json = by_path::read_to_string(path, "read schema")?;
        Ok(Schema {
            path: path.to_owned(),
            json,
        })
    }
}

/// Starts a verifier, reporting a schema the component refuses as such.
pub(crate) fn start(sandbox: &Sandbox, schema: Option<&Schema>) -> Result<VerifySession> {
    sandbox
        .verifier(schema.map(|s| s.json.as_str()))
        .map_err(|e| schema_error(e, schema))
}

/// Options refused by the component can only be the schema's fault.
pub(crate) fn schema_error(e: Error, schema: Option<&Schema>) -> Error {
    match (e, schema) {
        (Error::Usage(message), Some(s)) => Error::Schema {
            path: s.path.clone(),
            message,
        },
        (e, _) => e,
    }
}

/// Verifies everything `reader` yields, in constant memory. Records the
/// verification metrics (see [`crate::monitor::metrics`]).
pub fn verify_reader(
    sandbox: &Sandbox,
    schema: Option<&Schema>,
    reader: &mut dyn Read,
    label: &Path,
) -> Result<VerifyReport> {
    let result = verify_stream(sandbox, schema, reader, label);
    crate::monitor::metrics::verification(&result);
    result
}

/// [`verify_reader`] without recording metrics.
pub(crate) fn verify_stream(
    sandbox: &Sandbox,
    schema: Option<&Schema>,
    reader: &mut dyn Read,
    label: &Path,
) -> Result<VerifyReport> {
    let session = start(sandbox, schema)?;
    stream_into(session, reader, label)
}

/// Feeds everything `reader` yields to `session`, then finishes it.
fn stream_into(
    mut session: VerifySession,
    reader: &mut dyn Read,
    label: &Path,
) -> Result<VerifyReport> {
    let mut buf = vec![0u8; CHUNK_SIZE];
    loop {
        let n = read_full(reader, &mut buf).map_err(|e| Error::io(label, "read", e))?;
        if n == 0 {
            break;
        }
        session.feed(&buf[..n])?;
    }
    session.finish()
}

/// Verifies the file at `path`, a large one in parts on the available
/// cores ([`VerifyFileOptions::default`]).
pub fn verify_file(
    sandbox: &Sandbox,
    schema: Option<&Schema>,
    path: &Path,
) -> Result<VerifyReport> {
    verify_file_with(sandbox, schema, path, &VerifyFileOptions::default())
}

/// Verifies the file at `path`. A regular file is read with positioned
/// reads through the one open handle, in parts by up to `options.jobs`
/// instances when it is large enough and the built-in component verifies
/// it; anything else (a pipe, a plugin) is read once, in order. Records the
/// verification metrics.
pub fn verify_file_with(
    sandbox: &Sandbox,
    schema: Option<&Schema>,
    path: &Path,
    options: &VerifyFileOptions<'_>,
) -> Result<VerifyReport> {
    let result = by_path::open_file(path, "open")
        .map(cap_std::fs::File::into_std)
        .and_then(|mut file| {
            let meta = file.metadata().map_err(|e| Error::io(path, "stat", e))?;
            let limit = sandbox.limits().memory_bytes;
            let memory = options.memory.map_or(limit, |m| m.min(limit));
            if !meta.is_file() {
                let json = schema.map(|s| s.json.as_str());
                let session = sandbox
                    .verifier_within(json, None, memory)
                    .map_err(|e| schema_error(e, schema))?;
                return stream_into(session, &mut file, path);
            }
            let meter = parallel::Meter::new(options.progress);
            let job = parallel::FileJob {
                sandbox,
                schema,
                file: &file,
                len: meta.len(),
                label: path,
                meter: &meter,
                memory,
            };
            parallel::verify_open(&job, options.jobs)
        });
    crate::monitor::metrics::verification(&result);
    result
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
pub(crate) fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
