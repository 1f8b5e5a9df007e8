//! `csvseal audit`: check a directory and name every alert class raised.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use csvseal::monitor::audit::{AlertClass, AuditOptions, AuditReport, audit};
use csvseal::{Sandbox, Schema};
use serde_json::json;

use super::{EXIT_ERROR, EXIT_OK, LimitArgs, logging, parse_duration};

/// Exit code base when alerts were raised: `ALERT_BASE + bits` (see README).
pub const ALERT_BASE: i32 = 32;

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
    #[command(flatten)]
    limits: LimitArgs,
}

/// The exit code for a report: 0, or `ALERT_BASE` plus each class's bit.
pub fn exit_code(report: &AuditReport) -> i32 {
    let bits = report.classes().iter().fold(0, |acc, c| acc | c.bit());
    if bits == 0 {
        EXIT_OK
    } else {
        ALERT_BASE + bits
    }
}

/// Runs `audit`; `metrics_file` is the global `--metrics-file`, read for
/// write timeouts.
pub fn run(args: AuditArgs, metrics_file: Option<PathBuf>) -> i32 {
    let result = (|| {
        let schema = args.schema.as_deref().map(Schema::read).transpose()?;
        let sandbox = Sandbox::builtin(args.limits.to_limits())?;
        let opts = AuditOptions {
            dir: args.dir.clone(),
            max_temp_age: args.max_temp_age,
            state_file: args.state_file.clone(),
            metrics_file,
            schema,
        };
        match csvseal::location::Location::from_path(&args.dir)? {
            csvseal::location::Location::Object(url) => {
                csvseal::object::audit_prefix(&sandbox, &opts, &url, &super::object::options())
            }
            csvseal::location::Location::Local(_) => audit(&sandbox, &opts),
        }
    })();
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            logging::failure("audit", &e);
            super::output::write_failed(&e, args.json);
            return EXIT_ERROR;
        }
    };
    let code = exit_code(&report);
    for w in &report.warnings {
        tracing::warn!(dir = %args.dir.display(), "{w}");
    }
    for a in &report.alerts {
        let file = a
            .file
            .as_ref()
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        tracing::error!(class = a.class.as_str(), file, step = "audit", cause = %a.message, "alert");
    }
    print(&args, &report, code);
    code
}

fn print(args: &AuditArgs, r: &AuditReport, code: i32) {
    let classes: Vec<&str> = r.classes().iter().map(|c| c.as_str()).collect();
    if args.json {
        let counts: serde_json::Map<String, serde_json::Value> = AlertClass::ALL
            .iter()
            .map(|c| (c.as_str().to_owned(), json!(r.count(*c))))
            .collect();
        let doc = json!({
            "ok": r.alerts.is_empty(),
            "dir": args.dir,
            "exit_code": code,
            "classes": classes,
            "alert_counts": counts,
            "alerts": r.alerts,
            "files": r.files,
            "verified": r.verified,
            "unchanged": r.unchanged,
            "temp_files": r.temp_files,
            "warnings": r.warnings,
        });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return;
    }
    for a in &r.alerts {
        match &a.file {
            Some(f) => println!("ALERT {}: {}: {}", a.class.as_str(), f.display(), a.message),
            None => println!("ALERT {}: {}", a.class.as_str(), a.message),
        }
    }
    for w in &r.warnings {
        eprintln!("csvseal: warning: {w}");
    }
    let summary = format!(
        "{}: {} file(s) ({} verified, {} unchanged), {} temp file(s)",
        args.dir.display(),
        r.files,
        r.verified,
        r.unchanged,
        r.temp_files
    );
    if r.alerts.is_empty() {
        println!("{summary}: OK, no alerts");
    } else {
        println!(
            "{summary}: {} alert(s): {}",
            r.alerts.len(),
            classes.join(", ")
        );
    }
}
