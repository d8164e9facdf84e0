#![no_main]
//! The Matroska splice writer of video stamping: reading never panics, and a splice over the
//! first blocks reads back with the stand-in frames first and the kept blocks unchanged.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label_video::stamp::fuzz_splice_mkv(data));
