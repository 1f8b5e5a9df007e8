//! The verifier on arbitrary bytes: never a panic, and any split of the
//! input into chunks gives the same report as one whole feed. The oracle is
//! `csvseal_guest::fuzz_oracle::verify` (shared with the replay unit test).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| csvseal_guest::fuzz_oracle::verify(data));
