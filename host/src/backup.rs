//! Verified backups, the policy's "backup procedures for critical files":
//! the copy `write --replace` makes before it replaces a file, and
//! `csvseal backup`. Bringing one back is a job of its own
//! ([`crate::jobs::restore`]).
//!
//! A backup of `DIR/NAME` is `BACKUP_DIR/NAME.YYYYMMDDTHHMMSS.NNNNNNNNNZ.bak`
//! (UTC, nanoseconds: names sort by age). It is made only from a source that
//! verifies, written like any sealed file (locked temp, fsync, read back and
//! compared by SHA-256, no-replace rename, directory fsync), and listed with
//! its SHA-256 in `BACKUP_DIR/MANIFEST.sha256` (`sha256sum` format), which is
//! itself replaced atomically under a lock on `BACKUP_DIR/.lock` (a file that
//! is never deleted, so every updater locks the same inode).

use std::io::Read;
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, File};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::error::{Error, Result};
use crate::report::VerifyReport;
use crate::sandbox::Sandbox;
use crate::signing::commit::SIGNATURE_LIMIT;
use crate::store::atomic_file::TempFile;
use crate::store::by_path::{Links, is_not_found, open_or_create_dir, read_small_text, split_path};
use crate::store::file_ops::FileOps;
use crate::store::naming::{SIGNATURE_SUFFIX, TEMP_SUFFIX, signature_name, temp_name};
use crate::store::temp_lock::lock_exclusive;
use crate::verify::{CHUNK_SIZE, read_full, start};

/// The backup directory's name under a target's directory, by default.
pub const DEFAULT_BACKUP_DIR: &str = ".csvseal-backup";
/// The manifest: one `SHA256  NAME` line per backup.
pub const MANIFEST: &str = "MANIFEST.sha256";
const LOCK: &str = ".lock";
const SUFFIX: &str = ".bak";

/// True for the temps csvseal makes in a backup directory: a backup's
/// (`{name}.{stamp}.bak.tmp`) and the manifest's. `recover` sweeps these and
/// no other name there.
pub(crate) fn is_backup_temp(name: &str) -> bool {
    let backup = |b: &str| b.strip_suffix(SUFFIX).is_some_and(|b| !b.is_empty());
    name == temp_name(MANIFEST)
        || name
            .strip_suffix(TEMP_SUFFIX)
            .is_some_and(|b| backup(b) || b.strip_suffix(SIGNATURE_SUFFIX).is_some_and(backup))
}

/// Copies `name`'s signature, if it has one, beside its backup `bname`
/// (as `{bname}.minisig`), durably, before the backup is listed.
fn backup_signature(
    ops: &dyn FileOps,
    dir_path: &Path,
    bdir: &Dir,
    bdir_path: &Path,
    name: &str,
    bname: &str,
) -> Result<()> {
    let src = dir_path.join(signature_name(name));
    let text = match read_small_text(&src, "read signature", SIGNATURE_LIMIT, Links::Refuse) {
        Ok(text) => text,
        Err(e) if is_not_found(&e) => return Ok(()),
        Err(e) => return Err(e),
    };
    let sig = signature_name(bname);
    let mut temp = TempFile::acquire(ops, bdir, bdir_path, &temp_name(&sig), None)?;
    temp.write_all(text.as_bytes())?;
    temp.sync()?;
    temp.commit(&sig).map(|_| ())
}

/// One backup, as the manifest lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BackupEntry {
    /// The backup file's path.
    pub path: PathBuf,
    /// SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
    /// Rows in it (when it was just made or checked).
    pub rows: Option<u64>,
}

/// Where backups go and how many to keep per file.
#[derive(Debug, Clone, Default)]
pub struct BackupPolicy {
    /// Default: `.csvseal-backup/` next to the file.
    pub dir: Option<PathBuf>,
    /// Keep only the newest N backups of each file (at least 1).
    pub keep: Option<usize>,
}

impl BackupPolicy {
    /// The backup directory for files in `dir`.
    pub fn dir_for(&self, dir: &Path) -> PathBuf {
        self.dir
            .clone()
            .unwrap_or_else(|| dir.join(DEFAULT_BACKUP_DIR))
    }
}

