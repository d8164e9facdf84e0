//! JPEG: the label as `TC260:AIGC` in the APP1 XMP packet (spec section 4, JPEG row).
//!
//! [`Jpeg::find`] walks the marker segments from SOI to the first SOS (ITU-T T.81 B.1.1), buffers
//! only APP1 segments and seeks past everything else. It reports:
//! - `APP1 XMP`: every `TC260:AIGC` property in a main XMP packet
//!   (`http://ns.adobe.com/xap/1.0/\0`), bare JSON expected;
//! - `APP1 Extended XMP`: the same property in a reassembled Extended XMP packet, with an
//!   [`EXTENDED_XMP`] warning, since readers that stop at the main packet miss it;
//! - `EXIF UserComment`: a wrapped label in EXIF `UserComment`, a variant seen in the wild, with a
//!   [`carrier.place`](aigc_label_core::check::id::CARRIER_PLACE) warning (the EXIF reader is
//!   shared with the other image formats).
//!
//! The search stops at the first SOS: the spec's carriers sit before the image data, and finding
//! metadata between the scans of a progressive file would mean reading all entropy-coded data.
//!
//! [`Jpeg::write`] walks twice. The first walk is `find` plus a plan; everything that can fail
//! (a label in Extended XMP, a packet too large for one segment, malformed XMP) fails there,
//! before a byte is written. The second walk copies SOI and every segment byte for byte, fill
//! bytes included, except:
//! - the main XMP segment that holds the label (else the first one) is rewritten with
//!   [`xmp::set_aigc`](aigc_label_core::xmp::set_aigc), which keeps its other properties; a file without XMP gets a new segment
//!   ([`xmp::new_packet`](aigc_label_core::xmp::new_packet)) after its leading APP0 (JFIF/JFXX) and EXIF APP1 segments;
//! - a `UserComment` holding a label is blanked in place, same length, so the label moves to XMP
//!   without shifting a single EXIF offset;
//! - a room segment ([`ROOM_SIGNATURE`], [`Limits::label_room`] bytes more than the label's
//!   segment) follows the label's XMP segment, where an update in place
//!   ([`InPlace`](aigc_label_core::in_place::InPlace)) writes later labels;
//!   room segments of earlier writes are dropped. A content binding leaves the room out.
//!
//! From the SOS segment on, the rest of the file (scans, later markers, EOI, bytes after EOI) is
//! copied unchanged in large blocks.
//!
//! Not supported, with [`Error::Unsupported`]: moving a label out of Extended XMP (the extension
//! is addressed by the MD5 GUID of its content, so editing it means rewriting the main packet's
//! reference too); label copies in two separate main XMP segments; a merged packet over the
//! 65 533-byte segment limit (writing Extended XMP).
//!
//! Why a walker of our own rather than the `img-parts` crate: `img-parts` reads the whole file,
//! entropy-coded data included, into memory and writes it back from there. Carriers must keep
//! memory flat however large the image, so this module reads headers through
//! [`Source`] and copies payloads in blocks.

mod extended;
mod in_place;
mod segment;

pub use aigc_label_core::in_place::Update;

use std::ops::Range;

use aigc_label_core::check::Check;
use aigc_label_core::container::xmp_plan::{self, Target, mentions_tc260};
use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::json::{self, Shape};
use aigc_label_core::plan::{Piece, Plan as EditPlan, PlanBuilder, Slot};
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result};

use crate::{exif, truncated};
use segment::{APP0, APP1, SOI, SOS, Segment, Walker};

/// Format name, in errors and reports.
const FORMAT: &str = "jpeg";

/// Check id: a label copy sits in Extended XMP, which readers that stop at the main packet miss.
pub const EXTENDED_XMP: &str = "xmp.extended";

/// The APP1 identifier of the main XMP packet (XMP Specification Part 3, 1.1.3).
pub const XMP_SIGNATURE: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

