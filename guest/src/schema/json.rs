//! The schema's JSON as written: numbers keep their text (so a constraint
//! like `0.10000000000000001` is not rounded through `f64`), and object
//! properties keep their order, duplicates included (so they can be refused).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// A JSON value whose numbers are their literal text.
#[derive(Clone, Debug, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    /// The number as written, e.g. `1e3` or `0.10000000000000001`.
    Number(&'a str),
    String(String),
    Array(Vec<Json<'a>>),
    /// Properties in document order.
    Object(Vec<(String, Json<'a>)>),
}

impl Json<'_> {
    /// The value as JSON text, for messages (strings quoted, numbers as written).
    pub fn text(&self) -> String {
        match self {
            Json::Null => "null".into(),
            Json::Bool(b) => alloc::format!("{b}"),
            Json::Number(n) => (*n).into(),
            Json::String(s) => alloc::format!("{s:?}"),
            Json::Array(_) => "[...]".into(),
            Json::Object(_) => "{...}".into(),
        }
    }
}

impl Json<'_> {
    /// The value for messages where quotes would be noise: strings bare,
    /// everything else as [`Json::text`].
    pub fn plain(&self) -> String {
        match self {
            Json::String(s) => s.clone(),
            other => other.text(),
        }
    }
}

/// Parses JSON text.
pub fn parse(text: &str) -> Result<Json<'_>, serde_json::Error> {
    let raw: &RawValue = serde_json::from_str(text)?;
    from_raw(raw)
}

fn from_raw(raw: &RawValue) -> Result<Json<'_>, serde_json::Error> {
    let text = raw.get().trim();
    Ok(match text.as_bytes().first() {
        Some(b'{') => {
            let Entries(entries) = serde_json::from_str(text)?;
            let mut out = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                out.push((key, from_raw(value)?));
            }
            Json::Object(out)
        }
        Some(b'[') => {
            let items: Vec<&RawValue> = serde_json::from_str(text)?;
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(from_raw(item)?);
            }
            Json::Array(out)
        }
        Some(b'"') => Json::String(serde_json::from_str(text)?),
        Some(b't') => Json::Bool(true),
        Some(b'f') => Json::Bool(false),
        Some(b'n') => Json::Null,
        _ => Json::Number(text),
    })
}

/// An object's properties in document order, values still raw.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Props<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for Props<'a> {
            type Value = Entries<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'a>, A::Error> {
                let mut out = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
                    out.push((key, value));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(Props(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn numbers_keep_their_text_and_objects_their_order() {
        let j =
            parse(r#" {"b": 0.10000000000000001, "a": [1e3, -0, "x\"y"], "b": null, "t": true} "#)
                .unwrap();
        assert_eq!(
            j,
            Json::Object(vec![
                ("b".into(), Json::Number("0.10000000000000001")),
                (
                    "a".into(),
                    Json::Array(vec![
                        Json::Number("1e3"),
                        Json::Number("-0"),
                        Json::String("x\"y".into())
                    ])
                ),
                ("b".into(), Json::Null),
                ("t".into(), Json::Bool(true)),
            ])
        );
        assert!(parse("{").is_err());
        assert!(parse("[1,]").is_err());
    }
}
