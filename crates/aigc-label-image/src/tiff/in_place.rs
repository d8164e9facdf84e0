//! TIFF label updates in place (issue 16): the new XMP packet is written where no reader looks
//! (past the end of the file, or in a *label room* our earlier update left), synced, and one
//! IFD entry's offset (and count, when the length changes) is flipped to it, inside one disk
//! sector, synced; last the old packet's text, now unreferenced, is zeroed.
//!
//! **Label rooms.** Bytes no structure references are invisible in a TIFF file, so an update
//! marks the ones it leaves behind with a 16-byte record, [`ROOM`] and the room's length (little
//! endian): a record right after IFD0's packet opens a room that runs to the end of the file; a
//! record right before the packet closes a room that starts that many bytes earlier. A record
//! counts only where nothing the walk knows (IFDs, values, strips, tiles) lies in the room. The
//! rooms let the packet alternate between two places at the end of the file, so updates do not
//! grow it:
//!
//! ```text
//! no room:     [X][P]                 ->  [X][P (unreferenced) rec-after][rec-before][N]   (grows once)
//! room before: [X][room ... rec][P]   ->  [X][N][rec-after ......... P]                    (same size)
//! room after:  [X][P][rec-after ...]  ->  [X][P ........... rec-before][N]                 (same size)
//! ```
//!
//! A content binding leaves IFD0's packet and its rooms out (see [`super::Tiff`]'s
//! `binding_exclusions`), so the covered bytes (`X`) are the same in every state, and the
//! rewrite ([`super::Tiff::write`]) puts its packet where the packet and its rooms start.
//!
//! Anything else (a label outside IFD0's packet, a packet inside IFD0 or in the middle of the
//! file, an entry that is not BYTE, or whose fields straddle a sector) writes nothing and asks
//! for a rewrite.

use std::ops::Range;

use aigc_label_core::container::xmp_plan;
use aigc_label_core::in_place::{InPlace, Plan, Steps, in_one_sector};
use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::{Label, Limits, Result};

use super::{FORMAT, Scan, TYPE_BYTE, Tiff};

/// The first bytes of a label room's record; its length follows.
pub const ROOM: &[u8; 8] = b"AIGCroom";
/// A room record: [`ROOM`] and a length.
const RECORD: u64 = 16;

/// The label rooms beside IFD0's packet.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Rooms {
    /// Closed by a record right before the packet.
    pub before: Option<Range<u64>>,
    /// Opened by a record right after the packet, to the end of the file.
    pub after: Option<Range<u64>>,
}

/// A room record for a room of `len` bytes.
fn record(len: u64) -> Vec<u8> {
    [&ROOM[..], &len.to_le_bytes()].concat()
}

/// The length a room record at `at` gives, if there is one.
fn read_record(src: &mut Source<'_>, at: u64) -> Result<Option<u64>> {
    if at.checked_add(RECORD).is_none_or(|end| end > src.len()) {
        return Ok(None);
    }
    src.seek_to(at)?;
    let bytes: [u8; 16] = src.read_array("label room record")?;
    let (mark, len) = bytes.split_at(8);
    Ok((mark == ROOM).then(|| u64::from_le_bytes(len.try_into().unwrap_or_default())))
}

/// The rooms beside the packet of IFD0's first tag 700 (none without one, or for an inline
/// value).
pub(super) fn rooms(src: &mut Source<'_>, scan: &Scan) -> Result<Rooms> {
    let mut rooms = Rooms::default();
    let Some(entry) = scan.primary().filter(|e| !e.inline && e.is_bytes()) else {
        return Ok(rooms);
    };
    let (a, b, end) = (entry.value.start, entry.value.end, scan.file_len);
    if read_record(src, b)? == Some(end - b) && b >= scan.floor {
        rooms.after = Some(b..end);
    }
    if let Some(start) = a.checked_sub(RECORD) {
        let len = read_record(src, start)?.filter(|&len| len >= RECORD);
        if let Some(start) = len.and_then(|len| a.checked_sub(len)).filter(|&s| s >= scan.floor) {
            rooms.before = Some(start..a);
        }
    }
    Ok(rooms)
}

