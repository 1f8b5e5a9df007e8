//! The atomic write through the library: commit, no clobber, and that every
//! failure leaves the target untouched and no temp file behind.

mod common;

use std::io::{self, Read};
use std::path::Path;

use csvseal::{Error, Limits, Sandbox, verify_file, write_sealed};
use tempfile::TempDir;

use common::request;

const INPUT: &str = "symbol,qty\nEURUSD,1\nGBPUSD,2\n";

fn sandbox() -> Sandbox {
    Sandbox::builtin(Limits::default()).unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn commits_a_verified_file_and_nothing_else() {
    let dir = TempDir::new().unwrap();
    let sb = sandbox();
    let c = write_sealed(&sb, &request(dir.path()), &mut INPUT.as_bytes(), "input").unwrap();
    assert_eq!(c.path, dir.path().join("orders_20240910_143000.csv"));
    assert_eq!(
        (c.summary.rows, c.summary.first_seq, c.summary.last_seq),
        (2, Some(1), Some(2))
    );
    assert!(c.verified.valid);
    assert_eq!(names(dir.path()), ["orders_20240910_143000.csv"]);
    assert!(verify_file(&sb, None, &c.path).unwrap().valid);
}

#[test]
fn never_replaces_an_existing_target() {
    let dir = TempDir::new().unwrap();
    let target = dir.path().join("orders_20240910_143000.csv");
    std::fs::write(&target, b"precious").unwrap();
    let err = write_sealed(
        &sandbox(),
        &request(dir.path()),
        &mut INPUT.as_bytes(),
        "input",
    )
    .unwrap_err();
    assert!(matches!(err, Error::TargetExists { .. }), "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    assert_eq!(names(dir.path()), ["orders_20240910_143000.csv"]);
}

#[test]
fn a_symlink_at_the_target_name_counts_as_existing() {
    let dir = TempDir::new().unwrap();
    let outside = TempDir::new().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, b"outside").unwrap();
    std::os::unix::fs::symlink(&victim, dir.path().join("orders_20240910_143000.csv")).unwrap();
    let err = write_sealed(
        &sandbox(),
        &request(dir.path()),
        &mut INPUT.as_bytes(),
        "input",
    )
    .unwrap_err();
    assert!(matches!(err, Error::TargetExists { .. }), "{err}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"outside");
}

#[test]
fn a_live_writers_temp_file_is_left_alone() {
    let dir = TempDir::new().unwrap();
    let temp = dir.path().join("orders_20240910_143000.csv.tmp");
    std::fs::write(&temp, b"another writer's bytes").unwrap();
    // A live writer holds an exclusive flock on its temp file.
    let held = std::fs::File::open(&temp).unwrap();
    held.lock().unwrap();
    let err = write_sealed(
        &sandbox(),
        &request(dir.path()),
        &mut INPUT.as_bytes(),
        "input",
    )
    .unwrap_err();
    assert!(matches!(err, Error::Busy { .. }), "{err}");
    assert_eq!(err.exit_code(), 3);
    assert_eq!(std::fs::read(&temp).unwrap(), b"another writer's bytes");
    assert_eq!(names(dir.path()), ["orders_20240910_143000.csv.tmp"]);
}

#[test]
fn a_dead_writers_temp_file_is_swept_and_the_write_commits() {
    let dir = TempDir::new().unwrap();
    let temp = dir.path().join("orders_20240910_143000.csv.tmp");
    // Left by a crashed writer: nobody holds its lock.
    std::fs::write(&temp, b"1,half a ro").unwrap();
    let c = write_sealed(
        &sandbox(),
        &request(dir.path()),
        &mut INPUT.as_bytes(),
        "input",
    )
    .unwrap();
    assert_eq!(names(dir.path()), ["orders_20240910_143000.csv"]);
    assert!(verify_file(&sandbox(), None, &c.path).unwrap().valid);
}

#[test]
fn a_symlink_at_the_temp_name_is_never_followed_or_removed() {
    let dir = TempDir::new().unwrap();
    let outside = TempDir::new().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, b"keep").unwrap();
    let temp = dir.path().join("orders_20240910_143000.csv.tmp");
    std::os::unix::fs::symlink(&victim, &temp).unwrap();
    let err = write_sealed(
        &sandbox(),
        &request(dir.path()),
        &mut INPUT.as_bytes(),
        "input",
    )
    .unwrap_err();
    assert!(matches!(err, Error::Busy { .. }), "{err}");
    assert!(std::fs::symlink_metadata(&temp).unwrap().is_symlink());
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
}

#[test]
fn rejected_input_leaves_nothing() {
    let dir = TempDir::new().unwrap();
    let ragged = "a,b\n1,2\n3\n4,5\n";
    let err = write_sealed(
        &sandbox(),
        &request(dir.path()),
        &mut ragged.as_bytes(),
        "in.csv",
    )
    .unwrap_err();
    match &err {
        Error::InputRejected { input, errors, .. } => {
            assert_eq!(input, "in.csv");
            assert_eq!(errors[0].line, 3, "{errors:?}");
            assert_eq!(errors[0].kind, csvseal::ErrorKind::Malformed);
        }
        e => panic!("unexpected {e}"),
    }
    assert_eq!(err.exit_code(), 1);
    assert!(names(dir.path()).is_empty());
}

/// Yields some good bytes, then fails like a dying disk or a broken pipe.
struct FailingReader {
    good: &'static [u8],
}

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.good.is_empty() {
            return Err(io::Error::other("input device failed"));
        }
        let n = buf.len().min(self.good.len());
        buf[..n].copy_from_slice(&self.good[..n]);
        self.good = &self.good[n..];
        Ok(n)
    }
}

