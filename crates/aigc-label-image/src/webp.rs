//! WebP: the label as `TC260:AIGC` in the RIFF `XMP ` chunk, announced by the XMP flag of the
//! `VP8X` chunk (spec section 4, WebP row; WebP container specification, "Extended File Format"
//! and "Metadata").
//!
//! [`WebP::find`] walks the top-level chunks of the RIFF container, buffers only `XMP ` chunks and
//! seeks past everything else. It reports every `TC260:AIGC` property of every `XMP ` chunk,
//! wherever the chunk sits. Copies that readers may skip carry a
//! [`carrier.place`](aigc_label_core::check::id::CARRIER_PLACE) warning: an `XMP ` chunk in a
//! simple file (no `VP8X`), one whose `VP8X` leaves the XMP flag clear, and any `XMP ` chunk after
//! the first (the container specification lets readers ignore all but the first). A wrapped
//! label in the EXIF `UserComment` of an `EXIF` chunk is reported with that warning too.
//!
//! [`WebP::write`] plans its output in one walk ([`WebP::plan`]), merging the label into the
//! first `XMP ` chunk's packet with [`xmp::set_aigc`](aigc_label_core::xmp::set_aigc) (its other
//! properties kept) or making a new packet; the RIFF size is settled at the end (a streaming
//! write guesses it and patches it). The output:
//! - the RIFF header with the new size (every chunk stays padded to an even size);
//! - for a simple file (a lone lossy `VP8 ` or lossless `VP8L` bitstream), a new `VP8X` chunk
//!   first: the canvas size from the VP8 frame header (RFC 6386, 9.1) or the VP8L header (WebP
//!   lossless bitstream specification, 3.2), the alpha flag from the VP8L `alpha_is_used` bit or
//!   an `ALPH` chunk, the ICC and EXIF flags from `ICCP` and `EXIF` chunks, and the XMP flag;
//! - an existing `VP8X` chunk with the XMP flag set and every other bit and byte kept;
//! - an `EXIF` chunk whose `UserComment` holds a label with that text blanked (same length, so
//!   no size changes), since the label moves to XMP;
//! - every other chunk byte for byte and in order, image data in large blocks; nothing is ever
//!   inserted between `VP8X` and an `ICCP`, `ANIM` or frame chunk, so the order the container
//!   requires for reconstruction holds;
//! - the label's `XMP ` chunk in place of the first existing one, or else after the image data
//!   and any `EXIF` chunk and before trailing unknown chunks, the order the container
//!   specification lists; later `XMP ` chunks lose only their `TC260:AIGC` property;
//! - a `JUNK` room chunk ([`ROOM`]) right after the label's, where updates in place ([`InPlace`])
//!   write later labels ([`Limits::label_room`] bytes more than the label's chunk); room chunks of
//!   earlier writes are dropped;
//! - bytes after the RIFF chunk, unchanged.
//!
//! The walker is our own: the `image` crate's WebP support decodes pixels, and `img-parts` reads
//! the whole file, image data included, into memory; a carrier must copy the bitstream in blocks
//! and keep memory flat however large the image.

use std::ops::Range;

use aigc_label_core::check::Check;
use aigc_label_core::container::Budget;
use aigc_label_core::container::riff::{Chunks, Order};
use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::json::{self, Shape};
use aigc_label_core::plan::{Piece, Plan as EditPlan, PlanBuilder};
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result};

use crate::jpeg::search_packet;
use crate::{exif, truncated};
use aigc_label_core::container::xmp_plan;
pub use aigc_label_core::in_place::Update;
use aigc_label_core::in_place::{InPlace, Plan};

/// Format name, in errors and reports.
const FORMAT: &str = "webp";

/// How [`Found::carrier`] names the place.
const CARRIER: &str = "RIFF XMP chunk";

/// Chunk FourCCs (WebP container specification). The fourth character of `VP8 ` and `XMP ` is
/// a space.
const VP8X: [u8; 4] = *b"VP8X";
const VP8: [u8; 4] = *b"VP8 ";
const VP8L: [u8; 4] = *b"VP8L";
const ALPH: [u8; 4] = *b"ALPH";
const ANIM: [u8; 4] = *b"ANIM";
const ANMF: [u8; 4] = *b"ANMF";
const ICCP: [u8; 4] = *b"ICCP";
const EXIF: [u8; 4] = *b"EXIF";
const XMP: [u8; 4] = *b"XMP ";
/// The room our writer leaves right after the label's `XMP ` chunk, for updates in place
/// ([`InPlace`]): RIFF's chunk for bytes to ignore.
pub const ROOM: [u8; 4] = *b"JUNK";

/// `VP8X` flag bits in the first payload byte (`Rsv|I|L|E|X|A|R`, MSB first).
const FLAG_ICC: u8 = 0x20;
const FLAG_ALPHA: u8 = 0x10;
const FLAG_EXIF: u8 = 0x08;
const FLAG_XMP: u8 = 0x04;

/// Payload size of a `VP8X` chunk: flags, 24 reserved bits, two 24-bit canvas dimensions.
const VP8X_LEN: u32 = 10;

/// FourCC and size in front of every chunk's payload.
const CHUNK_HEADER: u64 = 8;

/// `RIFF`, the size, `WEBP`.
const RIFF_HEADER: u64 = 12;

/// Where the RIFF header holds the RIFF chunk's size.
const RIFF_SIZE: Range<u64> = 4..8;

