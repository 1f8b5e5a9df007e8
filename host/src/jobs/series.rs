//! A series: the files `{BASE}_YYYYMMDD_HHMMSS.csv` of one directory, in
//! name (= time) order, whose `file_seq` continues from file to file.
//!
//! - `write --continue` starts at the last committed file's last seq + 1.
//!   Allocation is serialized per series by an exclusive `flock` on
//!   `DIR/.{BASE}.series.lock`, held from reading the last seq until the new
//!   file is committed; the lock file is never deleted (deleting it would let
//!   two writers lock two different inodes of the same name). A writer that
//!   finds it held fails with `busy`, or waits with `--wait`.
//! - The last seq comes from verifying the whole last file, streamed, with
//!   the built-in verifier: a previous file that does not verify (anywhere,
//!   not only near its end) is refused. A plugin may seal the new file, but
//!   never judges the previous one or chooses the start seq.
//! - `verify --series` checks every file and the seams between them; with
//!   a plugin, the built-in verifier runs too and has the final say.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cap_std::ambient_authority;
use cap_std::fs::{Dir, File};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::plugin::{builtin_for, verify_checked};
use crate::report::{ChainLink, ErrorKind, SignatureStatus, VerifyReport};
use crate::sandbox::Sandbox;
use crate::signing::Link;
use crate::signing::minisig::PrehashReader;
use crate::store::file_ops::FileOps;
use crate::store::temp_lock::try_lock_exclusive;
use crate::verify::{Schema, TrustedKeys, verify_reader, verify_signed};
use crate::write::{Committed, WriteControl, WriteRequest, write_sealed_with};

/// Whether `name` is `{base}_YYYYMMDD_HHMMSS.csv`.
pub fn is_member(name: &str, base: &str) -> bool {
    let Some(rest) = name
        .strip_prefix(base)
        .and_then(|r| r.strip_prefix('_'))
        .and_then(|r| r.strip_suffix(".csv"))
    else {
        return false;
    };
    let b = rest.as_bytes();
    b.len() == 15
        && b[8] == b'_'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 8 || c.is_ascii_digit())
}

