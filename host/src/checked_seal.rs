//! Writing with a concurrent, independent check: the sealer runs on the
//! calling thread; a second thread takes each sealed chunk, gives it to the
//! sink, takes its SHA-256 (per segment, see [`crate::segment_digest`]) and
//! feeds it to a fresh instance of the built-in verifier. So the digest is
//! a record of exactly the bytes that were given to the sink and judged.
//! [`copy_checked`] does the same for bytes read rather than sealed (a
//! verified copy).
//!
//! The sink is anything that keeps the bytes: a temp file for a local
//! write, a multipart upload (one part per segment) for object storage.
//! What the caller must do afterwards, before it commits, is make sure the
//! sink holds exactly the bytes that were judged: read them back and
//! compare with the digests (for a file: [`SegmentDigests::check_file`]),
//! or have the store check each part against its segment's digest, sent
//! with it. See ARCHITECTURE.md, "The write path", for why that is as
//! strong as reading the bytes back through the verifier.

use std::io::Read;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::report::{ErrorKind, RowError, SealSummary, VerifyReport};
use crate::sandbox::{Sandbox, SealOptions, SealRejected, SealSession, VerifySession};
use crate::segment_digest::{SegmentDigests, SegmentHasher};
use crate::transcode::DecodeError;
use crate::verify::{CHUNK_SIZE, Schema, read_full, schema_error};

/// Where checked bytes go, in order. A failure stops the write.
pub trait SealedSink {
    /// Keeps `bytes`, which follow every byte given before. Never more
    /// than the rest of the current segment at once.
    fn write_sealed(&mut self, bytes: Bytes) -> Result<()>;

    /// The bytes given since the last call complete a segment, whose
    /// SHA-256 is `digest`. Called for every segment, the last (shorter)
    /// one included, once its bytes are all given; never for an empty
    /// stream. A sink that sends segments elsewhere sends the digest with
    /// them, so the receiver can check it got the bytes that were judged.
    fn end_segment(&mut self, digest: &[u8; 32]) -> Result<()>;
}

/// The outcome of [`seal_checked`]: the sealer's summary and the built-in
/// verifier's report on the very bytes given to the sink, which agree.
#[derive(Debug, Clone)]
pub struct CheckedSeal {
    pub summary: SealSummary,
    /// The verifier's report: valid, with the summary's rows, last seq and
    /// byte count.
    pub verified: VerifyReport,
    /// SHA-256 of the bytes the verifier judged, which are the bytes given
    /// to the sink, per segment.
    pub digests: SegmentDigests,
}

/// Sealed chunks in flight to the verifier: enough to keep both threads
/// busy, few enough that memory stays flat (a chunk is the sealed form of
/// one 1 MiB input read).
const IN_FLIGHT: usize = 2;

/// Seals `input` with `sealer` into `sink` while `verifier` (csvseal's own
/// component, never a plugin) judges every byte given to the sink, as it
/// is produced, hashed in segments of `segment_bytes`. The sink is written
/// from the verifier's thread (which balances the work of the two threads:
/// sealing is the heavier).
///
/// Fails (and the caller must commit nothing) when reading, sealing or the
/// sink fails, when the input is rejected ([`Error::InputRejected`]), when
/// the verifier fails, and when its report is not valid or disagrees with
/// the sealer's summary on rows, last seq or bytes
/// ([`Error::WrittenFileInvalid`], naming `label`). Records the
/// verification's metrics once the seal is complete.
#[allow(clippy::too_many_arguments)]
pub fn seal_checked(
    sealer: &Sandbox,
    verifier: &Sandbox,
    options: &SealOptions,
    schema: Option<&Schema>,
    input: &mut dyn Read,
    input_label: &str,
    sink: &mut (dyn SealedSink + Send),
    segment_bytes: u64,
    label: &Path,
) -> Result<CheckedSeal> {
    debug_assert!(verifier.is_builtin(), "a plugin must not judge output");
    let sealing = sealer
        .sealer(options)
        .map_err(|e| schema_error(e, schema))?;
    let judge = Judge::start(verifier, schema, sink, segment_bytes)?;
    let (tx, rx) = sync_channel::<Bytes>(IN_FLIGHT);
    let (sealed, judged) = std::thread::scope(|scope| {
        let judge = std::thread::Builder::new()
            .name("csvseal-verify".into())
            .spawn_scoped(scope, move || judge.take_all(rx))
            .map_err(|e| Error::io(label, "start verifier thread", e))?;
        let sealed = feed_all(sealing, input, input_label, &tx);
        // Closing the channel ends the verifier's input.
        drop(tx);
        let judged = judge
            .join()
            .unwrap_or_else(|_| Err(Error::Sandbox("the verifier thread panicked".into())));
        Ok::<_, Error>((sealed, judged))
    })?;
    let summary = match sealed {
        Ok(Sealed::Done(summary)) => summary,
        // The other side stopped taking bytes: its error is the cause.
        Ok(Sealed::VerifierGone) => {
            return Err(judged
                .err()
                .unwrap_or_else(|| Error::Sandbox("the verifier stopped early".into())));
        }
        Err(e) => return Err(e),
    };
    let (report, digests) = match judged {
        Ok(j) => (Ok(j.report), j.digests),
        Err(e) => (Err(e), SegmentHasher::new(segment_bytes).finish()),
    };
    crate::monitor::metrics::verification(&report);
    let verified = report?;
    let agrees = verified.valid
        && verified.bytes == digests.len
        && verified.rows == summary.rows
        && verified.last_seq == summary.last_seq
        && verified.bytes == summary.bytes;
    if !agrees {
        return Err(Error::WrittenFileInvalid {
            path: label.to_owned(),
            report: Box::new(verified),
        });
    }
    Ok(CheckedSeal {
        summary,
        verified,
        digests,
    })
}

