//! Text from a file never reaches the terminal raw: hostile column names,
//! values and file names go through every command's human output, and not
//! one control byte comes out (only newline and tab), nor a C1 control or
//! a bidirectional override. JSON output keeps them escaped too.

mod common;

use std::path::Path;

use common::{csvseal, stderr, stdout};
use tempfile::TempDir;

/// Retitles the window, clears the screen, starts a C1 CSI, reverses the line.
const EVIL: &str = "\x1b]0;PWNED\x07\x1b[2J\r\u{9b}31m\u{202e}x";

/// The raw bytes a terminal would act on, if any.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| {
            (c.is_control() && c != '\n' && c != '\t')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

/// A command's name, its arguments, its standard input.
type Run<'a> = (&'a str, Vec<&'a str>, Option<&'a [u8]>);

fn assert_clean(what: &str, out: &std::process::Output) {
    for (stream, text) in [("stdout", stdout(out)), ("stderr", stderr(out))] {
        let raw = raw_controls(&text);
        assert!(raw.is_empty(), "{what}: raw {raw:?} on {stream}:\n{text}");
    }
}

/// A sealed file whose header and values carry `EVIL`, written by csvseal
/// itself (JSON Lines input, so any bytes are fine).
fn sealed_evil(dir: &Path) -> String {
    let row = serde_json::json!({ "ts": "2024-09-10T14:30:00Z", EVIL: EVIL, "n": EVIL });
    let input = format!("{row}\n{row}\n");
    let out = csvseal(
        &[
            "write",
            "--dir",
            dir.to_str().unwrap(),
            "--name",
            "evil",
            "--timestamp",
            "2024-09-10T14:30:00Z",
            "--format",
            "jsonl",
        ],
        Some(input.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_clean("write", &out);
    stdout(&out).trim_end().to_owned()
}

#[test]
fn no_command_prints_control_bytes_from_a_file() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let d = dir.to_str().unwrap();
    let sealed = sealed_evil(dir);
    let text = std::fs::read_to_string(&sealed).unwrap();
    assert!(text.contains(EVIL), "the file keeps the value exactly");

    // A damaged copy under a hostile name: messages, columns and names all
    // reach the output.
    let evil_name = dir.join(format!("{EVIL}_20240910_143000.csv"));
    std::fs::write(&evil_name, text.replacen("PWNED", "PWNEX", 2)).unwrap();
    let evil_path = evil_name.to_str().unwrap();
    // A file whose header repeats a hostile column name.
    let dup = dir.join("dup_20240910_143000.csv");
    std::fs::write(
        &dup,
        format!("file_seq,\"{EVIL}\",\"{EVIL}\",checksum_sha256\n"),
    )
    .unwrap();
    let dup = dup.to_str().unwrap();
    // A stale temp with a hostile name, for recover and audit.
    std::fs::write(dir.join(format!("{EVIL}.csv.tmp")), b"torn").unwrap();
    let backups = dir.join("bk");
    let rescued = dir.join("rescued");

    let rejected = format!("ts,{EVIL},{EVIL}\n1,2,3\n");
    let runs: Vec<Run> = vec![
        ("verify", vec!["verify", &sealed, evil_path, dup], None),
        (
            "verify -v",
            vec!["-vv", "verify", &sealed, evil_path, dup],
            None,
        ),
        ("inspect", vec!["inspect", &sealed], None),
        ("inspect (damaged)", vec!["inspect", evil_path], None),
        ("inspect (bad header)", vec!["inspect", dup], None),
        ("usage error", vec!["inspect", &sealed, evil_path], None),
        ("series", vec!["verify", "--series", d, EVIL], None),
        ("audit", vec!["audit", "--dir", d], None),
        (
            "backup",
            vec![
                "backup",
                "--backup-dir",
                backups.to_str().unwrap(),
                &sealed,
                evil_path,
            ],
            None,
        ),
        (
            "salvage",
            vec!["salvage", evil_path, "--out", rescued.to_str().unwrap()],
            None,
        ),
        ("recover", vec!["recover", "--dir", d, "--dry-run"], None),
        (
            "write (rejected)",
            vec!["write", "--dir", d, "--name", "w"],
            Some(rejected.as_bytes()),
        ),
    ];
    for (what, args, input) in runs {
        let out = csvseal(&args, input);
        assert_clean(what, &out);
        // JSON output: the same text, escaped, and still the exact value.
        if what != "verify -v" {
            let mut json_args = args.clone();
            json_args.push("--json");
            let out = csvseal(&json_args, input);
            assert_clean(&format!("{what} --json"), &out);
        }
    }

    // Not vacuous: the hostile text is there, escaped.
    let out = csvseal(&["inspect", &sealed], None);
    assert!(
        stdout(&out).contains("\\x1b]0;PWNED\\x07"),
        "{}",
        stdout(&out)
    );
    let out = csvseal(&["verify", dup, "--json"], None);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc.to_string().contains("PWNED"), "{doc}");
}
