//! WAV: the label is a top-level RIFF chunk `AIGC` after `data` (spec section 4).
//!
//! The chunk body is the bare JSON; an odd-sized body gets the RIFF pad byte, and the RIFF size
//! (or, for RF64 / BW64, the `ds64` RIFF size) is fixed up. Every other chunk (`fmt `, `fact`,
//! `bext`, `LIST`, `data`, unknown ones, odd-sized ones) is copied byte for byte; the audio in
//! `data` is copied in large blocks and never decoded.
//!
//! Readers also accept the wild variants: an `AIGC` chunk anywhere (before `data` it is reported
//! with a [`carrier.place`](aigc_label_core::check::id::CARRIER_PLACE) warning), a `LIST`/`INFO`
//! child `AIGC`, and the key in lowercase. Writing removes all of them and puts one chunk after
//! `data`, at the end of the RIFF body.
//!
//! A content binding covers every byte but the label chunk and the RIFF size fields (see
//! [`Wav::binding_exclusions`](aigc_label_core::Carrier::binding_exclusions)).

use std::io::Write;
use std::ops::Range;

use aigc_label_core::io::{CountingWriter, ReadSeek, Source};
use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result, Written};

use crate::common::{Exclusions, KEY, found, is_key, misplaced, text_of};
use crate::riff::{self, Chunk, Flavour, Header, SIZE_IN_DS64, Walker};

/// The WAV carrier (RIFF, RF64 and BW64 `WAVE` files).
#[derive(Debug, Clone, Copy, Default)]
pub struct Wav;

const FORMAT: &str = "wav";

