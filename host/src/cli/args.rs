//! What several subcommands share: exit codes, the sandbox's limits, the
//! plugin option, durations.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use csvseal::{Limits, Sandbox};

use super::duration;

/// Exit code: everything valid / done.
pub const EXIT_OK: i32 = 0;
/// Exit code: a file did not verify, or the input was rejected.
pub const EXIT_INVALID: i32 = 1;
/// Exit code: usage or I/O error (the check could not be done).
pub const EXIT_ERROR: i32 = 2;

/// Parses a positive duration such as `500ms`, `30s`, `5m`, `1h` (for
/// `--timeout`, `--max-temp-age`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = duration::parse(s)?;
    if d.is_zero() {
        return Err(format!("{s:?}: must be more than zero"));
    }
    Ok(d)
}

#[derive(Args)]
pub struct LimitArgs {
    /// Errors listed per file; later ones are only counted.
    #[arg(long, default_value_t = 1000)]
    max_errors: u32,
    /// Memory cap for the sandboxed component (all its memories together), in MiB.
    #[arg(long, default_value_t = 512)]
    memory_limit_mib: usize,
    /// CPU bound on any one call into the component, in seconds.
    #[arg(long, default_value_t = 30)]
    call_timeout_secs: u64,
    /// Largest record accepted, in MiB.
    #[arg(long, default_value_t = 64)]
    max_record_mib: u64,
    /// Most bytes one call into the component may return, in MiB.
    #[arg(long, default_value_t = 64)]
    max_output_mib: u64,
    /// Most elements the component's tables may hold.
    #[arg(long, default_value_t = 100_000)]
    max_table_elements: usize,
}

/// `--component`, for the subcommands where a plugin has a job (`write`,
/// `verify`). The others (recover, backup, restore, salvage, audit) judge
/// files with the built-in verifier only, so they do not take the option
/// rather than accept it and ignore it.
#[derive(Args)]
pub struct PluginArg {
    /// A plugin component (csvseal:core/engine world) to use instead of the
    /// built-in logic. It gets no WASI at all; `write` still verifies its
    /// output with the built-in verifier, `verify` applies both.
    #[arg(long, value_name = "PATH.wasm")]
    component: Option<PathBuf>,
}

impl PluginArg {
    /// The plugin given with `--component`, else the built-in component.
    pub fn sandbox(&self, limits: &LimitArgs) -> csvseal::Result<Sandbox> {
        match &self.component {
            Some(path) => Sandbox::from_component_file(path, limits.to_limits()),
            None => Sandbox::builtin(limits.to_limits()),
        }
    }
}

impl LimitArgs {
    pub fn to_limits(&self) -> Limits {
        Limits {
            memory_bytes: self.memory_limit_mib << 20,
            call_timeout: Duration::from_secs(self.call_timeout_secs.max(1)),
            max_errors: self.max_errors,
            max_record_bytes: self.max_record_mib << 20,
            max_output_bytes: self.max_output_mib << 20,
            max_table_elements: self.max_table_elements,
            ..Limits::default()
        }
    }
}
