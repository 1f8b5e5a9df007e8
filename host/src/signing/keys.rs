//! minisign key files: make a key pair, load a secret key, read a public key.
//!
//! The formats are minisign's own, so Debian's `minisign -p` reads the
//! public key and `minisign -s` the secret one (unencrypted, as
//! `minisign -G -W` makes them):
//!
//! - public key: `untrusted comment: …` then base64(`Ed` | key ID (8) | key (32));
//! - secret key: `untrusted comment: …` then base64(`Ed` | KDF `\0\0` |
//!   checksum algorithm `B2` | KDF salt (32) | KDF limits (16) | key ID (8) |
//!   secret key (64: seed and public key) | BLAKE2b-256 of `Ed`, key ID and
//!   secret key (32)).
//!
//! Secret key material never leaves this file but to sign: its `Debug` shows
//! the key ID only, and every buffer that held it is zeroed when dropped.

use std::io::{Read, Write};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use blake2::Blake2bVar;
use blake2::digest::{Update, VariableOutput};
use ed25519_dalek::SigningKey;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::store::by_path::open_parent;

/// Largest key file read: a minisign key file is under 400 bytes.
const KEY_FILE_LIMIT: u64 = 16 * 1024;
const SECRET_KEY_BYTES: usize = 158;
const PUBLIC_KEY_BYTES: usize = 42;

/// A key's ID: 8 bytes, shown as minisign shows it (16 uppercase hex
/// digits of the bytes read as a little-endian number).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 8]);

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016X}", u64::from_le_bytes(self.0))
    }
}

impl std::fmt::Debug for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyId({self})")
    }
}

/// A secret signing key. Its `Debug` shows the key ID, never the key.
pub struct SecretKey {
    id: KeyId,
    signing: SigningKey,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey({})", self.id)
    }
}

/// A public key, as minisign writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub id: KeyId,
    pub key: [u8; 32],
}

impl PublicKey {
    /// The public key file's text: minisign's format, one key.
    pub fn to_minisign_text(&self) -> String {
        let mut raw = Vec::with_capacity(PUBLIC_KEY_BYTES);
        raw.extend_from_slice(b"Ed");
        raw.extend_from_slice(&self.id.0);
        raw.extend_from_slice(&self.key);
        format!(
            "untrusted comment: minisign public key {}\n{}\n",
            self.id,
            B64.encode(raw)
        )
    }
}

impl SecretKey {
    /// A new random key pair (seed and key ID from the operating system's
    /// random source).
    pub fn generate() -> Result<Self> {
        let mut seed = Zeroizing::new([0u8; 32]);
        let mut id = [0u8; 8];
        fill_random(&mut seed[..])?;
        fill_random(&mut id)?;
        Ok(SecretKey {
            id: KeyId(id),
            signing: SigningKey::from_bytes(&seed),
        })
    }

