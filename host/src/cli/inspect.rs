//! `csvseal inspect FILE`: header, rows, `file_seq` range, gaps, size and
//! SHA-256, as text or JSON.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use csvseal::Sandbox;
use csvseal::inspect::{Inspection, inspect_file};
use serde_json::json;

use super::args::{EXIT_INVALID, EXIT_OK, LimitArgs};
use super::output;
use super::terminal::Escaping;

pub const EXAMPLES: &str = "\
Examples:
  # What is in this file, and is it whole?
  csvseal inspect out/trades_20240910_143000.csv
  # The same as JSON (the sha256 is the one `sha256sum` prints)
  csvseal inspect --json out/trades_20240910_143000.csv

Exit codes: 0 the file verifies; 1 it does not (still described); 2 it could not be read.";

#[derive(Args)]
pub struct InspectArgs {
    /// The file to describe.
    file: PathBuf,
    /// Report as one JSON document on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Runs `inspect`; returns the exit code.
pub fn run(args: InspectArgs) -> i32 {
    let result =
        Sandbox::builtin(args.limits.to_limits()).and_then(|sb| inspect_file(&sb, &args.file));
    match result {
        Ok(i) => {
            if args.json {
                output::print_json(&to_json(&i));
            } else {
                let _ = print_text(&mut Escaping(std::io::stdout().lock()), &i);
            }
            if i.report.valid {
                EXIT_OK
            } else {
                EXIT_INVALID
            }
        }
        Err(e) => output::failed("inspect", e, args.json),
    }
}

fn to_json(i: &Inspection) -> serde_json::Value {
    let r = &i.report;
    json!({
        "path": i.path,
        "valid": r.valid,
        "error_count": r.error_count,
        "errors": r.errors,
        "columns": r.columns,
        "rows": r.rows,
        "first_seq": r.first_seq,
        "last_seq": r.last_seq,
        "gap_count": r.gap_count,
        "missing_seqs": i.missing_seqs(),
        "gaps": r.gaps,
        "size": i.size,
        "sha256": i.sha256,
    })
}

fn print_text(out: &mut impl Write, i: &Inspection) -> std::io::Result<()> {
    let r = &i.report;
    writeln!(out, "{}", i.path.display())?;
    let verdict = if r.valid {
        "yes".to_owned()
    } else {
        let first = r
            .errors
            .first()
            .map(|e| format!("; first: line {}: {}: {}", e.line, e.kind, e.message))
            .unwrap_or_default();
        format!("no, {} error(s){first}", r.error_count)
    };
    writeln!(out, "  valid:     {verdict}")?;
    writeln!(out, "  header:    {}", r.columns.join(", "))?;
    writeln!(out, "  rows:      {}", r.rows)?;
    let seqs = match (r.first_seq, r.last_seq) {
        (Some(a), Some(b)) => format!("{a}..{b}"),
        _ => "none".to_owned(),
    };
    writeln!(out, "  file_seq:  {seqs}")?;
    let gaps = match r.gap_count {
        0 => "none".to_owned(),
        n => {
            let listed: Vec<String> = r
                .gaps
                .iter()
                .take(5)
                .map(|g| format!("{} → {} (line {})", g.after, g.next, g.line))
                .collect();
            let more = if n > listed.len() as u64 { ", …" } else { "" };
            let missing = if n > r.gaps.len() as u64 {
                "at least "
            } else {
                ""
            };
            format!(
                "{n}, {missing}{} file_seq(s) missing: {}{more}",
                i.missing_seqs(),
                listed.join(", ")
            )
        }
    };
    writeln!(out, "  gaps:      {gaps}")?;
    writeln!(out, "  size:      {} bytes", i.size)?;
    writeln!(out, "  sha256:    {}", i.sha256)
}