/// Most payload bytes a marker segment holds: its 16-bit length counts itself.
const MAX_PAYLOAD: usize = u16::MAX as usize - 2;

/// The identifier of a room segment: an APP1 segment our writer leaves next to the label's XMP
/// segment for later updates in place ([`InPlace`](aigc_label_core::in_place::InPlace)). It is
/// the XMP identifier with its first byte changed (`x` for `h`), so that one byte, next to the
/// segment length, turns an XMP segment into room and back; no XMP reader takes it for a packet.
pub const ROOM_SIGNATURE: &[u8] = b"xttp://ns.adobe.com/xap/1.0/\0";

const CARRIER_XMP: &str = "APP1 XMP";
const CARRIER_EXTENDED: &str = "APP1 Extended XMP";

/// The JPEG carrier (JFIF, EXIF and Adobe files; baseline, progressive, lossless).
///
/// ```
/// use std::io::Cursor;
/// use aigc_label_core::{Carrier, Label, Limits};
/// use aigc_label_image::Jpeg;
///
/// // A tiny but complete stream: SOI, a frame header, a scan header, one byte of data, EOI.
/// let mut jpeg = vec![0xFF, 0xD8];
/// jpeg.extend([0xFF, 0xC0, 0, 11, 8, 0, 1, 0, 1, 1, 1, 0x11, 0]);
/// jpeg.extend([0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0, 0x00, 0xFF, 0xD9]);
/// assert!(Jpeg.sniff(&jpeg));
///
/// let label = Label::new("001191440300708461136T1XGW3", "img-0001");
/// let mut out = Vec::new();
/// let written = Jpeg.write(&mut Cursor::new(&jpeg), &mut out, &label, &Limits::default())?;
/// assert_eq!(written.bytes_written, out.len() as u64);
/// // The scan and everything after it are copied unchanged.
/// assert!(out.ends_with(&jpeg[15..]));
/// # Ok::<(), aigc_label_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Jpeg;

impl Carrier for Jpeg {
    fn info(&self) -> &'static aigc_label_core::Info {
        &aigc_label_core::Info {
            format: FORMAT,
            media_type: "image/jpeg",
            extensions: &["jpg", "jpeg", "jpe", "jfif"],
        }
    }

    fn in_place(&self) -> Option<&dyn aigc_label_core::in_place::InPlace> {
        Some(self)
    }

    fn traces(&self) -> Option<&'static dyn aigc_label_core::traces::TraceScanner> {
        Some(&aigc_label_core::traces::JpegScanner)
    }

    fn stamp(&self) -> Option<&dyn aigc_label_core::stamp::Stamp> {
        Some(&aigc_label_core::stamp::Medium::Image)
    }

    /// SOI followed by the `FF` of the first marker.
    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(&[0xFF, SOI, 0xFF])
    }

    /// Lenient about a file cut short before its first scan (a segment that runs past the end,
    /// or no SOS at all): the copies read before the cut are reported, each with a
    /// [`structure.truncated`](aigc_label_core::check::id::STRUCTURE_TRUNCATED) warning (without
    /// a copy, the cut is the error); [`Jpeg::write`] refuses such a file. A file cut inside its scans is read and written
    /// alike, since neither reads entropy-coded data (the cut part is copied as it is).
    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>> {
        let mut scan = scan(input, limits, true, None)?;
        if let Some(offset) = scan.truncated {
            let what = "the file ends inside this marker segment, before any scan";
            truncated::flag(FORMAT, &mut scan.found, offset, what)?;
        }
        Ok(scan.found)
    }

    /// The label's segments, as for every carrier, and the room segments our writer leaves next
    /// to the label ([`ROOM_SIGNATURE`]), which a rewrite replaces and an update in place
    /// rewrites.
    fn binding_exclusions(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Range<u64>>> {
        let mut scan = scan(input, limits, true, None)?;
        if let Some(offset) = scan.truncated {
            truncated::flag(FORMAT, &mut scan.found, offset, "the file ends inside a marker segment")?;
        }
        let rooms = scan.rooms.iter().map(Segment::whole);
        Ok(scan.found.iter().map(|f| f.range.clone()).chain(rooms).collect())
    }

    /// One walk of the segments before the first scan: every segment is a copied range except
    /// the APP1 XMP segment that takes the label (replaced, or a new one inserted) and EXIF
    /// segments whose `UserComment` held a label (blanked in place); the scans are one range.
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

/// The output's pieces as [`scan`] lays them out: the place a new XMP segment would go, and
/// a place per XMP segment (the label's, or the segment copied as it was), settled once the
/// walk has seen every XMP segment. Each place holds the likely answer meanwhile (a guess, so
/// a streaming write goes on past it): the new segment until an XMP segment turns up, the label
/// in the first XMP segment (or the first holding a label), the others copied.
struct Planning<'a> {
    out: PlanBuilder<'a>,
    /// The label as JSON, for the guesses.
    json: String,
    /// Before the first segment that is neither APP0 nor EXIF APP1, until an XMP segment is
    /// met (which takes the label instead).
    insert: Option<Slot>,
    /// One per entry of [`Scan::xmp`], after the segment's fill bytes.
    xmp: Vec<Slot>,
    /// An XMP segment holding a label was met (it is then the label's).
    labelled_met: bool,
}

