//! PNG: the label is the XMP property `TC260:AIGC` in an uncompressed `iTXt` chunk with keyword
//! `XML:com.adobe.xmp`, placed before the first `IDAT` (spec section 4, PNG row).
//!
//! Reading also finds what real files carry (spec section 4, marked \[wild\]): the XMP chunk after
//! `IDAT` or after `IEND`, a compressed XMP `iTXt`, and `tEXt` / `zTXt` / `iTXt` chunks with the
//! keyword `AIGC`, and a wrapped label in the EXIF `UserComment` of an `eXIf` chunk. Those
//! copies are reported with a [`id::CARRIER_PLACE`] warning that says where they sit and where
//! the spec puts the label.
//!
//! Writing streams the file: the signature, then every chunk copied byte-exact (image data in
//! large blocks, never buffered whole), except the label chunks. The first XMP chunk is updated
//! with [`xmp::set_aigc`] (keeping its other properties) and written uncompressed before the first
//! `IDAT`; if no XMP chunk exists a new packet is inserted just before the first `IDAT` (or before
//! the `fcTL` that precedes it in an APNG, so the frame control stays next to its data). Further
//! XMP chunks lose only their `TC260:AIGC` property; `AIGC` text chunks are dropped and a
//! labelled `UserComment` is blanked in place (the `eXIf` chunk keeps its length, its CRC is
//! recomputed), because the label moves into XMP (core's embed has already checked that any
//! existing label is the same producer's, so this replaces a label, it does not strip someone
//! else's).
//!
//! Our write leaves room for later updates in place ([`Limits::label_room`], 4 KiB by default):
//! a [`PAST`] chunk right before the label's and a [`ROOM`] chunk right after it, private
//! ancillary chunks every reader skips (a rewrite drops those of earlier writes and makes them
//! again). The update's layout, its switch and why it is crash-safe despite the chunks' CRCs
//! are in the `in_place` module's notes; a content binding leaves both chunks out.
//!
//! The chunk walker is written here rather than taken from the `png` crate: that crate is a pixel
//! decoder that inflates image data and keeps only the chunks it knows, while a carrier must seek
//! past `IDAT`, copy unknown and after-`IEND` chunks byte-exact, and report byte offsets.

use std::io::Write;
use std::ops::Range;

use aigc_label_core::check::{Check, id};
use aigc_label_core::container::png::{CHUNK_OVERHEAD, ChunkHeader, Fault, MAX_CHUNK_LEN, SIGNATURE};
use aigc_label_core::container::xmp_plan;
use aigc_label_core::io::{Bytes, ReadSeek, Source};
use aigc_label_core::json::{self, Shape};
use aigc_label_core::plan::{Piece, Plan as EditPlan, PlanBuilder};
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result, xmp};
use flate2::{Decompress, FlushDecompress, Status};

use crate::{exif, truncated};

mod crc;
mod in_place;
mod prepare;

pub use in_place::{PAST, ROOM};

/// Format name used in errors and reports.
const FORMAT: &str = "png";

/// The `iTXt` keyword of an XMP packet (XMP specification part 3, PNG).
const XMP_KEYWORD: &[u8] = b"XML:com.adobe.xmp";

/// The text-chunk keyword some writers use for the label itself.
const LABEL_KEYWORD: &[u8] = b"AIGC";

/// Keywords are 1 to 79 bytes, followed by a NUL (PNG specification section 11.3.4).
const MAX_KEYWORD: usize = 79;
/// Keywords of text chunks holding an EXIF block as hex text (the "raw profile" form of
/// ImageMagick and exiv2).
const RAW_EXIF_KEYWORDS: [&[u8]; 2] = [b"Raw profile type exif", b"Raw profile type APP1"];
/// Hex digits per line when a raw profile is written back (36 bytes, as ImageMagick and exiv2
/// write them).
const RAW_PROFILE_LINE: usize = 72;

/// The PNG carrier: `iTXt` `XML:com.adobe.xmp` with `TC260:AIGC`, before the first `IDAT`.
///
/// ```
/// use std::io::Cursor;
/// use aigc_label_core::{Carrier, Label, Limits};
/// use aigc_label_image::Png;
///
/// // The smallest PNG: a 1x1 grey pixel (IHDR, IDAT, IEND), CRCs included.
/// let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
/// for (kind, data) in [
///     (&b"IHDR"[..], &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0][..]),
///     (b"IDAT", &[0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01][..]),
///     (b"IEND", &[][..]),
/// ] {
///     png.extend_from_slice(&(data.len() as u32).to_be_bytes());
///     png.extend_from_slice(kind);
///     png.extend_from_slice(data);
///     let crc = crc32fast::hash(&[kind, data].concat());
///     png.extend_from_slice(&crc.to_be_bytes());
/// }
///
/// let label = Label::new("001191440300708461136T1XGW3", "img-0001");
/// let mut out = Vec::new();
/// let written = Png.write(&mut Cursor::new(&png), &mut out, &label, &Limits::default())?;
/// assert_eq!(written.bytes_written, out.len() as u64);
/// assert_eq!(&out[written.label_range.start as usize + 4..][..4], b"iTXt");
/// # Ok::<(), aigc_label_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Png;

impl Carrier for Png {
    fn in_place(&self) -> Option<&dyn aigc_label_core::in_place::InPlace> {
        Some(self)
    }

