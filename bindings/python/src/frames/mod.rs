//! DataFrames in and out: Arrow record batches sealed as the row dicts of
//! the same frame would be (`frame_write`), and sealed files read back as
//! Arrow batches only when they verify (`frame_read`).

mod arrow_ffi;
mod columns;
mod frame_parse;
mod frame_read;
mod frame_write;
mod python_text;
mod read_schema;

use std::path::PathBuf;

use arrow_schema::TimeUnit;
use csvseal::Error;
use pyo3::prelude::*;

pub use arrow_ffi::{ArrowStream, import_stream};
pub use columns::ColumnStyle;
pub use frame_write::write_frame;

use crate::errors::to_py;
use crate::locations::{ObjectArg, object_options};
use crate::sandboxes::{self, LimitsKey};
use crate::{SchemaArg, schema};

/// The columns' styles as the Python layer gives them: (missing-value
/// text, duration style) per column, or for every column when none are
/// listed one by one; and the columns the schema types `datetime`.
pub type StyleArg = (Vec<(String, String)>, (String, String), Vec<String>);

/// The style of each of `names`, from a [`StyleArg`].
pub fn styles(
    (per_column, default, datetime_columns): &StyleArg,
    names: &[String],
) -> Result<Vec<ColumnStyle>, Error> {
    if !per_column.is_empty() && per_column.len() != names.len() {
        return Err(Error::Usage(format!(
            "{} column styles for {} columns",
            per_column.len(),
            names.len()
        )));
    }
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (null_text, durations) = per_column.get(i).unwrap_or(default);
            Ok(ColumnStyle {
                null_text: null_text.clone(),
                durations: durations.parse().map_err(Error::Usage)?,
                datetime_sep: if datetime_columns.contains(name) {
                    'T'
                } else {
                    ' '
                },
            })
        })
        .collect()
}

/// Reads the sealed file at `path` (a path or an `s3://` URL) as Arrow batches: returns the report as
/// canonical JSON and, only when the file is valid, the batches. `streaming`
/// picks `read_batches` (verify, then parse in constant memory) over `read`
/// (one pass).
#[pyfunction]
#[pyo3(signature = (path, schema_arg, limits, *, keep_checksum, decimal_scale, datetime_unit, batch_rows, streaming, object=None))]
#[allow(clippy::too_many_arguments)]
pub fn read_path(
    py: Python<'_>,
    path: PathBuf,
    schema_arg: SchemaArg,
    limits: LimitsKey,
    keep_checksum: bool,
    decimal_scale: Option<i8>,
    datetime_unit: &str,
    batch_rows: usize,
    streaming: bool,
    object: ObjectArg,
) -> PyResult<(String, Option<ArrowStream>)> {
    let unit = match datetime_unit {
        "s" => TimeUnit::Second,
        "ms" => TimeUnit::Millisecond,
        "us" => TimeUnit::Microsecond,
        "ns" => TimeUnit::Nanosecond,
        other => {
            return Err(to_py(Error::Usage(format!(
                "datetime_unit={other:?}: one of 's', 'ms', 'us', 'ns'"
            ))));
        }
    };
    if decimal_scale.is_some_and(|s| !(0..=38).contains(&s)) {
        return Err(to_py(Error::Usage(
            "decimal_scale: between 0 and 38".into(),
        )));
    }
    let opts = read_schema::ReadOptions {
        keep_checksum,
        decimal_scale,
        unit,
        batch_rows,
    };
    let max_record = limits.3.saturating_mul(1 << 20);
    let outcome = py.detach(|| {
        let sandbox = sandboxes::get(limits)?;
        let schema = schema(schema_arg);
        let object = object_options(object)?;
        if streaming {
            frame_read::read_streaming(&sandbox, schema.as_ref(), &path, &object, &opts, max_record)
        } else {
            frame_read::read_whole(&sandbox, schema.as_ref(), &path, &object, &opts, max_record)
        }
    });
    let outcome = outcome.map_err(to_py)?;
    Ok((
        outcome.report.to_canonical_json(),
        outcome.batches.map(ArrowStream::new),
    ))
}
