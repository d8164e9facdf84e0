//! WAV label room and updates in place (issue 16).
//!
//! Our write puts the `AIGC` chunk at the end of the RIFF body and a `JUNK` chunk of
//! [`Limits::label_room`] zeros after it (RIFF's filler chunk, which every reader skips). A
//! later label goes into that room with one small switch, so the update writes about the
//! label's size, the RIFF size does not change, and no sample moves.
//!
//! **The label run.** A run of consecutive top-level chunks that are labels (`AIGC`) or room
//! (`JUNK`, `PAD `) and hold a label belongs to the label: a content binding leaves it out
//! whole, and a rewrite drops it and writes a fresh label and room. Room right before a label
//! joins the run only after the `data` chunk (the `JUNK` that BWF writers reserve at the start
//! for a later RF64 `ds64` stays theirs); room chunks that touch no label are other people's and
//! stay as they are. (A binding made before this rule, on a file with a `JUNK` chunk between
//! `data` and the label, covered that chunk; it no longer verifies. Our own writes never put one
//! there.)
//!
//! **The switch.** With the old label chunk `L` and a room chunk `K` of the run, the new chunk
//! `N` is written inside `K`'s body, where no reader looks, with a `JUNK` header after it
//! (a *filler*) to close the rest of the space; that is synced. Then one write inside one
//! 512-byte sector makes readers walk to `N`:
//! - `K` after `L`: `L`'s 8-byte header becomes `JUNK` with a size that ends at `N`, so `L`,
//!   the chunks between and the head of `K` turn into filler; `N` and the filler after it end
//!   where `K` ended.
//! - `K` before `L`: `K`'s 4-byte size shrinks to end at `N`, and the filler after `N` runs to
//!   the end of `L`, so the rest of `K` and `L` turn into filler.
//!
//! Before the switch a reader walks the old chunks (the writes lie in a body it skips); after
//! it, the new ones; the switch itself is one sector, which a disk writes whole or not at all.
//! The chunk sizes before and after the switch add up to the same run, so the RIFF size (and an
//! RF64 file's `ds64`, which is never written) stays right at every moment. Last, the old
//! label's bytes, now filler, are zeroed. Chunk headers are kept inside one sector: our write
//! adds an empty `JUNK` before the label when its header would straddle one, and a new chunk is
//! placed where its header does not.
//!
//! An update that cannot be done this way (a label elsewhere, no room, odd-sized chunks in the
//! run, a switch that would straddle a sector) writes nothing and asks for a rewrite.

use std::ops::Range;

use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::{Carrier, Label, Limits, Result};

use crate::common::is_key;
use crate::in_place::{self, InPlace, Plan, SECTOR, Steps};
use crate::riff::{self, Chunk, SIZE_IN_DS64, Walker};
use crate::wav::{self, Wav};

/// RIFF's filler chunk id, which our room uses.
const JUNK: &[u8; 4] = b"JUNK";

/// The most room our write leaves, whatever [`Limits::label_room`] asks.
const MAX_ROOM: u64 = 1 << 20;

/// Whether `id` is a filler chunk (`JUNK`, or `PAD ` which some writers use).
fn is_room(id: &[u8; 4]) -> bool {
    id == b"JUNK" || id == b"PAD "
}

/// Sorts a WAV file's top-level chunks, in order, into the label run (see the module docs) and
/// everything else. Room chunks after `data` are held until it is known whether a label joins
/// them.
#[derive(Debug, Default)]
pub(crate) struct LabelRun {
    seen_data: bool,
    in_run: bool,
    held: Vec<Chunk>,
}

/// What [`LabelRun::sort`] says of a chunk.
pub(crate) enum Role {
    /// These chunks (held room chunks and this one) belong to the label.
    Ours(Vec<Chunk>),
    /// A room chunk held until the next chunk decides.
    Held,
    /// Not ours; the held room chunks given here were not ours either (in file order, before
    /// this chunk).
    Theirs(Vec<Chunk>),
}

impl LabelRun {
    /// The role of `chunk`, the next top-level chunk.
    pub(crate) fn sort(&mut self, chunk: &Chunk) -> Role {
        if is_room(&chunk.id) {
            if self.in_run {
                return Role::Ours(vec![*chunk]);
            }
            if self.seen_data {
                self.held.push(*chunk);
                return Role::Held;
            }
        } else if is_key(&chunk.id) {
            self.in_run = true;
            let mut ours = std::mem::take(&mut self.held);
            ours.push(*chunk);
            return Role::Ours(ours);
        }
        self.in_run = false;
        self.seen_data |= &chunk.id == b"data";
        Role::Theirs(std::mem::take(&mut self.held))
    }

    /// Room chunks still held at the end: not ours.
    pub(crate) fn finish(&mut self) -> Vec<Chunk> {
        std::mem::take(&mut self.held)
    }
}

/// The chunks our write appends at `at` (an offset in the output): the `AIGC` chunk holding
/// `json`, then a `JUNK` chunk of `room` bytes (at most [`MAX_ROOM`]; none when 0), with an
/// empty `JUNK` first when the label's header would straddle a sector. Returns the bytes and
/// the label chunk's range in them.
///
/// # Errors
/// A label too large for a chunk.
pub(crate) fn label_and_room(at: u64, json: &[u8], room: u64) -> Result<(Vec<u8>, Range<u64>)> {
    let mut out = Vec::new();
    let room = room.min(MAX_ROOM) & !1;
    if room > 0 && !in_place::in_one_sector(at, 8) {
        riff::push_chunk(&mut out, JUNK, &[])?;
    }
    let start = out.len() as u64;
    riff::push_chunk(&mut out, b"AIGC", json)?;
    let end = out.len() as u64;
    if room > 0 {
        riff::push_chunk(&mut out, JUNK, &vec![0; usize::try_from(room).unwrap_or(0)])?;
    }
    Ok((out, start..end))
}

