//! The values digest of a table (WIT `fidelity`): SHA-256 over its data
//! rows, each field but `checksum_sha256` as its length (u64, little-endian)
//! and bytes, each row closed by 2^64-1. Lengths make it unambiguous where
//! the policy's `|`-joined checksum is not (`a|b`,`c` and `a`,`b|c` join
//! alike). The sealer digests the rows it writes, the verifier the rows it
//! reads: equal digests mean the same values in the same rows and order.

use sha2::{Digest, Sha256};

/// A running values digest.
#[derive(Debug, Clone, Default)]
pub struct ValuesDigest(Sha256);

/// Closes a row; no field length can be 2^64-1 bytes.
const ROW_END: [u8; 8] = u64::MAX.to_le_bytes();

impl ValuesDigest {
    /// An empty digest (no rows).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one row: its fields but `checksum_sha256`, in column order.
    pub fn row<'a>(&mut self, fields: impl Iterator<Item = &'a [u8]>) {
        for f in fields {
            self.0.update((f.len() as u64).to_le_bytes());
            self.0.update(f);
        }
        self.0.update(ROW_END);
    }

    /// The digest of the rows added.
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(rows: &[&[&str]]) -> [u8; 32] {
        let mut d = ValuesDigest::new();
        for r in rows {
            d.row(r.iter().map(|f| f.as_bytes()));
        }
        d.finish()
    }

    #[test]
    fn fields_and_rows_are_delimited_unambiguously() {
        let base = of(&[&["1", "a|b", "c"]]);
        assert_ne!(base, of(&[&["1", "a", "b|c"]]));
        assert_ne!(
            of(&[&["1", "ab"], &["2", "c"]]),
            of(&[&["1", "a"], &["bc", "2", "c"]])
        );
        assert_ne!(base, of(&[]));
        assert_ne!(of(&[&["1", "x"]]), of(&[&["1", "x"], &["2", "x"]]));
        assert_eq!(base, of(&[&["1", "a|b", "c"]]));
    }

    /// Seals `input` whole, digesting; returns the output and the digest.
    fn seal(options: crate::report::SealOptions, input: &[u8]) -> (alloc::vec::Vec<u8>, [u8; 32]) {
        let mut s = crate::seal::Sealer::new(options)
            .unwrap()
            .with_values_digest();
        let mut out = s.feed(input);
        out.extend(s.finish().unwrap().0);
        (out, s.take_values_digest().unwrap())
    }

    /// The verifier's digest of `file`, fed in chunks of `chunk` bytes.
    fn verified(file: &[u8], chunk: usize) -> [u8; 32] {
        let mut v = crate::verify::Verifier::new(Default::default())
            .unwrap()
            .with_values_digest();
        for c in file.chunks(chunk) {
            v.feed(c);
        }
        assert!(v.finish().valid);
        v.take_values_digest().unwrap()
    }

    #[test]
    fn a_seal_and_the_verification_of_its_output_digest_alike() {
        use crate::report::{Dialect, InputFormat, SealOptions};
        let csv = SealOptions {
            dialect: Dialect {
                delimiter: b';',
                guard_delimiter: false,
                ..Dialect::default()
            },
            first_seq: 1001,
            ..SealOptions::default()
        };
        let jsonl = SealOptions {
            format: InputFormat::Jsonl,
            ..SealOptions::default()
        };
        for (options, input, fewer) in [
            (
                csv,
                &b"a;b\n\"x;\"\"y\";2\n3;\n\n\"two\nlines\";\"|\"\n"[..],
                &b"a;b\n\"x;\"\"y\";2\n3;\n"[..],
            ),
            (
                jsonl,
                b"{\"a\":\"q,\\\"\",\"b\":1}\n{\"a\":\"\",\"b\":null}\n",
                b"{\"a\":\"q,\\\"\",\"b\":1}\n",
            ),
        ] {
            let (out, digest) = seal(options.clone(), input);
            for chunk in [1, 7, out.len()] {
                assert_eq!(verified(&out, chunk), digest, "{chunk}");
            }
            // The same input from another first seq, or one row fewer, differs.
            let later = SealOptions {
                first_seq: options.first_seq + 1,
                ..options.clone()
            };
            assert_ne!(seal(later, input).1, digest);
            assert_ne!(seal(options, fewer).1, digest);
        }
    }
}
