//! AIFF and AIFC: the label is an ID3v2 `TXXX` frame `AIGC` in an `ID3 ` chunk of the `FORM`
//! (Apple "Audio Interchange File Format" 1.3 and AIFF-C; EA IFF 85 for the container).
//!
//! GB 45438 does not name a carrier for AIFF; this is the project's own choice: the `ID3 `
//! chunk is what ffmpeg's AIFF muxer writes (`-write_id3v2 1`, after `SSND`), what mutagen and
//! TagLib write and what ffprobe, exiftool and mutagen read, and the frame is the one MP3 uses
//! (spec section 4), so the label reads the same way in both.
//!
//! Writing puts the label into the first ID3 chunk that holds a readable tag, wherever it sits
//! (readers see that tag; every other frame keeps its stored bytes, and the tag keeps its size
//! when the frame fits in its padding; a tag that grows gets [`Limits::label_room`] of padding,
//! where an update in place ([`crate::in_place`]) writes later labels). A file without one gets a new ID3v2.4 chunk,
//! with that padding, at the end
//! of the `FORM`, after `SSND`, where ffmpeg and mutagen put it and where a reader that stops at
//! the sound data has already read `COMM`. Label frames in any later ID3 chunk are removed (the
//! chunk is dropped when it held nothing else). Every other chunk (`COMM`, `SSND`, `FVER`,
//! `MARK`, `COMT`, `NAME`, `APPL`, unknown ones) is copied byte for byte, the sound data in large
//! blocks, and the `FORM` size is fixed up.
//!
//! A content binding covers every byte but the label frame, the ID3 chunk's and tag's sizes,
//! the tag's padding, the chunk's pad byte and the `FORM` size (see
//! [`Aiff::binding_exclusions`](aigc_label_core::Carrier::binding_exclusions)).

use std::ops::Range;

use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::plan::{Plan as EditPlan, PlanBuilder};
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result};

use crate::common::Exclusions;
use crate::id3::{self, GROW_PADDING};
use crate::id3_chunk::{self, ChunkTag};
use crate::in_place::{InPlace, Plan};
use crate::riff::{self, Flavour, Header, LabelAt, Planner, Walker};

/// The AIFF carrier (IFF `FORM` files of type `AIFF` and `AIFC`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Aiff;

const FORMAT: &str = "aiff";

/// The chunk id a new tag is written under (ffmpeg's and mutagen's spelling).
const ID3_CHUNK: &[u8; 4] = b"ID3 ";

impl Carrier for Aiff {
    fn info(&self) -> &'static aigc_label_core::Info {
        &aigc_label_core::Info {
            format: FORMAT,
            media_type: "audio/aiff",
            extensions: &["aiff", "aif", "aifc"],
        }
    }

    fn in_place(&self) -> Option<&dyn aigc_label_core::in_place::InPlace> {
        Some(self)
    }

    fn stamp(&self) -> Option<&dyn aigc_label_core::stamp::Stamp> {
        Some(&aigc_label_core::stamp::Medium::Audio)
    }

    fn sniff(&self, head: &[u8]) -> bool {
        head.get(..4) == Some(b"FORM") && matches!(head.get(8..12), Some(b"AIFF" | b"AIFC"))
    }

    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>> {
        let mut src = Source::new(input, FORMAT)?;
        let header = open(&mut src, limits)?;
        let mut out = Vec::new();
        let mut walker = Walker::new(&header, limits);
        while let Some(tag) = next_tag(&mut src, &header, &mut walker, limits)? {
            tag_copies(&tag, limits, &mut out)?;
            if out.len() >= limits.max_copies {
                break;
            }
        }
        out.truncate(limits.max_copies);
        Ok(out)
    }

    /// One walk of the chunks: the ID3 chunks are read (their label copies reported), the
    /// first one given the label and the others stripped of theirs; every other chunk is a
    /// copied range.
    fn plan(
        &self,
        input: &mut dyn ReadSeek,
        label: &Label,
        limits: &Limits,
        out: PlanBuilder<'_>,
    ) -> Result<Option<EditPlan>> {
        edit_plan(input, label, limits, out).map(Some)
    }

    /// Which bytes of an AIFF / AIFC file a content binding leaves out; everything else (the
    /// `FORM` magic and type, `COMM`, `SSND` with the sound data, `FVER`, every other chunk and
    /// every other ID3 frame with its header, bytes after the `FORM`) is covered:
    ///
    /// - the `FORM` size (bytes 4..8), which counts the label;
    /// - in the first ID3 chunk holding a readable tag (which writing gives the label) and in
    ///   any ID3 chunk holding a label: the `TXXX` frames `AIGC`, the chunk's size field and pad
    ///   byte, the tag's size (and a v2.3 extended header's padding size) and the tag's padding,
    ///   which shrinks or grows as the label does; a later chunk holding nothing but labels is
    ///   left out whole, since writing drops it.
    ///
    /// Writing keeps every other chunk and frame in its order, so a label of any length changes
    /// nothing else; when the tag grows, the chunks after it move, but their bytes, read in
    /// order, do not change.
    fn binding_exclusions(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Range<u64>>> {
        let mut src = Source::new(input, FORMAT)?;
        let header = open(&mut src, limits)?;
        let mut out = Exclusions::new(FORMAT, limits);
        out.push(4..8)?;
        let mut walker = Walker::new(&header, limits);
        let mut target = true;
        while let Some(tag) = next_tag(&mut src, &header, &mut walker, limits)? {
            tag.exclusions(target, limits, &mut out)?;
            target = false;
        }
        Ok(out.into_vec())
    }
}

