//! Crash-safe label updates in place for MP4/MOV (issue 16).
//!
//! Our writer leaves two `free` boxes in the label's `moov/udta/meta`: an empty one right after
//! `hdlr` (the *front*) and room after `ilst` ([`Limits::label_room`], 4 KiB by default):
//!
//! ```text
//! meta [hdlr] [free: front] [keys] [ilst] [free: room]
//! ```
//!
//! An update writes the new `keys` and `ilst` (the *block*) inside one of the `free` boxes,
//! where no reader looks, then changes the front's 4-byte size field, in one write inside one
//! disk sector (only the bytes that change), so that the front box covers the old block and ends where the new one starts
//! (or, when the new block went inside the front itself, shrinks back to 8 bytes):
//!
//! ```text
//! forward:  [hdlr] [free: front + old block + 8] [new block] [free: rest of the room]
//! backward: [hdlr] [free: 8] [new block] [free: rest of the front + old block] [free: room]
//! ```
//!
//! The steps: (1) the new block and a `free` header after it, synced; (2) the switch, synced;
//! (3) the old block, now inside a `free` box, is zeroed. A kill at any moment leaves a file
//! that reads as the old label or the new one. The zeros are not synced: lost, they leave stale
//! bytes inside a `free` box, which no reader looks at, and the third sync would be a third of
//! the update's time. Nothing outside `meta` changes (no
//! size field, no offset), so a content binding, which leaves the `meta` box out, still holds.
//!
//! When the file has no such room (a first label, a file from another writer, a label that
//! outgrew both boxes), nothing is written and [`Update::Rewrite`] says why: the caller then
//! rewrites the file whole, which leaves the room again.
//!
//! [`Update::Rewrite`]: aigc_label_core::in_place::Update::Rewrite

use std::ops::Range;

use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::{Label, Limits, Result};

use super::boxes::{FORMAT, Node, parse_tree};
use super::meta::{self, Place};
use super::{Bmff, read_box, single_moov, walk_top, xmp_patches};
use crate::common::{Budget, label_json};

use aigc_label_core::in_place::{InPlace, Plan, Steps, in_one_sector};

impl InPlace for Bmff {
    /// Plans the update (see the module notes) when the room our writer leaves in the label's
    /// `meta` box can take it.
    fn plan(&self, file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
        steps(file, label, limits)
    }
}

/// The writes (position, bytes) of the three steps: prepare, switch, scrub.
type Phases = [Vec<(u64, Vec<u8>)>; 3];

fn steps(file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
    let mut src = Source::new(file, FORMAT)?;
    let mut budget = Budget::new(limits);
    let top = walk_top(&mut src, &mut budget, true)?;
    let (_, moov) = single_moov(&top)?;
    if moov.claimed_end.is_some() {
        return Ok(Err("moov is cut short: a rewrite repairs its size"));
    }
    if !xmp_patches(&mut src, &top, limits)?.is_empty() {
        return Ok(Err("an XMP box outside moov holds a label copy to blank"));
    }
    let buf = read_box(&mut src, &moov, limits)?;
    let old = parse_tree(&buf, moov.start, limits, &mut budget)?;
    let meta_path = match meta::copies(&old, &buf, limits)?.as_slice() {
        [one] if one.place == Place::UdtaMdta => one.structure().to_vec(),
        [] => return Ok(Err("no label yet: the first write leaves the room")),
        _ => return Ok(Err("the file has label copies outside our meta box")),
    };
    let mut new = old.clone();
    let pad = meta::put_label(&mut new, &buf, &label_json(label), limits)?;
    let (Some(old_meta), Some(new_meta)) = (old.at(&meta_path), new.at(&meta_path)) else {
        return Ok(Err("the label's meta box moved"));
    };
    if !pad.starts_with(&meta_path) || !only_meta_changes(&new, old_meta, &meta_path, &buf) {
        return Ok(Err("the update changes moov outside the label's meta box"));
    }
    let Some(layout) = Layout::of(old_meta, moov.start) else {
        return Ok(Err("the meta box has no room left by our writer"));
    };
    let Some(block) = block(old_meta, new_meta, &buf) else {
        return Ok(Err("the update changes the meta box's handler"));
    };
    Ok(layout.switch(&block).map(|phases| Steps {
        phases: Vec::from(phases),
        label_range: moov.start + old_meta.range.start as u64..moov.start + old_meta.range.end as u64,
        scrub: true,
        cut: None,
    }))
}

