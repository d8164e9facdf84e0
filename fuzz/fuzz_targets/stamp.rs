#![no_main]
//! Stamping arbitrary bytes (JPEG in the DCT domain, PNG, GIF, TIFF and WebP in place, the
//! re-encoding fallback): never panics, and a stamped file still decodes at its size.

#[path = "../../crates/aigc-label-image/tests/support/fuzz_stamp.rs"]
mod property;

libfuzzer_sys::fuzz_target!(|data: &[u8]| property::stamp_never_panics(data));
