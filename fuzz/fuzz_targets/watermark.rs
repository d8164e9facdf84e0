#![no_main]
//! The watermark detector on arbitrary pixels: never panics, and a marked image detects as its
//! own payload or nothing.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label_watermark::fuzz_detect(data));