    fn info(&self) -> &'static aigc_label_core::Info {
        &aigc_label_core::Info {
            format: FORMAT,
            media_type: "image/png",
            extensions: &["png", "apng"],
        }
    }

    fn traces(&self) -> Option<&'static dyn aigc_label_core::traces::TraceScanner> {
        Some(&aigc_label_core::traces::PngScanner)
    }

    fn stamp(&self) -> Option<&dyn aigc_label_core::stamp::Stamp> {
        Some(&aigc_label_core::stamp::Medium::Image)
    }

    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(&SIGNATURE)
    }

    /// Lenient about a truncated file (a chunk that runs past the end, no `IEND`): the copies
    /// read before the cut are reported, each with a
    /// [`structure.truncated`](id::STRUCTURE_TRUNCATED) warning (without a copy, the cut is the
    /// error); [`Png::write`] refuses such a file.
    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>> {
        let mut walker = Walker::new(input, limits)?;
        walker.lenient = true;
        let mut found = Vec::new();
        while let Some(chunk) = walker.next()? {
            if let Some((data, tiff_at)) = walker.exif(&chunk, limits)? {
                for comment in exif::labelled(&data, tiff_at, limits) {
                    if found.len() < limits.max_copies {
                        found.push(comment.found(chunk.range(), &exif_detail(&chunk)));
                    }
                }
                continue;
            }
            let Some(text) = walker.text(&chunk, limits)? else {
                continue;
            };
            for copy in copies(&chunk, &text, limits)? {
                if found.len() < limits.max_copies {
                    found.push(copy);
                }
            }
        }
        if let Some((offset, what)) = walker.truncated {
            truncated::flag(FORMAT, &mut found, offset, what)?;
        }
        Ok(found)
    }

    /// The label's chunks, as for every carrier, and our [`PAST`] and [`ROOM`] chunks, which a
    /// rewrite replaces and an update in place rewrites.
    fn binding_exclusions(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Range<u64>>> {
        let mut ranges: Vec<Range<u64>> = self.find(input, limits)?.into_iter().map(|f| f.range).collect();
        let mut walker = Walker::new(input, limits)?;
        walker.lenient = true;
        while let Some(chunk) = walker.next()? {
            if chunk.is(&PAST) || chunk.is(&ROOM) {
                ranges.push(chunk.range());
            }
        }
        Ok(ranges)
    }

    /// One walk of the chunk list: every chunk is copied as a range, except the XMP chunk that
    /// takes the label (kept in place before the image data, or moved before the first `IDAT`),
    /// other label-bearing text chunks (dropped or rewritten without the label) and an `eXIf`
    /// whose `UserComment` holds a label (blanked in place).
    fn plan(
        &self,
        input: &mut dyn ReadSeek,
        label: &Label,
        limits: &Limits,
        out: PlanBuilder<'_>,
    ) -> Result<Option<EditPlan>> {
        edit_plan(input, label, limits, out).map(Some)
    }
}

/// Plans the output of [`Png::write`] in one walk, collecting the copies [`Png::find`] reports
/// on the way; a streaming builder writes each chunk as the walk passes it (a malformed file
/// then fails with part of an output written, which the embed step discards).
fn edit_plan(input: &mut dyn ReadSeek, label: &Label, limits: &Limits, mut out: PlanBuilder<'_>) -> Result<EditPlan> {
    let mut walker = Walker::new(input, limits)?;
    out.put(&SIGNATURE);
    let mut found = Vec::new();
    let keep = |found: &mut Vec<Found>, copy: Found| {
        if found.len() < limits.max_copies {
            found.push(copy);
        }
    };
    let json = json::to_json(label, Shape::Bare);
    // With no XMP chunk before the image data, the label goes before the first `IDAT` (or the
    // `fcTL` before it in an APNG), as a new packet unless an XMP chunk comes later, whose
    // packet it then merges: a guess, so a streaming write goes on past it.
    let mut slot = None;
    // The label's chunk, once final: an XMP chunk before the image data takes it in place.
    let mut placed = None;
    let mut seen_image = false;
    // The first XMP chunk anywhere in the file: it receives the label.
    let mut primary: Option<TextChunk> = None;
    loop {
        out.drain(&mut walker.src, &found)?;
        let Some(chunk) = walker.next()? else {
            break;
        };
        if !seen_image && (chunk.is(b"IDAT") || chunk.is(b"fcTL")) {
            seen_image = true;
            if placed.is_none() {
                let at = out.position();
                let (likely, _) = label_structure(at, None, &json, limits)?;
                slot = Some((out.guess(Piece::New(likely)), at));
            }
        }
        // Our chunks around an earlier label: dropped, the label's new structure brings them.
        if chunk.is(&PAST) || chunk.is(&ROOM) {
            continue;
        }
        if let Some((data, tiff_at)) = walker.exif(&chunk, limits)? {
            for comment in exif::labelled(&data, tiff_at, limits) {
                keep(&mut found, comment.found(chunk.range(), &exif_detail(&chunk)));
            }
            // EXIF whose `UserComment` holds a label: blanked in place (same length), since the
            // label moves into the XMP packet.
            match exif::blanked(data, tiff_at, limits) {
                Some(data) => out.put(&chunk_bytes(b"eXIf", &[&data], out.position())?),
                None => out.copy(chunk.range()),
            }
            continue;
        }
        let Some(text) = walker.text(&chunk, limits)? else {
            out.copy(chunk.range());
            continue;
        };
        for copy in copies(&chunk, &text, limits)? {
            keep(&mut found, copy);
        }
        // EXIF as a raw profile whose `UserComment` holds a label: blanked (same length), the
        // chunk written back in its own type, since the label moves into the XMP packet.
        if text.role == Role::RawExif {
            match blanked_raw_profile(&chunk, &text, limits)? {
                Some(data) => out.put(&chunk_bytes(&chunk.kind, &[&data], out.position())?),
                None => out.copy(chunk.range()),
            }
            continue;
        }
        // An `AIGC` text chunk is dropped: the label moves into the XMP packet.
        if text.role == Role::Xmp {
            if primary.is_none() {
                if slot.is_none() {
                    let start = out.position();
                    let (bytes, label) = label_structure(start, Some(&text), &json, limits)?;
                    out.put(&bytes);
                    placed = Some(start + label.start..start + label.end);
                }
                primary = Some(text);
            } else {
                plan_secondary_xmp(&mut out, &chunk, &text, limits)?;
            }
        }
    }
    let end = walker.end.unwrap_or(walker.next);
    out.copy(end..walker.src.len());
    let label_range = match (slot, placed) {
        (Some((slot, at)), _) => {
            let (bytes, label) = label_structure(at, primary.as_ref(), &json, limits)?;
            let start = out.fill(slot, bytes).start;
            start + label.start..start + label.end
        }
        (None, Some(placed)) if seen_image => placed,
        _ => return Err(Error::malformed(FORMAT, 8, "no IDAT chunk")),
    };
    Ok(out.finish(found, label_range))
}

/// Where a chunk sits relative to the image data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    BeforeIdat,
    AfterIdat,
    AfterIend,
}

impl Place {
    fn describe(self) -> &'static str {
        match self {
            Place::BeforeIdat => "before the first IDAT",
            Place::AfterIdat => "after IDAT",
            Place::AfterIend => "after IEND",
        }
    }
}

/// One chunk's header, as the walker found it.
#[derive(Debug, Clone, Copy)]
struct Chunk {
    /// Offset of the length field.
    offset: u64,
    /// Declared data length, checked against the stream.
    len: u64,
    kind: [u8; 4],
    place: Place,
}

impl Chunk {
    fn data_start(&self) -> u64 {
        self.offset + 8
    }

    fn end(&self) -> u64 {
        self.offset + CHUNK_OVERHEAD + self.len
    }

