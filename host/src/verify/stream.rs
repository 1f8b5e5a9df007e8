//! Verifying a stream: everything a reader yields, once, in order, fed to
//! one verifier a chunk at a time, in constant memory.

use std::io::Read;
use std::path::Path;

use super::schema::{Schema, schema_error};
use crate::error::{Error, Result};
use crate::report::VerifyReport;
use crate::sandbox::{Sandbox, VerifySession};

/// Bytes handed to the component per call: large enough that crossing the
/// boundary costs nothing measurable, small enough to keep memory flat.
pub const CHUNK_SIZE: usize = 1 << 20;

/// Starts a verifier, reporting a schema the component refuses as such.
pub(crate) fn start(sandbox: &Sandbox, schema: Option<&Schema>) -> Result<VerifySession> {
    sandbox
        .verifier(schema.map(|s| s.json.as_str()))
        .map_err(|e| schema_error(e, schema))
}

/// Verifies everything `reader` yields, in constant memory. Records the
/// verification metrics (see [`crate::monitor::metrics`]).
pub fn verify_reader(
    sandbox: &Sandbox,
    schema: Option<&Schema>,
    reader: &mut dyn Read,
    label: &Path,
) -> Result<VerifyReport> {
    let result = start(sandbox, schema).and_then(|session| stream_into(session, reader, label));
    crate::monitor::metrics::verification(&result);
    result
}

/// Feeds everything `reader` yields to `session`, then finishes it.
pub(super) fn stream_into(
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
        session.feed(&buf[..n]).map_err(|e| in_file(e, label))?;
    }
    session.finish()
}

/// A limit hit while verifying `label` names the file (the session names
/// the line).
pub(crate) fn in_file(e: Error, label: &Path) -> Error {
    match e {
        Error::LimitExceeded { limit, message } => Error::LimitExceeded {
            limit,
            message: format!("{}: {message}", label.display()),
        },
        e => e,
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