/// The WebP carrier: simple lossy and lossless files, extended files with alpha, ICC profile,
/// EXIF and animation.
///
/// ```
/// use std::io::Cursor;
/// use aigc_label_core::{Carrier, Label, Limits};
/// use aigc_label_image::WebP;
///
/// // A simple lossless file: the VP8L header of a 2x1 image with alpha, then a stand-in for the
/// // rest of the bitstream.
/// let vp8l = [0x2f, 0x01, 0x00, 0x00, 0x10, 0, 0, 0];
/// let mut webp = b"RIFF".to_vec();
/// webp.extend_from_slice(&(4 + 8 + vp8l.len() as u32).to_le_bytes());
/// webp.extend_from_slice(b"WEBPVP8L");
/// webp.extend_from_slice(&(vp8l.len() as u32).to_le_bytes());
/// webp.extend_from_slice(&vp8l);
///
/// let label = Label::new("001191440300708461136T1XGW3", "img-0001");
/// let mut out = Vec::new();
/// let written = WebP.write(&mut Cursor::new(&webp), &mut out, &label, &Limits::default())?;
/// assert_eq!(written.bytes_written, out.len() as u64);
/// // Now an extended file: VP8X (alpha and XMP flags, canvas 2x1), the bitstream, the XMP chunk.
/// assert_eq!(&out[12..30], b"VP8X\x0a\0\0\0\x14\0\0\0\x01\0\0\0\0\0");
/// assert_eq!(&out[30..46], &webp[12..]);
/// assert_eq!(&out[written.label_range.start as usize..][..4], b"XMP ");
/// # Ok::<(), aigc_label_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct WebP;

impl Carrier for WebP {
    fn info(&self) -> &'static aigc_label_core::Info {
        &aigc_label_core::Info {
            format: FORMAT,
            media_type: "image/webp",
            extensions: &["webp"],
        }
    }

    fn in_place(&self) -> Option<&dyn aigc_label_core::in_place::InPlace> {
        Some(self)
    }

    fn stamp(&self) -> Option<&dyn aigc_label_core::stamp::Stamp> {
        Some(&aigc_label_core::stamp::Medium::Image)
    }

    /// `RIFF`, four size bytes, `WEBP`.
    fn sniff(&self, head: &[u8]) -> bool {
        head.get(..4) == Some(b"RIFF") && head.get(8..12) == Some(b"WEBP")
    }

    /// Lenient about a truncated file (a RIFF size or a chunk that runs past the end): the
    /// copies read before the cut are reported, each with a
    /// [`structure.truncated`](aigc_label_core::check::id::STRUCTURE_TRUNCATED) warning (without a copy, the cut is the
    /// error); [`WebP::write`] refuses such a file.
    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>> {
        let mut scan = Scan::run(input, limits, true)?;
        if let Some((offset, what)) = scan.truncated {
            truncated::flag(FORMAT, &mut scan.found, offset, what)?;
        }
        Ok(scan.found)
    }

    /// One walk of the chunks: each copied as it is met, the label's `XMP ` chunk in the first
    /// one's place or after the chunks whose order the container fixes, the RIFF size settled
    /// at the end.
    fn plan(
        &self,
        input: &mut dyn ReadSeek,
        label: &Label,
        limits: &Limits,
        out: PlanBuilder<'_>,
    ) -> Result<Option<EditPlan>> {
        edit_plan(input, label, limits, out).map(Some)
    }

    /// Excluded: every `XMP ` chunk that holds a label and the first `XMP ` chunk (the one
    /// [`WebP::write`] puts the label in), each whole (header, packet, padding byte); the room
    /// chunks ([`ROOM`]) our writer leaves next to it for updates in place; the RIFF
    /// size field (bytes 4 to 8), which follows the `XMP ` chunk's size; and, only while the
    /// `VP8X` chunk leaves the XMP flag clear, its flags byte, which the writer sets.
    ///
    /// Covered: the RIFF and form type, every other chunk (`VP8X` with its flags once the XMP
    /// flag is set, `ICCP`, `ANIM`, every frame and bitstream, `EXIF`, unknown chunks) and data
    /// after the RIFF chunk. Chunks after the `XMP ` chunk move when it changes size, but no
    /// offset in a WebP file points at them, so their bytes, read in order, stay the same.
    ///
    /// A simple file (no `VP8X`) gets a `VP8X` chunk on its first write, so its binding holds
    /// only once the file has been written by this carrier, which every labelled file from it
    /// has.
    fn binding_exclusions(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Range<u64>>> {
        let scan = Scan::run(input, limits, true)?;
        if let Some((offset, what)) = scan.truncated {
            // As `find`: a cut file with no copy before the cut is an error.
            truncated::flag(FORMAT, &mut scan.found.clone(), offset, what)?;
        }
        let mut out = vec![RIFF_SIZE];
        if scan.flags.is_some_and(|flags| flags & FLAG_XMP == 0) {
            let at = scan.first.data_start();
            out.push(at..at + 1);
        }
        let kept = scan
            .xmp
            .iter()
            .enumerate()
            .filter(|(i, (_, labelled))| *i == 0 || *labelled);
        out.extend(kept.map(|(_, (chunk, _))| chunk.range()));
        out.extend(scan.rooms.iter().map(Chunk::range));
        Ok(out)
    }
}

/// One chunk header, checked against the RIFF chunk that holds it.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    /// Offset of the FourCC.
    offset: u64,
    fourcc: [u8; 4],
    /// Payload size as declared, without the padding byte.
    len: u32,
}

impl Chunk {
    fn data_start(&self) -> u64 {
        self.offset + CHUNK_HEADER
    }

    /// Offset after the payload and its padding byte.
    fn end(&self) -> u64 {
        self.data_start() + padded(u64::from(self.len))
    }

    fn range(&self) -> Range<u64> {
        self.offset..self.end()
    }

    fn is(&self, fourcc: &[u8; 4]) -> bool {
        &self.fourcc == fourcc
    }

    /// The chunks whose place the container specification fixes, in the order it lists them:
    /// a new `XMP ` chunk goes after the last of these.
    fn precedes_xmp(&self) -> bool {
        [VP8X, ICCP, ANIM, ANMF, ALPH, VP8, VP8L, EXIF].contains(&self.fourcc)
    }
}

/// RIFF chunks are padded to an even size.
fn padded(len: u64) -> u64 {
    len + (len & 1)
}

