//! minisign's text formats: a signature file and public key files (alone
//! or concatenated into a keyring). Parsing only; checking is `check.rs`.
//!
//! ```text
//! untrusted comment: <anything>
//! base64("ED" | keynum[8] | signature[64])
//! trusted comment: <text>
//! base64(global_signature[64])
//! ```
//! A public key is `base64("Ed" | keynum[8] | key[32])` under an
//! `untrusted comment:` line.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use ed25519_dalek::VerifyingKey;

use super::base64;

const UNTRUSTED: &str = "untrusted comment:";
const TRUSTED: &str = "trusted comment: ";

/// The 8 bytes that name a key in its signatures.
pub type KeyNum = [u8; 8];

/// A key's ID as minisign prints it: the key number read as a
/// little-endian u64, in 16 uppercase hex digits.
pub fn key_id(keynum: &KeyNum) -> String {
    format!("{:016X}", u64::from_le_bytes(*keynum))
}

/// One public key.
#[derive(Debug, Clone)]
pub struct PublicKey {
    pub keynum: KeyNum,
    pub key: VerifyingKey,
}

/// A parsed signature file (not yet checked).
#[derive(Debug, Clone)]
pub struct Signature {
    pub keynum: KeyNum,
    /// Ed25519 over the BLAKE2b-512 of the file.
    pub signature: [u8; 64],
    /// The trusted comment, without its `trusted comment: ` prefix.
    pub trusted_comment: String,
    /// Ed25519 over `signature || trusted_comment`.
    pub global_signature: [u8; 64],
}

/// Lines with `\n` ends, each stripped of one trailing `\r` (minisign
/// writes `\n`; a file that passed through Windows has CR LF).
fn lines(text: &str) -> impl Iterator<Item = &str> {
    text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l))
}

/// Reads the public keys in a key file or keyring: `untrusted comment:`
/// lines and blank lines are skipped, every other line is one key.
/// Errors name the 1-based line.
pub fn parse_keys(text: &str) -> Result<Vec<PublicKey>, String> {
    let mut keys = Vec::new();
    for (i, line) in lines(text).enumerate() {
        let line = line.trim_matches(|c| c == ' ' || c == '\t');
        if line.is_empty() || line.starts_with(UNTRUSTED) {
            continue;
        }
        keys.push(parse_key_line(line).map_err(|e| format!("line {}: {e}", i + 1))?);
    }
    Ok(keys)
}

fn parse_key_line(line: &str) -> Result<PublicKey, String> {
    let bytes =
        base64::decode(line.as_bytes()).map_err(|e| format!("not a minisign public key: {e}"))?;
    let Ok(bytes) = <[u8; 42]>::try_from(bytes.as_slice()) else {
        return Err(format!(
            "not a minisign public key: {} bytes, not 42",
            bytes.len()
        ));
    };
    if bytes[..2] != *b"Ed" {
        return Err("not a minisign public key: its algorithm is not Ed25519 (\"Ed\")".to_string());
    }
    let (keynum, key) = fixed::<8, 32>(&bytes[2..]).ok_or("not a minisign public key")?;
    let key = VerifyingKey::from_bytes(&key)
        .map_err(|_| format!("key {} is not a valid Ed25519 public key", key_id(&keynum)))?;
    Ok(PublicKey { keynum, key })
}

/// Splits `bytes` into arrays of N and M bytes, when it has N + M bytes.
fn fixed<const N: usize, const M: usize>(bytes: &[u8]) -> Option<([u8; N], [u8; M])> {
    let (a, b) = bytes.split_at_checked(N)?;
    Some((a.try_into().ok()?, b.try_into().ok()?))
}

/// Reads a signature file. `Err` is a message for a `malformed` report.
pub fn parse_signature(text: &str) -> Result<Signature, String> {
    if text.trim().is_empty() {
        return Err("not a minisign signature: the text is empty".to_string());
    }
    let mut lines = lines(text);
    let mut next = |what: &str| {
        lines
            .next()
            .ok_or_else(|| format!("not a minisign signature: it ends before its {what}"))
    };
    if !next("untrusted comment")?.starts_with(UNTRUSTED) {
        return Err(format!(
            "not a minisign signature: line 1 does not start with '{UNTRUSTED}'"
        ));
    }
    let sig = base64::decode(next("signature")?.as_bytes())
        .map_err(|e| format!("not a minisign signature: line 2 is {e}"))?;
    match sig.get(..2) {
        Some(b"ED") => {}
        Some(b"Ed") => {
            return Err("legacy (non-prehashed) minisign signatures are not supported; re-sign with minisign 0.9+ or csvseal sign".to_string());
        }
        _ => {
            return Err(
                "not a minisign signature: line 2 does not name the algorithm \"ED\" (prehashed Ed25519)"
                    .to_string(),
            );
        }
    }
    let (keynum, signature) = fixed::<8, 64>(&sig[2..]).ok_or_else(|| {
        format!(
            "not a minisign signature: line 2 holds {} bytes, not 74",
            sig.len()
        )
    })?;
    let trusted_comment = next("trusted comment")?
        .strip_prefix(TRUSTED)
        .ok_or_else(|| format!("not a minisign signature: line 3 does not start with '{TRUSTED}'"))?
        .to_string();
    let global = base64::decode(next("global signature")?.as_bytes())
        .map_err(|e| format!("not a minisign signature: line 4 is {e}"))?;
    let global_signature = <[u8; 64]>::try_from(global.as_slice()).map_err(|_| {
        format!(
            "not a minisign signature: line 4 holds {} bytes, not 64",
            global.len()
        )
    })?;
    if lines.any(|l| !l.is_empty()) {
        return Err("not a minisign signature: text follows its 4 lines".to_string());
    }
    Ok(Signature {
        keynum,
        signature,
        trusted_comment,
        global_signature,
    })
}
