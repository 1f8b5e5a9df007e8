//! JSON Lines input for the sealer: one JSON object per line.
//!
//! [`LineReader`] splits the byte stream into lines (any chunking gives the
//! same lines; `\r\n` is accepted; blank lines are skipped but counted);
//! [`parse_object`] turns one line into `(key, value text)` pairs.
//!
//! Value text: a string is its (unescaped) content, `true`/`false` are
//! `true`/`false`, `null` is the empty string, and a number is its JSON text
//! exactly as written (`25.0` stays `25.0`, `1E5` stays `1E5`), taken from
//! serde_json's `RawValue` so that nothing is rounded or reformatted.
//! Arrays and objects are rejected: a CSV cell cannot hold them faithfully.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::csv_reader::ReadError;
use crate::report::ErrorKind;

/// What the line reader reports.
#[derive(Debug)]
pub enum LineEvent<'a> {
    /// A non-blank line (its `\r\n` or `\n` removed) and its 1-based number.
    Line(u64, &'a str),
    /// A line that could not be read (too long, not UTF-8).
    Error(ReadError),
}

/// Splits a byte stream into lines, keeping at most `max_line_bytes` of a
/// line in memory.
#[derive(Debug)]
pub struct LineReader {
    max_line_bytes: u64,
    buf: Vec<u8>,
    line: u64,
    /// The current line is too long: drop its bytes until its end.
    skipping: bool,
    finished: bool,
}

impl LineReader {
    /// A reader at the start of input.
    pub fn new(max_line_bytes: u64) -> Self {
        LineReader {
            max_line_bytes,
            buf: Vec::new(),
            line: 1,
            skipping: false,
            finished: false,
        }
    }

    /// Consumes a chunk; ignored after [`Self::finish`]. On wasm32 it
    /// enables `simd128` for itself, so the line-end search uses SIMD (see
    /// [`crate::scan`]).
    #[cfg_attr(target_arch = "wasm32", target_feature(enable = "simd128"))]
    pub fn feed<F: FnMut(LineEvent<'_>)>(&mut self, chunk: &[u8], sink: &mut F) {
        if self.finished {
            return;
        }
        let mut rest = chunk;
        while !rest.is_empty() {
            let nl = crate::scan::find_newline(rest, 0);
            if nl == rest.len() {
                self.append(rest);
                break;
            }
            if self.buf.is_empty() && !self.skipping {
                // The whole line is in this chunk: no need to copy it.
                let line = self.line;
                self.line += 1;
                emit_line(line, &rest[..nl], self.max_line_bytes, sink);
            } else {
                self.append(&rest[..nl]);
                self.end_line(sink);
            }
            rest = &rest[nl + 1..];
        }
    }

    /// Ends the input; a last line without `\n` is a line like any other.
    pub fn finish<F: FnMut(LineEvent<'_>)>(&mut self, sink: &mut F) {
        if self.finished {
            return;
        }
        if !self.buf.is_empty() || self.skipping {
            self.end_line(sink);
        }
        self.finished = true;
    }

    fn append(&mut self, bytes: &[u8]) {
        if self.skipping {
            return;
        }
        if (self.buf.len() + bytes.len()) as u64 > self.max_line_bytes {
            self.skipping = true;
            self.buf.clear();
            return;
        }
        self.buf.extend_from_slice(bytes);
    }

    fn end_line<F: FnMut(LineEvent<'_>)>(&mut self, sink: &mut F) {
        let line = self.line;
        self.line += 1;
        if self.skipping {
            self.skipping = false;
            too_long(line, self.max_line_bytes, sink);
            return;
        }
        emit_line(line, &self.buf, self.max_line_bytes, sink);
        self.buf.clear();
    }
}

/// Reports line number `line`, of `bytes` (its `\n` removed).
fn emit_line<F: FnMut(LineEvent<'_>)>(line: u64, bytes: &[u8], max: u64, sink: &mut F) {
    if bytes.len() as u64 > max {
        return too_long(line, max, sink);
    }
    let mut bytes = bytes;
    if line == 1 {
        // Editors on Windows add a byte order mark; it carries no data.
        bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    }
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    if !bytes.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
        match crate::scan::utf8(bytes) {
            Ok(text) => sink(LineEvent::Line(line, text)),
            Err(_) => sink(LineEvent::Error(ReadError {
                kind: ErrorKind::Encoding,
                line,
                field: None,
                message: "line is not valid UTF-8".into(),
            })),
        }
    }
}

