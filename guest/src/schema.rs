//! A subset of the Frictionless Table Schema, checked row by row.
//!
//! Supported: `fields` (`name`, `type`, `format: "default"`, `constraints`,
//! `trueValues`, `falseValues`), `missingValues` (default `[""]`) and
//! `primaryKey` (a name or a list of names). Types: `string`, `integer`,
//! `number`, `boolean`, `date`, `datetime`, `any`. Constraints: `required`,
//! `unique`, `minimum`, `maximum`, `minLength`, `maxLength`, `pattern`,
//! `enum`. Anything else that would change what a value means (an unknown
//! type, format or constraint) is rejected when the schema is parsed rather
//! than silently ignored; descriptive properties (`title`, ...) are ignored.
//!
//! Semantics chosen where the standard leaves room:
//! * `minLength`/`maxLength` count characters of the text; `pattern` must
//!   match the whole text; both apply to fields of any type.
//! * `unique` and `primaryKey` compare the text as written (`1` and `01`
//!   differ). Each value seen is remembered as a 32-byte SHA-256, so memory
//!   grows by a bounded amount per row, not with value length.
//! * `minimum`/`maximum`/`enum` compare typed values: integers exactly at any
//!   size, numbers as `f64`, dates by day, datetimes by instant (a datetime
//!   without an offset is taken as UTC).
//! * Primary key fields are required.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cmp::Ordering;

use regex_automata::Input;
use regex_automata::meta::{Cache, Regex};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::report::{ErrorKind, RowError, shown};

/// The value types a field may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    /// Any text.
    String,
    /// Optional sign and digits, any size.
    Integer,
    /// What `f64` parses (decimal, exponent, NaN, INF), surrounding
    /// whitespace allowed.
    Number,
    /// One of the field's `trueValues` or `falseValues`.
    Boolean,
    /// `YYYY-MM-DD`, a real calendar date.
    Date,
    /// `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]`.
    DateTime,
    /// Any text.
    Any,
}

impl FieldType {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "string" => FieldType::String,
            "integer" => FieldType::Integer,
            "number" => FieldType::Number,
            "boolean" => FieldType::Boolean,
            "date" => FieldType::Date,
            "datetime" => FieldType::DateTime,
            "any" => FieldType::Any,
            _ => return None,
        })
    }

    /// "an integer", "a date", ... for messages.
    fn noun(self) -> &'static str {
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

/// One field of a parsed schema.
#[derive(Clone, Debug)]
struct FieldSpec {
    name: String,
    ty: FieldType,
    required: bool,
    unique: bool,
    minimum: Option<String>,
    maximum: Option<String>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    /// The pattern as written and the anchored regex.
    pattern: Option<(String, Regex)>,
    enum_values: Option<Vec<String>>,
    true_values: Vec<String>,
    false_values: Vec<String>,
}

/// A parsed Table Schema, not yet tied to a header.
#[derive(Clone, Debug)]
pub struct Schema {
    fields: Vec<FieldSpec>,
    missing_values: Vec<String>,
    primary_key: Vec<String>,
}

