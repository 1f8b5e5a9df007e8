//! What the CLI prints: readable text by default, one JSON document with
//! `--json`. Results go to stdout, diagnostics to stderr.

use std::io::Write;
use std::path::{Path, PathBuf};

use csvseal::{Committed, Error, RowError, VerifyReport};
use serde_json::{Value, json};

/// Prints a committed write: its path alone, or a JSON summary.
pub fn write_ok(c: &Committed, json: bool) {
    if json {
        print_json(&json!({
            "ok": true,
            "path": c.path,
            "rows": c.summary.rows,
            "first_seq": c.summary.first_seq,
            "last_seq": c.summary.last_seq,
            "bytes": c.summary.bytes,
            "columns": c.summary.columns,
        }));
    } else {
        println!("{}", c.path.display());
    }
}

/// Prints a failure: JSON on stdout with `--json`, else text on stderr.
pub fn write_failed(e: &Error, json: bool) {
    if json {
        print_json(&json!({ "ok": false, "error": error_json(e) }));
        return;
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "csvseal: error: {e}");
    match e {
        Error::InputRejected {
            input,
            errors,
            count,
            truncated,
        } => {
            for row in errors {
                let _ = writeln!(err, "  {}", located(input, row));
            }
            if *truncated {
                let shown = errors.len() as u64;
                let _ = writeln!(err, "  … and {} more", count - shown);
            }
        }
        Error::WrittenFileInvalid { report, .. } | Error::SourceInvalid { report, .. } => {
            for row in &report.errors {
                let _ = writeln!(err, "  {row}");
            }
        }
        _ => {
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                let _ = writeln!(err, "  caused by: {s}");
                source = s.source();
            }
        }
    }
}

/// An error as JSON: kind, message, exit code, and its details.
pub fn error_json(e: &Error) -> Value {
    let mut v = json!({
        "kind": e.kind(),
        "message": e.to_string(),
        "exit_code": e.exit_code(),
    });
    match e {
        Error::InputRejected {
            errors,
            count,
            truncated,
            ..
        } => {
            v["errors"] = json!(errors);
            v["error_count"] = json!(count);
            v["errors_truncated"] = json!(truncated);
        }
        Error::WrittenFileInvalid { report, .. } | Error::SourceInvalid { report, .. } => {
            v["report"] = json!(report)
        }
        Error::Io { path, op, source } => {
            v["path"] = json!(path);
            v["op"] = json!(op);
            v["os_error"] = json!(source.to_string());
        }
        Error::TargetExists { path }
        | Error::Busy { path }
        | Error::TargetChanged { path }
        | Error::StoredMismatch { path, .. } => v["path"] = json!(path),
        Error::StoreUnsupported { location, .. } => v["path"] = json!(location),
        Error::LimitExceeded { limit, .. } => v["limit"] = json!(limit),
        _ => {}
    }
    v
}

/// `file:line: kind (seq N) [column]: message`, the compiler-style location.
fn located(file: &str, e: &RowError) -> String {
    let mut s = format!("{file}:{}: {}", e.line, e.kind);
    if let Some(seq) = e.seq {
        s += &format!(" (seq {seq})");
    }
    if let Some(c) = &e.column {
        s += &format!(" [{c}]");
    }
    s + ": " + &e.message
}

/// Prints every file's verification result.
pub fn verify_results(results: &[(PathBuf, csvseal::Result<VerifyReport>)], json: bool) {
    if json {
        let files: Vec<Value> = results
            .iter()
            .map(|(path, r)| match r {
                Ok(report) => {
                    let mut v = json!(report);
                    v["path"] = json!(path);
                    v
                }
                Err(e) => json!({ "path": path, "valid": false, "error": error_json(e) }),
            })
            .collect();
        let valid = results
            .iter()
            .all(|(_, r)| r.as_ref().is_ok_and(|r| r.valid));
        print_json(&json!({ "valid": valid, "files": files }));
        return;
    }
    let mut out = std::io::stdout().lock();
    for (path, r) in results {
        match r {
            Ok(report) => {
                let _ = text_report(&mut out, path, report);
            }
            Err(e) => {
                let _ = out.flush();
                eprintln!("csvseal: error: {e}");
            }
        }
    }
}

fn text_report(out: &mut impl Write, path: &Path, r: &VerifyReport) -> std::io::Result<()> {
    let name = path.display().to_string();
    let seqs = match (r.first_seq, r.last_seq) {
        (Some(a), Some(b)) => format!(", file_seq {a}..{b}"),
        _ => String::new(),
    };
    if r.valid {
        writeln!(out, "{name}: OK: {} rows{seqs}", r.rows)?;
    } else {
        writeln!(
            out,
            "{name}: INVALID: {} rows{seqs}, {} error(s)",
            r.rows, r.error_count
        )?;
    }
    for e in &r.errors {
        writeln!(out, "  {}", located(&name, e))?;
    }
    if r.errors_truncated {
        writeln!(
            out,
            "  … {} more error(s) not listed",
            r.error_count - r.errors.len() as u64
        )?;
    }
    for g in &r.gaps {
        writeln!(
            out,
            "  {name}:{}: warning: sequence gap: {} → {} ({} missing)",
            g.line,
            g.after,
            g.next,
            g.missing()
        )?;
    }
    if r.gap_count > r.gaps.len() as u64 {
        writeln!(out, "  … {} more gap(s)", r.gap_count - r.gaps.len() as u64)?;
    }
    for w in &r.warnings {
        writeln!(out, "  {name}: warning: {w}")?;
    }
    Ok(())
}

/// Prints one pretty JSON document on stdout.
pub fn print_json(v: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, v);
    let _ = writeln!(out);
}
