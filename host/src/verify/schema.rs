//! A Table Schema for verification and sealing: its JSON text, read from
//! the file the user names, and errors that are the schema's fault.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::store::by_path;

/// A schema, as JSON text, and where it came from (for error messages).
/// Largest schema file read: far beyond any real Table Schema, small enough
/// that a wrong path (a log, a device) fails at once.
pub const MAX_SCHEMA_BYTES: u64 = 16 << 20;

#[derive(Debug, Clone)]
pub struct Schema {
    pub path: PathBuf,
    pub json: String,
}

impl Schema {
    /// Reads a Frictionless Table Schema file: a regular file of at most
    /// [`MAX_SCHEMA_BYTES`] (a symlink is followed; a FIFO or device is
    /// refused). Its content is checked by the component when a
    /// verification or seal starts.
    pub fn read(path: &Path) -> Result<Self> {
        let json = by_path::read_small_text(
            path,
            "read schema",
            MAX_SCHEMA_BYTES,
            by_path::Links::Follow,
        )?;
        Ok(Schema {
            path: path.to_owned(),
            json,
        })
    }
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
