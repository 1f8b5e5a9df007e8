//! Library errors as one native exception the Python layer turns into its
//! typed exceptions (`csvseal/_errors.py`): args are (kind, message,
//! details as JSON), kind being [`csvseal::Error::kind`].

use csvseal::Error;
use pyo3::PyErr;
use serde_json::{Value, json};

pyo3::create_exception!(
    _native,
    NativeError,
    pyo3::exceptions::PyException,
    "A csvseal library error: (kind, message, details JSON)."
);

/// The Python exception for a library error.
pub fn to_py(e: Error) -> PyErr {
    let details = details(&e).to_string();
    NativeError::new_err((e.kind(), e.to_string(), details))
}

/// What a caller may act on, per error class.
fn details(e: &Error) -> Value {
    match e {
        Error::Io { path, op, source } => json!({
            "path": path,
            "op": op,
            "errno": source.raw_os_error(),
            "os_error": source.to_string(),
        }),
        Error::Schema { path, message } => json!({ "path": path, "reason": message }),
        Error::TargetExists { path } | Error::Busy { path } => json!({ "path": path }),
        Error::InputRejected {
            input,
            errors,
            count,
            truncated,
        } => json!({
            "input": input,
            "errors": errors,
            "error_count": count,
            "errors_truncated": truncated,
        }),
        Error::WrittenFileInvalid { path, report } | Error::SourceInvalid { path, report } => {
            json!({ "path": path, "report": report.to_canonical_json() })
        }
        Error::NoGoodBackup { path, tried } => json!({ "path": path, "tried": tried }),
        Error::Timeout { path, step, after } => json!({
            "path": path,
            "step": step,
            "after_secs": after.as_secs_f64(),
        }),
        Error::LimitExceeded { limit, .. } => json!({ "limit": limit }),
        Error::Usage(_) | Error::Sandbox(_) => json!({}),
        // A variant added to the library later still gets its kind and message.
        #[allow(unreachable_patterns)]
        _ => json!({}),
    }
}
