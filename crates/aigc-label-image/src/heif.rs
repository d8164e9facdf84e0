//! HEIF and AVIF: the label is the XMP property `TC260:AIGC` in an XMP item, a `mime` item with
//! content type `application/rdf+xml` in the top-level `meta` box (spec section 4, HEIF/AVIF
//! row; ISO/IEC 23008-12 A.2; XMP specification part 3).
//!
//! [`Heif::find`] walks the top-level boxes, buffers the `meta` box (within
//! [`Limits::max_metadata_bytes`]) and parses `iinf` (what each item is) and `iloc` (where its
//! bytes are). For every XMP item it reads the item's extents, from the file (construction
//! method 0) or from `idat` (method 1), inflates it when its content encoding is `deflate` (as
//! libheif writes with metadata compression), and reports each `TC260:AIGC` property. Image
//! data is never read. A second XMP item holding a label, and a compressed one (ExifTool cannot
//! read it), are reported with a [`carrier.place`](id::CARRIER_PLACE) warning, as is a wrapped
//! label in the EXIF `UserComment` of an `Exif` item.
//!
//! [`Heif::write`] changes as little as it can. Everything is planned before a byte is written:
//! - An XMP item exists (the one holding a label, else the first) whose bytes lie in an `mdat`
//!   box of its own that ends the file and holds nothing else but the room this writer leaves
//!   (where this writer puts a packet it moves or adds; an `mdat` with any other bytes is
//!   someone else's and is kept, as in the next case): that
//!   `mdat` is replaced by a new one holding the new packet and the room after it (below); the
//!   item's `iloc` entry gets the new offset and length. Nothing else changes, so rewriting a
//!   label this carrier wrote keeps every other byte where it was (see
//!   [`Heif::binding_exclusions`]).
//! - An XMP item stored anywhere else (in `idat`, in an `mdat` before other data or shared with
//!   it), whether or not it holds a label yet and even when its padding would absorb the new
//!   one: the packet is appended at the end of the file in a new `mdat` box, and the item's
//!   `iloc` entry points at it (construction method 0); its old bytes are zeroed, so no stale
//!   copy of a label stays behind. So after this writer's first write the packet always ends
//!   the file. Keeping a label another tool wrote in place while its padding lasts would save
//!   its length in file growth, but a later label that outgrew the padding would then move it,
//!   and a signature made in between would no longer verify. A compressed packet is rewritten
//!   uncompressed, and its `infe` loses the content encoding.
//! - Without an XMP item, one is added: an `infe` (version 2, hidden, `mime`,
//!   `application/rdf+xml`) in `iinf`, an `iloc` entry, and an `iref` `cdsc` reference from it to
//!   the primary item, with the packet appended in a new `mdat` as above.
//! - The `mdat` this writer appends holds the packet, then zeros as long as the packet plus
//!   [`Limits::label_room`] (none when that is 0): the room where [`in_place`] puts a later
//!   label and flips the item's `iloc` extent to it, without rewriting the file.
//! - A `TC260:AIGC` property in any other XMP item is removed in place, the packet padded back
//!   to its length, so one copy remains; a labelled `UserComment` in an `Exif` item is blanked
//!   in place, same length.
//!
//! When `meta` changes size, every byte after it moves by the same amount. Nothing else in a
//! HEIF file points into the file but `iloc`, so every `iloc` extent with construction method 0
//! whose data lies after `meta` gets the difference added (to its base offset when that lies
//! after `meta`, else to the extent offset), in the field widths the box already has; `idat`
//! offsets are relative to `idat` and do not change. Files with a `moov` box (image sequences),
//! whose sample tables point into the file too, are refused with [`Error::Unsupported`] in that
//! case, as are offsets that no longer fit their fields and item data addressed by file offset
//! inside `meta` itself. A last top-level box whose size field is 0 ("to the end of the file")
//! gets its real size before a box is appended after it.
//!
//! The box walker is our own: the crates that read HEIF decode images and do not expose byte
//! positions, and the video crate's ISO-BMFF walker is not a dependency of this one.

mod boxes;
pub mod in_place;
mod items;

use std::ops::Range;

use aigc_label_core::check::{Check, id};
use aigc_label_core::container::inflate::{InflateError, Stream, inflate};
use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::json::{self, Shape};
use aigc_label_core::plan::{Piece, Plan as EditPlan, PlanBuilder};
use aigc_label_core::xmp::XmpHit;
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result};

use crate::jpeg::search_packet;
use crate::{exif, truncated};
use aigc_label_core::container::xmp_plan::pad_to;
use aigc_label_core::container::xmp_plan::{self, Target};
use boxes::{BoxRef, Budget, set_uint};
use items::{Iinf, Iloc, Infe, Location, new_infe};

/// Format name used in errors and reports.
const FORMAT: &str = "heif";

/// Major brands of HEIF still images and sequences, AVIF included (ISO/IEC 23008-12 Annex B,
/// AV1 Image File Format 8). Other ISO-BMFF files belong to the MP4 carrier.
const BRANDS: [&[u8; 4]; 9] = [
    b"mif1", b"msf1", b"heic", b"heix", b"heim", b"heis", b"avif", b"avis", b"avio",
];

/// The content type of the XMP items this carrier writes.
const XMP_CONTENT_TYPE: &[u8] = b"application/rdf+xml";

/// `infe` flag: the item is not meant to be displayed (set for metadata, as libheif and ExifTool
/// do).
const HIDDEN: u32 = 1;

/// The HEIF / AVIF carrier: an XMP `mime` item in the top-level `meta` box.
///
/// ```
/// use std::io::Cursor;
/// use aigc_label_core::{Carrier, Label, Limits};
/// use aigc_label_image::Heif;
///
/// fn boxed(kind: &[u8], body: &[u8]) -> Vec<u8> {
///     [&(body.len() as u32 + 8).to_be_bytes()[..], kind, body].concat()
/// }
/// // ftyp, then meta (hdlr, pitm, iinf with one av01 item, iloc pointing into mdat), then mdat.
/// let ftyp = boxed(b"ftyp", b"avif\0\0\0\0mif1avif");
/// let hdlr = boxed(b"hdlr", b"\0\0\0\0\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0");
/// let pitm = boxed(b"pitm", b"\0\0\0\0\0\x01");
/// let infe = boxed(b"infe", b"\x02\0\0\0\0\x01\0\0av01\0");
/// let iinf = boxed(b"iinf", &[&b"\0\0\0\0\0\x01"[..], &infe].concat());
/// let mdat_at = ftyp.len() as u32 + 8 + 4 + hdlr.len() as u32 + pitm.len() as u32 + iinf.len() as u32 + 30;
/// let iloc = boxed(b"iloc", &[&b"\0\0\0\0\x44\0\0\x01\0\x01\0\0\0\x01"[..], &(mdat_at + 8).to_be_bytes(), &3u32.to_be_bytes()].concat());
/// let meta = boxed(b"meta", &[&b"\0\0\0\0"[..], &hdlr, &pitm, &iinf, &iloc].concat());
/// let avif = [ftyp, meta, boxed(b"mdat", b"av1")].concat();
/// assert!(Heif.sniff(&avif));
///
/// let label = Label::new("001191440300708461136T1XGW3", "img-0001");
/// let mut out = Vec::new();
/// let written = Heif.write(&mut Cursor::new(&avif), &mut out, &label, &Limits::default())?;
/// assert_eq!(written.bytes_written, out.len() as u64);
/// assert_eq!(Heif.find(&mut Cursor::new(&out), &Limits::default())?.len(), 1);
/// // The image item's bytes moved with the grown meta box, and its iloc entry followed them.
/// assert!(out.windows(3).any(|w| w == b"av1"));
/// # Ok::<(), aigc_label_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Heif;

