//! Crash-safe label updates in place for HEIF and AVIF (issue 16): a pointer flip, as TIFF's.
//!
//! Our writer puts the XMP packet in an `mdat` box of its own at the end of the file, followed
//! by room: zeros as long as the packet plus [`Limits::label_room`] (4 KiB by default), which
//! no `iloc` extent points at ([`super::Heif`]'s `write`). An update writes the new packet into
//! that room, at the end away from the live packet, where nothing points yet, and syncs; one
//! write inside one disk sector then flips the XMP item's `iloc` extent (its offset, or the
//! base offset, and its length) to it, synced; last, the old packet's text is zeroed (not synced: lost,
//! it leaves stale bytes nothing points at).
//!
//! ```text
//! mdat: [packet A][zeros ..........]  ->  [zeros ..........][packet B]  ->  [packet C][zeros ...]
//! iloc:  A                                                  B                 C
//! ```
//!
//! The live packet sits at one end of the payload and the room at the other, so a new packet
//! fits while it and the live one fit the payload together (twice the first packet plus
//! [`Limits::label_room`]): the first update takes a packet up to the old one's length plus
//! [`Limits::label_room`]. A kill at any moment leaves a
//! file whose item reads as the old packet or the new one. Nothing but that `mdat`'s payload and
//! the item's `iloc` entry changes: a content binding leaves both out
//! ([`super::Heif`]'s `binding_exclusions`); `meta` keeps its size, no other offset moves, the
//! file keeps its size.
//!
//! Without that layout (a first label, a label another tool wrote, a compressed item, an item
//! in `idat` or sharing its `mdat`), with a label in another item too, when the new packet does
//! not fit the room, or when the fields to flip straddle a sector, nothing is written and
//! [`Update::Rewrite`] says why: the caller rewrites the file, which leaves the room.
//!
//! [`Update::Rewrite`]: aigc_label_core::in_place::Update::Rewrite

use aigc_label_core::in_place::{InPlace, Plan, Steps, in_one_sector};
use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::json::{self, Shape};
use aigc_label_core::{Label, Limits, Result};

use super::boxes::set_uint;
use super::items::Field;
use super::{FORMAT, File, Heif, Span, in_item, primary};
use aigc_label_core::container::xmp_plan;

impl InPlace for Heif {
    /// Plans the update (see the module notes) when the room our writer leaves after the XMP
    /// packet can take it.
    fn plan(&self, file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
        steps(file, label, limits)
    }
}

/// Works out the update; `Err(why)` when it cannot be done in place.
fn steps(file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
    let mut src = Source::new(file, FORMAT)?;
    let file = File::read(&mut src, limits, false)?;
    if !file.exif_items(&mut src, limits)?.is_empty() {
        return Ok(Err("a label sits in an Exif item"));
    }
    let items = file.xmp_items(&mut src, limits)?;
    let chosen = primary(&items);
    if items
        .iter()
        .enumerate()
        .any(|(i, item)| Some(i) != chosen && !item.hits.is_empty())
    {
        return Ok(Err("a label sits in another XMP item too"));
    }
    let Some(item) = chosen.and_then(|i| items.get(i)) else {
        return Ok(Err("no XMP item to update"));
    };
    if item.infe.encoding().is_some() {
        return Ok(Err("the XMP item is compressed"));
    }
    let id = item.infe.id;
    let mdat = file.trailing_mdat(&mut src, id, &item.spans, limits)?;
    let (Some(mdat), [Span::File(old)]) = (mdat, item.spans.as_slice()) else {
        return Ok(Err("the XMP item has no mdat of its own at the end of the file"));
    };
    let Some(loc) = file.meta.iloc.item(id) else {
        return Ok(Err("the XMP item has no iloc entry"));
    };
    let [extent] = loc.extents.as_slice() else {
        return Ok(Err("the XMP item has several extents"));
    };
    let json = json::to_json(label, Shape::Bare);
    let packet = xmp_plan::label_packet(Some(&item.packet), &json, limits).map_err(|e| in_item(id, e))?;
    let len = packet.len() as u64;
    // The far end of the free part of the payload: the start when the packet fits before the
    // live one, else the end.
    let room = mdat.start + mdat.header..mdat.end;
    let at = if room.start + len <= old.start {
        room.start
    } else if old.end + len <= room.end {
        room.end - len
    } else {
        return Ok(Err("the new label does not fit the room"));
    };
    // The fields the switch sets: the extent's offset (else the base offset), and its length.
    let offset = if extent.offset.width > 0 {
        at.checked_sub(loc.base.value).map(|v| (extent.offset, v))
    } else {
        (loc.base.width > 0).then_some((loc.base, at))
    };
    let (Some(offset), true) = (offset, extent.length.width > 0) else {
        return Ok(Err("the iloc entry has no field for the new offset or length"));
    };
    let Some((pos, bytes)) = switch(&file, &[offset, (extent.length, len)]) else {
        return Ok(Err("the new offset or length does not fit its iloc field"));
    };
    if !in_one_sector(pos, bytes.len() as u64) {
        return Ok(Err("the iloc fields to flip straddle a disk sector"));
    }
    // The old packet's text is zeroed; its padding and trailer, white space and XML, stay.
    let text = old.start..old.start + crate::room::packet_text_len(&item.packet);
    Ok(Ok(Steps::single_switch(
        vec![(at, packet)],
        (pos, bytes),
        &[text],
        at..at + len,
    )))
}

/// The switch write that sets each field to its value: the bytes of `meta` from the first field
/// to the end of the last, the fields set and the bytes between them as they are, and where
/// they go in the file. `None` when a value does not fit its field.
fn switch(file: &File, fields: &[(Field, u64)]) -> Option<(u64, Vec<u8>)> {
    let start = fields.iter().map(|(f, _)| f.at).min()?;
    let end = fields.iter().map(|(f, _)| f.at + usize::from(f.width)).max()?;
    let mut bytes = file.meta.buf.get(start..end)?.to_vec();
    for (field, value) in fields {
        set_uint(&mut bytes, field.at - start, *value, field.width)?;
    }
    Some((file.meta.b.start + start as u64, bytes))
}