    fn range(&self) -> Range<u64> {
        self.offset..self.end()
    }

    fn is(&self, kind: &[u8; 4]) -> bool {
        &self.kind == kind
    }

    fn kind_str(&self) -> &str {
        // The walker only accepts ASCII letters as chunk types.
        std::str::from_utf8(&self.kind).unwrap_or("????")
    }
}

/// Walks the chunk list of one PNG stream (PNG specification section 5), shared by `find` and
/// the plan of `write` so that both agree on where every chunk is.
///
/// Up to `IEND` the rules are strict: `IHDR` first, lengths within 2^31-1 and within the stream,
/// types of four ASCII letters, at least one `IDAT`, an `IEND`. After `IEND` the walk goes on
/// while whole chunks follow (labels hide there too); the first bytes that are not a whole chunk
/// end it without error and are copied as they are.
struct Walker<'a> {
    src: Source<'a>,
    /// Offset of the next chunk header.
    next: u64,
    count: u64,
    max_chunks: u64,
    seen_idat: bool,
    seen_iend: bool,
    /// Where the well-formed chunks ended, once the walk is over.
    end: Option<u64>,
    /// Read a truncated file up to its end instead of failing (for `find`).
    lenient: bool,
    /// Where and how a lenient walk found the file cut short.
    truncated: Option<(u64, &'static str)>,
}

/// What `Walker::header` makes of the next eight bytes.
enum Header {
    Chunk(Chunk),
    /// After `IEND`: not a whole chunk, so the rest of the file is trailing data.
    Trailing,
}

impl<'a> Walker<'a> {
    /// Checks the signature and stands before the first chunk.
    fn new(input: &'a mut dyn ReadSeek, limits: &Limits) -> Result<Self> {
        let mut src = Source::new(input, FORMAT)?;
        let signature: [u8; 8] = src.read_array("PNG signature")?;
        if signature != SIGNATURE {
            return Err(Error::malformed(FORMAT, 0, "not a PNG signature"));
        }
        Ok(Walker {
            src,
            next: SIGNATURE.len() as u64,
            count: 0,
            max_chunks: limits.max_structures,
            seen_idat: false,
            seen_iend: false,
            end: None,
            lenient: false,
            truncated: None,
        })
    }

    fn place(&self) -> Place {
        match (self.seen_idat, self.seen_iend) {
            (_, true) => Place::AfterIend,
            (true, false) => Place::AfterIdat,
            (false, false) => Place::BeforeIdat,
        }
    }

    /// The next chunk, or `None` at the end of the chunk list.
    ///
    /// # Errors
    /// Malformed or truncated chunk headers before `IEND`, a missing `IHDR`, `IDAT` or `IEND`,
    /// more chunks than [`Limits::max_structures`], I/O errors.
    // Always inlined: its `Result<Option<Chunk>>` came back through the stack and was reloaded
    // wider than it was stored, a store-forwarding stall per chunk (hostile bench, #17).
    #[inline(always)]
    fn next(&mut self) -> Result<Option<Chunk>> {
        if self.end.is_some() {
            return Ok(None);
        }
        self.src.seek_to(self.next)?;
        let chunk = match self.header()? {
            Header::Chunk(chunk) => chunk,
            Header::Trailing => {
                self.end = Some(self.next);
                return Ok(None);
            }
        };
        self.count += 1;
        if self.count > self.max_chunks {
            return Err(Error::Limit {
                format: FORMAT,
                offset: chunk.offset,
                what: "chunk count",
                found: self.count,
                limit: self.max_chunks,
            });
        }
        if self.count == 1 && !(chunk.is(b"IHDR") && chunk.len == 13) {
            return Err(Error::malformed(
                FORMAT,
                chunk.offset,
                "the first chunk must be a 13-byte IHDR",
            ));
        }
        if self.count == 1 {
            // The header is tiny and every decoder checks it, so a corrupt one is reported
            // here rather than passed on as a readable file.
            self.check_crc(&chunk)?;
        }
        if !self.seen_iend {
            if chunk.is(b"IDAT") {
                self.seen_idat = true;
            } else if chunk.is(b"IEND") {
                if !self.seen_idat {
                    return Err(Error::malformed(FORMAT, chunk.offset, "IEND before any IDAT"));
                }
                self.seen_iend = true;
            }
        }
        self.next = chunk.end();
        Ok(Some(chunk))
    }

    /// Reads the chunk header at the current position: strictly before `IEND`, leniently after.
    /// Before `IEND`, a walk made lenient ends at a cut (recorded in `truncated`) instead of
    /// failing.
    fn header(&mut self) -> Result<Header> {
        let offset = self.src.pos();
        let lenient = self.seen_iend;
        if lenient && self.src.remaining() < CHUNK_OVERHEAD {
            return Ok(Header::Trailing);
        }
        // Lenient only once IHDR was read: a stream cut before it is no PNG to speak of.
        let cut_ok = self.lenient && self.count > 0;
        if cut_ok && self.src.remaining() < CHUNK_OVERHEAD {
            let what = if self.src.at_end() {
                "the file ends before its IEND chunk"
            } else {
                "the file ends inside a chunk header"
            };
            self.truncated = Some((offset, what));
            return Ok(Header::Trailing);
        }
        if self.src.at_end() {
            return Err(self.src.truncated("no IEND chunk"));
        }
        let header = ChunkHeader::read(&mut self.src)?;
        let (len, kind) = (header.len, header.kind);
        let broken = header.fault(self.src.remaining()).map(|fault| match fault {
            Fault::TooLong => Error::malformed(FORMAT, offset, "chunk length over 2^31-1"),
            Fault::NotLetters => Error::malformed(FORMAT, offset, "chunk type is not four ASCII letters"),
            Fault::PastEnd => Error::truncated(FORMAT, offset, "chunk longer than the bytes that remain"),
        });
        match broken {
            Some(_) if lenient => Ok(Header::Trailing),
            Some(Error::Truncated { .. }) if cut_ok => {
                self.truncated = Some((offset, "a chunk runs past the end of the file"));
                Ok(Header::Trailing)
            }
            Some(e) => Err(e),
            None => Ok(Header::Chunk(Chunk {
                offset,
                len,
                kind,
                place: self.place(),
            })),
        }
    }

    /// Reads a small chunk whole and checks its CRC.
    fn check_crc(&mut self, chunk: &Chunk) -> Result<()> {
        self.src.seek_to(chunk.data_start())?;
        let mut data = [0u8; 13];
        let data = data
            .get_mut(..usize::try_from(chunk.len).unwrap_or(usize::MAX))
            .ok_or_else(|| Error::malformed(FORMAT, chunk.offset, "chunk too long for a CRC check here"))?;
        if self.src.read_up_to(data)? < data.len() {
            return Err(self.src.truncated("chunk data"));
        }
        self.check_stored_crc(chunk, data)
    }

