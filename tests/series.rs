//! Series: `write --continue` and `verify --series`, end to end.

mod common;

use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;
use tempfile::TempDir;

fn rows(n: usize, tag: &str) -> String {
    let mut s = String::from("trade_id,symbol\n");
    for i in 0..n {
        s += &format!("{tag}{i},EURUSD\n");
    }
    s
}

fn cont(dir: &std::path::Path, stamp: &str, input: &str) -> std::process::Output {
    cont_with(dir, stamp, input, &[])
}

/// `write --json --continue` of series "s" in `dir`, with `extra` options.
fn cont_with(
    dir: &std::path::Path,
    stamp: &str,
    input: &str,
    extra: &[&str],
) -> std::process::Output {
    let d = dir.to_str().unwrap();
    let mut args = vec!["write", "--json", "--continue", "--dir", d, "--name", "s"];
    args.extend(["--timestamp", stamp]);
    args.extend_from_slice(extra);
    csvseal(&args, Some(input.as_bytes()))
}

fn series_json(dir: &std::path::Path) -> (i32, Value) {
    let o = csvseal(
        &["verify", "--json", "--series", dir.to_str().unwrap(), "s"],
        None,
    );
    (
        o.status.code().unwrap(),
        serde_json::from_slice(&o.stdout).unwrap(),
    )
}

#[test]
fn continue_picks_up_after_the_last_file() {
    let dir = TempDir::new().unwrap();
    // Not members of series "s": another base, and a temp.
    write_ok(dir.path(), "s_x", &rows(2, "X"), &["--start-seq", "900"]);
    put(dir.path(), "s_20240910_150000.csv.tmp", b"junk");

    let a = cont(dir.path(), "2024-09-10T14:00:00Z", &rows(5, "A"));
    assert_eq!(a.status.code(), Some(0), "{}", stdout(&a));
    let a: Value = serde_json::from_slice(&a.stdout).unwrap();
    assert_eq!(
        (a["first_seq"].as_u64(), a["last_seq"].as_u64()),
        (Some(1), Some(5))
    );

    // A big file …
    let b = cont(dir.path(), "2024-09-10T14:10:00Z", &rows(20_000, "B"));
    assert_eq!(b.status.code(), Some(0), "{}", stdout(&b));
    let b: Value = serde_json::from_slice(&b.stdout).unwrap();
    assert_eq!(b["first_seq"], 6);
    assert_eq!(b["last_seq"], 20_005);
    // … then one whose last rows have quoted fields spanning lines.
    let quoted = "trade_id,note\nQ1,\"a\nb\"\nQ2,\"x,\"\"y\"\"\"\n";
    let c = cont(dir.path(), "2024-09-10T14:20:00Z", quoted);
    let c: Value = serde_json::from_slice(&c.stdout).unwrap();
    assert_eq!(
        (c["first_seq"].as_u64(), c["last_seq"].as_u64()),
        (Some(20_006), Some(20_007))
    );
    let d = cont(dir.path(), "2024-09-10T14:30:00Z", &rows(1, "D"));
    let d: Value = serde_json::from_slice(&d.stdout).unwrap();
    assert_eq!(d["first_seq"], 20_008);

    let (code, doc) = series_json(dir.path());
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["files"].as_array().unwrap().len(), 4);
    assert_eq!(doc["overlaps"], serde_json::json!([]));
    assert_eq!(doc["gaps"], serde_json::json!([]));

    // A continuation named before the last file is refused.
    let e = cont(dir.path(), "2024-09-10T14:25:00Z", &rows(1, "E"));
    assert_eq!(e.status.code(), Some(2), "{}", stdout(&e));
    let e: Value = serde_json::from_slice(&e.stdout).unwrap();
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("named later"),
        "{e:#}"
    );
}

#[test]
fn continue_refuses_to_follow_a_damaged_file() {
    let dir = TempDir::new().unwrap();
    let p = write_ok(dir.path(), "s", &rows(3, "A"), &[]);
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, text.replacen("A2", "A9", 1)).unwrap();
    let o = cont(dir.path(), "2024-09-10T15:00:00Z", &rows(1, "B"));
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "source-invalid");
}

