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
//! With public keys (`audit --key`), a fifth: **signature failure**. Every
//! sealed file's signature (`NAME.csv.minisig`) is checked by csvseal's own
//! component, in the same read that verifies the file; each series' chain
//! of signed links is walked in name order (a file deleted, inserted,
//! reordered or swapped breaks a link, named by both files); a signature
//! whose CSV is gone (and that no live writer is about to join) is an
//! orphan. Each series' head (its newest file and that file's BLAKE2b-512)
//! is reported, to be recorded elsewhere: dropping the newest files of a
//! series shows only against a recorded head.
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
use crate::report::{ChainLink, FileFacts, SignatureReport, SignatureStatus, SignedClaims};
use crate::sandbox::{Sandbox, SignatureCheckSession};
use crate::signing::minisig::PrehashReader;
use crate::store::by_path;
use crate::store::naming::{is_final_temp, signed_file_of, temp_name};
use crate::store::temp_lock::try_lock_exclusive;
use crate::verify::signed::SIGNATURE_FILE_LIMIT;
use crate::verify::{Schema, TrustedKeys, verify_reader};

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
    SignatureFailure,
}

impl AlertClass {
    /// All classes, in exit-code bit order.
    pub const ALL: [AlertClass; 5] = [
        AlertClass::IntegrityFailure,
        AlertClass::SequenceGap,
        AlertClass::TempFileNotCleanedUp,
        AlertClass::WriteTimeout,
        AlertClass::SignatureFailure,
    ];

    /// The class's stable name (output, JSON, the `class` metric label).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertClass::IntegrityFailure => "integrity-failure",
            AlertClass::SequenceGap => "sequence-gap",
            AlertClass::TempFileNotCleanedUp => "temp-file-not-cleaned-up",
            AlertClass::WriteTimeout => "write-timeout",
            AlertClass::SignatureFailure => "signature-failure",
        }
    }

    /// The class's bit in the audit exit code (see docs/operations.md).
    pub fn bit(self) -> i32 {
        match self {
            AlertClass::IntegrityFailure => 1,
            AlertClass::SequenceGap => 2,
            AlertClass::TempFileNotCleanedUp => 4,
            AlertClass::WriteTimeout => 8,
            AlertClass::SignatureFailure => 16,
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
    /// Check every file's signature against these keys, walk each series'
    /// chain of signed links and report its head (`audit --key`).
    pub keys: Option<TrustedKeys>,
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
    /// With keys: each series' newest file, in series name order.
    pub heads: Vec<SeriesHead>,
}

/// A series' head: its newest file and that file's digest, to be recorded
/// outside the directory (dropping the newest files of a series shows only
/// against a recorded head).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeriesHead {
    pub series: String,
    pub file: String,
    /// BLAKE2b-512 of the file's bytes, lowercase hex (what `b2sum`
    /// prints); none when the file could not be read.
    pub blake2b: Option<String>,
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
    /// The identity of its signature file when it was checked (none: it
    /// had none). Part of the reuse condition, as the file's own is.
    #[serde(default)]
    signature_file: Option<Identity>,
    /// The signature's outcome, when keys were given.
    #[serde(default)]
    signature: Option<SignatureState>,
}

/// What identifies one version of a file: changed, it is checked again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub size: u64,
    pub mtime_ns: i128,
    /// The inode change time (0 for an object).
    pub ctime_ns: i128,
    /// The inode, or for an object a hash of its ETag.
    pub ino: u64,
}

/// A file's signature check, as remembered between audits: enough to walk
/// the chain without reading the file again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SignatureState {
    status: SignatureStatus,
    key_id: Option<String>,
    /// Why, when not valid.
    message: String,
    /// BLAKE2b-512 of the file's bytes, lowercase hex.
    blake2b: String,
    /// The chain link the signature states (authenticated when valid).
    link: SignedLink,
}

/// The chain link a signature states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
enum SignedLink {
    /// No csvseal statement (a plain minisign signature, or none valid).
    NoStatement,
    /// Signed as the first file of its series.
    First,
    /// Signed as following this file.
    Follows { file_name: String, blake2b: String },
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    version: u32,
    /// SHA-256 of the schema the results were checked against ("" for none).
    schema_sha256: String,
    /// SHA-256 of the public key texts signatures were checked against
    /// ("" for none).
    #[serde(default)]
    keys_sha256: String,
    /// `csvseal_writes_failed_total{reason="timeout"}` at the last audit.
    timeouts_seen: f64,
    files: BTreeMap<String, FileState>,
}