    /// Reads the CRC that follows `data` and checks it against `chunk`'s type and `data`.
    fn check_stored_crc(&mut self, chunk: &Chunk, data: &[u8]) -> Result<()> {
        let crc = u32::from_be_bytes(self.src.read_array("chunk CRC")?);
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&chunk.kind);
        hasher.update(data);
        if hasher.finalize() != crc {
            return Err(Error::malformed(
                FORMAT,
                chunk.offset,
                format!("{} chunk CRC does not match its data", chunk.kind_str()),
            ));
        }
        Ok(())
    }

    /// The label-bearing text of `chunk`, if it is an XMP `iTXt` or an `AIGC` text chunk;
    /// `None` for every other chunk, which is left unread.
    ///
    /// Only the keyword is read to decide; a chunk that carries a label is then buffered (within
    /// [`Limits::max_metadata_bytes`]), its CRC checked and its text inflated if compressed.
    fn text(&mut self, chunk: &Chunk, limits: &Limits) -> Result<Option<TextChunk>> {
        let Some(role) = self.role(chunk)? else {
            return Ok(None);
        };
        self.src.seek_to(chunk.data_start())?;
        let data = self.src.read_vec(chunk.len, "text chunk", limits)?;
        self.check_stored_crc(chunk, &data)?;
        TextChunk::parse(chunk, role, &data, limits).map(Some)
    }

    /// The data of an `eXIf` chunk (CRC checked, within [`Limits::max_metadata_bytes`]) and
    /// where its TIFF header starts; `None` for any other chunk, and for EXIF without a TIFF
    /// header, which cannot hold a `UserComment`.
    fn exif(&mut self, chunk: &Chunk, limits: &Limits) -> Result<Option<(Vec<u8>, usize)>> {
        if !chunk.is(b"eXIf") {
            return Ok(None);
        }
        self.src.seek_to(chunk.data_start())?;
        let data = self.src.read_vec(chunk.len, "eXIf chunk", limits)?;
        self.check_stored_crc(chunk, &data)?;
        Ok(exif::tiff_start(&data).map(|at| (data, at)))
    }

    /// Reads at most the keyword of a text chunk to tell whether it carries a label.
    fn role(&mut self, chunk: &Chunk) -> Result<Option<Role>> {
        let itxt = chunk.is(b"iTXt");
        if !(itxt || chunk.is(b"tEXt") || chunk.is(b"zTXt")) {
            return Ok(None);
        }
        self.src.seek_to(chunk.data_start())?;
        let mut head = [0u8; MAX_KEYWORD + 1];
        let want = head.len().min(usize::try_from(chunk.len).unwrap_or(usize::MAX));
        let got = self.src.read_up_to(head.get_mut(..want).unwrap_or_default())?;
        let Some(keyword) = Bytes::new(head.get(..got).unwrap_or_default()).take_until(0) else {
            return Ok(None);
        };
        Ok(if itxt && keyword == XMP_KEYWORD {
            Some(Role::Xmp)
        } else if keyword.eq_ignore_ascii_case(LABEL_KEYWORD) {
            Some(Role::Label)
        } else if RAW_EXIF_KEYWORDS.iter().any(|k| keyword.eq_ignore_ascii_case(k)) {
            Some(Role::RawExif)
        } else {
            None
        })
    }
}

/// What a label-bearing text chunk is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// `iTXt` `XML:com.adobe.xmp`: an XMP packet that may hold `TC260:AIGC`.
    Xmp,
    /// `tEXt` / `zTXt` / `iTXt` with the keyword `AIGC`: the label's JSON itself.
    Label,
    /// `tEXt` / `zTXt` / `iTXt` `Raw profile type exif` (or `APP1`): an EXIF block written as
    /// hex text (exiv2 writes EXIF so, older ImageMagick too), whose `UserComment` may hold a
    /// wrapped label.
    RawExif,
}

/// A buffered, decoded text chunk (PNG specification sections 11.3.4.3 to 11.3.4.5).
#[derive(Debug)]
struct TextChunk {
    role: Role,
    keyword: Vec<u8>,
    /// True for `zTXt` and for `iTXt` with the compression flag set.
    compressed: bool,
    /// `iTXt` language tag and translated keyword, kept when the chunk is rewritten.
    language: Vec<u8>,
    translated: Vec<u8>,
    /// The text, inflated: Latin-1 for `tEXt` and `zTXt`, UTF-8 for `iTXt`.
    text: Vec<u8>,
    latin1: bool,
}

impl TextChunk {
    fn parse(chunk: &Chunk, role: Role, data: &[u8], limits: &Limits) -> Result<TextChunk> {
        let bad = |what: &'static str| Error::malformed(FORMAT, chunk.offset, what);
        let mut b = Bytes::new(data);
        let keyword = b
            .take_until(0)
            .ok_or_else(|| bad("text chunk keyword is not terminated"))?;
        let mut parsed = TextChunk {
            role,
            keyword: keyword.to_vec(),
            compressed: false,
            language: Vec::new(),
            translated: Vec::new(),
            text: Vec::new(),
            latin1: !chunk.is(b"iTXt"),
        };
        parsed.compressed = if chunk.is(b"tEXt") {
            false
        } else if chunk.is(b"zTXt") {
            match b.u8() {
                Some(0) => true,
                Some(_) => return Err(bad("unknown zTXt compression method")),
                None => return Err(bad("zTXt chunk ends before its compression method")),
            }
        } else {
            let flag = b
                .u8()
                .ok_or_else(|| bad("iTXt chunk ends before its compression flag"))?;
            let method = b
                .u8()
                .ok_or_else(|| bad("iTXt chunk ends before its compression method"))?;
            parsed.language = b
                .take_until(0)
                .ok_or_else(|| bad("iTXt language tag is not terminated"))?
                .to_vec();
            parsed.translated = b
                .take_until(0)
                .ok_or_else(|| bad("iTXt translated keyword is not terminated"))?
                .to_vec();
            match (flag, method) {
                (0, _) => false,
                (1, 0) => true,
                (1, _) => return Err(bad("unknown iTXt compression method")),
                _ => return Err(bad("iTXt compression flag is neither 0 nor 1")),
            }
        };
        parsed.text = if parsed.compressed {
            inflate(b.rest(), chunk.offset, limits)?
        } else {
            b.rest().to_vec()
        };
        Ok(parsed)
    }

