//! One Arrow column's cells as the text their Python values' `str()` gives
//! (see `python_text`), or a refusal naming the column and its type when
//! no Python value of the row-dict path would read back the same.

use std::str::FromStr;

use arrow_array::cast::AsArray;
use arrow_array::timezone::Tz;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType};
use arrow_schema::{DataType, TimeUnit};
use chrono::{Offset, TimeZone};

use super::python_text as py;

/// How one column's values read in the row dicts of the library the frame
/// came from (decided by the Python layer, which knows the library).
#[derive(Debug, Clone)]
pub struct ColumnStyle {
    /// The text of a missing value: `""` for `None`, `"nan"`, `"<NA>"`,
    /// `"NaT"` for pandas' missing-value markers.
    pub null_text: String,
    /// How durations print: `str(pandas.Timedelta)` or
    /// `str(datetime.timedelta)`.
    pub durations: Durations,
    /// `'T'` where the schema types the column `datetime` (the form Table
    /// Schema reads), else `' '` as `str(datetime)` writes.
    pub datetime_sep: char,
}

/// Which Python type a duration becomes in the row dicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durations {
    /// `pandas.Timedelta` (pandas, whatever the unit).
    Pandas,
    /// `datetime.timedelta` (polars).
    Python,
    /// pyarrow's `to_pylist()`: `pandas.Timedelta` for nanoseconds,
    /// `datetime.timedelta` for other units.
    ByUnit,
}

impl FromStr for Durations {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pandas" => Ok(Durations::Pandas),
            "python" => Ok(Durations::Python),
            "by-unit" => Ok(Durations::ByUnit),
            other => Err(format!("unknown duration style {other:?}")),
        }
    }
}

/// Appends row `i`'s text; `Err` says why the value cannot be written.
pub type CellText<'a> = Box<dyn Fn(usize, &mut String) -> Result<(), String> + 'a>;

/// Whether an Arrow type can be written, and if not why: checked once per
/// column before anything is written.
pub fn check_type(t: &DataType) -> Result<(), String> {
    match t {
        DataType::Null
        | DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float32
        | DataType::Float64
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Date32
        | DataType::Date64
        | DataType::Time32(_)
        | DataType::Time64(_)
        | DataType::Duration(_)
        | DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => Ok(()),
        DataType::Timestamp(_, Some(tz)) => Tz::from_str(tz)
            .map(|_| ())
            .map_err(|e| format!("time zone {tz:?} is not known ({e})")),
        DataType::Timestamp(_, None) => Ok(()),
        DataType::Dictionary(_, values) => check_type(values),
        DataType::Float16 => {
            Err("float16 has no Python float form of its own: cast it to float32 or float64".into())
        }
        other => Err(format!(
            "type {other} is not written: its Python value's str() is a container or \
             bytes repr, not a value (cast it to a string column first)"
        )),
    }
}

/// The text of each cell of `array` (of a type [`check_type`] accepts).
pub fn cell_text<'a>(array: &'a ArrayRef, style: &'a ColumnStyle) -> CellText<'a> {
    let values = value_text(array.as_ref(), style);
    Box::new(move |i, out| {
        if array.is_null(i) {
            out.push_str(&style.null_text);
            Ok(())
        } else {
            values(i, out)
        }
    })
}

