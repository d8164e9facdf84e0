//! The output of [`super::Bmff`]'s write, planned in one walk of the top-level boxes and
//! written as the walk goes.
//!
//! Nothing can be written before `moov` has been read: the label goes into it, and when it
//! grows, the offsets that point past it (in `moov` and in `moof`, `sidx`, `mfra` or a
//! top-level `meta`) move, or a `free` box beside it shrinks. So the boxes before `moov` wait
//! (their headers only), `moov` is decided once the box after it (or the end) is known, and
//! from then on each box is planned and drained as it is met: a file of many small boxes after
//! `moov` is read once, each box's bytes copied while the walk's read of it is in the buffer.

use std::ops::Range;

use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::plan::{Plan as EditPlan, PlanBuilder};
use aigc_label_core::{Error, Found, Label, Limits, Result};

use super::boxes::{FORMAT, Header, parse_tree};
use super::offsets::Shift;
use super::{
    adjacent_free, box_offset_fields, label_range, meta, moov_copies, plan_free, plan_patched, read_box, relocate_moov,
    top_box, uuid_copies, uuid_xmp_patches,
};
use crate::common::{Budget, Patch, label_json};

/// What `moov` decides for the whole output.
struct Moov {
    /// Its index among the top-level boxes.
    at: usize,
    /// The rebuilt box, holding the label.
    new_moov: Vec<u8>,
    /// The label's `meta` box within `new_moov`.
    label_range: Range<u64>,
    /// A top-level `free` box next to `moov` that changes size (index, new size; 0 drops it).
    resized_free: Option<(usize, u64)>,
    /// How offsets past `moov` move, when they do.
    shift: Option<Shift>,
    /// The label copies in `moov`, as [`aigc_label_core::Carrier::find`] reports them.
    found: Vec<Found>,
}

/// Plans (and, into a streaming builder, writes) [`aigc_label_core::Carrier::write`]'s output.
pub(super) fn edit_plan(
    input: &mut dyn ReadSeek,
    label: &Label,
    limits: &Limits,
    mut out: PlanBuilder<'_>,
) -> Result<EditPlan> {
    let mut src = Source::new(input, FORMAT)?;
    let mut budget = Budget::new(limits);
    let mut boxes: Vec<Header> = Vec::new();
    let mut moov: Option<Moov> = None;
    // Boxes planned so far; the copies found in them; where the walk stands.
    let mut planned = 0;
    let mut found = Vec::new();
    let mut label_at = None;
    let mut pos = src.pos();
    loop {
        out.drain(&mut src, &found)?;
        let next = top_box(&mut src, &mut budget, pos, true)?;
        if let Some(h) = next {
            if moov.is_some() && h.is(b"moov") {
                return Err(Error::malformed(FORMAT, h.start, "more than one moov box"));
            }
            pos = h.end;
            boxes.push(h);
        }
        if moov.is_none() {
            let first = boxes.iter().position(|h| h.is(b"moov"));
            // Decided once the box after `moov` is known, or the walk is over.
            if let Some(at) = first.filter(|at| next.is_none() || *at + 1 < boxes.len()) {
                if let Some(h) = boxes.iter().skip(at + 1).find(|h| h.is(b"moov")) {
                    return Err(Error::malformed(FORMAT, h.start, "more than one moov box"));
                }
                let last = at + 1 == boxes.len() && pos == src.len();
                moov = Some(decide(&mut src, &boxes, at, last, label, limits, &mut budget)?);
            }
        }
        if let Some(m) = &moov {
            while let Some(h) = boxes.get(planned) {
                let at = plan_box(&mut out, &mut src, h, planned, m, &mut found, limits, &mut budget)?;
                label_at = label_at.or(at);
                planned += 1;
            }
        }
        if next.is_none() {
            break;
        }
    }
    if boxes.is_empty() {
        return Err(Error::malformed(FORMAT, pos, "no box"));
    }
    let Some(label_at) = label_at else {
        return Err(Error::malformed(FORMAT, 0, "no moov box"));
    };
    out.copy(pos..src.len());
    Ok(out.finish(found, label_at))
}

