//! Files the user names by path (a file to verify, an input, a schema):
//! opened through their directory as a cap-std [`Dir`], like every other
//! file csvseal touches, so that later steps on the same directory are
//! relative to one handle.

use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, File};

use crate::error::{Error, Result};

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

/// Opens the directory `path`, creating it (and its parents) if missing.
pub fn open_or_create_dir(path: &Path) -> Result<Dir> {
    Dir::create_ambient_dir_all(path, ambient_authority())
        .map_err(|e| Error::io(path, "create directory", e))?;
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

/// Reads `file` whole, as text.
pub fn read_to_string(file: &Path, op: &'static str) -> Result<String> {
    let mut f = open_file(file, op)?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut f, &mut text).map_err(|e| Error::io(file, op, e))?;
    Ok(text)
}

/// Reads `file` whole.
pub fn read(file: &Path, op: &'static str) -> Result<Vec<u8>> {
    let mut f = open_file(file, op)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut f, &mut bytes).map_err(|e| Error::io(file, op, e))?;
    Ok(bytes)
}

/// Whether `e` is a missing file (for files that may not exist yet).
pub fn is_not_found(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_by_path_and_refuses_directories() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, "hi").unwrap();
        assert_eq!(read_to_string(&p, "read").unwrap(), "hi");
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
        assert_eq!(read_to_string(&link, "read").unwrap(), "hi");
        assert_eq!(
            split_path(Path::new("x.csv")).unwrap(),
            (PathBuf::from("."), "x.csv".to_owned())
        );
    }
}
