//! The sealer on arbitrary input: it must never panic, and whatever it seals
//! must verify valid with the same row count and last `file_seq`.
#![no_main]

use csvseal_guest::report::{InputFormat, Limits, SealOptions, VerifyOptions};
use csvseal_guest::seal::Sealer;
use csvseal_guest::verify::Verifier;
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_errors: 16,
    max_record_bytes: 4096,
    max_columns: 64,
};

fuzz_target!(|data: &[u8]| {
    // First byte: format (low bit) and chunk size; second: the first seq.
    let [mode, seq, input @ ..] = data else {
        return;
    };
    let format = if mode & 1 == 0 {
        InputFormat::Csv
    } else {
        InputFormat::Jsonl
    };
    let first_seq = match seq {
        0 => u64::MAX - 2, // near the top, to reach overflow handling
        s => u64::from(*s),
    };
    let Ok(mut sealer) = Sealer::new(SealOptions {
        format,
        header: None,
        schema_json: None,
        first_seq,
        limits: LIMITS,
    }) else {
        return;
    };
    let mut out = Vec::new();
    for chunk in input.chunks(usize::from(mode >> 1) + 1) {
        out.extend(sealer.feed(chunk));
    }
    let Ok((tail, summary)) = sealer.finish() else {
        return;
    };
    out.extend(tail);
    assert_eq!(summary.bytes, out.len() as u64);
    let mut verifier = Verifier::new(VerifyOptions {
        schema_json: None,
        limits: LIMITS,
    })
    .unwrap();
    verifier.feed(&out);
    let report = verifier.finish();
    assert!(
        report.valid,
        "sealed output does not verify: {:?}\n{:?}",
        report.errors,
        String::from_utf8_lossy(&out)
    );
    assert_eq!(report.rows, summary.rows);
    assert_eq!(report.last_seq, summary.last_seq);
});