    /// The text as a string: Latin-1 decoded for `tEXt`/`zTXt`, UTF-8 for `iTXt` (invalid
    /// sequences become U+FFFD, so the label is still reported and validation flags it).
    fn decoded(&self) -> String {
        if self.latin1 {
            self.text.iter().copied().map(char::from).collect()
        } else {
            String::from_utf8_lossy(&self.text).into_owned()
        }
    }
}

/// Inflates a zlib stream from a text chunk, at most [`Limits::max_inflated_bytes`].
fn inflate(data: &[u8], offset: u64, limits: &Limits) -> Result<Vec<u8>> {
    let corrupt = || Error::malformed(FORMAT, offset, "corrupt zlib stream in text chunk");
    let mut z = Decompress::new(true);
    let mut out = Vec::new();
    let mut block = [0u8; 16 << 10];
    loop {
        let (in_before, out_before) = (z.total_in(), z.total_out());
        let input = usize::try_from(in_before)
            .ok()
            .and_then(|i| data.get(i..))
            .unwrap_or_default();
        let status = z
            .decompress(input, &mut block, FlushDecompress::None)
            .map_err(|_| corrupt())?;
        let produced = usize::try_from(z.total_out() - out_before).map_err(|_| corrupt())?;
        let total = out.len() as u64 + produced as u64;
        if total > limits.max_inflated_bytes {
            return Err(Error::Limit {
                format: FORMAT,
                offset,
                what: "inflated text size",
                found: total,
                limit: limits.max_inflated_bytes,
            });
        }
        let piece = block.get(..produced).ok_or_else(corrupt)?;
        out.try_reserve(produced).map_err(|_| corrupt())?;
        out.extend_from_slice(piece);
        match status {
            Status::StreamEnd => return Ok(out),
            _ if produced == 0 && z.total_in() == in_before => {
                return Err(Error::truncated(FORMAT, offset, "zlib stream in text chunk ends early"));
            }
            _ => {}
        }
    }
}

/// The label copies one text chunk holds.
fn copies(chunk: &Chunk, text: &TextChunk, limits: &Limits) -> Result<Vec<Found>> {
    match text.role {
        Role::Xmp => {
            let hits = xmp::find_aigc(&text.text, limits).map_err(|e| in_chunk(chunk, e))?;
            let checks = xmp_checks(chunk, text.compressed);
            Ok(hits
                .into_iter()
                .map(|hit| Found {
                    carrier: "iTXt XML:com.adobe.xmp".into(),
                    range: chunk.range(),
                    checks: [checks.clone(), hit.checks()].concat(),
                    text: hit.value,
                    expected_shape: Shape::Bare,
                })
                .collect())
        }
        Role::RawExif => {
            let Some(profile) = RawProfile::parse(&text.text, limits) else {
                return Ok(Vec::new());
            };
            let Some(tiff_at) = exif::tiff_start(&profile.data) else {
                return Ok(Vec::new());
            };
            let detail = format!(
                "the {} {} chunk (byte {}) holds EXIF as a raw profile, which is not where GB 45438 puts the \
                 PNG label: the XMP property TC260:AIGC of an uncompressed iTXt XML:com.adobe.xmp chunk before \
                 the first IDAT",
                chunk.kind_str(),
                String::from_utf8_lossy(&text.keyword),
                chunk.offset
            );
            Ok(exif::labelled(&profile.data, tiff_at, limits)
                .into_iter()
                .map(|comment| comment.found(chunk.range(), &detail))
                .collect())
        }
        Role::Label => {
            let name = format!("{} {}", chunk.kind_str(), String::from_utf8_lossy(&text.keyword));
            let detail = format!(
                "label in a {name} chunk {} (byte {}); GB 45438 puts it in the XMP property TC260:AIGC of an \
                 uncompressed iTXt XML:com.adobe.xmp chunk before the first IDAT",
                chunk.place.describe(),
                chunk.offset
            );
            Ok(vec![Found {
                carrier: name.into(),
                range: chunk.range(),
                text: text.decoded(),
                expected_shape: Shape::Bare,
                checks: vec![Check::warn(id::CARRIER_PLACE, detail)],
            }])
        }
    }
}

/// An EXIF block written as hex text: `\n<name>\n<spaces><length>\n` and then the bytes in
/// hex, in lines (the "raw profile" form ImageMagick and exiv2 write).
struct RawProfile {
    /// Everything up to and including the length line, kept when the profile is written back.
    header: Vec<u8>,
    data: Vec<u8>,
}

impl RawProfile {
    /// Decodes `text`; `None` when it is not a well-formed raw profile (too few hex digits for
    /// its length, a length over [`Limits::max_metadata_bytes`], other characters among them).
    fn parse(text: &[u8], limits: &Limits) -> Option<RawProfile> {
        let mut lines = 0;
        let mut at = 0;
        // A newline, the name, a newline, the length, a newline.
        while lines < 3 {
            let nl = text.get(at..)?.iter().position(|&b| b == b'\n')?;
            at += nl + 1;
            lines += 1;
        }
        let header = text.get(..at)?.to_vec();
        let length_line = header.get(..header.len() - 1)?.rsplit(|&b| b == b'\n').next()?;
        let len: u64 = std::str::from_utf8(length_line).ok()?.trim().parse().ok()?;
        let hex = text.get(at..)?;
        if len > limits.max_metadata_bytes || len.saturating_mul(2) > hex.len() as u64 {
            return None;
        }
        let mut data = Vec::new();
        data.try_reserve_exact(usize::try_from(len).ok()?).ok()?;
        let mut digits = hex.iter().filter(|b| !b.is_ascii_whitespace());
        while (data.len() as u64) < len {
            let hi = char::from(*digits.next()?).to_digit(16)?;
            let lo = char::from(*digits.next()?).to_digit(16)?;
            data.push(u8::try_from(hi * 16 + lo).ok()?);
        }
        Some(RawProfile { header, data })
    }

    /// The profile as text again: the same header, the bytes in lines of hex.
    fn to_text(&self) -> Vec<u8> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = self.header.clone();
        for line in self.data.chunks(RAW_PROFILE_LINE / 2) {
            for b in line {
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 15)]);
            }
            out.push(b'\n');
        }
        out
    }
}

