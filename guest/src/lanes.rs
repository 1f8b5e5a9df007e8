//! The lane scheduler: SHA-256 of a stream of messages (one per row), with
//! every lane kept busy while messages are waiting.
//!
//! [`crate::sha256x4`] compresses one block of each of several messages at
//! once, one message per SIMD lane. Hashing four rows in lockstep leaves
//! lanes idle when widths differ: next to an 80-block row, three 2-block
//! rows finish after two steps and their lanes idle for 78. Here, as in
//! multi-buffer libraries (ISA-L, intel-ipsec-mb's job manager), a lane
//! whose message ends takes the next one: rows are submitted as they are
//! read, and each lane's message starts at whatever step the lane came free.
//!
//! * Order: [`LaneHasher::submit`] and [`LaneHasher::submit_digest`] give
//!   messages consecutive places; [`LaneHasher::pop`] returns digests in
//!   that order, each once it and all before it are done. A caller keeps
//!   its per-row data in a queue of the same order.
//! * Work happens only when it must: a submission finding every lane busy
//!   runs the lanes until one frees (so they run full), and
//!   [`LaneHasher::drain`] finishes everything (lanes may then idle).
//! * Memory: a lane holds a padded copy of its message, so callers submit
//!   only rows up to [`crate::checksum::BATCH_MAX_ROW_BYTES`] and hash
//!   larger ones themselves, straight from the record, handing in the
//!   digest ([`LaneHasher::submit_digest`]). At most [`MAX_IN_FLIGHT`]
//!   digests wait: past that a submission first finishes the oldest.
//! * [`LaneStats`] counts blocks hashed and lane-steps run, for the
//!   benchmarks' utilisation figure; a few additions per round.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use crate::sha256x4::{H0, Lanes, compress};

/// Most digests that may wait for an earlier, longer message.
pub const MAX_IN_FLIGHT: usize = 4096;

/// How the lanes' blocks are compressed.
pub trait Engine {
    /// Number of lanes (at most 8).
    const N: usize;
    /// The chaining values of every lane.
    type State;
    fn new_state() -> Self::State;
    /// Starts the lanes whose bit is set in `lanes` afresh.
    fn reset(state: &mut Self::State, lanes: u32);
    /// Compresses block `blocks[l]` into lane `l`, for the lanes whose bit
    /// is set in `busy` (others may be compressed too, and ignored).
    fn compress(state: &mut Self::State, blocks: &[&[u8; 64]], busy: u32);
    /// The digest held by `lane`.
    fn digest(state: &Self::State, lane: usize) -> [u8; 32];
}

/// The lanes of a SIMD group ([`crate::sha256x4::Vector`], or a
/// [`crate::sha256x4::Pair`] of them for eight lanes).
pub struct Simd<L>(core::marker::PhantomData<L>);

impl<L: Lanes> Engine for Simd<L> {
    const N: usize = L::N;
    type State = [L; 8];
    #[inline(always)]
    fn new_state() -> [L; 8] {
        core::array::from_fn(|i| L::splat(H0[i]))
    }
    #[inline(always)]
    fn reset(state: &mut [L; 8], lanes: u32) {
        let bits: [u32; 8] =
            core::array::from_fn(|l| if lanes >> l & 1 == 1 { u32::MAX } else { 0 });
        let mask = L::from_lanes(&bits[..L::N]);
        for (s, h) in state.iter_mut().zip(H0) {
            *s = L::select(L::splat(h), *s, mask);
        }
    }
    #[inline(always)]
    fn compress(state: &mut [L; 8], blocks: &[&[u8; 64]], _busy: u32) {
        compress(state, &L::load_blocks(blocks));
    }
    #[inline(always)]
    fn digest(state: &[L; 8], lane: usize) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (o, w) in out.chunks_exact_mut(4).zip(state) {
            o.copy_from_slice(&w.lane(lane).to_be_bytes());
        }
        out
    }
}

/// `N` lanes, each compressed by the `sha2` crate (which uses the CPU's SHA
/// instructions): the native build's engine, so that native callers keep
/// their speed while running the same scheduler as the component.
#[cfg(not(target_arch = "wasm32"))]
pub struct Sha2Lanes<const N: usize>;