const STATE_VERSION: u32 = 3;

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
    /// A signature file (`NAME.csv.minisig`, a regular file) and its
    /// identity.
    Signature { name: String, id: Identity },
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
    /// Verifies one file of [`Self::entries`] and checks its signature
    /// against `keys` (`builtin`: csvseal's own component). The report is
    /// the file's own; the signature's outcome comes beside it.
    fn verify_signed(
        &self,
        _builtin: &Sandbox,
        _schema: Option<&Schema>,
        _keys: &TrustedKeys,
        _name: &str,
        path: &Path,
    ) -> Result<(crate::VerifyReport, SignatureReport)> {
        Err(Error::Usage(format!(
            "{}: signatures are checked by `audit --key` in local directories only",
            path.display()
        )))
    }
    /// Whether the signature of `csv` is an orphan: `csv` still does not
    /// exist and no live writer holds its temp (about to commit it).
    fn is_orphan(&self, _csv: &str) -> bool {
        true
    }
    /// The audit's plan, once, before the first [`Self::verify`]: the files
    /// of [`Self::entries`] it will verify (new, changed or due for a
    /// scrub), in the order it asks for them. A source that verifies
    /// elsewhere (other processes or machines) verifies them all here; an
    /// error stops the audit before anything is reported or saved.
    fn will_verify(&self, _files: &[ToVerify]) -> Result<()> {
        Ok(())
    }
}

/// A file the audit will verify ([`AuditSource::will_verify`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToVerify {
    /// Its name in the location.
    pub name: String,
    /// The path (or URL) reports give.
    pub path: PathBuf,
    /// Its identity as listed: whoever verifies it checks it is still this.
    pub id: Identity,
}

/// Largest state file read: ~400 bytes a file (~900 with signatures: two
/// BLAKE2b digests and a link), so room for ~70,000 to ~160,000 files.
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
    /// The identities of the signature files listed, by their CSV's name.
    signatures: RefCell<BTreeMap<String, Identity>>,
}