/// True when `new` (a `moov` tree) with its `meta` at `path` put back to `old_meta` emits the
/// original bytes `buf`: the update touches nothing else, not even a size field.
fn only_meta_changes(new: &Node, old_meta: &Node, path: &[usize], buf: &[u8]) -> bool {
    let mut check = new.clone();
    let Some(slot) = check.at_mut(path) else { return false };
    *slot = old_meta.clone();
    let mut out = Vec::new();
    if out.try_reserve_exact(buf.len()).is_err() {
        return false;
    }
    check.emit(buf, &mut out);
    out == buf
}

fn is_free(k: &Node) -> bool {
    k.live() && matches!(&k.typ, b"free" | b"skip")
}

/// The new block: the emitted boxes of `new_meta` other than `hdlr` and padding, in order;
/// `None` when its handler or full-box header differ from `old_meta`'s.
fn block(old_meta: &Node, new_meta: &Node, buf: &[u8]) -> Option<Vec<u8>> {
    let emit = |n: &Node| {
        let mut v = Vec::new();
        n.emit(buf, &mut v);
        v
    };
    let same_handler = match (old_meta.kids.first(), new_meta.kids.first()) {
        (Some(a), Some(b)) => &a.typ == b"hdlr" && emit(a) == emit(b),
        _ => false,
    };
    if !same_handler || old_meta.prefix != new_meta.prefix || !new_meta.tail.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for kid in new_meta.kids.iter().skip(1).filter(|k| k.live() && !is_free(k)) {
        kid.emit(buf, &mut out);
    }
    Some(out)
}

/// Where the room and the live block are in a `meta` box laid out as our writer leaves it,
/// by absolute file offsets.
struct Layout {
    /// The front `free` box (right after `hdlr`).
    front: Range<u64>,
    /// The live boxes (`keys`, `ilst`) between the front and the trailing padding.
    live: Range<u64>,
    /// The `free`/`skip` boxes after the live block, to the end of `meta`.
    tail: Vec<Range<u64>>,
}

impl Layout {
    /// `meta`'s layout (`base`: `moov`'s offset in the file), when it is `hdlr`, an 8-byte-header
    /// `free`, one or more other boxes, then only `free`/`skip` boxes, and nothing else.
    fn of(meta: &Node, base: u64) -> Option<Layout> {
        let abs = |n: &Node| base + n.range.start as u64..base + n.range.end as u64;
        let kids = &meta.kids;
        if !meta.tail.is_empty() || kids.iter().any(|k| !k.live()) {
            return None;
        }
        let front = kids.get(1).filter(|k| is_free(k) && k.hdr_len == 8)?;
        let first_pad = kids.iter().skip(2).position(is_free).map_or(kids.len(), |i| i + 2);
        let (live, tail) = (kids.get(2..first_pad)?, kids.get(first_pad..)?);
        if live.is_empty() || !tail.iter().all(is_free) {
            return None;
        }
        let live = abs(live.first()?).start..abs(live.last()?).end;
        let tail = tail.iter().filter(|k| k.hdr_len == 8).map(abs).collect();
        Some(Layout {
            front: abs(front),
            live,
            tail,
        })
    }

