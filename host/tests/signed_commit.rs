//! The two-file commit of a signed write, through the `FileOps` seam: the
//! signature's temp, fsync, rename and directory fsync all come before the
//! CSV's rename, and every call failed in turn leaves either nothing, or
//! the CSV with exactly its signature: never a CSV without one, never a
//! signature that does not match, never a temp.

mod common;

use std::io;
use std::path::Path;
use std::sync::Mutex;

use blake2::{Blake2b512, Digest};
use cap_std::fs::{Dir, File};
use csvseal::signing::{SecretKey, Signer};
use csvseal::store::file_ops::{FileOps, RealFs};
use csvseal::{Limits, Sandbox, WriteControl, write_sealed_with};
use tempfile::TempDir;

use common::request;

const TARGET: &str = "orders_20240910_143000.csv";
const SIG: &str = "orders_20240910_143000.csv.minisig";

/// The real file system, logging (operation, name) and failing one call.
struct Recorder {
    log: Mutex<Vec<(&'static str, String)>>,
    fail_at: Option<usize>,
}

impl Recorder {
    fn new(fail_at: Option<usize>) -> Self {
        Recorder {
            log: Mutex::new(vec![]),
            fail_at,
        }
    }

    fn call<T>(
        &self,
        op: &'static str,
        name: &str,
        real: impl FnOnce() -> io::Result<T>,
    ) -> io::Result<T> {
        let mut log = self.log.lock().unwrap();
        log.push((op, name.to_owned()));
        if self.fail_at == Some(log.len()) {
            return Err(io::Error::from_raw_os_error(5));
        }
        drop(log);
        real()
    }

    fn log(&self) -> Vec<(&'static str, String)> {
        self.log.lock().unwrap().clone()
    }
}

impl FileOps for Recorder {
    fn create_new(&self, dir: &Dir, name: &str) -> io::Result<File> {
        self.call("create", name, || RealFs.create_new(dir, name))
    }
    fn write_all(&self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
        self.call("write", "", || RealFs.write_all(file, bytes))
    }
    fn sync_file(&self, file: &File) -> io::Result<()> {
        self.call("fsync", "", || RealFs.sync_file(file))
    }
    fn rename_noreplace(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()> {
        self.call("rename", to, || RealFs.rename_noreplace(dir, from, to))
    }
    fn rename_replace(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()> {
        self.call("rename", to, || RealFs.rename_replace(dir, from, to))
    }
    fn hard_link(&self, dir: &Dir, from: &str, to: &str) -> io::Result<()> {
        self.call("link", to, || RealFs.hard_link(dir, from, to))
    }
    fn sync_dir(&self, dir: &Dir) -> io::Result<()> {
        self.call("fsync-dir", "", || RealFs.sync_dir(dir))
    }
    fn remove(&self, dir: &Dir, name: &str) -> io::Result<()> {
        self.call("remove", name, || RealFs.remove(dir, name))
    }
}

fn signed(key: &std::sync::Arc<SecretKey>) -> WriteControl {
    WriteControl {
        sign: Some(Signer {
            key: key.clone(),
            previous: None,
        }),
        ..WriteControl::default()
    }
}

fn write(
    ops: &dyn FileOps,
    sb: &Sandbox,
    dir: &Path,
    key: &std::sync::Arc<SecretKey>,
) -> csvseal::Result<csvseal::Committed> {
    let input = b"symbol,qty\nEURUSD,1\nGBPUSD,2\n";
    write_sealed_with(
        ops,
        &signed(key),
        sb,
        &request(dir),
        &mut &input[..],
        "input",
    )
}

/// The signature's stated BLAKE2b-512, which must be the CSV's.
fn stated_digest(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join(SIG)).unwrap();
    let comment = text
        .lines()
        .find_map(|l| l.strip_prefix("trusted comment: "))
        .unwrap();
    comment
        .split('\t')
        .find_map(|f| f.strip_prefix("blake2b:"))
        .unwrap()
        .to_owned()
}

fn digest(path: &Path) -> String {
    hex::encode(Blake2b512::digest(std::fs::read(path).unwrap()))
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn the_signature_is_durable_before_the_csv_is_renamed() {
    let sb = Sandbox::builtin(Limits::default()).unwrap();
    let key = std::sync::Arc::new(SecretKey::generate().unwrap());
    let dir = TempDir::new().unwrap();
    let rec = Recorder::new(None);
    write(&rec, &sb, dir.path(), &key).unwrap();
    let log = rec.log();
    let at = |op: &str, name: &str| {
        log.iter()
            .position(|(o, n)| *o == op && n == name)
            .unwrap_or_else(|| panic!("no {op} {name}: {log:?}"))
    };
    let sig_rename = at("rename", SIG);
    let csv_rename = at("rename", TARGET);
    assert!(
        sig_rename < csv_rename,
        "the signature is renamed first: {log:?}"
    );
    assert!(at("create", &format!("{SIG}.tmp")) < sig_rename, "{log:?}");
    assert!(
        log[..sig_rename].iter().rposition(|(o, _)| *o == "fsync")
            > Some(at("create", &format!("{SIG}.tmp"))),
        "the signature is fsynced before its rename: {log:?}"
    );
    assert!(
        log[sig_rename..csv_rename]
            .iter()
            .any(|(o, _)| *o == "fsync-dir"),
        "the directory is fsynced between the two renames: {log:?}"
    );
    assert_eq!(log.last().unwrap().0, "fsync-dir", "{log:?}");
    assert_eq!(names(dir.path()), [TARGET, SIG]);
    assert_eq!(stated_digest(dir.path()), digest(&dir.path().join(TARGET)));
}

#[test]
fn every_call_of_a_signed_write_failed_in_turn() {
    let sb = Sandbox::builtin(Limits::default()).unwrap();
    let key = std::sync::Arc::new(SecretKey::generate().unwrap());
    let calls = {
        let dir = TempDir::new().unwrap();
        let rec = Recorder::new(None);
        write(&rec, &sb, dir.path(), &key).unwrap();
        rec.log().len()
    };
    for n in 1..=calls {
        let dir = TempDir::new().unwrap();
        let rec = Recorder::new(Some(n));
        let result = write(&rec, &sb, dir.path(), &key);
        let listing = names(dir.path());
        let case = format!(
            "call {n} of {calls} fails ({:?}): {result:?}, left {listing:?}",
            rec.log().last()
        );
        assert!(result.is_err(), "{case}");
        assert!(
            !listing.iter().any(|f| f.ends_with(".tmp")),
            "no temp is left: {case}"
        );
        if listing.iter().any(|f| f == TARGET) {
            // Only the CSV's own directory fsync may fail after its rename.
            assert!(
                listing.contains(&SIG.to_owned()),
                "a CSV without its signature: {case}"
            );
            assert_eq!(
                stated_digest(dir.path()),
                digest(&dir.path().join(TARGET)),
                "{case}"
            );
            assert_eq!(result.unwrap_err().exit_code(), 5, "{case}");
        } else {
            assert!(
                listing.is_empty(),
                "nothing, not an orphan signature: {case}"
            );
        }
    }
}
