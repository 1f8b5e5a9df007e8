//! Finding the bytes that matter to CSV (delimiter, quote, `\r`, `\n`)
//! quickly, for any dialect.
//!
//! The reader uses them to find where a field ends. On wasm32 whole 16-byte
//! blocks are tested with SIMD; the helpers are `#[inline(always)]` so that they are compiled into callers
//! that enable `simd128` for themselves (`#[target_feature]`), which keeps
//! the rest of the component free of any global target-feature flag.
//! Natively (tests) a 256-entry table is walked, four bytes per step.

/// The bytes that end a run of plain field content, for one dialect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Stops {
    /// Inside an unquoted field: delimiter, quote, `\r`, `\n`.
    unquoted: [bool; 256],
    /// Inside a quoted field: the quote, and `\n` (only to count lines).
    quoted: [bool; 256],
    delimiter: u8,
    quote: u8,
}

impl Stops {
    /// The stops for a delimiter and a quote byte.
    pub(crate) const fn new(delimiter: u8, quote: u8) -> Self {
        Stops {
            unquoted: stop_table(&[delimiter, quote, b'\r', b'\n']),
            quoted: stop_table(&[quote, b'\n']),
            delimiter,
            quote,
        }
    }
}

const fn stop_table(bytes: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        t[bytes[i] as usize] = true;
        i += 1;
    }
    t
}

/// Index of the first delimiter, quote, `\r` or `\n` at or after `i`, or
/// `data.len()`.
#[inline(always)]
pub(crate) fn find_unquoted_stop(data: &[u8], i: usize, stops: &Stops) -> usize {
    #[cfg(target_arch = "wasm32")]
    let i = simd::skip_plain(data, i, [stops.delimiter, stops.quote, b'\r', b'\n']);
    walk(data, i, &stops.unquoted)
}

/// Index of the first quote or `\n` at or after `i`, or `data.len()`.
#[inline(always)]
pub(crate) fn find_quoted_stop(data: &[u8], i: usize, stops: &Stops) -> usize {
    #[cfg(target_arch = "wasm32")]
    let i = simd::skip_plain(data, i, [stops.quote, b'\n', stops.quote, b'\n']);
    walk(data, i, &stops.quoted)
}

/// Index of the first `\n` at or after `i`, or `data.len()`.
#[inline(always)]
pub(crate) fn find_newline(data: &[u8], i: usize) -> usize {
    #[cfg(target_arch = "wasm32")]
    let i = simd::skip_plain(data, i, [b'\n'; 4]);
    data[i..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(data.len(), |p| i + p)
}

/// Index of the first `"`, `\\` or control character (below 0x20) at or
/// after `i`, or `data.len()`: where a JSON string's plain run ends.
#[inline(always)]
pub(crate) fn find_json_string_stop(data: &[u8], i: usize) -> usize {
    #[cfg(target_arch = "wasm32")]
    let i = simd::skip_json_plain(data, i);
    data[i..]
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map_or(data.len(), |p| i + p)
}

/// `bytes` as text: checked 16 bytes at a time while they are ASCII (the
/// usual case), by `core::str::from_utf8` otherwise. On wasm32 it enables
/// `simd128` for itself.
#[cfg_attr(target_arch = "wasm32", target_feature(enable = "simd128"))]
pub(crate) fn utf8(bytes: &[u8]) -> Result<&str, core::str::Utf8Error> {
    if is_ascii(bytes) {
        // SAFETY: ASCII is UTF-8.
        return Ok(unsafe { core::str::from_utf8_unchecked(bytes) });
    }
    core::str::from_utf8(bytes)
}

/// Whether `data` is all ASCII (then it is UTF-8 without further checks).
#[inline(always)]
pub(crate) fn is_ascii(data: &[u8]) -> bool {
    #[cfg(target_arch = "wasm32")]
    let data = simd::skip_ascii(data);
    data.is_ascii()
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

    /// Skips whole 16-byte blocks holding no `"`, `\\` or byte below 0x20.
    #[inline(always)]
    pub fn skip_json_plain(data: &[u8], mut i: usize) -> usize {
        while i + 16 <= data.len() {
            // SAFETY: as in `skip_plain`.
            let v = unsafe { v128_load(data.as_ptr().add(i).cast()) };
            let hits = v128_or(
                v128_or(
                    i8x16_eq(v, u8x16_splat(b'"')),
                    i8x16_eq(v, u8x16_splat(b'\\')),
                ),
                u8x16_lt(v, u8x16_splat(0x20)),
            );
            let mask = i8x16_bitmask(hits);
            if mask != 0 {
                return i + mask.trailing_zeros() as usize;
            }
            i += 16;
        }
        i
    }

    /// The rest of `data` after its leading whole 16-byte ASCII blocks.
    #[inline(always)]
    pub fn skip_ascii(data: &[u8]) -> &[u8] {
        let mut i = 0;
        while i + 16 <= data.len() {
            // SAFETY: as in `skip_plain`.
            let v = unsafe { v128_load(data.as_ptr().add(i).cast()) };
            if i8x16_bitmask(v) != 0 {
                break;
            }
            i += 16;
        }
        &data[i..]
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
        for (delimiter, quote) in [(b',', b'"'), (b';', b'\''), (b'\t', b'"'), (b'|', b'~')] {
            let stops = Stops::new(delimiter, quote);
            for len in 0..40 {
                for pos in 0..=len {
                    for stop in [delimiter, quote, b'\r', b'\n', b',', b'"'] {
                        let mut data = alloc::vec![b'x'; len];
                        if pos < len {
                            data[pos] = stop;
                        }
                        let is = |set: &[u8]| if set.contains(&stop) { pos } else { len };
                        assert_eq!(
                            find_unquoted_stop(&data, 0, &stops),
                            is(&[delimiter, quote, b'\r', b'\n'])
                        );
                        assert_eq!(find_quoted_stop(&data, 0, &stops), is(&[quote, b'\n']));
                    }
                }
            }
        }
        assert_eq!(find_unquoted_stop(b"a,b,c", 2, &Stops::new(b',', b'"')), 3);
        for len in 0..40 {
            for pos in 0..=len {
                let mut data = alloc::vec![b'"'; len];
                if pos < len {
                    data[pos] = b'\n';
                }
                assert_eq!(find_newline(&data, 0), pos);
                for stop in [b'"', b'\\', 0, 0x1f] {
                    let mut data = alloc::vec![b' '; len];
                    if pos < len {
                        data[pos] = stop;
                    }
                    assert_eq!(find_json_string_stop(&data, 0), pos);
                }
                let mut data = alloc::vec![b'a'; len];
                assert!(is_ascii(&data));
                assert!(utf8(&data).is_ok());
                if pos < len {
                    data[pos] = 0x80;
                    assert!(!is_ascii(&data));
                    assert_eq!(utf8(&data).unwrap_err().valid_up_to(), pos);
                }
            }
        }
    }
}
