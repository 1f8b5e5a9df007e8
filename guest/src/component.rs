//! The component glue (wasm32 only): the `engine` world's exports, as thin
//! conversions between the generated WIT types and the native ones in
//! [`crate::report`].
//!
//! The crate is `no_std` on wasm32 and links no libc, so the component
//! imports nothing; this module supplies what libc and std would have: an
//! allocator, a panic handler and the canonical ABI's `cabi_realloc`.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use crate::report as native;

#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

/// A panic is a bug; trapping makes the host see it as a failed call.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

// wit-bindgen resolves `path` against CARGO_MANIFEST_DIR (guest/).
wit_bindgen::generate!({ path: "../wit", world: "engine" });

use exports::csvseal::core::checksum::Guest as ChecksumGuest;
use exports::csvseal::core::seal::{Guest as SealGuest, GuestSealer, Sealer};
use exports::csvseal::core::types as wit;
use exports::csvseal::core::verify::{Guest as VerifyGuest, GuestVerifier, Verifier};

struct Engine;

impl ChecksumGuest for Engine {
    fn row_checksum(header: Vec<String>, fields: Vec<String>) -> Result<String, String> {
        crate::checksum::row_checksum(&header, &fields)
    }
}

impl VerifyGuest for Engine {
    type Verifier = VerifierResource;
}

impl SealGuest for Engine {
    type Sealer = SealerResource;
}

/// Resources are called through `&self`; the state lives in a RefCell
/// (a component instance is single-threaded and calls do not nest).
struct VerifierResource(RefCell<crate::verify::Verifier>);

impl GuestVerifier for VerifierResource {
    fn create(options: wit::VerifyOptions) -> Result<Verifier, String> {
        let options = native::VerifyOptions {
            schema_json: options.schema_json,
            limits: limits(options.limits),
        };
        let inner = crate::verify::Verifier::new(options)?;
        Ok(Verifier::new(VerifierResource(RefCell::new(inner))))
    }

    fn feed(&self, chunk: Vec<u8>) {
        self.0.borrow_mut().feed(&chunk);
    }

    fn finish(&self) -> wit::VerifyReport {
        let r = self.0.borrow_mut().finish();
        wit::VerifyReport {
            valid: r.valid,
            rows: r.rows,
            first_seq: r.first_seq,
            last_seq: r.last_seq,
            columns: r.columns,
            gaps: r
                .gaps
                .into_iter()
                .map(|g| wit::SeqGap {
                    line: g.line,
                    after: g.after,
                    next: g.next,
                })
                .collect(),
            gap_count: r.gap_count,
            errors: r.errors.into_iter().map(row_error).collect(),
            error_count: r.error_count,
            errors_truncated: r.errors_truncated,
            warnings: r.warnings,
        }
    }
}

struct SealerResource(RefCell<crate::seal::Sealer>);

impl GuestSealer for SealerResource {
    fn create(options: wit::SealOptions) -> Result<Sealer, String> {
        let options = native::SealOptions {
            format: match options.format {
                wit::InputFormat::Csv => native::InputFormat::Csv,
                wit::InputFormat::Jsonl => native::InputFormat::Jsonl,
            },
            header: options.header,
            schema_json: options.schema_json,
            first_seq: options.first_seq,
            limits: limits(options.limits),
        };
        let inner = crate::seal::Sealer::new(options)?;
        Ok(Sealer::new(SealerResource(RefCell::new(inner))))
    }

    fn feed(&self, chunk: Vec<u8>) -> Vec<u8> {
        self.0.borrow_mut().feed(&chunk)
    }

    fn finish(&self) -> Result<(Vec<u8>, wit::SealSummary), wit::SealFailure> {
        match self.0.borrow_mut().finish() {
            Ok((tail, s)) => Ok((
                tail,
                wit::SealSummary {
                    columns: s.columns,
                    rows: s.rows,
                    first_seq: s.first_seq,
                    last_seq: s.last_seq,
                    bytes: s.bytes,
                },
            )),
            Err(f) => Err(wit::SealFailure {
                errors: f.errors.into_iter().map(row_error).collect(),
                error_count: f.error_count,
                errors_truncated: f.errors_truncated,
            }),
        }
    }
}

fn limits(l: wit::Limits) -> native::Limits {
    native::Limits {
        max_errors: l.max_errors,
        max_record_bytes: l.max_record_bytes,
        max_columns: l.max_columns,
    }
}

fn row_error(e: native::RowError) -> wit::RowError {
    wit::RowError {
        kind: match e.kind {
            native::ErrorKind::Malformed => wit::ErrorKind::Malformed,
            native::ErrorKind::Encoding => wit::ErrorKind::Encoding,
            native::ErrorKind::BadHeader => wit::ErrorKind::BadHeader,
            native::ErrorKind::MissingColumn => wit::ErrorKind::MissingColumn,
            native::ErrorKind::ChecksumMismatch => wit::ErrorKind::ChecksumMismatch,
            native::ErrorKind::SequenceViolation => wit::ErrorKind::SequenceViolation,
            native::ErrorKind::Schema => wit::ErrorKind::Schema,
            native::ErrorKind::TornRow => wit::ErrorKind::TornRow,
            native::ErrorKind::Limit => wit::ErrorKind::Limit,
        },
        line: e.line,
        seq: e.seq,
        column: e.column,
        message: e.message,
    }
}

export!(Engine);

/// `memcmp`, which slice comparisons lower to. Without libc nothing else
/// provides it (`memcpy`/`memset` become bulk-memory instructions), and the
/// linker would otherwise turn it into an `env` import.
///
/// The loop is written out by hand: calling a slice comparison here would
/// recurse into this very function.
#[unsafe(no_mangle)]
unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: the caller guarantees both ranges are readable for n bytes.
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        i += 1;
    }
    0
}

/// `bcmp`: LLVM's equality-only `memcmp`.
#[unsafe(no_mangle)]
unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: same contract as memcmp.
    unsafe { memcmp(a, b, n) }
}

/// The canonical ABI's allocator entry point: wasi-libc normally provides
/// it on wasm32-wasip2, but this component links no libc.
#[unsafe(no_mangle)]
unsafe extern "C" fn cabi_realloc(
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    use alloc::alloc::{Layout, alloc, realloc};
    // SAFETY: the canonical ABI passes a valid power-of-two alignment and,
    // when old_len > 0, a pointer it got from this function with that
    // layout.
    unsafe {
        let p = if old_len == 0 {
            if new_len == 0 {
                return align as *mut u8;
            }
            alloc(Layout::from_size_align_unchecked(new_len, align))
        } else {
            realloc(
                old_ptr,
                Layout::from_size_align_unchecked(old_len, align),
                new_len,
            )
        };
        if p.is_null() {
            core::arch::wasm32::unreachable()
        }
        p
    }
}
