//! The wasmtime runtime that runs csvseal's logic component.
//!
//! The component's world imports nothing, and the linker here defines
//! nothing: no WASI, so no filesystem, sockets, clocks, randomness, env or
//! args. Each verification or seal gets a fresh store with a memory cap and a
//! per-call CPU deadline (epoch interruption), so a hostile or buggy component
//! can fail a call but never harm the host.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use wasmtime::component::{Linker, ResourceAny};
use wasmtime::{Config, Engine, ResourceLimiter, Store, Trap};

use crate::component_cache;
use crate::error::{Error, Result};
use crate::report::{ErrorKind, RowError, SealSummary, SeqGap, VerifyReport};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "engine",
    });
}

use bindings::exports::csvseal::core::types as wit;

/// csvseal's own logic component, built from `guest/` by
/// `scripts/build-component.sh`.
pub const BUILTIN_COMPONENT: &[u8] = include_bytes!("../assets/csvseal_guest.wasm");

/// How often the epoch ticker advances; the CPU deadline's resolution.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Resource limits for the component and the records it buffers.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Cap on the component's linear memory, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock bound on any single call into the component.
    pub call_timeout: Duration,
    /// Errors kept in a report; later ones are only counted.
    pub max_errors: u32,
    /// Largest record the component will buffer, in bytes.
    pub max_record_bytes: u64,
    /// Most columns a header may have.
    pub max_columns: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 512 << 20,
            call_timeout: Duration::from_secs(30),
            max_errors: 1000,
            max_record_bytes: 64 << 20,
            max_columns: 100_000,
        }
    }
}

impl Limits {
    fn to_wit(&self) -> wit::Limits {
        wit::Limits {
            max_errors: self.max_errors,
            max_record_bytes: self.max_record_bytes,
            max_columns: self.max_columns,
        }
    }
}

/// Per-store state: only the limiter, since the component gets no host calls.
struct State {
    limiter: MemoryLimiter,
}

/// Turns a refused memory growth into a trap that names the limit, rather
/// than a null allocation the guest would report as a bare `unreachable`.
struct MemoryLimiter {
    memory_bytes: usize,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            wasmtime::bail!(
                "memory limit hit: the component asked for {} MiB, the limit is {} MiB",
                desired >> 20,
                self.memory_bytes >> 20
            );
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        const MAX_TABLE: usize = 100_000;
        if desired > MAX_TABLE {
            wasmtime::bail!("table limit hit: {desired} elements, the limit is {MAX_TABLE}");
        }
        Ok(true)
    }
}

