//! Input the way users have it: other delimiters and quotes, no header
//! line, other encodings. Each must seal to the very bytes the equivalent
//! UTF-8 comma CSV seals to; inputs that would be sealed reshaped, and bytes
//! not valid in the named encoding, are refused with a located error.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;
use tempfile::TempDir;

const HEADER: [&str; 5] = ["timestamp", "trade_id", "desk", "note", "profit_loss"];

/// Rows whose values hold every byte a dialect cares about.
fn rows(with_euro: bool) -> Vec<Vec<String>> {
    let euro = if with_euro { "€ 5 fee" } else { "5 EUR fee" };
    let data: Vec<[&str; 5]> = vec![
        ["2024-09-10T14:30:00Z", "T1", "Zürich", "plain", "25.0"],
        [
            "2024-09-10T14:31:00Z",
            "T2",
            "Paris",
            "semi;colon, comma",
            "-12.5",
        ],
        ["2024-09-10T14:32:00Z", "T3", "Köln", "pipe|and\ttab", "0"],
        [
            "2024-09-10T14:33:00Z",
            "T4",
            "Wien",
            "quote \" and ' apostrophe",
            "1e3",
        ],
        ["2024-09-10T14:34:00Z", "T5", "Genève", "multi\nline", "7"],
        ["2024-09-10T14:35:00Z", "T6", "Madrid", euro, ""],
    ];
    data.into_iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect()
}

/// `rows` as CSV with this delimiter and quote, quoting where needed.
fn csv_text(rows: &[Vec<String>], header: bool, delimiter: char, quote: char) -> String {
    let mut out = String::new();
    let head: Vec<String> = HEADER.iter().map(|s| s.to_string()).collect();
    for row in header.then_some(&head).into_iter().chain(rows) {
        let fields: Vec<String> = row
            .iter()
            .map(|f| {
                if f.contains([delimiter, quote, '\r', '\n']) {
                    let q = quote.to_string();
                    format!("{quote}{}{quote}", f.replace(&q, &format!("{q}{q}")))
                } else {
                    f.clone()
                }
            })
            .collect();
        out += &fields.join(&delimiter.to_string());
        out += "\r\n";
    }
    out
}

fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
    std::iter::once(0xFEFF)
        .chain(text.encode_utf16())
        .flat_map(|u| {
            if little_endian {
                u.to_le_bytes()
            } else {
                u.to_be_bytes()
            }
        })
        .collect()
}

/// Windows-1252 (and, without `€`, Latin-1) bytes of `text`.
fn single_byte(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '€' => 0x80,
            c if (c as u32) < 0x100 => c as u8,
            c => panic!("{c:?} is not in Windows-1252 here"),
        })
        .collect()
}

/// Seals `input` (a file) with `args` into a fresh directory; returns the
/// sealed bytes.
fn seal(work: &Path, input: &[u8], args: &[&str]) -> Vec<u8> {
    let out = TempDir::new_in(work).unwrap();
    let input_path = put(work, "input.bin", input);
    let dir = out.path().to_str().unwrap();
    let mut all = vec![
        "write",
        "--dir",
        dir,
        "--name",
        "trades",
        "--timestamp",
        "2024-09-10T14:30:00Z",
        "--input",
        &input_path,
    ];
    all.extend_from_slice(args);
    let o = csvseal(&all, None);
    assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
    std::fs::read(stdout(&o).trim_end()).unwrap()
}

#[test]
fn every_dialect_and_encoding_seals_like_the_utf8_comma_csv() {
    let work = TempDir::new().unwrap();
    let w = work.path();
    let rows = rows(true);
    let comma = csv_text(&rows, true, ',', '"');
    let want = seal(w, comma.as_bytes(), &[]);
    assert!(String::from_utf8_lossy(&want).contains("€ 5 fee"));

    let semi = csv_text(&rows, true, ';', '"');
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        (
            "semicolon",
            semi.clone().into_bytes(),
            vec!["--delimiter", ";"],
        ),
        (
            "tab",
            csv_text(&rows, true, '\t', '"').into_bytes(),
            vec!["--delimiter", "tab"],
        ),
        (
            "pipe, quoted with '",
            csv_text(&rows, true, '|', '\'').into_bytes(),
            vec!["--delimiter", "|", "--quote", "'"],
        ),
        (
            "windows-1252, semicolons",
            single_byte(&semi),
            vec!["--delimiter", ";", "--encoding", "windows-1252"],
        ),
        (
            "utf-16le with BOM",
            utf16(&comma, true),
            vec!["--encoding", "utf-16"],
        ),
        (
            "utf-16be with BOM",
            utf16(&comma, false),
            vec!["--encoding", "utf-16"],
        ),
        (
            "utf-8 with BOM",
            [&[0xEF, 0xBB, 0xBF][..], comma.as_bytes()].concat(),
            vec![],
        ),
    ];
    for (what, input, args) in cases {
        assert!(seal(w, &input, &args) == want, "{what} sealed differently");
    }
}