/// Copies `src` into the locked temp `temp`, verifying and hashing on the
/// way; then fsyncs it and checks that what is on disk hashes the same.
pub(crate) fn copy_verified(
    sandbox: &Sandbox,
    src: &mut dyn Read,
    src_path: &Path,
    temp: &mut TempFile<'_>,
) -> Result<(VerifyReport, String)> {
    let mut session = start(sandbox, None)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK_SIZE];
    loop {
        let n = read_full(src, &mut buf).map_err(|e| Error::io(src_path, "read", e))?;
        if n == 0 {
            break;
        }
        session.feed(&buf[..n])?;
        hasher.update(&buf[..n]);
        temp.write_all(&buf[..n])?;
    }
    let report = session.finish()?;
    if !report.valid {
        return Err(Error::SourceInvalid {
            path: src_path.to_owned(),
            report: Box::new(report),
        });
    }
    temp.sync()?;
    let sha = hex::encode(hasher.finalize());
    let mut back = temp.reopen_for_read()?;
    let on_disk = hash_reader(&mut back, &temp.path())?;
    if on_disk != sha {
        return Err(Error::io(
            temp.path(),
            "read back copy",
            std::io::Error::other("the copy on disk differs from what was written"),
        ));
    }
    Ok((report, sha))
}

fn hash_reader(r: &mut dyn Read, label: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK_SIZE];
    loop {
        let n = read_full(r, &mut buf).map_err(|e| Error::io(label, "read", e))?;
        if n == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buf[..n]);
    }
}

/// Reads the manifest as (name, sha256) pairs, in file order.
pub(crate) fn read_manifest(bdir: &Dir, bdir_path: &Path) -> Result<Vec<(String, String)>> {
    let text = match bdir.read_to_string(MANIFEST) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(Error::io(bdir_path.join(MANIFEST), "read manifest", e)),
    };
    Ok(text
        .lines()
        .filter_map(|l| {
            let (sha, name) = l.split_once("  ")?;
            (sha.len() == 64).then(|| (name.to_owned(), sha.to_owned()))
        })
        .collect())
}

/// Replaces the manifest atomically (locked temp, fsync, rename, dir fsync).
fn write_manifest(
    ops: &dyn FileOps,
    bdir: &Dir,
    bdir_path: &Path,
    entries: &[(String, String)],
) -> Result<()> {
    let mut temp = TempFile::acquire(ops, bdir, bdir_path, &temp_name(MANIFEST), None)?;
    let mut text = String::new();
    for (name, sha) in entries {
        text += &format!("{sha}  {name}\n");
    }
    temp.write_all(text.as_bytes())?;
    temp.sync()?;
    temp.commit_replacing(MANIFEST)
        .map_err(unconfirmed_backup)?;
    Ok(())
}

/// A backup (or its manifest entry) that is in place but not known to be
/// durable does not count: the job fails as an I/O error, so `--replace`
/// never replaces a file on the strength of it.
fn unconfirmed_backup(e: Error) -> Error {
    match e {
        Error::CommittedNotDurable { path, op, source } => Error::Io { path, op, source },
        e => e,
    }
}

/// Holds the backup directory's lock while the manifest is updated.
fn lock_backup_dir(ops: &dyn FileOps, bdir: &Dir, bdir_path: &Path) -> Result<File> {
    let f = ops
        .open_lock(bdir, LOCK)
        .map_err(|e| Error::io(bdir_path.join(LOCK), "open lock file", e))?;
    lock_exclusive(&f).map_err(|e| Error::io(bdir_path.join(LOCK), "lock", e))?;
    Ok(f)
}

