//! Verifying one file with several sandboxed instances at once.
//!
//! 1. A probe verifier reads the first [`PROBE_BYTES`] and reports where the
//!    header record ends (`data-start`), if the file can be verified in
//!    parts at all (built-in component, usable header, no schema check that
//!    relates rows).
//! 2. The rest is cut into `jobs` parts of about equal size, each cut just
//!    after the first `\n` at or after its target offset that ends a record
//!    (an even number of `"` before it; the `"` are counted on threads).
//! 3. Part 0 (header included) goes to an ordinary verifier; every later
//!    part to a continuation verifier given the header's bytes. Each part
//!    runs on its own thread, in its own store with its share of the
//!    file's memory, reading its range with positioned reads through the
//!    one open file, 1 MiB at a time.
//! 4. [`parts::merge`] turns clean parts into the whole file's report;
//!    otherwise (an error anywhere, a doubtful seam, a failed read) the file
//!    is verified again by one verifier from the start, whose report stands.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::parts::{self, Part, mergeable};
use super::schema::{Schema, schema_error};
use super::stream::CHUNK_SIZE;
use crate::error::{Error, Result};
use crate::report::VerifyReport;
use crate::sandbox::{Sandbox, VerifySession};

/// Most instances [`default_jobs`] puts on one file: each holds a store
/// (a few MiB) and a 1 MiB read buffer, and memory should stay flat.
pub const MAX_DEFAULT_JOBS: usize = 8;

/// The available cores, at most [`MAX_DEFAULT_JOBS`].
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(MAX_DEFAULT_JOBS)
}

/// What the probe reads: headers longer than this are verified whole.
pub(crate) const PROBE_BYTES: u64 = 64 << 10;
/// Smallest part worth its own thread and instance.
pub(crate) const MIN_PART_BYTES: u64 = 1 << 20;

/// Bytes verified so far, by all parts together, for a progress display.
pub(crate) struct Meter<'a> {
    done: AtomicU64,
    show: Option<&'a (dyn Fn(u64) + Sync)>,
}

impl<'a> Meter<'a> {
    pub(crate) fn new(show: Option<&'a (dyn Fn(u64) + Sync)>) -> Self {
        Meter {
            done: AtomicU64::new(0),
            show,
        }
    }

    fn add(&self, n: usize) {
        let done = self.done.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if let Some(show) = self.show {
            show(done);
        }
    }

    fn restart(&self) {
        self.done.store(0, Ordering::Relaxed);
        if let Some(show) = self.show {
            show(0);
        }
    }
}

/// One file being verified: what every step needs.
pub(crate) struct FileJob<'a> {
    pub sandbox: &'a Sandbox,
    pub schema: Option<&'a Schema>,
    pub file: &'a File,
    pub len: u64,
    pub label: &'a Path,
    pub meter: &'a Meter<'a>,
    /// Memory all of this file's instances may use together (parts divide
    /// it); at most the sandbox's limit.
    pub memory: usize,
}

impl FileJob<'_> {
    fn verifier(&self, header: Option<&[u8]>, memory: usize) -> Result<VerifySession> {
        let json = self.schema.map(|s| s.json.as_str());
        self.sandbox
            .verifier_within(json, header, memory)
            .map_err(|e| schema_error(e, self.schema))
    }

    fn read_error(&self, e: std::io::Error) -> Error {
        Error::io(self.label, "read", e)
    }
}

/// Verifies the file in up to `jobs` parts at once (0:
/// [`default_jobs`]).
pub(crate) fn verify_open(job: &FileJob<'_>, jobs: usize) -> Result<VerifyReport> {
    let most = (job.len / MIN_PART_BYTES) as usize;
    // The core count costs a few file reads: only worth asking for a
    // file that can be split.
    let parts = match jobs {
        _ if most < 2 => 1,
        0 => default_jobs().min(most),
        jobs => jobs.min(most),
    };
    if parts > 1
        && let Some(report) = in_parts(job, |data_start| even_cuts(job, data_start, parts))
    {
        tracing::debug!(file = %job.label.display(), parts, "verified in parts");
        return Ok(report);
    }
    whole(job)
}

