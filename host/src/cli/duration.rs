//! Durations for `--wait`, `--timeout`, `--max-temp-age`, `--rescan-after`:
//! humantime's grammar (`500ms`, `30s`, `2m`, `1h 30m`, `7d`), or plain
//! seconds.

use std::time::Duration;

/// Longest duration accepted: 100 years. Far beyond any real wait or age,
/// and well within what a clock reading plus a duration can hold, so no
/// deadline computed from it can overflow.
pub const MAX: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Parses a duration for clap.
pub fn parse(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    // humantime wants a unit on every number; a bare integer is seconds.
    let d = if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse()
            .map(Duration::from_secs)
            .map_err(|e| format!("{s:?}: {e}"))?
    } else {
        humantime::parse_duration(t)
            .map_err(|e| format!("{s:?}: {e} (e.g. 500ms, 30s, 2m, 1h 30m, or plain seconds)"))?
    };
    if d > MAX {
        return Err(format!("{s:?}: more than 100 years"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse("1m 30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert!(parse("5 parsecs").is_err());
        assert!(parse("ms").is_err());
        assert!(parse("").is_err());
        assert!(parse("-1s").is_err());
        assert_eq!(parse("36500d").unwrap(), MAX);
        for huge in ["36501d", "18446744073709551615", "584942417355y"] {
            let e = parse(huge).unwrap_err();
            assert!(
                e.contains("more than 100 years") || e.contains("too large"),
                "{huge}: {e}"
            );
        }
    }
}
