//! The property the `stamp` fuzz target checks, shared with the test that replays its corpus:
//! stamping arbitrary bytes never panics, and when it succeeds on a file the `image` crate
//! decodes, the output decodes too, at the same size. (Where the label went is not compared with
//! the `image` crate's view: on malformed files two readers may disagree about the size, as the
//! fuzzer found with a TIFF whose tags are out of order.) The decode check runs on small
//! images only: a crafted progressive JPEG of a few hundred thousand pixels can take seconds to
//! decode under a sanitizer, which libFuzzer reports as a timeout of the oracle, not of stamping.

use std::io::Cursor;

use aigc_label_image::stamp::{FileOptions, Stamper, Style, stamp_file};

pub fn stamp_never_panics(data: &[u8]) {
    // A small legibility floor, so the 64x48 seeds take a label (still 5% of the short side).
    let mut style = Style::default();
    style.min_ink_px = 4;
    let Ok(stamper) = Stamper::new(style) else { return };
    let mut options = FileOptions::default();
    // Decoding and drawing are the work that grows with the declared size (a crafted 64305x64
    // JPEG took over 2 s under ASan, a 12096x49 one 1.3 s: libFuzzer timeouts on a loaded
    // machine); the limit bounds it per input and exercises the refusal. The seeds are 64x48.
    options.max_decoded_bytes = 1 << 20;
    let mut out = Vec::new();
    if stamp_file(&mut Cursor::new(data), &mut out, &stamper, None, &options).is_err() {
        return;
    }
    if !small(data) {
        return;
    }
    // An input the decoder panics on (zune-jpeg asserts on some crafted progressive JPEGs,
    // `fuzz/corpus/stamp/jpeg-zune-bits-left-assertion`) does not decode, so there is nothing
    // to compare with.
    let Some(Ok(before)) = decoded(data) else { return };
    let after = match decoded(&out) {
        Some(Ok(after)) => after,
        Some(Err(e)) => panic!("a stamped file that does not decode: {e}"),
        None => panic!("a stamped file the decoder panics on"),
    };
    assert_eq!((before.width(), before.height()), (after.width(), after.height()));
}

/// `bytes` decoded by the `image` crate; `None` when the decoder panicked. A panic of the
/// decoder is caught here, so none escapes the property unless it is the property's own.
fn decoded(bytes: &[u8]) -> Option<image::ImageResult<image::DynamicImage>> {
    std::panic::catch_unwind(|| image::load_from_memory(bytes)).ok()
}

/// Pixels up to which the oracle decodes input and output: the seeds are 64x48.
const ORACLE_PIXELS: u64 = 1 << 16;

/// True when the header says the image is small enough to decode twice per input.
/// (Under `catch_unwind` as [`decoded`]: the header is the decoder's too.)
fn small(data: &[u8]) -> bool {
    let dimensions = std::panic::catch_unwind(|| {
        image::ImageReader::new(Cursor::new(data))
            .with_guessed_format()
            .ok()
            .and_then(|reader| reader.into_dimensions().ok())
    });
    dimensions
        .ok()
        .flatten()
        .is_some_and(|(w, h)| u64::from(w) * u64::from(h) <= ORACLE_PIXELS)
}
