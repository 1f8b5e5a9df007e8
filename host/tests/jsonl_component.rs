//! The component's JSON Lines input path (a fast path with SIMD scans for
//! the usual line, the general parser for the rest) against its CSV input
//! path, through the real component: the same values given either way must
//! seal to the same bytes. The values put every awkward character (quote,
//! backslash, control character, comma, CR, LF, multi-byte UTF-8) at every
//! position of strings up to 40 bytes long, across the 16-byte SIMD blocks,
//! in lines with and without extra whitespace.

use csvseal::{InputFormat, Limits, Sandbox, SealOptions};

fn seal(sandbox: &Sandbox, format: InputFormat, input: &[u8]) -> Vec<u8> {
    let options = SealOptions {
        format,
        dialect: csvseal::Dialect::default(),
        header: None,
        schema_json: None,
        first_seq: 1,
    };
    let mut session = sandbox.sealer(&options).unwrap();
    let mut out = Vec::new();
    // Odd chunk sizes: lines and strings straddle chunk boundaries.
    for chunk in input.chunks(4093) {
        out.extend(session.feed(chunk).unwrap());
    }
    let (tail, summary) = session.finish().unwrap().expect("input accepted");
    out.extend(tail);
    assert!(summary.rows > 0);
    out
}

/// A CSV field as Python's csv.writer writes it.
fn csv_field(v: &str) -> String {
    if v.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

#[test]
fn json_lines_seal_like_the_same_rows_as_csv() {
    let sandbox = Sandbox::builtin(Limits::default()).unwrap();
    let specials = ["\"", "\\", "\u{1}", "\t", ",", "\r", "\n", "é", "😀", "a"];
    let mut rows: Vec<[String; 3]> = Vec::new();
    for len in 0..40 {
        for special in specials {
            for at in 0..=len {
                let mut v: String = "x".repeat(len);
                if len > 0 {
                    v.replace_range(at.min(len - 1)..at.min(len - 1) + 1, special);
                }
                rows.push([v, format!("{}", rows.len()), "-12.50".into()]);
            }
        }
    }
    let header = ["name", "id", "amount"];
    let mut csv = header.join(",") + "\n";
    let mut jsonl = String::new();
    for (i, [name, id, amount]) in rows.iter().enumerate() {
        csv += &format!("{},{},{}\n", csv_field(name), id, amount);
        // Numbers stay as written; every third line has extra whitespace.
        let (colon, comma) = if i % 3 == 0 {
            (" : ", " ,\t")
        } else {
            (":", ",")
        };
        jsonl += &format!(
            "{{\"name\"{colon}{}{comma}\"id\"{colon}\"{id}\"{comma}\"amount\"{colon}{amount}}}\n",
            serde_json::to_string(name).unwrap()
        );
    }
    let from_csv = seal(&sandbox, InputFormat::Csv, csv.as_bytes());
    let from_jsonl = seal(&sandbox, InputFormat::Jsonl, jsonl.as_bytes());
    assert_eq!(
        String::from_utf8_lossy(&from_jsonl),
        String::from_utf8_lossy(&from_csv)
    );
}
