//! The component glue (wasm32 only): the `engine` world's exports (and, in
//! csvseal's own component, `fidelity` and `signature`), as thin
//! conversions between the generated WIT types and the native ones in
//! [`crate::report`].
//!
//! Public for plugins (feature `plugin-api`): a plugin crate reuses these
//! bindings, wraps or delegates to [`Engine`], and exports its own type with
//! `csvseal_guest::component::export_engine!(MyEngine with_types_in csvseal_guest::component)`.
//! csvseal's own component (feature `component`) exports [`Engine`].
//!
//! The crate is `no_std` on wasm32 and links no libc, so the component
//! imports nothing; `runtime.rs` supplies what libc and std would have.

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use crate::report as native;

// wit-bindgen resolves `path` against CARGO_MANIFEST_DIR (guest/).
// csvseal's own component exports the `builtin` world (the engine and
// `fidelity`); a plugin exports `engine` alone. Both put the engine's
// interfaces at the same paths, so the glue below serves both.
#[cfg(not(feature = "component"))]
wit_bindgen::generate!({
    path: "../wit",
    world: "engine",
    export_macro_name: "export_engine",
    pub_export_macro: true,
});
#[cfg(feature = "component")]
wit_bindgen::generate!({
    path: "../wit",
    world: "builtin",
    export_macro_name: "export_engine",
    pub_export_macro: true,
});

pub use exports::csvseal::core::checksum::Guest as ChecksumGuest;
pub use exports::csvseal::core::seal::{Guest as SealGuest, GuestSealer, Sealer};
pub use exports::csvseal::core::types as wit;
pub use exports::csvseal::core::verify::{Guest as VerifyGuest, GuestVerifier, Verifier};

/// csvseal's built-in engine.
pub struct Engine;

impl ChecksumGuest for Engine {
    fn row_checksum(header: Vec<String>, fields: Vec<String>) -> Result<String, String> {
        crate::checksum::row_checksum(&header, &fields)
    }
}

impl VerifyGuest for Engine {
    type Verifier = VerifierResource;
}

impl SealGuest for Engine {
    type Sealer = SealerResource;
}

/// The built-in verifier resource. Resources are called through `&self`;
/// the state lives in a RefCell (a component instance is single-threaded and
/// calls do not nest).
pub struct VerifierResource(pub RefCell<crate::verify::Verifier>);

impl GuestVerifier for VerifierResource {
    fn create(options: wit::VerifyOptions) -> Result<Verifier, String> {
        let inner = crate::verify::Verifier::new(verify_options(options))?;
        Ok(Verifier::new(VerifierResource(RefCell::new(inner))))
    }

    fn feed(&self, chunk: Vec<u8>) {
        self.0.borrow_mut().feed(&chunk);
    }

    fn finish(&self) -> wit::VerifyReport {
        verify_report(self.0.borrow_mut().finish())
    }
}

/// The built-in sealer resource.
pub struct SealerResource(pub RefCell<crate::seal::Sealer>);

impl GuestSealer for SealerResource {
    fn create(options: wit::SealOptions) -> Result<Sealer, String> {
        let inner = crate::seal::Sealer::new(seal_options(options))?;
        Ok(Sealer::new(SealerResource(RefCell::new(inner))))
    }

    fn feed(&self, chunk: Vec<u8>) -> Vec<u8> {
        self.0.borrow_mut().feed(&chunk)
    }

    fn finish(&self) -> Result<(Vec<u8>, wit::SealSummary), wit::SealFailure> {
        seal_result(self.0.borrow_mut().finish())
    }
}

/// WIT verify options to native ones.
pub fn verify_options(o: wit::VerifyOptions) -> native::VerifyOptions {
    native::VerifyOptions {
        schema_json: o.schema_json,
        limits: limits(o.limits),
        continue_after: o.continue_after,
    }
}

/// WIT seal options to native ones.
pub fn seal_options(o: wit::SealOptions) -> native::SealOptions {
    native::SealOptions {
        format: match o.format {
            wit::InputFormat::Csv => native::InputFormat::Csv,
            wit::InputFormat::Jsonl => native::InputFormat::Jsonl,
        },
        dialect: native::Dialect {
            delimiter: o.dialect.delimiter,
            quote: o.dialect.quote,
            has_header: o.dialect.has_header,
            guard_delimiter: o.dialect.guard_delimiter,
        },
        header: o.header,
        schema_json: o.schema_json,
        first_seq: o.first_seq,
        limits: limits(o.limits),
    }
}

