//! How each column of a sealed file becomes an Arrow column: from the
//! Table Schema's field types when one is given (which the file was just
//! verified against), else text. Only what the schema pins down is typed;
//! a field whose values the reader could not read back exactly (a custom
//! `decimalChar`, `groupChar`, non-bare numbers) is refused, not guessed.

use arrow_schema::TimeUnit;
use serde_json::Value;

/// What one column's cells are read as.
#[derive(Debug, Clone, PartialEq)]
pub enum CellType {
    /// Text as written (no schema, `string`, `any`).
    Text,
    /// `file_seq`: uint64.
    Seq,
    /// `integer`: int64.
    Integer,
    /// `number`: float64.
    Float,
    /// `number` as decimal128(38, scale), when the caller asks for it.
    Decimal(i8),
    /// `boolean` with its true and false texts.
    Boolean { yes: Vec<String>, no: Vec<String> },
    /// `date`: date32.
    Date,
    /// `datetime`: timestamp in this unit, UTC (Table Schema v1 reads a
    /// datetime without an offset as UTC).
    DateTime(TimeUnit),
}

/// One column: its name, type and the texts that mean "missing".
#[derive(Debug, Clone)]
pub struct ColumnPlan {
    pub name: String,
    pub cell: CellType,
    /// Texts read as null (the schema's `missingValues`; none without one).
    pub missing: Vec<String>,
    /// Whether the column is returned (the checksum only when asked for).
    pub keep: bool,
}

/// Options of `read()`.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub keep_checksum: bool,
    pub decimal_scale: Option<i8>,
    pub unit: TimeUnit,
    pub batch_rows: usize,
}

/// The plan for a file whose header is `header`, under `schema` (JSON).
pub fn plan(
    header: &[String],
    schema: Option<&str>,
    opts: &ReadOptions,
) -> Result<Vec<ColumnPlan>, String> {
    let schema: Option<Value> = schema
        .map(|s| serde_json::from_str(s).map_err(|e| format!("schema: {e}")))
        .transpose()?;
    let default_missing: Vec<String> = match &schema {
        Some(s) => strings(s.get("missingValues"))?.unwrap_or_else(|| vec![String::new()]),
        None => Vec::new(),
    };
    let fields: Vec<&Value> = schema
        .as_ref()
        .and_then(|s| s.get("fields"))
        .and_then(Value::as_array)
        .map(|f| f.iter().collect())
        .unwrap_or_default();
    header
        .iter()
        .map(|name| {
            let field = fields
                .iter()
                .find(|f| f.get("name").and_then(Value::as_str) == Some(name.as_str()));
            let mut missing = default_missing.clone();
            let cell = match (name.as_str(), field) {
                ("file_seq", _) => {
                    missing.clear();
                    CellType::Seq
                }
                ("checksum_sha256", _) => {
                    missing.clear();
                    CellType::Text
                }
                (_, None) => CellType::Text,
                (_, Some(f)) => {
                    if let Some(m) = strings(f.get("missingValues"))? {
                        missing = m;
                    }
                    field_type(name, f, opts)?
                }
            };
            Ok(ColumnPlan {
                name: name.clone(),
                cell,
                missing,
                keep: name != "checksum_sha256" || opts.keep_checksum,
            })
        })
        .collect()
}

fn field_type(name: &str, f: &Value, opts: &ReadOptions) -> Result<CellType, String> {
    let t = f.get("type").and_then(Value::as_str).unwrap_or("string");
    let refuse = |key: &str| {
        Err(format!(
            "field {name:?}: read() types numbers written in the plain form only, and this \
             field sets {key:?}: read it with schema=None (text) and convert it yourself"
        ))
    };
    if matches!(t, "number" | "integer") {
        for key in ["decimalChar", "groupChar"] {
            if f.get(key).is_some() {
                return refuse(key);
            }
        }
        if f.get("bareNumber") == Some(&Value::Bool(false)) {
            return refuse("bareNumber");
        }
    }
    Ok(match t {
        "integer" => CellType::Integer,
        "number" => match opts.decimal_scale {
            Some(s) => CellType::Decimal(s),
            None => CellType::Float,
        },
        "boolean" => CellType::Boolean {
            yes: strings(f.get("trueValues"))?
                .unwrap_or_else(|| ["true", "True", "TRUE", "1"].map(String::from).to_vec()),
            no: strings(f.get("falseValues"))?
                .unwrap_or_else(|| ["false", "False", "FALSE", "0"].map(String::from).to_vec()),
        },
        "date" => CellType::Date,
        "datetime" => CellType::DateTime(opts.unit),
        _ => CellType::Text,
    })
}

fn strings(v: Option<&Value>) -> Result<Option<Vec<String>>, String> {
    let Some(v) = v else { return Ok(None) };
    let items = v
        .as_array()
        .ok_or("missingValues, trueValues and falseValues are lists")?;
    items
        .iter()
        .map(|i| {
            i.as_str()
                .map(str::to_owned)
                .ok_or_else(|| "a list of strings was expected".to_owned())
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}