impl Carrier for Heif {
    fn info(&self) -> &'static aigc_label_core::Info {
        &aigc_label_core::Info {
            format: FORMAT,
            media_type: "image/heif",
            extensions: &["heic", "heif", "avif", "hif"],
        }
    }

    fn traces(&self) -> Option<&'static dyn aigc_label_core::traces::TraceScanner> {
        Some(&aigc_label_core::traces::BmffScanner)
    }

    fn in_place(&self) -> Option<&dyn aigc_label_core::in_place::InPlace> {
        Some(self)
    }

    /// An `ftyp` box first, with a HEIF or AVIF major brand.
    fn sniff(&self, head: &[u8]) -> bool {
        head.get(4..8) == Some(b"ftyp")
            && head
                .get(8..12)
                .is_some_and(|b| BRANDS.iter().any(|m| m.as_slice() == b))
    }

    /// Lenient about a truncated file (a top-level box after `ftyp` that runs past the end,
    /// typically `mdat`): the boxes before the cut are read and every copy found gets a
    /// [`structure.truncated`](id::STRUCTURE_TRUNCATED) warning (without a copy, the cut is the
    /// error); [`Heif::write`] refuses such a file.
    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>> {
        let mut src = Source::new(input, FORMAT)?;
        let file = File::read(&mut src, limits, true)?;
        let mut found = file.copies(&mut src, limits)?;
        if let Some(offset) = file.truncated {
            truncated::flag(
                FORMAT,
                &mut found,
                offset,
                "this top-level box runs past the end of the file",
            )?;
        }
        Ok(found)
    }

    /// One walk of the top-level boxes and one read of `meta` and of the metadata items: the
    /// output is the input's ranges with the few patched bytes, the new `meta` and the
    /// appended `mdat` (see [`Heif::write`]).
    fn plan(
        &self,
        input: &mut dyn ReadSeek,
        label: &Label,
        limits: &Limits,
        out: PlanBuilder<'_>,
    ) -> Result<Option<EditPlan>> {
        edit_plan(input, label, limits, out).map(Some)
    }

    /// Excluded: the stored bytes of every XMP item that holds a label, and of the XMP item
    /// [`Heif::write`] puts the label in (the first that holds one, else the first XMP item);
    /// that item's `iloc` entry (its offset and length fields change when the packet moves or
    /// changes length); and, when its bytes lie in an `mdat` box of its own that ends the file,
    /// that whole box, whose size follows the packet and whose room takes later packets
    /// ([`in_place`]).
    ///
    /// Covered: `ftyp`, every other byte of `meta` (`hdlr`, `pitm`, `iinf`, the other `iloc`
    /// entries, `iref`, `iprp` with every property, `idat` outside the item) and every other
    /// box, image data included.
    ///
    /// The writer keeps this true: the first label it writes into a file always goes to an
    /// `mdat` of its own that ends the file, a label another tool stored elsewhere (ExifTool's,
    /// say) included, whose old bytes, zeroed, are covered from then on. A later label is
    /// written into that `mdat`'s room in place, or replaces that `mdat`, so `meta` keeps its
    /// size and no other offset moves. So a binding made after this writer's first write holds
    /// across every later update and rewrite, whatever the label's length.
    fn binding_exclusions(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Range<u64>>> {
        let mut src = Source::new(input, FORMAT)?;
        let file = File::read(&mut src, limits, true)?;
        let items = file.xmp_items(&mut src, limits)?;
        if let Some(offset) = file.truncated {
            // As `find`: a cut file with no copy before the cut is an error.
            let none = items.iter().all(|i| i.hits.is_empty()) && file.exif_items(&mut src, limits)?.is_empty();
            if none {
                truncated::flag(
                    FORMAT,
                    &mut [],
                    offset,
                    "this top-level box runs past the end of the file",
                )?;
            }
        }
        let mut out: Vec<Range<u64>> = items
            .iter()
            .filter(|i| !i.hits.is_empty())
            .map(|i| file.extent_of(&i.spans))
            .collect();
        if let Some(item) = primary(&items).and_then(|i| items.get(i)) {
            let extent = file.extent_of(&item.spans);
            if !out.contains(&extent) {
                out.push(extent);
            }
            if let Some(mdat) = file.trailing_mdat(&mut src, item.infe.id, &item.spans, limits)? {
                out.push(mdat.start..mdat.end);
            }
            if let Some(loc) = file.meta.iloc.item(item.infe.id) {
                let at = file.meta.b.start;
                out.push(at + loc.range.start as u64..at + loc.range.end as u64);
            }
        }
        Ok(out)
    }
}

