//! csvseal: CSV files that are never torn, silently corrupted or overwritten.
//!
//! Every row carries `file_seq` (strictly increasing) and `checksum_sha256`
//! (the policy's per-row SHA-256). The logic — parsing, checksums, schema and
//! sequence checks — runs in a sandboxed WebAssembly component
//! ([`Sandbox`]); this crate is the host, the only code that touches files.
//!
//! The modules stand in floors, each importing only its own and those
//! below (ARCHITECTURE.md, "The host, by floor"; `tests/layers.rs`):
//! [`jobs`] and [`object`] → [`write`], [`verify`], [`backup`],
//! [`plugin`], [`monitor`] → [`store`] (the file seam) and [`sandbox`] (the
//! engine) → [`error`], [`report`] and pure helpers.
//!
//! ```no_run
//! use csvseal::{Limits, Sandbox, WriteRequest, write_sealed, verify_file};
//! # fn main() -> csvseal::Result<()> {
//! let sandbox = Sandbox::builtin(Limits::default())?;
//! // A ';'-separated Windows-1252 export with a header line.
//! let mut req = WriteRequest::new("out", "trade_results");
//! req.dialect = csvseal::Dialect::delimited_by(b';');
//! req.encoding = csvseal::InputEncoding::Windows1252;
//! let mut input = std::fs::File::open("trades.csv").unwrap();
//! let committed = write_sealed(&sandbox, &req, &mut input, "trades.csv")?;
//! let report = verify_file(&sandbox, None, &committed.path)?;
//! assert!(report.valid);
//! # Ok(()) }
//! ```

pub mod backup;
pub mod canonical_json;
pub mod checked_seal;
pub mod deadline;
pub mod error;
pub mod inspect;
pub mod jobs;
pub mod location;
pub mod monitor;
pub mod object;
pub mod plugin;
pub mod report;
pub mod sandbox;
pub mod segment_digest;
pub mod signing;
pub mod store;
pub mod transcode;
pub mod verify;
pub mod write;

pub use error::{Error, Result};
pub use plugin::verify_file_checked;
pub use report::{
    ChainLink, ErrorKind, FileFacts, RowError, SealSummary, SeqGap, SignatureReport,
    SignatureStatus, SignedClaims, VerifyReport,
};
pub use sandbox::SignatureCheckSession;
pub use sandbox::{BUILTIN_COMPONENT, Dialect, InputFormat, Limits, Sandbox, SealOptions};
pub use time;
pub use transcode::InputEncoding;
pub use verify::{
    Schema, VerifyFileOptions, default_jobs, verify_file, verify_file_with, verify_reader,
};
pub use write::{
    Committed, WriteControl, WriteRequest, write_sealed, write_sealed_until, write_sealed_with,
};
