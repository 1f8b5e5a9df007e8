//! Exact decimal numbers for the `number` type: any number of digits, no
//! rounding, so `0.1` and `0.10000000000000001` differ and `1.0` equals `1`.
//!
//! Lexical form (Table Schema v1, after XML Schema `decimal`): optional sign,
//! digits with an optional decimal point (`1`, `1.`, `.5`, `-1.23`), an
//! optional exponent (`E`, optional sign, digits), or one of `NaN`, `INF`,
//! `-INF` in any case. Surrounding ASCII whitespace is ignored. The field's
//! `decimalChar`, `groupChar` and `bareNumber` adjust this (see
//! [`NumberSyntax`]).

use alloc::vec::Vec;
use core::cmp::Ordering;

/// How a field writes its numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberSyntax {
    /// The decimal point (`decimalChar`, default `.`).
    pub decimal: alloc::string::String,
    /// The digit group separator (`groupChar`), removed wherever it
    /// appears; empty for none (the default).
    pub group: alloc::string::String,
    /// `bareNumber` (default true). When false, leading characters before
    /// the number (`€`, `EUR `) and trailing ones after its last digit (`%`)
    /// are stripped first.
    pub bare: bool,
}

impl Default for NumberSyntax {
    fn default() -> Self {
        NumberSyntax {
            decimal: ".".into(),
            group: alloc::string::String::new(),
            bare: true,
        }
    }
}

/// A number's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decimal {
    NaN,
    Infinity {
        negative: bool,
    },
    Zero,
    /// `±0.d1d2d3… × 10^exponent`, with `d1` non-zero and no trailing zero
    /// digit: one representation per value.
    Finite {
        negative: bool,
        exponent: i128,
        digits: Vec<u8>,
    },
}

/// The whitespace the lexical forms allow around a value.
pub fn trim_ascii(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_ascii_whitespace())
}

/// Strips what `bareNumber: false` allows around a number: anything before
/// the first digit, sign or decimal point, and anything after the last digit.
/// `decimal` is the field's decimal point (`None` for integers).
pub fn strip_non_numeric<'t>(text: &'t str, decimal: Option<&str>) -> &'t str {
    let start = text
        .char_indices()
        .find(|&(i, c)| {
            c.is_ascii_digit()
                || c == '-'
                || c == '+'
                || decimal.is_some_and(|d| text[i..].starts_with(d))
        })
        .map_or(text.len(), |(i, _)| i);
    let text = &text[start..];
    let end = text
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_ascii_digit())
        .map_or(0, |(i, _)| i + 1);
    &text[..end]
}

impl Decimal {
    /// Reads a number written as `syntax` says; `None` if it is not one.
    pub fn parse(text: &str, syntax: &NumberSyntax) -> Option<Decimal> {
        let mut text = trim_ascii(text);
        if !syntax.bare {
            text = strip_non_numeric(text, Some(&syntax.decimal));
        }
        let (negative, body) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        if body.eq_ignore_ascii_case("inf") {
            return Some(Decimal::Infinity { negative });
        }
        if text.eq_ignore_ascii_case("nan") {
            return Some(Decimal::NaN);
        }
        let mut digits = Vec::new();
        let mut point: Option<usize> = None;
        let mut i = 0;
        while i < body.len() {
            let rest = &body[i..];
            let b = rest.as_bytes()[0];
            if b.is_ascii_digit() {
                digits.push(b);
                i += 1;
            } else if !syntax.group.is_empty() && rest.starts_with(syntax.group.as_str()) {
                i += syntax.group.len();
            } else if point.is_none() && rest.starts_with(syntax.decimal.as_str()) {
                point = Some(digits.len());
                i += syntax.decimal.len();
            } else {
                break;
            }
        }
        if digits.is_empty() {
            return None;
        }
        let exponent: i128 = match &body.as_bytes()[i..] {
            [] => 0,
            [b'e' | b'E', exp @ ..] => parse_exponent(exp)?,
            _ => return None,
        };
        let int_len = point.unwrap_or(digits.len());
        let lead = digits.iter().take_while(|&&d| d == b'0').count();
        if lead == digits.len() {
            return Some(Decimal::Zero);
        }
        let trail = digits.iter().rev().take_while(|&&d| d == b'0').count();
        digits.truncate(digits.len() - trail);
        digits.drain(..lead);
        Some(Decimal::Finite {
            negative,
            exponent: exponent + int_len as i128 - lead as i128,
            digits,
        })
    }

