//! Compatibility with the policy's Python, both ways: files are
//! interchangeable with code that already follows the policy.

mod common;

use common::*;
use tempfile::TempDir;

/// Rows that stress the dialect: quotes, commas, newlines, `|`, unicode,
/// empty values, leading spaces.
const TRICKY: &str = "timestamp,trade_id,symbol,note,profit_loss\n\
2024-09-10T14:30:00Z,TRADE_20240910_001,EURUSD,plain,25.0\n\
2024-09-10T14:31:00Z,TRADE_20240910_002,GBPUSD,\"comma, inside\",-12.5\n\
2024-09-10T14:32:00Z,TRADE_20240910_003,USDJPY,\"quote \"\"q\"\" inside\",0\n\
2024-09-10T14:33:00Z,TRADE_20240910_004,EURUSD,\"multi\nline\",1e3\n\
2024-09-10T14:34:00Z,TRADE_20240910_005,EURUSD,pipe|separated|value,7\n\
2024-09-10T14:35:00Z,TRADE_20240910_006,EURUSD,ünïcødé ✓ 取引,8\n\
2024-09-10T14:36:00Z,TRADE_20240910_007,EURUSD,,9\n\
2024-09-10T14:37:00Z,TRADE_20240910_008,EURUSD, leading space ,10\n";

#[test]
fn a_file_written_by_python_verifies_with_csvseal() {
    let dir = TempDir::new().unwrap();
    let input = put(dir.path(), "in.csv", TRICKY.as_bytes());
    let target = dir.path().join("py_20240910_143000.csv");
    let py = python(&["write", target.to_str().unwrap(), &input]);
    assert!(py.status.success(), "python write: {}", stderr(&py));
    let v = csvseal(&["verify", target.to_str().unwrap()], None);
    assert_eq!(v.status.code(), Some(0), "{}", stdout(&v));
    assert!(stdout(&v).contains("OK: 8 rows"), "{}", stdout(&v));
}

#[test]
fn a_file_written_by_csvseal_verifies_with_python() {
    let dir = TempDir::new().unwrap();
    let path = write_ok(dir.path(), "rs", TRICKY, &["--start-seq", "100"]);
    let py = python(&["validate", &path]);
    assert!(py.status.success(), "python validate: {}", stderr(&py));
}

#[test]
fn csvseal_output_is_byte_identical_to_pythons() {
    let dir = TempDir::new().unwrap();
    let input = put(dir.path(), "in.csv", TRICKY.as_bytes());
    let py_target = dir.path().join("py.csv");
    let py = python(&[
        "write",
        py_target.to_str().unwrap(),
        &input,
        "--start-seq",
        "7",
    ]);
    assert!(py.status.success(), "{}", stderr(&py));
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let ours = write_ok(&out_dir, "rs", TRICKY, &["--start-seq", "7"]);
    let (a, b) = (
        std::fs::read(&py_target).unwrap(),
        std::fs::read(&ours).unwrap(),
    );
    assert!(
        a == b,
        "differ:\npython: {:?}\ncsvseal: {:?}",
        String::from_utf8_lossy(&a),
        String::from_utf8_lossy(&b)
    );
}

#[test]
fn python_detects_what_csvseal_detects() {
    let dir = TempDir::new().unwrap();
    let path = write_ok(dir.path(), "t", TRADES, &[]);
    let s = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, s.replacen("GBPUSD", "GBPUSE", 1)).unwrap();
    assert!(!python(&["validate", &path]).status.success());
    assert_eq!(csvseal(&["verify", &path], None).status.code(), Some(1));
}

/// Rows of random fields built from the bytes that matter to quoting
/// (delimiter, quote, CR, LF, spaces, `|`, non-ASCII, empty), deterministic.
fn random_rows(rows: usize, seed: u64) -> Vec<Vec<String>> {
    const PIECES: &[&str] = &[
        "a", "bc", ",", "\"", "\"\"", "\r\n", "\n", "\r", " ", "|", "é", "取引", "😀", "\t", ";",
    ];
    let mut x = seed;
    let mut next = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    (0..rows)
        .map(|_| {
            (0..3)
                .map(|_| {
                    (0..next(5))
                        .map(|_| PIECES[next(PIECES.len() as u64) as usize])
                        .collect()
                })
                .collect()
        })
        .collect()
}

#[test]
fn random_fields_seal_byte_identical_to_pythons_csv_writer() {
    // The input is written by the `csv` crate; both sides read it back the
    // same and must write the same bytes (csvseal through csv-core's Writer).
    let dir = TempDir::new().unwrap();
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(["x", "y", "z"]).unwrap();
    for row in random_rows(2000, 0x9E37_79B9_7F4A_7C15) {
        w.write_record(&row).unwrap();
    }
    let input = String::from_utf8(w.into_inner().unwrap()).unwrap();
    let input_path = put(dir.path(), "in.csv", input.as_bytes());
    let py_target = dir.path().join("py.csv");
    let py = python(&["write", py_target.to_str().unwrap(), &input_path]);
    assert!(py.status.success(), "{}", stderr(&py));
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let ours = write_ok(&out_dir, "rs", &input, &[]);
    let (a, b) = (
        std::fs::read(&py_target).unwrap(),
        std::fs::read(&ours).unwrap(),
    );
    let first_diff = a.iter().zip(&b).position(|(x, y)| x != y);
    assert!(
        a == b,
        "differ at byte {first_diff:?} (python {} bytes, csvseal {})",
        a.len(),
        b.len()
    );
}
