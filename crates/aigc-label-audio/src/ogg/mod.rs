//! Ogg Vorbis and Ogg Opus: the label is the field `AIGC=` in the comment header packet (spec
//! section 4; Vorbis I specification section 4.2 and 5; RFC 7845 section 5.2).
//!
//! The comment header is the second packet of a Vorbis or Opus logical stream (`\x03vorbis` +
//! comment list + framing bit; `OpusTags` + comment list + optional padding). Writing rebuilds
//! that packet, and lays it (with the Vorbis setup header, which may share its pages) out on new
//! pages: lacing values, the continued-packet flag, granule position -1 on pages where no packet
//! ends, and the page CRC are computed afresh. When the number of header pages changes, the
//! stream's later pages get new sequence numbers and CRCs; otherwise they are copied byte for
//! byte. Pages of other logical streams (video, other codecs) are copied as they are.
//!
//! In a chained file (several links one after another) or a file with several Vorbis / Opus
//! streams, every stream's comment header is read; writing puts the label in the first one and
//! removes `AIGC` fields from the others, so the file carries one copy.
//!
//! The label's structure is the `AIGC=` field itself (its length prefix and bytes, with any page
//! header it straddles); the vendor string, every other comment and the Vorbis setup header stay
//! covered by a content binding (see
//! [`Ogg::binding_exclusions`](aigc_label_core::Carrier::binding_exclusions)).

pub(crate) mod page;

use std::ops::Range;

use aigc_label_core::container::Drains;
use aigc_label_core::io::{ReadSeek, Source};
use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::plan::{Plan as EditPlan, PlanBuilder};
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result};

use crate::common::{Budget, Exclusions, found, text_of};
use crate::vorbis_comment;
use page::{BOS, EOS, Page, Template};

/// The Ogg carrier (Vorbis and Opus logical streams).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ogg;

const FORMAT: &str = "ogg";

/// Codecs whose comment header carries the label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Vorbis,
    Opus,
}

impl Codec {
    fn detect(ident: &[u8]) -> Option<Codec> {
        if ident.starts_with(b"\x01vorbis") {
            Some(Codec::Vorbis)
        } else if ident.starts_with(b"OpusHead") {
            Some(Codec::Opus)
        } else {
            None
        }
    }

    /// The magic that opens the comment header packet.
    fn comment_magic(self) -> &'static [u8] {
        match self {
            Codec::Vorbis => b"\x03vorbis",
            Codec::Opus => b"OpusTags",
        }
    }

    /// Header packets after the identification header: comment (and setup, for Vorbis).
    fn later_headers(self) -> usize {
        match self {
            Codec::Vorbis => 2,
            Codec::Opus => 1,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Codec::Vorbis => "Vorbis comment AIGC",
            Codec::Opus => "OpusTags AIGC",
        }
    }
}

/// A run of packet bytes stored contiguously in the file (one page's share of a packet).
#[derive(Debug, Clone, Copy)]
struct Run {
    /// Offset of the run's first byte in the packet.
    at: u64,
    /// Offset of the run's first byte in the file.
    file: u64,
    len: u64,
}

/// Collects the packets of one stream's header pages, and where each packet's bytes sit in the
/// file (a packet may span pages, so its bytes come in runs between page headers).
#[derive(Debug, Default)]
struct Packets {
    done: Vec<Vec<u8>>,
    runs: Vec<Vec<Run>>,
    partial: Vec<u8>,
    partial_runs: Vec<Run>,
    held: u64,
}

/// The file range that holds bytes `r` of a packet stored in `runs`: from the file offset of its
/// first byte to just past its last, taking in the page headers in between. `None` when `r` is
/// empty or past the packet.
fn file_range(runs: &[Run], r: &Range<usize>) -> Option<Range<u64>> {
    let at = |i: u64| {
        let run = runs.get(runs.partition_point(|run| run.at + run.len <= i))?;
        (run.at <= i).then(|| run.file + (i - run.at))
    };
    let last = (r.end as u64).checked_sub(1).filter(|&l| l >= r.start as u64)?;
    Some(at(r.start as u64)?..at(last)? + 1)
}

