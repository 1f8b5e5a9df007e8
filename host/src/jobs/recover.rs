//! The policy's recovery procedure for a directory: remove temp files whose
//! writer is gone, never one a live writer holds, and re-verify every final
//! file. Only names csvseal makes are temps here (`{name}.csv.tmp`, and in
//! the backup directory its backups' and manifest's temps): a user's
//! `notes.tmp` is not csvseal's to remove.

use std::io::Seek;
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use serde::Serialize;

use crate::backup::{DEFAULT_BACKUP_DIR, is_backup_temp};
use crate::error::{Error, Result};
use crate::report::VerifyReport;
use crate::sandbox::Sandbox;
use crate::signing::commit::SIGNATURE_LIMIT;
use crate::signing::minisig::PrehashReader;
use crate::signing::statement::stated_blake2b;
use crate::store::atomic_file::TempFile;
use crate::store::by_path::{Links, read_small_text};
use crate::store::file_ops::FileOps;
use crate::store::naming::{
    FINAL_SUFFIX, SIGNATURE_SUFFIX, TEMP_SUFFIX, is_final_temp, is_signature_temp, signature_name,
    signed_file_of, temp_name,
};
use crate::store::temp_lock::{Sweep, names_file, sweep_if_stale, try_lock_exclusive};
use crate::verify::verify_reader;

/// A temp file that was left in place, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    pub path: PathBuf,
    pub reason: String,
}

/// A final file that does not verify.
#[derive(Debug, Clone, Serialize)]
pub struct Invalid {
    pub path: PathBuf,
    pub report: Box<VerifyReport>,
}

/// A file that could not be examined.
#[derive(Debug, Clone, Serialize)]
pub struct Unreadable {
    pub path: PathBuf,
    pub error: String,
}

/// What [`recover_dir`] did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecoverReport {
    pub dry_run: bool,
    /// Stale temp files removed (in a dry run: that would be removed).
    pub removed: Vec<PathBuf>,
    /// Temp files left alone: a live writer holds them, or they are not
    /// regular files.
    pub kept: Vec<Kept>,
    /// Final `.csv` files that verified.
    pub verified: Vec<PathBuf>,
    /// Final `.csv` files that did not verify: restore them from a backup
    /// (`csvseal restore`) or salvage them.
    pub invalid: Vec<Invalid>,
    /// Files that could not be examined.
    pub unreadable: Vec<Unreadable>,
    /// Signatures whose CSV was never committed (a writer died between the
    /// two renames), removed (in a dry run: that would be removed).
    pub orphan_signatures: Vec<PathBuf>,
    /// Commits finished: a writer died between its two renames, leaving
    /// the new signature in place and the whole temp it signs, which was
    /// verified and renamed over the file (in a dry run: would be).
    pub completed: Vec<PathBuf>,
}

impl RecoverReport {
    /// True when every final file verified and nothing failed.
    pub fn clean(&self) -> bool {
        self.invalid.is_empty() && self.unreadable.is_empty()
    }

    /// Records a final file's verification: verified, invalid or unreadable.
    pub fn record(&mut self, path: PathBuf, verified: Result<VerifyReport>) {
        match verified {
            Ok(r) if r.valid => self.verified.push(path),
            Ok(r) => self.invalid.push(Invalid {
                path,
                report: Box::new(r),
            }),
            Err(e) => self.unreadable.push(Unreadable {
                path,
                error: e.to_string(),
            }),
        }
    }
}

