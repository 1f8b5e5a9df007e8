//! `--component` through the real binary: the example plugin works, hostile
//! ones fail with the documented exit code and JSON error kind, and nothing
//! is committed.

mod common;

use std::path::Path;

use common::{TRADES, csvseal, listing, stderr, stdout};
use serde_json::Value;

fn plugin(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/plugins")
        .join(format!("{name}.wasm"))
        .to_string_lossy()
        .into_owned()
}

fn write_with(dir: &Path, component: &str, extra: &[&str]) -> (Option<i32>, Value) {
    let d = dir.to_string_lossy();
    let c = plugin(component);
    let mut args = vec![
        "write",
        "--json",
        "--dir",
        &d,
        "--name",
        "trades",
        "--component",
        &c,
    ];
    args.extend_from_slice(extra);
    let out = csvseal(&args, Some(TRADES.as_bytes()));
    let v = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {} {}", stdout(&out), stderr(&out)));
    (out.status.code(), v)
}

#[test]
fn the_example_plugin_writes_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (code, v) = write_with(dir.path(), "row-rule", &[]);
    assert_eq!(code, Some(0), "{v}");
    let path = v["path"].as_str().unwrap();
    let out = csvseal(&["verify", "--component", &plugin("row-rule"), path], None);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn hostile_plugins_fail_cleanly_and_commit_nothing() {
    for (component, extra, code, kind, limit) in [
        (
            "hostile-bad-checksums",
            &[][..],
            1,
            "written-file-invalid",
            None,
        ),
        ("hostile-trap-midway", &[][..], 2, "sandbox", None),
        ("hostile-flood-output", &[][..], 2, "limit", Some("output")),
        (
            "hostile-loop-forever",
            &["--call-timeout-secs", "1"][..],
            2,
            "limit",
            Some("cpu"),
        ),
        (
            "hostile-grow-memory",
            &["--memory-limit-mib", "64"][..],
            2,
            "limit",
            Some("memory"),
        ),
        ("hostile-fs", &[][..], 2, "sandbox", None),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (got, v) = write_with(dir.path(), component, extra);
        assert_eq!(got, Some(code), "{component}: {v}");
        assert_eq!(v["error"]["kind"], kind, "{component}: {v}");
        if let Some(limit) = limit {
            assert_eq!(v["error"]["limit"], limit, "{component}: {v}");
        }
        assert_eq!(listing(dir.path()), Vec::<String>::new(), "{component}");
    }
}

#[test]
fn a_plugin_cannot_waive_the_builtin_checks_in_verify() {
    // Through the CLI the built-in findings come out next to the plugin's
    // (that a lying plugin cannot hide them is unit-tested in plugin.rs).
    let dir = tempfile::tempdir().unwrap();
    let sealed = common::write_ok(dir.path(), "trades", TRADES, &[]);
    let text = std::fs::read_to_string(&sealed)
        .unwrap()
        .replace("GBPUSD", "GBPUSX");
    std::fs::write(&sealed, text).unwrap();
    let out = csvseal(
        &["verify", "--component", &plugin("row-rule"), &sealed],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("checksum-mismatch"),
        "{}",
        stdout(&out)
    );
}
