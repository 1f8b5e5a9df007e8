//! The verifier on arbitrary bytes: it must never panic, and any split of
//! the input into chunks must give the same report as one whole feed.
#![no_main]

use csvseal_guest::report::{Limits, VerifyOptions};
use csvseal_guest::verify::Verifier;
use libfuzzer_sys::fuzz_target;

fn options() -> VerifyOptions {
    VerifyOptions {
        schema_json: None,
        // Small limits so the limit paths are reached too.
        limits: Limits {
            max_errors: 16,
            max_record_bytes: 4096,
            max_columns: 64,
        },
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size; the rest is the file.
    let Some((&split, file)) = data.split_first() else {
        return;
    };
    let mut whole = Verifier::new(options()).unwrap();
    whole.feed(file);
    let a = whole.finish();
    let mut chunked = Verifier::new(options()).unwrap();
    for chunk in file.chunks(usize::from(split % 17) + 1) {
        chunked.feed(chunk);
    }
    let b = chunked.finish();
    assert_eq!(a, b, "chunking changed the report");
    assert_eq!(a.valid, a.error_count == 0);
});
