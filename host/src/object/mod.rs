//! Sealed files on S3-compatible object storage, with the local write's
//! guarantees: nobody sees a partial file, a final name is never
//! clobbered, every committed file verifies, abandoned uploads are swept.
//!
//! The "temp file" is a multipart upload (invisible until completed), the
//! no-replace rename is a complete with `If-None-Match: *`, and the fsync
//! and read-back become the store's SHA-256 checksum of what it received
//! (or a re-read). See `write.rs` for the steps and ARCHITECTURE.md for why.
//!
//! Layering, bottom up: `runtime` (tokio, started only here) → `bucket`
//! (connection, credentials from the environment) → `signed` (the one place
//! that signs with a credential; retries) → `s3api` (the S3 operations) →
//! `probe`, `ledger`, `upload`, `read` → the jobs: `write`, `backup`,
//! `check` (verify, series, audit), `recover`.

mod backup;
mod bucket;
mod check;
mod ledger;
mod probe;
mod read;
mod recover;
mod runtime;
mod s3api;
mod signature;
mod signed;
mod upload;
mod write;

pub use bucket::{Bucket, ObjectOptions, connect};
pub use check::{
    ObjectRanged, audit_prefix, open_object, open_object_version, open_ranged, prefix_source,
    series_members, verify_object, verify_object_signed, verify_series_at,
};
pub use probe::PROBE_NAME;
pub use read::ObjectReader;
pub use recover::recover_prefix;
pub use upload::{IN_FLIGHT, PART_SIZE};
pub use write::write_sealed_object;
