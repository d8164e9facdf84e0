#![no_main]
//! PDF label updates in place: never a panic; success leaves exactly the new label and the very
//! bytes of a rewrite (an update appended, or ours replaced), a refusal writes nothing.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label_testutil::in_place::fuzz_in_place_as_rewrite(&aigc_label_text::Pdf, data));
