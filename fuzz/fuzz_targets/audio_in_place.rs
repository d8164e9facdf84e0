#![no_main]
//! WAV, AIFF, FLAC and MP3 label updates in place: never a panic; success leaves exactly the new
//! label, a refusal writes nothing.
use aigc_label_audio::{Aiff, Flac, Mp3, Wav};
use aigc_label_core::Carrier;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for carrier in [&Wav as &dyn Carrier, &Aiff, &Flac, &Mp3] {
        aigc_label_testutil::in_place::fuzz_in_place(carrier, data);
    }
});
