//! `csvseal restore FILE`: bring back the newest backup that verifies.

use std::path::PathBuf;

use clap::Args;
use csvseal::Sandbox;
use csvseal::backup::BackupPolicy;
use csvseal::jobs::restore::restore_file;
use csvseal::store::file_ops::RealFs;
use serde_json::json;

use super::args::{EXIT_OK, LimitArgs};
use super::output;

pub const EXAMPLES: &str = "\
Examples:
  # Back up, then bring back the newest good backup over a file that still verifies
  csvseal backup out/trades_20240910_143000.csv
  csvseal restore --force out/trades_20240910_143000.csv

Exit codes: 0 restored; 1 no usable backup; 2 usage or I/O error, or the file verifies (without --force); 3 busy.";

#[derive(Args)]
pub struct RestoreArgs {
    /// Backup directory (default: .csvseal-backup next to the file).
    #[arg(long)]
    backup_dir: Option<PathBuf>,
    /// Replace the file even if it still verifies.
    #[arg(long)]
    force: bool,
    /// Report as one JSON document on stdout.
    #[arg(long)]
    json: bool,
    /// The file to restore (it may be missing or corrupt).
    file: PathBuf,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Runs `restore`; returns the exit code.
pub fn run(args: RestoreArgs) -> i32 {
    let policy = BackupPolicy {
        dir: args.backup_dir.clone(),
        keep: None,
    };
    let result = Sandbox::builtin(args.limits.to_limits())
        .and_then(|sb| restore_file(&RealFs, &sb, &args.file, &policy, args.force));
    match result {
        Ok(r) => {
            if args.json {
                output::print_json(&json!({ "ok": true, "restored": r }));
            } else {
                for (p, why) in &r.skipped {
                    err!("csvseal: skipped backup {}: {why}", p.display());
                }
                out!("{} <- {}", r.path.display(), r.from.path.display());
            }
            EXIT_OK
        }
        Err(e) => output::failed("restore", e, args.json),
    }
}
