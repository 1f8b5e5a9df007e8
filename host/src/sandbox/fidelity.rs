//! Holding a plugin's sealed output to its input (WIT `fidelity`), with
//! every digest taken by csvseal's own component: a verifier that digests
//! the values of the rows it reads, and a seal of the input that returns
//! only its summary and the values digest of the rows it would write. Only
//! writes through a plugin use these; a plain write never pays for them.

use wasmtime::component::ResourceAny;

use super::bindings::Exports;
use super::bindings::exports::csvseal::core::fidelity;
use super::bindings::exports::csvseal::core::types as wit;
use super::convert::{convert_report, convert_summary, errors_bytes, report_bytes};
use super::session::{Instance, SealRejected};
use crate::error::{Error, Result};
use crate::report::{SealSummary, VerifyReport};

/// A values digest (see `wit/csvseal.wit`, interface `fidelity`).
pub type ValuesDigest = [u8; 32];

impl DigestingVerifySession {
    /// Starts the session in `inst` (csvseal's own component only).
    pub(super) fn start(mut inst: Instance, options: &wit::VerifyOptions) -> Result<Self> {
        inst.arm();
        let r = fidelity(&inst.bindings)?
            .digesting_verifier()
            .call_create(&mut inst.store, options);
        let resource = inst.check(r)?.map_err(Error::Usage)?;
        Ok(DigestingVerifySession {
            inst,
            resource,
            bytes: 0,
        })
    }
}

impl InputDigestSession {
    /// Starts the session in `inst` (csvseal's own component only).
    pub(super) fn start(mut inst: Instance, options: &wit::SealOptions) -> Result<Self> {
        inst.arm();
        let r = fidelity(&inst.bindings)?
            .input_digest()
            .call_create(&mut inst.store, options);
        let resource = inst.check(r)?.map_err(Error::Usage)?;
        Ok(InputDigestSession { inst, resource })
    }
}

fn fidelity(exports: &Exports) -> Result<&fidelity::Guest> {
    exports.csvseal_core_fidelity().ok_or_else(|| {
        Error::Sandbox("only csvseal's own component digests values (fidelity)".into())
    })
}

/// A digest of 32 bytes, or the component is broken.
fn digest(bytes: Vec<u8>) -> Result<ValuesDigest> {
    bytes.try_into().map_err(|b: Vec<u8>| {
        Error::Sandbox(format!("the values digest has {} bytes, not 32", b.len()))
    })
}

/// A verification that digests values: feed the file's bytes, then finish.
pub struct DigestingVerifySession {
    inst: Instance,
    resource: ResourceAny,
    bytes: u64,
}

impl DigestingVerifySession {
    /// Feeds the next chunk of the file.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        self.bytes += chunk.len() as u64;
        self.inst.arm();
        let r = fidelity(&self.inst.bindings)?
            .digesting_verifier()
            .call_feed(&mut self.inst.store, self.resource, chunk);
        self.inst.check(r)
    }

    /// Ends the input: the report and the values digest of its rows.
    pub fn finish(mut self) -> Result<(VerifyReport, ValuesDigest)> {
        self.inst.arm();
        let r = fidelity(&self.inst.bindings)?
            .digesting_verifier()
            .call_finish(&mut self.inst.store, self.resource);
        let (report, values) = self.inst.check(r)?;
        self.inst.check_output(report_bytes(&report), "report")?;
        let _ = self.resource.resource_drop(&mut self.inst.store);
        Ok((convert_report(report, self.bytes), digest(values)?))
    }
}

/// csvseal's own seal of an input, for its summary and values digest.
pub struct InputDigestSession {
    inst: Instance,
    resource: ResourceAny,
}

impl InputDigestSession {
    /// Feeds the next chunk of the input.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        self.inst.arm();
        let r = fidelity(&self.inst.bindings)?.input_digest().call_feed(
            &mut self.inst.store,
            self.resource,
            chunk,
        );
        self.inst.check(r)
    }

    /// Ends the input: the summary of the seal and the values digest of
    /// its rows, or the input's errors.
    pub fn finish(
        mut self,
    ) -> Result<std::result::Result<(SealSummary, ValuesDigest), SealRejected>> {
        self.inst.arm();
        let r = fidelity(&self.inst.bindings)?
            .input_digest()
            .call_finish(&mut self.inst.store, self.resource);
        let out = self.inst.check(r)?;
        if let Err(f) = &out {
            self.inst.check_output(errors_bytes(&f.errors), "errors")?;
        }
        let _ = self.resource.resource_drop(&mut self.inst.store);
        Ok(match out {
            Ok((summary, values)) => Ok((convert_summary(summary), digest(values)?)),
            Err(f) => Err(SealRejected::from_wit(f)),
        })
    }
}