#[test]
fn an_input_error_midway_removes_the_temp_file() {
    let dir = TempDir::new().unwrap();
    let mut input = FailingReader {
        good: b"a,b\n1,2\n3,4\n",
    };
    let err = write_sealed(&sandbox(), &request(dir.path()), &mut input, "in.csv").unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(err.to_string().contains("input device failed"), "{err}");
    assert!(names(dir.path()).is_empty());
}

#[test]
fn a_missing_directory_is_an_io_error() {
    let dir = TempDir::new().unwrap();
    let req = request(&dir.path().join("absent"));
    let err = write_sealed(&sandbox(), &req, &mut INPUT.as_bytes(), "input").unwrap_err();
    assert!(
        matches!(
            err,
            Error::Io {
                op: "open directory",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn start_seq_zero_is_refused() {
    let dir = TempDir::new().unwrap();
    let mut req = request(dir.path());
    req.start_seq = 0;
    let err = write_sealed(&sandbox(), &req, &mut INPUT.as_bytes(), "input").unwrap_err();
    assert!(matches!(err, Error::Usage(_)), "{err}");
    assert!(names(dir.path()).is_empty());
}

#[test]
fn large_inputs_stream_across_many_chunks() {
    // ~3 MiB: several 1 MiB chunks, so records straddle chunk boundaries.
    let mut input = String::from("id,payload\n");
    for i in 0..40_000 {
        input.push_str(&format!(
            "{i},\"row {i}, with a comma and \"\"quotes\"\" {}\"\n",
            "x".repeat(i % 97)
        ));
    }
    let dir = TempDir::new().unwrap();
    let sb = sandbox();
    let c = write_sealed(&sb, &request(dir.path()), &mut input.as_bytes(), "big").unwrap();
    assert_eq!(c.summary.rows, 40_000);
    assert!(c.summary.bytes > 3 << 20);
    let r = verify_file(&sb, None, &c.path).unwrap();
    assert!(
        r.valid && r.rows == 40_000 && r.last_seq == Some(40_000),
        "{r:?}"
    );
}
