#![no_main]
//! Stamping arbitrary bytes (JPEG in the DCT domain, PNG, GIF, TIFF and WebP in place, the
//! re-encoding fallback): never panics, and a stamped file still decodes at its size.

#[path = "../../crates/aigc-label-image/tests/support/fuzz_stamp.rs"]
mod property;

libfuzzer_sys::fuzz_target!(
    init: {
        // libfuzzer-sys's panic hook prints the panic and aborts on every panic, even one that
        // is caught. Stamping catches a panic inside zune-jpeg (0.4 asserts on some crafted
        // JPEGs) and returns an error, and the property catches one when it decodes the input
        // to compare: those pass quietly (no backtrace per input). Any other panic still
        // aborts where it happened. (Putting back the default hook instead let a panic unwind
        // into libfuzzer-sys's `extern "C"` entry point, which aborted with "panic in a
        // function that cannot unwind": `corpus/stamp/jpeg-zune-bits-left-assertion`.)
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.location().is_some_and(|l| l.file().contains("zune-jpeg")) {
                fuzzer_hook(info);
            }
        }));
    },
    |data: &[u8]| property::stamp_never_panics(data)
);
