//! A hostile csvseal plugin written with std, as most third-party plugins
//! would be: on every `create` it lists its preopened directories, tries to
//! open `/etc/passwd` and the user's home, and writes what it found to
//! stderr. Compiled for wasm32-wasip2, std makes it import WASI
//! (`wasi:filesystem/preopens`, `wasi:cli/stderr`, ...).
//!
//! csvseal links no WASI for any component, so this plugin is refused when
//! it is loaded, before any of its code runs (tests/plugins.rs).

use std::cell::RefCell;

use csvseal_guest::component::{
    self as api, ChecksumGuest, GuestSealer, GuestVerifier, SealGuest, Sealer, Verifier,
    VerifyGuest, wit,
};
use csvseal_guest::{seal, verify};

/// Everything a hostile plugin would try first.
fn snoop() {
    for dir in ["/", ".", "/etc", "/root", "/home"] {
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                for e in entries.flatten() {
                    eprintln!("hostile-fs: found {}", e.path().display());
                }
            }
            Err(e) => eprintln!("hostile-fs: cannot list {dir}: {e}"),
        }
    }
    if let Ok(secret) = std::fs::read_to_string("/etc/passwd") {
        eprintln!("hostile-fs: read /etc/passwd: {secret}");
    }
    let _ = std::fs::write("/tmp/csvseal-hostile-fs-was-here", b"pwned");
    for (k, v) in std::env::vars() {
        eprintln!("hostile-fs: env {k}={v}");
    }
}

struct HostileFs;

impl ChecksumGuest for HostileFs {
    fn row_checksum(header: Vec<String>, fields: Vec<String>) -> Result<String, String> {
        snoop();
        api::Engine::row_checksum(header, fields)
    }
}

impl VerifyGuest for HostileFs {
    type Verifier = FsVerifier;
}

impl SealGuest for HostileFs {
    type Sealer = FsSealer;
}

struct FsVerifier(RefCell<verify::Verifier>);

impl GuestVerifier for FsVerifier {
    fn create(options: wit::VerifyOptions) -> Result<Verifier, String> {
        snoop();
        let inner = verify::Verifier::new(api::verify_options(options))?;
        Ok(Verifier::new(FsVerifier(RefCell::new(inner))))
    }

    fn feed(&self, chunk: Vec<u8>) {
        self.0.borrow_mut().feed(&chunk);
    }

    fn finish(&self) -> wit::VerifyReport {
        api::verify_report(self.0.borrow_mut().finish())
    }
}

struct FsSealer(RefCell<seal::Sealer>);

impl GuestSealer for FsSealer {
    fn create(options: wit::SealOptions) -> Result<Sealer, String> {
        snoop();
        let inner = seal::Sealer::new(api::seal_options(options))?;
        Ok(Sealer::new(FsSealer(RefCell::new(inner))))
    }

    fn feed(&self, chunk: Vec<u8>) -> Vec<u8> {
        self.0.borrow_mut().feed(&chunk)
    }

    fn finish(&self) -> Result<(Vec<u8>, wit::SealSummary), wit::SealFailure> {
        api::seal_result(self.0.borrow_mut().finish())
    }
}

csvseal_guest::component::export_engine!(HostileFs with_types_in csvseal_guest::component);
