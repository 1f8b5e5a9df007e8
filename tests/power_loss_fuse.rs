//! Power loss under the real binary: the release `csvseal` runs on a FUSE
//! file system that forgets (tests/forgetful_fs, its persistence model in
//! the module docs) and is SIGKILLed at random points; then everything not
//! fsynced is dropped, the file system is mounted again, and `recover` and
//! `verify` must find no torn file.
//!
//! Four commands: `write`, `write --replace` over an existing file, `write
//! --continue` of a series, and `restore --force` of a backup. For each, a
//! calibration run on the file system counts its requests and finds the
//! request that creates the first temp file and the one that renames the
//! new file into place; the kills are then aimed at a request picked at
//! random before the temp, during the write, or after the rename (the file
//! system kills the caller when that request arrives, before or after
//! applying it), and one in five is timed instead (a random delay up to the
//! run's length). Every kill is classified by what the file system saw
//! before it, and every phase must be hit for every command.
//!
//! After each kill: each target is wholly old or wholly new (or absent, if
//! it was new); a run that exited 0 or printed the target's path left it
//! new; every backup left is whole and every manifest line names a backup
//! with that SHA-256; `recover` exits 0 (every final file verifies) and
//! leaves no temp file; the target verifies (and, for `--continue`, the
//! series). And the drop must have discarded something (bytes or entries)
//! in at least a third of the kills that land during the write or after
//! the rename (about two thirds do; those after the directory fsync have
//! nothing left to lose): `CSVSEAL_FORGETFS_NO_DROP=1` skips the drop, and
//! this test then fails, which shows the drop is what is being tested.
//!
//! `CSVSEAL_FUSE_KILLS` (default 60) sets the kills per command,
//! `CSVSEAL_FUSE_SEED` replays a run (the aimed requests; timed kills and
//! the order of concurrent requests vary), `CSVSEAL_FUSE_TRACE=1` prints
//! the calibration's changes and every kill. Under `CI` a failure to mount
//! fails the test; elsewhere it is skipped with the reason.

mod common;
mod forgetful_fs;

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use forgetful_fs::{Dropped, Event, Mount, Shared};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

const STAMP: &str = "2024-09-10T14:30:00Z";
const STAMP2: &str = "2024-09-11T14:30:00Z";
const TARGET: &str = "k_20240910_143000.csv";
const TARGET2: &str = "k_20240911_143000.csv";
const BACKUP_DIR: &str = ".csvseal-backup";
/// Rows of the new file: several write requests of the temp file.
const ROWS: usize = 3000;
/// Longest a child may run before the test calls it hung.
const CHILD_TIMEOUT: Duration = Duration::from_secs(60);

fn seed() -> u64 {
    seed_from("CSVSEAL_FUSE_SEED")
}

fn kills_per_command() -> usize {
    std::env::var("CSVSEAL_FUSE_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60)
}

/// Mounts, or explains why not: a failure fails the test under `CI` and
/// skips it elsewhere (`None`).
fn mount_or_skip(shared: &Arc<Shared>, at: &Path) -> Option<Mount> {
    match Mount::new(shared, at) {
        Ok(m) => Some(m),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!(
                "cannot mount the FUSE file system on {} under CI: {e} (needs /dev/fuse and root or fusermount3)",
                at.display()
            )
        }
        Err(e) => {
            eprintln!(
                "SKIPPED: cannot mount the FUSE file system on {}: {e} (needs /dev/fuse and root or fusermount3; under CI this fails)",
                at.display()
            );
            None
        }
    }
}

fn mount(shared: &Arc<Shared>, at: &Path) -> Mount {
    Mount::new(shared, at).unwrap_or_else(|e| panic!("remount {}: {e}", at.display()))
}

fn rows_csv(rows: usize, tag: &str) -> String {
    let mut s = String::from("timestamp,trade_id,symbol,profit_loss\n");
    for i in 0..rows {
        s += &format!("2024-09-10T14:30:00Z,{tag}_{i:08},\"EUR,USD\",{i}.25\n");
    }
    s
}