/// The XMP item a write puts the label in: the first that holds a label, else the first.
fn primary(items: &[XmpItem<'_>]) -> Option<usize> {
    let labelled: Vec<bool> = items.iter().map(|i| !i.hits.is_empty()).collect();
    xmp_plan::target(&labelled, Target::Labelled)
}

/// The top-level boxes and the parsed `meta` box.
#[derive(Debug)]
struct File {
    len: u64,
    top: Vec<BoxRef>,
    meta: Meta,
    /// A lenient read found the top-level box at this offset cut short by the end of the file.
    truncated: Option<u64>,
}

/// The top-level `meta` box, buffered: buffer offset 0 is the box's first byte.
#[derive(Debug)]
struct Meta {
    /// The box in the file.
    b: BoxRef,
    buf: Vec<u8>,
    /// Offset of the first child (after the full-box header).
    children_at: usize,
    children: Vec<BoxRef>,
    pitm: Option<u32>,
    iinf: Iinf,
    iloc: Iloc,
    /// The `iref` box and its version.
    iref: Option<(BoxRef, u8)>,
    /// The payload of `idat`.
    idat: Option<Range<usize>>,
}

impl File {
    /// Walks the top-level boxes and parses the first `meta` box; `lenient` stops at a box cut
    /// short by the end of the file instead of failing.
    fn read(src: &mut Source<'_>, limits: &Limits, lenient: bool) -> Result<File> {
        let mut budget = Budget::new(limits);
        let (top, truncated) = if lenient {
            boxes::top_level_lenient(src, &mut budget)?
        } else {
            (boxes::top_level(src, &mut budget)?, None)
        };
        File::assemble(src, top, truncated, &mut budget, limits)
    }

    /// The file whose top-level boxes are `top`: its `meta` box read and parsed.
    fn assemble(
        src: &mut Source<'_>,
        top: Vec<BoxRef>,
        truncated: Option<u64>,
        budget: &mut Budget,
        limits: &Limits,
    ) -> Result<File> {
        if !top.first().is_some_and(|b| b.is(b"ftyp")) {
            return Err(Error::malformed(FORMAT, 0, "the first box is not ftyp"));
        }
        let meta_box = *top
            .iter()
            .find(|b| b.is(b"meta"))
            .ok_or_else(|| Error::malformed(FORMAT, 0, "no top-level meta box"))?;
        src.seek_to(meta_box.start)?;
        let buf = src.read_vec(meta_box.end - meta_box.start, "meta box", limits)?;
        let meta = Meta::parse(buf, meta_box, budget)?;
        Ok(File {
            len: src.len(),
            top,
            meta,
            truncated,
        })
    }

    /// The label copies in the file's Exif and XMP items, as [`Heif::find`] reports them.
    fn copies(&self, src: &mut Source<'_>, limits: &Limits) -> Result<Vec<Found>> {
        let mut found = Vec::new();
        let mut first = true;
        for item in self.exif_items(src, limits)? {
            let detail = format!(
                "Exif item {} is not where GB 45438 puts the HEIF label: the XMP property TC260:AIGC in an \
                 XMP mime item (application/rdf+xml)",
                item.id
            );
            for comment in item.comments {
                if found.len() < limits.max_copies {
                    found.push(comment.found(self.extent_of(&item.spans), &detail));
                }
            }
        }
        for item in self.xmp_items(src, limits)? {
            for hit in &item.hits {
                if found.len() < limits.max_copies {
                    let mut copy = item.found(self, hit.value.clone(), first);
                    copy.checks.extend(hit.checks());
                    found.push(copy);
                }
                first = false;
            }
        }
        Ok(found)
    }

    /// Every XMP item with its packet and the labels in it, in `iinf` order.
    fn xmp_items<'f>(&'f self, src: &mut Source<'_>, limits: &Limits) -> Result<Vec<XmpItem<'f>>> {
        let mut out = Vec::new();
        for infe in self.meta.iinf.entries.iter().filter(|e| e.is_xmp()) {
            let spans = self.spans(infe.id)?;
            let stored = self.read_spans(src, &spans, limits)?;
            let packet = decode(infe, stored, limits)?;
            let hits = search_packet(&packet, limits).map_err(|e| in_item(infe.id, e))?;
            out.push(XmpItem {
                infe,
                spans,
                packet,
                hits,
            });
        }
        Ok(out)
    }

    /// Every `Exif` item whose `UserComment` holds a label, with its data, in `iinf` order.
    /// EXIF is not the label's carrier, so an item this reader cannot reach (stored elsewhere,
    /// built from other items, past the end of the file, over [`Limits::max_metadata_bytes`])
    /// is skipped rather than failing the file; `find` and `write` skip the same items.
    fn exif_items(&self, src: &mut Source<'_>, limits: &Limits) -> Result<Vec<ExifItem>> {
        let mut out = Vec::new();
        for infe in self.meta.iinf.entries.iter().filter(|e| &e.item_type == b"Exif") {
            let Ok(spans) = self.spans(infe.id) else {
                continue;
            };
            if spans.iter().map(Span::len).sum::<u64>() > limits.max_metadata_bytes {
                continue;
            }
            let data = self.read_spans(src, &spans, limits)?;
            let Some(tiff_at) = exif_tiff_start(&data) else {
                continue;
            };
            let comments = exif::labelled(&data, tiff_at, limits);
            if !comments.is_empty() {
                out.push(ExifItem {
                    id: infe.id,
                    spans,
                    data,
                    comments,
                });
            }
        }
        Ok(out)
    }

    /// Where item `id`'s bytes are, checked against the file and `idat`.
    fn spans(&self, id: u32) -> Result<Vec<Span>> {
        let meta = &self.meta;
        let loc = meta
            .iloc
            .item(id)
            .ok_or_else(|| Error::malformed(FORMAT, meta.b.start, format!("item {id} has no iloc entry")))?;
        self.located(loc)
    }

    /// Where the bytes of the item `loc` locates are, checked against the file and `idat`.
    fn located(&self, loc: &Location) -> Result<Vec<Span>> {
        let (meta, id) = (&self.meta, loc.id);
        let unsupported = |what: &str| Error::unsupported("heif", format!("XMP item {id} {what}"));
        if loc.data_reference != 0 {
            return Err(unsupported("is stored in another file"));
        }
        let (source_len, method) = match loc.method {
            0 => (self.len, 0),
            1 => {
                let idat = meta.idat.clone().ok_or_else(|| {
                    Error::malformed(FORMAT, meta.b.start, format!("item {id} is in idat, which is missing"))
                })?;
                ((idat.end - idat.start) as u64, 1)
            }
            _ => return Err(unsupported("is built from another item (construction method 2)")),
        };
        let mut spans = Vec::new();
        let mut ranges = Vec::new();
        for extent in &loc.extents {
            let start = loc
                .base
                .value
                .checked_add(extent.offset.value)
                .filter(|&s| s <= source_len)
                .ok_or_else(|| Error::truncated(FORMAT, meta.b.start, format!("item {id} starts past its data")))?;
            let len = if extent.length.value == 0 {
                source_len - start
            } else {
                extent.length.value
            };
            let end = start
                .checked_add(len)
                .filter(|&e| e <= source_len)
                .ok_or_else(|| Error::truncated(FORMAT, meta.b.start, format!("item {id} runs past its data")))?;
            ranges.push(start..end);
            spans.push(match method {
                0 => Span::File(start..end),
                _ => {
                    let base = meta.idat.as_ref().map_or(0, |r| r.start);
                    let to_usize = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
                    Span::Meta(base + to_usize(start)..base + to_usize(end))
                }
            });
        }
        // Extents that overlap read the same bytes again: a few dozen bytes of `iloc` could
        // make an item of gigabytes out of a small file (a fuzz finding: 8703 extents, each the
        // whole file). No writer stores an item's bytes twice, so an item is at most the bytes
        // present, and reading it costs at most the file.
        ranges.sort_unstable_by_key(|r| (r.start, r.end));
        if ranges.windows(2).any(|w| matches!(w, [a, b] if a.end > b.start)) {
            return Err(Error::malformed(
                FORMAT,
                meta.b.start,
                format!("item {id} has extents that overlap"),
            ));
        }
        Ok(spans)
    }

    /// The bytes of `spans`, concatenated, within [`Limits::max_metadata_bytes`].
    fn read_spans(&self, src: &mut Source<'_>, spans: &[Span], limits: &Limits) -> Result<Vec<u8>> {
        let total: u64 = spans.iter().map(Span::len).sum();
        limits.check_metadata(FORMAT, self.meta.b.start, total)?;
        let mut out = Vec::new();
        out.try_reserve(usize::try_from(total).unwrap_or(usize::MAX))
            .map_err(|_| Error::malformed(FORMAT, self.meta.b.start, "item too large to buffer"))?;
        for span in spans {
            match span {
                Span::File(r) => {
                    src.seek_to(r.start)?;
                    out.extend(src.read_vec(r.end - r.start, "XMP item data", limits)?);
                }
                Span::Meta(r) => out.extend_from_slice(self.meta.buf.get(r.clone()).unwrap_or_default()),
            }
        }
        Ok(out)
    }

    /// Where a span sits in the input.
    fn absolute(&self, span: &Span) -> Range<u64> {
        match span {
            Span::File(r) => r.clone(),
            Span::Meta(r) => self.meta.b.start + r.start as u64..self.meta.b.start + r.end as u64,
        }
    }

    /// The last top-level box, when it is an `mdat` that holds item `id`'s bytes (one span, by
    /// file offset) at one end of its payload and nothing but room besides: the box this carrier
    /// appended for the packet and the room after it, which a rewrite replaces and an update in
    /// place writes into ([`in_place`]). Our writer puts the packet first; an update in place
    /// puts it at either end; the room holds zeros and what an update leaves of a packet
    /// ([`crate::room::holds_only_room`]). An `mdat` whose payload is exactly the packet (this
    /// carrier's writes before the room) qualifies too. Any other byte in the box (another
    /// tool's data no item references, say) makes it someone else's: a rewrite then keeps it.
    fn trailing_mdat(&self, src: &mut Source<'_>, id: u32, spans: &[Span], limits: &Limits) -> Result<Option<BoxRef>> {
        let Some(last) = self.top.last().filter(|b| b.is(b"mdat")) else {
            return Ok(None);
        };
        let [Span::File(r)] = spans else {
            return Ok(None);
        };
        let payload = last.start + last.header..last.end;
        let room = if r.start == payload.start && r.end <= payload.end {
            r.end..payload.end
        } else if r.end == payload.end && r.start >= payload.start {
            payload.start..r.start
        } else {
            return Ok(None);
        };
        // Each entry read once (no lookup by id), so a file of many items costs linear time.
        let others = self.meta.iloc.items.iter().filter(|l| l.id != id && l.method == 0);
        for other in others.filter(|l| l.data_reference == 0) {
            let inside = |s: &Span| matches!(s, Span::File(o) if o.start < last.end && last.start < o.end);
            match self.located(other) {
                Ok(spans) if !spans.iter().any(inside) => {}
                _ => return Ok(None),
            }
        }
        let len = room.end - room.start;
        if len > limits.max_metadata_bytes {
            return Ok(None);
        }
        src.seek_to(room.start)?;
        let bytes = src.read_vec(len, "label room", limits)?;
        Ok(crate::room::holds_only_room(&bytes).then_some(*last))
    }

    /// Another item whose bytes in the file (construction method 0) overlap `item`'s: its id.
    fn sharing(&self, item: &XmpItem<'_>) -> Option<u32> {
        let ours: Vec<Range<u64>> = item
            .spans
            .iter()
            .filter_map(|s| match s {
                Span::File(r) => Some(r.clone()),
                Span::Meta(_) => None,
            })
            .collect();
        self.meta
            .iloc
            .items
            .iter()
            .filter(|l| l.id != item.infe.id && l.method == 0 && l.data_reference == 0)
            .find(|l| {
                self.located(l).is_ok_and(|spans| {
                    spans.iter().any(|s| match s {
                        Span::File(r) => ours.iter().any(|o| o.start < r.end && r.start < o.end),
                        Span::Meta(_) => false,
                    })
                })
            })
            .map(|l| l.id)
    }

    /// The range from the first span's start to the last one's end, in the input.
    fn extent_of(&self, spans: &[Span]) -> Range<u64> {
        let first = spans.first().map(|s| self.absolute(s));
        let last = spans.last().map(|s| self.absolute(s));
        match (first, last) {
            (Some(f), Some(l)) => f.start..l.end.max(f.start),
            _ => 0..0,
        }
    }
}

impl Meta {
    fn parse(buf: Vec<u8>, b: BoxRef, budget: &mut Budget) -> Result<Meta> {
        let local = BoxRef {
            start: 0,
            end: buf.len() as u64,
            ..b
        };
        let (version, _, _) = boxes::full_box(&buf, &local)?;
        if version != 0 {
            return Err(Error::malformed(FORMAT, b.start, "meta box version is not 0"));
        }
        let children_at = local.payload_in().start + 4;
        let children = boxes::children(&buf, children_at..buf.len(), budget)?;
        let missing = |what: &'static str| Error::malformed(FORMAT, b.start, what);
        let child = |kind: &[u8; 4]| children.iter().find(|c| c.is(kind)).copied();
        let iinf = Iinf::parse(
            &buf,
            &child(b"iinf").ok_or_else(|| missing("meta has no iinf box"))?,
            budget,
        )?;
        let iloc = Iloc::parse(
            &buf,
            &child(b"iloc").ok_or_else(|| missing("meta has no iloc box"))?,
            budget,
        )?;
        let pitm = match child(b"pitm") {
            Some(p) => {
                let (version, _, mut cur) = boxes::full_box(&buf, &p)?;
                let id = if version == 0 {
                    cur.u16_be().map(u32::from)
                } else {
                    cur.u32_be()
                };
                Some(id.ok_or_else(|| Error::truncated(FORMAT, b.start + p.start, "pitm item id"))?)
            }
            None => None,
        };
        let iref = match child(b"iref") {
            Some(r) => {
                let version = boxes::full_box(&buf, &r)?.0;
                // Its references must be whole boxes, since a new one is appended after them.
                boxes::children(&buf, r.payload_in().start + 4..r.payload_in().end, budget)?;
                Some((r, version))
            }
            None => None,
        };
        let idat = child(b"idat").map(|d| d.payload_in());
        Ok(Meta {
            b,
            buf,
            children_at,
            children,
            pitm,
            iinf,
            iloc,
            iref,
            idat,
        })
    }

    /// One more than the largest item id in use.
    fn next_id(&self) -> Result<u32> {
        let ids = self.iinf.entries.iter().map(|e| e.id);
        let ids = ids.chain(self.iloc.items.iter().map(|i| i.id)).chain(self.pitm);
        ids.max()
            .unwrap_or(0)
            .checked_add(1)
            .ok_or_else(|| Error::capacity("heif", "no item id is left for the XMP item"))
    }
}

/// Where a piece of item data is: in the file, or in the buffered `meta` box (inside `idat`).
#[derive(Debug, Clone)]
enum Span {
    File(Range<u64>),
    Meta(Range<usize>),
}

impl Span {
    fn len(&self) -> u64 {
        match self {
            Span::File(r) => r.end - r.start,
            Span::Meta(r) => (r.end - r.start) as u64,
        }
    }
}

/// Where the TIFF header starts in the data of an `Exif` item: after the 4-byte offset that
/// opens it (ISO/IEC 23008-12 A.2.1, `exif_tiff_header_offset`, counted from the end of that
/// field); when that offset does not lead to a TIFF header, right after the field or after an
/// `Exif\0\0` there, as lenient readers look.
fn exif_tiff_start(data: &[u8]) -> Option<usize> {
    let field: [u8; 4] = data.get(..4)?.try_into().ok()?;
    let declared = usize::try_from(u32::from_be_bytes(field)).ok()?.checked_add(4)?;
    let body = data.get(4..)?;
    if data.get(declared..).and_then(exif::tiff_start) == Some(0) {
        return Some(declared);
    }
    exif::tiff_start(body).map(|at| at + 4)
}

/// An `Exif` item whose `UserComment` holds a label.
#[derive(Debug)]
struct ExifItem {
    id: u32,
    spans: Vec<Span>,
    /// The item's bytes, as stored.
    data: Vec<u8>,
    comments: Vec<exif::UserComment>,
}

/// An XMP item, read.
#[derive(Debug)]
struct XmpItem<'f> {
    infe: &'f Infe,
    spans: Vec<Span>,
    /// The packet, inflated when the item is compressed.
    packet: Vec<u8>,
    hits: Vec<XmpHit>,
}

