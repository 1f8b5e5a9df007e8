//! Plugins, friendly and hostile, through the library. The components are
//! built from plugins/ and examples/ by scripts/build-plugins.sh and
//! committed in tests/plugins/ (CI checks them byte for byte).
//!
//! For every hostile plugin: a clear error naming what went wrong, the
//! target never appears, no temp file is left, and the same process goes on
//! to seal a file with the built-in component.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use csvseal::{Error, ErrorKind, Limits, Sandbox, WriteRequest, write_sealed};

fn request(dir: &Path) -> WriteRequest {
    common::request_named(dir, "trades")
}

const TRADES: &str = "timestamp,trade_id,symbol,profit_loss\n\
2024-09-10T14:30:00Z,TRADE_20240910_001,EURUSD,25.0\n\
2024-09-10T14:31:00Z,TRADE_20240910_002,GBPUSD,-12.5\n";

fn plugin(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/plugins")
        .join(format!("{name}.wasm"))
}

fn load(name: &str, limits: Limits) -> Sandbox {
    Sandbox::from_component_file(&plugin(name), limits).expect("plugin loads")
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Writes `input` with `sandbox` into a fresh directory; expects failure and
/// checks nothing was left behind, then that the host still works.
fn write_fails(sandbox: &Sandbox, input: &[u8]) -> Error {
    let dir = tempfile::tempdir().unwrap();
    let err = write_sealed(sandbox, &request(dir.path()), &mut &input[..], "input")
        .expect_err("the write must fail");
    assert_eq!(
        listing(dir.path()),
        Vec::<String>::new(),
        "left behind after: {err}"
    );
    // The host process is alive and the built-in component still seals.
    let ok = Sandbox::builtin(Limits::default()).unwrap();
    let c = write_sealed(&ok, &request(dir.path()), &mut TRADES.as_bytes(), "input").unwrap();
    assert!(c.verified.valid);
    err
}

/// A CSV input of about `mib` MiB, so the sealer gets several chunks.
fn big_input(mib: usize) -> Vec<u8> {
    let mut v = b"a,symbol\n".to_vec();
    let mut i = 0u64;
    while v.len() < mib << 20 {
        v.extend_from_slice(format!("{i},EURUSD\n").as_bytes());
        i += 1;
    }
    v
}

#[test]
fn the_example_plugin_imports_nothing_and_seals() {
    let sandbox = load("row-rule", Limits::default());
    assert!(!sandbox.is_builtin());
    assert_eq!(sandbox.component_imports(), Vec::<String>::new());
    let dir = tempfile::tempdir().unwrap();
    let c = write_sealed(&sandbox, &request(dir.path()), &mut TRADES.as_bytes(), "t").unwrap();
    assert!(c.verified.valid);
    assert_eq!(c.summary.rows, 2);
    // The sealed file is a plain policy file: the built-in verifier agrees.
    let builtin = Sandbox::builtin(Limits::default()).unwrap();
    assert!(csvseal::verify_file(&builtin, None, &c.path).unwrap().valid);
}

#[test]
fn the_example_plugin_rule_rejects_a_bad_row_and_commits_nothing() {
    let sandbox = load("row-rule", Limits::default());
    let input = format!("{TRADES}2024-09-10T14:32:00Z,TRADE_3,eurusd,1.0\n");
    let err = write_fails(&sandbox, input.as_bytes());
    let Error::InputRejected { errors, count, .. } = &err else {
        panic!("expected input-rejected, got {err}");
    };
    assert_eq!(*count, 1, "{errors:?}");
    assert_eq!(errors[0].kind, ErrorKind::Schema);
    assert_eq!(errors[0].column.as_deref(), Some("symbol"));
    assert!(errors[0].message.contains("six uppercase"), "{errors:?}");
}

#[test]
fn verifying_with_a_plugin_adds_its_rule_to_the_builtin_checks() {
    let builtin = Sandbox::builtin(Limits::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = format!("{TRADES}2024-09-10T14:32:00Z,TRADE_3,eurusd,1.0\n");
    let c = write_sealed(&builtin, &request(dir.path()), &mut input.as_bytes(), "t").unwrap();
    let plugin = load("row-rule", Limits::default());
    let report = csvseal::verify_file_checked(&plugin, Some(&builtin), None, &c.path).unwrap();
    assert!(!report.valid);
    assert_eq!(report.error_count, 1, "{:?}", report.errors);
    assert_eq!(report.errors[0].line, 4);
    assert_eq!(report.errors[0].seq, Some(3));
    // A broken checksum is caught by the built-in side as well.
    let text = std::fs::read_to_string(&c.path)
        .unwrap()
        .replace("GBPUSD", "GBPUSX");
    std::fs::write(&c.path, text).unwrap();
    let report = csvseal::verify_file_checked(&plugin, Some(&builtin), None, &c.path).unwrap();
    let kinds: Vec<_> = report.errors.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&ErrorKind::ChecksumMismatch), "{kinds:?}");
    assert!(kinds.contains(&ErrorKind::Schema), "{kinds:?}");
}

