//! The text Python's `str()` gives for a value, computed from the value
//! itself: a sealed row's checksum covers `str(value)` (the policy's
//! `compute_row_checksum`), so a frame's cells must become the very text
//! its row dicts would. Each function names the Python code it matches.

use std::fmt::Write;

/// `repr(float)` (= `str(float)`): the shortest text that reads back as
/// the same double, in exponent form when the decimal point would be more
/// than 16 digits right or 4 left of the first digit (CPython's
/// `format_float_short`, mode `'r'`): `1e+16`, `1e-05`, `0.0001`, `-0.0`,
/// `nan`, `inf`.
pub fn float(x: f64, out: &mut String) {
    if x.is_nan() {
        out.push_str("nan");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "inf" } else { "-inf" });
        return;
    }
    if x == 0.0 {
        out.push_str(if x.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    // ryu gives the shortest round-trip digits (as Python's repr picks
    // them), in a notation of its own: read them back as DIGITS and the
    // position of the decimal point.
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(x.abs());
    let (mantissa, exp) = match text.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().expect("ryu's exponent is an integer")),
        None => (text, 0),
    };
    let point = mantissa.find('.').unwrap_or(mantissa.len()) as i32;
    let mut digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let leading = digits.len() - digits.trim_start_matches('0').len();
    digits.drain(..leading);
    digits.truncate(digits.trim_end_matches('0').len());
    let n = digits.len() as i32;
    // The value is 0.DIGITS × 10^decpt.
    let decpt = point - leading as i32 + exp;
    if x.is_sign_negative() {
        out.push('-');
    }
    if decpt <= -4 || decpt > 16 {
        out.push_str(&digits[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        let _ = write!(out, "e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    } else if decpt <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-decpt) as usize));
        out.push_str(&digits);
    } else if decpt >= n {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (decpt - n) as usize));
        out.push_str(".0");
    } else {
        out.push_str(&digits[..decpt as usize]);
        out.push('.');
        out.push_str(&digits[decpt as usize..]);
    }
}

/// `str(decimal.Decimal)` of `coefficient × 10^-scale` (what an Arrow
/// decimal becomes in Python): plain notation while the exponent is not
/// positive and the adjusted exponent is at least -6, else scientific
/// (`1E+2`, `1E-7`, `0E-10`), as `Decimal.__str__` does.
pub fn decimal(negative: bool, coefficient: &str, scale: i32, out: &mut String) {
    let exp = -scale;
    let len = coefficient.len() as i32;
    let leftdigits = exp + len;
    let dotplace = if exp <= 0 && leftdigits > -6 {
        leftdigits
    } else {
        1
    };
    if negative {
        out.push('-');
    }
    if dotplace <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-dotplace) as usize));
        out.push_str(coefficient);
    } else if dotplace >= len {
        out.push_str(coefficient);
        out.extend(std::iter::repeat_n('0', (dotplace - len) as usize));
    } else {
        out.push_str(&coefficient[..dotplace as usize]);
        out.push('.');
        out.push_str(&coefficient[dotplace as usize..]);
    }
    if leftdigits != dotplace {
        let _ = write!(out, "E{:+}", leftdigits - dotplace);
    }
}

/// A proleptic Gregorian date from days since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Python's `date`/`datetime` years.
pub const PYTHON_YEARS: std::ops::RangeInclusive<i64> = 1..=9999;

/// `str(datetime.date)`: `YYYY-MM-DD`; `None` outside Python's years.
pub fn date(days: i64, out: &mut String) -> Option<()> {
    let (y, m, d) = civil_from_days(days);
    if !PYTHON_YEARS.contains(&y) {
        return None;
    }
    let _ = write!(out, "{y:04}-{m:02}-{d:02}");
    Some(())
}

