//! SHA-256 compression of several messages at once, one per 32-bit lane.
//!
//! Verifying means one short SHA-256 per row, and in WebAssembly there is no
//! SHA instruction: hashing dominated verification. Rows are independent, so
//! four are hashed together in 128-bit SIMD lanes (the "multi-buffer"
//! technique), about three times the throughput of one-at-a-time scalar code.
//! This module is the arithmetic: [`compress`] over a group of lanes
//! ([`Lanes`]: a `v128` on wasm32, a plain `[u32; 4]` elsewhere, or a
//! [`Pair`] of them for eight lanes). Which message each lane holds, and
//! when, is [`crate::lanes`]'s business. The caller enables `simd128` for
//! the function everything here is inlined into, so the component needs no
//! global `-C target-feature` flag (every engine csvseal targets supports
//! SIMD).

/// SHA-256 round constants.
const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

pub const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// A group of u32 lanes (four, or eight as two groups of four) and the
/// operations SHA-256 needs.
pub trait Lanes: Copy {
    /// Number of lanes.
    const N: usize;
    fn splat(x: u32) -> Self;
    /// Lane `i` from `a[i]` (`a` has [`Self::N`] entries).
    fn from_lanes(a: &[u32]) -> Self;
    fn lane(self, i: usize) -> u32;
    fn add(self, o: Self) -> Self;
    fn xor(self, o: Self) -> Self;
    fn or(self, o: Self) -> Self;
    fn shr(self, n: u32) -> Self;
    fn shl(self, n: u32) -> Self;
    /// Bits of `a` where `mask` is 1, of `b` where it is 0.
    fn select(a: Self, b: Self, mask: Self) -> Self;

    /// The 16 big-endian words of [`Self::N`] blocks, word `j` of every
    /// lane in vector `j`.
    #[inline(always)]
    fn load_blocks(blocks: &[&[u8; 64]]) -> [Self; 16] {
        core::array::from_fn(|j| {
            let words: [u32; 8] = core::array::from_fn(|l| {
                blocks.get(l).map_or(0, |b| {
                    u32::from_be_bytes([b[4 * j], b[4 * j + 1], b[4 * j + 2], b[4 * j + 3]])
                })
            });
            Self::from_lanes(&words[..Self::N])
        })
    }

    #[inline(always)]
    fn rotr(self, n: u32) -> Self {
        self.shr(n).or(self.shl(32 - n))
    }
}

impl Lanes for [u32; 4] {
    const N: usize = 4;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        [x; 4]
    }
    #[inline(always)]
    fn from_lanes(a: &[u32]) -> Self {
        [a[0], a[1], a[2], a[3]]
    }
    #[inline(always)]
    fn lane(self, i: usize) -> u32 {
        self[i]
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        core::array::from_fn(|i| self[i].wrapping_add(o[i]))
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        core::array::from_fn(|i| self[i] ^ o[i])
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        core::array::from_fn(|i| self[i] | o[i])
    }
    #[inline(always)]
    fn shr(self, n: u32) -> Self {
        core::array::from_fn(|i| self[i] >> n)
    }
    #[inline(always)]
    fn shl(self, n: u32) -> Self {
        core::array::from_fn(|i| self[i] << n)
    }
    #[inline(always)]
    fn select(a: Self, b: Self, mask: Self) -> Self {
        core::array::from_fn(|i| (a[i] & mask[i]) | (b[i] & !mask[i]))
    }
}

/// Two groups side by side: every operation is done on both, so the
/// compiler sees two independent dependency chains per round.
#[derive(Clone, Copy)]
pub struct Pair<L>(pub L, pub L);

