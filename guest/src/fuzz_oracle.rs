//! The fuzz targets' oracles (native builds only), shared with the unit
//! test that replays the seed corpus and every kept crash
//! (`guest/fuzz/seeds`, `guest/fuzz/regressions`), so a fixed crash stays
//! fixed without a nightly toolchain.
//!
//! Each function panics when the property fails.

use alloc::format;
use alloc::vec::Vec;

use crate::report::{Dialect, InputFormat, Limits, SealOptions, VerifyOptions};
use crate::seal::Sealer;
use crate::verify::Verifier;

/// A small deterministic PRNG (xorshift64*) for property tests, here and in
/// the host's, so they need no extra crate.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform enough in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

/// Small limits, so the fuzzer reaches the limit paths too.
pub const LIMITS: Limits = Limits {
    max_errors: 16,
    max_record_bytes: 4096,
    max_columns: 64,
};

/// The input dialects the fuzz targets and property tests cover: comma,
/// semicolon, tab and pipe, the last with `'` for its quote (chosen
/// explicitly, so the one-column-header guard is off).
pub const DIALECTS: [Dialect; 4] = [
    Dialect {
        delimiter: b',',
        quote: b'"',
        has_header: true,
        guard_delimiter: false,
    },
    Dialect {
        delimiter: b';',
        quote: b'"',
        has_header: true,
        guard_delimiter: false,
    },
    Dialect {
        delimiter: b'\t',
        quote: b'"',
        has_header: true,
        guard_delimiter: false,
    },
    Dialect {
        delimiter: b'|',
        quote: b'\'',
        has_header: true,
        guard_delimiter: false,
    },
];

fn verify_options() -> VerifyOptions {
    VerifyOptions {
        schema_json: None,
        limits: LIMITS,
        continue_after: None,
    }
}

/// First byte: chunk size; the rest: the file. Any chunking must give the
/// report one whole feed gives, and `valid` must mean "no errors".
pub fn verify(data: &[u8]) {
    let Some((&split, file)) = data.split_first() else {
        return;
    };
    let mut whole = Verifier::new(verify_options()).unwrap();
    whole.feed(file);
    let a = whole.finish();
    let mut chunked = Verifier::new(verify_options()).unwrap();
    for chunk in file.chunks(usize::from(split % 17) + 1) {
        chunked.feed(chunk);
    }
    let b = chunked.finish();
    assert_eq!(a, b, "chunking changed the report");
    assert_eq!(a.valid, a.error_count == 0);
}

/// First byte: format (bit 0), CSV dialect (bits 1-2, see [`DIALECTS`]) and
/// chunk size (bits 3-7); second: the first seq (0 means near 2^64); the
/// rest: the input. Whatever seals must verify valid, with the summary's
/// rows, last seq and byte count.
pub fn seal(data: &[u8]) {
    let [mode, seq, input @ ..] = data else {
        return;
    };
    let format = if mode & 1 == 0 {
        InputFormat::Csv
    } else {
        InputFormat::Jsonl
    };
    let first_seq = match seq {
        0 => u64::MAX - 2,
        s => u64::from(*s),
    };
    let Ok(mut sealer) = Sealer::new(SealOptions {
        format,
        dialect: DIALECTS[usize::from(mode >> 1 & 3)],
        header: None,
        schema_json: None,
        first_seq,
        limits: LIMITS,
    }) else {
        return;
    };
    let mut out = Vec::new();
    for chunk in input.chunks(usize::from(mode >> 3) + 1) {
        out.extend(sealer.feed(chunk));
    }
    let Ok((tail, summary)) = sealer.finish() else {
        return;
    };
    out.extend(tail);
    assert_eq!(summary.bytes, out.len() as u64);
    let mut verifier = Verifier::new(verify_options()).unwrap();
    verifier.feed(&out);
    let report = verifier.finish();
    assert!(
        report.valid,
        "{}",
        format!(
            "sealed output does not verify: {:?}\n{:?}",
            report.errors,
            alloc::string::String::from_utf8_lossy(&out)
        )
    );
    assert_eq!(report.rows, summary.rows);
    assert_eq!(report.last_seq, summary.last_seq);
}

