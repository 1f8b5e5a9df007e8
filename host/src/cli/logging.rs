//! Logs: `tracing` to stderr, as text or JSON lines, at a level set by
//! `-v`/`-q`. Every failure is logged once, here, with the file, the step
//! and the cause, when logs are asked for (`-v`, or `--log-format json`):
//! by default a failure is the one human `csvseal: error:` line alone.

use std::sync::atomic::{AtomicBool, Ordering};

use clap::ValueEnum;
use csvseal::Error;

use super::terminal::{Escaping, JsonSafe};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for log shippers).
    Json,
}

/// The level for `-v` and `-q` counts: warnings by default.
pub fn level(verbose: u8, quiet: u8) -> LevelFilter {
    match i16::from(verbose) - i16::from(quiet) {
        i16::MIN..=-2 => LevelFilter::OFF,
        -1 => LevelFilter::ERROR,
        0 => LevelFilter::WARN,
        1 => LevelFilter::INFO,
        2 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

/// Whether failures are logged as well as reported (see [`init`]).
static LOG_FAILURES: AtomicBool = AtomicBool::new(false);

/// True when a failure gets a structured log line besides the human report:
/// with `-v` or `--log-format json`, at a level that shows errors.
pub fn failures_logged() -> bool {
    LOG_FAILURES.load(Ordering::Relaxed)
}

/// Installs the global subscriber. `verbose` is the `-v` count.
pub fn init(format: LogFormat, level: LevelFilter, verbose: u8) {
    let wanted = verbose > 0 || format == LogFormat::Json;
    LOG_FAILURES.store(wanted && level >= LevelFilter::ERROR, Ordering::Relaxed);
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false);
    let targets = targets(level);
    // Log fields carry text from files (names, messages): escaped like all
    // human output (no colours then: they are escape sequences too), and
    // JSON lines with the same characters as \uXXXX.
    let result = match format {
        LogFormat::Text => builder
            .with_writer(|| Escaping(std::io::stderr()))
            .with_ansi(false)
            .finish()
            .with(targets)
            .try_init(),
        LogFormat::Json => builder
            .with_writer(|| JsonSafe(std::io::stderr()))
            .json()
            .flatten_event(true)
            .finish()
            .with(targets)
            .try_init(),
    };
    // Only fails if a subscriber is already set, which the CLI never does.
    let _ = result;
}

/// csvseal's own events at `level`; every other crate's at warnings at
/// most: below that, the HTTP stack and `object_store` log whole URLs,
/// requests and headers (an endpoint's `user:password@`, a token).
fn targets(level: LevelFilter) -> Targets {
    Targets::new()
        .with_target("csvseal", level)
        .with_default(level.min(LevelFilter::WARN))
}

/// The file and the step an error happened at.
fn file_and_step(e: &Error) -> (String, &'static str) {
    match e {
        Error::Io { path, op, .. } => (path.display().to_string(), op),
        Error::Timeout { path, step, .. } => (path.display().to_string(), step),
        Error::TargetExists { path } => (path.display().to_string(), "check target"),
        Error::Busy { path } => (path.display().to_string(), "create temp file"),
        Error::WrittenFileInvalid { path, .. } => (path.display().to_string(), "verify temp file"),
        Error::WrittenFileMismatch { path, .. } => {
            (path.display().to_string(), "read back temp file")
        }
        Error::InputRejected { input, .. } => (input.clone(), "seal input"),
        Error::Schema { path, .. } => (path.display().to_string(), "read schema"),
        Error::Usage(_) => ("-".into(), "check arguments"),
        Error::Sandbox(_) => ("-".into(), "sandbox call"),
        Error::LimitExceeded { .. } => ("-".into(), "sandbox call"),
        Error::SourceInvalid { path, .. } => (path.display().to_string(), "verify source"),
        Error::NoGoodBackup { path, .. } => (path.display().to_string(), "find backup"),
        Error::CommittedNotDurable { path, op, .. } => (path.display().to_string(), op),
        Error::StoreUnsupported { location, .. } => {
            (location.display().to_string(), "probe conditional writes")
        }
        Error::TargetChanged { path } => (path.display().to_string(), "commit"),
        Error::StoredMismatch { path, .. } => (path.display().to_string(), "confirm stored object"),
    }
}

/// Logs a failed command once, if failures are logged: file, step, kind
/// and cause.
pub fn failure(command: &'static str, e: &anyhow::Error) {
    if !failures_logged() {
        return;
    }
    match e.downcast_ref::<Error>() {
        Some(lib) => failure_of(command, lib),
        None => {
            let cause = format!("{e:#}");
            tracing::error!(
                command,
                file = "-",
                step = "-",
                kind = "io",
                cause,
                "{command} failed"
            );
        }
    }
}

/// [`failure`] for a library error.
pub fn failure_of(command: &'static str, lib: &Error) {
    if !failures_logged() {
        return;
    }
    let (file, step) = file_and_step(lib);
    let cause = match lib {
        Error::Io { source, .. } | Error::CommittedNotDurable { source, .. } => source.to_string(),
        e => e.to_string(),
    };
    tracing::error!(
        command,
        file,
        step,
        kind = lib.kind(),
        cause,
        "{command} failed"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_levels() {
        assert_eq!(level(0, 0), LevelFilter::WARN);
        assert_eq!(level(1, 0), LevelFilter::INFO);
        assert_eq!(level(3, 0), LevelFilter::TRACE);
        assert_eq!(level(0, 1), LevelFilter::ERROR);
        assert_eq!(level(0, 2), LevelFilter::OFF);
    }

    #[test]
    fn other_crates_log_warnings_at_most() {
        use tracing::Level;
        let t = targets(LevelFilter::TRACE);
        assert!(t.would_enable("csvseal::object::signed", &Level::TRACE));
        assert!(t.would_enable("csvseal", &Level::DEBUG));
        for other in [
            "hyper_util::client",
            "reqwest::connect",
            "object_store::client",
        ] {
            assert!(!t.would_enable(other, &Level::INFO), "{other}");
            assert!(t.would_enable(other, &Level::WARN), "{other}");
        }
        let quiet = targets(LevelFilter::ERROR);
        assert!(!quiet.would_enable("hyper", &Level::WARN));
        assert!(!quiet.would_enable("csvseal", &Level::WARN));
    }
}
