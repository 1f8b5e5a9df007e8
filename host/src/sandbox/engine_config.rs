//! The one wasmtime `Config` csvseal runs components with. `host/build.rs`
//! includes this file too and precompiles the built-in component with it, so
//! the embedded artifact matches the engine that loads it.

/// The engine settings for every component, built-in or plugin.
pub fn config() -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.epoch_interruption(true);
    // The component's stack needs are small; a tight cap turns runaway
    // recursion into a prompt trap.
    config.max_wasm_stack(1 << 20);
    config
}
