//! Crash-safe label updates in place for PDF (issue 16): the incremental update the writer
//! appends, written at the end of the file the file keeps, and one small write that switches
//! readers to it.
//!
//! A PDF is read from its end (ISO 32000-1 §7.5.5): readers look for the last `startxref` near
//! the end of the file and follow the offset after it. The writer's output is the whole file
//! unchanged followed by an update that ends with `startxref\nNEW\n%%EOF\n`. In place, that
//! update goes after the file in three steps, each synced before the next:
//!
//! 1. the tail, written at its final place past the end of the file, but pointing at the *old*
//!    cross-reference section: `startxref\n   OLD\n%%EOF\n`, the offset padded with leading
//!    spaces to the new offset's width (white space before a number is allowed; poppler, qpdf
//!    and our reader take it). The bytes between the old end and this tail are a hole of
//!    zeros, which PDF counts as white space (§7.2.2);
//! 2. the update's body (the new Info object, the cross-reference section, its trailer) in that
//!    hole: objects no cross-reference section reaches yet;
//! 3. the switch: the offset's digits overwritten with `NEW`, one write inside one 512-byte
//!    sector ([`in_one_sector`]).
//!
//! The tail goes first so that every torn state ends with a whole `startxref ... %%EOF` that
//! points at a complete cross-reference section. Step 1 is a few bytes required to lie inside
//! one sector: the file either still ends with the old tail, or has grown to its final length
//! and ends with the tail copy (we rely, as the other carriers do, on the file system not
//! exposing the new length before the data written there: ext4's default `data=ordered`).
//! During step 2 the last tail still names the old section and the half-written body is
//! unreferenced; step 3 is one sector. Writing the body first and the tail after it would
//! leave, after a crash inside a long body, a file whose last kilobytes hold no `startxref`:
//! readers would have to repair it, and ours refuses it.
//!
//! Written: the update plus the offset's digits once more. The file grows by the update; no
//! room is reserved. The binding and relabelling rules stay those of [`super::Pdf`]: the bytes
//! are exactly the writer's.
//!
//! When the writer would not simply append (the file ends with an update of ours, which a
//! relabel replaces), or when the tail straddles a sector, nothing is written and
//! [`Update::Rewrite`] says why: the caller rewrites the file.

use std::io::{Read, Seek, Write};

use aigc_label_core::in_place::{Steps, Storage, Update, in_one_sector};
use aigc_label_core::{Label, Limits, Result};

use super::{Pdf, base_revision, copy_and_render};

/// The end of every update the writer renders, around the offset of its cross-reference section.
const STARTXREF: &[u8] = b"startxref\n";
const EOF: &[u8] = b"\n%%EOF\n";

impl aigc_label_core::in_place::InPlace for Pdf {
    fn update(&self, file: &mut dyn Storage, label: &Label, limits: &Limits) -> Result<Update> {
        update_in_place(&mut &mut *file, label, limits, |f| f.sync())
    }
}

/// Updates the label of a PDF in place, crash-safely (see the module notes), when the writer's
/// update is an append; `sync` makes the writes so far durable (`File::sync_data` for a file)
/// and is called after each step.
///
/// This moves bytes only: validating the label and the rule that only a label's producer may
/// replace it (spec section 1) are the caller's, as for [`aigc_label_core::Carrier::write`].
///
/// # Errors
/// Malformed input, limits exceeded, I/O errors. Nothing has been written when an error is
/// returned before the first write; after it, the file still reads as the old label or the
/// new.
pub fn update_in_place<F: Read + Write + Seek>(
    file: &mut F,
    label: &Label,
    limits: &Limits,
    sync: impl FnMut(&mut F) -> std::io::Result<()>,
) -> Result<Update> {
    match steps(file, label, limits)? {
        Ok(steps) => Ok(Update::InPlace(steps.run(file, sync)?)),
        Err(why) => Ok(Update::Rewrite(why)),
    }
}

/// Works out the three steps; `Err(why)` when the update cannot be made in place.
pub(super) fn steps<F: Read + Seek>(
    file: &mut F,
    label: &Label,
    limits: &Limits,
) -> Result<std::result::Result<Steps, &'static str>> {
    let base = base_revision(file, limits)?;
    if base.replaced.is_some() {
        return Ok(Err("the file ends with our own update, which a new label replaces"));
    }
    // The file is scanned for the object numbers in use, not copied.
    let update = copy_and_render(file, &base.revision, &mut std::io::sink(), label)?;
    let end = base.revision.len;
    let Some(digits) = update.moving.last() else {
        return Ok(Err("the update has no startxref offset"));
    };
    let rel = |pos: u64| usize::try_from(pos.saturating_sub(end)).ok();
    let (Some(at), Some(after)) = (rel(digits.start), rel(digits.end)) else {
        return Ok(Err("the update is too large"));
    };
    let bytes = &update.bytes;
    let tail_at = at.saturating_sub(STARTXREF.len());
    let new = bytes.get(at..after).unwrap_or_default();
    if bytes.get(tail_at..at) != Some(STARTXREF) || bytes.get(after..) != Some(EOF) || new.is_empty() {
        return Ok(Err("the update does not end with startxref and %%EOF"));
    }
    let old = format!("{:>width$}", base.revision.plan.prev, width = new.len());
    if old.len() != new.len() {
        return Ok(Err("the old startxref offset is longer than the new one"));
    }
    let mut tail = STARTXREF.to_vec();
    tail.extend_from_slice(old.as_bytes());
    tail.extend_from_slice(EOF);
    let tail_pos = end + tail_at as u64;
    if !in_one_sector(tail_pos, tail.len() as u64) {
        return Ok(Err("the new startxref tail would straddle a disk sector"));
    }
    let body = bytes.get(..tail_at).unwrap_or_default().to_vec();
    Ok(Ok(Steps {
        phases: vec![
            vec![(tail_pos, tail)],
            vec![(end, body)],
            vec![(digits.start, new.to_vec())],
        ],
        label_range: update.info_range.clone(),
    }))
}

#[cfg(test)]
mod tests;
