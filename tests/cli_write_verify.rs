//! `csvseal write` and `csvseal verify`, end to end through the binary.

mod common;

use common::*;
use serde_json::Value;
use tempfile::TempDir;

const POLICY_EXAMPLE_CHECKSUM: &str =
    "184da472a00855017d3d45a6e735d74b4b4712b97283c2635c606790ff832cc8";

#[test]
fn write_prints_only_the_path_and_the_file_verifies() {
    let dir = TempDir::new().unwrap();
    let out = csvseal(
        &[
            "write",
            "--dir",
            dir.path().to_str().unwrap(),
            "--name",
            "trade_results",
            "--timestamp",
            "2024-09-10T16:30:00+02:00",
        ],
        Some(TRADES.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let expected = dir.path().join("trade_results_20240910_143000.csv");
    assert_eq!(stdout(&out), format!("{}\n", expected.display()));
    assert_eq!(listing(dir.path()), ["trade_results_20240910_143000.csv"]);

    let content = std::fs::read_to_string(&expected).unwrap();
    let mut rows = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(content.as_bytes());
    let row = |r: csv::StringRecord| r.iter().map(String::from).collect::<Vec<_>>();
    let mut records = rows.records().map(|r| row(r.unwrap()));
    assert_eq!(
        records.next().unwrap(),
        [
            "file_seq",
            "timestamp",
            "trade_id",
            "symbol",
            "profit_loss",
            "checksum_sha256"
        ]
    );
    assert_eq!(
        records.next().unwrap(),
        [
            "1",
            "2024-09-10T14:30:00Z",
            "TRADE_20240910_001",
            "EURUSD",
            "25.0",
            POLICY_EXAMPLE_CHECKSUM
        ]
    );
    assert_eq!(records.count(), 2);
    assert!(content.ends_with("\r\n") && !content.replace("\r\n", "").contains('\n'));

    let v = csvseal(&["verify", expected.to_str().unwrap()], None);
    assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));
    assert!(
        stdout(&v).contains("OK: 3 rows, file_seq 1..3"),
        "{}",
        stdout(&v)
    );
}

#[test]
fn verify_json_reports_every_field() {
    let dir = TempDir::new().unwrap();
    let path = write_ok(dir.path(), "t", TRADES, &["--start-seq", "41"]);
    let v = csvseal(&["verify", "--json", &path], None);
    assert_eq!(v.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(doc["valid"], true);
    let f = &doc["files"][0];
    assert_eq!(f["path"], path.as_str());
    assert_eq!(f["rows"], 3);
    assert_eq!(f["first_seq"], 41);
    assert_eq!(f["last_seq"], 43);
    assert_eq!(f["errors"], serde_json::json!([]));
    assert_eq!(f["errors_truncated"], false);
}

/// Replaces the first occurrence of `from` in the file.
fn tamper(path: &str, from: &str, to: &str) {
    let s = std::fs::read_to_string(path).unwrap();
    assert!(s.contains(from), "{from:?} not in file");
    std::fs::write(path, s.replacen(from, to, 1)).unwrap();
}

fn verify_json(path: &str, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["verify", "--json"];
    args.extend_from_slice(extra);
    args.push(path);
    let v = csvseal(&args, None);
    let doc: Value = serde_json::from_slice(&v.stdout)
        .unwrap_or_else(|e| panic!("bad json ({e}): {}", stdout(&v)));
    (v.status.code().unwrap(), doc)
}

fn first_error(doc: &Value) -> &Value {
    &doc["files"][0]["errors"][0]
}

#[test]
fn a_changed_value_is_a_checksum_mismatch_with_line_and_seq() {
    let dir = TempDir::new().unwrap();
    let path = write_ok(dir.path(), "t", TRADES, &[]);
    tamper(&path, "-12.5", "-12.6");
    let (code, doc) = verify_json(&path, &[]);
    assert_eq!(code, 1);
    let e = first_error(&doc);
    assert_eq!(e["kind"], "checksum-mismatch");
    assert_eq!(e["line"], 3);
    assert_eq!(e["seq"], 2);
    assert_eq!(doc["files"][0]["error_count"], 1);

    // Text mode names file and line too.
    let v = csvseal(&["verify", &path], None);
    assert_eq!(v.status.code(), Some(1));
    assert!(
        stdout(&v).contains(&format!("{path}:3: checksum-mismatch (seq 2)")),
        "{}",
        stdout(&v)
    );
}

#[test]
fn a_truncated_file_is_a_torn_row() {
    let dir = TempDir::new().unwrap();
    let path = write_ok(dir.path(), "t", TRADES, &[]);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let (code, doc) = verify_json(&path, &[]);
    assert_eq!(code, 1);
    let kinds: Vec<&str> = doc["files"][0]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"torn-row"), "{kinds:?}");
}

