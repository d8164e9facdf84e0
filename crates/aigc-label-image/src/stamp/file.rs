//! The file-level helper: draw the explicit label into an encoded file, changing as little as the
//! format allows, and embed the implicit label in the same call (GB 45438-2025 asks generation
//! services for both kinds of label).
//!
//! Sequential JPEG is stamped in the DCT domain ([`super::jpeg`]): only the 8x8 blocks under
//! the label are rewritten, and every segment outside the scan data (EXIF, XMP with any implicit
//! label, IPTC, ICC, comments, quantisation and Huffman tables) is copied byte for byte. Other
//! formats and JPEG variants are decoded, drawn on and re-encoded: that path holds the whole
//! image in memory, bounded by [`FileOptions::max_input_bytes`] and
//! [`FileOptions::max_decoded_bytes`], and keeps only the ICC profile and EXIF (what happened to
//! them is reported in [`FileReport`]). [`FileReport::rewrite`] says which path ran.
//!
//! An implicit label already in the input is never lost: the caller's new label replaces it only
//! if both come from the same producer ([`Error::AlreadyLabelled`] otherwise, as in
//! [`aigc_label_core::embed()`]); without a new label the old one is kept (byte for byte on the
//! in-place path) or carried over.

use std::io::{Cursor, Read, SeekFrom, Write};

use aigc_label_core::embed::{readback, rewrite_with};
use aigc_label_core::inspect::{Options, inspect_with};
use aigc_label_core::io::{Bytes, ReadSeek};
use aigc_label_core::{Carrier, Error, Label, Registry, Result, Written};
use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::codecs::jpeg::{JpegDecoder, JpegEncoder};
use image::codecs::png::{PngDecoder, PngEncoder};
use image::codecs::tiff::{TiffDecoder, TiffEncoder};
use image::codecs::webp::{WebPDecoder, WebPEncoder};
use image::metadata::Orientation;
use image::{AnimationDecoder, ColorType, DynamicImage, Frame, ImageDecoder, ImageEncoder, ImageError};

use super::{PreparedLabel, Stamped, Stamper};

/// Settings of [`stamp_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileOptions {
    /// Options for the implicit label (validation strictness, reader limits).
    pub label: Options,
    /// JPEG quality, 1 to 100 (default 92), for JPEG files that cannot be stamped in the DCT
    /// domain (progressive, arithmetic-coded, 12-bit) and are re-encoded.
    pub jpeg_quality: u8,
    /// Largest input accepted, in bytes (default 256 MiB).
    pub max_input_bytes: u64,
    /// Largest decoded size, all frames together, in bytes (default 1 GiB).
    pub max_decoded_bytes: u64,
}

impl Default for FileOptions {
    fn default() -> Self {
        FileOptions {
            label: Options::default(),
            jpeg_quality: 92,
            max_input_bytes: 256 << 20,
            max_decoded_bytes: 1 << 30,
        }
    }
}

/// What happened to a piece of metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carried {
    /// The input had none.
    Absent,
    /// Copied into the output.
    Kept,
    /// The input had it but the output does not, for this reason.
    Dropped(&'static str),
}

/// What [`stamp_file`] did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FileReport {
    /// Format of input and output (`png`, `jpeg`, `webp`, `gif`, `tiff`).
    pub format: &'static str,
    /// The explicit label: rectangle (in display orientation, after any EXIF rotation), font
    /// size and measured ink height.
    pub stamped: Stamped,
    /// Frames stamped (1 for still images).
    pub frames: usize,
    /// The ICC profile.
    pub icc_profile: Carried,
    /// The EXIF block.
    pub exif: Carried,
    /// Where the implicit label is in the output: the caller's, or the input's own carried over
    /// (on the in-place paths kept byte for byte where it was); `None` when there is none (no
    /// label asked for and none in the input).
    pub implicit: Option<Written>,
    /// Bytes written to the output.
    pub bytes_written: u64,
    /// How the pixels were rewritten.
    pub rewrite: Rewrite,
}

