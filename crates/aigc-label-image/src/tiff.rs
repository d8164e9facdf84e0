//! TIFF: the label is the XMP property `TC260:AIGC` in the packet of tag 700 (`XMLPacket`) in
//! IFD0 (spec section 4, TIFF row; XMP specification part 3, 1.1.5: type BYTE; UNDEFINED and
//! ASCII are read too).
//!
//! [`Tiff::find`] reads the header and walks the IFD chain (every page of a multi-page file),
//! reading only IFDs and the tag 700 values they point to; strip and tile data are never read.
//! It reports every `TC260:AIGC` property in those packets: the one in IFD0 is where the spec
//! puts it; a copy in a later IFD (a page's own XMP, which ExifTool also reads) or in a second
//! tag 700 of IFD0 is reported with a [`carrier.place`](id::CARRIER_PLACE) warning. Little- and
//! big-endian files (`II*\0`, `MM\0*`) and BigTIFF (`II+\0`, `MM\0+`, 64-bit offsets) are read
//! alike; TIFF-based raw formats (DNG and the like) are TIFF too.
//!
//! [`Tiff::write`] never moves a byte of the file but the XMP packet's, so every offset elsewhere
//! (strips, tiles, later IFDs, EXIF, GPS and sub-IFDs) stays valid without being read or
//! rewritten. All changes are worked out before a byte is written, then the input is copied in
//! large blocks with a few small patches, and new structures are appended after its end:
//! - IFD0 has tag 700 and its packet ends the file (as every packet this writer moved or added
//!   does), keeping its length (the usual case: [`xmp::set_aigc`] absorbs a change in size into
//!   the packet's padding): the packet is overwritten in place.
//! - IFD0 has tag 700 and its packet ends the file but changes length: the packet is rewritten
//!   where it starts, the file ending with it, and the entry gets the new count. Nothing else
//!   changes, so rewriting a label this carrier wrote keeps every other byte where it was (see
//!   [`Tiff::binding_exclusions`]).
//! - IFD0 has tag 700 and something follows its packet: the new packet is appended, even when it
//!   keeps its length and even when it holds a label already (one another tool wrote, say), so
//!   that after this writer's first write the packet always ends the file. The 12-byte entry
//!   (20 in BigTIFF) gets the new count and offset, and type BYTE; IFD0 stays where it is.
//!   The old packet's bytes are zeroed, so no stale copy of a label stays in the file. Keeping
//!   such a packet in place while its padding lasts would save its length in file growth, but a
//!   later label that outgrew the padding would then move it, and a signature made in between
//!   would no longer verify.
//! - IFD0 has no tag 700: IFD0 must grow by one entry, and growing it in place would overwrite
//!   whatever follows it. So a copy of IFD0 with the new entry (in tag order; every other entry,
//!   inline values included, copied as it was, and the same pointer to the next IFD) and then
//!   the new packet are appended, and the header's pointer to IFD0, the only pointer to IFD0 a
//!   TIFF has, is patched. The old IFD0 stays behind, unreferenced. The packet goes last so that
//!   a later label of another length can take its place without moving anything.
//! - A `TC260:AIGC` property in any other packet (a later page, a second tag 700) is removed and
//!   the packet padded back to its old length with spaces, in place, so one copy remains.
//! - A wrapped label in the EXIF `UserComment` (tag 37510) of the Exif IFD that IFD0 points to
//!   (tag 34665), which ExifTool shows and [`Tiff::find`] reports with a
//!   [`carrier.place`](id::CARRIER_PLACE) warning, is blanked in place, same length.
//! - Tag 700 of IFD0 is written with type BYTE, as the XMP specification gives it (an entry of
//!   type UNDEFINED or ASCII that keeps its place gets the type patched).
//!
//! - The label rooms an update in place ([`InPlace`](aigc_label_core::in_place::InPlace))
//!   leaves beside IFD0's packet (the packet alternates between two places at the end of the
//!   file, each unused one marked) are taken back: the new packet goes where the packet and its
//!   rooms start, the file ending with it.
//!
//! Classic TIFF offsets are 32-bit: a file that would grow past 4 GiB is refused with
//! [`Error::Unsupported`] (BigTIFF has no such bound).
//!
//! The IFD walker is our own rather than the `tiff` crate's decoder, which reads images, not
//! byte ranges. The image crate's shared EXIF reader walks the same structure, but over a block
//! held in memory and in classic layout only; a TIFF file is streamed and may be BigTIFF, so this
//! walker reads the Exif IFD itself and shares the byte-order type and the `UserComment` value
//! decoder.

use std::collections::HashSet;
use std::ops::Range;

use aigc_label_core::check::{Check, id};
use aigc_label_core::container::xmp_plan;
use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::json::{self, Shape};
use aigc_label_core::plan::{Plan as EditPlan, PlanBuilder};
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result, xmp};

use crate::exif::{self, Order, UserComment};
use aigc_label_core::container::tiff::{Codec, Fields, Layout};

mod in_place;

use crate::jpeg::search_packet;
use crate::truncated;

/// Format name used in errors and reports.
const FORMAT: &str = "tiff";

/// The `XMLPacket` tag (XMP specification part 3, 1.1.5).
const TAG_XMP: u16 = 700;
/// What a file whose strips or tiles run past its end is told.
const IMAGE_CUT: &str = "strip or tile data lies past the end of the file (the image is cut short)";
const COMMENT_CUT: &str =
    "the Exif UserComment runs past the end of the file (cut short): what a write appends would complete it";
/// The image data tags, as (offsets, byte counts): `StripOffsets`/`StripByteCounts` and
/// `TileOffsets`/`TileByteCounts`.
const IMAGE_DATA: [(u16, u16); 2] = [(273, 279), (324, 325)];
/// TIFF field types whose values are one byte per count (TIFF 6.0 section 2).
const TYPE_BYTE: u16 = 1;
const TYPE_ASCII: u16 = 2;
const TYPE_UNDEFINED: u16 = 7;
/// Field types of the Exif IFD pointer: LONG and IFD, or LONG8 and IFD8 in BigTIFF.
const POINTER_TYPES: [u16; 4] = [4, 13, 16, 18];

