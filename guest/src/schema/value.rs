//! Field types and the typed (logical) values that constraints, `unique`
//! and `primaryKey` compare: `1` and `01` are the same integer, `1.0` and
//! `1` the same number, two datetimes naming one instant the same datetime.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;

use super::decimal::{Decimal, strip_non_numeric, trim_ascii};

/// The field types csvseal reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// Any text.
    String,
    /// Optional sign and ASCII digits, any size.
    Integer,
    /// An exact decimal (see [`Decimal`]).
    Number,
    /// One of the field's `trueValues` or `falseValues`.
    Boolean,
    /// `YYYY-MM-DD`, a real calendar date.
    Date,
    /// `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM|±HHMM|±HH]`.
    DateTime,
    /// Any text (compared as text).
    Any,
}

/// Table Schema v1 types csvseal refuses (a schema using one is rejected).
pub const UNSUPPORTED_TYPES: [&str; 8] = [
    "object",
    "array",
    "time",
    "year",
    "yearmonth",
    "duration",
    "geopoint",
    "geojson",
];

impl FieldType {
    /// The type named `name`, or why it cannot be used.
    pub fn parse(name: &str) -> Result<Self, String> {
        Ok(match name {
            "string" => FieldType::String,
            "integer" => FieldType::Integer,
            "number" => FieldType::Number,
            "boolean" => FieldType::Boolean,
            "date" => FieldType::Date,
            "datetime" => FieldType::DateTime,
            "any" => FieldType::Any,
            t if UNSUPPORTED_TYPES.contains(&t) => {
                return Err(alloc::format!(
                    "type {t:?} is not supported by csvseal (supported: string, integer, number, boolean, date, datetime, any)"
                ));
            }
            t => return Err(alloc::format!("unknown type {t:?}")),
        })
    }

    /// The type's name in a schema.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Integer => "integer",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::DateTime => "datetime",
            FieldType::Any => "any",
        }
    }

    /// "an integer", "a date", ... for messages.
    pub fn noun(self) -> &'static str {
        match self {
            FieldType::String => "a string",
            FieldType::Integer => "an integer",
            FieldType::Number => "a number",
            FieldType::Boolean => "a boolean",
            FieldType::Date => "a date (YYYY-MM-DD)",
            FieldType::DateTime => "a datetime (YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM])",
            FieldType::Any => "a value",
        }
    }
}