impl<L: Lanes> Lanes for Pair<L> {
    const N: usize = 2 * L::N;
    #[inline(always)]
    fn splat(x: u32) -> Self {
        Pair(L::splat(x), L::splat(x))
    }
    #[inline(always)]
    fn from_lanes(a: &[u32]) -> Self {
        Pair(L::from_lanes(&a[..L::N]), L::from_lanes(&a[L::N..]))
    }
    #[inline(always)]
    fn lane(self, i: usize) -> u32 {
        if i < L::N {
            self.0.lane(i)
        } else {
            self.1.lane(i - L::N)
        }
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Pair(self.0.add(o.0), self.1.add(o.1))
    }
    #[inline(always)]
    fn xor(self, o: Self) -> Self {
        Pair(self.0.xor(o.0), self.1.xor(o.1))
    }
    #[inline(always)]
    fn or(self, o: Self) -> Self {
        Pair(self.0.or(o.0), self.1.or(o.1))
    }
    #[inline(always)]
    fn shr(self, n: u32) -> Self {
        Pair(self.0.shr(n), self.1.shr(n))
    }
    #[inline(always)]
    fn shl(self, n: u32) -> Self {
        Pair(self.0.shl(n), self.1.shl(n))
    }
    #[inline(always)]
    fn select(a: Self, b: Self, mask: Self) -> Self {
        Pair(L::select(a.0, b.0, mask.0), L::select(a.1, b.1, mask.1))
    }
    #[inline(always)]
    fn load_blocks(blocks: &[&[u8; 64]]) -> [Self; 16] {
        let lo = L::load_blocks(&blocks[..L::N]);
        let hi = L::load_blocks(&blocks[L::N..]);
        core::array::from_fn(|j| Pair(lo[j], hi[j]))
    }
}

#[cfg(target_arch = "wasm32")]
mod simd {
    use core::arch::wasm32::*;

    #[derive(Clone, Copy)]
    pub struct V(pub v128);

    impl super::Lanes for V {
        const N: usize = 4;
        #[inline(always)]
        fn splat(x: u32) -> Self {
            V(u32x4_splat(x))
        }
        #[inline(always)]
        fn from_lanes(a: &[u32]) -> Self {
            V(u32x4(a[0], a[1], a[2], a[3]))
        }
        #[inline(always)]
        fn lane(self, i: usize) -> u32 {
            let mut out = [0u32; 4];
            // SAFETY: 16 bytes into a 16-byte array.
            unsafe { v128_store(out.as_mut_ptr().cast(), self.0) };
            out[i]
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            V(i32x4_add(self.0, o.0))
        }
        #[inline(always)]
        fn xor(self, o: Self) -> Self {
            V(v128_xor(self.0, o.0))
        }
        #[inline(always)]
        fn or(self, o: Self) -> Self {
            V(v128_or(self.0, o.0))
        }
        #[inline(always)]
        fn shr(self, n: u32) -> Self {
            V(u32x4_shr(self.0, n))
        }
        #[inline(always)]
        fn shl(self, n: u32) -> Self {
            V(i32x4_shl(self.0, n))
        }
        #[inline(always)]
        fn select(a: Self, b: Self, mask: Self) -> Self {
            V(v128_bitselect(a.0, b.0, mask.0))
        }

        /// Vector loads, a byte swap per word, and a 4x4 transpose by
        /// shuffles: far fewer instructions than 64 scalar loads and inserts.
        #[inline(always)]
        fn load_blocks(blocks: &[&[u8; 64]]) -> [Self; 16] {
            let mut out = [V(u32x4_splat(0)); 16];
            for q in 0..4 {
                let rows: [v128; 4] = core::array::from_fn(|l| {
                    // SAFETY: 16 bytes at offset 16q of a 64-byte array;
                    // v128_load has no alignment requirement.
                    let raw = unsafe { v128_load(blocks[l].as_ptr().add(16 * q).cast()) };
                    i8x16_swizzle(
                        raw,
                        i8x16(3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12),
                    )
                });
                let t0 = i32x4_shuffle::<0, 4, 1, 5>(rows[0], rows[1]);
                let t1 = i32x4_shuffle::<2, 6, 3, 7>(rows[0], rows[1]);
                let t2 = i32x4_shuffle::<0, 4, 1, 5>(rows[2], rows[3]);
                let t3 = i32x4_shuffle::<2, 6, 3, 7>(rows[2], rows[3]);
                out[4 * q] = V(i32x4_shuffle::<0, 1, 4, 5>(t0, t2));
                out[4 * q + 1] = V(i32x4_shuffle::<2, 3, 6, 7>(t0, t2));
                out[4 * q + 2] = V(i32x4_shuffle::<0, 1, 4, 5>(t1, t3));
                out[4 * q + 3] = V(i32x4_shuffle::<2, 3, 6, 7>(t1, t3));
            }
            out
        }
    }
}

