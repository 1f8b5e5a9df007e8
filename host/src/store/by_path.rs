//! Files the user names by path (a file to verify, an input, a schema):
//! opened through their directory as a cap-std [`Dir`], like every other
//! file csvseal touches, so that later steps on the same directory are
//! relative to one handle.

use std::io;
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, File};

use crate::error::{Error, Result};
use crate::store::file_ops::FileOps;

/// Splits `file` into its directory and its name.
pub fn split_path(file: &Path) -> Result<(PathBuf, String)> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::Usage(format!("{}: not a file name", file.display())))?
        .to_owned();
    let parent = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name))
}

/// Opens the directory `path` (named by the user: ambient authority).
pub fn open_dir(path: &Path) -> Result<Dir> {
    Dir::open_ambient_dir(path, ambient_authority())
        .map_err(|e| Error::io(path, "open directory", e))
}

/// Opens the directory `path`, creating it (and its missing parents) if
/// needed. Each directory created is made durable — its parent synced —
/// before anything is written inside it: otherwise a power cut could take
/// the new directory, and every file committed in it, away with its entry.
pub fn open_or_create_dir(ops: &dyn FileOps, path: &Path) -> Result<Dir> {
    match open_dir(path) {
        Ok(dir) => return Ok(dir),
        Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let (parent_path, name) = split_path(path)?;
    if parent_path == path {
        return open_dir(path);
    }
    let parent = open_or_create_dir(ops, &parent_path)?;
    match ops.create_dir(&parent, &name) {
        Ok(()) => {}
        // Another process made it first: it syncs the parent itself, but
        // syncing again costs little and does not depend on its luck.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io(path, "create directory", e)),
    }
    ops.sync_dir(&parent)
        .map_err(|e| Error::io(&parent_path, "fsync directory", e))?;
    open_dir(path)
}

/// Opens `file`'s directory; returns it and the file's name in it.
pub fn open_parent(file: &Path) -> Result<(Dir, String)> {
    let (parent, name) = split_path(file)?;
    let dir = Dir::open_ambient_dir(&parent, ambient_authority())
        .map_err(|e| Error::io(file, "open directory of", e))?;
    Ok((dir, name))
}

/// Opens `file` for reading (a directory is refused); `op` names the step
/// in errors ("open", "open input", ...). The user named it, so symlinks
/// are followed wherever they lead (cap-std would refuse one that leaves
/// the directory): the path is resolved first.
pub fn open_file(file: &Path, op: &'static str) -> Result<File> {
    // A pipe or device (`/dev/stdin`, `<(cmd)`) lives in no directory: its
    // name resolves to `pipe:[…]`. Opened as named, read once, in order.
    let kind = std::fs::metadata(file).map_err(|e| Error::io(file, op, e))?;
    if !kind.is_file() && !kind.is_dir() {
        let f = std::fs::File::open(file).map_err(|e| Error::io(file, op, e))?;
        return Ok(File::from_std(f));
    }
    let real = std::fs::canonicalize(file).map_err(|e| Error::io(file, op, e))?;
    let (dir, name) = open_parent(&real)?;
    let f = dir.open(&name).map_err(|e| Error::io(file, op, e))?;
    if f.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(Error::io(file, op, std::io::Error::other("is a directory")));
    }
    Ok(f)
}

/// Whether the last component of a small file's path may be a symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// The user named the file (`--schema`, `--component`): a symlink is
    /// followed, and what it leads to must be a regular file.
    Follow,
    /// A file anyone who can write the directory could plant (the audit's
    /// state file): a symlink is refused, never followed.
    Refuse,
}

