//! Embeds the committed precompiled built-in component, when it matches
//! the committed component and is intact, so that a first run skips
//! Cranelift. Otherwise an empty artifact is embedded and the component is
//! compiled at run time (see src/sandbox/precompiled.rs).

use std::path::PathBuf;

#[path = "src/sandbox/precompiled_asset.rs"]
#[allow(dead_code)] // `pack` is for the tests that write the file
mod precompiled_asset;

const COMPONENT: &str = "assets/csvseal_guest.wasm";
const PRECOMPILED: &str = "assets/csvseal_guest.x86_64.cwasm";

fn main() {
    println!("cargo::rerun-if-changed={COMPONENT}");
    println!("cargo::rerun-if-changed={PRECOMPILED}");
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let out = PathBuf::from(env("OUT_DIR")).join("csvseal_guest.cwasm");
    // The artifact is x86_64 Linux code: elsewhere the JIT compiles.
    let artifact =
        if env("CARGO_CFG_TARGET_ARCH") == "x86_64" && env("CARGO_CFG_TARGET_OS") == "linux" {
            checked_artifact()
        } else {
            Vec::new()
        };
    std::fs::write(&out, artifact).expect("write the embedded artifact");
}

fn checked_artifact() -> Vec<u8> {
    let read = |path: &str| std::fs::read(path).unwrap_or_default();
    let (component, file) = (read(COMPONENT), read(PRECOMPILED));
    match precompiled_asset::unpack(&file, &component) {
        Ok(artifact) => artifact.to_vec(),
        Err(why) => {
            println!(
                "cargo::warning={PRECOMPILED} not embedded ({why}); first runs will compile the component"
            );
            Vec::new()
        }
    }
}
