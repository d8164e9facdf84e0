//! GIF: the label as `TC260:AIGC` in an XMP application extension (spec section 4, GIF row; XMP
//! Specification Part 3, 1.1.2).
//!
//! The extension has the application identifier `XMP Data` and authentication code `XMP`; the
//! packet follows as raw bytes, not cut into sub-blocks, and a 258-byte "magic trailer" ends it:
//! `0x01`, the bytes `0xFF` down to `0x00`, then the block terminator `0x00`. A decoder that reads
//! the packet as sub-blocks takes its bytes for length bytes and skips ahead; wherever it lands in
//! the descending ramp, the length it reads there brings it to the terminator. This works only
//! when the packet holds no `0x00` byte, which would end the extension early, so the writer
//! refuses such a packet.
//!
//! [`Gif::find`] walks the blocks from the logical screen descriptor to the trailer (GIF89a
//! specification, Appendix B grammar), skipping image data sub-block by sub-block without
//! decoding LZW, and reports every `TC260:AIGC` property of every XMP extension, wherever it sits.
//! The packet is the extension's data without the magic trailer; when a writer used another
//! landing zone, the packet ends with its `<?xpacket end=...?>` instruction (as exiftool reads it)
//! and the copy carries a [`carrier.place`](aigc_label_core::check::id::CARRIER_PLACE) warning.
//!
//! [`Gif::write`] walks twice. The first walk checks every block and merges the label into the
//! first XMP extension's packet with [`xmp::set_aigc`](aigc_label_core::xmp::set_aigc) (other properties kept) or makes a new
//! packet; nothing is written before it succeeds. The second walk writes the header as `GIF89a`
//! (application extensions are a GIF89a feature; exiftool upgrades `GIF87a` the same way), then
//! every block byte for byte, image data streamed through in large reads, except:
//! - the first XMP extension, replaced by the label's;
//! - later XMP extensions holding a label, which lose only their `TC260:AIGC` property;
//! - a file without XMP gets a new extension before its first graphic block: the graphic control
//!   extension that introduces the first image, else the first image descriptor (or plain text
//!   extension), else the trailer. exiftool inserts it before the first image descriptor; we stop
//!   one block earlier when a graphic control extension precedes that image, so the control block
//!   stays next to the image it governs (`<Graphic Block> ::= [Graphic Control Extension]
//!   <Graphic-Rendering Block>`), and leading blocks such as the `NETSCAPE2.0` loop extension stay
//!   where they are.
//!
//! Bytes after the trailer are copied unchanged.
//!
//! The walker is our own: the `gif` and `image` crates decode frames (LZW) to get past them and
//! drop extensions they do not know; a carrier must copy every block byte-exact and keep memory
//! flat however many frames the file has.
//!
//! There is no update in place ([`Carrier::in_place`] is `None`: a relabel is the atomic
//! rewrite), because no switch inside one disk sector can exist. Which extension readers take as
//! the XMP one is decided only at its start: its identifier, or the last sub-block length byte
//! before it (at most 255 bytes back, or the terminator just before it), which decides whether
//! the walk of the block before swallows it. Nothing at an extension's end decides it: the
//! magic trailer brings every walk that enters the packet to the extension's own terminator,
//! so what follows parses the same whatever changed before. A switch must hide the old
//! extension and show the new one at once, so it must touch both starts, and a whole extension
//! lies between them, the new one's or the old one's: 14 header bytes, the packet and the
//! 258-byte trailer, more than a sector once the packet passes 240 bytes, which every label's
//! packet (XMP wrapper, JSON, padding) does. Two writes leave, between them, a file
//! with two labels or none. (A room extension of our own next to the label's, holding the new
//! packet, does parse in every state; only the switch is missing.)

use std::io::{self, Write};
use std::ops::Range;

use aigc_label_core::check::{Check, id};
use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::json::{self, Shape};
use aigc_label_core::plan::{Piece, Plan as EditPlan, PlanBuilder, Slot};
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result};

