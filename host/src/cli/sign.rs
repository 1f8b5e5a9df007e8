//! `csvseal sign --sign-key K FILE...`: verify sealed files in full, then
//! sign each (`FILE.minisig`); `--chain` links them in series order.

use std::path::PathBuf;

use clap::Args;
use csvseal::Sandbox;
use csvseal::jobs::sign::{SignOptions, sign_files};
use csvseal::signing::SecretKey;
use csvseal::store::file_ops::RealFs;
use serde_json::json;

use super::args::{EXIT_OK, LimitArgs};
use super::output;
use super::terminal::escape;

pub const EXAMPLES: &str = "\
Examples:
  # Adopt an archive: verify every file of a series, sign each, link them in order
  csvseal sign --sign-key signer.key --chain out/trades_*.csv
  # Check them later with the public key
  csvseal verify --key signer.pub --series out trades
  # Sign one more file, replacing a signature it may have
  csvseal sign --sign-key signer.key --force out/signals_20240910_143000.csv

Exit codes: 0 all signed; 1 a file does not verify (it and the files after it are not signed); 2 usage or I/O error; 3 a file is already signed (--force replaces) or being written.";

#[derive(Args)]
pub struct SignArgs {
    /// The sealed files to sign.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The minisign secret key (see `csvseal keygen`).
    #[arg(
        long,
        env = "CSVSEAL_SIGN_KEY",
        value_name = "PATH",
        hide_env_values = true
    )]
    sign_key: PathBuf,
    /// Link the files (of one directory) in name order, each to the one before.
    #[arg(long)]
    chain: bool,
    /// Replace signatures the files already have.
    #[arg(long)]
    force: bool,
    /// Report as one JSON document on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Runs `sign`; returns the exit code.
pub fn run(args: SignArgs) -> i32 {
    let options = SignOptions {
        chain: args.chain,
        force: args.force,
    };
    let result = SecretKey::load(&args.sign_key).and_then(|key| {
        let id = key.id();
        Sandbox::builtin(args.limits.to_limits())
            .and_then(|sb| sign_files(&RealFs, &sb, key, &args.files, options))
            .map(|signed| (id, signed))
    });
    match result {
        Ok((id, signed)) => {
            if args.json {
                output::print_json(
                    &json!({ "ok": true, "key_id": id.to_string(), "signed": signed }),
                );
            } else {
                for s in &signed {
                    let link = s
                        .previous
                        .as_deref()
                        .map(|p| format!(", after {p}"))
                        .unwrap_or_default();
                    out!(
                        "{}",
                        escape(&format!(
                            "signed {} ({} rows{link}) by key ID {id}",
                            s.path.display(),
                            s.rows
                        ))
                    );
                }
            }
            EXIT_OK
        }
        Err(e) => output::failed("sign", e, args.json),
    }
}