/// Advances the engine's epoch until dropped, so calls can be interrupted.
struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    fn start(engine: &Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (engine.clone(), stop.clone());
        thread::Builder::new()
            .name("csvseal-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawn epoch ticker thread");
        EpochTicker { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A loaded, ready-to-instantiate logic component.
pub struct Sandbox {
    engine: Engine,
    pre: bindings::EnginePre<State>,
    limits: Limits,
    _ticker: EpochTicker,
}

impl Sandbox {
    /// Loads csvseal's built-in component with the given limits, using the
    /// precompiled cache when it can.
    pub fn builtin(limits: Limits) -> Result<Self> {
        Self::from_component_bytes(BUILTIN_COMPONENT, limits)
    }

    /// Loads a component (the built-in one or a plugin implementing the
    /// `csvseal:core/engine` world) from its bytes.
    pub fn from_component_bytes(bytes: &[u8], limits: Limits) -> Result<Self> {
        let engine = new_engine()?;
        let component = component_cache::load(&engine, bytes)?;
        // An empty linker: a component that imports anything fails here.
        let linker = Linker::<State>::new(&engine);
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| Error::Sandbox(format!("cannot link the component: {e:#}")))?;
        let pre = bindings::EnginePre::new(pre)
            .map_err(|e| Error::Sandbox(format!("not a csvseal engine component: {e:#}")))?;
        let ticker = EpochTicker::start(&engine);
        Ok(Sandbox {
            engine,
            pre,
            limits,
            _ticker: ticker,
        })
    }

    /// The limits this sandbox applies.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The component's imports, as `name` strings (empty for csvseal's own).
    pub fn component_imports(&self) -> Vec<String> {
        let ty = self.pre.instance_pre().component().component_type();
        ty.imports(&self.engine)
            .map(|(n, _)| n.to_string())
            .collect()
    }

    fn instantiate(&self) -> Result<Instance> {
        let mut store = Store::new(
            &self.engine,
            State {
                limiter: MemoryLimiter {
                    memory_bytes: self.limits.memory_bytes,
                },
            },
        );
        store.limiter(|s| &mut s.limiter);
        store.epoch_deadline_trap();
        let deadline_ticks = ticks(self.limits.call_timeout);
        store.set_epoch_deadline(deadline_ticks);
        let bindings = self.pre.instantiate(&mut store);
        let bindings = check(bindings, self.limits.call_timeout)?;
        Ok(Instance {
            store,
            bindings,
            deadline_ticks,
            timeout: self.limits.call_timeout,
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
        let mut inst = self.instantiate()?;
        let options = wit::VerifyOptions {
            schema_json: schema_json.map(str::to_owned),
            limits: self.limits.to_wit(),
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
        })
    }

    /// Starts a streaming seal.
    pub fn sealer(&self, options: &SealOptions) -> Result<SealSession> {
        let mut inst = self.instantiate()?;
        let wit_options = wit::SealOptions {
            format: match options.format {
                InputFormat::Csv => wit::InputFormat::Csv,
                InputFormat::Jsonl => wit::InputFormat::Jsonl,
            },
            header: options.header.clone(),
            schema_json: options.schema_json.clone(),
            first_seq: options.first_seq,
            limits: self.limits.to_wit(),
        };
        inst.arm();
        let r = inst
            .bindings
            .csvseal_core_seal()
            .sealer()
            .call_create(&mut inst.store, &wit_options);
        let resource = inst.check(r)?.map_err(Error::Usage)?;
        Ok(SealSession { inst, resource })
    }
}

fn new_engine() -> Result<Engine> {
    let mut config = Config::new();
    config.epoch_interruption(true);
    // The component's stack needs are small; a tight cap turns runaway
    // recursion into a prompt trap.
    config.max_wasm_stack(1 << 20);
    Engine::new(&config).map_err(|e| Error::Sandbox(format!("cannot create engine: {e:#}")))
}

/// Maps a failed call to an error that names the limit it hit.
fn check<T>(r: wasmtime::Result<T>, timeout: Duration) -> Result<T> {
    r.map_err(|e| match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Error::Sandbox(format!(
            "CPU limit hit: a call into the component ran longer than {timeout:?}"
        )),
        Some(trap) => Error::Sandbox(format!("the component trapped: {trap}")),
        // The root cause is the useful part (e.g. our limiter's message);
        // the wasm backtrace above it means nothing to a user.
        None => Error::Sandbox(
            e.chain()
                .last()
                .map_or_else(|| e.to_string(), |c| c.to_string()),
        ),
    })
}

fn ticks(timeout: Duration) -> u64 {
    (timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

/// One store with one instance of the component.
struct Instance {
    store: Store<State>,
    bindings: bindings::Engine,
    deadline_ticks: u64,
    timeout: Duration,
}

impl Instance {
    /// Gives the next call a fresh CPU budget.
    fn arm(&mut self) {
        self.store.set_epoch_deadline(self.deadline_ticks);
    }

    /// Maps a failed call to an error that names the limit it hit.
    fn check<T>(&self, r: wasmtime::Result<T>) -> Result<T> {
        check(r, self.timeout)
    }
}

/// Which input format a seal reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputFormat {
    /// CSV with `"` quoting.
    #[default]
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// Options for [`Sandbox::sealer`].
#[derive(Debug, Clone)]
pub struct SealOptions {
    pub format: InputFormat,
    /// The input's columns, when the input has no header line.
    pub header: Option<Vec<String>>,
    pub schema_json: Option<String>,
    /// `file_seq` of the first row.
    pub first_seq: u64,
}

/// A verification in progress: feed the file's bytes, then finish.
pub struct VerifySession {
    inst: Instance,
    resource: ResourceAny,
    bytes: u64,
}

impl VerifySession {
    /// Feeds the next chunk of the file (any size; 64 KiB–1 MiB is best).
    pub fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        self.bytes += chunk.len() as u64;
        self.inst.arm();
        let r = self
            .inst
            .bindings
            .csvseal_core_verify()
            .verifier()
            .call_feed(&mut self.inst.store, self.resource, chunk);
        self.inst.check(r)
    }

    /// Ends the input and returns the report.
    pub fn finish(mut self) -> Result<VerifyReport> {
        self.inst.arm();
        let r = self
            .inst
            .bindings
            .csvseal_core_verify()
            .verifier()
            .call_finish(&mut self.inst.store, self.resource);
        let report = self.inst.check(r)?;
        let _ = self.resource.resource_drop(&mut self.inst.store);
        Ok(convert_report(report, self.bytes))
    }
}

/// A seal in progress: feed input bytes, write what comes back, then finish.
pub struct SealSession {
    inst: Instance,
    resource: ResourceAny,
}

/// Why a seal did not complete.
#[derive(Debug)]
pub struct SealRejected {
    pub errors: Vec<RowError>,
    pub count: u64,
    pub truncated: bool,
}

impl SealSession {
    /// Feeds input bytes; returns the sealed bytes they complete.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<u8>> {
        self.inst.arm();
        let r = self.inst.bindings.csvseal_core_seal().sealer().call_feed(
            &mut self.inst.store,
            self.resource,
            chunk,
        );
        self.inst.check(r)
    }

    /// Ends the input: the final bytes and a summary, or the input's errors.
    pub fn finish(mut self) -> Result<std::result::Result<(Vec<u8>, SealSummary), SealRejected>> {
        self.inst.arm();
        let r = self
            .inst
            .bindings
            .csvseal_core_seal()
            .sealer()
            .call_finish(&mut self.inst.store, self.resource);
        let out = self.inst.check(r)?;
        let _ = self.resource.resource_drop(&mut self.inst.store);
        Ok(match out {
            Ok((tail, s)) => Ok((
                tail,
                SealSummary {
                    columns: s.columns,
                    rows: s.rows,
                    first_seq: s.first_seq,
                    last_seq: s.last_seq,
                    bytes: s.bytes,
                },
            )),
            Err(f) => Err(SealRejected {
                errors: f.errors.into_iter().map(convert_error).collect(),
                count: f.error_count,
                truncated: f.errors_truncated,
            }),
        })
    }
}

fn convert_kind(k: wit::ErrorKind) -> ErrorKind {
    match k {
        wit::ErrorKind::Malformed => ErrorKind::Malformed,
        wit::ErrorKind::Encoding => ErrorKind::Encoding,
        wit::ErrorKind::BadHeader => ErrorKind::BadHeader,
        wit::ErrorKind::MissingColumn => ErrorKind::MissingColumn,
        wit::ErrorKind::ChecksumMismatch => ErrorKind::ChecksumMismatch,
        wit::ErrorKind::SequenceViolation => ErrorKind::SequenceViolation,
        wit::ErrorKind::Schema => ErrorKind::Schema,
        wit::ErrorKind::TornRow => ErrorKind::TornRow,
        wit::ErrorKind::Limit => ErrorKind::Limit,
    }
}

fn convert_error(e: wit::RowError) -> RowError {
    RowError {
        kind: convert_kind(e.kind),
        line: e.line,
        seq: e.seq,
        column: e.column,
        message: e.message,
    }
}

fn convert_report(r: wit::VerifyReport, bytes: u64) -> VerifyReport {
    VerifyReport {
        valid: r.valid,
        rows: r.rows,
        first_seq: r.first_seq,
        last_seq: r.last_seq,
        columns: r.columns,
        gaps: r
            .gaps
            .into_iter()
            .map(|g| SeqGap {
                line: g.line,
                after: g.after,
                next: g.next,
            })
            .collect(),
        gap_count: r.gap_count,
        errors: r.errors.into_iter().map(convert_error).collect(),
        error_count: r.error_count,
        errors_truncated: r.errors_truncated,
        warnings: r.warnings,
        bytes,
    }
}
