//! Sealed output in the policy's dialect, written by `csv-core`'s `Writer`.
//!
//! The policy's tooling writes sealed files with Python's `csv.writer` and
//! its defaults: `,` delimiter, `"` quote doubled inside quoted fields,
//! `QUOTE_MINIMAL`, `\r\n` line terminator, and a record of one empty field
//! written `""`. `csv-core`'s `Writer` with a `\r\n` terminator and its other
//! defaults (`QuoteStyle::Necessary`) writes exactly those bytes: it quotes
//! a field holding the delimiter, the quote, `\r` or `\n`, and nothing else
//! (the unit test below and `tests/python_compat.rs` compare with Python).
//! So a file sealed by csvseal and one sealed by the reference script are
//! indistinguishable.

use alloc::vec::Vec;

use csv_core::{Terminator, WriteResult, Writer, WriterBuilder};

/// Appends records in the policy's dialect to a byte buffer.
///
/// csv-core writes into an initialized slice, never into a `Vec`'s spare
/// room, so each record is assembled in `row`, a buffer that only grows (its
/// bytes are overwritten, never zeroed again), and appended to the output
/// whole at its terminator: one copy per record, no zeroing per field.
#[derive(Debug)]
pub struct PolicyWriter {
    inner: Writer,
    row: Vec<u8>,
    /// Bytes of the current record in `row`.
    len: usize,
}

impl Default for PolicyWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl PolicyWriter {
    /// A writer at the start of a record.
    pub fn new() -> Self {
        PolicyWriter {
            inner: WriterBuilder::new().terminator(Terminator::CRLF).build(),
            row: Vec::new(),
            len: 0,
        }
    }

    /// Bytes of the current record not yet appended to the output: a field
    /// written next starts at `out.len() + pending()` once appended.
    #[inline]
    pub fn pending(&self) -> usize {
        self.len
    }

    /// Writes one whole field, quoted if needed. Between fields call
    /// [`Self::delimiter`]; after the last, [`Self::terminator`].
    #[inline]
    pub fn field(&mut self, field: &[u8]) {
        // The most a field can take: two quotes and every byte doubled;
        // for a large field, counted exactly (only quotes double), so that
        // a field near the record cap does not take twice its size.
        let most = if field.len() > LARGE_FIELD {
            2 + field.len() + field.iter().filter(|&&b| b == b'"').count()
        } else {
            2 + 2 * field.len()
        };
        let room = room(&mut self.row, self.len, most);
        let (result, read, written) = self.inner.field(field, room);
        debug_assert!(result == WriteResult::InputEmpty && read == field.len());
        self.len += written;
    }

    /// Writes a field that never needs quotes (digits, hex), as is: csv-core
    /// would only scan it to learn that. Not for a record's only field.
    #[inline]
    pub fn plain(&mut self, field: &[u8]) {
        debug_assert!(!self.inner.should_quote(field));
        crate::short_bytes::copy(room(&mut self.row, self.len, field.len()), field);
        self.len += field.len();
    }

    /// Writes fields that are already in the output's form, `,` between
    /// them included (an unquoted input record copied whole).
    #[inline]
    pub fn verbatim(&mut self, fields: &[u8]) {
        crate::short_bytes::copy(room(&mut self.row, self.len, fields.len()), fields);
        self.len += fields.len();
    }

    /// Ends the current field (its closing quote, if any) and writes `,`.
    #[inline]
    pub fn delimiter(&mut self) {
        let room = room(&mut self.row, self.len, 2);
        let (result, written) = self.inner.delimiter(room);
        debug_assert_eq!(result, WriteResult::InputEmpty);
        self.len += written;
    }

    /// Ends the record (closing quote, `""` for a record of one empty
    /// field, `\r\n`) and appends it to `out`.
    #[inline]
    pub fn terminator(&mut self, out: &mut Vec<u8>) {
        let room = room(&mut self.row, self.len, 4);
        let (result, written) = self.inner.terminator(room);
        debug_assert_eq!(result, WriteResult::InputEmpty);
        crate::short_bytes::extend(out, &self.row[..self.len + written]);
        self.len = 0;
    }

    /// Appends one record and its terminator.
    pub fn record<'a, I>(&mut self, out: &mut Vec<u8>, fields: I)
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        for (i, field) in fields.into_iter().enumerate() {
            if i > 0 {
                self.delimiter();
            }
            self.field(field);
        }
        self.terminator(out);
    }
}

/// Fields larger than this get exactly the room they need.
const LARGE_FIELD: usize = 64 << 10;

/// Past this size the row buffer grows by half, not double: it may hold a
/// record near the cap.
const DOUBLE_UP_TO: usize = 1 << 20;

/// Room for `n` more bytes after `row[..len]`, initialized.
#[inline]
fn room(row: &mut Vec<u8>, len: usize, n: usize) -> &mut [u8] {
    let end = len + n;
    if row.len() < end {
        let grown = if row.len() < DOUBLE_UP_TO {
            2 * row.len()
        } else {
            row.len() + row.len() / 2
        };
        let new_len = end.max(grown);
        row.reserve_exact(new_len - row.len());
        row.resize(new_len, 0);
    }
    &mut row[len..]
}

/// Appends one record and its `\r\n` terminator (a one-off [`PolicyWriter`]).
pub fn write_record<'a, I>(out: &mut Vec<u8>, fields: I)
where
    I: IntoIterator<Item = &'a [u8]>,
{
    PolicyWriter::new().record(out, fields);
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
    fn plain_fields_are_written_as_csv_core_writes_them() {
        // The sealer writes file_seq and the checksum with `plain`.
        let mut a = Vec::new();
        let mut w = PolicyWriter::new();
        w.plain(b"18446744073709551615");
        w.delimiter();
        w.field(b"x,\"y\"");
        w.delimiter();
        w.plain(b"0123456789abcdef");
        w.terminator(&mut a);
        let mut b = Vec::new();
        write_record(
            &mut b,
            [
                &b"18446744073709551615"[..],
                b"x,\"y\"",
                b"0123456789abcdef",
            ],
        );
        assert_eq!(a, b);
        assert_eq!(
            a,
            b"18446744073709551615,\"x,\"\"y\"\"\",0123456789abcdef\r\n"
        );
    }

    #[test]
    fn long_fields_grow_the_row_buffer() {
        let long = "\"".repeat(1000);
        let out = write(&[&[&long, "a"], &["b"]]);
        let want = format!("\"{}\",a\r\nb\r\n", "\"".repeat(2000));
        assert_eq!(String::from_utf8(out).unwrap(), want);
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
