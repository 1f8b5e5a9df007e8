//! Replacing a small file atomically (state and metrics files): write a
//! temp file beside it, fsync, rename over the old one, fsync the directory.
//! A reader sees the old content or the new, never a mix.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Writes `bytes` to `path`, replacing it atomically.
///
/// The temp file is `.{name}.{pid}-{n}.partial` in the same directory: hidden,
/// and not ending in `.prom`, so node_exporter's textfile collector never
/// reads it; not ending in `.tmp`, so it is never taken for a CSV temp.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::Usage(format!("{}: not a file path", path.display())))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // pid and a per-process counter: unique among concurrent writers.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let temp = dir.join(format!(
        ".{}.{}-{}.partial",
        name.to_string_lossy(),
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| Error::io(&temp, "create temp file", e))?;
        f.write_all(bytes)
            .map_err(|e| Error::io(&temp, "write temp file", e))?;
        f.sync_all()
            .map_err(|e| Error::io(&temp, "fsync temp file", e))?;
        std::fs::rename(&temp, path).map_err(|e| Error::io(path, "rename temp file over", e))?;
        // The rename is durable only once the directory is synced.
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::io(dir, "fsync directory", e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
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
