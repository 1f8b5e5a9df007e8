//! A Prometheus text file for node_exporter's textfile collector, updated
//! by short-lived runs that each add their own metrics.
//!
//! The file is locked (`flock` on a hidden `.NAME.lock` beside it, so
//! concurrent runs never lose each other's counts), read, merged with the
//! run's exposition (counters and histogram buckets add up, gauges take the
//! new value), and replaced atomically through the [`FileOps`] seam (temp
//! file, fsync, rename, directory fsync): the collector never sees half a
//! file. A file that is not Prometheus text is kept as `NAME.bad` and a
//! fresh one started (Prometheus treats the drop as a counter reset).

use std::path::Path;

use cap_std::fs::File;

use crate::error::{Error, Result};
use crate::monitor::prom_text::Exposition;
use crate::store::atomic_replace::replace_in;
use crate::store::by_path::{open_dir, split_path};
use crate::store::file_ops::FileOps;
use crate::store::temp_lock::lock_exclusive;

/// Adds `run` to the metrics file at `path`, atomically and under a lock.
/// Returns warnings worth logging (a garbled file set aside).
pub fn update(ops: &dyn FileOps, path: &Path, run: &Exposition) -> Result<Vec<String>> {
    let (dir_path, name) = split_path(path)?;
    let dir = open_dir(&dir_path)?;
    let _lock = lock(ops, &dir, &dir_path, &name)?;
    let mut warnings = Vec::new();
    let mut exp = match dir.read_to_string(&name) {
        Ok(text) => match Exposition::parse(&text) {
            Ok(exp) => exp,
            Err(e) => {
                let bad = format!("{name}.bad");
                ops.rename_replace(&dir, &name, &bad)
                    .map_err(|err| Error::io(path, "set aside garbled metrics file", err))?;
                warnings.push(format!(
                    "{}:{}: not Prometheus text ({}); kept as {} and started afresh",
                    path.display(),
                    e.line,
                    e.message,
                    dir_path.join(&bad).display()
                ));
                Exposition::default()
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Exposition::default(),
        Err(e) => return Err(Error::io(path, "read metrics file", e)),
    };
    exp.merge(run);
    replace_in(ops, &dir, &dir_path, &name, exp.render().as_bytes())?;
    Ok(warnings)
}

/// Holds an exclusive `flock` on `.NAME.lock` beside the file until dropped
/// (a file that is never deleted, so every updater locks the same inode).
fn lock(ops: &dyn FileOps, dir: &cap_std::fs::Dir, dir_path: &Path, name: &str) -> Result<File> {
    let lock_name = format!(".{name}.lock");
    let lock_path = dir_path.join(&lock_name);
    let file = ops
        .open_lock(dir, &lock_name)
        .map_err(|e| Error::io(&lock_path, "open metrics lock file", e))?;
    lock_exclusive(&file).map_err(|e| Error::io(&lock_path, "lock metrics file", e))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::metrics as m;
    use crate::store::file_ops::RealFs;

    #[test]
    fn concurrent_updates_lose_nothing() {
        // Many writers at once (flock is per open file, so threads contend
        // like processes do): without the lock, read-merge-replace loses counts.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.prom");
        let one = Exposition::parse(
            "# TYPE csvseal_writes_ok_total counter\ncsvseal_writes_ok_total 1\n",
        )
        .unwrap();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..40 {
                        update(&RealFs, &path, &one).unwrap();
                    }
                });
            }
        });
        let text = std::fs::read_to_string(&path).unwrap();
        let exp = Exposition::parse(&text).unwrap();
        assert_eq!(exp.value(m::WRITES_OK_TOTAL, &[]), Some(320.0));
    }

    #[test]
    fn a_garbled_file_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.prom");
        std::fs::write(&path, "not { prometheus\n").unwrap();
        let warnings = update(&RealFs, &path, &Exposition::default()).unwrap();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("m.prom.bad")).unwrap(),
            "not { prometheus\n"
        );
    }
}