fn run_ok(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(csvseal_bin())
        .args(args)
        .env("CSVSEAL_CACHE_DIR", cache_dir())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// Kills the child if it is still running when dropped (a failing test
/// must not leave it holding the mount).
struct ChildGuard(Child);
impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for the child, failing the test if it runs past the timeout.
fn wait_child(c: &mut ChildGuard, what: &str) -> (std::process::ExitStatus, String) {
    let until = Instant::now() + CHILD_TIMEOUT;
    let status = loop {
        if let Some(s) = c.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < until,
            "{what}: csvseal still running after {CHILD_TIMEOUT:?} (hung on the FUSE file system?)"
        );
        std::thread::sleep(Duration::from_millis(1));
    };
    let mut out = String::new();
    if let Some(mut s) = c.0.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    (status, out)
}

const PHASES: [Phase; 3] = [Phase::BeforeTemp, Phase::During, Phase::AfterRename];

fn is_temp_create(e: &Event) -> bool {
    e.kind == "create" && e.name.ends_with(".tmp")
}

fn is_commit(e: &Event, target: &str) -> bool {
    (e.kind == "rename" || e.kind == "link")
        && e.to.as_ref().is_some_and(|(p, n)| *p == 1 && n == target)
}

fn phase_of(events: &[Event], target: &str) -> Phase {
    if events.iter().any(|e| is_commit(e, target)) {
        Phase::AfterRename
    } else if events.iter().any(is_temp_create) {
        Phase::During
    } else {
        Phase::BeforeTemp
    }
}

/// A command's arguments, given the mount point.
type ArgsFn = Box<dyn Fn(&Path) -> Vec<OsString>>;

/// One command under test, from a starting state.
struct Case {
    name: &'static str,
    /// The starting state (a real directory, copied into the model durable).
    seed_dir: TempDir,
    /// The command's arguments, given the mount point.
    args: ArgsFn,
    target: &'static str,
    old: Option<Vec<u8>>,
    /// Bytes any `.bak` left may hold.
    backups: Vec<Vec<u8>>,
    series: bool,
    /// The public key a signed case's files must verify with.
    public_key: Option<String>,
    _work: TempDir,
}

fn case(name: &'static str) -> Case {
    let work = TempDir::new().unwrap();
    let seed_dir = TempDir::new().unwrap();
    let new_in = work.path().join("new.csv");
    let old_in = work.path().join("old.csv");
    std::fs::write(&new_in, rows_csv(ROWS, "NEW")).unwrap();
    std::fs::write(&old_in, rows_csv(ROWS / 3, "OLD")).unwrap();
    let s = seed_dir.path().as_os_str().to_owned();
    let write = |input: &Path, stamp: &str, extra: &[&str]| {
        let mut a: Vec<&std::ffi::OsStr> = vec!["write".as_ref(), "--dir".as_ref(), &s];
        a.extend(["--name", "k", "--timestamp", stamp].map(std::ffi::OsStr::new));
        a.extend(["--input".as_ref(), input.as_os_str()]);
        a.extend(extra.iter().map(std::ffi::OsStr::new));
        run_ok(&a);
    };
    let target_in = |dir: &Path, t: &str| std::fs::read(dir.join(t)).ok();
    let write_args = |input: PathBuf, stamp: &'static str, extra: &[&str]| {
        let extra: Vec<OsString> = extra.iter().map(OsString::from).collect();
        Box::new(move |mp: &Path| {
            let mut a: Vec<OsString> = vec!["write".into(), "--dir".into(), mp.into()];
            a.extend(["--name", "k", "--timestamp", stamp].map(OsString::from));
            a.extend(["--input".into(), input.clone().into_os_string()]);
            a.extend(extra.iter().cloned());
            a
        }) as ArgsFn
    };
    let mut public_key = None;
    let (args, target, series) = match name {
        "write" => (write_args(new_in, STAMP, &[]), TARGET, false),
        "replace" => {
            write(&old_in, STAMP, &[]);
            (write_args(new_in, STAMP, &["--replace"]), TARGET, false)
        }
        "signed-replace" => {
            // A cut between the signature's rename and the file's leaves the
            // new signature beside the old file: `recover` must finish it.
            let (secret, public) = keypair(work.path(), "signer");
            write(&old_in, STAMP, &["--sign-key", &secret]);
            public_key = Some(public);
            (
                write_args(new_in, STAMP, &["--replace", "--sign-key", &secret]),
                TARGET,
                false,
            )
        }
        "continue" => {
            write(&old_in, STAMP, &[]);
            (write_args(new_in, STAMP2, &["--continue"]), TARGET2, true)
        }
        "restore" => {
            // The old file: a --replace of the backed-up one.
            write(&old_in, STAMP, &[]);
            write(&new_in, STAMP, &["--replace"]);
            let args = Box::new(|mp: &Path| {
                vec![
                    "restore".into(),
                    "--force".into(),
                    mp.join(TARGET).into_os_string(),
                ]
            }) as ArgsFn;
            (args, TARGET, false)
        }
        _ => unreachable!(),
    };
    let old = target_in(seed_dir.path(), target);
    let mut backups = vec![];
    if let Some(o) = &old {
        backups.push(o.clone());
    }
    if let Ok(rd) = std::fs::read_dir(seed_dir.path().join(BACKUP_DIR)) {
        for e in rd {
            let p = e.unwrap().path();
            if p.to_string_lossy().ends_with(".bak") {
                backups.push(std::fs::read(p).unwrap());
            }
        }
    }
    Case {
        name,
        seed_dir,
        args,
        target,
        old,
        backups,
        series,
        public_key,
        _work: work,
    }
}

