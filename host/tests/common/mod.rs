//! Helpers shared by the library's integration tests.
#![allow(dead_code)]

use std::path::Path;

use csvseal::WriteRequest;

/// A CSV write of `{base}_20240910_143000.csv` into `dir`, seqs from 1.
pub fn request_named(dir: &Path, base: &str) -> WriteRequest {
    WriteRequest {
        timestamp: csvseal::store::naming::parse_timestamp("2024-09-10T14:30:00Z").unwrap(),
        ..WriteRequest::new(dir, base)
    }
}

/// [`request_named`] with the base name `orders`.
pub fn request(dir: &Path) -> WriteRequest {
    request_named(dir, "orders")
}
