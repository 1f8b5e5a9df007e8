//! The canonical JSON form of a report: what every csvseal host (CLI,
//! Python, npm, browser) must produce byte for byte for the same file, and
//! what `tests/conformance/cases/*/expected.json` hold.
//!
//! The value is the report as `csvseal verify --json` prints it per file
//! (without `path`), written with object keys sorted by code point, no
//! insignificant whitespace, non-ASCII characters as themselves (only `"`,
//! `\` and control characters escaped, as JSON requires), integers as plain
//! numbers, and one trailing newline. See tests/conformance/README.md.

use serde_json::Value;

use crate::report::VerifyReport;

impl VerifyReport {
    /// This report in canonical JSON form (see the module docs).
    pub fn to_canonical_json(&self) -> String {
        let value = serde_json::to_value(self).expect("a report serializes");
        canonical_json(&value)
    }
}

/// `value` in canonical JSON form, trailing newline included.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out.push('\n');
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {
            // serde_json escapes only what JSON requires and writes integers
            // as plain digits: already canonical.
            out.push_str(&value.to_string());
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // Rust string order is byte order of UTF-8, which is code point order.
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sorted_no_spaces_unicode_kept_controls_escaped() {
        let v = serde_json::json!({
            "b": [1, 18446744073709551615u64, null, true],
            "a": {"z": "é|\"\\\n\u{1}", "y": []},
        });
        assert_eq!(
            canonical_json(&v),
            "{\"a\":{\"y\":[],\"z\":\"é|\\\"\\\\\\n\\u0001\"},\"b\":[1,18446744073709551615,null,true]}\n"
        );
    }
}
