//! `--component` through the real binary: the example plugin works, hostile
//! ones fail with the documented exit code and JSON error kind, and nothing
//! is committed.

mod common;

use std::ffi::OsStr;
use std::path::Path;

use common::{TRADES, csvseal, csvseal_measured, listing, plugin, stderr, stdout, write_ok};
use serde_json::Value;

/// `csvseal write --json --component PLUGIN EXTRA...` of TRADES, run under
/// Python's getrusage: (exit code, JSON output, peak RSS in KiB).
fn write_with(dir: &Path, component: &str, extra: &[&str]) -> (Option<i32>, Value, u64) {
    let input = dir.join("..").join(format!("{component}-input.csv"));
    std::fs::write(&input, TRADES).unwrap();
    let plugin_path = plugin(component);
    let mut args: Vec<&std::ffi::OsStr> = ["write", "--json", "--name", "trades", "--dir"]
        .iter()
        .map(|a| a.as_ref())
        .collect();
    let (flag_input, flag_component) = (OsStr::new("--input"), OsStr::new("--component"));
    args.extend([dir.as_os_str(), flag_input, input.as_os_str()]);
    args.extend([flag_component, OsStr::new(&plugin_path)]);
    args.extend(extra.iter().map(OsStr::new));
    let (out, peak) = csvseal_measured(&args);
    std::fs::remove_file(&input).unwrap();
    let v = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("{e}: {} {}", stdout(&out), stderr(&out)));
    (out.status.code(), v, peak)
}

#[test]
fn the_example_plugin_writes_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let (code, v, _) = write_with(dir.path(), "row-rule", &[]);
    assert_eq!(code, Some(0), "{v}");
    let path = v["path"].as_str().unwrap();
    let out = csvseal(&["verify", "--component", &plugin("row-rule"), path], None);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

/// Memory cap given to hostile plugins, and what the whole process may
/// peak at: the component's memory, one copy of a call's result (wasmtime
/// lifts it before the host can check its size) and the host's own ~20 MB.
const PLUGIN_MIB: u64 = 128;
const PEAK_KIB: u64 = (2 * PLUGIN_MIB + 64) * 1024;

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
        ("hostile-grow-memory", &[][..], 2, "limit", Some("memory")),
        ("hostile-fs", &[][..], 2, "sandbox", None),
        // Output that verifies, but not from the start asked, or not the
        // input's rows.
        (
            "hostile-ignore-start-seq",
            &["--start-seq", "1001"][..],
            1,
            "written-file-invalid",
            None,
        ),
        ("hostile-drop-row", &[][..], 1, "written-file-invalid", None),
        (
            "hostile-alter-value",
            &[][..],
            1,
            "written-file-invalid",
            None,
        ),
    ] {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        std::fs::create_dir(&dir).unwrap();
        let mib = PLUGIN_MIB.to_string();
        let mut args = vec!["--memory-limit-mib", &mib];
        args.extend_from_slice(extra);
        let (got, v, peak) = write_with(&dir, component, &args);
        assert_eq!(got, Some(code), "{component}: {v}");
        assert_eq!(v["error"]["kind"], kind, "{component}: {v}");
        if let Some(limit) = limit {
            assert_eq!(v["error"]["limit"], limit, "{component}: {v}");
        }
        assert_eq!(listing(&dir), Vec::<String>::new(), "{component}");
        assert!(peak < PEAK_KIB, "{component}: peak RSS {peak} KiB");
    }
}

#[test]
fn a_continuation_through_a_plugin_starts_where_the_series_ends() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path().to_str().unwrap();
    let cont = |stamp: &str, component: &str| {
        let p = plugin(component);
        let args = [
            "write",
            "--json",
            "--continue",
            "--dir",
            d,
            "--name",
            "s",
            "--timestamp",
            stamp,
            "--component",
            &p,
        ];
        let out = csvseal(&args, Some(TRADES.as_bytes()));
        let v: Value = serde_json::from_str(&stdout(&out))
            .unwrap_or_else(|e| panic!("{e}: {} {}", stdout(&out), stderr(&out)));
        (out.status.code(), v)
    };
    let (code, v) = cont("2024-09-10T14:00:00Z", "row-rule");
    assert_eq!(code, Some(0), "{v}");
    // A plugin that numbers from 1 again would overlap the series.
    let (code, v) = cont("2024-09-10T14:10:00Z", "hostile-ignore-start-seq");
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["error"]["kind"], "written-file-invalid", "{v}");
    let listed = listing(root.path());
    assert_eq!(listed.iter().filter(|n| n.ends_with(".csv")).count(), 1);
    // A faithful plugin continues at 4, and the series verifies.
    let (code, v) = cont("2024-09-10T14:20:00Z", "row-rule");
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["first_seq"], 4, "{v}");
    let out = csvseal(&["verify", "--series", d, "s"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
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

#[test]
fn subcommands_that_only_use_the_builtin_verifier_refuse_component() {
    // recover, backup, restore, salvage and audit judge files with csvseal's
    // own verifier alone; they refuse --component rather than ignore it.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let f = write_ok(dir.path(), "t", TRADES, &[]);
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plugins/row-rule.wasm");
    let p = p.to_str().unwrap();
    for args in [
        vec!["recover", "--dir", d],
        vec!["backup", &f],
        vec!["restore", &f],
        vec!["salvage", &f, "--out", d],
        vec!["audit", "--dir", d],
    ] {
        let mut args = args.clone();
        args.extend(["--component", p]);
        let o = csvseal(&args, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("--component"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    // Nothing was done: the file is still the only one, unchanged.
    assert_eq!(listing(dir.path()), ["t_20240910_143000.csv"]);
}
