//! The trusted comment of a csvseal signature, version 1: what the signer
//! states about the file, covered by minisign's global signature.
//!
//! ```text
//! csvseal-signature:1<TAB>file:NAME<TAB>rows:N<TAB>first_seq:A<TAB>last_seq:B<TAB>blake2b:HEX128<TAB>prev:none
//! ```
//! or `prev:PREVNAME/HEX128` for a file that continues a series. `A` and
//! `B` are `-` when the file has no rows. HEX is lowercase BLAKE2b-512.

use alloc::format;
use alloc::string::{String, ToString};

use super::{ChainLink, SignedClaims};

/// The tag that makes a trusted comment csvseal's.
pub const TAG: &str = "csvseal-signature:";

/// What a trusted comment is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comment {
    /// Not csvseal's: a plain minisign signature, with no claims.
    Plain,
    /// csvseal's claims.
    Claims(SignedClaims),
    /// Tagged as csvseal's but unreadable, or of another version: why.
    Unreadable(String),
}

/// Reads a trusted comment.
pub fn parse(comment: &str) -> Comment {
    let Some(rest) = comment.strip_prefix(TAG) else {
        return Comment::Plain;
    };
    match parse_v1(rest) {
        Ok(claims) => Comment::Claims(claims),
        Err(why) => Comment::Unreadable(format!(
            "the signature's trusted comment is csvseal's but unreadable: {why}"
        )),
    }
}

/// The trusted comment that states `claims` (what the signer writes).
pub fn format(claims: &SignedClaims) -> String {
    let seq = |s: Option<u64>| s.map_or_else(|| "-".to_string(), |n| n.to_string());
    let prev = match &claims.previous {
        None => "none".to_string(),
        Some(p) => format!("{}/{}", p.file_name, p.blake2b),
    };
    format!(
        "{TAG}1\tfile:{}\trows:{}\tfirst_seq:{}\tlast_seq:{}\tblake2b:{}\tprev:{prev}",
        claims.file_name,
        claims.rows,
        seq(claims.first_seq),
        seq(claims.last_seq),
        claims.blake2b
    )
}

/// `rest`: the comment after the tag.
fn parse_v1(rest: &str) -> Result<SignedClaims, String> {
    let mut fields = rest.split('\t');
    let version = fields.next().unwrap_or_default();
    if version != "1" {
        return Err(format!(
            "version {:?} is not supported (only 1)",
            shorten(version)
        ));
    }
    let mut field = |key: &'static str| -> Result<&str, String> {
        let f = fields
            .next()
            .ok_or_else(|| format!("the field '{key}:' is missing"))?;
        f.strip_prefix(key)
            .and_then(|v| v.strip_prefix(':'))
            .ok_or_else(|| format!("expected the field '{key}:', found {:?}", shorten(f)))
    };
    let file_name = file_name(field("file")?)?.to_string();
    let rows = number(field("rows")?).ok_or("'rows:' is not a number")?;
    let first_seq = seq(field("first_seq")?).ok_or("'first_seq:' is not a number or '-'")?;
    let last_seq = seq(field("last_seq")?).ok_or("'last_seq:' is not a number or '-'")?;
    let blake2b = hex128(field("blake2b")?).ok_or("'blake2b:' is not 128 lowercase hex digits")?;
    let previous = match field("prev")? {
        "none" => None,
        link => {
            let (name, hash) = link
                .rsplit_once('/')
                .ok_or("'prev:' is neither 'none' nor NAME/BLAKE2B")?;
            Some(ChainLink {
                file_name: file_name_of(name, "prev")?.to_string(),
                blake2b: hex128(hash)
                    .ok_or("'prev:' does not end in 128 lowercase hex digits")?
                    .to_string(),
            })
        }
    };
    if fields.next().is_some() {
        return Err("it has fields after 'prev:'".to_string());
    }
    match (rows, first_seq, last_seq) {
        (0, None, None) => {}
        (0, _, _) => return Err("it states no rows but a sequence range".to_string()),
        (_, Some(a), Some(b)) if a <= b => {}
        _ => return Err("its sequence range does not fit its rows".to_string()),
    }
    Ok(SignedClaims {
        file_name,
        rows,
        first_seq,
        last_seq,
        blake2b: blake2b.to_string(),
        previous,
    })
}

fn file_name(name: &str) -> Result<&str, String> {
    file_name_of(name, "file")
}

/// A file name as the signer allows: not empty, no `/`, no control
/// characters (tab, CR and LF included), and not `.` or `..`.
fn file_name_of<'a>(name: &'a str, key: &str) -> Result<&'a str, String> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.chars().any(|c| c == '/' || c.is_control());
    if ok {
        Ok(name)
    } else {
        Err(format!("'{key}:' is not a file name"))
    }
}

