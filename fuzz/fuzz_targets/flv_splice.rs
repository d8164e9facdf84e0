#![no_main]
//! The FLV splice writer of video stamping: reading never panics, and a splice over the frames
//! before the cut reads back with the stand-in frames first and everything after unchanged.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label_video::stamp::fuzz_splice_flv(data));
