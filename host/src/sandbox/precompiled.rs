//! The built-in component, compiled ahead of time, so that a first run on a
//! machine does not wait seconds for Cranelift.
//!
//! `host/assets/csvseal_guest.x86_64.cwasm` is [`precompile`] of the
//! built-in component: the run-time engine configuration
//! ([`super::engine_config`]) with a fixed target, x86_64 Linux with the
//! x86-64-v3 CPU features, so that the file is the same whoever builds it.
//! `scripts/build-component.sh` writes it; a test fails when it differs
//! from a fresh compile. `host/build.rs` embeds it only when its header
//! names the committed component and its body is intact: digests kept in
//! the file itself, which catch a stale or torn artifact, not a crafted
//! one. Only the recompiling test (run by CI, not by `cargo install`)
//! proves it is the compile of the committed component.
//!
//! At run time wasmtime checks the artifact before using it: its wasmtime
//! version, engine settings, target, and that this CPU has every feature
//! the code uses. Anything else, and on other platforms, [`load`] gives
//! `None` and the caller compiles (with the on-disk cache). The artifact is
//! part of this executable, as trusted as the rest of it; nothing read from
//! outside is deserialized here.

use wasmtime::Engine;
#[cfg(test)]
use wasmtime::Result;
use wasmtime::component::Component;

/// The precompiled built-in component, or empty when build.rs did not
/// embed one.
pub(crate) const EMBEDDED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/csvseal_guest.cwasm"));

/// The CPU features the artifact is compiled for (a Cranelift preset).
#[cfg(test)]
const CPU: &str = "x86-64-v3";

/// `artifact` as a component for `engine`, when wasmtime finds it
/// compatible. `CSVSEAL_PRECOMPILED=0` declines it.
pub(crate) fn load(engine: &Engine, artifact: &[u8]) -> Option<Component> {
    if artifact.is_empty() || std::env::var_os("CSVSEAL_PRECOMPILED").is_some_and(|v| v == "0") {
        return None;
    }
    // SAFETY: `artifact` is `EMBEDDED`, produced by `precompile` and checked
    // by build.rs against its SHA-256 (tests pass other wasmtime output);
    // wasmtime refuses it unless this version, configuration, target and
    // CPU can run it.
    match unsafe { Component::deserialize(engine, artifact) } {
        Ok(component) => Some(component),
        Err(e) => {
            tracing::debug!("precompiled component not usable here, compiling: {e:#}");
            None
        }
    }
}

/// Compiles `component` as the committed artifact is compiled (by the test
/// that checks or rewrites it).
#[cfg(test)]
pub(crate) fn precompile(component: &[u8]) -> Result<Vec<u8>> {
    let mut config = super::engine_config::config();
    config.target("x86_64-unknown-linux-gnu")?;
    // SAFETY: CPU feature presets; wasmtime checks them against the CPU
    // before running the code.
    unsafe {
        config.cranelift_flag_enable(CPU);
        config.cranelift_flag_enable("has_avx");
    }
    Engine::new(&config)?.precompile_component(component)
}

#[cfg(test)]
mod tests {
    use super::super::builtin::BUILTIN_COMPONENT;
    use super::super::precompiled_asset::{pack, unpack};
    use super::*;

    const ASSET: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/assets/csvseal_guest.x86_64.cwasm"
    );

    fn engine() -> Engine {
        Engine::new(&super::super::engine_config::config()).unwrap()
    }

    /// `CSVSEAL_UPDATE_PRECOMPILED=1` rewrites the file instead
    /// (scripts/build-component.sh does). Cranelift here compiles for the
    /// host's architecture only.
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_committed_artifact_is_a_fresh_compile_of_the_component() {
        let fresh = pack(BUILTIN_COMPONENT, &precompile(BUILTIN_COMPONENT).unwrap());
        if std::env::var_os("CSVSEAL_UPDATE_PRECOMPILED").is_some_and(|v| v == "1") {
            std::fs::write(ASSET, &fresh).unwrap();
        }
        let committed = std::fs::read(ASSET).unwrap();
        assert!(
            committed == fresh,
            "{ASSET} is stale: run scripts/build-component.sh and commit it"
        );
        // A second compile gives the same bytes: the file does not depend
        // on the machine or the run.
        assert!(
            precompile(BUILTIN_COMPONENT).unwrap() == unpack(&fresh, BUILTIN_COMPONENT).unwrap()
        );
    }

    #[test]
    fn the_embedded_artifact_loads_where_the_cpu_allows() {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        {
            assert!(!EMBEDDED.is_empty(), "build.rs did not embed the artifact");
            use std::arch::is_x86_feature_detected as has;
            let v3 = has!("avx")
                && has!("avx2")
                && has!("bmi1")
                && has!("bmi2")
                && has!("fma")
                && has!("lzcnt")
                && has!("popcnt")
                && has!("sse4.2");
            assert_eq!(load(&engine(), EMBEDDED).is_some(), v3);
        }
    }

    #[test]
    fn an_incompatible_or_damaged_artifact_is_refused() {
        let engine = engine();
        // Compiled with other engine settings (no epoch interruption: code
        // that could not be stopped).
        let mut config = super::super::engine_config::config();
        config.epoch_interruption(false);
        let other = Engine::new(&config)
            .unwrap()
            .precompile_component(BUILTIN_COMPONENT)
            .unwrap();
        assert!(load(&engine, &other).is_none());
        // A plain wasm file, garbage, a truncated artifact, nothing.
        let artifact = precompile(BUILTIN_COMPONENT).unwrap();
        for bad in [
            BUILTIN_COMPONENT,
            b"\x7fELF garbage" as &[u8],
            &artifact[..artifact.len() / 2],
            &[],
        ] {
            assert!(load(&engine, bad).is_none());
        }
    }

    #[test]
    fn build_rs_embeds_only_an_artifact_of_this_component_that_is_intact() {
        let artifact = b"compiled code".to_vec();
        let file = pack(BUILTIN_COMPONENT, &artifact);
        assert_eq!(unpack(&file, BUILTIN_COMPONENT), Ok(&artifact[..]));
        assert!(unpack(&file, b"another component").is_err());
        for at in [0, file.len() / 2, file.len() - 1] {
            let mut damaged = file.clone();
            damaged[at] ^= 1;
            assert!(unpack(&damaged, BUILTIN_COMPONENT).is_err(), "byte {at}");
        }
        assert!(unpack(&file[..70], BUILTIN_COMPONENT).is_err());
    }
}
