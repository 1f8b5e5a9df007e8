//! The metrics csvseal records, through the [`metrics`] facade.
//!
//! The library records; whoever embeds it chooses the exporter (the CLI's
//! `--metrics-file` is one, `metrics-exporter-prometheus` another). With no
//! recorder installed every call here is a no-op.
//!
//! Names are stable and documented in docs/operations.md ("Metrics"); the Prometheus
//! alerting rules in `examples/prometheus/csvseal-alerts.yml` use them.
//! Label values are the library's stable kind names: [`Error::kind`] for
//! failed writes and verifications that could not be done,
//! [`crate::ErrorKind`] for files found invalid.

use std::time::Duration;

use crate::error::Error;
use crate::report::VerifyReport;
// The temp-file families are recorded by the file seam itself.
pub use crate::store::temp_metrics::{
    ORIGIN_ABANDONED_WRITE, ORIGIN_STALE, TEMP_FILES_SWEEP_FAILED_TOTAL, TEMP_FILES_SWEPT_TOTAL,
    temp_sweep_failed, temp_swept,
};

/// Histogram: seconds from the start of a write to its commit or failure.
/// Label `outcome` = `ok` | `failed`.
pub const WRITE_DURATION_SECONDS: &str = "csvseal_write_duration_seconds";
/// Counter: writes committed.
pub const WRITES_OK_TOTAL: &str = "csvseal_writes_ok_total";
/// Counter: writes that committed nothing. Label `reason` = [`Error::kind`]
/// (`timeout` for a write abandoned at its deadline).
pub const WRITES_FAILED_TOTAL: &str = "csvseal_writes_failed_total";
/// Counter: bytes of sealed CSV committed.
pub const WRITTEN_BYTES_TOTAL: &str = "csvseal_written_bytes_total";
/// Counter: rows committed.
pub const WRITTEN_ROWS_TOTAL: &str = "csvseal_written_rows_total";
/// Counter: files (or streams) that verified, including each write's
/// read-back of its temp file.
pub const VERIFICATIONS_OK_TOTAL: &str = "csvseal_verifications_ok_total";
/// Counter: verifications that found the file invalid. Label `kind` = the
/// first error's [`crate::ErrorKind`] name (`checksum-mismatch`, ...).
pub const VERIFICATIONS_FAILED_TOTAL: &str = "csvseal_verifications_failed_total";
/// Counter: verifications that could not be done (the file unreadable, the
/// schema unusable, the sandbox failing). Label `reason` = [`Error::kind`].
pub const VERIFICATIONS_ERRORED_TOTAL: &str = "csvseal_verifications_errored_total";
/// Counter: bytes read by verification (including each write's read-back).
pub const VERIFIED_BYTES_TOTAL: &str = "csvseal_verified_bytes_total";
/// Counter: rows read by verification.
pub const VERIFIED_ROWS_TOTAL: &str = "csvseal_verified_rows_total";
/// Counter: `file_seq` gaps found inside files by verification, and across a
/// series by `audit`. Label `scope` = `file` | `series`.
pub const SEQUENCE_GAPS_TOTAL: &str = "csvseal_sequence_gaps_total";
/// Gauge: alerts the last `csvseal audit` raised. Label `class` =
/// `integrity-failure` | `sequence-gap` | `temp-file-not-cleaned-up` |
/// `write-timeout` | `signature-failure`.
pub const AUDIT_ALERTS: &str = "csvseal_audit_alerts";
/// Gauge: Unix time the last `csvseal audit` finished.
pub const AUDIT_LAST_RUN_TIMESTAMP_SECONDS: &str = "csvseal_audit_last_run_timestamp_seconds";

/// Every metric family csvseal records, with its type and help text.
pub const ALL: &[(&str, MetricType, &str)] = &[
    (
        WRITE_DURATION_SECONDS,
        MetricType::Histogram,
        "Seconds from the start of a write to its commit or failure.",
    ),
    (WRITES_OK_TOTAL, MetricType::Counter, "Writes committed."),
    (
        WRITES_FAILED_TOTAL,
        MetricType::Counter,
        "Writes that committed nothing, by reason.",
    ),
    (
        WRITTEN_BYTES_TOTAL,
        MetricType::Counter,
        "Bytes of sealed CSV committed.",
    ),
    (WRITTEN_ROWS_TOTAL, MetricType::Counter, "Rows committed."),
    (
        VERIFICATIONS_OK_TOTAL,
        MetricType::Counter,
        "Verifications that found the file valid.",
    ),
    (
        VERIFICATIONS_FAILED_TOTAL,
        MetricType::Counter,
        "Verifications that found the file invalid, by the first error's kind.",
    ),
    (
        VERIFICATIONS_ERRORED_TOTAL,
        MetricType::Counter,
        "Verifications that could not be done, by reason.",
    ),
    (
        VERIFIED_BYTES_TOTAL,
        MetricType::Counter,
        "Bytes read by verification.",
    ),
    (
        VERIFIED_ROWS_TOTAL,
        MetricType::Counter,
        "Rows read by verification.",
    ),
    (
        SEQUENCE_GAPS_TOTAL,
        MetricType::Counter,
        "file_seq gaps detected, inside a file or across a series.",
    ),
    (
        TEMP_FILES_SWEPT_TOTAL,
        MetricType::Counter,
        "Temp files removed, by origin.",
    ),
    (
        TEMP_FILES_SWEEP_FAILED_TOTAL,
        MetricType::Counter,
        "Temp files that could not be removed, by origin.",
    ),
    (
        AUDIT_ALERTS,
        MetricType::Gauge,
        "Alerts raised by the last audit, by class.",
    ),
    (
        AUDIT_LAST_RUN_TIMESTAMP_SECONDS,
        MetricType::Gauge,
        "Unix time the last audit finished.",
    ),
];

