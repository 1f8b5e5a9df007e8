//! The built-in component is used precompiled: a first run compiles nothing
//! (the compile cache stays empty), and `CSVSEAL_PRECOMPILED=0` compiles and
//! caches it instead, with the same report.

mod common;

use std::process::Command;

use common::{TRADES, csvseal_bin, stdout, write_ok};

fn verify_with_cache(cache: &std::path::Path, precompiled: bool, file: &str) -> String {
    let mut cmd = Command::new(csvseal_bin());
    cmd.args(["verify", "--json", file])
        .env("CSVSEAL_CACHE_DIR", cache)
        .env_remove("CSVSEAL_NO_CACHE");
    if !precompiled {
        cmd.env("CSVSEAL_PRECOMPILED", "0");
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    stdout(&out)
}

/// Compiled components in the cache (besides it holds its MAC key).
fn entries(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
        })
        .count()
    })
}

#[test]
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn a_first_run_compiles_nothing_and_the_jit_gives_the_same_report() {
    if !std::arch::is_x86_feature_detected!("avx2") {
        return; // the artifact needs x86-64-v3; the JIT runs instead
    }
    let dir = tempfile::tempdir().unwrap();
    let file = write_ok(dir.path(), "t", TRADES, &[]);
    let cache = dir.path().join("cache");
    let precompiled = verify_with_cache(&cache, true, &file);
    assert_eq!(entries(&cache), 0, "the component was compiled and cached");
    let compiled = verify_with_cache(&cache, false, &file);
    assert_eq!(
        entries(&cache),
        1,
        "CSVSEAL_PRECOMPILED=0 compiles and caches"
    );
    assert_eq!(compiled, precompiled);
}
