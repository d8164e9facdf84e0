#![no_main]
//! The XMP reader and writer: reading never panics; writing leaves exactly one `TC260:AIGC`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label_testutil::fuzz_xmp(data));
