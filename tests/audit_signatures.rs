//! `audit --key` through the real binary: every file's signature, each
//! series' chain of signed links, orphan signatures, the series head, the
//! `signature-failure` alert class (exit bit 16, its metric), and the
//! state's reuse condition (an unchanged file is reused only beside an
//! unchanged signature, under the same keys).

mod common;

use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

const STAMPS: [&str; 3] = [
    "2024-09-10T14:30:00Z",
    "2024-09-11T14:30:00Z",
    "2024-09-12T14:30:00Z",
];
const NAMES: [&str; 3] = [
    "t_20240910_143000.csv",
    "t_20240911_143000.csv",
    "t_20240912_143000.csv",
];

/// A signed 3-file series `t` in `dir`, each file continuing the last.
fn signed_series(dir: &Path, secret: &str) {
    let d = dir.to_string_lossy().into_owned();
    for stamp in STAMPS {
        let args = [
            "write",
            "--dir",
            &d,
            "--name",
            "t",
            "--timestamp",
            stamp,
            "--sign-key",
            secret,
            "--continue",
        ];
        let out = csvseal(&args, Some(TRADES.as_bytes()));
        assert_eq!(out.status.code(), Some(0), "write: {}", stderr(&out));
    }
}

/// `csvseal audit --dir DIR EXTRA...`: (exit code, stdout).
fn audit(dir: &Path, extra: &[&str]) -> (i32, String) {
    let d = dir.to_string_lossy().into_owned();
    let mut args = vec!["audit", "--dir", &d];
    args.extend_from_slice(extra);
    let out = csvseal(&args, None);
    (out.status.code().unwrap(), stdout(&out))
}

/// `audit --json`: (exit code, document).
fn audit_json(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let (code, text) = audit(dir, &args);
    let doc = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (code, doc)
}

