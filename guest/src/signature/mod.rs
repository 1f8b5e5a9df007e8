//! minisign signatures over sealed files, checked here so every host (CLI,
//! Python, Node, the browser) checks with the same code. The host signs,
//! since it alone holds secret keys; nothing here ever sees one.
//!
//! A csvseal signature is a standard minisign signature (prehashed
//! Ed25519: the signature is over the BLAKE2b-512 of the file) whose
//! trusted comment states the file's name, rows, `file_seq` range, hash and
//! its link to the previous file of a series (`claims.rs`).

use alloc::string::String;

mod base64;
pub mod check;
pub mod claims;
pub mod link;
pub mod minisign;
#[cfg(test)]
mod tests;

pub use check::{SignatureCheck, public_key_ids};
pub use link::check_link;

/// The previous file of a series, as a signature names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLink {
    pub file_name: String,
    /// BLAKE2b-512 of its bytes, lowercase hex.
    pub blake2b: String,
}

/// What a csvseal signature's trusted comment states about its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedClaims {
    pub file_name: String,
    pub rows: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// BLAKE2b-512 of the file's bytes, lowercase hex.
    pub blake2b: String,
    /// None for a series' first file.
    pub previous: Option<ChainLink>,
}

/// What the host learnt of the file by verifying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileFacts {
    pub file_name: String,
    pub rows: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
}

/// The outcome of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureStatus {
    /// Made by a listed key over exactly the bytes fed; csvseal's claims,
    /// if any, match.
    Valid,
    /// The signature text is not a (supported) minisign signature.
    Malformed,
    /// Made by a key that is not listed.
    UnknownKey,
    /// Does not verify for these bytes, or its claims do not match.
    Invalid,
}

/// A check's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureReport {
    pub status: SignatureStatus,
    /// The signing key's ID (as minisign prints it), when readable.
    pub key_id: Option<String>,
    /// The trusted comment, once its global signature verified under a
    /// listed key (an unauthenticated comment is never reported).
    pub trusted_comment: Option<String>,
    /// csvseal's claims (authenticated likewise); none for a plain
    /// minisign signature.
    pub claims: Option<SignedClaims>,
    /// BLAKE2b-512 of the bytes fed, lowercase hex.
    pub blake2b: String,
    /// Why, when not valid; empty when valid.
    pub message: String,
}
