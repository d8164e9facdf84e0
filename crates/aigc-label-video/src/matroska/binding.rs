//! The bytes of a Matroska/WebM file a content binding leaves out
//! ([`Carrier::binding_exclusions`]).
//!
//! The writer never moves an element (see the module above), so no position stored in the file
//! (`SeekHead`, `Cues`) changes with the label, and Clusters stay covered byte for byte. What
//! changes is the label's Tag, the size fields and CRC-32 of the elements around it, the `Void`
//! padding the writer fills or frees, and the `SeekHead` entry of a Tags element appended at the
//! end. Each is found here from the file alone.
//!
//! [`Carrier::binding_exclusions`]: aigc_label_core::Carrier::binding_exclusions

use std::ops::Range;

use aigc_label_core::io::Source;
use aigc_label_core::{Limits, Result};

use super::ebml::{self, children, id};
use super::{Level1, Segment, TagCopy, data_range, label_copies, load, seek_entry, segment};
use crate::common::Exclusions;

/// Every excluded range of the file behind `src`; see [`super::Matroska`]'s
/// `binding_exclusions`.
pub(super) fn exclusions(src: &mut Source<'_>, limits: &Limits) -> Result<Vec<Range<u64>>> {
    let seg = segment(src, limits, false)?;
    let mut out = Exclusions::new(ebml::FORMAT, src.len(), limits);
    if seg.el.size.is_some() {
        out.add(seg.el.start + 4..seg.el.data_start())?;
    }
    let first_cluster = seg
        .kids
        .iter()
        .position(|k| k.id == id::CLUSTER)
        .unwrap_or(seg.kids.len());
    let mut labelled = Vec::new();
    for (i, e) in seg.kids.iter().enumerate() {
        if e.id == id::VOID && i < first_cluster {
            out.add(e.start..e.end)?;
        }
        if e.id != id::TAGS {
            continue;
        }
        // Every Tags element the writer takes as labelled (the same function decides).
        let (buf, found) = label_copies(src, e, limits)?;
        if found.is_empty() {
            continue;
        }
        labelled.push(e.start);
        if only_label_tags(&buf, e.start, &found)? {
            // Ours: a rewrite that moves the label elsewhere turns the element into a Void.
            out.add(e.start..e.end)?;
        } else {
            element_header(&mut out, &buf, e.start)?;
            for c in &found {
                out.add(e.start + c.tag.start as u64..e.start + c.tag.end as u64)?;
                out.add(e.start + c.range.start as u64..e.start + c.range.end as u64)?;
            }
        }
        if let Some(void) = seg.kids.get(i + 1).filter(|v| v.id == id::VOID && v.start == e.end) {
            out.add(void.start..void.end)?;
        }
    }
    if let Some(head) = seg.kids.iter().find(|k| k.id == id::SEEK_HEAD) {
        seek_head(src, &seg, head, &labelled, limits, &mut out)?;
    }
    Ok(out.into_ranges())
}

/// Whether every Tag of the Tags element filling `buf` holds one of the copies `found`.
fn only_label_tags(buf: &[u8], at: u64, found: &[TagCopy]) -> Result<bool> {
    Ok(children(buf, data_range(buf, at)?, at)?
        .iter()
        .filter(|c| c.id == id::TAG)
        .all(|tag| found.iter().any(|f| f.tag == tag.range)))
}

/// The size field of the master element filling `buf` (at input offset `at`), and the value of
/// its CRC-32 child when it opens with one: both change whenever its data does.
fn element_header(out: &mut Exclusions, buf: &[u8], at: u64) -> Result<()> {
    let Some((i, hdr, _)) = ebml::parse_header(buf, at)? else {
        return Ok(());
    };
    let id_len = ebml::id_bytes(i).len() as u64;
    out.add(at + id_len..at + hdr as u64)?;
    if buf.get(hdr..hdr + 2) == Some(&[0xBF, 0x84]) {
        out.field(at + hdr as u64 + 2, 4)?;
    }
    Ok(())
}

/// In the first SeekHead (the one the writer adds to): its size and CRC-32, each Seek entry
/// that points at a Tags element holding a label (starting at one of `labelled`), and each
/// Tags entry that points at no Tags element (which the writer may re-point).
fn seek_head(
    src: &mut Source<'_>,
    seg: &Segment,
    head: &Level1,
    labelled: &[u64],
    limits: &Limits,
    out: &mut Exclusions,
) -> Result<()> {
    let buf = load(src, head, limits)?;
    element_header(out, &buf, head.start)?;
    // The writer refuses a SeekHead whose entries it cannot read, so one it cannot read is no
    // error here: the entries up to the damage are checked.
    let seeks = ebml::children_until_damaged(&buf, data_range(&buf, head.start)?, head.start);
    for seek in seeks.iter().filter(|c| c.id == id::SEEK) {
        let (points_at_tags, target) = seek_entry(&buf, seek, head.start, seg);
        // A Tags entry that points at no Tags element is where the writer points the Tags
        // element it appends (a repair), so it is left out like one that points at a label.
        let stale = target.is_none_or(|t| !seg.kids.iter().any(|k| k.id == id::TAGS && k.start == t));
        if points_at_tags && stale {
            out.add(head.start + seek.range.start as u64..head.start + seek.range.end as u64)?;
            continue;
        }
        if points_at_tags && target.is_some_and(|t| labelled.contains(&t)) {
            out.add(head.start + seek.range.start as u64..head.start + seek.range.end as u64)?;
        }
    }
    Ok(())
}