/// A native verification report to its WIT form.
pub fn verify_report(r: native::VerifyReport) -> wit::VerifyReport {
    wit::VerifyReport {
        valid: r.valid,
        rows: r.rows,
        first_seq: r.first_seq,
        last_seq: r.last_seq,
        columns: r.columns,
        gaps: r
            .gaps
            .into_iter()
            .map(|g| wit::SeqGap {
                line: g.line,
                after: g.after,
                next: g.next,
            })
            .collect(),
        gap_count: r.gap_count,
        errors: r.errors.into_iter().map(row_error).collect(),
        error_count: r.error_count,
        errors_truncated: r.errors_truncated,
        warnings: r.warnings,
        data_start: r.data_start,
        newlines: r.newlines,
        quotes: r.quotes,
    }
}

/// A native seal outcome to its WIT form.
pub fn seal_result(
    r: Result<(Vec<u8>, native::SealSummary), native::SealFailure>,
) -> Result<(Vec<u8>, wit::SealSummary), wit::SealFailure> {
    match r {
        Ok((tail, s)) => Ok((
            tail,
            wit::SealSummary {
                columns: s.columns,
                rows: s.rows,
                first_seq: s.first_seq,
                last_seq: s.last_seq,
                bytes: s.bytes,
            },
        )),
        Err(f) => Err(wit::SealFailure {
            errors: f.errors.into_iter().map(row_error).collect(),
            error_count: f.error_count,
            errors_truncated: f.errors_truncated,
        }),
    }
}

/// WIT limits to native ones.
pub fn limits(l: wit::Limits) -> native::Limits {
    native::Limits {
        max_errors: l.max_errors,
        max_record_bytes: l.max_record_bytes,
        max_columns: l.max_columns,
    }
}

/// A native row error to its WIT form.
pub fn row_error(e: native::RowError) -> wit::RowError {
    wit::RowError {
        kind: match e.kind {
            native::ErrorKind::Malformed => wit::ErrorKind::Malformed,
            native::ErrorKind::Encoding => wit::ErrorKind::Encoding,
            native::ErrorKind::BadHeader => wit::ErrorKind::BadHeader,
            native::ErrorKind::MissingColumn => wit::ErrorKind::MissingColumn,
            native::ErrorKind::ChecksumMismatch => wit::ErrorKind::ChecksumMismatch,
            native::ErrorKind::SequenceViolation => wit::ErrorKind::SequenceViolation,
            native::ErrorKind::Schema => wit::ErrorKind::Schema,
            native::ErrorKind::TornRow => wit::ErrorKind::TornRow,
            native::ErrorKind::Limit => wit::ErrorKind::Limit,
        },
        line: e.line,
        seq: e.seq,
        column: e.column,
        message: e.message,
    }
}

#[cfg(feature = "component")]
mod fidelity {
    use alloc::vec::Vec;
    use core::cell::RefCell;

    use super::exports::csvseal::core::fidelity::{
        DigestingVerifier, Guest, GuestDigestingVerifier, GuestInputDigest, InputDigest,
    };
    use super::{Engine, seal_options, seal_result, verify_options, verify_report, wit};

    impl Guest for Engine {
        type DigestingVerifier = DigestingVerifierResource;
        type InputDigest = InputDigestResource;
    }

    /// The built-in verifier, digesting the values it reads.
    pub struct DigestingVerifierResource(RefCell<crate::verify::Verifier>);

    impl GuestDigestingVerifier for DigestingVerifierResource {
        fn create(options: wit::VerifyOptions) -> Result<DigestingVerifier, alloc::string::String> {
            let inner = crate::verify::Verifier::new(verify_options(options))?.with_values_digest();
            Ok(DigestingVerifier::new(DigestingVerifierResource(
                RefCell::new(inner),
            )))
        }

        fn feed(&self, chunk: Vec<u8>) {
            self.0.borrow_mut().feed(&chunk);
        }

        fn finish(&self) -> (wit::VerifyReport, Vec<u8>) {
            let mut v = self.0.borrow_mut();
            let report = verify_report(v.finish());
            // Taken once: a second `finish` digests no rows, and says so.
            let digest = v
                .take_values_digest()
                .map(|d| d.to_vec())
                .unwrap_or_default();
            (report, digest)
        }
    }