/// The series' files in `dir`, in name order (regular files only).
pub fn members(dir: &Dir, dir_path: &Path, base: &str) -> Result<Vec<String>> {
    let mut names = vec![];
    for entry in dir
        .entries()
        .map_err(|e| Error::io(dir_path, "list directory", e))?
    {
        let entry = entry.map_err(|e| Error::io(dir_path, "list directory", e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if is_member(&name, base) && dir.symlink_metadata(&name).is_ok_and(|m| m.is_file()) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// The series' files in the directory `dir_path`, in name order, as
/// [`verify_series`] lists them: each one's path and size.
pub fn list_members(dir_path: &Path, base: &str) -> Result<Vec<(PathBuf, u64)>> {
    crate::store::naming::check_base_name(base)?;
    let dir = Dir::open_ambient_dir(dir_path, ambient_authority())
        .map_err(|e| Error::io(dir_path, "open directory", e))?;
    Ok(members(&dir, dir_path, base)?
        .into_iter()
        .map(|name| {
            let size = dir.symlink_metadata(&name).map_or(0, |m| m.len());
            (dir_path.join(name), size)
        })
        .collect())
}

/// The last `file_seq` of a committed sealed file (`None`: no rows), from
/// a streamed verification of the whole file by `builtin` (which must be
/// csvseal's own component). A file that does not verify is
/// [`Error::SourceInvalid`]: nothing may continue from it.
pub fn last_committed_seq(
    builtin: &Sandbox,
    file: &mut dyn Read,
    path: &Path,
) -> Result<Option<u64>> {
    debug_assert!(builtin.is_builtin());
    let r = verify_reader(builtin, None, file, path)?;
    if !r.valid {
        return Err(Error::SourceInvalid {
            path: path.to_owned(),
            report: Box::new(r),
        });
    }
    Ok(r.last_seq)
}

/// Holds the series lock until dropped.
pub struct SeriesLock {
    _file: File,
}

/// Takes the series' allocation lock. Held by another writer: `busy`, or
/// with `wait`, polled until it is free or the time is up.
pub fn lock_series(
    ops: &dyn FileOps,
    dir: &Dir,
    dir_path: &Path,
    base: &str,
    wait: Option<Duration>,
) -> Result<SeriesLock> {
    let name = format!(".{base}.series.lock");
    let path = dir_path.join(&name);
    let file = ops
        .open_lock(dir, &name)
        .map_err(|e| Error::io(&path, "open series lock", e))?;
    // A wait past what the clock can hold is a wait without end.
    let deadline = wait.and_then(|w| Instant::now().checked_add(w));
    loop {
        if try_lock_exclusive(&file).map_err(|e| Error::io(&path, "lock series", e))? {
            return Ok(SeriesLock { _file: file });
        }
        match deadline {
            Some(d) if Instant::now() < d => std::thread::sleep(Duration::from_millis(20)),
            _ => return Err(Error::Busy { path }),
        }
    }
}

/// Writes the next file of the series `req.base_name` in `req.dir`: its
/// `file_seq` starts after the last committed file's (or at
/// `req.start_seq` for an empty series). Returns the commit and the last
/// file it continued from.
pub fn write_continue(
    ops: &dyn FileOps,
    control: &WriteControl,
    sandbox: &Sandbox,
    req: &WriteRequest,
    input: &mut dyn Read,
    input_label: &str,
) -> Result<(Committed, Option<PathBuf>)> {
    let dir = Dir::open_ambient_dir(&req.dir, ambient_authority())
        .map_err(|e| Error::io(&req.dir, "open directory", e))?;
    crate::store::naming::check_base_name(&req.base_name)?;
    let _lock = lock_series(ops, &dir, &req.dir, &req.base_name, control.wait)?;
    let names = members(&dir, &req.dir, &req.base_name)?;
    let new_name = crate::store::naming::final_name(&req.base_name, req.timestamp)?;
    let mut req = req.clone();
    let mut control = control.clone();
    let mut from = None;
    if let Some(last) = names.last() {
        let path = req.dir.join(last);
        if new_name <= *last {
            return Err(Error::Usage(format!(
                "{new_name}: the series' last file is {last}; a continuation must be named later (check --timestamp)"
            )));
        }
        let file = dir.open(last).map_err(|e| Error::io(&path, "open", e))?;
        let builtin = builtin_for(sandbox)?;
        // A signed continuation names the file it follows by its digest,
        // taken in the same pass that verifies it.
        let mut file = PrehashReader::new(file);
        let seq = last_committed_seq(builtin.as_ref().unwrap_or(sandbox), &mut file, &path)?;
        if let Some(signer) = &mut control.sign {
            signer.previous = Some(Link {
                file_name: last.clone(),
                blake2b: file.finish(),
            });
        }
        if let Some(seq) = seq {
            req.start_seq = seq.checked_add(1).ok_or_else(|| {
                Error::Usage(format!("{}: file_seq is at its maximum", path.display()))
            })?;
        }
        from = Some(path);
    }
    let committed = write_sealed_with(ops, &control, sandbox, &req, input, input_label)?;
    Ok((committed, from))
}

/// A problem at the seam between two files of a series.
#[derive(Debug, Clone, Serialize)]
pub struct Seam {
    pub before: PathBuf,
    pub after: PathBuf,
    /// Last seq of `before`, first seq of `after`.
    pub last: u64,
    pub first: u64,
}

/// The result of `verify --series`.
#[derive(Debug, Serialize)]
pub struct SeriesReport {
    pub valid: bool,
    /// Each file's own verification, in name order.
    pub files: Vec<(PathBuf, VerifyReport)>,
    /// Files that could not be read.
    pub unreadable: Vec<(PathBuf, String)>,
    /// `after` starts at or below `before`'s last seq (an error).
    pub overlaps: Vec<Seam>,
    /// `after` starts above `before`'s last seq + 1 (a warning, as within
    /// a file).
    pub gaps: Vec<Seam>,
}

impl SeriesReport {
    /// The document `csvseal verify --series --json` prints.
    pub fn json_document(&self) -> serde_json::Value {
        let files: Vec<_> = self
            .files
            .iter()
            .map(|(p, r)| {
                let mut v = serde_json::json!(r);
                v["path"] = serde_json::json!(p);
                v
            })
            .collect();
        serde_json::json!({
            "valid": self.valid,
            "files": files,
            "unreadable": self.unreadable,
            "overlaps": self.overlaps,
            "gaps": self.gaps,
        })
    }
}

/// Verifies every file of a series and the seams between them; with
/// `keys`, every file's signature and the chain of signed links too.
pub fn verify_series(
    sandbox: &Sandbox,
    schema: Option<&Schema>,
    keys: Option<&TrustedKeys>,
    dir_path: &Path,
    base: &str,
) -> Result<SeriesReport> {
    crate::store::naming::check_base_name(base)?;
    let dir = Dir::open_ambient_dir(dir_path, ambient_authority())
        .map_err(|e| Error::io(dir_path, "open directory", e))?;
    // With a plugin, csvseal's own verifier runs too and has the final say.
    let builtin = builtin_for(sandbox)?;
    let own = builtin.as_ref().unwrap_or(sandbox);
    let files = members(&dir, dir_path, base)?.into_iter().map(|name| {
        let path = dir_path.join(&name);
        let verify = || {
            verify_checked(sandbox, builtin.as_ref(), |sb| {
                dir.open(&name)
                    .map_err(|e| Error::io(&path, "open", e))
                    .and_then(|mut f| verify_reader(sb, schema, &mut f, &path))
            })
        };
        let r = match keys {
            Some(keys) => verify_signed(own, keys, &path, verify),
            None => verify(),
        };
        (path, r)
    });
    let mut report = series_report(files);
    if keys.is_some() {
        check_chain(own, &mut report)?;
    }
    Ok(report)
}

/// Walks the chain of signed links through a series whose signatures were
/// checked: each file's signature must name the file before it (its name
/// and BLAKE2b-512) or, for the first file, none. A file deleted, inserted,
/// reordered, renamed or swapped breaks a link: `chain-broken` on the file
/// after the break, naming both files. A file signed without csvseal's
/// statement (plain minisign) has no link to check: a warning says so.
pub fn check_chain(builtin: &Sandbox, report: &mut SeriesReport) -> Result<()> {
    let max_errors = builtin.limits().max_errors as usize;
    let mut previous: Option<Option<ChainLink>> = Some(None);
    for (path, r) in &mut report.files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let signature = r.signature.clone();
        let claims = signature
            .as_ref()
            .filter(|s| s.status == SignatureStatus::Valid)
            .and_then(|s| s.claims.clone());
        match (&claims, &previous) {
            (Some(claims), Some(expected)) => {
                if let Err(why) = builtin.check_link(claims, expected.as_ref())? {
                    r.add_file_error(ErrorKind::ChainBroken, why, max_errors);
                    report.valid = false;
                }
            }
            (None, _)
                if signature
                    .as_ref()
                    .is_some_and(|s| s.status == SignatureStatus::Valid) =>
            {
                r.warnings.push(format!(
                    "{name}: signed without csvseal's statement (plain minisign): it has no chain data"
                ));
            }
            _ => {}
        }
        // The next file must name this one by its actual digest; unknown
        // when it has no signature (already an error of its own).
        previous = signature.and_then(|s| s.blake2b).map(|blake2b| {
            Some(ChainLink {
                file_name: name,
                blake2b,
            })
        });
    }
    Ok(())
}

/// The series report for its files' verifications, in name order: each
/// file's own result, and the seams between consecutive files. Shared by
/// local directories and object-store prefixes.
pub fn series_report(
    files: impl IntoIterator<Item = (PathBuf, Result<VerifyReport>)>,
) -> SeriesReport {
    let mut report = SeriesReport {
        valid: true,
        files: vec![],
        unreadable: vec![],
        overlaps: vec![],
        gaps: vec![],
    };
    let mut prev: Option<(PathBuf, u64)> = None;
    for (path, r) in files {
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                report.valid = false;
                report.unreadable.push((path, e.to_string()));
                continue;
            }
        };
        report.valid &= r.valid;
        if let (Some(first), Some(last)) = (r.first_seq, r.last_seq) {
            if let Some((before, plast)) = &prev {
                let seam = Seam {
                    before: before.clone(),
                    after: path.clone(),
                    last: *plast,
                    first,
                };
                if first <= *plast {
                    report.valid = false;
                    report.overlaps.push(seam);
                } else if first > plast + 1 {
                    report.gaps.push(seam);
                }
            }
            prev = Some((path.clone(), last));
        }
        report.files.push((path, r));
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_is_exact() {
        assert!(is_member("t_20240910_143000.csv", "t"));
        assert!(!is_member("t_x_20240910_143000.csv", "t"));
        assert!(!is_member("t_20240910_143000.csv.tmp", "t"));
        assert!(!is_member("t_2024091_1430000.csv", "t"));
        assert!(!is_member("tt_20240910_143000.csv", "t"));
        assert!(is_member("t_x_20240910_143000.csv", "t_x"));
    }
}