#[cfg(not(target_arch = "wasm32"))]
impl<const N: usize> Engine for Sha2Lanes<N> {
    const N: usize = N;
    type State = [[u32; 8]; N];
    fn new_state() -> Self::State {
        [H0; N]
    }
    fn reset(state: &mut Self::State, lanes: u32) {
        for (l, s) in state.iter_mut().enumerate() {
            if lanes >> l & 1 == 1 {
                *s = H0;
            }
        }
    }
    fn compress(state: &mut Self::State, blocks: &[&[u8; 64]], busy: u32) {
        for (l, (s, b)) in state.iter_mut().zip(blocks).enumerate() {
            if busy >> l & 1 == 1 {
                sha2::compress256(s, &[(**b).into()]);
            }
        }
    }
    fn digest(state: &Self::State, lane: usize) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (o, w) in out.chunks_exact_mut(4).zip(&state[lane]) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        out
    }
}

/// The component's engine: four lanes in one `v128` (eight, as two
/// interleaved groups, measured slower; see ARCHITECTURE.md).
#[cfg(target_arch = "wasm32")]
pub type RowEngine = Simd<crate::sha256x4::Vector>;
/// The native engine: as many lanes as the component, compressed by `sha2`.
#[cfg(not(target_arch = "wasm32"))]
pub type RowEngine = Sha2Lanes<4>;

/// The scheduler the verifier and the sealer use.
pub type RowHasher = LaneHasher<RowEngine>;

/// Work counters: `blocks` compressed for messages, out of `steps` steps
/// of `lanes` lanes each. Utilisation is `blocks / (lanes * steps)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LaneStats {
    pub lanes: u64,
    pub blocks: u64,
    pub steps: u64,
}

impl core::ops::AddAssign for LaneStats {
    fn add_assign(&mut self, o: LaneStats) {
        self.lanes = self.lanes.max(o.lanes);
        self.blocks += o.blocks;
        self.steps += o.steps;
    }
}

/// One lane's message: padded, `next` bytes of it compressed.
#[derive(Default)]
struct Lane {
    msg: Vec<u8>,
    next: usize,
    /// Its place in `LaneHasher::done`, counted from the first submission.
    ticket: u64,
}

/// When [`LaneHasher::run`] may stop.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Until {
    /// A lane is free.
    Free,
    /// The oldest waiting digest is done.
    Oldest,
    /// Every lane is free.
    Idle,
}

/// Hashes messages in [`Engine::N`] lanes, refilling each lane as soon as
/// its message ends; digests come back in submission order.
pub struct LaneHasher<E: Engine> {
    state: E::State,
    lanes: Vec<Lane>,
    /// Lanes holding a message (bit `l` for lane `l`).
    busy: u32,
    /// Lanes whose message is new: their state restarts before the next step.
    fresh: u32,
    /// Digests of the submissions `base..base + done.len()`, None while
    /// hashing.
    done: VecDeque<Option<[u8; 32]>>,
    base: u64,
    stats: LaneStats,
}

