//! The wasmtime runtime that runs csvseal's logic component.
//!
//! It is given a component's bytes, never a path: a plugin file is read by
//! its caller (`crate::plugin`), like every file the user names. The only
//! files this folder touches are its own compiled-component cache
//! (`cache.rs`).
//!
//! The component's world imports nothing, and the linker here defines
//! nothing: no WASI, so no filesystem, sockets, clocks, randomness, env or
//! args. Each verification or seal gets a fresh store with a memory cap and a
//! per-call CPU deadline (epoch interruption), so a hostile or buggy component
//! can fail a call but never harm the host.

use wasmtime::component::{Component, InstancePre, Linker};
use wasmtime::{Engine, Store};

use crate::error::{Error, Result};

mod bindings;
mod builtin;
mod cache;
mod convert;
mod engine_config;
mod fidelity;
mod limits;
mod precompiled;
#[cfg(test)]
mod precompiled_asset;
mod session;
mod signature;

use crate::report::{ChainLink, SignedClaims};
pub use builtin::BUILTIN_COMPONENT;
pub use fidelity::{DigestingVerifySession, InputDigestSession, ValuesDigest};
pub use limits::Limits;
pub use session::PartFacts;
pub use session::{Dialect, InputFormat, SealOptions, SealRejected, SealSession, VerifySession};
pub use signature::SignatureCheckSession;

use limits::{EpochTicker, MemoryLimiter, State, check, ticks};
use session::Instance;

use bindings::exports::csvseal::core::types as wit;

/// A loaded, ready-to-instantiate logic component.
pub struct Sandbox {
    engine: Engine,
    pre: InstancePre<State>,
    exports: bindings::ExportIndices,
    limits: Limits,
    /// True for csvseal's own component (the one that verifies writes).
    builtin: bool,
    _ticker: EpochTicker,
}

impl Sandbox {
    /// Loads csvseal's built-in component with the given limits: the copy
    /// compiled ahead of time into this executable when this machine can run
    /// it, else compiled here (through the on-disk cache).
    pub fn builtin(limits: Limits) -> Result<Self> {
        let engine = new_engine()?;
        let component = match precompiled::load(&engine, precompiled::EMBEDDED) {
            Some(component) => component,
            None => cache::load(&engine, BUILTIN_COMPONENT)?,
        };
        Self::new(engine, component, limits, true)
    }

    /// Loads a component (the built-in one or a plugin implementing the
    /// `csvseal:core/engine` world) from its bytes.
    ///
    /// The linker is empty: a component that imports anything (WASI
    /// filesystem, sockets, clocks, random, stdio, env, args) is refused
    /// here, before any of its code runs, with the imports named.
    pub fn from_component_bytes(bytes: &[u8], limits: Limits) -> Result<Self> {
        let engine = new_engine()?;
        let component = cache::load(&engine, bytes)?;
        Self::new(engine, component, limits, bytes == BUILTIN_COMPONENT)
    }

    fn new(engine: Engine, component: Component, limits: Limits, builtin: bool) -> Result<Self> {
        // An empty linker: a component that imports anything fails here.
        let linker = Linker::<State>::new(&engine);
        let pre = linker.instantiate_pre(&component).map_err(|e| {
            let imports: Vec<String> = component
                .component_type()
                .imports(&engine)
                .map(|(n, _)| n.to_string())
                .collect();
            Error::Sandbox(format!(
                "cannot link the component: {e:#}; csvseal provides no imports (no WASI: \
                 no filesystem, sockets, clocks, random, stdio, env or args), and this \
                 component imports: {}",
                imports.join(", ")
            ))
        })?;
        let exports = bindings::ExportIndices::new(&pre, builtin)
            .map_err(|e| Error::Sandbox(format!("not a csvseal engine component: {e:#}")))?;
        let ticker = EpochTicker::start(&engine);
        Ok(Sandbox {
            engine,
            pre,
            exports,
            limits,
            builtin,
            _ticker: ticker,
        })
    }

    /// True when this is csvseal's own component, false for a plugin.
    pub fn is_builtin(&self) -> bool {
        self.builtin
    }

    /// The limits this sandbox applies.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The component's imports, as `name` strings (empty for csvseal's own).
    pub fn component_imports(&self) -> Vec<String> {
        let ty = self.pre.component().component_type();
        ty.imports(&self.engine)
            .map(|(n, _)| n.to_string())
            .collect()
    }

    fn instantiate(&self) -> Result<Instance> {
        self.instantiate_within(self.limits.memory_bytes)
    }

    /// An instance whose memory cap is `memory_bytes` (at most the limit).
    fn instantiate_within(&self, memory_bytes: usize) -> Result<Instance> {
        let mut store = Store::new(
            &self.engine,
            State {
                limiter: MemoryLimiter::new(
                    memory_bytes.min(self.limits.memory_bytes),
                    self.limits.max_table_elements,
                ),
            },
        );
        store.limiter(|s| &mut s.limiter);
        store.epoch_deadline_trap();
        let deadline_ticks = ticks(self.limits.call_timeout);
        store.set_epoch_deadline(deadline_ticks);
        let bindings = self
            .pre
            .instantiate(&mut store)
            .and_then(|instance| self.exports.load(&mut store, &instance));
        let bindings = check(bindings, self.limits.call_timeout)?;
        Ok(Instance {
            store,
            bindings,
            deadline_ticks,
            timeout: self.limits.call_timeout,
            max_output: self.limits.max_output_bytes,
        })
    }