#[test]
fn a_std_plugin_that_wants_files_env_and_stderr_is_refused_before_it_runs() {
    let err = Sandbox::from_component_file(&plugin("hostile-fs"), Limits::default())
        .err()
        .expect("must not load");
    let msg = err.to_string();
    assert!(matches!(err, Error::Sandbox(_)), "{msg}");
    assert!(msg.contains("hostile-fs.wasm"), "{msg}");
    assert!(msg.contains("wasi:filesystem/preopens"), "{msg}");
    assert!(msg.contains("wasi:cli/stderr"), "{msg}");
    assert!(!Path::new("/tmp/csvseal-hostile-fs-was-here").exists());
}

#[test]
fn a_plugin_that_loops_forever_is_stopped_by_the_cpu_limit() {
    let limits = Limits {
        call_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let sandbox = load("hostile-loop-forever", limits);
    let started = Instant::now();
    let err = write_fails(&sandbox, TRADES.as_bytes());
    assert!(
        matches!(err, Error::LimitExceeded { limit: "cpu", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("--call-timeout-secs"), "{err}");
    // Generous: the deadline is 1 s; this only proves it is bounded.
    assert!(started.elapsed() < Duration::from_secs(30));
    // Verification is bounded the same way.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x.csv");
    std::fs::write(&f, "file_seq,checksum_sha256\r\n").unwrap();
    let err = csvseal::verify_file(&sandbox, None, &f).unwrap_err();
    assert!(
        matches!(err, Error::LimitExceeded { limit: "cpu", .. }),
        "{err}"
    );
}

#[test]
fn a_plugin_that_grows_memory_without_end_is_stopped_by_the_memory_limit() {
    let limits = Limits {
        memory_bytes: 64 << 20,
        ..Limits::default()
    };
    let sandbox = load("hostile-grow-memory", limits);
    let err = write_fails(&sandbox, TRADES.as_bytes());
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                limit: "memory",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("limit is 64 MiB"), "{err}");
}

#[test]
fn a_plugin_that_floods_output_is_stopped_by_the_output_limit() {
    let sandbox = load("hostile-flood-output", Limits::default());
    let err = write_fails(&sandbox, TRADES.as_bytes());
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                limit: "output",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("--max-output-mib"), "{err}");
}

#[test]
fn a_plugin_that_traps_midway_leaves_no_temp_file() {
    let sandbox = load("hostile-trap-midway", Limits::default());
    // Several chunks: sealed rows reach the temp file before the trap.
    let err = write_fails(&sandbox, &big_input(3));
    assert!(matches!(err, Error::Sandbox(_)), "{err}");
    assert!(err.to_string().contains("trapped"), "{err}");
}

#[test]
fn a_plugin_that_emits_wrong_checksums_gets_nothing_committed() {
    let sandbox = load("hostile-bad-checksums", Limits::default());
    let err = write_fails(&sandbox, &big_input(2));
    let Error::WrittenFileInvalid { report, .. } = &err else {
        panic!("expected written-file-invalid, got {err}");
    };
    assert!(report.error_count > 1000, "{}", report.error_count);
    assert!(
        report
            .errors
            .iter()
            .all(|e| e.kind == ErrorKind::ChecksumMismatch),
        "{:?}",
        &report.errors[..3]
    );
}

#[test]
fn a_plugin_that_breaks_the_sequence_gets_nothing_committed() {
    let sandbox = load("hostile-broken-sequence", Limits::default());
    let err = write_fails(&sandbox, TRADES.as_bytes());
    let Error::WrittenFileInvalid { report, .. } = &err else {
        panic!("expected written-file-invalid, got {err}");
    };
    let kinds: Vec<_> = report.errors.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [ErrorKind::SequenceViolation], "{:?}", report.errors);
    assert_eq!(report.errors[0].line, 3);
}