/// A canonical decimal u64: digits only, no leading zero.
fn number(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical { s.parse().ok() } else { None }
}

/// A sequence number, or `-` for none. `Some(None)` is `-`.
fn seq(s: &str) -> Option<Option<u64>> {
    if s == "-" {
        Some(None)
    } else {
        number(s).map(Some)
    }
}

/// 128 lowercase hex digits.
fn hex128(s: &str) -> Option<&str> {
    (s.len() == 128 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then_some(s)
}

/// At most 40 characters of `s`, for messages.
fn shorten(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(previous: Option<ChainLink>) -> SignedClaims {
        SignedClaims {
            file_name: "trades-0002.csv".into(),
            rows: 3,
            first_seq: Some(10),
            last_seq: Some(12),
            blake2b: "ab".repeat(64),
            previous,
        }
    }

    #[test]
    fn format_and_parse_agree() {
        let link = ChainLink {
            file_name: "trades-0001.csv".into(),
            blake2b: "0f".repeat(64),
        };
        for c in [claims(None), claims(Some(link))] {
            let text = format(&c);
            assert_eq!(parse(&text), Comment::Claims(c));
        }
        let empty = SignedClaims {
            rows: 0,
            first_seq: None,
            last_seq: None,
            ..claims(None)
        };
        let text = format(&empty);
        assert!(
            text.contains("\trows:0\tfirst_seq:-\tlast_seq:-\t"),
            "{text}"
        );
        assert_eq!(parse(&text), Comment::Claims(empty));
    }

    #[test]
    fn the_exact_text_of_version_1() {
        let text = format(&claims(None));
        let hex = "ab".repeat(64);
        assert_eq!(
            text,
            alloc::format!(
                "csvseal-signature:1\tfile:trades-0002.csv\trows:3\tfirst_seq:10\tlast_seq:12\tblake2b:{hex}\tprev:none"
            )
        );
    }

    #[test]
    fn a_comment_without_the_tag_is_plain() {
        assert_eq!(parse("timestamp:1700000000\tfile:f.csv"), Comment::Plain);
        assert_eq!(parse(""), Comment::Plain);
        assert_eq!(parse(" csvseal-signature:1"), Comment::Plain);
    }

    fn unreadable(text: &str) -> String {
        match parse(text) {
            Comment::Unreadable(why) => why,
            other => panic!("{text:?} read as {other:?}"),
        }
    }

    #[test]
    fn another_version_is_unreadable_and_says_so() {
        let text = format(&claims(None)).replacen(":1\t", ":2\t", 1);
        assert!(unreadable(&text).contains("version \"2\" is not supported"));
        assert!(unreadable("csvseal-signature:").contains("version \"\""));
    }

    #[test]
    fn every_field_is_checked() {
        let good = format(&claims(None));
        let hex = "ab".repeat(64);
        let bad = [
            (
                "file:trades-0002.csv",
                "file:",
                "'file:' is not a file name",
            ),
            (
                "file:trades-0002.csv",
                "file:a/b.csv",
                "'file:' is not a file name",
            ),
            (
                "file:trades-0002.csv",
                "file:..",
                "'file:' is not a file name",
            ),
            (
                "file:trades-0002.csv",
                "file:a\u{7}.csv",
                "'file:' is not a file name",
            ),
            (
                "file:trades-0002.csv",
                "name:x.csv",
                "expected the field 'file:'",
            ),
            ("rows:3", "rows:03", "'rows:' is not a number"),
            ("rows:3", "rows:+3", "'rows:' is not a number"),
            (
                "rows:3",
                "rows:99999999999999999999",
                "'rows:' is not a number",
            ),
            ("rows:3", "rows:0", "no rows but a sequence range"),
            ("first_seq:10", "first_seq:x", "'first_seq:' is not"),
            ("first_seq:10", "first_seq:13", "does not fit"),
            ("last_seq:12", "last_seq:-", "does not fit"),
            ("blake2b:", "blake2b:AB", "not 128 lowercase hex"),
            (&hex, &"AB".repeat(64), "not 128 lowercase hex"),
            (&hex, &"ab".repeat(63), "not 128 lowercase hex"),
            ("prev:none", "prev:", "neither 'none'"),
            ("prev:none", "prev:x.csv/00", "128 lowercase hex"),
            (
                "prev:none",
                &alloc::format!("prev:/{hex}"),
                "'prev:' is not a file name",
            ),
            ("prev:none", "prev:none\textra:1", "fields after 'prev:'"),
            ("\tprev:none", "", "'prev:' is missing"),
        ];
        for (from, to, want) in bad {
            let text = good.replacen(from, to, 1);
            assert_ne!(text, good, "{from} not in the comment");
            let why = unreadable(&text);
            assert!(why.contains(want), "{text:?}: {why}");
        }
    }
}