/// Reads `moov` (box `at` of `boxes`, the last box of the file when `last`), puts the label in
/// it, and works out what its change of size moves.
fn decide(
    src: &mut Source<'_>,
    boxes: &[Header],
    at: usize,
    last: bool,
    label: &Label,
    limits: &Limits,
    budget: &mut Budget,
) -> Result<Moov> {
    let Some(moov) = boxes.get(at).copied() else {
        return Err(Error::malformed(FORMAT, 0, "no moov box"));
    };
    let buf = read_box(src, &moov, limits)?;
    let mut tree = parse_tree(&buf, moov.start, limits, budget)?;
    let found = moov_copies(&moov, &buf, &tree, limits)?;
    let pad = meta::put_label(&mut tree, &buf, &label_json(label), limits)?;
    let old_len = moov.size();
    let grow = tree.emitted_len() as i64 - old_len as i64;
    let mut resized_free = None;
    let mut shift = None;
    if grow != 0 && !meta::absorb(&mut tree, &buf, &pad, grow) {
        resized_free = adjacent_free(boxes, at, grow);
        // When `moov` ends the file nothing after it moves, so no offset changes: an entry
        // pointing past the end of the file (a damaged table) is left as it is, as the
        // binding's exclusions expect.
        if resized_free.is_none() && !last {
            shift = Some(relocate_moov(&mut tree, &buf, moov.end, old_len, grow)?);
        }
    }
    let mut new_moov = Vec::new();
    new_moov
        .try_reserve_exact(tree.emitted_len() as usize)
        .map_err(|_| src.malformed("moov too large"))?;
    tree.emit(&buf, &mut new_moov);
    let label_range = label_range(&new_moov, moov.start, limits)?;
    Ok(Moov {
        at,
        new_moov,
        label_range,
        resized_free,
        shift,
        found,
    })
}

/// Plans top-level box `h` (index `i`) once `moov` is decided, adding the label copies it holds
/// to `found`; returns the label's range in the output when `h` is `moov`.
#[allow(clippy::too_many_arguments)]
fn plan_box(
    out: &mut PlanBuilder<'_>,
    src: &mut Source<'_>,
    h: &Header,
    i: usize,
    m: &Moov,
    found: &mut Vec<Found>,
    limits: &Limits,
    budget: &mut Budget,
) -> Result<Option<Range<u64>>> {
    let full = found.len() >= limits.max_copies;
    if i == m.at {
        if !full {
            found.extend(m.found.iter().cloned());
        }
        found.truncate(limits.max_copies);
        let start = out.position();
        out.put(&m.new_moov);
        return Ok(Some(start + m.label_range.start..start + m.label_range.end));
    }
    if let Some((_, size)) = m.resized_free.filter(|(at, _)| *at == i) {
        plan_free(out, h, size);
        return Ok(None);
    }
    let mut patches = Vec::new();
    if h.is(b"uuid") {
        if !full {
            found.extend(uuid_copies(src, h, limits)?);
            found.truncate(limits.max_copies);
        }
        patches.extend(uuid_xmp_patches(src, h, limits)?);
    }
    if let Some(shift) = m
        .shift
        .as_ref()
        .filter(|_| matches!(&h.kind, b"moof" | b"mfra" | b"sidx" | b"meta"))
    {
        for f in box_offset_fields(src, h, limits, budget)? {
            if let Some(value) = shift.relocate(&f)? {
                let mut bytes = vec![0; f.width];
                super::offsets::put(&mut bytes, 0, f.width, value);
                patches.push(Patch { pos: f.at, bytes });
            }
        }
    }
    patches.sort_by_key(|p| p.pos);
    plan_patched(out, h.start..h.end, &patches)?;
    Ok(None)
}
