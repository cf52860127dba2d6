//! Every four-letter-word parser and the jute frame decoder on arbitrary bytes:
//! `cargo +nightly fuzz run parse_4lw`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    zookeeper_operator::zk::parse::parse_all(data);
});
