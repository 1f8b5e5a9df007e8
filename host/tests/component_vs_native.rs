//! The built component and the native library give equal reports on the
//! same random jobs (valid, damaged and random files to verify; CSV and
//! JSON Lines to seal; schemas; tight limits), each side cut into its own
//! random chunks. This is what tests the wasm-only code: the SIMD scanner,
//! the SIMD lanes of `sha256x4` fed by the lane scheduler (`lanes.rs`) and
//! the wasm branch of `checksum::hex`.
//!
//! Seeded and repeatable: CSVSEAL_DIFF_CASES (default 3000) and
//! CSVSEAL_DIFF_SEED (default 1) make longer or other runs.

mod differential;

use std::path::Path;

use differential::{Rng, check, job_from_fuzz_input, random_job, sandboxes};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        })
        .unwrap_or(default)
}

#[test]
fn component_and_native_library_give_equal_reports() {
    let cases = env_u64("CSVSEAL_DIFF_CASES", 3000);
    let seed = env_u64("CSVSEAL_DIFF_SEED", 1);
    let sandboxes = sandboxes();
    let mut rng = Rng::new(seed);
    let (mut verified, mut sealed, mut bytes) = (0u64, 0u64, 0u64);
    for i in 0..cases {
        let job = random_job(&mut rng);
        if let Err(e) = check(&sandboxes, &job) {
            panic!("case {i} of seed {seed}: {e}");
        }
        if job.verify {
            verified += 1;
        } else {
            sealed += 1;
        }
        bytes += job.input.len() as u64;
    }
    println!("{cases} jobs ({verified} verify, {sealed} seal), {bytes} input bytes: equal");
}

/// Inputs aimed at the SIMD paths, so they run whatever the random draw:
/// long runs in plain and quoted fields at every offset around a 16-byte
/// block, messages around SHA-256's block boundaries in all four lanes, and
/// row counts that leave 1, 2 and 3 rows after the last batch of four.
#[test]
fn simd_paths_are_exercised_on_purpose() {
    let sandboxes = sandboxes();
    let mut rng = Rng::new(7);
    for rows in [1usize, 2, 3, 4, 5, 6, 7, 8, 9, 13] {
        for len in [
            0usize, 1, 15, 16, 17, 31, 32, 33, 47, 54, 55, 56, 63, 64, 65, 119, 120, 200,
        ] {
            let mut input = String::from("plain,quoted\n");
            for r in 0..rows {
                let v = "é".repeat((len + r) / 2) + &"x".repeat((len + r) % 2);
                let q = format!("\"{}\"\"{}\"", "y".repeat(len), ",".repeat(r % 3));
                input.push_str(&format!("{v},{q}\n"));
            }
            let mut job = differential::Job {
                verify: false,
                jsonl: false,
                header: None,
                delimiter: b',',
                quote: b'"',
                guard: true,
                first_seq: 1,
                input: input.into_bytes(),
                schema: None,
                profile: 0,
                native_chunks: vec![1 << 20],
                component_chunks: vec![1 + rng.below(40)],
            };
            check(&sandboxes, &job).unwrap();
            // And verify what the native sealer wrote.
            let mut sealer = csvseal_guest::seal::Sealer::new(Default::default()).unwrap();
            let mut file = sealer.feed(&job.input);
            file.extend(sealer.finish().unwrap().0);
            job.verify = true;
            job.input = file;
            check(&sandboxes, &job).unwrap();
        }
    }
}

/// The fuzz target's seeds and every crash it found (kept under
/// `host/fuzz/regressions`), replayed without nightly or libFuzzer.
#[test]
fn fuzz_seeds_and_crash_regressions_hold() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let sandboxes = sandboxes();
    let mut n = 0;
    for kind in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(kind).join("component_vs_native")) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            if let Some(job) = job_from_fuzz_input(&data) {
                check(&sandboxes, &job).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            }
            n += 1;
        }
    }
    assert!(n >= 6, "only {n} seed files under {}", fuzz.display());
}
