//! Verifying in parts (see the module documentation): the guest's side of
//! what the host relies on to merge parts into exactly the whole file's
//! report. The merge itself is the host's (`host/src/verify/parts.rs`),
//! property-tested there through the component.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::tests::verify_with;
use super::*;
use crate::checksum::row_checksum;
use crate::csv_reader::tests::Rng;
use crate::csv_writer::write_record;

/// Values that exercise the reader: quotes, embedded `\n` and `\r\n`,
/// commas, multibyte UTF-8.
const VALUES: &[&str] = &[
    "",
    "a",
    "x,y",
    "q\"uote",
    "multi\nline",
    "crlf\r\ninside",
    "\"\"",
    "é",
    "€uro",
    "日本",
    "plain text",
    "\n",
];

const COLS: &[&str] = &["timestamp", "note", "symbol"];

/// A valid sealed file with random values; `\r\n` or `\n` record ends.
fn random_file(rng: &mut Rng) -> Vec<u8> {
    let mut header: Vec<String> = vec![SEQ_COLUMN.into()];
    header.extend(COLS.iter().map(|c| c.to_string()));
    header.push(CHECKSUM_COLUMN.into());
    let lf = rng.below(2) == 0;
    let mut out = Vec::new();
    let record = |fields: &[String], out: &mut Vec<u8>| {
        write_record(out, fields.iter().map(|s| s.as_bytes()));
        if lf {
            out.remove(out.len() - 2);
        }
    };
    record(&header, &mut out);
    let mut seq = 1 + rng.below(3);
    for _ in 0..rng.below(12) {
        let mut values: Vec<String> = vec![seq.to_string()];
        for _ in COLS {
            values.push(VALUES[rng.below(VALUES.len() as u64) as usize].into());
        }
        let sum = row_checksum(&header[..header.len() - 1], &values).unwrap();
        values.push(sum);
        record(&values, &mut out);
        seq += 1 + if rng.below(4) == 0 { rng.below(3) } else { 0 };
    }
    out
}

/// Up to three random edits that may break anything.
fn mutate(rng: &mut Rng, file: &mut Vec<u8>) {
    const BYTES: &[u8] = b"\"\n\r,x1\xc3\xa9";
    for _ in 0..rng.below(4) {
        if file.is_empty() {
            return;
        }
        let at = rng.below(file.len() as u64) as usize;
        let byte = BYTES[rng.below(BYTES.len() as u64) as usize];
        match rng.below(3) {
            0 => file[at] = byte,
            1 => file.insert(at, byte),
            _ => {
                file.remove(at);
            }
        }
    }
}

/// Offsets where the whole file's reader is at a record boundary (after a
/// record, a blank line or a bad record), and whether a record ended there.
fn boundaries(file: &[u8]) -> Vec<(usize, bool)> {
    let limits = Limits::default();
    let mut reader = CsvReader::new(ReaderConfig {
        max_record_bytes: limits.max_record_bytes,
        max_columns: limits.max_columns,
        require_terminator: true,
    });
    let mut out = Vec::new();
    for i in 0..file.len() {
        let mut ended = None;
        reader.feed(&file[i..=i], &mut |ev| match ev {
            Event::ByteOrderMark => {}
            Event::Record(_) => ended = Some(true),
            Event::Blank(_) | Event::Error(_) => ended = Some(false),
        });
        if let Some(record) = ended {
            out.push((i + 1, record));
        }
    }
    out
}

fn options(continue_after: Option<&[u8]>) -> VerifyOptions {
    VerifyOptions {
        continue_after: continue_after.map(<[u8]>::to_vec),
        ..VerifyOptions::default()
    }
}

/// A part of `file` as a continuation after its first `header` bytes.
fn continuation(file: &[u8], header: usize, range: core::ops::Range<usize>) -> VerifyReport {
    let mut v = Verifier::new(options(Some(&file[..header]))).unwrap();
    v.feed(&file[range]);
    v.finish()
}

/// Valid, warning at most row counts (which the host's merge adds up).
fn clean(r: &VerifyReport) -> bool {
    r.valid
        && r.warnings
            .iter()
            .all(|w| w.contains(" row(s) ") && w.contains(" (first: line "))
}

