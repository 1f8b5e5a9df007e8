//! csvseal's CSV reader against the `csv` crate on arbitrary bytes, in every
//! input dialect: the same records wherever csvseal accepts, and otherwise
//! only the differences ARCHITECTURE.md lists. The oracle is
//! `csvseal_guest::fuzz_oracle::differential` (shared with the property test).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    csvseal_guest::fuzz_oracle::differential(data);
});