/// How [`stamp_file`] rewrote the pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rewrite {
    /// JPEG in the DCT domain: only `blocks` 8x8 blocks (all components together) were decoded,
    /// drawn on and quantised again with the file's own tables; every other block's
    /// coefficients and every segment outside the scan data are unchanged. `tables_rebuilt`
    /// Huffman tables were replaced by optimal ones because the new blocks needed codes the
    /// file's tables lack (0 in the usual case: the DHT segments are kept too).
    DctBlocks {
        /// Blocks redrawn.
        blocks: usize,
        /// Huffman tables replaced.
        tables_rebuilt: usize,
    },
    /// PNG in place: the image data re-encoded at the same colour type and bit depth (the
    /// `png` crate's encoder); every other chunk copied byte for byte where it was. For palette
    /// images, what happened to the palette.
    ImageData {
        /// The palette change, for palette images.
        palette: Option<super::PaletteChange>,
        /// The input was interlaced (Adam7) and the output is not: the encoder writes rows in
        /// order only.
        deinterlaced: bool,
    },
    /// GIF in place: in each frame that overlaps the label only the label's pixels got new
    /// palette indices and only that frame's image block was written again; every other block
    /// (extensions, other frames) copied byte for byte.
    Frames {
        /// Frames written again.
        redrawn: usize,
        /// Frames given a local palette (or a larger one) to hold the label's colours.
        palettes_added: usize,
    },
    /// WebP in place: only the bitstream chunk replaced (lossless VP8L); every other chunk
    /// copied byte for byte where it was.
    Bitstream {
        /// The input was lossy (VP8) and is now lossless: no encoder available here writes VP8.
        was_lossy: bool,
    },
    /// TIFF in place: only the first page's strips under the label were decompressed, drawn on
    /// and compressed again with the file's own compression and predictor; only their offsets
    /// and byte counts changed, every other byte (tags, other strips and pages) is the input's.
    Strips {
        /// Strips rewritten.
        strips: usize,
        /// The Compression tag (1 none, 5 LZW, 8 or 32946 Deflate), kept.
        compression: u16,
    },
    /// Decoded and re-encoded in full with the `image` crate's encoder (formats and variants the
    /// in-place paths do not cover yet); metadata other than ICC and EXIF is not kept.
    Reencoded,
}

