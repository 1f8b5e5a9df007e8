//! `csvseal recover`: remove stale temp files, re-verify final files.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use csvseal::Sandbox;
use csvseal::jobs::recover::{RecoverReport, recover_dir};
use csvseal::store::file_ops::RealFs;

use super::args::{EXIT_ERROR, EXIT_INVALID, EXIT_OK, LimitArgs};
use super::output;
use super::terminal::Escaping;

pub const EXAMPLES: &str = "\
Examples:
  # What would be removed, removing nothing
  csvseal recover --dir out --dry-run
  # After a crash: sweep temp files whose writer is gone, re-verify every file
  csvseal recover --dir out --json
  # Backups kept elsewhere (write --replace --backup-dir): sweep their temps too
  csvseal recover --dir out --backup-dir backups

Exit codes: 0 every final file verifies; 1 some does not; 2 a file could not be examined.";

#[derive(Args)]
pub struct RecoverArgs {
    /// Directory to recover (its subdirectories are not visited), or an
    /// object-store prefix (s3://bucket/prefix/).
    #[arg(long, value_name = "DIR|URL")]
    dir: PathBuf,
    /// Object storage: abort csvseal's incomplete uploads started longer ago
    /// than this (e.g. 30m, 2h). A local temp is judged by its lock instead.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = super::args::parse_duration)]
    older_than: std::time::Duration,
    /// The backup directory whose temps to sweep too, when `write
    /// --replace --backup-dir` put backups elsewhere (default
    /// DIR/.csvseal-backup). A local directory only.
    #[arg(long, value_name = "DIR")]
    backup_dir: Option<PathBuf>,
    /// Report what would be removed, remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// Report as one JSON document on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Runs `recover`; returns the exit code: 0 clean, 1 some final file does
/// not verify, 2 something could not be examined.
pub fn run(args: RecoverArgs) -> i32 {
    let result = Sandbox::builtin(args.limits.to_limits()).and_then(|sandbox| {
        match csvseal::location::Location::from_path(&args.dir)? {
            csvseal::location::Location::Object(_) if args.backup_dir.is_some() => {
                Err(csvseal::Error::Usage(
                    "--backup-dir is for a local DIR; for object storage, run \
                     `csvseal recover --dir` on the backup prefix itself"
                        .into(),
                ))
            }
            csvseal::location::Location::Object(url) => csvseal::object::recover_prefix(
                &sandbox,
                &url,
                args.older_than,
                args.dry_run,
                &super::object::options(),
            ),
            csvseal::location::Location::Local(_) => recover_dir(
                &RealFs,
                &sandbox,
                &args.dir,
                args.backup_dir.as_deref(),
                args.dry_run,
            ),
        }
    });
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            return output::failed("recover", e, args.json).max(EXIT_ERROR);
        }
    };
    if args.json {
        let mut v = serde_json::to_value(&report).unwrap_or_default();
        v["clean"] = report.clean().into();
        output::print_json(&v);
    } else {
        let _ = print_text(&report);
    }
    if !report.unreadable.is_empty() {
        EXIT_ERROR
    } else if !report.invalid.is_empty() {
        EXIT_INVALID
    } else {
        EXIT_OK
    }
}

fn print_text(r: &RecoverReport) -> std::io::Result<()> {
    let mut out = Escaping(std::io::stdout().lock());
    let verb = if r.dry_run { "would remove" } else { "removed" };
    for p in &r.removed {
        writeln!(out, "{verb} stale temp file: {}", p.display())?;
    }
    for p in &r.orphan_signatures {
        writeln!(
            out,
            "{verb} orphan signature (its CSV was never committed): {}",
            p.display()
        )?;
    }
    let finished = if r.dry_run {
        "would finish"
    } else {
        "finished"
    };
    for p in &r.completed {
        writeln!(
            out,
            "{finished} an interrupted signed commit (its signature was in place): {}",
            p.display()
        )?;
    }
    for k in &r.kept {
        writeln!(out, "kept {}: {}", k.path.display(), k.reason)?;
    }
    for i in &r.invalid {
        writeln!(
            out,
            "INVALID {}: {} error(s); restore it from a backup or salvage it",
            i.path.display(),
            i.report.error_count
        )?;
        for e in &i.report.errors {
            writeln!(
                out,
                "  {}:{}: {}: {}",
                i.path.display(),
                e.line,
                e.kind,
                e.message
            )?;
        }
    }
    for u in &r.unreadable {
        writeln!(out, "ERROR {}: {}", u.path.display(), u.error)?;
    }
    writeln!(
        out,
        "{} stale temp(s) {verb}, {} kept, {} file(s) verified, {} invalid, {} unreadable",
        r.removed.len(),
        r.kept.len(),
        r.verified.len(),
        r.invalid.len(),
        r.unreadable.len()
    )
}