use crate::jpeg::search_packet;
use crate::truncated;
use aigc_label_core::container::xmp_plan;

/// Format name, in errors and reports.
const FORMAT: &str = "gif";

/// How [`Found::carrier`] names the place.
const CARRIER: &str = "XMP application extension";

/// Block introducers and extension labels (GIF89a specification, sections 20 to 27).
const EXTENSION: u8 = 0x21;
const IMAGE: u8 = 0x2C;
const TRAILER: u8 = 0x3B;
const APPLICATION: u8 = 0xFF;
const GRAPHIC_CONTROL: u8 = 0xF9;
const PLAIN_TEXT: u8 = 0x01;

/// Application identifier and authentication code of the XMP extension.
const XMP_APPLICATION: [u8; 11] = *b"XMP DataXMP";

/// Introducer, label and identifier sub-block of the XMP extension.
const XMP_HEADER: [u8; 14] = *b"\x21\xff\x0bXMP DataXMP";

/// The magic trailer: `0x01`, `0xFF` down to `0x00`, the block terminator.
const MAGIC_TRAILER: [u8; 258] = magic_trailer();

const fn magic_trailer() -> [u8; 258] {
    let mut zone = [0u8; 258];
    zone[0] = 1;
    let mut i = 0;
    while i < 256 {
        zone[1 + i] = (255 - i) as u8;
        i += 1;
    }
    zone
}

/// How much of the stream the sub-block walker reads at a time: a small first read, since most
/// extensions and many frames are short, doubling up to the large window image data calls for.
const FIRST_WINDOW: usize = 16;
const WINDOW: usize = 64 << 10;

/// The GIF carrier: GIF87a and GIF89a, still and animated.
///
/// ```
/// use std::io::Cursor;
/// use aigc_label_core::{Carrier, Label, Limits};
/// use aigc_label_image::Gif;
///
/// // A 1x1 GIF: header, screen with a two-colour table, a graphic control extension, the image,
/// // the trailer.
/// let mut gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff".to_vec();
/// gif.extend_from_slice(b"\x21\xf9\x04\x00\x00\x00\x00\x00");
/// gif.extend_from_slice(b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b");
///
/// let label = Label::new("001191440300708461136T1XGW3", "img-0001");
/// let mut out = Vec::new();
/// let written = Gif.write(&mut Cursor::new(&gif), &mut out, &label, &Limits::default())?;
/// assert_eq!(written.bytes_written, out.len() as u64);
/// // The XMP extension sits after the colour table, before the graphic control extension.
/// assert_eq!(written.label_range.start, 19);
/// assert_eq!(&out[19..33], b"\x21\xff\x0bXMP DataXMP");
/// assert!(out.ends_with(&gif[19..]));
/// # Ok::<(), aigc_label_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Gif;

impl Carrier for Gif {
    fn info(&self) -> &'static aigc_label_core::Info {
        &aigc_label_core::Info {
            format: FORMAT,
            media_type: "image/gif",
            extensions: &["gif"],
        }
    }

    fn stamp(&self) -> Option<&dyn aigc_label_core::stamp::Stamp> {
        Some(&aigc_label_core::stamp::Medium::Image)
    }

    /// `GIF87a` or `GIF89a`.
    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a")
    }

    /// Lenient about a truncated stream (it ends inside a block or before the trailer): the
    /// copies read before the cut are reported, each with a
    /// [`structure.truncated`](id::STRUCTURE_TRUNCATED) warning (without a copy, the cut is the
    /// error); [`Gif::write`] refuses such a stream.
    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>> {
        let mut scan = Scan::run(input, limits, true, None)?;
        if let Some(offset) = scan.truncated {
            let what = "the stream ends inside this block, before its trailer";
            truncated::flag(FORMAT, &mut scan.found, offset, what)?;
        }
        Ok(scan.found)
    }

    /// One walk of the blocks: every block is a copied range except the first XMP extension
    /// (replaced by the label's) and later ones holding a label (rewritten without it); with no
    /// XMP extension, the label's goes before the first graphic block, else before the trailer.
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