impl XmpItem<'_> {
    fn stored_len(&self) -> u64 {
        self.spans.iter().map(Span::len).sum()
    }

    /// A label copy found in this item's packet; `first` for the first copy in the file.
    fn found(&self, file: &File, text: String, first: bool) -> Found {
        let mut checks = Vec::new();
        if first {
            checks.push(Check::pass(
                id::CARRIER_PLACE,
                "XMP mime item (application/rdf+xml) in the meta box, as GB 45438 places it",
            ));
        } else {
            checks.push(Check::warn(
                id::CARRIER_PLACE,
                format!(
                    "a further label copy in XMP item {}; a file carries one XMP label",
                    self.infe.id
                ),
            ));
        }
        if let Some(encoding) = self.infe.encoding() {
            checks.push(Check::warn(
                id::CARRIER_PLACE,
                format!(
                    "XMP item {} is stored with content encoding {:?}, which common readers (ExifTool) cannot read",
                    self.infe.id,
                    String::from_utf8_lossy(encoding)
                ),
            ));
        }
        Found {
            carrier: format!("XMP item {}", self.infe.id).into(),
            range: file.extent_of(&self.spans),
            text,
            expected_shape: Shape::Bare,
            checks,
        }
    }
}

/// Puts an error from the XMP codec in the context of the item that held the packet.
fn in_item(item: u32, e: Error) -> Error {
    match e {
        Error::Malformed { .. } | Error::Truncated { .. } => {
            Error::malformed(FORMAT, 0, format!("XMP packet of item {item}: {e}"))
        }
        other => other,
    }
}

