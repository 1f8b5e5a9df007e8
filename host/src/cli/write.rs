//! `csvseal write`: seal rows into a new file, atomically.

use std::io::Read;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use csvseal::{Error, InputFormat, Sandbox, Schema, WriteRequest, naming};

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
    /// If another writer is writing this target, wait up to this long
    /// (e.g. 500ms, 30s, 2m) instead of failing with exit code 3.
    #[arg(long, value_name = "DURATION", value_parser = super::duration::parse)]
    wait: Option<std::time::Duration>,
    /// Continue the series BASE_*.csv in DIR: file_seq starts after the
    /// last committed file's last seq (--start-seq if there is none).
    #[arg(long = "continue", conflicts_with = "replace")]
    continue_series: bool,
    /// Supersede an existing target, after a verified backup of it is made.
    #[arg(long)]
    replace: bool,
    /// Where --replace puts backups (default DIR/.csvseal-backup).
    #[arg(long, requires = "replace")]
    backup_dir: Option<PathBuf>,
    /// With --replace: keep only the newest N backups of the target.
    #[arg(long, requires = "replace", value_parser = clap::value_parser!(u64).range(1..))]
    keep: Option<u64>,
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
    let sandbox = Sandbox::builtin(args.limits.to_limits())?;
    let control = csvseal::WriteControl {
        wait: args.wait,
        replace: args.replace.then(|| csvseal::backup::BackupPolicy {
            dir: args.backup_dir.clone(),
            keep: args.keep.map(|k| k as usize),
        }),
    };
    if args.continue_series {
        let (committed, _) = csvseal::series::write_continue(
            &csvseal::file_ops::RealFs,
            &control,
            &sandbox,
            &req,
            &mut input,
            &label,
        )?;
        return Ok(committed);
    }
    csvseal::write_sealed_with(
        &csvseal::file_ops::RealFs,
        &control,
        &sandbox,
        &req,
        &mut input,
        &label,
    )
}
