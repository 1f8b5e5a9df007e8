//! A header read with the wrong delimiter: one column whose name holds
//! `;`, tab or `|` is, in practice, a file delimited by that byte. The
//! sealer refuses such input (sealed as is, every row would become one
//! column); the verifier says why such a file cannot be a sealed one.

use alloc::string::String;

/// The `--delimiter` spelling of the delimiter a one-column header holds
/// (`';'`, `tab`, `'|'`), or `None` when `cols` is not such a header.
pub(crate) fn other_delimiter(cols: &[String]) -> Option<&'static str> {
    let [name] = cols else { return None };
    [(';', "';'"), ('\t', "tab"), ('|', "'|'")]
        .into_iter()
        .find(|(c, _)| name.contains(*c))
        .map(|(_, option)| option)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn one_column_holding_a_delimiter() {
        let one = |s: &str| vec![s.to_string()];
        assert_eq!(other_delimiter(&one("a;b")), Some("';'"));
        assert_eq!(other_delimiter(&one("a\tb")), Some("tab"));
        assert_eq!(other_delimiter(&one("a|b")), Some("'|'"));
        assert_eq!(other_delimiter(&one("name")), None);
        assert_eq!(other_delimiter(&["a;b".into(), "c".into()]), None);
    }
}