#[test]
fn a_held_series_lock_is_busy_or_waited_for() {
    let dir = TempDir::new().unwrap();
    write_ok(dir.path(), "s", &rows(2, "A"), &[]);
    let lock = std::fs::File::create(dir.path().join(".s.series.lock")).unwrap();
    lock.lock().unwrap();
    let o = cont(dir.path(), "2024-09-10T15:00:00Z", &rows(1, "B"));
    assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "busy");
    // Released while a writer waits: it proceeds.
    let d = dir.path().to_owned();
    let waiter = std::thread::spawn(move || {
        csvseal(
            &[
                "write",
                "--continue",
                "--wait",
                "30s",
                "--dir",
                d.to_str().unwrap(),
                "--name",
                "s",
                "--timestamp",
                "2024-09-10T15:00:00Z",
            ],
            Some(rows(1, "B").as_bytes()),
        )
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(lock);
    let o = waiter.join().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (code, _) = series_json(dir.path());
    assert_eq!(code, 0);
}

#[test]
fn verify_series_reports_overlaps_as_errors_and_gaps_as_warnings() {
    let dir = TempDir::new().unwrap();
    let d = dir.path().to_str().unwrap();
    for (stamp, start) in [
        ("2024-09-10T14:00:00Z", "1"),  // 1..3
        ("2024-09-10T14:01:00Z", "10"), // 10..12: gap of 6
        ("2024-09-10T14:02:00Z", "12"), // 12..14: overlaps 12
    ] {
        let o = csvseal(
            &[
                "write",
                "--dir",
                d,
                "--name",
                "s",
                "--timestamp",
                stamp,
                "--start-seq",
                start,
            ],
            Some(rows(3, "R").as_bytes()),
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    }
    let (code, doc) = series_json(dir.path());
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["gaps"][0]["last"], 3);
    assert_eq!(doc["gaps"][0]["first"], 10);
    assert_eq!(doc["overlaps"][0]["last"], 12);
    assert_eq!(doc["overlaps"][0]["first"], 12);
    let text = csvseal(&["verify", "--series", d, "s"], None);
    assert!(
        stdout(&text).contains("series overlap"),
        "{}",
        stdout(&text)
    );
    assert!(stdout(&text).contains("series gap"), "{}", stdout(&text));
}

#[test]
fn concurrent_continuations_never_hand_out_the_same_seqs() {
    let dir = TempDir::new().unwrap();
    let inputs = TempDir::new().unwrap();
    let input = put(inputs.path(), "in.csv", rows(2000, "P").as_bytes());
    let children: Vec<_> = (0..8)
        .map(|i| {
            Command::new(csvseal_bin())
                .args([
                    "write",
                    "--json",
                    "--continue",
                    "--wait",
                    "60s",
                    "--name",
                    "s",
                    "--input",
                    &input,
                ])
                .arg("--dir")
                .arg(dir.path())
                .args(["--timestamp", &format!("2024-09-10T14:00:{i:02}Z")])
                .env("CSVSEAL_CACHE_DIR", common::cache_dir())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut committed = 0;
    for c in children {
        let o = c.wait_with_output().unwrap();
        match o.status.code() {
            Some(0) => committed += 1,
            // A later-named file won the lock first: refused, not misnumbered.
            Some(2) => assert!(stdout(&o).contains("named later"), "{}", stdout(&o)),
            other => panic!("{other:?}: {}", stdout(&o)),
        }
    }
    assert!(committed >= 1);
    let (code, doc) = series_json(dir.path());
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["files"].as_array().unwrap().len(), committed);
    // Contiguous: file k holds 2000k+1 ..= 2000(k+1).
    for (k, f) in doc["files"].as_array().unwrap().iter().enumerate() {
        assert_eq!(f["first_seq"], 2000 * k as u64 + 1, "{doc:#}");
    }
}

/// Changes one checksum digit about halfway through `path`, leaving the
/// tail (and the file's size) intact.
fn damage_middle(path: &std::path::Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    let eol = mid + bytes[mid..].windows(2).position(|w| w == b"\r\n").unwrap();
    let d = &mut bytes[eol - 1];
    *d = if *d == b'0' { b'1' } else { b'0' };
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn damage_anywhere_in_the_previous_file_stops_a_continuation() {
    let dir = TempDir::new().unwrap();
    // Large enough that its last 64 KiB, 1 MiB and 16 MiB tails are all
    // intact and quote-free: a tail read would miss the damage.
    let first = write_ok(dir.path(), "s", &rows(600_000, "A"), &[]);
    assert!(std::fs::metadata(&first).unwrap().len() > 40 << 20);
    damage_middle(std::path::Path::new(&first));

    let o = cont(dir.path(), "2024-09-10T15:00:00Z", &rows(1, "B"));
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "source-invalid", "{doc}");
    assert_eq!(
        doc["error"]["report"]["errors"][0]["kind"],
        "checksum-mismatch"
    );
    assert_eq!(csvs(dir.path()).len(), 1, "nothing was written");
}

#[test]
fn a_plugin_never_judges_the_series_alone() {
    let dir = TempDir::new().unwrap();
    let d = dir.path().to_str().unwrap();
    let lenient = plugin("hostile-lenient");
    let a = cont(dir.path(), "2024-09-10T14:00:00Z", &rows(50, "A"));
    assert_eq!(a.status.code(), Some(0));
    // The plugin lies: its verifier reports a last seq 1000 too high. The
    // start seq comes from the built-in verifier: 51, not 1051.
    let with_plugin = ["--component", lenient.as_str()];
    let o = cont_with(
        dir.path(),
        "2024-09-10T14:10:00Z",
        &rows(2, "B"),
        &with_plugin,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let b: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(b["first_seq"], 51, "{b}");

    // A damaged series: the plugin calls it valid, the built-in verifier
    // does not, and its verdict stands — for verify --series …
    let files = csvs(dir.path());
    damage_middle(&dir.path().join(&files[1]));
    let o = csvseal(
        &[
            "verify",
            "--json",
            "--series",
            d,
            "s",
            "--component",
            &lenient,
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["valid"], false);
    assert_eq!(doc["files"][1]["errors"][0]["kind"], "checksum-mismatch");
    // … and for a continuation after it.
    let o = cont_with(
        dir.path(),
        "2024-09-10T14:20:00Z",
        &rows(1, "C"),
        &with_plugin,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert_eq!(csvs(dir.path()).len(), 2);
}

/// The sealed files in `dir` (not the series lock), sorted.
fn csvs(dir: &std::path::Path) -> Vec<String> {
    let mut v = listing(dir);
    v.retain(|n| n.ends_with(".csv"));
    v
}
