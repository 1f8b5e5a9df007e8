//! What a csvseal signature states about its file: the trusted comment that
//! minisign's global signature covers.
//!
//! Version 1, tab-separated, in this order:
//! `csvseal-signature:1  file:NAME  rows:N  first_seq:A  last_seq:B
//! blake2b:HEX  prev:none|PREVNAME/HEX`, where A and B are `-` for a file
//! without rows and HEX is the lowercase BLAKE2b-512 of a file's bytes (what
//! `b2sum` prints, and minisign's prehash). The component parses it when it
//! checks a signature; the round trip is tested in `tests/signing.rs`.

use crate::error::{Error, Result};

/// The tag and version that open a csvseal trusted comment.
pub const TAG: &str = "csvseal-signature:1";

/// A file of a series, as a signature names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub file_name: String,
    pub blake2b: [u8; 64],
}

/// The facts a signature commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub file_name: String,
    pub rows: u64,
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// BLAKE2b-512 of the file's bytes.
    pub blake2b: [u8; 64],
    /// The file before it in its series; none for a series' first file.
    pub previous: Option<Link>,
}

impl Statement {
    /// The trusted comment. Fails for a name the grammar cannot carry
    /// (a tab, `/`, or another control character).
    pub fn trusted_comment(&self) -> Result<String> {
        check_name(&self.file_name)?;
        let seq = |s: Option<u64>| s.map_or_else(|| "-".to_owned(), |s| s.to_string());
        let prev = match &self.previous {
            None => "none".to_owned(),
            Some(link) => {
                check_name(&link.file_name)?;
                format!("{}/{}", link.file_name, hex::encode(link.blake2b))
            }
        };
        Ok(format!(
            "{TAG}\tfile:{}\trows:{}\tfirst_seq:{}\tlast_seq:{}\tblake2b:{}\tprev:{prev}",
            self.file_name,
            self.rows,
            seq(self.first_seq),
            seq(self.last_seq),
            hex::encode(self.blake2b),
        ))
    }
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.contains('/') || name.chars().any(char::is_control) {
        return Err(Error::Usage(format!(
            "file name {name:?}: cannot be signed (a signature names its file on one line, \
             without '/' or control characters)"
        )));
    }
    Ok(())
}

/// The BLAKE2b-512 a signature file's statement says its file has, read
/// without checking the signature: only to recognise the file it was made
/// for (`recover` finishing an interrupted commit), never to trust it.
pub fn stated_blake2b(signature_text: &str) -> Option<[u8; 64]> {
    let comment = signature_text
        .lines()
        .find_map(|l| l.strip_prefix("trusted comment: "))?;
    if !comment.starts_with(TAG) {
        return None;
    }
    let hex_digest = comment
        .split('\t')
        .find_map(|f| f.strip_prefix("blake2b:"))?;
    let mut digest = [0u8; 64];
    hex::decode_to_slice(hex_digest, &mut digest).ok()?;
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stated_digest_is_read_back_from_a_signature_file() {
        let comment = format!(
            "{TAG}\tfile:a.csv\trows:0\tfirst_seq:-\tlast_seq:-\tblake2b:{}\tprev:none",
            "cd".repeat(64)
        );
        let text = format!("untrusted comment: x\nRUQ=\ntrusted comment: {comment}\nRUQ=\n");
        assert_eq!(stated_blake2b(&text), Some([0xcd; 64]));
        assert_eq!(stated_blake2b(&text.replace(TAG, "other:1")), None);
        assert_eq!(stated_blake2b(&text.replace("cdcd", "zz")), None);
        assert_eq!(
            stated_blake2b("trusted comment: csvseal-signature:1\tfile:a"),
            None
        );
    }

    #[test]
    fn the_comment_follows_the_grammar() {
        let s = Statement {
            file_name: "t_20260101_000000.csv".into(),
            rows: 2,
            first_seq: Some(5),
            last_seq: Some(6),
            blake2b: [0xab; 64],
            previous: Some(Link {
                file_name: "t_20251231_000000.csv".into(),
                blake2b: [1; 64],
            }),
        };
        let c = s.trusted_comment().unwrap();
        assert!(c.starts_with("csvseal-signature:1\tfile:t_20260101_000000.csv\trows:2\tfirst_seq:5\tlast_seq:6\tblake2b:abab"));
        assert!(c.ends_with(&format!("\tprev:t_20251231_000000.csv/{}", "01".repeat(64))));
        let empty = Statement {
            rows: 0,
            first_seq: None,
            last_seq: None,
            previous: None,
            ..s.clone()
        };
        assert!(
            empty
                .trusted_comment()
                .unwrap()
                .contains("\tfirst_seq:-\tlast_seq:-\t")
        );
        assert!(empty.trusted_comment().unwrap().ends_with("\tprev:none"));
        let tab = Statement {
            file_name: "a\tb.csv".into(),
            ..s
        };
        assert!(tab.trusted_comment().is_err());
    }
}
