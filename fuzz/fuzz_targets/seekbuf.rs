#![no_main]
//! The buffered reader under every file read: any program of seeks and reads gives what the
//! stream itself gives.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label_testutil::fuzz_seekbuf(data));