#[test]
fn sequence_must_strictly_increase_and_gaps_are_warnings() {
    let dir = TempDir::new().unwrap();
    // Seal rows 1..3, then seal a second file whose rows we splice in to
    // make seqs 1,2,3,7 (a gap) and 1,2,3,2 (a violation), each row with a
    // correct checksum so only the sequence is wrong.
    let a = write_ok(dir.path(), "a", TRADES, &[]);
    let b = write_ok(dir.path(), "b", TRADES, &["--start-seq", "6"]);
    let a_text = std::fs::read_to_string(&a).unwrap();
    let b_text = std::fs::read_to_string(&b).unwrap();
    let b_rows: Vec<&str> = b_text.split_inclusive("\r\n").skip(1).collect();

    let gap = dir.path().join("gap.csv");
    std::fs::write(&gap, format!("{a_text}{}", b_rows[1])).unwrap();
    let (code, doc) = verify_json(gap.to_str().unwrap(), &[]);
    assert_eq!(code, 0, "a gap alone is not an error: {doc}");
    assert_eq!(doc["files"][0]["gap_count"], 1);
    assert_eq!(doc["files"][0]["gaps"][0]["after"], 3);
    assert_eq!(doc["files"][0]["gaps"][0]["next"], 7);
    assert_eq!(doc["files"][0]["gaps"][0]["line"], 5);

    let a_rows: Vec<&str> = a_text.split_inclusive("\r\n").collect();
    let back = dir.path().join("back.csv");
    std::fs::write(&back, format!("{a_text}{}", a_rows[2])).unwrap();
    let (code, doc) = verify_json(back.to_str().unwrap(), &[]);
    assert_eq!(code, 1);
    let e = first_error(&doc);
    assert_eq!(e["kind"], "sequence-violation");
    assert_eq!(e["line"], 5);
    assert_eq!(e["seq"], 2);
}