/// Four lanes in one SIMD register on wasm32, a plain array elsewhere.
#[cfg(target_arch = "wasm32")]
pub type Vector = simd::V;
/// Four lanes in one SIMD register on wasm32, a plain array elsewhere.
#[cfg(not(target_arch = "wasm32"))]
pub type Vector = [u32; 4];

/// One SHA-256 compression of four blocks (given as big-endian words).
///
/// The schedule is a rolling 16-word window and the rounds are unrolled by
/// macro, so every value stays in a local rather than a stack array.
#[inline(always)]
pub fn compress<L: Lanes>(state: &mut [L; 8], w: &[L; 16]) {
    let mut w = *w;
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    macro_rules! round {
        ($t:expr, $wt:expr) => {{
            let s1 = e.rotr(6).xor(e.rotr(11)).xor(e.rotr(25));
            let ch = L::select(f, g, e);
            let t1 = h.add(s1).add(ch).add(L::splat(K[$t])).add($wt);
            let s0 = a.rotr(2).xor(a.rotr(13)).xor(a.rotr(22));
            let maj = L::select(c, b, a.xor(b));
            let t2 = s0.add(maj);
            h = g;
            g = f;
            f = e;
            e = d.add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.add(t2);
        }};
    }
    macro_rules! schedule {
        ($i:expr) => {{
            let w15 = w[($i + 1) % 16];
            let w2 = w[($i + 14) % 16];
            let s0 = w15.rotr(7).xor(w15.rotr(18)).xor(w15.shr(3));
            let s1 = w2.rotr(17).xor(w2.rotr(19)).xor(w2.shr(10));
            w[$i] = w[$i].add(s0).add(w[($i + 9) % 16]).add(s1);
            w[$i]
        }};
    }
    macro_rules! sixteen {
        ($base:expr, $next:ident) => {
            round!($base, $next!(0));
            round!($base + 1, $next!(1));
            round!($base + 2, $next!(2));
            round!($base + 3, $next!(3));
            round!($base + 4, $next!(4));
            round!($base + 5, $next!(5));
            round!($base + 6, $next!(6));
            round!($base + 7, $next!(7));
            round!($base + 8, $next!(8));
            round!($base + 9, $next!(9));
            round!($base + 10, $next!(10));
            round!($base + 11, $next!(11));
            round!($base + 12, $next!(12));
            round!($base + 13, $next!(13));
            round!($base + 14, $next!(14));
            round!($base + 15, $next!(15));
        };
    }
    macro_rules! given {
        ($i:expr) => {
            w[$i]
        };
    }
    sixteen!(0, given);
    sixteen!(16, schedule);
    sixteen!(32, schedule);
    sixteen!(48, schedule);
    for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *s = s.add(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// One padded block of a message under 56 bytes.
    fn padded(m: &[u8]) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[..m.len()].copy_from_slice(m);
        b[m.len()] = 0x80;
        b[56..].copy_from_slice(&((m.len() as u64) * 8).to_be_bytes());
        b
    }

    fn one_block<L: Lanes>() {
        let msgs: alloc::vec::Vec<alloc::vec::Vec<u8>> = (0..L::N)
            .map(|l| (0..l * 7).map(|i| (i * 31 + l) as u8).collect())
            .collect();
        let blocks: alloc::vec::Vec<[u8; 64]> = msgs.iter().map(|m| padded(m)).collect();
        let refs: alloc::vec::Vec<&[u8; 64]> = blocks.iter().collect();
        let mut state: [L; 8] = core::array::from_fn(|i| L::splat(H0[i]));
        compress(&mut state, &L::load_blocks(&refs));
        for (l, m) in msgs.iter().enumerate() {
            let want: [u8; 32] = Sha256::digest(m).into();
            let got: alloc::vec::Vec<u8> =
                state.iter().flat_map(|w| w.lane(l).to_be_bytes()).collect();
            assert_eq!(got, want, "lane {l}");
        }
    }

    #[test]
    fn four_and_eight_lanes_match_sha2() {
        one_block::<Vector>();
        one_block::<Pair<Vector>>();
    }
}