/// A non-null cell's text.
fn value_text<'a>(array: &'a dyn Array, style: &'a ColumnStyle) -> CellText<'a> {
    macro_rules! display {
        ($t:ty) => {{
            let a = array.as_primitive::<$t>();
            Box::new(move |i, out: &mut String| {
                out.push_str(itoa::Buffer::new().format(a.value(i)));
                Ok(())
            })
        }};
    }
    match array.data_type() {
        DataType::Null => Box::new(|_, out| {
            out.push_str(&style.null_text);
            Ok(())
        }),
        DataType::Boolean => {
            let a = array.as_boolean();
            Box::new(move |i, out| {
                out.push_str(if a.value(i) { "True" } else { "False" });
                Ok(())
            })
        }
        DataType::Int8 => display!(Int8Type),
        DataType::Int16 => display!(Int16Type),
        DataType::Int32 => display!(Int32Type),
        DataType::Int64 => display!(Int64Type),
        DataType::UInt8 => display!(UInt8Type),
        DataType::UInt16 => display!(UInt16Type),
        DataType::UInt32 => display!(UInt32Type),
        DataType::UInt64 => display!(UInt64Type),
        DataType::Float32 => {
            let a = array.as_primitive::<Float32Type>();
            Box::new(move |i, out| {
                py::float(f64::from(a.value(i)), out);
                Ok(())
            })
        }
        DataType::Float64 => {
            let a = array.as_primitive::<Float64Type>();
            Box::new(move |i, out| {
                py::float(a.value(i), out);
                Ok(())
            })
        }
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            Box::new(move |i, out| {
                out.push_str(a.value(i));
                Ok(())
            })
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            Box::new(move |i, out| {
                out.push_str(a.value(i));
                Ok(())
            })
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            Box::new(move |i, out| {
                out.push_str(a.value(i));
                Ok(())
            })
        }
        DataType::Date32 => {
            let a = array.as_primitive::<Date32Type>();
            Box::new(move |i, out| date(i64::from(a.value(i)), out))
        }
        DataType::Date64 => {
            let a = array.as_primitive::<Date64Type>();
            Box::new(move |i, out| date(a.value(i).div_euclid(86_400_000), out))
        }
        DataType::Time32(unit) => {
            let f = nanos_per(*unit);
            match unit {
                TimeUnit::Second => time_text::<Time32SecondType>(array, f),
                _ => time_text::<Time32MillisecondType>(array, f),
            }
        }
        DataType::Time64(unit) => {
            let f = nanos_per(*unit);
            match unit {
                TimeUnit::Microsecond => time_text::<Time64MicrosecondType>(array, f),
                _ => time_text::<Time64NanosecondType>(array, f),
            }
        }
        DataType::Timestamp(unit, tz) => {
            let f = nanos_per(*unit);
            let tz = tz.as_deref().map(|t| Tz::from_str(t).expect("checked"));
            let sep = style.datetime_sep;
            match unit {
                TimeUnit::Second => timestamp_text::<TimestampSecondType>(array, f, tz, sep),
                TimeUnit::Millisecond => {
                    timestamp_text::<TimestampMillisecondType>(array, f, tz, sep)
                }
                TimeUnit::Microsecond => {
                    timestamp_text::<TimestampMicrosecondType>(array, f, tz, sep)
                }
                TimeUnit::Nanosecond => {
                    timestamp_text::<TimestampNanosecondType>(array, f, tz, sep)
                }
            }
        }
        DataType::Duration(unit) => {
            let f = nanos_per(*unit);
            let pandas = match style.durations {
                Durations::Pandas => true,
                Durations::Python => false,
                Durations::ByUnit => *unit == TimeUnit::Nanosecond,
            };
            match unit {
                TimeUnit::Second => duration_text::<DurationSecondType>(array, f, pandas),
                TimeUnit::Millisecond => duration_text::<DurationMillisecondType>(array, f, pandas),
                TimeUnit::Microsecond => duration_text::<DurationMicrosecondType>(array, f, pandas),
                TimeUnit::Nanosecond => duration_text::<DurationNanosecondType>(array, f, pandas),
            }
        }
        DataType::Decimal32(_, s) => decimal_text::<Decimal32Type>(array, *s),
        DataType::Decimal64(_, s) => decimal_text::<Decimal64Type>(array, *s),
        DataType::Decimal128(_, s) => decimal_text::<Decimal128Type>(array, *s),
        DataType::Decimal256(_, s) => decimal_text::<Decimal256Type>(array, *s),
        DataType::Dictionary(..) => {
            let dict = array.as_any_dictionary();
            if dict.values().is_empty() {
                // No values: every key is null (arrow's key lookup would panic).
                return Box::new(|_, out| {
                    out.push_str(&style.null_text);
                    Ok(())
                });
            }
            let keys = dict.normalized_keys();
            let values: &'a ArrayRef = dict.values();
            let text = cell_text(values, style);
            Box::new(move |i, out| text(keys[i], out))
        }
        other => unreachable!("type {other} passed check_type"),
    }
}