/// The ways csvseal's reader differs from the `csv` crate on the same
/// input, each by the message of the error csvseal reports: stricter on
/// purpose (the policy's partial-write and corruption checks), never a
/// different reading of input both accept. ARCHITECTURE.md lists them; the
/// differential oracle fails on any other error, so a new difference cannot
/// go unlisted.
#[cfg(any(test, feature = "csv-oracle"))]
pub const DOCUMENTED_DIFFERENCES: &[&str] = &[
    // The csv crate ends a record at a lone CR; csvseal reads CR only before LF.
    "carriage return not followed by a line feed",
    // The csv crate takes a quote inside an unquoted field as data.
    "quote inside an unquoted field",
    // The csv crate joins `"a"b` into `ab`.
    "unexpected character after a closing quote",
    // The csv crate returns the open field at the end of input as complete.
    "unterminated quoted field at end of input",
    // Verification only: the csv crate accepts a last record without its
    // line terminator (the policy's torn last row).
    "last record has no line terminator",
    "input ends with a bare carriage return",
    // Not a difference in reading: the csv crate's `StringRecord` refuses the
    // same record; listed because `ByteRecord`, used here, does not check.
    "is not valid UTF-8",
];

/// First byte: dialect (bits 0-1, see [`DIALECTS`]), line terminators
/// required as in verification (bit 2), chunk size (bits 3-7); the rest: the
/// input. csvseal's reader and the `csv` crate, configured alike, must read
/// the same records up to csvseal's first error; if there is none, all of
/// them. (Lines are not compared: the csv crate's positions point where its
/// previous read stopped, before a CR LF's LF or blank lines.) The first error must be one of
/// [`DOCUMENTED_DIFFERENCES`], and its cause must be there in the input.
/// Returns that difference.
#[cfg(any(test, feature = "csv-oracle"))]
pub fn differential(data: &[u8]) -> Option<&'static str> {
    use crate::csv_reader::{CsvReader, Event, ReaderConfig};
    use alloc::string::String;

    type Record = Vec<Vec<u8>>;
    let (&mode, input) = data.split_first()?;
    let dialect = DIALECTS[usize::from(mode & 3)];
    let require_terminator = mode & 4 != 0;
    let (d, q) = (dialect.delimiter, dialect.quote);

    // csvseal's reader, fed in chunks, limits out of the way.
    let cfg = ReaderConfig {
        max_record_bytes: u64::MAX,
        max_columns: u32::MAX,
        require_terminator,
    };
    let mut reader = CsvReader::with_dialect(cfg, &dialect);
    let mut ours: Vec<Record> = Vec::new();
    let mut first_error: Option<(u64, String)> = None;
    let mut sink = |ev: Event<'_>| match ev {
        Event::Record(r) if first_error.is_none() => {
            ours.push((0..r.len()).map(|i| r.bytes(i).to_vec()).collect())
        }
        Event::Error(e) if first_error.is_none() => first_error = Some((e.line, e.message)),
        _ => {}
    };
    for chunk in input.chunks(usize::from(mode >> 3) + 1) {
        reader.feed(chunk, &mut sink);
    }
    reader.finish(&mut sink);

    // The csv crate, the independent reading.
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(d)
        .quote(q)
        .from_reader(input);
    let mut theirs: Vec<Record> = Vec::new();
    let mut record = csv::ByteRecord::new();
    while rdr.read_byte_record(&mut record).expect("in-memory bytes") {
        theirs.push(record.iter().map(<[u8]>::to_vec).collect());
    }

    let Some((line, message)) = first_error else {
        assert_eq!(
            ours, theirs,
            "csvseal and the csv crate read {input:?} differently"
        );
        return None;
    };
    // Both are in step up to the record csvseal refuses.
    let k = ours.len();
    assert_eq!(
        Some(&ours[..]),
        theirs.get(..k),
        "records before line {line} differ for {input:?}"
    );
    let Some(difference) = DOCUMENTED_DIFFERENCES.iter().find(|d| message.contains(*d)) else {
        panic!("undocumented difference {message:?} at line {line} of {input:?}");
    };
    // The cause is in the input, from the line the record starts on.
    let start = if line <= 1 {
        0
    } else {
        input
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(line as usize - 2)
            .map_or(input.len(), |(i, _)| i + 1)
    };
    let span = &input[start..];
    let pairs = || span.windows(2).map(|w| (w[0], w[1]));
    let witnessed = match *difference {
        "carriage return not followed by a line feed" => {
            pairs().any(|(a, b)| a == b'\r' && b != b'\n')
        }
        "quote inside an unquoted field" | "unterminated quoted field at end of input" => {
            span.contains(&q)
        }
        "unexpected character after a closing quote" => {
            pairs().any(|(a, b)| a == q && ![q, d, b'\r', b'\n'].contains(&b))
        }
        "last record has no line terminator" => require_terminator && !input.ends_with(b"\n"),
        "input ends with a bare carriage return" => require_terminator && input.ends_with(b"\r"),
        _ => theirs
            .get(k)
            .is_some_and(|r| r.iter().any(|f| core::str::from_utf8(f).is_err())),
    };
    assert!(
        witnessed,
        "{message:?} at line {line}, but not in {input:?}"
    );
    Some(difference)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::path::Path;

    /// Every seed and every kept crash, through its target's oracle.
    #[test]
    fn seeds_and_crash_regressions_hold() {
        let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut n = 0;
        for kind in ["seeds", "regressions"] {
            for (target, oracle) in [
                ("verify", super::verify as fn(&[u8])),
                ("seal", super::seal),
                ("differential", |d| {
                    super::differential(d);
                }),
            ] {
                let dir = fuzz.join(kind).join(target);
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for e in entries {
                    let path = e.unwrap().path();
                    if path
                        .file_name()
                        .is_some_and(|f| f.to_string_lossy().starts_with('.'))
                    {
                        continue;
                    }
                    oracle(&std::fs::read(&path).unwrap());
                    n += 1;
                }
            }
        }
        assert!(
            n >= 6,
            "only {n} corpus files found under {}",
            fuzz.display()
        );
    }

    /// The differential oracle on generated inputs (every dialect, both
    /// terminator modes, any chunking). `CSVSEAL_DIFF_ITERS=10000000 cargo
    /// test --release -p csvseal-guest differential_property` runs it long,
    /// where no nightly toolchain is at hand for the fuzz target.
    #[test]
    fn differential_property() {
        use crate::csv_reader::tests::{Rng, random_csv};
        let iters: u64 = std::env::var("CSVSEAL_DIFF_ITERS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20_000);
        let seed = std::env::var("CSVSEAL_DIFF_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0xC5F_D1FF);
        let mut rng = Rng(seed);
        let mut seen = std::collections::BTreeMap::new();
        for i in 0..iters {
            let mode = rng.below(256) as u8;
            let mut data = alloc::vec![mode];
            if i % 2 == 0 {
                data.extend(random_csv(&mut rng));
            } else {
                data.extend(well_formed(
                    &mut rng,
                    &super::DIALECTS[usize::from(mode & 3)],
                ));
            }
            let found = super::differential(&data).unwrap_or("none");
            *seen.entry(found).or_insert(0u64) += 1;
        }
        // Every listed difference is real: the generator reaches each one.
        for d in super::DOCUMENTED_DIFFERENCES.iter().chain(&["none"]) {
            assert!(seen.contains_key(d), "{d:?} never seen: {seen:?}");
        }
        std::eprintln!("differential: {iters} inputs, first difference found: {seen:?}");
    }

    /// Records of random fields written correctly in `dialect` (quoted
    /// where needed), with `\n` or `\r\n` line ends and the odd blank line.
    fn well_formed(
        rng: &mut crate::csv_reader::tests::Rng,
        dialect: &crate::report::Dialect,
    ) -> Vec<u8> {
        const PIECES: &[&[u8]] = &[
            b"a",
            b"bc",
            b",",
            b";",
            b"\t",
            b"|",
            b"\"",
            b"'",
            b"\r\n",
            b"\n",
            b"\r",
            b" ",
            "é".as_bytes(),
            "😀".as_bytes(),
        ];
        let (d, q) = (dialect.delimiter, dialect.quote);
        let mut out = Vec::new();
        for _ in 0..rng.below(5) {
            if rng.below(8) == 0 {
                out.extend_from_slice(b"\n");
            }
            let n = 1 + rng.below(4);
            for i in 0..n {
                if i > 0 {
                    out.push(d);
                }
                let field: Vec<u8> = (0..rng.below(4))
                    .flat_map(|_| {
                        PIECES[rng.below(PIECES.len() as u64) as usize]
                            .iter()
                            .copied()
                    })
                    .collect();
                let special = field.iter().any(|&c| [d, q, b'\r', b'\n'].contains(&c));
                if special || (n == 1 && field.is_empty()) || rng.below(4) == 0 {
                    out.push(q);
                    for c in field {
                        out.push(c);
                        if c == q {
                            out.push(q);
                        }
                    }
                    out.push(q);
                } else {
                    out.extend(field);
                }
            }
            out.extend_from_slice(if rng.below(2) == 0 { b"\n" } else { b"\r\n" });
        }
        out
    }

    #[test]
    fn differential_examples() {
        // Inputs both read alike, and the documented differences.
        for (mode, input, want) in [
            (
                0u8,
                &b"a,b\r\n\"x,\"\"y\"\"\",\n\n\xef\xbb\xbfz\n"[..],
                None,
            ),
            (1, b"a;\"b;c\"\n", None),
            (7, b"a|'b|''c'\n", None),
            (4, b"a,b\nc,d", Some("last record has no line terminator")),
            (
                4,
                b"a,b\n\r",
                Some("input ends with a bare carriage return"),
            ),
            (
                0,
                b"a\rb\n",
                Some("carriage return not followed by a line feed"),
            ),
            (0, b"a\"b\nc\n", Some("quote inside an unquoted field")),
            (
                0,
                b"\"a\"b\n",
                Some("unexpected character after a closing quote"),
            ),
            (
                0,
                b"x\n\"open",
                Some("unterminated quoted field at end of input"),
            ),
            (0, b"\xff,x\n", Some("is not valid UTF-8")),
        ] {
            let mut data = alloc::vec![mode];
            data.extend_from_slice(input);
            assert_eq!(super::differential(&data), want, "{input:?}");
        }
    }

    /// The speed half of the comparison: csvseal's reader against csv-core's
    /// (the `csv` crate's engine) on 1M sealed policy rows, natively, each
    /// touching every field. `cargo test --release -p csvseal-guest --
    /// --ignored --nocapture bench_reader_against_csv_core`
    #[test]
    #[ignore]
    fn bench_reader_against_csv_core() {
        use crate::csv_reader::{CsvReader, Event, ReaderConfig};
        let file = crate::verify::tests::policy_like_file(1_000_000);
        let mb = file.len() as f64 / 1e6;
        for _ in 0..3 {
            let start = std::time::Instant::now();
            let mut reader = CsvReader::new(ReaderConfig {
                max_record_bytes: 1 << 20,
                max_columns: 1000,
                require_terminator: true,
            });
            let (mut records, mut bytes) = (0u64, 0usize);
            let mut sink = |ev: Event<'_>| {
                if let Event::Record(r) = ev {
                    records += 1;
                    bytes += (0..r.len()).map(|i| r.bytes(i).len()).sum::<usize>();
                }
            };
            for chunk in file.chunks(1 << 20) {
                reader.feed(chunk, &mut sink);
            }
            reader.finish(&mut sink);
            let ours = start.elapsed().as_secs_f64();

            let start = std::time::Instant::now();
            let mut core = csv_core::Reader::new();
            let (mut theirs_records, mut theirs_bytes) = (0u64, 0usize);
            let mut out = alloc::vec![0u8; 1 << 16];
            let mut ends = alloc::vec![0usize; 64];
            let (mut pos, mut out_at, mut ends_at) = (0, 0, 0);
            loop {
                let (result, nin, nout, nend) =
                    core.read_record(&file[pos..], &mut out[out_at..], &mut ends[ends_at..]);
                pos += nin;
                out_at += nout;
                ends_at += nend;
                match result {
                    csv_core::ReadRecordResult::Record => {
                        theirs_records += 1;
                        theirs_bytes += out_at;
                        out_at = 0;
                        ends_at = 0;
                    }
                    csv_core::ReadRecordResult::End => break,
                    csv_core::ReadRecordResult::InputEmpty => {}
                    r => panic!("{r:?}"),
                }
            }
            let theirs = start.elapsed().as_secs_f64();
            assert_eq!((records, bytes), (theirs_records, theirs_bytes));
            std::println!(
                "{records} records, {mb:.0} MB: csvseal reader {ours:.3} s ({:.0} MB/s), \
                 csv-core {theirs:.3} s ({:.0} MB/s)",
                mb / ours,
                mb / theirs
            );
        }
    }
}