/// Sweeps `dir` and its backup directory, `backup_dir` or by default
/// `dir/.csvseal-backup` (no other subdirectory): every temp csvseal makes
/// whose lock is free is removed (`*.csv.tmp` in `dir`; see
/// [`is_backup_temp`] for the backup directory), every `*.csv` in `dir` is
/// verified. Other files are left alone, whatever their names. Names are
/// visited in sorted order. A `backup_dir` given must exist; the default
/// one may not.
pub fn recover_dir(
    ops: &dyn FileOps,
    sandbox: &Sandbox,
    dir_path: &Path,
    backup_dir: Option<&Path>,
    dry_run: bool,
) -> Result<RecoverReport> {
    let dir = Dir::open_ambient_dir(dir_path, ambient_authority())
        .map_err(|e| Error::io(dir_path, "open directory", e))?;
    let mut report = RecoverReport {
        dry_run,
        ..RecoverReport::default()
    };
    // Backups made by --replace live in the backup directory: sweep its
    // temps too (backups there are checked by `restore`, not here).
    let bdir_path = backup_dir.map_or_else(|| dir_path.join(DEFAULT_BACKUP_DIR), Path::to_owned);
    let bdir = match Dir::open_ambient_dir(&bdir_path, ambient_authority()) {
        Ok(bdir) => Some(bdir),
        Err(e) if backup_dir.is_some() => {
            return Err(Error::io(&bdir_path, "open backup directory", e));
        }
        Err(_) => None,
    };
    if let Some(bdir) = bdir {
        let names = sorted_names(&bdir, &bdir_path)?;
        for name in &names {
            if is_backup_temp(name) {
                sweep_one(ops, &bdir, &bdir_path, name, &mut report);
            }
        }
        // A backup's signature is committed just before the backup.
        for name in &names {
            if let Some(backup) = name
                .strip_suffix(SIGNATURE_SUFFIX)
                .filter(|b| b.ends_with(".bak"))
            {
                sweep_orphan_signature(ops, &bdir, &bdir_path, name, backup, &mut report);
            }
        }
    }
    let names = sorted_names(&dir, dir_path)?;
    for name in &names {
        let (name, path) = (name.as_str(), dir_path.join(name));
        if is_final_temp(name)
            && finish_signed_commit(ops, sandbox, &dir, dir_path, name, &mut report)
        {
            continue;
        }
        if is_final_temp(name) || is_signature_temp(name) {
            sweep_one(ops, &dir, dir_path, name, &mut report);
        } else if name.ends_with(FINAL_SUFFIX) {
            match dir.symlink_metadata(name) {
                Ok(m) if m.is_file() => {}
                _ => continue,
            }
            let verified = dir
                .open(name)
                .map_err(|e| Error::io(&path, "open", e))
                .and_then(|mut f| verify_reader(sandbox, None, &mut f, &path));
            report.record(path, verified);
        }
    }
    for name in &names {
        if let Some(csv) = signed_file_of(name) {
            sweep_orphan_signature(ops, &dir, dir_path, name, csv, &mut report);
        }
    }
    Ok(report)
}

/// Removes the signature `name` if its CSV `csv` does not exist. Decided
/// under the CSV temp's lock, which a writer holds from before it commits
/// the signature until after it commits the CSV: so a signature about to be
/// joined by its CSV is never taken for an orphan.
fn sweep_orphan_signature(
    ops: &dyn FileOps,
    dir: &Dir,
    dir_path: &Path,
    name: &str,
    csv: &str,
    report: &mut RecoverReport,
) {
    let path = dir_path.join(name);
    if dir.symlink_metadata(csv).is_ok() || !dir.symlink_metadata(name).is_ok_and(|m| m.is_file()) {
        return;
    }
    let temp = temp_name(csv);
    if report.dry_run {
        match dir.symlink_metadata(&temp) {
            Ok(_) => report.kept.push(Kept {
                path,
                reason: format!("its CSV's temp {temp} exists: a writer may be committing it"),
            }),
            Err(_) => report.orphan_signatures.push(path),
        }
        return;
    }
    let lock = match TempFile::acquire(ops, dir, dir_path, &temp, None) {
        Ok(lock) => lock,
        Err(Error::Busy { .. }) => {
            report.kept.push(Kept {
                path,
                reason: "a live writer holds its CSV's temp: it may be committing it".into(),
            });
            return;
        }
        Err(e) => {
            report.unreadable.push(Unreadable {
                path,
                error: format!("lock its CSV's temp: {e}"),
            });
            return;
        }
    };
    // Under the lock: the CSV may have been committed just before we took it.
    let removed = if dir.symlink_metadata(csv).is_ok() {
        Ok(false)
    } else {
        ops.remove(dir, name)
            .and_then(|()| ops.sync_dir(dir))
            .map(|()| true)
    };
    let released = lock.discard();
    match (removed, released) {
        (Ok(true), _) => report.orphan_signatures.push(path),
        (Ok(false), Ok(())) => {}
        (Err(e), _) => report.unreadable.push(Unreadable {
            path,
            error: format!("remove orphan signature: {e}"),
        }),
        (Ok(false), Err(e)) => report.unreadable.push(Unreadable {
            path: dir_path.join(&temp),
            error: e.to_string(),
        }),
    }
}