/// The output's pieces as [`Scan::run`] lays them out. Each place holds its likely content
/// meanwhile (a guess, so a streaming write goes on past it): the label's packet, new or
/// merged into the first XMP extension, settled at the end.
struct Planning<'a> {
    out: PlanBuilder<'a>,
    /// The label as JSON, for the guesses.
    json: String,
    /// Before the first graphic block, else before the trailer: for a new XMP extension,
    /// until one is met.
    insert: Option<Slot>,
    /// The first XMP extension: its place, its range and its data.
    primary: Option<(Slot, Range<u64>, Vec<u8>)>,
}

impl Planning<'_> {
    /// A place for the label's extension, holding it with the label merged into `packet`
    /// (a new packet for `None`) when that can be made, else open until the end.
    fn label_place(&mut self, packet: Option<&[u8]>, limits: &Limits) -> Slot {
        match xmp_plan::label_packet(packet, &self.json, limits) {
            Ok(packet) if storable(&packet, 0).is_ok() => self.out.guess(Piece::New(extension(&packet))),
            _ => self.out.reserve(),
        }
    }
}

/// Plans [`Gif::write`]'s output in one walk.
fn edit_plan(input: &mut dyn ReadSeek, label: &Label, limits: &Limits, out: PlanBuilder<'_>) -> Result<EditPlan> {
    let text = json::to_json(label, Shape::Bare);
    let mut planning = Planning {
        out,
        json: text.clone(),
        insert: None,
        primary: None,
    };
    let scan = Scan::run(input, limits, false, Some(&mut planning))?;
    let Planning {
        mut out,
        insert,
        primary,
        ..
    } = planning;
    let (slot, packet, at) = match primary {
        Some((slot, range, data)) => {
            let packet = xmp_plan::label_packet(Some(split_packet(&data).0), &text, limits)
                .map_err(|e| in_extension(&range, e))?;
            (Some(slot), packet, range.start)
        }
        None => (insert, xmp_plan::label_packet(None, &text, limits)?, scan.insert_at),
    };
    storable(&packet, at)?;
    let slot = slot.ok_or_else(|| Error::malformed(FORMAT, 6, "no place found for the XMP extension"))?;
    let label_range = out.fill(slot, extension(&packet));
    Ok(out.finish(scan.found, label_range))
}

/// One block as the walker passes it.
#[derive(Debug)]
enum Block {
    /// An image, or an extension other than XMP: written to the walker's output as walked.
    /// `graphic` is true for blocks that begin a graphic block (a graphic control extension, an
    /// image descriptor, a plain text extension).
    Other { start: u64, graphic: bool },
    /// An XMP application extension, not written: its range and its data after the identifier
    /// sub-block, up to the block terminator.
    Xmp { range: Range<u64>, data: Vec<u8> },
    /// The trailer, not written, at this offset.
    Trailer(u64),
}

/// Walks the blocks of one GIF stream, shared by `find` and the plan of `write`.
///
/// Strict: the signature, the screen descriptor and colour tables must be whole, every block
/// starts with `0x21`, `0x2C` or `0x3B`, sub-blocks run to their terminator inside the file, and
/// the trailer is there. Bytes after the trailer are trailing data.
struct Walker<'a> {
    src: Source<'a>,
    /// Offset after the logical screen descriptor and global colour table.
    screen_end: u64,
    /// Offset of the next block.
    next: u64,
    count: u64,
    max_blocks: u64,
    /// Reused read buffer for the sub-block walker.
    window: Vec<u8>,
}

