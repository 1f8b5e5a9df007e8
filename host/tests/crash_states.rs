//! Power loss, explored: every crash state of every command that changes
//! files. Each command runs once for real through a recording `FileOps`;
//! then, after each of its operations, every disk state a power cut may
//! leave (the model is in `explorer/disk.rs` and ARCHITECTURE.md, "Power
//! loss") is rebuilt in a scratch directory, `recover` runs on it, and:
//! - every file is wholly one version: as before the command, or as after;
//! - a file the command did not remove is still there (`recover` removes
//!   nothing it should keep), and no temp file is left;
//! - a signature always belongs to the file beside it, and none is orphaned;
//! - a replaced file's old version is in a whole backup;
//! - once the command has returned success, all it wrote survives;
//! - the audit state and metrics files stay usable.
//!
//! The command's real run must also match the model exactly, so a
//! mutation that bypassed the seam (and so escaped the exploration) fails.

mod common;
mod explorer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use csvseal::backup::BackupPolicy;
use csvseal::jobs::audit::{AuditOptions, audit};
use csvseal::jobs::recover::recover_dir;
use csvseal::monitor::prom_text::Exposition;
use csvseal::signing::{SecretKey, Signer};
use csvseal::store::file_ops::{FileOps, RealFs};
use csvseal::{Limits, Sandbox, WriteControl, WriteRequest};
use explorer::disk::{Disk, Tree};
use explorer::recorder::Recorder;
use explorer::{Explored, Judged, explore, read_tree};
use tempfile::TempDir;

/// Crash states judged after each operation, at most.
const CAP: usize = 256;
const TARGET: &str = "orders_20240910_143000.csv";
const NEXT: &str = "orders_20240910_143100.csv";
const BACKUPS: &str = ".csvseal-backup";

static SANDBOX: LazyLock<Sandbox> = LazyLock::new(|| Sandbox::builtin(Limits::default()).unwrap());
static KEY: LazyLock<Arc<SecretKey>> = LazyLock::new(|| Arc::new(SecretKey::generate().unwrap()));

fn sb() -> &'static Sandbox {
    &SANDBOX
}

/// Rows enough for about 85 pages: a torn prefix can cut a file in many places.
const ROWS: usize = 3200;
/// Rows enough for the sealer to write in several chunks (about 3 MB).
const MANY_ROWS: usize = 30_000;

fn rows(tag: &str, n: usize) -> Vec<u8> {
    let mut s = String::from("symbol,qty,note\n");
    for i in 0..n {
        s += &format!("EURUSD,{i},\"{tag} row {i}, quoted\"\n");
    }
    s.into_bytes()
}

fn request(dir: &Path, stamp: &str) -> WriteRequest {
    WriteRequest {
        timestamp: csvseal::store::naming::parse_timestamp(stamp).unwrap(),
        ..WriteRequest::new(dir, "orders")
    }
}

/// How a write is made: `How::default().replace().signed()`.
#[derive(Clone, Copy, Default)]
struct How {
    replace: bool,
    keep: Option<usize>,
    signed: bool,
    continued: bool,
    /// Rows written: [`ROWS`] when 0.
    rows: usize,
}

impl How {
    fn replace(self) -> Self {
        How {
            replace: true,
            ..self
        }
    }
    fn keep(self, keep: usize) -> Self {
        How {
            keep: Some(keep),
            ..self
        }
    }
    fn signed(self) -> Self {
        How {
            signed: true,
            ..self
        }
    }
    fn continued(self) -> Self {
        How {
            continued: true,
            ..self
        }
    }
    fn rows(self, rows: usize) -> Self {
        How { rows, ..self }
    }
}

fn write(ops: &dyn FileOps, dir: &Path, tag: &str, how: How) {
    let control = WriteControl {
        replace: how.replace.then_some(BackupPolicy {
            dir: None,
            keep: how.keep,
        }),
        sign: how.signed.then(|| Signer {
            key: KEY.clone(),
            previous: None,
        }),
        ..WriteControl::default()
    };
    let input = rows(tag, if how.rows == 0 { ROWS } else { how.rows });
    if how.continued {
        let req = request(dir, "2024-09-10T14:31:00Z");
        csvseal::jobs::series::write_continue(ops, &control, sb(), &req, &mut &input[..], "input")
            .unwrap();
    } else {
        let req = request(dir, "2024-09-10T14:30:00Z");
        csvseal::write_sealed_with(ops, &control, sb(), &req, &mut &input[..], "input").unwrap();
    }
}