/// Reads the small file `file` whole: a schema, a component, a state or
/// metrics file. Only a regular file is read; a FIFO, device, socket or
/// directory is refused without blocking on it (the open is non-blocking
/// and the kind is checked on the open descriptor), and so is a file of
/// more than `limit` bytes, however it grows while read. `op` names the
/// step in errors.
pub fn read_small(file: &Path, op: &'static str, limit: u64, links: Links) -> Result<Vec<u8>> {
    use cap_std::fs::{OpenOptions, OpenOptionsExt};
    use rustix::fs::OFlags;
    use std::io::Read;

    let refused = |why: String| Error::io(file, op, std::io::Error::other(why));
    let (dir, name) = match links {
        // Resolved first, as `open_file` does, so that a link leading out
        // of its directory is followed; the final name is then no link.
        Links::Follow => {
            let real = std::fs::canonicalize(file).map_err(|e| Error::io(file, op, e))?;
            open_parent(&real)?
        }
        Links::Refuse => open_parent(file)?,
    };
    let mut options = OpenOptions::new();
    options
        .read(true)
        .custom_flags((OFlags::NONBLOCK | OFlags::NOFOLLOW).bits() as i32);
    let mut f = dir.open_with(&name, &options).map_err(|e| {
        if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
            refused("is a symlink; refusing to follow it".into())
        } else {
            Error::io(file, op, e)
        }
    })?;
    let meta = f.metadata().map_err(|e| Error::io(file, op, e))?;
    if !meta.is_file() {
        return Err(refused("not a regular file".into()));
    }
    if meta.len() > limit {
        return Err(refused(format!("larger than {limit} bytes")));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    (&mut f)
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(file, op, e))?;
    if bytes.len() as u64 > limit {
        return Err(refused(format!("larger than {limit} bytes")));
    }
    Ok(bytes)
}

/// [`read_small`], as UTF-8 text.
pub fn read_small_text(file: &Path, op: &'static str, limit: u64, links: Links) -> Result<String> {
    let bytes = read_small(file, op, limit, links)?;
    String::from_utf8(bytes).map_err(|_| {
        Error::io(
            file,
            op,
            std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
        )
    })
}

/// Whether `e` is a missing file (for files that may not exist yet).
pub fn is_not_found(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

#[cfg(test)]
mod tests {
    #[test]
    fn small_reads_take_regular_files_within_their_bound_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.json");
        std::fs::write(&p, "12345").unwrap();
        assert_eq!(read_small(&p, "read", 5, Links::Refuse).unwrap(), b"12345");
        let e = read_small(&p, "read", 4, Links::Refuse).unwrap_err();
        assert!(e.to_string().contains("larger than 4 bytes"), "{e}");
        // A device, through a link the user named: refused, not read.
        let zero = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        let e = read_small(&zero, "read", 1 << 20, Links::Follow).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        // A FIFO: refused at once (a blocking open would hang here).
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
        )
        .unwrap();
        for links in [Links::Follow, Links::Refuse] {
            let e = read_small(&fifo, "read", 9, links).unwrap_err();
            assert!(e.to_string().contains("not a regular file"), "{e}");
        }
        let e = read_small_text(&dir.path().join("nope"), "read", 9, Links::Refuse).unwrap_err();
        assert!(is_not_found(&e), "{e}");
        assert!(read_small(dir.path(), "read", 9, Links::Follow).is_err());
    }

    use super::*;

    #[test]
    fn opens_by_path_and_refuses_directories() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, "hi").unwrap();
        assert_eq!(read_small_text(&p, "read", 2, Links::Follow).unwrap(), "hi");
        assert!(matches!(
            open_file(dir.path(), "open"),
            Err(Error::Io { op: "open", .. })
        ));
        assert!(matches!(
            open_file(&dir.path().join("nope"), "open"),
            Err(Error::Io { .. })
        ));
        // A symlink leading out of its directory is followed.
        let other = tempfile::tempdir().unwrap();
        let link = other.path().join("link.txt");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        assert_eq!(read_small(&link, "read", 9, Links::Follow).unwrap(), b"hi");
        let e = read_small(&link, "read", 9, Links::Refuse).unwrap_err();
        assert!(e.to_string().contains("is a symlink"), "{e}");
        assert_eq!(
            split_path(Path::new("x.csv")).unwrap(),
            (PathBuf::from("."), "x.csv".to_owned())
        );
    }
}
