//! `csvseal verify`: check sealed files.

use std::path::PathBuf;

use clap::Args;
use csvseal::{Error, Sandbox, Schema};

use super::{EXIT_ERROR, EXIT_INVALID, EXIT_OK, LimitArgs, output};

#[derive(Args)]
pub struct VerifyArgs {
    /// Frictionless Table Schema (JSON) the rows must satisfy.
    #[arg(long)]
    schema: Option<PathBuf>,
    /// Report as one JSON document on stdout.
    #[arg(long)]
    json: bool,
    /// Verify the series DIR/BASE_*.csv: every file in name order, and the
    /// seams between files (overlaps are errors, gaps warnings).
    #[arg(long, num_args = 2, value_names = ["DIR", "BASE"], conflicts_with = "files")]
    series: Option<Vec<String>>,
    /// Files to verify.
    #[arg(required_unless_present = "series")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Runs `verify`; returns the exit code.
pub fn run(args: VerifyArgs) -> i32 {
    let setup = (|| {
        let schema = args.schema.as_deref().map(Schema::read).transpose()?;
        let sandbox = Sandbox::builtin(args.limits.to_limits())?;
        Ok::<_, Error>((schema, sandbox))
    })();
    let (schema, sandbox) = match setup {
        Ok(s) => s,
        Err(e) => {
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
            let r = csvseal::verify_file(&sandbox, schema.as_ref(), path);
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
