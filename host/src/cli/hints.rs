//! What to do about each error, in the CLI's terms (options and commands).
//!
//! Every [`Error`] variant has a hint: the match below has no catch-all, so
//! a new variant does not compile until it gets one, and the test walks one
//! value of every variant.

use std::io;

use csvseal::Error;

/// The fix for `e`, as a short imperative sentence naming the option or
/// command that helps.
pub fn hint(e: &Error) -> String {
    match e {
        Error::Io { path, source, .. } => io_hint(&path.display().to_string(), source),
        Error::Usage(_) => "see `csvseal COMMAND --help` for the options and examples".to_owned(),
        Error::Schema { path, .. } => format!(
            "fix {} (a Frictionless Table Schema; docs/schemas.md lists what csvseal supports)",
            path.display()
        ),
        Error::TargetExists { path } if path.to_string_lossy().ends_with(".minisig") => {
            "the file is signed already: `csvseal sign --force` replaces its signature".to_owned()
        }
        Error::TargetExists { path }
            if path.to_string_lossy().ends_with(".key")
                || path.to_string_lossy().ends_with(".pub") =>
        {
            "csvseal never replaces a key file: choose other names for the new key pair".to_owned()
        }
        Error::TargetExists { .. } => "pass --replace to supersede it with a verified backup, \
             or write under another --name or --timestamp"
            .to_owned(),
        Error::Busy { .. } => {
            "retry when it is done, or pass --wait DURATION (e.g. --wait 30s) to wait for it"
                .to_owned()
        }
        Error::InputRejected { .. } => "fix the rows listed (file:line), then write again; if \
             every row is wrong, describe the input: --delimiter, --quote, --no-header, \
             --encoding, --format"
            .to_owned(),
        Error::WrittenFileInvalid { .. } => "nothing was committed; this is a bug in csvseal \
             or in the --component plugin: report it with the input"
            .to_owned(),
        Error::WrittenFileMismatch { .. } => "nothing was committed; the disk or file system \
             did not keep the bytes written: check the device (dmesg, SMART), then write again"
            .to_owned(),
        Error::CommittedNotDurable { path, .. } => format!(
            "do not write it again; run `csvseal verify {}` after a crash or reboot to check \
             it survived",
            path.display()
        ),
        Error::StoreUnsupported { .. } => "write to a store that enforces conditional writes \
             (If-None-Match / If-Match: AWS S3, SeaweedFS, MinIO; docs/object-storage.md), \
             or to a local --dir"
            .to_owned(),
        Error::TargetChanged { path } => format!(
            "check who else writes {}, then run the --replace again",
            path.display()
        ),
        Error::StoredMismatch { path, .. } => format!(
            "check the store, then run `csvseal verify {}`; write again if it does not verify",
            path.display()
        ),
        Error::SourceInvalid { path, .. } => format!(
            "`csvseal restore {p}` brings back its newest good backup; \
             `csvseal salvage {p} --out DIR` keeps its valid rows",
            p = path.display()
        ),
        Error::NoGoodBackup { path, .. } => format!(
            "`csvseal salvage {} --out DIR` keeps the longest valid prefix of the file",
            path.display()
        ),
        Error::Timeout { .. } => "raise --timeout, or find what stalled (the producer \
             feeding the input, a slow disk)"
            .to_owned(),
        Error::Sandbox(_) => "with --component, check the plugin implements \
             csvseal:core/engine (plugins/README.md); without it, report a bug"
            .to_owned(),
        Error::LimitExceeded { limit, .. } => match *limit {
            "memory" => "raise --memory-limit-mib (the record and schema need more)".to_owned(),
            "cpu" => "raise --call-timeout-secs".to_owned(),
            "output" => "raise --max-output-mib".to_owned(),
            "table" => "raise --max-table-elements".to_owned(),
            _ => "the component creates more instances than allowed: check the --component \
                  plugin"
                .to_owned(),
        },
    }
}