fn policy() -> BackupPolicy {
    BackupPolicy {
        dir: None,
        keep: None,
    }
}

/// A further check of a crash state, after `recover`.
type Check = fn(&Judged) -> Result<(), String>;

/// A command to explore: its starting state, and the command itself.
struct Scenario {
    name: &'static str,
    setup: fn(&Path),
    run: fn(&dyn FileOps, &Path),
    /// A file the command replaces must first be in a whole backup.
    backs_up: bool,
    /// More to check on each state, after `recover`.
    extra: Option<Check>,
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "write",
            setup: |_| {},
            run: |ops, d| write(ops, d, "new", How::default()),
            backs_up: false,
            extra: None,
        },
        Scenario {
            name: "write --replace (first backup: creates the backup directory)",
            setup: |d| write(&RealFs, d, "old", How::default()),
            run: |ops, d| write(ops, d, "new", How::default().replace()),
            backs_up: true,
            extra: None,
        },
        Scenario {
            name: "write --replace --keep 1 (prunes the older backup)",
            setup: |d| {
                write(&RealFs, d, "oldest", How::default());
                write(&RealFs, d, "old", How::default().replace());
            },
            run: |ops, d| write(ops, d, "new", How::default().replace().keep(1)),
            backs_up: true,
            extra: None,
        },
        Scenario {
            name: "write, 3 MB (several appends before the fsync)",
            setup: |_| {},
            run: |ops, d| write(ops, d, "new", How::default().rows(MANY_ROWS)),
            backs_up: false,
            extra: None,
        },
        Scenario {
            name: "write --sign-key --replace, 3 MB",
            setup: |d| write(&RealFs, d, "old", How::default().signed().rows(MANY_ROWS)),
            run: |ops, d| {
                write(
                    ops,
                    d,
                    "new",
                    How::default().signed().replace().rows(MANY_ROWS),
                )
            },
            backs_up: true,
            extra: None,
        },
        Scenario {
            name: "write --continue",
            setup: |d| write(&RealFs, d, "first", How::default()),
            run: |ops, d| write(ops, d, "next", How::default().continued()),
            backs_up: false,
            extra: None,
        },
        Scenario {
            name: "write --sign-key",
            setup: |_| {},
            run: |ops, d| write(ops, d, "new", How::default().signed()),
            backs_up: false,
            extra: None,
        },
        Scenario {
            name: "write --sign-key --replace (signed over signed)",
            setup: |d| write(&RealFs, d, "old", How::default().signed()),
            run: |ops, d| write(ops, d, "new", How::default().signed().replace()),
            backs_up: true,
            extra: None,
        },
        Scenario {
            name: "write --replace (unsigned over signed)",
            setup: |d| write(&RealFs, d, "old", How::default().signed()),
            run: |ops, d| write(ops, d, "new", How::default().replace()),
            backs_up: true,
            extra: None,
        },
        Scenario {
            name: "write --sign-key --continue (a signed chain link)",
            setup: |d| write(&RealFs, d, "first", How::default().signed()),
            run: |ops, d| write(ops, d, "next", How::default().signed().continued()),
            backs_up: false,
            extra: None,
        },
        Scenario {
            name: "backup",
            setup: |d| write(&RealFs, d, "old", How::default().signed()),
            run: |ops, d| {
                csvseal::backup::backup_file(ops, sb(), &d.join(TARGET), &policy()).unwrap();
            },
            backs_up: false,
            extra: None,
        },
        Scenario {
            name: "restore (over a damaged file)",
            setup: |d| {
                write(&RealFs, d, "old", How::default());
                csvseal::backup::backup_file(&RealFs, sb(), &d.join(TARGET), &policy()).unwrap();
                damage(&d.join(TARGET));
            },
            run: |ops, d| {
                csvseal::jobs::restore::restore_file(ops, sb(), &d.join(TARGET), &policy(), false)
                    .unwrap();
            },
            backs_up: false,
            extra: None,
        },
        Scenario {
            name: "restore --force (signed, over a newer signed file)",
            setup: |d| {
                write(&RealFs, d, "old", How::default().signed());
                write(&RealFs, d, "new", How::default().signed().replace());
            },
            run: |ops, d| {
                csvseal::jobs::restore::restore_file(ops, sb(), &d.join(TARGET), &policy(), true)
                    .unwrap();
            },
            backs_up: false,
            extra: None,
        },
        Scenario {
            name: "salvage (into a directory it creates)",
            setup: |d| {
                write(&RealFs, d, "old", How::default());
                damage(&d.join(TARGET));
            },
            run: |ops, d| {
                csvseal::jobs::salvage::salvage_file(
                    ops,
                    sb(),
                    &d.join(TARGET),
                    &d.join("salvaged"),
                )
                .unwrap();
            },
            backs_up: false,
            extra: None,
        },
        Scenario {
            name: "recover (stale temps, an orphan signature)",
            setup: |d| {
                write(&RealFs, d, "old", How::default().signed());
                let torn = rows("torn", ROWS);
                std::fs::write(d.join(format!("{NEXT}.tmp")), &torn[..torn.len() / 2]).unwrap();
                std::fs::copy(
                    d.join(format!("{TARGET}.minisig")),
                    d.join(format!("{NEXT}.minisig")),
                )
                .unwrap();
                std::fs::write(d.join(format!("{TARGET}.minisig.tmp")), b"untrusted").unwrap();
            },
            run: |ops, d| {
                recover_dir(ops, sb(), d, None, false).unwrap();
            },
            backs_up: false,
            extra: None,
        },
        Scenario {
            name: "audit state file update",
            setup: |d| {
                write(&RealFs, d, "old", How::default());
                audit(sb(), &audit_options(d)).unwrap();
            },
            run: |ops, d| {
                // The bytes the next audit saves (a full one: every
                // `checked_at` moves), replaced as `audit` replaces them.
                let copy = TempDir::new().unwrap();
                for e in std::fs::read_dir(d).unwrap() {
                    let e = e.unwrap();
                    if e.file_type().unwrap().is_file() {
                        std::fs::copy(e.path(), copy.path().join(e.file_name())).unwrap();
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(1100));
                audit(
                    sb(),
                    &AuditOptions {
                        full: true,
                        ..audit_options(copy.path())
                    },
                )
                .unwrap();
                let bytes = std::fs::read(copy.path().join(STATE)).unwrap();
                let dir =
                    cap_std::fs::Dir::open_ambient_dir(d, cap_std::ambient_authority()).unwrap();
                csvseal::store::atomic_replace::replace_in(ops, &dir, d, STATE, &bytes).unwrap();
            },
            backs_up: false,
            extra: Some(|j| {
                audit(sb(), &audit_options(j.dir))
                    .map(drop)
                    .map_err(|e| format!("audit on this state failed: {e}"))
            }),
        },
        Scenario {
            name: "metrics file update",
            setup: |d| {
                csvseal::monitor::textfile::update(&RealFs, &d.join(METRICS), &exposition(1))
                    .unwrap();
            },
            run: |ops, d| {
                csvseal::monitor::textfile::update(ops, &d.join(METRICS), &exposition(2)).unwrap();
            },
            backs_up: false,
            extra: Some(|j| {
                csvseal::monitor::textfile::update(&RealFs, &j.dir.join(METRICS), &exposition(3))
                    .map_err(|e| format!("the next metrics update failed: {e}"))?;
                let text = std::fs::read_to_string(j.dir.join(METRICS)).unwrap();
                Exposition::parse(&text)
                    .map(drop)
                    .map_err(|e| format!("metrics unreadable: {e:?}"))
            }),
        },
    ]
}