    /// Whether the value is a whole number (for integer constraints given
    /// as JSON numbers such as `1e3`).
    pub fn integer_digits(&self) -> Option<(bool, alloc::string::String)> {
        match self {
            Decimal::Zero => Some((false, alloc::string::String::new())),
            Decimal::Finite {
                negative,
                exponent,
                digits,
            } if *exponent >= digits.len() as i128 && *exponent <= 4096 => {
                let mut s: alloc::string::String = digits.iter().map(|&d| d as char).collect();
                s.extend(core::iter::repeat_n('0', *exponent as usize - digits.len()));
                Some((*negative, s))
            }
            _ => None,
        }
    }

    /// Rank of the value's class: -INF < negative < 0 < positive < +INF.
    fn class(&self) -> i8 {
        match self {
            Decimal::Infinity { negative: true } => -2,
            Decimal::Finite { negative: true, .. } => -1,
            Decimal::Zero | Decimal::NaN => 0,
            Decimal::Finite {
                negative: false, ..
            } => 1,
            Decimal::Infinity { negative: false } => 2,
        }
    }

    /// Numeric order; `None` when either side is NaN.
    pub fn compare(&self, other: &Decimal) -> Option<Ordering> {
        if matches!(self, Decimal::NaN) || matches!(other, Decimal::NaN) {
            return None;
        }
        let by_class = self.class().cmp(&other.class());
        if by_class != Ordering::Equal {
            return Some(by_class);
        }
        Some(match (self, other) {
            (
                Decimal::Finite {
                    negative,
                    exponent: ea,
                    digits: da,
                },
                Decimal::Finite {
                    exponent: eb,
                    digits: db,
                    ..
                },
            ) => {
                let magnitude = ea.cmp(eb).then_with(|| da.cmp(db));
                if *negative {
                    magnitude.reverse()
                } else {
                    magnitude
                }
            }
            _ => Ordering::Equal,
        })
    }

    /// Bytes that are equal exactly when the values are; `None` for NaN,
    /// which equals nothing (not even another NaN).
    pub fn canonical(&self, out: &mut Vec<u8>) -> Option<()> {
        match self {
            Decimal::NaN => return None,
            Decimal::Infinity { negative } => {
                out.extend_from_slice(if *negative { b"-inf" } else { b"+inf" })
            }
            Decimal::Zero => out.push(b'0'),
            Decimal::Finite {
                negative,
                exponent,
                digits,
            } => {
                out.push(if *negative { b'-' } else { b'+' });
                out.extend_from_slice(&exponent.to_le_bytes());
                out.extend_from_slice(digits);
            }
        }
        Some(())
    }
}

