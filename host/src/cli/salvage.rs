//! `csvseal salvage FILE --out DIR`: keep the longest valid prefix.

use std::path::PathBuf;

use clap::Args;
use csvseal::Sandbox;
use csvseal::jobs::salvage::salvage_file;
use csvseal::store::file_ops::RealFs;
use serde_json::json;

use super::args::{EXIT_OK, LimitArgs};
use super::output;

pub const EXAMPLES: &str = "\
Examples:
  # Keep the valid rows of a damaged file as a new sealed file in rescued/
  csvseal salvage damaged/trades_20240910_143000.csv --out rescued
  # The same, reporting the file_seq range lost as JSON
  csvseal salvage damaged/trades_20240910_143000.csv --out rescued_json --json

Exit codes: 0 salvaged; 1 nothing valid to keep; 2 usage or I/O error; 3 the target exists or is busy.";

#[derive(Args)]
pub struct SalvageArgs {
    /// The damaged sealed file (never modified).
    file: PathBuf,
    /// Directory for the salvaged copy (same file name).
    #[arg(long)]
    out: PathBuf,
    /// Report as one JSON document on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    limits: LimitArgs,
}

/// Runs `salvage`; returns the exit code.
pub fn run(args: SalvageArgs) -> i32 {
    let result = Sandbox::builtin(args.limits.to_limits())
        .and_then(|sb| salvage_file(&RealFs, &sb, &args.file, &args.out));
    match result {
        Ok(s) => {
            if args.json {
                output::print_json(&json!({ "ok": true, "salvaged": s }));
            } else {
                let range = match (s.first_seq, s.last_seq) {
                    (Some(a), Some(b)) => format!(", file_seq {a}..{b}"),
                    _ => String::new(),
                };
                out!("{}: {} rows kept{range}", s.path.display(), s.rows);
                match (s.cut_at_line, s.lost_seqs) {
                    (None, _) => out!("  the file was valid: nothing lost"),
                    (Some(line), lost) => {
                        let lost = match lost {
                            Some((a, b)) => format!("file_seq {a}..{b} lost"),
                            None => "no readable file_seq after the cut".into(),
                        };
                        out!(
                            "  cut at line {line}: {} byte(s) dropped; {lost}",
                            s.bytes_dropped
                        );
                    }
                }
            }
            EXIT_OK
        }
        Err(e) => output::failed("salvage", e, args.json),
    }
}
