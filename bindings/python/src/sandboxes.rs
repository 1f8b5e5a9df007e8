//! One loaded sandbox per set of limits, shared by every call in the
//! process: loading the component costs milliseconds (from the compiled
//! cache), a fresh instance per call costs microseconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use csvseal::{Limits, Sandbox};
use pyo3::FromPyObject;

/// The limits a Python call asks for, as the Python layer passes them:
/// (max_errors, memory_limit_mib, call_timeout_ms, max_record_mib,
/// max_output_mib, max_table_elements).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, FromPyObject)]
pub struct LimitsKey(pub u32, pub usize, pub u64, pub u64, pub u64, pub usize);

impl LimitsKey {
    /// The host's default limits (the CLI's), in this form.
    pub fn host_default() -> Self {
        let d = Limits::default();
        LimitsKey(
            d.max_errors,
            d.memory_bytes >> 20,
            u64::try_from(d.call_timeout.as_millis()).unwrap_or(u64::MAX),
            d.max_record_bytes >> 20,
            d.max_output_bytes >> 20,
            d.max_table_elements,
        )
    }

    fn limits(self) -> Limits {
        let LimitsKey(max_errors, memory_mib, timeout_ms, record_mib, output_mib, table) = self;
        Limits {
            memory_bytes: memory_mib.saturating_mul(1 << 20),
            call_timeout: Duration::from_millis(timeout_ms.max(1)),
            max_errors,
            max_record_bytes: record_mib.saturating_mul(1 << 20),
            max_output_bytes: output_mib.saturating_mul(1 << 20),
            max_table_elements: table,
            ..Limits::default()
        }
    }
}

/// Sandboxes of this process. A forked child starts afresh: the parent's
/// sandboxes lost their epoch ticker thread in the fork (no CPU deadline).
struct Cache {
    pid: u32,
    sandboxes: HashMap<LimitsKey, Arc<Sandbox>>,
}

static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

/// Distinct limit sets kept; beyond that the cache starts over.
const MAX_CACHED: usize = 8;

/// The sandbox for `key`, loaded on first use.
pub fn get(key: LimitsKey) -> csvseal::Result<Arc<Sandbox>> {
    let pid = std::process::id();
    if let Some(c) = CACHE.lock().unwrap_or_else(|p| p.into_inner()).as_ref()
        && c.pid == pid
        && let Some(s) = c.sandboxes.get(&key)
    {
        return Ok(s.clone());
    }
    // Loaded outside the lock: a cold load compiles the component (~1 s).
    let loaded = Arc::new(Sandbox::builtin(key.limits())?);
    let mut guard = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if guard.as_ref().is_none_or(|c| c.pid != pid) {
        // Never drop a parent's sandboxes in a child: forget them.
        if let Some(stale) = guard.take() {
            std::mem::forget(stale);
        }
        *guard = Some(Cache {
            pid,
            sandboxes: HashMap::new(),
        });
    }
    let cache = guard.as_mut().expect("just set");
    if cache.sandboxes.len() >= MAX_CACHED && !cache.sandboxes.contains_key(&key) {
        cache.sandboxes.clear();
    }
    Ok(cache.sandboxes.entry(key).or_insert(loaded).clone())
}
