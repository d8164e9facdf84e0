#![no_main]
//! HEIF/AVIF label updates in place: never a panic; success leaves exactly the new label, a
//! refusal writes nothing.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label_testutil::in_place::fuzz_in_place(&aigc_label_image::Heif, data));
