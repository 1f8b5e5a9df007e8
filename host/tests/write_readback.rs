//! The pipelined write's last check: the built-in verifier judges the
//! sealed bytes as they are produced, so before the rename the temp file,
//! read back after its fsync, must hold exactly those bytes (same SHA-256,
//! same length). A file-operation seam that writes other bytes than it was
//! given — a flipped byte, a dropped chunk, a short write, a repeated
//! chunk — must be caught there, with nothing committed and no temp left.

mod common;

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use cap_std::fs::{Dir, File};
use csvseal::store::file_ops::{FileOps, RealFs};
use csvseal::{Error, Limits, Sandbox, WriteControl, write_sealed_with};
use tempfile::TempDir;

use common::request;

/// How the seam betrays its caller on one write.
#[derive(Debug, Clone, Copy)]
enum Betrayal {
    /// Writes the chunk with one byte changed (a digit for another digit,
    /// so the row still parses; only its checksum would disagree).
    FlipByte,
    /// Reports success but writes nothing.
    DropChunk,
    /// Writes half of the chunk and reports success.
    ShortWrite,
    /// Writes the chunk twice.
    RepeatChunk,
    /// Writes every chunk faithfully, but right after the temp file's fsync
    /// another process puts an exact copy of it under its name: same bytes,
    /// another inode, which that process could change after any check.
    SwapAfterSync,
}

/// The real file system, except that write number `nth` (1-based) is
/// betrayed (or, for [`Betrayal::SwapAfterSync`], the temp in `dir` is
/// swapped after its fsync).
struct Betraying {
    how: Betrayal,
    nth: usize,
    writes: AtomicUsize,
    dir: std::path::PathBuf,
}

