//! The compiled-component cache runs native code outside the sandbox, so it
//! is trusted only as far as it is private: a directory only the user can
//! write, no symlinks followed, and entries authenticated with a per-user
//! key, so a planted or swapped entry is recompiled, never run.

mod common;

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::*;

/// A fresh directory under cargo's per-target temp dir (private to the
/// user, unlike a predictable name in /tmp).
fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("cache-test-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap()
}

fn run(cache: &Path, args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(csvseal_bin())
        .args(args)
        .env("CSVSEAL_CACHE_DIR", cache)
        // The built-in component takes the cached JIT path, as it does on
        // platforms the precompiled copy does not cover.
        .env("CSVSEAL_PRECOMPILED", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn entries(cache: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(cache)
        .map(|rd| rd.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "cwasm"));
    v.sort();
    v
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Seals TRADES into `out` with `extra` options; the exit code and stderr.
fn write(cache: &Path, out: &Path, name: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["write", "--dir", out.to_str().unwrap(), "--name", name];
    args.extend_from_slice(extra);
    let o = run(cache, &args, TRADES.as_bytes());
    (o.status.code().unwrap(), stderr(&o))
}

#[test]
fn a_new_cache_is_private_and_keyed() {
    let tmp = scratch();
    let cache = tmp.path().join("c");
    let out = scratch();
    assert_eq!(write(&cache, out.path(), "t", &[]).0, 0);
    assert_eq!(mode(&cache), 0o700);
    let key = cache.join("key");
    assert_eq!(mode(&key), 0o600);
    assert_eq!(std::fs::read(&key).unwrap().len(), 32);
    let e = entries(&cache);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(mode(&e[0]) & 0o077, 0);
    // A warm start uses the entry (and does not rewrite it).
    let before = std::fs::read(&e[0]).unwrap();
    assert_eq!(write(&cache, out.path(), "u", &[]).0, 0);
    assert_eq!(std::fs::read(&e[0]).unwrap(), before);
}

#[test]
fn a_directory_others_can_write_or_a_symlink_is_not_used() {
    let tmp = scratch();
    let out = scratch();
    // Writable by everyone: anyone could plant code there.
    let open = tmp.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (code, err) = write(&open, out.path(), "t", &["-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("component cache not used"), "{err}");
    assert!(err.contains("accessible by others"), "{err}");
    assert_eq!(std::fs::read_dir(&open).unwrap().count(), 0);
    // A symlink at the cache's name is not followed.
    let real = tmp.path().join("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).unwrap();
    let link = tmp.path().join("link");
    symlink(&real, &link).unwrap();
    let (code, err) = write(&link, out.path(), "u", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("symlink"), "{err}");
    assert_eq!(std::fs::read_dir(&real).unwrap().count(), 0);
}

#[test]
fn a_planted_entry_is_recompiled_never_run() {
    let tmp = scratch();
    let cache = tmp.path().join("c");
    let out = scratch();
    // The cache learns three components, one run each: the built-in one,
    // the hostile bad-checksums plugin, the friendly row-rule plugin.
    assert_eq!(write(&cache, out.path(), "a", &[]).0, 0);
    let builtin = entries(&cache);
    let (code, _) = write(
        &cache,
        out.path(),
        "b",
        &["--component", &plugin("hostile-bad-checksums")],
    );
    assert_eq!(
        code, 1,
        "the built-in verifier refuses the hostile plugin's output"
    );
    let hostile: Vec<_> = entries(&cache)
        .into_iter()
        .filter(|e| !builtin.contains(e))
        .collect();
    let (code, err) = write(
        &cache,
        out.path(),
        "c",
        &["--component", &plugin("row-rule")],
    );
    assert_eq!(code, 0, "{err}");
    let friendly: Vec<_> = entries(&cache)
        .into_iter()
        .filter(|e| !builtin.contains(e) && !hostile.contains(e))
        .collect();
    assert_eq!((hostile.len(), friendly.len()), (1, 1));

    // An attacker copies the hostile code over the friendly plugin's
    // entry: once as the whole entry, once with a fresh SHA-256 trailer (the
    // old format's only check). Neither may run as the friendly plugin.
    let hostile_entry = std::fs::read(&hostile[0]).unwrap();
    let body = &hostile_entry[..hostile_entry.len() - 32];
    let old_format = [body, sha2_of(body).as_slice()].concat();
    for (i, planted) in [hostile_entry.clone(), old_format].into_iter().enumerate() {
        std::fs::write(&friendly[0], &planted).unwrap();
        let (code, err) = write(
            &cache,
            out.path(),
            &format!("d{i}"),
            &["--component", &plugin("row-rule")],
        );
        assert_eq!(code, 0, "planted entry {i} ran: {err}");
        assert_ne!(
            std::fs::read(&friendly[0]).unwrap(),
            planted,
            "entry {i} was recompiled"
        );
    }
}

fn sha2_of(bytes: &[u8]) -> [u8; 32] {
    // The system's sha256sum, so the test needs no hashing crate of its own.
    let dir = scratch();
    let f = dir.path().join("b");
    std::fs::write(&f, bytes).unwrap();
    let out = Command::new("sha256sum").arg(&f).output().unwrap();
    let hex = String::from_utf8(out.stdout).unwrap();
    let mut d = [0u8; 32];
    for (i, b) in d.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
    }
    d
}