/// Walks the top-level chunks of one RIFF `WEBP` form, shared by `find` and both passes of
/// `write` so that all three agree on where every chunk is.
///
/// Strict: the RIFF size is even and within the file, every chunk (with its padding byte) lies
/// inside the RIFF chunk, FourCCs are printable ASCII, and the chunks fill the RIFF chunk exactly.
/// Bytes after the RIFF chunk are trailing data, which readers ignore and writers copy.
struct Walker<'a> {
    src: Source<'a>,
    riff_size: u32,
    /// Offset after the RIFF chunk.
    riff_end: u64,
    /// The chunks of the RIFF chunk, walked by the container layer.
    chunks: Chunks,
    budget: Budget,
    /// Set by [`Walker::lenient`]: where and how the file was found cut short; the walk ends
    /// there instead of failing.
    truncated: Option<(u64, &'static str)>,
    lenient: bool,
}

impl<'a> Walker<'a> {
    /// As [`Walker::new`], but a RIFF size or a chunk that runs past the end of the file is
    /// clamped to it (recorded in `truncated`) instead of failing.
    fn lenient(input: &'a mut dyn ReadSeek, limits: &Limits) -> Result<Self> {
        Self::open(input, limits, true)
    }

    /// Checks the RIFF header and stands before the first chunk.
    fn new(input: &'a mut dyn ReadSeek, limits: &Limits) -> Result<Self> {
        Self::open(input, limits, false)
    }

    fn open(input: &'a mut dyn ReadSeek, limits: &Limits, lenient: bool) -> Result<Self> {
        let mut src = Source::new(input, FORMAT)?;
        let [r0, r1, r2, r3, s0, s1, s2, s3, w0, w1, w2, w3] = src.read_array::<12>("RIFF header")?;
        if [r0, r1, r2, r3] != *b"RIFF" || [w0, w1, w2, w3] != *b"WEBP" {
            return Err(Error::malformed(FORMAT, 0, "not a RIFF WEBP file"));
        }
        let riff_size = u32::from_le_bytes([s0, s1, s2, s3]);
        let riff_end = 8 + u64::from(riff_size);
        if riff_size % 2 == 1 {
            return Err(Error::malformed(
                FORMAT,
                4,
                "RIFF size is odd, but every chunk is padded to an even size",
            ));
        }
        let mut truncated = None;
        let riff_end = if riff_end > src.len() && lenient {
            truncated = Some((4, "the RIFF size runs past the end of the file"));
            src.len()
        } else if riff_end > src.len() {
            return Err(Error::truncated(FORMAT, 4, "RIFF size runs past the end of the file"));
        } else {
            riff_end
        };
        if riff_end < RIFF_HEADER {
            return Err(Error::malformed(FORMAT, 4, "RIFF size smaller than the form type"));
        }
        Ok(Walker {
            src,
            riff_size,
            riff_end,
            chunks: Chunks::new(Order::Little, RIFF_HEADER, riff_end),
            budget: Budget::counting(limits, "chunk count"),
            truncated,
            lenient,
        })
    }

    /// The next chunk, or `None` at the end of the RIFF chunk.
    ///
    /// # Errors
    /// A chunk header that does not fit, a chunk that runs past the RIFF chunk, a FourCC that is
    /// not ASCII, more chunks than [`Limits::max_structures`], I/O errors.
    fn next(&mut self) -> Result<Option<Chunk>> {
        let offset = self.chunks.pos();
        if offset >= self.riff_end {
            return Ok(None);
        }
        if self.riff_end - offset < CHUNK_HEADER && self.truncated.is_some() {
            // The file was cut inside this chunk header.
            return Ok(None);
        }
        if self.riff_end - offset < CHUNK_HEADER {
            return Err(Error::malformed(
                FORMAT,
                offset,
                "bytes left in the RIFF chunk are too few for a chunk header",
            ));
        }
        let Some(found) = self.chunks.next(&mut self.src, &mut self.budget, None)? else {
            return Ok(None);
        };
        if !found.id.iter().all(|b| (0x20..=0x7e).contains(b)) {
            return Err(Error::malformed(
                FORMAT,
                offset,
                "chunk FourCC is not four ASCII characters",
            ));
        }
        let chunk = Chunk {
            offset,
            fourcc: found.id,
            // Without ds64, sizes are the 32-bit fields.
            len: u32::try_from(found.size).unwrap_or(u32::MAX),
        };
        // A chunk past the RIFF end leaves the walk at the RIFF end: no further chunk.
        if chunk.end() > self.riff_end && self.lenient && self.riff_end == self.src.len() {
            self.truncated
                .get_or_insert((offset, "a chunk runs past the end of the file"));
            return Ok(None);
        }
        if chunk.end() > self.riff_end {
            return Err(Error::truncated(
                FORMAT,
                offset,
                "chunk (with its padding byte) runs past the end of the RIFF chunk",
            ));
        }
        Ok(Some(chunk))
    }

    /// The first `N` payload bytes of `chunk`, which must hold at least that many.
    fn head<const N: usize>(&mut self, chunk: &Chunk, what: &'static str) -> Result<[u8; N]> {
        if u64::from(chunk.len) < N as u64 {
            return Err(Error::malformed(FORMAT, chunk.offset, what));
        }
        self.src.seek_to(chunk.data_start())?;
        self.src.read_array(what)
    }

    /// The payload of `chunk`, without its padding byte, within [`Limits::max_metadata_bytes`].
    fn payload(&mut self, chunk: &Chunk, limits: &Limits) -> Result<Vec<u8>> {
        self.src.seek_to(chunk.data_start())?;
        self.src.read_vec(u64::from(chunk.len), "metadata chunk", limits)
    }
}

