//! `audit`: the operator's periodic check of a directory of sealed files.
//!
//! One pass finds the policy's four alert classes:
//! - **integrity failure**: a file that does not verify (or cannot be read);
//! - **sequence gap**: a `file_seq` gap inside a file, or between consecutive
//!   files of a series (`{base}_YYYYMMDD_HHMMSS.csv`, ordered by name);
//! - **temp file not cleaned up**: a `*.csv.tmp` older than the allowed age;
//! - **write timeout**: writes abandoned at their deadline since the last
//!   audit, read from the metrics file the writers record into.
//!
//! Files are verified once while unchanged: a state file remembers each
//! file's name, size, mtime and inode with its result, and is replaced
//! atomically after every audit.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::monitor::prom_text::Exposition;
use crate::sandbox::Sandbox;
use crate::store::naming::TEMP_SUFFIX;
use crate::verify::{Schema, verify_file};

/// Default state file name, inside the audited directory.
pub const DEFAULT_STATE_FILE: &str = ".csvseal-audit-state.json";

/// The classes of alert, each with a stable name and an exit-code bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertClass {
    IntegrityFailure,
    SequenceGap,
    TempFileNotCleanedUp,
    WriteTimeout,
}

impl AlertClass {
    /// All classes, in exit-code bit order.
    pub const ALL: [AlertClass; 4] = [
        AlertClass::IntegrityFailure,
        AlertClass::SequenceGap,
        AlertClass::TempFileNotCleanedUp,
        AlertClass::WriteTimeout,
    ];

    /// The class's stable name (output, JSON, the `class` metric label).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertClass::IntegrityFailure => "integrity-failure",
            AlertClass::SequenceGap => "sequence-gap",
            AlertClass::TempFileNotCleanedUp => "temp-file-not-cleaned-up",
            AlertClass::WriteTimeout => "write-timeout",
        }
    }

    /// The class's bit in the audit exit code (see README).
    pub fn bit(self) -> i32 {
        match self {
            AlertClass::IntegrityFailure => 1,
            AlertClass::SequenceGap => 2,
            AlertClass::TempFileNotCleanedUp => 4,
            AlertClass::WriteTimeout => 8,
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub class: AlertClass,
    /// The file concerned, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    pub message: String,
}

/// What to audit and how.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub dir: PathBuf,
    /// A `*.csv.tmp` older than this is a temp file not cleaned up.
    pub max_temp_age: Duration,
    /// Where results are remembered; default `DIR/.csvseal-audit-state.json`.
    pub state_file: Option<PathBuf>,
    /// The metrics file writers record into (`--metrics-file`), for timeouts.
    pub metrics_file: Option<PathBuf>,
    pub schema: Option<Schema>,
}

/// The audit's findings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditReport {
    pub alerts: Vec<Alert>,
    /// Sealed files found (`*.csv`).
    pub files: u64,
    /// Of those, verified in this run (new or changed since the last audit).
    pub verified: u64,
    /// Of those, unchanged since the last audit: its result was reused.
    pub unchanged: u64,
    /// Temp files found (`*.csv.tmp`), old or not.
    pub temp_files: u64,
    /// Things that limited the audit without being alerts.
    pub warnings: Vec<String>,
}

impl AuditReport {
    /// The distinct alert classes raised, in bit order.
    pub fn classes(&self) -> Vec<AlertClass> {
        let mut c: Vec<AlertClass> = self.alerts.iter().map(|a| a.class).collect();
        c.sort();
        c.dedup();
        c
    }

    /// Number of alerts of `class`.
    pub fn count(&self, class: AlertClass) -> u64 {
        self.alerts.iter().filter(|a| a.class == class).count() as u64
    }
}

/// A file's identity and last result, as remembered between audits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FileState {
    size: u64,
    mtime_ns: i128,
    ino: u64,
    valid: bool,
    rows: u64,
    first_seq: Option<u64>,
    last_seq: Option<u64>,
    gap_count: u64,
    /// The first error, for the alert message, when invalid.
    problem: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    version: u32,
    /// SHA-256 of the schema the results were checked against ("" for none).
    schema_sha256: String,
    /// `csvseal_writes_failed_total{reason="timeout"}` at the last audit.
    timeouts_seen: f64,
    files: BTreeMap<String, FileState>,
}

const STATE_VERSION: u32 = 1;

/// One thing found where the files live.
#[derive(Debug, Clone)]
pub enum Entry {
    /// A sealed file (`*.csv`): its name, the path reports give, and what
    /// identifies this version of it (unchanged identity: result reused).
    File {
        name: String,
        path: PathBuf,
        size: u64,
        mtime_ns: i128,
        /// The inode, or for an object a hash of its ETag.
        ino: u64,
    },
    /// A write in progress or abandoned (a `*.csv.tmp`, or an incomplete
    /// multipart upload), and its age.
    Temp { path: PathBuf, age: Duration },
}