enum Sealed {
    Done(SealSummary),
    /// The other thread ended before the seal did (the sink or the
    /// verifier failed).
    VerifierGone,
}

/// The sealing side: read, seal, hand each output chunk to the other side.
fn feed_all(
    mut session: SealSession,
    input: &mut dyn Read,
    input_label: &str,
    tx: &SyncSender<Bytes>,
) -> Result<Sealed> {
    let mut buf = vec![0u8; CHUNK_SIZE];
    loop {
        let n = read_full(input, &mut buf).map_err(|e| read_error(e, input_label))?;
        if n == 0 {
            break;
        }
        let out = session.feed(&buf[..n])?;
        if !out.is_empty() && tx.send(out.into()).is_err() {
            return Ok(Sealed::VerifierGone);
        }
    }
    match session.finish()? {
        Ok((tail, summary)) => {
            if !tail.is_empty() && tx.send(tail.into()).is_err() {
                return Ok(Sealed::VerifierGone);
            }
            Ok(Sealed::Done(summary))
        }
        Err(SealRejected {
            errors,
            count,
            truncated,
        }) => Err(Error::InputRejected {
            input: input_label.to_owned(),
            errors,
            count,
            truncated,
        }),
    }
}

/// Copies `source` into `sink` while `verifier` (csvseal's own component)
/// judges every byte copied, hashed in segments of `segment_bytes`: a
/// verified copy. Returns the report, which the caller must find valid
/// before it commits, and the digests of the bytes copied.
pub fn copy_checked(
    verifier: &Sandbox,
    source: &mut dyn Read,
    source_label: &Path,
    sink: &mut (dyn SealedSink + Send),
    segment_bytes: u64,
) -> Result<(VerifyReport, SegmentDigests)> {
    debug_assert!(verifier.is_builtin(), "a plugin must not judge a copy");
    let mut judge = Judge::start(verifier, None, sink, segment_bytes)?;
    loop {
        let mut buf = vec![0u8; CHUNK_SIZE];
        let n =
            read_full(source, &mut buf).map_err(|e| Error::io(source_label, "read to copy", e))?;
        if n == 0 {
            break;
        }
        buf.truncate(n);
        judge.take(buf.into())?;
    }
    let judged = judge.finish()?;
    Ok((judged.report, judged.digests))
}

/// What the verifier found.
struct Judged {
    report: VerifyReport,
    digests: SegmentDigests,
}

/// The checking side: every chunk, in order, is given to the sink (cut at
/// segment ends), hashed and fed to the verifier. The three see the same
/// immutable buffer.
struct Judge<'a> {
    session: VerifySession,
    hasher: SegmentHasher,
    sink: &'a mut (dyn SealedSink + Send),
}