const STATE: &str = ".csvseal-audit-state.json";
const METRICS: &str = "csvseal.prom";

fn audit_options(dir: &Path) -> AuditOptions {
    AuditOptions {
        dir: dir.to_path_buf(),
        max_temp_age: std::time::Duration::from_secs(3600),
        state_file: None,
        metrics_file: None,
        schema: None,
        full: false,
        rescan_after: std::time::Duration::from_secs(86_400),
        max_bytes: None,
        keys: None,
    }
}

fn exposition(writes: u32) -> Exposition {
    Exposition::parse(&format!(
        "# HELP csvseal_writes_total Writes.\n# TYPE csvseal_writes_total counter\ncsvseal_writes_total{{result=\"ok\"}} {writes}\n"
    ))
    .unwrap()
}

/// Flips one byte in the middle of a sealed file (its size unchanged).
fn damage(path: &PathBuf) {
    let mut bytes = std::fs::read(path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] = if bytes[mid] == b'7' { b'8' } else { b'7' };
    std::fs::write(path, bytes).unwrap();
}

/// Names that hold no data: lock files, and the hidden `.partial` temp of
/// a small file replaced in place (see ARCHITECTURE.md, "Power loss").
fn holds_no_promise(path: &str) -> bool {
    path.ends_with(".lock") || path.ends_with(".partial")
}

