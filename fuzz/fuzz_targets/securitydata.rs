#![no_main]
//! SecurityData envelopes and trace scanners: never panic; what the lenient envelope reader
//! accepts round-trips through the guide's form.
libfuzzer_sys::fuzz_target!(|data: &[u8]| aigc_label_trust::fuzz::securitydata(data));
