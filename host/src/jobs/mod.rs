//! The jobs on a local directory, built on the floors below: the file seam
//! (`store/`), the sandbox, verification and the sealed write. Their
//! object-storage counterparts are in `object/`, and share these jobs'
//! reports (`RecoverReport`, `SeriesReport`) and pure parts
//! (`series_report`, `is_member`).
//!
//! - [`recover`]: sweep temp files whose writer is gone, re-verify finals.
//! - [`restore`]: bring back the newest good backup.
//! - [`salvage`]: keep the longest valid prefix of a damaged file.
//! - [`series`]: continue a series' `file_seq`; verify a series.
//! - [`audit`]: check a directory and raise alerts, with state across runs.
//! - [`sign`]: verify unsigned sealed files and sign them (an archive adopted).

pub mod audit;
pub mod recover;
pub mod restore;
pub mod salvage;
pub mod series;
pub mod sign;
