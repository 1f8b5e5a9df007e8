//! Arrow record batches across the Arrow PyCapsule interface: in from
//! anything with `__arrow_c_stream__` (pandas through pyarrow, polars,
//! pyarrow, DuckDB...), out as an object pyarrow and polars import. The
//! data itself is never copied into Python objects.

use std::ffi::CStr;
use std::sync::Mutex;

use arrow_array::RecordBatchReader;
use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use csvseal::Error;
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

use crate::errors::to_py;

/// The capsule name the Arrow C stream interface gives its streams.
const STREAM: &CStr = c"arrow_array_stream";

/// The record batches `source.__arrow_c_stream__()` exports, to be read
/// without the GIL.
pub fn import_stream(source: &Bound<'_, PyAny>, label: &str) -> PyResult<RecordBatchStreamReader> {
    let capsule = source.call_method1("__arrow_c_stream__", (source.py().None(),))?;
    let capsule = capsule.cast::<PyCapsule>().map_err(|_| {
        to_py(Error::Usage(format!(
            "{label}: __arrow_c_stream__() did not return a PyCapsule"
        )))
    })?;
    let pointer = capsule.pointer_checked(Some(STREAM))?;
    // SAFETY: a capsule named "arrow_array_stream" holds an initialised
    // ArrowArrayStream (the interface's contract); `from_raw` moves it out
    // and leaves a released one, which the capsule's destructor skips.
    let stream = unsafe { FFI_ArrowArrayStream::from_raw(pointer.as_ptr().cast()) };
    RecordBatchStreamReader::try_new(stream).map_err(|e| {
        to_py(Error::Usage(format!(
            "{label}: the Arrow stream could not be opened: {e}"
        )))
    })
}

/// Record batches for Python: `pyarrow.RecordBatchReader.from_stream(it)`,
/// `pyarrow.table(it)` and `polars.from_arrow(...)` take them through
/// `__arrow_c_stream__`, once.
#[pyclass(module = "csvseal._native", name = "ArrowStream")]
pub struct ArrowStream {
    reader: Mutex<Option<Box<dyn RecordBatchReader + Send>>>,
}

impl ArrowStream {
    pub fn new(reader: Box<dyn RecordBatchReader + Send>) -> Self {
        ArrowStream {
            reader: Mutex::new(Some(reader)),
        }
    }
}

#[pymethods]
impl ArrowStream {
    /// Exports the batches (once: a stream is consumed by its reader). A
    /// requested schema is not applied: the batches are as csvseal typed them.
    #[pyo3(signature = (requested_schema=None))]
    fn __arrow_c_stream__<'py>(
        &self,
        py: Python<'py>,
        requested_schema: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCapsule>> {
        let _ = requested_schema;
        let taken = self.reader.lock().map(|mut r| r.take()).unwrap_or(None);
        let reader = taken.ok_or_else(|| {
            to_py(Error::Usage(
                "these batches were already taken: a stream is read once".into(),
            ))
        })?;
        // The capsule owns the stream until a consumer moves it out; if none
        // does, dropping it releases the batches.
        PyCapsule::new_with_value(py, FFI_ArrowArrayStream::new(reader), STREAM)
    }
}
