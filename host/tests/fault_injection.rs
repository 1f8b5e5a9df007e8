//! Fault injection through the `FileOps` seam: every step of the commit ×
//! every fault. A recording wrapper around the real file system fails the
//! Nth call of one operation with ENOSPC or EIO; each case must surface the
//! error, never rename after a failed fsync, leave the target wholly old or
//! wholly new, and leave no temp file. The same recorder shows the durable
//! order of a successful write: fsync(temp) → rename → fsync(dir). The
//! small files replaced in place (audit state, metrics file) get the same
//! treatment.

mod common;

use std::io;
use std::path::Path;
use std::sync::Mutex;

use cap_std::fs::{Dir, File};
use csvseal::store::file_ops::{FileOps, RealFs};
use csvseal::{Error, Limits, Sandbox, WriteControl, verify_file, write_sealed_with};
use tempfile::TempDir;

use common::request;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Create,
    Write,
    SyncFile,
    Rename,
    Link,
    SyncDir,
    Remove,
}

/// The real file system, with a log of every call and one planned failure.
struct Faulty {
    log: Mutex<Vec<(Op, bool)>>,
    /// Fail the `nth` (1-based) call of `op` with `errno`.
    fault: Option<(Op, usize, i32)>,
}

impl Faulty {
    fn new(fault: Option<(Op, usize, i32)>) -> Self {
        Faulty {
            log: Mutex::new(Vec::new()),
            fault,
        }
    }

    fn call<T>(&self, op: Op, real: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
        let mut log = self.log.lock().unwrap();
        let nth = log.iter().filter(|(o, _)| *o == op).count() + 1;
        if let Some((fop, n, errno)) = self.fault
            && fop == op
            && n == nth
        {
            log.push((op, false));
            return Err(io::Error::from_raw_os_error(errno));
        }
        drop(log);
        let r = real();
        self.log.lock().unwrap().push((op, r.is_ok()));
        r
    }

    fn ops(&self) -> Vec<(Op, bool)> {
        self.log.lock().unwrap().clone()
    }
}

