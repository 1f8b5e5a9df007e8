//! Committing a signature beside its CSV, before the CSV: the signature
//! goes through its own temp file, fsync, rename and directory fsync, so
//! that no CSV is ever visible (even after a power cut) without it. A crash
//! between the two renames leaves the new signature beside the old CSV (or
//! none) and the whole, fsynced CSV temp it signs: `recover` finishes that
//! commit (the temp's BLAKE2b is the one the signature states), or, when
//! the temp is gone or torn, removes an orphan signature.
//!
//! Every step runs while the writer holds its CSV temp's lock, which every
//! writer of the target and `recover` take first: so a signature without
//! its CSV seen under the lock is an orphan, never one about to be joined.

use std::io;
use std::path::{Path, PathBuf};

use cap_std::fs::Dir;

use super::signature_name;
use crate::error::{Error, Result};
use crate::store::atomic_file::TempFile;
use crate::store::by_path::{Links, read_small_text};
use crate::store::file_ops::FileOps;
use crate::store::naming::temp_name;

/// Largest signature file read back (minisign's trusted comments stay
/// under 8 KiB).
pub const SIGNATURE_LIMIT: u64 = 64 * 1024;

/// Refuses a CSV name whose signature's temp name would be too long for the
/// file system, before anything is written.
pub fn check_signable(csv_name: &str) -> Result<()> {
    let temp = temp_name(&signature_name(csv_name));
    if temp.len() > 255 {
        return Err(Error::Usage(format!(
            "file name {csv_name:?}: too long to sign (its signature's temp file, \
             {} bytes, would exceed 255)",
            temp.len()
        )));
    }
    Ok(())
}

/// Commits `text` as `csv_name`'s signature in `dir`, replacing one that is
/// there (the caller holds the CSV temp's lock and either replaces the CSV
/// or found none). Returns the signature's path and the text it replaced.
pub fn commit_signature(
    ops: &dyn FileOps,
    dir: &Dir,
    dir_path: &Path,
    csv_name: &str,
    text: &str,
) -> Result<(PathBuf, Option<String>)> {
    let name = signature_name(csv_name);
    let path = dir_path.join(&name);
    let previous = match dir.symlink_metadata(&name) {
        Ok(m) if m.is_file() => Some(read_small_text(
            &path,
            "read signature",
            SIGNATURE_LIMIT,
            Links::Refuse,
        )?),
        Ok(_) => {
            return Err(Error::Usage(format!(
                "{}: not a regular file; a signature cannot be committed there",
                path.display()
            )));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(&path, "stat signature", e)),
    };
    let mut temp = TempFile::acquire(ops, dir, dir_path, &temp_name(&name), None)?;
    temp.write_all(text.as_bytes())?;
    temp.sync()?;
    // Both temps' names (the CSV's, made first, and this one) durable before
    // the signature is renamed: a power cut that keeps the new signature
    // then also keeps the whole CSV temp it signs, for `recover` to finish
    // the commit with (`jobs::recover`, "roll forward").
    ops.sync_dir(dir)
        .map_err(|e| Error::io(dir_path, "fsync directory", e))?;
    let committed = match &previous {
        Some(_) => temp.commit_replacing(&name),
        None => temp.commit(&name),
    };
    match committed {
        Ok(path) => Ok((path, previous)),
        // Renamed, but the rename may not survive a power cut: the write
        // fails before its CSV is committed, so the signature is undone.
        Err(Error::CommittedNotDurable { path, op, source }) => {
            undo_signature(ops, dir, dir_path, csv_name, previous.as_deref());
            Err(Error::io(path, op, source))
        }
        Err(e) => Err(e),
    }
}

/// Undoes [`commit_signature`] after the CSV's own commit failed: the
/// replaced signature is put back, or the new one removed. Best effort; a
/// failure leaves a signature that does not match its CSV, which `verify
/// --key` reports, never passes.
pub fn undo_signature(
    ops: &dyn FileOps,
    dir: &Dir,
    dir_path: &Path,
    csv_name: &str,
    replaced: Option<&str>,
) {
    let name = signature_name(csv_name);
    let undone = match replaced {
        Some(text) => commit_signature(ops, dir, dir_path, csv_name, text).map(|_| ()),
        None => ops
            .remove(dir, &name)
            .and_then(|()| ops.sync_dir(dir))
            .map_err(|e| Error::io(dir_path.join(&name), "remove signature", e)),
    };
    if let Err(e) = undone {
        tracing::error!(file = %dir_path.join(&name).display(), cause = %e,
            "could not undo the signature of a failed write");
    }
}
