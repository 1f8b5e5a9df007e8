//! Input encodings: a non-UTF-8 input is transcoded to UTF-8 here, in the
//! host, as it streams to the sealer (the component reads UTF-8 only).
//!
//! Decoding is strict: a byte sequence that is not valid in the named
//! encoding stops the write with its line and byte offset, never a
//! replacement character. Chunk boundaries may fall anywhere, inside a
//! UTF-16 code unit or surrogate pair included: `encoding_rs` keeps the
//! partial sequence for the next chunk.

use std::fmt;
use std::io::{self, Read};

use encoding_rs::{Decoder, DecoderResult, UTF_16BE, UTF_16LE, WINDOWS_1252};

/// The character encoding of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputEncoding {
    /// UTF-8, the default: passed through untouched. The component checks
    /// it (a bad byte is an `encoding` error with its line and column) and
    /// drops a leading byte-order mark.
    #[default]
    Utf8,
    /// UTF-16 whose byte-order mark (at the start, required) gives the
    /// byte order.
    Utf16,
    /// UTF-16 little-endian (a leading byte-order mark is dropped).
    Utf16Le,
    /// UTF-16 big-endian (a leading byte-order mark is dropped).
    Utf16Be,
    /// Windows-1252, what most "ANSI" exports are. Its five undefined bytes
    /// (0x81, 0x8D, 0x8F, 0x90, 0x9D) are refused.
    Windows1252,
    /// ISO-8859-1: each byte is the character of the same number, so no
    /// byte is ever refused.
    Latin1,
}

impl InputEncoding {
    /// Every encoding, by its name.
    pub const ALL: [(&'static str, InputEncoding); 6] = [
        ("utf-8", InputEncoding::Utf8),
        ("utf-16", InputEncoding::Utf16),
        ("utf-16le", InputEncoding::Utf16Le),
        ("utf-16be", InputEncoding::Utf16Be),
        ("windows-1252", InputEncoding::Windows1252),
        ("latin-1", InputEncoding::Latin1),
    ];

    /// The encoding called `name` (case-insensitive; `utf8`, `cp1252`,
    /// `iso-8859-1` and the like are accepted too).
    pub fn parse(name: &str) -> Result<Self, String> {
        let n = name.to_ascii_lowercase().replace('_', "-");
        let found = match n.as_str() {
            "utf-8" | "utf8" => InputEncoding::Utf8,
            "utf-16" | "utf16" => InputEncoding::Utf16,
            "utf-16le" | "utf16le" => InputEncoding::Utf16Le,
            "utf-16be" | "utf16be" => InputEncoding::Utf16Be,
            "windows-1252" | "cp1252" | "win-1252" => InputEncoding::Windows1252,
            "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" => InputEncoding::Latin1,
            _ => {
                let names: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
                return Err(format!(
                    "unknown encoding {name:?}: use one of {}",
                    names.join(", ")
                ));
            }
        };
        Ok(found)
    }

    /// The encoding's name, as [`InputEncoding::parse`] takes it.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, e)| *e == self)
            .map_or("utf-8", |(n, _)| n)
    }
}

impl fmt::Display for InputEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Bytes of `input` that are not valid in the encoding, located. Carried
/// inside the `io::Error` (kind `InvalidData`) that [`Transcoder`]'s `read`
/// returns; [`DecodeError::find`] gets it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub encoding: InputEncoding,
    /// 1-based line (counted by the line feeds decoded before it).
    pub line: u64,
    /// 0-based offset of the first bad byte in the input.
    pub offset: u64,
    /// The bad bytes.
    pub bytes: Vec<u8>,
    /// The input ends inside a character (the bytes are its start).
    pub truncated: bool,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex: Vec<String> = self.bytes.iter().map(|b| format!("0x{b:02X}")).collect();
        let at = format!("at byte offset {}", self.offset);
        if self.truncated {
            write!(
                f,
                "the input ends inside a {} character ({} {at})",
                self.encoding,
                hex.join(" ")
            )
        } else if self.encoding == InputEncoding::Utf16 && self.offset == 0 {
            write!(
                f,
                "no UTF-16 byte-order mark at the start (found {}): give utf-16le or utf-16be",
                if hex.is_empty() {
                    "nothing".to_owned()
                } else {
                    hex.join(" ")
                }
            )
        } else {
            write!(f, "{} {at} is not valid {}", hex.join(" "), self.encoding)
        }
    }
}

