//! Who owns a temp file: an OS lock (`flock`) held on the temp file itself.
//!
//! The protocol (see ARCHITECTURE.md, "Concurrent writers"):
//!
//! - A writer creates `{final}.tmp` with `O_EXCL`, takes an exclusive
//!   `flock` on it, then checks that the name still refers to the inode it
//!   locked (a sweeper may have removed it in between). It holds the lock
//!   until the temp is renamed or removed; the lock follows the inode across
//!   the rename, and is released when the descriptor closes — also when the
//!   process is killed.
//! - A temp whose lock can be taken has no writer: it is stale. Whoever
//!   takes the lock (a new writer of the same target, or `recover`) may
//!   remove it, but only after checking, while holding the lock, that the
//!   name still refers to the locked inode. The name can change only by the
//!   hand of a lock holder, so that check cannot go stale before the unlink.

use std::io;

use cap_std::fs::{Dir, File, OpenOptions};

use crate::store::file_ops::FileOps;

/// Takes an exclusive lock on `file`, waiting for it. Only sweepers hold a
/// temp file's lock without owning it, and only for a stat and an unlink.
pub fn lock_exclusive(file: &File) -> io::Result<()> {
    #[cfg(unix)]
    {
        rustix::fs::flock(file, rustix::fs::FlockOperation::LockExclusive).map_err(io::Error::from)
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(())
    }
}

/// Tries to take an exclusive lock on `file`; `Ok(false)` if someone holds it.
pub fn try_lock_exclusive(file: &File) -> io::Result<bool> {
    #[cfg(unix)]
    {
        match rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
    #[cfg(not(unix))]
    {
        // Without the Unix lock, a leftover temp cannot be told from a live
        // one: treat it as live (busy), never remove it.
        let _ = file;
        Ok(false)
    }
}

/// Whether `name` in `dir` (not following a symlink) is the inode `file` is.
pub fn names_file(dir: &Dir, name: &str, file: &File) -> io::Result<bool> {
    #[cfg(unix)]
    {
        use rustix::fs::{AtFlags, fstat, statat};
        let by_name = match statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(s) => s,
            Err(rustix::io::Errno::NOENT) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let open = fstat(file)?;
        Ok(by_name.st_dev == open.st_dev && by_name.st_ino == open.st_ino)
    }
    #[cfg(not(unix))]
    {
        let _ = (dir, name, file);
        Ok(true)
    }
}

/// What [`sweep_if_stale`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    /// The temp had no writer and was removed (or would be, in a dry run).
    Removed,
    /// A live writer holds the temp's lock; it was left alone.
    Live,
    /// The name vanished or changed while looking; look again.
    Gone,
    /// The name is not a regular file (e.g. a symlink); never touched.
    NotAFile,
}

/// Removes `name` from `dir` if it is a temp file no writer holds.
/// With `dry_run`, reports [`Sweep::Removed`] without removing.
pub fn sweep_if_stale(
    ops: &dyn FileOps,
    dir: &Dir,
    name: &str,
    dry_run: bool,
) -> io::Result<Sweep> {
    match dir.symlink_metadata(name) {
        Ok(m) if !m.is_file() => return Ok(Sweep::NotAFile),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Sweep::Gone),
        Err(e) => return Err(e),
    }
    let mut options = OpenOptions::new();
    options.read(true);
    let file = match dir.open_with(name, &options) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Sweep::Gone),
        Err(e) => return Err(e),
    };
    if !try_lock_exclusive(&file)? {
        return Ok(Sweep::Live);
    }
    // Holding the lock: only a lock holder renames or removes this name, so
    // if it still names the locked inode now, it does until we unlink it.
    if !names_file(dir, name, &file)? {
        return Ok(Sweep::Gone);
    }
    if !dry_run {
        use crate::store::temp_metrics::{ORIGIN_STALE, temp_sweep_failed, temp_swept};
        match ops.remove(dir, name) {
            Ok(()) => temp_swept(ORIGIN_STALE),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Sweep::Gone),
            Err(e) => {
                temp_sweep_failed(ORIGIN_STALE);
                return Err(e);
            }
        }
        // Make the removal durable, best effort: a crash would only bring
        // the stale temp back, to be swept again.
        let _ = ops.sync_dir(dir);
    }
    drop(file);
    Ok(Sweep::Removed)
}
