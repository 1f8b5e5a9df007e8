//! Argument parsing and dispatch: one file per subcommand, shared output
//! formatting in `output.rs`.

mod output;
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
    after_help = "Exit codes: 0 ok; 1 invalid file or rejected input; 2 usage or I/O error; 3 target exists or is being written."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Seal rows into a new file, atomically; print its path.
    Write(write::WriteArgs),
    /// Check sealed files: columns, sequence, checksums, schema, torn rows.
    Verify(verify::VerifyArgs),
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
    match cli.command {
        Command::Write(args) => write::run(args),
        Command::Verify(args) => verify::run(args),
    }
}
