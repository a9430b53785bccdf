//! Feeds arbitrary bytes to the parser and checks the round-trip promises.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    corosync_conf::fuzz_check(data);
});