/// The four headers: byte order, then 42 (classic) or 43 (BigTIFF) in that order.
const MAGICS: [&[u8; 4]; 4] = [b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"];

/// The TIFF carrier: XMP tag 700 in IFD0, classic TIFF and BigTIFF, either byte order.
///
/// ```
/// use std::io::Cursor;
/// use aigc_label_core::{Carrier, Label, Limits};
/// use aigc_label_image::Tiff;
///
/// // A 1x1 8-bit grey image: header, IFD0 at 8 with six entries, the one pixel at 86.
/// let mut tiff = b"II*\0\x08\0\0\0\x06\0".to_vec();
/// for (tag, kind, value) in [(256u16, 3u16, 1u32), (257, 3, 1), (258, 3, 8), (262, 3, 1), (273, 4, 86), (279, 4, 1)] {
///     tiff.extend(tag.to_le_bytes());
///     tiff.extend(kind.to_le_bytes());
///     tiff.extend(1u32.to_le_bytes());
///     tiff.extend(value.to_le_bytes());
/// }
/// tiff.extend([0, 0, 0, 0, 0x80]);
/// assert!(Tiff.sniff(&tiff));
///
/// let label = Label::new("001191440300708461136T1XGW3", "img-0001");
/// let mut out = Vec::new();
/// let written = Tiff.write(&mut Cursor::new(&tiff), &mut out, &label, &Limits::default())?;
/// assert_eq!(written.bytes_written, out.len() as u64);
/// // Nothing moved: the input is still there, with only the pointer to IFD0 changed.
/// assert_eq!(out[8..tiff.len()], tiff[8..]);
/// assert_eq!(Tiff.find(&mut Cursor::new(&out), &Limits::default())?.len(), 1);
/// # Ok::<(), aigc_label_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Tiff;

impl Carrier for Tiff {
    fn info(&self) -> &'static aigc_label_core::Info {
        &aigc_label_core::Info {
            format: FORMAT,
            media_type: "image/tiff",
            extensions: &["tif", "tiff"],
        }
    }

    fn in_place(&self) -> Option<&dyn aigc_label_core::in_place::InPlace> {
        Some(self)
    }

    fn stamp(&self) -> Option<&dyn aigc_label_core::stamp::Stamp> {
        Some(&aigc_label_core::stamp::Medium::Image)
    }

    fn sniff(&self, head: &[u8]) -> bool {
        MAGICS.iter().any(|m| head.starts_with(*m))
    }

    /// Lenient about a truncated multi-page file (a later IFD, or a later page's XMP, past the
    /// end of the file): the pages before the cut are read and every copy found gets a
    /// [`structure.truncated`](id::STRUCTURE_TRUNCATED) warning (without a copy, the cut is the
    /// error); [`Tiff::write`] refuses such a file. The same holds for strips or tiles whose
    /// data runs past the end of the file (their offsets and byte counts are read, never the
    /// data): the image is cut short, and writing refuses rather than repairs it.
    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>> {
        let mut src = Source::new(input, FORMAT)?;
        let scan = Scan::read(&mut src, limits, true)?;
        let mut found = scan.found(&mut src, limits)?;
        if let Some(offset) = scan.truncated {
            let what = "this IFD or XMP value of a later page lies past the end of the file";
            truncated::flag(FORMAT, &mut found, offset, what)?;
        }
        if let Some(offset) = scan.image_cut {
            truncated::flag(FORMAT, &mut found, offset, IMAGE_CUT)?;
        }
        Ok(found)
    }

    /// One walk of the IFD chain, copying the input as it goes when the chain runs forward (so
    /// the input is read once); the fields that change are patched into what was written.
    fn plan(
        &self,
        input: &mut dyn ReadSeek,
        label: &Label,
        limits: &Limits,
        out: PlanBuilder<'_>,
    ) -> Result<Option<EditPlan>> {
        edit_plan(input, label, limits, out).map(Some)
    }

    /// Excluded: the XMP packet of every tag 700 that holds a label, and of IFD0's first tag
    /// 700 (where [`Tiff::write`] puts the label) whether or not it holds one; that entry's
    /// type, count and value fields (10 bytes, 18 in BigTIFF; its tag stays covered), which
    /// give the packet's length and offset; and the label rooms an update in place marks
    /// beside that packet ([`InPlace`](aigc_label_core::in_place::InPlace)), where the packet
    /// was and will be.
    ///
    /// Covered: the header, every IFD but those fields, strips, tiles, EXIF, ICC and every
    /// other value, and the XMP packets of other pages that hold no label.
    ///
    /// The writer keeps this true: the first label it writes into a file always ends the file
    /// (appended, unless the packet already ends it), a label another tool wrote before other
    /// data (ExifTool's, say) included, whose old bytes, zeroed, are covered from then on. A
    /// later label is overwritten in place when the padding absorbs the change, and otherwise
    /// rewritten at the same offset with the file ending after it; nothing else moves. So a
    /// binding made after this writer's first write holds across every later rewrite, whatever
    /// the label's length.
    fn binding_exclusions(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Range<u64>>> {
        let mut src = Source::new(input, FORMAT)?;
        let scan = Scan::read(&mut src, limits, true)?;
        let mut found = scan.found(&mut src, limits)?;
        if let Some(offset) = scan.truncated {
            // As `find`: a cut file with no copy before the cut is an error.
            truncated::flag(FORMAT, &mut found, offset, "a later IFD or XMP value lies past the end")?;
        }
        if let Some(offset) = scan.image_cut {
            truncated::flag(FORMAT, &mut found, offset, IMAGE_CUT)?;
        }
        let mut out: Vec<Range<u64>> = found.into_iter().map(|f| f.range).collect();
        if let Some(primary) = scan.primary() {
            let entry = primary.entry.at;
            out.push(entry + 2..entry + scan.codec.layout.entry_len());
            if !out.contains(&primary.value) {
                out.push(primary.value.clone());
            }
            let rooms = in_place::rooms(&mut src, &scan)?;
            out.extend(rooms.before.into_iter().chain(rooms.after));
        }
        Ok(out)
    }
}

/// How the carrier reads the numbers of a streamed file ([`Codec`], core's, is shared with the
/// EXIF reader of every image format).
trait ReadNumber {
    /// Reads a `width`-byte number from `src`.
    fn read(self, src: &mut Source<'_>, width: u64, what: &'static str) -> Result<u64>;
}

impl ReadNumber for Codec {
    fn read(self, src: &mut Source<'_>, width: u64, what: &'static str) -> Result<u64> {
        let mut buf = [0u8; 8];
        let want = usize::try_from(width.min(8)).unwrap_or(8);
        let field = buf.get_mut(..want).unwrap_or_default();
        if src.read_up_to(field)? < want {
            return Err(src.truncated(what));
        }
        Ok(self.uint(field))
    }
}

/// Reads the header: byte order, version, and the offset of IFD0.
fn read_header(src: &mut Source<'_>) -> Result<(Codec, u64)> {
    let head: [u8; 4] = src.read_array("TIFF header")?;
    let order = match head.get(..2) {
        Some(b"II") => Order::Little,
        Some(b"MM") => Order::Big,
        _ => return Err(Error::malformed(FORMAT, 0, "no TIFF byte-order mark (II or MM)")),
    };
    let mut codec = Codec {
        order,
        layout: Layout::Classic,
    };
    match codec.uint(head.get(2..).unwrap_or_default()) {
        42 => {}
        43 => {
            codec.layout = Layout::Big;
            let [s0, s1, r0, r1] = src.read_array::<4>("BigTIFF header")?;
            if codec.uint(&[s0, s1]) != 8 || codec.uint(&[r0, r1]) != 0 {
                return Err(Error::malformed(
                    FORMAT,
                    4,
                    "BigTIFF header must declare 8-byte offsets and a zero reserved field",
                ));
            }
        }
        _ => {
            return Err(Error::malformed(
                FORMAT,
                2,
                "TIFF version is neither 42 nor 43 (BigTIFF)",
            ));
        }
    }
    let ifd0 = codec.read(src, codec.layout.word(), "offset of IFD0")?;
    Ok((codec, ifd0))
}

/// One IFD: where it is, its entries as raw bytes, and the offset of the next IFD.
#[derive(Debug)]
struct Ifd {
    offset: u64,
    count: u64,
    entries: Vec<u8>,
    next: u64,
}

impl Ifd {
    /// Reads the IFD at `offset`, checking its declared entry count against the stream and
    /// [`Limits::max_metadata_bytes`] before buffering it.
    fn read(src: &mut Source<'_>, codec: Codec, offset: u64, limits: &Limits) -> Result<Ifd> {
        let layout = codec.layout;
        if offset < layout.header_len() {
            return Err(Error::malformed(FORMAT, offset, "IFD offset points into the header"));
        }
        src.seek_to(offset)
            .map_err(|_| Error::truncated(FORMAT, offset, "IFD offset past the end of the file"))?;
        let count = codec.read(src, layout.count_len(), "IFD entry count")?;
        if count == 0 {
            return Err(Error::malformed(FORMAT, offset, "IFD has no entries"));
        }
        let len = count
            .checked_mul(layout.entry_len())
            .ok_or_else(|| Error::malformed(FORMAT, offset, "IFD entry count overflows"))?;
        // The entries and the next IFD's offset in one read.
        let mut entries = src.read_vec(len.saturating_add(layout.word()), "IFD entries", limits)?;
        let next = codec.uint(
            entries
                .get(usize::try_from(len).unwrap_or(usize::MAX)..)
                .unwrap_or_default(),
        );
        entries.truncate(usize::try_from(len).unwrap_or(usize::MAX));
        Ok(Ifd {
            offset,
            count,
            entries,
            next,
        })
    }

    /// The bytes the IFD takes: its entry count, entries and next-IFD offset.
    fn range(&self, codec: Codec) -> Range<u64> {
        let layout = codec.layout;
        let len = layout.count_len() + self.entries.len() as u64 + layout.word();
        self.offset..self.offset.saturating_add(len)
    }

    /// The entries, in file order.
    fn entries(&self, codec: Codec) -> impl Iterator<Item = Entry> + '_ {
        let entry_len = usize::try_from(codec.layout.entry_len()).unwrap_or(usize::MAX);
        let first = self.offset + codec.layout.count_len();
        self.entries
            .chunks_exact(entry_len)
            .zip(0u64..)
            .map(move |(raw, i)| Entry::parse(raw, first + i * codec.layout.entry_len(), codec))
    }

    /// This IFD as bytes, with `entry` added before the first entry whose tag is greater.
    fn with_entry(&self, entry: &[u8], codec: Codec) -> Result<Vec<u8>> {
        let layout = codec.layout;
        if self.count >= layout.max_entries() {
            return Err(Error::capacity(
                "tiff",
                "IFD0 already holds the most entries its count field can express",
            ));
        }
        let at = self
            .entries(codec)
            .position(|e| e.tag > TAG_XMP)
            .map_or(self.entries.len(), |i| {
                i.saturating_mul(usize::try_from(layout.entry_len()).unwrap_or(usize::MAX))
            });
        let (before, after) = self.entries.split_at(at.min(self.entries.len()));
        let mut out = codec.put(self.count + 1, layout.count_len());
        out.extend_from_slice(before);
        out.extend_from_slice(entry);
        out.extend_from_slice(after);
        out.extend(codec.put(self.next, layout.word()));
        Ok(out)
    }
}

/// One IFD entry.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Offset of the entry in the file.
    at: u64,
    tag: u16,
    kind: u16,
    count: u64,
    /// The value field: the value itself when it fits, else its offset.
    field: u64,
}

impl Entry {
    fn parse(raw: &[u8], at: u64, codec: Codec) -> Entry {
        let f = codec.entry(raw);
        Entry {
            at,
            tag: f.tag,
            kind: f.kind,
            count: f.count,
            field: f.field,
        }
    }

    /// Where an out-of-line value ends (`None` inline, or for a type of unknown size).
    fn value_end(&self, codec: Codec) -> Option<u64> {
        let size = match self.kind {
            1 | 2 | 6 | 7 => 1,
            3 | 8 => 2,
            4 | 9 | 11 | 13 => 4,
            5 | 10 | 12 | 16 | 17 | 18 => 8,
            _ => return None,
        };
        let len = self.count.checked_mul(size)?;
        (len > codec.layout.word()).then(|| self.field.saturating_add(len))
    }

    /// An entry as bytes.
    fn encode(codec: Codec, tag: u16, kind: u16, count: u64, field: u64) -> Vec<u8> {
        codec.encode_entry(Fields {
            tag,
            kind,
            count,
            field,
        })
    }
}

/// A tag 700 entry and where its value sits.
#[derive(Debug, Clone)]
struct XmpEntry {
    /// Position of its IFD in the chain: 0 for IFD0.
    ifd: u64,
    entry: Entry,
    /// The value's bytes in the file (inside the entry when they fit there).
    value: Range<u64>,
    inline: bool,
}