    /// The key's ID.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey {
            id: self.id,
            key: self.signing.verifying_key().to_bytes(),
        }
    }

    /// Ed25519 signature of `message` (the caller frames it as minisign does).
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        use ed25519_dalek::Signer;
        self.signing.sign(message).to_bytes()
    }

    /// The secret key file's text (unencrypted minisign format).
    pub fn to_minisign_text(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new(Vec::with_capacity(SECRET_KEY_BYTES));
        raw.extend_from_slice(b"Ed");
        raw.extend_from_slice(&[0, 0]);
        raw.extend_from_slice(b"B2");
        raw.extend_from_slice(&[0u8; 32 + 16]);
        raw.extend_from_slice(&self.id.0);
        let keypair = Zeroizing::new(self.signing.to_keypair_bytes());
        raw.extend_from_slice(&keypair[..]);
        let chk = checksum(&self.id, &keypair);
        raw.extend_from_slice(&chk);
        Zeroizing::new(format!(
            "untrusted comment: minisign secret key (unencrypted, made by csvseal keygen)\n{}\n",
            B64.encode(&raw[..])
        ))
    }

    /// Reads a secret key file's text. Errors never quote the text.
    pub fn from_minisign_text(text: &str) -> std::result::Result<Self, String> {
        let line = text
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .find(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))
            .ok_or("no key in the file")?;
        let raw = Zeroizing::new(
            B64.decode(line.trim())
                .map_err(|_| "not a minisign secret key (bad base64)")?,
        );
        if raw.len() != SECRET_KEY_BYTES || &raw[..2] != b"Ed" {
            return Err("not a minisign Ed25519 secret key".into());
        }
        if &raw[2..4] != b"\0\0" {
            return Err(
                "the key is password-protected; csvseal reads unencrypted minisign \
                 secret keys only (make one with `csvseal keygen` or `minisign -G -W`)"
                    .into(),
            );
        }
        if &raw[4..6] != b"B2" {
            return Err("unknown checksum algorithm in the secret key".into());
        }
        let at = 6 + 32 + 16;
        let mut id = [0u8; 8];
        id.copy_from_slice(&raw[at..at + 8]);
        let id = KeyId(id);
        let mut keypair = Zeroizing::new([0u8; 64]);
        keypair.copy_from_slice(&raw[at + 8..at + 72]);
        if checksum(&id, &keypair)[..] != raw[at + 72..] {
            return Err("the secret key file is damaged (its checksum does not match)".into());
        }
        let signing = SigningKey::from_keypair_bytes(&keypair)
            .map_err(|_| "the secret key's public half does not match its seed")?;
        Ok(SecretKey { id, signing })
    }

    /// Loads the secret key file `path`: a regular file (no symlink, FIFO or
    /// device), not readable or writable by group or others (as ssh
    /// insists), of at most a few KiB.
    pub fn load(path: &Path) -> Result<Self> {
        let text = read_secret_file(path)?;
        SecretKey::from_minisign_text(&text).map_err(|why| {
            Error::Usage(format!(
                "{}: not a usable secret key: {why}",
                path.display()
            ))
        })
    }
}

/// minisign's secret key checksum: BLAKE2b-256 of `Ed`, the key ID and the
/// 64-byte secret key.
fn checksum(id: &KeyId, keypair: &[u8; 64]) -> [u8; 32] {
    let mut h = Blake2bVar::new(32).expect("32 is a valid BLAKE2b length");
    h.update(b"Ed");
    h.update(&id.0);
    h.update(keypair);
    let mut out = [0u8; 32];
    h.finalize_variable(&mut out)
        .expect("the buffer is the chosen length");
    out
}

fn fill_random(buf: &mut [u8]) -> Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = rustix::rand::getrandom(&mut buf[filled..], rustix::rand::GetRandomFlags::empty())
            .map_err(|e| Error::io("getrandom", "read random bytes", e.into()))?;
        filled += n;
    }
    Ok(())
}

/// The secret key file's text, read with the checks of [`SecretKey::load`].
fn read_secret_file(path: &Path) -> Result<Zeroizing<String>> {
    use cap_std::fs::{OpenOptions, OpenOptionsExt};
    use rustix::fs::OFlags;
    let op = "read secret key";
    let refused = |why: &str| Error::io(path, op, std::io::Error::other(why.to_owned()));
    let (dir, name) = open_parent(path)?;
    let mut options = OpenOptions::new();
    options
        .read(true)
        .custom_flags((OFlags::NONBLOCK | OFlags::NOFOLLOW).bits() as i32);
    let mut f = dir.open_with(&name, &options).map_err(|e| {
        if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
            refused("is a symlink; refusing to follow it")
        } else {
            Error::io(path, op, e)
        }
    })?;
    let meta = f.metadata().map_err(|e| Error::io(path, op, e))?;
    if !meta.is_file() {
        return Err(refused("not a regular file"));
    }
    #[cfg(unix)]
    {
        use cap_std::fs::PermissionsExt;
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(Error::Usage(format!(
                "{}: the secret key is accessible by group or others (mode {:04o}); \
                 make it private: chmod 600 {}",
                path.display(),
                mode & 0o7777,
                path.display()
            )));
        }
    }
    if meta.len() > KEY_FILE_LIMIT {
        return Err(refused("too large for a key file"));
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize));
    (&mut f)
        .take(KEY_FILE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, op, e))?;
    if bytes.len() as u64 > KEY_FILE_LIMIT {
        return Err(refused("too large for a key file"));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| refused("not text"))?;
    Ok(Zeroizing::new(text.to_owned()))
}

