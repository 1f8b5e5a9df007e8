//! A small commit in a long-running process: a library write of 10 rows
//! with one `Sandbox` reused, against the bare system calls an atomic,
//! never-clobbering write needs (create exclusively, write, fsync, rename
//! without replacing, fsync the directory), same bytes, same filesystem,
//! same run. Issue 9's goal: csvseal within 1.5x of bare.
//!
//!     cargo bench --locked -p csvseal --bench small_commit
//!
//! Each iteration's file is removed before the next one, untimed.

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use csvseal::{Limits, Sandbox, WriteRequest, write_sealed};

/// Ten rows like the policy's example.
fn input() -> Vec<u8> {
    let mut s = String::from("timestamp,trade_id,symbol,profit_loss\n");
    for i in 0..10 {
        s += &format!("2024-09-10T14:30:{i:02}Z,TRADE_20240910_{i:03},EURUSD,{i}.25\n");
    }
    s.into_bytes()
}

fn request(dir: &Path) -> WriteRequest {
    WriteRequest {
        timestamp: csvseal::store::naming::parse_timestamp("2024-09-10T14:30:00Z").unwrap(),
        ..WriteRequest::new(dir, "trades")
    }
}

/// The bare commit of `bytes` as `dir/name`.
fn bare_commit(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let temp = dir.join(format!("{name}.tmp"));
    let target = dir.join(name);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .unwrap();
    f.write_all(bytes).unwrap();
    f.sync_all().unwrap();
    rustix::fs::renameat_with(
        rustix::fs::CWD,
        &temp,
        rustix::fs::CWD,
        &target,
        rustix::fs::RenameFlags::NOREPLACE,
    )
    .unwrap();
    File::open(dir).unwrap().sync_all().unwrap();
    target
}

fn small_commit(c: &mut Criterion) {
    let root = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let dir = root.path();
    let sandbox = Sandbox::builtin(Limits::default()).unwrap();
    let input = input();
    let req = request(dir);
    // The bytes csvseal commits, for the bare write to commit too.
    let sealed = {
        let c = write_sealed(&sandbox, &req, &mut &input[..], "input").unwrap();
        let bytes = std::fs::read(&c.path).unwrap();
        std::fs::remove_file(&c.path).unwrap();
        bytes
    };
    let last = RefCell::new(None::<PathBuf>);
    let clear = || {
        if let Some(p) = last.borrow_mut().take() {
            std::fs::remove_file(p).unwrap();
        }
    };

    let mut group = c.benchmark_group("small_commit_10_rows");
    group.bench_function("bare_syscalls", |b| {
        b.iter_batched(
            clear,
            |()| *last.borrow_mut() = Some(bare_commit(dir, "bare.csv", &sealed)),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("csvseal_library", |b| {
        b.iter_batched(
            clear,
            |()| {
                let c = write_sealed(&sandbox, &req, &mut &input[..], "input").unwrap();
                *last.borrow_mut() = Some(c.path);
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
    clear();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50);
    targets = small_commit
}
criterion_main!(benches);
