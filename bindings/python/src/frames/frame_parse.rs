//! A sealed file's records as Arrow record batches, typed by a
//! [`ColumnPlan`]. The file is verified by the component (in the same pass
//! or the one before); this only reads values back, and refuses any it
//! cannot hold exactly (an integer beyond int64, a fraction finer than the
//! timestamp unit) with its line and column.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Decimal128Builder, Float64Builder, Int64Builder, StringBuilder,
    UInt64Builder,
};
use arrow_array::types::{
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::columns::nanos_per;
use super::read_schema::{CellType, ColumnPlan};

/// The zone of every datetime column (see [`datetime_nanos`]).
const UTC: &str = "UTC";

/// Builds batches of `batch_rows` records.
pub struct FrameParser {
    plans: Vec<ColumnPlan>,
    builders: Vec<Builder>,
    rows: usize,
    batch_rows: usize,
    schema: Option<SchemaRef>,
}

enum Builder {
    Text(StringBuilder),
    Seq(UInt64Builder),
    Integer(Int64Builder),
    Float(Float64Builder),
    Decimal(Decimal128Builder),
    Boolean(BooleanBuilder),
    Date(Date32Builder),
    /// Instants in the column's unit.
    DateTime(Int64Builder),
}

/// A value that cannot be read back: (column, message).
pub type CellError = (String, String);

impl FrameParser {
    pub fn new(plans: Vec<ColumnPlan>, batch_rows: usize) -> Self {
        let builders = plans.iter().map(|p| new_builder(&p.cell)).collect();
        FrameParser {
            plans,
            builders,
            rows: 0,
            batch_rows: batch_rows.max(1),
            schema: None,
        }
    }

    /// Adds one record; a full batch comes back.
    pub fn push(&mut self, record: &csv::ByteRecord) -> Result<Option<RecordBatch>, CellError> {
        if record.len() != self.plans.len() {
            return Err((
                String::new(),
                format!(
                    "{} fields, the header has {}",
                    record.len(),
                    self.plans.len()
                ),
            ));
        }
        for (c, raw) in record.iter().enumerate() {
            let plan = &self.plans[c];
            let text = std::str::from_utf8(raw)
                .map_err(|_| (plan.name.clone(), "not UTF-8".to_owned()))?;
            let missing = plan.missing.iter().any(|m| m == text);
            let cell = &plan.cell;
            let fail = |m: String| (plan.name.clone(), m);
            match &mut self.builders[c] {
                Builder::Text(b) => {
                    if missing {
                        b.append_null()
                    } else {
                        b.append_value(text)
                    }
                }
                Builder::Seq(b) => b.append_value(
                    text.parse::<u64>()
                        .map_err(|_| fail(format!("file_seq {text:?} is not a u64")))?,
                ),
                Builder::Integer(b) if missing => b.append_null(),
                Builder::Integer(b) => b.append_value(
                    text.trim_matches(|c: char| c.is_ascii_whitespace())
                        .parse::<i64>()
                        .map_err(|_| fail(format!("integer {text:?} does not fit int64")))?,
                ),
                Builder::Float(b) if missing => b.append_null(),
                Builder::Float(b) => b.append_value(
                    text.trim_matches(|c: char| c.is_ascii_whitespace())
                        .parse::<f64>()
                        .map_err(|_| fail(format!("number {text:?} is not a float64")))?,
                ),
                Builder::Decimal(b) if missing => b.append_null(),
                Builder::Decimal(b) => {
                    let CellType::Decimal(scale) = cell else {
                        unreachable!()
                    };
                    b.append_value(decimal(text, *scale).map_err(fail)?)
                }
                Builder::Boolean(b) if missing => b.append_null(),
                Builder::Boolean(b) => {
                    let CellType::Boolean { yes, no } = cell else {
                        unreachable!()
                    };
                    if yes.iter().any(|y| y == text) {
                        b.append_value(true)
                    } else if no.iter().any(|n| n == text) {
                        b.append_value(false)
                    } else {
                        return Err(fail(format!("{text:?} is not one of the boolean's values")));
                    }
                }
                Builder::Date(b) if missing => b.append_null(),
                Builder::Date(b) => b.append_value(
                    date_days(text.as_bytes())
                        .and_then(|d| i32::try_from(d).ok())
                        .ok_or_else(|| fail(format!("date {text:?} is not YYYY-MM-DD")))?,
                ),
                Builder::DateTime(b) if missing => b.append_null(),
                Builder::DateTime(b) => {
                    let CellType::DateTime(unit) = cell else {
                        unreachable!()
                    };
                    let nanos = datetime_nanos(text)
                        .ok_or_else(|| fail(format!("datetime {text:?} is not ISO 8601")))?;
                    let per = nanos_per(*unit);
                    if nanos % per != 0 {
                        return Err(fail(format!(
                            "datetime {text:?} is finer than the unit {unit:?}: read with a finer datetime_unit"
                        )));
                    }
                    let v = i64::try_from(nanos / per).map_err(|_| {
                        fail(format!("datetime {text:?} is out of range for the unit"))
                    })?;
                    b.append_value(v)
                }
            }
        }
        self.rows += 1;
        if self.rows >= self.batch_rows {
            return self.batch().map(Some);
        }
        Ok(None)
    }

    /// The last, partial batch, if any rows are left.
    pub fn finish(&mut self) -> Result<Option<RecordBatch>, CellError> {
        if self.rows == 0 {
            return Ok(None);
        }
        self.batch().map(Some)
    }

    /// The batches' schema.
    pub fn schema(&mut self) -> SchemaRef {
        if self.schema.is_none() {
            let fields: Vec<Field> = self
                .plans
                .iter()
                .enumerate()
                .filter(|(_, p)| p.keep)
                .map(|(c, p)| {
                    let nullable = !matches!(p.cell, CellType::Seq);
                    Field::new(&p.name, self.data_type(c), nullable)
                })
                .collect();
            self.schema = Some(Arc::new(Schema::new(fields)));
        }
        Arc::clone(self.schema.as_ref().expect("set above"))
    }

    fn data_type(&self, c: usize) -> DataType {
        match &self.plans[c].cell {
            CellType::Text => DataType::Utf8,
            CellType::Seq => DataType::UInt64,
            CellType::Integer => DataType::Int64,
            CellType::Float => DataType::Float64,
            CellType::Decimal(s) => DataType::Decimal128(38, *s),
            CellType::Boolean { .. } => DataType::Boolean,
            CellType::Date => DataType::Date32,
            CellType::DateTime(unit) => DataType::Timestamp(*unit, Some(UTC.into())),
        }
    }

    fn batch(&mut self) -> Result<RecordBatch, CellError> {
        let schema = self.schema();
        let mut columns: Vec<ArrayRef> = Vec::new();
        for (c, b) in self.builders.iter_mut().enumerate() {
            let plan = &self.plans[c];
            let array: ArrayRef = match b {
                Builder::Text(b) => Arc::new(b.finish()),
                Builder::Seq(b) => Arc::new(b.finish()),
                Builder::Integer(b) => Arc::new(b.finish()),
                Builder::Float(b) => Arc::new(b.finish()),
                Builder::Decimal(b) => {
                    let CellType::Decimal(s) = plan.cell else {
                        unreachable!()
                    };
                    Arc::new(
                        b.finish()
                            .with_precision_and_scale(38, s)
                            .map_err(|e| (plan.name.clone(), e.to_string()))?,
                    )
                }
                Builder::Boolean(b) => Arc::new(b.finish()),
                Builder::Date(b) => Arc::new(b.finish()),
                Builder::DateTime(b) => {
                    let values = b.finish();
                    let tz: Option<Arc<str>> = Some(UTC.into());
                    let CellType::DateTime(unit) = plan.cell else {
                        unreachable!()
                    };
                    match unit {
                        TimeUnit::Second => Arc::new(
                            values
                                .reinterpret_cast::<TimestampSecondType>()
                                .with_timezone_opt(tz),
                        ),
                        TimeUnit::Millisecond => Arc::new(
                            values
                                .reinterpret_cast::<TimestampMillisecondType>()
                                .with_timezone_opt(tz),
                        ),
                        TimeUnit::Microsecond => Arc::new(
                            values
                                .reinterpret_cast::<TimestampMicrosecondType>()
                                .with_timezone_opt(tz),
                        ),
                        TimeUnit::Nanosecond => Arc::new(
                            values
                                .reinterpret_cast::<TimestampNanosecondType>()
                                .with_timezone_opt(tz),
                        ),
                    }
                }
            };
            if plan.keep {
                columns.push(array);
            }
        }
        self.rows = 0;
        RecordBatch::try_new(schema, columns).map_err(|e| (String::new(), e.to_string()))
    }
}

fn new_builder(cell: &CellType) -> Builder {
    match cell {
        CellType::Text => Builder::Text(StringBuilder::new()),
        CellType::Seq => Builder::Seq(UInt64Builder::new()),
        CellType::Integer => Builder::Integer(Int64Builder::new()),
        CellType::Float => Builder::Float(Float64Builder::new()),
        CellType::Decimal(_) => Builder::Decimal(Decimal128Builder::new()),
        CellType::Boolean { .. } => Builder::Boolean(BooleanBuilder::new()),
        CellType::Date => Builder::Date(Date32Builder::new()),
        CellType::DateTime(_) => Builder::DateTime(Int64Builder::new()),
    }
}

/// A plain decimal (`-12.50`, `1e3` refused) as an i128 at `scale`; more
/// fraction digits than the scale (other than trailing zeros) is an error,
/// never a rounding.
fn decimal(text: &str, scale: i8) -> Result<i128, String> {
    let t = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits_ok(int) || !digits_ok(frac) {
        return Err(format!(
            "number {text:?} is not a plain decimal (no exponent, NaN or infinity in a decimal column)"
        ));
    }
    let scale = usize::try_from(scale).map_err(|_| "a negative decimal_scale".to_owned())?;
    let kept = frac.trim_end_matches('0');
    if kept.len() > scale {
        return Err(format!(
            "number {text:?} has more than {scale} fraction digits: read with a larger decimal_scale"
        ));
    }
    let mut v: i128 = 0;
    for b in int
        .bytes()
        .chain(frac.bytes().chain(std::iter::repeat(b'0')).take(scale))
    {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(b - b'0')))
            .filter(|v| *v < 10i128.pow(38))
            .ok_or_else(|| format!("number {text:?} has more than 38 digits at scale {scale}"))?;
    }
    Ok(if neg { -v } else { v })
}