/// What one walk over the chunks learned.
struct Scan {
    /// The copies `find` reports, at most [`Limits::max_copies`].
    found: Vec<Found>,
    /// The first chunk: `VP8X` for an extended file, `VP8 ` or `VP8L` for a simple one.
    first: Chunk,
    /// `VP8X` flags of an extended file; `None` for a simple file.
    flags: Option<u8>,
    /// The `VP8X` flags a new `VP8X` chunk needs for the chunks present (ICC, EXIF, `ALPH`).
    present: u8,
    /// Every `XMP ` chunk, and whether it holds a label.
    xmp: Vec<(Chunk, bool)>,
    /// Offsets of the `EXIF` chunks whose `UserComment` holds a label.
    exif_labelled: Vec<u64>,
    /// Every room chunk ([`ROOM`]): a rewrite drops them and leaves one after the label.
    rooms: Vec<Chunk>,
    /// Where a new `XMP ` chunk goes: the end of the last chunk that precedes it in the
    /// specification's order.
    insert_at: u64,
    /// A lenient walk found the file cut short: where, and how.
    truncated: Option<(u64, &'static str)>,
}

impl Scan {
    /// Walks every chunk of `input` and collects the label copies; `lenient` reads a truncated
    /// file up to its end (see [`Walker::lenient`]).
    fn run(input: &mut dyn ReadSeek, limits: &Limits, lenient: bool) -> Result<Scan> {
        let mut walker = if lenient {
            Walker::lenient(input, limits)?
        } else {
            Walker::new(input, limits)?
        };
        let mut scan = Scan::start(&mut walker)?;
        let mut next = Some(scan.first);
        while let Some(chunk) = next {
            scan.visit(&mut walker, &chunk, limits)?;
            next = walker.next()?;
        }
        scan.truncated = walker.truncated;
        Ok(scan)
    }

    /// Reads the first chunk (`VP8X`, or the bitstream of a simple file), before which nothing
    /// has been visited.
    fn start(walker: &mut Walker<'_>) -> Result<Scan> {
        let first = walker
            .next()?
            .ok_or_else(|| Error::malformed(FORMAT, RIFF_HEADER, "no chunk in the RIFF chunk"))?;
        let flags = if first.is(&VP8X) {
            let [flags] = walker.head::<1>(&first, "VP8X chunk shorter than its 10 bytes")?;
            if first.len < VP8X_LEN {
                return Err(Error::malformed(
                    FORMAT,
                    first.offset,
                    "VP8X chunk shorter than its 10 bytes",
                ));
            }
            Some(flags)
        } else if first.is(&VP8) || first.is(&VP8L) {
            None
        } else {
            return Err(Error::malformed(
                FORMAT,
                first.offset,
                "the first chunk must be VP8X, VP8 or VP8L",
            ));
        };
        Ok(Scan {
            found: Vec::new(),
            first,
            flags,
            present: 0,
            xmp: Vec::new(),
            exif_labelled: Vec::new(),
            rooms: Vec::new(),
            insert_at: first.end(),
            truncated: None,
        })
    }

    fn visit(&mut self, walker: &mut Walker<'_>, chunk: &Chunk, limits: &Limits) -> Result<()> {
        match chunk.fourcc {
            ICCP => self.present |= FLAG_ICC,
            EXIF => {
                self.present |= FLAG_EXIF;
                self.read_exif(walker, chunk, limits)?;
            }
            ALPH => self.present |= FLAG_ALPHA,
            ROOM => self.rooms.push(*chunk),
            XMP => {
                let packet = walker.payload(chunk, limits)?;
                let hits = search_packet(&packet, limits).map_err(|e| in_chunk(chunk, e))?;
                self.xmp.push((*chunk, !hits.is_empty()));
                let checks = self.checks(chunk);
                for hit in hits {
                    if self.found.len() < limits.max_copies {
                        self.found.push(Found {
                            carrier: CARRIER.into(),
                            range: chunk.range(),
                            checks: [checks.clone(), hit.checks()].concat(),
                            text: hit.value,
                            expected_shape: Shape::Bare,
                        });
                    }
                }
            }
            _ => {}
        }
        if chunk.precedes_xmp() {
            self.insert_at = chunk.end();
        }
        Ok(())
    }

    /// Reports a label in the `UserComment` of an `EXIF` chunk (with or without a leading
    /// `Exif\0\0`), and notes the chunk so that a write blanks it.
    fn read_exif(&mut self, walker: &mut Walker<'_>, chunk: &Chunk, limits: &Limits) -> Result<()> {
        let payload = walker.payload(chunk, limits)?;
        let Some(at) = exif::tiff_start(&payload) else {
            return Ok(());
        };
        for comment in exif::labelled(&payload, at, limits) {
            if !self.exif_labelled.contains(&chunk.offset) {
                self.exif_labelled.push(chunk.offset);
            }
            if self.found.len() < limits.max_copies {
                let detail = format!(
                    "the EXIF chunk (byte {}) is not where GB 45438 puts the WebP label: the XMP property \
                     TC260:AIGC in an XMP chunk announced by the VP8X XMP flag",
                    chunk.offset
                );
                self.found.push(comment.found(chunk.range(), &detail));
            }
        }
        Ok(())
    }

    /// Placement findings for the `XMP ` chunk just recorded.
    fn checks(&self, chunk: &Chunk) -> Vec<Check> {
        let mut problems = Vec::new();
        match self.flags {
            None => problems.push(format!(
                "the XMP chunk (byte {}) sits in a simple WebP file without a VP8X chunk, where readers do not \
                 look for it; GB 45438 puts the label in an XMP chunk announced by the VP8X XMP flag",
                chunk.offset
            )),
            Some(flags) if flags & FLAG_XMP == 0 => problems.push(format!(
                "the VP8X chunk does not set the XMP flag, so readers may skip the XMP chunk (byte {})",
                chunk.offset
            )),
            Some(_) => {}
        }
        if self.xmp.len() > 1 {
            problems.push(format!(
                "a second XMP chunk (byte {}); the WebP container lets readers ignore all but the first",
                chunk.offset
            ));
        }
        Check::placement(
            problems,
            "RIFF XMP chunk announced by the VP8X XMP flag, as GB 45438 places it",
        )
    }
}

/// Puts an error from the XMP codec in the context of the chunk that held the packet.
fn in_chunk(chunk: &Chunk, e: Error) -> Error {
    match e {
        Error::Malformed { .. } | Error::Truncated { .. } => {
            Error::malformed(FORMAT, chunk.offset, format!("XMP packet in the XMP chunk: {e}"))
        }
        other => other,
    }
}

/// Canvas size and alpha of a simple file, read from its bitstream header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Canvas {
    width: u32,
    height: u32,
    alpha: bool,
}

