//! Replacing a small file atomically (state and metrics files): write a
//! temp file beside it, fsync, rename over the old one, fsync the directory.
//! A reader sees the old content or the new, never a mix. Every step goes
//! through the [`FileOps`] seam, so the fault-injection tests cover it.
//! Temps a cut left behind are swept by the next run that replaces the file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use cap_std::fs::Dir;

use crate::error::{Error, Result};
use crate::store::by_path::{open_dir, split_path};
use crate::store::file_ops::{FileOps, RealFs};

/// Writes `bytes` to `path`, replacing it atomically, with the real file
/// system. See [`replace_in`].
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let (dir_path, name) = split_path(path)?;
    let dir = open_dir(&dir_path)?;
    replace_in(&RealFs, &dir, &dir_path, &name, bytes)
}

/// Writes `bytes` to `dir/name`, replacing it atomically.
///
/// The temp file is `.{name}.{pid}-{n}.partial` in the same directory: hidden,
/// and not ending in `.prom`, so node_exporter's textfile collector never
/// reads it; not ending in `.tmp`, so it is never taken for a CSV temp. On
/// any failure it is removed and `name` keeps its old content. The first
/// replace of `name` in a process first removes the temps of it that a cut
/// left (see [`sweep_stale`]).
pub fn replace_in(
    ops: &dyn FileOps,
    dir: &Dir,
    dir_path: &Path,
    name: &str,
    bytes: &[u8],
) -> Result<()> {
    sweep_once(ops, dir, dir_path, name);
    // pid and a per-process counter: unique among concurrent writers.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let temp = format!(
        ".{name}.{}-{}.partial",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let temp_path = dir_path.join(&temp);
    let mut f = ops
        .create_new(dir, &temp)
        .map_err(|e| Error::io(&temp_path, "create temp file", e))?;
    let result = (|| {
        ops.write_all(&mut f, bytes)
            .map_err(|e| Error::io(&temp_path, "write temp file", e))?;
        ops.sync_file(&f)
            .map_err(|e| Error::io(&temp_path, "fsync temp file", e))?;
        ops.rename_replace(dir, &temp, name)
            .map_err(|e| Error::io(dir_path.join(name), "rename temp file over", e))
    })();
    if let Err(e) = result {
        let _ = ops.remove(dir, &temp);
        return Err(e);
    }
    // The rename is durable only once the directory is synced.
    ops.sync_dir(dir)
        .map_err(|e| Error::io(dir_path, "fsync directory", e))
}

/// A temp untouched for this long, of a process that is gone, was left by
/// a cut: a replace takes milliseconds. The age also spares the temp of a
/// live writer whose process this one cannot see (another PID namespace
/// sharing the directory).
const STALE_AFTER: Duration = Duration::from_secs(600);

/// [`sweep_stale`] once per file per process: a long-running monitor
/// replaces its file again and again, and the directory may be large.
fn sweep_once(ops: &dyn FileOps, dir: &Dir, dir_path: &Path, name: &str) {
    static SWEPT: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    let first = SWEPT
        .lock()
        .map(|mut swept| swept.get_or_insert_default().insert(dir_path.join(name)))
        .unwrap_or(false);
    if first {
        let removed = sweep_stale(ops, dir, name, SystemTime::now());
        for temp in removed {
            tracing::info!(temp = %dir_path.join(temp).display(), "removed a temp file a cut left");
        }
    }
}

/// Removes from `dir` the temps of `name` that a cut left, and returns
/// their names: entries named exactly `.{name}.{pid}-{n}.partial` that are
/// regular files (not symlinks), of a `pid` that is not this process and
/// does not exist, last modified [`STALE_AFTER`] before `now` or earlier.
/// Anything else, a user's file included, is left alone. Best effort: an
/// entry that cannot be read or removed is skipped.
fn sweep_stale(ops: &dyn FileOps, dir: &Dir, name: &str, now: SystemTime) -> Vec<String> {
    let Ok(entries) = dir.entries() else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let Ok(temp) = entry.file_name().into_string() else {
            continue;
        };
        let Some(pid) = temp_pid(&temp, name) else {
            continue;
        };
        if pid == std::process::id() || process_exists(pid) {
            continue;
        }
        let Ok(meta) = dir.symlink_metadata(&temp) else {
            continue;
        };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m.into_std()).ok())
            .is_some_and(|age| age >= STALE_AFTER);
        if meta.is_file() && old && ops.remove(dir, &temp).is_ok() {
            removed.push(temp);
        }
    }
    removed
}

/// The pid in `.{name}.{pid}-{n}.partial`, when `temp` is exactly that.
fn temp_pid(temp: &str, name: &str) -> Option<u32> {
    let middle = temp
        .strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix('.')?
        .strip_suffix(".partial")?;
    let (pid, n) = middle.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(pid) || !digits(n) {
        return None;
    }
    pid.parse().ok()
}

/// Whether a process `pid` exists (signal 0: EPERM means it does). When
/// that cannot be told, it is taken to exist.
fn process_exists(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return true;
    };
    !matches!(
        rustix::process::test_kill_process(pid),
        Err(rustix::io::Errno::SRCH)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.prom");
        replace_file(&p, b"one").unwrap();
        replace_file(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let missing = dir.path().join("no/such/dir/x");
        assert!(matches!(
            replace_file(&missing, b"x"),
            Err(Error::Io { .. })
        ));
    }

    /// A pid that no process has: a child's, once it has been reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!process_exists(pid), "pid {pid} reused already");
        pid
    }

    #[test]
    fn only_old_temps_of_gone_processes_are_swept() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open_ambient_dir(tmp.path(), cap_std::ambient_authority()).unwrap();
        let dead = dead_pid();
        let alive = std::os::unix::process::parent_id();
        let me = std::process::id();
        let stale = format!(".m.prom.{dead}-0.partial");
        let kept = [
            format!(".m.prom.{alive}-0.partial"),
            format!(".m.prom.{me}-3.partial"),
            format!(".other.prom.{dead}-0.partial"),
            format!(".m.prom.{dead}-x.partial"),
            format!(".m.prom.{dead}-0.partial.bak"),
            format!("m.prom.{dead}-0.partial"),
            "m.prom".to_owned(),
        ];
        for name in kept.iter().chain([&stale]) {
            std::fs::write(tmp.path().join(name), b"x").unwrap();
        }
        let link = format!(".m.prom.{dead}-1.partial");
        std::os::unix::fs::symlink(tmp.path().join("m.prom"), tmp.path().join(&link)).unwrap();
        // Just written: too young to be taken for a cut's leftover.
        let now = SystemTime::now();
        assert!(sweep_stale(&RealFs, &dir, "m.prom", now).is_empty());
        let later = now + STALE_AFTER;
        assert_eq!(sweep_stale(&RealFs, &dir, "m.prom", later), [stale]);
        let mut left: Vec<String> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut want: Vec<String> = kept.iter().cloned().chain([link]).collect();
        want.sort();
        assert_eq!(left, want);
    }

    #[test]
    fn the_first_replace_of_a_file_sweeps_its_leftover_temps() {
        let tmp = tempfile::tempdir().unwrap();
        let stale = tmp.path().join(format!(".s.json.{}-0.partial", dead_pid()));
        std::fs::write(&stale, b"half").unwrap();
        let old = SystemTime::now() - STALE_AFTER - Duration::from_secs(1);
        std::fs::File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        replace_file(&tmp.path().join("s.json"), b"{}").unwrap();
        assert!(!stale.exists());
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }
}
