#![no_main]
//! The MP4 splice writer of video stamping: reading never panics, and a splice over the first
//! stretch reads back with the new samples first and every kept sample's bytes unchanged.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label_video::stamp::fuzz_splice(data));
