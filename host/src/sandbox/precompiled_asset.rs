//! The file format of the committed precompiled component
//! (`host/assets/csvseal_guest.x86_64.cwasm`): a header that binds the
//! artifact to the component it was compiled from and to its own bytes.
//!
//! `host/build.rs` includes this file and embeds the artifact only when
//! [`unpack`] accepts it, so a stale or damaged file costs a first run its
//! head start (the JIT compiles instead), never correctness.

use sha2::{Digest, Sha256};

/// First bytes of the file.
pub const MAGIC: &[u8] = b"csvseal precompiled component v1\n";

/// The file: magic, SHA-256 of the component, SHA-256 of the artifact, the
/// artifact.
pub fn pack(component: &[u8], artifact: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&Sha256::digest(component));
    out.extend_from_slice(&Sha256::digest(artifact));
    out.extend_from_slice(artifact);
    out
}

/// The artifact in `file`, if it was compiled from `component` and is
/// intact.
pub fn unpack<'a>(file: &'a [u8], component: &[u8]) -> Result<&'a [u8], &'static str> {
    let rest = file
        .strip_prefix(MAGIC)
        .ok_or("not a precompiled component file")?;
    if rest.len() < 64 {
        return Err("truncated");
    }
    let (source, rest) = rest.split_at(32);
    let (digest, artifact) = rest.split_at(32);
    if source != Sha256::digest(component).as_slice() {
        return Err("compiled from another component: run scripts/build-component.sh");
    }
    if digest != Sha256::digest(artifact).as_slice() {
        return Err("damaged: its SHA-256 does not match");
    }
    Ok(artifact)
}
