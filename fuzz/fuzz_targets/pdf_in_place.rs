#![no_main]
//! PDF label updates in place: never a panic; success leaves exactly the new label (the file
//! grows by the update), a refusal writes nothing.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label_testutil::in_place::fuzz_in_place_as_rewrite(&aigc_label_text::Pdf, data));
