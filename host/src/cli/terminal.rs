//! Human output is text from hostile files (column names, values in
//! messages, file names in a listed directory, a plugin's report): before
//! any of it reaches a terminal, every control character but newline and
//! tab is escaped, so a header cannot retitle the window, clear the screen
//! or hide a line. JSON output escapes the same characters its own way
//! ([`json_safe`]).

use std::borrow::Cow;
use std::io::{self, Write};

/// Whether `c` must not reach a terminal raw: C0 controls but newline and
/// tab, DEL, C1 controls (some terminals read U+009B as CSI), and the
/// bidirectional overrides and isolates that reorder what a line shows.
fn is_unsafe(c: char) -> bool {
    matches!(c, '\0'..='\x08' | '\x0b'..='\x1f' | '\x7f'..='\u{9f}')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every unsafe character written as `\x1b` (C0 and DEL) or
/// `\u{9b}` (the rest); borrowed when there is none.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            c if !is_unsafe(c) => out.push(c),
            c if (c as u32) < 0x80 => out += &format!("\\x{:02x}", c as u32),
            c => out += &format!("\\u{{{:x}}}", c as u32),
        }
    }
    Cow::Owned(out)
}

/// Serialized JSON with every [`is_unsafe`] character that serde_json
/// leaves raw (it escapes only C0) written as `\uXXXX`: the same document,
/// safe to print.
pub fn json_safe(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_unsafe) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        match c {
            c if is_unsafe(c) => out += &format!("\\u{:04x}", c as u32),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A writer that [`escape`]s all text written through it. Everything the
/// CLI writes is formatted text, so each write is UTF-8 (bytes that are not
/// are written as `\xNN`).
pub struct Escaping<W: Write>(pub W);

impl<W: Write> Write for Escaping<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match std::str::from_utf8(buf) {
                Ok(text) => return self.0.write_all(escape(text).as_bytes()),
                Err(e) => {
                    let (good, rest) = buf.split_at(e.valid_up_to());
                    let text = std::str::from_utf8(good).expect("valid up to here");
                    self.0.write_all(escape(text).as_bytes())?;
                    let bad = e.error_len().unwrap_or(rest.len());
                    for b in &rest[..bad] {
                        write!(self.0, "\\x{b:02x}")?;
                    }
                    buf = &rest[bad..];
                }
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// A writer that passes serialized JSON through [`json_safe`]. Each write
/// must hold whole characters (a log line is written in one piece).
pub struct JsonSafe<W: Write>(pub W);

impl<W: Write> Write for JsonSafe<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match std::str::from_utf8(buf) {
            Ok(text) => self.0.write_all(json_safe(text).as_bytes()),
            // Not text: nothing of ours; written as is rather than lost.
            Err(_) => self.0.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_drives_a_terminal_and_keeps_the_rest() {
        let hostile = "\x1b]0;PWNED\x07\x1b[2J\r\u{9b}31m\u{202e}txt.exe";
        assert_eq!(
            escape(hostile),
            "\\x1b]0;PWNED\\x07\\x1b[2J\\x0d\\u{9b}31m\\u{202e}txt.exe"
        );
        let fine = "a\tb\ncafé 日本語 😀";
        assert!(matches!(escape(fine), Cow::Borrowed(s) if s == fine));
    }

    #[test]
    fn a_writer_escapes_text_and_stray_bytes() {
        let mut w = Escaping(Vec::new());
        w.write_all(b"ok \x1b[2J \xff\xfe end\n").unwrap();
        assert_eq!(w.0, b"ok \\x1b[2J \\xff\\xfe end\n");
    }

    #[test]
    fn json_keeps_its_meaning_without_raw_c1_or_del() {
        let doc = serde_json::json!({ "c": "\x1b[2J\u{9b}x\x7f\u{202e}" });
        let text = serde_json::to_string(&doc).unwrap();
        let safe = json_safe(&text);
        assert!(!safe.chars().any(is_unsafe), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, doc);
    }
}
