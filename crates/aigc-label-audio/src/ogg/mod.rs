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

mod page;

use std::io::Write;

use aigc_label_core::io::{CountingWriter, ReadSeek, Source};
use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result, Written};

use crate::common::{Budget, found, text_of};
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

/// Collects the packets of one stream's header pages.
#[derive(Debug, Default)]
struct Packets {
    done: Vec<Vec<u8>>,
    partial: Vec<u8>,
    held: u64,
}

impl Packets {
    /// Adds the segments of one page, stopping once `want` packets are complete; returns how
    /// many lacing values were used.
    fn feed(&mut self, page: &Page, body: &[u8], want: usize, limits: &Limits) -> Result<usize> {
        let mut used = 0;
        for (seg, ends) in page.segments(body) {
            if self.done.len() >= want {
                break;
            }
            used += 1;
            self.held += seg.len() as u64;
            limits.check_metadata(FORMAT, page.offset, self.held)?;
            self.partial
                .try_reserve(seg.len())
                .map_err(|_| Error::malformed(FORMAT, page.offset, "header packet does not fit in memory"))?;
            self.partial.extend_from_slice(seg);
            if ends {
                self.done.push(std::mem::take(&mut self.partial));
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
    fn format(&self) -> &'static str {
        FORMAT
    }

    fn media_type(&self) -> &'static str {
        "audio/ogg"
    }

    fn extensions(&self) -> &'static [&'static str] {
        &["ogg", "oga", "opus"]
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
                    if let Some(packet) = stream.packets.done.first() {
                        let first = pages.first().map_or(page.offset, |p| p.offset);
                        let list = comments(codec, packet, first, limits)?;
                        let range = first..page.end();
                        for value in list.labels() {
                            out.push(found(codec.name(), range.clone(), text_of(value), Vec::new()));
                        }
                        stream.phase = Phase::Other;
                        stream.packets = Packets::default();
                    }
                }
                Phase::Audio { .. } | Phase::Other => src.seek_to(page.end())?,
            }
        }
        out.truncate(limits.max_copies);
        Ok(out)
    }

    fn write(
        &self,
        input: &mut dyn ReadSeek,
        output: &mut dyn Write,
        label: &Label,
        limits: &Limits,
    ) -> Result<Written> {
        let json = to_json(label, Shape::Bare);
        let mut src = Source::new(input, FORMAT)?;
        let mut out = CountingWriter::new(output);
        let mut streams = Streams::default();
        let mut budget = Budget::new(FORMAT, limits);
        let mut label_range = None;
        while !src.at_end() {
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
                    let used = stream.packets.feed(&page, &body, want, limits)?;
                    pages.push(page.clone());
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
                    let start = out.count();
                    let shift = rewrite_headers(&mut src, &mut out, codec, pages, &stream.packets, value, limits)?;
                    if value.is_some() {
                        label_range = Some(start..out.count());
                    }
                    stream.phase = Phase::Audio { shift };
                    stream.packets = Packets::default();
                }
                Phase::Audio { shift } => {
                    let shift = *shift;
                    renumber_page(&mut src, &mut out, &page, shift, limits)?;
                }
                Phase::Other => copy_page(&mut src, &mut out, &page)?,
            }
        }
        if streams.pending() {
            return Err(src.truncated("Ogg stream ends inside its header packets"));
        }
        let label_range =
            label_range.ok_or_else(|| Error::Unsupported("Ogg file without a Vorbis or Opus stream".into()))?;
        Ok(Written {
            label_range,
            bytes_written: out.count(),
        })
    }
}

/// Copies a page as it is, from its header on.
fn copy_page(src: &mut Source, out: &mut dyn Write, page: &Page) -> Result<()> {
    src.seek_to(page.offset)?;
    src.copy_to(out, page.end() - page.offset, "Ogg page")
}

/// Copies an audio page, renumbered by `shift` (with a new CRC) when `shift` is not zero.
fn renumber_page(src: &mut Source, out: &mut dyn Write, page: &Page, shift: i64, limits: &Limits) -> Result<()> {
    if shift == 0 {
        return copy_page(src, out, page);
    }
    let body = read_body(src, page, limits)?;
    let seq = u32::try_from(i64::from(page.seq) + shift)
        .map_err(|_| Error::malformed(FORMAT, page.offset + 18, "page sequence number out of range"))?;
    let renumbered = Page { seq, ..page.clone() };
    out.write_all(&renumbered.encode(&body))?;
    Ok(())
}

/// Writes a stream's comment (and setup) header pages with the comment list rebuilt; returns
/// how many more pages than before the stream now has.
///
/// When neither a label is removed nor one added, the original pages are copied unchanged.
fn rewrite_headers(
    src: &mut Source,
    out: &mut dyn Write,
    codec: Codec,
    pages: &[Page],
    packets: &Packets,
    value: Option<&str>,
    limits: &Limits,
) -> Result<i64> {
    let (Some(first), Some(last), Some(comment)) = (pages.first(), pages.last(), packets.done.first()) else {
        return Err(Error::malformed(FORMAT, src.pos(), "missing comment header"));
    };
    let list = comments(codec, comment, first.body_offset(), limits)?;
    if value.is_none() && !list.has_label() {
        for page in pages {
            copy_page(src, out, page)?;
        }
        src.seek_to(last.end())?;
        return Ok(0);
    }
    let mut new_comment = codec.comment_magic().to_vec();
    new_comment.extend_from_slice(&list.rebuild(value)?);
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
        out.write_all(p)?;
    }
    src.seek_to(last.end())?;
    Ok(new_pages.len() as i64 - pages.len() as i64)
}
