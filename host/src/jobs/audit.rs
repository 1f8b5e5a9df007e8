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
//! A state file remembers each file's identity (size, mtime, ctime, inode)
//! with its result and when it was last read in full, and is replaced
//! atomically after every audit. A new or changed file is verified at once.
//! An unchanged one is verified again (the scrub) once its last full check
//! is older than `rescan_after`, oldest first, within `max_bytes` per run:
//! bit rot, or an edit that restored the mtime, changes no identity, and
//! finding those is what a periodic integrity check is for. `full`
//! re-verifies everything.
//!
//! A local directory is opened once (a cap-std `Dir`); each file is opened
//! through it, identified by `fstat` on that descriptor and verified from
//! it, so what is checked is what was identified. An object-store prefix is
//! another [`AuditSource`] (`crate::object::check`): an object's identity is
//! its size, modification time and ETag.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::monitor::prom_text::Exposition;
use crate::sandbox::Sandbox;
use crate::store::by_path;
use crate::store::naming::is_final_temp;
use crate::verify::{Schema, verify_reader};

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
    /// Re-verify every file, changed or not.
    pub full: bool,
    /// Re-verify an unchanged file once its last full check is this old.
    pub rescan_after: Duration,
    /// Bytes of unchanged files re-verified per run at most (the oldest
    /// check first; at least one file per run). `None`: no budget.
    pub max_bytes: Option<u64>,
}

/// The default `rescan_after`: a week.
pub const DEFAULT_RESCAN_AFTER: Duration = Duration::from_secs(7 * 24 * 3600);

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
    /// Of the verified, unchanged files read again because their last full
    /// check was older than `rescan_after` (or `full`).
    pub scrubbed: u64,
    /// Unchanged files due for a scrub but left for a later run by the
    /// `max_bytes` budget.
    pub scrub_deferred: u64,
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
    /// The inode change time: any write or metadata change moves it, and
    /// unlike the mtime it cannot be set back.
    ctime_ns: i128,
    ino: u64,
    /// When the file was last read and verified in full (Unix seconds).
    checked_at: u64,
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

const STATE_VERSION: u32 = 2;

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
        /// The inode change time (0 for an object: its ETag stands in).
        ctime_ns: i128,
        /// The inode, or for an object a hash of its ETag.
        ino: u64,
    },
    /// A sealed file that could not be opened or identified.
    Unreadable { path: PathBuf, message: String },
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
    /// Verifies one file of [`Self::entries`], read in full.
    fn verify(
        &self,
        sandbox: &Sandbox,
        schema: Option<&Schema>,
        name: &str,
        path: &Path,
    ) -> Result<crate::VerifyReport>;
    /// Where the state is kept when no `--state-file` is given.
    fn default_state(&self) -> Box<dyn StateStore>;
}

/// Largest state file read: ~200 bytes a file, so room for ~300,000 files.
pub const MAX_STATE_BYTES: u64 = 64 << 20;

/// Largest metrics file read for its timeout counter.
const MAX_METRICS_BYTES: u64 = 16 << 20;

/// A state file on the local file system, replaced atomically.
pub struct StateFile(pub PathBuf);

