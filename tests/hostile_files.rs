//! `csvseal verify` on hostile files: the committed corpus in
//! tests/hostile_files/ (written by its generate.py, each case with the
//! error kind, line and column it must produce in expected.tsv), plus two huge cases made at
//! test time. Every one: exit 1 (2 for I/O), the expected kind, a located
//! message, never a panic; the huge ones within the documented memory bound.

mod common;

use std::path::{Path, PathBuf};

use common::{TRADES, csvseal, csvseal_measured, csvseal_within, stderr, stdout, write_ok};
use serde_json::Value;

/// Peak RSS `csvseal verify` may reach on any input with default limits
/// (docs/security.md, "Hostile input"): the 64 MiB record cap buffered by the
/// component, plus wasmtime and the 1 MiB read buffer.
const PEAK_RSS_LIMIT_KIB: u64 = 320 * 1024;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile_files")
}

fn kinds(report: &Value) -> Vec<String> {
    report["files"][0]["errors"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// One line of expected.tsv: file, kind, line, and the column when checked
/// (`-`: the error has none).
struct Case<'a> {
    file: &'a str,
    kind: &'a str,
    line: u64,
    column: Option<&'a str>,
}

fn cases(manifest: &str) -> Vec<Case<'_>> {
    manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert!(f.len() >= 3, "file<TAB>kind<TAB>line[<TAB>column]: {l:?}");
            Case {
                file: f[0],
                kind: f[1],
                line: f[2].parse().expect("line number"),
                column: f.get(3).copied(),
            }
        })
        .collect()
}

