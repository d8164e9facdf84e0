#![no_main]
//! Stamping arbitrary bytes (JPEG in the DCT domain, PNG, GIF, TIFF and WebP in place, the
//! re-encoding fallback): never panics, and a stamped file still decodes at its size.

#[path = "../../crates/aigc-label-image/tests/support/fuzz_stamp.rs"]
mod property;

libfuzzer_sys::fuzz_target!(
    init: {
        // libfuzzer-sys's panic hook aborts on every panic, even one the library catches:
        // stamping catches a panic inside an image codec (zune-jpeg 0.4 asserts on crafted
        // JPEGs) and returns an error. Taking the hook puts back the default one; a panic that
        // escapes the target still aborts, in libfuzzer-sys's `test_input_wrap`.
        drop(std::panic::take_hook());
    },
    |data: &[u8]| property::stamp_never_panics(data)
);