impl<'a> Walker<'a> {
    /// Checks the header and screen descriptor, skips the global colour table, and stands before
    /// the first block.
    fn new(input: &'a mut dyn ReadSeek, limits: &Limits) -> Result<Self> {
        let mut src = Source::new(input, FORMAT)?;
        // Signature and version, then the logical screen descriptor: width, height, packed
        // fields, background colour index, pixel aspect ratio.
        let [g, i, f, v0, v1, v2, _, _, _, _, flags, _, _] =
            src.read_array::<13>("GIF header and screen descriptor")?;
        if [g, i, f] != *b"GIF" {
            return Err(Error::malformed(FORMAT, 0, "not a GIF signature"));
        }
        if [v0, v1, v2] != *b"87a" && [v0, v1, v2] != *b"89a" {
            return Err(Error::malformed(FORMAT, 3, "GIF version is neither 87a nor 89a"));
        }
        src.skip(color_table_len(flags), "global colour table")?;
        let screen_end = src.pos();
        Ok(Walker {
            src,
            screen_end,
            next: screen_end,
            count: 0,
            max_blocks: limits.max_structures,
            window: Vec::new(),
        })
    }

    /// Offset of the block the next call to [`Walker::next`] reads.
    fn position(&self) -> u64 {
        self.next
    }

    /// Reads the next block. Images and extensions other than XMP are written to `out` as they
    /// are walked (pass [`io::sink`] to only check them); XMP extensions are buffered within
    /// [`Limits::max_metadata_bytes`] and returned; the trailer ends the walk.
    ///
    /// # Errors
    /// An unknown block introducer, a block cut short, more blocks than
    /// [`Limits::max_structures`], I/O errors.
    fn next(&mut self, out: &mut dyn Write, limits: &Limits) -> Result<Block> {
        let start = self.next;
        self.src.seek_to(start)?;
        self.count += 1;
        if self.count > self.max_blocks {
            return Err(Error::Limit {
                format: FORMAT,
                offset: start,
                what: "block count",
                found: self.count,
                limit: self.max_blocks,
            });
        }
        let [introducer] = self.src.read_array("block introducer (no trailer)")?;
        let graphic = match introducer {
            TRAILER => return Ok(Block::Trailer(start)),
            IMAGE => {
                // Left, top, width, height, packed fields; the local colour table; the LZW
                // minimum code size.
                let [_, _, _, _, _, _, _, _, flags] = self.src.read_array::<9>("image descriptor")?;
                self.src.skip(color_table_len(flags), "local colour table")?;
                self.src.skip(1, "LZW minimum code size")?;
                true
            }
            EXTENSION => {
                let [label] = self.src.read_array("extension label")?;
                if label == APPLICATION && self.is_xmp()? {
                    return self.xmp(start, limits);
                }
                label == GRAPHIC_CONTROL || label == PLAIN_TEXT
            }
            other => {
                return Err(Error::malformed(
                    FORMAT,
                    start,
                    format!("block introducer {other:#04x} is none of 0x21, 0x2c, 0x3b"),
                ));
            }
        };
        let data = self.src.pos();
        self.src.seek_to(start)?;
        self.src.copy_to(out, data - start, "block header")?;
        self.next = self.sub_blocks(out)?;
        Ok(Block::Other { start, graphic })
    }

    /// True when the application extension's identifier sub-block (just after its label) is
    /// `XMP DataXMP`; the position is left where it was.
    fn is_xmp(&mut self) -> Result<bool> {
        let at = self.src.pos();
        let mut head = [0u8; 12];
        let got = self.src.read_up_to(&mut head)?;
        self.src.seek_to(at)?;
        Ok(got == head.len() && head[0] == 11 && head[1..] == XMP_APPLICATION)
    }

    /// Buffers an XMP extension whose identifier sub-block starts at the current position.
    fn xmp(&mut self, start: u64, limits: &Limits) -> Result<Block> {
        let after_id = self.src.pos() + 12;
        let end = self.sub_blocks(&mut io::sink())?;
        self.src.seek_to(after_id)?;
        // The walk stopped after the terminator, which is not part of the data.
        let data = self
            .src
            .read_vec(end - 1 - after_id, "XMP application extension", limits)?;
        self.next = end;
        Ok(Block::Xmp {
            range: start..end,
            data,
        })
    }