fn two(b: &[u8]) -> Option<i64> {
    match b {
        [x @ b'0'..=b'9', y @ b'0'..=b'9'] => Some(i64::from((x - b'0') * 10 + (y - b'0'))),
        _ => None,
    }
}

/// Days since 1970-01-01 of `YYYY-MM-DD` (a valid date; year 1 to 9999).
fn date_days(b: &[u8]) -> Option<i64> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (
        two(&b[0..2])? * 100 + two(&b[2..4])?,
        two(&b[5..7])?,
        two(&b[8..10])?,
    );
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if y == 0 || d == 0 || d > month_days {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    Some(era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468)
}

/// `YYYY-MM-DDTHH:MM:SS[.f][Z|±HH:MM|±HHMM|±HH]` (Table Schema's form, as
/// the component checks it): nanoseconds since the epoch. Table Schema v1
/// reads a datetime without an offset as UTC, and so does the component:
/// every datetime is an instant, and the column's zone is UTC.
fn datetime_nanos(text: &str) -> Option<i128> {
    let b = text.as_bytes();
    if b.len() < 19 || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let days = date_days(&b[..10])?;
    let (h, m, s) = (two(&b[11..13])?, two(&b[14..16])?, two(&b[17..19])?);
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    let mut rest = &b[19..];
    let mut nanos: i128 = 0;
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 || frac[9.min(n)..n].iter().any(|&c| c != b'0') {
            // A fraction finer than a nanosecond cannot be held.
            return None;
        }
        let digits = frac[..n.min(9)].iter().map(|c| c - b'0');
        for digit in digits.chain(std::iter::repeat(0)).take(9) {
            nanos = nanos * 10 + i128::from(digit);
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), zone @ ..] => {
            let (oh, om) = match zone {
                [h1, h2] => (two(&[*h1, *h2])?, 0),
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => (two(&[*h1, *h2])?, two(&[*m1, *m2])?),
                _ => return None,
            };
            let secs = oh * 3600 + om * 60;
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let secs = days * 86_400 + h * 3600 + m * 60 + s - offset;
    Some(i128::from(secs) * 1_000_000_000 + nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(decimal("12.50", 2), Ok(1250));
        assert_eq!(decimal("-0.5", 3), Ok(-500));
        assert_eq!(decimal("7", 0), Ok(7));
        assert!(decimal("0.125", 2).is_err());
        assert!(decimal("1e3", 2).is_err());
        assert!(decimal("nan", 2).is_err());
    }

    #[test]
    fn datetimes() {
        assert_eq!(datetime_nanos("1970-01-01T00:00:00"), Some(0));
        assert_eq!(datetime_nanos("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(datetime_nanos("1970-01-01T00:00:00.000000001Z"), Some(1));
        assert_eq!(datetime_nanos("1970-01-01 00:00:00"), None);
        assert_eq!(date_days(b"2024-02-29"), Some(19_782));
        assert_eq!(date_days(b"2023-02-29"), None);
    }
}
