//! Crash-safe label updates in place for PDF (issue 16): the incremental update the writer
//! appends, written at the end of the file the file keeps, and one small write that switches
//! readers to it; when the file's last update is our own (a relabel, a platform's propagation),
//! the same, followed by the update moved to where the rewrite puts it and the file cut there.
//!
//! # Appending
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
//! room is reserved. The bytes are exactly the writer's. A tail that would straddle a sector
//! is left to a rewrite ([`Update::Rewrite`]): the update's place is fixed, the end of the file.
//!
//! # Replacing our own update
//!
//! A file whose last update is ours (`B` then our update `U` at `S`) is rewritten by the writer
//! as `B` then the new update `U'` rendered at `S` against `B`: our update is replaced, not
//! stacked, so a producer's content binding still holds (see [`super::Pdf::binding_exclusions`]:
//! it covers `B` and the parts of `U` that do not move with the label, which `U'` repeats byte
//! for byte, the Info object's offset in the cross-reference row included). In place the result
//! is the same bytes, reached in five steps, each synced before the next:
//!
//! 1. to 3. a copy `C` of the new update, rendered against `B` too (its `/Prev` names `B`'s
//!    cross-reference section, so `U` is no longer reached) but placed at `P`, past the end of
//!    the file and past where `U'` ends: `P = max(end, S + |U'|)`, moved on to the next sector
//!    when `C`'s tail would straddle one. `C` is appended as above: its tail pointing at `U`'s
//!    section, its body, the one-sector switch. From the switch on, the file reads as the new
//!    label through `C`;
//! 4. `U'` written at `S`, over `U` and the hole before `C`, bytes no reader reaches any more
//!    (`C` lies past them, so it is never touched);
//! 5. the file cut to `S + |U'|` ([`Storage::set_len`]), which drops `C`: a file system
//!    applies a truncation whole or not at all, so the file ends with `C`'s tail or `U'`'s.
//!
//! Every torn state reads as the old label (before the switch) or the new one (after it), and
//! is a valid PDF that qpdf, pdfinfo and pdftoppm accept with the same pages. Written: the
//! update twice, plus the offset's digits; the file ends at the rewrite's length, so repeated
//! propagations do not make it grow.
//!
//! Why not stack the new update after ours and leave ours unreachable, which needs no cut? A
//! binding covers the Info object's offset in our cross-reference row: an update placed
//! anywhere but `S` changes it, so the producer's binding would break (or the rule would have to
//! leave that offset out, breaking every binding made so far). Only an update at `S` keeps it,
//! and only a cut can make the update at `S` the file's last without a moment in which neither
//! update is reached. The cost: between the switch and the cut (steps 3 to 5) the file reads
//! as the new label but ends with `C`, so a content binding does not verify there. A crash in
//! that window leaves such a file; the writer knows `C` as ours (`base_revision`), so the next
//! write, a rewrite or in place, drops it and the bytes before it and leaves what the
//! interrupted update would have (the binding holds again). A crash before the switch leaves
//! the old label followed by bytes no reader reaches (zeros, part of `C`, its tail naming our
//! old section): valid, reading as the old label; the binding does not verify over those bytes
//! (they stay covered: leaving them out would let anything ride along unbound), but the writer
//! knows them as left by us and drops them with our update at the next write, which so
//! finishes the job too. A storage that cannot cut
//! ([`Storage::set_len`]'s default) gets a rewrite: it is asked, with the file's own length,
//! before anything is written.

use std::io::SeekFrom;

use aigc_label_core::in_place::{Plan, SECTOR, Steps, in_one_sector};
use aigc_label_core::io::ReadSeek;
use aigc_label_core::{Label, Limits, Result};

use super::{Base, Pdf, Update as Rendered, base_revision, copy_and_render, copy_numbering, encoded};

/// The end of every update the writer renders, around the offset of its cross-reference section.
const STARTXREF: &[u8] = b"startxref\n";
const EOF: &[u8] = b"\n%%EOF\n";

impl aigc_label_core::in_place::InPlace for Pdf {
    /// An append when the file's last update is not ours, a replacement of our update (ending
    /// with the file cut to its new length) when it is.
    fn plan(&self, file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
        steps(file, label, limits)
    }
}

/// Works out the steps; `Err(why)` when the update cannot be made in place.
fn steps(mut file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
    let base = base_revision(&mut file, limits)?;
    match &base.replaced {
        None => append(file, &base, label),
        Some(old) => replace(file, &base, old, label),
    }
}

