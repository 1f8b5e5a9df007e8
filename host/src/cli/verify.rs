//! `csvseal verify`: check sealed files.

use std::path::PathBuf;

use clap::Args;
use csvseal::{Error, Sandbox, Schema};

use super::{EXIT_ERROR, EXIT_INVALID, EXIT_OK, LimitArgs, logging, output, progress};

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
    #[command(flatten)]
    limits: LimitArgs,
}

/// Runs `verify`; returns the exit code.
pub fn run(args: VerifyArgs) -> i32 {
    let setup = (|| {
        let schema = args.schema.as_deref().map(Schema::read).transpose()?;
        let sandbox = args.limits.sandbox()?;
        // With a plugin, the built-in verifier runs too (see csvseal::sandbox::plugin).
        let builtin = if sandbox.is_builtin() {
            None
        } else {
            Some(Sandbox::builtin(args.limits.to_limits())?)
        };
        Ok::<_, Error>((schema, sandbox, builtin))
    })();
    let (schema, sandbox, builtin) = match setup {
        Ok(s) => s,
        Err(e) => {
            logging::failure("verify", &e);
            output::write_failed(&e, args.json);
            return EXIT_ERROR;
        }
    };
    if let Some(series) = &args.series {
        return super::series::verify(&sandbox, schema.as_ref(), &series[0], &series[1], args.json);
    }
    let results: Vec<_> = args
        .files
        .iter()
        .map(|path| {
            let r = verify_one(&sandbox, builtin.as_ref(), schema.as_ref(), path, args.json);
            match &r {
                Err(e) => logging::failure("verify", e),
                Ok(report) if !report.valid => {
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

/// Verifies one file, with a progress bar when it is large and stderr is a
/// terminal.
fn verify_one(
    sandbox: &Sandbox,
    builtin: Option<&Sandbox>,
    schema: Option<&Schema>,
    path: &std::path::Path,
    json: bool,
) -> csvseal::Result<csvseal::VerifyReport> {
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
    // csvseal::sandbox::plugin); no progress bar for that double pass.
    let bar = len.and_then(|n| progress::bar(Some(n), json, &label));
    let Some(pb) = bar.filter(|_| builtin.is_none() || sandbox.is_builtin()) else {
        return csvseal::verify_file_checked(sandbox, builtin, schema, path);
    };
    let result = std::fs::File::open(path)
        .map_err(|e| Error::io(path, "open", e))
        .and_then(|f| csvseal::verify_reader(sandbox, schema, &mut pb.wrap_read(f), path));
    pb.finish_and_clear();
    result
}