impl Packets {
    /// Adds the segments of one page, stopping once `want` packets are complete; returns how
    /// many lacing values were used.
    fn feed(&mut self, page: &Page, body: &[u8], want: usize, limits: &Limits) -> Result<usize> {
        let mut used = 0;
        let mut at = page.body_offset();
        for (seg, ends) in page.segments(body) {
            if self.done.len() >= want {
                break;
            }
            used += 1;
            let len = seg.len() as u64;
            self.held += len;
            limits.check_metadata(FORMAT, page.offset, self.held)?;
            self.partial
                .try_reserve(seg.len())
                .map_err(|_| Error::malformed(FORMAT, page.offset, "header packet does not fit in memory"))?;
            self.partial.extend_from_slice(seg);
            match self.partial_runs.last_mut() {
                Some(run) if run.file + run.len == at => run.len += len,
                _ => self.partial_runs.push(Run {
                    at: self.partial.len() as u64 - len,
                    file: at,
                    len,
                }),
            }
            at += len;
            if ends {
                self.done.push(std::mem::take(&mut self.partial));
                self.runs.push(std::mem::take(&mut self.partial_runs));
            }
        }
        Ok(used)
    }
}

/// Where a logical stream is.
#[derive(Debug)]
enum Phase {
    /// Waiting for the identification header to end.
    Ident,
    /// Collecting the comment (and setup) header pages.
    Headers { codec: Codec, pages: Vec<Page> },
    /// Past the headers; later pages shift their sequence numbers by this much.
    Audio { shift: i64 },
    /// Past headers that writing rewrites (binding exclusions): later pages may get new
    /// sequence numbers and CRCs.
    Renumbered,
    /// Not a Vorbis or Opus stream, or done with (find).
    Other,
}

#[derive(Debug)]
struct Stream {
    serial: u32,
    phase: Phase,
    packets: Packets,
}

/// The streams met so far; a serial number reused by a later link names the newest stream.
#[derive(Debug, Default)]
struct Streams(Vec<Stream>);

impl Streams {
    fn on_page(&mut self, page: &Page) -> Option<&mut Stream> {
        if page.flags & BOS != 0 {
            self.0.push(Stream {
                serial: page.serial,
                phase: Phase::Ident,
                packets: Packets::default(),
            });
        }
        self.0.iter_mut().rev().find(|s| s.serial == page.serial)
    }

    fn pending(&self) -> bool {
        self.0
            .iter()
            .any(|s| matches!(s.phase, Phase::Headers { .. } | Phase::Ident))
    }
}

/// Reads a page body and checks its CRC.
fn read_body(src: &mut Source, page: &Page, limits: &Limits) -> Result<Vec<u8>> {
    let body = src.read_vec(page.body_len(), "Ogg page body", limits)?;
    if !page.crc_ok(&body) {
        return Err(Error::malformed(FORMAT, page.offset, "Ogg page CRC mismatch"));
    }
    Ok(body)
}

/// Feeds a page to a stream in the `Ident` phase; returns the next phase once the identification
/// header is complete.
fn ident(stream: &mut Stream, page: &Page, body: &[u8], limits: &Limits) -> Result<Option<Phase>> {
    let used = stream.packets.feed(page, body, 1, limits)?;
    let Some(first) = stream.packets.done.first() else {
        return Ok(None);
    };
    let phase = match Codec::detect(first) {
        Some(_) if used < page.lacing.len() => {
            return Err(Error::malformed(
                FORMAT,
                page.offset,
                "identification header does not end its page",
            ));
        }
        Some(codec) => Phase::Headers {
            codec,
            pages: Vec::new(),
        },
        None => Phase::Other,
    };
    stream.packets = Packets::default();
    Ok(Some(phase))
}

/// The comment list inside a comment header packet.
fn comments<'a>(codec: Codec, packet: &'a [u8], offset: u64, limits: &Limits) -> Result<vorbis_comment::Comments<'a>> {
    let magic = codec.comment_magic();
    let list = packet
        .strip_prefix(magic)
        .ok_or_else(|| Error::malformed(FORMAT, offset, "second header packet is not a comment header"))?;
    vorbis_comment::parse(list, FORMAT, offset + magic.len() as u64, limits)
}

