//! Argument parsing and dispatch: one file per subcommand, shared output
//! formatting in `output.rs`.

mod audit;
mod backup;
mod duration;
mod logging;
mod metrics_file;
mod object;
mod output;
mod progress;
mod recover;
mod restore;
mod salvage;
mod series;
mod verify;
mod write;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use csvseal::{Limits, Sandbox};

/// Exit code: everything valid / done.
pub const EXIT_OK: i32 = 0;
/// Exit code: a file did not verify, or the input was rejected.
pub const EXIT_INVALID: i32 = 1;
/// Exit code: usage or I/O error (the check could not be done).
pub const EXIT_ERROR: i32 = 2;

#[derive(Parser)]
#[command(
    name = "csvseal",
    version,
    about = "Write and verify sealed CSV files: per-row SHA-256, strictly increasing file_seq, atomic commits.",
    after_help = "Exit codes: 0 ok; 1 invalid file or rejected input; 2 usage or I/O error; 3 target exists or is being written; 4 write timed out. audit: 32 + 1 integrity failure, + 2 sequence gap, + 4 temp file not cleaned up, + 8 write timeout."
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
    Write(write::WriteArgs),
    /// Check sealed files: columns, sequence, checksums, schema, torn rows.
    Verify(verify::VerifyArgs),
    /// Remove temp files whose writer is gone; re-verify every final file.
    Recover(recover::RecoverArgs),
    /// Make verified backups of sealed files (atomic, with a SHA-256 manifest).
    Backup(backup::BackupArgs),
    /// Bring back the newest backup of a file that verifies, atomically.
    Restore(restore::RestoreArgs),
    /// Keep the longest valid prefix of a damaged file, as a new sealed file.
    Salvage(salvage::SalvageArgs),
    /// Check a directory and raise alerts: integrity failures, sequence
    /// gaps, temp files not cleaned up, write timeouts.
    Audit(audit::AuditArgs),
}

/// Parses a positive duration such as `500ms`, `30s`, `5m`, `1h` (for
/// `--timeout`, `--max-temp-age`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = duration::parse(s)?;
    if d.is_zero() {
        return Err(format!("{s:?}: must be more than zero"));
    }
    Ok(d)
}

#[derive(Args)]
pub struct LimitArgs {
    /// Errors listed per file; later ones are only counted.
    #[arg(long, default_value_t = 1000)]
    max_errors: u32,
    /// Memory cap for the sandboxed component, in MiB.
    #[arg(long, default_value_t = 512)]
    memory_limit_mib: usize,
    /// CPU bound on any one call into the component, in seconds.
    #[arg(long, default_value_t = 30)]
    call_timeout_secs: u64,
    /// Largest record accepted, in MiB.
    #[arg(long, default_value_t = 64)]
    max_record_mib: u64,
    /// Most bytes one call into the component may return, in MiB.
    #[arg(long, default_value_t = 64)]
    max_output_mib: u64,
    /// Most elements the component's tables may hold.
    #[arg(long, default_value_t = 100_000)]
    max_table_elements: usize,
    /// A plugin component (csvseal:core/engine world) to use instead of the
    /// built-in logic. It gets no WASI at all; `write` still verifies its
    /// output with the built-in verifier, `verify` applies both.
    #[arg(long, value_name = "PATH.wasm")]
    component: Option<PathBuf>,
}

impl LimitArgs {
    pub fn to_limits(&self) -> Limits {
        Limits {
            memory_bytes: self.memory_limit_mib << 20,
            call_timeout: Duration::from_secs(self.call_timeout_secs.max(1)),
            max_errors: self.max_errors,
            max_record_bytes: self.max_record_mib << 20,
            max_output_bytes: self.max_output_mib << 20,
            max_table_elements: self.max_table_elements,
            ..Limits::default()
        }
    }

    /// The plugin given with `--component`, else the built-in component.
    pub fn sandbox(&self) -> csvseal::Result<Sandbox> {
        match &self.component {
            Some(path) => Sandbox::from_component_file(path, self.to_limits()),
            None => Sandbox::builtin(self.to_limits()),
        }
    }
}

/// Runs the CLI; returns the process exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
        }
    };
    let g = cli.global;
    logging::init(g.log_format, logging::level(g.verbose, g.quiet));
    object::init(&g.object);
    let recorder = g
        .metrics_file
        .as_ref()
        .map(|_| metrics_file::FileRecorder::install());
    let code = match cli.command {
        Command::Write(args) => write::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Recover(args) => recover::run(args),
        Command::Backup(args) => backup::run(args),
        Command::Restore(args) => restore::run(args),
        Command::Salvage(args) => salvage::run(args),
        Command::Audit(args) => audit::run(args, g.metrics_file.clone()),
    };
    if let (Some(path), Some(recorder)) = (&g.metrics_file, recorder) {
        // The command's outcome stands: a write that committed must not be
        // reported as failed (and retried) because its metrics were not saved.
        match metrics_file::update(path, &recorder.snapshot()) {
            Ok(warnings) => {
                for w in warnings {
                    tracing::warn!(file = %path.display(), step = "read metrics file", "{w}");
                }
            }
            Err(e) => logging::failure("metrics-file", &e),
        }
    }
    code
}