/// A typed value, borrowed from the text it was read from.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Cast<'v> {
    Text(&'v str),
    /// Sign and digits without leading zeros (zero is `(false, "")`).
    Int(bool, &'v str),
    Num(f64),
    Bool(bool),
    /// Days since 1970-01-01.
    Date(i64),
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    DateTime(i128),
}

impl Cast<'_> {
    fn partial_cmp(&self, other: &Cast<'_>) -> Option<Ordering> {
        match (self, other) {
            (Cast::Text(a), Cast::Text(b)) => Some(a.cmp(b)),
            (Cast::Int(an, a), Cast::Int(bn, b)) => Some(cmp_int(*an, a, *bn, b)),
            (Cast::Num(a), Cast::Num(b)) => a.partial_cmp(b),
            (Cast::Bool(a), Cast::Bool(b)) => Some(a.cmp(b)),
            (Cast::Date(a), Cast::Date(b)) => Some(a.cmp(b)),
            (Cast::DateTime(a), Cast::DateTime(b)) => Some(a.cmp(b)),
            _ => None,
        }
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

fn parse_integer(text: &str) -> Option<Cast<'_>> {
    let (neg, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = digits.trim_start_matches('0');
    Some(Cast::Int(neg && !digits.is_empty(), digits))
}

fn parse_number(text: &str) -> Option<Cast<'_>> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    t.parse::<f64>().ok().map(Cast::Num)
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

fn parse_date(text: &str) -> Option<Cast<'_>> {
    parse_date_bytes(text.as_bytes()).map(Cast::Date)
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction][Z|±HH:MM]`; no offset means UTC.
fn parse_datetime(text: &str) -> Option<Cast<'_>> {
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
        [sign @ (b'+' | b'-'), hh @ .., b':', _, _] if hh.len() == 2 => {
            let oh = two_digits(hh)?;
            let om = two_digits(&rest[4..6])?;
            if oh > 23 || om > 59 {
                return None;
            }
            let secs = i64::from(oh * 3600 + om * 60);
            if *sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    let secs = days * 86_400 + i64::from(h * 3600 + m * 60 + s) - offset_secs;
    Some(Cast::DateTime(i128::from(secs) * 1_000_000_000 + nanos))
}

/// At most 60 characters of `text`, as is, for numeric messages.
fn bare(text: &str) -> &str {
    match text.char_indices().nth(60) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

impl FieldSpec {
    fn cast<'v>(&self, text: &'v str) -> Option<Cast<'v>> {
        match self.ty {
            FieldType::String | FieldType::Any => Some(Cast::Text(text)),
            FieldType::Integer => parse_integer(text),
            FieldType::Number => parse_number(text),
            FieldType::Boolean => {
                if self.true_values.iter().any(|t| t == text) {
                    Some(Cast::Bool(true))
                } else if self.false_values.iter().any(|f| f == text) {
                    Some(Cast::Bool(false))
                } else {
                    None
                }
            }
            FieldType::Date => parse_date(text),
            FieldType::DateTime => parse_datetime(text),
        }
    }

    /// Whether messages show the value quoted (text) or bare (numbers, dates).
    fn show(&self, text: &str) -> String {
        match self.ty {
            FieldType::Integer | FieldType::Number | FieldType::Date | FieldType::DateTime => {
                bare(text).to_string()
            }
            _ => shown(text),
        }
    }
}

fn strings(value: &Value, what: &str) -> Result<Vec<String>, String> {
    let Value::Array(items) = value else {
        return Err(format!("{what} must be a list of strings"));
    };
    items
        .iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.clone()),
            _ => Err(format!("{what} must be a list of strings")),
        })
        .collect()
}

/// A constraint value as text: strings as is, numbers as written by
/// serde_json, booleans as `true`/`false`.
fn constraint_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn length(value: &Value) -> Option<u64> {
    value.as_u64()
}

fn parse_field(obj: &Map<String, Value>, index: usize) -> Result<FieldSpec, String> {
    let name = match obj.get("name") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(format!("schema field {} has no name", index + 1)),
    };
    let ctx = |msg: String| format!("schema field {name:?}: {msg}");
    let ty = match obj.get("type") {
        None => FieldType::String,
        Some(Value::String(t)) => {
            FieldType::parse(t).ok_or_else(|| ctx(format!("unknown type {t:?}")))?
        }
        Some(_) => return Err(ctx("type must be a string".into())),
    };
    match obj.get("format") {
        None => {}
        Some(Value::String(f)) if f == "default" => {}
        Some(f) => {
            return Err(ctx(format!(
                "format {f} is not supported (only \"default\")"
            )));
        }
    }
    let mut spec = FieldSpec {
        name: name.clone(),
        ty,
        required: false,
        unique: false,
        minimum: None,
        maximum: None,
        min_length: None,
        max_length: None,
        pattern: None,
        enum_values: None,
        true_values: ["true", "True", "TRUE", "1"].map(String::from).to_vec(),
        false_values: ["false", "False", "FALSE", "0"].map(String::from).to_vec(),
    };
    if let Some(v) = obj.get("trueValues") {
        spec.true_values = strings(v, "trueValues").map_err(ctx)?;
    }
    if let Some(v) = obj.get("falseValues") {
        spec.false_values = strings(v, "falseValues").map_err(ctx)?;
    }
    let Some(constraints) = obj.get("constraints") else {
        return Ok(spec);
    };
    let Value::Object(constraints) = constraints else {
        return Err(ctx("constraints must be an object".into()));
    };
    for (key, value) in constraints {
        match key.as_str() {
            "required" | "unique" => {
                let flag = value
                    .as_bool()
                    .ok_or_else(|| ctx(format!("{key} must be true or false")))?;
                if key == "required" {
                    spec.required = flag;
                } else {
                    spec.unique = flag;
                }
            }
            "minimum" | "maximum" => {
                if !matches!(
                    ty,
                    FieldType::Integer | FieldType::Number | FieldType::Date | FieldType::DateTime
                ) {
                    return Err(ctx(format!(
                        "{key} needs an integer, number, date or datetime field"
                    )));
                }
                let text = constraint_text(value)
                    .filter(|t| spec.cast(t).is_some())
                    .ok_or_else(|| ctx(format!("{key} {value} is not {}", ty.noun())))?;
                if key == "minimum" {
                    spec.minimum = Some(text);
                } else {
                    spec.maximum = Some(text);
                }
            }
            "minLength" | "maxLength" => {
                let n = length(value)
                    .ok_or_else(|| ctx(format!("{key} must be a non-negative integer")))?;
                if key == "minLength" {
                    spec.min_length = Some(n);
                } else {
                    spec.max_length = Some(n);
                }
            }
            "pattern" => {
                let Value::String(p) = value else {
                    return Err(ctx("pattern must be a string".into()));
                };
                let re = Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                    ctx(format!(
                        "pattern {p:?} is not a valid regular expression: {e}"
                    ))
                })?;
                spec.pattern = Some((p.clone(), re));
            }
            "enum" => {
                let Value::Array(items) = value else {
                    return Err(ctx("enum must be a list".into()));
                };
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    let text = constraint_text(item)
                        .filter(|t| spec.cast(t).is_some())
                        .ok_or_else(|| ctx(format!("enum value {item} is not {}", ty.noun())))?;
                    values.push(text);
                }
                spec.enum_values = Some(values);
            }
            other => return Err(ctx(format!("unknown constraint {other:?}"))),
        }
    }
    Ok(spec)
}

impl Schema {
    /// Parses a schema from JSON text; the message says what is wrong.
    pub fn parse(json: &str) -> Result<Schema, String> {
        let root: Value =
            serde_json::from_str(json).map_err(|e| format!("schema is not valid JSON: {e}"))?;
        let Value::Object(root) = root else {
            return Err("schema must be a JSON object".into());
        };
        let Some(Value::Array(items)) = root.get("fields") else {
            return Err("schema must have a \"fields\" list".into());
        };
        let mut fields: Vec<FieldSpec> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Value::Object(obj) = item else {
                return Err(format!("schema field {} must be an object", i + 1));
            };
            let spec = parse_field(obj, i)?;
            if fields.iter().any(|f| f.name == spec.name) {
                return Err(format!("schema field {:?} is defined twice", spec.name));
            }
            fields.push(spec);
        }
        let missing_values = match root.get("missingValues") {
            None => alloc::vec![String::new()],
            Some(v) => strings(v, "missingValues")?,
        };
        let primary_key = match root.get("primaryKey") {
            None => Vec::new(),
            Some(Value::String(s)) => alloc::vec![s.clone()],
            Some(v) => strings(v, "primaryKey")?,
        };
        for key in &primary_key {
            let Some(field) = fields.iter_mut().find(|f| &f.name == key) else {
                return Err(format!("primaryKey {key:?} is not a schema field"));
            };
            field.required = true;
        }
        Ok(Schema {
            fields,
            missing_values,
            primary_key,
        })
    }

    /// The field names, in schema order.
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name.as_str())
    }

    /// Ties the schema to a header. Returns the checker and the schema
    /// fields that are not columns of the header (those go unchecked).
    pub fn bind<S: AsRef<str>>(self, columns: &[S]) -> (Checker, Vec<String>) {
        // First occurrence of each name (headers may be wide).
        let mut positions = BTreeMap::new();
        for (i, c) in columns.iter().enumerate() {
            positions.entry(c.as_ref()).or_insert(i);
        }
        let index = |name: &str| positions.get(name).copied();
        let mut unknown = Vec::new();
        let mut fields = Vec::new();
        for spec in self.fields {
            match index(&spec.name) {
                Some(col) => {
                    let cache = spec.pattern.as_ref().map(|(_, re)| re.create_cache());
                    fields.push(BoundField {
                        col,
                        spec,
                        cache,
                        seen: BTreeSet::new(),
                    });
                }
                None => unknown.push(spec.name),
            }
        }
        let key_cols: Option<Vec<usize>> = self.primary_key.iter().map(|k| index(k)).collect();
        let primary_key = match key_cols {
            Some(cols) if !cols.is_empty() => Some(PrimaryKey {
                cols,
                names: self.primary_key,
                seen: BTreeSet::new(),
            }),
            _ => None,
        };
        (
            Checker {
                fields,
                missing_values: self.missing_values,
                primary_key,
            },
            unknown,
        )
    }
}

#[derive(Clone, Debug)]
struct BoundField {
    col: usize,
    spec: FieldSpec,
    cache: Option<Cache>,
    /// Hashes of the values seen, for `unique`.
    seen: BTreeSet<[u8; 32]>,
}

#[derive(Clone, Debug)]
struct PrimaryKey {
    cols: Vec<usize>,
    names: Vec<String>,
    seen: BTreeSet<[u8; 32]>,
}

/// Where a row is, for the errors the checker reports.
#[derive(Clone, Copy, Debug)]
pub struct RowContext {
    /// The row's line.
    pub line: u64,
    /// The row's `file_seq`, when known.
    pub seq: Option<u64>,
}

/// A schema tied to a header, checking rows.
#[derive(Clone, Debug)]
pub struct Checker {
    fields: Vec<BoundField>,
    missing_values: Vec<String>,
    primary_key: Option<PrimaryKey>,
}

impl Checker {
    /// Whether a check compares rows with one another (`unique`,
    /// `primaryKey`), so that the rows cannot be checked in separate parts.
    pub fn compares_rows(&self) -> bool {
        self.primary_key.is_some() || self.fields.iter().any(|f| f.spec.unique)
    }

    /// Whether any check reads column `col`.
    pub fn uses_column(&self, col: usize) -> bool {
        self.fields.iter().any(|f| f.col == col)
            || self
                .primary_key
                .as_ref()
                .is_some_and(|pk| pk.cols.contains(&col))
    }

    /// Checks one row whose column `i` holds `value(i)`, passing every
    /// violation to `sink`. Returns the number of violations.
    pub fn check_row<'a>(
        &mut self,
        value: impl Fn(usize) -> &'a str,
        at: RowContext,
        sink: &mut impl FnMut(RowError),
    ) -> u64 {
        let mut count = 0u64;
        let mut log = |e: RowError| {
            count += 1;
            sink(e);
        };
        let missing = &self.missing_values;
        let is_missing = |v: &str| missing.iter().any(|m| m == v);
        for field in &mut self.fields {
            let BoundField {
                col,
                spec,
                cache,
                seen,
            } = field;
            let text = value(*col);
            let mut report = |message: String| {
                log(RowError::new(ErrorKind::Schema, at.line, message)
                    .with_seq(at.seq)
                    .with_column(spec.name.as_str()));
            };
            if is_missing(text) {
                if spec.required {
                    report("required value is missing".into());
                }
                continue;
            }
            check_value(spec, cache, seen, text, &mut report);
        }
        if let Some(pk) = &mut self.primary_key {
            // A missing key value was reported as a missing required value.
            if !pk.cols.iter().any(|&c| is_missing(value(c))) {
                let mut h = Sha256::new();
                for &c in &pk.cols {
                    let v = value(c).as_bytes();
                    h.update((v.len() as u64).to_le_bytes());
                    h.update(v);
                }
                if !pk.seen.insert(h.finalize().into()) {
                    let shown: Vec<String> = pk.cols.iter().map(|&c| shown(value(c))).collect();
                    let mut err = RowError::new(
                        ErrorKind::Schema,
                        at.line,
                        format!("duplicate primary key ({})", shown.join(", ")),
                    )
                    .with_seq(at.seq);
                    if pk.names.len() == 1 {
                        err = err.with_column(pk.names[0].as_str());
                    }
                    log(err);
                }
            }
        }
        count
    }
}

fn check_value(
    spec: &FieldSpec,
    cache: &mut Option<Cache>,
    seen: &mut BTreeSet<[u8; 32]>,
    text: &str,
    report: &mut impl FnMut(String),
) {
    let Some(value) = spec.cast(text) else {
        report(format!("value {} is not {}", shown(text), spec.ty.noun()));
        return;
    };
    if let Some(options) = &spec.enum_values {
        let found = options
            .iter()
            .any(|o| spec.cast(o).and_then(|c| c.partial_cmp(&value)) == Some(Ordering::Equal));
        if !found {
            let listed: Vec<String> = options.iter().map(|o| shown(o)).collect();
            report(format!(
                "value {} is not one of the allowed values [{}]",
                spec.show(text),
                listed.join(", ")
            ));
        }
    }
    if let Some(min) = &spec.minimum
        && let Some(Ordering::Less) = spec.cast(min).and_then(|m| value.partial_cmp(&m))
    {
        report(format!("value {} is below minimum {min}", spec.show(text)));
    }
    if let Some(max) = &spec.maximum
        && let Some(Ordering::Greater) = spec.cast(max).and_then(|m| value.partial_cmp(&m))
    {
        report(format!("value {} is above maximum {max}", spec.show(text)));
    }
    if spec.min_length.is_some() || spec.max_length.is_some() {
        let chars = text.chars().count() as u64;
        if let Some(min) = spec.min_length.filter(|&m| chars < m) {
            report(format!(
                "value {} has {chars} characters, fewer than minLength {min}",
                shown(text)
            ));
        }
        if let Some(max) = spec.max_length.filter(|&m| chars > m) {
            report(format!(
                "value {} has {chars} characters, more than maxLength {max}",
                shown(text)
            ));
        }
    }
    if let (Some((pattern, re)), Some(cache)) = (&spec.pattern, cache) {
        let input = Input::new(text).earliest(true);
        if re.search_half_with(cache, &input).is_none() {
            report(format!(
                "value {} does not match pattern {pattern:?}",
                shown(text)
            ));
        }
    }
    if spec.unique && !seen.insert(Sha256::digest(text.as_bytes()).into()) {
        report(format!("duplicate value {} for unique field", shown(text)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ErrorLog;
    use alloc::vec;

    /// Checks `rows` (values for `columns`) and returns (line, column, message).
    fn run(schema: &str, columns: &[&str], rows: &[&[&str]]) -> Vec<(u64, String, String)> {
        let (mut checker, unknown) = Schema::parse(schema).unwrap().bind(columns);
        assert!(unknown.is_empty(), "{unknown:?}");
        let mut log = ErrorLog::new(1000);
        for (i, row) in rows.iter().enumerate() {
            let at = RowContext {
                line: i as u64 + 2,
                seq: Some(i as u64 + 1),
            };
            checker.check_row(|c| row[c], at, &mut |e| log.push(e));
        }
        log.kept()
            .iter()
            .map(|e| {
                assert_eq!(e.kind, ErrorKind::Schema);
                assert_eq!(e.seq, Some(e.line - 1));
                (
                    e.line,
                    e.column.clone().unwrap_or_default(),
                    e.message.clone(),
                )
            })
            .collect()
    }

    fn one(schema_field: &str, values: &[&str]) -> Vec<(u64, String)> {
        let schema = format!("{{\"fields\": [{schema_field}]}}");
        let rows: Vec<Vec<&str>> = values.iter().map(|v| vec![*v]).collect();
        let rows: Vec<&[&str]> = rows.iter().map(|r| r.as_slice()).collect();
        run(&schema, &["x"], &rows)
            .into_iter()
            .map(|(l, c, m)| {
                assert_eq!(c, "x");
                (l, m)
            })
            .collect()
    }

    fn lines(errors: &[(u64, String)]) -> Vec<u64> {
        errors.iter().map(|e| e.0).collect()
    }

    #[test]
    fn integer_type() {
        let e = one(
            r#"{"name":"x","type":"integer"}"#,
            &[
                "1",
                "-5",
                "+7",
                "007",
                "99999999999999999999999999",
                "abc",
                "1.0",
                "",
                " 1",
                "-",
            ],
        );
        assert_eq!(lines(&e), vec![7, 8, 10, 11]);
        assert_eq!(e[0].1, "value \"abc\" is not an integer");
    }

    #[test]
    fn number_type() {
        let e = one(
            r#"{"name":"x","type":"number"}"#,
            &[
                "1", "-2.5", "1e10", "NaN", "INF", "-INF", ".5", "abc", "1,5", " ",
            ],
        );
        assert_eq!(lines(&e), vec![9, 10, 11]);
        assert_eq!(e[0].1, "value \"abc\" is not a number");
    }

    #[test]
    fn boolean_type() {
        let e = one(
            r#"{"name":"x","type":"boolean"}"#,
            &["true", "False", "1", "0", "yes", "TRUE"],
        );
        assert_eq!(lines(&e), vec![6]);
        let e = one(
            r#"{"name":"x","type":"boolean","trueValues":["yes"],"falseValues":["no"]}"#,
            &["yes", "no", "true"],
        );
        assert_eq!(lines(&e), vec![4]);
    }

    #[test]
    fn date_type() {
        let e = one(
            r#"{"name":"x","type":"date"}"#,
            &[
                "2024-02-29",
                "2023-02-29",
                "1900-02-29",
                "2000-02-29",
                "2024-13-01",
                "2024-04-31",
                "24-01-01",
                "2024-1-01",
                "0000-01-01",
            ],
        );
        assert_eq!(lines(&e), vec![3, 4, 6, 7, 8, 9, 10]);
    }

    #[test]
    fn datetime_type() {
        let e = one(
            r#"{"name":"x","type":"datetime"}"#,
            &[
                "2024-09-10T14:30:00Z",
                "2024-09-10T14:30:00",
                "2024-09-10T14:30:00.123456Z",
                "2024-09-10T14:30:00+05:30",
                "2024-09-10T14:30:00-00:00",
                "2024-09-10 14:30:00Z",
                "2024-09-10T24:00:00Z",
                "2024-09-10T14:30Z",
                "2024-09-10T14:30:00.Z",
                "2024-09-10T14:30:00+0530",
                "2024-02-30T00:00:00Z",
            ],
        );
        assert_eq!(lines(&e), vec![7, 8, 9, 10, 11, 12]);
    }

    #[test]
    fn datetime_instants() {
        assert_eq!(
            parse_datetime("1970-01-01T00:00:00Z"),
            Some(Cast::DateTime(0))
        );
        assert_eq!(
            parse_datetime("1970-01-01T05:30:00.5+05:30"),
            Some(Cast::DateTime(500_000_000))
        );
        assert_eq!(parse_date("2000-03-01"), Some(Cast::Date(11_017)));
        assert_eq!(parse_date("1969-12-31"), Some(Cast::Date(-1)));
    }

    #[test]
    fn required_and_missing_values() {
        let e = one(
            r#"{"name":"x","type":"integer","constraints":{"required":true}}"#,
            &["1", "", "2"],
        );
        assert_eq!(e, vec![(3, "required value is missing".into())]);
        // Not required: a missing value skips the type check.
        assert!(one(r#"{"name":"x","type":"integer"}"#, &[""]).is_empty());
        // Custom missingValues.
        let errs = run(
            r#"{"fields":[{"name":"x","type":"integer","constraints":{"required":true}}],"missingValues":["NA"]}"#,
            &["x"],
            &[&["NA"], &[""]],
        );
        assert_eq!(errs[0].2, "required value is missing");
        assert_eq!(errs[1].2, "value \"\" is not an integer");
    }

    #[test]
    fn minimum_maximum() {
        let e = one(
            r#"{"name":"x","type":"integer","constraints":{"minimum":10,"maximum":"100000000000000000000000"}}"#,
            &[
                "5",
                "10",
                "-20",
                "100000000000000000000000",
                "100000000000000000000001",
            ],
        );
        assert_eq!(
            e,
            vec![
                (2, "value 5 is below minimum 10".into()),
                (4, "value -20 is below minimum 10".into()),
                (
                    6,
                    "value 100000000000000000000001 is above maximum 100000000000000000000000"
                        .into()
                ),
            ]
        );
        let e = one(
            r#"{"name":"x","type":"number","constraints":{"minimum":-1.5,"maximum":2}}"#,
            &["-1.5", "-1.6", "2.0", "2.01", "1e3"],
        );
        assert_eq!(lines(&e), vec![3, 5, 6]);
        let e = one(
            r#"{"name":"x","type":"date","constraints":{"minimum":"2024-01-01"}}"#,
            &["2023-12-31", "2024-01-01"],
        );
        assert_eq!(
            e,
            vec![(2, "value 2023-12-31 is below minimum 2024-01-01".into())]
        );
        let e = one(
            r#"{"name":"x","type":"datetime","constraints":{"maximum":"2024-01-01T00:00:00Z"}}"#,
            &["2024-01-01T01:00:00+01:00", "2024-01-01T00:30:00-00:30"],
        );
        assert_eq!(lines(&e), vec![3]);
    }

    #[test]
    fn lengths_count_characters() {
        let e = one(
            r#"{"name":"x","constraints":{"minLength":2,"maxLength":3}}"#,
            &["a", "ab", "éé", "中中中", "abcd"],
        );
        assert_eq!(lines(&e), vec![2, 6]);
        assert_eq!(
            e[0].1,
            "value \"a\" has 1 characters, fewer than minLength 2"
        );
        assert_eq!(
            e[1].1,
            "value \"abcd\" has 4 characters, more than maxLength 3"
        );
    }

    #[test]
    fn pattern_matches_whole_value() {
        let e = one(
            r#"{"name":"x","constraints":{"pattern":"[A-Z]{3}|X"}}"#,
            &["EUR", "EURUSD", "xEUR", "X", "Xa"],
        );
        assert_eq!(lines(&e), vec![3, 4, 6]);
        assert_eq!(
            e[0].1,
            "value \"EURUSD\" does not match pattern \"[A-Z]{3}|X\""
        );
    }

    #[test]
    fn enum_values() {
        let e = one(
            r#"{"name":"x","constraints":{"enum":["BUY","SELL"]}}"#,
            &["BUY", "SELL", "buy"],
        );
        assert_eq!(
            e,
            vec![(
                4,
                "value \"buy\" is not one of the allowed values [\"BUY\", \"SELL\"]".into()
            )]
        );
        // Typed comparison for integers.
        let e = one(
            r#"{"name":"x","type":"integer","constraints":{"enum":[1,2]}}"#,
            &["01", "2", "3"],
        );
        assert_eq!(lines(&e), vec![4]);
    }

    #[test]
    fn unique_values() {
        let e = one(
            r#"{"name":"x","constraints":{"unique":true}}"#,
            &["a", "b", "a", "", ""],
        );
        assert_eq!(
            e,
            vec![(4, "duplicate value \"a\" for unique field".into())]
        );
    }

    #[test]
    fn primary_key() {
        let schema = r#"{"fields":[{"name":"a"},{"name":"b"}],"primaryKey":["a","b"]}"#;
        let errs = run(
            schema,
            &["a", "b"],
            &[
                &["1", "x"],
                &["1", "y"],
                &["1", "x"],
                &["", "z"],
                &["1|", "x"],
            ],
        );
        assert_eq!(
            errs,
            vec![
                (4, "".into(), "duplicate primary key (\"1\", \"x\")".into()),
                (5, "a".into(), "required value is missing".into()),
            ]
        );
        let errs = run(
            r#"{"fields":[{"name":"id"}],"primaryKey":"id"}"#,
            &["id"],
            &[&["1"], &["1"]],
        );
        assert_eq!(
            errs,
            vec![(3, "id".into(), "duplicate primary key (\"1\")".into())]
        );
    }

    #[test]
    fn unknown_fields_are_returned_by_bind() {
        let schema = Schema::parse(r#"{"fields":[{"name":"a"},{"name":"zz"}]}"#).unwrap();
        assert_eq!(schema.field_names().collect::<Vec<_>>(), vec!["a", "zz"]);
        let (_, unknown) = schema.bind(&["a", "b"]);
        assert_eq!(unknown, vec!["zz".to_string()]);
    }

    #[test]
    fn bad_schemas_are_rejected() {
        let cases = [
            ("not json", "schema is not valid JSON"),
            ("[]", "must be a JSON object"),
            ("{}", "\"fields\""),
            (r#"{"fields":[{"type":"string"}]}"#, "has no name"),
            (
                r#"{"fields":[{"name":"a","type":"float"}]}"#,
                "unknown type \"float\"",
            ),
            (r#"{"fields":[{"name":"a"},{"name":"a"}]}"#, "defined twice"),
            (
                r#"{"fields":[{"name":"a","constraints":{"minimun":1}}]}"#,
                "unknown constraint \"minimun\"",
            ),
            (
                r#"{"fields":[{"name":"a","type":"integer","constraints":{"minimum":"x"}}]}"#,
                "minimum \"x\" is not an integer",
            ),
            (
                r#"{"fields":[{"name":"a","constraints":{"minimum":1}}]}"#,
                "needs an integer",
            ),
            (
                r#"{"fields":[{"name":"a","constraints":{"pattern":"("}}]}"#,
                "not a valid regular expression",
            ),
            (
                r#"{"fields":[{"name":"a","type":"date","format":"%d/%m/%Y"}]}"#,
                "not supported",
            ),
            (
                r#"{"fields":[{"name":"a"}],"primaryKey":"b"}"#,
                "primaryKey \"b\"",
            ),
            (
                r#"{"fields":[{"name":"a","constraints":{"maxLength":-1}}]}"#,
                "maxLength",
            ),
        ];
        for (json, want) in cases {
            let err = Schema::parse(json).unwrap_err();
            assert!(err.contains(want), "{json}: {err}");
        }
    }

    #[test]
    fn any_type_and_descriptive_properties() {
        let e = one(
            r#"{"name":"x","type":"any","title":"X","description":"whatever","format":"default"}"#,
            &["anything", "1"],
        );
        assert!(e.is_empty());
    }

    #[test]
    fn long_values_are_truncated_in_messages() {
        let long = "y".repeat(100);
        let e = one(r#"{"name":"x","type":"integer"}"#, &[long.as_str()]);
        assert!(e[0].1.contains("...\""), "{}", e[0].1);
        assert!(e[0].1.len() < 120);
    }
}
