//! Hostile csvseal plugins, one misbehaviour per build (cargo feature):
//!
//! - `loop-forever`: every `feed` spins forever (the CPU limit must stop it);
//! - `grow-memory`: every `feed` allocates without end (the memory limit);
//! - `flood-output`: every sealer call returns 100 MiB of garbage (the
//!   per-call output limit);
//! - `trap-midway`: seals normally, then traps in `finish` after output was
//!   written (the temp file must go);
//! - `bad-checksums`: seals normally but corrupts every row's checksum (the
//!   built-in verifier must refuse to commit);
//! - `broken-sequence`: seals normally but emits the first row twice (a
//!   repeated `file_seq`);
//! - `torn-row`: seals normally but ends the file inside a record;
//! - `lenient`: its verifier calls every file valid and reports a last
//!   `file_seq` 1000 too high (the built-in verifier must keep the final
//!   say, series included).
//! - `lying-summary`: seals correctly but claims one row more than it
//!   wrote (the write must refuse a summary the verifier does not confirm).
//! - `ignore-start-seq`: numbers the rows from 1, whatever `first-seq` the
//!   host asked for, consistently (summary and checksums agree);
//! - `drop-row`: drops the input's first data line before sealing the rest,
//!   consistently;
//! - `alter-value`: changes the first byte of the input's first data line
//!   before sealing, consistently (the write must refuse all three: the
//!   output is valid, but not the input's, or not from the start asked).
//!
//! Everything else is the built-in engine, so the only reason a call fails
//! is the misbehaviour under test. Built by scripts/build-plugins.sh into
//! tests/plugins/hostile-*.wasm.
#![no_std]
// Each feature cuts its behaviour short on purpose.
#![allow(unreachable_code)]
extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use csvseal_guest::component::{
    self as api, ChecksumGuest, GuestSealer, GuestVerifier, SealGuest, Sealer, Verifier,
    VerifyGuest, wit,
};
use csvseal_guest::{seal, verify};

/// Runs before every `feed`, on the verifier and the sealer alike.
fn misbehave_on_feed() {
    #[cfg(feature = "loop-forever")]
    {
        let mut n = 0u64;
        loop {
            n = core::hint::black_box(n.wrapping_add(1));
        }
    }
    #[cfg(feature = "grow-memory")]
    loop {
        // Leak 1 MiB at a time, touching it so nothing is optimised away.
        let block = core::hint::black_box(alloc::vec![1u8; 1 << 20]);
        core::mem::forget(block);
    }
}

/// The input a sealer reads, from the `chunk` given (the first call's
/// chunk is `first`): the first data line dropped or altered. The hostile
/// inputs are small enough that line 2 is in the first chunk.
#[allow(unused_variables)]
fn doctor_input(chunk: Vec<u8>, first: bool) -> Vec<u8> {
    #[cfg(any(feature = "drop-row", feature = "alter-value"))]
    if first {
        let mut chunk = chunk;
        let mut ends = chunk
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| i + 1);
        if let (Some(start), Some(end)) = (ends.next(), ends.next()) {
            #[cfg(feature = "drop-row")]
            chunk.drain(start..end);
            #[cfg(feature = "alter-value")]
            {
                chunk[start] = if chunk[start] == b'X' { b'Y' } else { b'X' };
                let _ = end;
            }
        }
        return chunk;
    }
    chunk
}

/// What the sealer returns from a call that produced `out`.
#[allow(unused_mut)]
fn tamper(mut out: Vec<u8>, header_done: &mut bool) -> Vec<u8> {
    #[cfg(feature = "flood-output")]
    {
        let _ = header_done;
        drop(out);
        return alloc::vec![b'x'; 100 << 20];
    }
    #[cfg(feature = "bad-checksums")]
    {
        // Flip the last hex digit before every line end, past the header.
        let mut i = 0;
        while i + 1 < out.len() {
            if out[i] == b'\r' && out[i + 1] == b'\n' && i > 0 {
                if *header_done {
                    let d = &mut out[i - 1];
                    *d = if *d == b'0' { b'1' } else { b'0' };
                }
                *header_done = true;
            }
            i += 1;
        }
    }
    #[cfg(feature = "broken-sequence")]
    if !*header_done {
        // Repeat the first data row, whole and correctly checksummed.
        let ends: Vec<usize> = out
            .windows(2)
            .enumerate()
            .filter(|(_, w)| w == b"\r\n")
            .map(|(i, _)| i + 2)
            .take(2)
            .collect();
        if let [header_end, row_end] = ends[..] {
            let row = out[header_end..row_end].to_vec();
            out.splice(row_end..row_end, row);
            *header_done = true;
        }
    }
    #[cfg(not(any(feature = "bad-checksums", feature = "broken-sequence")))]
    let _ = header_done;
    out
}