fn spawn(args: &[OsString]) -> ChildGuard {
    ChildGuard(
        Command::new(csvseal_bin())
            .args(args)
            .env("CSVSEAL_CACHE_DIR", cache_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn csvseal"),
    )
}

/// What one undisturbed run on the file system showed.
struct Calibration {
    new: Vec<u8>,
    /// Requests in the run.
    ops: u64,
    /// The request that created the first temp file.
    temp_at: u64,
    /// The request that renamed the new file into place.
    commit_at: u64,
    took: Duration,
}

fn calibrate(c: &Case, mp: &Path) -> Option<Calibration> {
    let shared = Shared::from_dir(c.seed_dir.path());
    let m = mount_or_skip(&shared, mp)?;
    shared.arm(None);
    let t = Instant::now();
    let mut child = spawn(&(c.args)(mp));
    let (status, out) = wait_child(&mut child, c.name);
    let took = t.elapsed();
    assert!(
        status.success(),
        "{}: calibration run failed: {status}",
        c.name
    );
    assert!(
        out.contains(c.target),
        "{}: the run did not print the target: {out}",
        c.name
    );
    let events = shared.events();
    let ops = shared.ops();
    if std::env::var_os("CSVSEAL_FUSE_TRACE").is_some() {
        for e in &events {
            eprintln!("{}: {e:?}", c.name);
        }
    }
    let temp_at = events
        .iter()
        .find(|e| is_temp_create(e))
        .unwrap_or_else(|| panic!("{}: no temp file created: {events:?}", c.name))
        .op_index;
    let commit_at = events
        .iter()
        .find(|e| is_commit(e, c.target))
        .unwrap_or_else(|| panic!("{}: the target was never renamed into place", c.name))
        .op_index;
    let new = std::fs::read(mp.join(c.target)).unwrap();
    m.unmount();
    // Everything a finished run did is durable: the drop changes nothing
    // the target depends on.
    shared.drop_volatile();
    let m = mount(&shared, mp);
    assert_eq!(
        std::fs::read(mp.join(c.target)).ok().as_deref(),
        Some(&new[..]),
        "{}: a finished run's file did not survive the drop",
        c.name
    );
    m.unmount();
    Some(Calibration {
        new,
        ops,
        temp_at,
        commit_at,
        took,
    })
}

fn names_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Every `.tmp` in the mount's root and its backup directory.
fn temps(mp: &Path) -> Vec<String> {
    let mut t: Vec<String> = names_in(mp)
        .into_iter()
        .chain(names_in(&mp.join(BACKUP_DIR)))
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    t.sort();
    t
}

#[derive(Default)]
struct Tally {
    count: [usize; 4],
    timed: usize,
    /// Kills during the write or after the rename, and how many of their
    /// drops discarded something.
    mid: usize,
    mid_dropped: usize,
    dropped: Dropped,
    recovered_temps: usize,
    gone_new: usize,
}

fn power_loss_case(name: &'static str) {
    let seed = seed();
    let mut rng = Rng(seed);
    // Built (if stale) before anything is timed.
    csvseal_bin();
    let started = Instant::now();
    let c = case(name);
    let mp_dir = TempDir::new().unwrap();
    let mp = mp_dir.path();
    let Some(cal) = calibrate(&c, mp) else {
        return;
    };
    let tag = format!("power loss {name} seed={seed}");
    eprintln!(
        "{tag}: calibration: {} requests, temp created at #{}, renamed into place at #{}, {:?}",
        cal.ops, cal.temp_at, cal.commit_at, cal.took
    );
    let window = (cal.took.as_micros() as u64 * 12 / 10).max(1);
    let kills = kills_per_command();
    let mut t = Tally::default();
    let mut i = 0;
    // Kills that land after the run finished do not count; give up on
    // reaching the number after twice as many tries.
    while t.count[..3].iter().sum::<usize>() < kills {
        assert!(
            i < 2 * kills + 20,
            "{tag}: only {:?} kills after {i} tries",
            t.count
        );
        let it = format!("{tag} iteration {i}");
        let timed = i % 5 == 4;
        // Aimed: a phase in turn, a request of it at random (from the
        // calibration), cut before or after it is applied.
        let kill_at = (!timed).then(|| {
            let (lo, hi) = match PHASES[i % 3] {
                Phase::BeforeTemp => (0, cal.temp_at),
                Phase::During => (cal.temp_at + 1, cal.commit_at),
                _ => (cal.commit_at, cal.ops.saturating_sub(1)),
            };
            let at = lo + rng.below(hi.saturating_sub(lo) + 1);
            let after = match PHASES[i % 3] {
                Phase::BeforeTemp if at == cal.temp_at => false,
                Phase::During if at == cal.commit_at => false,
                Phase::AfterRename if at == cal.commit_at => true,
                _ => rng.below(2) == 1,
            };
            (at, after)
        });
        let delay = Duration::from_micros(rng.below(window));
        i += 1;

        let t0 = Instant::now();
        let shared = Shared::from_dir(c.seed_dir.path());
        let m = mount(&shared, mp);
        let t_mount = t0.elapsed();
        shared.arm(kill_at);
        let mut child = spawn(&(c.args)(mp));
        shared.set_victim(child.0.id());
        if timed {
            std::thread::sleep(delay);
            shared.cut(child.0.id());
        }
        let (status, out) = wait_child(&mut child, &it);
        // Freeze (if nothing cut yet) before looking: the log is final.
        shared.cut(0);
        let cut = shared.cut_info();
        let events = shared.events();
        let phase = if status.success() {
            Phase::Finished
        } else {
            assert_eq!(
                status.signal(),
                Some(libc::SIGKILL),
                "{it}: csvseal failed without a kill: {status}"
            );
            let upto = cut.as_ref().map_or(events.len(), |c| c.events);
            phase_of(&events[..upto], c.target)
        };
        t.count[phase as usize] += 1;
        t.timed += usize::from(timed && phase != Phase::Finished);
        let committed = status.success() || out.lines().any(|l| l.contains(c.target));

        // The power cut: drop what is not durable, mount afresh.
        m.unmount();
        let dropped = shared.drop_volatile();
        t.dropped.bytes += dropped.bytes;
        t.dropped.files += dropped.files;
        t.dropped.entries += dropped.entries;
        if matches!(phase, Phase::During | Phase::AfterRename) {
            t.mid += 1;
            t.mid_dropped += usize::from(dropped.any());
        }
        let m = mount(&shared, mp);
        let context = || {
            format!(
                "{it}: phase {phase:?}, cut {cut:?}, dropped {dropped:?}, listing {:?} / {:?}",
                names_in(mp),
                names_in(&mp.join(BACKUP_DIR))
            )
        };

        // Wholly old or wholly new.
        let now = std::fs::read(mp.join(c.target)).ok();
        match (&now, &c.old) {
            (Some(b), _) if *b == cal.new => {}
            (Some(b), Some(o)) if b == o => {}
            (None, None) => {}
            (Some(b), _) => panic!(
                "{}: TORN: the target holds {} bytes, neither old nor new",
                context(),
                b.len()
            ),
            (None, Some(_)) => panic!("{}: the old target vanished", context()),
        }
        if committed {
            assert_eq!(
                now.as_deref(),
                Some(&cal.new[..]),
                "{}: a committed run's file did not survive",
                context()
            );
        }
        if phase == Phase::AfterRename && now.as_deref() != Some(&cal.new[..]) {
            t.gone_new += 1;
        }
        // Backups whole; the manifest names only whole backups.
        let bdir = mp.join(BACKUP_DIR);
        for n in names_in(&bdir) {
            if n.ends_with(".bak") {
                let b = std::fs::read(bdir.join(&n)).unwrap();
                assert!(
                    c.backups.contains(&b),
                    "{}: torn backup {n} ({} bytes)",
                    context(),
                    b.len()
                );
            }
        }
        if let Ok(manifest) = std::fs::read_to_string(bdir.join("MANIFEST.sha256")) {
            for line in manifest.lines() {
                let (sha, n) = line.split_once("  ").expect("sha256sum format");
                let b = std::fs::read(bdir.join(n))
                    .unwrap_or_else(|e| panic!("{}: listed backup {n}: {e}", context()));
                assert_eq!(sha256_hex(&b), sha, "{}: listed backup {n}", context());
            }
        }

        // recover: every final file verifies, no temp is left.
        let before = temps(mp);
        t.recovered_temps += before.len();
        let mps = mp.to_str().unwrap();
        let r = csvseal_within(&["recover", "--dir", mps], 60)
            .unwrap_or_else(|| panic!("{}: recover hung", context()));
        assert_eq!(
            r.status.code(),
            Some(0),
            "{}: recover: {} {}",
            context(),
            stdout(&r),
            stderr(&r)
        );
        assert!(temps(mp).is_empty(), "{}: temps left", context());
        if now.is_some() {
            let target = mp.join(c.target);
            let v = csvseal_within(&["verify", target.to_str().unwrap()], 60).unwrap();
            assert_eq!(v.status.code(), Some(0), "{}: {}", context(), stdout(&v));
        }
        // A signed file and its signature belong together; none is orphaned.
        if let Some(public) = &c.public_key {
            let target = mp.join(c.target);
            let signature = mp.join(format!("{}.minisig", c.target));
            if now.is_some() {
                let v = csvseal_within(&["verify", "--key", public, target.to_str().unwrap()], 60)
                    .unwrap();
                assert_eq!(v.status.code(), Some(0), "{}: {}", context(), stdout(&v));
            } else {
                assert!(!signature.exists(), "{}: orphan signature", context());
            }
        }
        if c.series {
            let v = csvseal_within(&["verify", "--series", mps, "k"], 60).unwrap();
            assert_eq!(v.status.code(), Some(0), "{}: {}", context(), stdout(&v));
        }
        m.unmount();
        if std::env::var_os("CSVSEAL_FUSE_TRACE").is_some() {
            eprintln!(
                "{it}: {phase:?} {kill_at:?} mount {t_mount:?}, total {:?}",
                t0.elapsed()
            );
        }
    }
    eprintln!(
        "{tag}: {} kills in {i} runs ({} timed): {} before the temp existed, {} during the write, \
         {} after the rename ({} of them lost the new file to the drop), {} finished first; \
         {} temps left for recover; dropped in all {} bytes / {} files / {} entries, \
         something in {} of {} mid-write kills; {:.1?}",
        t.count[..3].iter().sum::<usize>(),
        t.timed,
        t.count[0],
        t.count[1],
        t.count[2],
        t.gone_new,
        t.count[3],
        t.recovered_temps,
        t.dropped.bytes,
        t.dropped.files,
        t.dropped.entries,
        t.mid_dropped,
        t.mid,
        started.elapsed()
    );
    for p in PHASES {
        assert!(
            t.count[p as usize] >= 3,
            "{tag}: only {} kills {p:?}: {:?}",
            t.count[p as usize],
            t.count
        );
    }
    assert!(
        t.mid > 0 && t.mid_dropped * 3 >= t.mid,
        "{tag}: the drop discarded nothing in {} of {} kills during the write or after the \
         rename (bytes {}, entries {}): the power cut was not simulated",
        t.mid - t.mid_dropped,
        t.mid,
        t.dropped.bytes,
        t.dropped.entries
    );
}

#[test]
fn power_loss_write() {
    power_loss_case("write");
}

#[test]
fn power_loss_replace() {
    power_loss_case("replace");
}

#[test]
fn power_loss_signed_replace() {
    power_loss_case("signed-replace");
}

#[test]
fn power_loss_continue() {
    power_loss_case("continue");
}

#[test]
fn power_loss_restore() {
    power_loss_case("restore");
}

/// The file system itself: unsynced data and unsynced entries go, synced
/// ones stay; locks work on it; renameat2(RENAME_NOREPLACE) refuses.
#[test]
fn forgetful_fs_forgets() {
    use std::io::Write;
    use std::os::fd::AsRawFd;
    let shared = Shared::new();
    let mp_dir = TempDir::new().unwrap();
    let mp = mp_dir.path();
    let Some(m) = mount_or_skip(&shared, mp) else {
        return;
    };
    let sync_dir = || {
        std::fs::File::open(mp).unwrap().sync_all().unwrap();
    };
    // Made durable: files written and fsynced, then their directory
    // fsynced; and "entry_only", whose entry was synced but not its data.
    for n in ["kept", "renamed", "removed", "synced"] {
        let mut f = std::fs::File::create_new(mp.join(n)).unwrap();
        f.write_all(n.as_bytes()).unwrap();
        f.sync_all().unwrap();
    }
    std::fs::write(mp.join("entry_only"), b"data").unwrap();
    sync_dir();
    // Then, none of this made durable:
    std::fs::write(mp.join("unsynced"), b"data").unwrap();
    let mut f = std::fs::File::create_new(mp.join("synced_no_dir")).unwrap();
    f.write_all(b"data").unwrap();
    f.sync_all().unwrap();
    std::fs::rename(mp.join("renamed"), mp.join("renamed_to")).unwrap();
    std::fs::remove_file(mp.join("removed")).unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(mp.join("kept"))
        .unwrap()
        .write_all(b" and more")
        .unwrap();
    assert_eq!(std::fs::read(mp.join("kept")).unwrap(), b"kept and more");
    std::fs::create_dir(mp.join("sub")).unwrap();

    // Locks: the kernel keeps flock locks locally for this file system.
    let a = std::fs::File::open(mp.join("kept")).unwrap();
    let b = std::fs::File::open(mp.join("kept")).unwrap();
    // SAFETY: flock on open descriptors.
    unsafe {
        assert_eq!(libc::flock(a.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB), 0);
        assert_eq!(
            libc::flock(b.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB),
            -1,
            "a second exclusive flock must be refused"
        );
    }
    drop((a, b));
    // renameat2(RENAME_NOREPLACE) over an existing name: EEXIST.
    let from =
        std::ffi::CString::new(mp.join("synced").into_os_string().into_encoded_bytes()).unwrap();
    let to = std::ffi::CString::new(mp.join("kept").into_os_string().into_encoded_bytes()).unwrap();
    // SAFETY: valid C strings.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    assert_eq!(r, -1);
    assert_eq!(
        std::io::Error::last_os_error().raw_os_error(),
        Some(libc::EEXIST)
    );
    std::fs::hard_link(mp.join("synced"), mp.join("linked")).unwrap();
    drop(f);
    assert_eq!(std::fs::read(mp.join("linked")).unwrap(), b"synced");

    m.unmount();
    let dropped = shared.drop_volatile();
    let m = mount(&shared, mp);
    let read = |n: &str| std::fs::read(mp.join(n)).ok();
    assert_eq!(read("unsynced"), None, "unsynced file: entry gone");
    assert_eq!(
        read("synced_no_dir"),
        None,
        "fsync without fsyncdir: entry gone"
    );
    assert_eq!(
        read("synced").as_deref(),
        Some(&b"synced"[..]),
        "fsync + fsyncdir: kept"
    );
    assert_eq!(
        read("entry_only").as_deref(),
        Some(&b""[..]),
        "entry kept, data not"
    );
    assert_eq!(
        read("kept").as_deref(),
        Some(&b"kept"[..]),
        "unsynced append lost"
    );
    assert_eq!(
        read("renamed").as_deref(),
        Some(&b"renamed"[..]),
        "rename undone"
    );
    assert_eq!(read("renamed_to"), None);
    assert_eq!(
        read("removed").as_deref(),
        Some(&b"removed"[..]),
        "unlink undone"
    );
    assert_eq!(read("linked"), None, "link undone");
    assert!(!mp.join("sub").exists(), "mkdir undone");
    assert!(
        dropped.bytes > 0 && dropped.entries >= 6,
        "the drop discarded {dropped:?}"
    );
    m.unmount();
    eprintln!("forgetful fs: the drop discarded {dropped:?}");
}