/// Verifies `file` in parts that start exactly at `cuts` (those after the
/// header; no snapping to line ends), else whole. Returns the report and
/// whether the parts' merge gave it. For tests: whatever the cuts, the
/// report must equal [`super::verify_file_with`]'s with one job.
#[doc(hidden)]
pub fn verify_file_at_cuts(
    sandbox: &Sandbox,
    schema: Option<&Schema>,
    path: &Path,
    cuts: &[u64],
) -> Result<(VerifyReport, bool)> {
    let file = File::open(path).map_err(|e| Error::io(path, "open", e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(path, "stat", e))?
        .len();
    let meter = Meter::new(None);
    let job = FileJob {
        sandbox,
        schema,
        file: &file,
        len,
        label: path,
        meter: &meter,
        memory: sandbox.limits().memory_bytes,
    };
    let merged = in_parts(&job, |data_start| {
        let mut cuts: Vec<u64> = cuts
            .iter()
            .copied()
            .filter(|&c| c > data_start && c < len)
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        Some(cuts).filter(|c| !c.is_empty())
    });
    match merged {
        Some(report) => Ok((report, true)),
        None => whole(&job).map(|r| (r, false)),
    }
}

/// The merged report of the parts `plan` cuts the file into, or None when
/// the file must be verified whole.
fn in_parts(job: &FileJob<'_>, plan: impl FnOnce(u64) -> Option<Vec<u64>>) -> Option<VerifyReport> {
    if !job.sandbox.is_builtin() {
        // A plugin's continuation support is not ours to vouch for.
        return None;
    }
    let attempt = || -> Result<Option<VerifyReport>> {
        let Some(data_start) = probe(job)? else {
            return Ok(None);
        };
        let Some(cuts) = plan(data_start) else {
            return Ok(None);
        };
        let mut header = vec![0; data_start as usize];
        job.file
            .read_exact_at(&mut header, 0)
            .map_err(|e| job.read_error(e))?;
        let mut bounds = vec![0];
        bounds.extend(cuts);
        bounds.push(job.len);
        // The parts share the file's memory: together they need no more
        // than one verifier of the whole file.
        let share = job.memory / (bounds.len() - 1);
        let stop = AtomicBool::new(false);
        let results: Vec<Result<Part>> = std::thread::scope(|s| {
            let workers: Vec<_> = bounds
                .windows(2)
                .skip(1)
                .map(|w| {
                    let (range, header, stop) = (w[0]..w[1], &header[..], &stop);
                    s.spawn(move || part(job, Some(header), range, share, stop))
                })
                .collect();
            let first = part(job, None, 0..bounds[1], share, &stop);
            std::iter::once(first)
                .chain(workers.into_iter().map(|w| {
                    w.join().unwrap_or_else(|_| {
                        Err(Error::Sandbox("a verifier thread panicked".into()))
                    })
                }))
                .collect()
        });
        let parts: Vec<Part> = results.into_iter().collect::<Result<_>>()?;
        Ok(parts::merge(&parts, job.sandbox.limits().max_errors))
    };
    match attempt() {
        Ok(Some(report)) => Some(report),
        outcome => {
            if let Err(e) = outcome {
                tracing::debug!(file = %job.label.display(), "verifying in parts failed, verifying whole: {e}");
            }
            job.meter.restart();
            None
        }
    }
}

/// Where the header ends, when the file can be verified in parts.
fn probe(job: &FileJob<'_>) -> Result<Option<u64>> {
    let mut buf = vec![0; job.len.min(PROBE_BYTES) as usize];
    job.file
        .read_exact_at(&mut buf, 0)
        .map_err(|e| job.read_error(e))?;
    let mut session = job.verifier(None, job.memory)?;
    session.feed(&buf)?;
    let (_, facts) = session.finish_part()?;
    Ok(facts.data_start)
}

/// `parts - 1` cuts that split `data_start..len` evenly, each moved to the
/// first record boundary at or after its target: the first `\n` preceded by
/// an even number of `"` since `data_start`. A `\n` after an odd number is
/// inside a quoted field (a note with line breaks), and a part cut there
/// fails, so that the file was verified twice over. The `"` before each
/// target are counted on threads of their own, one per span between
/// targets, at memory speed (many times a verifier's).
fn even_cuts(job: &FileJob<'_>, data_start: u64, parts: usize) -> Option<Vec<u64>> {
    let len = job.len;
    let span = len - data_start;
    let targets: Vec<u64> = (1..parts as u64)
        .map(|k| data_start + span * k / parts as u64)
        .collect();
    let starts: Vec<u64> = std::iter::once(data_start)
        .chain(targets.iter().copied())
        .collect();
    // `"` in each span data_start..t1, t1..t2, ..., each span's count
    // split over `parts` threads (the work is the same for any number of
    // parts: everything before the last target).
    let pieces: Vec<std::ops::Range<u64>> = starts
        .windows(2)
        .flat_map(|w| {
            let (a, b) = (w[0], w[1]);
            let n = parts as u64;
            (0..n).map(move |i| a + (b - a) * i / n..a + (b - a) * (i + 1) / n)
        })
        .collect();
    let per_thread = pieces.len().div_ceil(parts);
    let piece_counts: Vec<u64> = std::thread::scope(|s| {
        let counters: Vec<_> = pieces
            .chunks(per_thread)
            .map(|ranges| {
                s.spawn(move || {
                    ranges
                        .iter()
                        .map(|r| count_quotes(job.file, r.clone()))
                        .collect::<Option<Vec<u64>>>()
                })
            })
            .collect();
        counters
            .into_iter()
            .map(|c| c.join().ok().flatten())
            .collect::<Option<Vec<Vec<u64>>>>()
    })?
    .concat();
    let counts: Vec<u64> = piece_counts.chunks(parts).map(|c| c.iter().sum()).collect();
    let mut cuts: Vec<u64> = Vec::new();
    let mut quotes = 0u64;
    let mut window = vec![0u8; 64 << 10];
    for (k, &target) in targets.iter().enumerate() {
        quotes += counts[k];
        let limit = targets.get(k + 1).copied().unwrap_or(len);
        let mut odd = quotes % 2 == 1;
        let mut at = target;
        'scan: while at < limit {
            let n = (window.len() as u64).min(limit - at) as usize;
            job.file.read_exact_at(&mut window[..n], at).ok()?;
            for (i, &b) in window[..n].iter().enumerate() {
                match b {
                    b'"' => odd = !odd,
                    b'\n' if !odd => {
                        let cut = at + i as u64 + 1;
                        if cut < len && cuts.last().is_none_or(|&c| cut > c) {
                            cuts.push(cut);
                        }
                        break 'scan;
                    }
                    _ => {}
                }
            }
            at += n as u64;
        }
    }
    Some(cuts).filter(|c| !c.is_empty())
}

