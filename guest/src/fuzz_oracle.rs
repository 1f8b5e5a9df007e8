//! The fuzz targets' oracles (native builds only), shared with the unit
//! test that replays the seed corpus and every kept crash
//! (`guest/fuzz/seeds`, `guest/fuzz/regressions`), so a fixed crash stays
//! fixed without a nightly toolchain.
//!
//! Each function panics when the property fails.

use alloc::format;
use alloc::vec::Vec;

use crate::report::{InputFormat, Limits, SealOptions, VerifyOptions};
use crate::seal::Sealer;
use crate::verify::Verifier;

/// Small limits, so the fuzzer reaches the limit paths too.
pub const LIMITS: Limits = Limits {
    max_errors: 16,
    max_record_bytes: 4096,
    max_columns: 64,
};

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

/// First byte: format (low bit) and chunk size; second: the first seq
/// (0 means near 2^64); the rest: the input. Whatever seals must verify
/// valid, with the summary's rows, last seq and byte count.
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
}