fn count(file: &[u8], byte: u8) -> u64 {
    file.iter().filter(|&&b| b == byte).count() as u64
}

#[test]
fn counts_and_data_start_match_the_bytes_under_any_chunking() {
    let mut rng = Rng(11);
    for _ in 0..400 {
        let mut file = random_file(&mut rng);
        if rng.below(2) == 0 {
            mutate(&mut rng, &mut file);
        }
        let cuts: Vec<usize> = (1..file.len()).filter(|_| rng.below(7) == 0).collect();
        let r = verify_with(&file, VerifyOptions::default(), &cuts);
        assert_eq!(r, verify_with(&file, VerifyOptions::default(), &[]));
        assert_eq!(r.newlines, count(&file, b'\n'));
        assert_eq!(r.quotes, count(&file, b'"'));
        // The header is the first record; data starts right after it.
        let header_end = boundaries(&file)
            .into_iter()
            .find(|&(_, record)| record)
            .map(|(at, _)| at as u64);
        if let Some(start) = r.data_start {
            assert_eq!(
                Some(start),
                header_end,
                "{:?}",
                String::from_utf8_lossy(&file)
            );
        } else {
            assert!(!r.valid, "a valid file can be verified in parts");
        }
    }
}

#[test]
fn parts_cut_at_record_boundaries_add_up_to_the_whole() {
    let mut rng = Rng(5);
    for _ in 0..150 {
        let file = random_file(&mut rng);
        let whole = verify_with(&file, VerifyOptions::default(), &[]);
        assert!(whole.valid, "{whole:?}");
        let header = whole.data_start.unwrap() as usize;
        for (cut, _) in boundaries(&file) {
            if cut <= header || cut == file.len() {
                continue;
            }
            let head = verify_with(&file[..cut], VerifyOptions::default(), &[]);
            let tail = continuation(&file, header, cut..file.len());
            assert!(clean(&head) && clean(&tail), "{head:?} {tail:?}");
            assert_eq!(head.quotes % 2, 0, "a record boundary is outside quotes");
            assert_eq!(head.rows + tail.rows, whole.rows);
            assert_eq!(head.newlines + tail.newlines, whole.newlines);
            assert_eq!(head.quotes + tail.quotes, whole.quotes);
            assert_eq!(
                (head.first_seq, tail.last_seq),
                (whole.first_seq, whole.last_seq)
            );
            let (after, next) = (head.last_seq.unwrap(), tail.first_seq.unwrap());
            assert!(next > after);
            // The gaps: the head's, the one at the seam, the tail's moved
            // down by the head's lines.
            let mut gaps = head.gaps.clone();
            if next > after + 1 {
                let line = head.newlines + 1;
                gaps.push(SeqGap { line, after, next });
            }
            gaps.extend(tail.gaps.iter().map(|g| SeqGap {
                line: g.line + head.newlines,
                ..*g
            }));
            assert_eq!(gaps, whole.gaps);
            assert_eq!(whole.gap_count, gaps.len() as u64);
        }
    }
}

