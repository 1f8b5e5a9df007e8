//! Frictionless Table Schema (v1), checked row by row.
//!
//! Every keyword of the v1 specification is either applied or refuses the
//! schema with a message naming it; none is silently ignored.
//!
//! Applied: `fields` with `name`, `type` (`string`, `integer`, `number`,
//! `boolean`, `date`, `datetime`, `any`), `format: "default"`,
//! `constraints`, `trueValues`/`falseValues` (boolean), `decimalChar`/
//! `groupChar` (number), `bareNumber` (number, integer), `missingValues`
//! (schema-wide and per field); `missingValues` and `primaryKey` on the
//! schema. Constraints: `required`, `unique` and `enum` on every type,
//! `minLength`/`maxLength`/`pattern` on strings, `minimum`/`maximum` on
//! integers, numbers, dates and datetimes — the types v1 names for each;
//! elsewhere the constraint refuses the schema.
//!
//! Refused: the types `object`, `array`, `time`, `year`, `yearmonth`,
//! `duration`, `geopoint`, `geojson`; any `format` but `default`;
//! `foreignKeys` (a file is checked on its own); Table Schema v2 keywords
//! (`exclusiveMinimum`, `exclusiveMaximum`); and every property the
//! specification does not define, which could be a typo or a rule of some
//! other dialect. Descriptive properties (`title`, `description`,
//! `example`, `rdfType`, and `$schema` naming the v1 profile) are
//! accepted; an `example` must be a valid value of its field.
//!
//! Values are compared as their type's logical values, as the specification
//! requires: `minimum`/`maximum`/`enum`, `unique` and `primaryKey` see the
//! integers `1` and `01` as equal, the numbers `1.0` and `1` as equal but
//! `0.1` and `0.10000000000000001` as different (numbers are exact
//! decimals), datetimes by instant (no offset means UTC), booleans by truth.
//! `unique` and `primaryKey` remember a 32-byte SHA-256 of each value's
//! canonical form, so memory grows by a bounded amount per row, not with
//! value length. Primary key fields are required.

mod decimal;
mod json;
mod value;

use alloc::borrow::Cow;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;

use regex_automata::Input;
use regex_automata::meta::{Cache, Regex};
use sha2::{Digest, Sha256};

use crate::report::{ErrorKind, RowError, shown};
use decimal::{Decimal, NumberSyntax};
use json::Json;
pub use value::FieldType;
use value::{Value, parse_date, parse_datetime, parse_integer};