impl FileOps for Faulty {
    fn create_new(&self, dir: &Dir, name: &str) -> io::Result<File> {
        self.call(Op::Create, || RealFs.create_new(dir, name))
    }
    fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
        self.call(Op::Write, || RealFs.write_all(file, bytes))
    }
    fn sync_file(&self, file: &File) -> io::Result<()> {
        self.call(Op::SyncFile, || RealFs.sync_file(file))
    }
    fn rename_noreplace(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()> {
        self.call(Op::Rename, || RealFs.rename_noreplace(dir, from, to))
    }
    fn rename_replace(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()> {
        self.call(Op::Rename, || RealFs.rename_replace(dir, from, to))
    }
    fn hard_link(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()> {
        self.call(Op::Link, || RealFs.hard_link(dir, from, to))
    }
    fn sync_dir(&self, dir: &Dir) -> io::Result<()> {
        self.call(Op::SyncDir, || RealFs.sync_dir(dir))
    }
    fn remove(&self, dir: &Dir, name: &str) -> io::Result<()> {
        self.call(Op::Remove, || RealFs.remove(dir, name))
    }
}

const ENOSPC: i32 = 28;
const EIO: i32 = 5;
const TARGET: &str = "orders_20240910_143000.csv";

/// About 3 MiB of rows: the sealer emits several chunks, so several writes.
fn input() -> Vec<u8> {
    let mut s = String::from("symbol,qty,note\n");
    for i in 0..100_000 {
        s += &format!("EURUSD,{i},\"row {i}, quoted\"\n");
    }
    s.into_bytes()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The bytes a fault-free write of `input()` commits.
fn reference(sb: &Sandbox, input: &[u8]) -> (Vec<u8>, usize) {
    let dir = TempDir::new().unwrap();
    let rec = Faulty::new(None);
    let c = write_sealed_with(
        &rec,
        &WriteControl::default(),
        sb,
        &request(dir.path()),
        &mut &input[..],
        "input",
    )
    .unwrap();
    let writes = rec.ops().iter().filter(|(o, _)| *o == Op::Write).count();
    (std::fs::read(c.path).unwrap(), writes)
}

#[test]
fn a_successful_write_is_durable_in_order() {
    let sb = Sandbox::builtin(Limits::default()).unwrap();
    let dir = TempDir::new().unwrap();
    let rec = Faulty::new(None);
    write_sealed_with(
        &rec,
        &WriteControl::default(),
        &sb,
        &request(dir.path()),
        &mut &input()[..],
        "input",
    )
    .unwrap();
    let ops: Vec<Op> = rec.ops().into_iter().map(|(o, _)| o).collect();
    let pos = |op| ops.iter().position(|o| *o == op).unwrap();
    let last_write = ops.iter().rposition(|o| *o == Op::Write).unwrap();
    assert_eq!(ops[0], Op::Create, "{ops:?}");
    assert!(last_write < pos(Op::SyncFile), "{ops:?}");
    assert!(pos(Op::SyncFile) < pos(Op::Rename), "{ops:?}");
    assert!(pos(Op::Rename) < pos(Op::SyncDir), "{ops:?}");
    assert_eq!(*ops.last().unwrap(), Op::SyncDir, "{ops:?}");
    assert!(!ops.contains(&Op::Remove), "{ops:?}");
    assert_eq!(
        ops.iter().filter(|o| **o == Op::SyncFile).count(),
        1,
        "{ops:?}"
    );
}

#[test]
fn every_step_times_every_fault() {
    let sb = Sandbox::builtin(Limits::default()).unwrap();
    let input = input();
    let (new_bytes, writes) = reference(&sb, &input);
    assert!(writes >= 3, "want several writes, got {writes}");

    let mut cases = vec![];
    for errno in [ENOSPC, EIO] {
        for (op, n) in [
            (Op::Create, 1),
            (Op::Write, 1),
            (Op::Write, 2),
            (Op::Write, writes),
            (Op::SyncFile, 1),
            (Op::Rename, 1),
            (Op::SyncDir, 1),
        ] {
            cases.push((op, n, errno));
        }
    }
    for (op, n, errno) in cases {
        let case = format!("{op:?} #{n} fails with errno {errno}");
        let dir = TempDir::new().unwrap();
        let rec = Faulty::new(Some((op, n, errno)));
        let result = write_sealed_with(
            &rec,
            &WriteControl::default(),
            &sb,
            &request(dir.path()),
            &mut &input[..],
            "input",
        );

        // The error is surfaced, with the OS error intact. After the rename
        // the file is committed: that is its own error and exit code, never
        // "nothing written" (a retry would only get "exists").
        let err = result.expect_err(&case);
        match (&err, op) {
            (Error::CommittedNotDurable { source, path, .. }, Op::SyncDir) => {
                assert_eq!(source.raw_os_error(), Some(errno), "{case}: {err}");
                assert_eq!(path, &dir.path().join(TARGET), "{case}");
                assert_eq!(err.exit_code(), 5, "{case}");
            }
            (Error::Io { source, .. }, _) if op != Op::SyncDir => {
                assert_eq!(source.raw_os_error(), Some(errno), "{case}: {err}");
                assert_eq!(err.exit_code(), 2, "{case}");
            }
            (other, _) => panic!("{case}: wrong error: {other:?}"),
        }

        // Never a rename after a failed fsync, and fsync is never retried.
        let ops = rec.ops();
        if let Some(failed) = ops.iter().position(|(o, ok)| *o == Op::SyncFile && !ok) {
            assert!(
                !ops[failed..].iter().any(|(o, _)| *o == Op::Rename),
                "{case}: {ops:?}"
            );
            assert_eq!(
                ops.iter().filter(|(o, _)| *o == Op::SyncFile).count(),
                1,
                "{case}: {ops:?}"
            );
        }

        // The target is wholly old (absent) or wholly new; no temp is left.
        let listing = names(dir.path());
        if op == Op::SyncDir {
            // The rename happened; the error says it may not be durable.
            assert_eq!(listing, [TARGET], "{case}");
            let target = dir.path().join(TARGET);
            assert_eq!(std::fs::read(&target).unwrap(), new_bytes, "{case}");
            assert!(verify_file(&sb, None, &target).unwrap().valid, "{case}");
        } else {
            assert!(listing.is_empty(), "{case}: left {listing:?}");
        }
    }
}

#[test]
fn a_failed_remove_of_the_temp_is_not_silent_about_the_first_error() {
    // A write fails, then removing the temp fails too: the original error
    // is what the caller sees (the cause to act on).
    let sb = Sandbox::builtin(Limits::default()).unwrap();
    let dir = TempDir::new().unwrap();
    struct Both(Faulty);
    impl FileOps for Both {
        fn create_new(&self, d: &Dir, n: &str) -> io::Result<File> {
            self.0.create_new(d, n)
        }
        fn write_all(&self, f: &mut File, b: &[u8]) -> io::Result<()> {
            self.0.write_all(f, b)
        }
        fn sync_file(&self, _: &File) -> io::Result<()> {
            Err(io::Error::from_raw_os_error(EIO))
        }
        fn rename_noreplace(&self, d: &Dir, a: &str, b: &str) -> io::Result<()> {
            self.0.rename_noreplace(d, a, b)
        }
        fn rename_replace(&self, d: &Dir, a: &str, b: &str) -> io::Result<()> {
            self.0.rename_replace(d, a, b)
        }
        fn hard_link(&self, d: &Dir, a: &str, b: &str) -> io::Result<()> {
            self.0.hard_link(d, a, b)
        }
        fn sync_dir(&self, d: &Dir) -> io::Result<()> {
            self.0.sync_dir(d)
        }
        fn remove(&self, _: &Dir, _: &str) -> io::Result<()> {
            Err(io::Error::from_raw_os_error(EIO))
        }
    }
    let ops = Both(Faulty::new(None));
    let err = write_sealed_with(
        &ops,
        &WriteControl::default(),
        &sb,
        &request(dir.path()),
        &mut &input()[..],
        "input",
    )
    .unwrap_err();
    assert!(err.to_string().contains("fsync temp file"), "{err}");
    // The temp stays (its removal failed) but its lock died with the writer's
    // descriptor: the next writer sweeps it and commits.
    assert_eq!(names(dir.path()), [format!("{TARGET}.tmp")]);
    let c = write_sealed_with(
        &RealFs,
        &WriteControl::default(),
        &sb,
        &request(dir.path()),
        &mut &b"symbol,qty\nX,1\n"[..],
        "input",
    )
    .unwrap();
    assert_eq!(names(dir.path()), [TARGET]);
    assert!(verify_file(&sb, None, &c.path).unwrap().valid);
}

/// `--replace`: every call of a fault-free replacing write (the new file's,
/// the backup's, the manifest's), failed in turn. The target stays wholly
/// old unless only the final directory fsync failed (then it is wholly
/// new), any backup present is whole, and no temp is left anywhere.
#[test]
fn replace_every_call_times_every_fault() {
    let sb = Sandbox::builtin(Limits::default()).unwrap();
    let input = input();
    let (new_bytes, _) = reference(&sb, &input);
    let old_input = b"symbol,qty\nOLD,1\n";
    let (old_bytes, _) = reference(&sb, old_input);
    let control = WriteControl {
        replace: Some(csvseal::backup::BackupPolicy::default()),
        ..WriteControl::default()
    };
    let setup = || {
        let dir = TempDir::new().unwrap();
        std::fs::write(dir.path().join(TARGET), &old_bytes).unwrap();
        dir
    };

    // The calls of an undisturbed replacing write.
    let dir = setup();
    let rec = Faulty::new(None);
    write_sealed_with(
        &rec,
        &control,
        &sb,
        &request(dir.path()),
        &mut &input[..],
        "input",
    )
    .unwrap();
    let calls = rec.ops();
    assert!(
        calls.iter().filter(|(o, _)| *o == Op::Rename).count() == 3,
        "backup, manifest and target renames: {calls:?}"
    );

    for (i, (op, _)) in calls.iter().enumerate() {
        let nth = calls[..=i].iter().filter(|(o, _)| o == op).count();
        for errno in [ENOSPC, EIO] {
            let case = format!("call {i}: {op:?} #{nth} fails with errno {errno}");
            let dir = setup();
            let rec = Faulty::new(Some((*op, nth, errno)));
            let err = write_sealed_with(
                &rec,
                &control,
                &sb,
                &request(dir.path()),
                &mut &input[..],
                "input",
            )
            .expect_err(&case);
            let last_call = i == calls.len() - 1;
            match &err {
                // Only the target's own directory fsync comes after its
                // rename; a backup that is not durable stops the replace.
                Error::CommittedNotDurable { source, .. } if last_call => {
                    assert_eq!(source.raw_os_error(), Some(errno), "{case}: {err}")
                }
                Error::Io { source, .. } if !last_call => {
                    assert_eq!(source.raw_os_error(), Some(errno), "{case}: {err}")
                }
                other => panic!("{case}: wrong error: {other:?}"),
            }
            let ops = rec.ops();
            if let Some(f) = ops.iter().position(|(o, ok)| *o == Op::SyncFile && !ok) {
                assert!(
                    !ops[f..].iter().any(|(o, _)| *o == Op::Rename),
                    "{case}: {ops:?}"
                );
            }
            let now = std::fs::read(dir.path().join(TARGET)).unwrap();
            let want = if last_call { &new_bytes } else { &old_bytes };
            assert!(
                now == *want,
                "{case}: target is not wholly {}",
                if last_call { "new" } else { "old" }
            );
            let bdir = dir.path().join(".csvseal-backup");
            for d in [dir.path().to_owned(), bdir.clone()] {
                if let Ok(rd) = std::fs::read_dir(&d) {
                    for e in rd {
                        let name = e.unwrap().file_name().to_string_lossy().into_owned();
                        assert!(!name.ends_with(".tmp"), "{case}: left {name}");
                        if name.ends_with(".bak") {
                            assert_eq!(
                                std::fs::read(bdir.join(&name)).unwrap(),
                                old_bytes,
                                "{case}"
                            );
                        }
                    }
                }
            }
        }
    }
}

/// A file system where another writer wins the race: it creates the target
/// right before the commit's rename (or link), after every early check has
/// passed; optionally `RENAME_NOREPLACE` is missing (EINVAL, as on
/// filesystems without it) and the temp's unlink after the link fails.
struct Race {
    rec: Faulty,
    /// Plant the rival target just before this call.
    plant_before: Option<Op>,
    no_renameat2: bool,
    fail_unlink_after_link: bool,
    linked: std::sync::atomic::AtomicBool,
}

const RIVAL: &[u8] = b"the rival writer's file\n";

impl Race {
    fn new(plant_before: Option<Op>, no_renameat2: bool, fail_unlink_after_link: bool) -> Self {
        Race {
            rec: Faulty::new(None),
            plant_before,
            no_renameat2,
            fail_unlink_after_link,
            linked: false.into(),
        }
    }
    fn plant(&self, dir: &Dir, op: Op) {
        if self.plant_before == Some(op) {
            dir.write(TARGET, RIVAL).unwrap();
        }
    }
}

impl FileOps for Race {
    fn create_new(&self, d: &Dir, n: &str) -> io::Result<File> {
        self.rec.create_new(d, n)
    }
    fn write_all(&self, f: &mut File, b: &[u8]) -> io::Result<()> {
        self.rec.write_all(f, b)
    }
    fn sync_file(&self, f: &File) -> io::Result<()> {
        self.rec.sync_file(f)
    }
    fn rename_noreplace(&self, d: &Dir, a: &str, b: &str) -> io::Result<()> {
        self.plant(d, Op::Rename);
        if self.no_renameat2 {
            return self
                .rec
                .call(Op::Rename, || Err(io::Error::from_raw_os_error(EINVAL)));
        }
        self.rec.rename_noreplace(d, a, b)
    }
    fn rename_replace(&self, d: &Dir, a: &str, b: &str) -> io::Result<()> {
        self.rec.rename_replace(d, a, b)
    }
    fn hard_link(&self, d: &Dir, a: &str, b: &str) -> io::Result<()> {
        self.plant(d, Op::Link);
        let r = self.rec.hard_link(d, a, b);
        self.linked
            .store(r.is_ok(), std::sync::atomic::Ordering::SeqCst);
        r
    }
    fn sync_dir(&self, d: &Dir) -> io::Result<()> {
        self.rec.sync_dir(d)
    }
    fn remove(&self, d: &Dir, n: &str) -> io::Result<()> {
        if self.fail_unlink_after_link && self.linked.load(std::sync::atomic::Ordering::SeqCst) {
            return self
                .rec
                .call(Op::Remove, || Err(io::Error::from_raw_os_error(EIO)));
        }
        self.rec.remove(d, n)
    }
}

const EINVAL: i32 = 22;

fn race(ops: &Race) -> (TempDir, csvseal::Result<csvseal::Committed>) {
    let sb = Sandbox::builtin(Limits::default()).unwrap();
    let dir = TempDir::new().unwrap();
    let r = write_sealed_with(
        ops,
        &WriteControl::default(),
        &sb,
        &request(dir.path()),
        &mut &b"symbol,qty\nX,1\n"[..],
        "input",
    );
    (dir, r)
}

#[test]
fn the_rename_itself_refuses_a_target_created_after_the_early_checks() {
    let ops = Race::new(Some(Op::Rename), false, false);
    let (dir, r) = race(&ops);
    assert!(matches!(r, Err(Error::TargetExists { .. })), "{r:?}");
    // The rival's file is untouched and our temp is gone.
    assert_eq!(std::fs::read(dir.path().join(TARGET)).unwrap(), RIVAL);
    assert_eq!(names(dir.path()), [TARGET]);
}

#[test]
fn without_renameat2_the_link_fallback_commits_and_never_clobbers() {
    // The fallback commits: link, then unlink of the temp, then dir fsync.
    let ops = Race::new(None, true, false);
    let (dir, r) = race(&ops);
    let c = r.expect("the link + unlink fallback commits");
    assert_eq!(names(dir.path()), [TARGET]);
    let sb = Sandbox::builtin(Limits::default()).unwrap();
    assert!(verify_file(&sb, None, &c.path).unwrap().valid);
    let seq: Vec<Op> = ops.rec.ops().into_iter().map(|(o, _)| o).collect();
    let tail = &seq[seq.len() - 4..];
    assert_eq!(
        tail,
        [Op::Rename, Op::Link, Op::Remove, Op::SyncDir],
        "{seq:?}"
    );

    // A rival that appears before the link: the link refuses to replace it.
    let ops = Race::new(Some(Op::Link), true, false);
    let (dir, r) = race(&ops);
    assert!(matches!(r, Err(Error::TargetExists { .. })), "{r:?}");
    assert_eq!(std::fs::read(dir.path().join(TARGET)).unwrap(), RIVAL);
    assert_eq!(names(dir.path()), [TARGET]);
}

#[test]
fn a_failed_unlink_after_the_link_is_committed_not_nothing_written() {
    let ops = Race::new(None, true, true);
    let (dir, r) = race(&ops);
    let err = r.expect_err("the unlink failed");
    let Error::CommittedNotDurable { path, source, .. } = &err else {
        panic!("wrong error: {err:?}");
    };
    assert_eq!(source.raw_os_error(), Some(EIO));
    assert_eq!(err.exit_code(), 5);
    assert_eq!(err.committed(), Some(path.as_path()));
    // The file is in place and verifies; the leftover temp name is a second
    // name of it, which the next writer of the target would sweep.
    let sb = Sandbox::builtin(Limits::default()).unwrap();
    assert!(verify_file(&sb, None, path).unwrap().valid);
    assert_eq!(
        std::fs::read(path).unwrap(),
        std::fs::read(dir.path().join(format!("{TARGET}.tmp"))).unwrap()
    );
}

/// The small files replaced in place (the audit state file, the metrics
/// file): every call of an undisturbed replacement, failed in turn with
/// each fault. The error carries the OS error; the file is wholly old, or,
/// when only the directory fsync failed, wholly new; no temp is left.
fn every_call_of_a_small_replace(
    what: &str,
    name: &str,
    old: &[u8],
    replace: &dyn Fn(&Faulty, &Path) -> csvseal::Result<()>,
) {
    let setup = || {
        let dir = TempDir::new().unwrap();
        std::fs::write(dir.path().join(name), old).unwrap();
        dir
    };
    let dir = setup();
    let rec = Faulty::new(None);
    replace(&rec, dir.path()).unwrap();
    let new = std::fs::read(dir.path().join(name)).unwrap();
    assert_ne!(new, old, "{what}: the replacement changes the file");
    let calls = rec.ops();
    let kinds: Vec<Op> = calls.iter().map(|(o, _)| *o).collect();
    assert_eq!(
        kinds,
        [Op::Create, Op::Write, Op::SyncFile, Op::Rename, Op::SyncDir],
        "{what}: durable order"
    );
    for (i, (op, _)) in calls.iter().enumerate() {
        let nth = calls[..=i].iter().filter(|(o, _)| o == op).count();
        for errno in [ENOSPC, EIO] {
            let case = format!("{what}: {op:?} #{nth} fails with errno {errno}");
            let dir = setup();
            let rec = Faulty::new(Some((*op, nth, errno)));
            let err = replace(&rec, dir.path()).expect_err(&case);
            match &err {
                Error::Io { source, .. } => {
                    assert_eq!(source.raw_os_error(), Some(errno), "{case}: {err}")
                }
                other => panic!("{case}: not an I/O error: {other}"),
            }
            let content = std::fs::read(dir.path().join(name)).unwrap();
            let want: &[u8] = if *op == Op::SyncDir { &new } else { old };
            assert_eq!(content, want, "{case}");
            let left: Vec<String> = names(dir.path())
                .into_iter()
                .filter(|n| n.ends_with(".partial"))
                .collect();
            assert!(left.is_empty(), "{case}: left {left:?}");
        }
    }
}

#[test]
fn the_state_file_replace_times_every_fault() {
    use csvseal::store::atomic_replace::replace_in;
    let name = ".csvseal-audit-state.json";
    every_call_of_a_small_replace("state file", name, b"{\"old\":true}", &|ops, dir| {
        let d = Dir::open_ambient_dir(dir, cap_std::ambient_authority()).unwrap();
        replace_in(ops, &d, dir, name, b"{\"new\":true}")
    });
}

#[test]
fn the_metrics_file_update_times_every_fault() {
    use csvseal::monitor::prom_text::Exposition;
    use csvseal::monitor::textfile::update;
    let run =
        Exposition::parse("# TYPE csvseal_writes_ok_total counter\ncsvseal_writes_ok_total 2\n")
            .unwrap();
    let old = b"# TYPE csvseal_writes_ok_total counter\ncsvseal_writes_ok_total 5\n";
    every_call_of_a_small_replace("metrics file", "csvseal.prom", old, &|ops, dir| {
        update(ops, &dir.join("csvseal.prom"), &run).map(|_| ())
    });
    // A garbled file is set aside through the seam too: its rename failing
    // leaves it where it was.
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("csvseal.prom");
    std::fs::write(&path, "garbled {\n").unwrap();
    let rec = Faulty::new(Some((Op::Rename, 1, EIO)));
    let err = update(&rec, &path, &run).unwrap_err();
    assert!(
        err.to_string().contains("set aside garbled metrics file"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "garbled {\n");
}