/// Makes a verified backup of `name` in `dir`, prunes to `policy.keep`.
pub fn backup_in(
    ops: &dyn FileOps,
    sandbox: &Sandbox,
    dir: &Dir,
    dir_path: &Path,
    name: &str,
    policy: &BackupPolicy,
) -> Result<BackupEntry> {
    let src_path = dir_path.join(name);
    match dir.symlink_metadata(name) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(Error::Usage(format!(
                "{}: not a regular file; only sealed files are backed up",
                src_path.display()
            )));
        }
        Err(e) => return Err(Error::io(&src_path, "open", e)),
    }
    let bdir_path = policy.dir_for(dir_path);
    let bdir = open_or_create_dir(ops, &bdir_path)?;
    let stamp = OffsetDateTime::now_utc()
        .format(format_description!(
            "[year][month][day]T[hour][minute][second].[subsecond digits:9]Z"
        ))
        .map_err(|e| Error::Usage(format!("cannot format the time: {e}")))?;
    let bname = format!("{name}.{stamp}{SUFFIX}");
    let mut src = dir
        .open(name)
        .map_err(|e| Error::io(&src_path, "open", e))?;
    let mut temp = TempFile::acquire(ops, &bdir, &bdir_path, &temp_name(&bname), None)?;
    let (report, sha) = copy_verified(sandbox, &mut src, &src_path, &mut temp)?;
    // The signature first: a listed backup always has its signature.
    backup_signature(ops, dir_path, &bdir, &bdir_path, name, &bname)?;
    let path = temp.commit(&bname).map_err(unconfirmed_backup)?;

    let _lock = lock_backup_dir(ops, &bdir, &bdir_path)?;
    let mut entries = read_manifest(&bdir, &bdir_path)?;
    entries.push((bname, sha.clone()));
    let mut pruned = vec![];
    if let Some(keep) = policy.keep {
        let prefix = format!("{name}.");
        let mut mine: Vec<String> = entries
            .iter()
            .filter(|(n, _)| is_backup_of(n, &prefix))
            .map(|(n, _)| n.clone())
            .collect();
        mine.sort();
        let excess = mine.len().saturating_sub(keep.max(1));
        pruned = mine[..excess].to_vec();
        entries.retain(|(n, _)| !pruned.contains(n));
    }
    write_manifest(ops, &bdir, &bdir_path, &entries)?;
    // Listed no more, so removing them now is safe even if we die midway.
    for n in &pruned {
        let _ = ops.remove(&bdir, n);
        let _ = ops.remove(&bdir, &signature_name(n));
    }
    if !pruned.is_empty() {
        let _ = ops.sync_dir(&bdir);
    }
    Ok(BackupEntry {
        path,
        sha256: sha,
        rows: Some(report.rows),
    })
}

/// Whether `backup` is `{prefix}YYYYMMDDTHHMMSS.NNNNNNNNNZ.bak`.
pub(crate) fn is_backup_of(backup: &str, prefix: &str) -> bool {
    let Some(stamp) = backup
        .strip_prefix(prefix)
        .and_then(|r| r.strip_suffix(SUFFIX))
    else {
        return false;
    };
    let b = stamp.as_bytes();
    b.len() == 26
        && b[8] == b'T'
        && b[15] == b'.'
        && b[25] == b'Z'
        && b.iter()
            .enumerate()
            .all(|(i, c)| matches!(i, 8 | 15 | 25) || c.is_ascii_digit())
}

/// Checks a backup against its manifest SHA-256 and the verifier; the
/// reason it is unusable otherwise.
pub(crate) fn check_backup(
    sandbox: &Sandbox,
    bdir: &Dir,
    bpath: &Path,
    bname: &str,
    sha: &str,
) -> std::result::Result<(), String> {
    let mut f = bdir.open(bname).map_err(|e| format!("cannot open: {e}"))?;
    let got = hash_reader(&mut f, bpath).map_err(|e| e.to_string())?;
    if got != sha {
        return Err(format!("SHA-256 {got} differs from the manifest's {sha}"));
    }
    let mut f = bdir.open(bname).map_err(|e| format!("cannot open: {e}"))?;
    let r =
        crate::verify::verify_reader(sandbox, None, &mut f, bpath).map_err(|e| e.to_string())?;
    if !r.valid {
        return Err(format!("does not verify ({} error(s))", r.error_count));
    }
    Ok(())
}

/// `csvseal backup FILE`: a verified backup of one file.
pub fn backup_file(
    ops: &dyn FileOps,
    sandbox: &Sandbox,
    file: &Path,
    policy: &BackupPolicy,
) -> Result<BackupEntry> {
    let (dir_path, name) = split_path(file)?;
    let dir = Dir::open_ambient_dir(&dir_path, ambient_authority())
        .map_err(|e| Error::io(&dir_path, "open directory", e))?;
    backup_in(ops, sandbox, &dir, &dir_path, &name, policy)
}
