//! `csvseal write`: seal rows into a new file, atomically.

use std::io::Read;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use csvseal::{Error, InputFormat, Schema, WriteRequest, naming};

use super::{EXIT_OK, LimitArgs, output};

#[derive(Args)]
pub struct WriteArgs {
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

#[derive(Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Csv,
    Jsonl,
}

/// Runs `write`; returns the exit code.
pub fn run(args: WriteArgs) -> i32 {
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
    let sandbox = args.limits.sandbox()?;
    csvseal::write_sealed(&sandbox, &req, &mut input, &label)
}
