//! Sealing with a concurrent, independent check: the sealer runs on the
//! calling thread; a second thread takes each sealed chunk, gives it to the
//! sink, takes its SHA-256 (per segment, see [`crate::segment_digest`]) and
//! feeds it to a fresh instance of the built-in verifier. So the digest is
//! a record of exactly the bytes that were given to the sink and judged.
//!
//! The sink is anything that keeps the sealed bytes (a temp file for a
//! local write; an upload elsewhere). What the caller must do afterwards,
//! before it commits, is make sure the sink holds exactly the bytes that
//! were judged: read them back and compare with [`CheckedSeal::digests`]
//! (for a file: [`SegmentDigests::check_file`]). See ARCHITECTURE.md, "The
//! write path", for why that is as strong as reading the file back through
//! the verifier.

use std::io::Read;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::error::{Error, Result};
use crate::report::{ErrorKind, RowError, SealSummary, VerifyReport};
use crate::sandbox::{Sandbox, SealOptions, SealRejected, SealSession, VerifySession};
use crate::segment_digest::{SEGMENT_BYTES, SegmentDigests, SegmentHasher};
use crate::transcode::DecodeError;
use crate::verify::{CHUNK_SIZE, Schema, read_full, schema_error};

/// Where sealed bytes go, in order. A failure stops the seal.
pub trait SealedSink {
    /// Keeps `bytes`, which follow every byte given before.
    fn write_sealed(&mut self, bytes: &[u8]) -> Result<()>;
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
    /// to the sink, per segment of [`SEGMENT_BYTES`].
    pub digests: SegmentDigests,
}

/// Sealed chunks in flight to the verifier: enough to keep both threads
/// busy, few enough that memory stays flat (a chunk is the sealed form of
/// one 1 MiB input read).
const IN_FLIGHT: usize = 2;

/// Seals `input` with `sealer` into `sink` while `verifier` (csvseal's own
/// component, never a plugin) judges every byte given to the sink, as it
/// is produced. The sink is written from the verifier's thread (which
/// balances the work of the two threads: sealing is the heavier).
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
    label: &Path,
) -> Result<CheckedSeal> {
    debug_assert!(verifier.is_builtin(), "a plugin must not judge output");
    let sealing = sealer
        .sealer(options)
        .map_err(|e| schema_error(e, schema))?;
    let judging = crate::verify::start(verifier, schema)?;
    let (tx, rx) = sync_channel::<Vec<u8>>(IN_FLIGHT);
    let (sealed, judged) = std::thread::scope(|scope| {
        let judge = std::thread::Builder::new()
            .name("csvseal-verify".into())
            .spawn_scoped(scope, move || judge(judging, rx, sink))
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
        Err(e) => (Err(e), SegmentHasher::new(SEGMENT_BYTES).finish()),
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
    tx: &SyncSender<Vec<u8>>,
) -> Result<Sealed> {
    let mut buf = vec![0u8; CHUNK_SIZE];
    loop {
        let n = read_full(input, &mut buf).map_err(|e| read_error(e, input_label))?;
        if n == 0 {
            break;
        }
        let out = session.feed(&buf[..n])?;
        if !out.is_empty() && tx.send(out).is_err() {
            return Ok(Sealed::VerifierGone);
        }
    }
    match session.finish()? {
        Ok((tail, summary)) => {
            if !tail.is_empty() && tx.send(tail).is_err() {
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

/// What the verifier's thread found.
struct Judged {
    report: VerifyReport,
    digests: SegmentDigests,
}

/// The other side: every chunk, in order, is given to the sink, hashed and
/// fed to the verifier, until the sealing side closes the channel. The
/// three see the same immutable buffer.
fn judge(
    mut session: VerifySession,
    rx: Receiver<Vec<u8>>,
    sink: &mut (dyn SealedSink + Send),
) -> Result<Judged> {
    let mut hasher = SegmentHasher::new(SEGMENT_BYTES);
    for chunk in rx {
        sink.write_sealed(&chunk)?;
        hasher.update(&chunk);
        session.feed(&chunk)?;
    }
    Ok(Judged {
        report: session.finish()?,
        digests: hasher.finish(),
    })
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