impl StateStore for StateFile {
    fn load(&self) -> std::result::Result<Option<Vec<u8>>, String> {
        // Anyone who can write the directory can plant this name: a link
        // is refused, as is a FIFO or device, and the read is bounded. The
        // caller warns and starts from a fresh state.
        match by_path::read_small(
            &self.0,
            "read state file",
            MAX_STATE_BYTES,
            by_path::Links::Refuse,
        ) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if by_path::is_not_found(&e) => Ok(None),
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

/// A local directory, through one cap-std `Dir`. Each sealed file is
/// opened once, when listed; its handle is kept for [`AuditSource::verify`],
/// so the bytes verified are those of the file identified.
struct LocalDir<'a> {
    path: &'a Path,
    dir: Dir,
    opened: RefCell<BTreeMap<String, std::fs::File>>,
}

impl<'a> LocalDir<'a> {
    fn open(path: &'a Path) -> Result<Self> {
        let dir = Dir::open_ambient_dir(path, ambient_authority())
            .map_err(|e| Error::io(path, "open directory", e))?;
        Ok(LocalDir {
            path,
            dir,
            opened: RefCell::default(),
        })
    }
}

impl AuditSource for LocalDir<'_> {
    fn entries(&self, warnings: &mut Vec<String>) -> Result<Vec<Entry>> {
        let dir = self.path;
        let now = SystemTime::now();
        let mut names: Vec<String> = Vec::new();
        let entries = self
            .dir
            .entries()
            .map_err(|e| Error::io(dir, "list directory", e))?;
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
            let Ok(meta) = self.dir.symlink_metadata(&name) else {
                continue; // removed while we looked
            };
            if !meta.is_file() {
                continue;
            }
            if is_final_temp(&name) {
                let age = meta
                    .modified()
                    .ok()
                    .and_then(|m| now.duration_since(m.into_std()).ok())
                    .unwrap_or_default();
                out.push(Entry::Temp { path, age });
            } else if name.ends_with(".csv") {
                let opened = self
                    .dir
                    .open(&name)
                    .map(|f| f.into_std())
                    .and_then(|f| f.metadata().map(|m| (identify(&m), f)));
                match opened {
                    Ok((id, file)) => {
                        self.opened.borrow_mut().insert(name.clone(), file);
                        out.push(Entry::File {
                            name,
                            path,
                            size: id.size,
                            mtime_ns: id.mtime_ns,
                            ctime_ns: id.ctime_ns,
                            ino: id.ino,
                        });
                    }
                    Err(e) => out.push(Entry::Unreadable {
                        message: Error::io(&path, "open", e).to_string(),
                        path,
                    }),
                }
            }
        }
        Ok(out)
    }

    fn verify(
        &self,
        sandbox: &Sandbox,
        schema: Option<&Schema>,
        name: &str,
        path: &Path,
    ) -> Result<crate::VerifyReport> {
        let mut file = self.opened.borrow_mut().remove(name).ok_or_else(|| {
            Error::io(
                path,
                "open",
                std::io::Error::other("not listed by this audit"),
            )
        })?;
        verify_reader(sandbox, schema, &mut file, path)
    }

    fn default_state(&self) -> Box<dyn StateStore> {
        Box::new(StateFile(self.path.join(DEFAULT_STATE_FILE)))
    }
}