#[test]
fn a_plugin_that_emits_a_torn_row_gets_nothing_committed() {
    let sandbox = load("hostile-torn-row", Limits::default());
    let err = write_fails(&sandbox, TRADES.as_bytes());
    let Error::WrittenFileInvalid { report, .. } = &err else {
        panic!("expected written-file-invalid, got {err}");
    };
    let kinds: Vec<_> = report.errors.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [ErrorKind::TornRow], "{:?}", report.errors);
}

/// A hostile plugin with several linear memories: csvseal's own component,
/// nested unchanged (so it implements the world), beside a core module
/// declaring `memories` memories of `mib_each` MiB each. The interface
/// names come from wit/csvseal.wit, so the test follows the contract.
fn memory_hog(memories: u32, mib_each: u64) -> Vec<u8> {
    wrapped_builtin(memories, mib_each, None)
}

/// csvseal's own component nested in a new one that re-exports its
/// interfaces (under `version`, default the contract's), beside a core
/// module declaring `memories` memories of `mib_each` MiB.
fn wrapped_builtin(memories: u32, mib_each: u64, version: Option<&str>) -> Vec<u8> {
    use wasm_encoder::{
        Alias, Component, ComponentAliasSection, ComponentExportKind, ComponentExportSection,
        ComponentInstanceSection, ComponentSectionId, InstanceSection, MemorySection, MemoryType,
        Module, ModuleArg, ModuleSection, RawSection,
    };
    let wit =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit/csvseal.wit"))
            .unwrap();
    let package = wit
        .lines()
        .find_map(|l| l.trim().strip_prefix("package "))
        .and_then(|p| p.strip_suffix(';'))
        .expect("package line");
    let (ns, contract) = package.split_once('@').expect("versioned package");
    let named = |v: &str| -> Vec<String> {
        ["types", "checksum", "verify", "seal"]
            .iter()
            .map(|i| format!("{ns}/{i}@{v}"))
            .collect()
    };
    let (names, exported) = (named(contract), named(version.unwrap_or(contract)));

    let mut hog = Module::new();
    let mut mems = MemorySection::new();
    for _ in 0..memories {
        mems.memory(MemoryType {
            minimum: mib_each * 16, // 64 KiB pages
            maximum: None,
            memory64: false,
            shared: false,
            page_size_log2: None,
        });
    }
    hog.section(&mems);

    let mut c = Component::new();
    c.section(&ModuleSection(&hog));
    let mut core = InstanceSection::new();
    core.instantiate(0, Vec::<(&str, ModuleArg)>::new());
    c.section(&core);
    c.section(&RawSection {
        id: ComponentSectionId::Component as u8,
        data: csvseal::BUILTIN_COMPONENT,
    });
    let mut inst = ComponentInstanceSection::new();
    inst.instantiate(0, Vec::<(&str, ComponentExportKind, u32)>::new());
    c.section(&inst);
    let mut aliases = ComponentAliasSection::new();
    for name in &names {
        aliases.alias(Alias::InstanceExport {
            instance: 0,
            kind: ComponentExportKind::Instance,
            name,
        });
    }
    c.section(&aliases);
    let mut exports = ComponentExportSection::new();
    for (i, name) in exported.iter().enumerate() {
        exports.export(
            name.as_str(),
            ComponentExportKind::Instance,
            1 + i as u32,
            None,
        );
    }
    c.section(&exports);
    c.finish()
}

#[test]
fn several_memories_share_one_memory_cap() {
    let limits = Limits {
        memory_bytes: 256 << 20,
        ..Limits::default()
    };
    // Under the cap in total: the nested engine works as usual.
    let small = Sandbox::from_component_bytes(&memory_hog(3, 16), limits.clone()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let c = write_sealed(
        &small,
        &request(dir.path()),
        &mut TRADES.as_bytes(),
        "input",
    )
    .unwrap();
    assert!(c.verified.valid);
    // Three memories of 100 MiB: each alone is under 256 MiB, together they
    // are not. The store's total is capped, so the plugin cannot start.
    let hog = Sandbox::from_component_bytes(&memory_hog(3, 100), limits).unwrap();
    let err = write_fails(&hog, TRADES.as_bytes());
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                limit: "memory",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("--memory-limit-mib"), "{err}");
}

