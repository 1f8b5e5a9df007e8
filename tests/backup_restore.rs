//! `write --replace`, `backup`, `restore`, end to end through the binary.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;
use tempfile::TempDir;

const TRADES2: &str = "timestamp,trade_id,symbol,profit_loss\n\
2024-09-10T15:00:00Z,TRADE_20240910_101,USDCHF,7.5\n";

fn backups(dir: &Path) -> Vec<String> {
    listing(&dir.join(".csvseal-backup"))
        .into_iter()
        .filter(|n| n.ends_with(".bak"))
        .collect()
}

fn manifest(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(".csvseal-backup/MANIFEST.sha256")).unwrap()
}

fn sha256_of(path: &Path) -> String {
    let o = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8(o.stdout).unwrap()[..64].to_owned()
}

#[test]
fn replace_supersedes_only_after_a_verified_backup() {
    let dir = TempDir::new().unwrap();
    let old = write_ok(dir.path(), "t", TRADES, &[]);
    let old_bytes = std::fs::read(&old).unwrap();

    // Without --replace the target is never touched.
    let d = dir.path().to_str().unwrap();
    let args = [
        "write",
        "--dir",
        d,
        "--name",
        "t",
        "--timestamp",
        "2024-09-10T14:30:00Z",
    ];
    let o = csvseal(&args, Some(TRADES2.as_bytes()));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));

    let new = write_ok(dir.path(), "t", TRADES2, &["--replace"]);
    assert_eq!(new, old);
    assert!(std::fs::read_to_string(&new).unwrap().contains("USDCHF"));
    let b = backups(dir.path());
    assert_eq!(b.len(), 1, "{b:?}");
    let bpath = dir.path().join(".csvseal-backup").join(&b[0]);
    assert_eq!(std::fs::read(&bpath).unwrap(), old_bytes);
    // The manifest lists it with its real SHA-256 (checked by sha256sum).
    assert_eq!(
        manifest(dir.path()),
        format!("{}  {}\n", sha256_of(&bpath), b[0])
    );
    // Nothing else left behind: no temps anywhere.
    assert_eq!(
        listing(dir.path()),
        [".csvseal-backup", "t_20240910_143000.csv"]
    );
    assert_eq!(
        listing(&dir.path().join(".csvseal-backup")),
        [".lock", "MANIFEST.sha256", b[0].as_str()]
    );
}

#[test]
fn replace_refuses_when_the_old_file_does_not_verify() {
    let dir = TempDir::new().unwrap();
    let old = write_ok(dir.path(), "t", TRADES, &[]);
    let tampered = std::fs::read_to_string(&old)
        .unwrap()
        .replacen("EURUSD", "EURUSX", 1);
    std::fs::write(&old, &tampered).unwrap();
    let d = dir.path().to_str().unwrap();
    let o = csvseal(
        &[
            "write",
            "--json",
            "--dir",
            d,
            "--name",
            "t",
            "--timestamp",
            "2024-09-10T14:30:00Z",
            "--replace",
        ],
        Some(TRADES2.as_bytes()),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "source-invalid");
    assert_eq!(std::fs::read_to_string(&old).unwrap(), tampered);
    assert!(backups(dir.path()).is_empty());
    assert_eq!(
        listing(dir.path()),
        [".csvseal-backup", "t_20240910_143000.csv"]
    );
}

#[test]
fn keep_prunes_old_backups_and_restore_brings_back_the_newest_good_one() {
    let dir = TempDir::new().unwrap();
    let target = write_ok(dir.path(), "t", TRADES, &[]);
    let mut versions = vec![std::fs::read(&target).unwrap()];
    for i in 0..4 {
        let input = format!(
            "timestamp,trade_id,symbol,profit_loss\n2024-09-10T15:00:00Z,T{i},EURUSD,{i}.0\n"
        );
        write_ok(dir.path(), "t", &input, &["--replace", "--keep", "2"]);
        versions.push(std::fs::read(&target).unwrap());
    }
    let b = backups(dir.path());
    assert_eq!(b.len(), 2, "{b:?}");
    assert_eq!(manifest(dir.path()).lines().count(), 2);
    // The two newest backups are versions 2 and 3 (0-based), in name order.
    let bdir = dir.path().join(".csvseal-backup");
    assert_eq!(std::fs::read(bdir.join(&b[0])).unwrap(), versions[2]);
    assert_eq!(std::fs::read(bdir.join(&b[1])).unwrap(), versions[3]);

    // A file that verifies is not replaced without --force.
    let o = csvseal(&["restore", &target], None);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));

    // Corrupt the target and the newest backup: restore skips the bad
    // backup (its SHA-256 no longer matches) and uses the next one.
    std::fs::write(&target, b"garbage").unwrap();
    let mut bad = std::fs::read(bdir.join(&b[1])).unwrap();
    let n = bad.len();
    bad[n - 5] ^= 1;
    std::fs::write(bdir.join(&b[1]), bad).unwrap();
    let o = csvseal(&["restore", "--json", &target], None);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["restored"]["skipped"].as_array().unwrap().len(), 1);
    assert_eq!(std::fs::read(&target).unwrap(), versions[2]);
    let v = csvseal(&["verify", &target], None);
    assert_eq!(v.status.code(), Some(0));
    assert_eq!(
        listing(dir.path()),
        [".csvseal-backup", "t_20240910_143000.csv"]
    );

    // With every backup bad, restore fails and leaves the file alone.
    std::fs::write(&target, b"garbage").unwrap();
    std::fs::write(bdir.join(&b[0]), b"also garbage").unwrap();
    let o = csvseal(&["restore", "--json", &target], None);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "no-good-backup");
    assert_eq!(std::fs::read(&target).unwrap(), b"garbage");
}

#[test]
fn backup_command_backs_up_many_files_and_refuses_bad_ones() {
    let dir = TempDir::new().unwrap();
    let a = write_ok(dir.path(), "a", TRADES, &[]);
    let b = write_ok(dir.path(), "b", TRADES2, &[]);
    let bad = put(
        dir.path(),
        "c_20240910_143000.csv",
        b"file_seq,checksum_sha256\n1,00\n",
    );
    let elsewhere = TempDir::new().unwrap();
    let bdir = elsewhere.path().join("bk");
    let o = csvseal(
        &[
            "backup",
            "--json",
            "--backup-dir",
            bdir.to_str().unwrap(),
            &a,
            &b,
            &bad,
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files[0]["ok"], true);
    assert_eq!(files[1]["ok"], true);
    assert_eq!(files[2]["ok"], false);
    assert_eq!(files[2]["error"]["kind"], "source-invalid");
    let names = listing(&bdir);
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".bak")).count(),
        2,
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
    // Restore from that directory after losing a file altogether.
    std::fs::remove_file(&a).unwrap();
    let o = csvseal(
        &["restore", "--backup-dir", bdir.to_str().unwrap(), &a],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v = csvseal(&["verify", &a], None);
    assert_eq!(v.status.code(), Some(0));
}