/// Plans [`Jpeg::write`]'s output in one walk.
fn edit_plan(input: &mut dyn ReadSeek, label: &Label, limits: &Limits, out: PlanBuilder<'_>) -> Result<EditPlan> {
    let text = json::to_json(label, Shape::Bare);
    let mut planning = Planning {
        out,
        json: text.clone(),
        insert: None,
        xmp: Vec::new(),
        labelled_met: false,
    };
    planning.out.put(&[0xFF, SOI]);
    let scan = scan(input, limits, false, Some(&mut planning))?;
    let target = label_segment(&scan)?;
    let existing = match target.and_then(|i| scan.xmp.get(i)) {
        Some((seg, _)) => {
            let mut src = Source::new(input, FORMAT)?;
            src.seek_to(seg.payload.start)?;
            Some(src.read_vec(seg.payload_len(), "APP1 XMP segment", limits)?)
        }
        None => None,
    };
    let old = existing
        .as_deref()
        .map(|p| p.get(XMP_SIGNATURE.len()..).unwrap_or_default());
    let label = label_segments(old, &text, limits)?;
    let Planning {
        mut out, insert, xmp, ..
    } = planning;
    let mut label_range = None;
    for (i, (slot, (seg, _))) in xmp.into_iter().zip(&scan.xmp).enumerate() {
        if Some(i) == target {
            label_range = Some(out.fill(slot, label.clone()));
        } else {
            out.fill_copy(slot, seg.range());
        }
    }
    if let (None, Some(slot)) = (target, insert) {
        label_range = Some(out.fill(slot, label));
    }
    let label_range = label_range.ok_or_else(|| Error::malformed(FORMAT, 0, "no segment to put the label before"))?;
    Ok(out.finish(scan.found, label_range))
}

/// The label's APP1 XMP segment (the packet `old` with the label merged, or a new one) and the
/// room after it, for later updates in place: together, the structure that holds the label
/// (`Written::label_range`).
fn label_segments(old: Option<&[u8]>, json: &str, limits: &Limits) -> Result<Vec<u8>> {
    let packet = xmp_plan::label_packet(old, json, limits)?;
    let segment = xmp_segment(&packet)?;
    let room = match usize::try_from(limits.label_room) {
        Ok(0) => Vec::new(),
        room => room_segment(segment.len().saturating_add(room.unwrap_or(usize::MAX))),
    };
    Ok([segment, room].concat())
}