struct Hostile;

impl ChecksumGuest for Hostile {
    fn row_checksum(header: Vec<String>, fields: Vec<String>) -> Result<String, String> {
        api::Engine::row_checksum(header, fields)
    }
}

impl VerifyGuest for Hostile {
    type Verifier = HostileVerifier;
}

impl SealGuest for Hostile {
    type Sealer = HostileSealer;
}

struct HostileVerifier(RefCell<verify::Verifier>);

impl GuestVerifier for HostileVerifier {
    fn create(options: wit::VerifyOptions) -> Result<Verifier, String> {
        let inner = verify::Verifier::new(api::verify_options(options))?;
        Ok(Verifier::new(HostileVerifier(RefCell::new(inner))))
    }

    fn feed(&self, chunk: Vec<u8>) {
        misbehave_on_feed();
        self.0.borrow_mut().feed(&chunk);
    }

    fn finish(&self) -> wit::VerifyReport {
        #[cfg(feature = "trap-midway")]
        core::arch::wasm32::unreachable();
        #[allow(unused_mut)]
        let mut report = api::verify_report(self.0.borrow_mut().finish());
        #[cfg(feature = "lenient")]
        {
            // Vouch for any file, and lie about where its sequence ends.
            report.valid = true;
            report.errors.clear();
            report.error_count = 0;
            report.errors_truncated = false;
            report.last_seq = report.last_seq.map(|s| s + 1000);
        }
        report
    }
}

struct HostileSealer {
    inner: RefCell<seal::Sealer>,
    header_done: RefCell<bool>,
    fed: RefCell<bool>,
}

impl GuestSealer for HostileSealer {
    #[allow(unused_mut)]
    fn create(mut options: wit::SealOptions) -> Result<Sealer, String> {
        #[cfg(feature = "ignore-start-seq")]
        {
            options.first_seq = 1;
        }
        let inner = seal::Sealer::new(api::seal_options(options))?;
        Ok(Sealer::new(HostileSealer {
            inner: RefCell::new(inner),
            header_done: RefCell::new(false),
            fed: RefCell::new(false),
        }))
    }

    fn feed(&self, chunk: Vec<u8>) -> Vec<u8> {
        misbehave_on_feed();
        let first = !self.fed.replace(true);
        let chunk = doctor_input(chunk, first);
        let out = self.inner.borrow_mut().feed(&chunk);
        tamper(out, &mut self.header_done.borrow_mut())
    }

    fn finish(&self) -> Result<(Vec<u8>, wit::SealSummary), wit::SealFailure> {
        #[cfg(feature = "trap-midway")]
        core::arch::wasm32::unreachable();
        match api::seal_result(self.inner.borrow_mut().finish()) {
            Ok((tail, summary)) => {
                #[allow(unused_mut)]
                let mut tail = tamper(tail, &mut self.header_done.borrow_mut());
                // A record cut short: the policy's partial write.
                #[cfg(feature = "torn-row")]
                tail.extend_from_slice(b"999999,EURUSD,0123");
                #[cfg(feature = "lying-summary")]
                let summary = wit::SealSummary {
                    rows: summary.rows + 1,
                    last_seq: summary.last_seq.map(|s| s + 1),
                    ..summary
                };
                Ok((tail, summary))
            }
            Err(f) => Err(f),
        }
    }
}

csvseal_guest::component::export_engine!(Hostile with_types_in csvseal_guest::component);
