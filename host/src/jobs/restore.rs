//! `restore`: bring back the newest backup of a file that matches its
//! manifest SHA-256 and verifies, atomically, in place of the file.
//!
//! Backups and their manifest are made by [`crate::backup`]; this job only
//! reads them, checks each from the newest down, and commits the first good
//! one through the same locked temp file as a write.

use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use serde::Serialize;

use crate::backup::{
    BackupEntry, BackupPolicy, check_backup, copy_verified, is_backup_of, read_manifest,
};
use crate::error::{Error, Result};
use crate::sandbox::Sandbox;
use crate::store::atomic_file::TempFile;
use crate::store::by_path::split_path;
use crate::store::file_ops::FileOps;
use crate::store::naming::{check_file_name, signature_name, temp_name};

/// What `restore` did.
#[derive(Debug, Clone, Serialize)]
pub struct Restored {
    pub path: PathBuf,
    /// The backup it came from.
    pub from: BackupEntry,
    /// Newer backups passed over, and why.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Brings back the newest backup of `file` that matches its manifest
/// SHA-256 and verifies, atomically (locked temp, fsync, rename over the
/// target, directory fsync). Refuses to replace a target that still
/// verifies unless `force`.
pub fn restore_file(
    ops: &dyn FileOps,
    sandbox: &Sandbox,
    file: &Path,
    policy: &BackupPolicy,
    force: bool,
) -> Result<Restored> {
    let (dir_path, name) = split_path(file)?;
    check_file_name(&name)?;
    let dir = Dir::open_ambient_dir(&dir_path, ambient_authority())
        .map_err(|e| Error::io(&dir_path, "open directory", e))?;
    let bdir_path = policy.dir_for(&dir_path);
    let bdir = Dir::open_ambient_dir(&bdir_path, ambient_authority())
        .map_err(|e| Error::io(&bdir_path, "open backup directory", e))?;

    // Hold the target's temp (and its lock) from the start: no writer of
    // this target runs while we look at it and replace it.
    let mut temp = TempFile::acquire(ops, &dir, &dir_path, &temp_name(&name), None)?;
    if !force && let Ok(mut current) = dir.open(&name) {
        let r = crate::verify::verify_reader(sandbox, None, &mut current, file)?;
        if r.valid {
            return Err(Error::Usage(format!(
                "{}: the file verifies; not replacing it with a backup (use --force)",
                file.display()
            )));
        }
    }

    let prefix = format!("{name}.");
    let mut candidates: Vec<(String, String)> = read_manifest(&bdir, &bdir_path)?
        .into_iter()
        .filter(|(n, _)| is_backup_of(n, &prefix))
        .collect();
    candidates.sort();
    let mut skipped = vec![];
    for (bname, sha) in candidates.into_iter().rev() {
        let bpath = bdir_path.join(&bname);
        match check_backup(sandbox, &bdir, &bpath, &bname, &sha) {
            Ok(()) => {}
            Err(why) => {
                skipped.push((bpath, why));
                continue;
            }
        }
        let mut src = bdir
            .open(&bname)
            .map_err(|e| Error::io(&bpath, "open", e))?;
        let (report, got) = copy_verified(sandbox, &mut src, &bpath, &mut temp)?;
        if got != sha {
            return Err(Error::io(
                &bpath,
                "copy backup",
                std::io::Error::other("the backup changed while it was being restored"),
            ));
        }
        // The backup's signature (or none) goes back first, as a write
        // commits one: the restored file never stands beside the signature
        // of the version it replaces.
        restore_signature(
            ops,
            &dir,
            &dir_path,
            &name,
            &bdir_path.join(signature_name(&bname)),
        )?;
        let path = temp.commit_replacing(&name)?;
        return Ok(Restored {
            path,
            from: BackupEntry {
                path: bpath,
                sha256: sha,
                rows: Some(report.rows),
            },
            skipped,
        });
    }
    Err(Error::NoGoodBackup {
        path: file.to_owned(),
        tried: skipped.len(),
    })
}

/// Puts the signature backed up with a file (at `backup_sig`) beside
/// `name`, or, when the backup has none, removes `name`'s current one,
/// which belongs to the version being replaced. The caller holds `name`'s
/// temp lock.
fn restore_signature(
    ops: &dyn FileOps,
    dir: &Dir,
    dir_path: &Path,
    name: &str,
    backup_sig: &Path,
) -> Result<()> {
    use crate::signing::commit::{SIGNATURE_LIMIT, commit_signature};
    use crate::store::by_path::{Links, is_not_found, read_small_text};
    match read_small_text(
        backup_sig,
        "read backed-up signature",
        SIGNATURE_LIMIT,
        Links::Refuse,
    ) {
        Ok(text) => commit_signature(ops, dir, dir_path, name, &text).map(|_| ()),
        Err(e) if is_not_found(&e) => {
            let sig = signature_name(name);
            match ops.remove(dir, &sig).and_then(|()| ops.sync_dir(dir)) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Error::io(dir_path.join(sig), "remove signature", e)),
            }
        }
        Err(e) => Err(e),
    }
}