/// Decodes `input`, draws `stamper`'s label on every frame, re-encodes in the same format and
/// writes the result to `output`, with `label` as the implicit label.
///
/// - Formats: PNG, JPEG (sequential Huffman JPEG in the DCT domain, see [`Rewrite::DctBlocks`];
///   other JPEG re-encoded at [`FileOptions::jpeg_quality`]), WebP (re-encoded
///   lossless: the `image` crate has no lossy WebP encoder), GIF (static and animated; every
///   frame is stamped, loop count kept), TIFF (single page).
/// - The label is placed as the image is displayed: an EXIF orientation is applied before
///   drawing and undone after, so the stored orientation and the EXIF stay as they were.
/// - Implicit label: with `label`, it replaces a label of the same producer in the input; with
///   `None`, a label in the input is carried over unchanged. Written with the format's carrier
///   and read back before anything is written to `output`.
///
/// # Errors
/// [`Error::Unsupported`] for other formats, animated PNG/WebP, multi-page TIFF, or an
/// implicit label where this build has no carrier for the format; [`Error::AlreadyLabelled`]
/// when the input carries another producer's label; [`Error::Malformed`] when the input does not
/// decode; [`Error::Limit`] past the size limits; [`Error::Parameter`] for an image too small for
/// the label or an invalid label; [`Error::Verification`] when the label does not read back;
/// I/O errors.
pub fn stamp_file(
    input: &mut dyn ReadSeek,
    output: &mut dyn Write,
    stamper: &Stamper,
    label: Option<&Label>,
    options: &FileOptions,
) -> Result<FileReport> {
    let bytes = read_all(input, options.max_input_bytes)?;
    let kind = Kind::sniff(&bytes)?;
    let implicit = plan_implicit(kind, &bytes, label, &options.label)?;
    let in_place = match kind {
        Kind::Jpeg => super::jpeg::stamp(&bytes, stamper, options.max_decoded_bytes)?.map(|s| InPlace {
            bytes: s.bytes,
            stamped: s.stamped,
            icc: if s.has_icc { Carried::Kept } else { Carried::Absent },
            exif: if s.has_exif { Carried::Kept } else { Carried::Absent },
            frames: 1,
            rewrite: Rewrite::DctBlocks {
                blocks: s.blocks,
                tables_rebuilt: s.tables_rebuilt,
            },
        }),
        Kind::Png => super::png::stamp(&bytes, stamper, options.max_decoded_bytes)?.map(|s| InPlace {
            bytes: s.bytes,
            stamped: s.stamped,
            icc: if s.has_icc { Carried::Kept } else { Carried::Absent },
            exif: if s.has_exif { Carried::Kept } else { Carried::Absent },
            frames: 1,
            rewrite: Rewrite::ImageData {
                palette: s.palette,
                deinterlaced: s.deinterlaced,
            },
        }),
        Kind::Gif => super::gif::stamp(&bytes, stamper, options.max_decoded_bytes)?.map(|s| InPlace {
            bytes: s.bytes,
            stamped: s.stamped,
            frames: s.frames,
            // An ICC profile (application extension ICCRGBG1) is copied with every other block.
            icc: if contains(&bytes, b"ICCRGBG1") {
                Carried::Kept
            } else {
                Carried::Absent
            },
            exif: Carried::Absent,
            rewrite: Rewrite::Frames {
                redrawn: s.redrawn,
                palettes_added: s.palettes_added,
            },
        }),
        Kind::WebP => super::webp::stamp(&bytes, stamper, options.max_decoded_bytes)?.map(|s| InPlace {
            bytes: s.bytes,
            stamped: s.stamped,
            frames: 1,
            icc: if s.has_icc { Carried::Kept } else { Carried::Absent },
            exif: if s.has_exif { Carried::Kept } else { Carried::Absent },
            rewrite: Rewrite::Bitstream { was_lossy: s.was_lossy },
        }),
        Kind::Tiff => super::tiff::stamp(&bytes, stamper, options.max_decoded_bytes)?.map(|s| InPlace {
            bytes: s.bytes,
            stamped: s.stamped,
            frames: 1,
            icc: if s.has_icc { Carried::Kept } else { Carried::Absent },
            exif: if s.has_exif { Carried::Kept } else { Carried::Absent },
            rewrite: Rewrite::Strips {
                strips: s.strips,
                compression: s.compression,
            },
        }),
    };
    let (encoded, stamped, frames, icc_profile, exif, rewrite) = match in_place {
        Some(p) => (p.bytes, p.stamped, p.frames, p.icc, p.exif, p.rewrite),
        None => {
            let mut decoded = decode(kind, &bytes, options)?;
            let (stamped, frames) = draw_all(&mut decoded, stamper)?;
            let (encoded, icc, exif) = encode(kind, decoded, options)?;
            (encoded, stamped, frames, icc, exif, Rewrite::Reencoded)
        }
    };
    // Stamped in place without a new label: the input's own label (if any) is in the output
    // byte for byte, as every other piece of metadata; read it back rather than rewrite it.
    let (implicit, kept) = match implicit {
        Some((carrier, old, label_options)) if label.is_none() && rewrite != Rewrite::Reencoded => {
            readback(carrier, &mut Cursor::new(&encoded), &old, &label_options)?;
            let found = inspect_with(carrier, &mut Cursor::new(&encoded), &label_options)?;
            let kept = found.copies.first().map(|copy| Written {
                label_range: copy.range.clone(),
                bytes_written: encoded.len() as u64,
            });
            (None, kept)
        }
        other => (other, None),
    };
    let (bytes_written, implicit) = write_with_label(encoded, implicit, output)?;
    let implicit = implicit.or(kept);
    Ok(FileReport {
        format: kind.name(),
        stamped,
        frames,
        icc_profile,
        exif,
        implicit,
        bytes_written,
        rewrite,
    })
}

/// What [`repaint_file`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RepaintReport {
    /// Format of input and output (`png`, `jpeg`, `webp`, `gif`, `tiff`).
    pub format: &'static str,
    /// Frames repainted (1 for still images).
    pub frames: usize,
    /// The ICC profile.
    pub icc_profile: Carried,
    /// The EXIF block.
    pub exif: Carried,
    /// Where the implicit label is in the output (the caller's, or the input's own carried
    /// over); `None` when there is none.
    pub implicit: Option<Written>,
    /// Bytes written to the output.
    pub bytes_written: u64,
}

