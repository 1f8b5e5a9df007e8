//! The host side of the `csvseal:core` contract, generated from `wit/`.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "engine",
});