#[cold]
fn too_long<F: FnMut(LineEvent<'_>)>(line: u64, max: u64, sink: &mut F) {
    sink(LineEvent::Error(ReadError {
        kind: ErrorKind::Limit,
        line,
        field: None,
        message: format!("line is longer than {max} bytes"),
    }));
}

/// The `(key, value text)` pairs of a JSON object line, in order.
struct Pairs<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Pairs<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PairsVisitor<'a>(core::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for PairsVisitor<'a> {
            type Value = Pairs<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut pairs = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    pairs.push(entry);
                }
                Ok(Pairs(pairs))
            }
        }
        deserializer.deserialize_map(PairsVisitor(core::marker::PhantomData))
    }
}

/// Parses one line as a JSON object into `(key, value text)` pairs in the
/// order written; see the module documentation for the value text. Errors
/// are messages for a `malformed` error.
pub fn parse_object(line: &str) -> Result<Vec<(String, String)>, String> {
    let Pairs(raw) = serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let mut pairs: Vec<(String, String)> = Vec::with_capacity(raw.len());
    for (key, value) in raw {
        // Repeated keys are caught by `to_row` (or, in a first object that
        // names the columns, as duplicate column names).
        let text = value.get();
        let value = match text.as_bytes().first() {
            Some(b'"') => serde_json::from_str::<String>(text)
                .map_err(|e| format!("bad string for key {key:?}: {e}"))?,
            Some(b't') => String::from("true"),
            Some(b'f') => String::from("false"),
            Some(b'n') => String::new(),
            Some(b'[') => return Err(format!("value of key {key:?} is an array")),
            Some(b'{') => return Err(format!("value of key {key:?} is an object")),
            _ => String::from(text),
        };
        pairs.push((key, value));
    }
    Ok(pairs)
}

/// Column names with a sorted index, to match object keys to columns in
/// O(log n) whatever the key order.
#[derive(Clone, Debug, Default)]
pub struct ColumnIndex {
    names: Vec<String>,
    /// Indices into `names`, sorted by name.
    sorted: Vec<usize>,
}

impl ColumnIndex {
    /// Indexes `names` (which should be unique).
    pub fn new(names: &[String]) -> Self {
        let mut sorted: Vec<usize> = (0..names.len()).collect();
        sorted.sort_by(|&a, &b| names[a].cmp(&names[b]));
        ColumnIndex {
            names: names.to_vec(),
            sorted,
        }
    }

    /// The column named `key`.
    pub fn find(&self, key: &str) -> Option<usize> {
        self.sorted
            .binary_search_by(|&i| self.names[i].as_str().cmp(key))
            .ok()
            .map(|k| self.sorted[k])
    }
}

/// Orders an object's values by the columns. The object must have exactly
/// those keys, once each; the first missing, unexpected or repeated key is
/// the error.
pub fn to_row(pairs: Vec<(String, String)>, columns: &ColumnIndex) -> Result<Vec<String>, String> {
    let names = &columns.names;
    let mut slots: Vec<Option<String>> = Vec::new();
    slots.resize_with(names.len(), || None);
    for (i, (key, value)) in pairs.into_iter().enumerate() {
        // Objects usually list keys in column order: try that slot first.
        let col = if names.get(i) == Some(&key) {
            i
        } else {
            columns
                .find(&key)
                .ok_or_else(|| format!("unexpected key {key:?}"))?
        };
        if slots[col].replace(value).is_some() {
            return Err(format!("duplicate key {key:?}"));
        }
    }
    slots
        .into_iter()
        .zip(names)
        .map(|(slot, name)| slot.ok_or_else(|| format!("missing key {name:?}")))
        .collect()
}