/// Where an audit's results are remembered between runs.
pub trait StateStore {
    /// The state's bytes, `None` if there is none yet.
    fn load(&self) -> std::result::Result<Option<Vec<u8>>, String>;
    /// Replaces the state, atomically.
    fn save(&self, bytes: &[u8]) -> Result<()>;
    /// For messages.
    fn label(&self) -> String;
}

/// What an audit needs from where the files live: a local directory
/// ([`audit`]) or an object-store prefix (`crate::object::audit`).
pub trait AuditSource {
    /// The files and temps directly in the location, in name order.
    fn entries(&self, warnings: &mut Vec<String>) -> Result<Vec<Entry>>;
    /// Verifies one file.
    fn verify(
        &self,
        sandbox: &Sandbox,
        schema: Option<&Schema>,
        path: &Path,
    ) -> Result<crate::VerifyReport>;
    /// Where the state is kept when no `--state-file` is given.
    fn default_state(&self) -> Box<dyn StateStore>;
}

/// A state file on the local file system, replaced atomically.
pub struct StateFile(pub PathBuf);

impl StateStore for StateFile {
    fn load(&self) -> std::result::Result<Option<Vec<u8>>, String> {
        match std::fs::read(&self.0) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
    fn save(&self, bytes: &[u8]) -> Result<()> {
        crate::store::atomic_replace::replace_file(&self.0, bytes)
    }
    fn label(&self) -> String {
        self.0.display().to_string()
    }
}

/// A local directory, as audited since the start.
struct LocalDir<'a>(&'a Path);

impl AuditSource for LocalDir<'_> {
    fn entries(&self, warnings: &mut Vec<String>) -> Result<Vec<Entry>> {
        let dir = self.0;
        let now = SystemTime::now();
        let mut names: Vec<String> = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, "list directory", e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(dir, "list directory", e))?;
            match entry.file_name().into_string() {
                Ok(n) => names.push(n),
                Err(n) => warnings.push(format!(
                    "{}: skipped: name is not UTF-8",
                    dir.join(n).display()
                )),
            }
        }
        names.sort();
        let mut out = vec![];
        for name in names {
            let path = dir.join(&name);
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue; // removed while we looked
            };
            if !meta.is_file() {
                continue;
            }
            if name.ends_with(&format!(".csv{TEMP_SUFFIX}")) {
                let age = meta
                    .modified()
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .unwrap_or_default();
                out.push(Entry::Temp { path, age });
            } else if name.ends_with(".csv") {
                let (size, mtime_ns, ino) = identity(&meta);
                out.push(Entry::File {
                    name,
                    path,
                    size,
                    mtime_ns,
                    ino,
                });
            }
        }
        Ok(out)
    }

    fn verify(
        &self,
        sandbox: &Sandbox,
        schema: Option<&Schema>,
        path: &Path,
    ) -> Result<crate::VerifyReport> {
        verify_file(sandbox, schema, path)
    }

    fn default_state(&self) -> Box<dyn StateStore> {
        Box::new(StateFile(self.0.join(DEFAULT_STATE_FILE)))
    }
}

/// Runs an audit of `opts.dir`. Errors only when the audit itself cannot be
/// done (the directory cannot be listed, the state cannot be saved);
/// problems with files are alerts.
pub fn audit(sandbox: &Sandbox, opts: &AuditOptions) -> Result<AuditReport> {
    audit_source(sandbox, opts, &LocalDir(&opts.dir))
}

