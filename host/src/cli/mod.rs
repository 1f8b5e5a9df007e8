//! Argument parsing and dispatch: one file per subcommand, the arguments
//! and exit codes they share in `args.rs`, shared output formatting in
//! `output.rs`.

/// `println!` that never panics: a closed stdout (EPIPE; Rust ignores
/// SIGPIPE) is ignored. Output a caller must know was delivered (a
/// committed path) goes through [`output::stdout_line`] instead.
macro_rules! out {
    ($($t:tt)*) => {{
        let _ = $crate::cli::output::stdout_line(&format!($($t)*));
    }};
}

/// `eprintln!` that never panics on a closed stderr.
macro_rules! err {
    ($($t:tt)*) => {{
        $crate::cli::output::eprintln_safe(&format!($($t)*));
    }};
}

mod args;
mod audit;
mod backup;
mod completions;
mod duration;
mod hints;
mod inspect;
mod keygen;
mod logging;
mod metrics_file;
mod object;
mod output;
mod progress;
mod recover;
mod restore;
mod salvage;
mod sealed_dialect;
mod series;
mod sign;
mod terminal;
mod verify;
mod write;

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

use args::{EXIT_ERROR, EXIT_OK};

/// The top-level help's closing: a short tour, then the exit codes.
const TOUR: &str = "\
Examples:
  # Seal a CSV into out/ (the file is named trades_YYYYMMDD_HHMMSS.csv, UTC)
  csvseal write --dir out --name trades --input trades.csv
  # Check it: every row's checksum, the file_seq order, no torn last row
  csvseal verify out/trades_20240910_143000.csv
  # What is in it: header, rows, file_seq range, gaps, size, SHA-256
  csvseal inspect out/trades_20240910_143000.csv

Exit codes: 0 ok; 1 invalid file or rejected input; 2 usage or I/O error; 3 target exists or is being written; 4 write timed out; 5 committed, but durability not confirmed (do not write it again). audit: 32 + 1 integrity failure, + 2 sequence gap, + 4 temp file not cleaned up, + 8 write timeout.
Each command's --help has its own examples.";

#[derive(Parser)]
#[command(
    name = "csvseal",
    version,
    about = "Write and verify sealed CSV files: per-row SHA-256, strictly increasing file_seq, atomic commits.",
    after_help = TOUR
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    global: GlobalArgs,
}

/// Options every subcommand takes: metrics and logs.
#[derive(Args)]
struct GlobalArgs {
    /// Add this run's metrics to a Prometheus text file (node_exporter
    /// textfile collector); audit also reads write timeouts from it.
    #[arg(long, global = true, value_name = "PATH")]
    metrics_file: Option<PathBuf>,
    /// Log line format (logs go to stderr).
    #[arg(long, global = true, value_enum, default_value_t = logging::LogFormat::Text)]
    log_format: logging::LogFormat,
    /// More log detail (-v info, -vv debug, -vvv trace); default: warnings.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Less log detail (-q errors only, -qq none).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    quiet: u8,
    #[command(flatten)]
    object: object::ObjectArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Seal rows into a new file, atomically; print its path.
    #[command(after_help = write::EXAMPLES)]
    Write(write::WriteArgs),
    /// Check sealed files: columns, sequence, checksums, schema, torn rows.
    #[command(after_help = verify::EXAMPLES)]
    Verify(verify::VerifyArgs),
    /// Describe a file: header, rows, file_seq range, gaps, size, SHA-256.
    #[command(after_help = inspect::EXAMPLES)]
    Inspect(inspect::InspectArgs),
    /// Make a signing key pair in minisign's formats.
    #[command(after_help = keygen::EXAMPLES)]
    Keygen(keygen::KeygenArgs),
    /// Remove temp files whose writer is gone; re-verify every final file.
    #[command(after_help = recover::EXAMPLES)]
    Recover(recover::RecoverArgs),
    /// Make verified backups of sealed files (atomic, with a SHA-256 manifest).
    #[command(after_help = backup::EXAMPLES)]
    Backup(backup::BackupArgs),
    /// Bring back the newest backup of a file that verifies, atomically.
    #[command(after_help = restore::EXAMPLES)]
    Restore(restore::RestoreArgs),
    /// Keep the longest valid prefix of a damaged file, as a new sealed file.
    #[command(after_help = salvage::EXAMPLES)]
    Salvage(salvage::SalvageArgs),
    /// Verify sealed files in full, then sign them (adopt an archive).
    #[command(after_help = sign::EXAMPLES)]
    Sign(sign::SignArgs),
    /// Check a directory and raise alerts: integrity failures, sequence
    /// gaps, temp files not cleaned up, write timeouts.
    #[command(after_help = audit::EXAMPLES)]
    Audit(audit::AuditArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or
    /// PowerShell.
    #[command(after_help = completions::COMPLETIONS_EXAMPLES)]
    Completions(completions::CompletionsArgs),
    /// Write the man pages (csvseal.1 and one per command) into a directory.
    #[command(after_help = completions::MAN_EXAMPLES)]
    Man(completions::ManArgs),
}

/// Runs the CLI; returns the process exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // A usage error quotes the arguments, which may be file names a
        // glob expanded: escaped, as all human output (help stays styled).
        Err(e) if e.use_stderr() => {
            let text = e.render().to_string();
            output::eprintln_safe(text.trim_end());
            return EXIT_ERROR;
        }
        Err(e) => {
            let _ = e.print();
            return EXIT_OK;
        }
    };
    let g = cli.global;
    logging::init(g.log_format, logging::level(g.verbose, g.quiet), g.verbose);
    object::init(&g.object);
    let recorder = g
        .metrics_file
        .as_ref()
        .map(|_| metrics_file::FileRecorder::install());
    let code = match cli.command {
        Command::Write(args) => write::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Sign(args) => sign::run(args),
        Command::Recover(args) => recover::run(args),
        Command::Backup(args) => backup::run(args),
        Command::Restore(args) => restore::run(args),
        Command::Salvage(args) => salvage::run(args),
        Command::Audit(args) => audit::run(args, g.metrics_file.clone()),
        Command::Completions(args) => completions::completions(args, Cli::command()),
        Command::Man(args) => completions::man(args, Cli::command()),
    };
    if let (Some(path), Some(recorder)) = (&g.metrics_file, recorder) {
        // The command's outcome stands: a write that committed must not be
        // reported as failed (and retried) because its metrics were not saved.
        match metrics_file::save(path, &recorder) {
            Ok(warnings) => {
                for w in warnings {
                    tracing::warn!(file = %path.display(), step = "read metrics file", "{w}");
                }
            }
            Err(e) => {
                logging::failure("metrics-file", &e);
                err!(
                    "{}",
                    output::error_line(&e).replacen("error:", "warning:", 1)
                );
            }
        }
    }
    code
}