/// A value read as its field's type.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'v> {
    Text(Cow<'v, str>),
    /// Sign and digits without leading zeros (zero is `(false, "")`).
    Integer(bool, Cow<'v, str>),
    Number(Decimal),
    Boolean(bool),
    /// Days since 1970-01-01.
    Date(i64),
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    DateTime(i128),
}

impl Value<'_> {
    /// The value with nothing borrowed, for constraint values kept in a schema.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Text(t) => Value::Text(Cow::Owned(t.into_owned())),
            Value::Integer(n, d) => Value::Integer(n, Cow::Owned(d.into_owned())),
            Value::Number(d) => Value::Number(d),
            Value::Boolean(b) => Value::Boolean(b),
            Value::Date(d) => Value::Date(d),
            Value::DateTime(t) => Value::DateTime(t),
        }
    }

    /// The logical order; `None` across types or with NaN.
    pub fn compare(&self, other: &Value<'_>) -> Option<Ordering> {
        match (self, other) {
            (Value::Text(a), Value::Text(b)) => Some(a.cmp(b)),
            (Value::Integer(an, a), Value::Integer(bn, b)) => Some(cmp_int(*an, a, *bn, b)),
            (Value::Number(a), Value::Number(b)) => a.compare(b),
            (Value::Boolean(a), Value::Boolean(b)) => Some(a.cmp(b)),
            (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
            (Value::DateTime(a), Value::DateTime(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }

    /// Appends bytes that are equal exactly when the values are (for
    /// `unique` and `primaryKey`); `None` for NaN, which equals nothing.
    pub fn canonical(&self, out: &mut Vec<u8>) -> Option<()> {
        fn text(out: &mut Vec<u8>, tag: u8, s: &str) {
            out.push(tag);
            out.extend_from_slice(&(s.len() as u64).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
        match self {
            Value::Text(t) => text(out, b'S', t),
            Value::Integer(n, d) => text(out, if *n { b'-' } else { b'+' }, d),
            Value::Number(d) => {
                let mut bytes = Vec::new();
                d.canonical(&mut bytes)?;
                out.push(b'N');
                out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
                out.extend_from_slice(&bytes);
            }
            Value::Boolean(b) => out.extend_from_slice(&[b'B', u8::from(*b)]),
            Value::Date(d) => {
                out.push(b'D');
                out.extend_from_slice(&d.to_le_bytes());
            }
            Value::DateTime(t) => {
                out.push(b'T');
                out.extend_from_slice(&t.to_le_bytes());
            }
        }
        Some(())
    }
}

/// Compares integers given as sign and digits without leading zeros.
fn cmp_int(a_neg: bool, a: &str, b_neg: bool, b: &str) -> Ordering {
    let magnitude = a.len().cmp(&b.len()).then_with(|| a.cmp(b));
    match (a_neg, b_neg) {
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
    }
}

/// An integer: optional sign and ASCII digits, surrounding ASCII whitespace
/// ignored; with `bare` false, text around the number is stripped first.
pub fn parse_integer(text: &str, bare: bool) -> Option<Value<'_>> {
    let mut text = trim_ascii(text);
    if !bare {
        text = strip_non_numeric(text, None);
    }
    let (neg, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    Some(Value::Integer(
        neg && !digits.is_empty(),
        Cow::Borrowed(digits),
    ))
}

fn two_digits(b: &[u8]) -> Option<u32> {
    match b {
        [x @ b'0'..=b'9', y @ b'0'..=b'9'] => Some(u32::from(x - b'0') * 10 + u32::from(y - b'0')),
        _ => None,
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days since 1970-01-01 of a valid proleptic Gregorian date (Howard
/// Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` (year 0001..=9999) with calendar validity.
fn parse_date_bytes(b: &[u8]) -> Option<i64> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i64::from(two_digits(&b[0..2])? * 100 + two_digits(&b[2..4])?);
    let month = two_digits(&b[5..7])?;
    let day = two_digits(&b[8..10])?;
    if year == 0 || !(1..=12).contains(&month) {
        return None;
    }
    let days_in_month = match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if day == 0 || day > days_in_month {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<Value<'_>> {
    parse_date_bytes(text.as_bytes()).map(Value::Date)
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM|±HHMM|±HH]`; no offset means
/// UTC (Table Schema v1: "in UTC time"). Fractions count to the nanosecond.
pub fn parse_datetime(text: &str) -> Option<Value<'_>> {
    let b = text.as_bytes();
    if b.len() < 19 || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let days = parse_date_bytes(&b[..10])?;
    let (h, m, s) = (
        two_digits(&b[11..13])?,
        two_digits(&b[14..16])?,
        two_digits(&b[17..19])?,
    );
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    let mut rest = &b[19..];
    let mut nanos: i128 = 0;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for i in 0..9 {
            let digit = frac.get(i).filter(|_| i < n).map_or(0, |c| c - b'0');
            nanos = nanos * 10 + i128::from(digit);
        }
        rest = &frac[n..];
    }
    let offset_secs: i64 = match rest {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), zone @ ..] => {
            let (oh, om) = match zone {
                [h1, h2] => (two_digits(&[*h1, *h2])?, 0),
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                    (two_digits(&[*h1, *h2])?, two_digits(&[*m1, *m2])?)
                }
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            let secs = i64::from(oh * 3600 + om * 60);
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let secs = days * 86_400 + i64::from(h * 3600 + m * 60 + s) - offset_secs;
    Some(Value::DateTime(i128::from(secs) * 1_000_000_000 + nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants() {
        assert_eq!(
            parse_datetime("1970-01-01T00:00:00Z"),
            Some(Value::DateTime(0))
        );
        assert_eq!(
            parse_datetime("1970-01-01T05:30:00.5+05:30"),
            Some(Value::DateTime(500_000_000))
        );
        for same in [
            "2024-01-01T12:00:00+02:00",
            "2024-01-01T12:00:00+0200",
            "2024-01-01T12:00:00+02",
            "2024-01-01T10:00:00Z",
            "2024-01-01T10:00:00",
            "2024-01-01T09:30:00-00:30",
        ] {
            assert_eq!(
                parse_datetime(same),
                parse_datetime("2024-01-01T10:00:00.000Z"),
                "{same}"
            );
        }
        for bad in [
            "2024-01-01T12:00:00+2",
            "2024-01-01T12:00:00+02:0",
            "2024-01-01T12:00:00+24:00",
            "2024-01-01T12:00:00z",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
        assert_eq!(parse_date("2000-03-01"), Some(Value::Date(11_017)));
        assert_eq!(parse_date("1969-12-31"), Some(Value::Date(-1)));
    }

    #[test]
    fn integers_compare_by_value() {
        let i = |t| parse_integer(t, true).unwrap();
        assert_eq!(i("01"), i("1"));
        assert_eq!(i("-0"), i("+0"));
        assert_eq!(i(" 7 "), i("7"));
        assert_eq!(i("-2").compare(&i("-10")), Some(Ordering::Greater));
        assert_eq!(i("99").compare(&i("100")), Some(Ordering::Less));
        assert_eq!(parse_integer("1_000", true), None);
        assert_eq!(parse_integer("1.0", true), None);
        assert_eq!(parse_integer("$ 12", false), Some(i("12")));
        assert_eq!(parse_integer("-12%", false), Some(i("-12")));
    }

    #[test]
    fn canonical_bytes_separate_types_and_values() {
        let bytes = |v: Value<'_>| {
            let mut out = Vec::new();
            v.canonical(&mut out).unwrap();
            out
        };
        assert_ne!(
            bytes(Value::Text("1".into())),
            bytes(parse_integer("1", true).unwrap())
        );
        assert_ne!(
            bytes(parse_integer("1", true).unwrap()),
            bytes(parse_integer("-1", true).unwrap())
        );
        assert_eq!(
            bytes(parse_integer("001", true).unwrap()),
            bytes(parse_integer("+1", true).unwrap())
        );
    }
}
