//! Concurrent writers through the real binary: processes racing for one
//! target, `--wait`, parallel writers of different targets, and `recover`
//! next to a live writer.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::*;
use serde_json::{Value, json};
use tempfile::TempDir;

const STAMP: &str = "2024-09-10T14:30:00Z";
const TARGET: &str = "race_20240910_143000.csv";

/// A few MiB of input, so that writers overlap in time.
fn big_input(dir: &Path) -> String {
    let mut s = String::from("timestamp,trade_id,symbol,profit_loss\n");
    for i in 0..40_000 {
        s += &format!("2024-09-10T14:30:00Z,TRADE_{i:08},EURUSD,{i}.25\n");
    }
    put(dir, "input.csv", s.as_bytes())
}

fn spawn_write(dir: &Path, input: &str, stamp: &str, extra: &[&str]) -> Child {
    Command::new(csvseal_bin())
        .args(["write", "--json", "--dir"])
        .arg(dir)
        .args(["--name", "race", "--timestamp", stamp, "--input", input])
        .args(extra)
        .env("CSVSEAL_CACHE_DIR", common::cache_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn csvseal")
}

/// Races `n` writers for one target; returns (exit code, JSON) per writer.
fn race(n: usize, extra: &[&str]) -> (TempDir, Vec<(i32, Value)>) {
    let inputs = TempDir::new().unwrap();
    let input = big_input(inputs.path());
    let out = TempDir::new().unwrap();
    // Warm the component cache so the race is about writing, not compiling.
    let warm = csvseal(&["verify", &input], None);
    assert_eq!(warm.status.code(), Some(1), "{}", stderr(&warm));
    let children: Vec<Child> = (0..n)
        .map(|_| spawn_write(out.path(), &input, STAMP, extra))
        .collect();
    let results = children
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            let code = o.status.code().expect("exited, not killed");
            let doc: Value = serde_json::from_slice(&o.stdout)
                .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", stdout(&o)));
            (code, doc)
        })
        .collect();
    (out, results)
}

fn check_one_winner(out: &Path, results: &[(i32, Value)], loser_kinds: &[&str]) {
    let winners: Vec<_> = results.iter().filter(|(c, _)| *c == 0).collect();
    assert_eq!(winners.len(), 1, "{results:#?}");
    for (code, doc) in results.iter().filter(|(c, _)| *c != 0) {
        assert_eq!(*code, 3, "{doc:#}");
        assert_eq!(doc["ok"], false);
        let kind = doc["error"]["kind"].as_str().unwrap();
        assert!(loser_kinds.contains(&kind), "{doc:#}");
    }
    // No temp left; the committed file verifies.
    assert_eq!(listing(out), [TARGET]);
    let target = out.join(TARGET);
    assert_eq!(winners[0].1["path"], target.to_str().unwrap());
    let v = csvseal(&["verify", target.to_str().unwrap()], None);
    assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));
    assert!(stdout(&v).contains("OK: 40000 rows"), "{}", stdout(&v));
}

#[test]
fn sixteen_racers_exactly_one_commits() {
    let (out, results) = race(16, &[]);
    // A loser finds the winner's temp locked (busy) or its file committed.
    check_one_winner(out.path(), &results, &["busy", "target-exists"]);
}

#[test]
fn with_wait_losers_wait_then_see_the_committed_target() {
    let (out, results) = race(8, &["--wait", "60s"]);
    // Nobody gives up as busy: each waits for the lock, then finds the
    // target committed.
    check_one_winner(out.path(), &results, &["target-exists"]);
}

