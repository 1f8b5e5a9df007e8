//! `csvseal audit`: check a directory and name every alert class raised.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use csvseal::jobs::audit::{AuditOptions, AuditReport, audit};
use csvseal::{Error, Sandbox, Schema};

use super::args::{EXIT_ERROR, LimitArgs, parse_duration};
use super::logging;

pub const EXAMPLES: &str = "\
Examples:
  # One pass over out/: broken files, sequence gaps, old temp files, timeouts
  csvseal audit --dir out --max-temp-age 30m
  # From cron: JSON, and metrics for node_exporter's textfile collector
  csvseal audit --dir out --json --metrics-file csvseal.prom
  # Signatures too: every file's, each series' chain, and its head to record
  # elsewhere (out/ holds unsigned files here: signature-failure, 32 + 16)
  csvseal audit --dir out --key signer.pub  # exit 48

Exit codes: 0 no alerts; 2 the audit could not be done; 32 + bits: +1 integrity failure, +2 sequence gap, +4 temp file not cleaned up, +8 write timeout, +16 signature failure.";

#[derive(Args)]
pub struct AuditArgs {
    /// Directory of sealed files to audit, or an object-store prefix
    /// (s3://bucket/prefix/: incomplete uploads are its temp files).
    #[arg(long, value_name = "DIR|URL")]
    dir: PathBuf,
    /// Temp files (*.csv.tmp) older than this are alerts, e.g. 30m, 2h.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    max_temp_age: Duration,
    /// Where results are remembered between audits [default: DIR/.csvseal-audit-state.json].
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// Frictionless Table Schema (JSON) the rows must satisfy.
    #[arg(long)]
    schema: Option<PathBuf>,
    /// Report as one JSON document on stdout.
    #[arg(long)]
    json: bool,
    /// Re-read and verify every file, changed or not (a full scrub).
    #[arg(long)]
    full: bool,
    /// Re-verify an unchanged file once its last full check is this old
    /// (bit rot changes no size, time or inode), e.g. 12h, 7d.
    #[arg(long, default_value = "7d", value_parser = parse_duration)]
    rescan_after: Duration,
    /// Re-verify at most this many bytes of unchanged files per run, oldest
    /// check first (at least one file), e.g. 500M, 20G. Default: no limit.
    #[arg(long, value_name = "BYTES", value_parser = parse_bytes)]
    max_bytes: Option<u64>,
    /// Check each file's signature (NAME.csv.minisig) against this minisign
    /// public key or keyring; repeat for several (key rotation). Each
    /// series' chain of signed links is walked, orphan signatures found, and
    /// each series' head printed. Local directories only.
    #[arg(long = "key", value_name = "PUBLIC_KEY")]
    keys: Vec<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
}

/// A byte count: digits with an optional binary unit (K, M, G, T; `KiB`…).
fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a byte count, e.g. 500M, 20G"))?;
    let shift = match unit.trim_end_matches("iB").trim_end_matches('B') {
        "" => 0,
        "K" | "k" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use K, M, G or T)")),
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{s:?}: too large"))
}

/// The exit code for a report: 0, or `ALERT_BASE` (32) plus each class's bit.
pub fn exit_code(report: &AuditReport) -> i32 {
    report.exit_code()
}

/// Runs `audit`; `metrics_file` is the global `--metrics-file`, read for
/// write timeouts.
pub fn run(args: AuditArgs, metrics_file: Option<PathBuf>) -> i32 {
    let result = (|| {
        let schema = args.schema.as_deref().map(Schema::read).transpose()?;
        let sandbox = Sandbox::builtin(args.limits.to_limits())?;
        let location = csvseal::location::Location::from_path(&args.dir)?;
        let keys = if args.keys.is_empty() {
            None
        } else if matches!(location, csvseal::location::Location::Object(_)) {
            return Err(Error::Usage(
                "--key: signatures are audited in local directories only; check a prefix's files with `csvseal verify --key`".into(),
            ));
        } else {
            Some(csvseal::verify::TrustedKeys::read(&sandbox, &args.keys)?)
        };
        let opts = AuditOptions {
            dir: args.dir.clone(),
            max_temp_age: args.max_temp_age,
            state_file: args.state_file.clone(),
            metrics_file,
            schema,
            full: args.full,
            rescan_after: args.rescan_after,
            max_bytes: args.max_bytes,
            keys,
        };
        match location {
            csvseal::location::Location::Object(url) => {
                csvseal::object::audit_prefix(&sandbox, &opts, &url, &super::object::options())
            }
            csvseal::location::Location::Local(_) => audit(&sandbox, &opts),
        }
    })();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            super::output::failed("audit", e, args.json);
            return EXIT_ERROR;
        }
    };
    let code = exit_code(&report);
    // Printed as `csvseal: warning:` below; logged too when logs are asked for.
    for w in report
        .warnings
        .iter()
        .filter(|_| logging::failures_logged())
    {
        tracing::warn!(dir = %args.dir.display(), "{w}");
    }
    for a in report.alerts.iter().filter(|_| logging::failures_logged()) {
        let file = a
            .file
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        tracing::error!(class = a.class.as_str(), file, step = "audit", cause = %a.message, "alert");
    }
    print(&args, &report);
    code
}

fn print(args: &AuditArgs, r: &AuditReport) {
    let classes: Vec<&str> = r.classes().iter().map(|c| c.as_str()).collect();
    if args.json {
        let doc = r.json_document(&args.dir, !args.keys.is_empty());
        // As every --json document: JSON escapes for what could drive a
        // terminal (a file name holding a bidi override), never text escapes,
        // which are not JSON.
        super::output::print_json(&doc);
        return;
    }
    for a in &r.alerts {
        match &a.file {
            Some(f) => out!("ALERT {}: {}: {}", a.class.as_str(), f.display(), a.message),
            None => out!("ALERT {}: {}", a.class.as_str(), a.message),
        }
    }
    for w in &r.warnings {
        err!("csvseal: warning: {w}");
    }
    for h in &r.heads {
        out!(
            "series {} head: {} blake2b {} (record it elsewhere: dropping the newest files shows only against a recorded head)",
            h.series,
            h.file,
            h.blake2b
                .as_deref()
                .unwrap_or("unknown (the file could not be read)")
        );
    }
    let deferred = match r.scrub_deferred {
        0 => String::new(),
        n => format!(", {n} due for a scrub left for the next run (--max-bytes)"),
    };
    let summary = format!(
        "{}: {} file(s) ({} verified, of which {} scrubbed, {} unchanged{deferred}), {} temp file(s)",
        args.dir.display(),
        r.files,
        r.verified,
        r.scrubbed,
        r.unchanged,
        r.temp_files
    );
    if r.alerts.is_empty() {
        out!("{summary}: OK, no alerts");
    } else {
        out!(
            "{summary}: {} alert(s): {}",
            r.alerts.len(),
            classes.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn byte_counts() {
        assert_eq!(parse_bytes("0"), Ok(0));
        assert_eq!(parse_bytes("1500"), Ok(1500));
        assert_eq!(parse_bytes("2K"), Ok(2048));
        assert_eq!(parse_bytes("500M"), Ok(500 << 20));
        assert_eq!(parse_bytes("20GiB"), Ok(20 << 30));
        assert!(parse_bytes("5 parsecs").is_err());
        assert!(parse_bytes("M").is_err());
    }
}
