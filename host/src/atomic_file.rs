//! The file operations behind an atomic, never-clobbering commit.
//!
//! Everything is relative to a cap-std [`Dir`]: a name that tried to leave it
//! (`..`, an absolute path, a symlink pointing out) is refused by cap-std
//! itself, not by string checks alone.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use cap_std::fs::{Dir, File, OpenOptions};

use crate::error::{Error, Result};

/// A temp file being written, removed on drop unless committed.
pub struct TempFile<'d> {
    dir: &'d Dir,
    dir_path: &'d Path,
    name: String,
    file: Option<File>,
}

impl<'d> TempFile<'d> {
    /// Creates `name` in `dir`, failing if anything (file or symlink)
    /// already has that name: `O_CREAT | O_EXCL` never follows a link.
    pub fn create_new(dir: &'d Dir, dir_path: &'d Path, name: &str) -> Result<Self> {
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        let file = dir.open_with(name, &options).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                Error::Busy {
                    path: dir_path.join(name),
                }
            } else {
                Error::io(dir_path.join(name), "create temp file", e)
            }
        })?;
        Ok(TempFile {
            dir,
            dir_path,
            name: name.to_owned(),
            file: Some(file),
        })
    }

    /// The temp file's path, for messages.
    pub fn path(&self) -> PathBuf {
        self.dir_path.join(&self.name)
    }

    /// The temp file's name in its directory.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Appends bytes.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let path = self.path();
        let file = self.file.as_mut().expect("temp file open until commit");
        file.write_all(bytes)
            .map_err(|e| Error::io(path, "write temp file", e))
    }

    /// Flushes the data to stable storage. A failure is final: the page
    /// cache may already have dropped the dirty pages, so a retried fsync
    /// could "succeed" over lost data. The caller must give up.
    pub fn sync(&mut self) -> Result<()> {
        let path = self.path();
        let file = self.file.as_mut().expect("temp file open until commit");
        file.sync_all()
            .map_err(|e| Error::io(path, "fsync temp file", e))
    }

    /// Opens the temp file again for reading (to verify what was written).
    pub fn reopen_for_read(&self) -> Result<File> {
        self.dir
            .open(&self.name)
            .map_err(|e| Error::io(self.path(), "reopen temp file", e))
    }

    /// Renames the temp file to `final_name` unless that name exists, then
    /// fsyncs the directory so the new name is durable.
    pub fn commit(mut self, final_name: &str) -> Result<PathBuf> {
        drop(self.file.take());
        let target = self.dir_path.join(final_name);
        match rename_noreplace(self.dir, &self.name, final_name) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(Error::TargetExists { path: target });
            }
            Err(e) => return Err(Error::io(target, "rename temp file to target", e)),
        }
        // The temp name is gone; nothing is left for drop to remove.
        self.name.clear();
        sync_dir(self.dir).map_err(|e| {
            Error::io(
                self.dir_path,
                "fsync directory (the file is in place but may not survive a crash)",
                e,
            )
        })?;
        Ok(target)
    }
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        drop(self.file.take());
        if !self.name.is_empty() {
            // The write failed: removing its temp is the policy's cleanup step.
            use crate::metrics::{ORIGIN_ABANDONED_WRITE, temp_sweep_failed, temp_swept};
            match self.dir.remove_file(&self.name) {
                Ok(()) => temp_swept(ORIGIN_ABANDONED_WRITE),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    temp_sweep_failed(ORIGIN_ABANDONED_WRITE);
                    tracing::error!(file = %self.path().display(), step = "remove temp file", cause = %e,
                        "temp file of a failed write could not be removed");
                }
            }
        }
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