impl Planning<'_> {
    /// The place of an XMP segment whose packet is `packet` (`labelled` when it holds a label),
    /// with its likely content; the place for a new segment, if still open, is not needed.
    fn xmp_place(&mut self, seg: &Segment, packet: &[u8], labelled: bool, limits: &Limits) {
        if let Some(insert) = self.insert.take() {
            self.out.fill(insert, Vec::new());
        }
        let first = self.xmp.is_empty();
        let likely = (labelled || (first && !self.labelled_met))
            .then(|| label_segments(Some(packet), &self.json, limits).ok())
            .flatten();
        // A first segment without a label, guessed to take it, is settled (copied) at the end.
        self.labelled_met |= labelled;
        let slot = match likely {
            // A packet the label cannot be merged into is settled at the end.
            None if labelled || first => self.out.reserve(),
            None => self.out.guess(Piece::Copy(seg.range())),
            Some(bytes) => self.out.guess(Piece::New(bytes)),
        };
        self.xmp.push(slot);
    }
}

/// The XMP segment that takes the label (the one holding a label, else the first), as an index
/// into [`Scan::xmp`]; `None` when a new segment is inserted.
///
/// # Errors
/// [`Error::Unsupported`] for a label in Extended XMP or labels in two XMP segments.
fn label_segment(scan: &Scan) -> Result<Option<usize>> {
    if scan.extended_labelled {
        return Err(Error::unsupported(
            "jpeg",
            "a label sits in Extended XMP; moving it out of Extended XMP is not supported",
        ));
    }
    let labelled = scan.xmp.iter().filter(|(_, has)| *has).count();
    if labelled > 1 {
        return Err(Error::unsupported(
            "jpeg",
            format!("{labelled} separate APP1 XMP segments hold a label; merging them is not supported"),
        ));
    }
    let labelled: Vec<bool> = scan.xmp.iter().map(|(_, has)| *has).collect();
    Ok(xmp_plan::target(&labelled, Target::Labelled))
}

/// What an APP1 segment holds, by its identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum App1 {
    Xmp,
    ExtendedXmp,
    Exif,
    /// Our room segment ([`ROOM_SIGNATURE`]): dropped by a rewrite, which leaves a new one.
    Room,
    Other,
}

impl App1 {
    fn of(payload: &[u8]) -> App1 {
        if payload.starts_with(XMP_SIGNATURE) {
            App1::Xmp
        } else if payload.starts_with(extended::SIGNATURE) {
            App1::ExtendedXmp
        } else if payload.starts_with(exif::SIGNATURE) {
            App1::Exif
        } else if payload.starts_with(ROOM_SIGNATURE) {
            App1::Room
        } else {
            App1::Other
        }
    }
}

/// What one walk over the segments before SOS learned.
#[derive(Debug, Default)]
struct Scan {
    /// The copies `find` reports, at most [`Limits::max_copies`].
    found: Vec<Found>,
    /// Every main XMP segment, and whether it holds a label.
    xmp: Vec<(Segment, bool)>,
    /// Every room segment ([`ROOM_SIGNATURE`]).
    rooms: Vec<Segment>,
    /// A label copy sits in Extended XMP.
    extended_labelled: bool,
    /// Start of the first segment that is neither APP0 nor EXIF APP1: where new XMP goes.
    insert_at: u64,
    /// A lenient walk found the file cut short inside the segment at this offset.
    truncated: Option<u64>,
}

