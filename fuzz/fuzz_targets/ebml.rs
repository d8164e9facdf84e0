#![no_main]
//! The Matroska/WebM (EBML) carrier: reading never panics; a write that succeeds leaves exactly our label.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label_testutil::fuzz_carrier(&aigc_label_video::Matroska, data));