#[test]
fn latin_1_seals_like_utf8() {
    let work = TempDir::new().unwrap();
    let w = work.path();
    let text = csv_text(&rows(false), true, ',', '"');
    let want = seal(w, text.as_bytes(), &[]);
    assert!(seal(w, &single_byte(&text), &["--encoding", "latin-1"]) == want);
}

#[test]
fn a_headerless_file_takes_columns_or_the_schema_order() {
    let work = TempDir::new().unwrap();
    let w = work.path();
    let rows = rows(true);
    let want = seal(w, csv_text(&rows, true, ',', '"').as_bytes(), &[]);
    let headerless = csv_text(&rows, false, ',', '"');
    let columns = HEADER.join(",");
    assert!(
        seal(
            w,
            headerless.as_bytes(),
            &["--no-header", "--columns", &columns]
        ) == want
    );
    let fields: Vec<String> = HEADER
        .iter()
        .map(|n| format!("{{\"name\":\"{n}\"}}"))
        .collect();
    let schema = put(
        w,
        "schema.json",
        format!("{{\"fields\":[{}]}}", fields.join(",")).as_bytes(),
    );
    assert!(
        seal(
            w,
            headerless.as_bytes(),
            &["--no-header", "--schema", &schema]
        ) == want
    );
    // Tab-separated and headerless together.
    let tabs = csv_text(&rows, false, '\t', '"');
    assert!(
        seal(
            w,
            tabs.as_bytes(),
            &["--no-header", "--columns", &columns, "--delimiter", "tab"]
        ) == want
    );
}

/// Runs a write of `input` that must fail; returns (exit code, stderr).
fn refused(input: &[u8], args: &[&str]) -> (i32, String) {
    let dir = TempDir::new().unwrap();
    let input_path = put(dir.path(), "in.csv", input);
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut all = vec![
        "write",
        "--dir",
        out.to_str().unwrap(),
        "--name",
        "t",
        "--input",
        &input_path,
    ];
    all.extend_from_slice(args);
    let o = csvseal(&all, None);
    assert!(listing(&out).is_empty(), "something was written");
    (o.status.code().unwrap(), stderr(&o))
}

#[test]
fn a_one_column_header_holding_a_delimiter_is_refused() {
    for (input, option) in [
        (&b"a;b\n1;2\n"[..], "--delimiter ';'"),
        (b"a\tb\n1\t2\n", "--delimiter tab"),
        (b"a|b\n1|2\n", "--delimiter '|'"),
    ] {
        let (code, err) = refused(input, &[]);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(":1: bad-header"), "{err}");
        assert!(err.contains(option), "{option}: {err}");
    }
    // Chosen explicitly, the delimiter is the user's: one column, sealed.
    let dir = TempDir::new().unwrap();
    let path = write_ok(dir.path(), "one", "a;b\n1;2\n", &["--delimiter", ","]);
    let sealed = std::fs::read_to_string(path).unwrap();
    assert!(sealed.starts_with("file_seq,a;b,checksum_sha256\r\n1,1;2,"));
}

#[test]
fn a_header_repeated_as_the_first_row_is_refused() {
    let (code, err) = refused(b"a,b\na,b\n1,2\n", &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains(":2: bad-header") && err.contains("double header"),
        "{err}"
    );
    let (code, err) = refused(b"a,b\n1,2\n", &["--no-header", "--columns", "a,b"]);
    assert_eq!(code, 1);
    assert!(err.contains("has a header line"), "{err}");
}

