//! The file operations behind an atomic, never-clobbering commit.
//!
//! Everything is relative to a cap-std [`Dir`]: a name that tried to leave it
//! (`..`, an absolute path, a symlink pointing out) is refused by cap-std
//! itself, not by string checks alone.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cap_std::fs::{Dir, File};

use crate::error::{Error, Result};
use crate::store::file_ops::{FileOps, RealFs, noreplace_unsupported};
use crate::store::temp_lock::{Sweep, lock_exclusive, names_file, sweep_if_stale};

/// A temp file being written, locked by this writer (see [`crate::store::temp_lock`]),
/// removed on drop unless committed.
pub struct TempFile<'d> {
    ops: &'d dyn FileOps,
    dir: &'d Dir,
    dir_path: &'d Path,
    name: String,
    file: Option<File>,
}

/// How often a writer told to `--wait` looks at a busy temp again.
const WAIT_POLL: Duration = Duration::from_millis(20);

impl<'d> TempFile<'d> {
    /// Creates `name` in `dir` and locks it, with the real file system.
    pub fn create_new(dir: &'d Dir, dir_path: &'d Path, name: &str) -> Result<Self> {
        Self::acquire(&RealFs, dir, dir_path, name, None)
    }

    /// Creates `name` in `dir` exclusively (`O_CREAT | O_EXCL` never follows
    /// a link) and locks it. A temp of that name left by a dead writer (its
    /// lock is free) is swept first. One a live writer holds is
    /// [`Error::Busy`], or, with `wait`, waited for until it goes or the
    /// time is up.
    pub fn acquire(
        ops: &'d dyn FileOps,
        dir: &'d Dir,
        dir_path: &'d Path,
        name: &str,
        wait: Option<Duration>,
    ) -> Result<Self> {
        let path = dir_path.join(name);
        // A wait past what the clock can hold is a wait without end.
        let deadline = wait.and_then(|w| Instant::now().checked_add(w));
        loop {
            match ops.create_new(dir, name) {
                Ok(file) => {
                    lock_exclusive(&file).map_err(|e| Error::io(&path, "lock temp file", e))?;
                    // A sweeper may have removed the name between our create
                    // and our lock (it saw a temp with a free lock). Then the
                    // file we hold is nameless: start again.
                    let ours = names_file(dir, name, &file)
                        .map_err(|e| Error::io(&path, "stat temp file", e))?;
                    if ours {
                        return Ok(TempFile {
                            ops,
                            dir,
                            dir_path,
                            name: name.to_owned(),
                            file: Some(file),
                        });
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    match sweep_if_stale(ops, dir, name, false)
                        .map_err(|e| Error::io(&path, "sweep stale temp file", e))?
                    {
                        Sweep::Removed | Sweep::Gone => {}
                        Sweep::NotAFile => return Err(Error::Busy { path }),
                        Sweep::Live => match deadline {
                            Some(d) if Instant::now() < d => std::thread::sleep(WAIT_POLL),
                            _ => return Err(Error::Busy { path }),
                        },
                    }
                }
                Err(e) => return Err(Error::io(&path, "create temp file", e)),
            }
        }
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
        self.ops
            .write_all(file, bytes)
            .map_err(|e| Error::io(path, "write temp file", e))
    }

    /// Flushes the data to stable storage. A failure is final: the page
    /// cache may already have dropped the dirty pages, so a retried fsync
    /// could "succeed" over lost data. The caller must give up.
    pub fn sync(&mut self) -> Result<()> {
        let path = self.path();
        let file = self.file.as_ref().expect("temp file open until commit");
        self.ops
            .sync_file(file)
            .map_err(|e| Error::io(path, "fsync temp file", e))
    }

    /// Opens the temp file again for reading (to verify what was written),
    /// refusing a file that is not the one this temp holds locked: a name
    /// swapped by another process is an error, not bytes to vouch for.
    pub fn reopen_for_read(&self) -> Result<File> {
        use cap_std::fs::MetadataExt;
        let path = self.path();
        let f = self
            .dir
            .open(&self.name)
            .map_err(|e| Error::io(&path, "reopen temp file", e))?;
        let held = self.file.as_ref().expect("temp file open until commit");
        let (a, b) = (
            f.metadata()
                .map_err(|e| Error::io(&path, "stat temp file", e))?,
            held.metadata()
                .map_err(|e| Error::io(&path, "stat temp file", e))?,
        );
        if (a.dev(), a.ino()) != (b.dev(), b.ino()) {
            return Err(Error::io(
                &path,
                "reopen temp file",
                io::Error::other(
                    "the name no longer holds the locked temp file (replaced by another process)",
                ),
            ));
        }
        Ok(f)
    }

    /// Removes the temp file, still locked, without counting it as an
    /// abandoned write: for a temp taken only as the target's lock.
    pub fn discard(mut self) -> Result<()> {
        let path = self.path();
        let removed = self.ops.remove(self.dir, &self.name);
        self.name.clear();
        removed.map_err(|e| Error::io(path, "remove temp file", e))
    }

    /// Renames the temp file to `final_name` unless that name exists, then
    /// fsyncs the directory so the new name is durable.
    pub fn commit(self, final_name: &str) -> Result<PathBuf> {
        self.commit_with(final_name, false)
    }

    /// Renames the temp file over `final_name`, replacing it atomically (the
    /// caller has made a verified backup of the old file), then fsyncs the
    /// directory.
    pub fn commit_replacing(self, final_name: &str) -> Result<PathBuf> {
        self.commit_with(final_name, true)
    }

    fn commit_with(mut self, final_name: &str, replace: bool) -> Result<PathBuf> {
        let target = self.dir_path.join(final_name);
        // The lock stays held (the descriptor open) through the rename and
        // the directory fsync: no sweeper can mistake the temp for stale.
        let renamed = if replace {
            self.ops.rename_replace(self.dir, &self.name, final_name)
        } else {
            self.ops.rename_noreplace(self.dir, &self.name, final_name)
        };
        match renamed {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(Error::TargetExists { path: target });
            }
            Err(e) if !replace && noreplace_unsupported(&e) => {
                return self.commit_by_link(final_name, target);
            }
            Err(e) => return Err(Error::io(target, "rename temp file to target", e)),
        }
        // The temp name is gone; nothing is left for drop to remove.
        self.name.clear();
        self.sync_dir_after_commit(target)
    }