impl XmpEntry {
    /// Locates the value of a tag 700 entry, checking it lies inside the file.
    fn new(entry: Entry, ifd: u64, codec: Codec, file_len: u64) -> Result<XmpEntry> {
        let word = codec.layout.word();
        // Only one-byte types are XMP; for others the count is not a byte count, and the entry
        // is kept only so that a write does not add a second tag 700.
        let len = if Self::byte_type(entry.kind) { entry.count } else { 0 };
        let inline = len <= word;
        let start = if inline { entry.at + 4 + word } else { entry.field };
        let end = start
            .checked_add(len)
            .filter(|&end| end <= file_len)
            .ok_or_else(|| Error::truncated(FORMAT, entry.at, "tag 700 (XMP) value lies past the end of the file"))?;
        Ok(XmpEntry {
            ifd,
            entry,
            value: start..end,
            inline,
        })
    }

    fn byte_type(kind: u16) -> bool {
        matches!(kind, TYPE_BYTE | TYPE_ASCII | TYPE_UNDEFINED)
    }

    fn is_bytes(&self) -> bool {
        Self::byte_type(self.entry.kind)
    }

    fn len(&self) -> u64 {
        self.value.end - self.value.start
    }

    /// Reads the packet.
    fn read(&self, src: &mut Source<'_>, limits: &Limits) -> Result<Vec<u8>> {
        src.seek_to(self.value.start)?;
        src.read_vec(self.len(), "tag 700 (XMP) value", limits)
    }

    /// Puts an error from the XMP codec in the context of the entry that held the packet.
    fn in_packet(&self, e: Error) -> Error {
        match e {
            Error::Malformed { .. } | Error::Truncated { .. } => Error::malformed(
                FORMAT,
                self.value.start,
                format!("XMP packet of tag 700 in IFD{}: {e}", self.ifd),
            ),
            other => other,
        }
    }

    /// A label copy found in this entry's packet.
    fn found(&self, text: String, primary: bool) -> Found {
        let mut checks = Vec::new();
        if primary {
            checks.push(Check::pass(
                id::CARRIER_PLACE,
                "XMP tag 700 in IFD0, as GB 45438 places it",
            ));
        } else if self.ifd == 0 {
            checks.push(Check::warn(
                id::CARRIER_PLACE,
                format!(
                    "a second tag 700 (XMP) in IFD0 (entry at byte {}); an IFD holds each tag once",
                    self.entry.at
                ),
            ));
        } else {
            checks.push(Check::warn(
                id::CARRIER_PLACE,
                format!(
                    "XMP tag 700 in IFD{} (page {}); GB 45438 puts the label in IFD0",
                    self.ifd,
                    self.ifd + 1
                ),
            ));
        }
        if self.entry.kind == TYPE_ASCII {
            checks.push(Check::warn(
                id::CARRIER_PLACE,
                "tag 700 (XMP) has type ASCII; XMP in TIFF has type UNDEFINED (7) or BYTE (1)".to_string(),
            ));
        }
        let carrier = if self.ifd == 0 {
            "IFD0 XMP (tag 700)".into()
        } else {
            format!("IFD{} XMP (tag 700)", self.ifd).into()
        };
        Found {
            carrier,
            range: self.value.clone(),
            text,
            expected_shape: Shape::Bare,
            checks,
        }
    }
}

/// What a walk of the IFD chain learns: enough for `find` and for planning a write.
#[derive(Debug)]
struct Scan {
    codec: Codec,
    ifd0: Ifd,
    /// Every tag 700 entry in the chain, in chain order.
    xmp: Vec<XmpEntry>,
    /// The `UserComment`s of IFD0's Exif IFD that hold a label.
    comments: Vec<ExifComment>,
    file_len: u64,
    /// A lenient read stopped at this structure, which lies past the end of the file.
    truncated: Option<u64>,
    /// The entry of the first strip or tile array whose data (or the array itself) runs past
    /// the end of the file: the image is cut short.
    image_cut: Option<u64>,
    /// Where the last byte the walk knows to be referenced ends (header, IFDs, out-of-line
    /// values, strips and tiles, the Exif IFD and its values), IFD0's XMP packet aside: a label
    /// room ([`in_place`]) starts at or after it.
    floor: u64,
    /// The entry of the first `UserComment` in the Exif IFD whose value runs past the end of the
    /// file. `find` passes over it, but a write refuses the file: what a write appends would
    /// complete the value, and a label in its first bytes would then read as a copy of its own.
    comment_cut: Option<u64>,
}

/// A labelled `UserComment` in the Exif IFD.
#[derive(Debug)]
struct ExifComment {
    /// The value's bytes in the file.
    value: Range<u64>,
    /// The comment, its text range relative to the value.
    comment: UserComment,
}

impl Scan {
    /// Reads the header and every IFD of the chain, each once: a chain that loops back is
    /// malformed. At most [`Limits::max_structures`] IFDs and entries in all. `lenient` ends the
    /// chain at a later IFD, or skips a later page's XMP value, that lies past the end of the
    /// file (recorded in `truncated`) instead of failing.
    fn read(src: &mut Source<'_>, limits: &Limits, lenient: bool) -> Result<Scan> {
        Scan::walk(src, limits, lenient, &mut |_, _| Ok(()))
    }

    /// [`Scan::read`], calling `walked` with the end of each IFD once it is read (the source
    /// may be anywhere then): a streaming write copies the input up to there while it is in
    /// the buffer.
    fn walk(
        src: &mut Source<'_>,
        limits: &Limits,
        lenient: bool,
        walked: &mut dyn FnMut(&mut Source<'_>, u64) -> Result<()>,
    ) -> Result<Scan> {
        let (codec, mut offset) = read_header(src)?;
        if offset == 0 {
            return Err(Error::malformed(FORMAT, 4, "the file has no IFD0"));
        }
        let mut visited = Visited::default();
        // The bytes of the header and of every IFD, which no `UserComment` may share.
        let mut owned: Vec<Range<u64>> = Vec::new();
        owned.push(0..codec.layout.header_len());
        let mut structures = 0u64;
        let mut ifd0 = None;
        let mut xmp = Vec::new();
        let mut truncated = None;
        let mut image_cut = None;
        let mut floor = codec.layout.header_len();
        while offset != 0 {
            if !visited.insert(offset) {
                return Err(Error::malformed(
                    FORMAT,
                    offset,
                    "the IFD chain loops back to an earlier IFD",
                ));
            }
            let ifd = match Ifd::read(src, codec, offset, limits) {
                Err(Error::Truncated { .. }) if lenient && ifd0.is_some() => {
                    truncated = Some(offset);
                    break;
                }
                other => other?,
            };
            owned.push(ifd.range(codec));
            structures = structures.saturating_add(ifd.count).saturating_add(1);
            if structures > limits.max_structures {
                return Err(Error::Limit {
                    format: FORMAT,
                    offset,
                    what: "IFDs and entries",
                    found: structures,
                    limit: limits.max_structures,
                });
            }
            let index = visited.len() - 1;
            // One decoding of the entries: the strip and tile arrays, whether a tag 700 is
            // there, and where the values end (IFD0's first packet aside: a label room sits
            // beside it).
            let mut arrays = ImageArrays::default();
            let mut has_xmp = false;
            for entry in ifd.entries(codec) {
                arrays.note(&entry);
                if entry.tag == TAG_XMP {
                    let first = !has_xmp;
                    has_xmp = true;
                    if first && index == 0 {
                        continue;
                    }
                }
                floor = floor.max(entry.value_end(codec).unwrap_or(0));
            }
            if image_cut.is_none() {
                image_cut = image_data_cut(src, codec, &arrays, &mut structures, &mut floor, limits)?;
            }
            floor = floor.max(ifd.range(codec).end);
            for entry in ifd.entries(codec).filter(|e| has_xmp && e.tag == TAG_XMP) {
                match XmpEntry::new(entry, index, codec, src.len()) {
                    Err(Error::Truncated { .. }) if lenient && index > 0 => {
                        truncated.get_or_insert(entry.at);
                    }
                    other => xmp.push(other?),
                }
            }
            offset = ifd.next;
            walked(src, ifd.range(codec).end)?;
            ifd0.get_or_insert(ifd);
        }
        let ifd0 = ifd0.ok_or_else(|| Error::malformed(FORMAT, 4, "the file has no IFD0"))?;
        // A value that shares bytes with the header, an IFD or an XMP packet is not a comment of
        // its own (a crafted file can point one there): blanking it would break what it aliases.
        owned.extend(xmp.iter().map(|x| x.value.clone()));
        let (mut comments, comment_cut) =
            user_comments(src, codec, &ifd0, &mut structures, &mut owned, &mut floor, limits)?;
        comments.retain(|c| !owned.iter().any(|o| c.value.start < o.end && o.start < c.value.end));
        Ok(Scan {
            codec,
            ifd0,
            xmp,
            comments,
            file_len: src.len(),
            truncated,
            image_cut,
            floor,
            comment_cut,
        })
    }

    /// The first tag 700 of IFD0: the spec's carrier.
    fn primary(&self) -> Option<&XmpEntry> {
        self.xmp.first().filter(|e| e.ifd == 0)
    }

    fn is_primary(&self, entry: &XmpEntry) -> bool {
        self.primary().is_some_and(|p| p.entry.at == entry.entry.at)
    }

    /// Every label copy in the chain's XMP packets and in the Exif IFD's `UserComment`, at
    /// most [`Limits::max_copies`].
    fn found(&self, src: &mut Source<'_>, limits: &Limits) -> Result<Vec<Found>> {
        let mut found = Vec::new();
        for c in &self.comments {
            if found.len() < limits.max_copies {
                found.push(c.comment.clone().found(
                    c.value.clone(),
                    "GB 45438 puts the TIFF label in the XMP property TC260:AIGC of tag 700 in IFD0",
                ));
            }
        }
        for entry in self.xmp.iter().filter(|e| e.is_bytes()) {
            let packet = entry.read(src, limits)?;
            for hit in search_packet(&packet, limits).map_err(|e| entry.in_packet(e))? {
                if found.len() < limits.max_copies {
                    let mut copy = entry.found(hit.value.clone(), self.is_primary(entry));
                    copy.checks.extend(hit.checks());
                    found.push(copy);
                }
            }
        }
        Ok(found)
    }
}

/// Where the strips or tiles of `ifd` run past the end of the file: the entry of the first
/// offsets array with a strip or tile (or whose own values) past the end; `None` when all
/// image data lies inside the file, or the IFD has none. Arrays of an unexpected type are not
/// image data this walker can check, and are passed over. Each value counts against
/// [`Limits::max_structures`].
fn image_data_cut(
    src: &mut Source<'_>,
    codec: Codec,
    arrays: &ImageArrays,
    structures: &mut u64,
    floor: &mut u64,
    limits: &Limits,
) -> Result<Option<u64>> {
    for [offsets, counts] in arrays.0 {
        let (Some(offsets), Some(counts)) = (offsets, counts) else {
            continue;
        };
        *structures = structures.saturating_add(offsets.count).saturating_add(counts.count);
        if *structures > limits.max_structures {
            return Err(Error::Limit {
                format: FORMAT,
                offset: offsets.at,
                what: "IFDs, entries and strips",
                found: *structures,
                limit: limits.max_structures,
            });
        }
        let (Some(starts), Some(lens)) = (
            uint_array(src, codec, &offsets, limits)?,
            uint_array(src, codec, &counts, limits)?,
        ) else {
            return Ok(Some(offsets.at));
        };
        let ends = starts.iter().zip(&lens).map(|(&start, &len)| start.checked_add(len));
        let past_end = ends.clone().any(|end| end.is_none_or(|end| end > src.len()));
        *floor = ends.flatten().fold(*floor, u64::max);
        if past_end {
            return Ok(Some(offsets.at));
        }
    }
    Ok(None)
}

/// The first entry of each tag of [`IMAGE_DATA`] in one IFD: its strip and tile arrays.
#[derive(Debug, Default)]
struct ImageArrays([[Option<Entry>; 2]; 2]);

impl ImageArrays {
    /// Keeps `entry` when it is the first of its tag among the arrays.
    fn note(&mut self, entry: &Entry) {
        for ((offsets_tag, counts_tag), [offsets, counts]) in IMAGE_DATA.iter().zip(&mut self.0) {
            if entry.tag == *offsets_tag {
                offsets.get_or_insert(*entry);
            } else if entry.tag == *counts_tag {
                counts.get_or_insert(*entry);
            }
        }
    }
}

/// The IFD offsets a walk has visited, to refuse a chain that loops back. A chain mostly runs
/// forward (the usual layout; a rewritten file whose IFD0 moved to the end steps back once),
/// so the offsets are kept as a few ascending runs, each searched by bisection; a chain that
/// steps back more than [`Visited::MAX_RUNS`] times is hashed from then on.
#[derive(Debug, Default)]
struct Visited {
    /// The offsets in visit order, in runs that each ascend.
    offsets: Vec<u64>,
    /// Where each run but the first starts in `offsets`.
    runs: Vec<usize>,
    hashed: Option<HashSet<u64>>,
}

impl Visited {
    const MAX_RUNS: usize = 16;