/// The fast path for the usual line: a flat object whose keys are exactly
/// `columns`, each once, with values that are strings without escapes or
/// control characters, numbers, `true`, `false` or `null`. On `true`,
/// `values` holds, in column order, each value's text as a range of `line`
/// (the same text [`parse_object`] and [`to_row`] give). On `false` the
/// line is something else (escapes, a nested value, a missing or repeated
/// key, an error): take the general path, which reports any error.
///
/// On wasm32 it enables `simd128` for itself, so string scans use SIMD.
#[cfg_attr(target_arch = "wasm32", target_feature(enable = "simd128"))]
pub fn simple_row(line: &str, columns: &ColumnIndex, values: &mut Vec<Range<usize>>) -> bool {
    let b = line.as_bytes();
    let names = &columns.names;
    let n = names.len();
    // A bit set of filled columns; wide tables take the general path.
    if n > 256 {
        return false;
    }
    values.clear();
    values.resize(n, 0..0);
    let mut filled = [0u64; 4];
    let mut seen = 0usize;
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return false;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return n == 0 && skip_ws(b, i + 1) == b.len();
    }
    loop {
        let Some(key) = plain_string(b, i) else {
            return false;
        };
        let key_bytes = &b[key.clone()];
        // Objects usually list keys in column order: try that one first.
        let col = match names.get(seen) {
            Some(name) if same_bytes(name.as_bytes(), key_bytes) => seen,
            _ => match line.get(key.clone()).and_then(|k| columns.find(k)) {
                Some(col) => col,
                None => return false,
            },
        };
        let bit = 1u64 << (col % 64);
        if filled[col / 64] & bit != 0 {
            return false;
        }
        filled[col / 64] |= bit;
        i = skip_ws(b, key.end + 1);
        if b.get(i) != Some(&b':') {
            return false;
        }
        i = skip_ws(b, i + 1);
        let value = match b.get(i) {
            Some(b'"') => match plain_string(b, i) {
                Some(r) => r,
                None => return false,
            },
            Some(b'-' | b'0'..=b'9') => match number_end(b, i) {
                Some(end) => i..end,
                None => return false,
            },
            Some(b't') if b[i..].starts_with(b"true") => i..i + 4,
            Some(b'f') if b[i..].starts_with(b"false") => i..i + 5,
            Some(b'n') if b[i..].starts_with(b"null") => i + 4..i + 4,
            _ => return false,
        };
        // Past the value (a string's closing quote included).
        i = value.end + usize::from(b[i] == b'"');
        values[col] = value;
        seen += 1;
        i = skip_ws(b, i);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => return seen == n && skip_ws(b, i + 1) == b.len(),
            _ => return false,
        }
    }
}

/// JSON whitespace from `i` on. Most lines have none: that case is one
/// comparison, with the loop out of line.
#[inline(always)]
fn skip_ws(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b' ' | b'\t' | b'\n' | b'\r') => skip_more_ws(b, i + 1),
        _ => i,
    }
}

#[cold]
#[inline(never)]
fn skip_more_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// Byte equality, eight bytes at a time: a slice `==` lowers to a
/// byte-by-byte `bcmp` in the component, and every loop iteration there
/// also pays an interruption check.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    for (p, q) in (&mut x).zip(&mut y) {
        if u64::from_le_bytes(p.try_into().expect("8 bytes"))
            != u64::from_le_bytes(q.try_into().expect("8 bytes"))
        {
            return false;
        }
    }
    x.remainder().iter().zip(y.remainder()).all(|(p, q)| p == q)
}

/// The content range of the string starting with the `"` at `i`, if it has
/// no escape and no control character (else the general path decodes or
/// refuses it).
#[inline(always)]
fn plain_string(b: &[u8], i: usize) -> Option<Range<usize>> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let end = crate::scan::find_json_string_stop(b, i + 1);
    (b.get(end) == Some(&b'"')).then_some(i + 1..end)
}