/// Finishes a signed commit a writer left between its two renames: the
/// signature beside `temp`'s final name states `temp`'s exact BLAKE2b (so
/// the temp is whole: it was fsynced before the signature was made), the
/// final file is not already that version, and the temp verifies. Then the
/// temp is renamed over the final name and the directory fsynced, under the
/// temp's lock (so never a live writer's temp). Returns whether it did.
fn finish_signed_commit(
    ops: &dyn FileOps,
    sandbox: &Sandbox,
    dir: &Dir,
    dir_path: &Path,
    temp: &str,
    report: &mut RecoverReport,
) -> bool {
    let Some(csv) = temp.strip_suffix(TEMP_SUFFIX) else {
        return false;
    };
    let sig_path = dir_path.join(signature_name(csv));
    let Some(stated) = read_small_text(&sig_path, "read signature", SIGNATURE_LIMIT, Links::Refuse)
        .ok()
        .and_then(|text| stated_blake2b(&text))
    else {
        return false;
    };
    let Some(mut file) = open_regular(dir, temp) else {
        return false;
    };
    // A live writer holds the lock: it finishes its own commit.
    if !try_lock_exclusive(&file).unwrap_or(false) || !names_file(dir, temp, &file).unwrap_or(false)
    {
        return false;
    }
    if blake2b_of(&mut file) != Some(stated) {
        return false;
    }
    let path = dir_path.join(temp);
    if dir.symlink_metadata(csv).is_ok_and(|m| !m.is_file()) {
        // Something else stands at the final name: never replaced, and the
        // temp, the one whole copy, is not swept either.
        report.kept.push(Kept {
            path,
            reason: format!("its signature states its bytes, but {csv} is not a regular file"),
        });
        return true;
    }
    let committed = open_regular(dir, csv).and_then(|mut f| blake2b_of(&mut f));
    if committed == Some(stated) {
        return false;
    }
    // The very bytes hashed, through the locked handle.
    let verified = file
        .rewind()
        .map_err(|e| Error::io(&path, "rewind", e))
        .and_then(|()| verify_reader(sandbox, None, &mut file, &path));
    if !verified.is_ok_and(|r| r.valid) {
        return false;
    }
    if !report.dry_run {
        let renamed = ops
            .rename_replace(dir, temp, csv)
            .and_then(|()| ops.sync_dir(dir));
        if let Err(e) = renamed {
            report.unreadable.push(Unreadable {
                path,
                error: format!("finish the interrupted commit: {e}"),
            });
            return true;
        }
    }
    report.completed.push(dir_path.join(csv));
    true
}

/// Opens `name` for reading if it is a regular file: never following a
/// symlink, never blocking on a FIFO someone planted under that name.
fn open_regular(dir: &Dir, name: &str) -> Option<cap_std::fs::File> {
    use cap_std::fs::{OpenOptions, OpenOptionsExt};
    use rustix::fs::OFlags;
    let mut options = OpenOptions::new();
    options
        .read(true)
        .custom_flags((OFlags::NONBLOCK | OFlags::NOFOLLOW).bits() as i32);
    let file = dir.open_with(name, &options).ok()?;
    file.metadata().ok()?.is_file().then_some(file)
}

/// The BLAKE2b-512 of a file's bytes, read from the start.
fn blake2b_of(file: &mut cap_std::fs::File) -> Option<[u8; 64]> {
    file.rewind().ok()?;
    let mut reader = PrehashReader::new(file);
    std::io::copy(&mut reader, &mut std::io::sink()).ok()?;
    Some(reader.finish())
}

/// Sweeps one temp name, recording the outcome.
fn sweep_one(
    ops: &dyn FileOps,
    dir: &Dir,
    dir_path: &Path,
    name: &str,
    report: &mut RecoverReport,
) {
    let path = dir_path.join(name);
    match sweep_if_stale(ops, dir, name, report.dry_run) {
        Ok(Sweep::Removed) => report.removed.push(path),
        Ok(Sweep::Live) => report.kept.push(Kept {
            path,
            reason: "a live writer holds its lock".into(),
        }),
        Ok(Sweep::NotAFile) => report.kept.push(Kept {
            path,
            reason: "not a regular file; csvseal never creates such a temp".into(),
        }),
        // Committed or removed by its writer while we looked.
        Ok(Sweep::Gone) => {}
        Err(e) => report.unreadable.push(Unreadable {
            path,
            error: format!("sweep temp file: {e}"),
        }),
    }
}

/// The directory's UTF-8 names, sorted. Other names are not csvseal's: it
/// never creates them.
fn sorted_names(dir: &Dir, dir_path: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in dir
        .entries()
        .map_err(|e| Error::io(dir_path, "list directory", e))?
    {
        let entry = entry.map_err(|e| Error::io(dir_path, "list directory", e))?;
        if let Ok(name) = entry.file_name().into_string() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}
