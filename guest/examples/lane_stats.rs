//! Lane utilisation of the SHA-256 lane scheduler on a file, for
//! `scripts/bench.sh`: the native build runs the component's scheduler
//! (same lanes, same order of work; only the compression differs, see
//! `guest/src/lanes.rs`), fed in the host's 1 MiB chunks.
//!
//!   lane_stats verify FILE          the verifier of a sealed file
//!   lane_stats write FILE [--jsonl] the sealer of an input, and the
//!                                   verifier the host runs on its output
//!
//! Prints `blocks steps lanes utilisation`.
use std::io::Read;

use csvseal_guest::lanes::LaneStats;
use csvseal_guest::report::{InputFormat, SealOptions, VerifyOptions};
use csvseal_guest::seal::Sealer;
use csvseal_guest::verify::Verifier;

const CHUNK: usize = 1 << 20;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, path) = match &args[..] {
        [_, mode, path, ..] => (mode.as_str(), path),
        _ => {
            eprintln!("usage: lane_stats verify|write FILE [--jsonl]");
            std::process::exit(2);
        }
    };
    let mut file = std::fs::File::open(path).expect("open");
    let mut buf = vec![0u8; CHUNK];
    let limits = csvseal_guest::report::Limits {
        max_record_bytes: 64 << 20,
        ..Default::default()
    };
    let mut verifier = Verifier::new(VerifyOptions {
        schema_json: None,
        limits,
        continue_after: None,
    })
    .expect("verifier");
    let mut stats = LaneStats::default();
    if mode == "write" {
        let format = if args.iter().any(|a| a == "--jsonl") {
            InputFormat::Jsonl
        } else {
            InputFormat::Csv
        };
        let mut sealer = Sealer::new(SealOptions {
            format,
            limits,
            ..Default::default()
        })
        .expect("sealer");
        loop {
            let n = read_full(&mut file, &mut buf);
            if n == 0 {
                break;
            }
            verifier.feed(&sealer.feed(&buf[..n]));
        }
        let (tail, _) = sealer.finish().expect("the input seals");
        verifier.feed(&tail);
        stats += sealer.lane_stats();
    } else {
        loop {
            let n = read_full(&mut file, &mut buf);
            if n == 0 {
                break;
            }
            verifier.feed(&buf[..n]);
        }
    }
    let report = verifier.finish();
    assert!(report.valid, "{:?}", report.errors.first());
    stats += verifier.lane_stats();
    let used = stats.blocks as f64 / (stats.lanes * stats.steps).max(1) as f64;
    println!("{} {} {} {used:.4}", stats.blocks, stats.steps, stats.lanes);
}

fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]).expect("read") {
            0 => break,
            n => filled += n,
        }
    }
    filled
}
