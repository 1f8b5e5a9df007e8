//! Argument parsing and dispatch; output formatting is in `output.rs`.

mod output;

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use csvseal::{Error, InputFormat, Limits, Sandbox, Schema, WriteRequest, naming};

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
    Write(WriteArgs),
    /// Check sealed files: columns, sequence, checksums, schema, torn rows.
    Verify(VerifyArgs),
}

#[derive(Args)]
struct WriteArgs {
    /// Directory the file is written in.
    #[arg(long)]
    dir: PathBuf,
    /// Base name: the file is BASE_YYYYMMDD_HHMMSS.csv (UTC).
    #[arg(long)]
    name: String,
    /// Frictionless Table Schema (JSON) the rows must satisfy.
    #[arg(long)]
    schema: Option<PathBuf>,
    /// Input file, or '-' for standard input.
    #[arg(long, default_value = "-")]
    input: String,
    /// Input format.
    #[arg(long, value_enum, default_value_t = FormatArg::Csv)]
    format: FormatArg,
    /// file_seq of the first row.
    #[arg(long, default_value_t = 1)]
    start_seq: u64,
    /// Time used in the file name (RFC 3339), for backfills; default now.
    #[arg(long)]
    timestamp: Option<String>,
    /// Report as one JSON document on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Args)]
struct VerifyArgs {
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

#[derive(Args)]
struct LimitArgs {
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
}

impl LimitArgs {
    fn to_limits(&self) -> Limits {
        Limits {
            memory_bytes: self.memory_limit_mib << 20,
            call_timeout: Duration::from_secs(self.call_timeout_secs.max(1)),
            max_errors: self.max_errors,
            max_record_bytes: self.max_record_mib << 20,
            ..Limits::default()
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Csv,
    Jsonl,
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
        Command::Write(args) => write(args),
        Command::Verify(args) => verify(args),
    }
}

fn write(args: WriteArgs) -> i32 {
    let json = args.json;
    match try_write(args) {
        Ok(committed) => {
            output::write_ok(&committed, json);
            EXIT_OK
        }
        Err(e) => {
            output::write_failed(&e, json);
            e.exit_code()
        }
    }
}

fn try_write(args: WriteArgs) -> csvseal::Result<csvseal::Committed> {
    naming::check_base_name(&args.name)?;
    let timestamp = match &args.timestamp {
        Some(t) => naming::parse_timestamp(t)?,
        None => time::OffsetDateTime::now_utc(),
    };
    let schema = args.schema.as_deref().map(Schema::read).transpose()?;
    let req = WriteRequest {
        dir: args.dir.clone(),
        base_name: args.name.clone(),
        timestamp,
        format: match args.format {
            FormatArg::Csv => InputFormat::Csv,
            FormatArg::Jsonl => InputFormat::Jsonl,
        },
        header: None,
        schema,
        start_seq: args.start_seq,
    };
    let (mut input, label): (Box<dyn Read>, String) = if args.input == "-" {
        (Box::new(std::io::stdin().lock()), "<stdin>".to_owned())
    } else {
        let file = std::fs::File::open(&args.input)
            .map_err(|e| Error::io(&args.input, "open input", e))?;
        (Box::new(file), args.input.clone())
    };
    let sandbox = Sandbox::builtin(args.limits.to_limits())?;
    csvseal::write_sealed(&sandbox, &req, &mut input, &label)
}

fn verify(args: VerifyArgs) -> i32 {
    let setup = (|| {
        let schema = args.schema.as_deref().map(Schema::read).transpose()?;
        let sandbox = Sandbox::builtin(args.limits.to_limits())?;
        Ok::<_, Error>((schema, sandbox))
    })();
    let (schema, sandbox) = match setup {
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
            let r = csvseal::verify_file(&sandbox, schema.as_ref(), path);
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
