//! A Table Schema for verification and sealing: its JSON text, read from
//! the file the user names, and errors that are the schema's fault.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::store::by_path;

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
