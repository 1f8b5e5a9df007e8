//! A cache of compiled components, so a warm start skips Cranelift.
//!
//! A cache entry is native code that runs outside the sandbox, so the cache
//! must be as trustworthy as the binary itself:
//!
//! - It lives in a directory only the user can write: `$CSVSEAL_CACHE_DIR`,
//!   else e.g. `~/.cache/csvseal`, created `0700`. A directory that is a
//!   symlink, not owned by the user, or writable by group or others is not
//!   used at all (a warning says why; everything still works, compiled
//!   afresh).
//! - Every entry carries an HMAC-SHA256 of its name and body under a key of
//!   32 random bytes kept in the directory (`key`, mode `0600`, created
//!   exclusively). An entry is deserialized only if its MAC verifies: a file
//!   planted or swapped by anyone without the key — another entry's body
//!   under this name, a corrupted or torn entry — is recompiled, never run.
//! - Names are opened relative to the directory's descriptor with
//!   `O_NOFOLLOW`, and entries must be regular files the user owns, so a
//!   symlink inside the cache leads nowhere.
//!
//! Entries are named by the SHA-256 of the component and a hash of the
//! engine's compatibility settings, and written as temp file, fsync, rename.
//! `CSVSEAL_NO_CACHE=1` turns the cache off. Only Unix has a cache.

use std::hash::{Hash, Hasher};
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
    let cache = match private::Cache::open(&dir) {
        Ok(cache) => cache,
        Err(why) => {
            tracing::warn!(dir = %dir.display(), "component cache not used: {why}");
            return compile(engine, bytes);
        }
    };
    let name = format!("{}.cwasm", entry_name(engine, bytes));
    if let Some(body) = cache.read(&name) {
        // SAFETY: the entry's MAC verifies under the user's private key, so
        // these are the exact bytes this process's engine configuration
        // (the name includes its compatibility hash) produced for this
        // component; wasmtime also checks the header and version.
        if let Ok(component) = unsafe { Component::deserialize(engine, &body) } {
            return Ok(component);
        }
    }
    let compiled = precompile(engine, bytes)?;
    // A cache that cannot be written only costs speed; never fail for it.
    if let Err(e) = cache.write(&name, &compiled) {
        tracing::debug!(dir = %dir.display(), "component cache entry not written: {e}");
    }
    deserialize_fresh(engine, &compiled)
}

fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component> {
    let compiled = precompile(engine, bytes)?;
    deserialize_fresh(engine, &compiled)
}

/// Compiles `bytes` for `engine` with an engine of its own, dropped after:
/// wasmtime keeps Cranelift's working buffers for reuse in the engine that
/// compiled, and glibc keeps the freed pages mapped, about 25 MB that the
/// records a write holds would be stacked on. Peak memory is stated
/// (docs/security.md) and tested for a run that compiles, too.
fn precompile(engine: &Engine, bytes: &[u8]) -> Result<Vec<u8>> {
    let compiler = Engine::new(engine.config())
        .map_err(|e| Error::Sandbox(format!("cannot create engine: {e:#}")))?;
    let compiled = compiler
        .precompile_component(bytes)
        .map_err(|e| Error::Sandbox(format!("cannot compile the component: {e:#}")));
    drop(compiler);
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages to the system; it takes
    // the allocator's locks, so it is safe alongside other threads.
    unsafe {
        libc::malloc_trim(0);
    }
    compiled
}

