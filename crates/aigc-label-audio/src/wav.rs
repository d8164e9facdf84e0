//! WAV: the label is a top-level RIFF chunk `AIGC` after `data` (spec section 4).
//!
//! The chunk body is the bare JSON; an odd-sized body gets the RIFF pad byte, and the RIFF size
//! (or, for RF64 / BW64, the `ds64` RIFF size) is fixed up. Every other chunk (`fmt `, `fact`,
//! `bext`, `LIST`, `data`, unknown ones, odd-sized ones) is copied byte for byte; the audio in
//! `data` is copied in large blocks and never decoded.
//!
//! Readers also accept the wild variants: an `AIGC` chunk anywhere (before `data` it is reported
//! with a [`carrier.place`](aigc_label_core::check::id::CARRIER_PLACE) warning), a `LIST`/`INFO`
//! child `AIGC`, the key in lowercase, and an ID3v2 `TXXX` frame `AIGC` in an `id3 ` / `ID3 `
//! chunk (mutagen and TagLib write tags there; ffprobe and exiftool read them), reported with a
//! `carrier.place` warning. Writing removes all of them and puts one chunk after `data`, at the
//! end of the RIFF body, followed by a `JUNK` chunk of [`Limits::label_room`] bytes (4 KiB by
//! default) where an update in place ([`crate::in_place`]) writes later labels: from an ID3 chunk only the label frames go (every other frame keeps its
//! stored bytes, the tag keeps its size), and a chunk that held nothing but labels is dropped.
//!
//! A content binding covers every byte but the label chunk and the RIFF size fields (see
//! [`Wav::binding_exclusions`](aigc_label_core::Carrier::binding_exclusions)).

use std::ops::Range;

use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::plan::{Plan as EditPlan, PlanBuilder};
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result};

use crate::common::{Exclusions, KEY, found, is_key, misplaced, text_of};
use crate::id3_chunk;
use crate::riff::{self, Chunk, Flavour, Header, LabelAt, Piece, Planner, Walker};
use crate::wav_room::{self, LabelRun, Role};

/// The WAV carrier (RIFF, RF64 and BW64 `WAVE` files).
#[derive(Debug, Clone, Copy, Default)]
pub struct Wav;

const FORMAT: &str = "wav";