/// The end of the JSON number starting at `i`, if it is one by JSON's
/// grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
#[inline(always)]
fn number_end(b: &[u8], mut i: usize) -> Option<usize> {
    fn digits(b: &[u8], mut i: usize) -> usize {
        while let Some(b'0'..=b'9') = b.get(i) {
            i += 1;
        }
        i
    }
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(b, i + 1),
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        let end = digits(b, i + 1);
        if end == i + 1 {
            return None;
        }
        i = end;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        let end = digits(b, i);
        if end == i {
            return None;
        }
        i = end;
    }
    Some(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv_reader::tests::Rng;
    use alloc::string::ToString;
    use alloc::vec;

    fn lines(
        input: &[u8],
        max: u64,
        cuts: &[usize],
    ) -> Vec<Result<(u64, String), (ErrorKind, u64)>> {
        let mut out = Vec::new();
        let mut r = LineReader::new(max);
        let mut sink = |ev: LineEvent<'_>| {
            out.push(match ev {
                LineEvent::Line(n, t) => Ok((n, t.to_string())),
                LineEvent::Error(e) => Err((e.kind, e.line)),
            })
        };
        let mut prev = 0;
        for &c in cuts {
            r.feed(&input[prev..c], &mut sink);
            prev = c;
        }
        r.feed(&input[prev..], &mut sink);
        r.finish(&mut sink);
        out
    }

    #[test]
    fn splits_lines() {
        let input = b"\xef\xbb\xbf{\"a\":1}\r\n\n  \r\n{\"a\":2}\n\xff\n{\"a\":3}";
        let want = vec![
            Ok((1, "{\"a\":1}".to_string())),
            Ok((4, "{\"a\":2}".to_string())),
            Err((ErrorKind::Encoding, 5)),
            Ok((6, "{\"a\":3}".to_string())),
        ];
        assert_eq!(lines(input, 100, &[]), want);
        let whole = lines(input, 100, &[]);
        let mut rng = Rng(3);
        for _ in 0..200 {
            let mut cuts: Vec<usize> = (0..rng.below(6))
                .map(|_| rng.below(input.len() as u64) as usize)
                .collect();
            cuts.sort_unstable();
            assert_eq!(lines(input, 100, &cuts), whole);
        }
    }

    #[test]
    fn long_lines_are_limited() {
        let got = lines(b"{\"a\":1}\n{\"a\":\"0123456789\"}\n{}\n", 10, &[3, 12]);
        assert_eq!(
            got,
            vec![
                Ok((1, "{\"a\":1}".into())),
                Err((ErrorKind::Limit, 2)),
                Ok((3, "{}".into()))
            ]
        );
        let got = lines(b"0123456789abc", 10, &[]);
        assert_eq!(got, vec![Err((ErrorKind::Limit, 1))]);
    }

    #[test]
    fn values_become_text() {
        let pairs = parse_object(
            r#"{"s":"a\"b\u00e9\n","i":42,"f":25.0,"e":1E5,"big":123456789012345678901234567890,"t":true,"f2":false,"n":null,"neg":-0.0}"#,
        )
        .unwrap();
        let values: Vec<&str> = pairs.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(
            values,
            vec![
                "a\"bé\n",
                "42",
                "25.0",
                "1E5",
                "123456789012345678901234567890",
                "true",
                "false",
                "",
                "-0.0"
            ]
        );
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, vec!["s", "i", "f", "e", "big", "t", "f2", "n", "neg"]);
    }

    #[test]
    fn rejects_non_scalars_and_non_objects() {
        assert!(parse_object(r#"{"a":[1]}"#).unwrap_err().contains("array"));
        assert!(
            parse_object(r#"{"a":{"b":1}}"#)
                .unwrap_err()
                .contains("object")
        );
        assert!(
            parse_object("[1,2]")
                .unwrap_err()
                .starts_with("not a JSON object")
        );
        assert!(parse_object("{\"a\":1").is_err());
        assert!(parse_object("{\"a\":1} x").is_err());
    }

    /// A random line that is usually a flat object of the columns, with
    /// every kind of value, key order, spacing and mistake mixed in.
    fn random_line(rng: &mut Rng) -> String {
        const KEYS: [&str; 5] = ["\"a\"", "\"b\"", "\"c\"", "\"z\"", "\"a\\u0062\""];
        const VALUES: [&str; 32] = [
            "\"x\"",
            "\"\"",
            "\"é中😀\"",
            "\"a,b\\\"c\"",
            "\"tab\\t\"",
            "\"\u{1}\"",
            "0",
            "-0",
            "42",
            "-12.50",
            "1E5",
            "1e+5",
            "2.5e-3",
            "01",
            "1.",
            "-",
            ".5",
            "1e",
            "123456789012345678901234567890",
            "true",
            "false",
            "null",
            "tru",
            "nul",
            "[1]",
            "{}",
            "\"unterminated",
            "1x",
            "NaN",
            "\"a\" ",
            " \"b\"",
            "\"\\u00e9\"",
        ];
        const SPACES: [&str; 4] = ["", " ", "\t", "\r"];
        let mut s = String::new();
        let pick = |rng: &mut Rng, options: &[&str]| {
            options[rng.below(options.len() as u64) as usize].to_string()
        };
        s += &pick(rng, &SPACES);
        s += if rng.below(20) == 0 { "[" } else { "{" };
        let n = rng.below(5);
        for k in 0..n {
            if k > 0 {
                s += &pick(rng, &SPACES);
                s += if rng.below(30) == 0 { ";" } else { "," };
            }
            s += &pick(rng, &SPACES);
            // Mostly the columns in order, sometimes shuffled or repeated.
            s += &if rng.below(4) == 0 {
                pick(rng, &KEYS)
            } else {
                KEYS[k as usize % 3].to_string()
            };
            s += &pick(rng, &SPACES);
            s += if rng.below(30) == 0 { "=" } else { ":" };
            s += &pick(rng, &SPACES);
            s += &if rng.below(3) == 0 {
                pick(rng, &VALUES)
            } else {
                pick(rng, &VALUES[..12])
            };
        }
        s += &pick(rng, &SPACES);
        s += if rng.below(20) == 0 { "" } else { "}" };
        if rng.below(20) == 0 {
            s += &pick(rng, &VALUES);
        }
        s += &pick(rng, &SPACES);
        s
    }

    #[test]
    fn the_fast_path_agrees_with_the_general_one() {
        let cols = ColumnIndex::new(&["a".into(), "b".into(), "c".into()]);
        let mut rng = Rng(11);
        let mut ranges = Vec::new();
        let (mut fast, mut general_ok) = (0, 0);
        for _ in 0..200_000 {
            let line = random_line(&mut rng);
            let general = parse_object(&line).and_then(|pairs| to_row(pairs, &cols));
            general_ok += usize::from(general.is_ok());
            if simple_row(&line, &cols, &mut ranges) {
                fast += 1;
                let values: Vec<&str> = ranges.iter().map(|r| &line[r.clone()]).collect();
                assert_eq!(
                    Ok(values),
                    general
                        .as_ref()
                        .map(|v| v.iter().map(String::as_str).collect::<Vec<_>>())
                        .map_err(|e| e.as_str()),
                    "{line}"
                );
            }
        }
        // Good lines without escapes (about half) take the fast path, so
        // the comparison means something.
        assert!(
            fast > 1000 && fast * 2 > general_ok,
            "{fast} fast of {general_ok} good"
        );
        let empty = ColumnIndex::new(&[]);
        assert!(simple_row(" {} ", &empty, &mut ranges) && ranges.is_empty());
        assert!(!simple_row("{}", &cols, &mut ranges));
    }

    #[test]
    fn rows_follow_columns() {
        let cols = ColumnIndex::new(&["a".into(), "b".into()]);
        let row = |s: &str| to_row(parse_object(s).unwrap(), &cols);
        assert_eq!(row(r#"{"a":1,"a":2}"#).unwrap_err(), "duplicate key \"a\"");
        assert_eq!(row(r#"{"b":1,"b":2}"#).unwrap_err(), "duplicate key \"b\"");
        assert_eq!(row(r#"{"b":2,"a":1}"#).unwrap(), vec!["1", "2"]);
        assert_eq!(row(r#"{"a":1}"#).unwrap_err(), "missing key \"b\"");
        assert_eq!(
            row(r#"{"a":1,"b":2,"c":3}"#).unwrap_err(),
            "unexpected key \"c\""
        );
    }
}
