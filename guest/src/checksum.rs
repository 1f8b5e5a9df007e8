//! The policy's row checksum.
//!
//! Python reference (`compute_row_checksum`): the values of every column but
//! `checksum_sha256`, ordered by column name, joined with `|`, UTF-8 encoded,
//! SHA-256, lowercase hex. Python orders `str` keys by code point, which is
//! the byte order of their UTF-8 encoding, i.e. Rust's `str` ordering.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use sha2::{Digest, Sha256};

/// The sequence column every sealed row carries.
pub const SEQ_COLUMN: &str = "file_seq";
/// The checksum column every sealed row carries.
pub const CHECKSUM_COLUMN: &str = "checksum_sha256";

/// The order in which a header's columns enter the checksum, computed once
/// per file so that rows are hashed without sorting or allocating.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChecksumPlan {
    /// Column indices sorted by column name, `checksum_sha256` left out.
    order: Vec<usize>,
}

impl ChecksumPlan {
    /// The plan for a header. Names should be unique (duplicates are hashed
    /// twice, which no Python dict could do; callers reject them first).
    pub fn new<S: AsRef<str>>(names: &[S]) -> Self {
        let mut order: Vec<usize> = (0..names.len())
            .filter(|&i| names[i].as_ref() != CHECKSUM_COLUMN)
            .collect();
        order.sort_by(|&a, &b| names[a].as_ref().cmp(names[b].as_ref()));
        ChecksumPlan { order }
    }

    /// Column indices in hashing order.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// The lowercase hex checksum of a row whose column `i` has the bytes
    /// `field(i)`.
    #[inline]
    pub fn compute<'a>(&self, field: impl Fn(usize) -> &'a [u8]) -> [u8; 64] {
        to_hex(&self.digest(field))
    }

    /// The SHA-256 digest behind [`Self::compute`].
    #[inline]
    pub fn digest<'a>(&self, field: impl Fn(usize) -> &'a [u8]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        let mut first = true;
        for &i in &self.order {
            if !first {
                hasher.update(b"|");
            }
            first = false;
            hasher.update(field(i));
        }
        hasher.finalize().into()
    }
}

impl ChecksumPlan {
    /// Writes the checksum's input (the values in plan order joined with
    /// `|`) into `out`, replacing its contents; for hashing rows in SIMD
    /// lanes (see [`crate::lanes`]).
    #[inline]
    pub fn join_into<'a>(&self, field: impl Fn(usize) -> &'a [u8], out: &mut Vec<u8>) {
        out.clear();
        for (k, &i) in self.order.iter().enumerate() {
            if k > 0 {
                out.push(b'|');
            }
            crate::short_bytes::extend(out, field(i));
        }
    }
}

/// Rows larger than this (bytes) are hashed alone, straight from their
/// fields, rather than joined and given to a SHA-256 lane
/// ([`crate::lanes`]): a lane holds a copy of its row, and copies of rows
/// near the record cap in every lane would take several times the cap.
/// Above this size the lanes gain little anyway: a row this long keeps its
/// lane busy for 1,000 steps, and the rows that fill the other lanes
/// meanwhile must wait in memory for it.
pub const BATCH_MAX_ROW_BYTES: usize = 64 << 10;

/// Lowercase hex of a digest: in SIMD on wasm32, by table elsewhere.
#[inline]
pub fn hex(digest: &[u8; 32]) -> [u8; 64] {
    #[cfg(target_arch = "wasm32")]
    {
        simd_hex::hex(digest)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        to_hex(digest)
    }
}

/// Two lowercase hex digits per byte value.
static HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut t = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = [HEX[i >> 4], HEX[i & 15]];
        i += 1;
    }
    t
};

/// Lowercase hex of a SHA-256 digest.
#[inline]
pub fn to_hex(digest: &[u8; 32]) -> [u8; 64] {
    let mut out = [0u8; 64];
    for (pair, &b) in out.chunks_exact_mut(2).zip(digest) {
        pair.copy_from_slice(&HEX_PAIRS[b as usize]);
    }
    out
}

/// Lowercase hex in SIMD: each nibble picks its digit from a 16-byte table
/// (`swizzle`), then the high and low digits are interleaved. A table
/// lookup per byte was a few percent of a write.
#[cfg(target_arch = "wasm32")]
mod simd_hex {
    use core::arch::wasm32::*;

