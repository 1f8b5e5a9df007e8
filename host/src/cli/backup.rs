//! `csvseal backup FILE...`: verified backups of critical files.

use std::path::PathBuf;

use clap::Args;
use csvseal::Sandbox;
use csvseal::backup::{BackupPolicy, backup_file};
use csvseal::store::file_ops::RealFs;
use serde_json::json;

use super::args::{EXIT_ERROR, EXIT_OK, LimitArgs};
use super::output;

pub const EXAMPLES: &str = "\
Examples:
  # A verified backup in out/.csvseal-backup/, listed in its MANIFEST.sha256
  csvseal backup out/trades_20240910_143000.csv
  # Elsewhere, keeping only the newest 5 backups of each file
  csvseal backup --backup-dir backups --keep 5 out/trades_20240910_143000.csv

Exit codes: 0 done; 1 a file does not verify (no backup made); 2 usage or I/O error; 3 busy.";

#[derive(Args)]
pub struct BackupArgs {
    /// Backup directory (default: .csvseal-backup next to each file).
    #[arg(long)]
    backup_dir: Option<PathBuf>,
    /// Keep only the newest N backups of each file.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    keep: Option<u64>,
    /// Report as one JSON document on stdout.
    #[arg(long)]
    json: bool,
    /// Sealed files to back up; each must verify.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Runs `backup`; returns the exit code (the worst over all files).
pub fn run(args: BackupArgs) -> i32 {
    let sandbox = match Sandbox::builtin(args.limits.to_limits()) {
        Ok(s) => s,
        Err(e) => {
            output::failed("backup", e, args.json);
            return EXIT_ERROR;
        }
    };
    let policy = BackupPolicy {
        dir: args.backup_dir.clone(),
        keep: args.keep.map(|k| k as usize),
    };
    let mut code = EXIT_OK;
    let mut docs = vec![];
    for file in &args.files {
        match backup_file(&RealFs, &sandbox, file, &policy) {
            Ok(entry) => {
                if args.json {
                    docs.push(json!({ "file": file, "ok": true, "backup": entry }));
                } else {
                    out!("{} -> {}", file.display(), entry.path.display());
                }
            }
            Err(e) => {
                code = code.max(e.exit_code());
                if args.json {
                    docs.push(
                        json!({ "file": file, "ok": false, "error": output::error_json(&e) }),
                    );
                } else {
                    output::failed("backup", e, false);
                }
            }
        }
    }
    if args.json {
        output::print_json(&json!({ "ok": code == EXIT_OK, "files": docs }));
    }
    code
}
