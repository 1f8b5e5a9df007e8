//! `salvage`: the longest valid prefix of a damaged sealed file, committed as
//! a new sealed file elsewhere; the original is never modified.
//!
//! The sandboxed verifier finds the first bad record and the physical line
//! it starts on; the host only counts `\n` bytes to cut there (no CSV
//! parsing in the host), then writes the prefix through the same atomic path
//! as `write` and verifies the result before the rename.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::report::VerifyReport;
use crate::sandbox::Sandbox;
use crate::store::atomic_file::TempFile;
use crate::store::by_path::{open_file, open_or_create_dir, split_path};
use crate::store::file_ops::FileOps;
use crate::store::naming::{check_file_name, temp_name};
use crate::verify::{CHUNK_SIZE, read_full, verify_reader};

/// What was kept and what was lost.
#[derive(Debug, Clone, Serialize)]
pub struct Salvaged {
    /// The new file.
    pub path: PathBuf,
    /// Rows kept, and their `file_seq` range.
    pub rows: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// The physical line of the first bad record (everything from there on
    /// is dropped); `None` when the whole file was valid.
    pub cut_at_line: Option<u64>,
    /// Bytes of the original dropped.
    pub bytes_dropped: u64,
    /// The `file_seq` range the original claimed past the cut, as far as the
    /// verifier could read it (`None`: no readable seq after the cut).
    pub lost_seqs: Option<(u64, u64)>,
    /// The original's verification report (its first errors).
    pub original: Box<VerifyReport>,
}

/// Salvages `file` into `out_dir` (created if missing) under the same name.
pub fn salvage_file(
    ops: &dyn FileOps,
    sandbox: &Sandbox,
    file: &Path,
    out_dir: &Path,
) -> Result<Salvaged> {
    let (_, name) = split_path(file)?;
    // The salvaged copy keeps the name: it must be one csvseal may commit
    // (a `ledger.tmp` would be swept by `recover` as a stale temp).
    check_file_name(&name)?;
    // One handle for both passes: the bytes copied are the bytes verified
    // (the name could be replaced in between, the open file cannot).
    let mut src = open_file(file, "open")?;
    let original = verify_reader(sandbox, None, &mut src, file)?;
    let cut = original.errors.iter().map(|e| e.line).min();
    let cut = match cut {
        Some(0 | 1) => {
            return Err(Error::SourceInvalid {
                path: file.to_owned(),
                report: Box::new(original),
            });
        }
        other => other,
    };

    let dir = open_or_create_dir(ops, out_dir)?;
    if dir.symlink_metadata(&name).is_ok() {
        return Err(Error::TargetExists {
            path: out_dir.join(&name),
        });
    }
    let mut temp = TempFile::acquire(ops, &dir, out_dir, &temp_name(&name), None)?;
    src.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(file, "rewind", e))?;
    let (kept, total) = copy_lines_before(&mut src, file, cut, &mut temp)?;
    temp.sync()?;
    let mut back = temp.reopen_for_read()?;
    let report = verify_reader(sandbox, None, &mut back, &temp.path())?;
    if !report.valid || report.bytes != kept {
        return Err(Error::WrittenFileInvalid {
            path: temp.path(),
            report: Box::new(report),
        });
    }
    let path = temp.commit(&name)?;
    let lost_seqs = match (original.last_seq, report.last_seq) {
        (Some(orig), Some(k)) if orig > k => Some((k + 1, orig)),
        (Some(orig), None) if cut.is_some() => Some((1, orig)),
        _ => None,
    };
    Ok(Salvaged {
        path,
        rows: report.rows,
        first_seq: report.first_seq,
        last_seq: report.last_seq,
        cut_at_line: cut,
        bytes_dropped: total - kept,
        lost_seqs,
        original: Box::new(original),
    })
}

/// Copies the bytes before physical line `cut` (1-based; `None`: all).
/// Returns (bytes copied, bytes in the source).
fn copy_lines_before(
    src: &mut dyn Read,
    label: &Path,
    cut: Option<u64>,
    temp: &mut TempFile<'_>,
) -> Result<(u64, u64)> {
    let mut line = 1u64;
    let mut copied = 0u64;
    let mut total = 0u64;
    let mut done = false;
    let mut buf = vec![0u8; CHUNK_SIZE];
    loop {
        let n = read_full(src, &mut buf).map_err(|e| Error::io(label, "read", e))?;
        if n == 0 {
            return Ok((copied, total));
        }
        total += n as u64;
        if done {
            continue;
        }
        let chunk = &buf[..n];
        let mut end = n;
        if let Some(cut) = cut {
            for (i, b) in chunk.iter().enumerate() {
                if *b == b'\n' {
                    line += 1;
                    if line == cut {
                        end = i + 1;
                        done = true;
                        break;
                    }
                }
            }
        }
        temp.write_all(&chunk[..end])?;
        copied += end as u64;
    }
}
