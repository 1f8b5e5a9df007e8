//! The built component against the native library on fuzzer input: the
//! reports must be equal. The job comes from `host/tests/differential`
//! (shared with `component_vs_native.rs`, which also replays this target's
//! seeds and kept crashes): raw bytes to verify or seal, with a schema and
//! limit profile chosen by the first byte, or a structured random job
//! seeded by the input (`job_from_fuzz_input`).
#![no_main]

#[path = "../../tests/differential/mod.rs"]
mod differential;

use libfuzzer_sys::fuzz_target;

thread_local! {
    static SANDBOXES: Vec<csvseal::Sandbox> = differential::sandboxes();
}

fuzz_target!(|data: &[u8]| {
    let Some(job) = differential::job_from_fuzz_input(data) else {
        return;
    };
    SANDBOXES.with(|s| {
        if let Err(e) = differential::check(s, &job) {
            panic!("{e}");
        }
    });
});
