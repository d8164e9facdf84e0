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

/// A watermark search for [`crate::trust::propagate::propagate_with`] and
/// [`traces_file`]: the input's first frame decoded (within [`FileOptions`]' limits) and
/// searched; a found payload becomes a [`crate::trust::traces::TraceKind::Watermark`] trace,
/// with the label `lookup` maps it to. An input that is not a decodable image has no trace.
#[cfg(feature = "trust")]
pub fn watermark_traces<'a>(
    lookup: &'a dyn Fn(u64) -> Option<Label>,
) -> impl Fn(&mut dyn aigc_label_core::io::ReadSeek) -> Result<Vec<aigc_label_trust::traces::Trace>> + 'a {
    move |input| {
        // Not an image, or not a decodable one: no watermark to find (the metadata scan
        // reports malformed files on its own).
        let Ok(pixels) = decode_rgba(input, &FileOptions::default()) else {
            return Ok(Vec::new());
        };
        Ok(detect(&pixels)
            .map(|found| {
                let label = lookup(found.payload);
                aigc_label_trust::traces::watermark_trace(found.payload, found.confidence, label.as_ref())
            })
            .into_iter()
            .collect())
    }
}

/// [`crate::propagate_file`], where an upload without label, declaration or metadata traces
/// is also searched for a watermark ([`watermark_traces`]): one found makes it "suspected"
/// (class 3), and the trace names the producer's label when `lookup` knows the payload.
///
/// # Errors
/// As [`crate::propagate_file`].
#[cfg(feature = "trust")]
pub fn propagate_file_watermarked(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    request: &aigc_label_trust::propagate::Request<'_>,
    options: &crate::Options,
    lookup: &dyn Fn(u64) -> Option<Label>,
) -> Result<aigc_label_trust::propagate::Outcome> {
    let more = watermark_traces(lookup);
    atomic::write(input.as_ref(), output.as_ref(), |carrier, reader, out| {
        let outcome = aigc_label_trust::propagate::propagate_with(carrier, reader, out, request, options, &more)?;
        let written = outcome.written.is_some();
        Ok((outcome, written))
    })
}

/// Every trace of generation in the file at `path`: those in its metadata
/// ([`crate::trust::traces::detect`]) and a watermark in its pixels ([`watermark_traces`]).
///
/// # Errors
/// As [`crate::trust::traces::detect`], each wrapped with the path.
#[cfg(feature = "trust")]
pub fn traces_file(
    path: impl AsRef<Path>,
    limits: &crate::Limits,
    lookup: &dyn Fn(u64) -> Option<Label>,
) -> Result<Vec<aigc_label_trust::traces::Trace>> {
    use std::io::{Seek, SeekFrom};
    let path = path.as_ref();
    let mut reader = FileReader::open(path).map_err(|e| crate::Error::from(e).with_path(path))?;
    let carrier = crate::detect(&mut reader).map_err(|e| e.with_path(path))?;
    reader
        .seek(SeekFrom::Start(0))
        .map_err(|e| crate::Error::from(e).with_path(path))?;
    let mut traces = aigc_label_trust::traces::detect(carrier, &mut reader, limits).map_err(|e| e.with_path(path))?;
    reader
        .seek(SeekFrom::Start(0))
        .map_err(|e| crate::Error::from(e).with_path(path))?;
    traces.extend(watermark_traces(lookup)(&mut reader)?);
    Ok(traces)
}