/// The number of `"` bytes in `range` of the file.
fn count_quotes(file: &File, range: std::ops::Range<u64>) -> Option<u64> {
    let mut buf = vec![0u8; 512 << 10];
    let mut quotes = 0u64;
    let mut at = range.start;
    while at < range.end {
        let n = (buf.len() as u64).min(range.end - at) as usize;
        file.read_exact_at(&mut buf[..n], at).ok()?;
        // Byte counters summed every 255 bytes: the compiler makes this a
        // vector compare and subtract per 16 or 32 bytes.
        quotes += buf[..n]
            .chunks(255)
            .map(|c| u64::from(c.iter().fold(0u8, |k, &b| k + u8::from(b == b'"'))))
            .sum::<u64>();
        at += n as u64;
    }
    Some(quotes)
}

/// Verifies `range` of the file: from its start with an ordinary verifier,
/// or, given the header, with a continuation verifier, within `memory`.
/// Gives up early once another part has failed (`stop`), and sets `stop`
/// when it fails or finds the part not clean.
fn part(
    job: &FileJob<'_>,
    header: Option<&[u8]>,
    range: std::ops::Range<u64>,
    memory: usize,
    stop: &AtomicBool,
) -> Result<Part> {
    let result = (|| {
        let mut session = job.verifier(header, memory)?;
        let mut buf = vec![0u8; CHUNK_SIZE];
        let mut at = range.start;
        while at < range.end {
            if stop.load(Ordering::Relaxed) {
                return Err(Error::Sandbox("another part failed".into()));
            }
            let n = (CHUNK_SIZE as u64).min(range.end - at) as usize;
            job.file
                .read_exact_at(&mut buf[..n], at)
                .map_err(|e| job.read_error(e))?;
            session.feed(&buf[..n])?;
            job.meter.add(n);
            at += n as u64;
        }
        let (report, facts) = session.finish_part()?;
        Ok(Part { report, facts })
    })();
    let clean = result.as_ref().is_ok_and(|p| mergeable(&p.report));
    if !clean {
        stop.store(true, Ordering::Relaxed);
    }
    result
}

/// One verifier reads the whole file, from the start to its end.
fn whole(job: &FileJob<'_>) -> Result<VerifyReport> {
    let mut session = job.verifier(None, job.memory)?;
    let mut buf = vec![0u8; CHUNK_SIZE];
    let mut at = 0u64;
    loop {
        let n = read_full_at(job.file, &mut buf, at).map_err(|e| job.read_error(e))?;
        if n == 0 {
            break;
        }
        session
            .feed(&buf[..n])
            .map_err(|e| super::stream::in_file(e, job.label))?;
        job.meter.add(n);
        at += n as u64;
    }
    session.finish()
}

/// Positioned reads until `buf` is full or the file ends.
fn read_full_at(file: &File, buf: &mut [u8], at: u64) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], at + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