    /// Walks data sub-blocks from the current position through the block terminator, writing
    /// them to `out`; returns the offset after the terminator. The stream is read in large
    /// windows and the length bytes followed inside them, so image data costs no per-sub-block
    /// reads or seeks.
    fn sub_blocks(&mut self, out: &mut dyn Write) -> Result<u64> {
        // Offset of the next length byte; at most 255 bytes past the window just read.
        let mut at = self.src.pos();
        let mut size = FIRST_WINDOW;
        loop {
            if self.window.len() < size {
                self.window.resize(size, 0);
            }
            let window_start = self.src.pos();
            let got = self.src.read_up_to(self.window.get_mut(..size).unwrap_or_default())?;
            size = (size * 2).min(WINDOW);
            if got == 0 {
                return Err(self.src.truncated("data sub-blocks without a block terminator"));
            }
            let window = self.window.get(..got).unwrap_or_default();
            let window_end = window_start + got as u64;
            while at < window_end {
                let index = usize::try_from(at - window_start).unwrap_or(usize::MAX);
                match window.get(index) {
                    Some(0) => {
                        let end = at + 1;
                        out.write_all(window.get(..index + 1).unwrap_or_default())?;
                        self.src.seek_to(end)?;
                        return Ok(end);
                    }
                    Some(&len) => at += 1 + u64::from(len),
                    None => return Err(self.src.malformed("sub-block walk left its window")),
                }
            }
            out.write_all(window)?;
        }
    }
}

/// Bytes in the colour table a packed-fields byte announces: 3 x 2^(size + 1) when the table
/// flag (the high bit) is set.
fn color_table_len(flags: u8) -> u64 {
    if flags & 0x80 == 0 {
        0
    } else {
        3 << ((flags & 0x07) + 1)
    }
}

/// The XMP packet in an extension's data, and whether the data ended with the standard magic
/// trailer. With another landing zone the packet ends with its `<?xpacket end=...?>`
/// instruction, which is where exiftool cuts it too; without one, all the data is the packet.
fn split_packet(data: &[u8]) -> (&[u8], bool) {
    let zone = MAGIC_TRAILER.get(..MAGIC_TRAILER.len() - 1).unwrap_or_default();
    if let Some(packet) = data.strip_suffix(zone) {
        return (packet, true);
    }
    (
        data.get(..xpacket_end(data).unwrap_or(data.len())).unwrap_or(data),
        false,
    )
}