/// The packet of an item as stored: inflated for the `deflate` content encoding (a zlib
/// stream, as libheif writes it), within [`Limits::max_inflated_bytes`].
fn decode(infe: &Infe, stored: Vec<u8>, limits: &Limits) -> Result<Vec<u8>> {
    match infe.encoding() {
        None => Ok(stored),
        Some(b"deflate") => {
            let limit = limits.max_inflated_bytes;
            inflate(&stored, Stream::Zlib, limit).map_err(|e| match e {
                InflateError::Corrupt(_) => {
                    Error::malformed(FORMAT, 0, format!("XMP item {} is not a valid zlib stream", infe.id))
                }
                InflateError::TooLarge { found } => Error::Limit {
                    format: FORMAT,
                    offset: 0,
                    what: "inflated XMP item size",
                    found,
                    limit,
                },
            })
        }
        Some(other) => Err(Error::unsupported(
            "heif",
            format!(
                "XMP item {} has content encoding {:?}",
                infe.id,
                String::from_utf8_lossy(other)
            ),
        )),
    }
}

/// Bytes to overwrite in place, outside `meta`, at input offsets.
#[derive(Debug)]
struct Patch {
    at: u64,
    bytes: Vec<u8>,
}

/// The changes to the item boxes when the packet goes to the end of the file.
#[derive(Debug)]
struct Edit {
    /// The item whose `iloc` entry is replaced, or the new item's id.
    id: u32,
    /// True when `id` is a new item (entries are appended), false when it is relocated.
    new: bool,
    /// A replacement for an existing `infe` box (range in the `meta` buffer).
    infe_replace: Option<(Range<usize>, Vec<u8>)>,
    /// The packet to append.
    packet: Vec<u8>,
}

/// What the write changes, worked out before any byte is written.
#[derive(Debug)]
struct Plan {
    /// In-place changes outside `meta`, sorted and disjoint.
    patches: Vec<Patch>,
    /// The `meta` box to write.
    meta: Vec<u8>,
    /// How many bytes of the input are copied: all, or all before a trailing `mdat` that holds
    /// nothing but the packet being replaced.
    keep: u64,
    /// A new `mdat` box written after the input's first `keep` bytes: the packet, then
    /// [`Limits::label_room`] zeros more than the packet, for updates [`in_place`].
    trailer: Vec<u8>,
    /// [`Limits::label_room`]: with room (not 0), the new `mdat` holds the packet's length and
    /// this much more after the packet, so an update in place can always put a packet as long
    /// as the old one plus this next to it.
    room: u64,
    label_range: Range<u64>,
}