    /// The built-in sealer, digesting the values it would write; its
    /// sealed bytes are dropped here, never copied out.
    pub struct InputDigestResource(RefCell<crate::seal::Sealer>);

    impl GuestInputDigest for InputDigestResource {
        fn create(options: wit::SealOptions) -> Result<InputDigest, alloc::string::String> {
            let inner = crate::seal::Sealer::new(seal_options(options))?.with_values_digest();
            Ok(InputDigest::new(InputDigestResource(RefCell::new(inner))))
        }

        fn feed(&self, chunk: Vec<u8>) {
            drop(self.0.borrow_mut().feed(&chunk));
        }

        fn finish(&self) -> Result<(wit::SealSummary, Vec<u8>), wit::SealFailure> {
            let mut s = self.0.borrow_mut();
            let (_, summary) = seal_result(s.finish())?;
            let digest = s
                .take_values_digest()
                .map(|d| d.to_vec())
                .unwrap_or_default();
            Ok((summary, digest))
        }
    }
}

#[cfg(feature = "component")]
mod signature {
    use alloc::string::String;
    use alloc::vec::Vec;
    use core::cell::RefCell;

    use super::Engine;
    use super::exports::csvseal::core::signature::{
        self as wit, Guest, GuestSignatureCheck, SignatureCheck,
    };
    use crate::signature as native;

    impl Guest for Engine {
        type SignatureCheck = SignatureCheckResource;

        fn public_key_ids(keys: String) -> Result<Vec<String>, String> {
            native::public_key_ids(&keys)
        }

        fn check_link(
            claims: wit::SignedClaims,
            previous: Option<wit::ChainLink>,
        ) -> Result<(), String> {
            native::check_link(&claims_in(claims), previous.map(link_in).as_ref())
        }
    }

    /// A signature check over the bytes fed.
    pub struct SignatureCheckResource(RefCell<native::SignatureCheck>);

    impl GuestSignatureCheck for SignatureCheckResource {
        fn create(signature: String, keys: Vec<String>) -> Result<SignatureCheck, String> {
            let inner = native::SignatureCheck::new(&signature, &keys)?;
            Ok(SignatureCheck::new(SignatureCheckResource(RefCell::new(
                inner,
            ))))
        }

        fn feed(&self, chunk: Vec<u8>) {
            self.0.borrow_mut().feed(&chunk);
        }

        fn finish(&self, facts: Option<wit::FileFacts>) -> wit::SignatureReport {
            let facts = facts.map(|f| native::FileFacts {
                file_name: f.file_name,
                rows: f.rows,
                first_seq: f.first_seq,
                last_seq: f.last_seq,
            });
            let r = self.0.borrow_mut().finish(facts.as_ref());
            wit::SignatureReport {
                status: match r.status {
                    native::SignatureStatus::Valid => wit::SignatureStatus::Valid,
                    native::SignatureStatus::Malformed => wit::SignatureStatus::Malformed,
                    native::SignatureStatus::UnknownKey => wit::SignatureStatus::UnknownKey,
                    native::SignatureStatus::Invalid => wit::SignatureStatus::Invalid,
                },
                key_id: r.key_id,
                trusted_comment: r.trusted_comment,
                claims: r.claims.map(claims_out),
                blake2b: r.blake2b,
                message: r.message,
            }
        }
    }

    fn link_in(l: wit::ChainLink) -> native::ChainLink {
        native::ChainLink {
            file_name: l.file_name,
            blake2b: l.blake2b,
        }
    }

    fn claims_in(c: wit::SignedClaims) -> native::SignedClaims {
        native::SignedClaims {
            file_name: c.file_name,
            rows: c.rows,
            first_seq: c.first_seq,
            last_seq: c.last_seq,
            blake2b: c.blake2b,
            previous: c.previous.map(link_in),
        }
    }

    fn claims_out(c: native::SignedClaims) -> wit::SignedClaims {
        wit::SignedClaims {
            file_name: c.file_name,
            rows: c.rows,
            first_seq: c.first_seq,
            last_seq: c.last_seq,
            blake2b: c.blake2b,
            previous: c.previous.map(|l| wit::ChainLink {
                file_name: l.file_name,
                blake2b: l.blake2b,
            }),
        }
    }
}

#[cfg(feature = "component")]
export_engine!(Engine);