/// Walks `input` from SOI to the first SOS and collects label copies; `lenient` ends the walk
/// where a truncated file ends (recorded in `truncated`) instead of failing. With `planning`,
/// lays out the output's pieces on the way.
fn scan(
    input: &mut dyn ReadSeek,
    limits: &Limits,
    lenient: bool,
    mut planning: Option<&mut Planning<'_>>,
) -> Result<Scan> {
    let mut src = Source::new(input, FORMAT)?;
    let mut walker = Walker::new(&mut src)?;
    let mut scan = Scan::default();
    let mut insert_at = None;
    let mut extension = extended::Collector::default();
    let mut referenced = None;
    loop {
        if let Some(p) = planning.as_deref_mut() {
            p.out.drain(&mut src, &scan.found)?;
        }
        let at = walker.position();
        let seg = match walker.next(&mut src, limits) {
            // Lenient once a segment was read: two bytes of SOI are no JPEG to speak of.
            Err(Error::Truncated { .. }) if lenient && at > 2 => {
                scan.truncated = Some(at);
                break;
            }
            other => other?,
        };
        let payload = match seg.marker {
            APP1 => src.read_vec(seg.payload_len(), "APP1 segment", limits)?,
            _ => Vec::new(),
        };
        let kind = (seg.marker == APP1).then(|| App1::of(&payload));
        if seg.marker != APP0 && kind != Some(App1::Exif) && insert_at.is_none() {
            insert_at = Some(seg.start);
            if let Some(p) = planning.as_deref_mut() {
                // A new segment, unless an XMP segment comes.
                p.insert = Some(match label_segments(None, &p.json, limits) {
                    Ok(bytes) => p.out.guess(Piece::New(bytes)),
                    Err(_) => p.out.reserve(),
                });
            }
        }
        if seg.marker == SOS {
            if let Some(p) = planning.as_deref_mut() {
                p.out.copy(seg.start..src.len());
            }
            break;
        }
        let out = planning.as_deref_mut();
        let Some(kind) = kind else {
            if let Some(p) = out {
                p.out.copy(seg.whole());
            }
            continue;
        };
        match kind {
            App1::Xmp => {
                let packet = payload.get(XMP_SIGNATURE.len()..).unwrap_or_default();
                referenced = referenced.or_else(|| extended::referenced_guid(packet));
                let hits = search_packet(packet, limits)?;
                scan.xmp.push((seg.clone(), !hits.is_empty()));
                for hit in hits {
                    let checks = hit.checks();
                    scan.report(CARRIER_XMP, seg.range(), hit.value, Shape::Bare, checks, limits);
                }
                if let Some(p) = out {
                    p.out.copy(seg.start..seg.marker_at);
                    p.xmp_place(&seg, packet, scan.xmp.last().is_some_and(|(_, has)| *has), limits);
                }
            }
            App1::Exif => {
                let labelled = scan.read_exif(&seg, &payload, limits);
                if let Some(p) = out {
                    if labelled {
                        let mut payload = payload;
                        exif::blank_labels(&mut payload, exif::SIGNATURE.len(), limits);
                        p.out.copy(seg.start..seg.payload.start);
                        p.out.put(&payload);
                    } else {
                        p.out.copy(seg.whole());
                    }
                }
            }
            App1::ExtendedXmp => {
                if let Some(p) = out {
                    p.out.copy(seg.whole());
                }
                extension.add(payload, seg.range(), limits)?;
            }
            App1::Room => scan.rooms.push(seg.clone()),
            App1::Other => {
                if let Some(p) = out {
                    p.out.copy(seg.whole());
                }
            }
        }
    }
    scan.insert_at = insert_at.unwrap_or(2);
    scan.read_extended(extension, referenced.as_deref(), limits)?;
    scan.found.sort_by_key(|f| f.range.start);
    Ok(scan)
}

impl Scan {
    /// Keeps a copy for `find`, up to [`Limits::max_copies`].
    fn report(
        &mut self,
        carrier: &'static str,
        range: Range<u64>,
        text: String,
        shape: Shape,
        checks: Vec<Check>,
        limits: &Limits,
    ) {
        if self.found.len() < limits.max_copies {
            self.found.push(Found {
                carrier: carrier.into(),
                range,
                text,
                expected_shape: shape,
                checks,
            });
        }
    }

