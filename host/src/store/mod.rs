//! Files in a local directory: the file-operation seam at the bottom, then
//! temp files and their locks, the atomic commit, names, and the jobs built
//! on them (backups, recovery, series, salvage).
//!
//! Layering, bottom up: [`file_ops`] (the seam: every operation a commit's
//! durability depends on) and [`by_path`] (files the user names, opened
//! through their directory) → [`temp_lock`] → [`atomic_file`] /
//! [`atomic_replace`] → the jobs. Nothing here reaches up into `write` or
//! the CLI, except the jobs, which seal and verify through the sandbox.

pub mod atomic_file;
pub mod atomic_replace;
pub mod backup;
pub mod by_path;
pub mod file_ops;
pub mod naming;
pub mod recover;
pub mod salvage;
pub mod series;
pub mod temp_lock;
