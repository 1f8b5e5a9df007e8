//! Verification of sealed files: a stream read once, in order
//! (`stream.rs`), or a large file by several sandboxed instances at once
//! (`parallel.rs`, merged exactly by `parts.rs`). This file chooses.

use std::path::Path;

use crate::error::{Error, Result};
use crate::report::VerifyReport;
use crate::sandbox::Sandbox;
use crate::store::by_path;

mod parallel;
mod parts;
pub mod remote;
mod schema;
pub mod signed;
mod stream;

#[doc(hidden)]
pub use parallel::verify_file_at_cuts;
pub use parallel::{MAX_DEFAULT_JOBS, default_jobs};
pub use parts::Part;
pub use schema::Schema;
pub(crate) use schema::schema_error;
pub use signed::{TrustedKeys, verify_signed};
use stream::stream_into;
pub use stream::{CHUNK_SIZE, verify_reader};
pub(crate) use stream::{read_full, start};

/// How [`verify_file_with`] goes about a file.
#[derive(Clone, Copy, Default)]
pub struct VerifyFileOptions<'a> {
    /// Sandboxed instances that may verify parts of the file at once; 1
    /// means one verifier reads it all, 0 [`default_jobs`]. The report is
    /// the same whatever the number.
    pub jobs: usize,
    /// Called with the number of bytes verified so far (from 0 again if the
    /// file has to be verified a second time, whole).
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
    /// Memory this file's instances may use together, when several files
    /// are verified at once (None: the sandbox's memory limit; never more).
    /// A file that hits a smaller budget fails with a memory `limit` error,
    /// as it would with the limit set that low.
    pub memory: Option<usize>,
}

/// Verifies the file at `path`, a large one in parts on the available
/// cores ([`VerifyFileOptions::default`]).
pub fn verify_file(
    sandbox: &Sandbox,
    schema: Option<&Schema>,
    path: &Path,
) -> Result<VerifyReport> {
    verify_file_with(sandbox, schema, path, &VerifyFileOptions::default())
}

/// Verifies the file at `path`. A regular file is read with positioned
/// reads through the one open handle, in parts by up to `options.jobs`
/// instances when it is large enough and the built-in component verifies
/// it; anything else (a pipe, a plugin) is read once, in order. Records the
/// verification metrics.
pub fn verify_file_with(
    sandbox: &Sandbox,
    schema: Option<&Schema>,
    path: &Path,
    options: &VerifyFileOptions<'_>,
) -> Result<VerifyReport> {
    let result = by_path::open_file(path, "open")
        .map(cap_std::fs::File::into_std)
        .and_then(|mut file| {
            let meta = file.metadata().map_err(|e| Error::io(path, "stat", e))?;
            let limit = sandbox.limits().memory_bytes;
            let memory = options.memory.map_or(limit, |m| m.min(limit));
            if !meta.is_file() {
                let json = schema.map(|s| s.json.as_str());
                let session = sandbox
                    .verifier_within(json, None, memory)
                    .map_err(|e| schema_error(e, schema))?;
                return stream_into(session, &mut file, path);
            }
            let meter = parallel::Meter::new(options.progress);
            let job = parallel::FileJob {
                sandbox,
                schema,
                file: &file,
                len: meta.len(),
                label: path,
                meter: &meter,
                memory,
            };
            parallel::verify_open(&job, options.jobs)
        });
    crate::monitor::metrics::verification(&result);
    result
}