    /// Adds `offset`; false when it was visited already.
    fn insert(&mut self, offset: u64) -> bool {
        if let Some(set) = &mut self.hashed {
            return set.insert(offset);
        }
        let ascends = self.offsets.last().is_none_or(|&last| offset > last);
        let mut start = 0;
        for (i, &end) in self.runs.iter().chain([&self.offsets.len()]).enumerate() {
            // The last run holds nothing above its last offset.
            let searched = !ascends || i < self.runs.len();
            let run = self.offsets.get(start..end).unwrap_or_default();
            if searched && run.binary_search(&offset).is_ok() {
                return false;
            }
            start = end;
        }
        if !ascends {
            if self.runs.len() >= Self::MAX_RUNS {
                let mut set: HashSet<u64> = self.offsets.drain(..).collect();
                set.insert(offset);
                self.hashed = Some(set);
                return true;
            }
            self.runs.push(self.offsets.len());
        }
        self.offsets.push(offset);
        true
    }

    /// How many offsets were visited.
    fn len(&self) -> u64 {
        let hashed = self.hashed.as_ref().map_or(0, HashSet::len);
        (self.offsets.len() + hashed) as u64
    }
}

/// The values of an entry of type SHORT, LONG or LONG8, inline or out of line; `Some(empty)`
/// for another type, `None` when the values lie past the end of the file.
fn uint_array(src: &mut Source<'_>, codec: Codec, entry: &Entry, limits: &Limits) -> Result<Option<Vec<u64>>> {
    let width = match entry.kind {
        3 => 2,
        4 => 4,
        16 => 8,
        _ => return Ok(Some(Vec::new())),
    };
    let word = codec.layout.word();
    let Some(len) = entry.count.checked_mul(width) else {
        return Ok(None);
    };
    let start = if len <= word { entry.at + 4 + word } else { entry.field };
    if start.checked_add(len).is_none_or(|end| end > src.len()) {
        return Ok(None);
    }
    src.seek_to(start)?;
    let bytes = src.read_vec(len, "strip or tile array", limits)?;
    let width = usize::try_from(width).unwrap_or(8);
    Ok(Some(bytes.chunks_exact(width).map(|b| codec.uint(b)).collect()))
}

/// The labelled `UserComment`s of the Exif IFD that IFD0 points to (tag 34665).
///
/// EXIF is not the label's carrier, so an Exif IFD this reader cannot read (a pointer of the
/// wrong type, into the header, past the end, an IFD that does not fit or that shares bytes
/// with the header, another IFD or an XMP packet) yields nothing
/// rather than failing the file; a value over [`Limits::max_metadata_bytes`] is skipped too.
/// Its entries count against [`Limits::max_structures`] with the rest of the walk. Also returns
/// the entry of the first `UserComment` whose value runs past the end of the file.
fn user_comments(
    src: &mut Source<'_>,
    codec: Codec,
    ifd0: &Ifd,
    structures: &mut u64,
    owned: &mut Vec<Range<u64>>,
    floor: &mut u64,
    limits: &Limits,
) -> Result<(Vec<ExifComment>, Option<u64>)> {
    let pointer = ifd0
        .entries(codec)
        .find(|e| e.tag == exif::TAG_EXIF_IFD && POINTER_TYPES.contains(&e.kind) && e.count == 1);
    let Some(pointer) = pointer else {
        return Ok((Vec::new(), None));
    };
    if pointer.field == ifd0.offset {
        return Ok((Vec::new(), None));
    }
    let Ok(ifd) = Ifd::read(src, codec, pointer.field, limits) else {
        return Ok((Vec::new(), None));
    };
    // An Exif IFD sharing bytes with the header, an IFD or an XMP packet is not one of its own:
    // its entries would change whenever those bytes do (a crafted pointer into the label's
    // packet would read a different `UserComment` after every rewrite).
    let range = ifd.range(codec);
    if owned.iter().any(|o| range.start < o.end && o.start < range.end) {
        return Ok((Vec::new(), None));
    }
    *floor = ifd
        .entries(codec)
        .filter_map(|e| e.value_end(codec))
        .fold(range.end.max(*floor), u64::max);
    owned.push(range);
    *structures = structures.saturating_add(ifd.count).saturating_add(1);
    if *structures > limits.max_structures {
        return Err(Error::Limit {
            format: FORMAT,
            offset: ifd.offset,
            what: "IFDs and entries",
            found: *structures,
            limit: limits.max_structures,
        });
    }
    let word = codec.layout.word();
    let mut out = Vec::new();
    let mut cut = None;
    for entry in ifd.entries(codec) {
        if entry.tag != exif::TAG_USER_COMMENT || !XmpEntry::byte_type(entry.kind) {
            continue;
        }
        let start = if entry.count <= word {
            entry.at + 4 + word
        } else {
            entry.field
        };
        let Some(end) = start.checked_add(entry.count).filter(|&e| e <= src.len()) else {
            cut.get_or_insert(entry.at);
            continue;
        };
        if entry.count > limits.max_metadata_bytes {
            continue;
        }
        src.seek_to(start)?;
        let value = src.read_vec(entry.count, "UserComment value", limits)?;
        let comment = UserComment::decode(&value, 0, codec.order);
        if comment.holds_label(limits) {
            out.push(ExifComment {
                value: start..end,
                comment,
            });
        }
    }
    Ok((out, cut))
}

/// Bytes to overwrite in place.
#[derive(Debug)]
struct Patch {
    at: u64,
    bytes: Vec<u8>,
}

impl Patch {
    fn end(&self) -> u64 {
        self.at + self.bytes.len() as u64
    }
}

/// Structures appended after the input, each aligned to a word boundary (TIFF 6.0 section 2
/// asks for values and IFDs at even offsets).
#[derive(Debug)]
struct Tail {
    /// Where the tail starts: the end of the input, or the start of a packet that ended it and
    /// is rewritten (the input is copied up to here).
    start: u64,
    bytes: Vec<u8>,
    layout: Layout,
}

impl Tail {
    /// The first word boundary at or after `at`.
    fn align(&self, at: u64) -> u64 {
        at.next_multiple_of(self.layout.word())
    }

    /// Where the next push lands.
    fn next_at(&self) -> u64 {
        self.align(self.start + self.bytes.len() as u64)
    }

