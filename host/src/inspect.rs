//! What operators ask of a file first: its header, rows, `file_seq` range
//! and gaps, size and SHA-256, in one streaming pass (the sandboxed verifier
//! and the hash read the same chunks).

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::report::VerifyReport;
use crate::sandbox::Sandbox;
use crate::store::by_path::open_file;
use crate::verify::{CHUNK_SIZE, read_full, start};

/// A file, described.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    pub path: PathBuf,
    /// Bytes in the file.
    pub size: u64,
    /// SHA-256 of the whole file, lowercase hex (as `sha256sum` prints it).
    pub sha256: String,
    /// The verification: validity, header, rows, `file_seq` range, gaps.
    pub report: VerifyReport,
}

impl Inspection {
    /// `file_seq` numbers missing in the gaps listed (all of them unless
    /// the report's gap list was cut at the error cap).
    pub fn missing_seqs(&self) -> u64 {
        self.report.gaps.iter().map(|g| g.missing()).sum()
    }
}

/// Inspects the file at `path` (records the verification metrics).
pub fn inspect_file(sandbox: &Sandbox, path: &Path) -> Result<Inspection> {
    let mut digest = None;
    let report = open_file(path, "open").and_then(|mut f| {
        let (report, size, sha256) = inspect_reader(sandbox, &mut f, path)?;
        digest = Some((size, sha256));
        Ok(report)
    });
    crate::monitor::metrics::verification(&report);
    let report = report?;
    let (size, sha256) = digest.expect("set with the report");
    Ok(Inspection {
        path: path.to_owned(),
        size,
        sha256,
        report,
    })
}

/// The verification report, the size and the SHA-256 of `input`.
fn inspect_reader(
    sandbox: &Sandbox,
    input: &mut dyn Read,
    path: &Path,
) -> Result<(VerifyReport, u64, String)> {
    let mut session = start(sandbox, None)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; CHUNK_SIZE];
    loop {
        let n = read_full(input, &mut buf).map_err(|e| Error::io(path, "read", e))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
        session.feed(&buf[..n])?;
    }
    Ok((session.finish()?, size, hex::encode(hasher.finalize())))
}
