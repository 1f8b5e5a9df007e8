//! SHA-256 of a byte stream, one digest per fixed-size segment (a hash
//! list), so that checking a file against it can use every core.
//!
//! Two byte sequences with the same segment size, the same length and the
//! same digest for every segment are equal (short of a SHA-256 collision).
//! The digests are computed natively: the `sha2` crate uses the CPU's SHA
//! instructions where there are some. Memory is 32 bytes per segment
//! (about 40 KiB for a 1.3 GB file with 1 MiB segments).

use std::fs::File;
use std::io;
use std::time::Instant;

use sha2::{Digest, Sha256};

/// The segment size csvseal uses: the size of its read chunks.
pub const SEGMENT_BYTES: u64 = 1 << 20;

/// The digests of a byte stream's segments (the last may be shorter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentDigests {
    /// Bytes per segment.
    pub segment_bytes: u64,
    /// The stream's length.
    pub len: u64,
    /// SHA-256 of each segment, in order (none for an empty stream).
    pub digests: Vec<[u8; 32]>,
}

/// Computes [`SegmentDigests`] incrementally, for bytes given in any chunks.
#[derive(Debug, Clone)]
pub struct SegmentHasher {
    segment_bytes: u64,
    len: u64,
    current: Sha256,
    /// Bytes in the current segment.
    filled: u64,
    digests: Vec<[u8; 32]>,
}

impl SegmentHasher {
    /// A hasher for segments of `segment_bytes` (at least 1).
    pub fn new(segment_bytes: u64) -> Self {
        assert!(segment_bytes > 0, "segments must hold bytes");
        SegmentHasher {
            segment_bytes,
            len: 0,
            current: Sha256::new(),
            filled: 0,
            digests: Vec::new(),
        }
    }

    /// Adds the next bytes of the stream.
    pub fn update(&mut self, mut bytes: &[u8]) {
        self.len += bytes.len() as u64;
        while !bytes.is_empty() {
            let room = (self.segment_bytes - self.filled).min(bytes.len() as u64) as usize;
            self.current.update(&bytes[..room]);
            self.filled += room as u64;
            bytes = &bytes[room..];
            if self.filled == self.segment_bytes {
                let done = std::mem::replace(&mut self.current, Sha256::new());
                self.digests.push(done.finalize().into());
                self.filled = 0;
            }
        }
    }

    /// Bytes the current segment still takes before it ends.
    pub fn room(&self) -> u64 {
        self.segment_bytes - self.filled
    }

    /// The digest of the segment the last bytes given completed, if they
    /// completed one (ask after giving bytes, not after an empty update).
    pub fn just_completed(&self) -> Option<&[u8; 32]> {
        if self.filled == 0 {
            self.digests.last()
        } else {
            None
        }
    }

    /// The digests of everything given.
    pub fn finish(mut self) -> SegmentDigests {
        if self.filled > 0 {
            self.digests.push(self.current.finalize().into());
        }
        SegmentDigests {
            segment_bytes: self.segment_bytes,
            len: self.len,
            digests: self.digests,
        }
    }
}

/// Why a file is not the stream it was checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The file has another length.
    Length { found: u64 },
    /// The segment starting at this offset differs.
    Segment { offset: u64 },
}

impl SegmentDigests {
    /// The digest of the last segment when it is shorter than the others
    /// (the stream does not end at a segment's end).
    pub fn shorter_last(&self) -> Option<&[u8; 32]> {
        if self.len.is_multiple_of(self.segment_bytes) {
            None
        } else {
            self.digests.last()
        }
    }

    /// Digests of `bytes` held in memory.
    pub fn of(bytes: &[u8], segment_bytes: u64) -> Self {
        let mut h = SegmentHasher::new(segment_bytes);
        h.update(bytes);
        h.finish()
    }

