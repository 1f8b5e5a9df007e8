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

use crate::error::{Error, Result};
use crate::report::{ErrorKind, RowError, SealSummary, SeqGap, VerifyReport};

mod cache;
pub mod plugin;

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "engine",
    });
}

use bindings::exports::csvseal::core::types as wit;

/// csvseal's own logic component, built from `guest/` by
/// `scripts/build-component.sh`.
pub const BUILTIN_COMPONENT: &[u8] = include_bytes!("../../assets/csvseal_guest.wasm");

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
    /// Most bytes one call may return (sealed output, or a report's text).
    /// csvseal feeds 1 MiB chunks, whose sealed form is at most ~45 MiB.
    pub max_output_bytes: u64,
    /// Most elements a component's tables may hold (core wasm tables of
    /// function references; the component model's handle tables live in
    /// them too).
    pub max_table_elements: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 512 << 20,
            call_timeout: Duration::from_secs(30),
            max_errors: 1000,
            max_record_bytes: 64 << 20,
            max_columns: 100_000,
            max_output_bytes: 64 << 20,
            max_table_elements: 100_000,
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

/// Turns a refused memory or table growth into a trap that names the limit,
/// rather than a null allocation the guest would report as a bare
/// `unreachable`.
struct MemoryLimiter {
    memory_bytes: usize,
    table_elements: usize,
}

/// A limit the host enforced; carried through wasmtime's error so
/// [`check`] can report it as [`Error::LimitExceeded`].
#[derive(Debug)]
struct LimitHit {
    limit: &'static str,
    message: String,
}

impl std::fmt::Display for LimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} limit hit: {}", self.limit, self.message)
    }
}

impl std::error::Error for LimitHit {}

