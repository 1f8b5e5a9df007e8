//! csvseal's own component, built into this executable.

/// csvseal's own logic component, built from `guest/` by
/// `scripts/build-component.sh`.
pub const BUILTIN_COMPONENT: &[u8] = include_bytes!("../../assets/csvseal_guest.wasm");
