//! What the seam counts: temp files it removed, and those it could not,
//! recorded through the [`metrics`] facade (as it logs through `tracing`),
//! so the seam reports without calling up into `monitor/`, which lists
//! these families with the others (`monitor::metrics::ALL`).

/// Counter: temp files removed. Label `origin` = `abandoned-write` (a failed
/// write removing its own temp) | `stale` (a sweep of temps left by crashed
/// writers).
pub const TEMP_FILES_SWEPT_TOTAL: &str = "csvseal_temp_files_swept_total";
/// Counter: temp files that could not be removed. Same `origin` label.
pub const TEMP_FILES_SWEEP_FAILED_TOTAL: &str = "csvseal_temp_files_sweep_failed_total";

/// Temp-file origin label: a failed write removing its own temp.
pub const ORIGIN_ABANDONED_WRITE: &str = "abandoned-write";
/// Temp-file origin label: a sweep of temps left by crashed writers.
pub const ORIGIN_STALE: &str = "stale";

/// Records a temp file removed (`origin`: [`ORIGIN_ABANDONED_WRITE`] or
/// [`ORIGIN_STALE`]).
pub fn temp_swept(origin: &'static str) {
    metrics::counter!(TEMP_FILES_SWEPT_TOTAL, "origin" => origin).increment(1);
}

/// Records a temp file that could not be removed.
pub fn temp_sweep_failed(origin: &'static str) {
    metrics::counter!(TEMP_FILES_SWEEP_FAILED_TOTAL, "origin" => origin).increment(1);
}