/// The alerts of `class` in an `audit --json` document: (file, message).
fn alerts(doc: &Value, class: &str) -> Vec<(String, String)> {
    doc["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["class"] == class)
        .map(|a| {
            (
                a["file"].as_str().unwrap_or_default().to_owned(),
                a["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn b2sum(file: &Path) -> String {
    let out = Command::new("b2sum").arg(file).output().unwrap();
    stdout(&out).split_whitespace().next().unwrap().to_owned()
}

/// The policy's row checksum: SHA-256 of the values joined by '|', sorted
/// by column name, `checksum_sha256` excluded.
fn row_checksum(columns: &[&str], values: &[&str]) -> String {
    let mut pairs: Vec<(&str, &str)> = columns
        .iter()
        .copied()
        .zip(values.iter().copied())
        .collect();
    pairs.sort();
    let joined: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| *k != "checksum_sha256")
        .map(|(_, v)| *v)
        .collect();
    hex(&Sha256::digest(joined.join("|").as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Changes the last row's `profit_loss` in `path` and recomputes that
/// row's checksum, as anyone can: the file still verifies without a key.
fn tamper(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.split("\r\n").map(str::to_owned).collect();
    let columns: Vec<&str> = lines[0].split(',').collect::<Vec<_>>();
    let columns: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
    let last = lines.iter().rposition(|l| !l.is_empty()).unwrap();
    let mut values: Vec<String> = lines[last].split(',').map(str::to_owned).collect();
    let pl = columns.iter().position(|c| c == "profit_loss").unwrap();
    let sum = columns.iter().position(|c| c == "checksum_sha256").unwrap();
    values[pl] = "9999.0".into();
    let cols: Vec<&str> = columns.iter().map(String::as_str).collect();
    let vals: Vec<&str> = values.iter().map(String::as_str).collect();
    values[sum] = row_checksum(&cols, &vals);
    lines[last] = values.join(",");
    std::fs::write(path, lines.join("\r\n")).unwrap();
}

#[test]
fn a_good_signed_series_audits_clean_and_prints_its_head() {
    let keys = TempDir::new().unwrap();
    let (secret, public) = keypair(keys.path(), "k");
    let out = TempDir::new().unwrap();
    signed_series(out.path(), &secret);
    let head = b2sum(&out.path().join(NAMES[2]));
    let (code, text) = audit(out.path(), &["--key", &public]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!(
            "series t head: {} blake2b {head} (record it elsewhere: dropping the newest files shows only against a recorded head)",
            NAMES[2]
        )),
        "{text}"
    );
    let (code, doc) = audit_json(out.path(), &["--key", &public, "--full"]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["alert_counts"]["signature-failure"], 0);
    assert_eq!(
        doc["heads"],
        serde_json::json!([{"series": "t", "file": NAMES[2], "blake2b": head}])
    );
    // Without --key, no signature is looked at and no head is printed.
    let (code, text) = audit(out.path(), &[]);
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains("head:"), "{text}");
}

#[test]
fn a_value_tampered_with_its_checksum_recomputed_is_a_signature_failure() {
    let keys = TempDir::new().unwrap();
    let (secret, public) = keypair(keys.path(), "k");
    let out = TempDir::new().unwrap();
    signed_series(out.path(), &secret);
    let middle = out.path().join(NAMES[1]);
    tamper(&middle);
    // The policy's checksum cannot tell: the file still verifies.
    let v = csvseal(&["verify", middle.to_str().unwrap()], None);
    assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));
    let (code, doc) = audit_json(out.path(), &["--key", &public]);
    // Signature failure only (32 + 16): not an integrity failure.
    assert_eq!(code, 48, "{doc}");
    let failures = alerts(&doc, "signature-failure");
    let on_middle: Vec<_> = failures
        .iter()
        .filter(|(f, _)| f.ends_with(NAMES[1]))
        .collect();
    assert!(
        on_middle
            .iter()
            .any(|(_, m)| m.starts_with("signature-invalid")),
        "{failures:?}"
    );
    // The next file names the middle one by its old digest: a broken link.
    assert!(
        failures.iter().any(|(f, m)| f.ends_with(NAMES[2])
            && m.contains("chain broken")
            && m.contains(NAMES[1])),
        "{failures:?}"
    );
}

#[test]
fn a_deleted_middle_file_breaks_the_chain_and_the_state_keeps_the_alerts() {
    let keys = TempDir::new().unwrap();
    let (secret, public) = keypair(keys.path(), "k");
    let out = TempDir::new().unwrap();
    signed_series(out.path(), &secret);
    let (code, _) = audit(out.path(), &["--key", &public]);
    assert_eq!(code, 0);
    std::fs::remove_file(out.path().join(NAMES[1])).unwrap();
    let (code, first) = audit_json(out.path(), &["--key", &public]);
    assert_eq!(code & 16, 16, "{first}");
    let failures = alerts(&first, "signature-failure");
    assert!(
        failures.iter().any(|(f, m)| f.ends_with(NAMES[2])
            && m.contains("chain broken")
            && m.contains(NAMES[0])
            && m.contains(NAMES[1])),
        "names both files: {failures:?}"
    );
    // Its signature stayed behind: an orphan.
    assert!(
        failures
            .iter()
            .any(|(f, m)| f.ends_with(&format!("{}.minisig", NAMES[1])) && m.contains("orphan")),
        "{failures:?}"
    );
    // Nothing changed: the results are reused, the alerts are the same.
    let (code2, second) = audit_json(out.path(), &["--key", &public]);
    assert_eq!(code2, code);
    assert_eq!(second["verified"], 0, "{second}");
    assert_eq!(second["unchanged"], 2, "{second}");
    assert_eq!(second["alerts"], first["alerts"]);
    assert_eq!(second["heads"], first["heads"]);
}

#[test]
fn a_changed_signature_beside_an_unchanged_file_is_noticed() {
    let keys = TempDir::new().unwrap();
    let (secret, public) = keypair(keys.path(), "k");
    let out = TempDir::new().unwrap();
    signed_series(out.path(), &secret);
    let (code, doc) = audit_json(out.path(), &["--key", &public]);
    assert_eq!((code, &doc["verified"]), (0, &Value::from(3)), "{doc}");
    // The first file's signature put in the middle one's place.
    let sig = |i: usize| out.path().join(format!("{}.minisig", NAMES[i]));
    std::fs::copy(sig(0), sig(1)).unwrap();
    let (code, doc) = audit_json(out.path(), &["--key", &public]);
    assert_eq!(code, 48, "{doc}");
    assert_eq!(
        doc["verified"], 1,
        "only the middle file is read again: {doc}"
    );
    let failures = alerts(&doc, "signature-failure");
    assert!(
        failures
            .iter()
            .any(|(f, m)| f.ends_with(NAMES[1]) && m.starts_with("signature-invalid")),
        "{failures:?}"
    );
}

#[test]
fn other_keys_are_not_answered_from_the_state() {
    let keys = TempDir::new().unwrap();
    let (secret, public) = keypair(keys.path(), "k");
    let (_, other) = keypair(keys.path(), "other");
    let out = TempDir::new().unwrap();
    signed_series(out.path(), &secret);
    assert_eq!(audit(out.path(), &["--key", &public]).0, 0);
    let (code, doc) = audit_json(out.path(), &["--key", &other]);
    assert_eq!(code, 48, "{doc}");
    assert_eq!(doc["verified"], 3, "{doc}");
    let failures = alerts(&doc, "signature-failure");
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert!(
        failures.iter().all(|(_, m)| m.starts_with("unknown-key")),
        "{failures:?}"
    );
    // Both keys (rotation): fine again.
    assert_eq!(audit(out.path(), &["--key", &other, "--key", &public]).0, 0);
}

#[test]
fn an_orphan_signature_is_left_alone_while_a_writer_holds_its_temp() {
    let keys = TempDir::new().unwrap();
    let (secret, public) = keypair(keys.path(), "k");
    let out = TempDir::new().unwrap();
    signed_series(out.path(), &secret);
    // A writer that committed the signature and is about to commit the CSV.
    let csv = out.path().join(NAMES[2]);
    std::fs::rename(&csv, keys.path().join("aside.csv")).unwrap();
    let temp = std::fs::File::create(out.path().join(format!("{}.tmp", NAMES[2]))).unwrap();
    assert_eq!(unsafe { libc::flock(temp.as_raw_fd(), libc::LOCK_EX) }, 0);
    let (code, doc) = audit_json(out.path(), &["--key", &public]);
    assert_eq!(code, 0, "a commit under way is no alert: {doc}");
    // The writer died: its lock is gone, the signature an orphan.
    drop(temp);
    let (code, doc) = audit_json(out.path(), &["--key", &public]);
    assert_eq!(code, 48, "{doc}");
    let failures = alerts(&doc, "signature-failure");
    assert!(
        failures
            .iter()
            .any(|(f, m)| f.ends_with(&format!("{}.minisig", NAMES[2])) && m.contains("orphan")),
        "{failures:?}"
    );
}

#[test]
fn signature_failures_are_a_metric() {
    let keys = TempDir::new().unwrap();
    let (secret, public) = keypair(keys.path(), "k");
    let out = TempDir::new().unwrap();
    signed_series(out.path(), &secret);
    std::fs::remove_file(out.path().join(format!("{}.minisig", NAMES[0]))).unwrap();
    let metrics = keys.path().join("csvseal.prom");
    let m = metrics.to_str().unwrap();
    let (code, text) = audit(out.path(), &["--key", &public, "--metrics-file", m]);
    assert_eq!(code, 48, "{text}");
    assert!(text.contains("signature-missing"), "{text}");
    let prom = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        prom.lines()
            .any(|l| l == "csvseal_audit_alerts{class=\"signature-failure\"} 1"),
        "{prom}"
    );
}

#[test]
fn key_is_refused_for_an_object_store_prefix() {
    let keys = TempDir::new().unwrap();
    let (_, public) = keypair(keys.path(), "k");
    let out = csvseal(
        &["audit", "--dir", "s3://bucket/trades/", "--key", &public],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("local directories only"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn hostile_signature_files_are_bounded() {
    let keys = TempDir::new().unwrap();
    let (secret, public) = keypair(keys.path(), "k");
    let out = TempDir::new().unwrap();
    signed_series(out.path(), &secret);
    let sig = |i: usize| out.path().join(format!("{}.minisig", NAMES[i]));
    // A FIFO in a signature's place: never opened blocking.
    std::fs::remove_file(sig(0)).unwrap();
    let fifo = std::ffi::CString::new(sig(0).to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    // A link to a good signature: not followed.
    std::fs::remove_file(sig(1)).unwrap();
    std::os::unix::fs::symlink(sig(2), sig(1)).unwrap();
    // A huge one: read no further than the limit, reported malformed.
    let mut huge = std::fs::read(sig(2)).unwrap();
    huge.resize(64 * 1024 + 1, b'A');
    std::fs::write(sig(2), huge).unwrap();
    let d = out.path().to_string_lossy().into_owned();
    let o = csvseal_within(&["audit", "--dir", &d, "--key", &public, "--json"], 60)
        .expect("audit hung on a hostile signature file");
    assert_eq!(o.status.code(), Some(48), "{}", stderr(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let failures = alerts(&doc, "signature-failure");
    let on = |i: usize| {
        failures
            .iter()
            .find(|(f, _)| f.ends_with(NAMES[i]))
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    };
    assert!(on(0).starts_with("signature-missing"), "{failures:?}");
    assert!(on(1).starts_with("signature-missing"), "{failures:?}");
    assert!(on(2).starts_with("signature-invalid"), "{failures:?}");
}