/// [`audit`] of any [`AuditSource`]; `opts.dir` names it in reports.
pub fn audit_source(
    sandbox: &Sandbox,
    opts: &AuditOptions,
    source: &dyn AuditSource,
) -> Result<AuditReport> {
    let state: Box<dyn StateStore> = match &opts.state_file {
        Some(p) => Box::new(StateFile(p.clone())),
        None => source.default_state(),
    };
    let mut report = AuditReport::default();
    let schema_sha = opts
        .schema
        .as_ref()
        .map(|s| hex(&Sha256::digest(s.json.as_bytes())))
        .unwrap_or_default();
    let old = load_state(state.as_ref(), &mut report.warnings);
    let reuse = old.version == STATE_VERSION && old.schema_sha256 == schema_sha;
    let mut new = State {
        version: STATE_VERSION,
        schema_sha256: schema_sha,
        timeouts_seen: old.timeouts_seen,
        files: BTreeMap::new(),
    };

    let now = SystemTime::now();
    // name → (first_seq, last_seq) for the series check.
    let mut seqs: BTreeMap<String, (Option<u64>, Option<u64>)> = BTreeMap::new();
    for entry in source.entries(&mut report.warnings)? {
        let (name, path, size, mtime_ns, ino) = match entry {
            Entry::Temp { path, age } => {
                report.temp_files += 1;
                if age > opts.max_temp_age {
                    report.alerts.push(Alert {
                        class: AlertClass::TempFileNotCleanedUp,
                        file: Some(path),
                        message: format!(
                            "temp file is {} old (allowed: {}): a writer crashed or is stuck",
                            humantime::format_duration(Duration::from_secs(age.as_secs())),
                            humantime::format_duration(opts.max_temp_age)
                        ),
                    });
                }
                continue;
            }
            Entry::File {
                name,
                path,
                size,
                mtime_ns,
                ino,
            } => (name, path, size, mtime_ns, ino),
        };
        report.files += 1;
        let cached = old
            .files
            .get(&name)
            .filter(|s| reuse && s.size == size && s.mtime_ns == mtime_ns && s.ino == ino);
        let fs =
            match cached {
                Some(s) => {
                    report.unchanged += 1;
                    s.clone()
                }
                None => {
                    report.verified += 1;
                    tracing::debug!(file = %path.display(), "verifying");
                    match source.verify(sandbox, opts.schema.as_ref(), &path) {
                        Ok(r) => FileState {
                            size,
                            mtime_ns,
                            ino,
                            valid: r.valid,
                            rows: r.rows,
                            first_seq: r.first_seq,
                            last_seq: r.last_seq,
                            gap_count: r.gap_count,
                            problem: r.errors.first().map(|e| e.to_string()).or_else(|| {
                                (!r.valid).then(|| format!("{} error(s)", r.error_count))
                            }),
                        },
                        Err(e) => {
                            // Not remembered: retried next time.
                            report.alerts.push(Alert {
                                class: AlertClass::IntegrityFailure,
                                file: Some(path.clone()),
                                message: format!("could not be verified: {e}"),
                            });
                            continue;
                        }
                    }
                }
            };
        if !fs.valid {
            report.alerts.push(Alert {
                class: AlertClass::IntegrityFailure,
                file: Some(path.clone()),
                message: format!(
                    "does not verify: {}",
                    fs.problem.as_deref().unwrap_or("invalid")
                ),
            });
        }
        // Invalid files stay in the chain with the seqs they do hold, so a
        // broken file is one alert, not also a gap around it.
        seqs.insert(name.clone(), (fs.first_seq, fs.last_seq));
        if fs.gap_count > 0 {
            report.alerts.push(Alert {
                class: AlertClass::SequenceGap,
                file: Some(path.clone()),
                message: format!("{} file_seq gap(s) inside the file", fs.gap_count),
            });
        }
        new.files.insert(name.clone(), fs);
    }

    let series_gaps = series_alerts(&opts.dir, &seqs, &mut report.alerts);
    crate::monitor::metrics::series_gaps(series_gaps);

    if let Some(mf) = &opts.metrics_file {
        check_timeouts(mf, &mut new.timeouts_seen, &mut report);
    }

    let json = serde_json::to_vec_pretty(&new).expect("state serializes");
    state.save(&json)?;

    let counts: Vec<(&'static str, u64)> = AlertClass::ALL
        .iter()
        .map(|c| (c.as_str(), report.count(*c)))
        .collect();
    let unix = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    crate::monitor::metrics::audit_finished(&counts, unix);
    Ok(report)
}

/// Splits `{base}_YYYYMMDD_HHMMSS.csv` into its base; `None` for other names.
pub fn series_base(name: &str) -> Option<&str> {
    let stem = name.strip_suffix(".csv")?;
    // "_YYYYMMDD_HHMMSS" is 16 bytes.
    let split = stem.len().checked_sub(16)?;
    let (base, stamp) = (stem.get(..split)?, stem.get(split..)?);
    let b = stamp.as_bytes();
    let ok = b[0] == b'_'
        && b[9] == b'_'
        && b[1..9].iter().all(u8::is_ascii_digit)
        && b[10..].iter().all(u8::is_ascii_digit);
    (ok && !base.is_empty()).then_some(base)
}

/// Checks `file_seq` continuity between consecutive files of each series;
/// returns the number of gaps.
///
/// A file that starts at 1 restarts numbering (each file numbered on its
/// own, `write`'s default) and is not compared with the one before. Otherwise
/// the next file must start right after the previous one's last `file_seq`:
/// later is a gap (rows may be lost), earlier is an overlap (rows numbered
/// twice); both are sequence alerts. Empty files are skipped.
fn series_alerts(
    dir: &Path,
    seqs: &BTreeMap<String, (Option<u64>, Option<u64>)>,
    alerts: &mut Vec<Alert>,
) -> u64 {
    let mut gaps = 0;
    let mut last: BTreeMap<&str, (&str, u64)> = BTreeMap::new();
    for (name, (first, end)) in seqs {
        let (Some(base), Some(first), Some(end)) = (series_base(name), first, end) else {
            continue;
        };
        if let Some((prev_name, prev_last)) = last.get(base).copied()
            && *first != 1
        {
            let expected = prev_last.saturating_add(1);
            if *first != expected {
                gaps += 1;
                let what = if *first > expected {
                    format!("{} file_seq value(s) missing", first - expected)
                } else {
                    "overlap: file_seq values used twice".to_owned()
                };
                alerts.push(Alert {
                    class: AlertClass::SequenceGap,
                    file: Some(dir.join(name)),
                    message: format!(
                        "series {base}: starts at file_seq {first} but {prev_name} ended at {prev_last} ({what})"
                    ),
                });
            }
        }
        last.insert(base, (name, *end));
    }
    gaps
}

/// Raises a write-timeout alert when the metrics file counts more timeouts
/// than at the last audit.
fn check_timeouts(path: &Path, seen: &mut f64, report: &mut AuditReport) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            report.warnings.push(format!(
                "{}: metrics file does not exist yet; no write timeouts recorded",
                path.display()
            ));
            return;
        }
        Err(e) => {
            report.warnings.push(format!(
                "{}: cannot read metrics file, write timeouts not checked: {e}",
                path.display()
            ));
            return;
        }
    };
    let exp = match Exposition::parse(&text) {
        Ok(x) => x,
        Err(e) => {
            report.warnings.push(format!(
                "{}:{}: metrics file is not Prometheus text, write timeouts not checked: {}",
                path.display(),
                e.line,
                e.message
            ));
            return;
        }
    };
    let now = exp
        .value(
            crate::monitor::metrics::WRITES_FAILED_TOTAL,
            &[("reason", "timeout")],
        )
        .unwrap_or(0.0);
    if now < *seen {
        // The file was reset: counting starts again.
        *seen = 0.0;
    }
    if now > *seen {
        report.alerts.push(Alert {
            class: AlertClass::WriteTimeout,
            file: Some(path.to_owned()),
            message: format!(
                "{} write(s) timed out since the last audit ({} in all)",
                now - *seen,
                now
            ),
        });
    }
    *seen = now;
}

