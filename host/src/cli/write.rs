//! `csvseal write`: seal rows into a new file, atomically.

use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use csvseal::deadline::ThreadedReader;
use csvseal::store::naming;
use csvseal::{Error, InputFormat, Schema, WriteRequest};

use super::{EXIT_OK, LimitArgs, logging, output, parse_duration, progress};

#[derive(Args)]
pub struct WriteArgs {
    /// Directory the file is written in, or an object-store prefix
    /// (s3://bucket/prefix/; see --endpoint).
    #[arg(long, visible_alias = "to", value_name = "DIR|URL")]
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
    /// Abandon the write (temp removed, target untouched, exit 4) if it has
    /// not committed within this time, e.g. 30s, 5m.
    #[arg(long, value_parser = parse_duration)]
    timeout: Option<Duration>,
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
            logging::failure("write", &e);
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
    let (source, label, len): (Box<dyn Read + Send>, String, Option<u64>) = if args.input == "-" {
        (Box::new(std::io::stdin()), "<stdin>".to_owned(), None)
    } else {
        let file = std::fs::File::open(&args.input)
            .map_err(|e| Error::io(&args.input, "open input", e))?;
        let len = file.metadata().ok().map(|m| m.len());
        (Box::new(file), args.input.clone(), len)
    };
    let sandbox = args.limits.sandbox()?;
    // The clock starts once the engine is loaded: the timeout bounds the
    // write itself, from the first input byte to the commit.
    let deadline = args.timeout.map(|t| Instant::now() + t);
    let source: Box<dyn Read + Send> = match deadline {
        // A stalled producer blocks in read(); read on a thread so the
        // deadline still ends the write.
        Some(_) => Box::new(
            ThreadedReader::spawn(source, deadline)
                .map_err(|e| Error::io(&label, "start input reader", e))?,
        ),
        None => source,
    };
    let bar = progress::bar(len, args.json, "sealing");
    let mut input: Box<dyn Read> = match &bar {
        Some(pb) => Box::new(pb.wrap_read(source)),
        None => source,
    };
    let control = csvseal::WriteControl {
        wait: args.wait,
        replace: args.replace.then(|| csvseal::store::backup::BackupPolicy {
            dir: args.backup_dir.clone(),
            keep: args.keep.map(|k| k as usize),
        }),
        deadline,
    };
    let ops = &csvseal::store::file_ops::RealFs;
    let location = csvseal::location::Location::from_path(&args.dir)?;
    let result = if let csvseal::location::Location::Object(url) = &location {
        write_object(url, &args, &control, &sandbox, &req, &mut input, &label)
    } else if args.continue_series {
        csvseal::store::series::write_continue(ops, &control, &sandbox, &req, &mut input, &label)
            .map(|(committed, _)| committed)
    } else {
        csvseal::write_sealed_with(ops, &control, &sandbox, &req, &mut input, &label)
    };
    if let Some(pb) = bar {
        pb.finish_and_clear();
    }
    result
}

/// `write --to s3://…`: the object-store write (no series lock there, so no
/// `--continue`).
fn write_object(
    url: &csvseal::location::ObjectUrl,
    args: &WriteArgs,
    control: &csvseal::WriteControl,
    sandbox: &csvseal::Sandbox,
    req: &WriteRequest,
    input: &mut dyn Read,
    label: &str,
) -> csvseal::Result<csvseal::Committed> {
    if args.continue_series {
        return Err(Error::Usage(
            "--continue is not supported for object storage (there is no series lock there); give --start-seq".into(),
        ));
    }
    let bucket = csvseal::object::connect(&url.bucket, &super::object::options())?;
    csvseal::object::write_sealed_object(&bucket, url, control, sandbox, req, input, label)
}
