//! Signatures beside objects: `KEY.minisig` for the object `KEY`, the
//! object-store form of the local two-file commit
//! ([`crate::signing::commit`]).
//!
//! A write puts the signature with `If-None-Match: *` (or `If-Match` on the
//! ETag of the one it replaces: an orphan, or the signature of the version
//! `--replace` supersedes) before the object's conditional complete, so no
//! object it commits is visible without a signature. A write that fails to
//! commit its object deletes its signature again, or puts back the one it
//! replaced, in both cases only while the signature is still its own. A
//! writer that dies in between leaves an orphan, which the next writer of
//! that key replaces and `recover` removes once it is older than
//! `--older-than` and no upload of its object is pending.
//!
//! There is no lock on a store: a writer that takes another's signature for
//! an orphan (the other is between its two commits) can replace it. The
//! write whose object commits then checks its signature is still its own
//! and puts it back if not ([`confirm`]); until then a reader finds a
//! signature that does not match (`verify --key` fails), never a false pass.

use std::io::{self, Read};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::bucket::Bucket;
use super::read;
use super::runtime::block_on;
use super::s3api::{Committed, Condition};
use crate::error::{Error, Result};
use crate::store::naming::signature_name;
use crate::verify::signed::SIGNATURE_FILE_LIMIT;

/// minisign's signature files are text.
const CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// The key of the signature of the object `key`.
pub(crate) fn key_of(key: &str) -> String {
    signature_name(key)
}

/// A signature object: its text and the version read.
#[derive(Debug, Clone)]
pub(crate) struct SignatureObject {
    pub text: String,
    pub etag: String,
}

/// Reads the signature object `key` (only version `if_match`, if given),
/// bounded to [`SIGNATURE_FILE_LIMIT`] bytes; `None` if there is none.
pub(crate) fn read_text(
    bucket: &Arc<Bucket>,
    key: &str,
    if_match: Option<&str>,
) -> Result<Option<SignatureObject>> {
    let url = bucket.url_of(key);
    let too_large = || {
        Error::io(
            &url,
            "read signature",
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("larger than {SIGNATURE_FILE_LIMIT} bytes: not a signature"),
            ),
        )
    };
    let mut reader = match read::open(bucket, key, if_match) {
        Ok(r) => r,
        Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    if reader.size > SIGNATURE_FILE_LIMIT {
        return Err(too_large());
    }
    let etag = reader.etag.clone().unwrap_or_default();
    let mut bytes = vec![];
    (&mut reader)
        .take(SIGNATURE_FILE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(&url, "read signature", e))?;
    if bytes.len() as u64 > SIGNATURE_FILE_LIMIT {
        return Err(too_large());
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        Error::io(
            &url,
            "read signature",
            io::Error::new(io::ErrorKind::InvalidData, "not UTF-8 text"),
        )
    })?;
    Ok(Some(SignatureObject { text, etag }))
}

/// Puts `text` at `key`: created (`replacing` None) or replacing exactly
/// the version `replacing`. Returns the new ETag. A precondition that no
/// longer holds is `target-exists` (create) or `target-changed` (replace),
/// unless an earlier attempt of this very request took effect.
pub(crate) fn put(
    bucket: &Arc<Bucket>,
    key: &str,
    text: &str,
    replacing: Option<&str>,
    write_id: &str,
) -> Result<String> {
    let cond = replacing.map_or(Condition::Create, |e| Condition::Match(e.to_owned()));
    let sha: [u8; 32] = Sha256::digest(text.as_bytes()).into();
    let body = text.as_bytes().to_vec().into();
    match block_on(bucket.put_typed(key, body, sha, &cond, write_id, CONTENT_TYPE))? {
        Committed::Done(etag) => Ok(etag),
        Committed::PreconditionFailed => {
            if let Some(h) = block_on(bucket.head(key))?
                && h.write_id.as_deref() == Some(write_id)
            {
                return Ok(h.etag);
            }
            let path = bucket.url_of(key);
            Err(match cond {
                Condition::Create => Error::TargetExists { path },
                Condition::Match(_) => Error::TargetChanged { path },
            })
        }
    }
}

/// Undoes [`put`] (which made version `ours`) after the object's own commit
/// failed: puts back `replaced`, or deletes the signature, in both cases
/// only while it is still this write's. Best effort: a failure leaves a
/// signature that does not match its object, which `verify --key` reports,
/// never passes (and `recover` removes once it is an old orphan).
pub(crate) fn undo(
    bucket: &Arc<Bucket>,
    key: &str,
    ours: &str,
    write_id: &str,
    replaced: Option<&str>,
) {
    let undone = match replaced {
        Some(text) => match put(bucket, key, text, Some(ours), write_id) {
            Ok(_) | Err(Error::TargetChanged { .. }) => Ok(()),
            Err(e) => Err(e),
        },
        None => match block_on(bucket.head(key)) {
            Ok(Some(h)) if h.write_id.as_deref() == Some(write_id) => read::delete(bucket, key),
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        },
    };
    if let Err(e) = undone {
        tracing::error!(file = %bucket.url_of(key).display(), cause = %e,
            "could not undo the signature of a failed write");
    }
}

/// After the object's commit: its signature must still be the one this
/// write put (a concurrent writer that took it for an orphan may have
/// replaced it, or `recover` removed it as one); it is put back if not.
pub(crate) fn confirm(bucket: &Arc<Bucket>, key: &str, text: &str, write_id: &str) -> Result<()> {
    for _ in 0..4 {
        let current = read_text(bucket, key, None)?;
        if current.as_ref().is_some_and(|c| c.text == text) {
            return Ok(());
        }
        tracing::warn!(file = %bucket.url_of(key).display(),
            "the signature was changed by another writer before this write's object committed; putting it back");
        match put(
            bucket,
            key,
            text,
            current.as_ref().map(|c| c.etag.as_str()),
            write_id,
        ) {
            Ok(_) => return Ok(()),
            Err(Error::TargetExists { .. } | Error::TargetChanged { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(Error::StoredMismatch {
        path: bucket.url_of(key),
        detail: "the object committed, but its signature kept being replaced by other writers; \
                 `verify --key` reports whether the one there matches"
            .into(),
    })
}
