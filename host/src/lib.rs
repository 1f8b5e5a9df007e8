//! csvseal: CSV files that are never torn, silently corrupted or overwritten.
//!
//! Every row carries `file_seq` (strictly increasing) and `checksum_sha256`
//! (the policy's per-row SHA-256). The logic — parsing, checksums, schema and
//! sequence checks — runs in a sandboxed WebAssembly component
//! ([`Sandbox`]); this crate is the host, the only code that touches files.
//!
//! ```no_run
//! use csvseal::{Limits, Sandbox, WriteRequest, write_sealed, verify_file};
//! # fn main() -> csvseal::Result<()> {
//! let sandbox = Sandbox::builtin(Limits::default())?;
//! let req = WriteRequest {
//!     dir: "out".into(),
//!     base_name: "trade_results".into(),
//!     timestamp: time::OffsetDateTime::now_utc(),
//!     format: csvseal::InputFormat::Csv,
//!     header: None,
//!     schema: None,
//!     start_seq: 1,
//! };
//! let mut input = std::fs::File::open("trades.csv").unwrap();
//! let committed = write_sealed(&sandbox, &req, &mut input, "trades.csv")?;
//! let report = verify_file(&sandbox, None, &committed.path)?;
//! assert!(report.valid);
//! # Ok(()) }
//! ```

pub mod canonical_json;
pub mod deadline;
pub mod error;
pub mod monitor;
pub mod report;
pub mod sandbox;
pub mod store;
pub mod verify;
pub mod write;

pub use error::{Error, Result};
pub use report::{ErrorKind, RowError, SealSummary, SeqGap, VerifyReport};
pub use sandbox::plugin::verify_file_checked;
pub use sandbox::{BUILTIN_COMPONENT, InputFormat, Limits, Sandbox, SealOptions};
pub use time;
pub use verify::{Schema, verify_file, verify_reader};
pub use write::{
    Committed, WriteControl, WriteRequest, write_sealed, write_sealed_until, write_sealed_with,
};