/// Core instances, memories and tables one component may create. csvseal's
/// own has a handful of each; the caps stop a component built to exhaust
/// the host with thousands of them.
const MAX_INSTANCES: usize = 100;
const MAX_MEMORIES: usize = 10;
const MAX_TABLES: usize = 100;

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            return Err(LimitHit {
                limit: "memory",
                message: format!(
                    "the component asked for {} MiB, the limit is {} MiB (--memory-limit-mib)",
                    desired.div_ceil(1 << 20),
                    self.memory_bytes >> 20
                ),
            }
            .into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.table_elements {
            return Err(LimitHit {
                limit: "table",
                message: format!(
                    "a table of {desired} elements, the limit is {} (--max-table-elements)",
                    self.table_elements
                ),
            }
            .into());
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        MAX_INSTANCES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
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
    /// True for csvseal's own component (the one that verifies writes).
    builtin: bool,
    _ticker: EpochTicker,
}

impl Sandbox {
    /// Loads csvseal's built-in component with the given limits, using the
    /// precompiled cache when it can.
    pub fn builtin(limits: Limits) -> Result<Self> {
        Self::from_component_bytes(BUILTIN_COMPONENT, limits)
    }

    /// Loads a plugin: a component implementing the `csvseal:core/engine`
    /// world (any language), from a `.wasm` file. It gets no WASI and no
    /// host functions at all; see [`Sandbox::from_component_bytes`].
    pub fn from_component_file(path: &std::path::Path, limits: Limits) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read component", e))?;
        Self::from_component_bytes(&bytes, limits).map_err(|e| match e {
            Error::Sandbox(m) => Error::Sandbox(format!("{}: {m}", path.display())),
            e => e,
        })
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
        let pre = bindings::EnginePre::new(pre)
            .map_err(|e| Error::Sandbox(format!("not a csvseal engine component: {e:#}")))?;
        let ticker = EpochTicker::start(&engine);
        Ok(Sandbox {
            engine,
            pre,
            limits,
            builtin: bytes == BUILTIN_COMPONENT,
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
                    table_elements: self.limits.max_table_elements,
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
        Ok(SealSession {
            inst,
            resource,
            bytes_in: 0,
            bytes_out: 0,
        })
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
    r.map_err(|e| {
        if let Some(hit) = e.chain().find_map(|c| c.downcast_ref::<LimitHit>()) {
            return Error::LimitExceeded {
                limit: hit.limit,
                message: hit.message.clone(),
            };
        }
        let msg = format!("{e:#}");
        // wasmtime's own caps (instances, memories, tables) surface as
        // plain errors with this wording.
        if msg.contains("resource limit exceeded") {
            return Error::LimitExceeded {
                limit: "instances",
                message: format!("{msg} (at most {MAX_INSTANCES} instances, {MAX_MEMORIES} memories, {MAX_TABLES} tables)"),
            };
        }
        check_trap(e, timeout)
    })
}

fn check_trap(e: wasmtime::Error, timeout: Duration) -> Error {
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => Error::LimitExceeded {
            limit: "cpu",
            message: format!(
                "a call into the component ran longer than {timeout:?} (--call-timeout-secs)"
            ),
        },
        Some(trap) => Error::Sandbox(format!("the component trapped: {trap}")),
        // The root cause is the useful part (e.g. our limiter's message);
        // the wasm backtrace above it means nothing to a user.
        None => Error::Sandbox(
            e.chain()
                .last()
                .map_or_else(|| e.to_string(), |c| c.to_string()),
        ),
    }
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
    max_output: u64,
}

impl Instance {
    /// Refuses a call's result larger than the per-call output limit.
    fn check_output(&self, bytes: u64, what: &str) -> Result<()> {
        if bytes > self.max_output {
            return Err(Error::LimitExceeded {
                limit: "output",
                message: format!(
                    "the component returned {} MiB of {what} in one call, the limit is {} MiB (--max-output-mib)",
                    bytes >> 20,
                    self.max_output >> 20
                ),
            });
        }
        Ok(())
    }

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
        self.inst.check_output(report_bytes(&report), "report")?;
        let _ = self.resource.resource_drop(&mut self.inst.store);
        Ok(convert_report(report, self.bytes))
    }
}

/// A seal in progress: feed input bytes, write what comes back, then finish.
pub struct SealSession {
    inst: Instance,
    resource: ResourceAny,
    bytes_in: u64,
    bytes_out: u64,
}

/// The most a legitimate seal emits per input byte, with margin: a 2-byte
/// row `a\n` becomes up to 89 bytes (20-digit seq, comma, value, comma, 64
/// hex digits, CR LF), about 45x.
const MAX_EXPANSION: u64 = 64;

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
        let out = self.inst.check(r)?;
        self.bytes_in += chunk.len() as u64;
        self.count_output(out.len())?;
        Ok(out)
    }

    /// Per-call and total output bounds: no call returns more than
    /// `max_output_bytes`, and the whole output stays within what sealing
    /// the input could produce, so a plugin cannot fill the disk.
    fn count_output(&mut self, n: usize) -> Result<()> {
        self.inst.check_output(n as u64, "sealed output")?;
        self.bytes_out += n as u64;
        let bound = self
            .bytes_in
            .saturating_mul(MAX_EXPANSION)
            .saturating_add(self.inst.max_output);
        if self.bytes_out > bound {
            return Err(Error::LimitExceeded {
                limit: "output",
                message: format!(
                    "the component returned {} MiB in all for {} MiB of input, more than sealing can produce ({MAX_EXPANSION}x the input + --max-output-mib)",
                    self.bytes_out >> 20,
                    self.bytes_in >> 20
                ),
            });
        }
        Ok(())
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
        match &out {
            Ok((tail, _)) => self.count_output(tail.len())?,
            Err(f) => self.inst.check_output(errors_bytes(&f.errors), "errors")?,
        }
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

/// Roughly the bytes a report's variable parts take, for the output limit.
fn report_bytes(r: &wit::VerifyReport) -> u64 {
    let strings = |v: &[String]| v.iter().map(|s| s.len() as u64 + 16).sum::<u64>();
    strings(&r.columns) + strings(&r.warnings) + r.gaps.len() as u64 * 24 + errors_bytes(&r.errors)
}

fn errors_bytes(errors: &[wit::RowError]) -> u64 {
    errors
        .iter()
        .map(|e| 48 + e.message.len() as u64 + e.column.as_ref().map_or(0, |c| c.len() as u64))
        .sum()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_names_the_table_and_memory_limits() {
        let mut l = MemoryLimiter {
            memory_bytes: 1 << 20,
            table_elements: 100,
        };
        assert!(l.table_growing(0, 100, None).unwrap());
        let e = l.table_growing(0, 101, None).unwrap_err();
        let hit = e.downcast_ref::<LimitHit>().expect("a LimitHit");
        assert_eq!(hit.limit, "table");
        assert!(hit.message.contains("--max-table-elements"), "{hit}");
        let e = l.memory_growing(0, 2 << 20, None).unwrap_err();
        assert_eq!(e.downcast_ref::<LimitHit>().unwrap().limit, "memory");
        let mapped = check::<()>(Err(e), Duration::from_secs(1)).unwrap_err();
        assert!(
            matches!(
                mapped,
                Error::LimitExceeded {
                    limit: "memory",
                    ..
                }
            ),
            "{mapped}"
        );
    }
}