/// Decodes `input`, lets `paint` change every frame's pixels (as RGBA, in stored orientation,
/// converted back to the file's colour type afterwards), re-encodes in the same format and
/// writes the result to `output`, with `label` as the implicit label (or the input's own,
/// carried over, as [`stamp_file`] does).
///
/// For changes that cover the whole picture, such as an invisible watermark: [`stamp_file`]'s
/// in-place paths only pay off for a small rectangle. Always the re-encoding path: ICC profile
/// and EXIF kept, JPEG at [`FileOptions::jpeg_quality`], WebP lossless.
///
/// # Errors
/// As [`stamp_file`], less the errors of drawing a label.
pub fn repaint_file(
    input: &mut dyn ReadSeek,
    output: &mut dyn Write,
    label: Option<&Label>,
    options: &FileOptions,
    paint: &mut dyn FnMut(&mut image::RgbaImage),
) -> Result<RepaintReport> {
    let bytes = read_all(input, options.max_input_bytes)?;
    let kind = Kind::sniff(&bytes)?;
    let implicit = plan_implicit(kind, &bytes, label, &options.label)?;
    let mut decoded = decode(kind, &bytes, options)?;
    let frames = match &mut decoded.pixels {
        Pixels::Still(image) => {
            let colour = image.color();
            let mut rgba = image.to_rgba8();
            paint(&mut rgba);
            *image = in_colour(DynamicImage::ImageRgba8(rgba), colour);
            1
        }
        Pixels::Animation(frames, _) => {
            for frame in frames.iter_mut() {
                paint(frame.buffer_mut());
            }
            frames.len()
        }
    };
    let (encoded, icc_profile, exif) = encode(kind, decoded, options)?;
    let (bytes_written, implicit) = write_with_label(encoded, implicit, output)?;
    Ok(RepaintReport {
        format: kind.name(),
        frames,
        icc_profile,
        exif,
        implicit,
        bytes_written,
    })
}

/// The pixels of `input`'s first frame as RGBA, in stored orientation (as [`repaint_file`]
/// hands them to its painter), within [`FileOptions`]' size limits: for readers of a mark
/// [`repaint_file`] painted.
///
/// # Errors
/// [`Error::Unsupported`] for formats other than PNG, JPEG, WebP, GIF and TIFF;
/// [`Error::Malformed`] when the input does not decode; [`Error::Limit`] past the size limits;
/// I/O errors.
pub fn decode_rgba(input: &mut dyn ReadSeek, options: &FileOptions) -> Result<image::RgbaImage> {
    let bytes = read_all(input, options.max_input_bytes)?;
    let kind = Kind::sniff(&bytes)?;
    match decode(kind, &bytes, options)?.pixels {
        Pixels::Still(image) => Ok(image.to_rgba8()),
        Pixels::Animation(frames, _) => frames
            .into_iter()
            .next()
            .map(Frame::into_buffer)
            .ok_or_else(|| Error::malformed("gif", 0, "no frames")),
    }
}

/// `image` converted to `colour` (the colour type it was decoded with), so a repainted file
/// keeps its channels and bit depth.
fn in_colour(image: DynamicImage, colour: ColorType) -> DynamicImage {
    match colour {
        ColorType::L8 => DynamicImage::ImageLuma8(image.to_luma8()),
        ColorType::La8 => DynamicImage::ImageLumaA8(image.to_luma_alpha8()),
        ColorType::Rgb8 => DynamicImage::ImageRgb8(image.to_rgb8()),
        ColorType::L16 => DynamicImage::ImageLuma16(image.to_luma16()),
        ColorType::La16 => DynamicImage::ImageLumaA16(image.to_luma_alpha16()),
        ColorType::Rgb16 => DynamicImage::ImageRgb16(image.to_rgb16()),
        ColorType::Rgba16 => DynamicImage::ImageRgba16(image.to_rgba16()),
        ColorType::Rgb32F => DynamicImage::ImageRgb32F(image.to_rgb32f()),
        ColorType::Rgba32F => DynamicImage::ImageRgba32F(image.to_rgba32f()),
        _ => image,
    }
}

/// A file stamped without decoding it in full: only the label's pixels were rewritten.
struct InPlace {
    bytes: Vec<u8>,
    stamped: Stamped,
    frames: usize,
    icc: Carried,
    exif: Carried,
    rewrite: Rewrite,
}

/// The formats the helper re-encodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Png,
    Jpeg,
    WebP,
    Gif,
    Tiff,
}

impl Kind {
    const ALL: [Kind; 5] = [Kind::Png, Kind::Jpeg, Kind::WebP, Kind::Gif, Kind::Tiff];

    /// The kind of `bytes`, as the image carriers' registry detects it: stamping sniffs with the
    /// same magic bytes that inspecting and embedding do.
    fn sniff(bytes: &[u8]) -> Result<Kind> {
        let registry = crate::carriers().into_iter().fold(Registry::new(), Registry::with);
        let format = registry
            .detect(bytes)
            .ok_or_else(|| Error::unknown_format(bytes))?
            .format();
        Kind::of(format).ok_or_else(|| {
            Error::unsupported(
                "image",
                format!("stamping {format} files (PNG, JPEG, WebP, GIF and TIFF are supported)"),
            )
        })
    }