    /// Reports the labels in an EXIF segment's `UserComment`s; true when there were any.
    fn read_exif(&mut self, seg: &Segment, payload: &[u8], limits: &Limits) -> bool {
        let comments = exif::labelled(payload, exif::SIGNATURE.len(), limits);
        let labelled = !comments.is_empty();
        for comment in comments {
            if self.found.len() < limits.max_copies {
                self.found.push(comment.found(
                    seg.range(),
                    "the spec puts the JPEG label in the APP1 XMP packet (TC260:AIGC)",
                ));
            }
        }
        labelled
    }

    /// Searches every reassembled Extended XMP packet. An incomplete packet cannot be parsed; it
    /// is skipped unless it names the TC260 namespace, in which case a label may hide there and
    /// the file is refused rather than reported unlabelled.
    fn read_extended(
        &mut self,
        extension: extended::Collector,
        referenced: Option<&str>,
        limits: &Limits,
    ) -> Result<()> {
        for packet in extension.packets()? {
            if !packet.complete {
                if mentions_tc260(&packet.data) {
                    return Err(Error::malformed(
                        FORMAT,
                        packet.range.start,
                        format!(
                            "Extended XMP {} is incomplete but names the TC260 namespace: its label cannot be read",
                            packet.guid
                        ),
                    ));
                }
                continue;
            }
            let hits = search_packet(&packet.data, limits)?;
            self.extended_labelled |= !hits.is_empty();
            let note = match referenced {
                Some(guid) if guid.eq_ignore_ascii_case(&packet.guid) => "named by xmpNote:HasExtendedXMP",
                Some(_) => "not the extension xmpNote:HasExtendedXMP names, so XMP readers skip it",
                None => "the main packet has no xmpNote:HasExtendedXMP, so XMP readers skip it",
            };
            for hit in hits {
                let detail = format!(
                    "label in Extended XMP {} ({note}); the spec puts it in the main APP1 XMP packet",
                    packet.guid
                );
                let checks = [vec![Check::warn(EXTENDED_XMP, detail)], hit.checks()].concat();
                self.report(
                    CARRIER_EXTENDED,
                    packet.range.clone(),
                    hit.value,
                    Shape::Bare,
                    checks,
                    limits,
                );
            }
        }
        Ok(())
    }
}

/// `TC260:AIGC` hits in an XMP packet, as every image carrier reads them
/// ([`xmp_plan::search`]).
pub(crate) use aigc_label_core::container::xmp_plan::search as search_packet;

/// A room segment ([`ROOM_SIGNATURE`], then zeros) of `len` bytes, marker and length included,
/// at most one whole segment; none when `len` is too small for its header.
fn room_segment(len: usize) -> Vec<u8> {
    let len = len.min(MAX_PAYLOAD + 4);
    let Some(length) = len.checked_sub(2).and_then(|l| u16::try_from(l).ok()) else {
        return Vec::new();
    };
    if len < 4 + ROOM_SIGNATURE.len() {
        return Vec::new();
    }
    let mut segment = vec![0u8; len];
    let header = [&[0xFF, APP1][..], &length.to_be_bytes(), ROOM_SIGNATURE].concat();
    if let Some(head) = segment.get_mut(..header.len()) {
        head.copy_from_slice(&header);
    }
    segment
}

