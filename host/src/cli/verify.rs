//! `csvseal verify`: check sealed files.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Args;
use csvseal::{Error, Sandbox, Schema, VerifyFileOptions, VerifyReport};

use super::args::{EXIT_ERROR, EXIT_INVALID, EXIT_OK, LimitArgs, PluginArg};
use super::sealed_dialect::SealedDialectArgs;
use super::{logging, output, progress};

pub const EXAMPLES: &str = "\
Examples:
  # One file, or many (exit 1 if any is invalid)
  csvseal verify out/trades_20240910_143000.csv
  # Rows also checked against a schema, as JSON
  csvseal verify --json --schema signals.schema.json out/signals_20240910_143000.csv
  # A series: every out/trades_*.csv in name order, and the seams between files
  csvseal verify --series out trades
  # Signed by one of these keys, unchanged since (exit 1: this file was written unsigned)
  csvseal verify --key signer.pub out/trades_20240910_143000.csv  # exit 1

Exit codes:
  0  every file valid
  1  some file invalid (or, with --series, files overlap; with --key, a signature missing, invalid or by another key)
  2  usage or I/O error (wins over 1)";

#[derive(Args)]
pub struct VerifyArgs {
    /// Frictionless Table Schema (JSON) the rows must satisfy.
    #[arg(long)]
    schema: Option<PathBuf>,
    /// Report as one JSON document on stdout.
    #[arg(long)]
    json: bool,
    /// Verify the series DIR/BASE_*.csv (DIR may be s3://bucket/prefix/):
    /// every file in name order, and the seams between files (overlaps are
    /// errors, gaps warnings).
    #[arg(long, num_args = 2, value_names = ["DIR", "BASE"], conflicts_with = "files")]
    series: Option<Vec<String>>,
    /// Files to verify (paths, or objects as s3://bucket/key).
    #[arg(required_unless_present = "series")]
    files: Vec<PathBuf>,
    /// Sandboxed instances at work at once: parts of one large file, or
    /// several files (default: the available cores, at most 8). They share
    /// --memory-limit-mib. The reports are the same with any value; 1 reads
    /// each file with one instance.
    #[arg(long, value_name = "N")]
    jobs: Option<NonZeroUsize>,
    /// Check each file's signature (FILE.minisig) against this minisign
    /// public key or keyring; repeat for several (key rotation). A missing,
    /// invalid or unknown signature makes the file invalid. With --series,
    /// the chain of signed links between the files is walked too.
    #[arg(long = "key", value_name = "PUBLIC_KEY")]
    keys: Vec<PathBuf>,
    #[command(flatten)]
    dialect: SealedDialectArgs,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    plugin: PluginArg,
}

/// Runs `verify`; returns the exit code.
pub fn run(args: VerifyArgs) -> i32 {
    let setup = (|| {
        args.dialect.check()?;
        let schema = args.schema.as_deref().map(Schema::read).transpose()?;
        let sandbox = args.plugin.sandbox(&args.limits)?;
        // With a plugin, the built-in verifier runs too (see csvseal::plugin).
        let builtin = if sandbox.is_builtin() {
            None
        } else {
            Some(Sandbox::builtin(args.limits.to_limits())?)
        };
        let keys = if args.keys.is_empty() {
            None
        } else {
            let own = builtin.as_ref().unwrap_or(&sandbox);
            Some(csvseal::verify::TrustedKeys::read(own, &args.keys)?)
        };
        Ok::<_, Error>((schema, sandbox, builtin, keys))
    })();
    let (schema, sandbox, builtin, keys) = match setup {
        Ok(s) => s,
        Err(e) => {
            output::failed("verify", e, args.json);
            return EXIT_ERROR;
        }
    };
    if let Some(series) = &args.series {
        return super::series::verify(
            &sandbox,
            schema.as_ref(),
            keys.as_ref(),
            &series[0],
            &series[1],
            args.json,
        );
    }
    // 0: the library's default, worked out only when a file is large. With
    // a plugin, one file at a time (its verdict is combined with the
    // built-in one's; see csvseal::plugin).
    let jobs = match (args.jobs, args.files.len()) {
        _ if builtin.is_some() => 1,
        (Some(n), _) => n.get(),
        (None, 1) => 0,
        (None, _) => csvseal::default_jobs(),
    };
    // Progress bars only while one file at a time is verified.
    let bars = !args.json && (jobs == 1 || args.files.len() == 1);
    let memory = sandbox.limits().memory_bytes;
    let reports = in_order(&args.files, jobs, memory, |path, jobs, memory| {
        let options = (jobs, memory);
        let verify = || {
            verify_one(
                &sandbox,
                builtin.as_ref(),
                schema.as_ref(),
                path,
                bars,
                options,
            )
        };
        match &keys {
            Some(keys) => {
                let own = builtin.as_ref().unwrap_or(&sandbox);
                match csvseal::location::Location::from_path(path)? {
                    csvseal::location::Location::Object(url) => {
                        let options = super::object::options();
                        csvseal::object::verify_object_signed(own, keys, &url, &options, verify)
                    }
                    csvseal::location::Location::Local(_) => {
                        csvseal::verify::verify_signed(own, keys, path, verify)
                    }
                }
            }
            None => verify(),
        }
    });
    let results: Vec<_> = args
        .files
        .iter()
        .zip(reports)
        .map(|(path, r)| {
            match &r {
                Err(e) => logging::failure_of("verify", e),
                Ok(report) if !report.valid && logging::failures_logged() => {
                    let first = report.errors.first();
                    tracing::error!(
                        command = "verify",
                        file = %path.display(),
                        step = "verify",
                        kind = first.map_or("invalid", |e| e.kind.as_str()),
                        line = first.map_or(0, |e| e.line),
                        cause = first.map_or_else(String::new, |e| e.message.clone()),
                        errors = report.error_count,
                        "file does not verify"
                    );
                }
                Ok(_) => tracing::info!(file = %path.display(), "verified"),
            }
            (path.clone(), r)
        })
        .collect();
    output::verify_results(&results, args.json);
    if results.iter().any(|(_, r)| r.is_err()) {
        EXIT_ERROR
    } else if results
        .iter()
        .all(|(_, r)| r.as_ref().is_ok_and(|r| r.valid))
    {
        EXIT_OK
    } else {
        EXIT_INVALID
    }
}