    /// The three steps that put `block` in place of the live block, or why they cannot.
    fn switch(&self, block: &[u8]) -> std::result::Result<Phases, &'static str> {
        let n = block.len() as u64;
        let s = self.front.start;
        let scrub = vec![(self.live.start, zeros(self.live.end - self.live.start))];
        // Backward: the block goes inside the front box, a free box after it covers the rest of
        // the front and the old block, and the front shrinks to its header.
        let front_len = self.front.end - s;
        if n + 16 <= front_len {
            let after = s + 8 + n;
            let prepare = vec![(s + 8, block.to_vec()), (after, free_header(self.live.end - after)?)];
            return Ok([prepare, vec![self.resize_front(8)?], scrub]);
        }
        // Forward: the block goes inside a trailing free box, and the front grows over
        // everything up to that box's payload.
        for pad in &self.tail {
            let room = pad.end - pad.start - 8;
            let rest = room.checked_sub(n);
            if !rest.is_some_and(|r| r == 0 || r >= 8) {
                continue;
            }
            let at = pad.start + 8;
            let mut prepare = vec![(at, block.to_vec())];
            if let Some(rest) = rest.filter(|&r| r > 0) {
                prepare.push((at + n, free_header(rest)?));
            }
            return Ok([prepare, vec![self.resize_front(at - s)?], scrub]);
        }
        Err("the new label does not fit the room left in the meta box")
    }
}

impl Layout {
    /// The switch: the bytes of the front box's size field that change, when they lie inside
    /// one disk sector (sizes under 64 KiB change at most the last two bytes, so a field that
    /// straddles a sector boundary is usually still switched by a write inside one sector).
    fn resize_front(&self, size: u64) -> std::result::Result<(u64, Vec<u8>), &'static str> {
        let (old, new) = (size_field(self.front.end - self.front.start)?, size_field(size)?);
        let differ = |i: &usize| old.get(*i) != new.get(*i);
        let first = (0..4).find(differ).unwrap_or(3);
        let last = (0..4).rev().find(differ).unwrap_or(3);
        let (pos, len) = (self.front.start + first as u64, (last + 1 - first) as u64);
        if !in_one_sector(pos, len) {
            return Err("the bytes of the switch would straddle a disk sector");
        }
        Ok((pos, new.get(first..=last).unwrap_or_default().to_vec()))
    }
}

fn size_field(size: u64) -> std::result::Result<Vec<u8>, &'static str> {
    u32::try_from(size)
        .map(|s| s.to_be_bytes().to_vec())
        .map_err(|_| "the padding would exceed a 32-bit box size")
}

fn free_header(size: u64) -> std::result::Result<Vec<u8>, &'static str> {
    let mut v = size_field(size)?;
    v.extend_from_slice(b"free");
    Ok(v)
}

fn zeros(len: u64) -> Vec<u8> {
    vec![0; usize::try_from(len).unwrap_or(0)]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A layout with one trailing padding box, from the live block's end to `end`.
    fn layout(front: Range<u64>, live: Range<u64>, end: u64) -> Layout {
        let tail = std::iter::once(live.end..end).collect();
        Layout { front, live, tail }
    }

    #[test]
    fn forward_then_backward() {
        // front 100..108, live 108..208, room 208..1208.
        let l = layout(100..108, 108..208, 1208);
        let [prepare, switch, scrub] = l.switch(&[7; 120]).unwrap();
        assert_eq!(prepare[0].0, 216);
        assert_eq!(prepare[1], (336, free_header(1208 - 336).unwrap()));
        assert_eq!(switch, vec![(103, vec![116])]);
        assert_eq!(scrub, vec![(108, vec![0; 100])]);
        // Now: front 100..216, live 216..336, room 336..1208; a block of 90 fits the front.
        let l = layout(100..216, 216..336, 1208);
        let [prepare, switch, _] = l.switch(&[7; 90]).unwrap();
        assert_eq!(prepare[0].0, 108);
        assert_eq!(prepare[1], (198, free_header(336 - 198).unwrap()));
        assert_eq!(switch, vec![(103, vec![8])]);
    }

    #[test]
    fn no_room_and_straddling_switches_are_refused() {
        assert!(layout(100..108, 108..208, 300).switch(&[0; 100]).is_err());
        // A remainder of 1..7 bytes cannot be a box.
        assert!(layout(100..108, 108..208, 300).switch(&[0; 80]).is_err());
        assert!(layout(100..108, 108..208, 300).switch(&[0; 84]).is_ok());
        // The size field straddles a sector boundary: fine while the bytes that change do not.
        let [_, switch, _] = layout(510..518, 518..600, 2000).switch(&[0; 8]).unwrap();
        assert_eq!(switch, vec![(513, vec![98])]);
        assert!(layout(509..517, 517..900, 2000).switch(&[0; 8]).is_err());
    }
}