/// The data of a raw EXIF profile chunk with every labelled `UserComment` blanked, in the
/// chunk's own type and compression; `None` when it holds no label (copied as it is).
fn blanked_raw_profile(chunk: &Chunk, text: &TextChunk, limits: &Limits) -> Result<Option<Vec<u8>>> {
    let Some(mut profile) = RawProfile::parse(&text.text, limits) else {
        return Ok(None);
    };
    let Some(tiff_at) = exif::tiff_start(&profile.data) else {
        return Ok(None);
    };
    let Some(data) = exif::blanked(profile.data, tiff_at, limits) else {
        return Ok(None);
    };
    profile.data = data;
    let body = profile.to_text();
    let mut out = text.keyword.clone();
    out.push(0);
    if chunk.is(b"iTXt") {
        out.extend_from_slice(&[u8::from(text.compressed), 0]);
        out.extend_from_slice(&text.language);
        out.push(0);
        out.extend_from_slice(&text.translated);
        out.push(0);
    } else if chunk.is(b"zTXt") {
        out.push(0);
    }
    if text.compressed {
        let mut z = flate2::write::ZlibEncoder::new(out, flate2::Compression::default());
        z.write_all(&body)?;
        Ok(Some(z.finish()?))
    } else {
        out.extend_from_slice(&body);
        Ok(Some(out))
    }
}

/// Where the spec puts the label, for a copy found in the EXIF `UserComment` of `chunk`.
fn exif_detail(chunk: &Chunk) -> String {
    format!(
        "the eXIf chunk (byte {}) is not where GB 45438 puts the PNG label: the XMP property TC260:AIGC \
         of an uncompressed iTXt XML:com.adobe.xmp chunk before the first IDAT",
        chunk.offset
    )
}

/// Placement and encoding findings for an XMP chunk.
fn xmp_checks(chunk: &Chunk, compressed: bool) -> Vec<Check> {
    let mut problems = Vec::new();
    if chunk.place != Place::BeforeIdat {
        problems.push(format!(
            "the XMP iTXt chunk sits {} (byte {}); GB 45438 puts it before the first IDAT",
            chunk.place.describe(),
            chunk.offset
        ));
    }
    if compressed {
        problems.push("the XMP iTXt chunk is compressed; GB 45438 calls for an uncompressed one".to_string());
    }
    Check::placement(
        problems,
        "uncompressed iTXt XML:com.adobe.xmp before the first IDAT, as GB 45438 places it",
    )
}

/// Puts an error from the XMP codec in the context of the chunk that held the packet.
fn in_chunk(chunk: &Chunk, e: Error) -> Error {
    match e {
        Error::Malformed { .. } | Error::Truncated { .. } => {
            Error::malformed(FORMAT, chunk.offset, format!("XMP packet in the iTXt chunk: {e}"))
        }
        other => other,
    }
}

/// The XMP chunk holding the label: `existing` updated with the label (its other properties,
/// language tag and translated keyword kept), or a new packet. Always uncompressed.
fn label_chunk(existing: Option<&TextChunk>, json: &str, limits: &Limits) -> Result<Vec<u8>> {
    let packet = xmp_plan::label_packet(existing.map(|t| t.text.as_slice()), json, limits)?;
    match existing {
        Some(text) => xmp_chunk(&text.language, &text.translated, &packet),
        None => xmp_chunk(&[], &[], &packet),
    }
}

/// The label's chunk ([`label_chunk`]) and, unless [`Limits::label_room`] is 0, the chunks around
/// it that let later labels be written in place: a [`PAST`] chunk of 4 zero bytes before it
/// (after a [`ROOM`] chunk that pads it to the next disk sector when its first 12 bytes, the
/// switch of an update, would straddle one), and after it a [`ROOM`] chunk of zeros, a label
/// chunk's worth and [`Limits::label_room`] more. `at` is where the bytes go in the output;
/// returns them and where the label's chunk sits among them.
fn label_structure(
    at: u64,
    existing: Option<&TextChunk>,
    json: &str,
    limits: &Limits,
) -> Result<(Vec<u8>, Range<u64>)> {
    use aigc_label_core::in_place::{SECTOR, in_one_sector};
    let label = label_chunk(existing, json, limits)?;
    if limits.label_room == 0 {
        let len = label.len() as u64;
        return Ok((label, 0..len));
    }
    let mut out = Vec::new();
    if !in_one_sector(at, 12) {
        // At least a chunk header and CRC, ending on a sector boundary.
        out.extend(zero_chunk(&ROOM, 2 * SECTOR - at % SECTOR - CHUNK_OVERHEAD, at)?);
    }
    out.extend(chunk_bytes(&PAST, &[&[0; 4]], at)?);
    let start = out.len() as u64;
    out.extend_from_slice(&label);
    let end = out.len() as u64;
    out.extend(zero_chunk(
        &ROOM,
        (label.len() as u64).saturating_add(limits.label_room),
        at,
    )?);
    Ok((out, start..end))
}

/// A chunk of `kind` holding `len` zero bytes, within the chunk length limit.
fn zero_chunk(kind: &[u8; 4], len: u64, at: u64) -> Result<Vec<u8>> {
    let limit = Error::Limit {
        format: FORMAT,
        offset: at,
        what: "room chunk",
        found: len,
        limit: MAX_CHUNK_LEN,
    };
    let len32 = u32::try_from(len)
        .ok()
        .filter(|&l| u64::from(l) <= MAX_CHUNK_LEN)
        .ok_or(limit)?;
    let size = usize::try_from(len + CHUNK_OVERHEAD).map_err(|_| Error::malformed(FORMAT, at, "chunk too large"))?;
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(size)
        .map_err(|_| Error::malformed(FORMAT, at, "chunk too large"))?;
    bytes.extend_from_slice(&len32.to_be_bytes());
    bytes.extend_from_slice(kind);
    bytes.resize(size - 4, 0);
    let crc = crc32fast::hash(bytes.get(4..).unwrap_or_default());
    bytes.extend_from_slice(&crc.to_be_bytes());
    Ok(bytes)
}

/// A later XMP chunk: copied unchanged unless it holds `TC260:AIGC`, in which case it is
/// rewritten (uncompressed) without that property and with every other property kept.
fn plan_secondary_xmp(out: &mut PlanBuilder, chunk: &Chunk, text: &TextChunk, limits: &Limits) -> Result<()> {
    match xmp_plan::scrubbed(&text.text, limits).map_err(|e| in_chunk(chunk, e))? {
        Some(packet) => out.put(&xmp_chunk(&text.language, &text.translated, &packet)?),
        None => out.copy(chunk.range()),
    }
    Ok(())
}

/// An uncompressed `iTXt` `XML:com.adobe.xmp` chunk.
fn xmp_chunk(language: &[u8], translated: &[u8], packet: &[u8]) -> Result<Vec<u8>> {
    chunk_bytes(
        b"iTXt",
        &[XMP_KEYWORD, &[0, 0, 0], language, &[0], translated, &[0], packet],
        0,
    )
}

