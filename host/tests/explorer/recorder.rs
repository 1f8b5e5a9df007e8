//! A `FileOps` that does the real thing and logs every mutation that
//! succeeded, with real inode numbers, for the model to replay.

use std::io;
use std::sync::Mutex;

use cap_std::fs::{Dir, File};
use csvseal::store::file_ops::{FileOps, RealFs};
use rustix::fs::{AtFlags, fstat, statat};

use super::disk::Op;

#[derive(Default)]
pub struct Recorder {
    log: Mutex<Vec<Op>>,
}

fn dir_ino(dir: &Dir) -> u64 {
    fstat(dir).unwrap().st_ino
}

fn file_ino(file: &File) -> u64 {
    fstat(file).unwrap().st_ino
}

fn entry_ino(dir: &Dir, name: &str) -> Option<u64> {
    statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
        .ok()
        .map(|s| s.st_ino)
}

impl Recorder {
    pub fn take(&self) -> Vec<Op> {
        std::mem::take(&mut self.log.lock().unwrap())
    }
}

impl FileOps for Recorder {
    fn create_new(&self, dir: &Dir, name: &str) -> io::Result<File> {
        // The lock keeps the log in the order the operations happened.
        let mut log = self.log.lock().unwrap();
        let f = RealFs.create_new(dir, name)?;
        log.push(Op::Create {
            dir: dir_ino(dir),
            name: name.into(),
            ino: file_ino(&f),
        });
        Ok(f)
    }

    fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
        let mut log = self.log.lock().unwrap();
        RealFs.write_all(file, bytes)?;
        log.push(Op::Append {
            ino: file_ino(file),
            bytes: bytes.to_vec(),
        });
        Ok(())
    }

    fn sync_file(&self, file: &File) -> io::Result<()> {
        let mut log = self.log.lock().unwrap();
        RealFs.sync_file(file)?;
        log.push(Op::SyncFile {
            ino: file_ino(file),
        });
        Ok(())
    }

    fn rename_noreplace(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()> {
        let mut log = self.log.lock().unwrap();
        RealFs.rename_noreplace(dir, from, to)?;
        log.push(Op::Rename {
            dir: dir_ino(dir),
            from: from.into(),
            to: to.into(),
        });
        Ok(())
    }

    fn hard_link(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()> {
        let mut log = self.log.lock().unwrap();
        RealFs.hard_link(dir, from, to)?;
        log.push(Op::Link {
            dir: dir_ino(dir),
            from: from.into(),
            to: to.into(),
        });
        Ok(())
    }

    fn rename_replace(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()> {
        let mut log = self.log.lock().unwrap();
        RealFs.rename_replace(dir, from, to)?;
        log.push(Op::Rename {
            dir: dir_ino(dir),
            from: from.into(),
            to: to.into(),
        });
        Ok(())
    }

    fn sync_dir(&self, dir: &Dir) -> io::Result<()> {
        let mut log = self.log.lock().unwrap();
        RealFs.sync_dir(dir)?;
        log.push(Op::SyncDir { dir: dir_ino(dir) });
        Ok(())
    }

    fn remove(&self, dir: &Dir, name: &str) -> io::Result<()> {
        let mut log = self.log.lock().unwrap();
        RealFs.remove(dir, name)?;
        log.push(Op::Remove {
            dir: dir_ino(dir),
            name: name.into(),
        });
        Ok(())
    }

    fn open_lock(&self, dir: &Dir, name: &str) -> io::Result<File> {
        let mut log = self.log.lock().unwrap();
        let existed = entry_ino(dir, name).is_some();
        let f = RealFs.open_lock(dir, name)?;
        if !existed {
            log.push(Op::Create {
                dir: dir_ino(dir),
                name: name.into(),
                ino: file_ino(&f),
            });
        }
        Ok(f)
    }

    fn create_dir(&self, dir: &Dir, name: &str) -> io::Result<()> {
        let mut log = self.log.lock().unwrap();
        RealFs.create_dir(dir, name)?;
        log.push(Op::Mkdir {
            dir: dir_ino(dir),
            name: name.into(),
            ino: entry_ino(dir, name).expect("the directory just made"),
        });
        Ok(())
    }
}
