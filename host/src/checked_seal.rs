//! Writing with a concurrent, independent check: the sealer runs on the
//! calling thread; a second thread takes each sealed chunk, gives it to the
//! sink, takes its SHA-256 (per segment, see [`crate::segment_digest`]) and
//! feeds it to a fresh instance of the built-in verifier. So the digest is
//! a record of exactly the bytes that were given to the sink and judged.
//! [`copy_checked`] does the same for bytes read rather than sealed (a
//! verified copy).
//!
//! When the sealer is a plugin, its output is also held to the input:
//! csvseal's own sealer reads the same input alongside (its output dropped
//! inside the component) for the columns, rows, `file_seq`s and values
//! digest the input gives, and the verifier digests the values of the rows
//! it reads; all must agree, and the rows must start at the `file_seq`
//! asked for. A write with the built-in sealer pays for neither digest.
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
use crate::sandbox::{
    DigestingVerifySession, InputDigestSession, Sandbox, SealOptions, SealRejected, SealSession,
    ValuesDigest, VerifySession,
};
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
/// sink fails, when the input is rejected ([`Error::InputRejected`]; with a
/// plugin, by it or by csvseal's own rules), when the verifier fails, and
/// when its report is not valid, disagrees with the sealer's summary on
/// rows, first or last seq or bytes, does not start at
/// `options.first_seq`, or (with a plugin) does not carry the input's
/// columns, rows, seqs and values ([`Error::WrittenFileInvalid`], naming
/// `label`, the disagreement among its errors). Records the verification's
/// metrics once the seal is complete.
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
    // A plugin's output is held to the input, judged by csvseal's own code.
    let plugin = !sealer.is_builtin();
    let shadow = if plugin {
        Some(
            verifier
                .input_digest(options)
                .map_err(|e| schema_error(e, schema))?,
        )
    } else {
        None
    };
    let judge = Judge::start(verifier, schema, sink, segment_bytes, plugin)?;
    let (tx, rx) = sync_channel::<Bytes>(IN_FLIGHT);
    let (sealed, judged) = std::thread::scope(|scope| {
        let judge = std::thread::Builder::new()
            .name("csvseal-verify".into())
            .spawn_scoped(scope, move || judge.take_all(rx))
            .map_err(|e| Error::io(label, "start verifier thread", e))?;
        let sealed = feed_all(sealing, shadow, input, input_label, &tx);
        // Closing the channel ends the verifier's input.
        drop(tx);
        let judged = judge
            .join()
            .unwrap_or_else(|_| Err(Error::Sandbox("the verifier thread panicked".into())));
        Ok::<_, Error>((sealed, judged))
    })?;
    let (summary, expected) = match sealed {
        Ok(Sealed::Done(summary, expected)) => (summary, expected),
        // The other side stopped taking bytes: its error is the cause.
        Ok(Sealed::VerifierGone) => {
            return Err(judged
                .err()
                .unwrap_or_else(|| Error::Sandbox("the verifier stopped early".into())));
        }
        Err(e) => return Err(e),
    };
    let (report, digests, values) = match judged {
        Ok(j) => (Ok(j.report), j.digests, j.values),
        Err(e) => (Err(e), SegmentHasher::new(segment_bytes).finish(), None),
    };
    crate::monitor::metrics::verification(&report);
    let mut verified = report?;
    let unfaithful = unfaithful(&verified, options.first_seq, expected, values);
    let agrees = verified.valid
        && unfaithful.is_empty()
        && verified.bytes == digests.len
        && verified.rows == summary.rows
        && verified.first_seq == summary.first_seq
        && verified.last_seq == summary.last_seq
        && verified.bytes == summary.bytes;
    if !agrees {
        // Bytes that verify but are not what was asked for: say how. (Bytes
        // that do not verify are reported as the verifier found them.)
        if verified.valid && !unfaithful.is_empty() {
            verified.valid = false;
            verified.error_count += unfaithful.len() as u64;
            verified.errors.splice(0..0, unfaithful);
        }
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

/// How the bytes judged differ from what was asked for (the first
/// `file_seq`) and, with a plugin, from what csvseal's own sealer makes of
/// the input (`expected`; `values` is the verifier's digest). Empty when
/// they agree. Each is a whole-file error (line 0).
fn unfaithful(
    verified: &VerifyReport,
    first_seq: u64,
    expected: Option<(SealSummary, ValuesDigest)>,
    values: Option<ValuesDigest>,
) -> Vec<RowError> {
    let mut found = Vec::new();
    let mut push = |kind, column: Option<&str>, message: String| {
        found.push(RowError {
            kind,
            line: 0,
            seq: None,
            column: column.map(str::to_owned),
            message,
        })
    };
    if let Some(first) = verified.first_seq.filter(|&s| s != first_seq) {
        push(
            ErrorKind::SequenceViolation,
            Some("file_seq"),
            format!("the rows start at file_seq {first}, the write asked for {first_seq}"),
        );
    }
    let Some((want, want_values)) = expected else {
        return found;
    };
    let show = |s: Option<u64>| s.map_or("none".to_owned(), |s| s.to_string());
    if verified.columns != want.columns {
        push(
            ErrorKind::BadHeader,
            None,
            format!(
                "the plugin wrote the columns {:?}; the input's are {:?}",
                verified.columns, want.columns
            ),
        );
    }
    if (verified.rows, verified.first_seq, verified.last_seq)
        != (want.rows, want.first_seq, want.last_seq)
    {
        push(
            ErrorKind::SequenceViolation,
            Some("file_seq"),
            format!(
                "the plugin wrote {} rows, file_seq {} to {}; the input gives {} rows, file_seq {} to {}",
                verified.rows,
                show(verified.first_seq),
                show(verified.last_seq),
                want.rows,
                show(want.first_seq),
                show(want.last_seq)
            ),
        );
    }
    if values != Some(want_values) {
        push(
            ErrorKind::Malformed,
            None,
            "the plugin's rows do not carry the input's values in order \
             (a value altered, or a row dropped, added or moved)"
                .to_owned(),
        );
    }
    found
}

enum Sealed {
    /// The plugin's summary, and with a plugin what csvseal's own sealer
    /// makes of the input.
    Done(SealSummary, Option<(SealSummary, ValuesDigest)>),
    /// The other thread ended before the seal did (the sink or the
    /// verifier failed).
    VerifierGone,
}

/// Sealed output up to this size is cut into pieces that share it: a
/// lagging verifier keeps at most this much alive. See [`send_sealed`].
const SHARED_UP_TO: usize = 4 * CHUNK_SIZE;

/// Sends sealed bytes to the verifier thread in pieces of at most
/// `CHUNK_SIZE`; false when it is gone. A record near `--max-record-mib`
/// comes out of the sealer as one chunk: whole, each would take its size
/// again in the verifier's linear memory (which never shrinks), and
/// `IN_FLIGHT` of them would queue several records' worth. Pieces of such
/// a chunk are copies, so that it is freed on return: pieces sharing it
/// would keep it alive until the verifier took the last, and a sealer
/// quicker than the verifier would by then hold the next record's chunk
/// too (one record more at the peak, seen under load). The usual output,
/// the sealed form of one read, is shared rather than copied.
fn send_sealed(tx: &SyncSender<Bytes>, out: Vec<u8>) -> bool {
    if out.len() > SHARED_UP_TO {
        return out
            .chunks(CHUNK_SIZE)
            .all(|piece| tx.send(Bytes::copy_from_slice(piece)).is_ok());
    }
    let mut bytes = Bytes::from(out);
    while !bytes.is_empty() {
        let piece = bytes.split_to(bytes.len().min(CHUNK_SIZE));
        if tx.send(piece).is_err() {
            return false;
        }
    }
    true
}

/// The sealing side: read, seal, hand each output chunk to the other side;
/// with a plugin, also give each chunk of input to `shadow`.
fn feed_all(
    mut session: SealSession,
    mut shadow: Option<InputDigestSession>,
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
        if let Some(shadow) = &mut shadow {
            shadow.feed(&buf[..n])?;
        }
        let out = session.feed(&buf[..n])?;
        if !send_sealed(tx, out) {
            return Ok(Sealed::VerifierGone);
        }
    }
    let summary = match session.finish()? {
        Ok((tail, summary)) => {
            if !send_sealed(tx, tail) {
                return Ok(Sealed::VerifierGone);
            }
            summary
        }
        Err(rejected) => return Err(rejected_input(rejected, input_label)),
    };
    // csvseal's own rules still apply to the input a plugin accepted.
    let expected = match shadow.map(InputDigestSession::finish).transpose()? {
        Some(Err(rejected)) => return Err(rejected_input(rejected, input_label)),
        Some(Ok(expected)) => Some(expected),
        None => None,
    };
    Ok(Sealed::Done(summary, expected))
}

