//! Crash-safe label updates in place for JPEG (issue 16).
//!
//! Our writer puts a *room* segment right after the label's APP1 XMP segment: an APP1 segment
//! whose identifier is [`ROOM_SIGNATURE`], the XMP identifier with its first byte changed, and
//! whose payload no reader looks at ([`Limits::label_room`] bytes more than the label's segment,
//! 4 KiB by default). The two segments alternate roles. An update writes the new XMP segment
//! inside the room, where no reader looks, then switches with one write of three bytes (the
//! segment length and the identifier's first byte) inside one disk sector:
//!
//! ```text
//! forward:  [XMP: old] [room ........ new XMP]  ->  [room: old + room header ...] [XMP: new]
//! backward: [room ..... ] [XMP: old]            ->  [XMP: new] [room: rest + old]
//! ```
//!
//! Forward, the old XMP segment's length grows to end where the new segment starts and its
//! identifier becomes the room's, so one room covers the old packet. Backward, the room's
//! header becomes the new XMP segment's (its identifier back to the XMP one, its length that of
//! the new segment, whose bytes were written after the header), and a room header written
//! after it covers the rest, old packet included.
//!
//! Why not the packet's own padding, with a fixed-length packet: rewriting a packet of several
//! sectors over itself is not atomic, and keeping the new packet inside the old one's padding
//! until a switch means bytes that are neither white space nor XML inside a packet readers
//! parse. Segments are skipped by their length before anyone parses them, so the room holds
//! anything, and the new packet may be longer or shorter than the old one.
//!
//! The steps: (1) the new segment (and, backward, the room header after it), synced; (2) the
//! switch, synced; (3) the old packet's text, now inside the room, is zeroed, not synced (lost,
//! it leaves stale bytes in the room, which no reader looks at). A kill at any moment leaves a
//! file that reads as the old label or the new one. Nothing outside the two segments changes,
//! so a content binding, which leaves both out ([`super::Jpeg`]'s `binding_exclusions`), holds.
//!
//! When the file has no room next to its label (a first label, a file from another writer, a
//! label that outgrew the room), when a label sits elsewhere too (EXIF `UserComment`, Extended
//! XMP), or when the switch would straddle a sector, nothing is written and [`Update::Rewrite`]
//! says why: the caller rewrites the file whole, which leaves the room again.
//!
//! [`Update::Rewrite`]: aigc_label_core::in_place::Update::Rewrite

use aigc_label_core::container::xmp_plan;
use aigc_label_core::in_place::{InPlace, Plan};
use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::json::{self, Shape};
use aigc_label_core::{Label, Limits, Result};

use super::segment::APP1;
use super::{CARRIER_XMP, FORMAT, Jpeg, MAX_PAYLOAD, ROOM_SIGNATURE, XMP_SIGNATURE, label_segment, scan, xmp_segment};
use crate::room::{Pair, packet_text_len};

/// Bytes of a segment before its identifier ends: marker, length, identifier.
const HEAD: u64 = 4 + ROOM_SIGNATURE.len() as u64;

impl InPlace for Jpeg {
    /// Plans the update (see the module notes) when the room our writer leaves next to the
    /// label's XMP segment can take it.
    fn plan(&self, file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
        steps(file, label, limits)
    }
}

/// Works out the update; `Err(why)` when it cannot be done in place.
fn steps(file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
    let scan = scan(file, limits, false, None)?;
    if scan.found.iter().any(|f| f.carrier != CARRIER_XMP) {
        return Ok(Err("a label sits outside the XMP segment"));
    }
    let Some((old, _)) = label_segment(&scan).ok().flatten().and_then(|i| scan.xmp.get(i)) else {
        return Ok(Err("no single XMP segment to update"));
    };
    // The room right after the XMP segment, or right before it; no fill bytes between them.
    let room = scan.rooms.iter().find(|r| {
        (r.marker_at == old.payload.end && r.start == r.marker_at)
            || (r.payload.end == old.start && old.start == old.marker_at)
    });
    let Some(room) = room else {
        return Ok(Err("no room segment next to the XMP segment"));
    };
    let mut src = Source::new(file, FORMAT)?;
    src.seek_to(old.payload.start)?;
    let payload = src.read_vec(old.payload_len(), "APP1 XMP segment", limits)?;
    let packet = payload.get(XMP_SIGNATURE.len()..).unwrap_or_default();
    let text = json::to_json(label, Shape::Bare);
    let new = xmp_segment(&xmp_plan::label_packet(Some(packet), &text, limits)?)?;
    let text_at = old.payload.start + XMP_SIGNATURE.len() as u64;
    let pair = Pair {
        old: old.range(),
        room: room.marker_at..room.payload.end,
        text: text_at..text_at + packet_text_len(packet),
        head: HEAD,
        // The length and the identifier's first byte (`h` for XMP, `x` for room).
        switch: 2..5,
    };
    Ok(pair.steps(&new, room_header))
}

/// The header (marker, length, identifier) of a room segment `len` bytes long, marker included.
fn room_header(len: u64) -> Option<Vec<u8>> {
    let field = len.checked_sub(2)?;
    if field < HEAD - 2 || field > MAX_PAYLOAD as u64 + 2 {
        return None;
    }
    let field = u16::try_from(field).ok()?;
    Some([&[0xFF, APP1][..], &field.to_be_bytes(), ROOM_SIGNATURE].concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_headers() {
        let at_least = room_header(HEAD).unwrap();
        assert_eq!(at_least.len() as u64, HEAD);
        assert_eq!(
            at_least.get(2..4),
            Some(&u16::try_from(HEAD - 2).unwrap().to_be_bytes()[..])
        );
        assert_eq!(room_header(HEAD - 1), None);
        assert_eq!(room_header(65_537).unwrap().get(2..4), Some(&[0xFF, 0xFF][..]));
        assert_eq!(room_header(65_538), None);
    }
}