impl Canvas {
    /// From the start of a `VP8 ` payload (RFC 6386, 9.1): a 3-byte frame tag whose lowest bit
    /// is clear on key frames, the start code `9d 01 2a`, then the width and height as 14-bit
    /// values with two scaling bits above each.
    fn vp8(head: [u8; 10]) -> Option<Canvas> {
        let [tag, _, _, s0, s1, s2, w0, w1, h0, h1] = head;
        if tag & 1 != 0 || [s0, s1, s2] != [0x9d, 0x01, 0x2a] {
            return None;
        }
        let width = u32::from(u16::from_le_bytes([w0, w1]) & 0x3fff);
        let height = u32::from(u16::from_le_bytes([h0, h1]) & 0x3fff);
        (width > 0 && height > 0).then_some(Canvas {
            width,
            height,
            alpha: false,
        })
    }

    /// From the start of a `VP8L` payload (WebP lossless bitstream specification, 3.2): the
    /// signature `0x2f`, then, least significant bit first, 14 bits of width minus one, 14 bits
    /// of height minus one, the `alpha_is_used` bit and a 3-bit version that must be 0.
    fn vp8l(head: [u8; 5]) -> Option<Canvas> {
        let [signature, b0, b1, b2, b3] = head;
        let bits = u32::from_le_bytes([b0, b1, b2, b3]);
        (signature == 0x2f && bits >> 29 == 0).then_some(Canvas {
            width: (bits & 0x3fff) + 1,
            height: ((bits >> 14) & 0x3fff) + 1,
            alpha: (bits >> 28) & 1 == 1,
        })
    }

    /// The `VP8X` chunk of an extended file with this canvas and `flags` (the alpha flag is added
    /// when the bitstream has alpha).
    fn vp8x_chunk(self, flags: u8) -> [u8; 18] {
        let mut chunk = [0u8; 18];
        chunk[..4].copy_from_slice(&VP8X);
        chunk[4..8].copy_from_slice(&VP8X_LEN.to_le_bytes());
        chunk[8] = flags | if self.alpha { FLAG_ALPHA } else { 0 };
        chunk[12..15].copy_from_slice(&(self.width - 1).to_le_bytes()[..3]);
        chunk[15..18].copy_from_slice(&(self.height - 1).to_le_bytes()[..3]);
        chunk
    }
}

/// Plans [`WebP::write`]'s output in one walk of the chunks, collecting the copies
/// [`WebP::find`] reports on the way. The RIFF size (and a simple file's new `VP8X`, whose flags
/// follow the chunks present) are known only at the end, and the place of a new `XMP ` chunk
/// once the chunks whose order the container fixes are past: each is a guess meanwhile (the
/// size as if nothing but the label changed, the new chunk right after the last of those
/// chunks once another chunk follows), so a streaming write goes on past them; a wrong size or
/// flag is patched in place, a wrong place cut back.
fn edit_plan(input: &mut dyn ReadSeek, label: &Label, limits: &Limits, mut out: PlanBuilder<'_>) -> Result<EditPlan> {
    let text = json::to_json(label, Shape::Bare);
    let mut walker = Walker::new(input, limits)?;
    let mut scan = Scan::start(&mut walker)?;
    let first = scan.first;
    let new_label = label_bytes(&xmp_plan::label_packet(None, &text, limits)?, limits)?;
    let canvas = match scan.flags {
        Some(_) => None,
        None => Some(canvas(&mut walker, &first)?),
    };
    let vp8x_len = if canvas.is_some() {
        CHUNK_HEADER + u64::from(VP8X_LEN)
    } else {
        0
    };
    let guessed = u64::from(walker.riff_size) + new_label.len() as u64 + vp8x_len;
    out.put(b"RIFF");
    let size = out.guess(Piece::New(
        u32::try_from(guessed).unwrap_or(u32::MAX).to_le_bytes().to_vec(),
    ));
    out.put(b"WEBP");
    let vp8x = canvas.map(|c| out.guess(Piece::New(c.vp8x_chunk(FLAG_XMP).to_vec())));
    // Where a new `XMP ` chunk goes while none has been met: after the last chunk whose place
    // the specification fixes.
    let mut insert = None;
    // The place holds its guess: another chunk followed the last of those chunks.
    let mut guessed = false;
    let mut label_range = None;
    let mut next = Some(first);
    while let Some(chunk) = next {
        scan.visit(&mut walker, &chunk, limits)?;
        if chunk.offset == first.offset && chunk.is(&VP8X) {
            let [flags] = walker.head::<1>(&chunk, "VP8X chunk shorter than its 10 bytes")?;
            out.copy(chunk.offset..chunk.data_start());
            out.put(&[flags | FLAG_XMP]);
            out.copy(chunk.data_start() + 1..chunk.end());
        } else if chunk.is(&XMP) && scan.xmp.len() == 1 {
            // The first `XMP ` chunk takes the label: no new chunk.
            if let Some(slot) = insert.take() {
                out.fill(slot, Vec::new());
            }
            let old = walker.payload(&chunk, limits)?;
            let packet = xmp_plan::label_packet(Some(&old), &text, limits).map_err(|e| in_chunk(&chunk, e))?;
            let start = out.position();
            out.put(&label_bytes(&packet, limits)?);
            label_range = Some(start..out.position());
        } else if chunk.is(&ROOM) {
            // Dropped: the label's chunk brings a new room.
        } else if chunk.is(&XMP) && scan.xmp.last().is_some_and(|(_, labelled)| *labelled) {
            out.put(&chunk_bytes(&XMP, &scrubbed(&mut walker, &chunk, limits)?)?);
        } else if chunk.is(&EXIF) && scan.exif_labelled.contains(&chunk.offset) {
            let payload = walker.payload(&chunk, limits)?;
            let at = exif::tiff_start(&payload).unwrap_or(0);
            let payload = exif::blanked(payload, at, limits)
                .ok_or_else(|| Error::malformed(FORMAT, chunk.offset, "the EXIF label could not be blanked"))?;
            out.put(&chunk_bytes(&EXIF, &payload)?);
        } else {
            out.copy(chunk.range());
        }
        if label_range.is_none() && chunk.precedes_xmp() {
            if let Some(slot) = insert.take() {
                out.fill(slot, Vec::new());
            }
            insert = Some(out.reserve());
            guessed = false;
        } else if let Some(slot) = insert.as_ref().filter(|_| label_range.is_none() && !guessed) {
            out.guess_for(slot, Piece::New(new_label.clone()));
            guessed = true;
        }
        // Before the next header is read, so the copy continues where the walk's read ended.
        out.drain(&mut walker.src, &scan.found)?;
        next = walker.next()?;
    }
    let label_range = match (label_range, insert) {
        (Some(range), _) => range,
        (None, Some(slot)) => out.fill(slot, new_label),
        (None, None) => {
            return Err(Error::malformed(
                FORMAT,
                RIFF_HEADER,
                "no place found for the XMP chunk",
            ));
        }
    };
    if let (Some(slot), Some(canvas)) = (vp8x, canvas) {
        out.fill(slot, canvas.vp8x_chunk(scan.present | FLAG_XMP).to_vec());
    }
    let riff_size = out.position().saturating_sub(8);
    let riff_size = u32::try_from(riff_size).map_err(|_| Error::Limit {
        format: FORMAT,
        offset: 4,
        what: "RIFF size",
        found: riff_size,
        limit: u64::from(u32::MAX),
    })?;
    out.fill(size, riff_size.to_le_bytes().to_vec());
    out.copy(walker.riff_end..walker.src.len());
    Ok(out.finish(scan.found, label_range))
}