impl Carrier for Ogg {
    fn info(&self) -> &'static aigc_label_core::Info {
        &aigc_label_core::Info {
            format: FORMAT,
            media_type: "audio/ogg",
            extensions: &["ogg", "oga", "opus"],
        }
    }

    fn stamp(&self) -> Option<&dyn aigc_label_core::stamp::Stamp> {
        Some(&aigc_label_core::stamp::Medium::Audio)
    }

    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(b"OggS")
    }

    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>> {
        let mut src = Source::new(input, FORMAT)?;
        let mut streams = Streams::default();
        let mut budget = Budget::new(FORMAT, limits);
        let mut out = Vec::new();
        while !src.at_end() && out.len() < limits.max_copies {
            budget.tick(src.pos(), limits)?;
            let page = Page::read(&mut src)?;
            let Some(stream) = streams.on_page(&page) else {
                src.seek_to(page.end())?;
                continue;
            };
            match &mut stream.phase {
                Phase::Ident => {
                    let body = read_body(&mut src, &page, limits)?;
                    if let Some(next) = ident(stream, &page, &body, limits)? {
                        stream.phase = next;
                    }
                }
                Phase::Headers { codec, pages } => {
                    let codec = *codec;
                    let body = read_body(&mut src, &page, limits)?;
                    stream.packets.feed(&page, &body, 1, limits)?;
                    pages.push(page.clone());
                    if let (Some(packet), Some(runs)) = (stream.packets.done.first(), stream.packets.runs.first()) {
                        let first = pages.first().map_or(page.offset, |p| p.offset);
                        let list = comments(codec, packet, first, limits)?;
                        for (value, span) in list.label_fields().take(limits.max_copies) {
                            let range = field_range(codec, runs, &span, first)?;
                            out.push(found(codec.name(), range, text_of(value), Vec::new()));
                        }
                        stream.phase = Phase::Other;
                        stream.packets = Packets::default();
                    }
                }
                Phase::Audio { .. } | Phase::Renumbered | Phase::Other => src.seek_to(page.end())?,
            }
        }
        out.truncate(limits.max_copies);
        Ok(out)
    }

    /// One walk of the pages: each stream's comment header is read (its label copies reported
    /// as soon as it is complete, as [`Ogg::find`] does) and its header pages laid out afresh
    /// when they change; every other page is a copied range, or renumbered.
    fn plan(
        &self,
        input: &mut dyn ReadSeek,
        label: &Label,
        limits: &Limits,
        out: PlanBuilder<'_>,
    ) -> Result<Option<EditPlan>> {
        edit_plan(input, label, limits, out).map(Some)
    }

    /// Which bytes of an Ogg file a content binding leaves out; everything else (the
    /// identification header pages, the vendor string and every other comment, the Vorbis setup
    /// header, the Opus comment padding, every audio page's header fields and body, pages of
    /// other streams) is covered:
    ///
    /// - every `AIGC=` field (its 32-bit length and its bytes, and any page header it straddles);
    /// - for the first Vorbis / Opus stream (which writing gives the label) and any stream
    ///   holding a label: the field count in the comment header; the whole page header (lacing
    ///   values, flags, granule position, sequence number, CRC) of every page holding the
    ///   comment and setup headers, which writing lays out afresh; and the sequence number and
    ///   CRC (header bytes 18..26) of every later page of that stream, which change when the
    ///   headers come to need more or fewer pages.
    ///
    /// Header packet bytes other than the label field stay covered wherever the new page
    /// boundaries fall, since the covered bytes are read in order. Leaving out an audio page's
    /// CRC loses nothing: the bytes it protects are covered themselves.
    fn binding_exclusions(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Range<u64>>> {
        let mut src = Source::new(input, FORMAT)?;
        let mut streams = Streams::default();
        let mut budget = Budget::new(FORMAT, limits);
        let mut out = Exclusions::new(FORMAT, limits);
        let mut labelled_one = false;
        while !src.at_end() {
            budget.tick(src.pos(), limits)?;
            let page = Page::read(&mut src)?;
            let Some(stream) = streams.on_page(&page) else {
                src.seek_to(page.end())?;
                continue;
            };
            match &mut stream.phase {
                Phase::Ident => {
                    let body = read_body(&mut src, &page, limits)?;
                    if let Some(next) = ident(stream, &page, &body, limits)? {
                        stream.phase = next;
                    }
                }
                Phase::Headers { codec, pages } => {
                    let codec = *codec;
                    let body = read_body(&mut src, &page, limits)?;
                    stream.packets.feed(&page, &body, codec.later_headers(), limits)?;
                    pages.push(page.clone());
                    if stream.packets.done.len() < codec.later_headers() {
                        continue;
                    }
                    let rewritten = header_exclusions(codec, pages, &stream.packets, !labelled_one, &mut out, limits)?;
                    labelled_one = true;
                    stream.phase = if rewritten { Phase::Renumbered } else { Phase::Other };
                    stream.packets = Packets::default();
                }
                Phase::Renumbered => {
                    out.push(page.seq_and_crc_range())?;
                    src.seek_to(page.end())?;
                }
                Phase::Audio { .. } | Phase::Other => src.seek_to(page.end())?,
            }
        }
        Ok(out.into_vec())
    }
}

