//! libFuzzer target: any bytes through the RDB decoder, one-shot and
//! chunked, checking the invariants of `tandem_core::rdb::fuzz::check`
//! (no panic, chunking-independent outcome, offsets within the input,
//! re-encoding round trips). Seed it with `../shared/rdb/golden`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().fold(0u64, |a, &b| a.rotate_left(5) ^ b as u64);
    tandem_core::rdb::fuzz::check(data, split);
});