    /// Reads `file` (its current length and content, by positional reads)
    /// and checks it is exactly the stream these digests describe, hashing
    /// segments on up to `threads` threads. Reads fail with `TimedOut` once
    /// `deadline` has passed.
    pub fn check_file(
        &self,
        file: &File,
        threads: usize,
        deadline: Option<Instant>,
    ) -> io::Result<Result<(), Mismatch>> {
        let found = file.metadata()?.len();
        if found != self.len {
            return Ok(Err(Mismatch::Length { found }));
        }
        let segments = self.digests.len();
        let threads = threads.clamp(1, segments.max(1));
        // Each thread takes every `threads`-th segment; the first
        // mismatch (lowest offset) found is reported.
        let check = |first: usize| -> io::Result<Option<u64>> {
            let mut buf = vec![0u8; self.segment_bytes.min(self.len) as usize];
            for k in (first..segments).step_by(threads) {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(crate::deadline::deadline_passed());
                }
                let offset = k as u64 * self.segment_bytes;
                let n = (self.len - offset).min(self.segment_bytes) as usize;
                read_exact_at(file, &mut buf[..n], offset)?;
                if <[u8; 32]>::from(Sha256::digest(&buf[..n])) != self.digests[k] {
                    return Ok(Some(offset));
                }
            }
            Ok(None)
        };
        let results: Vec<io::Result<Option<u64>>> = if threads == 1 {
            vec![check(0)]
        } else {
            std::thread::scope(|s| {
                let others: Vec<_> = (1..threads)
                    .map(|t| {
                        std::thread::Builder::new()
                            .name("csvseal-readback".into())
                            .spawn_scoped(s, move || check(t))
                    })
                    .collect();
                let mut all = vec![check(0)];
                all.extend(others.into_iter().map(|spawned| {
                    spawned?
                        .join()
                        .unwrap_or_else(|_| Err(io::Error::other("read-back thread panicked")))
                }));
                all
            })
        };
        let mut first_bad = None::<u64>;
        for r in results {
            if let Some(offset) = r? {
                first_bad = Some(first_bad.map_or(offset, |f| f.min(offset)));
            }
        }
        if let Some(offset) = first_bad {
            return Ok(Err(Mismatch::Segment { offset }));
        }
        // Nothing was appended while we read.
        let found = file.metadata()?.len();
        Ok(if found == self.len {
            Ok(())
        } else {
            Err(Mismatch::Length { found })
        })
    }
}

/// Fills `buf` from `file` at `offset`; a file that ends first is an
/// `UnexpectedEof` error.
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(file, buf, offset);
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(file, buf, offset);
        match n {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn bytes(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn chunking_does_not_matter() {
        let data = bytes(10_000);
        let whole = SegmentDigests::of(&data, 1000);
        assert_eq!(whole.digests.len(), 10);
        for step in [1, 7, 999, 1000, 1001, 4096] {
            let mut h = SegmentHasher::new(1000);
            data.chunks(step).for_each(|c| h.update(c));
            assert_eq!(h.finish(), whole, "chunks of {step}");
        }
        let short = SegmentDigests::of(&data[..2500], 1000);
        assert_eq!(short.digests.len(), 3);
        assert_eq!(short.len, 2500);
        assert!(SegmentDigests::of(&[], 1000).digests.is_empty());
    }

    #[test]
    fn a_file_is_checked_whole_and_any_change_is_found() {
        let data = bytes(10_500);
        let digests = SegmentDigests::of(&data, 1000);
        let check = |content: &[u8], threads| {
            let mut f = tempfile::tempfile().unwrap();
            f.write_all(content).unwrap();
            digests.check_file(&f, threads, None).unwrap()
        };
        for threads in [1, 2, 3, 16] {
            assert_eq!(check(&data, threads), Ok(()));
            let mut flipped = data.clone();
            flipped[7777] ^= 1;
            assert_eq!(
                check(&flipped, threads),
                Err(Mismatch::Segment { offset: 7000 })
            );
            flipped[10_400] ^= 1;
            flipped[1] ^= 1;
            assert_eq!(
                check(&flipped, threads),
                Err(Mismatch::Segment { offset: 0 })
            );
            assert_eq!(
                check(&data[..10_499], threads),
                Err(Mismatch::Length { found: 10_499 })
            );
        }
        let empty = SegmentDigests::of(&[], SEGMENT_BYTES);
        let f = tempfile::tempfile().unwrap();
        assert_eq!(empty.check_file(&f, 2, None).unwrap(), Ok(()));
        let past = Some(Instant::now() - std::time::Duration::from_secs(1));
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&data).unwrap();
        let err = digests.check_file(&f, 2, past).unwrap_err();
        assert!(crate::deadline::is_deadline(&err), "{err}");
    }
}
