//! Verifying a file in parts, through the component: whatever the cuts and
//! the number of jobs, the report is exactly the one a single verifier
//! gives, for valid and broken files alike.

use std::path::Path;

use csvseal::verify::verify_file_at_cuts;
use csvseal::{Limits, Sandbox, VerifyFileOptions, VerifyReport, verify_file_with};
use csvseal_guest::fuzz_oracle::Rng;
use sha2::{Digest, Sha256};

/// Values with quotes, embedded `\n` and `\r\n`, commas, multibyte UTF-8.
const VALUES: &[&str] = &[
    "EURUSD",
    "-12.50",
    "x,y",
    "say \"hi\"",
    "multi\nline",
    "crlf\r\ninside",
    "\"",
    "é",
    "€ 5",
    "日本",
    "",
    "\n\n",
];

const COLUMNS: &[&str] = &["file_seq", "symbol", "note", "amount", "checksum_sha256"];

/// The policy's row checksum: values ordered by column name, `|`-joined.
fn checksum(values: &[&str]) -> String {
    let mut named: Vec<(&str, &str)> = COLUMNS[..4]
        .iter()
        .copied()
        .zip(values.iter().copied())
        .collect();
    named.sort();
    let joined: Vec<&str> = named.iter().map(|(_, v)| *v).collect();
    Sha256::digest(joined.join("|"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn field(v: &str) -> String {
    if v.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_owned()
    }
}

/// A sealed file of `rows` rows with random values; `\r\n` or `\n` record
/// ends; seqs rising, with occasional gaps.
fn sealed(rng: &mut Rng, rows: usize) -> Vec<u8> {
    let end = if rng.below(2) == 0 { "\r\n" } else { "\n" };
    let mut out = format!("{}{end}", COLUMNS.join(","));
    let mut seq = 1 + rng.below(3);
    for _ in 0..rows {
        let seq_text = seq.to_string();
        let mut values = vec![seq_text.as_str()];
        for _ in 0..3 {
            values.push(VALUES[rng.below(VALUES.len() as u64) as usize]);
        }
        let sum = checksum(&values);
        let fields: Vec<String> = values.iter().map(|v| field(v)).chain([sum]).collect();
        out.push_str(&fields.join(","));
        out.push_str(end);
        seq += 1 + if rng.below(5) == 0 { rng.below(4) } else { 0 };
    }
    out.into_bytes()
}

/// Up to four random edits: any byte may become a quote, a line end, a
/// comma, part of a multibyte character, or go missing; the file may be
/// cut short; whole (validly sealed) rows may be repeated or swapped, which
/// breaks only the sequence.
fn mutate(rng: &mut Rng, file: &mut Vec<u8>) {
    const BYTES: &[u8] = b"\"\n\r,x7\xc3\xa9\xff";
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(file.len() as u64) as usize;
        let byte = BYTES[rng.below(BYTES.len() as u64) as usize];
        match rng.below(6) {
            4 | 5 => {
                let starts = record_starts(file);
                if starts.len() < 3 {
                    continue;
                }
                let pick = |rng: &mut Rng| {
                    let i = 1 + rng.below(starts.len() as u64 - 2) as usize;
                    starts[i - 1] as usize..starts[i] as usize
                };
                let (a, b) = (pick(rng), pick(rng));
                let row_a = file[a.clone()].to_vec();
                if rng.below(2) == 0 {
                    file.splice(b.start..b.start, row_a);
                } else if a.end <= b.start {
                    let row_b = file[b.clone()].to_vec();
                    file.splice(b, row_a);
                    file.splice(a, row_b);
                }
            }
            0 => file[at] = byte,
            1 => file.insert(at, byte),
            2 => {
                file.remove(at);
            }
            _ => file.truncate(at),
        }
        if file.is_empty() {
            return;
        }
    }
}

fn one_verifier(sandbox: &Sandbox, path: &Path) -> VerifyReport {
    let options = VerifyFileOptions {
        jobs: 1,
        ..VerifyFileOptions::default()
    };
    verify_file_with(sandbox, None, path, &options).unwrap()
}

/// Offsets right after a `\n` outside quotes: where records start.
fn record_starts(file: &[u8]) -> Vec<u64> {
    let mut quoted = false;
    let mut starts = Vec::new();
    for (i, &b) in file.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => starts.push(i as u64 + 1),
            _ => {}
        }
    }
    starts
}

#[test]
fn any_cuts_give_exactly_the_report_of_one_verifier() {
    let limits = Limits {
        max_errors: 4,
        ..Limits::default()
    };
    let sandbox = Sandbox::builtin(limits).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.csv");
    let mut rng = Rng(2024);
    let (mut merged, mut cases) = (0, 0);
    for case in 0..250 {
        let rows = 1 + rng.below(40) as usize;
        let mut file = sealed(&mut rng, rows);
        if case % 2 == 1 {
            mutate(&mut rng, &mut file);
        }
        std::fs::write(&path, &file).unwrap();
        let expected = one_verifier(&sandbox, &path);
        let len = file.len() as u64;
        // Cuts anywhere: inside the header, inside quoted fields and their
        // embedded line ends, between `\r` and `\n`, inside characters.
        let anywhere: Vec<u64> = (0..1 + rng.below(7)).map(|_| rng.below(len + 1)).collect();
        let (report, _) = verify_file_at_cuts(&sandbox, None, &path, &anywhere).unwrap();
        assert_eq!(report, expected, "case {case}, cuts {anywhere:?}");
        // Cuts where records start: valid files must then merge.
        let starts = record_starts(&file);
        let chosen: Vec<u64> = starts
            .iter()
            .copied()
            .filter(|_| rng.below(3) == 0)
            .collect();
        let (report, in_parts) = verify_file_at_cuts(&sandbox, None, &path, &chosen).unwrap();
        assert_eq!(report, expected, "case {case}, cuts {chosen:?}");
        if expected.valid && chosen.iter().any(|&c| c > starts[0] && c < len) {
            assert!(
                in_parts,
                "case {case}: a valid file cut at record starts was not merged"
            );
            merged += 1;
        }
        cases += 1;
    }
    assert!(
        merged > cases / 4,
        "only {merged} of {cases} cases were merged"
    );
}

