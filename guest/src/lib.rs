//! csvseal's logic, with no I/O: CSV reading and writing, the policy's row
//! checksum, schema and sequence checks, verification and sealing.
//!
//! On `wasm32` the crate is `no_std` and becomes the `engine` component
//! (see `wit/csvseal.wit`), which imports nothing: no WASI, no clock, no
//! filesystem. Natively it is an ordinary library, unit-tested with std.
// Unit tests use std even when built for wasm32 (`--all-targets`); the
// component itself (lib, not test) is no_std, with `runtime` standing in for
// libc. Without `runtime` (a plugin written with std) the crate uses std.
#![cfg_attr(all(target_arch = "wasm32", not(test), feature = "runtime"), no_std)]
extern crate alloc;

pub mod checksum;
pub mod csv_reader;
pub mod csv_writer;
mod dialect_hint;
#[cfg(not(all(target_arch = "wasm32", not(test))))]
#[doc(hidden)]
pub mod fuzz_oracle;
pub mod jsonl;
pub mod lanes;
pub mod policy_compat;
pub mod report;
mod scan;
pub mod schema;
pub mod seal;
pub mod sha256x4;
mod short_bytes;
pub mod signature;
pub mod values_digest;
pub mod verify;

#[cfg(all(target_arch = "wasm32", not(test), feature = "plugin-api"))]
pub mod component;
#[cfg(all(target_arch = "wasm32", not(test), feature = "runtime"))]
mod runtime;