/// A constraint value: the JSON as written (for messages) and its value.
type Bound = (String, Value<'static>);

/// One field of a parsed schema.
#[derive(Clone, Debug)]
struct FieldSpec {
    name: String,
    ty: FieldType,
    required: bool,
    unique: bool,
    minimum: Option<Bound>,
    maximum: Option<Bound>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    /// The pattern as written and the anchored regex.
    pattern: Option<(String, Regex)>,
    enum_values: Option<Vec<Bound>>,
    true_values: Vec<String>,
    false_values: Vec<String>,
    number: NumberSyntax,
    /// The field's own `missingValues`, replacing the schema's.
    missing_values: Option<Vec<String>>,
}

/// A parsed Table Schema, not yet tied to a header.
#[derive(Clone, Debug)]
pub struct Schema {
    fields: Vec<FieldSpec>,
    missing_values: Vec<String>,
    primary_key: Vec<String>,
}

/// At most 60 characters of `text`, as is, for numeric messages.
fn bare(text: &str) -> &str {
    match text.char_indices().nth(60) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

impl FieldSpec {
    fn new(name: String, ty: FieldType) -> Self {
        FieldSpec {
            name,
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
            number: NumberSyntax::default(),
            missing_values: None,
        }
    }

    /// The cell's logical value, or `None` if it is not of the field's type.
    fn cast<'v>(&self, text: &'v str) -> Option<Value<'v>> {
        match self.ty {
            FieldType::String | FieldType::Any => Some(Value::Text(Cow::Borrowed(text))),
            FieldType::Integer => parse_integer(text, self.number.bare),
            FieldType::Number => Decimal::parse(text, &self.number).map(Value::Number),
            FieldType::Boolean => {
                if self.true_values.iter().any(|t| t == text) {
                    Some(Value::Boolean(true))
                } else if self.false_values.iter().any(|f| f == text) {
                    Some(Value::Boolean(false))
                } else {
                    None
                }
            }
            FieldType::Date => parse_date(text),
            FieldType::DateTime => parse_datetime(text),
        }
    }

    /// A value given in the schema (constraint or example): a JSON string
    /// is read like a cell of the field; a JSON number is a number, or an
    /// integer when whole; a JSON boolean a boolean.
    fn schema_value(&self, j: &Json<'_>) -> Option<Value<'static>> {
        match (self.ty, j) {
            (_, Json::String(s)) => self.cast(s).map(Value::into_owned),
            (FieldType::Number, Json::Number(n)) => {
                Decimal::parse(n, &NumberSyntax::default()).map(Value::Number)
            }
            (FieldType::Integer, Json::Number(n)) => {
                let (negative, digits) =
                    Decimal::parse(n, &NumberSyntax::default())?.integer_digits()?;
                Some(Value::Integer(negative, Cow::Owned(digits)))
            }
            (FieldType::Boolean, Json::Bool(b)) => Some(Value::Boolean(*b)),
            _ => None,
        }
    }

    /// Whether messages show the value quoted (text) or bare (numbers, dates).
    fn show(&self, text: &str) -> String {
        match self.ty {
            FieldType::Integer | FieldType::Number | FieldType::Date | FieldType::DateTime => {
                bare(text).into()
            }
            _ => shown(text),
        }
    }
}

/// Field properties that describe and never change a verdict.
const DESCRIPTIVE: [&str; 3] = ["title", "description", "rdfType"];

/// Every constraint Table Schema v1 defines.
const CONSTRAINTS: [&str; 8] = [
    "required",
    "unique",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "pattern",
    "enum",
];

/// Whether v1 applies constraint `key` to fields of type `ty`.
fn constraint_applies(key: &str, ty: FieldType) -> Result<(), String> {
    use FieldType::*;
    let (applies, to) = match key {
        "required" | "unique" | "enum" => (true, ""),
        "minLength" | "maxLength" => (ty == String, "string fields"),
        "pattern" => (ty == String, "string fields"),
        "minimum" | "maximum" => (
            matches!(ty, Integer | Number | Date | DateTime),
            "integer, number, date and datetime fields",
        ),
        "exclusiveMinimum" | "exclusiveMaximum" => {
            return Err(format!(
                "constraint {key:?} is Table Schema v2; csvseal implements v1 (use minimum/maximum)"
            ));
        }
        other => return Err(format!("unknown constraint {other:?}")),
    };
    if applies {
        Ok(())
    } else {
        Err(format!(
            "constraint {key:?} applies to {to} only (Table Schema v1), not to a {} field",
            ty.name()
        ))
    }
}

/// The properties of a JSON object, refusing one that appears twice.
fn properties<'j, 'a>(
    entries: &'j [(String, Json<'a>)],
    what: &str,
) -> Result<BTreeMap<&'j str, &'j Json<'a>>, String> {
    let mut map = BTreeMap::new();
    for (key, value) in entries {
        if map.insert(key.as_str(), value).is_some() {
            return Err(format!("{what}: property {key:?} appears twice"));
        }
    }
    Ok(map)
}

fn strings(value: &Json<'_>, what: &str) -> Result<Vec<String>, String> {
    let Json::Array(items) = value else {
        return Err(format!("{what} must be a list of strings"));
    };
    items
        .iter()
        .map(|v| match v {
            Json::String(s) => Ok(s.clone()),
            _ => Err(format!("{what} must be a list of strings")),
        })
        .collect()
}

fn flag(value: &Json<'_>, what: &str) -> Result<bool, String> {
    match value {
        Json::Bool(b) => Ok(*b),
        _ => Err(format!("{what} must be true or false")),
    }
}

fn length(value: &Json<'_>, what: &str) -> Result<u64, String> {
    match value {
        Json::Number(n) => n.parse::<u64>().ok(),
        _ => None,
    }
    .ok_or_else(|| format!("{what} must be a non-negative integer"))
}