/// Updates the label of a WAV file (RIFF, RF64, BW64) in place when our room is there, so the
/// update writes about the label's size instead of the whole file; see the module docs for the
/// order of the writes that keeps every moment readable as the old label or the new one.
///
/// The plan asks for a rewrite ([`Update::Rewrite`](crate::in_place::Update::Rewrite)) when the
/// file holds no `AIGC` chunk after `data`, holds a label anywhere else, or has too little room
/// next to it.
impl InPlace for Wav {
    fn plan(&self, file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
        let json = to_json(label, Shape::Bare);
        let found = Wav.find(file, limits)?;
        if found.len() != 1
            || found
                .iter()
                .any(|f| !f.checks.is_empty() || !f.carrier.starts_with("RIFF AIGC"))
        {
            return Ok(Err("the label is not one AIGC chunk after data"));
        }
        let mut src = Source::new(file, "wav")?;
        let run = label_run(&mut src, limits)?;
        Ok(steps(&run, json.as_bytes()))
    }
}

/// The label run of the file: the chunks [`LabelRun`] calls ours.
fn label_run(src: &mut Source, limits: &Limits) -> Result<Vec<Chunk>> {
    let header = wav::open(src, limits)?;
    let mut walker = Walker::new(&header, limits);
    let mut sort = LabelRun::default();
    let mut run = Vec::new();
    while let Some(chunk) = walker.next(src, &header, limits)? {
        if let Role::Ours(chunks) = sort.sort(&chunk) {
            run.extend(chunks);
        }
    }
    Ok(run)
}

/// The writes that put a label chunk of body `json` into the room of `run`, or why there are
/// none.
fn steps(run: &[Chunk], json: &[u8]) -> std::result::Result<Steps, &'static str> {
    let Some(k) = run.iter().position(|c| is_key(&c.id)) else {
        return Err("no AIGC chunk after data");
    };
    let old = run[k];
    if run.iter().any(|c| c.start % 2 == 1 || c.missing_pad() || !c.fits) {
        return Err("a chunk next to the label is misaligned");
    }
    let mut chunk = Vec::new();
    riff::push_chunk(&mut chunk, b"AIGC", json).map_err(|_| "label too large for a chunk")?;
    let stored = chunk.len() as u64;
    let header = |id: &[u8; 4], size: u64| -> Option<Vec<u8>> {
        let size = u32::try_from(size).ok().filter(|s| *s != SIZE_IN_DS64)?;
        Some([id.as_slice(), &size.to_le_bytes()].concat())
    };
    // In a room after the old chunk, 8 bytes are left before the new one when they fit: the
    // filler the old chunk turns into then holds a label of its size and a filler header, so
    // labels of one size can alternate between the two sides.
    let candidates = run
        .iter()
        .enumerate()
        .filter(|(_, c)| is_room(&c.id))
        .flat_map(|(i, c)| [(i, c, 8), (i, c, 0)])
        .filter(|(i, _, slack)| *i > k || *slack == 0);
    for (i, room, slack) in candidates {
        let q = header_in_one_sector(room.body_start() + slack);
        let e = q + stored;
        let end = room.padded_end();
        let (switch, filler) = if i > k {
            // The old label's header becomes filler up to the new chunk.
            let filler = match end.checked_sub(e) {
                Some(0) => None,
                Some(rest) if rest >= 8 => Some((e, rest - 8)),
                _ => continue,
            };
            match header(JUNK, q - old.start - 8) {
                Some(h) if in_place::in_one_sector(old.start, 8) => ((old.start, h), filler),
                _ => continue,
            }
        } else {
            // The room before the old label shrinks to end at the new chunk.
            if e + 8 > end || !in_place::in_one_sector(room.start + 4, 4) {
                continue;
            }
            let Some(size) = u32::try_from(q - room.start - 8).ok().filter(|s| *s != SIZE_IN_DS64) else {
                continue;
            };
            (
                (room.start + 4, size.to_le_bytes().to_vec()),
                Some((e, old.padded_end() - e - 8)),
            )
        };
        let mut prepare = vec![(q, chunk.clone())];
        if let Some((at, size)) = filler {
            let Some(h) = header(JUNK, size) else { continue };
            prepare.push((at, h));
        }
        let scrub = old.body_start()..old.padded_end();
        return Ok(Steps::single_switch(
            prepare,
            switch,
            std::slice::from_ref(&scrub),
            q..e,
        ));
    }
    Err("the room next to the AIGC chunk is too small")
}

/// The first even offset from `at` (even) where an 8-byte chunk header lies inside one sector.
fn header_in_one_sector(at: u64) -> u64 {
    if in_place::in_one_sector(at, 8) {
        at
    } else {
        (at / SECTOR + 1) * SECTOR
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_stay_inside_a_sector() {
        assert_eq!(header_in_one_sector(504), 504);
        assert_eq!(header_in_one_sector(506), 512);
        let (bytes, label) = label_and_room(508, b"{}", 16).unwrap();
        assert_eq!(&bytes[..4], b"JUNK");
        assert_eq!(label, 8..18);
        assert_eq!(bytes.len(), 8 + 10 + 8 + 16);
        let (bytes, label) = label_and_room(508, b"{}", 0).unwrap();
        assert_eq!((bytes.len(), label), (10, 0..10));
    }
}
