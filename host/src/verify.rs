//! Streaming verification of sealed files.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::report::VerifyReport;
use crate::sandbox::{Sandbox, VerifySession};
use crate::store::by_path;

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
    let mut session = start(sandbox, schema)?;
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

/// Verifies the file at `path`.
pub fn verify_file(
    sandbox: &Sandbox,
    schema: Option<&Schema>,
    path: &Path,
) -> Result<VerifyReport> {
    match by_path::open_file(path, "open") {
        Ok(mut file) => verify_reader(sandbox, schema, &mut file, path),
        Err(e) => {
            let result = Err(e);
            crate::monitor::metrics::verification(&result);
            result
        }
    }
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