fn deserialize_fresh(engine: &Engine, compiled: &[u8]) -> Result<Component> {
    // SAFETY: `compiled` was produced just now by an engine of the same
    // configuration (wasmtime checks that too).
    unsafe { Component::deserialize(engine, compiled) }
        .map_err(|e| Error::Sandbox(format!("cannot load the compiled component: {e:#}")))
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
fn entry_name(engine: &Engine, bytes: &[u8]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    let component = Sha256::digest(bytes);
    format!("{}-{:016x}", hex::encode(&component[..16]), h.finish())
}

#[cfg(unix)]
mod private {
    use std::io::{self, Read, Write};
    use std::os::fd::OwnedFd;
    use std::path::Path;
    use std::sync::atomic::{AtomicU64, Ordering};

    use hmac::{Hmac, Mac};
    use rustix::fs::{self as rfs, AtFlags, CWD, FileType, Mode, OFlags};
    use sha2::Sha256;

    const KEY: &str = "key";
    const KEY_LEN: usize = 32;
    const MAC_LEN: usize = 32;
    /// Binds a MAC to this format, so nothing else keyed the same verifies.
    const DOMAIN: &[u8] = b"csvseal compiled-component cache v2\0";

    /// The opened cache directory and its key.
    pub struct Cache {
        dir: OwnedFd,
        key: [u8; KEY_LEN],
    }

    impl Cache {
        /// Opens (creating `0700` if missing) a directory only the user can
        /// write, and its key (creating it if missing). `Err` says why the
        /// directory must not be used.
        pub fn open(path: &Path) -> Result<Cache, String> {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| format!("cannot create it: {e}"))?;
            }
            match rfs::mkdirat(CWD, path, Mode::RWXU) {
                Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                Err(e) => return Err(format!("cannot create it: {e}")),
            }
            // O_NOFOLLOW: a symlink planted at the cache's own name is not
            // followed (ELOOP) — the cache is not used.
            let dir = rfs::open(
                path,
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| match e {
                rustix::io::Errno::LOOP | rustix::io::Errno::NOTDIR => {
                    "it is a symlink or not a directory".to_owned()
                }
                e => format!("cannot open it: {e}"),
            })?;
            let st = rfs::fstat(&dir).map_err(|e| format!("cannot stat it: {e}"))?;
            check_private(&st, 0o022, "directory")?;
            let key = read_or_create_key(&dir)?;
            Ok(Cache { dir, key })
        }

        /// The body of entry `name`, if it is a regular file the user owns
        /// and its MAC verifies.
        pub fn read(&self, name: &str) -> Option<Vec<u8>> {
            let fd = open_file(&self.dir, name).ok()?;
            let st = rfs::fstat(&fd).ok()?;
            check_private(&st, 0o022, "entry").ok()?;
            let mut data = Vec::with_capacity(st.st_size as usize);
            std::fs::File::from(fd).read_to_end(&mut data).ok()?;
            let split = data.len().checked_sub(MAC_LEN)?;
            let (body, tag) = data.split_at(split);
            self.mac(name, body).verify_slice(tag).ok()?;
            data.truncate(split);
            Some(data)
        }

        /// Writes entry `name`: temp file (`O_EXCL`, `0600`), fsync, rename.
        pub fn write(&self, name: &str, body: &[u8]) -> io::Result<()> {
            let tag = self.mac(name, body).finalize().into_bytes();
            let tmp = unique_temp_name(name);
            let fd = create_exclusive(&self.dir, &tmp)?;
            let result = (|| {
                let mut f = std::fs::File::from(fd);
                f.write_all(body)?;
                f.write_all(&tag)?;
                f.sync_all()?;
                rfs::renameat(&self.dir, &tmp, &self.dir, name)?;
                Ok(())
            })();
            if result.is_err() {
                let _ = rfs::unlinkat(&self.dir, &tmp, AtFlags::empty());
            }
            result
        }

        fn mac(&self, name: &str, body: &[u8]) -> Hmac<Sha256> {
            let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
            mac.update(DOMAIN);
            mac.update(name.as_bytes());
            mac.update(b"\0");
            mac.update(body);
            mac
        }
    }

    /// A regular file or directory owned by this user, with none of the
    /// `forbidden` mode bits.
    fn check_private(st: &rfs::Stat, forbidden: u32, what: &str) -> Result<(), String> {
        let uid = rustix::process::geteuid().as_raw();
        if st.st_uid != uid {
            return Err(format!(
                "the {what} is owned by uid {}, not by you ({uid})",
                st.st_uid
            ));
        }
        let mode = st.st_mode & 0o7777;
        if mode & forbidden != 0 {
            return Err(format!(
                "the {what} is accessible by others (mode {mode:04o}); it must be private to you"
            ));
        }
        let kind = FileType::from_raw_mode(st.st_mode);
        if kind != FileType::RegularFile && kind != FileType::Directory {
            return Err(format!("the {what} is not a regular file"));
        }
        Ok(())
    }

    fn open_file(dir: &OwnedFd, name: &str) -> rustix::io::Result<OwnedFd> {
        rfs::openat(
            dir,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
    }

    fn create_exclusive(dir: &OwnedFd, name: &str) -> io::Result<OwnedFd> {
        Ok(rfs::openat(
            dir,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::RUSR | Mode::WUSR,
        )?)
    }

    fn unique_temp_name(name: &str) -> String {
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        format!("{name}.{}.{n}.tmp", std::process::id())
    }

    /// The directory's key: read it (a private regular file of exactly 32
    /// bytes), or make one. Creation is exclusive: a fresh key is written to
    /// a temp file and linked to `key`, which fails if another process got
    /// there first — then theirs is used.
    fn read_or_create_key(dir: &OwnedFd) -> Result<[u8; KEY_LEN], String> {
        for _ in 0..3 {
            match open_file(dir, KEY) {
                Ok(fd) => return read_key(fd),
                Err(rustix::io::Errno::NOENT) => {}
                Err(e) => return Err(format!("cannot open its key: {e}")),
            }
            let mut key = [0u8; KEY_LEN];
            fill_random(&mut key).map_err(|e| format!("no random bytes for a key: {e}"))?;
            let tmp = unique_temp_name(KEY);
            let made = (|| {
                let mut f = std::fs::File::from(create_exclusive(dir, &tmp)?);
                f.write_all(&key)?;
                f.sync_all()?;
                rfs::linkat(dir, &tmp, dir, KEY, AtFlags::empty())?;
                Ok::<_, io::Error>(())
            })();
            let _ = rfs::unlinkat(dir, &tmp, AtFlags::empty());
            match made {
                Ok(()) => return Ok(key),
                // Another process made the key first: read theirs.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(format!("cannot create its key: {e}")),
            }
        }
        Err("its key keeps changing".into())
    }

    fn read_key(fd: OwnedFd) -> Result<[u8; KEY_LEN], String> {
        let st = rfs::fstat(&fd).map_err(|e| format!("cannot stat its key: {e}"))?;
        check_private(&st, 0o077, "key")?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err("its key is not a regular file".into());
        }
        let mut key = [0u8; KEY_LEN];
        let mut f = std::fs::File::from(fd);
        f.read_exact(&mut key)
            .map_err(|e| format!("its key is unreadable: {e}"))?;
        if f.read(&mut [0u8; 1]).map_err(|e| e.to_string())? != 0 {
            return Err("its key is not 32 bytes".into());
        }
        Ok(key)
    }

    fn fill_random(buf: &mut [u8]) -> rustix::io::Result<()> {
        let mut filled = 0;
        while filled < buf.len() {
            filled +=
                rustix::rand::getrandom(&mut buf[filled..], rustix::rand::GetRandomFlags::empty())?;
        }
        Ok(())
    }
}

#[cfg(not(unix))]
mod private {
    /// Elsewhere there is no way to check the directory's owner and mode,
    /// so there is no cache: every start compiles.
    pub struct Cache;

    impl Cache {
        pub fn open(_: &std::path::Path) -> Result<Cache, String> {
            Err("the compile cache is only supported on Unix".into())
        }
        pub fn read(&self, _: &str) -> Option<Vec<u8>> {
            None
        }
        pub fn write(&self, _: &str, _: &[u8]) -> std::io::Result<()> {
            Ok(())
        }
    }
}
