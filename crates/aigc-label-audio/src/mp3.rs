//! MP3: the label is an ID3v2 `TXXX` frame with description `AIGC` (spec section 4).
//!
//! The frame holds the bare JSON. A v2.3 or v2.4 tag (and a v2.2 one) stays in its version; every
//! other frame keeps its stored bytes, and the tag keeps its size when the new frame fits in its
//! padding, so the audio does not move. A file without a tag gets a new v2.4 tag at the start.
//! A tag that has to grow (or a new one) gets padding for later updates,
//! [`Limits::label_room`] (4 KiB by default), where an update in place ([`crate::in_place`])
//! writes later labels.
//! The MPEG audio frames after the tag are copied in large blocks and never parsed.
//!
//! Readers also accept the description in any letter case (reported with a
//! [`carrier.place`](aigc_label_core::check::id::CARRIER_PLACE) warning), labels in a second
//! tag that directly follows the first, and labels in an ID3v2.4 tag appended at the end of the
//! file (ID3v2.4 "Main Structure" section 5), which some tools write there: it is located from
//! its 10-byte `3DI` footer, the last bytes of the file or the ones before a 128-byte ID3v1
//! `TAG` trailer, and trusted only when the footer's size fits the file and an `ID3` header with
//! the same version, flags and size sits where the footer says the tag starts (otherwise the
//! bytes are not a tag and are copied as they are). Such a copy is reported as
//! `ID3v2.4 TXXX AIGC in the tag appended at the end of the file`.
//!
//! Writing keeps one label copy (spec section 4: every copy found is replaced or removed): the
//! label goes into the tag at the start; from an appended tag only the `AIGC` frames are
//! removed, its other frames keep their stored bytes and its header and footer get the new size
//! (a tag with a footer has no padding), or the whole appended tag is dropped when nothing but
//! labels was in it. The audio before it and an ID3v1 trailer after it are copied unchanged.
//!
//! A content binding covers every byte but the label frame, the tag size and the tag's padding
//! (see [`Mp3::binding_exclusions`](aigc_label_core::Carrier::binding_exclusions)).

use std::ops::Range;

use aigc_label_core::container::Drains;
use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::plan::{Plan as EditPlan, PlanBuilder};
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result};

use crate::common::{Budget, Exclusions};
use crate::id3::{self, Stripped, Tag};
use crate::in_place::{InPlace, Plan};

/// The MP3 carrier (ID3v2 at the start of an MPEG audio stream; an ID3v2.4 tag appended at the
/// end is read too).
#[derive(Debug, Clone, Copy, Default)]
pub struct Mp3;

const FORMAT: &str = "mp3";

/// The carrier name of a label found in an ID3v2.4 tag appended at the end of the file.
const APPENDED: &str = "ID3v2.4 TXXX AIGC in the tag appended at the end of the file";

