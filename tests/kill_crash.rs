//! The kill test (SQLite-style crash testing, at process level): a child
//! `csvseal write` is SIGKILLed at a random moment; afterwards every final
//! file verifies and is byte-for-byte wholly old or wholly new, a write that
//! reported success is never lost, and `recover` leaves no temp file.
//!
//! Small and 100k-row inputs, with and without `--replace`. Iterations per
//! case: `CSVSEAL_KILL_ITERS` (default 8, so CI stays fast; the full-size
//! run is `CSVSEAL_KILL_ITERS=1000`). `CSVSEAL_KILL_SEED` replays a run.
//! Each case must land kills in every phase — before the temp file exists,
//! during the write, after the rename — so after the random kills it aims
//! at any phase not yet hit (at once after spawning; as soon as a temp file
//! shows; as soon as the new file is in place), and fails if it cannot hit
//! one within `MAX_CALIBRATION` more kills.
//!
//! A SIGKILL is a process crash, not a power cut: it proves the commit
//! protocol and the cleanup, not that the disk honours fsync (the fault
//! injection tests cover failing fsyncs; see docs/operations.md, "Guarantees and limits").

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use tempfile::TempDir;

const STAMP: &str = "2024-09-10T14:30:00Z";
const TARGET: &str = "k_20240910_143000.csv";

