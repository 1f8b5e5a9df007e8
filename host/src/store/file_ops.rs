//! The narrow seam between the commit protocol and the operating system.
//!
//! Every file operation a write's durability depends on goes through
//! [`FileOps`]: create the temp file, append to it, fsync it, rename it,
//! fsync the directory, remove it. [`RealFs`] does the real thing; tests put
//! a wrapper in between that records the sequence of calls and fails the Nth
//! one with `ENOSPC` or `EIO`, which is how the crash-safety claims in
//! README ("Guarantees and limits") are proven rather than asserted.

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
    /// than replacing an existing `to`.
    fn rename_noreplace(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()>;
    /// Renames `from` to `to` in `dir`, atomically replacing `to`.
    fn rename_replace(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()>;
    /// Makes `dir`'s entries (a rename, a removal) durable.
    fn sync_dir(&self, dir: &Dir) -> io::Result<()>;
    /// Removes the file `name` from `dir`.
    fn remove(&self, dir: &Dir, name: &str) -> io::Result<()>;
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
/// `AlreadyExists` rather than replacing an existing `to`.
pub fn rename_noreplace(dir: &Dir, from: &str, to: &str) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{RenameFlags, renameat_with};
        match renameat_with(dir, from, dir, to, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            // Filesystems without RENAME_NOREPLACE: fall back to link+unlink.
            Err(rustix::io::Errno::INVAL) | Err(rustix::io::Errno::NOSYS) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // A hard link fails if `to` exists, so the swap never clobbers; the
    // window where both names exist holds identical, complete content.
    dir.hard_link(from, dir, to)?;
    dir.remove_file(from)
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