impl<'a> LocalDir<'a> {
    fn open(path: &'a Path) -> Result<Self> {
        let dir = Dir::open_ambient_dir(path, ambient_authority())
            .map_err(|e| Error::io(path, "open directory", e))?;
        Ok(LocalDir {
            path,
            dir,
            opened: RefCell::default(),
            signatures: RefCell::default(),
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
            } else if let Some(csv) = signed_file_of(&name) {
                // Identified on an open descriptor, like the CSVs, but not
                // kept open: when read, it must still be the file listed.
                if let Ok(Some((_, id))) = self.open_signature(&name) {
                    self.signatures.borrow_mut().insert(csv.to_owned(), id);
                    out.push(Entry::Signature { name, id });
                }
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

    fn verify_signed(
        &self,
        builtin: &Sandbox,
        schema: Option<&Schema>,
        keys: &TrustedKeys,
        name: &str,
        path: &Path,
    ) -> Result<(crate::VerifyReport, SignatureReport)> {
        let file = self.opened.borrow_mut().remove(name).ok_or_else(|| {
            Error::io(
                path,
                "open",
                std::io::Error::other("not listed by this audit"),
            )
        })?;
        let listed = self.signatures.borrow_mut().remove(name);
        let text = match listed {
            None => None,
            Some(id) => {
                let sig = crate::store::naming::signature_name(name);
                let changed = || {
                    Error::io(
                        signature_path(path),
                        "read signature",
                        std::io::Error::other("changed while the audit ran"),
                    )
                };
                match self.open_signature(&sig) {
                    Ok(Some((file, now))) if now == id => Some(read_signature_text(file, path)?),
                    Ok(_) => return Err(changed()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(changed()),
                    Err(e) => return Err(Error::io(signature_path(path), "open signature", e)),
                }
            }
        };
        verify_with_signature(builtin, schema, keys, file, name, path, text)
    }

    fn is_orphan(&self, csv: &str) -> bool {
        // A writer commits the signature, then the CSV, holding its temp's
        // lock throughout: a held lock is a commit under way.
        let temp = temp_name(csv);
        // Only a regular file is opened (a FIFO planted there would block).
        let held = self.dir.symlink_metadata(&temp).is_ok_and(|m| m.is_file())
            && self
                .dir
                .open(&temp)
                .is_ok_and(|f| try_lock_exclusive(&f).is_ok_and(|got| !got));
        // Looked at after the lock: a CSV committed meanwhile is no orphan.
        !held && self.dir.symlink_metadata(csv).is_err()
    }
}

impl LocalDir<'_> {
    /// Opens the signature file `name` without following a link or blocking
    /// on a FIFO, and identifies it; `None` when it is not a regular file.
    fn open_signature(&self, name: &str) -> std::io::Result<Option<(std::fs::File, Identity)>> {
        use cap_std::fs::{OpenOptions, OpenOptionsExt};
        use rustix::fs::OFlags;
        let mut options = OpenOptions::new();
        options
            .read(true)
            .custom_flags((OFlags::NONBLOCK | OFlags::NOFOLLOW).bits() as i32);
        let file = match self.dir.open_with(name, &options) {
            Ok(f) => f.into_std(),
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        Ok(meta.is_file().then(|| (file, identify(&meta).identity())))
    }
}

/// A signature file's text, bounded. One that is not UTF-8 is passed on
/// lossily: the check then reports it malformed.
fn read_signature_text(file: std::fs::File, csv: &Path) -> Result<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    file.take(SIGNATURE_FILE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(signature_path(csv), "read signature", e))?;
    if bytes.len() as u64 > SIGNATURE_FILE_LIMIT {
        // Not a minisign signature: the check reports it malformed.
        return Ok(String::new());
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn signature_path(csv: &Path) -> PathBuf {
    let mut p = csv.as_os_str().to_owned();
    p.push(crate::store::naming::SIGNATURE_SUFFIX);
    PathBuf::from(p)
}

/// A reader that feeds everything read through it to a signature check.
struct SignatureTee<'a, R> {
    inner: R,
    session: &'a mut SignatureCheckSession,
    failed: Option<Error>,
}

impl<R: std::io::Read> std::io::Read for SignatureTee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0
            && let Err(e) = self.session.feed(&buf[..n])
        {
            self.failed = Some(e);
            return Err(std::io::Error::other("the signature check failed"));
        }
        Ok(n)
    }
}

/// Verifies `file` and checks its signature `text` (none: it has none) in
/// one read: the bytes verified are the bytes whose signature is checked.
/// The whole file is read even when the verifier stops early.
fn verify_with_signature(
    builtin: &Sandbox,
    schema: Option<&Schema>,
    keys: &TrustedKeys,
    file: std::fs::File,
    name: &str,
    path: &Path,
    text: Option<String>,
) -> Result<(crate::VerifyReport, SignatureReport)> {
    let drain = |r: &mut dyn std::io::Read| {
        std::io::copy(r, &mut std::io::sink()).map_err(|e| Error::io(path, "read", e))
    };
    let Some(text) = text else {
        let mut reader = PrehashReader::new(file);
        let report = verify_reader(builtin, schema, &mut reader, path)?;
        drain(&mut reader)?;
        let mut missing = crate::verify::signed::missing(name);
        missing.blake2b = Some(hex::encode(reader.finish()));
        return Ok((report, missing));
    };
    let mut session = builtin.signature_check(&text, keys.texts())?;
    let mut tee = SignatureTee {
        inner: file,
        session: &mut session,
        failed: None,
    };
    let report = verify_reader(builtin, schema, &mut tee, path).and_then(|r| {
        drain(&mut tee)?;
        Ok(r)
    });
    if let Some(e) = tee.failed.take() {
        return Err(e);
    }
    let report = report?;
    let facts = FileFacts {
        file_name: name.to_owned(),
        rows: report.rows,
        first_seq: report.first_seq,
        last_seq: report.last_seq,
    };
    let signature = session.finish(Some(&facts))?;
    Ok((report, signature))
}

/// The local directory `dir` as an [`AuditSource`] (what [`audit`] audits),
/// for a caller that wraps it (to verify elsewhere).
pub fn local_source(dir: &Path) -> Result<Box<dyn AuditSource + '_>> {
    Ok(Box::new(LocalDir::open(dir)?))
}

/// The identity of a local file, as the audit records it.
pub fn identity_of(meta: &std::fs::Metadata) -> Identity {
    identify(meta).identity()
}

/// The exit code base of `csvseal audit` when alerts were raised:
/// `ALERT_BASE + bits` (see docs/operations.md).
pub const ALERT_BASE: i32 = 32;

impl AuditReport {
    /// The exit code for this report: 0, or [`ALERT_BASE`] plus each
    /// class's bit.
    pub fn exit_code(&self) -> i32 {
        let bits = self.classes().iter().fold(0, |acc, c| acc | c.bit());
        if bits == 0 { 0 } else { ALERT_BASE + bits }
    }