/// The writer's update appended: its ending, its body, the switch.
fn append(file: &mut dyn ReadSeek, base: &Base, label: &Label) -> Result<Plan> {
    // The file is scanned for the object numbers in use, not copied.
    let update = copy_and_render(file, &base.revision, &mut std::io::sink(), label)?;
    let end = base.revision.len;
    Ok(switched(&update, end, base.revision.plan.prev).and_then(|writes| {
        let [ending, body, switch] = writes;
        if !in_one_sector(ending.0, ending.1.len() as u64) {
            return Err("the new startxref tail would straddle a disk sector");
        }
        Ok(Steps {
            phases: vec![vec![ending], vec![body], vec![switch]],
            label_range: update.info_range.clone(),
            scrub: false,
            cut: None,
        })
    }))
}

/// Our own last update `old` replaced: the new update rendered against the same revision as the
/// rewrite renders it, reached through a temporary copy past the end (see the module notes).
fn replace(file: &mut dyn ReadSeek, base: &Base, old: &Rendered, label: &Label) -> Result<Plan> {
    let start = base.revision.len;
    // The copy goes past the end of the file, which may hold more than our update: what an
    // update interrupted before its switch left after it (see `base_revision`).
    let end = old
        .at
        .saturating_add(old.bytes.len() as u64)
        .max(file.seek(SeekFrom::End(0))?);
    // The numbers the rewrite takes, so the result is its bytes exactly.
    let numbers = copy_numbering(file, &base.revision, &mut std::io::sink())?;
    let text = encoded(label);
    let new = base.revision.render(&text, numbers);
    let new_end = start.saturating_add(new.bytes.len() as u64);
    let Some(old_xref) = old.moving.last().and_then(|digits| {
        let at = |pos: u64| usize::try_from(pos.saturating_sub(old.at)).ok();
        let bytes = old.bytes.get(at(digits.start)?..at(digits.end)?)?;
        std::str::from_utf8(bytes).ok()?.parse::<u64>().ok()
    }) else {
        return Ok(Err("our update has no startxref offset"));
    };
    // The copy goes past both the old update (read until the switch) and the new one (written
    // after it), moved on to the next sector when its ending would straddle one.
    let mut at = end.max(new_end);
    for _ in 0..3 {
        let copy = base.revision.plan.render(at, true, &text, numbers);
        let [ending, body, switch] = match switched(&copy, at, old_xref) {
            Ok(writes) => writes,
            Err(why) => return Ok(Err(why)),
        };
        if in_one_sector(ending.0, ending.1.len() as u64) {
            return Ok(Ok(Steps {
                phases: vec![vec![ending], vec![body], vec![switch], vec![(start, new.bytes)]],
                label_range: new.info_range,
                scrub: false,
                cut: Some(new_end),
            }));
        }
        at = at.saturating_add(SECTOR - ending.0 % SECTOR);
    }
    Ok(Err("the new startxref tail would straddle a disk sector"))
}

/// The three writes of `update` placed at `at`: its ending (`startxref`, the offset `old`
/// padded to the new one's width, `%%EOF`), its body before that, and the switch of the
/// offset's digits to the new one.
fn switched(update: &Rendered, at: u64, old: u64) -> std::result::Result<[(u64, Vec<u8>); 3], &'static str> {
    let Some(digits) = update.moving.last() else {
        return Err("the update has no startxref offset");
    };
    let rel = |pos: u64| usize::try_from(pos.saturating_sub(at)).ok();
    let (Some(from), Some(to)) = (rel(digits.start), rel(digits.end)) else {
        return Err("the update is too large");
    };
    let bytes = &update.bytes;
    let tail_at = from.saturating_sub(STARTXREF.len());
    let new = bytes.get(from..to).unwrap_or_default();
    if bytes.get(tail_at..from) != Some(STARTXREF) || bytes.get(to..) != Some(EOF) || new.is_empty() {
        return Err("the update does not end with startxref and %%EOF");
    }
    let old = format!("{old:>width$}", width = new.len());
    if old.len() != new.len() {
        return Err("the old startxref offset is longer than the new one");
    }
    let mut tail = STARTXREF.to_vec();
    tail.extend_from_slice(old.as_bytes());
    tail.extend_from_slice(EOF);
    let body = bytes.get(..tail_at).unwrap_or_default().to_vec();
    Ok([(at + tail_at as u64, tail), (at, body), (digits.start, new.to_vec())])
}

#[cfg(test)]
mod tests;
