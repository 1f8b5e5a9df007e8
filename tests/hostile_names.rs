//! Hostile names and directories: nothing is ever written outside DIR and
//! no symlink is followed out of it.

mod common;

use std::io::Write;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{TRADES, csvseal, csvseal_bin, listing, stderr};

const STAMP: &str = "2024-09-10T14:30:00Z";
const FINAL: &str = "trades_20240910_143000.csv";

/// `csvseal write` of TRADES (from a file: a refused write may exit before
/// reading stdin) into `dir` as `name`.
fn write(dir: &Path, name: &str) -> std::process::Output {
    let input = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(input.path(), TRADES).unwrap();
    let i = input.path().to_string_lossy();
    let d = dir.to_string_lossy();
    csvseal(
        &[
            "write",
            "--dir",
            &d,
            "--name",
            name,
            "--timestamp",
            STAMP,
            "--input",
            &i,
        ],
        None,
    )
}

#[test]
fn names_that_are_paths_or_too_long_are_refused_and_nothing_is_written() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("out");
    std::fs::create_dir(&dir).unwrap();
    let outside = root.path().to_string_lossy().into_owned();
    let long = "x".repeat(300);
    let absolute = format!("{outside}/evil");
    for name in [
        "a/b",
        "../escape",
        "..",
        "x/../../escape",
        absolute.as_str(),
        "/etc/passwd",
        "a\\b",
        "line\nbreak",
        long.as_str(),
        "",
        ".hidden",
    ] {
        let out = write(&dir, name);
        assert_eq!(out.status.code(), Some(2), "{name:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("--name"),
            "{name:?}: {}",
            stderr(&out)
        );
        assert_eq!(listing(&dir), Vec::<String>::new(), "{name:?}");
        assert_eq!(listing(root.path()), vec!["out".to_owned()], "{name:?}");
    }
}

#[test]
fn a_nul_in_the_name_is_refused_by_the_library() {
    // argv cannot carry NUL, so this one goes through the library.
    let dir = tempfile::tempdir().unwrap();
    let sandbox = csvseal::Sandbox::builtin(csvseal::Limits::default()).unwrap();
    let req = csvseal::WriteRequest {
        timestamp: csvseal::store::naming::parse_timestamp(STAMP).unwrap(),
        ..csvseal::WriteRequest::new(dir.path(), "a\0b")
    };
    let err = csvseal::write_sealed(&sandbox, &req, &mut TRADES.as_bytes(), "t").unwrap_err();
    assert!(matches!(err, csvseal::Error::Usage(_)), "{err}");
    assert_eq!(listing(dir.path()), Vec::<String>::new());
}

#[test]
fn a_symlink_planted_at_the_temp_name_is_not_followed() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("out");
    std::fs::create_dir(&dir).unwrap();
    let victim = root.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    let dangling = root.path().join("created-outside.txt");
    for (target, what) in [(&victim, "existing file"), (&dangling, "dangling")] {
        let link = dir.join(format!("{FINAL}.tmp"));
        symlink(target, &link).unwrap();
        let out = write(&dir, "trades");
        // The temp name is taken: refused as busy, the link left alone.
        assert_eq!(out.status.code(), Some(3), "{what}: {}", stderr(&out));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!dangling.exists(), "{what}: wrote through the link");
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        std::fs::remove_file(&link).unwrap();
    }
}

#[test]
fn a_symlink_planted_at_the_target_name_is_not_followed() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("out");
    std::fs::create_dir(&dir).unwrap();
    let victim = root.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    let dangling = root.path().join("created-outside.txt");
    for target in [&victim, &dangling] {
        let link = dir.join(FINAL);
        symlink(target, &link).unwrap();
        let out = write(&dir, "trades");
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(!dangling.exists());
        // Only the planted link; no temp left behind.
        assert_eq!(listing(&dir), vec![FINAL.to_owned()]);
        std::fs::remove_file(&link).unwrap();
    }
}

#[test]
fn dir_swapped_for_a_symlink_mid_write_keeps_writing_into_the_original() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("out");
    let moved = root.path().join("out.orig");
    let outside = root.path().join("elsewhere");
    std::fs::create_dir(&dir).unwrap();
    std::fs::create_dir(&outside).unwrap();
    let mut child = Command::new(csvseal_bin())
        .args(["write", "--dir"])
        .arg(&dir)
        .args(["--name", "trades", "--timestamp", STAMP])
        .env("CSVSEAL_CACHE_DIR", common::cache_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (head, tail) = TRADES.split_at(60);
    stdin.write_all(head.as_bytes()).unwrap();
    stdin.flush().unwrap();
    // Wait until the temp file exists: the directory is open by then.
    let started = Instant::now();
    while !dir.join(format!("{FINAL}.tmp")).exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no temp file appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::rename(&dir, &moved).unwrap();
    symlink(&outside, &dir).unwrap();
    stdin.write_all(tail.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Committed in the directory that was opened, never through the link.
    assert_eq!(listing(&moved), vec![FINAL.to_owned()]);
    assert_eq!(listing(&outside), Vec::<String>::new());
}
