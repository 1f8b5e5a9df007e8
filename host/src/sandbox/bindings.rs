//! The host side of the `csvseal:core` contract, generated from `wit/`.
//!
//! Generated for the `builtin` world (the engine, `fidelity` and
//! `signature`); a plugin exports the `engine` world alone, so the
//! interfaces are looked up one by one, `fidelity` and `signature` only in
//! csvseal's own component.

use wasmtime::AsContextMut;
use wasmtime::component::{Instance, InstancePre};

wasmtime::component::bindgen!({
    path: "../wit",
    world: "builtin",
});

use exports::csvseal::core::{checksum, fidelity, seal, signature, verify};

/// Where a component's exports are, found once per loaded component.
pub(super) struct ExportIndices {
    checksum: checksum::GuestIndices,
    verify: verify::GuestIndices,
    seal: seal::GuestIndices,
    /// Only for csvseal's own component.
    fidelity: Option<fidelity::GuestIndices>,
    /// Only for csvseal's own component.
    signature: Option<signature::GuestIndices>,
}

impl ExportIndices {
    /// Finds the engine's exports in `pre`, and `fidelity`'s and
    /// `signature`'s when `builtin`.
    pub(super) fn new<T>(pre: &InstancePre<T>, builtin: bool) -> wasmtime::Result<Self> {
        Ok(ExportIndices {
            checksum: checksum::GuestIndices::new(pre)?,
            verify: verify::GuestIndices::new(pre)?,
            seal: seal::GuestIndices::new(pre)?,
            fidelity: builtin
                .then(|| fidelity::GuestIndices::new(pre))
                .transpose()?,
            signature: builtin
                .then(|| signature::GuestIndices::new(pre))
                .transpose()?,
        })
    }

    /// The exports of one instance.
    pub(super) fn load(
        &self,
        mut store: impl AsContextMut,
        instance: &Instance,
    ) -> wasmtime::Result<Exports> {
        Ok(Exports {
            checksum: self.checksum.load(&mut store, instance)?,
            verify: self.verify.load(&mut store, instance)?,
            seal: self.seal.load(&mut store, instance)?,
            fidelity: self
                .fidelity
                .as_ref()
                .map(|f| f.load(&mut store, instance))
                .transpose()?,
            signature: self
                .signature
                .as_ref()
                .map(|s| s.load(&mut store, instance))
                .transpose()?,
        })
    }
}

/// One instance's exports.
pub(super) struct Exports {
    checksum: checksum::Guest,
    verify: verify::Guest,
    seal: seal::Guest,
    fidelity: Option<fidelity::Guest>,
    signature: Option<signature::Guest>,
}

impl Exports {
    pub(super) fn csvseal_core_checksum(&self) -> &checksum::Guest {
        &self.checksum
    }

    pub(super) fn csvseal_core_verify(&self) -> &verify::Guest {
        &self.verify
    }

    pub(super) fn csvseal_core_seal(&self) -> &seal::Guest {
        &self.seal
    }

    /// `fidelity`, exported by csvseal's own component only.
    pub(super) fn csvseal_core_fidelity(&self) -> Option<&fidelity::Guest> {
        self.fidelity.as_ref()
    }

    /// `signature`, exported by csvseal's own component only.
    pub(super) fn csvseal_core_signature(&self) -> Option<&signature::Guest> {
        self.signature.as_ref()
    }
}