/// What must hold on every crash state, after `recover`.
fn judge(j: &Judged, backs_up: bool) -> Result<(), String> {
    // `recover` in each directory csvseal wrote to (it sweeps the backup
    // directory itself).
    let dirs = read_tree(j.dir).dirs;
    for d in std::iter::once(".").chain(dirs.iter().map(String::as_str).filter(|d| *d != BACKUPS)) {
        recover_dir(&RealFs, sb(), &j.dir.join(d), None, false)
            .map_err(|e| format!("recover {d} failed: {e}"))?;
    }
    let now = read_tree(j.dir);
    let (before, after) = (&j.before.files, &j.after.files);
    for (p, bytes) in &now.files {
        if p.ends_with(".tmp") {
            return Err(format!("{p}: a temp file survived recover"));
        }
        if holds_no_promise(p) {
            continue;
        }
        let (b, a) = (before.get(p), after.get(p));
        if Some(bytes) != b && Some(bytes) != a {
            return Err(match (b, a) {
                (None, None) => format!("{p}: left behind, neither before nor after has it"),
                _ => format!(
                    "{p}: torn: {} B, neither the old ({:?} B) nor the new ({:?} B) version",
                    bytes.len(),
                    b.map(|b| b.len()),
                    a.map(|a| a.len())
                ),
            });
        }
    }
    for p in after.keys().filter(|p| !holds_no_promise(p)) {
        if j.returned && now.files.get(p) != after.get(p) {
            return Err(format!(
                "{p}: the command returned success, yet its version is lost"
            ));
        }
        if before.contains_key(p) && !now.files.contains_key(p) {
            return Err(format!(
                "{p}: was there before and after the command, yet is gone"
            ));
        }
    }
    for p in now.files.keys() {
        if let Some(file) = p.strip_suffix(".minisig") {
            signature_pair(j, &now, file, p)?;
        }
    }
    if backs_up {
        for (p, old) in before.iter().filter(|(p, _)| p.ends_with(".csv")) {
            if now.files.get(p) != Some(old)
                && !now
                    .files
                    .iter()
                    .any(|(b, v)| b.starts_with(BACKUPS) && b.ends_with(".bak") && v == old)
            {
                return Err(format!(
                    "{p} was replaced, but no whole backup of its old version survived"
                ));
            }
        }
    }
    Ok(())
}

/// A signature present must sign the file beside it, in the same version.
fn signature_pair(j: &Judged, now: &Tree, file: &str, sig: &str) -> Result<(), String> {
    let (before, after) = (&j.before.files, &j.after.files);
    let Some(content) = now.files.get(file) else {
        return Err(format!("{sig}: an orphan signature survived recover"));
    };
    let signature = now.files.get(sig);
    let is_old = before.get(file) == Some(content);
    let is_new = after.get(file) == Some(content);
    let matches_old = is_old && signature == before.get(sig);
    let matches_new = is_new && signature == after.get(sig);
    if matches_old || matches_new {
        Ok(())
    } else {
        Err(format!(
            "{sig}: does not belong to {file} (file is the {} version)",
            if is_new { "new" } else { "old" }
        ))
    }
}

fn run(s: &Scenario) -> Explored {
    let root = TempDir::new().unwrap();
    let dir = root.path();
    (s.setup)(dir);
    let before = Disk::scan(dir);
    let rec = Recorder::default();
    (s.run)(&rec, dir);
    let ops = rec.take();
    let mut model = before.clone();
    for op in &ops {
        model.apply(op);
    }
    assert_eq!(
        model.volatile_tree(),
        read_tree(dir),
        "{}: the disk differs from the model: a mutation bypassed the FileOps seam",
        s.name
    );
    explore(&before, &ops, CAP, &|j| {
        judge(j, s.backs_up)?;
        match s.extra {
            Some(extra) => extra(j),
            None => Ok(()),
        }
    })
}

#[test]
fn every_crash_state_of_every_command_recovers_whole() {
    let mut total = 0;
    let mut failures = Vec::new();
    for s in scenarios() {
        let started = std::time::Instant::now();
        let e = run(&s);
        println!(
            "{:<62} {:>3} operations {:>5} crash states {:>3} violations  ({:.1?})",
            s.name,
            e.operations,
            e.states,
            e.violations.len(),
            started.elapsed()
        );
        total += e.states;
        for v in e.violations.iter().take(3) {
            println!("    {v}");
        }
        if !e.violations.is_empty() {
            failures.push(format!(
                "{}: {} violations, first: {}",
                s.name,
                e.violations.len(),
                e.violations[0]
            ));
        }
    }
    println!(
        "crash states explored: {total}; violations: {}",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(total >= 2000, "only {total} crash states explored");
}
