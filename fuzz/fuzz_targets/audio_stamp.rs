#![no_main]
//! The container readers of `aigc_label_audio::stamp_file` on arbitrary bytes (the MP3 frame
//! walk, the Ogg page walk, the FLAC metadata blocks, a whole AIFF stamp): never a panic, never
//! past the limits.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label_audio::fuzz_readers(data));