impl FileOps for Betraying {
    fn create_new(&self, dir: &Dir, name: &str) -> io::Result<File> {
        RealFs.create_new(dir, name)
    }
    fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
        if self.writes.fetch_add(1, Ordering::SeqCst) + 1 != self.nth
            || matches!(self.how, Betrayal::SwapAfterSync)
        {
            return RealFs.write_all(file, bytes);
        }
        match self.how {
            Betrayal::FlipByte => {
                let mut altered = bytes.to_vec();
                let digit = altered
                    .iter()
                    .rposition(u8::is_ascii_digit)
                    .expect("a chunk of sealed rows has digits");
                altered[digit] = if altered[digit] == b'1' { b'2' } else { b'1' };
                RealFs.write_all(file, &altered)
            }
            Betrayal::DropChunk => Ok(()),
            Betrayal::ShortWrite => RealFs.write_all(file, &bytes[..bytes.len() / 2]),
            Betrayal::RepeatChunk => {
                RealFs.write_all(file, bytes)?;
                RealFs.write_all(file, bytes)
            }
            Betrayal::SwapAfterSync => unreachable!("never betrays a write"),
        }
    }
    fn sync_file(&self, file: &File) -> io::Result<()> {
        RealFs.sync_file(file)?;
        if !matches!(self.how, Betrayal::SwapAfterSync) {
            return Ok(());
        }
        let temp = entries(&self.dir)
            .into_iter()
            .find(|n| n.ends_with(".csv.tmp"))
            .expect("the temp file");
        let copy = self.dir.join("copy");
        std::fs::copy(self.dir.join(&temp), &copy)?;
        std::fs::rename(&copy, self.dir.join(&temp))
    }
    fn rename_noreplace(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()> {
        RealFs.rename_noreplace(dir, from, to)
    }
    fn hard_link(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()> {
        RealFs.hard_link(dir, from, to)
    }
    fn rename_replace(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()> {
        RealFs.rename_replace(dir, from, to)
    }
    fn sync_dir(&self, dir: &Dir) -> io::Result<()> {
        RealFs.sync_dir(dir)
    }
    fn remove(&self, dir: &Dir, name: &str) -> io::Result<()> {
        RealFs.remove(dir, name)
    }
}

/// About 3 MiB of rows: the sealer emits several chunks, so several writes.
fn input() -> Vec<u8> {
    let mut s = String::from("symbol,qty,note\n");
    for i in 0..100_000 {
        s += &format!("EURUSD,{i},\"row {i}, quoted\"\n");
    }
    s.into_bytes()
}

fn entries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn betrayed_write(sb: &Sandbox, how: Betrayal, nth: usize) -> Error {
    let dir = TempDir::new().unwrap();
    let ops = Betraying {
        how,
        nth,
        writes: AtomicUsize::new(0),
        dir: dir.path().to_owned(),
    };
    let result = write_sealed_with(
        &ops,
        &WriteControl::default(),
        sb,
        &request(dir.path()),
        &mut &input()[..],
        "input",
    );
    let case = format!("{how:?} on write #{nth}");
    assert!(
        ops.writes.load(Ordering::SeqCst) >= 3,
        "{case}: want several writes"
    );
    let err = result.expect_err(&case);
    assert_eq!(entries(dir.path()), Vec::<String>::new(), "{case}: {err}");
    err
}

#[test]
fn a_seam_that_writes_other_bytes_than_it_was_given_commits_nothing() {
    let sb = Sandbox::builtin(Limits::default()).unwrap();
    for how in [
        Betrayal::FlipByte,
        Betrayal::DropChunk,
        Betrayal::ShortWrite,
        Betrayal::RepeatChunk,
    ] {
        for nth in [1, 2] {
            let err = betrayed_write(&sb, how, nth);
            let case = format!("{how:?} on write #{nth}");
            let Error::WrittenFileMismatch {
                verified_bytes,
                read_back_bytes,
                differs_at,
                ..
            } = err
            else {
                panic!("{case}: expected written-file-mismatch, got {err}");
            };
            match how {
                Betrayal::FlipByte => {
                    assert_eq!(read_back_bytes, verified_bytes, "{case}");
                    let at = differs_at.expect("the lengths agree: a segment differs");
                    assert!(at < verified_bytes, "{case}");
                }
                Betrayal::DropChunk | Betrayal::ShortWrite => {
                    assert!(read_back_bytes < verified_bytes, "{case}")
                }
                Betrayal::RepeatChunk => assert!(read_back_bytes > verified_bytes, "{case}"),
                Betrayal::SwapAfterSync => unreachable!("not in this loop"),
            }
            assert_eq!(err.exit_code(), 1, "{case}");
        }
    }
}

#[test]
fn an_honest_seam_commits_what_was_verified() {
    // The same wrapper, betraying a write that never happens: the control
    // for the test above.
    let sb = Sandbox::builtin(Limits::default()).unwrap();
    let dir = TempDir::new().unwrap();
    let ops = Betraying {
        how: Betrayal::FlipByte,
        nth: usize::MAX,
        writes: AtomicUsize::new(0),
        dir: dir.path().to_owned(),
    };
    let c = write_sealed_with(
        &ops,
        &WriteControl::default(),
        &sb,
        &request(dir.path()),
        &mut &input()[..],
        "input",
    )
    .unwrap();
    assert!(c.verified.valid);
    assert_eq!(c.verified.rows, 100_000);
    assert_eq!(
        std::fs::metadata(&c.path).unwrap().len(),
        c.verified.bytes,
        "the committed file is the verified bytes"
    );
}

#[test]
fn the_read_back_is_of_the_locked_temp_not_whatever_has_its_name() {
    let sb = Sandbox::builtin(Limits::default()).unwrap();
    let dir = TempDir::new().unwrap();
    let ops = Betraying {
        how: Betrayal::SwapAfterSync,
        nth: 0,
        writes: AtomicUsize::new(0),
        dir: dir.path().to_owned(),
    };
    let err = write_sealed_with(
        &ops,
        &WriteControl::default(),
        &sb,
        &request(dir.path()),
        &mut &input()[..],
        "input",
    )
    .expect_err("a swapped temp must not be committed");
    assert!(
        matches!(
            &err,
            Error::Io {
                op: "reopen temp file",
                ..
            }
        ) && err.to_string().contains("replaced by another process"),
        "{err}"
    );
    // Nothing committed. (The swapped-in copy is not csvseal's inode, so
    // the failed write's cleanup removed the name it held.)
    assert!(
        !entries(dir.path()).iter().any(|n| n.ends_with(".csv")),
        "{:?}",
        entries(dir.path())
    );
}
