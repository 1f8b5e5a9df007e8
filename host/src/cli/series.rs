//! `csvseal verify --series DIR BASE`: every file of a series and its seams.

use std::io::Write;
use std::path::Path;

use csvseal::jobs::series::verify_series;
use csvseal::{Sandbox, Schema};

use super::args::{EXIT_ERROR, EXIT_INVALID, EXIT_OK};
use super::output;
use super::terminal::Escaping;

/// Runs the series check; returns the exit code.
pub fn verify(
    sandbox: &Sandbox,
    schema: Option<&Schema>,
    keys: Option<&csvseal::verify::TrustedKeys>,
    dir: &str,
    base: &str,
    json: bool,
) -> i32 {
    let report = match csvseal::location::Location::parse(dir).and_then(|l| match l {
        csvseal::location::Location::Object(url) => {
            let options = super::object::options();
            csvseal::object::verify_series_at(sandbox, schema, keys, &url, base, &options)
        }
        csvseal::location::Location::Local(_) => {
            verify_series(sandbox, schema, keys, Path::new(dir), base)
        }
    }) {
        Ok(r) => r,
        Err(e) => {
            output::failed("verify", e, json);
            return EXIT_ERROR;
        }
    };
    if json {
        output::print_json(&report.json_document());
    } else {
        let mut out = Escaping(std::io::stdout().lock());
        for (p, r) in &report.files {
            let range = match (r.first_seq, r.last_seq) {
                (Some(a), Some(b)) => format!(", file_seq {a}..{b}"),
                _ => String::new(),
            };
            let state = if r.valid { "OK" } else { "INVALID" };
            let _ = writeln!(out, "{}: {state}: {} rows{range}", p.display(), r.rows);
            for e in &r.errors {
                let _ = writeln!(
                    out,
                    "  {}:{}: {}: {}",
                    p.display(),
                    e.line,
                    e.kind,
                    e.message
                );
            }
        }
        for (p, e) in &report.unreadable {
            let _ = writeln!(out, "{}: ERROR: {e}", p.display());
        }
        for s in &report.overlaps {
            let _ = writeln!(
                out,
                "{}: error: series overlap: starts at file_seq {}, but {} ends at {}",
                s.after.display(),
                s.first,
                s.before.display(),
                s.last
            );
        }
        for s in &report.gaps {
            let _ = writeln!(
                out,
                "{}: warning: series gap: starts at file_seq {}, {} ended at {} ({} missing)",
                s.after.display(),
                s.first,
                s.before.display(),
                s.last,
                s.first - s.last - 1
            );
        }
        let _ = writeln!(
            out,
            "series {base} in {dir}: {} file(s), {}",
            report.files.len() + report.unreadable.len(),
            if report.valid { "OK" } else { "INVALID" }
        );
    }
    if !report.unreadable.is_empty() {
        EXIT_ERROR
    } else if report.valid {
        EXIT_OK
    } else {
        EXIT_INVALID
    }
}
