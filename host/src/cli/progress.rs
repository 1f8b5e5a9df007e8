//! Progress bars for long reads: on a terminal only, never with `--json`
//! or when stderr is a pipe or file, and only for inputs large enough to
//! take a while.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Inputs smaller than this finish too fast for a bar to help.
pub const MIN_BYTES: u64 = 64 << 20;

/// A bar for reading `len` bytes (a spinner with a byte count when the size
/// is unknown, as for stdin), or `None` when no bar should be drawn.
pub fn bar(len: Option<u64>, json: bool, label: &str) -> Option<ProgressBar> {
    if json || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = match len {
        Some(n) if n < MIN_BYTES => return None,
        Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .ok()?
            .progress_chars("=> "),
        ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template("{spinner} {msg} {bytes} {bytes_per_sec}").ok()?,
        ),
    };
    pb.set_message(super::terminal::escape(label).into_owned());
    Some(pb)
}
