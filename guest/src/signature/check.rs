//! Checking one signature against a file streamed in chunks: BLAKE2b-512 of
//! the bytes, Ed25519 (strict) over that hash and over the trusted comment,
//! then csvseal's claims against the bytes and the host's facts.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use blake2::{Blake2b512, Digest};
use ed25519_dalek::Signature as Ed25519Signature;

use super::claims::{self, Comment};
use super::minisign::{self, PublicKey, Signature, key_id};
use super::{FileFacts, SignatureReport, SignatureStatus, SignedClaims};

/// A check in progress: feed the file's bytes, then finish.
pub struct SignatureCheck {
    /// The parsed signature, or why it is malformed (reported by `finish`).
    signature: Result<Signature, String>,
    keys: Vec<PublicKey>,
    hasher: Blake2b512,
    /// The hash, once finished: later feeds are ignored.
    digest: Option<[u8; 64]>,
}

/// The IDs of the keys in a public key file or keyring.
pub fn public_key_ids(keys: &str) -> Result<Vec<String>, String> {
    Ok(minisign::parse_keys(keys)?
        .iter()
        .map(|k| key_id(&k.keynum))
        .collect())
}

impl SignatureCheck {
    /// Starts a check of `signature` (a `.minisig` text) under `keys`
    /// (public key or keyring texts). Fails only when a key text is
    /// unreadable or there is no key; a bad signature is reported by
    /// [`SignatureCheck::finish`].
    pub fn new(signature: &str, keys: &[String]) -> Result<Self, String> {
        let mut all = Vec::new();
        for (i, text) in keys.iter().enumerate() {
            let parsed = minisign::parse_keys(text).map_err(|e| {
                if keys.len() > 1 {
                    format!("public key text {}: {e}", i + 1)
                } else {
                    format!("public key: {e}")
                }
            })?;
            all.extend(parsed);
        }
        if all.is_empty() {
            return Err("no public key given (the key texts hold no key)".to_string());
        }
        Ok(SignatureCheck {
            signature: minisign::parse_signature(signature),
            keys: all,
            hasher: Blake2b512::new(),
            digest: None,
        })
    }

    /// Feeds the next chunk of the file (any size).
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.digest.is_none() {
            self.hasher.update(chunk);
        }
    }

    /// Ends the input and reports. With `facts`, a csvseal signature's
    /// claims must match them (name, rows, first and last `file_seq`).
    pub fn finish(&mut self, facts: Option<&FileFacts>) -> SignatureReport {
        let digest = *self
            .digest
            .get_or_insert_with(|| self.hasher.finalize_reset().into());
        let hex = hex(&digest);
        let mut report = SignatureReport {
            status: SignatureStatus::Valid,
            key_id: None,
            trusted_comment: None,
            claims: None,
            blake2b: hex,
            message: String::new(),
        };
        let outcome = self.judge(&digest, facts, &mut report);
        if let Err((status, message)) = outcome {
            report.status = status;
            report.message = message;
        }
        report
    }

    /// Fills `report` as far as the signature allows; `Err` is why it is
    /// not valid.
    fn judge(
        &self,
        digest: &[u8; 64],
        facts: Option<&FileFacts>,
        report: &mut SignatureReport,
    ) -> Result<(), (SignatureStatus, String)> {
        let sig = self
            .signature
            .as_ref()
            .map_err(|e| (SignatureStatus::Malformed, e.clone()))?;
        let id = key_id(&sig.keynum);
        report.key_id = Some(id.clone());
        let key = self
            .keys
            .iter()
            .find(|k| k.keynum == sig.keynum)
            .ok_or_else(|| {
                (
                    SignatureStatus::UnknownKey,
                    format!("signed by key {id}, which is not among the public keys given"),
                )
            })?;
        let invalid = |m: String| (SignatureStatus::Invalid, m);
        key.key
            .verify_strict(digest, &Ed25519Signature::from_bytes(&sig.signature))
            .map_err(|_| {
                invalid(format!(
                    "the signature by key {id} does not match the file's bytes: the file changed since it was signed, or the signature is for another file"
                ))
            })?;
        let mut global = Vec::with_capacity(64 + sig.trusted_comment.len());
        global.extend_from_slice(&sig.signature);
        global.extend_from_slice(sig.trusted_comment.as_bytes());
        key.key
            .verify_strict(
                &global,
                &Ed25519Signature::from_bytes(&sig.global_signature),
            )
            .map_err(|_| {
                invalid(format!(
                    "the trusted comment's signature by key {id} does not verify: the comment was altered"
                ))
            })?;
        report.trusted_comment = Some(sig.trusted_comment.clone());
        match claims::parse(&sig.trusted_comment) {
            Comment::Plain => Ok(()),
            Comment::Unreadable(why) => Err(invalid(why)),
            Comment::Claims(c) => {
                let checked = match_claims(&c, &report.blake2b, facts);
                report.claims = Some(c);
                checked.map_err(invalid)
            }
        }
    }
}

/// Holds csvseal's claims to the bytes' hash and the host's facts.
fn match_claims(c: &SignedClaims, blake2b: &str, facts: Option<&FileFacts>) -> Result<(), String> {
    if c.blake2b != blake2b {
        return Err(format!(
            "the signature states BLAKE2b {}… for '{}', but its bytes hash to {}…",
            c.blake2b.get(..16).unwrap_or(&c.blake2b),
            c.file_name,
            blake2b.get(..16).unwrap_or(blake2b)
        ));
    }
    let Some(f) = facts else { return Ok(()) };
    if c.file_name != f.file_name {
        return Err(format!(
            "the signature is for '{}', not '{}' (renamed, or another file's signature)",
            c.file_name, f.file_name
        ));
    }
    let seq = |s: Option<u64>| s.map_or_else(|| "none".to_string(), |n| n.to_string());
    let differ = [
        ("rows", c.rows.to_string(), f.rows.to_string()),
        ("first file_seq", seq(c.first_seq), seq(f.first_seq)),
        ("last file_seq", seq(c.last_seq), seq(f.last_seq)),
    ]
    .into_iter()
    .find(|(_, signed, found)| signed != found);
    match differ {
        Some((what, signed, found)) => Err(format!(
            "'{}' is signed with {what} {signed}, but has {what} {found}",
            f.file_name
        )),
        None => Ok(()),
    }
}

/// Lowercase hex, as `b2sum` prints it.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}