    /// The fallback where `RENAME_NOREPLACE` is missing: a hard link fails
    /// if the target exists, so it never clobbers; while both names exist
    /// they hold the same complete, verified file. Once the link is made the
    /// file is committed, so a failure to remove the temp name is
    /// [`Error::CommittedNotDurable`], never "nothing written".
    fn commit_by_link(mut self, final_name: &str, target: PathBuf) -> Result<PathBuf> {
        match self.ops.hard_link(self.dir, &self.name, final_name) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                return Err(Error::TargetExists { path: target });
            }
            Err(e) => return Err(Error::io(target, "link temp file to target", e)),
        }
        let removed = self.ops.remove(self.dir, &self.name);
        // Committed either way: drop must not treat the temp as abandoned.
        // A temp name left behind is a second name of the committed file,
        // swept (name only) by the next writer of the target or `recover`.
        self.name.clear();
        if let Err(e) = removed {
            return Err(Error::CommittedNotDurable {
                path: target,
                op: "remove the temp name after linking it to the target",
                source: e,
            });
        }
        self.sync_dir_after_commit(target)
    }

    /// The rename is done: the file is in place whatever happens now, so a
    /// failed directory fsync is reported as such, not as a failed write.
    fn sync_dir_after_commit(self, target: PathBuf) -> Result<PathBuf> {
        match self.ops.sync_dir(self.dir) {
            Ok(()) => Ok(target),
            Err(e) => Err(Error::CommittedNotDurable {
                path: target,
                op: "fsync directory",
                source: e,
            }),
        }
    }
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        // Remove while still holding the lock: once it is released another
        // writer may sweep this name and create its own temp under it, which
        // a late unlink here would then destroy.
        if !self.name.is_empty() {
            // The write failed: removing its temp is the policy's cleanup step.
            use crate::store::temp_metrics::{
                ORIGIN_ABANDONED_WRITE, temp_sweep_failed, temp_swept,
            };
            match self.ops.remove(self.dir, &self.name) {
                Ok(()) => temp_swept(ORIGIN_ABANDONED_WRITE),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    temp_sweep_failed(ORIGIN_ABANDONED_WRITE);
                    tracing::error!(file = %self.path().display(), step = "remove temp file", cause = %e,
                        "temp file of a failed write could not be removed");
                }
            }
        }
        drop(self.file.take());
    }
}