#[test]
fn every_corpus_file_gets_its_error_kind_where_it_is_and_exit_1() {
    let manifest = std::fs::read_to_string(corpus().join("expected.tsv")).unwrap();
    let cases = cases(&manifest);
    assert!(cases.len() >= 30, "corpus has only {} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let path = corpus().join(c.file);
        let p = path.to_string_lossy();
        let out = csvseal(&["verify", "--json", &p], None);
        let err = stderr(&out);
        if out.status.code() != Some(1) || err.contains("panicked") {
            failures.push(format!(
                "{}: exit {:?}, stderr {err}",
                c.file,
                out.status.code()
            ));
            continue;
        }
        let report: Value = serde_json::from_str(&stdout(&out)).expect("JSON report");
        let errors = report["files"][0]["errors"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let Some(e) = errors.iter().find(|e| e["kind"] == c.kind) else {
            failures.push(format!(
                "{}: expected {}, got {:?}",
                c.file,
                c.kind,
                kinds(&report)
            ));
            continue;
        };
        // Located: the first error of that kind is on the expected line,
        // in the expected column.
        if e["line"].as_u64() != Some(c.line) {
            failures.push(format!(
                "{}: {} on line {}, expected {}",
                c.file, c.kind, e["line"], c.line
            ));
        }
        match (c.column, e["column"].as_str()) {
            (None, _) => {}
            (Some("-"), None) => {}
            (Some(want), Some(got)) if want == got => {}
            (Some(want), got) => {
                failures.push(format!("{}: column {got:?}, expected {want}", c.file))
            }
        }
        // The text report gives it compiler-style: `file:line: kind`.
        let text = stdout(&csvseal(&["verify", &p], None));
        if !text.contains(&format!("{p}:{}: {}", c.line, c.kind)) {
            failures.push(format!(
                "{}: text report lacks {p}:{}: {}: {text}",
                c.file, c.line, c.kind
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn io_problems_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_string_lossy().into_owned();
    let missing = dir.path().join("nope.csv").to_string_lossy().into_owned();
    for target in [&d, &missing] {
        let out = csvseal(&["verify", "--json", target], None);
        assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v["files"][0]["error"]["kind"], "io");
    }
}

/// Runs `csvseal verify --json FILE` under Python's getrusage to get the
/// child's peak RSS (KiB); returns (exit code, report, peak).
fn verify_measured(file: &Path) -> (Option<i32>, Value, u64) {
    let (out, peak) = csvseal_measured(&["verify".as_ref(), "--json".as_ref(), file.as_os_str()]);
    let report = serde_json::from_str(&stdout(&out)).expect("JSON report");
    (out.status.code(), report, peak)
}

#[test]
fn a_100_mb_field_is_a_limit_error_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge-field.csv");
    let mut data = b"file_seq,x,checksum_sha256\r\n1,".to_vec();
    data.resize(data.len() + 100_000_000, b'a');
    data.extend_from_slice(b",0000\r\n");
    std::fs::write(&path, &data).unwrap();
    drop(data);
    let (code, report, peak) = verify_measured(&path);
    assert_eq!(code, Some(1), "{report}");
    assert!(kinds(&report).contains(&"limit".to_owned()), "{report}");
    assert!(peak < PEAK_RSS_LIMIT_KIB, "peak RSS {peak} KiB");
}

#[test]
fn a_million_columns_is_a_limit_error_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    // A header of 1,000,000 columns, and a normal header whose data row has
    // 1,000,000 fields.
    let wide: Vec<String> = (0..1_000_000).map(|i| format!("c{i}")).collect();
    let header = format!("file_seq,{},checksum_sha256\r\n", wide.join(","));
    let row = format!(
        "file_seq,a,checksum_sha256\r\n1,{}\r\n",
        ",".repeat(999_999)
    );
    for (name, content) in [("wide-header.csv", header), ("wide-row.csv", row)] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let (code, report, peak) = verify_measured(&path);
        assert_eq!(code, Some(1), "{name}: {report}");
        let k = kinds(&report);
        assert!(k.contains(&"limit".to_owned()), "{name}: {k:?}");
        assert!(peak < PEAK_RSS_LIMIT_KIB, "{name}: peak RSS {peak} KiB");
    }
}

/// A FIFO at `path` (a reader that opens it blocking waits forever).
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

#[test]
fn a_planted_state_file_neither_blinds_nor_stalls_audit() {
    let dir = tempfile::tempdir().unwrap();
    write_ok(dir.path(), "trades", TRADES, &[]);
    let d = dir.path().to_str().unwrap();
    let state = dir.path().join(".csvseal-audit-state.json");
    let big = dir.path().join("big-state.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(65 << 20)
        .unwrap();
    // What anyone who can create a file in DIR could plant there: a link to
    // an endless device, a FIFO, a link to a huge file, a huge file.
    type Plant = Box<dyn Fn(&Path)>;
    let plants: [(&str, Plant); 4] = [
        (
            "symlink",
            Box::new(|p| std::os::unix::fs::symlink("/dev/zero", p).unwrap()),
        ),
        ("not a regular file", Box::new(mkfifo)),
        (
            "symlink",
            Box::new(|p| std::os::unix::fs::symlink("big-state.json", p).unwrap()),
        ),
        (
            "larger than",
            Box::new(|p| std::fs::File::create(p).unwrap().set_len(65 << 20).unwrap()),
        ),
    ];
    for (why, plant) in plants {
        let _ = std::fs::remove_file(&state);
        plant(&state);
        let out = csvseal_within(&["audit", "--dir", d, "--json"], 60)
            .unwrap_or_else(|| panic!("audit hung on a planted state file ({why})"));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{why}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let warnings = doc["warnings"].to_string();
        assert!(
            warnings.contains(why) && warnings.contains("every file is verified again"),
            "{why}: {warnings}"
        );
        // Every file was verified from a fresh state, which replaced the plant.
        assert_eq!(doc["verified"].as_u64(), Some(1), "{why}: {doc:#}");
        let kind = std::fs::symlink_metadata(&state).unwrap();
        assert!(
            kind.is_file() && kind.len() < 1 << 20,
            "{why}: the plant was kept"
        );
    }
}

#[test]
fn schema_and_component_files_must_be_regular_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let sealed = write_ok(dir.path(), "trades", TRADES, &[]);
    let fifo = dir.path().join("fifo");
    mkfifo(&fifo);
    let zero_link = dir.path().join("zero.json");
    std::os::unix::fs::symlink("/dev/zero", &zero_link).unwrap();
    let huge = dir.path().join("huge.wasm");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(129 << 20)
        .unwrap();
    let (fifo, zero_link, huge) = (
        fifo.to_str().unwrap(),
        zero_link.to_str().unwrap(),
        huge.to_str().unwrap(),
    );
    let cases: [(&[&str], &str); 7] = [
        (
            &["verify", &sealed, "--schema", "/dev/zero"],
            "not a regular file",
        ),
        (
            &["verify", &sealed, "--schema", zero_link],
            "not a regular file",
        ),
        (&["verify", &sealed, "--schema", fifo], "not a regular file"),
        (
            &["verify", &sealed, "--component", "/dev/zero"],
            "not a regular file",
        ),
        (
            &["verify", &sealed, "--component", zero_link],
            "not a regular file",
        ),
        (
            &["verify", &sealed, "--component", fifo],
            "not a regular file",
        ),
        (
            &["verify", &sealed, "--component", huge],
            "larger than 134217728 bytes",
        ),
    ];
    for (args, why) in cases {
        let out = csvseal_within(args, 60).unwrap_or_else(|| panic!("{args:?} hung"));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(why), "{args:?}: {}", stderr(&out));
    }
}