/// Plans [`Ogg::write`]'s output in one walk, collecting the copies [`Ogg::find`] reports;
/// each page is drained as the walk passes it.
fn edit_plan(input: &mut dyn ReadSeek, label: &Label, limits: &Limits, mut out: PlanBuilder<'_>) -> Result<EditPlan> {
    let json = to_json(label, Shape::Bare);
    let mut src = Source::new(input, FORMAT)?;
    let mut streams = Streams::default();
    let mut budget = Budget::new(FORMAT, limits);
    let mut label_range = None;
    let mut drains = Drains::default();
    let mut found = Vec::new();
    while !src.at_end() {
        drains.drain(&mut out, &mut src, &found)?;
        budget.tick(src.pos(), limits)?;
        let page = Page::read(&mut src)?;
        let Some(stream) = streams.on_page(&page) else {
            copy_page(&mut src, &mut out, &page)?;
            continue;
        };
        match &mut stream.phase {
            Phase::Ident => {
                let body = read_body(&mut src, &page, limits)?;
                if let Some(next) = ident(stream, &page, &body, limits)? {
                    stream.phase = next;
                }
                copy_page(&mut src, &mut out, &page)?;
            }
            Phase::Headers { codec, pages, .. } => {
                let codec = *codec;
                let body = read_body(&mut src, &page, limits)?;
                let want = codec.later_headers();
                let had = stream.packets.done.len();
                let used = stream.packets.feed(&page, &body, want, limits)?;
                pages.push(page.clone());
                // The comment header is complete: its copies, in the order find meets them.
                if let (0, Some(packet), Some(runs)) = (had, stream.packets.done.first(), stream.packets.runs.first()) {
                    let first = pages.first().map_or(page.offset, |p| p.offset);
                    let list = comments(codec, packet, first, limits)?;
                    for (value, span) in list.label_fields().take(limits.max_copies) {
                        let range = field_range(codec, runs, &span, first)?;
                        found.push(crate::common::found(codec.name(), range, text_of(value), Vec::new()));
                    }
                }
                if stream.packets.done.len() < want {
                    continue;
                }
                if used < page.lacing.len() {
                    return Err(Error::malformed(
                        FORMAT,
                        page.offset,
                        "audio data shares a page with the header packets",
                    ));
                }
                let value = label_range.is_none().then_some(json.as_str());
                let start = out.position();
                let (shift, field) = rewrite_headers(&mut src, &mut out, codec, pages, &stream.packets, value, limits)?;
                if let Some(field) = field {
                    label_range = Some(start + field.start..start + field.end);
                }
                stream.phase = Phase::Audio { shift };
                stream.packets = Packets::default();
            }
            Phase::Audio { shift } => {
                let shift = *shift;
                renumber_page(&mut src, &mut out, &page, shift, limits)?;
            }
            Phase::Renumbered | Phase::Other => copy_page(&mut src, &mut out, &page)?,
        }
    }
    if streams.pending() {
        return Err(src.truncated("Ogg stream ends inside its header packets"));
    }
    let label_range = label_range.ok_or_else(|| Error::unsupported("ogg", "no Vorbis or Opus stream"))?;
    found.truncate(limits.max_copies);
    Ok(out.finish(found, label_range))
}