    /// Appends `data`; returns its offset in the output.
    fn push(&mut self, data: &[u8]) -> Result<u64> {
        let at = self.next_at();
        while self.start + (self.bytes.len() as u64) < at {
            self.bytes.push(0);
        }
        let end = at + data.len() as u64;
        if end > self.layout.max_offset() {
            return Err(Error::capacity(
                "tiff",
                "the label would end past 4 GiB, which classic TIFF offsets cannot reach (BigTIFF can)",
            ));
        }
        self.bytes.try_reserve(data.len()).map_err(|_| Error::Limit {
            format: FORMAT,
            offset: at,
            what: "appended metadata",
            found: data.len() as u64,
            limit: usize::MAX as u64,
        })?;
        self.bytes.extend_from_slice(data);
        Ok(at)
    }
}

/// What the write changes, worked out before any byte is written.
#[derive(Debug)]
struct Plan {
    /// In-place changes, sorted and disjoint.
    patches: Vec<Patch>,
    tail: Tail,
    /// Where the packet holding the label sits in the output.
    label_range: Range<u64>,
}

impl Plan {
    fn new(src: &mut Source<'_>, scan: &Scan, label: &Label, limits: &Limits) -> Result<Plan> {
        let json = json::to_json(label, Shape::Bare);
        let mut plan = Plan {
            patches: Vec::new(),
            tail: Tail {
                start: scan.file_len,
                bytes: Vec::new(),
                layout: scan.codec.layout,
            },
            label_range: 0..0,
        };
        for entry in scan.xmp.iter().filter(|e| e.is_bytes() && !scan.is_primary(e)) {
            plan.remove_copies(src, entry, limits)?;
        }
        for c in &scan.comments {
            let text = &c.comment.text_range;
            plan.patches.push(Patch {
                at: c.value.start + text.start as u64,
                bytes: vec![c.comment.fill(); text.len()],
            });
        }
        match scan.primary() {
            Some(entry) => plan.update(src, scan, entry, &json, limits)?,
            None => plan.add(scan, &json)?,
        }
        plan.patches.sort_by_key(|p| p.at);
        let overlap = plan
            .patches
            .windows(2)
            .any(|w| w.first().map(Patch::end) > w.get(1).map(|p| p.at));
        if overlap || plan.patches.last().is_some_and(|p| p.end() > plan.tail.start) {
            return Err(Error::malformed(
                FORMAT,
                plan.patches.first().map_or(0, |p| p.at),
                "XMP values overlap each other or the structures that must change",
            ));
        }
        Ok(plan)
    }

    /// A packet that is not the spec's carrier loses its `TC260:AIGC` properties, in place.
    fn remove_copies(&mut self, src: &mut Source<'_>, entry: &XmpEntry, limits: &Limits) -> Result<()> {
        let old = entry.read(src, limits)?;
        let hits = search_packet(&old, limits).map_err(|e| entry.in_packet(e))?;
        let Some(removed) = xmp_plan::scrubbed_hits(&old, hits, limits).map_err(|e| entry.in_packet(e))? else {
            return Ok(());
        };
        if removed.len() > old.len() {
            return Err(entry.in_packet(Error::malformed("xmp", 0, "removing TC260:AIGC grew the packet")));
        }
        self.patches.push(Patch {
            at: entry.value.start,
            bytes: xmp_plan::pad_to(removed, old.len()),
        });
        Ok(())
    }

    /// IFD0 has tag 700: the label goes into its packet, rewritten where it starts when the
    /// packet ends the file, else appended so that it does.
    fn update(
        &mut self,
        src: &mut Source<'_>,
        scan: &Scan,
        entry: &XmpEntry,
        json: &str,
        limits: &Limits,
    ) -> Result<()> {
        if !entry.is_bytes() {
            return Err(Error::malformed(
                FORMAT,
                entry.entry.at,
                format!(
                    "tag 700 (XMP) in IFD0 has type {}; XMP is UNDEFINED (7) or BYTE (1)",
                    entry.entry.kind
                ),
            ));
        }
        let old = entry.read(src, limits)?;
        let packet = xmp_plan::label_packet(Some(&old), json, limits).map_err(|e| entry.in_packet(e))?;
        // A packet that does not end the file moves there even when its padding would absorb
        // the label (a label another tool wrote before other data, say): were it kept in place
        // now, a later label that outgrows the padding would move it then, and every byte a
        // signature made in between covered would shift. The label rooms an update in place
        // leaves beside the packet are ours: the packet and its rooms are rewritten as one.
        let rooms = in_place::rooms(src, scan)?;
        let ends_file = !entry.inline && (entry.value.end == scan.file_len || rooms.after.is_some());
        let roomless = rooms.before.is_none() && rooms.after.is_none();
        if ends_file && roomless && packet.len() == old.len() {
            self.label_range = entry.value.clone();
            self.patches.push(Patch {
                at: entry.value.start,
                bytes: packet,
            });
            if entry.entry.kind != TYPE_BYTE {
                self.patches.push(Patch {
                    at: entry.entry.at + 2,
                    bytes: scan.codec.put(u64::from(TYPE_BYTE), 2),
                });
            }
            return Ok(());
        }
        if ends_file {
            self.tail.start = rooms.before.map_or(entry.value.start, |r| r.start);
        }
        let at = self.tail.push(&packet)?;
        self.label_range = at..at + packet.len() as u64;
        let new_entry = Entry::encode(scan.codec, TAG_XMP, TYPE_BYTE, packet.len() as u64, at);
        self.patches.push(Patch {
            at: entry.entry.at,
            bytes: new_entry,
        });
        if !entry.inline && !ends_file {
            self.patches.push(Patch {
                at: entry.value.start,
                bytes: vec![0; old.len()],
            });
        }
        Ok(())
    }

    /// IFD0 has no tag 700: a grown copy of IFD0 and then a new packet go after the end of the
    /// file, the packet last so that a later rewrite can change its length in place.
    fn add(&mut self, scan: &Scan, json: &str) -> Result<()> {
        let codec = scan.codec;
        let packet = xmp::new_packet(json, xmp::DEFAULT_PADDING);
        let len = packet.len() as u64;
        // The IFD's length does not depend on the offset in its new entry.
        let draft = scan
            .ifd0
            .with_entry(&Entry::encode(codec, TAG_XMP, TYPE_BYTE, len, 0), codec)?;
        let at = self.tail.align(self.tail.next_at() + draft.len() as u64);
        let entry = Entry::encode(codec, TAG_XMP, TYPE_BYTE, len, at);
        let ifd = scan.ifd0.with_entry(&entry, codec)?;
        let ifd_at = self.tail.push(&ifd)?;
        if self.tail.push(&packet)? != at {
            return Err(Error::malformed(
                FORMAT,
                ifd_at,
                "appended IFD0 changed length between passes",
            ));
        }
        self.label_range = at..at + len;
        self.patches.push(Patch {
            at: codec.layout.ifd0_pointer_at(),
            bytes: codec.put(ifd_at, codec.layout.word()),
        });
        Ok(())
    }

