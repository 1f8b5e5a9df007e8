//! minisign signature checks (WIT `signature`), run in csvseal's own
//! component so every host checks with the same code. The host only reads
//! files and passes their text and bytes here; it signs elsewhere
//! (`crate::signing`), since no component ever receives a secret key.

use wasmtime::component::ResourceAny;

use super::bindings::Exports;
use super::bindings::exports::csvseal::core::signature as wit;
use super::session::Instance;
use crate::error::{Error, Result};
use crate::report::{ChainLink, FileFacts, SignatureReport, SignatureStatus, SignedClaims};

/// The IDs of the keys in a public key file or keyring, read in `inst`.
pub(super) fn public_key_ids(mut inst: Instance, keys: &str) -> Result<Vec<String>> {
    inst.arm();
    let r = signature_interface(&inst.bindings)?.call_public_key_ids(&mut inst.store, keys);
    let ids = inst.check(r)?.map_err(Error::Usage)?;
    let bytes = ids.iter().map(|id| id.len() as u64 + 16).sum();
    inst.check_output(bytes, "key IDs")?;
    Ok(ids)
}

/// `claims`' chain link against `previous`, checked in `inst`.
pub(super) fn check_link(
    mut inst: Instance,
    claims: &SignedClaims,
    previous: Option<&ChainLink>,
) -> Result<std::result::Result<(), String>> {
    inst.arm();
    let claims = claims_to_wit(claims);
    let previous = previous.map(link_to_wit);
    let r = signature_interface(&inst.bindings)?.call_check_link(
        &mut inst.store,
        &claims,
        previous.as_ref(),
    );
    let out = inst.check(r)?;
    if let Err(m) = &out {
        inst.check_output(m.len() as u64, "message")?;
    }
    Ok(out)
}

impl SignatureCheckSession {
    /// Starts the check in `inst` (csvseal's own component only).
    pub(super) fn start(mut inst: Instance, signature: &str, keys: &[String]) -> Result<Self> {
        inst.arm();
        let r = signature_interface(&inst.bindings)?
            .signature_check()
            .call_create(&mut inst.store, signature, keys);
        let resource = inst.check(r)?.map_err(Error::Usage)?;
        Ok(SignatureCheckSession { inst, resource })
    }
}

fn signature_interface(exports: &Exports) -> Result<&wit::Guest> {
    exports
        .csvseal_core_signature()
        .ok_or_else(|| Error::Sandbox("only csvseal's own component checks signatures".into()))
}

/// A signature check in progress: feed the file's bytes, then finish.
pub struct SignatureCheckSession {
    inst: Instance,
    resource: ResourceAny,
}

impl SignatureCheckSession {
    /// Feeds the next chunk of the file (any size; 64 KiB–1 MiB is best).
    pub fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        self.inst.arm();
        let r = signature_interface(&self.inst.bindings)?
            .signature_check()
            .call_feed(&mut self.inst.store, self.resource, chunk);
        self.inst.check(r)
    }

    /// Ends the input and reports. With `facts`, a csvseal signature's
    /// claims must match them (name, rows, first and last `file_seq`).
    pub fn finish(mut self, facts: Option<&FileFacts>) -> Result<SignatureReport> {
        self.inst.arm();
        let facts = facts.map(|f| wit::FileFacts {
            file_name: f.file_name.clone(),
            rows: f.rows,
            first_seq: f.first_seq,
            last_seq: f.last_seq,
        });
        let r = signature_interface(&self.inst.bindings)?
            .signature_check()
            .call_finish(&mut self.inst.store, self.resource, facts.as_ref());
        let r = self.inst.check(r)?;
        self.inst
            .check_output(report_bytes(&r), "signature report")?;
        let _ = self.resource.resource_drop(&mut self.inst.store);
        Ok(SignatureReport {
            status: match r.status {
                wit::SignatureStatus::Valid => SignatureStatus::Valid,
                wit::SignatureStatus::Malformed => SignatureStatus::Malformed,
                wit::SignatureStatus::UnknownKey => SignatureStatus::UnknownKey,
                wit::SignatureStatus::Invalid => SignatureStatus::Invalid,
            },
            key_id: r.key_id,
            trusted_comment: r.trusted_comment,
            claims: r.claims.map(claims_from_wit),
            blake2b: Some(r.blake2b),
            message: r.message,
        })
    }
}

/// Roughly the bytes a report's strings take, for the output limit.
fn report_bytes(r: &wit::SignatureReport) -> u64 {
    let len = |s: &str| s.len() as u64 + 16;
    let claims = r.claims.as_ref().map_or(0, |c| {
        len(&c.file_name)
            + len(&c.blake2b)
            + c.previous
                .as_ref()
                .map_or(0, |p| len(&p.file_name) + len(&p.blake2b))
    });
    len(&r.message)
        + len(&r.blake2b)
        + r.key_id.as_deref().map_or(0, len)
        + r.trusted_comment.as_deref().map_or(0, len)
        + claims
}

fn link_to_wit(l: &ChainLink) -> wit::ChainLink {
    wit::ChainLink {
        file_name: l.file_name.clone(),
        blake2b: l.blake2b.clone(),
    }
}

fn claims_to_wit(c: &SignedClaims) -> wit::SignedClaims {
    wit::SignedClaims {
        file_name: c.file_name.clone(),
        rows: c.rows,
        first_seq: c.first_seq,
        last_seq: c.last_seq,
        blake2b: c.blake2b.clone(),
        previous: c.previous.as_ref().map(link_to_wit),
    }
}

fn claims_from_wit(c: wit::SignedClaims) -> SignedClaims {
    SignedClaims {
        file_name: c.file_name,
        rows: c.rows,
        first_seq: c.first_seq,
        last_seq: c.last_seq,
        blake2b: c.blake2b,
        previous: c.previous.map(|l| ChainLink {
            file_name: l.file_name,
            blake2b: l.blake2b,
        }),
    }
}
