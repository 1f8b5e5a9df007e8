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
    /// Files to verify.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Runs `verify`; returns the exit code.
pub fn run(args: VerifyArgs) -> i32 {
    let setup = (|| {
        let schema = args.schema.as_deref().map(Schema::read).transpose()?;
        let sandbox = args.limits.sandbox()?;
        // With a plugin, the built-in verifier runs too (see csvseal::plugin).
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
            output::write_failed(&e, args.json);
            return EXIT_ERROR;
        }
    };
    let results: Vec<_> = args
        .files
        .iter()
        .map(|path| {
            let r = csvseal::verify_file_checked(&sandbox, builtin.as_ref(), schema.as_ref(), path);
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