    #[target_feature(enable = "simd128")]
    pub fn hex(d: &[u8; 32]) -> [u8; 64] {
        let digits = u8x16(
            b'0', b'1', b'2', b'3', b'4', b'5', b'6', b'7', b'8', b'9', b'a', b'b', b'c', b'd',
            b'e', b'f',
        );
        let mut o = [0u8; 64];
        for half in 0..2 {
            // SAFETY: 16 bytes at 16·half of a 32-byte array; v128_load
            // has no alignment requirement.
            let v = unsafe { v128_load(d.as_ptr().add(16 * half).cast()) };
            let hi = u8x16_swizzle(digits, u8x16_shr(v, 4));
            let lo = u8x16_swizzle(digits, v128_and(v, u8x16_splat(0x0f)));
            let first =
                u8x16_shuffle::<0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23>(hi, lo);
            let second =
                u8x16_shuffle::<8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31>(
                    hi, lo,
                );
            // SAFETY: 32 bytes at 32·half of a 64-byte array.
            unsafe {
                v128_store(o.as_mut_ptr().add(32 * half).cast(), first);
                v128_store(o.as_mut_ptr().add(32 * half + 16).cast(), second);
            }
        }
        o
    }
}

/// The WIT `row-checksum`: the checksum of one row given as parallel lists
/// of column names and values. Fails when the lengths differ or a name
/// repeats.
pub fn row_checksum(header: &[String], fields: &[String]) -> Result<String, String> {
    if header.len() != fields.len() {
        return Err(format!(
            "{} column names but {} values",
            header.len(),
            fields.len()
        ));
    }
    let plan = ChecksumPlan::new(header);
    // Sorted order puts equal names next to each other.
    let mut sorted: Vec<&str> = header.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("column name {:?} appears more than once", w[0]));
    }
    let hex = plan.compute(|i| fields[i].as_bytes());
    // The digits are ASCII.
    Ok(hex.iter().map(|&b| b as char).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn policy_example() {
        let header = strings(&["file_seq", "timestamp", "trade_id", "symbol", "profit_loss"]);
        let fields = strings(&[
            "1",
            "2024-09-10T14:30:00Z",
            "TRADE_20240910_001",
            "EURUSD",
            "25.0",
        ]);
        assert_eq!(
            row_checksum(&header, &fields).unwrap(),
            "184da472a00855017d3d45a6e735d74b4b4712b97283c2635c606790ff832cc8"
        );
    }

    #[test]
    fn tricky_values_match_python() {
        // python3: compute_row_checksum({'b':'x,y','a':'he said "hi"',
        //   'c':'multi\nline\r\nz','d':'','e':'pi|pe','f':'é中😀',
        //   'checksum_sha256':'zzz','file_seq':'7'})
        let header = strings(&["b", "a", "c", "d", "e", "f", "checksum_sha256", "file_seq"]);
        let fields = strings(&[
            "x,y",
            "he said \"hi\"",
            "multi\nline\r\nz",
            "",
            "pi|pe",
            "é中😀",
            "zzz",
            "7",
        ]);
        assert_eq!(
            row_checksum(&header, &fields).unwrap(),
            "85e77c9f723ff43a79f4b88fcc4c08eba3548abd5d404b689fad516d8a4435a4"
        );
    }

    #[test]
    fn name_order_is_code_point_order() {
        // python3: compute_row_checksum({'Z':'1','a':'2','_':'3','é':'4','aa':'5','a b':'6'})
        let header = strings(&["Z", "a", "_", "é", "aa", "a b"]);
        let fields = strings(&["1", "2", "3", "4", "5", "6"]);
        assert_eq!(
            row_checksum(&header, &fields).unwrap(),
            "d9378a37d95e727728a08e810d800d640d75f9c6ef992a5884642ad36a02f88f"
        );
        let plan = ChecksumPlan::new(&header);
        assert_eq!(plan.order(), &[0, 2, 1, 5, 4, 3]);
    }

    #[test]
    fn degenerate_rows() {
        // sha256(b"") for a row of one empty value and for no values at all.
        let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(
            row_checksum(&strings(&["x"]), &strings(&[""])).unwrap(),
            empty
        );
        assert_eq!(row_checksum(&[], &[]).unwrap(), empty);
        assert_eq!(
            row_checksum(&strings(&["checksum_sha256"]), &strings(&["abc"])).unwrap(),
            empty
        );
    }

    #[test]
    fn rejects_bad_input() {
        assert!(row_checksum(&strings(&["a", "b"]), &strings(&["1"])).is_err());
        let err = row_checksum(&strings(&["a", "b", "a"]), &strings(&["1", "2", "3"])).unwrap_err();
        assert!(err.contains("\"a\""), "{err}");
    }

    #[test]
    fn joined_input_hashes_like_compute() {
        let header = strings(&["file_seq", "b", "checksum_sha256", "a"]);
        let fields = strings(&["7", "x|y", "ignored", "é"]);
        let plan = ChecksumPlan::new(&header);
        let mut joined = Vec::new();
        plan.join_into(|i| fields[i].as_bytes(), &mut joined);
        assert_eq!(joined, "é|x|y|7".as_bytes());
        let direct = plan.compute(|i| fields[i].as_bytes());
        assert_eq!(hex(&Sha256::digest(&joined).into()), direct);
        assert_eq!(
            &hex(&Sha256::digest(b"").into())[..],
            b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn hex_is_lowercase() {
        let hex = to_hex(&[0xAB; 32]);
        assert_eq!(&hex[..4], b"abab");
    }
}
