//! Matroska and WebM label updates in place (issue 16).
//!
//! Our write gives the label a `Tags` element of its own: our `Tag`, then a `Void` inside the
//! same element, [`Limits::label_room`] bytes of room (see `our_tags` in the module above). The
//! `Tags` element never moves or changes size, so the `SeekHead` entry that points at it (how
//! ffmpeg finds a `Tags` element after the Clusters) and the Segment size stay right at every
//! moment; only the children inside it take turns, in core's room layout
//! ([`aigc_label_core::in_place::room`]):
//!
//! ```text
//! forward:  Tags [Tag: old][Void ...... new]  ->  Tags [Void: old + room ...][Tag: new]
//! backward: Tags [Void ......][Tag: old]      ->  Tags [Tag: new][Void: rest + old]
//! ```
//!
//! The new `Tag` is prepared inside the `Void`'s data (no reader parses a Void, RFC 8794
//! §11.3.2), synced; the switch rewrites one element header, at most 9 bytes inside one disk
//! sector (a `Tag` header becomes a `Void` header of the same length, or the other way round),
//! synced; last the old label's `SimpleTag`, now inside a Void, is zeroed. The headers of the
//! two elements are made the same length, so the switch is the whole header. Our write puts the
//! first `Tag` header inside one sector, and every later switch rewrites a header at that same
//! place.
//!
//! Anything else (a label in someone else's `Tags`, a `Tags` element with a CRC-32 or with
//! other children, a damaged Segment, too little room) writes nothing and asks for a rewrite,
//! which lays the element out as above.

use aigc_label_core::check::Level;
use aigc_label_core::in_place::room::Pair;
use aigc_label_core::in_place::{InPlace, Plan};
use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::{Carrier, Label, Limits, Result};

use super::ebml::{Child, FORMAT, children, element_sized, id, size_bytes};
use super::{Matroska, SPEC_PLACE, data_range, label_json, load, segment};

/// A Void element's ID (one byte).
const VOID: u8 = 0xEC;

/// Updates in place when our room is there (see the module notes for the steps that keep every
/// moment readable as the old label or the new one). The plan asks for a rewrite when the file
/// holds anything but one label in a `Tags` element of our layout with room enough.
impl InPlace for Matroska {
    fn plan(&self, file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
        plan(file, label, limits)
    }
}

/// Works out the steps, or why there are none.
fn plan(file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
    let found = Matroska.find(file, limits)?;
    let [copy] = found.as_slice() else {
        return Ok(Err("not exactly one label"));
    };
    if copy.carrier != SPEC_PLACE || copy.checks.iter().any(|c| c.level != Level::Pass) {
        return Ok(Err("the label is not in a whole-file Tag of a sound Segment"));
    }
    let mut src = Source::new(file, FORMAT)?;
    let seg = segment(&mut src, limits, true)?;
    let Some(tags) = seg
        .kids
        .iter()
        .find(|k| k.id == id::TAGS && k.start <= copy.range.start && copy.range.end <= k.end)
    else {
        return Ok(Err("the label's Tags element is not a Segment child"));
    };
    if seg.claimed_end.is_some() || tags.claimed_end.is_some() {
        return Ok(Err("a size runs past the end of the file"));
    }
    let buf = load(&mut src, tags, limits)?;
    let at = tags.start;
    let kids = children(&buf, data_range(&buf, at)?, at)?;
    if kids.iter().any(|c| c.id != id::TAG && c.id != id::VOID) {
        return Ok(Err(
            "the Tags element holds more than our Tag and its room (a CRC-32, say)",
        ));
    }
    let abs = |r: &std::ops::Range<usize>| at + r.start as u64..at + r.end as u64;
    let Some((i, tag)) = kids.iter().enumerate().find(|(_, c)| c.id == id::TAG) else {
        return Ok(Err("no Tag"));
    };
    let holds = abs(&tag.range).contains(&copy.range.start);
    if kids.iter().filter(|c| c.id == id::TAG).count() != 1 || !holds || !ours(&buf, tag, at)? {
        return Ok(Err("the Tags element holds another Tag"));
    }
    let body = super::label_tag_body(&label_json(label));
    // The room after the Tag (forward), else before it (backward).
    let rooms = [kids.get(i + 1), i.checked_sub(1).and_then(|j| kids.get(j))];
    for room in rooms.into_iter().flatten().filter(|c| c.id == id::VOID) {
        let forward = room.range.start == tag.range.end;
        // The switch rewrites one whole header: the old Tag's (forward) or the room's
        // (backward); the structure taking that place gets a header of the same length.
        let switched = if forward { tag } else { room };
        let len = (switched.data.start - switched.range.start) as u64;
        if !(3..=9).contains(&len) {
            continue;
        }
        let Some(new) = element_sized(id::TAG, &body, (len - 2) as usize) else {
            continue;
        };
        let pair = Pair {
            old: abs(&tag.range),
            room: abs(&room.range),
            text: copy.range.clone(),
            head: len.max((room.data.start - room.range.start) as u64),
            switch: 0..len,
        };
        let void_header = |total: u64| -> Option<Vec<u8>> {
            let mut h = vec![VOID];
            h.extend(size_bytes(total.checked_sub(len)?, (len - 1) as usize)?);
            Some(h)
        };
        if let Ok(steps) = pair.steps(&new, void_header) {
            return Ok(Ok(steps));
        }
    }
    Ok(Err("no room next to the label's Tag, or too little"))
}

/// Whether `tag` is a Tag as our writer makes it: Targets (the whole file) and one SimpleTag,
/// which holds a name and a string, nothing nested.
fn ours(buf: &[u8], tag: &Child, at: u64) -> Result<bool> {
    let kids = children(buf, tag.data.clone(), at)?;
    if kids.iter().any(|c| c.id != id::TARGETS && c.id != id::SIMPLE_TAG) {
        return Ok(false);
    }
    let simple: Vec<_> = kids.iter().filter(|c| c.id == id::SIMPLE_TAG).collect();
    let [simple] = simple.as_slice() else {
        return Ok(false);
    };
    let inner = children(buf, simple.data.clone(), at)?;
    Ok(inner.iter().all(|c| c.id == id::TAG_NAME || c.id == id::TAG_STRING))
}