/// Runs an audit of `opts.dir`. Errors only when the audit itself cannot be
/// done (the directory cannot be listed, the state cannot be saved);
/// problems with files are alerts.
pub fn audit(sandbox: &Sandbox, opts: &AuditOptions) -> Result<AuditReport> {
    audit_source(sandbox, opts, &LocalDir::open(&opts.dir)?)
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
        .map(|s| hex::encode(Sha256::digest(s.json.as_bytes())))
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
    let now_secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());

    // Pass 1: temp files; sealed files identified.
    let mut sealed: Vec<(String, PathBuf, FileState)> = Vec::new();
    for entry in source.entries(&mut report.warnings)? {
        match entry {
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
            }
            Entry::Unreadable { path, message } => {
                report.files += 1;
                report.alerts.push(Alert {
                    class: AlertClass::IntegrityFailure,
                    file: Some(path),
                    message: format!("could not be verified: {message}"),
                });
            }
            Entry::File {
                name,
                path,
                size,
                mtime_ns,
                ctime_ns,
                ino,
            } => sealed.push((
                name,
                path,
                FileState {
                    size,
                    mtime_ns,
                    ctime_ns,
                    ino,
                    ..FileState::unchecked()
                },
            )),
        }
    }

    // Which unchanged files to read again: those due, oldest check first,
    // within the byte budget (but at least one, so any file gets its turn).
    let remembered =
        |name: &str, id: &FileState| old.files.get(name).filter(|s| reuse && s.same_file_as(id));
    let rescan_before = now_secs.saturating_sub(opts.rescan_after.as_secs());
    let mut due: Vec<(u64, String, u64)> = sealed
        .iter()
        .filter_map(|(name, _, id)| {
            let s = remembered(name, id)?;
            (opts.full || s.checked_at <= rescan_before)
                .then(|| (s.checked_at, name.clone(), id.size))
        })
        .collect();
    due.sort();
    let mut scrub: BTreeSet<String> = BTreeSet::new();
    let mut budget_used = 0u64;
    for (_, name, size) in due {
        let fits = opts
            .max_bytes
            .is_none_or(|max| budget_used.saturating_add(size) <= max);
        if fits || scrub.is_empty() {
            budget_used = budget_used.saturating_add(size);
            scrub.insert(name);
        } else {
            report.scrub_deferred += 1;
        }
    }

    // Pass 2: verify what is new, changed or due; reuse the rest.
    // name → (first_seq, last_seq) for the series check.
    let mut seqs: BTreeMap<String, (Option<u64>, Option<u64>)> = BTreeMap::new();
    for (name, path, id) in sealed {
        report.files += 1;
        let cached = remembered(&name, &id).filter(|_| !scrub.contains(&name));
        let fs =
            match cached {
                Some(s) => {
                    report.unchanged += 1;
                    s.clone()
                }
                None => {
                    report.verified += 1;
                    if scrub.contains(&name) {
                        report.scrubbed += 1;
                    }
                    tracing::debug!(file = %path.display(), "verifying");
                    match source.verify(sandbox, opts.schema.as_ref(), &name, &path) {
                        Ok(r) => FileState {
                            checked_at: now_secs,
                            valid: r.valid,
                            rows: r.rows,
                            first_seq: r.first_seq,
                            last_seq: r.last_seq,
                            gap_count: r.gap_count,
                            problem: r.errors.first().map(|e| e.to_string()).or_else(|| {
                                (!r.valid).then(|| format!("{} error(s)", r.error_count))
                            }),
                            ..id
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
    crate::monitor::metrics::audit_finished(&counts, now_secs as f64);
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
    let text = match by_path::read_small_text(
        path,
        "read metrics file",
        MAX_METRICS_BYTES,
        by_path::Links::Follow,
    ) {
        Ok(t) => t,
        Err(e) if by_path::is_not_found(&e) => {
            report.warnings.push(format!(
                "{}: metrics file does not exist yet; no write timeouts recorded",
                path.display()
            ));
            return;
        }
        Err(e) => {
            report
                .warnings
                .push(format!("{e}; write timeouts not checked"));
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

impl FileState {
    /// No identity and no result yet.
    fn unchecked() -> FileState {
        FileState {
            size: 0,
            mtime_ns: 0,
            ctime_ns: 0,
            ino: 0,
            checked_at: 0,
            valid: false,
            rows: 0,
            first_seq: None,
            last_seq: None,
            gap_count: 0,
            problem: None,
        }
    }

    /// Whether `id` (a fresh identification) is the file this state was
    /// taken from, unchanged.
    fn same_file_as(&self, id: &FileState) -> bool {
        (self.size, self.mtime_ns, self.ctime_ns, self.ino)
            == (id.size, id.mtime_ns, id.ctime_ns, id.ino)
    }
}

/// A file's identity from `fstat`, as a state with no result yet.
fn identify(meta: &std::fs::Metadata) -> FileState {
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|m| m.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128);
    #[cfg(unix)]
    let (ino, ctime_ns) = {
        use std::os::unix::fs::MetadataExt;
        (
            meta.ino(),
            meta.ctime() as i128 * 1_000_000_000 + meta.ctime_nsec() as i128,
        )
    };
    #[cfg(not(unix))]
    let (ino, ctime_ns) = (0, 0);
    FileState {
        size: meta.len(),
        mtime_ns,
        ctime_ns,
        ino,
        ..FileState::unchecked()
    }
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
