//! The same guest logic natively (the `csvseal-guest` crate as an rlib) and
//! in the sandboxed component, on the same bytes: sealing CSV and verifying
//! the sealed file. Issue 9's goal: sandboxed within 1.5x of native.
//!
//!     cargo bench --locked -p csvseal --bench native_vs_sandboxed
//!
//! Both run the lane scheduler (`guest/src/lanes.rs`); natively its lanes
//! are compressed by the `sha2` crate (SHA instructions where the CPU has
//! them), in the component by `guest/src/sha256x4.rs` (four rows at once in
//! wasm SIMD lanes), since WebAssembly has no SHA instructions.
//! That difference is part of what is measured.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use csvseal::{Limits, Sandbox, SealOptions};
use csvseal_guest::report::{SealOptions as GuestSealOptions, VerifyOptions};

/// Rows like the policy's example.
fn input(rows: usize) -> Vec<u8> {
    let symbols = ["EURUSD", "GBPUSD", "USDJPY", "AUDUSD", "USDCHF"];
    let mut s = String::from("timestamp,trade_id,symbol,profit_loss\n");
    for i in 0..rows {
        let sec = i % 86400;
        s += &format!(
            "2024-09-10T{:02}:{:02}:{:02}Z,TRADE_20240910_{:07},{},{:.2}\n",
            sec / 3600,
            sec / 60 % 60,
            sec % 60,
            i + 1,
            symbols[i % 5],
            ((i * 7919 % 20001) as f64 - 10000.0) / 100.0
        );
    }
    s.into_bytes()
}

const CHUNK: usize = 1 << 20;

fn seal_native(input: &[u8]) -> Vec<u8> {
    let mut s = csvseal_guest::seal::Sealer::new(GuestSealOptions::default()).unwrap();
    let mut out = Vec::with_capacity(input.len() * 3);
    for chunk in input.chunks(CHUNK) {
        out.extend(s.feed(chunk));
    }
    out.extend(s.finish().unwrap().0);
    out
}

fn seal_sandboxed(sandbox: &Sandbox, input: &[u8]) -> Vec<u8> {
    let options = SealOptions {
        format: csvseal::InputFormat::Csv,
        dialect: csvseal::Dialect::default(),
        header: None,
        schema_json: None,
        first_seq: 1,
    };
    let mut s = sandbox.sealer(&options).unwrap();
    let mut out = Vec::with_capacity(input.len() * 3);
    for chunk in input.chunks(CHUNK) {
        out.extend(s.feed(chunk).unwrap());
    }
    out.extend(s.finish().unwrap().unwrap().0);
    out
}

fn verify_native(sealed: &[u8]) -> u64 {
    let mut v = csvseal_guest::verify::Verifier::new(VerifyOptions::default()).unwrap();
    for chunk in sealed.chunks(CHUNK) {
        v.feed(chunk);
    }
    let report = v.finish();
    assert!(report.valid);
    report.rows
}

fn verify_sandboxed(sandbox: &Sandbox, sealed: &[u8]) -> u64 {
    let mut v = sandbox.verifier(None).unwrap();
    for chunk in sealed.chunks(CHUNK) {
        v.feed(chunk).unwrap();
    }
    let report = v.finish().unwrap();
    assert!(report.valid);
    report.rows
}

fn native_vs_sandboxed(c: &mut Criterion) {
    let sandbox = Sandbox::builtin(Limits::default()).unwrap();
    let input = input(100_000);
    let sealed = seal_native(&input);
    assert_eq!(
        seal_sandboxed(&sandbox, &input),
        sealed,
        "same logic, same bytes"
    );

    let mut group = c.benchmark_group("seal_100k_rows");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("native", |b| b.iter(|| seal_native(&input)));
    group.bench_function("sandboxed", |b| b.iter(|| seal_sandboxed(&sandbox, &input)));
    group.finish();

    let mut group = c.benchmark_group("verify_100k_rows");
    group.throughput(Throughput::Bytes(sealed.len() as u64));
    group.bench_function("native", |b| b.iter(|| verify_native(&sealed)));
    group.bench_function("sandboxed", |b| {
        b.iter(|| verify_sandboxed(&sandbox, &sealed))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = native_vs_sandboxed
}
criterion_main!(benches);