    /// The kind of a carrier's format name.
    fn of(format: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == format)
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Png => "png",
            Kind::Jpeg => "jpeg",
            Kind::WebP => "webp",
            Kind::Gif => "gif",
            Kind::Tiff => "tiff",
        }
    }

    /// The implicit-label carrier for this format in this crate, if there is one yet.
    fn carrier(self) -> Option<&'static dyn Carrier> {
        match self {
            Kind::Png => Some(&crate::Png),
            Kind::Jpeg => Some(&crate::Jpeg),
            Kind::Tiff => Some(&crate::Tiff),
            Kind::WebP => Some(&crate::WebP),
            Kind::Gif => Some(&crate::Gif),
        }
    }
}

/// Reads the whole input, refusing more than `max` bytes before allocating.
fn read_all(input: &mut dyn ReadSeek, max: u64) -> Result<Vec<u8>> {
    let len = input.seek(SeekFrom::End(0))?;
    input.seek(SeekFrom::Start(0))?;
    if len > max {
        return Err(Error::Limit {
            format: "stamp",
            offset: 0,
            what: "input size",
            found: len,
            limit: max,
        });
    }
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(len as usize).map_err(|_| Error::Limit {
        format: "stamp",
        offset: 0,
        what: "input size",
        found: len,
        limit: max,
    })?;
    input.take(max).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Writes the re-encoded image `encoded` to `output`, with the implicit label of `implicit`
/// written into it (and read back) when there is one; returns the bytes written and where the
/// label is.
fn write_with_label(
    encoded: Vec<u8>,
    implicit: ImplicitPlan,
    output: &mut dyn Write,
) -> Result<(u64, Option<Written>)> {
    let (out, written) = match implicit {
        None => (encoded, None),
        Some((carrier, label, label_options)) => {
            let mut out = Vec::new();
            let written = rewrite_with(carrier, &mut Cursor::new(&encoded), &mut out, &label, &label_options)?;
            readback(carrier, &mut Cursor::new(&out), &label, &label_options)?;
            (out, Some(written))
        }
    };
    output.write_all(&out)?;
    Ok((out.len() as u64, written))
}

/// The implicit label to write, decided before anything is decoded: the caller's (if the input's
/// labels are all by the same producer), or the input's own, carried over.
type ImplicitPlan = Option<(&'static dyn Carrier, Label, Options)>;

fn plan_implicit(kind: Kind, bytes: &[u8], label: Option<&Label>, options: &Options) -> Result<ImplicitPlan> {
    let Some(carrier) = kind.carrier() else {
        // Without a reader for this format, a label in the input could not be carried over, and
        // re-encoding would drop it: refuse rather than strip it.
        if contains(bytes, b"AIGC") {
            return Err(Error::unsupported(
                "image",
                format!(
                    "{} input may carry an implicit label, which this build cannot carry over; stamping would drop it",
                    kind.name()
                ),
            ));
        }
        return match label {
            Some(_) => Err(Error::unsupported(
                "image",
                format!(
                    "implicit labels in {} files (no carrier in this build yet)",
                    kind.name()
                ),
            )),
            None => Ok(None),
        };
    };
    let report = inspect_with(carrier, &mut Cursor::new(bytes), options)?;
    if let Some(new) = label {
        for copy in &report.copies {
            let producer = copy.field("ContentProducer");
            if producer != Some(new.content_producer.as_str()) {
                return Err(Error::AlreadyLabelled {
                    producer: producer.unwrap_or("<unreadable>").to_string(),
                });
            }
        }
        return Ok(Some((carrier, new.clone(), options.clone())));
    }
    let mut labels = report.copies.iter().map(|c| c.label());
    match labels.next() {
        None => Ok(None),
        Some(Some(first)) if labels.all(|l| l.as_ref() == Some(&first)) => {
            // The input's own label: judge it as read, not as if we were its producer.
            Ok(Some((carrier, first, options.clone().write_strictness(options.read))))
        }
        Some(_) => Err(Error::unsupported(
            "image",
            format!(
                "the input's implicit label ({} copies) cannot be carried over unchanged; stamping would drop it",
                report.copies.len()
            ),
        )),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Pixels and metadata of a decoded file.
struct Decoded {
    pixels: Pixels,
    icc: Option<Vec<u8>>,
    exif: Option<Vec<u8>>,
    orientation: Orientation,
}

enum Pixels {
    Still(DynamicImage),
    /// Full-canvas RGBA frames (as the GIF decoder composes them) and the loop count.
    Animation(Vec<Frame>, Option<Repeat>),
}

/// Decodes with the image crate's codecs, turning a panic inside one into an error: a crafted
/// JPEG trips an assertion in zune-jpeg 0.4's upsampler (found by the stamp fuzzer), and a bug in
/// a codec must not take the caller down with it.
fn decode(kind: Kind, bytes: &[u8], options: &FileOptions) -> Result<Decoded> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode_unguarded(kind, bytes, options))).unwrap_or_else(
        |_| {
            Err(Error::malformed(
                kind.name(),
                0,
                "the image decoder failed on this file",
            ))
        },
    )
}

fn decode_unguarded(kind: Kind, bytes: &[u8], options: &FileOptions) -> Result<Decoded> {
    let err = image_error(kind.name());
    let cursor = || Cursor::new(bytes);
    match kind {
        Kind::Png => {
            let decoder = PngDecoder::new(cursor()).map_err(&err)?;
            if decoder.is_apng().map_err(&err)? {
                return Err(Error::unsupported(
                    "image",
                    "stamping animated PNG (APNG): the encoder writes still images only; stamp the frames yourself",
                ));
            }
            decode_still(decoder, kind, options)
        }
        Kind::Jpeg => {
            super::jpeg::fallback::check(bytes)?;
            decode_still(JpegDecoder::new(cursor()).map_err(&err)?, kind, options)
        }
        Kind::WebP => {
            let decoder = WebPDecoder::new(cursor()).map_err(&err)?;
            if decoder.has_animation() {
                return Err(Error::unsupported(
                    "image",
                    "stamping animated WebP: the encoder writes still images only; stamp the frames yourself",
                ));
            }
            decode_still(decoder, kind, options)
        }
        Kind::Tiff => {
            if tiff_has_more_pages(bytes) {
                return Err(Error::unsupported(
                    "image",
                    "stamping multi-page TIFF: only single-page files can be re-encoded",
                ));
            }
            decode_still(TiffDecoder::new(cursor()).map_err(&err)?, kind, options)
        }
        Kind::Gif => decode_gif(bytes, options),
    }
}

fn decode_still<D: ImageDecoder>(mut decoder: D, kind: Kind, options: &FileOptions) -> Result<Decoded> {
    let err = image_error(kind.name());
    check_decoded_size(decoder.total_bytes(), options)?;
    let icc = decoder.icc_profile().map_err(&err)?;
    let exif = decoder.exif_metadata().map_err(&err)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let image = DynamicImage::from_decoder(decoder).map_err(&err)?;
    Ok(Decoded {
        pixels: Pixels::Still(image),
        icc,
        exif,
        orientation,
    })
}

fn decode_gif(bytes: &[u8], options: &FileOptions) -> Result<Decoded> {
    let err = image_error("gif");
    // The `image` decoder does not expose the loop count; the `gif` crate reads it from the
    // NETSCAPE2.0 extension before the first frame.
    let repeat = match gif::DecodeOptions::new().read_info(Cursor::new(bytes)) {
        Ok(d) => match d.repeat() {
            gif::Repeat::Infinite => Some(Repeat::Infinite),
            gif::Repeat::Finite(0) => None,
            gif::Repeat::Finite(n) => Some(Repeat::Finite(n)),
        },
        Err(e) => return Err(Error::malformed("gif", 0, e.to_string())),
    };
    let mut decoder = GifDecoder::new(Cursor::new(bytes)).map_err(&err)?;
    let icc = decoder.icc_profile().map_err(&err)?;
    let frame_bytes = decoder.total_bytes();
    check_decoded_size(frame_bytes, options)?;
    let mut frames = Vec::new();
    let mut total = 0u64;
    for frame in decoder.into_frames() {
        total = total.saturating_add(frame_bytes);
        check_decoded_size(total, options)?;
        frames.push(frame.map_err(&err)?);
    }
    Ok(Decoded {
        pixels: Pixels::Animation(frames, repeat),
        icc,
        exif: None,
        orientation: Orientation::NoTransforms,
    })
}

fn check_decoded_size(bytes: u64, options: &FileOptions) -> Result<()> {
    if bytes > options.max_decoded_bytes {
        return Err(Error::Limit {
            format: "stamp",
            offset: 0,
            what: "decoded image bytes",
            found: bytes,
            limit: options.max_decoded_bytes,
        });
    }
    Ok(())
}

/// True when a TIFF's first IFD links to another (a multi-page file). Unreadable structure
/// answers false and is left to the decoder to reject.
fn tiff_has_more_pages(bytes: &[u8]) -> bool {
    let mut b = Bytes::new(bytes);
    let little = match b.take(2) {
        Some(b"II") => true,
        Some(b"MM") => false,
        _ => return false,
    };
    let u16_at = |b: &mut Bytes<'_>| if little { b.u16_le() } else { b.u16_be() };
    let u32_at = |b: &mut Bytes<'_>| if little { b.u32_le() } else { b.u32_be() };
    let u64_at = |b: &mut Bytes<'_>| {
        let (lo, hi) = if little {
            (b.u32_le()?, b.u32_le()?)
        } else {
            let hi = b.u32_be()?;
            (b.u32_be()?, hi)
        };
        Some(u64::from(hi) << 32 | u64::from(lo))
    };
    let mut next = || -> Option<u64> {
        match u16_at(&mut b)? {
            42 => {
                let ifd = u32_at(&mut b)?;
                b.seek(usize::try_from(ifd).ok()?)?;
                let entries = usize::from(u16_at(&mut b)?);
                b.take(entries.checked_mul(12)?)?;
                u32_at(&mut b).map(u64::from)
            }
            43 => {
                b.take(4)?;
                let ifd = u64_at(&mut b)?;
                b.seek(usize::try_from(ifd).ok()?)?;
                let entries = usize::try_from(u64_at(&mut b)?).ok()?;
                b.take(entries.checked_mul(20)?)?;
                u64_at(&mut b)
            }
            _ => None,
        }
    };
    next().is_some_and(|n| n != 0)
}

