//! `csvseal salvage`, end to end: the longest valid prefix, re-committed.

mod common;

use common::*;
use serde_json::Value;
use tempfile::TempDir;

/// Rows with quoted fields spanning lines, so physical lines ≠ records.
fn multiline_input(rows: usize) -> String {
    let mut s = String::from("id,note\n");
    for i in 0..rows {
        s += &format!("{i},\"line one of {i}\nline two, with comma\"\n");
    }
    s
}

fn salvage(file: &str, out: &std::path::Path) -> (i32, Value) {
    let o = csvseal(
        &["salvage", "--json", file, "--out", out.to_str().unwrap()],
        None,
    );
    let doc = serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", stdout(&o)));
    (o.status.code().unwrap(), doc)
}

#[test]
fn a_torn_tail_is_cut_and_the_prefix_recommitted() {
    let dir = TempDir::new().unwrap();
    let out = TempDir::new().unwrap();
    let path = write_ok(dir.path(), "s", &multiline_input(10), &[]);
    let full = std::fs::read(&path).unwrap();
    // Tear the file inside the last record.
    std::fs::write(&path, &full[..full.len() - 20]).unwrap();
    let (code, doc) = salvage(&path, out.path());
    assert_eq!(code, 0, "{doc:#}");
    let s = &doc["salvaged"];
    assert_eq!(s["rows"], 9);
    assert_eq!(s["last_seq"], 9);
    // The torn record starts on physical line 2 + 9*2 = 20.
    assert_eq!(s["cut_at_line"], 20);
    let new = out.path().join("s_20240910_143000.csv");
    let v = csvseal(&["verify", new.to_str().unwrap()], None);
    assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));
    // The salvaged file is exactly the original's first 9 records.
    let kept = std::fs::read(&new).unwrap();
    assert!(full.starts_with(&kept));
    assert_eq!(listing(out.path()), ["s_20240910_143000.csv"]);
}

#[test]
fn a_bad_row_in_the_middle_loses_it_and_everything_after() {
    let dir = TempDir::new().unwrap();
    let out = TempDir::new().unwrap();
    let path = write_ok(dir.path(), "s", &multiline_input(10), &[]);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("line one of 4", "line one of X", 1)).unwrap();
    let (code, doc) = salvage(&path, out.path());
    assert_eq!(code, 0, "{doc:#}");
    let s = &doc["salvaged"];
    assert_eq!(s["rows"], 4);
    assert_eq!(s["last_seq"], 4);
    assert_eq!(s["lost_seqs"], serde_json::json!([5, 10]));
    // The original is untouched.
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("line one of X")
    );
}

#[test]
fn a_broken_header_salvages_nothing() {
    let dir = TempDir::new().unwrap();
    let out = TempDir::new().unwrap();
    let path = put(dir.path(), "x_20240910_143000.csv", b"a,b\n1,2\n");
    let (code, doc) = salvage(&path, out.path());
    assert_eq!(code, 1, "{doc:#}");
    assert_eq!(doc["error"]["kind"], "source-invalid");
    assert!(listing(out.path()).is_empty());
}