impl Plan {
    fn new(src: &mut Source<'_>, file: &File, label: &Label, limits: &Limits) -> Result<Plan> {
        // An item whose data runs past the end of the file would take the `mdat` we append as
        // its own, and a later write would no longer know that `mdat` as ours (a fuzz finding:
        // its room then counted as covered, and moved). A cut file is refused, as elsewhere.
        for loc in file
            .meta
            .iloc
            .items
            .iter()
            .filter(|l| l.method == 0 && l.data_reference == 0)
        {
            file.located(loc)?;
        }
        let json = json::to_json(label, Shape::Bare);
        let items = file.xmp_items(src, limits)?;
        let primary = primary(&items);
        let mut plan = Plan {
            patches: Vec::new(),
            meta: file.meta.buf.clone(),
            keep: file.len,
            trailer: Vec::new(),
            room: limits.label_room,
            label_range: 0..0,
        };
        for (i, item) in items.iter().enumerate() {
            if Some(i) != primary && !item.hits.is_empty() {
                plan.remove_copies(file, item, limits)?;
            }
        }
        // A label in an Exif item's `UserComment` moves to XMP: its text is blanked in place,
        // same length, so no offset changes.
        for item in file.exif_items(src, limits)? {
            let mut data = item.data;
            item.comments.iter().for_each(|c| c.blank(&mut data));
            plan.overwrite(file, &item.spans, &data)?;
        }
        let edit = match primary.and_then(|i| items.get(i)) {
            Some(item) => plan.update(src, file, item, &json, limits)?,
            None => Some(Edit {
                id: file.meta.next_id()?,
                new: true,
                infe_replace: None,
                packet: xmp_plan::label_packet(None, &json, limits)?,
            }),
        };
        if let Some(edit) = edit {
            plan.append(file, &edit)?;
        }
        plan.patches.sort_by_key(|p| p.at);
        let overlap = plan
            .patches
            .windows(2)
            .any(|w| w.first().map(|p| p.at + p.bytes.len() as u64) > w.get(1).map(|p| p.at));
        if overlap
            || plan
                .patches
                .last()
                .is_some_and(|p| p.at + p.bytes.len() as u64 > plan.keep)
        {
            return Err(Error::malformed(
                FORMAT,
                0,
                "XMP item data overlaps other data that must change",
            ));
        }
        Ok(plan)
    }

    /// Writes `bytes` over `spans`, in order: file spans become patches, `idat` spans are
    /// changed in the buffered `meta`.
    fn overwrite(&mut self, file: &File, spans: &[Span], bytes: &[u8]) -> Result<()> {
        let meta = file.meta.b.start..file.meta.b.end;
        let mut rest = bytes;
        for span in spans {
            let n = usize::try_from(span.len()).unwrap_or(usize::MAX).min(rest.len());
            let (piece, tail) = rest.split_at(n);
            rest = tail;
            match span {
                Span::File(r) => {
                    if r.start < meta.end && meta.start < r.end {
                        return Err(Error::unsupported(
                            "heif",
                            "XMP item data addressed by file offset lies inside the meta box",
                        ));
                    }
                    self.patches.push(Patch {
                        at: r.start,
                        bytes: piece.to_vec(),
                    });
                }
                Span::Meta(r) => {
                    let target = self
                        .meta
                        .get_mut(r.start..r.start + n)
                        .ok_or_else(|| Error::malformed(FORMAT, meta.start, "idat item outside the meta box"))?;
                    target.copy_from_slice(piece);
                }
            }
        }
        Ok(())
    }

    /// Another XMP item loses its `TC260:AIGC` properties, in place.
    fn remove_copies(&mut self, file: &File, item: &XmpItem<'_>, limits: &Limits) -> Result<()> {
        if item.infe.encoding().is_some() {
            return Err(Error::unsupported(
                "heif",
                format!(
                    "a second, compressed XMP item ({}) holds a label; rewriting it is not supported",
                    item.infe.id
                ),
            ));
        }
        let removed = xmp_plan::scrubbed_hits(&item.packet, item.hits.clone(), limits)
            .map_err(|e| in_item(item.infe.id, e))?
            .unwrap_or_else(|| item.packet.clone());
        if removed.len() > item.packet.len() {
            return Err(in_item(
                item.infe.id,
                Error::malformed("xmp", 0, "removing TC260:AIGC grew the packet"),
            ));
        }
        self.overwrite(file, &item.spans, &pad_to(removed, item.packet.len()))
    }

    /// The chosen XMP item gets the label: the returned edit puts it at the end of the file, in
    /// a new `mdat` with room, replacing the trailing `mdat` of its own it had.
    fn update(
        &mut self,
        src: &mut Source<'_>,
        file: &File,
        item: &XmpItem<'_>,
        json: &str,
        limits: &Limits,
    ) -> Result<Option<Edit>> {
        let packet = xmp_plan::label_packet(Some(&item.packet), json, limits).map_err(|e| in_item(item.infe.id, e))?;
        let compressed = item.infe.encoding().is_some();
        // An item outside a trailing `mdat` of its own moves to one even when its padding would
        // absorb the label (a label another tool stored elsewhere, say): were it kept in place
        // now, a later label that outgrows the padding would move it then, and every byte a
        // signature made in between covered would shift.
        if let Some(mdat) = file.trailing_mdat(src, item.infe.id, &item.spans, limits)? {
            self.keep = mdat.start;
        } else {
            // The item's bytes become zeros: another item sharing them would change too.
            if let Some(other) = file.sharing(item) {
                return Err(Error::malformed(
                    FORMAT,
                    file.meta.b.start,
                    format!("XMP item {} shares bytes with item {other}", item.infe.id),
                ));
            }
            let zeros = vec![0u8; usize::try_from(item.stored_len()).unwrap_or(0)];
            self.overwrite(file, &item.spans, &zeros)?;
        }
        Ok(Some(Edit {
            id: item.infe.id,
            new: false,
            infe_replace: compressed.then(|| (item.infe.range.clone(), item.infe.encode_plain())),
            packet,
        }))
    }

    /// Builds the grown `meta` and the trailing `mdat`, and patches what moves.
    fn append(&mut self, file: &File, edit: &Edit) -> Result<()> {
        let old_len = file.meta.b.end - file.meta.b.start;
        let room = match self.room {
            0 => 0,
            extra => usize::try_from(extra)
                .unwrap_or(usize::MAX)
                .saturating_add(edit.packet.len()),
        };
        let trailer_header = boxes::header(b"mdat", edit.packet.len().saturating_add(room));
        // The meta box's length does not depend on the offsets written into it: build it once
        // to learn the shift, then again with the real offsets.
        let draft = build_meta(&self.meta, file, edit, 0, 0, self.keep)?;
        let delta = i128::from(draft.len() as u64) - i128::from(old_len);
        if delta != 0 && file.top.iter().any(|b| b.is(b"moov")) {
            return Err(Error::unsupported(
                "heif",
                "the meta box must grow and the file has a moov box (an image sequence) whose offsets would move",
            ));
        }
        let out_len = u64::try_from(i128::from(self.keep) + delta)
            .map_err(|_| Error::malformed(FORMAT, 0, "meta box larger than the file"))?;
        let data_at = out_len + trailer_header.len() as u64;
        self.meta = build_meta(&self.meta, file, edit, delta, data_at, self.keep)?;
        if self.meta.len() != draft.len() {
            return Err(Error::malformed(
                FORMAT,
                file.meta.b.start,
                "meta box length changed between passes",
            ));
        }
        self.label_range = data_at..data_at + edit.packet.len() as u64;
        let mut trailer = Vec::new();
        let total = trailer_header.len() + edit.packet.len() + room;
        trailer.try_reserve_exact(total).map_err(|_| Error::Limit {
            format: FORMAT,
            offset: data_at,
            what: "label room",
            found: room as u64,
            limit: self.room,
        })?;
        trailer.extend_from_slice(&trailer_header);
        trailer.extend_from_slice(&edit.packet);
        trailer.resize(total, 0);
        self.trailer = trailer;
        self.close_last_box(file)
    }