/// Draws the label on every frame; the label is prepared once, for the displayed size.
fn draw_all(decoded: &mut Decoded, stamper: &Stamper) -> Result<(Stamped, usize)> {
    let orientation = decoded.orientation;
    match &mut decoded.pixels {
        Pixels::Still(image) => {
            image.apply_orientation(orientation);
            let label = stamper.prepare(image.width(), image.height())?;
            let rect = label.draw(image);
            image.apply_orientation(inverse(orientation));
            Ok((Stamped::new(&label, rect?), 1))
        }
        Pixels::Animation(frames, _) => {
            let Some(first) = frames.first() else {
                return Err(Error::malformed("gif", 0, "no frames"));
            };
            let label: PreparedLabel = stamper.prepare(first.buffer().width(), first.buffer().height())?;
            let mut rect = None;
            for frame in frames.iter_mut() {
                rect = Some(label.draw_rgba(frame.buffer_mut())?);
            }
            let rect = rect.unwrap_or_default();
            Ok((Stamped::new(&label, rect), frames.len()))
        }
    }
}

/// The orientation that undoes `o`.
pub(super) fn inverse(o: Orientation) -> Orientation {
    match o {
        Orientation::Rotate90 => Orientation::Rotate270,
        Orientation::Rotate270 => Orientation::Rotate90,
        // Half turns, flips and the two transposes are their own inverses.
        other => other,
    }
}