impl Carrier for Wav {
    fn format(&self) -> &'static str {
        FORMAT
    }

    fn media_type(&self) -> &'static str {
        "audio/wav"
    }

    fn extensions(&self) -> &'static [&'static str] {
        &["wav", "wave", "bwf", "rf64"]
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
                let range = chunk.offset..chunk.offset + chunk.stored_len();
                out.push(found("RIFF AIGC chunk", range, text_of(&body), checks));
            } else if &chunk.id == b"LIST" {
                find_in_list(&mut src, &chunk, limits, &mut out)?;
            }
            seen_data |= &chunk.id == b"data";
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
        let mut src = Source::new(input, FORMAT)?;
        let header = open(&mut src, limits)?;
        let plan = plan(&mut src, &header, limits)?;
        let mut label_chunk = Vec::new();
        riff::push_chunk(&mut label_chunk, b"AIGC", to_json(label, Shape::Bare).as_bytes())?;

        let kept: u64 = plan.pieces.iter().map(Piece::len).sum();
        let pad_fix = u64::from(plan.missing_pad);
        let body_size = 4 + kept + pad_fix + label_chunk.len() as u64 + plan.stray;

        let mut out = CountingWriter::new(output);
        write_header(&mut out, &header, body_size)?;
        for piece in &plan.pieces {
            match piece {
                Piece::Copy { offset, len } => {
                    src.seek_to(*offset)?;
                    src.copy_to(&mut out, *len, "chunk")?;
                }
                Piece::Bytes(bytes) => out.write_all(bytes)?,
                Piece::Ds64(raw) => out.write_all(&patch_ds64(raw, body_size))?,
            }
        }
        if plan.missing_pad {
            out.write_all(&[0])?;
        }
        let label_start = out.count();
        out.write_all(&label_chunk)?;
        let label_range = label_start..out.count();
        src.seek_to(header.end - plan.stray)?;
        src.copy_rest(&mut out, "bytes after the chunks")?;
        Ok(Written {
            label_range,
            bytes_written: out.count(),
        })
    }

    /// Which bytes of a WAV file a content binding leaves out; everything else (the header's
    /// magic and form type, `fmt `, `data` with its samples, `LIST`, `bext` and every other
    /// chunk, bytes after the RIFF body) is covered:
    ///
    /// - every `AIGC` chunk (header, body and pad byte), wherever it sits;
    /// - the 32-bit RIFF size (bytes 4..8), which counts the label chunk; in an RF64 / BW64
    ///   file also the 64-bit RIFF size in `ds64` (bytes 20..28);
    /// - in a `LIST`/`INFO` chunk holding an `AIGC` child (a wild variant), that child and the
    ///   list's size field, or the whole list when it holds nothing but labels (writing drops
    ///   it).
    ///
    /// Writing puts the label chunk at the end of the RIFF body and copies every other chunk in
    /// its order, so a label of any length changes nothing else.
    fn binding_exclusions(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Range<u64>>> {
        let mut src = Source::new(input, FORMAT)?;
        let header = open(&mut src, limits)?;
        let mut out = Exclusions::new(FORMAT, limits);
        out.push(4..8)?;
        if header.flavour == Flavour::Rf64 {
            out.push(20..28)?;
        }
        let mut walker = Walker::new(&header, limits);
        while let Some(chunk) = walker.next(&mut src, &header, limits)? {
            let whole = chunk.offset..chunk.offset + chunk.stored_len();
            if is_key(&chunk.id) {
                out.push(whole)?;
            } else if &chunk.id == b"LIST" {
                let Some(list) = read_info_list(&mut src, &chunk, limits)? else {
                    continue;
                };
                let mut at = chunk.body() + 4;
                let subs = riff::sub_chunks(&list, at, limits)?;
                let labels = subs.iter().filter(|s| is_key(&s.id)).count();
                if labels > 0 && labels == subs.len() {
                    out.push(whole)?;
                    continue;
                }
                if labels > 0 {
                    out.push(chunk.offset + 4..chunk.offset + 8)?;
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
fn open(src: &mut Source, limits: &Limits) -> Result<Header> {
    let header = riff::read_header(src, limits)?;
    if &header.form != b"WAVE" {
        return Err(Error::malformed(FORMAT, 8, "RIFF form type is not WAVE"));
    }
    Ok(header)
}

fn id_text(id: &[u8; 4]) -> String {
    String::from_utf8_lossy(id).into_owned()
}

/// Reports `AIGC` children of a `LIST`/`INFO` chunk (a wild variant).
fn find_in_list(src: &mut Source, chunk: &Chunk, limits: &Limits, out: &mut Vec<Found>) -> Result<()> {
    let Some(list) = read_info_list(src, chunk, limits)? else {
        return Ok(());
    };
    let mut at = chunk.body() + 4;
    for sub in riff::sub_chunks(&list, at, limits)? {
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
    src.seek_to(chunk.body())?;
    let kind: [u8; 4] = src.read_array("LIST type")?;
    if &kind != b"INFO" {
        return Ok(None);
    }
    src.read_vec(chunk.size - 4, "LIST/INFO chunk", limits).map(Some)
}

/// A run of output bytes: a range of the input copied as is, bytes built here, or the RF64
/// `ds64` chunk whose RIFF size is patched when written.
enum Piece {
    Copy { offset: u64, len: u64 },
    Bytes(Vec<u8>),
    Ds64(Vec<u8>),
}

impl Piece {
    fn len(&self) -> u64 {
        match self {
            Piece::Copy { len, .. } => *len,
            Piece::Bytes(b) | Piece::Ds64(b) => b.len() as u64,
        }
    }
}

/// What to write, chunk by chunk, before the label chunk.
struct Plan {
    pieces: Vec<Piece>,
    /// The last chunk is odd-sized and its pad byte is missing: add one before the label.
    missing_pad: bool,
    /// Bytes (fewer than 8) left in the RIFF body after the last whole chunk; kept after the label.
    stray: u64,
}

fn plan(src: &mut Source, header: &Header, limits: &Limits) -> Result<Plan> {
    let mut walker = Walker::new(header, limits);
    let mut pieces = Vec::new();
    let mut missing_pad = false;
    while let Some(chunk) = walker.next(src, header, limits)? {
        if is_key(&chunk.id) {
            continue;
        }
        let copy = Piece::Copy {
            offset: chunk.offset,
            len: chunk.stored_len(),
        };
        let piece = match &chunk.id {
            b"LIST" => list_without_label(src, &chunk, limits)?.unwrap_or(copy),
            b"ds64" if header.flavour == Flavour::Rf64 && chunk.offset == 12 => {
                src.seek_to(chunk.offset)?;
                Piece::Ds64(src.read_vec(chunk.stored_len(), "ds64 chunk", limits)?)
            }
            _ => copy,
        };
        // A copied chunk (or the `ds64` copy) keeps a missing pad byte missing; a rebuilt LIST is
        // written whole, pad included.
        missing_pad = !matches!(piece, Piece::Bytes(_)) && chunk.missing_pad();
        if piece.len() > 0 {
            pieces.push(piece);
        }
    }
    Ok(Plan {
        pieces,
        missing_pad,
        stray: header.end.saturating_sub(walker.pos()),
    })
}

/// A `LIST`/`INFO` chunk with its `AIGC` children removed: `None` when it has none (copy it as
/// is), an empty piece when nothing else was in it (drop it).
fn list_without_label(src: &mut Source, chunk: &Chunk, limits: &Limits) -> Result<Option<Piece>> {
    let Some(list) = read_info_list(src, chunk, limits)? else {
        return Ok(None);
    };
    let subs = riff::sub_chunks(&list, chunk.body() + 4, limits)?;
    if !subs.iter().any(|s| is_key(&s.id)) {
        return Ok(None);
    }
    let mut body = b"INFO".to_vec();
    for sub in subs.iter().filter(|s| !is_key(&s.id)) {
        body.extend_from_slice(sub.stored);
    }
    if body.len() == 4 {
        return Ok(Some(Piece::Bytes(Vec::new())));
    }
    let mut bytes = Vec::new();
    riff::push_chunk(&mut bytes, b"LIST", &body)?;
    Ok(Some(Piece::Bytes(bytes)))
}

/// Writes the 12-byte header for a RIFF body of `body_size` bytes. RF64 / BW64 keep their
/// "see ds64" size; the real size goes into `ds64` (see [`patch_ds64`]).
fn write_header(out: &mut dyn Write, header: &Header, body_size: u64) -> Result<()> {
    let field = match header.flavour {
        Flavour::Rf64 if header.size_field == SIZE_IN_DS64 => SIZE_IN_DS64,
        Flavour::Rf64 => u32::try_from(body_size).unwrap_or(SIZE_IN_DS64),
        Flavour::Riff => u32::try_from(body_size)
            .map_err(|_| Error::Unsupported("the labelled WAV would pass 4 GiB; convert it to RF64".into()))?,
    };
    out.write_all(&header.magic)?;
    out.write_all(&field.to_le_bytes())?;
    out.write_all(&header.form)?;
    Ok(())
}

/// The `ds64` chunk `raw` (header included) with its RIFF size set to `body_size`; every other
/// byte, the sample count and the table included, is kept.
fn patch_ds64(raw: &[u8], body_size: u64) -> Vec<u8> {
    let mut out = raw.to_vec();
    if let Some(field) = out.get_mut(8..16) {
        field.copy_from_slice(&body_size.to_le_bytes());
    }
    out
}
