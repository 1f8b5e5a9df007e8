//! Verifying one file, or one part of it, as a task that another process
//! or machine runs (the Python package's `csvseal.dask`): what the task
//! reads through ([`Ranged`]: a local file or an object), what it sends
//! back ([`TaskOutcome`], JSON), and the merge of the parts on the caller
//! ([`merge_parts`], the exact merge of [`super::parts`]).
//!
//! A file of `n` parts is cut without any central scan: every task probes
//! the header itself (the first [`PROBE_BYTES`]), puts the `n - 1` targets
//! evenly over the rows, and moves each target to just after the first
//! `\n` at or after it. Every task computes the same cuts, so part `k` is
//! `cut(k)..cut(k + 1)`. A cut inside a quoted field tears both parts
//! around it: the merge refuses, and the caller verifies the file whole
//! (one more task), as [`super::parallel`] does on one machine.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::parallel::PROBE_BYTES;
use super::parts::{self, Part};
use super::schema::{Schema, schema_error};
use super::stream::{CHUNK_SIZE, verify_reader};
use crate::error::{Error, Result};
use crate::report::VerifyReport;
use crate::sandbox::Sandbox;

/// A file a task reads: its length, its label for reports, and a reader
/// from any offset (positioned reads of a local file, a ranged GET of an
/// object's listed version).
pub trait Ranged {
    /// The file's length in bytes, as listed.
    fn len(&self) -> u64;
    /// Whether the file is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The path or URL reports give.
    fn label(&self) -> &Path;
    /// The bytes from `start` to the end of the file.
    fn read_from(&self, start: u64) -> Result<Box<dyn Read + Send + '_>>;
}

/// A local file, opened once (the caller checks what it opened).
pub struct LocalRanged {
    /// The open file.
    pub file: std::fs::File,
    /// Its length.
    pub len: u64,
    /// Its path, for reports.
    pub path: PathBuf,
}

impl Ranged for LocalRanged {
    fn len(&self) -> u64 {
        self.len
    }
    fn label(&self) -> &Path {
        &self.path
    }
    fn read_from(&self, start: u64) -> Result<Box<dyn Read + Send + '_>> {
        Ok(Box::new(AtReader {
            file: &self.file,
            at: start,
        }))
    }
}

/// Positioned reads through a shared handle.
struct AtReader<'a> {
    file: &'a std::fs::File,
    at: u64,
}

impl Read for AtReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = self.file.read_at(buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// What one task found, sent back to the caller as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum TaskOutcome {
    /// The whole file's report, from one verifier that read it all.
    Report {
        /// The report.
        report: VerifyReport,
    },
    /// One part's report and the facts a merge needs.
    Part {
        /// The part.
        part: Part,
    },
    /// The file cannot be verified in parts (no usable header for a
    /// continuation, a plugin, no `\n` to cut at): verify it whole.
    Unsplit,
    /// The file could not be verified: why (the error's message).
    Failed {
        /// The error, as its `Display` gives it.
        message: String,
    },
}

/// Verifies the whole file, streamed, as `csvseal audit` and `verify
/// --series` do. An error is [`TaskOutcome::Failed`].
pub fn verify_whole(sandbox: &Sandbox, schema: Option<&Schema>, file: &dyn Ranged) -> TaskOutcome {
    let report = file
        .read_from(0)
        .and_then(|mut r| verify_reader(sandbox, schema, &mut r, file.label()));
    match report {
        Ok(report) => TaskOutcome::Report { report },
        Err(e) => TaskOutcome::Failed {
            message: e.to_string(),
        },
    }
}

/// Verifies part `k` of `n` of the file (see the module documentation).
/// A part that cannot be had is [`TaskOutcome::Unsplit`]; its report,
/// clean or not, is [`TaskOutcome::Part`] (the merge judges).
pub fn verify_part(
    sandbox: &Sandbox,
    schema: Option<&Schema>,
    file: &dyn Ranged,
    k: usize,
    n: usize,
) -> TaskOutcome {
    match try_part(sandbox, schema, file, k, n) {
        Ok(Some(part)) => TaskOutcome::Part { part },
        Ok(None) => TaskOutcome::Unsplit,
        Err(e) => {
            // Any failure of a part is settled by the whole file's task.
            tracing::debug!(file = %file.label().display(), part = k, "part failed: {e}");
            TaskOutcome::Unsplit
        }
    }
}

fn try_part(
    sandbox: &Sandbox,
    schema: Option<&Schema>,
    file: &dyn Ranged,
    k: usize,
    n: usize,
) -> Result<Option<Part>> {
    if !sandbox.is_builtin() || n < 2 || k >= n {
        return Ok(None);
    }
    let len = file.len();
    let memory = sandbox.limits().memory_bytes;
    let verifier = |header: Option<&[u8]>| {
        sandbox
            .verifier_within(schema.map(|s| s.json.as_str()), header, memory)
            .map_err(|e| schema_error(e, schema))
    };
    let read_error = |e| Error::io(file.label(), "read", e);
    // The probe: where the header ends.
    let mut head = Vec::new();
    file.read_from(0)?
        .take(len.min(PROBE_BYTES))
        .read_to_end(&mut head)
        .map_err(read_error)?;
    let mut probe = verifier(None)?;
    probe.feed(&head)?;
    let Some(data_start) = probe.finish_part()?.1.data_start else {
        return Ok(None);
    };
    if data_start >= len {
        return Ok(None);
    }
    let span = len - data_start;
    let target = |j: usize| data_start + span * j as u64 / n as u64;
    // The cut for target `j` (1..n): just after the first `\n` at or after
    // it and before the next target; none: no part there.
    let cut = |j: usize| -> Result<Option<u64>> {
        if j == 0 {
            return Ok(Some(0));
        }
        if j == n {
            return Ok(Some(len));
        }
        let (from, limit) = (target(j), if j + 1 < n { target(j + 1) } else { len });
        let mut reader = file.read_from(from)?.take(limit - from);
        let mut buf = vec![0u8; 64 << 10];
        let mut at = from;
        loop {
            let got = reader.read(&mut buf).map_err(read_error)?;
            if got == 0 {
                return Ok(None);
            }
            if let Some(i) = memchr::memchr(b'\n', &buf[..got]) {
                let c = at + i as u64 + 1;
                return Ok((c < len).then_some(c));
            }
            at += got as u64;
        }
    };
    let (Some(start), Some(end)) = (cut(k)?, cut(k + 1)?) else {
        return Ok(None);
    };
    if start >= end {
        return Ok(None);
    }
    let header = if k == 0 {
        None
    } else {
        let mut h = vec![0u8; data_start as usize];
        file.read_from(0)?.read_exact(&mut h).map_err(read_error)?;
        Some(h)
    };
    let mut session = verifier(header.as_deref())?;
    let mut reader = file.read_from(start)?.take(end - start);
    let mut buf = vec![0u8; CHUNK_SIZE];
    let mut read = 0u64;
    loop {
        let got = reader.read(&mut buf).map_err(read_error)?;
        if got == 0 {
            break;
        }
        session.feed(&buf[..got])?;
        read += got as u64;
    }
    if read != end - start {
        return Err(read_error(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the file is shorter than listed",
        )));
    }
    let (report, facts) = session.finish_part()?;
    Ok(Some(Part { report, facts }))
}

/// The whole file's report from its parts (in file order), exactly as one
/// verifier of the whole file gives it, or `None` when the parts cannot
/// stand for the whole (then verify it whole: [`verify_whole`]).
pub fn merge_parts(parts: &[Part], max_errors: u32) -> Option<VerifyReport> {
    parts::merge(parts, max_errors)
}