/// The label's `XMP ` chunk holding `packet`, and the room after it for later updates in place
/// ([`InPlace`]): a label chunk's worth and [`Limits::label_room`] more; together, the structure
/// that holds the label.
fn label_bytes(packet: &[u8], limits: &Limits) -> Result<Vec<u8>> {
    let mut out = chunk_bytes(&XMP, packet)?;
    let room = match limits.label_room {
        0 => return Ok(out),
        extra => u32::try_from(padded(chunk_size(packet).saturating_add(extra))).unwrap_or(u32::MAX - 1),
    };
    let len = usize::try_from(room).unwrap_or(usize::MAX);
    out.try_reserve(len.saturating_add(8)).map_err(|_| Error::Limit {
        format: FORMAT,
        offset: 0,
        what: "room chunk",
        found: u64::from(room),
        limit: limits.label_room,
    })?;
    out.extend_from_slice(&ROOM);
    out.extend_from_slice(&room.to_le_bytes());
    out.resize(out.len() + len, 0);
    Ok(out)
}

/// Updates in place, crash-safely, when the room chunk ([`ROOM`]) our writer leaves next to the
/// label's `XMP ` chunk can take the label: the new `XMP ` chunk is written inside the room and
/// synced, then one 8-byte write (a FourCC and a size, inside one disk sector) turns the old
/// chunk into room and the new one into the `XMP ` chunk (see the image crate's `room` notes).
/// RIFF chunks carry no checksum and readers skip them by size, so no state in between reads as
/// anything but the old label or the new. The RIFF size, `VP8X` and every other chunk stay.
impl InPlace for WebP {
    fn plan(&self, file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
        in_place_steps(file, label, limits)
    }
}

/// Works out an update in place; `Err(why)` when it cannot be done.
fn in_place_steps(file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
    let scan = Scan::run(file, limits, false)?;
    if scan.flags.is_none_or(|flags| flags & FLAG_XMP == 0) {
        return Ok(Err("the VP8X chunk does not announce XMP yet"));
    }
    if !scan.exif_labelled.is_empty() || scan.xmp.iter().skip(1).any(|(_, labelled)| *labelled) {
        return Ok(Err("a label sits outside the first XMP chunk"));
    }
    let Some((old, _)) = scan.xmp.first() else {
        return Ok(Err("no XMP chunk to update"));
    };
    let Some(room) = scan
        .rooms
        .iter()
        .find(|r| r.offset == old.end() || r.end() == old.offset)
    else {
        return Ok(Err("no room chunk next to the XMP chunk"));
    };
    let packet = Walker::new(file, limits)?.payload(old, limits)?;
    let text = json::to_json(label, Shape::Bare);
    let new_packet = xmp_plan::label_packet(Some(&packet), &text, limits).map_err(|e| in_chunk(old, e))?;
    let Ok(len) = u32::try_from(new_packet.len()) else {
        return Ok(Err("the packet outgrows a chunk"));
    };
    let mut new = [&XMP[..], &len.to_le_bytes(), &new_packet].concat();
    if len % 2 == 1 {
        new.push(0);
    }
    let pair = crate::room::Pair {
        old: old.range(),
        room: room.range(),
        text: old.data_start()..old.data_start() + crate::room::packet_text_len(&packet),
        head: CHUNK_HEADER,
        switch: 0..CHUNK_HEADER,
    };
    Ok(pair.steps(&new, |len| {
        let size = u32::try_from(len.checked_sub(CHUNK_HEADER)?).ok()?;
        (size % 2 == 0).then(|| [&ROOM[..], &size.to_le_bytes()].concat())
    }))
}

/// The canvas of a simple file, from its first (bitstream) chunk.
fn canvas(walker: &mut Walker<'_>, first: &Chunk) -> Result<Canvas> {
    let canvas = if first.is(&VP8) {
        Canvas::vp8(walker.head(first, "VP8 chunk shorter than a key frame header")?)
    } else {
        Canvas::vp8l(walker.head(first, "VP8L chunk shorter than its header")?)
    };
    canvas.ok_or_else(|| {
        Error::malformed(
            FORMAT,
            first.offset,
            "the bitstream header gives no canvas size (not a key frame, bad signature or version)",
        )
    })
}

/// The payload of a later `XMP ` chunk without its `TC260:AIGC` properties (unchanged when it
/// holds none).
fn scrubbed(walker: &mut Walker<'_>, chunk: &Chunk, limits: &Limits) -> Result<Vec<u8>> {
    let packet = walker.payload(chunk, limits)?;
    let scrubbed = xmp_plan::scrubbed(&packet, limits).map_err(|e| in_chunk(chunk, e))?;
    Ok(scrubbed.unwrap_or(packet))
}