impl<E: Engine> core::fmt::Debug for LaneHasher<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LaneHasher")
            .field("busy", &self.busy)
            .field("waiting", &self.done.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl<E: Engine> Default for LaneHasher<E> {
    fn default() -> Self {
        Self::new()
    }
}

/// The block an idle lane compresses (its result is never read).
static IDLE_BLOCK: [u8; 64] = [0; 64];

impl<E: Engine> LaneHasher<E> {
    pub fn new() -> Self {
        assert!(E::N <= 8);
        LaneHasher {
            state: E::new_state(),
            lanes: (0..E::N).map(|_| Lane::default()).collect(),
            busy: 0,
            fresh: 0,
            done: VecDeque::new(),
            base: 0,
            stats: LaneStats {
                lanes: E::N as u64,
                ..LaneStats::default()
            },
        }
    }

    fn all(&self) -> u32 {
        (1u32 << E::N) - 1
    }

    /// Queues the message that `fill` appends to the (empty) buffer it is
    /// given: it takes a lane now, after running the lanes until one is
    /// free if none is.
    #[inline]
    pub fn submit(&mut self, fill: impl FnOnce(&mut Vec<u8>)) {
        if self.done.len() >= MAX_IN_FLIGHT {
            self.run(Until::Oldest);
        }
        if self.busy == self.all() {
            self.run(Until::Free);
        }
        let l = (!self.busy).trailing_zeros() as usize;
        let ticket = self.base + self.done.len() as u64;
        let lane = &mut self.lanes[l];
        lane.msg.clear();
        fill(&mut lane.msg);
        pad(&mut lane.msg);
        lane.next = 0;
        lane.ticket = ticket;
        self.busy |= 1 << l;
        self.fresh |= 1 << l;
        self.done.push_back(None);
    }

    /// Queues a digest computed elsewhere (a message too long to copy).
    pub fn submit_digest(&mut self, digest: [u8; 32]) {
        if self.done.len() >= MAX_IN_FLIGHT {
            self.run(Until::Oldest);
        }
        self.done.push_back(Some(digest));
    }

    /// The next digest in submission order, once it is done.
    #[inline]
    pub fn pop(&mut self) -> Option<[u8; 32]> {
        match self.done.front() {
            Some(Some(_)) => {
                self.base += 1;
                self.done.pop_front().flatten()
            }
            _ => None,
        }
    }

    /// Finishes every submitted message (then [`Self::pop`] returns them
    /// all).
    pub fn drain(&mut self) {
        self.run(Until::Idle);
    }

    /// Submissions whose digest has not been popped.
    pub fn waiting(&self) -> usize {
        self.done.len()
    }

    pub fn stats(&self) -> LaneStats {
        self.stats
    }

    fn run(&mut self, until: Until) {
        loop {
            let stop = match until {
                Until::Free => self.busy != self.all(),
                Until::Oldest => !matches!(self.done.front(), Some(None)),
                Until::Idle => self.busy == 0,
            };
            if stop || self.busy == 0 {
                return;
            }
            self.round();
        }
    }

    /// Runs the lanes until at least one message ends.
    #[cfg_attr(target_arch = "wasm32", target_feature(enable = "simd128"))]
    fn round(&mut self) {
        let busy = self.busy;
        let mut steps = usize::MAX;
        let mut windows: [&[u8]; 8] = [&IDLE_BLOCK; 8];
        let mut stride = [0usize; 8];
        for (l, lane) in self.lanes.iter().enumerate() {
            if busy >> l & 1 == 1 {
                steps = steps.min((lane.msg.len() - lane.next) / 64);
            }
        }
        for (l, lane) in self.lanes.iter().enumerate() {
            if busy >> l & 1 == 1 {
                windows[l] = &lane.msg[lane.next..lane.next + 64 * steps];
                stride[l] = 64;
            }
        }
        if self.fresh != 0 {
            E::reset(&mut self.state, self.fresh);
            self.fresh = 0;
        }
        for s in 0..steps {
            let blocks: [&[u8; 64]; 8] = core::array::from_fn(|l| {
                let at = s * stride[l];
                windows[l][at..at + 64].try_into().expect("64 bytes")
            });
            E::compress(&mut self.state, &blocks[..E::N], busy);
        }
        self.stats.steps += steps as u64;
        self.stats.blocks += (steps * busy.count_ones() as usize) as u64;
        for l in 0..E::N {
            if busy >> l & 1 == 0 {
                continue;
            }
            let lane = &mut self.lanes[l];
            lane.next += 64 * steps;
            if lane.next == lane.msg.len() {
                let at = (lane.ticket - self.base) as usize;
                self.done[at] = Some(E::digest(&self.state, l));
                self.busy &= !(1 << l);
            }
        }
    }
}

/// Appends SHA-256 padding: `0x80`, zeros, the length in bits. Written as
/// fixed-size stores: a variable-length fill would be a `memory.fill`,
/// which wasmtime runs as a call out of the compiled code.
#[inline]
fn pad(msg: &mut Vec<u8>) {
    let len = msg.len();
    let total = (len + 9).div_ceil(64) * 64;
    // At most 72 bytes of padding; 80 zeroed keeps the fill a constant.
    msg.reserve(80);
    // SAFETY: `reserve` made room for 80 bytes after `len`, and
    // `total - len <= 72`; every byte up to `total` is written before
    // `set_len` covers it.
    unsafe {
        let end = msg.as_mut_ptr().add(len);
        core::ptr::write_bytes(end, 0, 80);
        *end = 0x80;
        let bits = ((len as u64) * 8).to_be_bytes();
        core::ptr::copy_nonoverlapping(bits.as_ptr(), msg.as_mut_ptr().add(total - 8), 8);
        msg.set_len(total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzz_oracle::Rng;
    use crate::sha256x4::{Pair, Vector};
    use alloc::vec;
    use sha2::{Digest, Sha256};

    /// Random widths (mostly short, some long), submitted with pops,
    /// precomputed digests and drains at random points: every digest
    /// matches `sha2`'s, in order, and the stats add up.
    fn random_mixes<E: Engine>() {
        let mut rng = Rng(0x5eed_1a9e ^ E::N as u64);
        for round in 0..60 {
            let n = 1 + rng.below(300) as usize;
            let msgs: Vec<Vec<u8>> = (0..n)
                .map(|i| {
                    let len = match rng.below(10) {
                        0 => rng.below(6000) as usize,
                        1 => 50 + rng.below(20) as usize,
                        2 => 110 + rng.below(20) as usize,
                        _ => rng.below(130) as usize,
                    };
                    (0..len).map(|j| (j * 131 + i * 7 + round) as u8).collect()
                })
                .collect();
            let mut h = LaneHasher::<E>::new();
            let mut got = Vec::new();
            let mut message_blocks = 0;
            for m in &msgs {
                if rng.below(20) == 0 {
                    h.submit_digest(Sha256::digest(m).into());
                } else {
                    message_blocks += (m.len() + 9).div_ceil(64) as u64;
                    h.submit(|buf| {
                        // In pieces, as fields are joined.
                        for piece in m.chunks(1 + rng.below(40) as usize) {
                            buf.extend_from_slice(piece);
                        }
                    });
                }
                if rng.below(3) == 0 {
                    got.extend(core::iter::from_fn(|| h.pop()));
                }
                if rng.below(50) == 0 {
                    h.drain();
                }
                assert!(h.waiting() <= MAX_IN_FLIGHT);
            }
            h.drain();
            got.extend(core::iter::from_fn(|| h.pop()));
            assert_eq!(h.waiting(), 0);
            let want: Vec<[u8; 32]> = msgs.iter().map(|m| Sha256::digest(m).into()).collect();
            assert_eq!(got, want, "round {round}");
            let s = h.stats();
            assert_eq!((s.lanes, s.blocks), (E::N as u64, message_blocks));
            assert!(s.blocks <= s.lanes * s.steps);
        }
    }

    #[test]
    fn portable_four_lanes_match_sha2() {
        random_mixes::<Simd<Vector>>();
    }

    #[test]
    fn portable_eight_lanes_match_sha2() {
        random_mixes::<Simd<Pair<Vector>>>();
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn sha2_lanes_match_sha2() {
        random_mixes::<Sha2Lanes<4>>();
        random_mixes::<Sha2Lanes<8>>();
    }

    #[test]
    fn long_rows_among_short_ones_keep_the_lanes_full() {
        // One 80-block row in 17, the rest 2 blocks: lockstep batches of
        // four used about 30% of the lanes; refilling uses nearly all.
        let mut h = RowHasher::new();
        let long = vec![b'x'; 5000];
        let short = vec![b'y'; 90];
        for i in 0..17_000 {
            let m = if i % 17 == 0 { &long } else { &short };
            h.submit(|buf| buf.extend_from_slice(m));
            while h.pop().is_some() {}
        }
        h.drain();
        let s = h.stats();
        let used = s.blocks as f64 / (s.lanes * s.steps) as f64;
        assert!(used > 0.97, "{s:?}: {used}");
    }

    #[test]
    fn the_oldest_long_message_bounds_the_wait() {
        let mut h = RowHasher::new();
        h.submit(|buf| buf.resize(60_000, 1));
        let mut n = 0;
        for _ in 0..2 * MAX_IN_FLIGHT {
            h.submit(|buf| buf.push(2));
            // The caller pops what is done after each submission.
            n += core::iter::from_fn(|| h.pop()).count();
            assert!(h.waiting() <= MAX_IN_FLIGHT);
        }
        h.drain();
        n += core::iter::from_fn(|| h.pop()).count();
        assert_eq!(n, 2 * MAX_IN_FLIGHT + 1);
    }
}