    /// A last top-level box that runs "to the end of the file" (size 0) and is kept gets its
    /// real size, so the appended `mdat` is not read as part of it.
    fn close_last_box(&mut self, file: &File) -> Result<()> {
        let kept = |b: &&BoxRef| b.end <= self.keep;
        let Some(last) = file.top.last().filter(kept).filter(|b| b.open_ended && !b.is(b"meta")) else {
            return Ok(());
        };
        let size = u32::try_from(last.end - last.start)
            .map_err(|_| Error::capacity("heif", "the last box has no size and is over 4 GiB"))?;
        self.patches.push(Patch {
            at: last.start,
            bytes: size.to_be_bytes().to_vec(),
        });
        Ok(())
    }
}

/// Plans [`Heif::write`]'s output: one walk of the top-level boxes and reads of `meta` and the
/// metadata items. The output is the input with `meta` replaced and a few same-length patches,
/// up to the kept end, then the trailing `mdat`. The walk plans each box as it meets it: the
/// others are copied, and `meta` gets a guess, the box as the label would make it if the
/// boxes so far were the file's; into a builder that can be revised
/// ([`PlanBuilder::can_revise`]) the walk drains as it goes, so a file of many boxes after
/// `meta` is read once. Once the walk is over, the final `meta` settles the guess (a wrong one
/// of the same length is patched, else the output is cut back to it and written again), the
/// patches go into the output already written, and a kept end before the input's end cuts it
/// back.
fn edit_plan(input: &mut dyn ReadSeek, label: &Label, limits: &Limits, mut out: PlanBuilder<'_>) -> Result<EditPlan> {
    let mut src = Source::new(input, FORMAT)?;
    let stream = out.can_revise();
    let mut budget = Budget::new(limits);
    let mut copied = 0u64;
    let mut meta_slot = None;
    let (top, _) = boxes::walk_top_level_with(&mut src, &mut budget, false, &mut |src, boxes| {
        let Some(b) = boxes.last() else {
            return Ok(());
        };
        if meta_slot.is_none() && b.is(b"meta") {
            out.copy(copied..b.start);
            meta_slot = Some(match guess_meta(src, boxes, label, limits) {
                Some(meta) => out.guess(Piece::New(meta)),
                None => out.reserve(),
            });
        } else {
            out.copy(copied..b.end);
        }
        copied = b.end;
        if stream {
            out.drain(src, &[])?;
        }
        Ok(())
    })?;
    let file = File::assemble(&mut src, top, None, &mut budget, limits)?;
    let found = file.copies(&mut src, limits)?;
    let plan = Plan::new(&mut src, &file, label, limits)?;
    let slot = meta_slot.ok_or_else(|| Error::malformed(FORMAT, 0, "no top-level meta box"))?;
    out.copy(copied..file.len);
    let meta = file.meta.b.start..file.meta.b.end;
    let delta = i128::from(plan.meta.len() as u64) - i128::from(meta.end - meta.start);
    out.fill(slot, plan.meta.clone());
    // Input offsets after `meta` move by its change of length.
    let moved = |at: u64| {
        let shifted = if at >= meta.end {
            i128::from(at) + delta
        } else {
            i128::from(at)
        };
        u64::try_from(shifted).map_err(|_| Error::malformed(FORMAT, at, "meta box larger than the file"))
    };
    // A kept end inside `meta` (never met: the label's `mdat` ends the file) keeps `meta`.
    out.truncate(moved(plan.keep.max(meta.end))?)?;
    for patch in plan.patches.iter().filter(|p| p.at < meta.start || p.at >= meta.end) {
        out.overwrite(moved(patch.at)?, &patch.bytes)?;
    }
    out.put(&plan.trailer);
    Ok(out.finish(found, plan.label_range))
}

/// The `meta` box the label would make were `boxes` (the top-level boxes so far, `meta` the
/// last) the whole file: the likely final one, since what follows `meta` rarely changes it.
/// `None` when that file cannot be planned.
fn guess_meta(src: &mut Source<'_>, boxes: &[BoxRef], label: &Label, limits: &Limits) -> Option<Vec<u8>> {
    let mut budget = Budget::new(limits);
    let mut top = Vec::new();
    top.try_reserve_exact(boxes.len()).ok()?;
    top.extend_from_slice(boxes);
    let file = File::assemble(src, top, None, &mut budget, limits).ok()?;
    Plan::new(src, &file, label, limits).ok().map(|plan| plan.meta)
}

/// The `meta` box with the edit applied: `buf` is the buffered box with in-place changes made;
/// `delta` is how far everything after `meta` moves; `data_at` is where the packet lands.
fn build_meta(buf: &[u8], file: &File, edit: &Edit, delta: i128, data_at: u64, keep: u64) -> Result<Vec<u8>> {
    let meta = &file.meta;
    let mut payload = buf
        .get(meta.b.header as usize..meta.children_at)
        .unwrap_or_default()
        .to_vec();
    for child in &meta.children {
        let raw = buf.get(child.range_in()).unwrap_or_default();
        if child.is(b"iloc") && child.start == meta.iloc.b.start {
            payload.extend(build_iloc(buf, file, edit, delta, data_at, keep)?);
        } else if child.is(b"iinf") && child.start == meta.iinf.b.start {
            payload.extend(build_iinf(buf, &meta.iinf, edit)?);
        } else if meta.iref.is_some_and(|(r, _)| r.start == child.start) && edit.new {
            payload.extend(build_iref(buf, meta, edit)?);
        } else {
            payload.extend_from_slice(raw);
        }
    }
    if meta.iref.is_none() && edit.new && meta.pitm.is_some() {
        payload.extend(build_iref(buf, meta, edit)?);
    }
    Ok([boxes::header(b"meta", payload.len()), payload].concat())
}

