//! Replacing a small file atomically (state and metrics files): write a
//! temp file beside it, fsync, rename over the old one, fsync the directory.
//! A reader sees the old content or the new, never a mix. Every step goes
//! through the [`FileOps`] seam, so the fault-injection tests cover it.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

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
/// any failure it is removed and `name` keeps its old content.
pub fn replace_in(
    ops: &dyn FileOps,
    dir: &Dir,
    dir_path: &Path,
    name: &str,
    bytes: &[u8],
) -> Result<()> {
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
}