fn encode(kind: Kind, decoded: Decoded, options: &FileOptions) -> Result<(Vec<u8>, Carried, Carried)> {
    let mut out = Vec::new();
    let meta = (decoded.icc, decoded.exif);
    let (icc, exif) = match decoded.pixels {
        Pixels::Still(image) => match kind {
            Kind::Png => encode_still(PngEncoder::new(&mut out), &image, meta, kind)?,
            Kind::Jpeg => encode_still(
                JpegEncoder::new_with_quality(&mut out, options.jpeg_quality.clamp(1, 100)),
                &image,
                meta,
                kind,
            )?,
            Kind::WebP => encode_still(WebPEncoder::new_lossless(&mut out), &image, meta, kind)?,
            Kind::Tiff => encode_still(TiffEncoder::new(Cursor::new(&mut out)), &image, meta, kind)?,
            Kind::Gif => encode_frames(&mut out, vec![Frame::new(image.to_rgba8())], None, meta.0.is_some())?,
        },
        Pixels::Animation(frames, repeat) => encode_frames(&mut out, frames, repeat, meta.0.is_some())?,
    };
    Ok((out, icc, exif))
}

fn encode_still<E: ImageEncoder>(
    mut encoder: E,
    image: &DynamicImage,
    (icc, exif): (Option<Vec<u8>>, Option<Vec<u8>>),
    kind: Kind,
) -> Result<(Carried, Carried)> {
    let icc = match icc {
        None => Carried::Absent,
        Some(profile) if !icc_matches(&profile, image.color()) => {
            Carried::Dropped("the profile's colour space does not match the decoded pixels (CMYK decodes to RGB)")
        }
        Some(profile) => match encoder.set_icc_profile(profile) {
            Ok(()) => Carried::Kept,
            Err(_) => Carried::Dropped("the encoder cannot write ICC profiles in this format"),
        },
    };
    let exif = match exif {
        None => Carried::Absent,
        Some(block) => match encoder.set_exif_metadata(block) {
            Ok(()) => Carried::Kept,
            Err(_) => Carried::Dropped("the encoder cannot write EXIF in this format"),
        },
    };
    image.write_with_encoder(encoder).map_err(image_error(kind.name()))?;
    Ok((icc, exif))
}