#[test]
fn a_plugin_whose_summary_the_verifier_does_not_confirm_gets_nothing_committed() {
    // Every byte it writes is valid; only its claim (one row more) is false.
    let sandbox = load("hostile-lying-summary", Limits::default());
    let err = write_fails(&sandbox, TRADES.as_bytes());
    let Error::WrittenFileInvalid { report, .. } = &err else {
        panic!("expected written-file-invalid, got {err}");
    };
    assert!(report.valid, "the bytes verify: {:?}", report.errors);
    assert_eq!(report.rows, 2);
}

#[test]
fn a_plugin_that_seals_consistently_but_not_the_input_or_start_gets_nothing_committed() {
    // Each writes bytes that verify, with a summary that matches them: only
    // holding the output to the request and to the input catches it.
    for (name, kind, says) in [
        (
            "hostile-ignore-start-seq",
            ErrorKind::SequenceViolation,
            "the rows start at file_seq 1, the write asked for 1001",
        ),
        (
            "hostile-drop-row",
            ErrorKind::SequenceViolation,
            "the plugin wrote 1 rows, file_seq 1001 to 1001; the input gives 2 rows, file_seq 1001 to 1002",
        ),
        (
            "hostile-alter-value",
            ErrorKind::Malformed,
            "do not carry the input's values",
        ),
    ] {
        let sandbox = load(name, Limits::default());
        let dir = tempfile::tempdir().unwrap();
        let req = WriteRequest {
            start_seq: 1001,
            ..request(dir.path())
        };
        let err = write_sealed(&sandbox, &req, &mut TRADES.as_bytes(), "input")
            .expect_err("the write must fail");
        assert_eq!(listing(dir.path()), Vec::<String>::new(), "{name}: {err}");
        let Error::WrittenFileInvalid { report, .. } = &err else {
            panic!("{name}: expected written-file-invalid, got {err}");
        };
        assert!(!report.valid, "{name}");
        let found = report
            .errors
            .iter()
            .find(|e| e.message.contains(says))
            .unwrap_or_else(|| panic!("{name}: {:?}", report.errors));
        assert_eq!(found.kind, kind, "{name}");
        // The built-in sealer, asked the same, writes from 1001.
        let ok = Sandbox::builtin(Limits::default()).unwrap();
        let c = write_sealed(&ok, &req, &mut TRADES.as_bytes(), "input").unwrap();
        assert_eq!(c.verified.first_seq, Some(1001));
    }
}

#[test]
fn the_example_plugin_seals_the_input_from_the_start_asked() {
    // The checks above refuse only what differs: a faithful plugin passes.
    let sandbox = load("row-rule", Limits::default());
    let dir = tempfile::tempdir().unwrap();
    let req = WriteRequest {
        start_seq: 1001,
        ..request(dir.path())
    };
    let c = write_sealed(&sandbox, &req, &mut TRADES.as_bytes(), "input").unwrap();
    assert_eq!(
        (c.verified.rows, c.verified.first_seq, c.verified.last_seq),
        (2, Some(1001), Some(1002))
    );
}

#[test]
fn a_plugin_built_for_another_version_of_the_contract_is_refused_at_load() {
    // The same engine, its interfaces exported as the 0.1.0 contract (before
    // seal-options gained the input dialect): refused by name, not run.
    let old = wrapped_builtin(0, 0, Some("0.1.0"));
    let err = Sandbox::from_component_bytes(&old, Limits::default())
        .map(|_| ())
        .expect_err("a 0.1.0 plugin must not load");
    let text = err.to_string();
    assert!(
        text.contains("no exported instance named `csvseal:core/checksum@0.2.0`"),
        "{text}"
    );
    // The current version of the same bytes loads.
    Sandbox::from_component_bytes(&wrapped_builtin(0, 0, None), Limits::default()).unwrap();
}
