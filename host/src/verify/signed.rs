//! `verify --key`: a file's signature (`FILE.minisig`) checked against the
//! public keys given, by csvseal's own component, alongside the file's own
//! verification.
//!
//! The signature pass reads the file on its own thread, in its own
//! instance, while the verifier reads it on others: its BLAKE2b prehash
//! costs a core, not the verifier's time. The claims of a csvseal
//! signature (name, rows, first and last `file_seq`) are then matched
//! against what the verifier found.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::report::{FileFacts, SignatureReport, SignatureStatus, VerifyReport};
use crate::sandbox::{Sandbox, SignatureCheckSession};
use crate::store::by_path::{self, Links, read_small_text};
use crate::store::naming::signature_name;

use super::stream::{CHUNK_SIZE, read_full};

/// Largest public key or keyring file read.
const KEYRING_LIMIT: u64 = 1 << 20;
/// Largest signature file read (minisign's trusted comments stay under 8 KiB).
pub const SIGNATURE_FILE_LIMIT: u64 = 64 * 1024;

/// The public keys signatures must be made by: minisign public key files,
/// or keyrings (several keys in one file), for key rotation.
#[derive(Debug, Clone)]
pub struct TrustedKeys {
    texts: Vec<String>,
    /// The keys' IDs, as minisign prints them.
    pub ids: Vec<String>,
}

impl TrustedKeys {
    /// Reads public key files and keyrings; every one must hold a key.
    pub fn read(builtin: &Sandbox, paths: &[PathBuf]) -> Result<Self> {
        let texts = paths
            .iter()
            .map(|p| {
                read_small_text(p, "read public key", KEYRING_LIMIT, Links::Follow)
                    .map(|text| (p, text))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut keys = TrustedKeys {
            texts: vec![],
            ids: vec![],
        };
        for (path, text) in texts {
            keys.add(builtin, text)
                .map_err(|e| Error::Usage(format!("{}: {}", path.display(), usage_text(e))))?;
        }
        Ok(keys)
    }

    /// Public keys given as text (a public key file's or a keyring's).
    pub fn from_texts(builtin: &Sandbox, texts: Vec<String>) -> Result<Self> {
        let mut keys = TrustedKeys {
            texts: vec![],
            ids: vec![],
        };
        for text in texts {
            keys.add(builtin, text)?;
        }
        Ok(keys)
    }

    fn add(&mut self, builtin: &Sandbox, text: String) -> Result<()> {
        let ids = builtin.public_key_ids(&text)?;
        self.ids.extend(ids);
        self.texts.push(text);
        Ok(())
    }

    /// The key texts, as the component takes them.
    pub fn texts(&self) -> &[String] {
        &self.texts
    }
}

fn usage_text(e: Error) -> String {
    match e {
        Error::Usage(m) => m,
        other => other.to_string(),
    }
}

/// The signature file of `path`, if there is one: its text, bounded, never
/// through a symlink or from a FIFO.
pub fn read_signature(path: &Path) -> Result<Option<String>> {
    let (dir, name) = by_path::split_path(path)?;
    let sig = dir.join(signature_name(&name));
    match read_small_text(&sig, "read signature", SIGNATURE_FILE_LIMIT, Links::Refuse) {
        Ok(text) => Ok(Some(text)),
        Err(e) if by_path::is_not_found(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A signature pass under way: the file streamed into the check, which
/// waits for the verifier's facts.
pub struct PendingSignature {
    session: Option<SignatureCheckSession>,
    file_name: String,
}

/// Starts checking `path`'s signature against `keys` in `builtin`: reads
/// the signature and streams the file into the check. None when the file
/// has no signature.
pub fn stream_signature(
    builtin: &Sandbox,
    keys: &TrustedKeys,
    path: &Path,
) -> Result<PendingSignature> {
    let (_, file_name) = by_path::split_path(path)?;
    let text = read_signature(path)?;
    stream_signature_of(builtin, keys, file_name, text, path, || {
        Ok(Box::new(by_path::open_file(path, "open")?.into_std()))
    })
}

/// Starts checking the signature `text` (None: the file has none) of the
/// file `file_name` against `keys` in `builtin`, streaming into the check
/// the bytes `open` gives (called only when there is a signature; `label`
/// names them in errors). The signature pass of a file anywhere: a local
/// file, an object.
pub fn stream_signature_of(
    builtin: &Sandbox,
    keys: &TrustedKeys,
    file_name: String,
    text: Option<String>,
    label: &Path,
    open: impl FnOnce() -> Result<Box<dyn Read + Send>>,
) -> Result<PendingSignature> {
    let Some(text) = text else {
        return Ok(PendingSignature {
            session: None,
            file_name,
        });
    };
    let mut session = builtin.signature_check(&text, keys.texts())?;
    let mut file = open()?;
    let mut buf = vec![0u8; CHUNK_SIZE];
    loop {
        let n = read_full(&mut file, &mut buf).map_err(|e| Error::io(label, "read", e))?;
        if n == 0 {
            break;
        }
        session.feed(&buf[..n])?;
    }
    Ok(PendingSignature {
        session: Some(session),
        file_name,
    })
}

impl PendingSignature {
    /// Ends the check against what verifying the file found.
    pub fn finish(self, report: &VerifyReport) -> Result<SignatureReport> {
        let Some(session) = self.session else {
            return Ok(missing(&self.file_name));
        };
        let facts = FileFacts {
            file_name: self.file_name,
            rows: report.rows,
            first_seq: report.first_seq,
            last_seq: report.last_seq,
        };
        session.finish(Some(&facts))
    }
}

/// The report of a file without a signature.
pub fn missing(file_name: &str) -> SignatureReport {
    SignatureReport {
        status: SignatureStatus::Missing,
        key_id: None,
        trusted_comment: None,
        claims: None,
        blake2b: None,
        message: format!(
            "{file_name} has no signature ({})",
            signature_name(file_name)
        ),
    }
}

/// Verifies `path` with `verify` while its signature is checked on another
/// thread by `builtin` (csvseal's own component); the report carries the
/// signature's outcome, and a failed one makes the file invalid.
pub fn verify_signed(
    builtin: &Sandbox,
    keys: &TrustedKeys,
    path: &Path,
    verify: impl FnOnce() -> Result<VerifyReport>,
) -> Result<VerifyReport> {
    verify_signed_by(
        builtin,
        path,
        || stream_signature(builtin, keys, path),
        verify,
    )
}

/// [`verify_signed`] with the signature pass `stream` (see
/// [`stream_signature_of`]) run on its own thread while `verify` runs;
/// `label` names the file in errors.
pub fn verify_signed_by(
    builtin: &Sandbox,
    label: &Path,
    stream: impl FnOnce() -> Result<PendingSignature> + Send,
    verify: impl FnOnce() -> Result<VerifyReport>,
) -> Result<VerifyReport> {
    if !builtin.is_builtin() {
        return Err(Error::Usage(
            "signatures are checked by csvseal's own component only".into(),
        ));
    }
    let (report, pending) = std::thread::scope(|s| {
        let pending = std::thread::Builder::new()
            .name("csvseal-signature".into())
            .spawn_scoped(s, stream)
            .map_err(|e| Error::io(label, "start signature thread", e))?;
        let report = verify();
        let pending = pending
            .join()
            .unwrap_or_else(|_| Err(Error::Sandbox("the signature thread panicked".into())));
        Ok::<_, Error>((report, pending))
    })?;
    let mut report = report?;
    let check = pending?.finish(&report)?;
    report.add_signature(check, builtin.limits().max_errors as usize);
    Ok(report)
}