/// Spawns a writer reading its rows from a pipe the test holds, so the
/// test decides when each write may finish.
fn spawn_gated(dir: &Path, stamp: &str) -> Child {
    Command::new(csvseal_bin())
        .args(["write", "--json", "--dir"])
        .arg(dir)
        .args(["--name", "race", "--timestamp", stamp])
        .env("CSVSEAL_CACHE_DIR", common::cache_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn csvseal")
}

/// Polls `dir` until `done(listing)` holds; panics after 60 s.
fn wait_for(dir: &Path, what: &str, done: impl Fn(&[String]) -> bool) {
    let t = std::time::Instant::now();
    loop {
        let names = listing(dir);
        if done(&names) {
            return;
        }
        assert!(t.elapsed().as_secs() < 60, "never saw {what}: {names:?}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn writers_of_different_targets_all_commit_in_parallel() {
    use std::io::Write;
    let out = TempDir::new().unwrap();
    let mut children: Vec<Child> = (0..8)
        .map(|i| spawn_gated(out.path(), &format!("2024-09-10T14:30:{i:02}Z")))
        .collect();
    // Each writer gets its header and first rows, then waits on its pipe.
    for c in &mut children {
        c.stdin
            .as_mut()
            .unwrap()
            .write_all(TRADES.as_bytes())
            .unwrap();
    }
    // All eight are mid-write at once: eight temp files exist together, so
    // no writer waited for another.
    wait_for(out.path(), "8 temp files at once", |names| {
        names.iter().filter(|n| n.ends_with(".csv.tmp")).count() == 8
    });
    for mut c in children {
        drop(c.stdin.take());
        let o = c.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    }
    let names = listing(out.path());
    assert_eq!(names.len(), 8, "{names:?}");
    assert!(names.iter().all(|n| n.ends_with(".csv")), "{names:?}");
}

#[test]
fn racers_that_overlap_a_live_writer_are_busy_and_it_still_commits() {
    use std::io::Write;
    let out = TempDir::new().unwrap();
    // The first writer is held mid-write (its temp exists, locked) …
    let mut first = spawn_gated(out.path(), STAMP);
    first
        .stdin
        .as_mut()
        .unwrap()
        .write_all(TRADES.as_bytes())
        .unwrap();
    wait_for(out.path(), "the first writer's temp", |n| {
        n == [format!("{TARGET}.tmp")]
    });
    // … while fifteen more race for the same target: each one overlaps it
    // and must give up at once as busy, touching nothing.
    let racers: Vec<Child> = (0..15).map(|_| spawn_gated(out.path(), STAMP)).collect();
    for mut r in racers {
        drop(r.stdin.take());
        let o = r.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(3), "{}", stdout(&o));
        let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(doc["error"]["kind"], "busy", "{doc:#}");
    }
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first writer is still mid-write"
    );
    drop(first.stdin.take());
    let o = first.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(listing(out.path()), [TARGET]);
}

#[test]
fn recover_keeps_a_live_writers_temp_and_removes_a_dead_ones() {
    let out = TempDir::new().unwrap();
    let live = out.path().join("live_20240910_143000.csv.tmp");
    let dead = out.path().join("dead_20240910_143000.csv.tmp");
    std::fs::write(&live, b"being written").unwrap();
    std::fs::write(&dead, b"crashed mid-wri").unwrap();
    let good = write_ok(out.path(), "good", TRADES, &[]);
    let held = std::fs::File::open(&live).unwrap();
    held.lock().unwrap();

    let d = out.path().to_str().unwrap();
    let dry = csvseal(&["recover", "--dir", d, "--dry-run", "--json"], None);
    assert_eq!(dry.status.code(), Some(0), "{}", stdout(&dry));
    let doc: Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(doc["removed"], serde_json::json!([dead.to_str().unwrap()]));
    assert!(dead.exists(), "a dry run removed a file");

    let r = csvseal(&["recover", "--dir", d, "--json"], None);
    assert_eq!(r.status.code(), Some(0), "{}", stdout(&r));
    let doc: Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(doc["removed"], serde_json::json!([dead.to_str().unwrap()]));
    assert_eq!(doc["kept"][0]["path"], live.to_str().unwrap());
    assert_eq!(doc["verified"], serde_json::json!([good]));
    assert_eq!(doc["clean"], true);
    assert!(!dead.exists());
    assert_eq!(std::fs::read(&live).unwrap(), b"being written");

    // The writer dies (its descriptor closes): now the temp is stale.
    drop(held);
    let r = csvseal(&["recover", "--dir", d], None);
    assert_eq!(r.status.code(), Some(0), "{}", stdout(&r));
    assert!(
        stdout(&r).contains("removed stale temp file"),
        "{}",
        stdout(&r)
    );
    assert!(!live.exists());
}

#[test]
fn recover_reports_a_final_file_that_no_longer_verifies() {
    let out = TempDir::new().unwrap();
    let path = write_ok(out.path(), "t", TRADES, &[]);
    let s = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, s.replacen("EURUSD", "EURUSX", 1)).unwrap();
    let r = csvseal(&["recover", "--dir", out.path().to_str().unwrap()], None);
    assert_eq!(r.status.code(), Some(1), "{}", stdout(&r));
    assert!(
        stdout(&r).contains(&format!("INVALID {path}")),
        "{}",
        stdout(&r)
    );
    assert!(stdout(&r).contains("checksum-mismatch"), "{}", stdout(&r));
}