    /// The output, into a builder holding the input's first `copied` bytes: the input up to
    /// the tail's start with the patches in place, then the appended structures.
    fn pieces(&self, out: &mut PlanBuilder<'_>, copied: u64) -> Result<()> {
        if copied > self.tail.start {
            out.truncate(self.tail.start)?;
        } else {
            out.copy(copied..self.tail.start);
        }
        for patch in &self.patches {
            out.overwrite(patch.at, &patch.bytes)?;
        }
        out.put(&self.tail.bytes);
        Ok(())
    }
}

/// Plans [`Tiff::write`]'s output in one walk of the IFD chain and reads of the values that
/// change. The output is the input with a few same-length patches (pointers, entries, packets
/// emptied in place) up to the tail's start, then the appended structures. Into a builder that
/// can be revised ([`PlanBuilder::can_revise`]) the input is copied while the walk goes, up to
/// the end of each IFD read: when the chain runs forward (the common layout, and a file of many
/// small IFDs) each IFD's bytes go out while they are in the buffer and the input is read
/// once; the patches found later go into the output already written, and a tail that starts
/// before what was copied (a packet that ends the file and is rewritten) cuts it back.
fn edit_plan(input: &mut dyn ReadSeek, label: &Label, limits: &Limits, mut out: PlanBuilder<'_>) -> Result<EditPlan> {
    let mut src = Source::new(input, FORMAT)?;
    let stream = out.can_revise();
    let mut copied = 0u64;
    let scan = Scan::walk(&mut src, limits, false, &mut |src, end| {
        if end > copied {
            out.copy(copied..end);
            copied = end;
            if stream {
                out.drain(src, &[])?;
            }
        }
        Ok(())
    })?;
    if let Some(offset) = scan.image_cut {
        // Refused, not repaired: a repair would have to invent the missing image data.
        return Err(Error::truncated(FORMAT, offset, IMAGE_CUT));
    }
    if let Some(offset) = scan.comment_cut {
        return Err(Error::truncated(FORMAT, offset, COMMENT_CUT));
    }
    let found = scan.found(&mut src, limits)?;
    let plan = Plan::new(&mut src, &scan, label, limits)?;
    plan.pieces(&mut out, copied)?;
    Ok(out.finish(found, plan.label_range))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aigc_label_core::check::Level;
    use std::io::Cursor;

    const LABEL: &str = r#"{"Label":"1","ContentProducer":"001191440300708461136T1XGW3","ProduceID":"x"}"#;

    /// A minimal TIFF builder: IFDs of (tag, type, count, value bytes), values out of line
    /// when they do not fit, pixel data as a strip.
    struct Builder {
        codec: Codec,
        pages: Vec<Vec<(u16, u16, Vec<u8>)>>,
    }

    impl Builder {
        fn new(order: Order, layout: Layout) -> Self {
            Builder {
                codec: Codec { order, layout },
                pages: Vec::new(),
            }
        }

        fn page(mut self, extra: &[(u16, u16, Vec<u8>)]) -> Self {
            let c = self.codec;
            let mut entries = vec![
                (256, 3, c.put(1, 2)),
                (257, 3, c.put(1, 2)),
                (258, 3, c.put(8, 2)),
                (262, 3, c.put(1, 2)),
            ];
            entries.extend(extra.iter().cloned());
            entries.sort_by_key(|e| e.0);
            self.pages.push(entries);
            self
        }

        fn build(&self) -> Vec<u8> {
            let c = self.codec;
            let l = c.layout;
            let mut out = match (c.order, l) {
                (Order::Little, Layout::Classic) => b"II*\0".to_vec(),
                (Order::Big, Layout::Classic) => b"MM\0*".to_vec(),
                (Order::Little, Layout::Big) => b"II+\0\x08\0\0\0".to_vec(),
                (Order::Big, Layout::Big) => b"MM\0+\0\x08\0\0".to_vec(),
            };
            let pointer_at = out.len();
            out.extend(c.put(0, l.word()));
            let mut prev_next = pointer_at;
            for page in &self.pages {
                // Out-of-line values first, then the IFD.
                let mut fields = Vec::new();
                for (_, _, value) in page {
                    if value.len() as u64 > l.word() {
                        if out.len() % 2 == 1 {
                            out.push(0);
                        }
                        fields.push(c.put(out.len() as u64, l.word()));
                        out.extend_from_slice(value);
                    } else {
                        let mut v = value.clone();
                        v.resize(l.word() as usize, 0);
                        fields.push(v);
                    }
                }
                if out.len() % 2 == 1 {
                    out.push(0);
                }
                let ifd_at = out.len() as u64;
                out[prev_next..prev_next + l.word() as usize].copy_from_slice(&c.put(ifd_at, l.word()));
                out.extend(c.put(page.len() as u64, l.count_len()));
                for ((tag, kind, value), field) in page.iter().zip(fields) {
                    let size = if *kind == 3 { 2 } else { 1 };
                    out.extend(c.put(u64::from(*tag), 2));
                    out.extend(c.put(u64::from(*kind), 2));
                    out.extend(c.put(value.len() as u64 / size, l.word()));
                    out.extend(field);
                }
                prev_next = out.len();
                out.extend(c.put(0, l.word()));
            }
            out
        }
    }

    fn labelled_packet(id: &str) -> Vec<u8> {
        xmp::new_packet(&LABEL.replace("\"x\"", &format!("{id:?}")), 0)
    }

    fn find(data: &[u8]) -> Result<Vec<Found>> {
        Tiff.find(&mut Cursor::new(data), &Limits::default())
    }

    fn write(data: &[u8]) -> Result<(Vec<u8>, aigc_label_core::Written)> {
        let mut out = Vec::new();
        let label = Label::new("001191440300708461136T1XGW3", "new");
        let w = Tiff.write(&mut Cursor::new(data), &mut out, &label, &Limits::default())?;
        Ok((out, w))
    }

    fn layouts() -> [(Order, Layout); 4] {
        [
            (Order::Little, Layout::Classic),
            (Order::Big, Layout::Classic),
            (Order::Little, Layout::Big),
            (Order::Big, Layout::Big),
        ]
    }

    #[test]
    fn adds_ifd0_entry_by_appending_a_new_ifd0() {
        for (order, layout) in layouts() {
            let tiff = Builder::new(order, layout).page(&[]).page(&[]).build();
            assert!(Tiff.sniff(&tiff));
            assert!(find(&tiff).unwrap().is_empty());
            let (out, w) = write(&tiff).unwrap();
            // Only the pointer to IFD0 changed; everything else is appended.
            let p = layout.ifd0_pointer_at() as usize..layout.header_len() as usize;
            assert_eq!(out[..p.start], tiff[..p.start]);
            assert_eq!(out[p.end..tiff.len()], tiff[p.end..]);
            let found = find(&out).unwrap();
            assert_eq!(found.len(), 1);
            assert!(found[0].text.contains("\"new\""));
            assert_eq!(found[0].range, w.label_range);
            assert!(found[0].checks.iter().all(Check::is_ok));
            assert_eq!(w.label_range.start % layout.word(), 0);
            // The second page is still chained after the new IFD0.
            let mut src_data = Cursor::new(&out);
            let mut src = Source::new(&mut src_data, FORMAT).unwrap();
            let scan = Scan::read(&mut src, &Limits::default(), false).unwrap();
            assert_eq!(scan.ifd0.count, 5);
            let tags: Vec<u16> = scan.ifd0.entries(scan.codec).map(|e| e.tag).collect();
            assert_eq!(tags, [256, 257, 258, 262, 700]);
            assert_ne!(scan.ifd0.next, 0);
        }
    }

    #[test]
    fn a_labelled_packet_before_other_data_moves_to_the_end_even_when_it_fits() {
        for (order, layout) in layouts() {
            let packet = xmp::new_packet(LABEL, 2048);
            let tiff = Builder::new(order, layout).page(&[(700, 7, packet.clone())]).build();
            assert_eq!(find(&tiff).unwrap().len(), 1);
            let (out, w) = write(&tiff).unwrap();
            assert_eq!(w.label_range.end, out.len() as u64);
            assert_eq!(find(&out).unwrap()[0].range, w.label_range);
            let at = tiff.windows(packet.len()).position(|w| w == packet).unwrap();
            assert!(out[at..at + packet.len()].iter().all(|&b| b == 0));
            // From now on a label of the same length is overwritten in place...
            let (again, w2) = write(&out).unwrap();
            assert_eq!(again.len(), out.len());
            assert_eq!(w2.label_range, w.label_range);
            assert!((0..out.len()).all(|i| again[i] == out[i] || w.label_range.contains(&(i as u64))));
            // ...and one of any length keeps every covered byte.
            for produce_id in ["x".repeat(6000), "y".to_string()] {
                let mut longer = Vec::new();
                let label = Label::new("001191440300708461136T1XGW3", produce_id.as_str());
                Tiff.write(&mut Cursor::new(&out), &mut longer, &label, &Limits::default())
                    .unwrap();
                assert_eq!(covered(&longer, &exclusions(&longer)), covered(&out, &exclusions(&out)));
            }
        }
    }

    /// The bytes outside `ranges`, in order.
    fn covered(data: &[u8], ranges: &[Range<u64>]) -> Vec<u8> {
        (0..data.len())
            .filter(|&i| !ranges.iter().any(|r| r.contains(&(i as u64))))
            .map(|i| data[i])
            .collect()
    }

    fn exclusions(data: &[u8]) -> Vec<Range<u64>> {
        Tiff.binding_exclusions(&mut Cursor::new(data), &Limits::default())
            .unwrap()
    }

    #[test]
    fn a_packet_that_ends_the_file_is_rewritten_where_it_starts_at_any_length() {
        for (order, layout) in layouts() {
            let tiff = Builder::new(order, layout).page(&[]).page(&[]).build();
            let (first, w) = write(&tiff).unwrap();
            assert_eq!(w.label_range.end, first.len() as u64, "the new packet ends the file");
            for produce_id in ["x".repeat(6000), "y".to_string()] {
                let mut out = Vec::new();
                let label = Label::new("001191440300708461136T1XGW3", produce_id.as_str());
                let w2 = Tiff
                    .write(&mut Cursor::new(&first), &mut out, &label, &Limits::default())
                    .unwrap();
                assert_eq!(w2.label_range.start, w.label_range.start);
                assert_eq!(w2.label_range.end, out.len() as u64);
                assert!(find(&out).unwrap()[0].text.contains(&produce_id));
                assert_eq!(covered(&out, &exclusions(&out)), covered(&first, &exclusions(&first)));
                // Only the entry's type, count and offset are excluded beyond the packet.
                let excluded = out.len() - covered(&out, &exclusions(&out)).len();
                let extra = excluded as u64 - (w2.label_range.end - w2.label_range.start);
                assert_eq!(extra, layout.entry_len() - 2);
            }
        }
    }

    #[test]
    fn an_unlabelled_packet_before_other_data_moves_to_the_end_even_when_it_fits() {
        for (order, layout) in layouts() {
            let labelled = xmp::new_packet(LABEL, 4096);
            let hits = xmp::find_aigc(&labelled, &Limits::default()).unwrap();
            let packet = xmp::remove_aigc(&labelled, hits, &Limits::default()).unwrap();
            assert!(
                find(&Builder::new(order, layout).page(&[(700, 7, packet.clone())]).build())
                    .unwrap()
                    .is_empty()
            );
            let tiff = Builder::new(order, layout).page(&[(700, 7, packet.clone())]).build();
            let (out, w) = write(&tiff).unwrap();
            assert_eq!(w.label_range.end, out.len() as u64);
            let at = tiff.windows(packet.len()).position(|w| w == packet).unwrap();
            assert!(out[at..at + packet.len()].iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn packet_that_grows_moves_to_the_end_and_the_old_one_is_zeroed() {
        for (order, layout) in layouts() {
            let packet = labelled_packet("old");
            let tiff = Builder::new(order, layout).page(&[(700, 1, packet.clone())]).build();
            let old_at = tiff.windows(packet.len()).position(|w| w == packet).unwrap();
            let (out, w) = write(&tiff).unwrap();
            assert!(w.label_range.start >= tiff.len() as u64);
            assert!(out[old_at..old_at + packet.len()].iter().all(|&b| b == 0));
            let found = find(&out).unwrap();
            assert_eq!(found.len(), 1);
            assert!(found[0].text.contains("\"new\""));
        }
    }

    #[test]
    fn copies_in_later_pages_and_second_entries_are_removed_in_place() {
        for (order, layout) in layouts() {
            let page2 = labelled_packet("page2");
            let tiff = Builder::new(order, layout)
                .page(&[(700, 7, xmp::new_packet(LABEL, 2048))])
                .page(&[(700, 7, page2.clone())])
                .build();
            let found = find(&tiff).unwrap();
            assert_eq!(found.len(), 2);
            assert_eq!(found[1].carrier, "IFD1 XMP (tag 700)");
            assert_eq!(found[1].checks[0].level, Level::Warn);
            let (out, w) = write(&tiff).unwrap();
            // IFD0's packet moves to the end; page 2's stays where it was.
            assert_eq!(w.label_range.end, out.len() as u64);
            let found = find(&out).unwrap();
            assert_eq!(found.len(), 1, "{found:#?}");
            assert_eq!(found[0].carrier, "IFD0 XMP (tag 700)");
            // Page 2's packet is still a packet, of the same length, without the property.
            let at = tiff.windows(page2.len()).position(|w| w == page2).unwrap();
            let rewritten = &out[at..at + page2.len()];
            assert!(xmp::find_aigc(rewritten, &Limits::default()).unwrap().is_empty());
        }
    }

    #[test]
    fn ascii_type_is_read_with_a_warning_and_other_types_are_refused_on_write() {
        let tiff = Builder::new(Order::Little, Layout::Classic)
            .page(&[(700, 2, labelled_packet("a"))])
            .build();
        let found = find(&tiff).unwrap();
        assert!(found[0].checks.iter().any(|c| c.level == Level::Warn));
        let short = Builder::new(Order::Little, Layout::Classic)
            .page(&[(700, 3, vec![0; 8])])
            .build();
        assert!(find(&short).unwrap().is_empty());
        assert!(matches!(write(&short), Err(Error::Malformed { .. })));
    }

    #[test]
    fn a_truncated_multi_page_file_is_read_up_to_the_cut_and_flagged() {
        for (order, layout) in layouts() {
            let input = Builder::new(order, layout)
                .page(&[(700, TYPE_BYTE, labelled_packet("a"))])
                .page(&[(700, TYPE_BYTE, labelled_packet("b"))])
                .build();
            // Cut inside the second IFD, and inside the second page's packet.
            let ifd1_len = (layout.count_len() + 5 * layout.entry_len() + layout.word()) as usize;
            let packet_len = labelled_packet("b").len();
            for cut in [input.len() - 3, input.len() - ifd1_len - packet_len / 2] {
                let data = &input[..cut];
                let found = find(data).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
                assert_eq!(found.len(), 1, "cut at {cut}: {found:?}");
                let check = found[0].checks.iter().find(|c| c.id == id::STRUCTURE_TRUNCATED);
                assert!(check.is_some_and(|c| c.level == Level::Warn), "{:?}", found[0].checks);
                assert!(matches!(write(data), Err(Error::Truncated { .. })), "cut at {cut}");
                assert!(
                    Tiff.binding_exclusions(&mut Cursor::new(data), &Limits::default())
                        .is_ok()
                );
            }
            assert!(
                find(&input)
                    .unwrap()
                    .iter()
                    .all(|f| f.checks.iter().all(|c| c.id != id::STRUCTURE_TRUNCATED))
            );
        }
    }

    /// The type of IFD0's tag 700 entry.
    fn xmp_type(data: &[u8]) -> u16 {
        let mut cursor = Cursor::new(data);
        let mut src = Source::new(&mut cursor, FORMAT).unwrap();
        let scan = Scan::read(&mut src, &Limits::default(), false).unwrap();
        scan.primary().unwrap().entry.kind
    }

    #[test]
    fn tag_700_is_written_as_byte() {
        for (order, layout) in layouts() {
            // Added, moved, and kept in place: BYTE each time.
            let plain = Builder::new(order, layout).page(&[]).build();
            let (added, _) = write(&plain).unwrap();
            assert_eq!(xmp_type(&added), TYPE_BYTE);
            let undefined = Builder::new(order, layout)
                .page(&[(700, TYPE_UNDEFINED, labelled_packet("a")), (800, 1, vec![1; 9])])
                .build();
            let (moved, _) = write(&undefined).unwrap();
            assert_eq!(xmp_type(&moved), TYPE_BYTE);
            let mut in_place = moved.clone();
            let entry = {
                let mut cursor = Cursor::new(&moved);
                let mut src = Source::new(&mut cursor, FORMAT).unwrap();
                Scan::read(&mut src, &Limits::default(), false)
                    .unwrap()
                    .primary()
                    .unwrap()
                    .entry
                    .at as usize
            };
            let codec = Codec { order, layout };
            in_place[entry + 2..entry + 4].copy_from_slice(&codec.put(u64::from(TYPE_UNDEFINED), 2));
            let (rewritten, w) = write(&in_place).unwrap();
            assert_eq!(rewritten.len(), in_place.len());
            assert_eq!(xmp_type(&rewritten), TYPE_BYTE);
            assert_eq!(w.label_range, find(&rewritten).unwrap()[0].range);
        }
    }

    /// `data` with an Exif IFD appended that holds `comment` as `UserComment`, and IFD0's
    /// tag 34665 entry (already present) pointing at it.
    fn with_exif_ifd(data: &[u8], codec: Codec, comment: &[u8]) -> Vec<u8> {
        with_exif_ifd_at(data, codec, comment, None)
    }

    /// As [`with_exif_ifd`], or with the `UserComment` entry pointing at `alias` (offset and
    /// count) instead of a value of its own.
    fn with_exif_ifd_at(data: &[u8], codec: Codec, comment: &[u8], alias: Option<(u64, u64)>) -> Vec<u8> {
        let l = codec.layout;
        let mut out = data.to_vec();
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let mut value_at = out.len() as u64;
        let mut count = comment.len() as u64;
        match alias {
            Some((at, n)) => (value_at, count) = (at, n),
            None => out.extend_from_slice(comment),
        }
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let ifd_at = out.len() as u64;
        out.extend(codec.put(1, l.count_len()));
        out.extend(codec.put(u64::from(exif::TAG_USER_COMMENT), 2));
        out.extend(codec.put(u64::from(TYPE_UNDEFINED), 2));
        out.extend(codec.put(count, l.word()));
        out.extend(codec.put(value_at, l.word()));
        out.extend(codec.put(0, l.word()));
        let pointer = {
            let mut cursor = Cursor::new(data);
            let mut src = Source::new(&mut cursor, FORMAT).unwrap();
            let scan = Scan::read(&mut src, &Limits::default(), false).unwrap();
            scan.ifd0
                .entries(codec)
                .find(|e| e.tag == exif::TAG_EXIF_IFD)
                .unwrap()
                .at as usize
        };
        let word = l.word() as usize;
        out[pointer + 4..pointer + 4 + word].copy_from_slice(&codec.put(1, l.word()));
        out[pointer + 4 + word..pointer + 4 + 2 * word].copy_from_slice(&codec.put(ifd_at, l.word()));
        out
    }

    /// The wrapped label, and a `UserComment` value (ASCII) holding it.
    fn wrapped_comment() -> (String, Vec<u8>) {
        let wrapped = LABEL.replace("{\"Label", "{\"AIGC\":{\"Label") + "}";
        let comment = [b"ASCII\0\0\0".as_slice(), wrapped.as_bytes()].concat();
        (wrapped, comment)
    }

    /// A one-page file in each layout whose IFD0 has an Exif IFD pointer (tag 34665, no IFD yet).
    fn with_exif_pointer() -> impl Iterator<Item = (Codec, Vec<u8>)> {
        layouts().into_iter().map(|(order, layout)| {
            let kind = if layout == Layout::Big { 16 } else { 4 };
            let base = Builder::new(order, layout)
                .page(&[(34665, kind, vec![0; layout.word() as usize])])
                .build();
            (Codec { order, layout }, base)
        })
    }

    #[test]
    fn a_label_in_the_exif_user_comment_is_read_and_blanked() {
        let (wrapped, comment) = wrapped_comment();
        for (codec, base) in with_exif_pointer() {
            let layout = codec.layout;
            let input = with_exif_ifd(&base, codec, &comment);
            let found = find(&input).unwrap();
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(found[0].carrier, exif::CARRIER);
            assert_eq!(found[0].text, wrapped);
            assert_eq!(found[0].expected_shape, Shape::Wrapped);
            assert_eq!(found[0].checks[0].level, Level::Warn);
            let value = found[0].range.start as usize..found[0].range.end as usize;

            let (out, _) = write(&input).unwrap();
            let after = find(&out).unwrap();
            assert_eq!(after.len(), 1, "{after:?}");
            assert_eq!(after[0].carrier, "IFD0 XMP (tag 700)");
            // Same length, character code kept, text blanked.
            assert_eq!(out[value.start..value.start + 8], comment[..8]);
            assert!(out[value.start + 8..value.end].iter().all(|&b| b == b' '));
            // Nothing else before it changed but the header's pointer to the grown IFD0.
            let header = layout.header_len() as usize;
            assert_eq!(out[header..value.start], input[header..value.start]);
        }
        // A UserComment that points into the XMP packet, or into IFD0: not a copy of its own.
        for (order, layout) in layouts() {
            let codec = Codec { order, layout };
            let kind = if layout == Layout::Big { 16 } else { 4 };
            let base = Builder::new(order, layout)
                .page(&[
                    (700, TYPE_BYTE, labelled_packet("a")),
                    (34665, kind, vec![0; layout.word() as usize]),
                ])
                .build();
            let packet = find(&base).unwrap()[0].range.clone();
            let ifd0 = codec.uint(&base[layout.ifd0_pointer_at() as usize..][..layout.word() as usize]);
            for alias in [(packet.start, packet.end - packet.start), (ifd0, 40), (0, 40)] {
                let input = with_exif_ifd_at(&base, codec, b"", Some(alias));
                let found = find(&input).unwrap();
                assert_eq!(found.len(), 1, "{alias:?}: {found:?}");
                let (out, _) = write(&input).unwrap();
                assert_eq!(find(&out).unwrap().len(), 1, "{alias:?}");
            }
        }
        // A pointer to nowhere, into the header, or of the wrong type: no comment, no error.
        for (field, kind) in [(vec![0xFF; 4], 4), (vec![0, 0, 0, 0], 4), (vec![8, 0, 0, 0], 3)] {
            let broken = Builder::new(Order::Little, Layout::Classic)
                .page(&[(34665, kind, field)])
                .build();
            assert!(find(&broken).unwrap().is_empty());
            assert_eq!(find(&write(&broken).unwrap().0).unwrap().len(), 1);
        }
    }

    /// A `UserComment` holding a label whose value runs past the end of the file is no copy
    /// (it cannot be read), but appending to the file would complete it: the write refuses
    /// rather than leave a second label behind (fuzz `tiff`, `crash-90aa3138`).
    #[test]
    fn a_user_comment_past_the_end_is_refused_on_write() {
        let (_, comment) = wrapped_comment();
        for (codec, base) in with_exif_pointer() {
            let at = with_exif_ifd_at(&base, codec, b"", Some((0, 0))).len() as u64;
            let count = comment.len() as u64 + 3;
            let mut input = with_exif_ifd_at(&base, codec, b"", Some((at, count)));
            input.extend_from_slice(&comment);
            assert!(find(&input).unwrap().is_empty());
            let refused = write(&input).unwrap_err();
            assert!(matches!(refused, Error::Truncated { .. }), "{refused}");
            // The same comment inside the file is read and blanked.
            let mut whole = with_exif_ifd_at(&base, codec, b"", Some((at, count - 3)));
            whole.extend_from_slice(&comment);
            assert_eq!(find(&whole).unwrap().len(), 1);
            assert_eq!(find(&write(&whole).unwrap().0).unwrap().len(), 1);
        }
    }

    #[test]
    fn empty_packet_is_replaced() {
        let tiff = Builder::new(Order::Big, Layout::Classic)
            .page(&[(700, 7, vec![b' '; 3])])
            .build();
        let (out, _) = write(&tiff).unwrap();
        assert_eq!(find(&out).unwrap().len(), 1);
    }

    #[test]
    fn malformed_inputs_are_errors() {
        let good = Builder::new(Order::Little, Layout::Classic)
            .page(&[(700, 7, labelled_packet("a"))])
            .page(&[])
            .build();
        let ifd0 = u32::from_le_bytes(good[4..8].try_into().unwrap()) as usize;
        let mut lying_ifd = good.clone();
        lying_ifd[4..8].copy_from_slice(&(good.len() as u32 + 10).to_le_bytes());
        let mut into_header = good.clone();
        into_header[4..8].copy_from_slice(&4u32.to_le_bytes());
        let mut lying_count = good.clone();
        lying_count[ifd0..ifd0 + 2].copy_from_slice(&u16::MAX.to_le_bytes());
        let mut zero_count = good.clone();
        zero_count[ifd0..ifd0 + 2].copy_from_slice(&0u16.to_le_bytes());
        let next_at = ifd0 + 2 + 5 * 12;
        let mut self_loop = good.clone();
        self_loop[next_at..next_at + 4].copy_from_slice(&(ifd0 as u32).to_le_bytes());
        let mut lying_value = good.clone();
        let xmp_entry = ifd0 + 2 + 4 * 12;
        lying_value[xmp_entry + 4..xmp_entry + 8].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        let mut bad_version = good.clone();
        bad_version[2] = 41;
        let mut bad_big = Builder::new(Order::Big, Layout::Big).page(&[]).build();
        bad_big[5] = 4;
        let mut random = b"II*\0".to_vec();
        random.extend((0u32..300).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("magic only", b"II*\0".to_vec()),
            ("zero bytes", [b"MM\0*".as_slice(), &[0; 64]].concat()),
            ("not tiff", b"GIF89a and more bytes".to_vec()),
            ("truncated", good[..good.len() - 3].to_vec()),
            ("IFD0 past the end", lying_ifd),
            ("IFD0 in the header", into_header),
            ("lying entry count", lying_count),
            ("no entries", zero_count),
            ("IFD loop", self_loop),
            ("lying value count", lying_value),
            ("bad version", bad_version),
            ("bad BigTIFF header", bad_big),
            ("random after magic", random),
        ];
        for (name, data) in cases {
            // A file cut inside its second IFD is read up to the cut (flagged); the rest is
            // refused by both.
            if let Ok(found) = find(&data) {
                assert_eq!(name, "truncated");
                let flagged = |f: &Found| f.checks.iter().any(|c| c.id == id::STRUCTURE_TRUNCATED);
                assert!(!found.is_empty() && found.iter().all(flagged), "{name}: {found:?}");
            }
            assert!(write(&data).is_err(), "{name}: write");
        }
    }

    #[test]
    fn every_truncation_and_corruption_is_handled_without_panic() {
        let good = Builder::new(Order::Big, Layout::Big)
            .page(&[(700, 7, labelled_packet("a"))])
            .page(&[(700, 1, labelled_packet("b"))])
            .build();
        let excludes = |data: &[u8]| Tiff.binding_exclusions(&mut Cursor::new(data), &Limits::default());
        for cut in 0..good.len() {
            let part = &good[..cut];
            assert_eq!(find(part).is_ok(), excludes(part).is_ok(), "cut at {cut}");
            let _ = write(part);
        }
        for i in 0..good.len().min(200) {
            for v in [0x00, 0x01, 0x7F, 0xFF] {
                let mut bad = good.clone();
                bad[i] = v;
                assert_eq!(find(&bad).is_ok(), excludes(&bad).is_ok(), "byte {i} = {v}");
                if find(&bad).is_ok() {
                    if let Ok((out, _)) = write(&bad) {
                        assert_eq!(find(&out).unwrap().len(), 1, "byte {i} = {v}");
                    }
                }
            }
        }
    }

    #[test]
    fn strips_and_tiles_past_the_end_are_a_cut_file() {
        for (order, layout) in layouts() {
            let c = Codec { order, layout };
            // SHORT values, which the builder counts right.
            let long = |tag: u16, v: u64| (tag, 3u16, c.put(v, 2));
            for (offsets, counts) in IMAGE_DATA {
                let inside = Builder::new(order, layout)
                    .page(&[long(offsets, 0), long(counts, 4)])
                    .build();
                assert!(find(&inside).unwrap().is_empty());
                write(&inside).unwrap();
                let past = Builder::new(order, layout)
                    .page(&[long(offsets, 0), long(counts, 60_000)])
                    .build();
                // Unlabelled: the cut is the answer of both, as for any cut file.
                assert!(
                    matches!(find(&past), Err(Error::Truncated { .. })),
                    "{order:?} {layout:?}"
                );
                let e = write(&past).unwrap_err();
                assert!(e.to_string().contains("strip or tile data"), "{e}");
                // Labelled: the label is read and flagged; the write still refuses.
                let labelled = Builder::new(order, layout)
                    .page(&[long(offsets, 0), long(counts, 60_000), (700, 1, labelled_packet("a"))])
                    .build();
                let found = find(&labelled).unwrap();
                assert_eq!(found.len(), 1);
                assert!(found[0].checks.iter().any(|k| k.id == id::STRUCTURE_TRUNCATED));
                assert!(matches!(write(&labelled), Err(Error::Truncated { .. })));
                // An offsets array that itself lies past the end is a cut too.
                let mut cur = Cursor::new(&inside);
                let mut src = Source::new(&mut cur, FORMAT).unwrap();
                let entry = Entry {
                    at: 8,
                    tag: offsets,
                    kind: 4,
                    count: 100,
                    field: 1 << 30,
                };
                assert_eq!(uint_array(&mut src, c, &entry, &Limits::default()).unwrap(), None);
            }
        }
    }

    #[test]
    fn limits_bound_the_walk() {
        let tiff = Builder::new(Order::Little, Layout::Classic).page(&[]).page(&[]).build();
        let mut limits = Limits::default();
        limits.max_structures = 6;
        let r = Tiff.find(&mut Cursor::new(&tiff), &limits);
        assert!(matches!(r, Err(Error::Limit { .. })), "{r:?}");
    }

    #[test]
    fn visited_offsets_are_refused_in_any_order() {
        let mut v = Visited::default();
        for o in [100, 200, 300, 50, 60, 250, 70] {
            assert!(v.insert(o), "{o}");
        }
        for o in [100, 200, 300, 50, 60, 250, 70] {
            assert!(!v.insert(o), "{o} again");
        }
        assert_eq!(v.len(), 7);
        // Past the runs it bisects, every offset is hashed.
        let mut v = Visited::default();
        for o in (0..100u64).map(|i| if i % 2 == 0 { 1000 + i } else { 1000 - i }) {
            assert!(v.insert(o));
        }
        assert!(v.hashed.is_some());
        assert!(!v.insert(1000) && !v.insert(999) && v.insert(5));
        assert_eq!(v.len(), 101);
    }

    #[test]
    fn codec_round_trips_numbers() {
        for order in [Order::Little, Order::Big] {
            let c = Codec {
                order,
                layout: Layout::Big,
            };
            for (v, w) in [(0x1234u64, 2u64), (0xdead_beef, 4), (u64::MAX - 5, 8)] {
                assert_eq!(c.uint(&c.put(v, w)), v);
            }
        }
    }
}