fn iterations() -> usize {
    std::env::var("CSVSEAL_KILL_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
}

fn seed() -> u64 {
    seed_from("CSVSEAL_KILL_SEED")
}

fn rows_csv(rows: usize, tag: &str) -> String {
    let mut s = String::from("timestamp,trade_id,symbol,profit_loss\n");
    for i in 0..rows {
        s += &format!("2024-09-10T14:30:00Z,{tag}_{i:08},\"EUR,USD\",{i}.25\n");
    }
    s
}

fn write_cmd(dir: &Path, input: &Path, replace: bool, key: Option<&Path>) -> Command {
    let mut cmd = Command::new(csvseal_bin());
    cmd.args(["write", "--dir"])
        .arg(dir)
        .args(["--name", "k", "--timestamp", STAMP, "--input"])
        .arg(input)
        .env("CSVSEAL_CACHE_DIR", common::cache_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if replace {
        cmd.arg("--replace");
    }
    if let Some(key) = key {
        cmd.arg("--sign-key").arg(key);
    }
    cmd
}

/// The BLAKE2b-512 (hex) a signature file states for its CSV.
fn stated_digest(sig: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(sig).ok()?;
    let comment = text
        .lines()
        .find_map(|l| l.strip_prefix("trusted comment: "))?;
    comment
        .split('\t')
        .find_map(|f| f.strip_prefix("blake2b:"))
        .map(str::to_owned)
}

/// BLAKE2b-512 (hex) of a file, by coreutils' b2sum.
fn b2sum(path: &Path) -> String {
    let out = Command::new("b2sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

/// Every `.tmp` under `dir` and its backup directory.
fn temps(dir: &Path) -> Vec<PathBuf> {
    let mut found = vec![];
    for d in [dir.to_owned(), dir.join(".csvseal-backup")] {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd {
                let p = e.unwrap().path();
                if p.to_string_lossy().ends_with(".tmp") {
                    found.push(p);
                }
            }
        }
    }
    found
}

fn kill_case(rows: usize, replace: bool) {
    kill_case_with(rows, replace, false);
}

/// With `signed`, every write signs with a fresh key, and after every kill
/// no new CSV stands without its own signature, and recover leaves no
/// orphan signature.
fn kill_case_with(rows: usize, replace: bool, signed: bool) {
    let seed = seed();
    let mut rng = Rng(seed);
    let case = format!("rows={rows} replace={replace} signed={signed} seed={seed}");
    let work = TempDir::new().unwrap();
    let key_path = work.path().join("k.key");
    if signed {
        let p = work.path().join("k.pub");
        let out = csvseal(
            &[
                "keygen",
                "--secret-key",
                key_path.to_str().unwrap(),
                "--public-key",
                p.to_str().unwrap(),
            ],
            None,
        );
        assert!(out.status.success(), "{case}: keygen");
    }
    let key = signed.then_some(key_path.as_path());
    let input = work.path().join("input.csv");
    std::fs::write(&input, rows_csv(rows, "NEW")).unwrap();

    // The old file (for --replace) and the new file's exact bytes, from
    // undisturbed runs; the new run's time bounds the kill delay.
    let old_bytes = {
        let d = TempDir::new().unwrap();
        let old_input = work.path().join("old.csv");
        std::fs::write(&old_input, rows_csv(rows.min(1000), "OLD")).unwrap();
        let s = write_cmd(d.path(), &old_input, false, None)
            .status()
            .unwrap();
        assert!(s.success(), "{case}");
        std::fs::read(d.path().join(TARGET)).unwrap()
    };
    // Timed as the case runs (with the old file in place for --replace);
    // the median of three, so one cold start does not stretch the window.
    let mut runs: Vec<(Vec<u8>, Duration)> = (0..3)
        .map(|_| {
            let d = TempDir::new().unwrap();
            if replace {
                std::fs::write(d.path().join(TARGET), &old_bytes).unwrap();
            }
            let t = Instant::now();
            let s = write_cmd(d.path(), &input, replace, key).status().unwrap();
            assert!(s.success(), "{case}");
            (std::fs::read(d.path().join(TARGET)).unwrap(), t.elapsed())
        })
        .collect();
    runs.sort_by_key(|r| r.1);
    let (new_bytes, full) = runs.swap_remove(1);
    let window = (full.as_micros() as u64 * 12 / 10).max(1);

    let mut seen = Buckets::default();
    let mut swept = 0;
    let mut i = 0;
    while i < iterations() || !seen.all_hit() {
        let it = format!("{case} iteration {i}");
        assert!(
            i < iterations() + MAX_CALIBRATION,
            "{case}: after {i} kills, never {}: {seen:?}",
            seen.missing()
        );
        // Random kills first; then, for a phase not yet hit, a kill aimed
        // at it by watching the directory.
        let aim = (i >= iterations()).then(|| seen.first_missing());
        i += 1;
        let dir = TempDir::new().unwrap();
        let target = dir.path().join(TARGET);
        if replace {
            std::fs::write(&target, &old_bytes).unwrap();
        }
        let old_ino = inode(&target);
        let mut child = write_cmd(dir.path(), &input, replace, key).spawn().unwrap();
        let delay = match aim {
            None => {
                let d = rng.below(window);
                std::thread::sleep(Duration::from_micros(d));
                d
            }
            Some(Phase::BeforeTemp) => 0,
            // As soon as a temp file shows, or the new file is in place.
            Some(Phase::During) => watch(&mut child, || !temps(dir.path()).is_empty()),
            Some(_) => watch(&mut child, || {
                inode(&target).is_some_and(|ino| Some(ino) != old_ino)
            }),
        };
        let _ = child.kill(); // SIGKILL; fails only if it already exited
        let status = child.wait().unwrap();

        let now = std::fs::read(&target).ok();
        let temp_left = !temps(dir.path()).is_empty();
        let phase = if status.success() {
            // Reported success: the new file is there, whole.
            assert_eq!(now.as_deref(), Some(&new_bytes[..]), "{it}: success lost");
            Phase::Finished
        } else {
            assert!(
                status.code().is_none(),
                "{it}: failed without a kill: {status}"
            );
            match &now {
                Some(b) if *b == new_bytes => Phase::AfterRename,
                Some(b) if replace && *b == old_bytes => Phase::before_or_during(temp_left),
                None if !replace => Phase::before_or_during(temp_left),
                Some(b) => panic!("{it}: target is neither old nor new ({} bytes)", b.len()),
                None => panic!("{it}: the old target vanished"),
            }
        };
        seen.record(phase, delay);
        let sig = dir.path().join(format!("{TARGET}.minisig"));
        if signed && now.as_deref() == Some(&new_bytes[..]) {
            // No CSV is ever visible without its signature.
            let stated = std::fs::read(&sig).ok().and_then(|s| stated_digest(&s));
            assert_eq!(
                stated,
                Some(b2sum(&target)),
                "{it}: the new CSV without its signature"
            );
        }
        // Any backup made is wholly the old file.
        if let Ok(rd) = std::fs::read_dir(dir.path().join(".csvseal-backup")) {
            for e in rd {
                let p = e.unwrap().path();
                if p.to_string_lossy().ends_with(".bak") {
                    assert_eq!(std::fs::read(&p).unwrap(), old_bytes, "{it}: torn backup");
                }
            }
        }
        // recover: every final file verifies, no temp survives.
        swept += usize::from(temp_left);
        let r = csvseal(&["recover", "--dir", dir.path().to_str().unwrap()], None);
        assert_eq!(r.status.code(), Some(0), "{it}: {}", stdout(&r));
        assert!(
            temps(dir.path()).is_empty(),
            "{it}: {:?}",
            temps(dir.path())
        );
        if signed && !target.exists() {
            assert!(!sig.exists(), "{it}: recover left an orphan signature");
        }
        // And the next write of this target works (nothing stuck busy).
        let again = write_cmd(dir.path(), &input, true, key).status().unwrap();
        assert!(again.success(), "{it}: retry failed");
        assert_eq!(std::fs::read(&target).unwrap(), new_bytes, "{it}");
    }
    eprintln!(
        "kill test {case}: {i} kills: {} before the temp existed, {} during the write, \
         {} after the rename, {} finished first; {swept} left a temp that recover removed",
        seen.count[0], seen.count[1], seen.count[2], seen.count[3]
    );
}

/// Polls until `seen` holds or the child exits; returns the µs waited.
fn watch(child: &mut std::process::Child, mut seen: impl FnMut() -> bool) -> u64 {
    let t = Instant::now();
    while !seen() && child.try_wait().unwrap().is_none() {
        std::thread::yield_now();
    }
    t.elapsed().as_micros() as u64
}

fn inode(p: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(p).ok().map(|m| m.ino())
}

/// Kills beyond `CSVSEAL_KILL_ITERS` spent, at most, hitting every phase.
const MAX_CALIBRATION: usize = 50;

impl Phase {
    fn before_or_during(temp_left: bool) -> Phase {
        if temp_left {
            Phase::During
        } else {
            Phase::BeforeTemp
        }
    }
}

/// How often each phase was hit, and the delays (µs) that hit it.
#[derive(Debug, Default)]
struct Buckets {
    count: [usize; 4],
    min: [Option<u64>; 4],
    max: [Option<u64>; 4],
}

impl Buckets {
    fn record(&mut self, p: Phase, delay: u64) {
        let k = p as usize;
        self.count[k] += 1;
        self.min[k] = Some(self.min[k].map_or(delay, |m| m.min(delay)));
        self.max[k] = Some(self.max[k].map_or(delay, |m| m.max(delay)));
    }

    /// The three kinds of kill the test must show: before, during, after.
    fn all_hit(&self) -> bool {
        self.count[..3].iter().all(|c| *c > 0)
    }

    fn missing(&self) -> &'static str {
        match self.count {
            [0, ..] => "a kill before the temp file existed",
            [_, 0, ..] => "a kill during the write",
            _ => "a kill after the rename",
        }
    }

    /// The first of before / during / after not hit yet.
    fn first_missing(&self) -> Phase {
        [Phase::BeforeTemp, Phase::During, Phase::AfterRename]
            .into_iter()
            .find(|p| self.count[*p as usize] == 0)
            .unwrap_or(Phase::AfterRename)
    }
}

#[test]
fn kill_small_write() {
    kill_case(3, false);
}

#[test]
fn kill_small_replace() {
    kill_case(3, true);
}

#[test]
fn kill_100k_write() {
    kill_case(100_000, false);
}

#[test]
fn kill_100k_replace() {
    kill_case(100_000, true);
}

#[test]
fn kill_small_signed_write() {
    kill_case_with(10, false, true);
}

#[test]
fn kill_100k_signed_replace() {
    kill_case_with(100_000, true, true);
}