/// `HH:MM:SS` and the fraction as `str(datetime.time)` and
/// `str(pandas.Timestamp)` write it: none when zero, six digits for whole
/// microseconds, nine when there are nanoseconds (what pandas prints; a
/// Python `datetime` cannot hold them, so this is where csvseal keeps the
/// digits `datetime` would have dropped).
pub fn time_of_day(nanos_of_day: i64, out: &mut String) {
    let secs = nanos_of_day / 1_000_000_000;
    let _ = write!(
        out,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    fraction(nanos_of_day % 1_000_000_000, out);
}

/// `.ffffff` or `.fffffffff` of `nanos` (< 1 s), nothing for zero.
fn fraction(nanos: i64, out: &mut String) {
    if nanos == 0 {
    } else if nanos % 1000 == 0 {
        let _ = write!(out, ".{:06}", nanos / 1000);
    } else {
        let _ = write!(out, ".{nanos:09}");
    }
}

/// `str(datetime.datetime)` / `str(pandas.Timestamp)` of a wall-clock time
/// (nanoseconds since the epoch, local), `sep` between date and time
/// (`' '` as `str()` does; `'T'` where a Table Schema `datetime` is due),
/// then the UTC offset in seconds if any (`+HH:MM`, `+HH:MM:SS` when it has
/// seconds). `None` outside Python's years.
pub fn datetime(local_nanos: i128, sep: char, offset: Option<i32>, out: &mut String) -> Option<()> {
    let day_nanos = 86_400_000_000_000i128;
    let days = i64::try_from(local_nanos.div_euclid(day_nanos)).ok()?;
    let in_day = local_nanos.rem_euclid(day_nanos) as i64;
    date(days, out)?;
    out.push(sep);
    time_of_day(in_day, out);
    if let Some(off) = offset {
        let sign = if off < 0 { '-' } else { '+' };
        let a = off.unsigned_abs();
        let _ = write!(out, "{sign}{:02}:{:02}", a / 3600, a / 60 % 60);
        if a % 60 != 0 {
            let _ = write!(out, ":{:02}", a % 60);
        }
    }
    Some(())
}

/// `str(datetime.timedelta)`: `[D day[s], ]H:MM:SS[.ffffff]`, days floored
/// (`-1 day, 23:59:59`); nanoseconds, which a `timedelta` cannot hold, as
/// nine digits.
pub fn timedelta_python(nanos: i128, out: &mut String) {
    let day = 86_400_000_000_000i128;
    let days = nanos.div_euclid(day);
    let rest = nanos.rem_euclid(day) as i64;
    if days != 0 {
        let s = if days.abs() != 1 { "s" } else { "" };
        let _ = write!(out, "{days} day{s}, ");
    }
    let secs = rest / 1_000_000_000;
    let _ = write!(
        out,
        "{}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    fraction(rest % 1_000_000_000, out);
}

/// `str(pandas.Timedelta)`: `D days HH:MM:SS[.fff fff[fff]]`, days floored
/// and a `+` before the time when negative (`-1 days +23:59:59`).
pub fn timedelta_pandas(nanos: i128, out: &mut String) {
    let day = 86_400_000_000_000i128;
    let days = nanos.div_euclid(day);
    let rest = nanos.rem_euclid(day) as i64;
    let sign = if nanos < 0 { " +" } else { " " };
    let secs = rest / 1_000_000_000;
    let _ = write!(
        out,
        "{days} days{sign}{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    );
    let sub = rest % 1_000_000_000;
    if sub != 0 {
        let _ = write!(out, ".{:06}", sub / 1000);
        if sub % 1000 != 0 {
            let _ = write!(out, "{:03}", sub % 1000);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(x: f64) -> String {
        let mut s = String::new();
        float(x, &mut s);
        s
    }

    #[test]
    fn floats_as_python_repr() {
        for (x, py) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.1, "0.1"),
            (25.0, "25.0"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1.5e16, "1.5e+16"),
            (1e-4, "0.0001"),
            (1e-5, "1e-05"),
            (1e-7, "1e-07"),
            (1.2345e-7, "1.2345e-07"),
            (123456789.125, "123456789.125"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::from(0.1f32), "0.10000000149011612"),
            (-2.5, "-2.5"),
            (1e100, "1e+100"),
        ] {
            assert_eq!(f(x), py, "{x:e}");
        }
    }

    fn dec(neg: bool, c: &str, scale: i32) -> String {
        let mut s = String::new();
        decimal(neg, c, scale, &mut s);
        s
    }

    #[test]
    fn decimals_as_python_str() {
        assert_eq!(dec(false, "150", 2), "1.50");
        assert_eq!(dec(true, "150", 2), "-1.50");
        assert_eq!(dec(false, "0", 10), "0E-10");
        assert_eq!(dec(false, "0", 2), "0.00");
        assert_eq!(dec(false, "1", 7), "1E-7");
        assert_eq!(dec(false, "1", 6), "0.000001");
        assert_eq!(dec(false, "1", -2), "1E+2");
        assert_eq!(dec(false, "123", 0), "123");
        assert_eq!(dec(false, "12345", 9), "0.000012345");
    }

    #[test]
    fn dates_times_and_durations() {
        let mut s = String::new();
        date(0, &mut s).unwrap();
        assert_eq!(s, "1970-01-01");
        s.clear();
        date(-719_162, &mut s).unwrap();
        assert_eq!(s, "0001-01-01");
        assert!(date(-719_163, &mut String::new()).is_none());
        s.clear();
        datetime(1_500_000_000_000_000_001, ' ', Some(-18_000), &mut s).unwrap();
        assert_eq!(s, "2017-07-14 02:40:00.000000001-05:00");
        s.clear();
        datetime(1_000, 'T', Some(-17_762), &mut s).unwrap();
        assert_eq!(s, "1970-01-01T00:00:00.000001-04:56:02");
        for (n, py, pd) in [
            (-1_000_000_000i128, "-1 day, 23:59:59", "-1 days +23:59:59"),
            (0, "0:00:00", "0 days 00:00:00"),
            (
                86_400_000_000_000 * 2 + 5_000,
                "2 days, 0:00:00.000005",
                "2 days 00:00:00.000005",
            ),
            (
                86_400_000_000_000 + 1,
                "1 day, 0:00:00.000000001",
                "1 days 00:00:00.000000001",
            ),
            (3_723_000_000_000, "1:02:03", "0 days 01:02:03"),
        ] {
            let (mut a, mut b) = (String::new(), String::new());
            timedelta_python(n, &mut a);
            timedelta_pandas(n, &mut b);
            assert_eq!((a.as_str(), b.as_str()), (py, pd), "{n}");
        }
    }
}