#[test]
fn missing_metadata_columns_are_reported() {
    let dir = TempDir::new().unwrap();
    let plain = put(dir.path(), "plain.csv", TRADES.as_bytes());
    let (code, doc) = verify_json(&plain, &[]);
    assert_eq!(code, 1);
    let errors = doc["files"][0]["errors"].as_array().unwrap();
    let missing: Vec<&str> = errors
        .iter()
        .filter(|e| e["kind"] == "missing-column")
        .map(|e| e["column"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["file_seq", "checksum_sha256"]);
}

#[test]
fn verify_accepts_lf_line_ends() {
    let dir = TempDir::new().unwrap();
    let path = write_ok(dir.path(), "t", TRADES, &[]);
    let lf = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\r\n", "\n");
    let lf_path = put(dir.path(), "lf.csv", lf.as_bytes());
    let (code, doc) = verify_json(&lf_path, &[]);
    assert_eq!(code, 0, "{doc}");
}

#[test]
fn exit_codes_for_many_files_and_io_errors() {
    let dir = TempDir::new().unwrap();
    let good = write_ok(dir.path(), "good", TRADES, &[]);
    let bad = put(
        dir.path(),
        "bad.csv",
        b"file_seq,checksum_sha256\r\n1,00\r\n",
    );
    assert_eq!(
        csvseal(&["verify", &good, &good], None).status.code(),
        Some(0)
    );
    assert_eq!(
        csvseal(&["verify", &good, &bad], None).status.code(),
        Some(1)
    );
    let missing = dir.path().join("nope.csv");
    let out = csvseal(&["verify", &good, missing.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nope.csv"), "{}", stderr(&out));
    assert_eq!(csvseal(&["verify"], None).status.code(), Some(2));
    assert_eq!(csvseal(&["frobnicate"], None).status.code(), Some(2));
}

#[test]
fn input_with_metadata_columns_is_refused() {
    let dir = TempDir::new().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = csvseal(
        &["write", "--dir", d, "--name", "x", "--json"],
        Some(b"file_seq,a\n1,2\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["error"]["kind"], "input-rejected");
    assert_eq!(doc["error"]["errors"][0]["kind"], "bad-header");
    assert!(listing(dir.path()).is_empty(), "nothing may be written");
}

#[test]
fn schema_violations_are_reported_with_line_and_field_and_nothing_is_written() {
    let dir = TempDir::new().unwrap();
    let schema = put(
        dir.path(),
        "schema.json",
        br#"{"fields": [
            {"name": "timestamp", "type": "datetime", "constraints": {"required": true}},
            {"name": "trade_id", "type": "string", "constraints": {"unique": true, "pattern": "TRADE_[0-9]{8}_[0-9]{3}"}},
            {"name": "symbol", "type": "string", "constraints": {"enum": ["EURUSD", "GBPUSD", "USDJPY"]}},
            {"name": "profit_loss", "type": "number", "constraints": {"minimum": -1000, "maximum": 1000}}
        ]}"#,
    );
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let d = out_dir.to_str().unwrap();
    let bad = "timestamp,trade_id,symbol,profit_loss\n\
        2024-09-10T14:30:00Z,TRADE_20240910_001,EURUSD,25.0\n\
        2024-09-10T14:31:00Z,TRADE_20240910_001,XAUUSD,5000\n";
    let out = csvseal(
        &[
            "write", "--dir", d, "--name", "t", "--schema", &schema, "--json",
        ],
        Some(bad.as_bytes()),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = doc["error"]["errors"].as_array().unwrap();
    let cols: Vec<(u64, &str)> = errors
        .iter()
        .map(|e| {
            assert_eq!(e["kind"], "schema");
            (e["line"].as_u64().unwrap(), e["column"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        cols,
        [(3, "trade_id"), (3, "symbol"), (3, "profit_loss")],
        "{errors:?}"
    );
    assert!(listing(&out_dir).is_empty());

    // The same rows without the offending one pass, and verify with the schema.
    let good: String = bad.lines().take(2).map(|l| format!("{l}\n")).collect();
    let path = write_ok(&out_dir, "t", &good, &["--schema", &schema]);
    let v = csvseal(&["verify", "--schema", &schema, &path], None);
    assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));
}

#[test]
fn an_unreadable_schema_is_a_usage_error() {
    let dir = TempDir::new().unwrap();
    let schema = put(
        dir.path(),
        "s.json",
        b"{\"fields\": [{\"name\": \"a\", \"type\": \"bogus\"}]}",
    );
    let d = dir.path().to_str().unwrap();
    let out = csvseal(
        &["write", "--dir", d, "--name", "t", "--schema", &schema],
        Some(b"a\n1\n"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("s.json"), "{}", stderr(&out));
    assert_eq!(listing(dir.path()), ["s.json"]);
}

#[test]
fn an_existing_target_is_never_replaced() {
    let dir = TempDir::new().unwrap();
    let first = write_ok(dir.path(), "t", TRADES, &[]);
    let before = std::fs::read(&first).unwrap();
    let d = dir.path().to_str().unwrap();
    let out = csvseal(
        &[
            "write",
            "--dir",
            d,
            "--name",
            "t",
            "--timestamp",
            "2024-09-10T14:30:00Z",
        ],
        Some(b"a\nother\n"),
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    assert_eq!(std::fs::read(&first).unwrap(), before);
    assert_eq!(listing(dir.path()).len(), 1, "no temp left behind");
}

#[test]
fn unsafe_names_are_refused() {
    let dir = TempDir::new().unwrap();
    let d = dir.path().to_str().unwrap();
    for name in ["../escape", "a/b", "/abs", "..", ""] {
        let out = csvseal(
            &["write", "--dir", d, "--name", name],
            Some(TRADES.as_bytes()),
        );
        assert_eq!(out.status.code(), Some(2), "{name:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("--name"), "{}", stderr(&out));
    }
    assert!(listing(dir.path()).is_empty());
    assert!(!dir.path().parent().unwrap().join("escape_").exists());
}

#[test]
fn jsonl_input_and_file_input() {
    let dir = TempDir::new().unwrap();
    let input = put(
        dir.path(),
        "in.jsonl",
        b"{\"timestamp\": \"2024-09-10T14:30:00Z\", \"trade_id\": \"TRADE_20240910_001\", \"symbol\": \"EURUSD\", \"profit_loss\": 25.0}\n\
          {\"timestamp\": \"2024-09-10T14:31:00Z\", \"trade_id\": \"T2\", \"symbol\": \"a,\\\"b\\\"\", \"profit_loss\": -1}\n",
    );
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let d = out_dir.to_str().unwrap();
    let out = csvseal(
        &[
            "write",
            "--dir",
            d,
            "--name",
            "j",
            "--format",
            "jsonl",
            "--input",
            &input,
            "--timestamp",
            "2024-09-10T14:30:00Z",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = stdout(&out).trim_end().to_owned();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(POLICY_EXAMPLE_CHECKSUM), "{text}");
    assert!(text.contains("\"a,\"\"b\"\"\""), "{text}");
    assert_eq!(csvseal(&["verify", &path], None).status.code(), Some(0));
}

#[test]
fn a_missing_input_file_is_an_io_error_and_writes_nothing() {
    let dir = TempDir::new().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = csvseal(
        &[
            "write",
            "--dir",
            d,
            "--name",
            "t",
            "--input",
            "/nonexistent/in.csv",
            "--json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "io");
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn quoted_fields_with_newlines_commas_and_quotes_round_trip() {
    let dir = TempDir::new().unwrap();
    let input = "note,amount\n\"line one\nline two\",1\n\"a,b\",2\n\"say \"\"hi\"\"\",3\n\"crlf\r\ninside\",4\npipe|bar,5\nünïcødé ✓,6\n,7\n";
    let path = write_ok(dir.path(), "q", input, &[]);
    let (code, doc) = verify_json(&path, &[]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["files"][0]["rows"], 7);
    let (_, doc) = verify_json(&path, &[]);
    assert_eq!(doc["files"][0]["last_seq"], 7);
}

/// Runs `csvseal ARGS` with its stdout already closed by the reader (a
/// pipe whose read end is gone: writes fail with EPIPE).
fn with_stdout_closed(args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = Command::new(csvseal_bin())
        .args(args)
        .env("CSVSEAL_CACHE_DIR", cache_dir())
        .stdin(Stdio::piped())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn a_closed_stdout_never_turns_a_commit_into_a_failure() {
    let dir = TempDir::new().unwrap();
    let d = dir.path().to_str().unwrap();
    let args = [
        "write",
        "--dir",
        d,
        "--name",
        "t",
        "--timestamp",
        "2024-09-10T14:30:00Z",
    ];
    let out = with_stdout_closed(&args, TRADES.as_bytes());
    let err = stderr(&out);
    // Committed and durable: exit 0, the path on stderr, no panic (101).
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let path = dir.path().join("t_20240910_143000.csv");
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert_eq!(listing(dir.path()), ["t_20240910_143000.csv"]);
    // --json and verify: no panic either, and the exit code is the result's.
    let mut json_args = args.to_vec();
    json_args[6] = "2024-09-10T14:31:00Z";
    json_args.push("--json");
    let out = with_stdout_closed(&json_args, TRADES.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let p = path.to_str().unwrap();
    let out = with_stdout_closed(&["verify", p], b"");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));
}

#[test]
fn huge_durations_are_usage_errors_and_the_longest_accepted_ones_work() {
    let out = TempDir::new().unwrap();
    let d = out.path().to_str().unwrap();
    for flag in ["--wait", "--timeout"] {
        for huge in ["18446744073709551615", "36501d", "600y"] {
            let o = csvseal(
                &["write", "--dir", d, "--name", "t", flag, huge],
                Some(TRADES.as_bytes()),
            );
            assert_eq!(o.status.code(), Some(2), "{flag} {huge}: {}", stderr(&o));
            assert!(stderr(&o).contains(huge), "{flag} {huge}: {}", stderr(&o));
            assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        }
    }
    for (cmd, flag) in [("audit", "--max-temp-age"), ("audit", "--rescan-after")] {
        let o = csvseal(&[cmd, "--dir", d, flag, "18446744073709551615"], None);
        assert_eq!(o.status.code(), Some(2), "{cmd} {flag}: {}", stderr(&o));
    }
    // The longest accepted wait and timeout: a write, not an overflow.
    write_ok(
        out.path(),
        "t",
        TRADES,
        &["--wait", "36500d", "--timeout", "36500d"],
    );
    let o = csvseal(
        &[
            "audit",
            "--dir",
            d,
            "--max-temp-age",
            "36500d",
            "--rescan-after",
            "36500d",
        ],
        None,
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn rows_the_policy_s_own_validator_rejects_are_written_with_a_warning() {
    let out = TempDir::new().unwrap();
    let d = out.path().to_str().unwrap();
    let input = "a,b\nplain,\"cr\r\nlf\"\nplain,x\n";
    let o = csvseal(
        &[
            "write",
            "--dir",
            d,
            "--name",
            "t",
            "--timestamp",
            "2024-09-10T14:30:00Z",
        ],
        Some(input.as_bytes()),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let path = stdout(&o).trim_end().to_owned();
    assert!(
        stderr(&o).contains("warning")
            && stderr(&o).contains("1 row(s) hold a field with a carriage return (first: line 2)"),
        "{}",
        stderr(&o)
    );
    // verify says so too, and the file is valid.
    let v = csvseal(&["verify", &path], None);
    assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));
    assert!(stdout(&v).contains("carriage return"), "{}", stdout(&v));
    // --json carries it.
    let o = csvseal(
        &[
            "write",
            "--dir",
            d,
            "--name",
            "j",
            "--timestamp",
            "2024-09-10T14:30:00Z",
            "--json",
        ],
        Some(input.as_bytes()),
    );
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        doc["warnings"][0].as_str().unwrap().contains("newline=''"),
        "{doc}"
    );
    // Without such rows: no warning at all.
    let o = csvseal(
        &[
            "write",
            "--dir",
            d,
            "--name",
            "c",
            "--timestamp",
            "2024-09-10T14:30:00Z",
            "--json",
        ],
        Some(b"a,b\nx,\"lf\nonly\"\n"),
    );
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["warnings"], serde_json::json!([]), "{doc}");
}
