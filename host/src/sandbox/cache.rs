//! A cache of precompiled components, so a warm start skips Cranelift.
//!
//! Compiling the component costs far more than verifying a small file. The
//! compiled artifact is stored in the user's cache directory
//! (`$CSVSEAL_CACHE_DIR`, else e.g. `~/.cache/csvseal`), named by the SHA-256
//! of the component and a hash of the engine's compatibility settings, and
//! written the way csvseal writes everything: temp file, fsync, rename. Each
//! entry ends with the SHA-256 of its body, checked before the body is handed
//! to wasmtime, so a torn or corrupted entry is recompiled, never loaded.
//! `CSVSEAL_NO_CACHE=1` turns the cache off.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::PathBuf;

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::{Error, Result};

/// Loads `bytes` as a component, from the cache when a valid entry exists.
pub fn load(engine: &Engine, bytes: &[u8]) -> Result<Component> {
    let Some(dir) = cache_dir() else {
        return compile(engine, bytes);
    };
    let path = dir.join(format!("{}.cwasm", key(engine, bytes)));
    if let Some(component) = read_entry(engine, &path) {
        return Ok(component);
    }
    let compiled = engine
        .precompile_component(bytes)
        .map_err(|e| Error::Sandbox(format!("cannot compile the component: {e:#}")))?;
    // A cache that cannot be written only costs speed; never fail for it.
    let _ = write_entry(&dir, &path, &compiled);
    // SAFETY: `compiled` was produced just now by this same engine.
    unsafe { Component::deserialize(engine, &compiled) }
        .map_err(|e| Error::Sandbox(format!("cannot load the compiled component: {e:#}")))
}

fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component> {
    Component::new(engine, bytes)
        .map_err(|e| Error::Sandbox(format!("cannot compile the component: {e:#}")))
}

fn cache_dir() -> Option<PathBuf> {
    if std::env::var_os("CSVSEAL_NO_CACHE").is_some_and(|v| v != "0" && !v.is_empty()) {
        return None;
    }
    match std::env::var_os("CSVSEAL_CACHE_DIR") {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => dirs::cache_dir().map(|d| d.join("csvseal")),
    }
}

/// Names an entry by what it was compiled from and what it can run on.
fn key(engine: &Engine, bytes: &[u8]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    let component = Sha256::digest(bytes);
    format!("{}-{:016x}", hex::encode(&component[..16]), h.finish())
}

fn read_entry(engine: &Engine, path: &std::path::Path) -> Option<Component> {
    let data = std::fs::read(path).ok()?;
    let (body, digest) = data.split_at_checked(data.len().checked_sub(32)?)?;
    if Sha256::digest(body).as_slice() != digest {
        return None;
    }
    // SAFETY: the entry's checksum matches, so these are the exact bytes this
    // engine configuration produced (the key includes its compatibility hash);
    // wasmtime also checks the artifact's header and version before use.
    unsafe { Component::deserialize(engine, body) }.ok()
}

fn write_entry(
    dir: &std::path::Path,
    path: &std::path::Path,
    compiled: &[u8],
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension(format!("cwasm.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(compiled)?;
        f.write_all(&Sha256::digest(compiled))?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
