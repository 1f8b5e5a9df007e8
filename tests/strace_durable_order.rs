//! The durable order seen from outside, in real system calls: the temp file
//! is created exclusively and locked, fsynced, renamed without replacing,
//! and then its directory is fsynced. Needs `strace` (Linux;
//! scripts/install-deps.sh installs it). A missing or refused strace fails
//! the test: a proof that passes without running is no proof. Set
//! `CSVSEAL_SKIP_STRACE=1` to skip it on purpose (a machine that cannot
//! trace); the always-on proof of the same order is then
//! `host/tests/fault_injection.rs`.

mod common;

use std::process::{Command, Stdio};

use common::*;
use tempfile::TempDir;

/// The fd a line's call returned (`... = 4`).
fn ret_fd(line: &str) -> Option<String> {
    line.rsplit_once(" = ").map(|(_, r)| r.trim().to_owned())
}

#[test]
fn fsync_temp_then_rename_then_fsync_dir() {
    let strace_ok = Command::new("strace")
        .args(["-o", "/dev/null", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !strace_ok {
        assert!(
            std::env::var_os("CSVSEAL_SKIP_STRACE").is_some(),
            "strace is missing or not permitted: install it (scripts/install-deps.sh \
             does), or set CSVSEAL_SKIP_STRACE=1 to skip this proof on purpose"
        );
        return;
    }
    let dir = TempDir::new().unwrap();
    let trace = dir.path().join("trace");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut child = Command::new("strace")
        .args([
            "-f",
            "-e",
            "trace=openat,openat2,fsync,fdatasync,renameat2,renameat,rename,linkat,flock",
            "-o",
        ])
        .arg(&trace)
        .arg(csvseal_bin())
        .args([
            "write",
            "--name",
            "t",
            "--timestamp",
            "2024-09-10T14:30:00Z",
            "--dir",
        ])
        .arg(&out)
        .env("CSVSEAL_CACHE_DIR", common::cache_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(TRADES.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let find = |from: usize, pred: &dyn Fn(&str) -> bool| {
        (from..lines.len())
            .find(|&i| pred(lines[i]))
            .unwrap_or_else(|| panic!("not found after line {from}:\n{text}"))
    };
    let tmp = "\"t_20240910_143000.csv.tmp\"";
    let create = find(0, &|l| l.contains(tmp) && l.contains("O_CREAT|O_EXCL"));
    let fd = ret_fd(lines[create]).unwrap();
    let lock = find(create, &|l| l.contains(&format!("flock({fd}, LOCK_EX")));
    let sync = find(lock, &|l| {
        l.contains(&format!("fsync({fd})")) && l.ends_with("= 0")
    });
    let rename = find(0, &|l| l.contains("renameat2(") && l.contains(tmp));
    assert!(
        lines[rename].contains("RENAME_NOREPLACE"),
        "{}",
        lines[rename]
    );
    let dir_open = find(rename, &|l| {
        l.contains("\".\"") && l.contains("O_DIRECTORY")
    });
    let dfd = ret_fd(lines[dir_open]).unwrap();
    let dsync = find(dir_open, &|l| {
        l.contains(&format!("fsync({dfd})")) && l.ends_with("= 0")
    });
    assert!(
        create < lock && lock < sync && sync < rename && rename < dsync,
        "{text}"
    );
}
