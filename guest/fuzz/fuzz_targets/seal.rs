//! The sealer on arbitrary input: never a panic, and whatever it seals
//! verifies valid with the same row count and last `file_seq`. The oracle is
//! `csvseal_guest::fuzz_oracle::seal` (shared with the replay unit test).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| csvseal_guest::fuzz_oracle::seal(data));