    /// The document `csvseal audit --json` prints for the audit of `dir`
    /// (with `heads` when signatures were checked).
    pub fn json_document(&self, dir: &Path, with_heads: bool) -> serde_json::Value {
        let classes: Vec<&str> = self.classes().iter().map(|c| c.as_str()).collect();
        let counts: serde_json::Map<String, serde_json::Value> = AlertClass::ALL
            .iter()
            .map(|c| (c.as_str().to_owned(), serde_json::json!(self.count(*c))))
            .collect();
        let mut doc = serde_json::json!({
            "ok": self.alerts.is_empty(),
            "dir": dir,
            "exit_code": self.exit_code(),
            "classes": classes,
            "alert_counts": counts,
            "alerts": self.alerts,
            "files": self.files,
            "verified": self.verified,
            "unchanged": self.unchanged,
            "scrubbed": self.scrubbed,
            "scrub_deferred": self.scrub_deferred,
            "temp_files": self.temp_files,
            "warnings": self.warnings,
        });
        if with_heads {
            doc["heads"] = serde_json::json!(self.heads);
        }
        doc
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
    let keys = opts.keys.as_ref();
    if keys.is_some() && !sandbox.is_builtin() {
        return Err(Error::Usage(
            "signatures are checked by csvseal's own component only".into(),
        ));
    }
    let keys_sha = keys.map(keys_digest).unwrap_or_default();
    let old = load_state(state.as_ref(), &mut report.warnings);
    let reuse = old.version == STATE_VERSION
        && old.schema_sha256 == schema_sha
        && old.keys_sha256 == keys_sha;
    let mut new = State {
        version: STATE_VERSION,
        schema_sha256: schema_sha,
        keys_sha256: keys_sha,
        timeouts_seen: old.timeouts_seen,
        files: BTreeMap::new(),
    };

    let now = SystemTime::now();
    let now_secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());

