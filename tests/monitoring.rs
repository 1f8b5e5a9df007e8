//! Metrics file, write timeouts, logs and `audit`, end to end through the
//! binary: real writes and verifies, the metrics file read back.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::*;
use csvseal::monitor::prom_text::Exposition;
use serde_json::Value;
use tempfile::TempDir;

/// Seals TRADES into `dir/{name}_{stamp}.csv` with `extra` options.
fn seal(dir: &Path, name: &str, timestamp: &str, extra: &[&str]) -> std::process::Output {
    let d = dir.to_str().unwrap();
    let mut args = vec![
        "write",
        "--dir",
        d,
        "--name",
        name,
        "--timestamp",
        timestamp,
    ];
    args.extend_from_slice(extra);
    csvseal(&args, Some(TRADES.as_bytes()))
}

fn read_metrics(path: &Path) -> Exposition {
    let text = std::fs::read_to_string(path).unwrap();
    Exposition::parse(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()))
}

fn val(exp: &Exposition, name: &str, labels: &[(&str, &str)]) -> f64 {
    exp.value(name, labels)
        .unwrap_or_else(|| panic!("no sample {name}{labels:?} in\n{}", exp.render()))
}

/// One round: two committed writes, one refused (target exists), verifies
/// of a good and a tampered file.
fn round(data: &Path, metrics: &Path, round: u32) {
    let m = metrics.to_str().unwrap();
    for (i, ts) in ["2024-09-10T14:30:00Z", "2024-09-10T14:31:00Z"]
        .iter()
        .enumerate()
    {
        let name = format!("r{round}");
        let out = seal(data, &name, ts, &["--metrics-file", m]);
        assert_eq!(out.status.code(), Some(0), "write {i}: {}", stderr(&out));
    }
    let again = seal(
        data,
        &format!("r{round}"),
        "2024-09-10T14:30:00Z",
        &["--metrics-file", m],
    );
    assert_eq!(again.status.code(), Some(3), "{}", stderr(&again));

    let good = data.join(format!("r{round}_20240910_143000.csv"));
    let bad = data.join(format!("r{round}_20240910_143100.csv"));
    let mut bytes = std::fs::read(&bad).unwrap();
    let at = bytes.iter().rposition(|b| *b == b'U').unwrap(); // in a symbol
    bytes[at] = b'V';
    std::fs::write(&bad, bytes).unwrap();
    let v = csvseal(
        &[
            "verify",
            "--metrics-file",
            m,
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(v.status.code(), Some(1), "{}", stdout(&v));
}

#[test]
fn metrics_file_counts_writes_and_verifies_and_accumulates_across_runs() {
    let data = TempDir::new().unwrap();
    let prom_dir = TempDir::new().unwrap();
    let metrics = prom_dir.path().join("csvseal.prom");

    round(data.path(), &metrics, 1);
    let one = read_metrics(&metrics);
    let text = std::fs::read_to_string(&metrics).unwrap();
    assert!(
        text.contains("# TYPE csvseal_write_duration_seconds histogram"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE csvseal_writes_ok_total counter"),
        "{text}"
    );

    let ok = [("outcome", "ok")];
    assert_eq!(val(&one, "csvseal_writes_ok_total", &[]), 2.0);
    assert_eq!(
        val(
            &one,
            "csvseal_writes_failed_total",
            &[("reason", "target-exists")]
        ),
        1.0
    );
    assert_eq!(val(&one, "csvseal_written_rows_total", &[]), 6.0);
    let file_bytes = std::fs::metadata(data.path().join("r1_20240910_143000.csv"))
        .unwrap()
        .len();
    assert_eq!(
        val(&one, "csvseal_written_bytes_total", &[]),
        2.0 * file_bytes as f64
    );
    // Histogram: count 2, cumulative buckets, +Inf equals count, sum > 0.
    assert_eq!(val(&one, "csvseal_write_duration_seconds_count", &ok), 2.0);
    assert!(val(&one, "csvseal_write_duration_seconds_sum", &ok) > 0.0);
    let mut prev = 0.0;
    for b in csvseal::monitor::metrics::WRITE_DURATION_BUCKETS {
        let le = csvseal::monitor::prom_text::format_value(*b);
        let v = val(
            &one,
            "csvseal_write_duration_seconds_bucket",
            &[("outcome", "ok"), ("le", &le)],
        );
        assert!(v >= prev, "buckets must be cumulative");
        prev = v;
    }
    assert_eq!(
        val(
            &one,
            "csvseal_write_duration_seconds_bucket",
            &[("outcome", "ok"), ("le", "+Inf")]
        ),
        2.0
    );
    assert_eq!(
        val(
            &one,
            "csvseal_write_duration_seconds_count",
            &[("outcome", "failed")]
        ),
        1.0
    );
    // Verifications: each write's read-back (2) plus the good file; the
    // tampered file fails with the first error's kind.
    assert_eq!(val(&one, "csvseal_verifications_ok_total", &[]), 3.0);
    assert_eq!(
        val(
            &one,
            "csvseal_verifications_failed_total",
            &[("kind", "checksum-mismatch")]
        ),
        1.0
    );
    assert_eq!(val(&one, "csvseal_verified_rows_total", &[]), 12.0);

    // A second round adds up, bucket by bucket.
    round(data.path(), &metrics, 2);
    let two = read_metrics(&metrics);
    for (name, labels) in [
        ("csvseal_writes_ok_total", &[][..]),
        (
            "csvseal_writes_failed_total",
            &[("reason", "target-exists")][..],
        ),
        ("csvseal_written_rows_total", &[][..]),
        ("csvseal_write_duration_seconds_count", &ok[..]),
        (
            "csvseal_write_duration_seconds_bucket",
            &[("outcome", "ok"), ("le", "+Inf")][..],
        ),
        ("csvseal_verifications_ok_total", &[][..]),
        (
            "csvseal_verifications_failed_total",
            &[("kind", "checksum-mismatch")][..],
        ),
    ] {
        assert_eq!(
            val(&two, name, labels),
            2.0 * val(&one, name, labels),
            "{name}{labels:?}"
        );
    }
    assert!(
        val(&two, "csvseal_write_duration_seconds_sum", &ok)
            > val(&one, "csvseal_write_duration_seconds_sum", &ok)
    );
    // Only the file and its lock remain: no temp file left behind.
    assert_eq!(
        listing(prom_dir.path()),
        [".csvseal.prom.lock", "csvseal.prom"]
    );
}

#[test]
fn garbled_metrics_file_is_set_aside_with_its_line() {
    let data = TempDir::new().unwrap();
    let metrics = data.path().join("m.prom");
    std::fs::write(
        &metrics,
        "csvseal_writes_ok_total 5\nthis is { not metrics\n",
    )
    .unwrap();
    let out = seal(
        data.path(),
        "g",
        "2024-09-10T14:30:00Z",
        &["--metrics-file", metrics.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("{}:2:", metrics.display())), "{err}");
    assert!(err.contains("m.prom.bad"), "{err}");
    assert_eq!(
        std::fs::read_to_string(data.path().join("m.prom.bad")).unwrap(),
        "csvseal_writes_ok_total 5\nthis is { not metrics\n"
    );
    assert_eq!(
        val(&read_metrics(&metrics), "csvseal_writes_ok_total", &[]),
        1.0
    );
}

#[test]
fn write_timeout_abandons_cleanly_and_is_counted() {
    let data = TempDir::new().unwrap();
    let metrics = data.path().join("m.prom");
    // A producer that sends a header and a row, then stalls with the pipe open.
    let mut child = Command::new(csvseal_bin())
        .args([
            "write",
            "--dir",
            data.path().to_str().unwrap(),
            "--name",
            "slow",
            "--timestamp",
            "2024-09-10T14:30:00Z",
            "--timeout",
            "1s",
            "--log-format",
            "json",
            "--metrics-file",
            metrics.to_str().unwrap(),
        ])
        .env("CSVSEAL_CACHE_DIR", common::cache_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(
            TRADES
                .lines()
                .take(2)
                .collect::<Vec<_>>()
                .join("\n")
                .as_bytes(),
        )
        .unwrap();
    stdin.write_all(b"\n").unwrap();
    stdin.flush().unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "write did not give up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    // Target untouched, temp removed: only the metrics file and its lock.
    assert_eq!(listing(data.path()), [".m.prom.lock", "m.prom"]);
    let exp = read_metrics(&metrics);
    assert_eq!(
        val(
            &exp,
            "csvseal_writes_failed_total",
            &[("reason", "timeout")]
        ),
        1.0
    );
    assert_eq!(
        val(
            &exp,
            "csvseal_temp_files_swept_total",
            &[("origin", "abandoned-write")]
        ),
        1.0
    );
    // Logged once, as JSON, with the file, the step and the cause.
    let err = stderr(&out);
    let logs: Vec<Value> = err
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let failures: Vec<&Value> = logs.iter().filter(|l| l["level"] == "ERROR").collect();
    assert_eq!(failures.len(), 1, "{err}");
    let f = failures[0];
    assert_eq!(f["kind"], "timeout");
    assert_eq!(f["step"], "read input");
    assert!(
        f["file"]
            .as_str()
            .unwrap()
            .ends_with("slow_20240910_143000.csv"),
        "{f}"
    );
    assert!(f["cause"].as_str().unwrap().contains("timed out"), "{f}");
}

#[test]
fn each_failure_is_logged_once_with_file_step_and_cause() {
    let data = TempDir::new().unwrap();
    let missing = data.path().join("nope.csv");
    // Logs are asked for with -v (by default a failure is its human line
    // alone: tests/input_dialects.rs).
    let out = csvseal(
        &[
            "-v",
            "write",
            "--dir",
            data.path().to_str().unwrap(),
            "--name",
            "x",
            "--input",
            missing.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let logged: Vec<&str> = err.lines().filter(|l| l.contains("write failed")).collect();
    assert_eq!(logged.len(), 1, "{err}");
    for part in ["nope.csv", "step=\"open input\"", "cause="] {
        assert!(logged[0].contains(part), "{part}: {err}");
    }
    // -qq silences logs; the human report stays.
    let quiet = csvseal(
        &[
            "-qq",
            "write",
            "--dir",
            data.path().to_str().unwrap(),
            "--name",
            "x",
            "--input",
            missing.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        !stderr(&quiet).contains("write failed"),
        "{}",
        stderr(&quiet)
    );
    assert!(stderr(&quiet).contains("nope.csv"), "{}", stderr(&quiet));
}

// ---- audit ----

/// A healthy series: three files whose file_seq continue one another.
fn healthy(dir: &Path) {
    for (ts, start) in [
        ("2024-09-10T14:30:00Z", "1"),
        ("2024-09-10T14:31:00Z", "4"),
        ("2024-09-10T14:32:00Z", "7"),
    ] {
        let out = seal(dir, "trades", ts, &["--start-seq", start]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
}

fn audit(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let d = dir.to_str().unwrap();
    let mut args = vec!["audit", "--dir", d, "--json"];
    args.extend_from_slice(extra);
    let out = csvseal(&args, None);
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", stdout(&out), stderr(&out)));
    (out.status.code().unwrap(), doc)
}

fn classes(doc: &Value) -> Vec<String> {
    doc["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn audit_of_a_healthy_directory_raises_nothing_and_verifies_each_file_once() {
    let dir = TempDir::new().unwrap();
    healthy(dir.path());
    let (code, doc) = audit(dir.path(), &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["alerts"], serde_json::json!([]));
    assert_eq!(
        (doc["files"].as_u64(), doc["verified"].as_u64()),
        (Some(3), Some(3))
    );
    // Unchanged files are not verified again.
    let (code, doc) = audit(dir.path(), &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(
        (doc["verified"].as_u64(), doc["unchanged"].as_u64()),
        (Some(0), Some(3))
    );
    // Text output says so too.
    let out = csvseal(&["audit", "--dir", dir.path().to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("OK, no alerts"), "{}", stdout(&out));
}

#[test]
fn audit_raises_integrity_failure_for_a_file_that_no_longer_verifies() {
    let dir = TempDir::new().unwrap();
    healthy(dir.path());
    assert_eq!(audit(dir.path(), &[]).0, 0);
    // Same size, one byte changed: the state's mtime no longer matches.
    let f = dir.path().join("trades_20240910_143100.csv");
    let mut bytes = std::fs::read(&f).unwrap();
    let at = bytes.iter().rposition(|b| *b == b'E').unwrap();
    bytes[at] = b'F';
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&f, bytes).unwrap();
    let (code, doc) = audit(dir.path(), &[]);
    assert_eq!(code, 32 + 1, "{doc:#}");
    assert_eq!(classes(&doc), ["integrity-failure"]);
    assert!(
        doc["alerts"][0]["file"]
            .as_str()
            .unwrap()
            .ends_with("trades_20240910_143100.csv")
    );
    assert!(
        doc["alerts"][0]["message"]
            .as_str()
            .unwrap()
            .contains("checksum-mismatch"),
        "{doc:#}"
    );
    assert_eq!(
        doc["verified"].as_u64(),
        Some(1),
        "only the changed file is re-read"
    );
    // Still raised while it stays broken (from the state, not re-verified).
    let (code, doc) = audit(dir.path(), &[]);
    assert_eq!((code, doc["verified"].as_u64()), (33, Some(0)), "{doc:#}");
}

/// Flips one checksum digit of `f` in place (size unchanged).
fn flip_a_digit(f: &Path) {
    let mut bytes = std::fs::read(f).unwrap();
    let at = bytes.windows(2).rposition(|w| w == b"\r\n").unwrap() - 1;
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(f, bytes).unwrap();
}

#[test]
fn an_edit_that_restores_the_mtime_is_still_found() {
    let dir = TempDir::new().unwrap();
    healthy(dir.path());
    assert_eq!(audit(dir.path(), &[]).0, 0);
    let f = dir.path().join("trades_20240910_143100.csv");
    let mtime = std::fs::metadata(&f).unwrap().modified().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    flip_a_digit(&f);
    // Size and mtime as before, same inode: only the ctime tells.
    std::fs::File::options()
        .write(true)
        .open(&f)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    assert_eq!(std::fs::metadata(&f).unwrap().modified().unwrap(), mtime);
    let (code, doc) = audit(dir.path(), &[]);
    assert_eq!(code, 33, "{doc:#}");
    assert_eq!(doc["verified"].as_u64(), Some(1), "{doc:#}");
}

/// Bit rot changes content but no identity (size, times, inode). A state
/// file that still vouches for a file after its bytes changed is the same
/// situation, so the tests make one: they rewrite the state's identity of
/// `name` to the file's current one, checked `age_secs` ago.
fn vouch_for_current_identity(dir: &Path, name: &str, age_secs: u64) {
    // An audit learns the new identity (and that the file is invalid) …
    let state_path = dir.join(".csvseal-audit-state.json");
    let before: Value = serde_json::from_slice(&std::fs::read(&state_path).unwrap()).unwrap();
    audit(dir, &[]);
    let mut state: Value = serde_json::from_slice(&std::fs::read(&state_path).unwrap()).unwrap();
    // … then the state is made to remember the old, valid result for it.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let current = state["files"][name].clone();
    let mut remembered = before["files"][name].clone();
    for k in ["size", "mtime_ns", "ctime_ns", "ino"] {
        remembered[k] = current[k].clone();
    }
    remembered["checked_at"] = (now - age_secs).into();
    state["files"][name] = remembered;
    std::fs::write(&state_path, serde_json::to_vec(&state).unwrap()).unwrap();
}

#[test]
fn the_scrub_rereads_unchanged_files_whose_check_is_old() {
    let dir = TempDir::new().unwrap();
    healthy(dir.path());
    assert_eq!(audit(dir.path(), &[]).0, 0);
    let name = "trades_20240910_143100.csv";
    flip_a_digit(&dir.path().join(name));
    // Checked an hour ago: not due for a scrub, so the rot goes unseen …
    vouch_for_current_identity(dir.path(), name, 3600);
    let (code, doc) = audit(dir.path(), &[]);
    assert_eq!((code, doc["verified"].as_u64()), (0, Some(0)), "{doc:#}");
    // … unless the whole directory is scrubbed (--full) …
    vouch_for_current_identity(dir.path(), name, 3600);
    let (code, doc) = audit(dir.path(), &["--full"]);
    assert_eq!(code, 33, "{doc:#}");
    assert_eq!(
        (doc["verified"].as_u64(), doc["scrubbed"].as_u64()),
        (Some(3), Some(3))
    );
    // … or its last full check is older than --rescan-after (default 7d).
    vouch_for_current_identity(dir.path(), name, 8 * 24 * 3600);
    let (code, doc) = audit(dir.path(), &[]);
    assert_eq!(code, 33, "{doc:#}");
    assert_eq!(doc["scrubbed"].as_u64(), Some(1), "{doc:#}");
    assert!(doc["alerts"][0]["file"].as_str().unwrap().ends_with(name));
    vouch_for_current_identity(dir.path(), name, 2 * 3600);
    let (code, _) = audit(dir.path(), &["--rescan-after", "1h"]);
    assert_eq!(code, 33);
}

#[test]
fn the_scrub_takes_the_oldest_first_within_its_byte_budget() {
    let dir = TempDir::new().unwrap();
    healthy(dir.path());
    assert_eq!(audit(dir.path(), &[]).0, 0);
    // Make every file's last check old, the middle one's the oldest.
    let state_path = dir.path().join(".csvseal-audit-state.json");
    let mut state: Value = serde_json::from_slice(&std::fs::read(&state_path).unwrap()).unwrap();
    let ages = [
        ("trades_20240910_143000.csv", 10),
        ("trades_20240910_143100.csv", 30),
        ("trades_20240910_143200.csv", 20),
    ];
    for (name, days) in ages {
        let at = state["files"][name]["checked_at"].as_u64().unwrap();
        state["files"][name]["checked_at"] = (at - days * 86_400).into();
    }
    std::fs::write(&state_path, serde_json::to_vec(&state).unwrap()).unwrap();
    // A budget of one byte: one file per run (the oldest), the rest later.
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let rechecked = || {
        let (code, doc) = audit(dir.path(), &["--max-bytes", "1"]);
        assert_eq!(code, 0, "{doc:#}");
        assert_eq!(doc["scrubbed"].as_u64(), Some(1), "{doc:#}");
        let st: Value = serde_json::from_slice(&std::fs::read(&state_path).unwrap()).unwrap();
        ages.map(|(n, _)| st["files"][n]["checked_at"].as_u64().unwrap() >= started)
    };
    assert_eq!(
        rechecked(),
        [false, true, false],
        "the oldest (30 days) first"
    );
    assert_eq!(rechecked(), [false, true, true], "then the 20-day one");
    assert_eq!(rechecked(), [true, true, true]);
    let (_, doc) = audit(dir.path(), &["--max-bytes", "1"]);
    assert_eq!(
        (doc["scrubbed"].as_u64(), doc["scrub_deferred"].as_u64()),
        (Some(0), Some(0))
    );
}

#[test]
fn audit_raises_sequence_gap_across_a_series_and_inside_a_file() {
    let dir = TempDir::new().unwrap();
    healthy(dir.path()); // 1..3, 4..6, 7..9
    let out = seal(
        dir.path(),
        "trades",
        "2024-09-10T14:33:00Z",
        &["--start-seq", "15"],
    );
    assert_eq!(out.status.code(), Some(0));
    let (code, doc) = audit(dir.path(), &[]);
    assert_eq!(code, 32 + 2, "{doc:#}");
    assert_eq!(classes(&doc), ["sequence-gap"]);
    let msg = doc["alerts"][0]["message"].as_str().unwrap();
    assert!(msg.contains("5 file_seq value(s) missing"), "{msg}");

    // Inside a file: a valid file whose file_seq jumps 1 → 5, sealed with
    // the policy's own checksum function (tests/python/policy_csv.py).
    let other = TempDir::new().unwrap();
    let gap_file = other.path().join("k_20240910_143000.csv");
    let script = format!(
        "import sys; sys.path.insert(0, {py_dir:?}); from policy_csv import compute_row_checksum as c\n\
         rows = [dict(file_seq=s, a='x') for s in (1, 5)]\n\
         out = 'file_seq,a,checksum_sha256\\r\\n' + ''.join(\n\
             f\"{{r['file_seq']}},x,{{c(r)}}\\r\\n\" for r in rows)\n\
         open({path:?}, 'w', newline='').write(out)\n",
        py_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python"),
        path = gap_file.to_str().unwrap(),
    );
    let py = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(py.status.success(), "{}", stderr(&py));
    let v = csvseal(&["verify", gap_file.to_str().unwrap()], None);
    assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));
    let (code, doc) = audit(other.path(), &[]);
    assert_eq!(code, 34, "{doc:#}");
    let msg = doc["alerts"][0]["message"].as_str().unwrap();
    assert!(msg.contains("1 file_seq gap(s) inside the file"), "{msg}");
}

#[test]
fn audit_raises_temp_file_not_cleaned_up_only_when_old() {
    let dir = TempDir::new().unwrap();
    healthy(dir.path());
    let temp = dir.path().join("trades_20240910_150000.csv.tmp");
    std::fs::write(&temp, "file_seq,a,checksum_sha256\r\n").unwrap();
    // Young: a write in progress, not an alert.
    let (code, doc) = audit(dir.path(), &["--max-temp-age", "10m"]);
    assert_eq!((code, doc["temp_files"].as_u64()), (0, Some(1)), "{doc:#}");
    // Two hours old.
    let f = std::fs::File::options().write(true).open(&temp).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(7200))
        .unwrap();
    drop(f);
    let (code, doc) = audit(dir.path(), &["--max-temp-age", "10m"]);
    assert_eq!(code, 32 + 4, "{doc:#}");
    assert_eq!(classes(&doc), ["temp-file-not-cleaned-up"]);
    assert!(
        doc["alerts"][0]["message"].as_str().unwrap().contains("2h"),
        "{doc:#}"
    );
    // Within a larger allowance it is not.
    assert_eq!(audit(dir.path(), &["--max-temp-age", "3h"]).0, 0);
}

#[test]
fn audit_raises_write_timeout_from_the_metrics_file_once() {
    let dir = TempDir::new().unwrap();
    healthy(dir.path());
    let prom = TempDir::new().unwrap();
    let metrics = prom.path().join("csvseal.prom");
    let m = metrics.to_str().unwrap();
    // No metrics yet: nothing to raise.
    assert_eq!(audit(dir.path(), &["--metrics-file", m]).0, 0);
    // A real timed-out write records into the file.
    let mut child = Command::new(csvseal_bin())
        .args([
            "write",
            "--dir",
            dir.path().to_str().unwrap(),
            "--name",
            "late",
            "--timeout",
            "200ms",
            "--metrics-file",
            m,
        ])
        .env("CSVSEAL_CACHE_DIR", common::cache_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap(); // open, never written: a stall
    let status = child.wait().unwrap();
    drop(stdin);
    assert_eq!(status.code(), Some(4));

    let (code, doc) = audit(dir.path(), &["--metrics-file", m]);
    assert_eq!(code, 32 + 8, "{doc:#}");
    assert_eq!(classes(&doc), ["write-timeout"]);
    // The audit's own metrics went into the same file.
    let exp = read_metrics(&metrics);
    assert_eq!(
        val(&exp, "csvseal_audit_alerts", &[("class", "write-timeout")]),
        1.0
    );
    assert_eq!(
        val(
            &exp,
            "csvseal_audit_alerts",
            &[("class", "integrity-failure")]
        ),
        0.0
    );
    // Raised once per new timeout: the next audit is quiet again.
    let (code, doc) = audit(dir.path(), &["--metrics-file", m]);
    assert_eq!(code, 0, "{doc:#}");
}

#[test]
fn audit_names_every_class_at_once_in_exit_code_and_text() {
    let dir = TempDir::new().unwrap();
    healthy(dir.path());
    let out = seal(
        dir.path(),
        "trades",
        "2024-09-10T14:33:00Z",
        &["--start-seq", "100"],
    );
    assert_eq!(out.status.code(), Some(0));
    let f = dir.path().join("trades_20240910_143000.csv");
    let mut bytes = std::fs::read(&f).unwrap();
    let at = bytes.iter().rposition(|b| *b == b'E').unwrap();
    bytes[at] = b'F';
    std::fs::write(&f, bytes).unwrap();
    let temp = dir.path().join("trades_20240910_150000.csv.tmp");
    let t = std::fs::File::create(&temp).unwrap();
    t.set_modified(SystemTime::now() - Duration::from_secs(7200))
        .unwrap();
    drop(t);
    let metrics = dir.path().join("m.prom");
    std::fs::write(&metrics, "# TYPE csvseal_writes_failed_total counter\ncsvseal_writes_failed_total{reason=\"timeout\"} 2\n").unwrap();

    let out = csvseal(
        &[
            "audit",
            "--dir",
            dir.path().to_str().unwrap(),
            "--metrics-file",
            metrics.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(32 + 1 + 2 + 4 + 8),
        "{}",
        stdout(&out)
    );
    let text = stdout(&out);
    for class in [
        "integrity-failure",
        "sequence-gap",
        "temp-file-not-cleaned-up",
        "write-timeout",
    ] {
        assert!(
            text.contains(&format!("ALERT {class}: ")),
            "{class}: {text}"
        );
    }
    assert!(
        text.contains(
            "alert(s): integrity-failure, sequence-gap, temp-file-not-cleaned-up, write-timeout"
        ),
        "{text}"
    );
}

#[test]
fn audit_of_a_missing_directory_is_an_error() {
    let dir = TempDir::new().unwrap();
    let out = csvseal(
        &["audit", "--dir", dir.path().join("nope").to_str().unwrap()],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nope"), "{}", stderr(&out));
}

#[test]
fn a_verification_that_cannot_be_done_is_counted_apart_from_invalid_files() {
    let data = TempDir::new().unwrap();
    let metrics = data.path().join("m.prom");
    let missing = data.path().join("missing.csv");
    let v = csvseal(
        &[
            "verify",
            "--metrics-file",
            metrics.to_str().unwrap(),
            missing.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(v.status.code(), Some(2));
    let exp = read_metrics(&metrics);
    assert_eq!(
        val(
            &exp,
            "csvseal_verifications_errored_total",
            &[("reason", "io")]
        ),
        1.0
    );
    assert!(
        !exp.families
            .contains_key("csvseal_verifications_failed_total")
    );
}
