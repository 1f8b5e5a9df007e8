//! Times the sandboxed sealer alone (no files, no fsync, no read-back):
//! best of 7 seals of an input held in memory, fed in 1 MiB chunks.
//!
//! ```sh
//! python3 tests/python/policy_csv.py generate 1000000 /tmp/in.csv
//! cargo run --release --example sandbox_seal_bench -- /tmp/in.csv
//! ```

use std::time::Instant;

use csvseal::{Dialect, InputFormat, Limits, Sandbox, SealOptions};

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: sandbox_seal_bench INPUT.csv");
    let input = std::fs::read(&path).expect("read the input");
    let sandbox = Sandbox::builtin(Limits::default()).expect("load the component");
    let options = SealOptions {
        format: InputFormat::Csv,
        dialect: Dialect::default(),
        header: None,
        schema_json: None,
        first_seq: 1,
    };
    let mut best = f64::MAX;
    let mut bytes = 0;
    for _ in 0..7 {
        let start = Instant::now();
        let mut session = sandbox.sealer(&options).expect("start a seal");
        bytes = 0;
        for chunk in input.chunks(1 << 20) {
            bytes += session.feed(chunk).expect("feed").len();
        }
        let (tail, _) = session.finish().expect("finish").expect("input accepted");
        bytes += tail.len();
        best = best.min(start.elapsed().as_secs_f64());
    }
    println!(
        "seal of {} MB: best of 7 {best:.3} s ({bytes} bytes out)",
        input.len() / 1_000_000
    );
}
