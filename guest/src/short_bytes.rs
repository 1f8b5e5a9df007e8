//! Copies of up to 128 bytes without wasm's `memory.copy`, and the
//! comparison of a checksum without a byte loop.
//!
//! With bulk memory, LLVM turns every variable-length copy into
//! `memory.copy`, which wasmtime runs as a call out of the compiled code:
//! cheap for a chunk, dear for a field. A row takes a dozen such copies
//! (fields joined for its checksum, the record appended to the output), so
//! short ones are done here as a few overlapping fixed-size loads and
//! stores, which compile to plain instructions. Longer ones still use
//! `memory.copy`. Likewise slice equality is a `memcmp` call, a byte loop
//! in wasm with an interruption check per byte; a checksum is compared
//! here as four 16-byte words.

/// `dst[..src.len()] = src`, for a `dst` at least as long.
#[inline(always)]
pub fn copy(dst: &mut [u8], src: &[u8]) {
    let dst = &mut dst[..src.len()];
    // SAFETY: both are valid for src.len() bytes, and distinct borrows.
    unsafe { copy_raw(dst.as_mut_ptr(), src.as_ptr(), src.len()) }
}

/// `out.extend_from_slice(src)`.
#[inline(always)]
pub fn extend(out: &mut alloc::vec::Vec<u8>, src: &[u8]) {
    out.reserve(src.len());
    let len = out.len();
    // SAFETY: `reserve` made room for src.len() bytes after `len`, which the
    // copy initializes before `set_len` covers them; `src` cannot alias
    // `out`'s spare capacity.
    unsafe {
        copy_raw(out.as_mut_ptr().add(len), src.as_ptr(), src.len());
        out.set_len(len + src.len());
    }
}

/// `a == b` for a 64-byte `b` (a hex checksum).
#[inline(always)]
pub fn eq64(a: &[u8], b: &[u8; 64]) -> bool {
    let Ok(a) = <&[u8; 64]>::try_from(a) else {
        return false;
    };
    let word = |s: &[u8; 64], k: usize| {
        // SAFETY: 16 bytes at 16k, k < 4, of a 64-byte array.
        unsafe { core::ptr::read_unaligned(s.as_ptr().add(16 * k).cast::<u128>()) }
    };
    (0..4).fold(0u128, |acc, k| acc | (word(a, k) ^ word(b, k))) == 0
}

/// Copies `n` bytes as overlapping fixed-size pieces: each byte is written
/// once or twice, always with its own value.
///
/// # Safety
/// `src` readable and `dst` writable for `n` bytes; they do not overlap.
#[inline(always)]
unsafe fn copy_raw(dst: *mut u8, src: *const u8, n: usize) {
    // SAFETY: every offset below stays within 0..n.
    unsafe {
        match n {
            0 => {}
            1..=3 => {
                *dst = *src;
                *dst.add(n / 2) = *src.add(n / 2);
                *dst.add(n - 1) = *src.add(n - 1);
            }
            4..=7 => {
                piece::<u32>(dst, src, 0);
                piece::<u32>(dst, src, n - 4);
            }
            8..=15 => {
                piece::<u64>(dst, src, 0);
                piece::<u64>(dst, src, n - 8);
            }
            16..=32 => {
                piece::<u128>(dst, src, 0);
                piece::<u128>(dst, src, n - 16);
            }
            33..=64 => {
                for at in [0, 16, n - 32, n - 16] {
                    piece::<u128>(dst, src, at);
                }
            }
            65..=128 => {
                for at in [0, 16, 32, 48, n - 64, n - 48, n - 32, n - 16] {
                    piece::<u128>(dst, src, at);
                }
            }
            _ => core::ptr::copy_nonoverlapping(src, dst, n),
        }
    }
}

/// One unaligned `T`-sized copy at byte offset `at`.
#[inline(always)]
unsafe fn piece<T: Copy>(dst: *mut u8, src: *const u8, at: usize) {
    // SAFETY: the caller keeps at + size_of::<T>() within both buffers.
    unsafe {
        let v = core::ptr::read_unaligned(src.add(at).cast::<T>());
        core::ptr::write_unaligned(dst.add(at).cast::<T>(), v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn checksums_compare_equal_only_when_equal() {
        let sum = [b'a'; 64];
        assert!(eq64(&sum, &sum));
        assert!(!eq64(&sum[..63], &sum));
        let mut longer = sum.to_vec();
        longer.push(b'a');
        assert!(!eq64(&longer, &sum));
        for at in 0..64 {
            let mut other = sum;
            other[at] = b'b';
            assert!(!eq64(&other, &sum), "differs at {at}");
        }
    }

    #[test]
    fn every_length_copies_exactly() {
        let src: Vec<u8> = (0..300u32).map(|i| (i * 37 % 251) as u8).collect();
        for n in 0..=300 {
            for offset in [0, 1, 7] {
                let src = &src[offset.min(300 - n)..][..n];
                let mut dst = alloc::vec![0xEEu8; n + 5];
                copy(&mut dst, src);
                assert_eq!(&dst[..n], src, "copy of {n}");
                assert!(dst[n..].iter().all(|&b| b == 0xEE), "copy of {n} overran");
                let mut out = alloc::vec![1u8, 2, 3];
                extend(&mut out, src);
                assert_eq!(out[..3], [1, 2, 3]);
                assert_eq!(&out[3..], src, "extend by {n}");
            }
        }
    }
}
