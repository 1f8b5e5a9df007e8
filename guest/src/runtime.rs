//! What libc and std would supply, for a component that links neither
//! (wasm32 only, feature `runtime`): an allocator, a panic handler, `memcmp`
//! and the canonical ABI's `cabi_realloc`. Without libc the component
//! imports nothing. A plugin written with std gets these from std and
//! wasi-libc instead and must not enable this feature.

#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

/// A panic is a bug; trapping makes the host see it as a failed call.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

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