/// `iloc` with the item's entry replaced or appended, every file offset after `meta` moved, and
/// every extent that ran to the end of the input closed at that end (the output goes on past
/// it, with the label's `mdat`). `keep` is where the input's kept bytes end.
fn build_iloc(buf: &[u8], file: &File, edit: &Edit, delta: i128, data_at: u64, keep: u64) -> Result<Vec<u8>> {
    let iloc = &file.meta.iloc;
    let origin = iloc.b.start as usize;
    let mut bytes = buf.get(iloc.b.range_in()).unwrap_or_default().to_vec();
    for item in iloc.items.iter().filter(|i| i.id != edit.id) {
        shift(&mut bytes, origin, item, file, delta)?;
        close_open_extents(&mut bytes, origin, item, file, keep)?;
    }
    let entry = iloc.encode_entry(edit.id, data_at, edit.packet.len() as u64)?;
    let splice = if edit.new {
        let count = iloc.items.len() as u64 + 1;
        set_uint(&mut bytes, iloc.count_at - origin, count, iloc.count_width())
            .ok_or_else(|| Error::capacity("heif", "iloc cannot count another item"))?;
        iloc.entries_end - origin..iloc.entries_end - origin
    } else {
        let item = iloc
            .item(edit.id)
            .ok_or_else(|| Error::malformed(FORMAT, file.meta.b.start, "XMP item has no iloc entry"))?;
        item.range.start - origin..item.range.end - origin
    };
    if splice.end > bytes.len() {
        return Err(Error::malformed(
            FORMAT,
            file.meta.b.start,
            "iloc entry outside the box",
        ));
    }
    bytes.splice(splice, entry);
    Ok(rebox(&bytes, &iloc.b, b"iloc"))
}

/// Gives an extent whose length is 0 ("to the end of the file") its length in the input, since
/// the output does not end where the input did. Refused when the input's end is not kept (the
/// label's own trailing `mdat` is replaced: the item would lose or change bytes) or the extent
/// has no length field to write.
fn close_open_extents(bytes: &mut [u8], origin: usize, item: &Location, file: &File, keep: u64) -> Result<()> {
    if item.method != 0 || item.data_reference != 0 {
        return Ok(());
    }
    let unsupported = |what: &str| Error::unsupported("heif", format!("item {}: {what}", item.id));
    for extent in item.extents.iter().filter(|e| e.length.value == 0) {
        if keep < file.len {
            return Err(unsupported("it runs to the end of the file, into the label's data"));
        }
        let start = item.base.value.saturating_add(extent.offset.value);
        let len = file.len.saturating_sub(start);
        let closed = extent
            .length
            .at
            .checked_sub(origin)
            .filter(|_| extent.length.width > 0)
            .and_then(|at| set_uint(bytes, at, len, extent.length.width));
        if closed.is_none() || len == 0 {
            return Err(unsupported(
                "it runs to the end of the file and its length cannot be written",
            ));
        }
    }
    Ok(())
}

/// Moves an item's file offsets that point past `meta` by `delta`.
fn shift(bytes: &mut [u8], origin: usize, item: &Location, file: &File, delta: i128) -> Result<()> {
    if delta == 0 || item.method != 0 || item.data_reference != 0 {
        return Ok(());
    }
    let meta = file.meta.b.start..file.meta.b.end;
    let unsupported = |what: &str| Error::unsupported("heif", format!("item {}: {what}", item.id));
    let moved = |v: u64| u64::try_from(i128::from(v) + delta).map_err(|_| unsupported("offset underflows"));
    let mut set = |field: &items::Field, value: u64| {
        field
            .at
            .checked_sub(origin)
            .and_then(|at| set_uint(bytes, at, value, field.width))
            .ok_or_else(|| unsupported("its moved offset does not fit the iloc field size"))
    };
    if item.base.width > 0 && item.base.value >= meta.end {
        return set(&item.base, moved(item.base.value)?);
    }
    for extent in &item.extents {
        let at = item.base.value.saturating_add(extent.offset.value);
        if meta.contains(&at) {
            return Err(unsupported(
                "its data, addressed by file offset, lies inside the meta box",
            ));
        }
        if at >= meta.end {
            if extent.offset.width == 0 {
                return Err(unsupported("its data moves but its extent has no offset field"));
            }
            set(&extent.offset, moved(extent.offset.value)?)?;
        }
    }
    Ok(())
}

/// `iinf` with a new `infe` appended or one replaced.
fn build_iinf(buf: &[u8], iinf: &Iinf, edit: &Edit) -> Result<Vec<u8>> {
    let origin = iinf.b.start as usize;
    let mut bytes = buf.get(iinf.b.range_in()).unwrap_or_default().to_vec();
    let local = |r: &Range<usize>| r.start.saturating_sub(origin)..r.end.saturating_sub(origin);
    if edit.new {
        let count = iinf.entries.len() as u64 + 1;
        set_uint(&mut bytes, iinf.count_at - origin, count, iinf.count_width())
            .ok_or_else(|| Error::capacity("heif", "iinf cannot count another item"))?;
        let at = iinf.entries_end.saturating_sub(origin).min(bytes.len());
        let infe = new_infe(edit.id, HIDDEN, 0, b"", XMP_CONTENT_TYPE, 2);
        bytes.splice(at..at, infe);
    } else if let Some((range, infe)) = &edit.infe_replace {
        let r = local(range);
        if r.end > bytes.len() {
            return Err(Error::malformed(FORMAT, 0, "infe outside iinf"));
        }
        bytes.splice(r, infe.iter().copied());
    }
    Ok(rebox(&bytes, &iinf.b, b"iinf"))
}

/// `iref` (the existing one, or a new one) with a `cdsc` reference from the new item to the
/// primary item: the XMP item describes the image (ISO/IEC 23008-12 8.1).
fn build_iref(buf: &[u8], meta: &Meta, edit: &Edit) -> Result<Vec<u8>> {
    let Some(primary) = meta.pitm else {
        return Ok(meta
            .iref
            .map(|(r, _)| buf.get(r.range_in()).unwrap_or_default().to_vec())
            .unwrap_or_default());
    };
    let version = meta
        .iref
        .map_or(u8::from(edit.id > 0xFFFF || primary > 0xFFFF), |(_, v)| v);
    let width = if version == 0 { 2 } else { 4 };
    let mut body = Vec::new();
    for (i, id) in [edit.id, primary].into_iter().enumerate() {
        boxes::put_uint(&mut body, u64::from(id), width)
            .ok_or_else(|| Error::capacity("heif", "item ids too large for the iref box"))?;
        if i == 0 {
            body.extend_from_slice(&1u16.to_be_bytes());
        }
    }
    let cdsc = [boxes::header(b"cdsc", body.len()), body].concat();
    Ok(match meta.iref {
        Some((r, _)) => {
            let old = buf.get(r.range_in()).unwrap_or_default();
            rebox(&[old, &cdsc].concat(), &r, b"iref")
        }
        None => boxes::full(b"iref", version, 0, &cdsc),
    })
}

/// A box's bytes (old header included) with a header for its new length.
fn rebox(bytes: &[u8], old: &BoxRef, kind: &[u8; 4]) -> Vec<u8> {
    let payload = bytes.get(old.header as usize..).unwrap_or_default();
    [boxes::header(kind, payload.len()), payload.to_vec()].concat()
}

#[cfg(test)]
mod tests;
