//! The bytes of an MP4/MOV file a content binding leaves out ([`Carrier::binding_exclusions`]).
//!
//! A rewrite of the label changes, besides the label's own `meta` box, only size fields of the
//! boxes that hold it, the padding next to `moov`, and, when `moov` sits before the media, the
//! offset fields that point past it. Each is listed here from the file alone, so the rule holds
//! whichever of its three ways [`Carrier::write`] absorbs a size change (the `free` box in our
//! `meta`, a `free` box next to `moov`, or moving what follows `moov`).
//!
//! [`Carrier::binding_exclusions`]: aigc_label_core::Carrier::binding_exclusions
//! [`Carrier::write`]: aigc_label_core::Carrier::write

use std::ops::Range;

use aigc_label_core::io::Source;
use aigc_label_core::{Limits, Result, xmp};

use super::boxes::{Header, Node, parse_tree};
use super::offsets::Field;
use super::{Top, meta, offset_boxes, offsets, outside_offset_fields, read_box, read_xmp_uuid, walk_top};
use crate::common::{Budget, Exclusions};

/// Every excluded range of the file behind `src`; see [`super::Bmff`]'s `binding_exclusions`.
pub(super) fn exclusions(src: &mut Source<'_>, limits: &Limits) -> Result<Vec<Range<u64>>> {
    let mut budget = Budget::new(limits);
    let top = walk_top(src, &mut budget, false)?;
    let mut out = Exclusions::new(super::FORMAT, src.len(), limits);
    for (i, h) in top.boxes.iter().enumerate() {
        match &h.kind {
            b"moov" => moov(src, &top, i, limits, &mut budget, &mut out)?,
            b"uuid" => {
                // Blanked in place by the writer; the whole box is what `find` reports.
                if let Some(packet) = read_xmp_uuid(src, h, limits)? {
                    if !xmp::find_aigc(&packet, limits)?.is_empty() {
                        out.add(h.start..h.end)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out.into_ranges())
}

/// The size field of a box at input offset `start` with a `hdr_len`-byte header: the 32-bit
/// size, and the 64-bit `largesize` when there is one (the type in between stays covered).
fn size_field(out: &mut Exclusions, start: u64, hdr_len: u64) -> Result<()> {
    out.field(start, 4)?;
    if hdr_len == 16 {
        out.field(start + 8, 8)?;
    }
    Ok(())
}

/// A `moov` box, buffered and parsed.
struct Moov {
    h: Header,
    buf: Vec<u8>,
    tree: Node,
}

/// What a label rewrite may change in and around the `moov` at `top.boxes[at]`.
fn moov(
    src: &mut Source<'_>,
    top: &Top,
    at: usize,
    limits: &Limits,
    budget: &mut Budget,
    out: &mut Exclusions,
) -> Result<()> {
    let Some(h) = top.boxes.get(at).copied() else {
        return Ok(());
    };
    let buf = read_box(src, &h, limits)?;
    let tree = parse_tree(&buf, h.start, limits, budget)?;
    let moov = Moov { h, buf, tree };
    let (buf, tree) = (&moov.buf, &moov.tree);
    let absolute = |node: &Node| h.start + node.range.start as u64;

    size_field(out, h.start, h.header_len)?;
    for copy in meta::copies(tree, buf, limits)? {
        let path = copy.structure();
        if let Some(node) = tree.at(path) {
            out.add(absolute(node)..h.start + node.range.end as u64)?;
        }
        // Every box between `moov` and the structure changes size with it.
        for depth in 1..path.len() {
            if let Some(node) = path.get(..depth).and_then(|p| tree.at(p)) {
                size_field(out, absolute(node), node.hdr_len as u64)?;
            }
        }
    }
    // The padding the writer resizes when our `meta` box cannot absorb a change alone.
    for j in [at.checked_sub(1), Some(at + 1)].into_iter().flatten() {
        if let Some(free) = top.boxes.get(j).filter(|b| matches!(&b.kind, b"free" | b"skip")) {
            out.add(free.start..free.end)?;
        }
    }
    if h.end < src.len() {
        match moving_offsets(src, top, at, &moov, limits, budget) {
            Ok(ranges) => {
                for r in ranges {
                    out.add(r)?;
                }
            }
            // The writer refuses to move what it cannot read (a table shorter than its count,
            // a track with media in other files), so those offsets never change: covered.
            Err(e) if e.is_input_fault() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The offset fields whose value changes when `moov` changes size: those that point past its
/// end from before it (or the reverse), inside `moov` (`stco`/`co64`, `saio`, `iloc`) and in
/// other top-level boxes (`tfhd`, `tfra`, `sidx`, `iloc`). Errors where the writer's
/// relocation would.
fn moving_offsets(
    src: &mut Source<'_>,
    top: &Top,
    at: usize,
    moov: &Moov,
    limits: &Limits,
    budget: &mut Budget,
) -> Result<Vec<Range<u64>>> {
    let Moov { h, buf, tree } = moov;
    let mut out = Vec::new();
    let from = h.end;
    let mut tables = Vec::new();
    let mut leaves = Vec::new();
    offset_boxes(tree, buf, &mut Vec::new(), from, &mut tables, &mut leaves)?;
    let payload_at = |node: &Node| h.start + (node.range.start + node.hdr_len) as u64;
    for t in &tables {
        let Some(node) = tree.at(&t.path) else { continue };
        let base = payload_at(node);
        for run in offsets::moving_entries(node.payload(buf), t.width, from)? {
            out.push(base + run.start as u64..base + run.end as u64);
        }
    }
    let field = |at: u64, f: &Field| at + f.at..at + f.at + f.width as u64;
    for (path, fields) in &leaves {
        let Some(node) = tree.at(path) else { continue };
        out.extend(
            fields
                .iter()
                .filter(|f| f.moves_past(from))
                .map(|f| field(payload_at(node), f)),
        );
    }
    for f in outside_offset_fields(src, top, at, limits, budget)? {
        if f.moves_past(from) {
            out.push(field(0, &f));
        }
    }
    Ok(out)
}