/// Hints for a failed file operation, by what the OS said.
fn io_hint(path: &str, source: &io::Error) -> String {
    const ENOSPC: i32 = 28;
    const EIO: i32 = 5;
    const EDQUOT: i32 = 122;
    match (source.raw_os_error(), source.kind()) {
        (Some(ENOSPC | EDQUOT), _) => {
            format!("free space (or quota) on the file system holding {path}, then retry")
        }
        (Some(EIO), _) => {
            format!("the device holding {path} reported an I/O error: check it, then retry")
        }
        (_, io::ErrorKind::NotFound) => format!("check that {path} exists"),
        (_, io::ErrorKind::PermissionDenied) => format!("check the permissions on {path}"),
        (_, io::ErrorKind::TimedOut) => "raise --timeout, or find what stalled".to_owned(),
        (_, io::ErrorKind::InvalidData) => {
            "check the input's encoding (--encoding) and format (--format)".to_owned()
        }
        _ if source.to_string().contains("is a directory") => {
            format!("{path} is a directory: name a file")
        }
        _ => format!("check {path} and retry"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

    /// One value of every variant. The match makes this fail to compile when
    /// a variant is added, until it is added here (and given a hint above).
    pub fn every_error() -> Vec<Error> {
        let p = || PathBuf::from("out/t_20240910_143000.csv");
        let report = || Box::new(csvseal::VerifyReport::default());
        let all = vec![
            Error::io(p(), "create temp file", io::Error::from_raw_os_error(28)),
            Error::Usage("--start-seq must be at least 1".into()),
            Error::Schema {
                path: "s.json".into(),
                message: "bad".into(),
            },
            Error::TargetExists { path: p() },
            Error::Busy { path: p() },
            Error::InputRejected {
                input: "in.csv".into(),
                errors: vec![],
                count: 1,
                truncated: false,
            },
            Error::WrittenFileInvalid {
                path: p(),
                report: report(),
            },
            Error::WrittenFileMismatch {
                path: p(),
                verified_bytes: 10,
                read_back_bytes: 9,
                differs_at: None,
            },
            Error::CommittedNotDurable {
                path: p(),
                op: "fsync directory",
                source: io::Error::from_raw_os_error(5),
            },
            Error::StoreUnsupported {
                location: "s3://b/p/".into(),
                missing: "If-None-Match".into(),
            },
            Error::TargetChanged { path: p() },
            Error::StoredMismatch {
                path: p(),
                detail: "checksum differs".into(),
            },
            Error::SourceInvalid {
                path: p(),
                report: report(),
            },
            Error::NoGoodBackup {
                path: p(),
                tried: 2,
            },
            Error::Timeout {
                path: p(),
                step: "read input",
                after: Duration::from_secs(5),
            },
            Error::Sandbox("trap".into()),
            Error::LimitExceeded {
                limit: "memory",
                message: "too much".into(),
            },
        ];
        for e in &all {
            match e {
                Error::Io { .. }
                | Error::Usage(_)
                | Error::Schema { .. }
                | Error::TargetExists { .. }
                | Error::Busy { .. }
                | Error::InputRejected { .. }
                | Error::WrittenFileInvalid { .. }
                | Error::WrittenFileMismatch { .. }
                | Error::CommittedNotDurable { .. }
                | Error::StoreUnsupported { .. }
                | Error::TargetChanged { .. }
                | Error::StoredMismatch { .. }
                | Error::SourceInvalid { .. }
                | Error::NoGoodBackup { .. }
                | Error::Timeout { .. }
                | Error::Sandbox(_)
                | Error::LimitExceeded { .. } => {}
            }
        }
        all
    }

    #[test]
    fn every_error_kind_names_its_fix() {
        let all = every_error();
        let kinds: std::collections::BTreeSet<&str> = all.iter().map(|e| e.kind()).collect();
        assert_eq!(kinds.len(), all.len(), "one value per kind");
        for e in &all {
            let h = hint(e);
            // A fix names an option or a command, or says what to check.
            let names_fix = h.contains("--")
                || h.contains("`csvseal ")
                || h.starts_with("check ")
                || h.starts_with("fix ")
                || h.starts_with("free ")
                || h.contains("report it")
                || h.contains("check the device");
            assert!(names_fix, "{}: hint {h:?}", e.kind());
            assert!(!h.ends_with('.'), "{}: hints are clauses: {h:?}", e.kind());
        }
    }

    #[test]
    fn io_hints_follow_the_os_error() {
        let io = |errno| {
            Error::io(
                "d/f",
                "write temp file",
                io::Error::from_raw_os_error(errno),
            )
        };
        assert!(hint(&io(28)).contains("free space"));
        assert!(hint(&io(5)).contains("I/O error"));
        assert!(hint(&io(2)).contains("exists"));
        assert!(hint(&io(13)).contains("permissions"));
        let limit = |limit| Error::LimitExceeded {
            limit,
            message: String::new(),
        };
        assert!(hint(&limit("cpu")).contains("--call-timeout-secs"));
        assert!(hint(&limit("output")).contains("--max-output-mib"));
        assert!(hint(&limit("table")).contains("--max-table-elements"));
    }
}