#[test]
fn recover_removes_only_the_temps_csvseal_makes() {
    let out = TempDir::new().unwrap();
    let d = out.path().to_str().unwrap();
    // A user's files that merely end in .tmp, beside csvseal's own stale temp.
    let theirs = [
        "notes.tmp",
        "report.txt.tmp",
        "x.tmp.csv.bak",
        ".csv.tmp",
        "MANIFEST.sha256.tmp",
    ];
    for name in theirs {
        std::fs::write(out.path().join(name), b"the user's").unwrap();
    }
    let bdir = out.path().join(".csvseal-backup");
    std::fs::create_dir(&bdir).unwrap();
    std::fs::write(bdir.join("mine.tmp"), b"the user's").unwrap();
    std::fs::write(
        bdir.join("t.csv.20240910T143000.000000000Z.bak.tmp"),
        b"torn",
    )
    .unwrap();
    std::fs::write(bdir.join("MANIFEST.sha256.tmp"), b"torn").unwrap();
    let ours = out.path().join("dead_20240910_143000.csv.tmp");
    std::fs::write(&ours, b"crashed mid-wri").unwrap();

    let r = csvseal(&["recover", "--dir", d, "--json"], None);
    assert_eq!(r.status.code(), Some(0), "{}", stdout(&r));
    let doc: Value = serde_json::from_slice(&r.stdout).unwrap();
    let mut removed: Vec<String> = doc["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    removed.sort();
    let mut want = vec![
        bdir.join("MANIFEST.sha256.tmp"),
        bdir.join("t.csv.20240910T143000.000000000Z.bak.tmp"),
        ours.clone(),
    ]
    .into_iter()
    .map(|p| p.to_str().unwrap().to_owned())
    .collect::<Vec<_>>();
    want.sort();
    assert_eq!(removed, want);
    for name in theirs {
        assert_eq!(
            std::fs::read(out.path().join(name)).unwrap(),
            b"the user's",
            "{name}"
        );
    }
    assert!(bdir.join("mine.tmp").exists());
}

#[test]
fn recover_sweeps_the_backup_dir_it_is_given() {
    let out = TempDir::new().unwrap();
    let d = out.path().to_str().unwrap();
    let backups = TempDir::new().unwrap();
    let b = backups.path().to_str().unwrap();
    let stale = backups
        .path()
        .join("t.csv.20240910T143000.000000000Z.bak.tmp");
    std::fs::write(&stale, b"torn").unwrap();
    let theirs = backups.path().join("mine.tmp");
    std::fs::write(&theirs, b"the user's").unwrap();
    let removed = |args: &[&str]| {
        let r = csvseal(args, None);
        assert_eq!(r.status.code(), Some(0), "{}", stdout(&r));
        let doc: Value = serde_json::from_slice(&r.stdout).unwrap();
        doc["removed"].clone()
    };
    // Not named: the default backup dir is swept, this one is not.
    assert_eq!(removed(&["recover", "--dir", d, "--json"]), json!([]));
    assert!(stale.exists());
    let args = ["recover", "--dir", d, "--backup-dir", b, "--json"];
    assert_eq!(removed(&args), json!([stale.to_str().unwrap()]));
    assert!(!stale.exists() && theirs.exists());

    // A backup dir that is not there is an error, not a silent no-op.
    let missing = out.path().join("no-such-dir");
    let r = csvseal(
        &[
            "recover",
            "--dir",
            d,
            "--backup-dir",
            missing.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("no-such-dir"), "{}", stderr(&r));
    // Object storage keeps its backups' uploads under their own prefix.
    let r = csvseal(
        &[
            "recover",
            "--dir",
            "s3://bucket/out/",
            "--backup-dir",
            b,
            "--json",
        ],
        None,
    );
    assert_eq!(r.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "usage", "{doc}");
}

#[test]
fn no_command_commits_a_name_recover_would_take_for_a_temp() {
    let out = TempDir::new().unwrap();
    let good = write_ok(out.path(), "ledger", TRADES, &[]);
    // salvage keeps the source's name: a `.tmp` source is refused, not
    // committed where the next `recover` would sweep it.
    let src = out.path().join("sv");
    std::fs::create_dir(&src).unwrap();
    let dot_tmp = src.join("ledger.tmp");
    std::fs::copy(&good, &dot_tmp).unwrap();
    let rescued = out.path().join("rescued");
    let s = csvseal(
        &[
            "salvage",
            dot_tmp.to_str().unwrap(),
            "--out",
            rescued.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(s.status.code(), Some(2), "{}", stdout(&s));
    assert!(
        stderr(&s).contains("must end in \".csv\""),
        "{}",
        stderr(&s)
    );
    assert!(!rescued.join("ledger.tmp").exists());
    assert!(!rescued.join("ledger.tmp.tmp").exists());
}
