#![no_main]
//! WAV, AIFF, FLAC and MP3 label updates in place: never a panic; success leaves exactly the new
//! label, a refusal writes nothing.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label_audio::in_place::fuzz_update(data));