/// Makes a key pair: the secret key file is created exclusively (never
/// replacing anything) with mode 0600, the public one exclusively too; both
/// are fsynced, and so is each directory. Returns the public key.
pub fn keygen(secret_path: &Path, public_path: &Path) -> Result<PublicKey> {
    if secret_path == public_path {
        return Err(Error::Usage(
            "--secret-key and --public-key must be different files".into(),
        ));
    }
    let key = SecretKey::generate()?;
    let public = key.public();
    create_key_file(secret_path, key.to_minisign_text().as_bytes(), 0o600)?;
    if let Err(e) = create_key_file(public_path, public.to_minisign_text().as_bytes(), 0o644) {
        // No half-made pair: the secret key is useless without its public key.
        if let Ok((dir, name)) = open_parent(secret_path) {
            let _ = dir.remove_file(name);
        }
        return Err(e);
    }
    Ok(public)
}

fn create_key_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use cap_std::fs::{OpenOptions, OpenOptionsExt};
    let (dir, name) = open_parent(path)?;
    let mut options = OpenOptions::new();
    options.write(true).create_new(true).mode(mode);
    let mut f = dir.open_with(&name, &options).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::TargetExists {
                path: path.to_owned(),
            }
        } else {
            Error::io(path, "create key file", e)
        }
    })?;
    let written = f
        .write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::io(path, "write key file", e))
        .and_then(|()| {
            crate::store::file_ops::sync_dir(&dir)
                .map_err(|e| Error::io(path, "fsync directory", e))
        });
    if written.is_err() {
        let _ = dir.remove_file(&name);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_key_reads_back_and_signs_as_itself() {
        let key = SecretKey::generate().unwrap();
        let text = key.to_minisign_text();
        let back = SecretKey::from_minisign_text(&text).unwrap();
        assert_eq!(back.id(), key.id());
        assert_eq!(back.public(), key.public());
        assert_eq!(back.sign(b"m"), key.sign(b"m"));
    }

    #[test]
    fn damaged_or_encrypted_secret_keys_are_refused_without_quoting_them() {
        let key = SecretKey::generate().unwrap();
        let text = key.to_minisign_text();
        let line = text.lines().nth(1).unwrap();
        let mut raw = B64.decode(line).unwrap();
        raw[100] ^= 1;
        let damaged = B64.encode(&raw);
        let e = SecretKey::from_minisign_text(&damaged).unwrap_err();
        assert!(e.contains("damaged"), "{e}");
        assert!(!e.contains(&damaged[..20]));
        let mut enc = B64.decode(line).unwrap();
        enc[2..4].copy_from_slice(b"Sc");
        let e = SecretKey::from_minisign_text(&B64.encode(&enc)).unwrap_err();
        assert!(e.contains("password-protected"), "{e}");
        assert!(SecretKey::from_minisign_text("untrusted comment: x\n").is_err());
        assert!(SecretKey::from_minisign_text("!!!").is_err());
    }

    #[test]
    fn debug_shows_the_key_id_only() {
        let key = SecretKey::generate().unwrap();
        let shown = format!("{key:?}");
        assert_eq!(shown, format!("SecretKey({})", key.id()));
    }

    #[test]
    fn key_ids_print_as_minisign_prints_them() {
        let id = KeyId([0xE7, 0xC6, 0xB8, 0xE1, 0xF1, 0xE2, 0x2D, 0x8A]);
        assert_eq!(id.to_string(), "8A2DE2F1E1B8C6E7");
    }

    #[test]
    fn keygen_makes_a_private_secret_key_and_never_replaces_a_file() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let (s, p) = (d.path().join("k.key"), d.path().join("k.pub"));
        let public = keygen(&s, &p).unwrap();
        let mode = std::fs::metadata(&s).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let loaded = SecretKey::load(&s).unwrap();
        assert_eq!(loaded.public(), public);
        assert!(matches!(
            keygen(&s, &d.path().join("other.pub")),
            Err(Error::TargetExists { .. })
        ));
        std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = SecretKey::load(&s).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        std::os::unix::fs::symlink(&s, d.path().join("link.key")).unwrap();
        std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = SecretKey::load(&d.path().join("link.key"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("symlink"), "{e}");
    }
}
