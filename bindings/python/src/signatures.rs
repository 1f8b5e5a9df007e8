//! Signatures from Python: the public keys a `verify(..., public_key=...)`
//! trusts, and the signature check of bytes or a file object, whose
//! `.minisig` text the caller passes (a path's is read by the library).
//!
//! Every check runs in csvseal's own component, as in the CLI: this module
//! only reads keys, tees the bytes the verifier reads into the signature
//! check, and hands the verifier's facts over.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;

use csvseal::report::{FileFacts, SignatureReport, SignatureStatus};
use csvseal::verify::TrustedKeys;
use csvseal::verify::signed::{SIGNATURE_FILE_LIMIT, missing};
use csvseal::{Error, Result, Sandbox, Schema, SignatureCheckSession, VerifyReport};

use crate::readers::Tee;

/// Public keys as the Python layer passes them: (key or keyring files,
/// key or keyring texts).
pub type KeysArg = Option<(Vec<PathBuf>, Vec<String>)>;

/// Largest public key text taken from Python (as the library's bound on a
/// key or keyring file).
pub const KEY_TEXT_LIMIT: usize = 1 << 20;

/// Longest file name taken for the signed claims (far beyond any file
/// system's name limit).
pub const FILE_NAME_LIMIT: usize = 4096;

/// Chunks of the input in flight to the signature thread.
const QUEUED_CHUNKS: usize = 4;

/// The trusted keys of `arg` (None: no key given, no signature check).
pub fn trusted_keys(builtin: &Sandbox, arg: KeysArg) -> Result<Option<TrustedKeys>> {
    let Some((paths, texts)) = arg else {
        return Ok(None);
    };
    if paths.is_empty() && texts.is_empty() {
        return Err(Error::Usage(
            "public_key: no key given (a public key file, a keyring, or a list of them)".into(),
        ));
    }
    let mut all = Vec::with_capacity(paths.len() + texts.len());
    for path in &paths {
        // Read bounded and checked as the CLI's --key reads it; its errors
        // name the file.
        all.extend(
            TrustedKeys::read(builtin, std::slice::from_ref(path))?
                .texts()
                .iter()
                .cloned(),
        );
    }
    for (i, text) in texts.into_iter().enumerate() {
        if text.len() > KEY_TEXT_LIMIT {
            return Err(Error::Usage(format!(
                "public_key text #{}: larger than {KEY_TEXT_LIMIT} bytes",
                i + 1
            )));
        }
        TrustedKeys::from_texts(builtin, vec![text.clone()]).map_err(|e| match e {
            Error::Usage(m) => Error::Usage(format!("public_key text #{}: {m}", i + 1)),
            other => other,
        })?;
        all.push(text);
    }
    TrustedKeys::from_texts(builtin, all).map(Some)
}

/// What the caller gave to check an input that is not a path.
pub struct GivenSignature {
    pub keys: TrustedKeys,
    /// The `.minisig` text; None: the signature is missing.
    pub text: Option<String>,
    /// The file's name, for the signed claims.
    pub file_name: Option<String>,
}

/// Verifies `input` with `verify` while its signature is checked, on
/// another thread, over the very bytes the verifier reads; the report
/// carries the outcome, and a failed check makes the file invalid (as
/// `csvseal verify --key`).
pub fn verify_reader_signed(
    builtin: &Sandbox,
    schema: Option<&Schema>,
    input: &mut dyn Read,
    label: &Path,
    given: GivenSignature,
) -> Result<VerifyReport> {
    let max_errors = builtin.limits().max_errors as usize;
    if given
        .file_name
        .as_ref()
        .is_some_and(|n| n.len() > FILE_NAME_LIMIT)
    {
        return Err(Error::Usage(format!(
            "file_name: longer than {FILE_NAME_LIMIT} bytes"
        )));
    }
    let Some(text) = given.text else {
        let mut report = csvseal::verify_reader(builtin, schema, input, label)?;
        let check = match &given.file_name {
            Some(name) => missing(name),
            None => SignatureReport {
                status: SignatureStatus::Missing,
                key_id: None,
                trusted_comment: None,
                claims: None,
                blake2b: None,
                message: "no signature was given (signature=: the text of NAME.csv.minisig)".into(),
            },
        };
        report.add_signature(check, max_errors);
        return Ok(report);
    };
    let Some(file_name) = given.file_name else {
        return Err(Error::Usage(
            "signature= needs file_name= (the signed file's name) for input that is not a path"
                .into(),
        ));
    };
    if text.len() as u64 > SIGNATURE_FILE_LIMIT {
        return Err(Error::Usage(format!(
            "signature: larger than {SIGNATURE_FILE_LIMIT} bytes (not a .minisig file)"
        )));
    }
    let mut session = builtin.signature_check(&text, given.keys.texts())?;
    let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(QUEUED_CHUNKS);
    let (report, session) = std::thread::scope(|s| {
        let feeder = std::thread::Builder::new()
            .name("csvseal-signature".into())
            .spawn_scoped(s, move || -> Result<SignatureCheckSession> {
                // The tee sends only chunks (its last one empty), never errors.
                for chunk in rx.into_iter().flatten().filter(|c| !c.is_empty()) {
                    session.feed(&chunk)?;
                }
                Ok(session)
            })
            .map_err(|e| Error::io(label, "start signature thread", e))?;
        let mut tee = Tee::new(input, tx);
        let report = csvseal::verify_reader(builtin, schema, &mut tee, label);
        drop(tee);
        let session = feeder
            .join()
            .unwrap_or_else(|_| Err(Error::Sandbox("the signature thread panicked".into())));
        Ok::<_, Error>((report, session))
    })?;
    let mut report = report?;
    let facts = FileFacts {
        file_name,
        rows: report.rows,
        first_seq: report.first_seq,
        last_seq: report.last_seq,
    };
    let check = session?.finish(Some(&facts))?;
    report.add_signature(check, max_errors);
    Ok(report)
}
