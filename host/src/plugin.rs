//! Plugins: a component loaded from the file the user names, and its
//! verdict taken together with csvseal's own.
//!
//! The sandbox is given bytes, never paths: the file is read here, the way
//! every other file the user names is read ([`crate::store::by_path`]).
//! A plugin's verifier may add rules, but it cannot waive the policy: the
//! built-in verifier always runs too, and a file is valid only when both
//! say so.

use std::path::Path;

use crate::error::{Error, Result};
use crate::report::VerifyReport;
use crate::sandbox::{Limits, Sandbox};
use crate::store::by_path;
use crate::verify::{Schema, verify_file};

/// Largest plugin file read: ~100 times csvseal's own component.
pub const MAX_COMPONENT_BYTES: u64 = 128 << 20;

impl Sandbox {
    /// Loads a plugin: a component implementing the `csvseal:core/engine`
    /// world (any language), from a `.wasm` file. It gets no WASI and no
    /// host functions at all; see [`Sandbox::from_component_bytes`]. The
    /// file must be a regular file of at most [`MAX_COMPONENT_BYTES`] (a
    /// symlink is followed; a FIFO or device is refused).
    pub fn from_component_file(path: &Path, limits: Limits) -> Result<Self> {
        let bytes = by_path::read_small(
            path,
            "read component",
            MAX_COMPONENT_BYTES,
            by_path::Links::Follow,
        )?;
        Self::from_component_bytes(&bytes, limits).map_err(|e| match e {
            Error::Sandbox(m) => Error::Sandbox(format!("{}: {m}", path.display())),
            e => e,
        })
    }
}

/// The built-in component to judge alongside `sandbox` (with its limits),
/// or `None` when `sandbox` is itself the built-in one.
pub fn builtin_for(sandbox: &Sandbox) -> Result<Option<Sandbox>> {
    if sandbox.is_builtin() {
        return Ok(None);
    }
    Sandbox::builtin(sandbox.limits().clone()).map(Some)
}

/// Verifies `path` with `sandbox`; when that is a plugin, also with the
/// built-in component (`builtin`), merging the two reports.
pub fn verify_file_checked(
    sandbox: &Sandbox,
    builtin: Option<&Sandbox>,
    schema: Option<&Schema>,
    path: &Path,
) -> Result<VerifyReport> {
    verify_checked(sandbox, builtin, |s| verify_file(s, schema, path))
}

/// Runs `verify` (one file, however it is read) with `sandbox`; when that
/// is a plugin, also with the built-in component (`builtin`), merging the
/// two reports, so the built-in verifier keeps the final say.
pub fn verify_checked(
    sandbox: &Sandbox,
    builtin: Option<&Sandbox>,
    verify: impl Fn(&Sandbox) -> Result<VerifyReport>,
) -> Result<VerifyReport> {
    let Some(builtin) = builtin.filter(|_| !sandbox.is_builtin()) else {
        return verify(sandbox);
    };
    let base = verify(builtin)?;
    let plugin = verify(sandbox)?;
    Ok(merge(base, plugin, sandbox.limits().max_errors as usize))
}

/// The built-in report with the plugin's extra findings: errors the plugin
/// reports that the built-in one does not (same line, kind and column) are
/// added, in line order, within the error cap.
pub fn merge(mut base: VerifyReport, plugin: VerifyReport, max_errors: usize) -> VerifyReport {
    let same = |a: &crate::RowError, b: &crate::RowError| {
        a.line == b.line && a.kind == b.kind && a.column == b.column
    };
    // Errors past the plugin's cap cannot be compared; they still count.
    let plugin_unlisted = plugin
        .error_count
        .saturating_sub(plugin.errors.len() as u64);
    let extra: Vec<_> = plugin
        .errors
        .into_iter()
        .filter(|p| !base.errors.iter().any(|b| same(b, p)))
        .collect();
    base.error_count += extra.len() as u64 + plugin_unlisted;
    base.errors.extend(extra);
    base.errors.sort_by_key(|e| e.line);
    base.errors.truncate(max_errors);
    base.errors_truncated = base.error_count > base.errors.len() as u64;
    base.valid = base.valid && plugin.valid && base.error_count == 0;
    base.warnings
        .extend(plugin.warnings.into_iter().map(|w| format!("plugin: {w}")));
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorKind, RowError};

    fn report(valid: bool, errors: Vec<RowError>) -> VerifyReport {
        VerifyReport {
            valid,
            rows: 3,
            first_seq: Some(1),
            last_seq: Some(3),
            columns: vec![],
            gaps: vec![],
            gap_count: 0,
            error_count: errors.len() as u64,
            errors,
            errors_truncated: false,
            warnings: vec![],
            bytes: 10,
            signature: None,
        }
    }

    fn err(line: u64, kind: ErrorKind) -> RowError {
        RowError {
            kind,
            line,
            seq: None,
            column: None,
            message: "m".into(),
        }
    }

    #[test]
    fn a_plugin_that_says_valid_cannot_hide_builtin_errors() {
        let base = report(false, vec![err(3, ErrorKind::ChecksumMismatch)]);
        let merged = merge(base, report(true, vec![]), 10);
        assert!(!merged.valid);
        assert_eq!(merged.error_count, 1);
    }

    #[test]
    fn plugin_findings_are_added_once_in_line_order_within_the_cap() {
        let base = report(false, vec![err(4, ErrorKind::ChecksumMismatch)]);
        let plugin = report(
            false,
            vec![
                err(2, ErrorKind::Schema),
                err(4, ErrorKind::ChecksumMismatch),
                err(5, ErrorKind::Schema),
            ],
        );
        let merged = merge(base.clone(), plugin.clone(), 10);
        assert!(!merged.valid);
        assert_eq!(merged.error_count, 3);
        let lines: Vec<u64> = merged.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 4, 5]);
        let capped = merge(base, plugin, 2);
        assert_eq!(capped.errors.len(), 2);
        assert!(capped.errors_truncated);
        assert!(merge(report(true, vec![]), report(true, vec![]), 10).valid);
    }
}