fn rejected_input(r: SealRejected, input_label: &str) -> Error {
    Error::InputRejected {
        input: input_label.to_owned(),
        errors: r.errors,
        count: r.count,
        truncated: r.truncated,
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
    let mut judge = Judge::start(verifier, None, sink, segment_bytes, false)?;
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
    /// The values digest of the rows, when asked for.
    values: Option<ValuesDigest>,
}

/// The built-in verifier, digesting values or not.
enum Judging {
    Plain(VerifySession),
    Digesting(DigestingVerifySession),
}

/// The checking side: every chunk, in order, is given to the sink (cut at
/// segment ends), hashed and fed to the verifier. The three see the same
/// immutable buffer.
struct Judge<'a> {
    session: Judging,
    hasher: SegmentHasher,
    sink: &'a mut (dyn SealedSink + Send),
}

impl<'a> Judge<'a> {
    fn start(
        verifier: &Sandbox,
        schema: Option<&Schema>,
        sink: &'a mut (dyn SealedSink + Send),
        segment_bytes: u64,
        digest_values: bool,
    ) -> Result<Self> {
        let session = if digest_values {
            let schema_json = schema.map(|s| s.json.as_str());
            Judging::Digesting(verifier.digesting_verifier(schema_json)?)
        } else {
            Judging::Plain(crate::verify::start(verifier, schema)?)
        };
        Ok(Judge {
            session,
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
        match &mut self.session {
            Judging::Plain(s) => s.feed(&chunk),
            Judging::Digesting(s) => s.feed(&chunk),
        }
    }

    /// Takes chunks until the sending side closes the channel.
    fn take_all(mut self, rx: Receiver<Bytes>) -> Result<Judged> {
        for chunk in rx {
            self.take(chunk)?;
        }
        self.finish()
    }

    fn finish(self) -> Result<Judged> {
        let (report, values) = match self.session {
            Judging::Plain(s) => (s.finish()?, None),
            Judging::Digesting(s) => s.finish().map(|(r, v)| (r, Some(v)))?,
        };
        let digests = self.hasher.finish();
        if let Some(last) = digests.shorter_last() {
            self.sink.end_segment(last)?;
        }
        Ok(Judged {
            report,
            digests,
            values,
        })
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
    fn pieces_of_a_record_sized_chunk_do_not_keep_it_alive() {
        let sent = |out: Vec<u8>| {
            let (tx, rx) = sync_channel(16);
            assert!(send_sealed(&tx, out));
            drop(tx);
            rx.iter().collect::<Vec<Bytes>>()
        };
        for len in [0, 10, CHUNK_SIZE + 1, SHARED_UP_TO, SHARED_UP_TO + 5] {
            let out: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
            let want = out.clone();
            let held = out.as_ptr_range();
            let pieces = sent(out);
            assert_eq!(pieces.len(), len.div_ceil(CHUNK_SIZE), "{len}");
            assert!(pieces.iter().all(|p| p.len() <= CHUNK_SIZE));
            assert_eq!(pieces.concat(), want);
            // Beyond SHARED_UP_TO, copies: none points into the chunk,
            // which is freed on return.
            let copies = pieces.iter().all(|p| !held.contains(&p.as_ptr()));
            assert!(len == 0 || copies == (len > SHARED_UP_TO), "{len}");
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
