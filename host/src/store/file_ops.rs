//! The narrow seam between the commit protocol and the operating system.
//!
//! Every file operation a write's durability depends on goes through
//! [`FileOps`]: create the temp file, append to it, fsync it, rename it,
//! fsync the directory, remove it. [`RealFs`] does the real thing; tests put
//! a wrapper in between that records the sequence of calls and fails the Nth
//! one with `ENOSPC` or `EIO`, which is how the crash-safety claims in
//! docs/operations.md ("Guarantees and limits") are proven rather than asserted.

use std::io::{self, Write};

use cap_std::fs::{Dir, File, OpenOptions};

/// The file operations of an atomic commit. Implementations must be
/// thread-safe; a write uses one for its whole duration.
pub trait FileOps: Send + Sync {
    /// Creates `name` in `dir` for writing, failing with `AlreadyExists` if
    /// anything (file or symlink) has that name (`O_CREAT | O_EXCL`).
    fn create_new(&self, dir: &Dir, name: &str) -> io::Result<File>;
    /// Appends `bytes` to `file`.
    fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()>;
    /// Flushes `file`'s data and metadata to stable storage.
    fn sync_file(&self, file: &File) -> io::Result<()>;
    /// Renames `from` to `to` in `dir`, failing with `AlreadyExists` rather
    /// than replacing an existing `to` (`renameat2(RENAME_NOREPLACE)`).
    /// Where the kernel or filesystem lacks that, fails with `EINVAL`,
    /// `ENOSYS` or [`io::ErrorKind::Unsupported`] (see
    /// [`noreplace_unsupported`]); the caller then falls back to
    /// [`FileOps::hard_link`] + [`FileOps::remove`].
    fn rename_noreplace(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()>;
    /// Gives the file `from` a second name `to` in `dir`, failing with
    /// `AlreadyExists` if `to` exists (so it never replaces anything).
    fn hard_link(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()>;
    /// Renames `from` to `to` in `dir`, atomically replacing `to`.
    fn rename_replace(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()>;
    /// Makes `dir`'s entries (a rename, a removal) durable.
    fn sync_dir(&self, dir: &Dir) -> io::Result<()>;
    /// Removes the file `name` from `dir`.
    fn remove(&self, dir: &Dir, name: &str) -> io::Result<()>;
    /// Opens the lock file `name` in `dir` for writing, creating it empty if
    /// missing; never truncates. Lock files hold no data, so a wrapper only
    /// needs to see the create (the crash-state explorer models it).
    fn open_lock(&self, dir: &Dir, name: &str) -> io::Result<File> {
        open_lock(dir, name)
    }
    /// Creates the directory `name` in `dir`; like any entry, it is durable
    /// only once `dir` is synced.
    fn create_dir(&self, dir: &Dir, name: &str) -> io::Result<()> {
        dir.create_dir(name)
    }
}

/// Opens (creating if missing, never truncating) the lock file `name`.
pub fn open_lock(dir: &Dir, name: &str) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(false);
    dir.open_with(name, &options)
}

/// The real file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

impl FileOps for RealFs {
    fn create_new(&self, dir: &Dir, name: &str) -> io::Result<File> {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        dir.open_with(name, &options)
    }

    fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
        file.write_all(bytes)
    }

    fn sync_file(&self, file: &File) -> io::Result<()> {
        file.sync_all()
    }

    fn rename_noreplace(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()> {
        rename_noreplace(dir, from, to)
    }

    fn hard_link(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()> {
        dir.hard_link(from, dir, to)
    }

    fn rename_replace(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()> {
        dir.rename(from, dir, to)
    }

    fn sync_dir(&self, dir: &Dir) -> io::Result<()> {
        sync_dir(dir)
    }

    fn remove(&self, dir: &Dir, name: &str) -> io::Result<()> {
        dir.remove_file(name)
    }
}

/// Atomically renames `from` to `to` within `dir`, failing with
/// `AlreadyExists` rather than replacing an existing `to`. Only
/// `renameat2(RENAME_NOREPLACE)`: where that is missing the error says so
/// ([`noreplace_unsupported`]) and the caller links and unlinks instead, as
/// separate seam steps, so that a failure between them is visible.
pub fn rename_noreplace(dir: &Dir, from: &str, to: &str) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{RenameFlags, renameat_with};
        renameat_with(dir, from, dir, to, RenameFlags::NOREPLACE).map_err(io::Error::from)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (dir, from, to);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no RENAME_NOREPLACE on this platform",
        ))
    }
}

/// Whether a failed [`rename_noreplace`] means "not supported here" (the
/// kernel or filesystem lacks `RENAME_NOREPLACE`) rather than a real failure.
pub fn noreplace_unsupported(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Unsupported
        || matches!(
            e.raw_os_error(),
            Some(code) if code == rustix::io::Errno::INVAL.raw_os_error()
                || code == rustix::io::Errno::NOSYS.raw_os_error()
        )
}

/// Makes the directory's entries (a rename) durable.
pub fn sync_dir(dir: &Dir) -> io::Result<()> {
    #[cfg(unix)]
    {
        use rustix::fs::{Mode, OFlags, fsync, openat};
        // cap-std holds directories as O_PATH descriptors, which fsync
        // refuses (EBADF); open the same directory readable for it.
        let readable = openat(
            dir,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        fsync(&readable).map_err(io::Error::from)
    }
    #[cfg(not(unix))]
    {
        // Windows has no directory fsync; NTFS journals the rename itself.
        let _ = dir;
        Ok(())
    }
}
