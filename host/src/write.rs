//! The atomic sealed write: the policy's five steps, plus verification and a
//! rename that never replaces an existing file.

use std::io::Read;
use std::path::{Path, PathBuf};

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use time::OffsetDateTime;

use crate::atomic_file::TempFile;
use crate::error::{Error, Result};
use crate::naming;
use crate::report::{SealSummary, VerifyReport};
use crate::sandbox::{InputFormat, Sandbox, SealOptions};
use crate::verify::{CHUNK_SIZE, Schema, read_full, schema_error, verify_reader};

/// What to write.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    /// The directory the file goes in; opened once, as a capability.
    pub dir: PathBuf,
    /// The name's stem: the file is `{base}_YYYYMMDD_HHMMSS.csv`.
    pub base_name: String,
    /// The time in the name (taken in UTC).
    pub timestamp: OffsetDateTime,
    pub format: InputFormat,
    /// The input's columns, when it has no header line.
    pub header: Option<Vec<String>>,
    pub schema: Option<Schema>,
    /// `file_seq` of the first row (at least 1).
    pub start_seq: u64,
}

/// A file that was written, verified and committed.
#[derive(Debug, Clone)]
pub struct Committed {
    /// The final file's path.
    pub path: PathBuf,
    pub summary: SealSummary,
    /// The verification of the file as it was on disk before the rename.
    pub verified: VerifyReport,
}

/// Seals `input` into a new file in `req.dir`, atomically.
///
/// Steps: open the directory as a capability; create `{final}.tmp`
/// exclusively; stream the input through the sandboxed sealer into it;
/// fsync; verify it by reading it back through a fresh instance of the
/// built-in verifier (even when `sandbox` is a plugin); rename it to
/// the final name without replacing anything; fsync the directory. On any
/// failure the temp file is removed and no final file appears.
pub fn write_sealed(
    sandbox: &Sandbox,
    req: &WriteRequest,
    input: &mut dyn Read,
    input_label: &str,
) -> Result<Committed> {
    if req.start_seq == 0 {
        return Err(Error::Usage("--start-seq must be at least 1".into()));
    }
    let final_name = naming::final_name(&req.base_name, req.timestamp)?;
    let temp_name = naming::temp_name(&final_name);
    let dir = Dir::open_ambient_dir(&req.dir, ambient_authority())
        .map_err(|e| Error::io(&req.dir, "open directory", e))?;
    // Early, friendly refusal; the no-replace rename is the real guard.
    if dir.symlink_metadata(&final_name).is_ok() {
        return Err(Error::TargetExists {
            path: req.dir.join(&final_name),
        });
    }

    let mut temp = TempFile::create_new(&dir, &req.dir, &temp_name)?;
    let summary = seal_into(sandbox, req, input, input_label, &mut temp)?;
    temp.sync()?;

    // Whatever sealed the file, csvseal's own verifier judges it: a plugin
    // cannot vouch for its own output.
    let builtin;
    let verifier = if sandbox.is_builtin() {
        sandbox
    } else {
        builtin = Sandbox::builtin(sandbox.limits().clone())?;
        &builtin
    };
    let mut readback = temp.reopen_for_read()?;
    let verified = verify_reader(verifier, req.schema.as_ref(), &mut readback, &temp.path())?;
    let agrees = verified.valid
        && verified.rows == summary.rows
        && verified.last_seq == summary.last_seq
        && verified.bytes == summary.bytes;
    if !agrees {
        return Err(Error::WrittenFileInvalid {
            path: temp.path(),
            report: Box::new(verified),
        });
    }

    let path = temp.commit(&final_name)?;
    Ok(Committed {
        path,
        summary,
        verified,
    })
}

/// Streams the input through the sealer into the temp file.
fn seal_into(
    sandbox: &Sandbox,
    req: &WriteRequest,
    input: &mut dyn Read,
    input_label: &str,
    temp: &mut TempFile<'_>,
) -> Result<SealSummary> {
    let options = SealOptions {
        format: req.format,
        header: req.header.clone(),
        schema_json: req.schema.as_ref().map(|s| s.json.clone()),
        first_seq: req.start_seq,
    };
    let mut session = sandbox
        .sealer(&options)
        .map_err(|e| schema_error(e, req.schema.as_ref()))?;
    let mut buf = vec![0u8; CHUNK_SIZE];
    loop {
        let n = read_full(input, &mut buf)
            .map_err(|e| Error::io(Path::new(input_label), "read input", e))?;
        if n == 0 {
            break;
        }
        let out = session.feed(&buf[..n])?;
        temp.write_all(&out)?;
    }
    match session.finish()? {
        Ok((tail, summary)) => {
            temp.write_all(&tail)?;
            Ok(summary)
        }
        Err(rejected) => Err(Error::InputRejected {
            input: input_label.to_owned(),
            errors: rejected.errors,
            count: rejected.count,
            truncated: rejected.truncated,
        }),
    }
}