/// An APP1 segment holding `packet`, marker and length included.
///
/// # Errors
/// [`Error::Unsupported`] when the packet does not fit in one segment.
fn xmp_segment(packet: &[u8]) -> Result<Vec<u8>> {
    let payload_len = XMP_SIGNATURE.len() + packet.len();
    let length = u16::try_from(payload_len + 2)
        .ok()
        .filter(|_| payload_len <= MAX_PAYLOAD)
        .ok_or_else(|| {
            Error::unsupported("jpeg", format!(
                    "the XMP packet with the label is {} bytes; one APP1 segment holds {} (Extended XMP is not written)",
                    packet.len(),
                    MAX_PAYLOAD - XMP_SIGNATURE.len()
                ))
        })?;
    let mut segment = Vec::with_capacity(payload_len + 4);
    segment.extend_from_slice(&[0xFF, APP1]);
    segment.extend_from_slice(&length.to_be_bytes());
    segment.extend_from_slice(XMP_SIGNATURE);
    segment.extend_from_slice(packet);
    Ok(segment)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aigc_label_core::check::Level;
    use aigc_label_core::xmp;
    use std::io::Cursor;

    const PRODUCER: &str = "001191440300708461136T1XGW3";

    fn label(id: &str) -> Label {
        Label::new(PRODUCER, id)
    }

    fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF, marker];
        s.extend_from_slice(&u16::try_from(payload.len() + 2).unwrap().to_be_bytes());
        s.extend_from_slice(payload);
        s
    }

    fn app1(signature: &[u8], body: &[u8]) -> Vec<u8> {
        segment(APP1, &[signature, body].concat())
    }

    /// SOI, `segments`, a one-component frame, a scan with one byte of data, EOI.
    fn jpeg(segments: &[Vec<u8>]) -> Vec<u8> {
        let mut v = vec![0xFF, SOI];
        segments.iter().for_each(|s| v.extend_from_slice(s));
        v.extend_from_slice(&segment(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]));
        v.extend_from_slice(&[0xFF, SOS, 0, 8, 1, 1, 0, 0, 63, 0, 0x5A, 0xFF, 0xD9]);
        v
    }

    fn labelled_packet(id: &str) -> Vec<u8> {
        xmp::new_packet(&json::to_json(&label(id), Shape::Bare), 0)
    }

    fn find(data: &[u8], limits: &Limits) -> Result<Vec<Found>> {
        Jpeg.find(&mut Cursor::new(data), limits)
    }

    fn write(data: &[u8]) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        let written = Jpeg.write(&mut Cursor::new(data), &mut out, &label("new"), &Limits::default())?;
        assert_eq!(written.bytes_written, out.len() as u64);
        let range = written.label_range.start as usize..written.label_range.end as usize;
        assert!(out[range].starts_with(&[0xFF, APP1]));
        Ok(out)
    }

    fn ids(found: &[Found]) -> Vec<String> {
        found
            .iter()
            .map(|f| json::parse(&f.text, 8).unwrap().get("ProduceID").unwrap().to_string())
            .collect()
    }

    #[test]
    fn fill_bytes_before_the_replaced_segment_survive() {
        let mut xmp = vec![0xFF, 0xFF];
        xmp.extend(app1(XMP_SIGNATURE, &labelled_packet("old")));
        let input = jpeg(&[segment(APP0, b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0"), xmp]);
        let out = write(&input).unwrap();
        let fill_at = 2 + 18;
        assert_eq!(&out[fill_at..fill_at + 4], [0xFF, 0xFF, 0xFF, APP1]);
        let found = find(&out, &Limits::default()).unwrap();
        assert_eq!(ids(&found), ["new"]);
        assert!(out.ends_with(&input[input.len() - 13..]));
    }

    #[test]
    fn labels_in_two_xmp_segments_are_refused() {
        let packet = labelled_packet("a");
        let input = jpeg(&[app1(XMP_SIGNATURE, &packet), app1(XMP_SIGNATURE, &packet)]);
        assert_eq!(find(&input, &Limits::default()).unwrap().len(), 2);
        assert!(matches!(write(&input), Err(Error::Unsupported(_))));
    }

    #[test]
    fn a_packet_too_large_for_one_segment_is_refused() {
        let filler = "d".repeat(65_200);
        let packet = format!(
            "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
             <rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
             <dc:format>{filler}</dc:format></rdf:Description></rdf:RDF></x:xmpmeta>"
        );
        let input = jpeg(&[app1(XMP_SIGNATURE, packet.as_bytes())]);
        let mut out = Vec::new();
        let result = Jpeg.write(&mut Cursor::new(&input), &mut out, &label("x"), &Limits::default());
        assert!(matches!(result, Err(Error::Unsupported(_))), "{result:?}");
        assert!(out.is_empty());
    }

    /// `data` split into Extended XMP portions of `chunk` bytes under `guid`.
    fn extended_portions(guid: &[u8; 32], data: &[u8], chunk: usize) -> Vec<Vec<u8>> {
        data.chunks(chunk)
            .enumerate()
            .map(|(i, part)| {
                let mut body = guid.to_vec();
                body.extend(u32::try_from(data.len()).unwrap().to_be_bytes());
                body.extend(u32::try_from(i * chunk).unwrap().to_be_bytes());
                body.extend_from_slice(part);
                app1(extended::SIGNATURE, &body)
            })
            .collect()
    }

    #[test]
    fn extended_xmp_is_searched_and_flagged() {
        let guid = b"0123456789ABCDEF0123456789ABCDEF";
        let packet = labelled_packet("hidden");
        let mut segments = extended_portions(guid, &packet, 100);
        segments.reverse();
        let found = find(&jpeg(&segments), &Limits::default()).unwrap();
        assert_eq!(ids(&found), ["hidden"]);
        assert_eq!(found[0].carrier, CARRIER_EXTENDED);
        let check = &found[0].checks[0];
        assert_eq!((check.id, check.level), (EXTENDED_XMP, Level::Warn));
        assert!(check.detail.contains("no xmpNote:HasExtendedXMP"), "{}", check.detail);
        assert!(matches!(write(&jpeg(&segments)), Err(Error::Unsupported(_))));

        // A portion missing: refused when the rest names the TC260 namespace, else ignored.
        segments.remove(1);
        assert!(matches!(
            find(&jpeg(&segments), &Limits::default()),
            Err(Error::Malformed { .. })
        ));
        let plain = extended_portions(guid, &[b'x'; 300], 100);
        assert!(find(&jpeg(&plain[1..]), &Limits::default()).unwrap().is_empty());
    }

    #[test]
    fn every_user_comment_label_is_blanked_even_past_max_copies() {
        let wrapped = json::to_json(&label("exif"), Shape::Wrapped);
        let exif = app1(
            b"",
            &exif::tests::payload_be(&[b"ASCII\0\0\0", wrapped.as_bytes()].concat()),
        );
        let input = jpeg(&[exif.clone(), exif.clone(), exif]);
        let mut limits = Limits::default();
        limits.max_copies = 2;
        let found = find(&input, &limits).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].carrier, exif::CARRIER);
        assert_eq!(found[0].expected_shape, Shape::Wrapped);
        let out = write(&input).unwrap();
        let new_packet = xmp::new_packet(&json::to_json(&label("new"), Shape::Bare), xmp::DEFAULT_PADDING);
        // The label's segment, then the room for later updates in place.
        let segment = 4 + XMP_SIGNATURE.len() + new_packet.len();
        let room = segment + usize::try_from(Limits::default().label_room).unwrap();
        assert_eq!(out.len(), input.len() + segment + room);
        assert_eq!(ids(&find(&out, &Limits::default()).unwrap()), ["new"]);
    }

    #[test]
    fn broken_xmp_that_cannot_hold_a_label_is_ignored() {
        let input = jpeg(&[app1(XMP_SIGNATURE, b"<<< not xml &&& </x:xmpmeta>")]);
        assert!(find(&input, &Limits::default()).unwrap().is_empty());
    }

    #[test]
    fn other_app1_segments_are_copied() {
        let other = app1(b"http://example.com/vendor\0", b"payload");
        let input = jpeg(std::slice::from_ref(&other));
        let out = write(&input).unwrap();
        assert!(out.windows(other.len()).any(|w| w == other.as_slice()));
    }
}