#[test]
fn a_clean_part_always_ends_at_a_record_boundary_of_the_whole_file() {
    // The induction the host's merge rests on: if every part up to a cut is
    // clean, the whole file's reader is at a record boundary at that cut, so
    // the next part starts where a record really starts.
    let mut rng = Rng(23);
    for _ in 0..150 {
        let mut file = random_file(&mut rng);
        mutate(&mut rng, &mut file);
        let marks = boundaries(&file);
        let is_boundary = |at: usize| marks.iter().any(|&(b, _)| b == at);
        let whole = verify_with(&file, VerifyOptions::default(), &[]);
        let Some(header) = whole.data_start.map(|d| d as usize) else {
            continue;
        };
        for cut in header + 1..file.len() {
            let head = verify_with(&file[..cut], VerifyOptions::default(), &[]);
            if clean(&head) {
                assert!(is_boundary(cut), "clean head ends mid-record at {cut}");
                assert_eq!(head.quotes % 2, 0);
            }
        }
        // A middle part, from a true boundary to any cut.
        let starts: Vec<usize> = marks
            .iter()
            .map(|&(b, _)| b)
            .filter(|&b| b > header)
            .collect();
        if let Some(&start) = starts.first() {
            for cut in start + 1..file.len() {
                if clean(&continuation(&file, header, start..cut)) {
                    assert!(
                        is_boundary(cut),
                        "clean middle part ends mid-record at {cut}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_part_that_starts_inside_quotes_shows_an_odd_quote_count() {
    let rows: &[&[&str]] = &[&["t", "a\nb,c", "s"], &["t", "x", "s"]];
    let file = tests::sealed(COLS, rows, &[1, 2]);
    let inside = file.windows(2).position(|w| w == b"a\n").unwrap() + 2;
    let head = verify_with(&file[..inside], VerifyOptions::default(), &[]);
    assert_eq!(head.quotes % 2, 1);
    assert!(!head.valid, "the head is torn");
    assert_eq!(head.errors[0].kind, ErrorKind::TornRow);
}

#[test]
fn a_continuation_numbers_lines_from_its_start_and_has_no_previous_seq() {
    let row: &[&str] = &["t", "multi\nline", "s"];
    let file = tests::sealed(COLS, &[row; 4], &[1, 2, 5, 9]);
    let header = verify_with(&file, VerifyOptions::default(), &[])
        .data_start
        .unwrap() as usize;
    // The third row starts on line 6 (header, then two 2-line rows).
    let marks = boundaries(&file);
    let cut = marks[2].0;
    let mut tampered = file.clone();
    let at = cut + file[cut..].windows(4).position(|w| w == b"line").unwrap();
    tampered[at] = b'L';
    let tail = continuation(&tampered, header, cut..tampered.len());
    assert_eq!(
        tail.errors
            .iter()
            .map(|e| (e.kind, e.line))
            .collect::<Vec<_>>(),
        vec![(ErrorKind::ChecksumMismatch, 1)]
    );
    assert_eq!(
        (tail.first_seq, tail.last_seq, tail.rows),
        (Some(5), Some(9), 2)
    );
    assert_eq!(
        tail.gaps,
        vec![SeqGap {
            line: 3,
            after: 5,
            next: 9
        }]
    );
    assert_eq!(tail.newlines, 4);
    assert_eq!(tail.data_start, None);
}

#[test]
fn continue_after_must_be_exactly_one_record() {
    let file = tests::sealed(COLS, &[&["t", "n", "s"]], &[1]);
    let header = file.iter().position(|&b| b == b'\n').unwrap() + 1;
    assert!(Verifier::new(options(Some(&file[..header]))).is_ok());
    for bad in [
        &file[..header - 1],
        &file[..header + 3],
        &file[..],
        b"" as &[u8],
        b"\"a\nb",
        b"\r\n",
    ] {
        let e = Verifier::new(options(Some(bad))).unwrap_err();
        assert!(e.contains("not exactly one record"), "{e}");
    }
}

#[test]
fn data_start_is_withheld_when_rows_cannot_be_checked_apart() {
    let file = tests::sealed(COLS, &[&["t", "n", "s"]], &[1]);
    let header = file.iter().position(|&b| b == b'\n').unwrap() as u64 + 1;
    let with_schema = |schema: &str| {
        let options = VerifyOptions {
            schema_json: Some(schema.into()),
            ..VerifyOptions::default()
        };
        verify_with(&file, options, &[]).data_start
    };
    assert_eq!(
        with_schema(r#"{"fields":[{"name":"symbol"}]}"#),
        Some(header)
    );
    let unique = r#"{"fields":[{"name":"symbol","constraints":{"unique":true}}]}"#;
    assert_eq!(with_schema(unique), None);
    let key = r#"{"fields":[{"name":"note"}],"primaryKey":"note"}"#;
    assert_eq!(with_schema(key), None);
    // An unusable header, or none.
    assert_eq!(
        verify_with(b"a,b\n1,2\n", VerifyOptions::default(), &[]).data_start,
        None
    );
    assert_eq!(
        verify_with(b"", VerifyOptions::default(), &[]).data_start,
        None
    );
}