fn parse_field(entries: &[(String, Json<'_>)], index: usize) -> Result<FieldSpec, String> {
    let props = properties(entries, &format!("schema field {}", index + 1))?;
    let name = match props.get("name") {
        Some(Json::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(format!("schema field {} has no name", index + 1)),
    };
    let ctx = |msg: String| format!("schema field {name:?}: {msg}");
    let ty = match props.get("type") {
        None => FieldType::String,
        Some(Json::String(t)) => FieldType::parse(t).map_err(ctx)?,
        Some(_) => return Err(ctx("type must be a string".into())),
    };
    let mut spec = FieldSpec::new(name.clone(), ty);
    // Properties that change how values read come first: constraint
    // values and the example are read with them.
    for (&key, &value) in &props {
        let only = |types: &[FieldType], list: &str| {
            if types.contains(&ty) {
                Ok(())
            } else {
                Err(ctx(format!(
                    "{key:?} applies to {list} fields only, not to a {} field",
                    ty.name()
                )))
            }
        };
        match key {
            "name" | "type" | "constraints" | "example" => {}
            "format" => match value {
                Json::String(f) if f == "default" => {}
                f => {
                    return Err(ctx(format!(
                        "format {} is not supported (only \"default\")",
                        f.text()
                    )));
                }
            },
            k if DESCRIPTIVE.contains(&k) => {
                if !matches!(value, Json::String(_)) {
                    return Err(ctx(format!("{k:?} must be a string")));
                }
            }
            "trueValues" | "falseValues" => {
                only(&[FieldType::Boolean], "boolean")?;
                let values = strings(value, key).map_err(ctx)?;
                if key == "trueValues" {
                    spec.true_values = values;
                } else {
                    spec.false_values = values;
                }
            }
            "decimalChar" | "groupChar" => {
                only(&[FieldType::Number], "number")?;
                let Json::String(c) = value else {
                    return Err(ctx(format!("{key} must be a string")));
                };
                if key == "decimalChar" {
                    if c.is_empty() {
                        return Err(ctx("decimalChar must not be empty".into()));
                    }
                    spec.number.decimal = c.clone();
                } else {
                    spec.number.group = c.clone();
                }
            }
            "bareNumber" => {
                only(
                    &[FieldType::Number, FieldType::Integer],
                    "number and integer",
                )?;
                spec.number.bare = flag(value, key).map_err(ctx)?;
            }
            "missingValues" => {
                spec.missing_values = Some(strings(value, key).map_err(ctx)?);
            }
            k if CONSTRAINTS.contains(&k) => {
                return Err(ctx(format!(
                    "{k:?} belongs inside \"constraints\", not beside it"
                )));
            }
            other => return Err(ctx(format!("unknown property {other:?}"))),
        }
    }
    if spec.number.decimal == spec.number.group {
        return Err(ctx("decimalChar and groupChar must differ".into()));
    }
    if let Some(both) = spec
        .true_values
        .iter()
        .find(|t| spec.false_values.contains(t))
    {
        return Err(ctx(format!(
            "{} is in both trueValues and falseValues",
            shown(both)
        )));
    }
    if let Some(example) = props.get("example")
        && spec.schema_value(example).is_none()
    {
        return Err(ctx(format!(
            "example {} is not {}",
            example.text(),
            ty.noun()
        )));
    }
    match props.get("constraints") {
        None => {}
        Some(Json::Object(entries)) => {
            let constraints = properties(entries, &format!("schema field {name:?} constraints"))?;
            for (key, value) in constraints {
                constraint_applies(key, ty).map_err(ctx)?;
                add_constraint(&mut spec, key, value).map_err(ctx)?;
            }
        }
        Some(_) => return Err(ctx("constraints must be an object".into())),
    }
    Ok(spec)
}

fn add_constraint(spec: &mut FieldSpec, key: &str, value: &Json<'_>) -> Result<(), String> {
    let ty = spec.ty;
    let typed = |spec: &FieldSpec, v: &Json<'_>, what: &str| {
        let shown = if what == "enum value" {
            v.text()
        } else {
            v.plain()
        };
        spec.schema_value(v)
            .map(|typed| (shown, typed))
            .ok_or_else(|| format!("{what} {} is not {}", v.text(), ty.noun()))
    };
    match key {
        "required" => spec.required = flag(value, key)?,
        "unique" => spec.unique = flag(value, key)?,
        "minimum" => spec.minimum = Some(typed(spec, value, key)?),
        "maximum" => spec.maximum = Some(typed(spec, value, key)?),
        "minLength" => spec.min_length = Some(length(value, key)?),
        "maxLength" => spec.max_length = Some(length(value, key)?),
        "pattern" => {
            let Json::String(p) = value else {
                return Err("pattern must be a string".into());
            };
            let re = Regex::new(&format!("^(?:{p})$"))
                .map_err(|e| format!("pattern {p:?} is not a valid regular expression: {e}"))?;
            spec.pattern = Some((p.clone(), re));
        }
        "enum" => {
            let Json::Array(items) = value else {
                return Err("enum must be a list".into());
            };
            let values = items
                .iter()
                .map(|item| typed(spec, item, "enum value"))
                .collect::<Result<Vec<_>, _>>()?;
            spec.enum_values = Some(values);
        }
        _ => unreachable!("constraint_applies admits only known constraints"),
    }
    Ok(())
}

/// `$schema` values naming the Table Schema v1 profile.
fn is_v1_profile(url: &str) -> bool {
    url.ends_with("/table-schema.json") || url == "tableschema"
}

impl Schema {
    /// Parses a schema from JSON text; the message says what is wrong.
    pub fn parse(json: &str) -> Result<Schema, String> {
        let root = json::parse(json).map_err(|e| format!("schema is not valid JSON: {e}"))?;
        let Json::Object(entries) = &root else {
            return Err("schema must be a JSON object".into());
        };
        let props = properties(entries, "schema")?;
        for (&key, &value) in &props {
            match key {
                "fields" | "missingValues" | "primaryKey" => {}
                "title" | "description" => {
                    if !matches!(value, Json::String(_)) {
                        return Err(format!("schema {key:?} must be a string"));
                    }
                }
                "$schema" => match value {
                    Json::String(url) if is_v1_profile(url) => {}
                    v => {
                        return Err(format!(
                            "\"$schema\" {} is not the Table Schema v1 profile; csvseal implements v1",
                            v.text()
                        ));
                    }
                },
                "foreignKeys" => {
                    return Err("\"foreignKeys\" is not supported: csvseal checks one file on its own, without the tables a foreign key refers to".into());
                }
                other => return Err(format!("unknown schema property {other:?}")),
            }
        }
        let Some(Json::Array(items)) = props.get("fields") else {
            return Err("schema must have a \"fields\" list".into());
        };
        let mut fields: Vec<FieldSpec> = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let Json::Object(entries) = item else {
                return Err(format!("schema field {} must be an object", i + 1));
            };
            let spec = parse_field(entries, i)?;
            if fields.iter().any(|f| f.name == spec.name) {
                return Err(format!("schema field {:?} is defined twice", spec.name));
            }
            fields.push(spec);
        }
        let missing_values = match props.get("missingValues") {
            None => alloc::vec![String::new()],
            Some(v) => strings(v, "missingValues")?,
        };
        let primary_key = match props.get("primaryKey") {
            None => Vec::new(),
            Some(Json::String(s)) => alloc::vec![s.clone()],
            Some(v) => strings(v, "primaryKey")?,
        };
        for (i, key) in primary_key.iter().enumerate() {
            if primary_key[..i].contains(key) {
                return Err(format!("primaryKey names {key:?} twice"));
            }
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
        let key_fields: Vec<Option<usize>> = self
            .primary_key
            .iter()
            .map(|k| self.fields.iter().position(|f| &f.name == k))
            .collect();
        let key_specs: Vec<FieldSpec> = key_fields
            .iter()
            .flatten()
            .map(|&i| self.fields[i].clone())
            .collect();
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
            Some(cols) if !cols.is_empty() => Some(alloc::boxed::Box::new(PrimaryKey {
                cols,
                specs: key_specs,
                names: self.primary_key,
                seen: BTreeSet::new(),
            })),
            _ => None,
        };
        (
            Checker {
                fields,
                missing_values: self.missing_values,
                primary_key,
                scratch: Vec::new(),
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
    /// Hashes of the canonical values seen, for `unique`.
    seen: BTreeSet<[u8; 32]>,
}

#[derive(Clone, Debug)]
struct PrimaryKey {
    cols: Vec<usize>,
    /// The key's fields, in key order, to read its values.
    specs: Vec<FieldSpec>,
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
    /// Boxed: most schemas have none, and a checker lives in every verifier.
    primary_key: Option<alloc::boxed::Box<PrimaryKey>>,
    /// Reused buffer for canonical forms.
    scratch: Vec<u8>,
}

/// SHA-256 of `bytes`.
fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
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
        let schema_missing = &self.missing_values;
        let scratch = &mut self.scratch;
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
            let missing = spec.missing_values.as_ref().unwrap_or(schema_missing);
            if missing.iter().any(|m| m == text) {
                if spec.required {
                    report("required value is missing".into());
                }
                continue;
            }
            check_value(spec, cache, seen, scratch, text, &mut report);
        }
        if let Some(pk) = &mut self.primary_key {
            let mut shown_values = Vec::new();
            scratch.clear();
            let mut comparable = true;
            for (spec, &c) in pk.specs.iter().zip(&pk.cols) {
                let text = value(c);
                let missing = spec.missing_values.as_ref().unwrap_or(schema_missing);
                // A missing or mistyped key value was reported above; a NaN
                // equals nothing, so the key is unique.
                comparable &= !missing.iter().any(|m| m == text)
                    && spec.cast(text).and_then(|v| v.canonical(scratch)).is_some();
                if !comparable {
                    break;
                }
                shown_values.push(shown(text));
            }
            if comparable && !pk.seen.insert(digest(scratch)) {
                let mut err = RowError::new(
                    ErrorKind::Schema,
                    at.line,
                    format!("duplicate primary key ({})", shown_values.join(", ")),
                )
                .with_seq(at.seq);
                if pk.names.len() == 1 {
                    err = err.with_column(pk.names[0].as_str());
                }
                log(err);
            }
        }
        count
    }
}

fn check_value(
    spec: &FieldSpec,
    cache: &mut Option<Cache>,
    seen: &mut BTreeSet<[u8; 32]>,
    scratch: &mut Vec<u8>,
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
            .any(|(_, o)| o.compare(&value) == Some(Ordering::Equal));
        if !found {
            let listed: Vec<&str> = options.iter().map(|(t, _)| t.as_str()).collect();
            report(format!(
                "value {} is not one of the allowed values [{}]",
                spec.show(text),
                listed.join(", ")
            ));
        }
    }
    // NaN is neither above nor below anything, so it breaks any bound.
    if let Some((min, bound)) = &spec.minimum
        && value.compare(bound).is_none_or(|o| o == Ordering::Less)
    {
        report(format!("value {} is below minimum {min}", spec.show(text)));
    }
    if let Some((max, bound)) = &spec.maximum
        && value.compare(bound).is_none_or(|o| o == Ordering::Greater)
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
    if spec.unique {
        scratch.clear();
        // NaN equals nothing: never a duplicate.
        if value.canonical(scratch).is_some() && !seen.insert(digest(scratch)) {
            report(format!("duplicate value {} for unique field", shown(text)));
        }
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
        // Surrounding ASCII whitespace is allowed, as in XML Schema.
        assert_eq!(lines(&e), vec![7, 8, 11]);
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
        // ISO 8601 also writes offsets as +HHMM.
        assert_eq!(lines(&e), vec![7, 8, 9, 10, 12]);
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
        assert_eq!(e[0].1, "value -1.6 is below minimum -1.5");
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
    fn unique_compares_logical_values() {
        let cases: [(&str, &[&str], Vec<u64>); 7] = [
            (
                r#""type":"integer""#,
                &["1", "01", "+1", "-0", "0", "2"],
                vec![3, 4, 6],
            ),
            (
                r#""type":"number""#,
                &[
                    "1",
                    "1.0",
                    "10e-1",
                    "0.1",
                    "0.10000000000000001",
                    "NaN",
                    "NaN",
                    "-0",
                    "0",
                ],
                vec![3, 4, 10],
            ),
            (
                r#""type":"datetime""#,
                &[
                    "2024-01-01T12:00:00+02:00",
                    "2024-01-01T10:00:00Z",
                    "2024-01-01T10:00:00",
                    "2024-01-01T10:00:00.001Z",
                ],
                vec![3, 4],
            ),
            (
                r#""type":"date""#,
                &["2024-01-01", "2024-01-02", "2024-01-01"],
                vec![4],
            ),
            (
                r#""type":"boolean""#,
                &["true", "1", "FALSE", "0"],
                vec![3, 5],
            ),
            (r#""type":"string""#, &["a", "a ", "A", "a"], vec![5]),
            (
                r#""type":"number","decimalChar":",","groupChar":".""#,
                &["1.000,5", "1000,50", "1,0005"],
                vec![3],
            ),
        ];
        for (ty, values, want) in cases {
            let field = format!(r#"{{"name":"x",{ty},"constraints":{{"unique":true}}}}"#);
            let e = one(&field, values);
            assert_eq!(lines(&e), want, "{ty}: {e:?}");
            assert!(
                e.iter().all(|(_, m)| m.starts_with("duplicate value")),
                "{e:?}"
            );
        }
    }

    #[test]
    fn primary_key_compares_logical_values() {
        let schema = r#"{"fields":[{"name":"id","type":"integer"},{"name":"at","type":"datetime"}],"primaryKey":["id","at"]}"#;
        let errs = run(
            schema,
            &["id", "at"],
            &[
                &["1", "2024-01-01T00:00:00Z"],
                &["01", "2024-01-01T01:00:00+01:00"],
                &["1", "2024-01-01T00:00:01Z"],
                &["x", "2024-01-01T00:00:00Z"],
                &["x", "2024-01-01T00:00:00Z"],
            ],
        );
        assert_eq!(
            errs,
            vec![
                (
                    3,
                    "".into(),
                    "duplicate primary key (\"01\", \"2024-01-01T01:00:00+01:00\")".into()
                ),
                (5, "id".into(), "value \"x\" is not an integer".into()),
                (6, "id".into(), "value \"x\" is not an integer".into()),
            ]
        );
    }

    #[test]
    fn numbers_are_exact() {
        let e = one(
            r#"{"name":"x","type":"number","constraints":{"maximum":0.1,"minimum":"-1e-30"}}"#,
            &[
                "0.1",
                "0.10000000000000001",
                "1e-1",
                "-1e-30",
                "-1.0000000000000000000000001e-30",
                "NaN",
                "-INF",
            ],
        );
        assert_eq!(
            e,
            vec![
                (3, "value 0.10000000000000001 is above maximum 0.1".into()),
                (
                    6,
                    "value -1.0000000000000000000000001e-30 is below minimum -1e-30".into()
                ),
                (7, "value NaN is below minimum -1e-30".into()),
                (7, "value NaN is above maximum 0.1".into()),
                (8, "value -INF is below minimum -1e-30".into()),
            ]
        );
        let e = one(
            r#"{"name":"x","type":"number","constraints":{"enum":[0.1, "2.50"]}}"#,
            &["0.10", "2.5", "0.10000000000000001"],
        );
        assert_eq!(lines(&e), vec![4]);
        // An integer bound may be given as any whole JSON number.
        let e = one(
            r#"{"name":"x","type":"integer","constraints":{"maximum":1e3,"minimum":-2.0}}"#,
            &["1000", "1001", "-2", "-3"],
        );
        assert_eq!(lines(&e), vec![3, 5]);
    }

    #[test]
    fn number_syntax_properties() {
        let e = one(
            r#"{"name":"x","type":"number","decimalChar":",","groupChar":" ","constraints":{"maximum":"1 000,5"}}"#,
            &["1 000,5", "1000,25", "1 000,51", "1.5", "12,"],
        );
        assert_eq!(lines(&e), vec![4, 5]);
        assert_eq!(e[0].1, "value 1 000,51 is above maximum 1 000,5");
        let e = one(
            r#"{"name":"x","type":"number","bareNumber":false,"constraints":{"minimum":10}}"#,
            &["95%", "€ 12.5", "EUR 9", "%"],
        );
        assert_eq!(lines(&e), vec![4, 5]);
        let e = one(
            r#"{"name":"x","type":"integer","bareNumber":false}"#,
            &["$1", "12 units", "1.5"],
        );
        // "1.5" strips to "1.5": the dot is inside, so not an integer.
        assert_eq!(lines(&e), vec![4]);
        let e = one(
            r#"{"name":"x","type":"integer","bareNumber":true}"#,
            &["$1"],
        );
        assert_eq!(lines(&e), vec![2]);
    }

    #[test]
    fn field_missing_values_replace_the_schemas() {
        let schema = r#"{"fields":[
            {"name":"a","type":"integer","missingValues":["-"],"constraints":{"required":true}},
            {"name":"b","type":"integer","constraints":{"required":true}}
        ],"missingValues":["NA",""]}"#;
        let errs = run(
            schema,
            &["a", "b"],
            &[&["-", "NA"], &["NA", ""], &["", "-"]],
        );
        let got: Vec<(u64, &str, &str)> = errs
            .iter()
            .map(|(l, c, m)| (*l, c.as_str(), m.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (2, "a", "required value is missing"),
                (2, "b", "required value is missing"),
                (3, "a", "value \"NA\" is not an integer"),
                (3, "b", "required value is missing"),
                (4, "a", "value \"\" is not an integer"),
                (4, "b", "value \"-\" is not an integer"),
            ]
        );
    }

    /// Every keyword Table Schema v1 defines, each on a type it applies to
    /// (accepted) and, where the spec limits it, on one it does not
    /// (refused with the keyword named); v2 and unknown keywords refused.
    #[test]
    fn every_v1_keyword_is_applied_or_refused() {
        let accepted = [
            r#"{"fields":[{"name":"a"}]}"#,
            r#"{"fields":[{"name":"a","type":"string","format":"default"}]}"#,
            r#"{"fields":[{"name":"a","title":"A","description":"d","example":"x","rdfType":"http://schema.org/Country"}]}"#,
            r#"{"fields":[{"name":"a","type":"integer","example":7,"bareNumber":false}]}"#,
            r#"{"fields":[{"name":"a","type":"number","decimalChar":",","groupChar":".","bareNumber":true}]}"#,
            r#"{"fields":[{"name":"a","type":"boolean","trueValues":["y"],"falseValues":["n"],"example":true}]}"#,
            r#"{"fields":[{"name":"a","missingValues":["-"]}],"missingValues":["NA"]}"#,
            r#"{"fields":[{"name":"a"}],"primaryKey":"a"}"#,
            r#"{"fields":[{"name":"a"},{"name":"b"}],"primaryKey":["a","b"]}"#,
            r#"{"fields":[{"name":"a"}],"title":"t","description":"d","$schema":"https://specs.frictionlessdata.io/schemas/table-schema.json"}"#,
            r#"{"fields":[{"name":"a","type":"any","constraints":{"required":true,"unique":true,"enum":["x"]}}]}"#,
            r#"{"fields":[{"name":"a","constraints":{"minLength":1,"maxLength":2,"pattern":"a+","enum":["a"]}}]}"#,
            r#"{"fields":[{"name":"a","type":"integer","constraints":{"minimum":1,"maximum":"2","enum":[1]}}]}"#,
            r#"{"fields":[{"name":"a","type":"number","constraints":{"minimum":1.5,"maximum":"2.5","enum":[1.5]}}]}"#,
            r#"{"fields":[{"name":"a","type":"date","constraints":{"minimum":"2024-01-01","maximum":"2024-12-31"}}]}"#,
            r#"{"fields":[{"name":"a","type":"datetime","constraints":{"minimum":"2024-01-01T00:00:00Z"}}]}"#,
            r#"{"fields":[{"name":"a","type":"boolean","constraints":{"enum":[true,"false"],"unique":false}}]}"#,
        ];
        for json in accepted {
            if let Err(e) = Schema::parse(json) {
                panic!("{json}: {e}");
            }
        }
        let refused = [
            // Constraints on types v1 does not apply them to.
            (
                r#"{"fields":[{"name":"a","type":"integer","constraints":{"pattern":"1"}}]}"#,
                r#"constraint "pattern" applies to string fields only"#,
            ),
            (
                r#"{"fields":[{"name":"a","type":"number","constraints":{"minLength":1}}]}"#,
                r#"constraint "minLength" applies to string fields only"#,
            ),
            (
                r#"{"fields":[{"name":"a","type":"date","constraints":{"maxLength":1}}]}"#,
                r#"constraint "maxLength" applies to string fields only"#,
            ),
            (
                r#"{"fields":[{"name":"a","type":"any","constraints":{"pattern":"x"}}]}"#,
                r#"constraint "pattern" applies to string fields only"#,
            ),
            (
                r#"{"fields":[{"name":"a","type":"boolean","constraints":{"minimum":0}}]}"#,
                r#"constraint "minimum" applies to integer, number, date and datetime fields only"#,
            ),
            (
                r#"{"fields":[{"name":"a","constraints":{"maximum":"z"}}]}"#,
                r#"constraint "maximum" applies to integer"#,
            ),
            // Properties on types they do not belong to.
            (
                r#"{"fields":[{"name":"a","type":"integer","decimalChar":","}]}"#,
                r#""decimalChar" applies to number fields only"#,
            ),
            (
                r#"{"fields":[{"name":"a","groupChar":","}]}"#,
                r#""groupChar" applies to number fields only"#,
            ),
            (
                r#"{"fields":[{"name":"a","type":"date","bareNumber":false}]}"#,
                r#""bareNumber" applies to number and integer fields only"#,
            ),
            (
                r#"{"fields":[{"name":"a","type":"string","trueValues":["y"]}]}"#,
                r#""trueValues" applies to boolean fields only"#,
            ),
            (
                r#"{"fields":[{"name":"a","type":"integer","falseValues":["n"]}]}"#,
                r#""falseValues" applies to boolean fields only"#,
            ),
            // v1 types csvseal does not read, and formats.
            (
                r#"{"fields":[{"name":"a","type":"time"}]}"#,
                r#"type "time" is not supported"#,
            ),
            (
                r#"{"fields":[{"name":"a","type":"year"}]}"#,
                r#"type "year" is not supported"#,
            ),
            (
                r#"{"fields":[{"name":"a","type":"yearmonth"}]}"#,
                r#"type "yearmonth" is not supported"#,
            ),
            (
                r#"{"fields":[{"name":"a","type":"duration"}]}"#,
                r#"type "duration" is not supported"#,
            ),
            (
                r#"{"fields":[{"name":"a","type":"object"}]}"#,
                r#"type "object" is not supported"#,
            ),
            (
                r#"{"fields":[{"name":"a","type":"array"}]}"#,
                r#"type "array" is not supported"#,
            ),
            (
                r#"{"fields":[{"name":"a","type":"geopoint"}]}"#,
                r#"type "geopoint" is not supported"#,
            ),
            (
                r#"{"fields":[{"name":"a","type":"geojson"}]}"#,
                r#"type "geojson" is not supported"#,
            ),
            (
                r#"{"fields":[{"name":"a","format":"email"}]}"#,
                r#"format "email" is not supported"#,
            ),
            (
                r#"{"fields":[{"name":"a","type":"date","format":"any"}]}"#,
                r#"format "any" is not supported"#,
            ),
            // Schema keywords csvseal cannot apply to one file.
            (
                r#"{"fields":[{"name":"a"}],"foreignKeys":[{"fields":"a","reference":{"resource":"","fields":"a"}}]}"#,
                r#""foreignKeys" is not supported"#,
            ),
            // Table Schema v2 and unknown keywords.
            (
                r#"{"fields":[{"name":"a","type":"integer","constraints":{"exclusiveMinimum":1}}]}"#,
                r#"constraint "exclusiveMinimum" is Table Schema v2"#,
            ),
            (
                r#"{"fields":[{"name":"a","type":"integer","constraints":{"exclusiveMaximum":1}}]}"#,
                r#"constraint "exclusiveMaximum" is Table Schema v2"#,
            ),
            (
                r#"{"fields":[{"name":"a"}],"$schema":"https://datapackage.org/profiles/2.0/tableschema.json"}"#,
                r#""$schema""#,
            ),
            (
                r#"{"fields":[{"name":"a"}],"missingvalues":["-"]}"#,
                r#"unknown schema property "missingvalues""#,
            ),
            (
                r#"{"fields":[{"name":"a"}],"primary_key":"a"}"#,
                r#"unknown schema property "primary_key""#,
            ),
            (
                r#"{"fields":[{"name":"a","contraints":{}}]}"#,
                r#"unknown property "contraints""#,
            ),
            (
                r#"{"fields":[{"name":"a","required":true}]}"#,
                r#""required" belongs inside "constraints""#,
            ),
            (
                r#"{"fields":[{"name":"a","constraints":{"unique":"yes"}}]}"#,
                r#"unique must be true or false"#,
            ),
            (
                r#"{"fields":[{"name":"a","title":7}]}"#,
                r#""title" must be a string"#,
            ),
            (
                r#"{"fields":[{"name":"a","missingValues":[1]}]}"#,
                r#"missingValues must be a list of strings"#,
            ),
            (
                r#"{"fields":[{"name":"a","type":"number","bareNumber":"no"}]}"#,
                r#"bareNumber must be true or false"#,
            ),
        ];
        for (json, want) in refused {
            match Schema::parse(json) {
                Ok(_) => panic!("accepted: {json}"),
                Err(e) => assert!(e.contains(want), "{json}: {e}"),
            }
        }
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
                "applies to integer, number, date and datetime fields only",
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
            (
                r#"{"fields":[{"name":"a","constraints":{"maxLength":1.5}}]}"#,
                "maxLength",
            ),
            (
                r#"{"fields":[{"name":"a","name":"b"}]}"#,
                "property \"name\" appears twice",
            ),
            (
                r#"{"fields":[{"name":"a"}],"primaryKey":["a","a"]}"#,
                "primaryKey names \"a\" twice",
            ),
            (
                r#"{"fields":[{"name":"a","type":"boolean","trueValues":["y"],"falseValues":["y","n"]}]}"#,
                "\"y\" is in both trueValues and falseValues",
            ),
            (
                r#"{"fields":[{"name":"a","type":"number","decimalChar":",","groupChar":","}]}"#,
                "decimalChar and groupChar must differ",
            ),
            (
                r#"{"fields":[{"name":"a","type":"integer","example":"x"}]}"#,
                "example \"x\" is not an integer",
            ),
            (
                r#"{"fields":[{"name":"a","type":"integer","constraints":{"minimum":1.5}}]}"#,
                "minimum 1.5 is not an integer",
            ),
            (
                r#"{"fields":[{"name":"a","constraints":{"enum":[1]}}]}"#,
                "enum value 1 is not a string",
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
