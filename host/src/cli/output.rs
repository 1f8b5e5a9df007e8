//! What the CLI prints: readable text by default, one JSON document with
//! `--json`. Results go to stdout, diagnostics to stderr.

use std::io::Write;
use std::path::{Path, PathBuf};

use csvseal::{Committed, Error, RowError, VerifyReport};
use serde_json::{Value, json};

use super::args::EXIT_ERROR;
use super::terminal::{Escaping, json_safe};
use super::{hints, logging};

/// Prints a committed write: its path alone, or a JSON summary, and the
/// verifier's warnings on the written file (on stderr, or in the JSON).
/// Returns false when stdout could not take it (closed, full): the file is
/// committed all the same, and the caller says so on stderr.
pub fn write_ok(c: &Committed, json: bool) -> bool {
    if json {
        print_json(&json!({
            "ok": true,
            "path": c.path,
            "rows": c.summary.rows,
            "first_seq": c.summary.first_seq,
            "last_seq": c.summary.last_seq,
            "bytes": c.summary.bytes,
            "columns": c.summary.columns,
            "warnings": c.verified.warnings,
            "signature": c.signed.as_ref().map(|s| json!({
                "path": s.path,
                "key_id": s.key_id.to_string(),
            })),
        }))
    } else {
        for w in &c.verified.warnings {
            eprintln_safe(&format!("csvseal: warning: {}: {w}", c.path.display()));
        }
        stdout_line(&c.path.display().to_string())
    }
}

/// Reports a failed command once and returns its exit code: a structured
/// log line (only with `-v` or `--log-format json`), then the human
/// `csvseal: error: … (hint: …)` line on stderr, with the offending rows
/// under it, or one JSON document on stdout with `--json`. A write that
/// committed despite the error ([`Error::committed`]) also gets its path on
/// stdout (as a success would) and on stderr, so neither a script reading
/// stdout nor a person reading stderr retries it.
pub fn failed(command: &'static str, e: impl Into<anyhow::Error>, json: bool) -> i32 {
    let e = e.into();
    logging::failure(command, &e);
    let lib = e.downcast_ref::<Error>();
    let committed = lib.and_then(Error::committed);
    if json {
        let mut v = match lib {
            Some(lib) => error_json(lib),
            None => json!({ "kind": "io", "exit_code": EXIT_ERROR }),
        };
        v["message"] = json!(chain(&e));
        let mut doc = json!({ "ok": false, "error": v });
        if let Some(path) = committed {
            doc["committed"] = json!(true);
            doc["path"] = json!(path);
        }
        print_json(&doc);
    } else {
        if let Some(path) = committed {
            stdout_line(&path.display().to_string());
        }
        let mut err = Escaping(std::io::stderr().lock());
        let _ = writeln!(err, "{}", error_line(&e));
        if let Some(lib) = lib {
            let _ = details(&mut err, lib);
        }
    }
    lib.map_or(EXIT_ERROR, Error::exit_code)
}

/// The one line a failure prints: what happened, and its fix.
pub fn error_line(e: &anyhow::Error) -> String {
    let hint = e
        .downcast_ref::<Error>()
        .map_or_else(|| "see the message".to_owned(), hints::hint);
    format!("csvseal: error: {} (hint: {hint})", chain(e))
}

/// The error and its causes on one line, each said once (a library error
/// already quotes its OS error).
fn chain(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// The rows behind an error, one per line, indented under it.
fn details(out: &mut impl Write, e: &Error) -> std::io::Result<()> {
    match e {
        Error::InputRejected {
            input,
            errors,
            count,
            truncated,
        } => {
            for row in errors {
                writeln!(out, "  {}", located(input, row))?;
            }
            if *truncated {
                let shown = errors.len() as u64;
                writeln!(out, "  … and {} more", count - shown)?;
            }
        }
        Error::WrittenFileInvalid { report, .. } | Error::SourceInvalid { report, .. } => {
            for row in &report.errors {
                writeln!(out, "  {row}")?;
            }
        }
        Error::CommittedNotDurable { path, .. } => {
            writeln!(out, "  committed: {}", path.display())?;
        }
        _ => {}
    }
    Ok(())
}

/// Writes one line on stdout and flushes it; false if stdout refused it
/// (a closed pipe gives EPIPE: Rust ignores SIGPIPE, and `println!` would
/// panic here).
pub fn stdout_line(line: &str) -> bool {
    let mut out = Escaping(std::io::stdout().lock());
    writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
}

/// An error as JSON: kind, message, exit code, and its details.
pub fn error_json(e: &Error) -> Value {
    let mut v = json!({
        "kind": e.kind(),
        "message": e.to_string(),
        "hint": hints::hint(e),
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
        Error::Io { path, op, source } | Error::CommittedNotDurable { path, op, source } => {
            v["path"] = json!(path);
            v["op"] = json!(op);
            v["os_error"] = json!(source.to_string());
        }
        Error::WrittenFileMismatch {
            path,
            verified_bytes,
            read_back_bytes,
            differs_at,
        } => {
            v["path"] = json!(path);
            v["verified_bytes"] = json!(verified_bytes);
            v["read_back_bytes"] = json!(read_back_bytes);
            v["differs_at"] = json!(differs_at);
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
    let mut out = Escaping(std::io::stdout().lock());
    for (path, r) in results {
        match r {
            Ok(report) => {
                let _ = text_report(&mut out, path, report);
            }
            Err(e) => {
                let _ = out.flush();
                err!("csvseal: error: {e} (hint: {})", hints::hint(e));
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
    let signed = match &r.signature {
        Some(s) if s.status == csvseal::SignatureStatus::Valid => {
            let key = s.key_id.as_deref().unwrap_or("?");
            match &s.claims {
                Some(c) => match &c.previous {
                    Some(p) => format!(", signed by key ID {key}, after {}", p.file_name),
                    None => format!(", signed by key ID {key}, first of its series"),
                },
                None => format!(", signed by key ID {key} (plain minisign: no chain data)"),
            }
        }
        _ => String::new(),
    };
    if r.valid {
        writeln!(out, "{name}: OK: {} rows{seqs}{signed}", r.rows)?;
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

/// Prints one pretty JSON document on stdout; false if stdout refused it.
pub fn print_json(v: &Value) -> bool {
    let Ok(text) = serde_json::to_string_pretty(v) else {
        return false;
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", json_safe(&text))
        .and_then(|()| out.flush())
        .is_ok()
}

/// Writes one line on stderr, ignoring a closed stderr (never panics, unlike
/// `eprintln!`).
pub fn eprintln_safe(line: &str) {
    let _ = writeln!(Escaping(std::io::stderr().lock()), "{line}");
}
