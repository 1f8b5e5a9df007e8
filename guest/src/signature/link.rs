//! The chain across a series: each signature names the file before it
//! (`prev:`), so a removed, inserted, reordered or swapped file breaks a
//! link. The host finds the files; this compares what was signed.

use alloc::format;
use alloc::string::String;

use super::{ChainLink, SignedClaims};

/// Checks `claims`' link against `previous`, the file before it in its
/// series as found (None: `claims` should be a series' first file). The
/// error names both files.
pub fn check_link(claims: &SignedClaims, previous: Option<&ChainLink>) -> Result<(), String> {
    let this = &claims.file_name;
    match (&claims.previous, previous) {
        (None, None) => Ok(()),
        (None, Some(p)) => Err(format!(
            "'{this}' is signed as the first file of its series, but '{}' comes before it",
            p.file_name
        )),
        (Some(c), None) => Err(format!(
            "'{this}' is signed as following '{}', but no file comes before it",
            c.file_name
        )),
        (Some(c), Some(p)) if c.file_name != p.file_name => Err(format!(
            "'{this}' is signed as following '{}', but the file before it is '{}'",
            c.file_name, p.file_name
        )),
        (Some(c), Some(p)) if !c.blake2b.eq_ignore_ascii_case(&p.blake2b) => Err(format!(
            "'{this}' is signed as following '{}' with BLAKE2b {}…, but '{}' has BLAKE2b {}… (replaced or changed since)",
            c.file_name,
            c.blake2b.get(..16).unwrap_or(&c.blake2b),
            p.file_name,
            p.blake2b.get(..16).unwrap_or(&p.blake2b),
        )),
        (Some(_), Some(_)) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(name: &str, fill: &str) -> ChainLink {
        ChainLink {
            file_name: name.into(),
            blake2b: fill.repeat(128),
        }
    }

    fn claims(previous: Option<ChainLink>) -> SignedClaims {
        SignedClaims {
            file_name: "t-0002.csv".into(),
            rows: 1,
            first_seq: Some(5),
            last_seq: Some(5),
            blake2b: "1".repeat(128),
            previous,
        }
    }

    #[test]
    fn a_matching_link_holds() {
        assert_eq!(check_link(&claims(None), None), Ok(()));
        let prev = link("t-0001.csv", "a");
        assert_eq!(check_link(&claims(Some(prev.clone())), Some(&prev)), Ok(()));
        // Hosts may print hex in either case.
        assert_eq!(
            check_link(&claims(Some(prev)), Some(&link("t-0001.csv", "A"))),
            Ok(())
        );
    }

    #[test]
    fn each_break_names_both_files() {
        let prev = link("t-0001.csv", "a");
        let cases = [
            (claims(None), Some(prev.clone()), "signed as the first file"),
            (claims(Some(prev.clone())), None, "no file comes before it"),
            (
                claims(Some(prev.clone())),
                Some(link("t-0000.csv", "a")),
                "the file before it is 't-0000.csv'",
            ),
            (
                claims(Some(prev.clone())),
                Some(link("t-0001.csv", "b")),
                "replaced or changed",
            ),
        ];
        for (c, p, want) in cases {
            let e = check_link(&c, p.as_ref()).unwrap_err();
            assert!(e.contains(want), "{e}");
            assert!(e.contains("'t-0002.csv'"), "{e}");
            let other = p.as_ref().or(c.previous.as_ref()).unwrap();
            assert!(e.contains(&format!("'{}'", other.file_name)), "{e}");
        }
    }
}
