//! What a component may use: memory, tables, instances, CPU time per call;
//! and how a limit hit becomes a typed [`Error::LimitExceeded`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use wasmtime::{Engine, ResourceLimiter, Trap};

use super::bindings::exports::csvseal::core::types as wit;
use crate::error::{Error, Result};

/// How often the epoch ticker advances; the CPU deadline's resolution.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Resource limits for the component and the records it buffers.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Cap on all of the component's linear memories together, in bytes.
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
    pub(super) fn to_wit(&self) -> wit::Limits {
        wit::Limits {
            max_errors: self.max_errors,
            max_record_bytes: self.max_record_bytes,
            max_columns: self.max_columns,
        }
    }
}

/// Per-store state: only the limiter, since the component gets no host calls.
pub(super) struct State {
    pub(super) limiter: MemoryLimiter,
}

/// Turns a refused memory or table growth into a trap that names the limit,
/// rather than a null allocation the guest would report as a bare
/// `unreachable`. The caps are on the store's total: a component may have
/// several memories and tables (up to [`MAX_MEMORIES`], [`MAX_TABLES`]),
/// and together they get no more than one cap.
pub(super) struct MemoryLimiter {
    memory_bytes: usize,
    table_elements: usize,
    /// Bytes granted to all of the store's memories so far.
    memory_total: usize,
    /// Elements granted to all of its tables so far.
    table_total: usize,
    /// The last grant, taken back if that growth then fails.
    last_memory_grant: usize,
    last_table_grant: usize,
}

impl MemoryLimiter {
    pub(super) fn new(memory_bytes: usize, table_elements: usize) -> Self {
        MemoryLimiter {
            memory_bytes,
            table_elements,
            memory_total: 0,
            table_total: 0,
            last_memory_grant: 0,
            last_table_grant: 0,
        }
    }
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
pub(super) const MAX_INSTANCES: usize = 100;
pub(super) const MAX_MEMORIES: usize = 10;
pub(super) const MAX_TABLES: usize = 100;

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let grant = desired.saturating_sub(current);
        let total = self.memory_total.saturating_add(grant);
        if total > self.memory_bytes {
            return Err(LimitHit {
                limit: "memory",
                message: format!(
                    "the component asked for {} MiB of memory in all, the limit is {} MiB (--memory-limit-mib)",
                    total.div_ceil(1 << 20),
                    self.memory_bytes >> 20
                ),
            }
            .into());
        }
        self.memory_total = total;
        self.last_memory_grant = grant;
        Ok(true)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        // Growth is one call at a time per store: the failure is the grant
        // just made.
        self.memory_total -= std::mem::take(&mut self.last_memory_grant);
        Ok(())
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let grant = desired.saturating_sub(current);
        let total = self.table_total.saturating_add(grant);
        if total > self.table_elements {
            return Err(LimitHit {
                limit: "table",
                message: format!(
                    "tables of {total} elements in all, the limit is {} (--max-table-elements)",
                    self.table_elements
                ),
            }
            .into());
        }
        self.table_total = total;
        self.last_table_grant = grant;
        Ok(true)
    }

    fn table_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        self.table_total -= std::mem::take(&mut self.last_table_grant);
        Ok(())
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
pub(super) struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    pub(super) fn start(engine: &Engine) -> Self {
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

/// Maps a failed call to an error that names the limit it hit.
pub(super) fn check<T>(r: wasmtime::Result<T>, timeout: Duration) -> Result<T> {
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

pub(super) fn ticks(timeout: Duration) -> u64 {
    (timeout.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limiter_names_the_table_and_memory_limits() {
        let mut l = MemoryLimiter::new(1 << 20, 100);
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

    #[test]
    fn the_caps_are_on_the_total_of_all_memories_and_tables() {
        let mib = 1 << 20;
        let mut l = MemoryLimiter::new(10 * mib, 100);
        // Each memory alone is under the cap; together they are not.
        assert!(l.memory_growing(0, 4 * mib, None).unwrap());
        assert!(l.memory_growing(0, 4 * mib, None).unwrap());
        let e = l.memory_growing(0, 4 * mib, None).unwrap_err();
        assert!(
            e.downcast_ref::<LimitHit>()
                .unwrap()
                .message
                .contains("12 MiB of memory in all")
        );
        // Growing one counts only the growth; a failed growth gives it back.
        assert!(l.memory_growing(4 * mib, 5 * mib, None).unwrap());
        l.memory_grow_failed(wasmtime::Error::msg("mmap failed"))
            .unwrap();
        assert!(l.memory_growing(0, 2 * mib, None).unwrap());
        assert!(l.memory_growing(2 * mib, 3 * mib, None).is_err());
        assert!(l.table_growing(0, 60, None).unwrap());
        assert!(l.table_growing(0, 50, None).is_err());
        assert!(l.table_growing(60, 100, None).unwrap());
    }
}
