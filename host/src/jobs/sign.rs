//! `csvseal sign`: adopt sealed files that were written unsigned (an
//! archive) by verifying each in full, then committing its `.minisig`.
//! With `chain`, the files (one directory, name order = series order) are
//! linked as `write --continue` links them.
//!
//! Each file is verified and signed while its temp lock is held, so no
//! writer replaces it in between: the signature is of the bytes verified.

use std::path::{Path, PathBuf};

use cap_std::fs::Dir;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::sandbox::Sandbox;
use crate::signing::commit::{check_signable, commit_signature};
use crate::signing::minisig::PrehashReader;
use crate::signing::{Link, SecretKey, Signer, signature_name};
use crate::store::atomic_file::TempFile;
use crate::store::by_path::{open_dir, split_path};
use crate::store::file_ops::FileOps;
use crate::store::naming::{check_file_name, temp_name};
use crate::verify::verify_reader;
use crate::write::signature_text;

/// A file that was signed.
#[derive(Debug, Clone, Serialize)]
pub struct SignedFile {
    pub path: PathBuf,
    pub signature: PathBuf,
    pub rows: u64,
    /// The file it is linked to (with `chain`), by name.
    pub previous: Option<String>,
}

/// How to sign.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignOptions {
    /// Link the files in name order, each to the one before it.
    pub chain: bool,
    /// Replace a signature a file already has.
    pub force: bool,
}

/// Verifies and signs `files`, in order (name order with `chain`). Stops at
/// the first file that does not verify or cannot be signed
/// ([`Error::SourceInvalid`] names it); the files before it stay signed.
pub fn sign_files(
    ops: &dyn FileOps,
    builtin: &Sandbox,
    key: SecretKey,
    files: &[PathBuf],
    options: SignOptions,
) -> Result<Vec<SignedFile>> {
    if !builtin.is_builtin() {
        return Err(Error::Usage(
            "only csvseal's own verifier vouches for a file it signs".into(),
        ));
    }
    let mut files: Vec<(PathBuf, String, PathBuf)> = files
        .iter()
        .map(|f| split_path(f).map(|(dir, name)| (dir, name, f.clone())))
        .collect::<Result<_>>()?;
    if options.chain {
        if files.windows(2).any(|w| w[0].0 != w[1].0) {
            return Err(Error::Usage(
                "--chain links the files of one directory: give files of one directory".into(),
            ));
        }
        files.sort_by(|a, b| a.1.cmp(&b.1));
        files.dedup_by(|a, b| a.1 == b.1);
    }
    let mut signer = Signer::new(key);
    let mut done = Vec::with_capacity(files.len());
    for (dir_path, name, path) in files {
        check_file_name(&name)?;
        check_signable(&name)?;
        let dir = open_dir(&dir_path)?;
        let (signed, link) = sign_one(
            ops,
            builtin,
            &dir,
            &dir_path,
            &name,
            &path,
            &signer,
            options.force,
        )?;
        if options.chain {
            signer.previous = Some(link);
        }
        done.push(SignedFile {
            path,
            signature: signed.signature,
            rows: signed.rows,
            previous: signed.previous,
        });
    }
    Ok(done)
}

struct OneSigned {
    signature: PathBuf,
    rows: u64,
    previous: Option<String>,
}

/// Verifies `name` under its temp lock and commits its signature; returns
/// what was signed and the link to it.
#[allow(clippy::too_many_arguments)]
fn sign_one(
    ops: &dyn FileOps,
    builtin: &Sandbox,
    dir: &Dir,
    dir_path: &Path,
    name: &str,
    path: &Path,
    signer: &Signer,
    force: bool,
) -> Result<(OneSigned, Link)> {
    let lock = TempFile::acquire(ops, dir, dir_path, &temp_name(name), None)?;
    let outcome = (|| {
        if !force && dir.symlink_metadata(signature_name(name)).is_ok() {
            return Err(Error::TargetExists {
                path: dir_path.join(signature_name(name)),
            });
        }
        match dir.symlink_metadata(name) {
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                return Err(Error::Usage(format!(
                    "{}: not a regular file",
                    path.display()
                )));
            }
            Err(e) => return Err(Error::io(path, "open", e)),
        }
        let file = dir.open(name).map_err(|e| Error::io(path, "open", e))?;
        let mut reader = PrehashReader::new(file);
        let report = verify_reader(builtin, None, &mut reader, path)?;
        if !report.valid {
            return Err(Error::SourceInvalid {
                path: path.to_owned(),
                report: Box::new(report),
            });
        }
        let prehash = reader.finish();
        let text = signature_text(signer, name, &report, prehash)?;
        let (signature, _) = commit_signature(ops, dir, dir_path, name, &text)?;
        let signed = OneSigned {
            signature,
            rows: report.rows,
            previous: signer.previous.as_ref().map(|l| l.file_name.clone()),
        };
        let link = Link {
            file_name: name.to_owned(),
            blake2b: prehash,
        };
        Ok((signed, link))
    })();
    lock.discard()?;
    outcome
}