fn parse_exponent(text: &[u8]) -> Option<i128> {
    let (negative, digits) = match text.first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Beyond 18 significant digits the value is absurd; refuse rather than wrap.
    let significant = digits.iter().skip_while(|&&d| d == b'0').count();
    if significant > 18 {
        return None;
    }
    let n = digits
        .iter()
        .fold(0i128, |n, &d| n * 10 + i128::from(d - b'0'));
    Some(if negative { -n } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::parse(text, &NumberSyntax::default()).unwrap_or_else(|| panic!("{text}"))
    }

    #[test]
    fn lexical_forms() {
        for ok in [
            "1",
            "-1.23",
            "+100000.00",
            "210",
            "1.",
            ".5",
            "1e10",
            "1E-3",
            "-0",
            " 7 ",
            "NaN",
            "nan",
            "INF",
            "-inf",
            "+Inf",
            "12678967.543233",
            "0e0",
        ] {
            assert!(
                Decimal::parse(ok, &NumberSyntax::default()).is_some(),
                "{ok}"
            );
        }
        for bad in [
            "",
            " ",
            ".",
            "-",
            "+",
            "e5",
            "1e",
            "1e+",
            "1.2.3",
            "1,5",
            "1_000",
            "Infinity",
            "sNaN",
            "-NaN",
            "0x10",
            "1 2",
            "١",
            "1e9999999999999999999",
        ] {
            assert!(
                Decimal::parse(bad, &NumberSyntax::default()).is_none(),
                "{bad}"
            );
        }
    }

    #[test]
    fn equal_values_have_one_form() {
        assert_eq!(d("1"), d("1.0"));
        assert_eq!(d("1"), d("001.000"));
        assert_eq!(d("100"), d("1e2"));
        assert_eq!(d("0.05"), d("5E-2"));
        assert_eq!(d("-0"), d("0.000"));
        assert_ne!(d("0.1"), d("0.10000000000000001"));
        assert_eq!(d("0.0123").compare(&d("1.23e-2")), Some(Ordering::Equal));
    }

    #[test]
    fn order_is_exact() {
        let ascending = [
            "-INF",
            "-1e400",
            "-2",
            "-1.5",
            "-0.10000000000000001",
            "-0.1",
            "0",
            "1e-400",
            "0.1",
            "0.10000000000000001",
            "0.11",
            "1",
            "1.000000000000000000001",
            "99",
            "1e2",
            "100.5",
            "1e400",
            "INF",
        ];
        for (i, a) in ascending.iter().enumerate() {
            for (j, b) in ascending.iter().enumerate() {
                assert_eq!(d(a).compare(&d(b)), Some(i.cmp(&j)), "{a} vs {b}");
            }
        }
        assert_eq!(d("NaN").compare(&d("NaN")), None);
        assert_eq!(d("NaN").compare(&d("1")), None);
    }

    #[test]
    fn canonical_bytes_match_equality() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        d("1.50").canonical(&mut a).unwrap();
        d("15e-1").canonical(&mut b).unwrap();
        assert_eq!(a, b);
        b.clear();
        d("1.5000000000000000001").canonical(&mut b).unwrap();
        assert_ne!(a, b);
        assert!(d("NaN").canonical(&mut a).is_none());
    }

    #[test]
    fn decimal_and_group_chars() {
        let eu = NumberSyntax {
            decimal: ",".into(),
            group: ".".into(),
            bare: true,
        };
        assert_eq!(Decimal::parse("1.234.567,5", &eu), Some(d("1234567.5")));
        assert_eq!(Decimal::parse("-0,25", &eu), Some(d("-0.25")));
        let comma_decimal = NumberSyntax {
            decimal: ",".into(),
            ..NumberSyntax::default()
        };
        assert_eq!(Decimal::parse("1.5", &comma_decimal), None);
        let grouped = NumberSyntax {
            group: ",".into(),
            ..NumberSyntax::default()
        };
        assert_eq!(Decimal::parse("100,000.25", &grouped), Some(d("100000.25")));
    }

    #[test]
    fn bare_number_false_strips_around() {
        let loose = NumberSyntax {
            bare: false,
            ..NumberSyntax::default()
        };
        for (text, want) in [
            ("95%", "95"),
            ("€95", "95"),
            ("EUR 95.5", "95.5"),
            ("$.5", "0.5"),
            ("-12 units", "-12"),
            ("1e5%", "1e5"),
        ] {
            assert_eq!(Decimal::parse(text, &loose), Some(d(want)), "{text}");
        }
        assert_eq!(Decimal::parse("no digits", &loose), None);
        assert_eq!(Decimal::parse("95%", &NumberSyntax::default()), None);
    }

    #[test]
    fn whole_numbers() {
        assert_eq!(d("1e3").integer_digits(), Some((false, "1000".into())));
        assert_eq!(d("-12.0").integer_digits(), Some((true, "12".into())));
        assert_eq!(d("0").integer_digits(), Some((false, "".into())));
        assert_eq!(d("1.5").integer_digits(), None);
        assert_eq!(d("INF").integer_digits(), None);
    }
}