/// `verify(file, jobs, memory)` for every file, on up to `jobs` threads:
/// several files at once, each with its share of the jobs and of the
/// memory limit (`memory`). A file that hits its share of the memory is
/// verified again afterwards, alone, with the whole limit, so each report
/// is the one verifying the files one by one gives. Results in file order.
fn in_order(
    files: &[PathBuf],
    jobs: usize,
    memory: usize,
    verify: impl Fn(&Path, usize, Option<usize>) -> csvseal::Result<VerifyReport> + Sync,
) -> Vec<csvseal::Result<VerifyReport>> {
    let workers = jobs.min(files.len());
    if workers <= 1 {
        return files.iter().map(|f| verify(f, jobs, None)).collect();
    }
    let (per_file, share) = ((jobs / workers).max(1), memory / workers);
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<csvseal::Result<VerifyReport>>>> =
        files.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(file) = files.get(i) else { break };
                    let r = verify(file, per_file, Some(share));
                    *slots[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
                }
            });
        }
    });
    files
        .iter()
        .zip(slots)
        .map(|(file, slot)| {
            let r = slot.into_inner().unwrap_or_else(|p| p.into_inner());
            match r.expect("every file was verified") {
                Err(Error::LimitExceeded {
                    limit: "memory", ..
                }) => verify(file, jobs, None),
                r => r,
            }
        })
        .collect()
}

/// Verifies one file with up to `jobs` instances within `memory` (None:
/// the limit), with a progress bar (when `bars`) if it is large and stderr
/// is a terminal.
fn verify_one(
    sandbox: &Sandbox,
    builtin: Option<&Sandbox>,
    schema: Option<&Schema>,
    path: &Path,
    bars: bool,
    (jobs, memory): (usize, Option<usize>),
) -> csvseal::Result<VerifyReport> {
    if let csvseal::location::Location::Object(url) = csvseal::location::Location::from_path(path)?
    {
        let options = super::object::options();
        return csvseal::object::verify_object(sandbox, builtin, schema, &url, &options);
    }
    let len = std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let label = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    // A plugin's verdict is checked by the built-in verifier too (see
    // csvseal::plugin); no progress bar for that double pass.
    if builtin.is_some() && !sandbox.is_builtin() {
        return csvseal::verify_file_checked(sandbox, builtin, schema, path);
    }
    let bar = len.and_then(|n| progress::bar(Some(n), !bars, &label));
    let show = bar.as_ref().map(|pb| move |done| pb.set_position(done));
    let options = VerifyFileOptions {
        jobs,
        progress: show.as_ref().map(|f| f as &(dyn Fn(u64) + Sync)),
        memory,
    };
    let result = csvseal::verify_file_with(sandbox, schema, path, &options);
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    result
}