fn load_state(state: &dyn StateStore, warnings: &mut Vec<String>) -> State {
    match state.load() {
        Ok(Some(bytes)) => match serde_json::from_slice::<State>(&bytes) {
            Ok(s) => s,
            Err(e) => {
                warnings.push(format!(
                    "{}: state file unreadable ({e}); every file is verified again",
                    state.label()
                ));
                State::default()
            }
        },
        Ok(None) => State::default(),
        Err(e) => {
            warnings.push(format!(
                "{}: cannot read state file ({e}); every file is verified again",
                state.label()
            ));
            State::default()
        }
    }
}

fn identity(meta: &std::fs::Metadata) -> (u64, i128, u64) {
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128);
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let ino = 0;
    (meta.len(), mtime_ns, ino)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_names() {
        assert_eq!(
            series_base("trade_results_20240910_143000.csv"),
            Some("trade_results")
        );
        assert_eq!(series_base("a_b_20240910_143000.csv"), Some("a_b"));
        assert_eq!(series_base("_20240910_143000.csv"), None);
        assert_eq!(series_base("x_2024091_143000.csv"), None);
        assert_eq!(series_base("x_20240910_143000.csv.tmp"), None);
        assert_eq!(series_base("notes.csv"), None);
        assert_eq!(series_base("é_20240910_14300é.csv"), None);
    }

    #[test]
    fn series_continuity() {
        let dir = Path::new("d");
        let mut seqs = BTreeMap::new();
        seqs.insert("s_20240101_000000.csv".into(), (Some(1), Some(10)));
        seqs.insert("s_20240101_000100.csv".into(), (Some(11), Some(20))); // continues
        seqs.insert("s_20240101_000200.csv".into(), (Some(25), Some(30))); // gap
        seqs.insert("s_20240101_000300.csv".into(), (Some(1), Some(5))); // restart
        seqs.insert("s_20240101_000400.csv".into(), (Some(3), Some(9))); // overlap
        seqs.insert("t_20240101_000000.csv".into(), (Some(100), Some(200))); // other series
        let mut alerts = Vec::new();
        assert_eq!(series_alerts(dir, &seqs, &mut alerts), 2);
        assert!(
            alerts[0].message.contains("4 file_seq value(s) missing"),
            "{alerts:?}"
        );
        assert!(alerts[1].message.contains("overlap"), "{alerts:?}");
    }
}
