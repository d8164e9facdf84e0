//! The invisible watermark on image files (features `watermark` and `stamp`): decode, mark,
//! re-encode in the same format keeping the ICC profile, the EXIF and the implicit label; and
//! detection from a file.
//!
//! Why here: the watermark crate works on pixels only (no codecs), and the image crate's
//! file helper ([`crate::image::stamp::repaint_file`]) knows how to re-encode a file without
//! losing its metadata; this module joins them, and writes the output atomically like
//! [`crate::embed_file`].

use std::io::Write;
use std::path::Path;

use aigc_label_image::stamp::{FileOptions, RepaintReport, decode_rgba, repaint_file};
use aigc_label_watermark::{Detection, detect, embed_at_psnr, payload_for};

use crate::{FileReader, Label, Result, atomic};

/// Marks the image at `input` with `label`'s watermark ([`payload_for`]) at `psnr_db` (see
/// [`aigc_label_watermark::DEFAULT_PSNR`]) and writes it to `output` (which may be `input`),
/// with `label` as the implicit label too.
///
/// PNG, JPEG (re-encoded at [`FileOptions::jpeg_quality`]), WebP (lossless), GIF (every frame)
/// and TIFF; the ICC profile and EXIF are kept, and the report says so.
///
/// # Errors
/// As [`repaint_file`] (another producer's label in the input is
/// [`crate::Error::AlreadyLabelled`]), plus errors writing `output`; each names the file.
pub fn watermark_file(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    label: &Label,
    psnr_db: f32,
    options: &FileOptions,
) -> Result<RepaintReport> {
    let payload = payload_for(label);
    atomic::write(input.as_ref(), output.as_ref(), |_, reader, out| {
        let report = repaint_file(reader, out, Some(label), options, &mut |img| {
            *img = embed_at_psnr(img, payload, psnr_db);
        })?;
        out.flush()?;
        Ok((report, true))
    })
}

/// The watermark in the image file at `path` (its first frame), if there is one.
///
/// # Errors
/// As [`decode_rgba`], each wrapped with the path.
pub fn detect_watermark_file(path: impl AsRef<Path>, options: &FileOptions) -> Result<Option<Detection>> {
    let path = path.as_ref();
    let mut reader = FileReader::open(path).map_err(|e| crate::Error::from(e).with_path(path))?;
    let pixels = decode_rgba(&mut reader, options).map_err(|e| e.with_path(path))?;
    Ok(detect(&pixels))
}
