//! `verify --delimiter`, `--quote`, `--encoding`: a sealed file has one
//! dialect, the policy's, so these take only its values and say why when
//! given others (rather than clap's "unexpected argument").
//!
//! The policy writes a sealed file with Python's `csv.writer` defaults
//! (`,`, `"`, CR LF) into a UTF-8 file and checks it with `csv.DictReader`,
//! which reads nothing else: a `;`-delimited file fails the policy's own
//! check whatever its checksums, so `verify` does not pass it either.

use clap::Args;
use csvseal::{Error, InputEncoding};

#[derive(Args)]
pub struct SealedDialectArgs {
    /// Accepted only as `,`: a sealed file is `,`-delimited, as the policy
    /// writes and checks it. Rows delimited otherwise are sealed by
    /// `csvseal write --delimiter`.
    #[arg(long, value_name = "CHAR", value_parser = super::write::parse_delimiter, help_heading = "Dialect")]
    delimiter: Option<u8>,
    /// Accepted only as `"`, the policy's quote.
    #[arg(long, value_name = "CHAR", value_parser = super::write::parse_quote, help_heading = "Dialect")]
    quote: Option<u8>,
    /// Accepted only as utf-8, the policy's encoding.
    #[arg(long, value_name = "NAME", value_parser = InputEncoding::parse, help_heading = "Dialect")]
    encoding: Option<InputEncoding>,
}

impl SealedDialectArgs {
    /// A usage error naming the option, when one asks for another dialect.
    pub fn check(&self) -> Result<(), Error> {
        let refused = |option: &str, given: String, policy: &str, write: &str| {
            Err(Error::Usage(format!(
                "{option} {given}: a sealed file is {policy}, as the policy writes it \
                 (Python's csv.writer into a UTF-8 file) and checks it (csv.DictReader), \
                 so a file in another dialect fails the policy's own check and cannot \
                 verify; to seal rows in that dialect, use `csvseal write {write}`"
            )))
        };
        if let Some(d) = self.delimiter.filter(|&d| d != b',') {
            let given = if d == b'\t' {
                "tab".to_owned()
            } else {
                format!("'{}'", d as char)
            };
            return refused(
                "--delimiter",
                given.clone(),
                "','-delimited",
                &format!("--delimiter {given}"),
            );
        }
        if let Some(q) = self.quote.filter(|&q| q != b'"') {
            let given = format!("'{}'", q as char);
            return refused(
                "--quote",
                given.clone(),
                "'\"'-quoted",
                &format!("--quote {given}"),
            );
        }
        if let Some(e) = self.encoding.filter(|&e| e != InputEncoding::Utf8) {
            return refused(
                "--encoding",
                e.to_string(),
                "UTF-8",
                &format!("--encoding {e}"),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(
        delimiter: Option<u8>,
        quote: Option<u8>,
        encoding: Option<InputEncoding>,
    ) -> SealedDialectArgs {
        SealedDialectArgs {
            delimiter,
            quote,
            encoding,
        }
    }

    #[test]
    fn the_policy_dialect_passes_and_others_are_explained() {
        assert!(args(None, None, None).check().is_ok());
        assert!(
            args(Some(b','), Some(b'"'), Some(InputEncoding::Utf8))
                .check()
                .is_ok()
        );
        for (a, names) in [
            (
                args(Some(b';'), None, None),
                ["--delimiter ';'", "','-delimited"],
            ),
            (
                args(Some(b'\t'), None, None),
                ["--delimiter tab", "','-delimited"],
            ),
            (
                args(None, Some(b'\''), None),
                ["--quote '''", "'\"'-quoted"],
            ),
            (
                args(None, None, Some(InputEncoding::Windows1252)),
                ["--encoding windows-1252", "UTF-8"],
            ),
        ] {
            let Err(Error::Usage(m)) = a.check() else {
                panic!("accepted")
            };
            for n in names {
                assert!(m.contains(n), "{m}");
            }
            assert!(m.contains("csvseal write"), "{m}");
        }
    }
}