impl std::error::Error for DecodeError {}

impl DecodeError {
    /// The decode error an I/O error from [`Transcoder`] carries, if any.
    pub fn find(e: &io::Error) -> Option<&DecodeError> {
        e.get_ref()?.downcast_ref::<DecodeError>()
    }
}

const BLOCK: usize = 64 * 1024;
/// The longest malformed sequence `encoding_rs` reports for UTF-16 is 3 bytes.
const RECENT: usize = 4;
const UNDEFINED_IN_1252: [u8; 5] = [0x81, 0x8D, 0x8F, 0x90, 0x9D];

enum Engine {
    /// UTF-16 with a required byte-order mark: chosen once it is read.
    Utf16Pending,
    Decoder(Decoder),
    Latin1,
}

/// A reader that yields `inner`'s text as UTF-8.
pub struct Transcoder<R> {
    inner: R,
    encoding: InputEncoding,
    engine: Engine,
    input: Vec<u8>,
    /// Unread input bytes are `input[start..end]`.
    start: usize,
    end: usize,
    eof: bool,
    /// Decoded bytes not yet returned: `out[out_pos..]`.
    out: Vec<u8>,
    out_pos: usize,
    /// Input bytes consumed, and line feeds decoded, so far.
    consumed: u64,
    /// The last few bytes consumed: a bad sequence may start in them.
    recent: Vec<u8>,
    lines: u64,
    done: bool,
}

impl<R: Read> Transcoder<R> {
    /// Decodes `inner` from `encoding` (not [`InputEncoding::Utf8`], which
    /// needs no transcoding).
    pub fn new(inner: R, encoding: InputEncoding) -> Self {
        let engine = match encoding {
            InputEncoding::Utf8 => {
                Engine::Decoder(encoding_rs::UTF_8.new_decoder_with_bom_removal())
            }
            InputEncoding::Utf16 => Engine::Utf16Pending,
            InputEncoding::Utf16Le => Engine::Decoder(UTF_16LE.new_decoder_with_bom_removal()),
            InputEncoding::Utf16Be => Engine::Decoder(UTF_16BE.new_decoder_with_bom_removal()),
            InputEncoding::Windows1252 => {
                Engine::Decoder(WINDOWS_1252.new_decoder_without_bom_handling())
            }
            InputEncoding::Latin1 => Engine::Latin1,
        };
        Transcoder {
            inner,
            encoding,
            engine,
            input: vec![0; BLOCK],
            start: 0,
            end: 0,
            eof: false,
            out: Vec::new(),
            out_pos: 0,
            consumed: 0,
            recent: Vec::new(),
            lines: 0,
            done: false,
        }
    }