impl Carrier for Wav {
    fn info(&self) -> &'static aigc_label_core::Info {
        &aigc_label_core::Info {
            format: FORMAT,
            media_type: "audio/wav",
            extensions: &["wav", "wave", "bwf", "rf64"],
        }
    }

    fn in_place(&self) -> Option<&dyn aigc_label_core::in_place::InPlace> {
        Some(self)
    }

    fn stamp(&self) -> Option<&dyn aigc_label_core::stamp::Stamp> {
        Some(&aigc_label_core::stamp::Medium::Audio)
    }

    fn sniff(&self, head: &[u8]) -> bool {
        matches!(head.get(..4), Some(b"RIFF" | b"RF64" | b"BW64")) && head.get(8..12) == Some(b"WAVE")
    }

    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>> {
        let mut src = Source::new(input, FORMAT)?;
        let header = open(&mut src, limits)?;
        let mut walker = Walker::new(&header, limits);
        let mut out = Vec::new();
        let mut seen_data = false;
        while let Some(chunk) = walker.next(&mut src, &header, limits)? {
            if out.len() >= limits.max_copies {
                break;
            }
            if is_key(&chunk.id) {
                out.push(key_copy(&mut src, &chunk, seen_data, limits)?);
            } else if &chunk.id == b"LIST" {
                if let Some(list) = read_info_list(&mut src, &chunk, limits)? {
                    list_copies(&list, &chunk, limits, &mut out)?;
                }
            } else if id3_chunk::is_id3(&chunk.id) {
                if let Some(tag) = id3_chunk::read(&mut src, &chunk, limits)? {
                    tag_copies(&tag, limits, &mut out)?;
                }
            }
            seen_data |= &chunk.id == b"data";
        }
        out.truncate(limits.max_copies);
        Ok(out)
    }

    /// One walk of the chunks: label copies are reported as [`Wav::find`] does, the label
    /// chunks and their room dropped, `LIST`/`INFO` and ID3 chunks holding labels rebuilt, and
    /// every other chunk planned as a copied range; the label goes at the end of the body.
    fn plan(
        &self,
        input: &mut dyn ReadSeek,
        label: &Label,
        limits: &Limits,
        out: PlanBuilder<'_>,
    ) -> Result<Option<EditPlan>> {
        edit_plan(input, label, limits, out).map(Some)
    }

    /// Which bytes of a WAV file a content binding leaves out; everything else (the header's
    /// magic and form type, `fmt `, `data` with its samples, `LIST`, `bext` and every other
    /// chunk, bytes after the RIFF body) is covered:
    ///
    /// - every `AIGC` chunk (header, body and pad byte), wherever it sits, and after `data` the
    ///   `JUNK` / `PAD ` chunks next to it (the room our writes leave for later labels, which an
    ///   update in place fills; see [`crate::in_place`]);
    /// - the 32-bit RIFF size (bytes 4..8), which counts the label chunk; in an RF64 / BW64
    ///   file also the 64-bit RIFF size in `ds64` (bytes 20..28);
    /// - in a `LIST`/`INFO` chunk holding an `AIGC` child (a wild variant), that child and the
    ///   list's size field, or the whole list when it holds nothing but labels (writing drops
    ///   it);
    /// - in an ID3 chunk holding a `TXXX` frame `AIGC` (a wild variant), those frames, the
    ///   chunk and tag sizes and the tag's padding, or the whole chunk when it holds nothing
    ///   but labels. After our first write no ID3 chunk holds a label, so none of it is left
    ///   out.
    ///
    /// Writing puts the label chunk (and its room) at the end of the RIFF body and copies every
    /// other chunk in its order, so a label of any length changes nothing else.
    fn binding_exclusions(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Range<u64>>> {
        let mut src = Source::new(input, FORMAT)?;
        let header = open(&mut src, limits)?;
        let mut out = Exclusions::new(FORMAT, limits);
        out.push(4..8)?;
        if header.flavour == Flavour::Rf64 {
            out.push(20..28)?;
        }
        let mut walker = Walker::new(&header, limits);
        let mut run = LabelRun::default();
        while let Some(chunk) = walker.next(&mut src, &header, limits)? {
            let whole = chunk.start..chunk.start + chunk.stored_len();
            match run.sort(&chunk) {
                Role::Ours(chunks) => {
                    for c in chunks {
                        out.push(c.start..c.start + c.stored_len())?;
                    }
                    continue;
                }
                Role::Held => continue,
                Role::Theirs(_) => {}
            }
            if id3_chunk::is_id3(&chunk.id) {
                if let Some(tag) = id3_chunk::read(&mut src, &chunk, limits)? {
                    tag.exclusions(false, limits, &mut out)?;
                }
            } else if &chunk.id == b"LIST" {
                let Some(list) = read_info_list(&mut src, &chunk, limits)? else {
                    continue;
                };
                let mut at = chunk.body_start() + 4;
                let subs = riff::sub_chunks(&list, at, limits)?;
                let labels = subs.iter().filter(|s| is_key(&s.id)).count();
                if labels > 0 && labels == subs.len() {
                    out.push(whole)?;
                    continue;
                }
                if labels > 0 {
                    out.push(chunk.start + 4..chunk.start + 8)?;
                }
                for sub in subs {
                    let len = sub.stored.len() as u64;
                    if is_key(&sub.id) {
                        out.push(at..at + len)?;
                    }
                    at += len;
                }
            }
        }
        Ok(out.into_vec())
    }
}

/// Reads the header and checks that this is a `WAVE` file.
pub(crate) fn open(src: &mut Source, limits: &Limits) -> Result<Header> {
    let header = riff::read_header(src, limits)?;
    if &header.form != b"WAVE" {
        return Err(Error::malformed(FORMAT, 8, "RIFF form type is not WAVE"));
    }
    Ok(header)
}

fn id_text(id: &[u8; 4]) -> String {
    String::from_utf8_lossy(id).into_owned()
}

/// The label copy in an `AIGC` chunk; `seen_data` says whether the `data` chunk came before.
fn key_copy(src: &mut Source, chunk: &Chunk, seen_data: bool, limits: &Limits) -> Result<Found> {
    let body = src.read_vec(chunk.size, "AIGC chunk", limits)?;
    let mut checks = Vec::new();
    if !seen_data {
        checks.push(misplaced(
            "AIGC chunk before the data chunk; spec section 4 puts it after data",
        ));
    }
    if chunk.id != KEY.as_bytes() {
        checks.push(misplaced(format!("chunk id spelled {:?}", id_text(&chunk.id))));
    }
    let range = chunk.start..chunk.start + chunk.stored_len();
    Ok(found("RIFF AIGC chunk", range, text_of(&body), checks))
}

/// Reports the label copies of an ID3 chunk's tag (a wild variant).
fn tag_copies(tag: &id3_chunk::ChunkTag, limits: &Limits, out: &mut Vec<Found>) -> Result<()> {
    let name = format!("RIFF {} chunk, ID3v2 TXXX AIGC", id_text(&tag.chunk.id).trim_end());
    let check = misplaced("label in an ID3 chunk; spec section 4 puts it in a top-level AIGC chunk");
    tag.copies(&name, Some(&check), limits, out)
}

/// Reports `AIGC` children of `list`, the body of the `LIST`/`INFO` chunk `chunk` after its
/// list type (a wild variant).
fn list_copies(list: &[u8], chunk: &Chunk, limits: &Limits, out: &mut Vec<Found>) -> Result<()> {
    let mut at = chunk.body_start() + 4;
    for sub in riff::sub_chunks(list, at, limits)? {
        if is_key(&sub.id) {
            let range = at..at + sub.stored.len() as u64;
            let checks = vec![misplaced(
                "label in a LIST/INFO child; spec section 4 puts it in a top-level AIGC chunk",
            )];
            out.push(found("RIFF LIST/INFO AIGC", range, text_of(sub.body), checks));
        }
        at += sub.stored.len() as u64;
    }
    Ok(())
}