impl Carrier for Mp3 {
    fn info(&self) -> &'static aigc_label_core::Info {
        &aigc_label_core::Info {
            format: FORMAT,
            media_type: "audio/mpeg",
            extensions: &["mp3", "mp2", "mpga"],
        }
    }

    fn in_place(&self) -> Option<&dyn aigc_label_core::in_place::InPlace> {
        Some(self)
    }

    fn stamp(&self) -> Option<&dyn aigc_label_core::stamp::Stamp> {
        Some(&aigc_label_core::stamp::Medium::Audio)
    }

    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(b"ID3") || mpeg_audio_sync(head)
    }

    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>> {
        let mut src = Source::new(input, FORMAT)?;
        let mut out = Vec::new();
        let mut budget = Budget::new(FORMAT, limits);
        while let Some(tag) = next_tag(&mut src, &mut budget, limits)? {
            let name = format!("ID3v2.{} TXXX AIGC", tag.header.major);
            id3::push_copies(&tag, &name, None, limits, &mut out)?;
            if out.len() >= limits.max_copies {
                break;
            }
        }
        if out.len() < limits.max_copies {
            let floor = src.pos();
            budget.tick(floor, limits)?;
            if let Some(tag) = id3::read_appended_tag(&mut src, floor, limits)? {
                id3::push_copies(&tag, APPENDED, None, limits, &mut out)?;
            }
        }
        out.truncate(limits.max_copies);
        Ok(out)
    }

    /// One walk of the leading tags and the appended one: their label copies are reported and
    /// the tags that change rebuilt; the audio and every unchanged tag are copied ranges.
    fn plan(
        &self,
        input: &mut dyn ReadSeek,
        label: &Label,
        limits: &Limits,
        out: PlanBuilder<'_>,
    ) -> Result<Option<EditPlan>> {
        edit_plan(input, label, limits, out).map(Some)
    }

    /// Which bytes of an MP3 file a content binding leaves out; everything else (the MPEG audio
    /// frames, an ID3v1 tag or anything else after the ID3v2 tags, every other ID3v2 frame with
    /// its header, the tag's version and flags, an extended header) is covered:
    ///
    /// - every `TXXX` frame `AIGC` (header and data), wherever it sits in the tag;
    /// - in the first ID3v2 tag (which writing gives the label) and in any tag holding a label:
    ///   the syncsafe tag size (header bytes 6..10, and the last four bytes of a v2.4 footer),
    ///   the padding size a v2.3 extended header records, and the padding from the end of the
    ///   last frame to the end of the tag, which shrinks or grows as the label does.
    ///
    /// - in an ID3v2.4 tag appended at the end of the file that holds a label: the same (the
    ///   label frames, the sizes in header and footer, any padding), or the whole tag when it
    ///   holds nothing but labels, since writing drops it. After our first write that tag holds
    ///   no label, so nothing in it is left out and rewrites do not touch it. (Moving a label out
    ///   of an appended tag is a first embed, which may change the tag's sizes.)
    ///
    /// Writing keeps every other frame's stored bytes in their order and puts the label frame
    /// after them, so a label of any length changes nothing else; when the tag has to grow,
    /// the audio moves, but its bytes, read in order, do not change.
    fn binding_exclusions(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Range<u64>>> {
        let mut src = Source::new(input, FORMAT)?;
        let mut out = Exclusions::new(FORMAT, limits);
        let mut budget = Budget::new(FORMAT, limits);
        let mut first = true;
        while let Some(tag) = next_tag(&mut src, &mut budget, limits)? {
            let walked = id3::walk(&tag, limits)?;
            let labels = id3::label_frames(&tag, &walked, limits)?;
            if first || !labels.is_empty() {
                for range in id3::volatile_ranges(&tag, &walked) {
                    out.push(range)?;
                }
            }
            for (frame, _) in labels {
                out.push(id3::frame_range(&tag, &walked, frame))?;
            }
            first = false;
        }
        let floor = src.pos();
        budget.tick(floor, limits)?;
        if let Some(tag) = id3::read_appended_tag(&mut src, floor, limits)? {
            let walked = id3::walk(&tag, limits)?;
            let labels = id3::label_frames(&tag, &walked, limits)?;
            if id3::only_labels(&walked, labels.len()) {
                out.push(tag.offset..tag.offset + tag.header.stored_len())?;
            } else if !labels.is_empty() {
                for range in id3::volatile_ranges(&tag, &walked) {
                    out.push(range)?;
                }
                for (frame, _) in labels {
                    out.push(id3::frame_range(&tag, &walked, frame))?;
                }
            }
        }
        Ok(out.into_vec())
    }
}

/// Updates the label in place when the file's first ID3v2 tag has room in its padding, writing
/// about twice the label's size instead of the file; see [`crate::in_place`].
///
/// ID3v2 frames follow each other up to the first zero byte, so no single small write can
/// replace one label frame with another of another size. Two switches do it, each a 10-byte
/// frame header inside one sector, every state between reading as the old label or the new:
/// the new frame is written into the padding behind the zero that ends the frames; the old
/// frame's header becomes a `PRIV` frame's that reaches up to the new frame (readers skip it and
/// read the new label); the new frame's data is written where the old one was, inside that
/// `PRIV` frame, followed by zeros; the header becomes the new frame's, so the `PRIV` frame is
/// gone and the frames end after the new one; the copy in the padding is zeroed. A crash
/// between the two switches leaves the new label and a `PRIV` frame holding the old frame's
/// bytes, which no reader takes for a label.
///
/// The plan asks for a rewrite ([`Update::Rewrite`](crate::in_place::Update::Rewrite)) when
/// there is no tag or no label in the first tag, more than one label copy, a v2.2 tag,
/// unsynchronisation, an extended header or a footer, other frames after the label, too little
/// padding, or a header that would straddle a 512-byte sector.
impl InPlace for Mp3 {
    fn plan(&self, file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
        let json = to_json(label, Shape::Bare);
        if Mp3.find(file, limits)?.len() != 1 {
            return Ok(Err("not exactly one label copy"));
        }
        let mut src = Source::new(file, FORMAT)?;
        let mut budget = Budget::new(FORMAT, limits);
        let Some(tag) = next_tag(&mut src, &mut budget, limits)? else {
            return Ok(Err("no ID3v2 tag"));
        };
        id3::in_place_steps(&tag, &json, limits)
    }
}