    fn error(&self, offset: u64, bytes: &[u8], truncated: bool) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            DecodeError {
                encoding: self.encoding,
                line: self.lines + 1,
                offset,
                bytes: bytes.to_vec(),
                truncated,
            },
        )
    }

    /// Reads more input into `input[end..]`, keeping what is unread.
    fn refill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.input.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        loop {
            match self.inner.read(&mut self.input[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Decodes the next block of input into `out`.
    fn decode_more(&mut self) -> io::Result<()> {
        if let Engine::Utf16Pending = self.engine {
            while self.end - self.start < 2 && !self.eof {
                self.refill()?;
            }
            self.engine = match &self.input[self.start..self.end.min(self.start + 2)] {
                [0xFF, 0xFE] => Engine::Decoder(UTF_16LE.new_decoder_with_bom_removal()),
                [0xFE, 0xFF] => Engine::Decoder(UTF_16BE.new_decoder_with_bom_removal()),
                first => {
                    let first = first.to_vec();
                    return Err(self.error(0, &first, false));
                }
            };
        }
        if self.start == self.end && !self.eof {
            self.refill()?;
        }
        let src = &self.input[self.start..self.end];
        let last = self.eof;
        self.out.clear();
        self.out_pos = 0;
        let read = match &mut self.engine {
            Engine::Latin1 => {
                self.out.resize(src.len() * 2, 0);
                let written = encoding_rs::mem::convert_latin1_to_utf8(src, &mut self.out);
                self.out.truncate(written);
                src.len()
            }
            Engine::Decoder(decoder) => {
                if self.encoding == InputEncoding::Windows1252
                    && let Some(i) = src.iter().position(|b| UNDEFINED_IN_1252.contains(b))
                {
                    // A single-byte encoding: the line feeds before it are bytes.
                    self.lines += src[..i].iter().filter(|&&b| b == b'\n').count() as u64;
                    let offset = self.consumed + i as u64;
                    let bad = [src[i]];
                    return Err(self.error(offset, &bad, false));
                }
                let most = decoder
                    .max_utf8_buffer_length_without_replacement(src.len())
                    .unwrap_or(src.len() * 3 + 16);
                self.out.resize(most, 0);
                let (result, read, written) =
                    decoder.decode_to_utf8_without_replacement(src, &mut self.out, last);
                self.out.truncate(written);
                if let DecoderResult::Malformed(bad, after) = result {
                    self.lines += self.out.iter().filter(|&&b| b == b'\n').count() as u64;
                    // The bad sequence may have begun in an earlier chunk:
                    // locate it in the whole input, read it from `recent`.
                    let bad_end = read - usize::from(after);
                    let end = self.consumed + bad_end as u64;
                    let offset = end - u64::from(bad);
                    let mut seen = self.recent.clone();
                    seen.extend_from_slice(&src[..bad_end]);
                    let bytes = seen[seen.len().saturating_sub(usize::from(bad))..].to_vec();
                    // A sequence cut short by the end of input.
                    let truncated = last && bad_end == src.len();
                    return Err(self.error(offset, &bytes, truncated));
                }
                read
            }
            Engine::Utf16Pending => unreachable!("resolved above"),
        };
        self.lines += self.out.iter().filter(|&&b| b == b'\n').count() as u64;
        let src = &self.input[self.start..self.start + read];
        self.recent
            .extend_from_slice(&src[src.len().saturating_sub(RECENT)..]);
        let excess = self.recent.len().saturating_sub(RECENT);
        self.recent.drain(..excess);
        self.start += read;
        self.consumed += read as u64;
        if last && self.start == self.end {
            self.done = true;
        }
        Ok(())
    }
}

impl<R: Read> Read for Transcoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_pos == self.out.len() {
            if self.done {
                return Ok(0);
            }
            self.decode_more()?;
        }
        let n = buf.len().min(self.out.len() - self.out_pos);
        buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
        self.out_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out `n` bytes per read: every chunk boundary gets exercised.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(self.1);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn decode(bytes: &[u8], enc: InputEncoding, step: usize) -> Result<String, DecodeError> {
        let mut out = String::new();
        Transcoder::new(Trickle(bytes, step), enc)
            .read_to_string(&mut out)
            .map(|_| out)
            .map_err(|e| DecodeError::find(&e).expect("a decode error").clone())
    }

    fn utf16(text: &str, le: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let units = bom.then_some(0xFEFF).into_iter().chain(text.encode_utf16());
        for u in units {
            out.extend(if le { u.to_le_bytes() } else { u.to_be_bytes() });
        }
        out
    }

    const TEXT: &str = "name,note\nZürich,€ 5 😀\n取引,\"a\nb\"\n";

    #[test]
    fn utf16_in_any_chunking() {
        for step in [1, 2, 3, 7, 4096] {
            for le in [true, false] {
                let enc = if le {
                    InputEncoding::Utf16Le
                } else {
                    InputEncoding::Utf16Be
                };
                assert_eq!(
                    decode(&utf16(TEXT, le, true), InputEncoding::Utf16, step).unwrap(),
                    TEXT
                );
                assert_eq!(decode(&utf16(TEXT, le, true), enc, step).unwrap(), TEXT);
                assert_eq!(decode(&utf16(TEXT, le, false), enc, step).unwrap(), TEXT);
            }
        }
    }

    #[test]
    fn a_surrogate_pair_across_the_block_boundary() {
        // 😀 is two UTF-16 units: put them either side of the 64 KiB block.
        let mut text = "x".repeat(BLOCK / 2 - 3);
        text.push_str("\n😀\n");
        let bytes = utf16(&text, true, true);
        assert_eq!(&bytes[BLOCK - 2..BLOCK], &0xD83Du16.to_le_bytes());
        assert_eq!(decode(&bytes, InputEncoding::Utf16, BLOCK).unwrap(), text);
    }

    #[test]
    fn bad_utf16_is_located() {
        let mut bytes = utf16("a,b\nc,", true, true);
        let offset = bytes.len() as u64;
        bytes.extend(0xDC00u16.to_le_bytes()); // a lone low surrogate
        bytes.extend(utf16("d\n", true, false));
        for step in [1, 5, 1000] {
            let e = decode(&bytes, InputEncoding::Utf16, step).unwrap_err();
            assert_eq!((e.line, e.offset, e.truncated), (2, offset, false), "{e}");
            assert!(e.to_string().contains("is not valid utf-16"), "{e}");
        }
        // Cut inside a character.
        let mut cut = utf16("a\n", true, true);
        cut.push(b'b');
        let e = decode(&cut, InputEncoding::Utf16, 1).unwrap_err();
        assert!(e.truncated, "{e}");
        assert_eq!((e.line, e.offset), (2, 6));
        // No byte-order mark: the byte order is unknown.
        let e = decode(&utf16("a\n", true, false), InputEncoding::Utf16, 2).unwrap_err();
        assert!(e.to_string().contains("utf-16le or utf-16be"), "{e}");
    }

    #[test]
    fn windows_1252_and_latin_1() {
        let bytes = b"a,b\n\x80 5,Z\xfcrich\n";
        assert_eq!(
            decode(bytes, InputEncoding::Windows1252, 3).unwrap(),
            "a,b\n€ 5,Zürich\n"
        );
        assert_eq!(
            decode(bytes, InputEncoding::Latin1, 3).unwrap(),
            "a,b\n\u{80} 5,Zürich\n"
        );
        for step in [1, 4, 100] {
            let e = decode(b"a,b\nc,d\nx\x81y\n", InputEncoding::Windows1252, step).unwrap_err();
            assert_eq!(
                (e.line, e.offset, e.bytes.clone()),
                (3, 9, vec![0x81]),
                "{e}"
            );
            assert_eq!(
                e.to_string(),
                "0x81 at byte offset 9 is not valid windows-1252"
            );
        }
    }

    #[test]
    fn names() {
        for (name, enc) in InputEncoding::ALL {
            assert_eq!(InputEncoding::parse(name), Ok(enc));
            assert_eq!(enc.name(), name);
        }
        assert_eq!(
            InputEncoding::parse("CP1252"),
            Ok(InputEncoding::Windows1252)
        );
        assert_eq!(
            InputEncoding::parse("ISO-8859-1"),
            Ok(InputEncoding::Latin1)
        );
        assert!(
            InputEncoding::parse("ebcdic")
                .unwrap_err()
                .contains("utf-16le")
        );
    }
}