/// The body of a `LIST` chunk after its list type, when the type is `INFO`.
fn read_info_list(src: &mut Source, chunk: &Chunk, limits: &Limits) -> Result<Option<Vec<u8>>> {
    if chunk.size < 4 {
        return Ok(None);
    }
    src.seek_to(chunk.body_start())?;
    let kind: [u8; 4] = src.read_array("LIST type")?;
    if &kind != b"INFO" {
        return Ok(None);
    }
    src.read_vec(chunk.size - 4, "LIST/INFO chunk", limits).map(Some)
}

/// Plans [`Wav::write`]'s output in one walk, collecting the copies [`Wav::find`] reports:
/// every chunk but the labels and their room ([`LabelRun`]), with `LIST`/`INFO` and ID3 chunks
/// rebuilt without their label children or frames, then the label chunk and its room at the
/// end of the body. The output is drained in blocks as the walk goes; the header's size is guessed
/// for a file that only gains the label.
fn edit_plan(input: &mut dyn ReadSeek, label: &Label, limits: &Limits, out: PlanBuilder<'_>) -> Result<EditPlan> {
    let mut src = Source::new(input, FORMAT)?;
    let header = open(&mut src, limits)?;
    let json = to_json(label, Shape::Bare);
    let likely = wav_room::label_and_room(header.end, json.as_bytes(), limits.label_room)?.0;
    let mut plan = Planner::new(out, &header, likely.len() as u64);
    let mut walker = Walker::new(&header, limits);
    let mut run = LabelRun::default();
    let mut copies = Vec::new();
    let mut seen_data = false;
    loop {
        plan.drain(&mut src, &copies)?;
        let Some(chunk) = walker.next(&mut src, &header, limits)? else {
            break;
        };
        if is_key(&chunk.id) {
            copies.push(key_copy(&mut src, &chunk, seen_data, limits)?);
        }
        seen_data |= &chunk.id == b"data";
        match run.sort(&chunk) {
            Role::Ours(_) | Role::Held => continue,
            Role::Theirs(held) => held.iter().for_each(|c| plan.copy(c)),
        }
        match &chunk.id {
            b"LIST" => {
                let list = read_info_list(&mut src, &chunk, limits)?;
                if let Some(list) = &list {
                    list_copies(list, &chunk, limits, &mut copies)?;
                }
                match list
                    .map(|list| list_without_label(&list, &chunk, limits))
                    .transpose()?
                    .flatten()
                {
                    Some(bytes) => plan.rebuilt(vec![Piece::Bytes(bytes)])?,
                    None => plan.copy(&chunk),
                }
            }
            b"ds64" if header.flavour == Flavour::Rf64 && chunk.start == 12 => {
                src.seek_to(chunk.start)?;
                let raw = src.read_vec(chunk.stored_len(), "ds64 chunk", limits)?;
                plan.ds64(&chunk, raw);
            }
            id if id3_chunk::is_id3(id) => {
                let stripped = match id3_chunk::read(&mut src, &chunk, limits)? {
                    Some(tag) => {
                        tag_copies(&tag, limits, &mut copies)?;
                        tag.without_labels(header.flavour, limits)?
                    }
                    None => None,
                };
                match stripped {
                    Some(pieces) => plan.rebuilt(pieces)?,
                    None => plan.copy(&chunk),
                }
            }
            _ => plan.copy(&chunk),
        }
    }
    run.finish().iter().for_each(|c| plan.copy(c));
    copies.truncate(limits.max_copies);
    let (appended, chunk) = wav_room::label_and_room(plan.appended_at(), json.as_bytes(), limits.label_room)?;
    plan.finish(
        &header,
        walker.pos(),
        src.len(),
        &appended,
        copies,
        LabelAt::Appended(chunk),
    )
}

/// `list`, the body of a `LIST`/`INFO` chunk after its type, with its `AIGC` children removed:
/// `None` when it has none (copy it as is), no bytes when nothing else was in it (drop it).
fn list_without_label(list: &[u8], chunk: &Chunk, limits: &Limits) -> Result<Option<Vec<u8>>> {
    let subs = riff::sub_chunks(list, chunk.body_start() + 4, limits)?;
    if !subs.iter().any(|s| is_key(&s.id)) {
        return Ok(None);
    }
    let mut body = b"INFO".to_vec();
    for sub in subs.iter().filter(|s| !is_key(&s.id)) {
        body.extend_from_slice(sub.stored);
    }
    if body.len() == 4 {
        return Ok(Some(Vec::new()));
    }
    let mut bytes = Vec::new();
    riff::push_chunk(&mut bytes, b"LIST", &body)?;
    Ok(Some(bytes))
}
