#![no_main]
//! The label JSON reader: never panics; what it reads round-trips through the canonical writer.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label_testutil::fuzz_json(data));