impl<'a> Judge<'a> {
    fn start(
        verifier: &Sandbox,
        schema: Option<&Schema>,
        sink: &'a mut (dyn SealedSink + Send),
        segment_bytes: u64,
    ) -> Result<Self> {
        Ok(Judge {
            session: crate::verify::start(verifier, schema)?,
            hasher: SegmentHasher::new(segment_bytes),
            sink,
        })
    }

    fn take(&mut self, chunk: Bytes) -> Result<()> {
        let mut rest = chunk.clone();
        while !rest.is_empty() {
            let room = usize::try_from(self.hasher.room()).unwrap_or(usize::MAX);
            let piece = rest.split_to(rest.len().min(room));
            self.hasher.update(&piece);
            self.sink.write_sealed(piece)?;
            if let Some(digest) = self.hasher.just_completed() {
                self.sink.end_segment(digest)?;
            }
        }
        self.session.feed(&chunk)
    }

    /// Takes chunks until the sending side closes the channel.
    fn take_all(mut self, rx: Receiver<Bytes>) -> Result<Judged> {
        for chunk in rx {
            self.take(chunk)?;
        }
        self.finish()
    }

    fn finish(self) -> Result<Judged> {
        let report = self.session.finish()?;
        let digests = self.hasher.finish();
        if let Some(last) = digests.shorter_last() {
            self.sink.end_segment(last)?;
        }
        Ok(Judged { report, digests })
    }
}

/// A failed read of the input: bytes not valid in its encoding reject the
/// input (located, like any bad row); anything else is an I/O error.
pub(crate) fn read_error(e: std::io::Error, input_label: &str) -> Error {
    match DecodeError::find(&e) {
        Some(bad) => Error::InputRejected {
            input: input_label.to_owned(),
            errors: vec![RowError {
                kind: ErrorKind::Encoding,
                line: bad.line,
                seq: None,
                column: None,
                message: bad.to_string(),
            }],
            count: 1,
            truncated: false,
        },
        None => Error::io(Path::new(input_label), "read input", e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::Limits;

    /// Records what a sink is given.
    #[derive(Default)]
    struct Recording {
        pieces: Vec<Bytes>,
        /// Bytes given before each `end_segment`, and its digest.
        ends: Vec<(usize, [u8; 32])>,
        given: usize,
    }

    impl SealedSink for Recording {
        fn write_sealed(&mut self, bytes: Bytes) -> Result<()> {
            self.given += bytes.len();
            self.pieces.push(bytes);
            Ok(())
        }
        fn end_segment(&mut self, digest: &[u8; 32]) -> Result<()> {
            self.ends.push((self.given, *digest));
            Ok(())
        }
    }

    #[test]
    fn the_sink_gets_every_byte_cut_at_segment_ends_and_each_segments_digest() {
        let sandbox = Sandbox::builtin(Limits::default()).unwrap();
        let data: Vec<u8> = (0..(5 * CHUNK_SIZE / 2) as u32)
            .map(|i| (i % 251) as u8)
            .collect();
        for (len, segment) in [
            (data.len(), 1000u64),
            (data.len(), CHUNK_SIZE as u64),
            (2 * CHUNK_SIZE, CHUNK_SIZE as u64),
            (data.len(), 3 * CHUNK_SIZE as u64),
            (0, 1000),
        ] {
            let data = &data[..len];
            let mut sink = Recording::default();
            let (_report, digests) =
                copy_checked(&sandbox, &mut &data[..], Path::new("x"), &mut sink, segment).unwrap();
            let want = SegmentDigests::of(data, segment);
            assert_eq!(digests, want, "{len} bytes, segments of {segment}");
            assert_eq!(sink.pieces.concat(), data);
            // No piece crosses a segment's end; each end is announced once,
            // at the right byte, with that segment's digest.
            let mut at = 0u64;
            for p in &sink.pieces {
                assert!(at / segment == (at + p.len() as u64 - 1) / segment);
                at += p.len() as u64;
            }
            let ends: Vec<usize> = (1..=want.digests.len())
                .map(|k| (k as u64 * segment).min(len as u64) as usize)
                .collect();
            assert_eq!(sink.ends.iter().map(|e| e.0).collect::<Vec<_>>(), ends);
            assert_eq!(
                sink.ends.iter().map(|e| e.1).collect::<Vec<_>>(),
                want.digests
            );
        }
    }
}