/// One chunk, its data given in `parts`, with length and CRC; `at`, its place in the output,
/// is for errors.
pub(crate) fn chunk_bytes(kind: &[u8; 4], parts: &[&[u8]], at: u64) -> Result<Vec<u8>> {
    let len: u64 = parts.iter().map(|p| p.len() as u64).sum();
    let len32 = u32::try_from(len)
        .ok()
        .filter(|&l| u64::from(l) <= MAX_CHUNK_LEN)
        .ok_or(Error::Limit {
            format: FORMAT,
            offset: at,
            what: "chunk length",
            found: len,
            limit: MAX_CHUNK_LEN,
        })?;
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(usize::try_from(len).unwrap_or(usize::MAX).saturating_add(12))
        .map_err(|_| Error::malformed(FORMAT, at, "chunk too large"))?;
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    bytes.extend_from_slice(&len32.to_be_bytes());
    bytes.extend_from_slice(kind);
    for part in parts {
        crc.update(part);
        bytes.extend_from_slice(part);
    }
    bytes.extend_from_slice(&crc.finalize().to_be_bytes());
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
        out
    }

    /// A 1x1 grey PNG with `extra` chunks before IDAT and `late` after it.
    fn tiny(extra: &[Vec<u8>], late: &[Vec<u8>], after_iend: &[u8]) -> Vec<u8> {
        let mut png = SIGNATURE.to_vec();
        png.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
        extra.iter().for_each(|c| png.extend_from_slice(c));
        png.extend(chunk(
            b"IDAT",
            &[0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01],
        ));
        late.iter().for_each(|c| png.extend_from_slice(c));
        png.extend(chunk(b"IEND", &[]));
        png.extend_from_slice(after_iend);
        png
    }

    #[test]
    fn raw_profiles_parse_only_when_whole() {
        let limits = Limits::default();
        let good = b"\nexif\n       4\n4578\n6966\n";
        let p = RawProfile::parse(good, &limits).unwrap();
        assert_eq!(p.data, b"Exif");
        assert_eq!(p.to_text(), b"\nexif\n       4\n45786966\n");
        for bad in [
            b"\nexif\n       5\n45786966\n".as_slice(),
            b"\nexif\n       4\n4578zz66\n",
            b"\nexif\n  999999999999\n00\n",
            b"\nexif\n",
            b"exif 4 45786966",
        ] {
            assert!(RawProfile::parse(bad, &limits).is_none(), "{bad:?}");
        }
    }

    fn find(data: &[u8]) -> Result<Vec<Found>> {
        Png.find(&mut Cursor::new(data), &Limits::default())
    }

    const LABEL: &str = r#"{"Label":"1","ContentProducer":"p","ProduceID":"x"}"#;

    #[test]
    fn text_label_in_every_text_chunk_type_and_place() {
        let text = chunk(b"tEXt", &[b"AIGC\0".as_slice(), LABEL.as_bytes()].concat());
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(LABEL.as_bytes()).unwrap();
        let ztxt = chunk(b"zTXt", &[b"AIGC\0\0".as_slice(), &z.finish().unwrap()].concat());
        let itxt = chunk(b"iTXt", &[b"aigc\0\0\0zh\0\0".as_slice(), LABEL.as_bytes()].concat());
        let png = tiny(&[text], &[ztxt], &itxt);
        let found = find(&png).unwrap();
        let names: Vec<&str> = found.iter().map(|f| f.carrier.as_ref()).collect();
        assert_eq!(names, ["tEXt AIGC", "zTXt AIGC", "iTXt aigc"]);
        assert!(found.iter().all(|f| f.text == LABEL));
        assert!(found[2].checks[0].detail.contains("after IEND"));
        assert!(
            found
                .iter()
                .all(|f| f.checks.iter().all(|c| c.id == id::CARRIER_PLACE && c.is_ok()))
        );
    }

    #[test]
    fn text_is_latin1() {
        let png = tiny(&[chunk(b"tEXt", b"AIGC\0caf\xe9")], &[], b"");
        assert_eq!(find(&png).unwrap()[0].text, "caf\u{e9}");
    }

    #[test]
    fn trailing_garbage_after_iend_is_kept_and_not_an_error() {
        let label = Label::new("001191440300708461136T1XGW3", "a");
        for tail in [&b""[..], b"\0", b"garbage that is no chunk at all", &[0xff; 12]] {
            let png = tiny(&[], &[], tail);
            assert!(find(&png).unwrap().is_empty());
            let mut out = Vec::new();
            Png.write(&mut Cursor::new(&png), &mut out, &label, &Limits::default())
                .unwrap();
            assert!(out.ends_with(tail));
            assert!(out.ends_with(&[chunk(b"IEND", &[]), tail.to_vec()].concat()));
        }
    }

    #[test]
    fn write_inserts_before_idat_and_drops_text_labels() {
        let text = chunk(b"tEXt", &[b"AIGC\0".as_slice(), LABEL.as_bytes()].concat());
        let other = chunk(b"tEXt", b"Comment\0hello");
        let png = tiny(std::slice::from_ref(&other), std::slice::from_ref(&text), &text);
        let label = Label::new("001191440300708461136T1XGW3", "a");
        let mut out = Vec::new();
        let w = Png
            .write(&mut Cursor::new(&png), &mut out, &label, &Limits::default())
            .unwrap();
        assert_eq!(w.bytes_written, out.len() as u64);
        let at = w.label_range.start as usize;
        assert_eq!(&out[at + 4..at + 8], b"iTXt");
        // Our chunks around it: the one an update grows before it, the room after it.
        assert_eq!(&out[at - 12..at - 8], PAST);
        let room = w.label_range.end as usize;
        assert_eq!(&out[room + 4..room + 8], ROOM);
        let room_len = u32::from_be_bytes(out[room..room + 4].try_into().unwrap()) as usize;
        let label_len = (w.label_range.end - w.label_range.start) as usize;
        assert_eq!(room_len as u64, label_len as u64 + Limits::default().label_room);
        assert_eq!(&out[room + 12 + room_len + 4..][..4], b"IDAT");
        assert!(out.windows(other.len()).any(|w| w == other));
        assert!(!out.windows(text.len()).any(|w| w == text));
    }

    #[test]
    fn exif_user_comment_is_read_and_blanked_on_write() {
        use crate::exif::{self, Order};
        let wrapped = r#"{"AIGC":{"Label":"1","ContentProducer":"p","ProduceID":"x"}}"#;
        for (order, prefix) in [(Order::Little, &b""[..]), (Order::Big, exif::SIGNATURE)] {
            let block = [
                prefix,
                &exif::tests::tiff_block(order, &[b"ASCII\0\0\0", wrapped.as_bytes()].concat()),
            ]
            .concat();
            let exif_chunk = chunk(b"eXIf", &block);
            let png = tiny(std::slice::from_ref(&exif_chunk), &[], b"");
            let found = find(&png).unwrap();
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].carrier, exif::CARRIER);
            assert_eq!(found[0].text, wrapped);
            assert_eq!(found[0].expected_shape, Shape::Wrapped);
            assert_eq!(found[0].checks[0].id, id::CARRIER_PLACE);
            assert_eq!(found[0].checks[0].level, aigc_label_core::check::Level::Warn);

            let label = Label::new("001191440300708461136T1XGW3", "a");
            let mut out = Vec::new();
            // Without room for updates in place: the output is the input and the label chunk.
            let mut limits = Limits::default();
            limits.label_room = 0;
            Png.write(&mut Cursor::new(&png), &mut out, &label, &limits).unwrap();
            let after = find(&out).unwrap();
            assert_eq!(after.len(), 1, "{after:?}");
            assert_eq!(after[0].carrier, "iTXt XML:com.adobe.xmp");
            // The eXIf chunk kept its place and length; only the comment's text changed.
            let at = out.windows(4).position(|w| w == b"eXIf").unwrap() - 4;
            let kept = &out[at..at + exif_chunk.len()];
            assert_eq!(kept[..8], exif_chunk[..8]);
            assert!(!kept.windows(4).any(|w| w == b"AIGC"));
            assert!(kept.windows(8).any(|w| w == b"ASCII\0\0\0"));
            assert_eq!(
                out.len(),
                png.len() + (after[0].range.end - after[0].range.start) as usize
            );
        }
    }

    #[test]
    fn malformed_inputs_are_errors() {
        let good = tiny(&[chunk(b"tEXt", b"AIGC\0x")], &[], b"");
        let mut bad_crc = good.clone();
        let crc_at = 8 + 25 + 8 + 6;
        bad_crc[crc_at] ^= 1;
        let mut lying = good.clone();
        lying[8 + 25..8 + 25 + 4].copy_from_slice(&0x7fff_fff0u32.to_be_bytes());
        let mut huge = good.clone();
        huge[8 + 25..8 + 25 + 4].copy_from_slice(&0x8000_0000u32.to_be_bytes());
        let no_ihdr = [&SIGNATURE[..], &chunk(b"IDAT", &[]), &chunk(b"IEND", &[])].concat();
        let no_idat = [&SIGNATURE[..], &good[8..33], &chunk(b"IEND", &[])].concat();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("signature only", SIGNATURE.to_vec()),
            ("not png", b"GIF89a and more bytes".to_vec()),
            ("bad crc", bad_crc),
            ("lying length", lying),
            ("length over 2^31-1", huge),
            ("no IHDR", no_ihdr),
            ("no IDAT", no_idat),
            ("no IEND", good[..good.len() - 12].to_vec()),
            ("truncated", good[..good.len() - 3].to_vec()),
        ];
        let label = Label::new("001191440300708461136T1XGW3", "a");
        // A cut file is read up to its end (its copies get a structure.truncated warning);
        // everything else is refused by both.
        let cut = ["lying length", "no IEND", "truncated"];
        for (name, data) in cases {
            if let Ok(found) = find(&data) {
                assert!(cut.contains(&name), "{name}: find");
                let flagged = |f: &Found| f.checks.iter().any(|c| c.id == id::STRUCTURE_TRUNCATED);
                assert!(!found.is_empty() && found.iter().all(flagged), "{name}: {found:?}");
            }
            let r = Png.write(&mut Cursor::new(&data), &mut Vec::new(), &label, &Limits::default());
            assert!(r.is_err(), "{name}: write");
        }
    }

    #[test]
    fn a_truncated_file_is_read_up_to_the_cut_and_flagged() {
        let text = chunk(b"tEXt", &[b"AIGC\0".as_slice(), LABEL.as_bytes()].concat());
        let png = tiny(&[text], &[], b"");
        let idat_at = png.windows(4).position(|w| w == b"IDAT").unwrap() - 4;
        for cut in [idat_at, idat_at + 3, idat_at + 10, png.len() - 12, png.len() - 1] {
            let found = find(&png[..cut]).unwrap();
            assert_eq!(found.len(), 1, "cut at {cut}");
            let check = found[0].checks.iter().find(|c| c.id == id::STRUCTURE_TRUNCATED);
            let check = check.unwrap_or_else(|| panic!("cut at {cut}: {:?}", found[0].checks));
            assert_eq!(check.level, aigc_label_core::check::Level::Warn);
            assert!(check.detail.contains("refuses"), "{}", check.detail);
            let label = Label::new("001191440300708461136T1XGW3", "a");
            let r = Png.write(
                &mut Cursor::new(&png[..cut]),
                &mut Vec::new(),
                &label,
                &Limits::default(),
            );
            assert!(matches!(r, Err(Error::Truncated { .. })), "cut at {cut}: {r:?}");
        }
        // Whole: no such check.
        assert!(
            find(&png).unwrap()[0]
                .checks
                .iter()
                .all(|c| c.id != id::STRUCTURE_TRUNCATED)
        );
    }

    #[test]
    fn limits_bound_chunks_and_inflation() {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&[b' '; 4096]).unwrap();
        let bomb = chunk(b"zTXt", &[b"AIGC\0\0".as_slice(), &z.finish().unwrap()].concat());
        let png = tiny(&[bomb], &[], b"");
        let mut limits = Limits::default();
        limits.max_inflated_bytes = 1000;
        let r = Png.find(&mut Cursor::new(&png), &limits);
        assert!(
            matches!(
                r,
                Err(Error::Limit {
                    what: "inflated text size",
                    ..
                })
            ),
            "{r:?}"
        );
        let mut limits = Limits::default();
        limits.max_structures = 2;
        let r = Png.find(&mut Cursor::new(&png), &limits);
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

    #[test]
    fn truncated_zlib_is_an_error() {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(LABEL.as_bytes()).unwrap();
        let mut deflated = z.finish().unwrap();
        deflated.truncate(deflated.len() / 2);
        let png = tiny(
            &[chunk(b"zTXt", &[b"AIGC\0\0".as_slice(), &deflated].concat())],
            &[],
            b"",
        );
        assert!(find(&png).is_err());
    }
}