/// Updates in place (see the module notes for the steps that keep every moment readable as the
/// old label or the new one). The file may grow, once, by about the packet's size; later updates
/// alternate between the packet's two places. The plan asks for a rewrite when the label is
/// anywhere but in the packet of IFD0's tag 700 at the end of the file.
impl InPlace for Tiff {
    fn plan(&self, file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
        plan(file, label, limits)
    }
}

/// Works out the steps, or why there are none.
fn plan(file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
    let mut src = Source::new(file, FORMAT)?;
    let scan = Scan::read(&mut src, limits, false)?;
    if scan.image_cut.is_some() || scan.comment_cut.is_some() || !scan.comments.is_empty() {
        return Ok(Err(
            "the image or the EXIF UserComment is cut short, or a label sits in the UserComment",
        ));
    }
    let Some(entry) = scan.primary().filter(|e| !e.inline && e.entry.kind == TYPE_BYTE) else {
        return Ok(Err("no XMP packet of type BYTE in IFD0"));
    };
    let found = scan.found(&mut src, limits)?;
    if found.len() != 1 || found.iter().any(|f| f.range != entry.value) {
        return Ok(Err("not exactly one label, in IFD0's packet"));
    }
    let rooms = rooms(&mut src, &scan)?;
    let (a, b, end) = (entry.value.start, entry.value.end, scan.file_len);
    if b != end && rooms.after.is_none() {
        return Ok(Err("something follows IFD0's packet"));
    }
    let old = entry.read(&mut src, limits)?;
    let json = to_json(label, Shape::Bare);
    let mut packet = xmp_plan::label_packet(Some(&old), &json, limits).map_err(|e| entry.in_packet(e))?;
    if packet.len() < old.len() {
        // The same length: the switch is then the offset alone.
        packet = xmp_plan::pad_to(packet, old.len());
    }
    let word = scan.codec.layout.word();
    let len = packet.len() as u64;
    let mut prepare = Vec::new();
    let at = if let Some(n) = (end.checked_sub(len))
        .map(|n| n / word * word)
        .filter(|&n| rooms.after.is_some() && n >= b + 2 * RECORD)
    {
        // The end of the room after the packet, closed by a record before the new one.
        let padded = xmp_plan::pad_to(packet, usize::try_from(end - n).unwrap_or(usize::MAX));
        prepare.push((n - RECORD, record(n - a)));
        prepare.push((n, padded));
        n
    } else if let Some(t) = rooms
        .before
        .as_ref()
        .map(|r| r.start)
        .filter(|&t| t % word == 0 && t + len + 2 * RECORD <= a)
    {
        // The start of the room before the packet, a record after it opening the rest.
        prepare.push((t, packet));
        prepare.push((t + len, record(end - (t + len))));
        t
    } else {
        // Past the end of the file: the packet and what lies between become room.
        let t = rooms.before.as_ref().map_or(a, |r| r.start);
        let n = (end + 2 * RECORD).next_multiple_of(word);
        let new_end = n + len;
        if new_end > scan.codec.layout.max_offset() {
            return Ok(Err("the file would outgrow 32-bit offsets"));
        }
        prepare.push((n, packet));
        prepare.push((b, record(new_end - b)));
        prepare.push((n - RECORD, record(n - t)));
        n
    };
    let label_len = prepare
        .iter()
        .find(|(pos, _)| *pos == at)
        .map_or(len, |(_, bytes)| bytes.len() as u64);
    let codec = scan.codec;
    let fields = entry.entry.at + 4;
    let switch = if label_len == entry.entry.count {
        (fields + word, codec.put(at, word))
    } else {
        (fields, [codec.put(label_len, word), codec.put(at, word)].concat())
    };
    if !in_one_sector(switch.0, switch.1.len() as u64) {
        return Ok(Err("the XMP entry's fields straddle a disk sector"));
    }
    let text = a..a + crate::room::packet_text_len(&old);
    Ok(Ok(Steps::single_switch(
        prepare,
        switch,
        std::slice::from_ref(&text),
        at..at + label_len,
    )))
}