/// The file range of the comment field at `span` in a comment list, the list following the
/// codec's magic in the packet stored in `runs`.
fn field_range(codec: Codec, runs: &[Run], span: &Range<usize>, offset: u64) -> Result<Range<u64>> {
    let magic = codec.comment_magic().len();
    file_range(runs, &(span.start + magic..span.end + magic))
        .ok_or_else(|| Error::malformed(FORMAT, offset, "comment field outside its packet"))
}

/// Adds the exclusions of one stream's header pages when writing rewrites them (the stream that
/// gets the label, `gets_label`, or one holding a label); returns whether it does.
fn header_exclusions(
    codec: Codec,
    pages: &[Page],
    packets: &Packets,
    gets_label: bool,
    out: &mut Exclusions,
    limits: &Limits,
) -> Result<bool> {
    let (Some(first), Some(packet), Some(runs)) = (pages.first(), packets.done.first(), packets.runs.first()) else {
        return Ok(false);
    };
    let list = comments(codec, packet, first.offset, limits)?;
    if !gets_label && !list.has_label() {
        return Ok(false);
    }
    for page in pages {
        out.push(page.header_range())?;
    }
    out.push(field_range(codec, runs, &list.count_span(), first.offset)?)?;
    for (_, span) in list.label_fields() {
        out.push(field_range(codec, runs, &span, first.offset)?)?;
    }
    Ok(true)
}

/// Copies a page as it is, from its header on; leaves `src` after it.
fn copy_page(src: &mut Source, out: &mut PlanBuilder, page: &Page) -> Result<()> {
    src.seek_to(page.end())?;
    out.copy(page.offset..page.end());
    Ok(())
}

/// Copies an audio page, renumbered by `shift` (with a new CRC) when `shift` is not zero.
fn renumber_page(src: &mut Source, out: &mut PlanBuilder, page: &Page, shift: i64, limits: &Limits) -> Result<()> {
    if shift == 0 {
        return copy_page(src, out, page);
    }
    let body = read_body(src, page, limits)?;
    let seq = u32::try_from(i64::from(page.seq) + shift)
        .map_err(|_| Error::malformed(FORMAT, page.offset + 18, "page sequence number out of range"))?;
    let renumbered = Page { seq, ..page.clone() };
    out.put(&renumbered.encode(&body));
    Ok(())
}

/// Writes a stream's comment (and setup) header pages with the comment list rebuilt; returns
/// how many more pages than before the stream now has, and where the new label field sits in
/// what was written (when `value` is given).
///
/// When neither a label is removed nor one added, the original pages are copied unchanged.
fn rewrite_headers(
    src: &mut Source,
    out: &mut PlanBuilder,
    codec: Codec,
    pages: &[Page],
    packets: &Packets,
    value: Option<&str>,
    limits: &Limits,
) -> Result<(i64, Option<Range<u64>>)> {
    let (Some(first), Some(last), Some(comment)) = (pages.first(), pages.last(), packets.done.first()) else {
        return Err(Error::malformed(FORMAT, src.pos(), "missing comment header"));
    };
    let list = comments(codec, comment, first.body_offset(), limits)?;
    if value.is_none() && !list.has_label() {
        for page in pages {
            copy_page(src, out, page)?;
        }
        src.seek_to(last.end())?;
        return Ok((0, None));
    }
    let magic = codec.comment_magic();
    let (rebuilt, span) = list.rebuild(value)?;
    let mut new_comment = magic.to_vec();
    new_comment.extend_from_slice(&rebuilt);
    let mut new_packets: Vec<&[u8]> = vec![&new_comment];
    new_packets.extend(packets.done.iter().skip(1).map(Vec::as_slice));
    let template = Template {
        serial: first.serial,
        first_seq: first.seq,
        granule: last.granule,
        eos: last.flags & EOS != 0,
    };
    let new_pages = page::paginate(&new_packets, template);
    for p in &new_pages {
        out.put(p);
    }
    src.seek_to(last.end())?;
    let field = value.and_then(|_| page::locate(&new_pages, span.start + magic.len()..span.end + magic.len()));
    Ok((new_pages.len() as i64 - pages.len() as i64, field))
}
