//! Finding the bytes that matter to CSV (`,` `"` `\r` `\n`) quickly.
//!
//! The reader uses them to find where a field ends. On wasm32 whole 16-byte
//! blocks are tested with SIMD; the helpers are `#[inline(always)]` so that they are compiled into callers
//! that enable `simd128` for themselves (`#[target_feature]`), which keeps
//! the rest of the component free of any global target-feature flag.
//! Natively (tests) a 256-entry table is walked, four bytes per step.

/// Bytes that end a run inside an unquoted field.
static UNQUOTED_STOP: [bool; 256] = stop_table(b",\"\r\n");
/// Bytes that end a run inside a quoted field (`\n` only to count lines).
static QUOTED_STOP: [bool; 256] = stop_table(b"\"\n");

const fn stop_table(bytes: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        t[bytes[i] as usize] = true;
        i += 1;
    }
    t
}

/// Index of the first `,` `"` `\r` or `\n` at or after `i`, or `data.len()`.
#[inline(always)]
pub(crate) fn find_unquoted_stop(data: &[u8], i: usize) -> usize {
    #[cfg(target_arch = "wasm32")]
    let i = simd::skip_plain(data, i, [b',', b'"', b'\r', b'\n']);
    walk(data, i, &UNQUOTED_STOP)
}

/// Index of the first `"` or `\n` at or after `i`, or `data.len()`.
#[inline(always)]
pub(crate) fn find_quoted_stop(data: &[u8], i: usize) -> usize {
    #[cfg(target_arch = "wasm32")]
    let i = simd::skip_plain(data, i, [b'"', b'\n', b'"', b'\n']);
    walk(data, i, &QUOTED_STOP)
}

#[cfg(target_arch = "wasm32")]
mod simd {
    use core::arch::wasm32::*;

    /// Skips whole 16-byte blocks holding none of `stops`; returns where a
    /// block with one starts (or where fewer than 16 bytes remain).
    #[inline(always)]
    pub fn skip_plain(data: &[u8], mut i: usize, stops: [u8; 4]) -> usize {
        while i + 16 <= data.len() {
            // SAFETY: bytes i..i + 16 are in bounds; v128_load has no
            // alignment requirement.
            let v = unsafe { v128_load(data.as_ptr().add(i).cast()) };
            let hits = v128_or(
                v128_or(
                    i8x16_eq(v, u8x16_splat(stops[0])),
                    i8x16_eq(v, u8x16_splat(stops[1])),
                ),
                v128_or(
                    i8x16_eq(v, u8x16_splat(stops[2])),
                    i8x16_eq(v, u8x16_splat(stops[3])),
                ),
            );
            let mask = i8x16_bitmask(hits);
            if mask != 0 {
                return i + mask.trailing_zeros() as usize;
            }
            i += 16;
        }
        i
    }
}

/// Index of the first byte at or after `i` that `stop` marks, or `data.len()`.
#[inline(always)]
fn walk(data: &[u8], mut i: usize, stop: &[bool; 256]) -> usize {
    // Four bytes per iteration: fields are short, so a simple unrolled table
    // walk is the fastest portable choice.
    while i + 4 <= data.len() {
        if stop[data[i] as usize] {
            return i;
        }
        if stop[data[i + 1] as usize] {
            return i + 1;
        }
        if stop[data[i + 2] as usize] {
            return i + 2;
        }
        if stop[data[i + 3] as usize] {
            return i + 3;
        }
        i += 4;
    }
    while i < data.len() && !stop[data[i] as usize] {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_stop_at_every_offset() {
        for len in 0..40 {
            for pos in 0..=len {
                for stop in [b',', b'"', b'\r', b'\n'] {
                    let mut data = alloc::vec![b'x'; len];
                    if pos < len {
                        data[pos] = stop;
                    }
                    assert_eq!(find_unquoted_stop(&data, 0), pos);
                    let want = if matches!(stop, b'"' | b'\n') {
                        pos
                    } else {
                        len
                    };
                    assert_eq!(find_quoted_stop(&data, 0), want);
                }
            }
        }
        assert_eq!(find_unquoted_stop(b"a,b,c", 2), 3);
    }
}