/// Plans [`Aiff::write`]'s output in one walk, collecting the copies [`Aiff::find`] reports;
/// the output is drained in blocks as the walk goes, the `FORM` size guessed for a file that gains
/// a new ID3 chunk.
fn edit_plan(input: &mut dyn ReadSeek, label: &Label, limits: &Limits, out: PlanBuilder<'_>) -> Result<EditPlan> {
    let json = to_json(label, Shape::Bare);
    let mut src = Source::new(input, FORMAT)?;
    let header = open(&mut src, limits)?;
    // Room for later labels, which an update in place writes into the tag's padding.
    let padding = usize::try_from(limits.label_room).unwrap_or(GROW_PADDING);
    let (tag, frame) = id3::new_tag(&json, padding)?;
    let mut new_chunk = Vec::new();
    riff::push_chunk_in(Flavour::Iff, &mut new_chunk, ID3_CHUNK, &tag)?;
    let mut plan = Planner::new(out, &header, new_chunk.len() as u64);
    let mut walker = Walker::new(&header, limits);
    let mut copies = Vec::new();
    let mut label_range: Option<Range<u64>> = None;
    loop {
        plan.drain(&mut src, &copies)?;
        let Some(chunk) = walker.next(&mut src, &header, limits)? else {
            break;
        };
        let tag = match id3_chunk::is_id3(&chunk.id) {
            true => id3_chunk::read(&mut src, &chunk, limits)?,
            false => None,
        };
        let Some(tag) = tag else {
            plan.copy(&chunk);
            continue;
        };
        tag_copies(&tag, limits, &mut copies)?;
        if label_range.is_none() {
            let (pieces, range) = tag.with_label(Flavour::Iff, &json, padding, limits)?;
            let at = 12 + plan.len();
            label_range = Some(at + range.start..at + range.end);
            plan.rebuilt(pieces)?;
        } else {
            match tag.without_labels(Flavour::Iff, limits)? {
                Some(pieces) => plan.rebuilt(pieces)?,
                None => plan.copy(&chunk),
            }
        }
    }
    copies.truncate(limits.max_copies);
    let (appended, label) = match label_range {
        Some(range) => (Vec::new(), LabelAt::Output(range)),
        None => (
            new_chunk,
            LabelAt::Appended(8 + frame.start as u64..8 + frame.end as u64),
        ),
    };
    plan.finish(&header, walker.pos(), src.len(), &appended, copies, label)
}

/// Adds the label copies of an ID3 chunk's tag to `out`.
fn tag_copies(tag: &ChunkTag, limits: &Limits, out: &mut Vec<Found>) -> Result<()> {
    let name = format!(
        "{} chunk, ID3v2 TXXX AIGC",
        String::from_utf8_lossy(&tag.chunk.id).trim_end()
    );
    tag.copies(&name, None, limits, out)
}

/// Updates the label in place when the tag of the file's first ID3 chunk has room in its
/// padding (our writes leave [`Limits::label_room`] there), writing about twice the label's size
/// instead of the file: the same steps as an MP3 tag ([`Mp3`](crate::Mp3)'s update in place:
/// two 10-byte frame header switches through a `PRIV` frame, every state between reading as the
/// old label or the new). The chunk and the tag keep their sizes, so the `FORM` size and every
/// other chunk stay as they are.
///
/// The plan asks for a rewrite ([`Update::Rewrite`](crate::in_place::Update::Rewrite)) when the
/// file holds no label or more than one copy, the label is not in the first ID3 chunk, or the
/// tag cannot take it in place (as for an MP3).
impl InPlace for Aiff {
    fn plan(&self, file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
        let json = to_json(label, Shape::Bare);
        if Aiff.find(file, limits)?.len() != 1 {
            return Ok(Err("not exactly one label copy"));
        }
        let mut src = Source::new(file, FORMAT)?;
        let header = open(&mut src, limits)?;
        let mut walker = Walker::new(&header, limits);
        match next_tag(&mut src, &header, &mut walker, limits)? {
            Some(tag) if tag.has_labels() => id3::in_place_steps(tag.tag(), &json, limits),
            _ => Ok(Err("the label is not in the first ID3 chunk")),
        }
    }
}

/// Reads the header and checks that this is an `AIFF` or `AIFC` form.
fn open(src: &mut Source, limits: &Limits) -> Result<Header> {
    let header = riff::read_header(src, limits)?;
    if header.flavour != Flavour::Iff || !matches!(&header.form, b"AIFF" | b"AIFC") {
        return Err(Error::malformed(FORMAT, 0, "not an IFF FORM of type AIFF or AIFC"));
    }
    Ok(header)
}

/// The next ID3 chunk holding a readable tag.
fn next_tag(src: &mut Source, header: &Header, walker: &mut Walker, limits: &Limits) -> Result<Option<ChunkTag>> {
    while let Some(chunk) = walker.next(src, header, limits)? {
        if id3_chunk::is_id3(&chunk.id) {
            if let Some(tag) = id3_chunk::read(src, &chunk, limits)? {
                return Ok(Some(tag));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_aiff_and_aifc_only() {
        assert!(Aiff.sniff(b"FORM\0\0\0\x04AIFF"));
        assert!(Aiff.sniff(b"FORM\0\0\0\x04AIFC"));
        assert!(!Aiff.sniff(b"FORM\0\0\0\x048SVX"));
        assert!(!Aiff.sniff(b"RIFF\0\0\0\x04WAVE"));
        assert!(!Aiff.sniff(b"FORM"));
    }
}