fn encode_frames(
    out: &mut Vec<u8>,
    frames: Vec<Frame>,
    repeat: Option<Repeat>,
    had_icc: bool,
) -> Result<(Carried, Carried)> {
    let err = image_error("gif");
    {
        let mut encoder = GifEncoder::new_with_speed(&mut *out, 10);
        if let Some(repeat) = repeat {
            encoder.set_repeat(repeat).map_err(&err)?;
        }
        encoder.encode_frames(frames).map_err(&err)?;
    }
    let icc = if had_icc {
        Carried::Dropped("the GIF encoder cannot write ICC profiles")
    } else {
        Carried::Absent
    };
    Ok((icc, Carried::Absent))
}

/// True if an ICC profile's data colour space (header bytes 16..20) suits pixels of `colour`.
fn icc_matches(profile: &[u8], colour: ColorType) -> bool {
    let space = profile.get(16..20);
    match colour.channel_count() {
        1 | 2 => space == Some(b"GRAY"),
        _ => space == Some(b"RGB "),
    }
}

/// Maps `image` errors to the core error type, sorted by fault.
fn image_error(format: &'static str) -> impl Fn(ImageError) -> Error {
    move |e| match e {
        ImageError::IoError(io) => Error::Io(io),
        ImageError::Decoding(d) => Error::malformed(format, 0, d.to_string()),
        ImageError::Limits(l) => Error::Limit {
            format,
            offset: 0,
            what: match l.kind() {
                image::error::LimitErrorKind::DimensionError => "image dimensions",
                _ => "decoder memory",
            },
            found: 0,
            limit: 0,
        },
        ImageError::Parameter(p) => Error::parameter("image", format!("{format}: {p}")),
        other => Error::unsupported(format, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiff_page_walk() {
        // Little-endian, IFD0 at 8 with no entries, next IFD 0 / 26.
        let mut one = b"II\x2a\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
        assert!(!tiff_has_more_pages(&one));
        one.truncate(10);
        one.extend_from_slice(&26u32.to_le_bytes());
        assert!(tiff_has_more_pages(&one));
        assert!(!tiff_has_more_pages(b"MM\x00\x2a\xff\xff\xff\xff"));
        assert!(!tiff_has_more_pages(b""));
    }

    #[test]
    fn icc_colour_space_check() {
        let mut profile = vec![0u8; 128];
        profile[16..20].copy_from_slice(b"RGB ");
        assert!(icc_matches(&profile, ColorType::Rgb8));
        assert!(!icc_matches(&profile, ColorType::L8));
        profile[16..20].copy_from_slice(b"CMYK");
        assert!(!icc_matches(&profile, ColorType::Rgb8));
        assert!(!icc_matches(&[], ColorType::Rgb8));
    }

    #[test]
    fn orientation_inverse_round_trips() {
        for e in 1..=8 {
            let o = Orientation::from_exif(e).unwrap();
            let mut img =
                DynamicImage::ImageLuma8(image::GrayImage::from_fn(3, 2, |x, y| image::Luma([(x + 3 * y) as u8])));
            let before = img.clone();
            img.apply_orientation(o);
            img.apply_orientation(inverse(o));
            assert_eq!(img, before, "orientation {e}");
        }
    }
}
