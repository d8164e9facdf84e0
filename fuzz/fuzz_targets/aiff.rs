#![no_main]
//! The AIFF / AIFC carrier on arbitrary bytes: reading never panics, and a successful write reads back as
//! exactly the label written, once.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label_testutil::fuzz_carrier(&aigc_label_audio::Aiff, data));