/// Nanoseconds in one of `unit`.
pub(super) fn nanos_per(unit: TimeUnit) -> i128 {
    match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    }
}

fn date(days: i64, out: &mut String) -> Result<(), String> {
    py::date(days, out).ok_or_else(|| out_of_years(days))
}

fn out_of_years(days: i64) -> String {
    let (y, ..) = py::civil_from_days(days);
    format!("year {y} is outside Python's dates (1 to 9999)")
}

fn time_text<'a, T>(array: &'a dyn Array, nanos_per: i128) -> CellText<'a>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i64>,
{
    let a = array.as_primitive::<T>();
    Box::new(move |i, out| {
        let n = i128::from(a.value(i).into()) * nanos_per;
        if !(0..86_400_000_000_000).contains(&n) {
            return Err(format!("time of day {n} ns is outside one day"));
        }
        py::time_of_day(n as i64, out);
        Ok(())
    })
}

fn timestamp_text<'a, T>(
    array: &'a dyn Array,
    nanos_per: i128,
    tz: Option<Tz>,
    sep: char,
) -> CellText<'a>
where
    T: ArrowPrimitiveType<Native = i64>,
{
    let a = array.as_primitive::<T>();
    // The zone table ends in 2037; past it, Python applies the zone's
    // standing rule, which for a zone with daylight saving time the table
    // cannot reproduce: such instants are refused, not guessed.
    let seasonal = tz.as_ref().is_some_and(|tz| {
        let at = |secs| chrono::DateTime::from_timestamp(secs, 0).map(|d| d.naive_utc());
        let (jan, jul) = (at(2_115_763_200), at(2_131_401_600)); // 2037-01-17, 2037-07-17
        match (jan, jul) {
            (Some(j), Some(u)) => {
                tz.offset_from_utc_datetime(&j).fix() != tz.offset_from_utc_datetime(&u).fix()
            }
            _ => true,
        }
    });
    Box::new(move |i, out| {
        let utc = i128::from(a.value(i)) * nanos_per;
        if seasonal && utc >= TABLE_END_NS {
            return Err(format!(
                "{} is past 2037, where csvseal's time zone table ends and this zone's \
                 daylight saving rule would have to be guessed: convert the column to UTC \
                 (or to text) first",
                tz.as_ref()
                    .map_or(String::new(), |t| format!("an instant in {t}"))
            ));
        }
        let offset = match &tz {
            None => None,
            Some(tz) => {
                let secs = i64::try_from(utc.div_euclid(1_000_000_000))
                    .ok()
                    .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                    .ok_or_else(|| format!("timestamp {utc} ns is out of range"))?;
                Some(
                    tz.offset_from_utc_datetime(&secs.naive_utc())
                        .fix()
                        .local_minus_utc(),
                )
            }
        };
        let local = utc + i128::from(offset.unwrap_or(0)) * 1_000_000_000;
        py::datetime(local, sep, offset, out).ok_or_else(|| {
            let days = i64::try_from(local.div_euclid(86_400_000_000_000)).unwrap_or(i64::MAX);
            out_of_years(days)
        })
    })
}

/// 2038-01-01T00:00:00Z in nanoseconds: the time zone table's end.
const TABLE_END_NS: i128 = 2_145_916_800 * 1_000_000_000;

fn duration_text<'a, T>(array: &'a dyn Array, nanos_per: i128, pandas: bool) -> CellText<'a>
where
    T: ArrowPrimitiveType<Native = i64>,
{
    let a = array.as_primitive::<T>();
    Box::new(move |i, out| {
        let n = i128::from(a.value(i)) * nanos_per;
        if pandas {
            py::timedelta_pandas(n, out);
        } else {
            py::timedelta_python(n, out);
        }
        Ok(())
    })
}

fn decimal_text<'a, T>(array: &'a dyn Array, scale: i8) -> CellText<'a>
where
    T: ArrowPrimitiveType,
    T::Native: std::fmt::Display,
{
    let a = array.as_primitive::<T>();
    Box::new(move |i, out| {
        let digits = a.value(i).to_string();
        let (negative, coefficient) = match digits.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, digits.as_str()),
        };
        py::decimal(negative, coefficient, i32::from(scale), out);
        Ok(())
    })
}
