//! Signing sealed files: minisign key files, the `.minisig` beside each
//! signed file, and the statement its trusted comment makes.
//!
//! The secret key stays in the host: it signs the BLAKE2b-512 prehash of
//! the bytes the built-in verifier judged and the read-back matched, and no
//! component ever sees it. Checking a signature is validation, so it runs in
//! the component (see [`crate::sandbox::signature`]).

pub mod commit;
pub mod keys;
pub mod minisig;
pub mod statement;

use std::sync::Arc;

pub use keys::{KeyId, PublicKey, SecretKey, keygen};
pub use statement::{Link, Statement};

pub use crate::store::naming::{SIGNATURE_SUFFIX, signature_name};

/// How a write signs what it commits.
#[derive(Debug, Clone)]
pub struct Signer {
    pub key: Arc<SecretKey>,
    /// The file this one continues (`write --continue`); none for a
    /// series' first file.
    pub previous: Option<Link>,
}

impl Signer {
    /// A signer with `key`, for a series' first file.
    pub fn new(key: SecretKey) -> Self {
        Signer {
            key: Arc::new(key),
            previous: None,
        }
    }
}

/// A signature that was committed beside its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub path: std::path::PathBuf,
    pub key_id: KeyId,
}