/// Upper bounds (seconds) of the write-latency histogram's buckets. Fixed so
/// that files from different runs merge bucket by bucket.
pub const WRITE_DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// A metric family's Prometheus type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
}

impl MetricType {
    /// The name in a `# TYPE` line.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
        }
    }
}

/// The type of a csvseal metric family, if `name` is one.
pub fn metric_type(name: &str) -> Option<MetricType> {
    ALL.iter().find(|(n, _, _)| *n == name).map(|(_, t, _)| *t)
}

/// Histogram bucket bounds for a csvseal histogram.
pub fn buckets(name: &str) -> &'static [f64] {
    match name {
        WRITE_DURATION_SECONDS => WRITE_DURATION_BUCKETS,
        _ => &[],
    }
}

/// Records a committed write.
pub fn write_ok(elapsed: Duration, bytes: u64, rows: u64) {
    metrics::histogram!(WRITE_DURATION_SECONDS, "outcome" => "ok").record(elapsed.as_secs_f64());
    metrics::counter!(WRITES_OK_TOTAL).increment(1);
    metrics::counter!(WRITTEN_BYTES_TOTAL).increment(bytes);
    metrics::counter!(WRITTEN_ROWS_TOTAL).increment(rows);
}

/// Records a write that committed nothing.
pub fn write_failed(elapsed: Duration, error: &Error) {
    metrics::histogram!(WRITE_DURATION_SECONDS, "outcome" => "failed")
        .record(elapsed.as_secs_f64());
    metrics::counter!(WRITES_FAILED_TOTAL, "reason" => error.kind()).increment(1);
}

/// Records a verification's result.
pub fn verification(result: &Result<VerifyReport, Error>) {
    match result {
        Ok(report) => {
            metrics::counter!(VERIFIED_BYTES_TOTAL).increment(report.bytes);
            metrics::counter!(VERIFIED_ROWS_TOTAL).increment(report.rows);
            if report.gap_count > 0 {
                metrics::counter!(SEQUENCE_GAPS_TOTAL, "scope" => "file")
                    .increment(report.gap_count);
            }
            if report.valid {
                metrics::counter!(VERIFICATIONS_OK_TOTAL).increment(1);
            } else {
                let kind = report.errors.first().map_or("unknown", |e| e.kind.as_str());
                metrics::counter!(VERIFICATIONS_FAILED_TOTAL, "kind" => kind).increment(1);
            }
        }
        Err(e) => {
            metrics::counter!(VERIFICATIONS_ERRORED_TOTAL, "reason" => e.kind()).increment(1);
        }
    }
}

/// Records `n` gaps between consecutive files of a series (found by audit).
pub fn series_gaps(n: u64) {
    if n > 0 {
        metrics::counter!(SEQUENCE_GAPS_TOTAL, "scope" => "series").increment(n);
    }
}

/// Records an audit's alert counts per class and its finishing time.
pub fn audit_finished(alerts_by_class: &[(&'static str, u64)], unix_time: f64) {
    for (class, n) in alerts_by_class {
        metrics::gauge!(AUDIT_ALERTS, "class" => *class).set(*n as f64);
    }
    metrics::gauge!(AUDIT_LAST_RUN_TIMESTAMP_SECONDS).set(unix_time);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_prometheus_names() {
        for (name, ty, help) in ALL {
            assert!(name.starts_with("csvseal_"), "{name}");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
            assert_eq!(
                *ty == MetricType::Counter,
                name.ends_with("_total"),
                "{name}: counters and only counters end in _total"
            );
            assert!(!help.is_empty());
        }
        assert!(WRITE_DURATION_BUCKETS.windows(2).all(|w| w[0] < w[1]));
    }
}
