//! The policy's file names: `{base}_YYYYMMDD_HHMMSS.csv` and its `.tmp`.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::error::{Error, Result};

/// Longest base name accepted; keeps the final name well under NAME_MAX (255).
pub const MAX_BASE_LEN: usize = 200;

/// Suffix of a temp file: `{final}.tmp`, in the target's own directory.
pub const TEMP_SUFFIX: &str = ".tmp";

/// Every final name csvseal commits ends so; so every temp of a final file
/// ends in `.csv.tmp`, which is how `recover` tells its own temps from a
/// user's `notes.tmp` (see [`is_final_temp`]).
pub const FINAL_SUFFIX: &str = ".csv";

/// True for the name of a final file's temp as csvseal makes it
/// (`{name}.csv.tmp`): the only names `recover` and `audit` treat as temps
/// in a data directory.
pub fn is_final_temp(name: &str) -> bool {
    name.strip_suffix(TEMP_SUFFIX)
        .and_then(|f| f.strip_suffix(FINAL_SUFFIX))
        .is_some_and(|stem| !stem.is_empty())
}

/// True for the name of a signature's temp as csvseal makes it
/// (`{name}.csv.minisig.tmp`).
pub fn is_signature_temp(name: &str) -> bool {
    name.strip_suffix(TEMP_SUFFIX)
        .and_then(|f| f.strip_suffix(SIGNATURE_SUFFIX))
        .is_some_and(is_final_name)
}

/// The CSV a signature file `{name}.csv.minisig` belongs to, if `name` is one.
pub fn signed_file_of(name: &str) -> Option<&str> {
    name.strip_suffix(SIGNATURE_SUFFIX)
        .filter(|csv| is_final_name(csv))
}

/// What a signature file's name adds to its CSV's.
pub const SIGNATURE_SUFFIX: &str = ".minisig";

/// The signature file's name for the file `name` (`{name}.minisig`).
pub fn signature_name(name: &str) -> String {
    format!("{name}{SIGNATURE_SUFFIX}")
}

fn is_final_name(name: &str) -> bool {
    name.strip_suffix(FINAL_SUFFIX)
        .is_some_and(|stem| !stem.is_empty())
}

/// Checks that `base` is a plain file-name stem: no path separators, no
/// `..`, no NUL or control characters, not empty, not hidden, not too long.
pub fn check_base_name(base: &str) -> Result<()> {
    if base.len() > MAX_BASE_LEN {
        return Err(Error::Usage(format!(
            "--name {base:?}: longer than {MAX_BASE_LEN} bytes"
        )));
    }
    check_plain_name(base).map_err(|why| Error::Usage(format!("--name {base:?}: {why}")))
}

/// Checks that `name` is a plain file name a write may commit to (a name
/// the caller chose, not one made by [`final_name`]): the rules of [`check_base_name`]
/// but its length, short enough that `{name}.tmp` fits in a directory
/// entry, and ending in `.csv`. The last rule is what makes `recover` safe:
/// a final `notes.tmp` would look like a temp, and a final `data.txt` would
/// leave a temp (`data.txt.tmp`) no sweep could tell from a user's file.
pub fn check_file_name(name: &str) -> Result<()> {
    const NAME_MAX: usize = 255;
    let longest = NAME_MAX - TEMP_SUFFIX.len();
    if name.len() > longest {
        return Err(Error::Usage(format!(
            "file name {name:?}: longer than {longest} bytes"
        )));
    }
    check_plain_name(name).map_err(|why| Error::Usage(format!("file name {name:?}: {why}")))?;
    if !name.ends_with(FINAL_SUFFIX) {
        return Err(Error::Usage(format!(
            "file name {name:?}: must end in \"{FINAL_SUFFIX}\": csvseal commits only .csv \
             files, so that `recover` can tell its temps ({{name}}.csv.tmp) from anyone else's"
        )));
    }
    Ok(())
}

/// Why `name` is not a plain name in one directory, if it is not.
fn check_plain_name(name: &str) -> std::result::Result<(), &'static str> {
    if name.is_empty() {
        return Err("must not be empty");
    }
    if name.contains(['/', '\\']) {
        return Err("must be a plain name, without '/' or '\\'");
    }
    if name.contains("..") {
        return Err("must not contain '..'");
    }
    if name.starts_with('.') {
        return Err("must not start with '.'");
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(())
}

/// Parses an RFC 3339 timestamp (for `--timestamp`).
pub fn parse_timestamp(s: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map_err(|e| Error::Usage(format!("--timestamp {s:?}: not an RFC 3339 time: {e}")))
}

/// `{base}_YYYYMMDD_HHMMSS.csv`, the time taken in UTC.
pub fn final_name(base: &str, at: OffsetDateTime) -> Result<String> {
    check_base_name(base)?;
    let stamp = at
        .to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year][month][day]_[hour][minute][second]"
        ))
        .map_err(|e| Error::Usage(format!("cannot format time {at}: {e}")))?;
    Ok(format!("{base}_{stamp}.csv"))
}

/// The temp file's name for a final name.
pub fn temp_name(final_name: &str) -> String {
    format!("{final_name}{TEMP_SUFFIX}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_name_is_utc() {
        let t = parse_timestamp("2024-09-10T16:30:00+02:00").unwrap();
        assert_eq!(
            final_name("trade_results", t).unwrap(),
            "trade_results_20240910_143000.csv"
        );
        assert_eq!(
            temp_name("trade_results_20240910_143000.csv"),
            "trade_results_20240910_143000.csv.tmp"
        );
    }

    #[test]
    fn rejects_unsafe_names() {
        for bad in [
            "", "a/b", "..", "x..y", "/abs", ".hidden", "a\0b", "a\nb", "a\\b",
        ] {
            assert!(check_base_name(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_base_name(&"x".repeat(MAX_BASE_LEN + 1)).is_err());
        for good in ["trades", "health_metrics", "Ünïcode-ok", "a.b"] {
            check_base_name(good).unwrap();
        }
    }

    #[test]
    fn file_names_follow_the_base_name_rules_and_leave_room_for_tmp() {
        check_file_name("trades.csv").unwrap();
        check_file_name(&format!("{}.csv", "x".repeat(247))).unwrap();
        assert!(check_file_name(&format!("{}.csv", "x".repeat(248))).is_err());
        for bad in [
            "",
            "a/b.csv",
            "..",
            ".hidden.csv",
            "a\nb",
            "ledger.tmp",
            "x.csv.tmp",
            "data.txt",
            ".csv",
        ] {
            let e = check_file_name(bad).unwrap_err().to_string();
            assert!(e.starts_with("file name"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn only_final_files_temps_count_as_csvseal_s() {
        assert!(is_final_temp("t_20240910_143000.csv.tmp"));
        assert!(is_final_temp("x.csv.tmp"));
        for not_ours in [
            "notes.tmp",
            ".csv.tmp",
            "x.csv",
            "x.txt.tmp",
            "x.tmp.csv",
            "x.CSV.tmp",
        ] {
            assert!(!is_final_temp(not_ours), "{not_ours:?}");
        }
    }

    #[test]
    fn rejects_bad_timestamps() {
        assert!(parse_timestamp("2024-09-10 14:30").is_err());
        assert!(parse_timestamp("yesterday").is_err());
    }
}