/// Plans [`Mp3::write`]'s output, collecting the copies [`Mp3::find`] reports on the way.
fn edit_plan(input: &mut dyn ReadSeek, label: &Label, limits: &Limits, mut out: PlanBuilder<'_>) -> Result<EditPlan> {
    let json = to_json(label, Shape::Bare);
    let mut src = Source::new(input, FORMAT)?;
    let padding = usize::try_from(limits.label_room).unwrap_or(id3::GROW_PADDING);
    let mut budget = Budget::new(FORMAT, limits);
    let mut drains = Drains::default();
    let mut found = Vec::new();
    let mut label_range = None;
    loop {
        drains.drain(&mut out, &mut src, &found)?;
        let Some(tag) = next_tag(&mut src, &mut budget, limits)? else {
            break;
        };
        let name = format!("ID3v2.{} TXXX AIGC", tag.header.major);
        id3::push_copies(&tag, &name, None, limits, &mut found)?;
        let value = label_range.is_none().then_some(json.as_str());
        let start = out.position();
        match id3::rewrite(&tag, value, padding, limits)? {
            Some((bytes, range)) => {
                out.put(&bytes);
                if value.is_some() {
                    label_range = Some(start + range.start as u64..start + range.end as u64);
                }
            }
            None => out.copy(tag.offset..src.pos()),
        }
    }
    let label_range = match label_range {
        Some(r) => r,
        None => {
            let (bytes, range) = id3::new_tag(&json, padding)?;
            let start = out.position();
            out.put(&bytes);
            start + range.start as u64..start + range.end as u64
        }
    };
    let floor = src.pos();
    budget.tick(floor, limits)?;
    let appended = id3::read_appended_tag(&mut src, floor, limits)?;
    let mut rest = floor;
    if let Some(tag) = appended {
        if found.len() < limits.max_copies {
            id3::push_copies(&tag, APPENDED, None, limits, &mut found)?;
        }
        let stripped = id3::strip_labels(&tag, limits)?;
        if !matches!(stripped, Stripped::Unchanged) {
            if tag.offset < floor {
                return Err(Error::malformed(
                    FORMAT,
                    tag.offset,
                    "appended tag overlaps the leading tags",
                ));
            }
            out.copy(floor..tag.offset);
            if let Stripped::Rewritten(bytes) = stripped {
                out.put(&bytes);
            }
            rest = tag.offset + tag.header.stored_len();
        }
    }
    out.copy(rest..src.len());
    found.truncate(limits.max_copies);
    Ok(out.finish(found, label_range))
}

/// The next ID3v2 tag, when one starts at the current position.
fn next_tag(src: &mut Source, budget: &mut Budget, limits: &Limits) -> Result<Option<Tag>> {
    budget.tick(src.pos(), limits)?;
    id3::read_tag(src, limits)
}

/// True when `head` starts with an MPEG audio frame header: sync bits, a defined version and
/// layer, and a usable bitrate and sample-rate index (ISO/IEC 11172-3 section 2.4.2.3).
fn mpeg_audio_sync(head: &[u8]) -> bool {
    let [a, b, c, ..] = head else {
        return false;
    };
    let version = (b >> 3) & 3;
    let layer = (b >> 1) & 3;
    let bitrate = c >> 4;
    let rate = (c >> 2) & 3;
    *a == 0xff && b & 0xe0 == 0xe0 && version != 1 && layer != 0 && bitrate != 15 && rate != 3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_tags_and_frames_but_not_adts() {
        assert!(Mp3.sniff(b"ID3\x04\0\0\0\0\0\0"));
        assert!(Mp3.sniff(&[0xff, 0xfb, 0x90, 0x64]));
        assert!(Mp3.sniff(&[0xff, 0xe3, 0x48, 0xc0]));
        assert!(!Mp3.sniff(&[0xff, 0xf1, 0x50, 0x80]), "AAC ADTS has layer 00");
        assert!(!Mp3.sniff(b"fLaC"));
        assert!(!Mp3.sniff(&[0xff]));
    }
}