    // Pass 1: temp files; sealed files and signatures identified.
    let mut sealed: Vec<(String, PathBuf, FileState)> = Vec::new();
    // Signature files by their CSV's name, and the CSVs found (readable or
    // not), for orphans.
    let mut signatures: BTreeMap<String, Identity> = BTreeMap::new();
    let mut csv_names: BTreeSet<String> = BTreeSet::new();
    // name → (path, state) of every sealed file, for the chain walk (none:
    // it could not be verified, so its links are unknown).
    let mut chain: BTreeMap<String, (PathBuf, Option<FileState>)> = BTreeMap::new();
    for entry in source.entries(&mut report.warnings)? {
        match entry {
            Entry::Signature { name, id } => {
                if let Some(csv) = signed_file_of(&name) {
                    signatures.insert(csv.to_owned(), id);
                }
            }
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
                if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                    csv_names.insert(name.to_owned());
                    chain.insert(name.to_owned(), (path.clone(), None));
                }
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
            } => {
                csv_names.insert(name.clone());
                sealed.push((
                    name,
                    path,
                    FileState {
                        size,
                        mtime_ns,
                        ctime_ns,
                        ino,
                        ..FileState::unchecked()
                    },
                ))
            }
        }
    }
    // A file's signature identity is part of its own: a changed signature
    // is checked again, even beside an unchanged file.
    if keys.is_some() {
        for (name, _, id) in &mut sealed {
            id.signature_file = signatures.get(name.as_str()).copied();
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

    // The plan: what will be verified (no cached result, or due), for a
    // source that verifies elsewhere.
    let plan: Vec<ToVerify> = sealed
        .iter()
        .filter(|(name, _, id)| {
            remembered(name, id)
                .filter(|_| !scrub.contains(name.as_str()))
                .is_none()
        })
        .map(|(name, path, id)| ToVerify {
            name: name.clone(),
            path: path.clone(),
            id: id.identity(),
        })
        .collect();
    source.will_verify(&plan)?;

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
                    let verified = match keys {
                        Some(keys) => source
                            .verify_signed(sandbox, opts.schema.as_ref(), keys, &name, &path)
                            .map(|(r, s)| (r, Some(s))),
                        None => source
                            .verify(sandbox, opts.schema.as_ref(), &name, &path)
                            .map(|r| (r, None)),
                    };
                    match verified {
                        Ok((r, signature)) => FileState {
                            checked_at: now_secs,
                            valid: r.valid,
                            rows: r.rows,
                            first_seq: r.first_seq,
                            last_seq: r.last_seq,
                            gap_count: r.gap_count,
                            problem: r.errors.first().map(|e| e.to_string()).or_else(|| {
                                (!r.valid).then(|| format!("{} error(s)", r.error_count))
                            }),
                            signature: signature.map(SignatureState::from_report),
                            ..id
                        },
                        Err(e) => {
                            // Not remembered: retried next time.
                            chain.insert(name.clone(), (path.clone(), None));
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
        if let Some(sig) = &fs.signature
            && sig.status != SignatureStatus::Valid
        {
            report.alerts.push(Alert {
                class: AlertClass::SignatureFailure,
                file: Some(path.clone()),
                message: format!(
                    "{}: {}",
                    sig.status.error_kind().map_or("signature", |k| k.as_str()),
                    sig.message
                ),
            });
        }
        chain.insert(name.clone(), (path.clone(), Some(fs.clone())));
        new.files.insert(name.clone(), fs);
    }

    if keys.is_some() {
        for (csv, _) in signatures.iter().filter(|(c, _)| !csv_names.contains(*c)) {
            if source.is_orphan(csv) {
                report.alerts.push(Alert {
                    class: AlertClass::SignatureFailure,
                    file: Some(opts.dir.join(crate::store::naming::signature_name(csv))),
                    message: format!(
                        "orphan signature: {csv} is gone (deleted, or renamed) and no writer is committing it"
                    ),
                });
            }
        }
        report.heads = walk_chains(sandbox, &chain, &mut report.alerts, &mut report.warnings)?;
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

/// SHA-256 over the key texts (each length-prefixed), for the reuse
/// condition: results checked under other keys are not reused.
fn keys_digest(keys: &TrustedKeys) -> String {
    let mut h = Sha256::new();
    for text in keys.texts() {
        h.update((text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Walks each series' chain of signed links in name order, from the files'
/// (fresh or remembered) signature checks: each valid csvseal signature
/// must name the file before it (name and BLAKE2b-512), or none for the
/// series' first file; `builtin` (csvseal's component) judges each link. A
/// break is a signature failure on the file after it, naming both files.
/// After a file whose digest is unknown (it could not be read) the next
/// link is not judged. Returns each series' head.
fn walk_chains(
    builtin: &Sandbox,
    files: &BTreeMap<String, (PathBuf, Option<FileState>)>,
    alerts: &mut Vec<Alert>,
    warnings: &mut Vec<String>,
) -> Result<Vec<SeriesHead>> {
    // base → the link the next file must state (None: unknown).
    let mut expected: BTreeMap<&str, Option<Option<ChainLink>>> = BTreeMap::new();
    let mut heads: BTreeMap<&str, SeriesHead> = BTreeMap::new();
    for (name, (path, fs)) in files {
        let Some(base) = series_base(name) else {
            continue;
        };
        let sig = fs.as_ref().and_then(|f| f.signature.as_ref());
        let before = expected.get(base).cloned().unwrap_or(Some(None));
        if let (Some(fs), Some(sig), Some(before)) = (fs, sig, before)
            && sig.status == SignatureStatus::Valid
        {
            let previous = match &sig.link {
                SignedLink::NoStatement => {
                    warnings.push(format!(
                        "{}: signed without csvseal's statement (plain minisign): it has no chain data",
                        path.display()
                    ));
                    None
                }
                SignedLink::First => Some(None),
                SignedLink::Follows { file_name, blake2b } => Some(Some(ChainLink {
                    file_name: file_name.clone(),
                    blake2b: blake2b.clone(),
                })),
            };
            if let Some(previous) = previous {
                // A valid signature's claims match the file: its name, rows,
                // seqs and digest are those remembered.
                let claims = SignedClaims {
                    file_name: name.clone(),
                    rows: fs.rows,
                    first_seq: fs.first_seq,
                    last_seq: fs.last_seq,
                    blake2b: sig.blake2b.clone(),
                    previous,
                };
                if let Err(why) = builtin.check_link(&claims, before.as_ref())? {
                    alerts.push(Alert {
                        class: AlertClass::SignatureFailure,
                        file: Some(path.clone()),
                        message: format!("series {base}: chain broken: {why}"),
                    });
                }
            }
        }
        let blake2b = sig.map(|s| s.blake2b.clone());
        expected.insert(
            base,
            blake2b.clone().map(|blake2b| {
                Some(ChainLink {
                    file_name: name.clone(),
                    blake2b,
                })
            }),
        );
        heads.insert(
            base,
            SeriesHead {
                series: base.to_owned(),
                file: name.clone(),
                blake2b,
            },
        );
    }
    Ok(heads.into_values().collect())
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
            signature_file: None,
            signature: None,
        }
    }

    fn identity(&self) -> Identity {
        Identity {
            size: self.size,
            mtime_ns: self.mtime_ns,
            ctime_ns: self.ctime_ns,
            ino: self.ino,
        }
    }

    /// Whether `id` (a fresh identification) is the file this state was
    /// taken from, unchanged, with its signature file unchanged too.
    fn same_file_as(&self, id: &FileState) -> bool {
        self.identity() == id.identity() && self.signature_file == id.signature_file
    }
}

impl SignatureState {
    fn from_report(r: SignatureReport) -> SignatureState {
        let link = match (r.status, r.claims) {
            (SignatureStatus::Valid, Some(c)) => match c.previous {
                None => SignedLink::First,
                Some(p) => SignedLink::Follows {
                    file_name: p.file_name,
                    blake2b: p.blake2b,
                },
            },
            _ => SignedLink::NoStatement,
        };
        SignatureState {
            status: r.status,
            key_id: r.key_id,
            message: r.message,
            blake2b: r.blake2b.unwrap_or_default(),
            link,
        }
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

    fn signature(status: SignatureStatus, previous: Option<Option<&str>>) -> SignatureReport {
        SignatureReport {
            status,
            key_id: Some("0123456789ABCDEF".into()),
            trusted_comment: None,
            claims: previous.map(|p| SignedClaims {
                file_name: "t_20240911_000000.csv".into(),
                rows: 1,
                first_seq: Some(2),
                last_seq: Some(2),
                blake2b: "bb".into(),
                previous: p.map(|name| ChainLink {
                    file_name: name.into(),
                    blake2b: "aa".into(),
                }),
            }),
            blake2b: Some("bb".into()),
            message: String::new(),
        }
    }

    #[test]
    fn remembered_links() {
        let link = |s, p| SignatureState::from_report(signature(s, p)).link;
        assert_eq!(
            link(SignatureStatus::Valid, Some(Some("t_20240910_000000.csv"))),
            SignedLink::Follows {
                file_name: "t_20240910_000000.csv".into(),
                blake2b: "aa".into()
            }
        );
        assert_eq!(link(SignatureStatus::Valid, Some(None)), SignedLink::First);
        // Plain minisign: no statement.
        assert_eq!(link(SignatureStatus::Valid, None), SignedLink::NoStatement);
        // Claims not authenticated are not remembered as a link.
        assert_eq!(
            link(
                SignatureStatus::Invalid,
                Some(Some("x_20240910_000000.csv"))
            ),
            SignedLink::NoStatement
        );
        let s = SignatureState::from_report(signature(SignatureStatus::UnknownKey, None));
        let back: SignatureState =
            serde_json::from_slice(&serde_json::to_vec(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn a_changed_signature_file_is_a_changed_file() {
        let id = Identity {
            size: 10,
            mtime_ns: 1,
            ctime_ns: 2,
            ino: 3,
        };
        let with = |sig: Option<Identity>| FileState {
            size: id.size,
            mtime_ns: id.mtime_ns,
            ctime_ns: id.ctime_ns,
            ino: id.ino,
            signature_file: sig,
            ..FileState::unchecked()
        };
        assert!(with(Some(id)).same_file_as(&with(Some(id))));
        assert!(!with(Some(id)).same_file_as(&with(None)));
        assert!(!with(None).same_file_as(&with(Some(id))));
        let touched = Identity { ctime_ns: 5, ..id };
        assert!(!with(Some(id)).same_file_as(&with(Some(touched))));
    }

    #[test]
    fn key_sets_are_told_apart() {
        use crate::signing::keys::SecretKey;
        let sb = Sandbox::builtin(crate::sandbox::Limits::default()).unwrap();
        let text = || SecretKey::generate().unwrap().public().to_minisign_text();
        let (a, b) = (text(), text());
        let set = |t: Vec<String>| keys_digest(&TrustedKeys::from_texts(&sb, t).unwrap());
        assert_eq!(set(vec![a.clone()]), set(vec![a.clone()]));
        assert_ne!(set(vec![a.clone()]), set(vec![b.clone()]));
        assert_ne!(set(vec![a.clone()]), set(vec![a.clone(), b.clone()]));
        // The same bytes split differently are another set.
        let joined = format!("{a}{b}");
        assert_ne!(set(vec![joined]), set(vec![a, b]));
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
