//! `verify` and files in another dialect: a sealed file is the policy's
//! `,`-delimited UTF-8 CSV, so a `;` file gets one error naming
//! `--delimiter` (never the whole header as a column label), and
//! `verify --delimiter ';'` explains why it cannot be given.

mod common;

use common::*;
use tempfile::TempDir;

const TRADES: &str = "date,item,qty,price\n2024-09-10,bolt,3,0.25\n2024-09-10,nut,10,0.05\n";

/// A sealed file whose `,` all became `;`, as a spreadsheet re-export does.
fn semicolon_copy(dir: &TempDir) -> String {
    let sealed = write_ok(dir.path(), "t", TRADES, &[]);
    let text = std::fs::read_to_string(&sealed).unwrap().replace(',', ";");
    put(dir.path(), "semicolon.csv", text.as_bytes())
}

#[test]
fn a_semicolon_file_gets_one_error_naming_the_delimiter() {
    let dir = TempDir::new().unwrap();
    let file = semicolon_copy(&dir);
    let out = csvseal(&["verify", &file], None);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let human = format!("{}{}", stdout(&out), stderr(&out));
    assert!(human.contains("--delimiter ';'"), "{human}");
    assert!(
        !human.contains("[file_seq;"),
        "a header printed as a column: {human}"
    );
    assert!(!human.contains("missing-column"), "{human}");

    let out = csvseal(&["verify", "--json", &file], None);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let errors = report["files"][0]["errors"].as_array().unwrap().clone();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["kind"], "bad-header");
    assert_eq!(errors[0]["line"], 1);
    assert!(errors[0]["column"].is_null(), "{errors:?}");
}

#[test]
fn another_dialect_is_refused_with_the_reason_and_the_policys_is_accepted() {
    let dir = TempDir::new().unwrap();
    let file = semicolon_copy(&dir);
    for (args, names) in [
        (vec!["--delimiter", ";"], "--delimiter ';'"),
        (vec!["--delimiter", "tab"], "--delimiter tab"),
        (vec!["--quote", "'"], "--quote '''"),
        (
            vec!["--encoding", "windows-1252"],
            "--encoding windows-1252",
        ),
    ] {
        let mut all = vec!["verify"];
        all.extend(&args);
        all.push(&file);
        let out = csvseal(&all, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let e = stderr(&out);
        assert!(e.contains(names), "{e}");
        assert!(e.contains("policy") && e.contains("csvseal write"), "{e}");
    }
    let good = write_ok(dir.path(), "good", TRADES, &[]);
    let out = csvseal(
        &[
            "verify",
            "--delimiter",
            ",",
            "--quote",
            "\"",
            "--encoding",
            "utf-8",
            &good,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
