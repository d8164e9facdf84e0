#![no_main]
//! TIFF label updates in place: never a panic; success leaves exactly the new label (the file
//! may grow), a refusal writes nothing.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label_testutil::in_place::fuzz_in_place_growing(&aigc_label_image::Tiff, data));