/// Offset after the `<?xpacket end=...?>` processing instruction, if the data has one.
fn xpacket_end(data: &[u8]) -> Option<usize> {
    let start = find(data, b"<?xpacket end=")?;
    let close = find(data.get(start..)?, b"?>")?;
    Some(start + close + 2)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// What one walk over the blocks learned.
struct Scan {
    /// The copies `find` reports, at most [`Limits::max_copies`].
    found: Vec<Found>,
    /// Every XMP extension: its range, and whether its packet holds a label.
    xmp: Vec<(Range<u64>, bool)>,
    /// Where a new XMP extension goes: the first graphic block, else the trailer.
    insert_at: u64,
    /// A lenient walk found the stream cut short inside the block at this offset.
    truncated: Option<u64>,
}

impl Scan {
    /// Walks every block of `input` and collects the label copies; `lenient` ends the walk
    /// where a truncated stream ends (recorded in `truncated`) instead of failing.
    /// With `planning`, lays out the output's pieces on the way.
    fn run(
        input: &mut dyn ReadSeek,
        limits: &Limits,
        lenient: bool,
        mut planning: Option<&mut Planning<'_>>,
    ) -> Result<Scan> {
        let mut walker = Walker::new(input, limits)?;
        if let Some(p) = planning.as_deref_mut() {
            // The version becomes 89a, the first to define application extensions.
            p.out.put(b"GIF89a");
            p.out.copy(6..walker.screen_end);
        }
        let mut scan = Scan {
            found: Vec::new(),
            xmp: Vec::new(),
            insert_at: 0,
            truncated: None,
        };
        let mut first_graphic = None;
        loop {
            if let Some(p) = planning.as_deref_mut() {
                p.out.drain(&mut walker.src, &scan.found)?;
            }
            let start = walker.position();
            let block = match walker.next(&mut io::sink(), limits) {
                Err(Error::Truncated { .. }) if lenient => {
                    scan.truncated = Some(start);
                    return Ok(scan);
                }
                other => other?,
            };
            let out = planning.as_deref_mut();
            match block {
                Block::Other { start, graphic } => {
                    if graphic {
                        first_graphic.get_or_insert(start);
                    }
                    if let Some(p) = out {
                        if graphic && p.insert.is_none() && p.primary.is_none() {
                            p.insert = Some(p.label_place(None, limits));
                        }
                        p.out.copy(start..walker.position());
                    }
                }
                Block::Xmp { range, data } => {
                    scan.visit(range.clone(), &data, limits)?;
                    let labelled = scan.xmp.last().is_some_and(|(_, labelled)| *labelled);
                    if let Some(p) = out {
                        if p.primary.is_none() {
                            // The label goes here: no new extension.
                            if let Some(insert) = p.insert.take() {
                                p.out.fill(insert, Vec::new());
                            }
                            let slot = p.label_place(Some(split_packet(&data).0), limits);
                            p.primary = Some((slot, range, data));
                        } else if let Some(packet) =
                            labelled.then(|| scrubbed(&range, &data, limits)).transpose()?.flatten()
                        {
                            storable(&packet, range.start)?;
                            p.out.put(&extension(&packet));
                        } else {
                            p.out.copy(range);
                        }
                    }
                }
                Block::Trailer(offset) => {
                    scan.insert_at = first_graphic.unwrap_or(offset);
                    if let Some(p) = out {
                        if p.insert.is_none() && p.primary.is_none() {
                            p.insert = Some(p.out.reserve());
                        }
                        p.out.copy(offset..walker.src.len());
                    }
                    return Ok(scan);
                }
            }
        }
    }

    fn visit(&mut self, range: Range<u64>, data: &[u8], limits: &Limits) -> Result<()> {
        let (packet, standard) = split_packet(data);
        let hits = search_packet(packet, limits).map_err(|e| in_extension(&range, e))?;
        let check = if standard {
            Check::pass(
                id::CARRIER_PLACE,
                "XMP application extension with the magic trailer, as GB 45438 places it",
            )
        } else {
            Check::warn(
                id::CARRIER_PLACE,
                format!(
                    "the XMP application extension (byte {}) does not end with the 258-byte magic trailer of XMP \
                     part 3; readers may not find where its packet ends",
                    range.start
                ),
            )
        };
        for hit in &hits {
            if self.found.len() < limits.max_copies {
                self.found.push(Found {
                    carrier: CARRIER.into(),
                    range: range.clone(),
                    text: hit.value.clone(),
                    expected_shape: Shape::Bare,
                    checks: [vec![check.clone()], hit.checks()].concat(),
                });
            }
        }
        self.xmp.push((range, !hits.is_empty()));
        Ok(())
    }
}

/// Puts an error from the XMP codec in the context of the extension that held the packet.
fn in_extension(range: &Range<u64>, e: Error) -> Error {
    match e {
        Error::Malformed { .. } | Error::Truncated { .. } => Error::malformed(
            FORMAT,
            range.start,
            format!("XMP packet in the application extension: {e}"),
        ),
        other => other,
    }
}

/// The packet of a later XMP extension without its `TC260:AIGC` properties; `None` when it
/// holds none.
fn scrubbed(range: &Range<u64>, data: &[u8], limits: &Limits) -> Result<Option<Vec<u8>>> {
    xmp_plan::scrubbed(split_packet(data).0, limits).map_err(|e| in_extension(range, e))
}

/// Refuses a packet with a `0x00` byte: a decoder walking the packet as sub-blocks could land on
/// it and end the extension there, reading the rest of the packet as blocks.
fn storable(packet: &[u8], offset: u64) -> Result<()> {
    match packet.iter().position(|&b| b == 0) {
        Some(at) => Err(Error::malformed(
            FORMAT,
            offset,
            format!("the XMP packet has a 0x00 byte (packet byte {at}), which a GIF XMP extension cannot hold"),
        )),
        None => Ok(()),
    }
}

/// An XMP application extension holding `packet`.
fn extension(packet: &[u8]) -> Vec<u8> {
    [&XMP_HEADER[..], packet, &MAGIC_TRAILER].concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    const SCREEN: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff";
    const GCE: &[u8] = b"\x21\xf9\x04\x00\x00\x00\x00\x00";
    const IMAGE_BLOCK: &[u8] = b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00";
    const NETSCAPE: &[u8] = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00";

    fn gif(blocks: &[&[u8]]) -> Vec<u8> {
        [&[SCREEN], blocks, &[b"\x3b"]].concat().concat()
    }

    fn xmp_ext(packet: &[u8]) -> Vec<u8> {
        [&XMP_HEADER[..], packet, &MAGIC_TRAILER].concat()
    }

    fn label() -> Label {
        Label::new("001191440300708461136T1XGW3", "a")
    }

    fn write(data: &[u8]) -> Result<(Vec<u8>, aigc_label_core::Written)> {
        let mut out = Vec::new();
        let w = Gif.write(&mut Cursor::new(data), &mut out, &label(), &Limits::default())?;
        Ok((out, w))
    }

    fn find(data: &[u8]) -> Result<Vec<Found>> {
        Gif.find(&mut Cursor::new(data), &Limits::default())
    }

    const PACKET: &[u8] = b"<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF \
        xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"><rdf:Description rdf:about=\"\" \
        xmlns:TC260=\"http://www.tc260.org.cn/ns/AIGC/1.0/\" TC260:AIGC=\"{}\"/></rdf:RDF></x:xmpmeta>";

    #[test]
    fn magic_trailer_ends_every_sub_block_walk() {
        assert_eq!(MAGIC_TRAILER[..3], [1, 0xff, 0xfe]);
        assert_eq!(MAGIC_TRAILER[255..], [1, 0, 0]);
        // A walk through the packet enters the trailer at most 255 bytes past its start (a length
        // byte is at most 255); wherever it enters, it leaves at the trailer's last byte.
        for entry in 0..256 {
            let mut at = entry;
            while MAGIC_TRAILER[at] != 0 {
                at += 1 + MAGIC_TRAILER[at] as usize;
            }
            assert_eq!(at, 257, "entering at {entry}");
        }
    }

    #[test]
    fn new_extension_goes_before_the_first_graphic_block() {
        let cases: [(&[&[u8]], usize); 4] = [
            (&[GCE, IMAGE_BLOCK], SCREEN.len()),
            (&[NETSCAPE, GCE, IMAGE_BLOCK], SCREEN.len() + NETSCAPE.len()),
            (&[NETSCAPE, IMAGE_BLOCK], SCREEN.len() + NETSCAPE.len()),
            (&[NETSCAPE], SCREEN.len() + NETSCAPE.len()),
        ];
        for (blocks, at) in cases {
            let input = gif(blocks);
            let (out, w) = write(&input).unwrap();
            assert_eq!(w.label_range.start as usize, at);
            assert_eq!(out[..at], input[..at]);
            assert_eq!(out[w.label_range.end as usize..], input[at..]);
            assert_eq!(find(&out).unwrap().len(), 1);
        }
    }

    #[test]
    fn gif87a_becomes_gif89a() {
        let mut input = gif(&[IMAGE_BLOCK]);
        input[4] = b'7';
        let (out, _) = write(&input).unwrap();
        assert_eq!(&out[..6], b"GIF89a");
    }

    #[test]
    fn existing_extension_is_updated_in_place_and_later_ones_scrubbed() {
        let first = xmp_ext(PACKET);
        let input = gif(&[&first, GCE, IMAGE_BLOCK, &first]);
        assert_eq!(find(&input).unwrap().len(), 2);
        let (out, w) = write(&input).unwrap();
        assert_eq!(w.label_range.start as usize, SCREEN.len());
        let found = find(&out).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].range, w.label_range);
        let text = String::from_utf8_lossy(&out);
        assert_eq!(text.matches("XMP DataXMP").count(), 2);
    }

    #[test]
    fn other_landing_zones_are_read_with_a_warning() {
        // The ramp without its leading 0x01, as some writers end it.
        let ramp: Vec<u8> = (0..=255u8).rev().chain([0]).collect();
        let data = [&XMP_HEADER[..], PACKET, b"<?xpacket end=\"w\"?>", &ramp].concat();
        let found = find(&gif(&[&data, IMAGE_BLOCK])).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].checks[0].level, aigc_label_core::check::Level::Warn);
    }

    #[test]
    fn packets_with_nul_bytes_are_refused() {
        // 0x20 is a length byte here: the NUL hides in the skipped data.
        let packet = [&PACKET[..PACKET.len() - 1], b" \0", &PACKET[PACKET.len() - 1..]].concat();
        let input = gif(&[&xmp_ext(&packet), IMAGE_BLOCK]);
        if find(&input).is_ok() {
            assert!(write(&input).is_err());
        }
    }

    #[test]
    fn malformed_streams_are_errors() {
        let good = gif(&[GCE, IMAGE_BLOCK]);
        let mut introducer = good.clone();
        introducer[SCREEN.len()] = 0x22;
        let mut version = good.clone();
        version[4] = b'8';
        let cases = [
            ("empty", Vec::new()),
            ("signature only", b"GIF89a".to_vec()),
            ("no trailer", good[..good.len() - 1].to_vec()),
            ("unterminated sub-blocks", good[..good.len() - 2].to_vec()),
            ("bad introducer", introducer),
            ("bad version", version),
            ("short colour table", SCREEN[..15].to_vec()),
        ];
        // A cut stream is read up to its end; the rest is refused by both.
        let cut = ["no trailer", "unterminated sub-blocks"];
        for (name, data) in cases {
            if let Ok(found) = find(&data) {
                assert!(cut.contains(&name), "{name}: find");
                let flagged = |f: &Found| f.checks.iter().any(|c| c.id == id::STRUCTURE_TRUNCATED);
                assert!(!found.is_empty() && found.iter().all(flagged), "{name}: {found:?}");
            }
            assert!(write(&data).is_err(), "{name}: write");
        }
    }

    #[test]
    fn a_truncated_stream_is_read_up_to_the_cut_and_flagged() {
        let input = gif(&[&xmp_ext(PACKET), GCE, IMAGE_BLOCK]);
        for cut in [input.len() - 1, input.len() - 3] {
            let found = find(&input[..cut]).unwrap();
            assert_eq!(found.len(), 1);
            let check = found[0].checks.iter().find(|c| c.id == id::STRUCTURE_TRUNCATED);
            assert!(
                check.is_some_and(|c| c.detail.contains("refuses")),
                "{:?}",
                found[0].checks
            );
            assert!(write(&input[..cut]).is_err());
        }
        assert!(
            find(&input).unwrap()[0]
                .checks
                .iter()
                .all(|c| c.id != id::STRUCTURE_TRUNCATED)
        );
    }

    #[test]
    fn sub_blocks_longer_than_a_window_are_walked() {
        let mut data = Vec::new();
        for _ in 0..2000 {
            data.push(255);
            data.extend_from_slice(&[7; 255]);
        }
        data.push(0);
        let image = [&IMAGE_BLOCK[..11], &data].concat();
        let input = gif(&[&image]);
        let (out, _) = write(&input).unwrap();
        assert!(out.ends_with(&[&image[..], b"\x3b"].concat()));
    }

    #[test]
    fn limits_bound_the_walk() {
        let data = gif(&[GCE, IMAGE_BLOCK, GCE, IMAGE_BLOCK]);
        let mut limits = Limits::default();
        limits.max_structures = 3;
        let r = Gif.find(&mut Cursor::new(&data), &limits);
        assert!(
            matches!(
                r,
                Err(Error::Limit {
                    what: "block count",
                    ..
                })
            ),
            "{r:?}"
        );
    }
}
