//! A CSV writer byte-identical to Python's `csv.writer` with its defaults:
//! `,` delimiter, `"` quote doubled inside quoted fields, `QUOTE_MINIMAL`,
//! `\r\n` line terminator.
//!
//! The policy's own tooling writes sealed files with `csv.writer`; writing
//! the same bytes means a file sealed by csvseal and one sealed by the
//! reference script are indistinguishable.

use alloc::vec::Vec;

use crate::scan::find_unquoted_stop;

/// Appends one field, quoted if needed.
///
/// Quoting is needed exactly for fields holding the delimiter, the quote
/// character or a line terminator character (Python also quotes any `\r`
/// or `\n`): the bytes [`find_unquoted_stop`] looks for. On wasm32 this
/// function enables `simd128` for that scan.
#[cfg_attr(target_arch = "wasm32", target_feature(enable = "simd128"))]
pub fn write_field(out: &mut Vec<u8>, field: &[u8]) {
    if find_unquoted_stop(field, 0) == field.len() {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    let mut rest = field;
    while let Some(q) = rest.iter().position(|&b| b == b'"') {
        out.extend_from_slice(&rest[..=q]);
        out.push(b'"');
        rest = &rest[q + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

/// Appends one record and its `\r\n` terminator.
///
/// Like Python, a record made of a single empty field is written `""`, so
/// that it does not read back as a blank line.
pub fn write_record<'a, I>(out: &mut Vec<u8>, fields: I)
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let start = out.len();
    let mut count = 0usize;
    for field in fields {
        if count > 0 {
            out.push(b',');
        }
        write_field(out, field);
        count += 1;
    }
    if count == 1 && out.len() == start {
        out.extend_from_slice(b"\"\"");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(rows: &[&[&str]]) -> Vec<u8> {
        let mut out = Vec::new();
        for row in rows {
            write_record(&mut out, row.iter().map(|s| s.as_bytes()));
        }
        out
    }

    #[test]
    fn matches_python_csv_writer() {
        // python3 -c 'import csv,io; s=io.StringIO(); w=csv.writer(s);
        //   [w.writerow(r) for r in ROWS]; print(repr(s.getvalue()))'
        let rows: &[&[&str]] = &[
            &["a", "b"],
            &["a,b", "q\"q"],
            &["line\nbreak", "cr\rx"],
            &["crlf\r\nz", ""],
            &[""],
            &[" sp ", "|pipe|"],
            &["é中😀", "x"],
            &["\"", ""],
            &[""],
            &["", ""],
            &["tab\t", "semi;"],
        ];
        let expected = "a,b\r\n\"a,b\",\"q\"\"q\"\r\n\"line\nbreak\",\"cr\rx\"\r\n\"crlf\r\nz\",\r\n\"\"\r\n sp ,|pipe|\r\né中😀,x\r\n\"\"\"\",\r\n\"\"\r\n,\r\ntab\t,semi;\r\n";
        assert_eq!(String::from_utf8(write(rows)).unwrap(), expected);
    }

    #[test]
    fn written_records_read_back() {
        use crate::csv_reader::tests::{Ev, cfg, read_split};
        let rows: &[&[&str]] = &[&["x\"y", "a,\r\nb"], &[""], &["", ""]];
        let bytes = write(rows);
        let evs = read_split(cfg(true), &bytes, &[]);
        let back: Vec<Vec<String>> = evs
            .into_iter()
            .map(|e| match e {
                Ev::Rec(_, f) => f,
                other => panic!("{other:?}"),
            })
            .collect();
        let want: Vec<Vec<String>> = rows
            .iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect())
            .collect();
        assert_eq!(back, want);
    }
}