#[test]
fn a_byte_not_valid_in_the_encoding_is_a_located_error() {
    let (code, err) = refused(b"a,b\nc,d\nx\x81y,z\n", &["--encoding", "windows-1252"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("in.csv:3: encoding: 0x81 at byte offset 9 is not valid windows-1252"),
        "{err}"
    );
    // A lone surrogate in UTF-16, as JSON.
    let mut bad = utf16("a,b\n1,", true);
    let offset = bad.len();
    bad.extend(0xDC00u16.to_le_bytes());
    bad.extend(utf16("\n", true).split_off(2));
    let dir = TempDir::new().unwrap();
    let input = put(dir.path(), "in.csv", &bad);
    let o = csvseal(
        &[
            "write",
            "--dir",
            dir.path().to_str().unwrap(),
            "--name",
            "t",
            "--input",
            &input,
            "--encoding",
            "utf-16",
            "--json",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    let e = &doc["error"]["errors"][0];
    assert_eq!(e["kind"], "encoding");
    assert_eq!(e["line"], 2);
    let message = e["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("byte offset {offset} is not valid utf-16")),
        "{message}"
    );
    // Without a byte-order mark, utf-16 cannot know the byte order.
    let (code, err) = refused(b"a\0,\0b\0\n\0", &["--encoding", "utf-16"]);
    assert_eq!(code, 1);
    assert!(err.contains("utf-16le or utf-16be"), "{err}");
}

#[test]
fn a_large_utf16_input_on_stdin_seals_like_utf8() {
    // Several MiB through a pipe: reads and blocks split characters anywhere.
    let mut text = String::from("id,text\n");
    for i in 0..60_000 {
        text += &format!("{i},\"😀 row {i}; ü € 取引\"\n");
    }
    let dir = TempDir::new().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    std::fs::create_dir(&a).unwrap();
    std::fs::create_dir(&b).unwrap();
    let plain = write_ok(&a, "t", &text, &[]);
    let o = csvseal(
        &[
            "write",
            "--dir",
            b.to_str().unwrap(),
            "--name",
            "t",
            "--timestamp",
            "2024-09-10T14:30:00Z",
            "--encoding",
            "utf-16le",
        ],
        Some(&utf16(&text, true)),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let transcoded = stdout(&o).trim_end().to_owned();
    assert!(std::fs::read(plain).unwrap() == std::fs::read(transcoded).unwrap());
}

#[test]
fn dialect_options_are_checked() {
    for (args, needle) in [
        (&["--delimiter", "§"][..], "one ASCII character"),
        (&["--delimiter", "\"", "--quote", "\""], "both"),
        (&["--columns", "a,b"], "add --no-header"),
        (&["--no-header"], "no header line"),
        (
            &["--format", "jsonl", "--delimiter", ";"],
            "not --format jsonl",
        ),
        (&["--encoding", "ebcdic"], "unknown encoding"),
    ] {
        let (code, err) = refused(b"a,b\n1,2\n", args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn a_failure_is_one_line_unless_logs_are_asked_for() {
    let dir = TempDir::new().unwrap();
    let d = dir.path().to_str().unwrap();
    write_ok(dir.path(), "t", TRADES, &[]);
    let again = |extra: &[&str]| {
        let mut args = extra.to_vec();
        args.extend([
            "write",
            "--dir",
            d,
            "--name",
            "t",
            "--timestamp",
            "2024-09-10T14:30:00Z",
        ]);
        let o = csvseal(&args, Some(TRADES.as_bytes()));
        assert_eq!(o.status.code(), Some(3));
        stderr(&o)
    };
    // Default: the human line alone, with its hint.
    let err = again(&[]);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("csvseal: error: "), "{err}");
    assert!(lines[0].contains("(hint: pass --replace"), "{err}");
    // -v: the structured log line too, once.
    let err = again(&["-v"]);
    assert_eq!(
        err.lines().filter(|l| l.contains("write failed")).count(),
        1,
        "{err}"
    );
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("csvseal: error: "))
            .count(),
        1
    );
    // --log-format json: one JSON log line and the human line.
    let err = again(&["--log-format", "json"]);
    let json: Vec<Value> = err
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(json.len(), 1, "{err}");
    assert_eq!(json[0]["kind"], "target-exists");
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("csvseal: error: "))
            .count(),
        1
    );
    // An invalid file in verify: its report, no log line by default.
    let bad = put(
        dir.path(),
        "bad.csv",
        b"file_seq,checksum_sha256\r\n1,00\r\n",
    );
    let o = csvseal(&["verify", &bad], None);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o), "", "verify logged by default");
}