    /// The policy's checksum for one row, computed in the sandbox.
    pub fn row_checksum(&self, header: &[String], fields: &[String]) -> Result<String> {
        let mut inst = self.instantiate()?;
        inst.arm();
        let r = inst.bindings.csvseal_core_checksum().call_row_checksum(
            &mut inst.store,
            header,
            fields,
        );
        inst.check(r)?.map_err(Error::Usage)
    }

    /// Starts a streaming verification.
    pub fn verifier(&self, schema_json: Option<&str>) -> Result<VerifySession> {
        self.verify_session(schema_json, None, self.limits.memory_bytes)
    }

    /// Starts a verification whose store may use at most `memory_bytes`
    /// (and never more than the limit): of a whole file, or of a part of
    /// one verified side by side with others. With `header`, the part is a
    /// later part of the file whose header record that is (see
    /// `verify-options.continue-after` in the WIT); such a part's report is
    /// only meaningful merged with the others' (`crate::verify` does).
    pub(crate) fn verifier_within(
        &self,
        schema_json: Option<&str>,
        header: Option<&[u8]>,
        memory_bytes: usize,
    ) -> Result<VerifySession> {
        self.verify_session(schema_json, header.map(<[u8]>::to_vec), memory_bytes)
    }

    fn verify_session(
        &self,
        schema_json: Option<&str>,
        continue_after: Option<Vec<u8>>,
        memory_bytes: usize,
    ) -> Result<VerifySession> {
        let mut inst = self.instantiate_within(memory_bytes)?;
        let options = wit::VerifyOptions {
            schema_json: schema_json.map(str::to_owned),
            limits: self.limits.to_wit(),
            continue_after,
        };
        inst.arm();
        let r = inst
            .bindings
            .csvseal_core_verify()
            .verifier()
            .call_create(&mut inst.store, &options);
        let resource = inst.check(r)?.map_err(Error::Usage)?;
        Ok(VerifySession {
            inst,
            resource,
            bytes: 0,
            newlines: 0,
        })
    }

    /// Starts a streaming seal.
    pub fn sealer(&self, options: &SealOptions) -> Result<SealSession> {
        let mut inst = self.instantiate()?;
        let wit_options = self.wit_seal_options(options);
        inst.arm();
        let r = inst
            .bindings
            .csvseal_core_seal()
            .sealer()
            .call_create(&mut inst.store, &wit_options);
        let resource = inst.check(r)?.map_err(Error::Usage)?;
        Ok(SealSession {
            inst,
            resource,
            bytes_in: 0,
            newlines_in: 0,
            bytes_out: 0,
        })
    }

    /// Starts a verification of a whole file that also digests its values
    /// (WIT `fidelity`). Only csvseal's own component provides it.
    pub fn digesting_verifier(&self, schema_json: Option<&str>) -> Result<DigestingVerifySession> {
        let options = self.wit_verify_options(schema_json);
        DigestingVerifySession::start(self.instantiate()?, &options)
    }

    /// Starts csvseal's own seal of an input, for its summary and the values
    /// digest of the rows it would write (the sealed bytes stay inside; WIT
    /// `fidelity`). Only csvseal's own component provides it.
    pub fn input_digest(&self, options: &SealOptions) -> Result<InputDigestSession> {
        let options = self.wit_seal_options(options);
        InputDigestSession::start(self.instantiate()?, &options)
    }

    /// The IDs of the keys in a public key file or keyring (WIT
    /// `signature`). An unreadable text is a usage error naming the line.
    pub fn public_key_ids(&self, keys: &str) -> Result<Vec<String>> {
        signature::public_key_ids(self.instantiate()?, keys)
    }

    /// Starts checking `signature` (a `.minisig` text) under `keys` (public
    /// key or keyring texts) in csvseal's own component. Fails (usage
    /// error) only when a key text is unreadable or there is no key: a bad
    /// signature is reported by [`SignatureCheckSession::finish`].
    pub fn signature_check(
        &self,
        signature: &str,
        keys: &[String],
    ) -> Result<SignatureCheckSession> {
        SignatureCheckSession::start(self.instantiate()?, signature, keys)
    }

    /// Checks `claims`' chain link against the file before it in its series
    /// (None: `claims` should be a series' first file). The inner error
    /// names both files.
    pub fn check_link(
        &self,
        claims: &SignedClaims,
        previous: Option<&ChainLink>,
    ) -> Result<std::result::Result<(), String>> {
        signature::check_link(self.instantiate()?, claims, previous)
    }

    /// The WIT form of `options`, with this sandbox's limits.
    fn wit_seal_options(&self, options: &SealOptions) -> wit::SealOptions {
        wit::SealOptions {
            format: match options.format {
                InputFormat::Csv => wit::InputFormat::Csv,
                InputFormat::Jsonl => wit::InputFormat::Jsonl,
            },
            dialect: wit::Dialect {
                delimiter: options.dialect.delimiter,
                quote: options.dialect.quote,
                has_header: options.dialect.has_header,
                guard_delimiter: options.dialect.guard_delimiter,
            },
            header: options.header.clone(),
            schema_json: options.schema_json.clone(),
            first_seq: options.first_seq,
            limits: self.limits.to_wit(),
        }
    }

    /// The WIT verify options for a whole file, with this sandbox's limits.
    fn wit_verify_options(&self, schema_json: Option<&str>) -> wit::VerifyOptions {
        wit::VerifyOptions {
            schema_json: schema_json.map(str::to_owned),
            limits: self.limits.to_wit(),
            continue_after: None,
        }
    }
}

fn new_engine() -> Result<Engine> {
    Engine::new(&engine_config::config())
        .map_err(|e| Error::Sandbox(format!("cannot create engine: {e:#}")))
}