/// Bytes a chunk with `payload` takes: header, payload, padding.
fn chunk_size(payload: &[u8]) -> u64 {
    CHUNK_HEADER + padded(payload.len() as u64)
}

/// One chunk with its padding byte.
fn chunk_bytes(fourcc: &[u8; 4], payload: &[u8]) -> Result<Vec<u8>> {
    let len = u32::try_from(payload.len()).map_err(|_| Error::Limit {
        format: FORMAT,
        offset: 0,
        what: "chunk size",
        found: payload.len() as u64,
        limit: u64::from(u32::MAX),
    })?;
    let mut out = Vec::new();
    out.try_reserve(payload.len().saturating_add(9))
        .map_err(std::io::Error::other)?;
    out.extend_from_slice(fourcc);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(payload);
    if len % 2 == 1 {
        out.push(0);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aigc_label_core::check::id;
    use aigc_label_core::xmp;
    use std::io::Cursor;

    fn chunk(fourcc: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = fourcc.to_vec();
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(payload);
        if payload.len() % 2 == 1 {
            out.push(0);
        }
        out
    }

    fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(4 + body.len() as u32).to_le_bytes());
        out.extend_from_slice(b"WEBP");
        out.extend_from_slice(&body);
        out
    }

    /// A VP8 key frame header for `w` x `h` with scaling bits set (they must be ignored).
    fn vp8(w: u16, h: u16) -> Vec<u8> {
        let mut p = vec![0x50, 0x02, 0x00, 0x9d, 0x01, 0x2a];
        p.extend_from_slice(&(w | 0x4000).to_le_bytes());
        p.extend_from_slice(&(h | 0x8000).to_le_bytes());
        p.extend_from_slice(&[1, 2, 3]);
        chunk(&VP8, &p)
    }

    fn vp8l(w: u32, h: u32, alpha: bool) -> Vec<u8> {
        let bits = (w - 1) | ((h - 1) << 14) | (u32::from(alpha) << 28);
        let mut p = vec![0x2f];
        p.extend_from_slice(&bits.to_le_bytes());
        p.extend_from_slice(&[9, 9]);
        chunk(&VP8L, &p)
    }

    fn label() -> Label {
        Label::new("001191440300708461136T1XGW3", "a")
    }

    fn write(data: &[u8]) -> Result<(Vec<u8>, aigc_label_core::Written)> {
        let mut out = Vec::new();
        let w = WebP.write(&mut Cursor::new(data), &mut out, &label(), &Limits::default())?;
        Ok((out, w))
    }

    fn find(data: &[u8]) -> Result<Vec<Found>> {
        WebP.find(&mut Cursor::new(data), &Limits::default())
    }

    #[test]
    fn exif_user_comment_is_read_and_blanked_on_write() {
        use crate::exif::{self as ex, Order};
        let wrapped = r#"{"AIGC":{"Label":"1","ContentProducer":"p","ProduceID":"x"}}"#;
        let comment = [b"ASCII\0\0\0".as_slice(), wrapped.as_bytes()].concat();
        for (order, prefix) in [(Order::Little, &b""[..]), (Order::Big, ex::SIGNATURE)] {
            let exif = chunk(&EXIF, &[prefix, &ex::tests::tiff_block(order, &comment)].concat());
            let input = riff(&[vp8(8, 8), exif.clone()]);
            let found = find(&input).unwrap();
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].carrier, ex::CARRIER);
            assert_eq!(found[0].text, wrapped);
            assert_eq!(found[0].expected_shape, Shape::Wrapped);
            let (out, w) = write(&input).unwrap();
            let after = find(&out).unwrap();
            assert_eq!(after.len(), 1, "{after:?}");
            assert_eq!(after[0].carrier, CARRIER);
            // The EXIF chunk is still there, as long as before, without the label.
            let at = out.windows(4).position(|c| c == EXIF).unwrap();
            assert_eq!(out[at..at + 8], exif[..8]);
            assert!(!out[at..at + exif.len()].windows(4).any(|c| c == b"AIGC"));
            let added = 18 + (w.label_range.end - w.label_range.start) as usize;
            assert_eq!(out.len(), input.len() + added);
        }
    }

    #[test]
    fn canvas_from_vp8_ignores_scaling_bits() {
        let (out, _) = write(&riff(&[vp8(300, 17)])).unwrap();
        assert_eq!(&out[12..20], b"VP8X\x0a\0\0\0");
        assert_eq!(out[20], FLAG_XMP);
        assert_eq!(&out[24..30], &[43, 1, 0, 16, 0, 0]);
    }

    #[test]
    fn canvas_from_vp8l_takes_alpha_from_the_bitstream() {
        for alpha in [false, true] {
            let (out, _) = write(&riff(&[vp8l(16384, 1, alpha)])).unwrap();
            let flags = if alpha { FLAG_XMP | FLAG_ALPHA } else { FLAG_XMP };
            assert_eq!(out[20], flags);
            assert_eq!(&out[24..30], &[0xff, 0x3f, 0, 0, 0, 0]);
        }
    }

    #[test]
    fn simple_file_with_metadata_chunks_gets_their_flags() {
        let input = riff(&[vp8(8, 8), chunk(&EXIF, b"II*\0"), chunk(b"ABCD", b"x")]);
        let (out, w) = write(&input).unwrap();
        assert_eq!(out[20], FLAG_XMP | FLAG_EXIF);
        // After EXIF, before the unknown chunk.
        let exif_end = 12 + 18 + vp8(8, 8).len() + 12;
        assert_eq!(w.label_range.start as usize, exif_end);
        assert!(out.ends_with(&chunk(b"ABCD", b"x")));
        assert_eq!(
            u32::from_le_bytes(out[4..8].try_into().unwrap()) as usize,
            out.len() - 8
        );
    }

    #[test]
    fn extended_file_gets_the_flag_and_keeps_other_bits_and_extra_bytes() {
        let vp8x = chunk(&VP8X, &[0x30, 0xaa, 0, 0, 7, 0, 0, 7, 0, 0, 0xee, 0xff]);
        let input = riff(&[vp8x.clone(), chunk(&ICCP, b"icc"), vp8(8, 8)]);
        let (out, _) = write(&input).unwrap();
        let mut expected = vp8x;
        expected[8] |= FLAG_XMP;
        assert_eq!(&out[12..12 + expected.len()], &expected[..]);
        assert_eq!(&out[12 + expected.len()..][..4], b"ICCP");
    }

    fn exclusions(data: &[u8]) -> Vec<Range<u64>> {
        WebP.binding_exclusions(&mut Cursor::new(data), &Limits::default())
            .unwrap()
    }

    #[test]
    fn exclusions_are_the_xmp_chunks_the_riff_size_and_a_clear_xmp_flag() {
        let packet = xmp::new_packet(r#"{"Label":"1"}"#, 0);
        let plain = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF \
            xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'/></x:xmpmeta>";
        let vp8x = |flags: u8| chunk(&VP8X, &[flags, 0, 0, 0, 7, 0, 0, 7, 0, 0]);
        // Flag set: the labelled chunk (second here) and the first XMP chunk, which write fills.
        let data = riff(&[vp8x(FLAG_XMP), vp8(8, 8), chunk(&XMP, plain), chunk(&XMP, &packet)]);
        let first = 12 + 18 + vp8(8, 8).len() as u64;
        let second = first + chunk(&XMP, plain).len() as u64;
        assert_eq!(exclusions(&data), [4..8, first..second, second..data.len() as u64]);
        // Flag clear: the flags byte too, which write sets.
        let data = riff(&[vp8x(0), vp8(8, 8), chunk(&XMP, &packet)]);
        assert_eq!(exclusions(&data), [4..8, 20..21, first..data.len() as u64]);
        // Writing sets the flag, after which the flags byte is covered.
        // The label's structure: its chunk and the room after it.
        let (out, w) = write(&data).unwrap();
        let excluded = exclusions(&out);
        assert_eq!(excluded[0], 4..8);
        assert_eq!(
            (excluded[1].start, excluded[2].end),
            (w.label_range.start, w.label_range.end)
        );
        assert_eq!(excluded[1].end, excluded[2].start);
        assert_eq!(&out[excluded[2].start as usize..][..4], &ROOM);
    }

    #[test]
    fn broken_bitstream_headers_are_errors() {
        let mut not_key = vp8(8, 8);
        not_key[8] |= 1;
        let mut zero = vp8(8, 8);
        zero[14..16].copy_from_slice(&0u16.to_le_bytes());
        let mut version = vp8l(8, 8, false);
        version[12] |= 0x20;
        for bad in [not_key, zero, version, chunk(&VP8L, &[0x2f, 0])] {
            let data = riff(&[bad]);
            assert!(find(&data).unwrap().is_empty());
            assert!(write(&data).is_err());
        }
    }

    #[test]
    fn malformed_containers_are_errors() {
        let good = riff(&[vp8(8, 8)]);
        let mut odd = good.clone();
        odd[4] ^= 1;
        let mut long = good.clone();
        long[16] = 0xff;
        let mut fourcc = good.clone();
        fourcc[12] = 0;
        let cases = [
            ("empty", Vec::new()),
            ("header only", good[..12].to_vec()),
            ("odd RIFF size", odd),
            ("chunk too long", long),
            ("bad fourcc", fourcc),
            ("first chunk", riff(&[chunk(&XMP, b""), vp8(8, 8)])),
            ("short VP8X", riff(&[chunk(&VP8X, &[0; 4]), vp8(8, 8)])),
            (
                "leftover bytes",
                [&good[..4], &(good.len() as u32 - 4).to_le_bytes(), &good[8..], b"abcd"].concat(),
            ),
        ];
        for (name, data) in cases {
            assert!(find(&data).is_err(), "{name}: find");
            assert!(write(&data).is_err(), "{name}: write");
        }
    }

    #[test]
    fn a_truncated_file_is_read_up_to_the_cut_and_flagged() {
        let packet = xmp::new_packet(r#"{"Label":"1","ContentProducer":"p","ProduceID":"x"}"#, 0);
        let vp8x = chunk(&VP8X, &[FLAG_XMP, 0, 0, 0, 7, 0, 0, 7, 0, 0]);
        let mut frame = vp8(8, 8);
        frame.extend_from_slice(&[0x55; 64]);
        let frame_len = (frame.len() - 8) as u32;
        frame[4..8].copy_from_slice(&frame_len.to_le_bytes());
        let input = riff(&[vp8x, chunk(&XMP, &packet), frame]);
        let frame_at = input.len() - 8 - frame_len as usize;
        for cut in [frame_at + 4, frame_at + 8, frame_at + 30, input.len() - 1] {
            let data = &input[..cut];
            let found = find(data).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
            assert_eq!(found.len(), 1, "cut at {cut}");
            let check = found[0].checks.iter().find(|c| c.id == id::STRUCTURE_TRUNCATED);
            assert!(
                check.is_some_and(|c| !c.detail.is_empty()),
                "cut at {cut}: {:?}",
                found[0].checks
            );
            assert!(matches!(write(data), Err(Error::Truncated { .. })), "cut at {cut}");
            // The binding's walk reads what find reads.
            assert!(
                WebP.binding_exclusions(&mut Cursor::new(data), &Limits::default())
                    .is_ok()
            );
        }
        let whole = find(&input).unwrap();
        assert!(whole[0].checks.iter().all(|c| c.id != id::STRUCTURE_TRUNCATED));
    }

    #[test]
    fn limits_bound_the_walk() {
        let data = riff(&[vp8(8, 8), chunk(b"abcd", b""), chunk(b"abcd", b"")]);
        let mut limits = Limits::default();
        limits.max_structures = 2;
        let r = WebP.find(&mut Cursor::new(&data), &limits);
        assert!(
            matches!(
                r,
                Err(Error::Limit {
                    what: "chunk count",
                    ..
                })
            ),
            "{r:?}"
        );
    }
}
