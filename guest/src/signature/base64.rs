//! Strict standard base64 (RFC 4648 §4, padded), as minisign writes it:
//! one canonical text per byte string, so a key or signature line has one
//! spelling and anything else is refused rather than guessed at.

use alloc::vec::Vec;

/// Why a base64 text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base64Error {
    /// The length is not a multiple of 4 (truncated or padded wrongly).
    Length,
    /// A byte outside the alphabet, or `=` anywhere but at the end.
    Character,
    /// The last character carries bits that no byte string produces.
    NonCanonical,
}

impl core::fmt::Display for Base64Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Base64Error::Length => {
                "base64 text of a length that is not a multiple of 4 (truncated?)"
            }
            Base64Error::Character => "a character that is not base64 (or misplaced '=')",
            Base64Error::NonCanonical => {
                "base64 text that is not canonical (non-zero trailing bits)"
            }
        })
    }
}

/// The 6-bit value of one alphabet byte.
fn sextet(b: u8) -> Option<u32> {
    Some(u32::from(match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    }))
}

/// Decodes `text`, refusing anything but the one canonical encoding.
pub fn decode(text: &[u8]) -> Result<Vec<u8>, Base64Error> {
    if !text.len().is_multiple_of(4) {
        return Err(Base64Error::Length);
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let groups = text.len() / 4;
    for (i, group) in text.chunks_exact(4).enumerate() {
        let pad = group.iter().rev().take_while(|&&b| b == b'=').count();
        // Padding only closes the last group, and at most two of it.
        if pad > 2 || (pad > 0 && i + 1 != groups) {
            return Err(Base64Error::Character);
        }
        let mut acc = 0u32;
        for &b in &group[..4 - pad] {
            acc = (acc << 6) | sextet(b).ok_or(Base64Error::Character)?;
        }
        acc <<= 6 * pad as u32;
        let bytes = acc.to_be_bytes();
        let keep = 3 - pad;
        // The bits below the kept bytes must be zero: one spelling only.
        if bytes[1 + keep..].iter().any(|&b| b != 0) {
            return Err(Base64Error::NonCanonical);
        }
        out.extend_from_slice(&bytes[1..1 + keep]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_rfc_4648_vectors() {
        let cases: [(&str, &str); 7] = [
            ("", ""),
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYg==", "foob"),
            ("Zm9vYmE=", "fooba"),
            ("Zm9vYmFy", "foobar"),
        ];
        for (text, bytes) in cases {
            assert_eq!(decode(text.as_bytes()).unwrap(), bytes.as_bytes(), "{text}");
        }
        assert_eq!(decode(b"+/+/").unwrap(), [0xfb, 0xff, 0xbf]);
    }

    #[test]
    fn refuses_everything_else() {
        assert_eq!(decode(b"Zm9"), Err(Base64Error::Length));
        assert_eq!(decode(b"Zm9vY"), Err(Base64Error::Length));
        assert_eq!(decode(b"Zm=v"), Err(Base64Error::Character));
        assert_eq!(decode(b"Z==="), Err(Base64Error::Character));
        assert_eq!(decode(b"Zg==Zm9v"), Err(Base64Error::Character));
        assert_eq!(decode(b"Zm9-"), Err(Base64Error::Character));
        assert_eq!(decode(b"Zm9 "), Err(Base64Error::Character));
        assert_eq!(decode("Zm9é".as_bytes()), Err(Base64Error::Length));
        // "Zh==" decodes to 'f' too, with stray low bits.
        assert_eq!(decode(b"Zh=="), Err(Base64Error::NonCanonical));
        assert_eq!(decode(b"Zm+="), Err(Base64Error::NonCanonical));
    }
}
