//! The file seam: every operation a commit's durability depends on, the
//! files the user names, and the primitives built only on them. Nothing
//! here knows about the sandbox, verification, writes or jobs: it imports
//! nothing of the crate but [`crate::error`] (`host/tests/layers.rs`
//! checks it). Reads and listings (verification, sweeps, series) are not
//! behind the seam: the jobs above do them through cap-std `Dir`s.
//!
//! Bottom up: [`file_ops`] (the seam: every operation a commit's
//! durability depends on) and [`by_path`] (files the user names, opened
//! through their directory) → [`temp_lock`] (who owns a temp file; stale
//! sweeps) → [`atomic_file`] (temp → fsync → no-replace rename → directory
//! fsync) and [`atomic_replace`] (small files replaced whole); [`naming`]
//! (the policy's file names) beside them. [`temp_metrics`] counts temp-file
//! removals through the `metrics` facade, as the seam logs through
//! `tracing`.

pub mod atomic_file;
pub mod atomic_replace;
pub mod by_path;
pub mod file_ops;
pub mod naming;
pub mod temp_lock;
pub mod temp_metrics;
