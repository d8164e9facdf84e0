#![no_main]
//! The MP3 (ID3v2) carrier on arbitrary bytes: reading never panics, and a successful write reads back as exactly
//! the label written, once.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label_testutil::fuzz_carrier(&aigc_label_audio::Mp3, data));