#[test]
fn seams_inside_quoted_fields_with_embedded_newlines_verify_identically_with_2_to_8_jobs() {
    let sandbox = Sandbox::builtin(Limits::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Every row holds a quoted field of many short lines, so most `\n`
    // bytes, and so most first-`\n`-after-the-target cuts, are inside quotes.
    let lines = "l\n".repeat(2000);
    let mut file = format!("{}\r\n", COLUMNS.join(",")).into_bytes();
    let mut seq = 1;
    while file.len() < 9 << 20 {
        let seq_text = seq.to_string();
        let values = [seq_text.as_str(), "EURUSD", lines.as_str(), "1.5"];
        let sum = checksum(&values);
        let row: Vec<String> = values.iter().map(|v| field(v)).chain([sum]).collect();
        file.extend_from_slice(row.join(",").as_bytes());
        file.extend_from_slice(b"\r\n");
        seq += if seq % 97 == 0 { 3 } else { 1 };
    }
    let mut broken = file.clone();
    let at = broken.len() / 3;
    broken[at] = b'X';
    for (name, content) in [("good.csv", &file), ("broken.csv", &broken)] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let expected = one_verifier(&sandbox, &path);
        assert_eq!(expected.valid, name == "good.csv", "{expected:?}");
        for jobs in 2..=8 {
            let options = VerifyFileOptions {
                jobs,
                ..VerifyFileOptions::default()
            };
            let report = verify_file_with(&sandbox, None, &path, &options).unwrap();
            assert_eq!(report, expected, "{name} with {jobs} jobs");
        }
        // The seams themselves inside a quoted field, right after one of
        // its embedded line ends.
        let inside: Vec<u64> = (1..8)
            .map(|k| {
                let target = content.len() * k / 8;
                let nl = content[target..].iter().position(|&b| b == b'\n').unwrap();
                (target + nl + 1) as u64
            })
            .collect();
        let (report, in_parts) = verify_file_at_cuts(&sandbox, None, &path, &inside).unwrap();
        assert_eq!(report, expected);
        let quotes_before = |c: u64| content[..c as usize].iter().filter(|&&b| b == b'"').count();
        if inside.iter().any(|&c| quotes_before(c) % 2 == 1) {
            assert!(
                !in_parts,
                "{name}: parts starting inside quotes were merged"
            );
        }
    }
}

#[test]
fn progress_counts_every_byte_once_and_restarts_for_a_second_pass() {
    use std::sync::Mutex;
    let sandbox = Sandbox::builtin(Limits::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(7);
    let mut file = sealed(&mut rng, 40_000);
    let path = dir.path().join("p.csv");
    for broken in [false, true] {
        if broken {
            let at = file.len() - 100;
            file[at] ^= 1;
        }
        std::fs::write(&path, &file).unwrap();
        let seen = Mutex::new(Vec::new());
        let show = |done: u64| seen.lock().unwrap().push(done);
        let options = VerifyFileOptions {
            jobs: 4,
            progress: Some(&show),
            ..VerifyFileOptions::default()
        };
        let report = verify_file_with(&sandbox, None, &path, &options).unwrap();
        assert_eq!(report.valid, !broken);
        let seen = seen.into_inner().unwrap();
        assert_eq!(seen.last(), Some(&(file.len() as u64)));
        // A broken file is verified again, whole: the count starts over.
        assert_eq!(seen.contains(&0), broken);
    }
}

#[test]
fn plugins_and_long_headers_are_verified_by_one_instance() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(3);
    let file = sealed(&mut rng, 200);
    let path = dir.path().join("f.csv");
    std::fs::write(&path, &file).unwrap();
    let starts = record_starts(&file);
    let cuts: Vec<u64> = starts[5..].iter().step_by(40).copied().collect();
    let builtin = Sandbox::builtin(Limits::default()).unwrap();
    let (report, in_parts) = verify_file_at_cuts(&builtin, None, &path, &cuts).unwrap();
    assert!(report.valid && in_parts);
    // A plugin: never split.
    let row_rule = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/plugins/row-rule.wasm");
    let plugin = Sandbox::from_component_file(&row_rule, Limits::default()).unwrap();
    let (report, in_parts) = verify_file_at_cuts(&plugin, None, &path, &cuts).unwrap();
    assert!(!in_parts);
    assert_eq!(
        report,
        verify_file_with(&plugin, None, &path, &VerifyFileOptions::default()).unwrap()
    );
    // A header longer than the probe reads: one instance.
    let long: Vec<String> = (0..12_000).map(|i| format!("column_{i}")).collect();
    let mut wide = format!("file_seq,{},checksum_sha256\n", long.join(",")).into_bytes();
    assert!(wide.len() > 64 << 10);
    wide.extend_from_slice(&file[starts[0] as usize..]);
    std::fs::write(&path, &wide).unwrap();
    let (report, in_parts) =
        verify_file_at_cuts(&builtin, None, &path, &[wide.len() as u64 / 2]).unwrap();
    assert!(!in_parts);
    assert_eq!(report, one_verifier(&builtin, &path));
}
