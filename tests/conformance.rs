//! The conformance suite through the CLI: for every case in
//! `tests/conformance/cases/`, `csvseal verify --json` must give, in
//! canonical form, exactly the bytes of the case's `expected.json`.
//!
//! `CSVSEAL_CONFORMANCE_REGENERATE=1` rewrites the expected files from the
//! CLI instead (then review the diff by eye: the expected files are the spec).
//! See tests/conformance/README.md.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use csvseal::canonical_json::canonical_json;
use serde_json::Value;

const REGENERATE: &str = "CSVSEAL_CONFORMANCE_REGENERATE";

/// Every error kind docs/file-format.md documents; the suite must show each one.
const KINDS: [&str; 12] = [
    "malformed",
    "encoding",
    "bad-header",
    "missing-column",
    "checksum-mismatch",
    "sequence-violation",
    "schema",
    "torn-row",
    "limit",
    "signature-missing",
    "signature-invalid",
    "unknown-key",
];

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/cases");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 40,
        "only {} cases in {}",
        dirs.len(),
        root.display()
    );
    dirs
}

/// The CLI arguments a case's files call for.
fn verify_args(case: &Path) -> Vec<String> {
    let mut args = vec!["verify".to_owned(), "--json".to_owned()];
    for entry in std::fs::read_dir(case).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            [
                "input.csv",
                "schema.json",
                "options.json",
                "expected.json",
                "input.csv.minisig",
                "keys.pub"
            ]
            .contains(&name.as_str()),
            "{}: unexpected file {name}",
            case.display()
        );
    }
    let schema = case.join("schema.json");
    if schema.exists() {
        args.extend(["--schema".to_owned(), schema.display().to_string()]);
    }
    let options = case.join("options.json");
    if options.exists() {
        let text = std::fs::read_to_string(&options).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        for (key, value) in v.as_object().expect("options.json is an object") {
            let flag = match key.as_str() {
                "max_errors" => "--max-errors",
                "max_record_mib" => "--max-record-mib",
                other => panic!("{}: unknown option {other:?}", options.display()),
            };
            let n = value.as_u64().expect("options are non-negative integers");
            args.extend([flag.to_owned(), n.to_string()]);
        }
    }
    let keys = case.join("keys.pub");
    if keys.exists() {
        args.extend(["--key".to_owned(), keys.display().to_string()]);
    }
    args.push(case.join("input.csv").display().to_string());
    args
}

/// The canonical report the CLI gives for a case, and whether it exited as
/// the report says it should (0 valid, 1 invalid).
fn cli_report(case: &Path) -> String {
    let args = verify_args(case);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::csvseal(&argv, None);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: stdout is not JSON ({e}); stderr: {}",
            case.display(),
            common::stderr(&out)
        )
    });
    let mut file = doc["files"][0].clone();
    assert!(
        file.get("error").is_none(),
        "{}: the verification could not be done; a case must give a report: {file}",
        case.display()
    );
    file.as_object_mut().unwrap().remove("path");
    let valid = file["valid"].as_bool().expect("valid is a bool");
    assert_eq!(
        out.status.code(),
        Some(if valid { 0 } else { 1 }),
        "{}: exit code",
        case.display()
    );
    canonical_json(&file)
}

#[test]
fn every_case_gives_its_expected_report() {
    let regenerate = std::env::var_os(REGENERATE).is_some();
    let mut failures = Vec::new();
    let mut kinds_seen = BTreeSet::new();
    let mut saw = (false, false, false, false); // valid, gaps, truncated, warnings
    for case in cases() {
        let got = cli_report(&case);
        let expected_path = case.join("expected.json");
        if regenerate {
            std::fs::write(&expected_path, &got).unwrap();
        } else {
            match std::fs::read(&expected_path) {
                Ok(expected) if expected == got.as_bytes() => {}
                Ok(expected) => failures.push(format!(
                    "{}:\n  expected {}  got      {}",
                    case.display(),
                    String::from_utf8_lossy(&expected),
                    got
                )),
                Err(e) => failures.push(format!("{}: {e}", expected_path.display())),
            }
        }
        let v: Value = serde_json::from_str(&got).unwrap();
        for e in v["errors"].as_array().unwrap() {
            kinds_seen.insert(e["kind"].as_str().unwrap().to_owned());
        }
        saw.0 |= v["valid"] == true;
        saw.1 |= v["gap_count"].as_u64() > Some(0);
        saw.2 |= v["errors_truncated"] == true;
        saw.3 |= !v["warnings"].as_array().unwrap().is_empty();
    }
    assert!(
        failures.is_empty(),
        "{} case(s) differ (rerun with {REGENERATE}=1 to rewrite, then review):\n{}",
        failures.len(),
        failures.join("\n")
    );
    let missing: Vec<_> = KINDS.iter().filter(|k| !kinds_seen.contains(**k)).collect();
    assert!(missing.is_empty(), "no case shows the kinds {missing:?}");
    assert_eq!(
        saw,
        (true, true, true, true),
        "valid, gaps, truncation, warnings all shown"
    );
}

#[test]
fn canonical_form_of_the_library_report_matches_the_cli() {
    // The library's own rendering (used by the Python package) agrees with
    // the CLI's JSON on a case with gaps, errors and unicode.
    let sandbox = csvseal::Sandbox::builtin(csvseal::Limits::default()).unwrap();
    for name in ["valid-gaps", "mixed-errors", "valid-unicode", "empty"] {
        let case = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/conformance/cases")
            .join(name);
        let report = csvseal::verify_file(&sandbox, None, &case.join("input.csv")).unwrap();
        assert_eq!(report.to_canonical_json(), cli_report(&case), "{name}");
    }
}
