//! `recover` finishing a signed commit cut between its two renames (the new
//! signature in place, the whole temp it signs beside the old file), and
//! refusing to when anything about the temp is off.

mod common;

use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::sync::Arc;

use csvseal::jobs::recover::{RecoverReport, recover_dir};
use csvseal::signing::{SecretKey, Signer};
use csvseal::store::file_ops::RealFs;
use csvseal::{Limits, Sandbox, WriteControl, write_sealed_with};
use tempfile::TempDir;

use common::request;

const TARGET: &str = "orders_20240910_143000.csv";
const SIG: &str = "orders_20240910_143000.csv.minisig";
const TEMP: &str = "orders_20240910_143000.csv.tmp";

/// A signed file of `tag` rows in a fresh directory: (bytes, signature).
fn signed(sb: &Sandbox, key: &Arc<SecretKey>, tag: &str) -> (Vec<u8>, Vec<u8>) {
    let dir = TempDir::new().unwrap();
    let control = WriteControl {
        sign: Some(Signer {
            key: key.clone(),
            previous: None,
        }),
        ..WriteControl::default()
    };
    let input = format!("symbol,qty\n{tag},1\n{tag},2\n");
    write_sealed_with(
        &RealFs,
        &control,
        sb,
        &request(dir.path()),
        &mut input.as_bytes(),
        "input",
    )
    .unwrap();
    (
        std::fs::read(dir.path().join(TARGET)).unwrap(),
        std::fs::read(dir.path().join(SIG)).unwrap(),
    )
}

struct Cut {
    dir: TempDir,
    old: Vec<u8>,
    new: Vec<u8>,
}

/// The state a signed `--replace` cut between its renames leaves.
fn cut(sb: &Sandbox) -> Cut {
    let key = Arc::new(SecretKey::generate().unwrap());
    let (old, _) = signed(sb, &key, "OLD");
    let (new, new_sig) = signed(sb, &key, "NEW");
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join(TARGET), &old).unwrap();
    std::fs::write(dir.path().join(SIG), &new_sig).unwrap();
    std::fs::write(dir.path().join(TEMP), &new).unwrap();
    Cut { dir, old, new }
}

fn recover(sb: &Sandbox, dir: &Path, dry_run: bool) -> RecoverReport {
    recover_dir(&RealFs, sb, dir, None, dry_run).unwrap()
}

#[test]
fn a_cut_signed_commit_is_finished() {
    let sb = Sandbox::builtin(Limits::default()).unwrap();
    let c = cut(&sb);
    let dry = recover(&sb, c.dir.path(), true);
    assert_eq!(dry.completed, [c.dir.path().join(TARGET)]);
    assert_eq!(std::fs::read(c.dir.path().join(TARGET)).unwrap(), c.old);
    assert!(
        c.dir.path().join(TEMP).exists(),
        "a dry run changes nothing"
    );

    let r = recover(&sb, c.dir.path(), false);
    assert_eq!(r.completed, [c.dir.path().join(TARGET)]);
    assert!(r.clean(), "{r:?}");
    assert_eq!(std::fs::read(c.dir.path().join(TARGET)).unwrap(), c.new);
    assert!(!c.dir.path().join(TEMP).exists());
}

#[test]
fn a_torn_or_foreign_temp_is_swept_not_committed() {
    let sb = Sandbox::builtin(Limits::default()).unwrap();
    // Torn: a prefix of the signed bytes.
    let c = cut(&sb);
    std::fs::write(c.dir.path().join(TEMP), &c.new[..c.new.len() - 3]).unwrap();
    let r = recover(&sb, c.dir.path(), false);
    assert!(r.completed.is_empty(), "{r:?}");
    assert_eq!(std::fs::read(c.dir.path().join(TARGET)).unwrap(), c.old);
    assert!(!c.dir.path().join(TEMP).exists(), "swept as a stale temp");

    // A temp that is not what the signature states.
    let c = cut(&sb);
    std::fs::write(c.dir.path().join(TEMP), &c.old).unwrap();
    let r = recover(&sb, c.dir.path(), false);
    assert!(r.completed.is_empty(), "{r:?}");
    assert_eq!(std::fs::read(c.dir.path().join(TARGET)).unwrap(), c.old);
}

#[test]
fn a_live_writers_temp_is_left_to_it() {
    let sb = Sandbox::builtin(Limits::default()).unwrap();
    let c = cut(&sb);
    let held = std::fs::File::open(c.dir.path().join(TEMP)).unwrap();
    rustix::fs::flock(&held, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let r = recover(&sb, c.dir.path(), false);
    assert!(r.completed.is_empty(), "{r:?}");
    assert_eq!(std::fs::read(c.dir.path().join(TARGET)).unwrap(), c.old);
    assert!(c.dir.path().join(TEMP).exists());
}

#[test]
fn a_fifo_in_the_files_place_does_not_hang_recover() {
    let sb = Sandbox::builtin(Limits::default()).unwrap();
    let c = cut(&sb);
    std::fs::remove_file(c.dir.path().join(TARGET)).unwrap();
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        c.dir.path().join(TARGET),
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let path = c.dir.path().to_path_buf();
    std::thread::spawn(move || {
        let sb = Sandbox::builtin(Limits::default()).unwrap();
        tx.send(recover_dir(&RealFs, &sb, &path, None, false))
            .unwrap();
    });
    let r = rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("recover hung on a FIFO")
        .unwrap();
    // Neither the FIFO replaced nor the one whole copy swept.
    assert!(r.completed.is_empty(), "{r:?}");
    assert!(r.kept.iter().any(|k| k.path.ends_with(TEMP)), "{r:?}");
    assert!(
        std::fs::symlink_metadata(c.dir.path().join(TARGET))
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert_eq!(std::fs::read(c.dir.path().join(TEMP)).unwrap(), c.new);
}
