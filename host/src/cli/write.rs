//! `csvseal write`: seal rows into a new file, atomically.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use csvseal::deadline::ThreadedReader;
use csvseal::store::naming;
use csvseal::{Dialect, Error, InputEncoding, InputFormat, Schema, WriteRequest};

use super::args::{EXIT_OK, LimitArgs, PluginArg, parse_duration};
use super::output::eprintln_safe;
use super::{output, progress};

pub const EXAMPLES: &str = "\
Examples:
  # Seal trades.csv into out/trades_YYYYMMDD_HHMMSS.csv (UTC now); prints the path
  csvseal write --dir out --name trades --input trades.csv
  # A ';'-separated Windows-1252 export, named for a fixed time
  csvseal write --dir out --name eu_trades --input eu.csv --delimiter ';' --encoding windows-1252 --timestamp 2024-09-10T14:30:00Z
  # JSON Lines on stdin, columns and types from a schema, numbered from 1001
  csvseal write --dir out --name signals_backfill --format jsonl --schema signals.schema.json --start-seq 1001 < signals.jsonl
  # Supersede an existing file, after a verified backup of it
  csvseal write --dir out --name trades --input trades.csv --timestamp 2024-09-10T14:30:00Z --replace

Exit codes:
  0  committed; the file's path is printed
  1  input rejected (format, encoding, schema): nothing written
  2  usage or I/O error, sandbox failure: nothing written
  3  the target exists, or another writer holds it (busy)
  4  --timeout passed: nothing written
  5  committed, but durability not confirmed: do not write it again";

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
    /// CSV input's field delimiter: `,` `;` `|` `tab`, or any one ASCII
    /// character. Given explicitly, it also turns off the check that refuses
    /// a one-column header holding `;`, tab or `|`.
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter, help_heading = "Input")]
    delimiter: Option<u8>,
    /// CSV input's quote character (doubled inside a quoted field).
    #[arg(long, value_name = "CHAR", value_parser = parse_quote, help_heading = "Input")]
    quote: Option<u8>,
    /// The CSV input has no header line: its columns are --columns, else
    /// the --schema's field order.
    #[arg(long, help_heading = "Input")]
    no_header: bool,
    /// The input's columns, in order: for CSV with --no-header; for JSON
    /// Lines, the columns and their order.
    #[arg(
        long,
        value_name = "A,B,C",
        value_delimiter = ',',
        help_heading = "Input"
    )]
    columns: Option<Vec<String>>,
    /// The input's character encoding: utf-8 (default), utf-16 (with a
    /// byte-order mark), utf-16le, utf-16be, windows-1252, latin-1.
    /// Transcoded to UTF-8; a byte not valid in it rejects the input.
    #[arg(long, value_name = "NAME", value_parser = InputEncoding::parse, default_value = "utf-8", help_heading = "Input")]
    encoding: InputEncoding,
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
    /// Sign the file with this minisign secret key (see `csvseal keygen`):
    /// NAME.csv.minisig is committed before NAME.csv. With --continue the
    /// signature links the file to the series' previous one.
    #[arg(
        long,
        env = "CSVSEAL_SIGN_KEY",
        value_name = "PATH",
        hide_env_values = true
    )]
    sign_key: Option<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    plugin: PluginArg,
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
            if !output::write_ok(&committed, json) {
                // Committed and durable: the exit code stays 0, so nobody
                // retries into "exists"; the path goes where it can.
                eprintln_safe(&format!(
                    "csvseal: committed {} (stdout is closed: the path could not be printed there)",
                    committed.path.display()
                ));
            }
            EXIT_OK
        }
        Err(e) => output::failed("write", e, json),
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
        dialect: dialect(&args)?,
        encoding: args.encoding,
        header: args.columns.clone(),
        schema,
        start_seq: args.start_seq,
    };
    let (source, label, len): (Box<dyn Read + Send>, String, Option<u64>) = if args.input == "-" {
        (Box::new(std::io::stdin()), "<stdin>".to_owned(), None)
    } else {
        let file = csvseal::store::by_path::open_file(Path::new(&args.input), "open input")?;
        let len = file.metadata().ok().map(|m| m.len());
        (Box::new(file), args.input.clone(), len)
    };
    let sandbox = args.plugin.sandbox(&args.limits)?;
    // The clock starts once the engine is loaded: the timeout bounds the
    // write itself, from the first input byte to the commit.
    let deadline = args.timeout.and_then(|t| Instant::now().checked_add(t));
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
        replace: args.replace.then(|| csvseal::backup::BackupPolicy {
            dir: args.backup_dir.clone(),
            keep: args.keep.map(|k| k as usize),
        }),
        deadline,
        sign: args
            .sign_key
            .as_deref()
            .map(csvseal::signing::SecretKey::load)
            .transpose()?
            .map(csvseal::signing::Signer::new),
    };
    let ops = &csvseal::store::file_ops::RealFs;
    let location = csvseal::location::Location::from_path(&args.dir)?;
    let result = if let csvseal::location::Location::Object(url) = &location {
        write_object(url, &args, &control, &sandbox, &req, &mut input, &label)
    } else if args.continue_series {
        csvseal::jobs::series::write_continue(ops, &control, &sandbox, &req, &mut input, &label)
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

/// The CSV dialect the input options describe.
fn dialect(args: &WriteArgs) -> csvseal::Result<Dialect> {
    let csv = matches!(args.format, FormatArg::Csv);
    if !csv && (args.delimiter.is_some() || args.quote.is_some() || args.no_header) {
        return Err(Error::Usage(
            "--delimiter, --quote and --no-header describe CSV input, not --format jsonl".into(),
        ));
    }
    if csv && args.columns.is_some() && !args.no_header {
        return Err(Error::Usage(
            "--columns names the columns of a CSV input without a header line: add --no-header"
                .into(),
        ));
    }
    let mut d = match args.delimiter {
        Some(b) => Dialect::delimited_by(b),
        None => Dialect::default(),
    };
    if let Some(q) = args.quote {
        d.quote = q;
    }
    d.has_header = !args.no_header;
    d.check().map_err(Error::Usage)?;
    Ok(d)
}

/// `--delimiter`: a name (`tab`, `comma`, `semicolon`, `pipe`), `\t`, or one
/// ASCII character other than CR and LF.
pub(super) fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" => Ok(b'\t'),
        "comma" => Ok(b','),
        "semicolon" => Ok(b';'),
        "pipe" => Ok(b'|'),
        _ => one_ascii(s, "delimiter"),
    }
}

/// `--quote`: one ASCII character other than CR and LF.
pub(super) fn parse_quote(s: &str) -> Result<u8, String> {
    one_ascii(s, "quote")
}

fn one_ascii(s: &str, what: &str) -> Result<u8, String> {
    match s.as_bytes() {
        [b] if b.is_ascii() && *b != b'\r' && *b != b'\n' => Ok(*b),
        _ => Err(format!(
            "{s:?}: the {what} must be one ASCII character other than CR and LF (or tab)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_names_and_characters() {
        assert_eq!(parse_delimiter("tab"), Ok(b'\t'));
        assert_eq!(parse_delimiter("\\t"), Ok(b'\t'));
        assert_eq!(parse_delimiter("\t"), Ok(b'\t'));
        assert_eq!(parse_delimiter(";"), Ok(b';'));
        assert_eq!(parse_delimiter("semicolon"), Ok(b';'));
        assert!(parse_delimiter("§").is_err());
        assert!(parse_delimiter(";;").is_err());
        assert!(parse_delimiter("").is_err());
        assert_eq!(parse_quote("'"), Ok(b'\''));
        assert!(parse_quote("\n").is_err());
    }
}
