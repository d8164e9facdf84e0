//! ID3v2 tags: a frame walker and a `TXXX` writer that keeps every other frame byte for byte
//! (id3.org "ID3 tag version 2" (2.2), "ID3 tag version 2.3.0", "ID3 tag version 2.4.0 - Main
//! Structure" and "- Native Frames" section 4.2.6 `TXXX`).
//!
//! Why not the `id3` crate: it parses every frame into its own model and encodes the whole tag
//! again on write, which changes frames it does not need to touch (text encodings, flags,
//! unsynchronisation, padding) and cannot keep a v2.2 or unsynchronised v2.3 tag as it was. The
//! walker here only needs frame boundaries, so it keeps each frame's stored bytes and builds just
//! the one `TXXX` frame it owns.
//!
//! Unsynchronisation is honoured when reading: in v2.2 and v2.3 the flag in the tag header applies
//! to the whole tag and frame sizes count the bytes *after* undoing it, so the walker undoes it
//! first and maps positions back to stored bytes; in v2.4 it is a per-frame flag and sizes count
//! stored bytes.

use std::ops::Range;

use aigc_label_core::check::Check;
use aigc_label_core::container::inflate::{InflateError, Stream, inflate};
use aigc_label_core::io::{Bytes, Source};
use aigc_label_core::{Error, Found, Limits, Result};

use crate::common::{Budget, KEY, found, is_key, misplaced};

const FORMAT: &str = "id3";

/// Bytes in a tag header (and in a v2.4 footer).
pub(crate) const HEADER_LEN: u64 = 10;

/// Tag header flag: unsynchronisation.
const UNSYNC: u8 = 0x80;
/// Tag header flag: extended header (v2.3, v2.4); compression (v2.2).
const EXTENDED: u8 = 0x40;
/// Tag header flag: footer present (v2.4).
const FOOTER: u8 = 0x10;

/// Padding given to a tag that has to grow when [`Limits::label_room`] does not fit a `usize`.
pub(crate) const GROW_PADDING: usize = 512;

/// Largest tag size a syncsafe size field can hold.
const MAX_TAG_SIZE: usize = (1 << 28) - 1;

/// The 10-byte tag header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TagHeader {
    /// 2, 3 or 4.
    pub major: u8,
    /// The revision byte, kept as is.
    pub revision: u8,
    /// The flag byte.
    pub flags: u8,
    /// Bytes after the header, excluding a footer.
    pub size: u32,
}

impl TagHeader {
    /// Parses a header; `None` when `head` does not start an ID3v2 tag.
    pub fn parse(head: &[u8; 10]) -> Option<TagHeader> {
        if &head[..3] != b"ID3" || head[3] == 0xff || head[4] == 0xff {
            return None;
        }
        let size = syncsafe(&head[6..10])?;
        Some(TagHeader {
            major: head[3],
            revision: head[4],
            flags: head[5],
            size,
        })
    }

    fn footer(&self) -> bool {
        self.major == 4 && self.flags & FOOTER != 0
    }

    fn tag_unsync(&self) -> bool {
        self.flags & UNSYNC != 0
    }

    /// Bytes the whole tag occupies: header, body and footer.
    pub fn stored_len(&self) -> u64 {
        HEADER_LEN + u64::from(self.size) + if self.footer() { HEADER_LEN } else { 0 }
    }

    fn encode(&self, magic: &[u8; 3]) -> Vec<u8> {
        let mut v = magic.to_vec();
        v.extend_from_slice(&[self.major, self.revision, self.flags]);
        v.extend_from_slice(&to_syncsafe(self.size));
        v
    }
}

/// Decodes a 4-byte syncsafe integer (7 bits per byte); `None` if a high bit is set.
fn syncsafe(b: &[u8]) -> Option<u32> {
    b.iter()
        .try_fold(0u32, |acc, &x| (x < 0x80).then_some((acc << 7) | u32::from(x)))
}

fn to_syncsafe(n: u32) -> [u8; 4] {
    [
        (n >> 21) as u8 & 0x7f,
        (n >> 14) as u8 & 0x7f,
        (n >> 7) as u8 & 0x7f,
        n as u8 & 0x7f,
    ]
}

/// One tag read into memory.
#[derive(Debug, Clone)]
pub(crate) struct Tag {
    /// Offset of the tag header in the file.
    pub offset: u64,
    /// The header.
    pub header: TagHeader,
    /// The stored bytes between header and footer.
    pub body: Vec<u8>,
}

/// Reads the tag starting at the current position of `src`, if there is one.
///
/// # Errors
/// Truncation, limits ([`Limits::max_metadata_bytes`] bounds the tag), I/O errors;
/// [`Error::Unsupported`] for versions other than 2.2 to 2.4 and for v2.2 compression.
pub(crate) fn read_tag(src: &mut Source, limits: &Limits) -> Result<Option<Tag>> {
    let offset = src.pos();
    if src.remaining() < HEADER_LEN {
        return Ok(None);
    }
    let head: [u8; 10] = src.read_array("ID3v2 header")?;
    if &head[..3] != b"ID3" {
        src.seek_to(offset)?;
        return Ok(None);
    }
    let header = TagHeader::parse(&head).ok_or_else(|| Error::malformed(FORMAT, offset, "bad ID3v2 header"))?;
    match header.major {
        2 if header.flags & EXTENDED != 0 => {
            return Err(Error::unsupported("id3", "ID3v2.2 tag compression (no scheme defined)"));
        }
        2..=4 => {}
        v => return Err(Error::unsupported("id3", format!("ID3v2.{v} tag"))),
    }
    let body = src.read_vec(u64::from(header.size), "ID3v2 tag", limits)?;
    src.skip(header.stored_len() - HEADER_LEN - body.len() as u64, "ID3v2 footer")?;
    Ok(Some(Tag { offset, header, body }))
}

/// Bytes in an ID3v1 tag (`TAG` and 125 bytes of fields), which a file ends with when it has one.
const ID3V1_LEN: u64 = 128;

/// Finds an ID3v2.4 tag appended at the end of the file, located from its footer (id3.org
/// "ID3 tag version 2.4.0 - Main Structure" sections 3.4 and 5): the footer `3DI` is the last ten
/// bytes of the file, or the ten bytes before a 128-byte ID3v1 tag. `floor` is where the tags at
/// the start of the file end; an appended tag must lie wholly after it.
///
/// A footer is trusted only when its size fits between `floor` and itself and a header `ID3`
/// with the same version, flags and size sits where it says the tag starts; anything else (a
/// lying or truncated footer, or audio bytes that happen to spell `3DI`) is not a tag, and `None`
/// is returned, as it is for a file without one. Leaves `src` at an unspecified position.
///
/// # Errors
/// [`Error::Limit`] when a confirmed tag is larger than [`Limits::max_metadata_bytes`]; I/O
/// errors.
pub(crate) fn read_appended_tag(src: &mut Source, floor: u64, limits: &Limits) -> Result<Option<Tag>> {
    let len = src.len();
    let mut ends = vec![len];
    if let Some(v1) = len.checked_sub(ID3V1_LEN).filter(|&v1| v1 >= floor) {
        src.seek_to(v1)?;
        if &src.read_array::<3>("ID3v1 tag")? == b"TAG" {
            ends.push(v1);
        }
    }
    for end in ends {
        if let Some(tag) = appended_tag_ending_at(src, floor, end, limits)? {
            return Ok(Some(tag));
        }
    }
    Ok(None)
}

/// The appended tag whose footer ends at `end`, if its footer and header agree.
fn appended_tag_ending_at(src: &mut Source, floor: u64, end: u64, limits: &Limits) -> Result<Option<Tag>> {
    let Some(footer_at) = end.checked_sub(HEADER_LEN).filter(|&f| f >= floor) else {
        return Ok(None);
    };
    src.seek_to(footer_at)?;
    let footer: [u8; 10] = src.read_array("ID3v2 footer")?;
    if &footer[..3] != b"3DI" {
        return Ok(None);
    }
    let mut as_header = footer;
    as_header[..3].copy_from_slice(b"ID3");
    let Some(header) = TagHeader::parse(&as_header).filter(TagHeader::footer) else {
        return Ok(None);
    };
    let Some(start) = end.checked_sub(header.stored_len()).filter(|&s| s >= floor) else {
        return Ok(None);
    };
    src.seek_to(start)?;
    if src.read_array::<10>("ID3v2 header")? != as_header {
        return Ok(None);
    }
    src.seek_to(start)?;
    read_tag(src, limits)
}

/// One frame in a walked tag; positions are in the tag's decoded body (see [`Walked`]).
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// Frame id; v2.2's three-character ids are padded with a space.
    pub id: [u8; 4],
    /// The two flag bytes (zero in v2.2).
    pub flags: [u8; 2],
    /// Header and data.
    pub span: Range<usize>,
    /// The data after the header.
    pub data: Range<usize>,
}

/// A tag's body with tag-level unsynchronisation undone, and the frames in it.
pub(crate) struct Walked {
    /// The body with tag-level (v2.2, v2.3) unsynchronisation undone; the stored body otherwise.
    pub decoded: Vec<u8>,
    /// Decoded positions before which a stuffed zero byte was removed, ascending.
    drops: Vec<usize>,
    /// End of the extended header (0 when there is none).
    pub ext_end: usize,
    /// The frames, in order; padding follows the last.
    pub frames: Vec<Frame>,
}

impl Walked {
    /// The stored position of decoded position `d`. A stuffed zero after a frame's last byte
    /// belongs to that frame, so consecutive spans map to consecutive stored ranges.
    pub fn stored(&self, d: usize) -> usize {
        d + self.drops.partition_point(|&x| x <= d)
    }

    /// The stored range of a decoded range.
    pub fn stored_range(&self, r: &Range<usize>) -> Range<usize> {
        self.stored(r.start)..self.stored(r.end)
    }
}

/// Undoes unsynchronisation: every `FF 00` becomes `FF`.
fn resync(data: &[u8]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::with_capacity(data.len());
    let mut drops = Vec::new();
    let mut prev_ff = false;
    for &b in data {
        if prev_ff && b == 0 {
            drops.push(out.len());
            prev_ff = false;
            continue;
        }
        out.push(b);
        prev_ff = b == 0xff;
    }
    (out, drops)
}

/// Applies unsynchronisation: a zero byte after every `FF` that precedes `00`, a byte of
/// `E0`-`FF`, or the end.
pub(crate) fn unsync(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 8);
    for (i, &b) in data.iter().enumerate() {
        out.push(b);
        if b == 0xff && data.get(i + 1).is_none_or(|&n| n == 0 || n >= 0xe0) {
            out.push(0);
        }
    }
    out
}

/// Splits a tag into its extended header, frames and padding.
///
/// # Errors
/// [`Error::Malformed`] for a frame or extended header that runs past the tag, or a frame id
/// that is not `A-Z0-9`; limits.
pub(crate) fn walk(tag: &Tag, limits: &Limits) -> Result<Walked> {
    let h = &tag.header;
    let (decoded, drops) = if h.major < 4 && h.tag_unsync() {
        resync(&tag.body)
    } else {
        (tag.body.clone(), Vec::new())
    };
    let at = |d: usize| tag.offset + HEADER_LEN + d as u64;
    let ext_end = if h.major >= 3 && h.flags & EXTENDED != 0 {
        ext_header_len(h.major, &decoded).ok_or_else(|| Error::malformed(FORMAT, at(0), "bad extended header"))?
    } else {
        0
    };
    let header_len = if h.major == 2 { 6 } else { 10 };
    let mut frames = Vec::new();
    let mut b = Bytes::new(&decoded);
    b.seek(ext_end)
        .ok_or_else(|| Error::malformed(FORMAT, at(0), "extended header runs past the tag"))?;
    let mut budget = Budget::new(FORMAT, limits);
    while b.remaining() >= header_len && b.rest().first().is_some_and(|&c| c != 0) {
        let start = b.pos();
        budget.tick(at(start), limits)?;
        let bad = |what: &'static str| Error::malformed(FORMAT, at(start), what);
        let (id, size, flags) = if h.major == 2 {
            let id = b.take(3).ok_or_else(|| bad("frame header"))?;
            let s = b.take(3).ok_or_else(|| bad("frame header"))?;
            let size = u32::from_be_bytes([0, s[0], s[1], s[2]]);
            ([id[0], id[1], id[2], b' '], size, [0, 0])
        } else {
            let id = b.take(4).ok_or_else(|| bad("frame header"))?;
            let raw = b.take(4).ok_or_else(|| bad("frame header"))?;
            let f = b.take(2).ok_or_else(|| bad("frame header"))?;
            // v2.4 sizes are syncsafe; some writers put plain sizes in v2.4 tags anyway.
            let plain = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
            let size = if h.major == 4 {
                syncsafe(raw).unwrap_or(plain)
            } else {
                plain
            };
            ([id[0], id[1], id[2], id[3]], size, [f[0], f[1]])
        };
        let id_len = if h.major == 2 { 3 } else { 4 };
        if !id[..id_len]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            return Err(bad("frame id is not A-Z0-9"));
        }
        let data_start = b.pos();
        b.take(size as usize)
            .ok_or_else(|| bad("frame runs past the end of the tag"))?;
        frames.push(Frame {
            id,
            flags,
            span: start..b.pos(),
            data: data_start..b.pos(),
        });
    }
    Ok(Walked {
        decoded,
        drops,
        ext_end,
        frames,
    })
}

/// Length of the extended header at the start of `body`.
fn ext_header_len(major: u8, body: &[u8]) -> Option<usize> {
    let mut b = Bytes::new(body);
    let raw = b.take(4)?;
    let len = if major == 3 {
        // v2.3: the size excludes its own four bytes.
        4 + u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize
    } else {
        syncsafe(raw)? as usize
    };
    (len >= 6 && len <= body.len()).then_some(len)
}

/// True when `frame` is a user text frame (`TXXX`, v2.2 `TXX`).
fn is_txxx(frame: &Frame) -> bool {
    &frame.id == b"TXXX" || &frame.id == b"TXX "
}

/// A `TXXX` frame's description and value, with its flags and text encoding undone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UserText {
    /// The description (the key).
    pub description: String,
    /// The value.
    pub value: String,
}

/// The description and value of a user text frame, or `None` for other frames and for frames
/// that cannot be read (encrypted, or an unknown text encoding).
///
/// # Errors
/// [`Error::Limit`] when a compressed frame inflates past [`Limits::max_inflated_bytes`];
/// [`Error::Malformed`] for corrupt compressed data.
pub(crate) fn user_text(tag: &Tag, walked: &Walked, frame: &Frame, limits: &Limits) -> Result<Option<UserText>> {
    if !is_txxx(frame) {
        return Ok(None);
    }
    let Some(data) = walked.decoded.get(frame.data.clone()) else {
        return Ok(None);
    };
    let offset = tag.offset + HEADER_LEN + frame.span.start as u64;
    let Some(content) = frame_content(
        tag.header.major,
        tag.header.tag_unsync(),
        frame.flags,
        data,
        offset,
        limits,
    )?
    else {
        return Ok(None);
    };
    Ok(parse_user_text(&content))
}

/// A frame's data with the flag-dependent extras (grouping, encryption method, data length),
/// per-frame unsynchronisation and compression undone; `None` when encrypted.
fn frame_content(
    major: u8,
    tag_unsync: bool,
    flags: [u8; 2],
    data: &[u8],
    offset: u64,
    limits: &Limits,
) -> Result<Option<Vec<u8>>> {
    let f = flags[1];
    let (compressed, encrypted, skip, unsynced) = match major {
        3 => (
            f & 0x80 != 0,
            f & 0x40 != 0,
            4 * usize::from(f & 0x80 != 0) + usize::from(f & 0x40 != 0) + usize::from(f & 0x20 != 0),
            false,
        ),
        4 => (
            f & 0x08 != 0,
            f & 0x04 != 0,
            usize::from(f & 0x40 != 0) + usize::from(f & 0x04 != 0) + 4 * usize::from(f & 0x01 != 0),
            f & 0x02 != 0 || tag_unsync,
        ),
        _ => (false, false, 0, false),
    };
    if encrypted {
        return Ok(None);
    }
    let Some(rest) = data.get(skip..) else {
        return Err(Error::malformed(FORMAT, offset, "frame shorter than its flags say"));
    };
    let rest = if unsynced { resync(rest).0 } else { rest.to_vec() };
    if !compressed {
        return Ok(Some(rest));
    }
    let cap = limits.max_inflated_bytes;
    let out = inflate(&rest, Stream::Zlib, cap).map_err(|e| match e {
        InflateError::Corrupt(_) => Error::malformed(FORMAT, offset, "compressed frame does not inflate"),
        InflateError::TooLarge { found } => Error::Limit {
            format: FORMAT,
            offset,
            what: "inflated frame size",
            found,
            limit: cap,
        },
    })?;
    Ok(Some(out))
}

/// Text encodings of ID3v2 text frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Latin1,
    Utf16Bom,
    Utf16Be,
    Utf8,
}

impl Encoding {
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(Encoding::Latin1),
            1 => Some(Encoding::Utf16Bom),
            2 => Some(Encoding::Utf16Be),
            3 => Some(Encoding::Utf8),
            _ => None,
        }
    }

    fn wide(self) -> bool {
        matches!(self, Encoding::Utf16Bom | Encoding::Utf16Be)
    }
}

fn parse_user_text(content: &[u8]) -> Option<UserText> {
    let (&enc, rest) = content.split_first()?;
    let enc = Encoding::from_byte(enc)?;
    let (desc, value) = split_terminated(rest, enc.wide());
    Some(UserText {
        description: decode_text(desc, enc),
        value: decode_text(split_terminated(value, enc.wide()).0, enc),
    })
}

/// Splits at the first terminator (`00`, or `00 00` on an even offset for UTF-16).
fn split_terminated(data: &[u8], wide: bool) -> (&[u8], &[u8]) {
    let found = if wide {
        data.chunks_exact(2)
            .position(|c| c == [0, 0])
            .map(|i| (2 * i, 2 * i + 2))
    } else {
        data.iter().position(|&b| b == 0).map(|i| (i, i + 1))
    };
    match found {
        Some((end, next)) => (&data[..end], data.get(next..).unwrap_or(&[])),
        None => (data, &[]),
    }
}

fn decode_text(data: &[u8], enc: Encoding) -> String {
    match enc {
        Encoding::Latin1 => data.iter().map(|&b| char::from(b)).collect(),
        Encoding::Utf8 => String::from_utf8_lossy(data).into_owned(),
        Encoding::Utf16Be | Encoding::Utf16Bom => {
            let (little, data) = match data {
                [0xff, 0xfe, rest @ ..] => (true, rest),
                [0xfe, 0xff, rest @ ..] => (false, rest),
                _ => (false, data),
            };
            let units = data.chunks_exact(2).map(|c| {
                if little {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            });
            char::decode_utf16(units)
                .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect()
        }
    }
}

/// The `AIGC` user text frames of a walked tag, with their values.
///
/// # Errors
/// As [`user_text`].
pub(crate) fn label_frames<'w>(tag: &Tag, walked: &'w Walked, limits: &Limits) -> Result<Vec<(&'w Frame, UserText)>> {
    let mut out = Vec::new();
    for frame in &walked.frames {
        match user_text(tag, walked, frame, limits)? {
            Some(text) if is_key(text.description.as_bytes()) => out.push((frame, text)),
            _ => {}
        }
    }
    Ok(out)
}

/// Adds the label copies in `tag` to `out`, named `name`, each with `extra` (a placement
/// finding the caller makes) and a warning when the description is not spelled `AIGC`.
///
/// # Errors
/// As [`walk`] and [`user_text`].
pub(crate) fn push_copies(
    tag: &Tag,
    name: &str,
    extra: Option<&Check>,
    limits: &Limits,
    out: &mut Vec<Found>,
) -> Result<()> {
    let walked = walk(tag, limits)?;
    for (frame, text) in label_frames(tag, &walked, limits)? {
        let range = frame_range(tag, &walked, frame);
        let mut checks: Vec<Check> = extra.into_iter().cloned().collect();
        if text.description != KEY {
            checks.push(misplaced(format!("TXXX description spelled {:?}", text.description)));
        }
        out.push(found(name.to_string(), range, text.value, checks));
    }
    Ok(())
}

/// The writes that update the label of `tag` (the file's first tag) in place, or why there
/// are none: see [`crate::Mp3`]'s update in place. The tag must be v2.3 or v2.4 without
/// unsynchronisation, extended header or footer, its one label frame its last frame, and
/// zeros after it with room for the new frame twice over.
pub(crate) fn in_place_steps(
    tag: &Tag,
    value: &str,
    limits: &Limits,
) -> Result<std::result::Result<crate::in_place::Steps, &'static str>> {
    let h = tag.header;
    if !(h.major == 3 || h.major == 4) {
        return Ok(Err("an ID3v2.2 tag is rewritten"));
    }
    if h.flags & (UNSYNC | EXTENDED | FOOTER) != 0 {
        return Ok(Err(
            "a tag with unsynchronisation, an extended header or a footer is rewritten",
        ));
    }
    let walked = walk(tag, limits)?;
    let labels = label_frames(tag, &walked, limits)?;
    let [(old, _)] = labels.as_slice() else {
        return Ok(Err("the first tag holds no label frame, or several"));
    };
    if walked.frames.last().map(|f| &f.span) != Some(&old.span) {
        return Ok(Err("the label frame is not the tag's last frame"));
    }
    if tag
        .body
        .get(old.span.end..)
        .is_none_or(|pad| pad.iter().any(|&b| b != 0))
    {
        return Ok(Err("the tag's padding is not zeros"));
    }
    let frame = build_label_frame(&h, value)?;
    let (Some(head), Some(data)) = (frame.get(..10), frame.get(10..)) else {
        return Ok(Err("an ID3v2.2 tag is rewritten"));
    };
    let base = tag.offset + HEADER_LEN;
    let (start, end) = (base + old.span.start as u64, base + old.span.end as u64);
    let tag_end = base + tag.body.len() as u64;
    let n = frame.len() as u64;
    // The new frame first goes where the padding is and no reader looks (one zero byte after
    // the old frame still ends the frames), far enough that its data fits before it later.
    let q = (end + 1).max(start + n + 1);
    if q + n > tag_end {
        return Ok(Err("the tag's padding is too small"));
    }
    if !crate::in_place::in_one_sector(start, HEADER_LEN) {
        return Ok(Err("the frame header to switch straddles a disk sector"));
    }
    let size = q - start - HEADER_LEN;
    let size = u32::try_from(size)
        .ok()
        .filter(|&s| s as usize <= MAX_TAG_SIZE)
        .ok_or_else(|| Error::parameter("label", "label too large for an ID3v2 frame"))?;
    let mut private = b"PRIV".to_vec();
    private.extend_from_slice(&if h.major == 4 {
        to_syncsafe(size)
    } else {
        size.to_be_bytes()
    });
    private.extend_from_slice(&[0, 0]);
    let data_end = start + HEADER_LEN + data.len() as u64;
    let mut third = vec![(start + HEADER_LEN, data.to_vec())];
    third.extend(crate::in_place::zeros(std::slice::from_ref(&(data_end..q))));
    Ok(Ok(crate::in_place::Steps {
        phases: vec![
            // 1. The new frame in the padding, behind the zero that ends the frames.
            vec![(q, frame.clone())],
            // 2. The old frame becomes a PRIV frame that reaches up to the new one: readers
            //    skip it and read the new label.
            vec![(start, private)],
            // 3. Inside that PRIV frame, unseen: the new frame's data where the old one was,
            //    then zeros (one of them ends the frames once the next step is done).
            third,
            // 4. The old frame's header becomes the new frame's: the PRIV frame is gone.
            vec![(start, head.to_vec())],
            // 5. The copy in the padding, no longer reached, is zeroed.
            crate::in_place::zeros(std::slice::from_ref(&(q..q + n))),
        ],
        label_range: start..start + n,
        scrub: true,
        cut: None,
    }))
}

/// Builds the stored bytes of a `TXXX` frame `AIGC` = `value` for a tag of version `major`.
///
/// v2.4 uses UTF-8 with a syncsafe size; v2.3 and v2.2 have no UTF-8, so the value is written in
/// ISO-8859-1 when it is ASCII and in UTF-16 with a byte-order mark otherwise. In a v2.2 / v2.3
/// tag whose header flags unsynchronisation, the frame is unsynchronised too; in v2.4 the frame's
/// own unsynchronisation flag is set to match the tag's (UTF-8 never holds `FF`, so nothing
/// changes).
///
/// # Errors
/// [`Error::Parameter`] when the value is too large for the frame size field.
pub(crate) fn build_label_frame(header: &TagHeader, value: &str) -> Result<Vec<u8>> {
    let mut data = Vec::with_capacity(value.len() + 8);
    if header.major == 4 {
        data.push(3);
        data.extend_from_slice(b"AIGC\0");
        data.extend_from_slice(value.as_bytes());
    } else if value.is_ascii() {
        data.push(0);
        data.extend_from_slice(b"AIGC\0");
        data.extend_from_slice(value.as_bytes());
    } else {
        data.push(1);
        for part in ["AIGC", value] {
            data.extend_from_slice(&[0xff, 0xfe]);
            data.extend(part.encode_utf16().flat_map(u16::to_le_bytes));
            if part == "AIGC" {
                data.extend_from_slice(&[0, 0]);
            }
        }
    }
    let too_big = || Error::parameter("label", "too large for an ID3v2 frame");
    let len = u32::try_from(data.len()).map_err(|_| too_big())?;
    let mut frame = Vec::with_capacity(data.len() + 10);
    match header.major {
        2 => {
            if len >= 1 << 24 {
                return Err(too_big());
            }
            frame.extend_from_slice(b"TXX");
            frame.extend_from_slice(&len.to_be_bytes()[1..]);
        }
        3 => {
            frame.extend_from_slice(b"TXXX");
            frame.extend_from_slice(&len.to_be_bytes());
            frame.extend_from_slice(&[0, 0]);
        }
        _ => {
            if len as usize > MAX_TAG_SIZE {
                return Err(too_big());
            }
            frame.extend_from_slice(b"TXXX");
            frame.extend_from_slice(&to_syncsafe(len));
            frame.extend_from_slice(&[0, if header.tag_unsync() { 0x02 } else { 0 }]);
        }
    }
    frame.extend_from_slice(&data);
    if header.major < 4 && header.tag_unsync() {
        return Ok(unsync(&frame));
    }
    Ok(frame)
}

/// A new, minimal v2.4 tag holding only the label frame and `padding` bytes of padding, for a
/// file that has no tag.
pub(crate) fn new_tag(value: &str, padding: usize) -> Result<(Vec<u8>, Range<usize>)> {
    let mut header = TagHeader {
        major: 4,
        revision: 0,
        flags: 0,
        size: 0,
    };
    let frame = build_label_frame(&header, value)?;
    let size = frame.len() + padding;
    header.size = u32::try_from(size)
        .ok()
        .filter(|&s| s as usize <= MAX_TAG_SIZE)
        .ok_or_else(|| Error::parameter("label", "too large for an ID3v2 tag"))?;
    let mut out = header.encode(b"ID3");
    let range = out.len()..out.len() + frame.len();
    out.extend_from_slice(&frame);
    out.resize(HEADER_LEN as usize + size, 0);
    Ok((out, range))
}

/// `tag` with every `AIGC` user text frame removed and, when `value` is given, one new `TXXX`
/// frame `AIGC` = `value` after the other frames. Returns the stored tag (header, body, footer)
/// and the new frame's range in it; `None` when nothing changes.
///
/// The tag keeps its size when the frames fit (the padding shrinks or grows; the audio does not
/// move); otherwise it grows and gets `grow_padding` bytes of padding. A v2.4 tag with a footer
/// has no padding (the standard forbids both), so it is resized exactly.
///
/// # Errors
/// [`Error::Unsupported`] for an extended header carrying a CRC (the CRC would have to cover the
/// new frames); the errors of [`walk`].
pub(crate) fn rewrite(
    tag: &Tag,
    value: Option<&str>,
    grow_padding: usize,
    limits: &Limits,
) -> Result<Option<(Vec<u8>, Range<usize>)>> {
    let walked = walk(tag, limits)?;
    let labels = label_frames(tag, &walked, limits)?;
    if labels.is_empty() && value.is_none() {
        return Ok(None);
    }
    let h = tag.header;
    let ext = ext_header(tag, &walked)?;
    let mut frames = Vec::new();
    for frame in &walked.frames {
        if labels.iter().any(|(l, _)| l.span == frame.span) {
            continue;
        }
        let stored = tag
            .body
            .get(walked.stored_range(&frame.span))
            .ok_or_else(|| Error::malformed(FORMAT, tag.offset, "frame outside the tag"))?;
        frames.extend_from_slice(stored);
    }
    let new_frame = value.map(|v| build_label_frame(&h, v)).transpose()?;
    let new_len = new_frame.as_ref().map_or(0, Vec::len);
    let (size, ext) = plan_size(&h, &ext, frames.len() + new_len, grow_padding)?;
    let header = TagHeader { size: size as u32, ..h };
    let mut out = header.encode(b"ID3");
    out.extend_from_slice(&ext);
    out.extend_from_slice(&frames);
    let start = out.len();
    if let Some(f) = &new_frame {
        out.extend_from_slice(f);
    }
    let range = start..out.len();
    out.resize(HEADER_LEN as usize + size, 0);
    if h.footer() {
        out.extend_from_slice(&header.encode(b"3DI"));
    }
    Ok(Some((out, range)))
}

/// What removing the labels does to a tag that must not get one (an ID3v2.4 tag appended at
/// the end of the file: the label goes in the tag at the start, spec section 4).
pub(crate) enum Stripped {
    /// The tag holds no label: copy it as it is.
    Unchanged,
    /// The tag held nothing but labels (and perhaps an extended header or padding): drop it.
    Dropped,
    /// The tag without its label frames, every other frame's stored bytes kept.
    Rewritten(Vec<u8>),
}

/// `tag` with its `AIGC` user text frames removed (see [`Stripped`]).
///
/// # Errors
/// As [`rewrite`].
pub(crate) fn strip_labels(tag: &Tag, limits: &Limits) -> Result<Stripped> {
    let walked = walk(tag, limits)?;
    let labels = label_frames(tag, &walked, limits)?;
    if labels.is_empty() {
        return Ok(Stripped::Unchanged);
    }
    if only_labels(&walked, labels.len()) {
        return Ok(Stripped::Dropped);
    }
    Ok(match rewrite(tag, None, 0, limits)? {
        Some((bytes, _)) => Stripped::Rewritten(bytes),
        None => Stripped::Unchanged,
    })
}

/// True when every frame of `walked` is a label, so that [`strip_labels`] drops the whole tag.
pub(crate) fn only_labels(walked: &Walked, labels: usize) -> bool {
    labels > 0 && labels == walked.frames.len()
}

/// The file range of `frame`'s stored bytes (a stuffed zero after its last byte included).
pub(crate) fn frame_range(tag: &Tag, walked: &Walked, frame: &Frame) -> Range<u64> {
    stored_range_in_file(tag, walked, frame.span.clone())
}

fn stored_range_in_file(tag: &Tag, walked: &Walked, decoded: Range<usize>) -> Range<u64> {
    let base = tag.offset + HEADER_LEN;
    let stored = walked.stored_range(&decoded);
    base + stored.start as u64..base + stored.end as u64
}

/// The bytes of `tag`, as file ranges, that [`rewrite`] changes when it replaces the label with
/// another of any length, besides the label frames themselves: the tag size in the header (and
/// in a v2.4 footer), the padding size a v2.3 extended header records, and the padding after the
/// last frame, which shrinks or grows with the label (whatever it held, rewriting fills it with
/// zeros). The header's other bytes, the rest of an extended header and every other frame keep
/// their stored bytes and order.
pub(crate) fn volatile_ranges(tag: &Tag, walked: &Walked) -> Vec<Range<u64>> {
    let mut out = Vec::with_capacity(4);
    out.push(tag.offset + 6..tag.offset + HEADER_LEN);
    if tag.header.major == 3 && walked.ext_end >= 10 {
        out.push(stored_range_in_file(tag, walked, 6..10));
    }
    let frames_end = walked.frames.last().map_or(walked.ext_end, |f| f.span.end);
    let padding = stored_range_in_file(tag, walked, frames_end..frames_end);
    out.push(padding.start..tag.offset + HEADER_LEN + tag.body.len() as u64);
    if tag.header.footer() {
        let end = tag.offset + tag.header.stored_len();
        out.push(end - 4..end);
    }
    out
}

/// The stored extended header, refusing one with a CRC.
fn ext_header(tag: &Tag, walked: &Walked) -> Result<Vec<u8>> {
    if walked.ext_end == 0 {
        return Ok(Vec::new());
    }
    let d = &walked.decoded;
    let crc = match tag.header.major {
        3 => d.get(4).is_some_and(|f| f & 0x80 != 0),
        _ => d.get(4).is_some_and(|&n| n >= 1) && d.get(5).is_some_and(|f| f & 0x20 != 0),
    };
    if crc {
        return Err(Error::unsupported(
            "id3",
            "ID3v2 extended header with a CRC: rewriting the frames would invalidate it",
        ));
    }
    let stored = walked.stored(walked.ext_end);
    Ok(tag.body.get(..stored).unwrap_or_default().to_vec())
}

/// The new tag's size and its extended header, for `rest` bytes of frames after it.
///
/// The tag keeps its size when everything fits (the audio does not move), has no padding with a
/// footer, and otherwise grows by `grow_padding`. A v2.3 extended header records the padding,
/// and in an unsynchronised tag the stored length of that header depends on the value written
/// (an `FF` byte gains a `00`), so the padding and the header's length are solved together:
/// the header is tried at each length it can take.
///
/// # Errors
/// [`Error::Unsupported`] when the tag would pass [`MAX_TAG_SIZE`].
fn plan_size(h: &TagHeader, ext: &[u8], rest: usize, grow_padding: usize) -> Result<(usize, Vec<u8>)> {
    let base = patch_ext_padding(h, ext.to_vec(), 0).len();
    // An extended header of `base + extra` stored bytes whose padding field says the truth.
    let fits = |size: usize| {
        (0..=4).find_map(|extra| {
            let padding = size.checked_sub(base + extra + rest)?;
            let patched = patch_ext_padding(h, ext.to_vec(), padding);
            (patched.len() == base + extra).then_some((size, patched))
        })
    };
    let content = base + rest;
    let planned = if h.footer() {
        fits(content)
    } else {
        (content <= h.size as usize)
            .then(|| fits(h.size as usize))
            .flatten()
            .or_else(|| (0..8).find_map(|more| fits(content + grow_padding + more)))
    };
    planned
        .filter(|(size, _)| *size <= MAX_TAG_SIZE)
        .ok_or_else(|| Error::capacity("id3", "the ID3v2 tag would pass 256 MiB"))
}

/// A v2.3 extended header records the padding size; keep it true. (v2.4 does not record it.)
fn patch_ext_padding(h: &TagHeader, ext: Vec<u8>, padding: usize) -> Vec<u8> {
    if h.major != 3 || ext.len() < 10 {
        return ext;
    }
    let (decoded, _) = if h.tag_unsync() {
        resync(&ext)
    } else {
        (ext.clone(), Vec::new())
    };
    let mut patched = decoded;
    if let Some(field) = patched.get_mut(6..10) {
        field.copy_from_slice(&(padding as u32).to_be_bytes());
    }
    if h.tag_unsync() { unsync(&patched) } else { patched }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn tag_bytes(major: u8, flags: u8, body: &[u8]) -> Vec<u8> {
        let mut v = TagHeader {
            major,
            revision: 0,
            flags,
            size: body.len() as u32,
        }
        .encode(b"ID3");
        v.extend_from_slice(body);
        v
    }

    fn read(data: &[u8]) -> Tag {
        let mut c = Cursor::new(data);
        let mut src = Source::new(&mut c, "id3").unwrap();
        read_tag(&mut src, &Limits::default()).unwrap().unwrap()
    }

    fn frame_v23(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut v = id.to_vec();
        v.extend_from_slice(&(data.len() as u32).to_be_bytes());
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn syncsafe_round_trips() {
        for n in [0, 1, 127, 128, 0x0fff_ffff] {
            assert_eq!(syncsafe(&to_syncsafe(n)), Some(n));
        }
        assert_eq!(syncsafe(&[0x80, 0, 0, 0]), None);
    }

    #[test]
    fn unsync_round_trips() {
        let data = [0xff, 0xe0, 0x12, 0xff, 0x00, 0xff, 0x41, 0xff];
        let stuffed = unsync(&data);
        assert_eq!(stuffed, [0xff, 0, 0xe0, 0x12, 0xff, 0, 0, 0xff, 0x41, 0xff, 0]);
        assert_eq!(resync(&stuffed).0, data);
    }

    #[test]
    fn reads_user_text_in_every_encoding() {
        let mut utf16 = vec![1, 0xff, 0xfe, b'a', 0, b'i', 0, b'g', 0, b'c', 0, 0, 0, 0xff, 0xfe];
        utf16.extend("{}".encode_utf16().flat_map(u16::to_le_bytes));
        for (major, data) in [
            (3u8, b"\0AIGC\0{\"x\":1}".to_vec()),
            (3, utf16.clone()),
            (4, b"\x03AIGC\0{}\0".to_vec()),
            (4, b"\x02\0A\0I\0G\0C\0\0\0{\0}".to_vec()),
        ] {
            let body = frame_v23(b"TXXX", &data);
            let body = if major == 4 {
                let mut b = body.clone();
                b[4..8].copy_from_slice(&to_syncsafe(data.len() as u32));
                b
            } else {
                body
            };
            let tag = read(&tag_bytes(major, 0, &body));
            let walked = walk(&tag, &Limits::default()).unwrap();
            let labels = label_frames(&tag, &walked, &Limits::default()).unwrap();
            assert_eq!(labels.len(), 1, "{data:?}");
            assert!(labels[0].1.value.starts_with('{'));
        }
    }

    #[test]
    fn v23_tag_unsync_maps_back_to_stored_bytes() {
        // A frame whose data holds FF E0 (stuffed when stored), then the label frame.
        let mut frames = frame_v23(b"TIT2", &[0, b'a', 0xff, 0xe0, 0xff]);
        frames.extend(frame_v23(b"TXXX", b"\0AIGC\0{\"a\":1}"));
        let stored = unsync(&frames);
        let mut body = stored.clone();
        body.extend_from_slice(&[0; 4]);
        let tag = read(&tag_bytes(3, UNSYNC, &body));
        let walked = walk(&tag, &Limits::default()).unwrap();
        assert_eq!(walked.frames.len(), 2);
        let first = walked.stored_range(&walked.frames[0].span);
        assert_eq!(first, 0..16, "the stuffed zero inside the first frame is part of it");
        let labels = label_frames(&tag, &walked, &Limits::default()).unwrap();
        assert_eq!(labels[0].1.value, "{\"a\":1}");
        let (out, range) = rewrite(&tag, Some("{\"b\":2}"), GROW_PADDING, &Limits::default())
            .unwrap()
            .unwrap();
        let again = read(&out);
        let walked = walk(&again, &Limits::default()).unwrap();
        let labels = label_frames(&again, &walked, &Limits::default()).unwrap();
        assert_eq!(labels.len(), 1);
        assert_eq!(labels[0].1.value, "{\"b\":2}");
        assert_eq!(&again.body[..first.end], &tag.body[..first.end]);
        assert!(range.start > 10);
    }

    #[test]
    fn padding_is_reused_and_footer_kept_exact() {
        let mut body = frame_v23(b"TIT2", b"\0abc");
        body.extend_from_slice(&[0; 300]);
        let tag = read(&tag_bytes(3, 0, &body));
        let (out, _) = rewrite(&tag, Some("{}"), GROW_PADDING, &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(out.len(), 10 + body.len(), "fits in the padding: same size");
        assert_eq!(&out[10..24], &body[..14]);

        let frame = {
            let mut f = b"TIT2".to_vec();
            f.extend_from_slice(&to_syncsafe(4));
            f.extend_from_slice(&[0, 0, 3, b'a', b'b', b'c']);
            f
        };
        let mut data = tag_bytes(4, FOOTER, &frame);
        data.extend_from_slice(b"3DI\x04\0\x10\0\0\0\x0e");
        let tag = read(&data);
        let (out, _) = rewrite(&tag, Some("{}"), GROW_PADDING, &Limits::default())
            .unwrap()
            .unwrap();
        let new = read(&out);
        assert_eq!(new.header.stored_len(), out.len() as u64);
        assert_eq!(&out[out.len() - 10..out.len() - 7], b"3DI");
    }

    #[test]
    fn bad_frames_are_errors() {
        let mut body = frame_v23(b"TIT2", b"\0abc");
        body[7] = 200; // size past the tag
        let tag = read(&tag_bytes(3, 0, &body));
        assert!(walk(&tag, &Limits::default()).is_err());
        let tag = read(&tag_bytes(3, 0, b"tit2\0\0\0\x01\0\0x"));
        assert!(walk(&tag, &Limits::default()).is_err());
        let ext_crc = b"\0\0\0\x0a\x80\0\0\0\0\0\0\0\0\0".to_vec();
        let tag = read(&tag_bytes(3, EXTENDED, &ext_crc));
        assert!(matches!(
            rewrite(&tag, Some("{}"), GROW_PADDING, &Limits::default()),
            Err(Error::Unsupported(_))
        ));
    }

    #[test]
    fn compressed_frames_inflate_within_limits() {
        use flate2::{Compression, write::ZlibEncoder};
        use std::io::Write;
        let plain = b"\x03AIGC\0{\"big\":1}";
        let mut z = ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(plain).unwrap();
        let packed = z.finish().unwrap();
        let mut data = (plain.len() as u32).to_be_bytes().to_vec();
        data.extend_from_slice(&packed);
        let mut frame = frame_v23(b"TXXX", &data);
        frame[9] = 0x80;
        let tag = read(&tag_bytes(3, 0, &frame));
        let walked = walk(&tag, &Limits::default()).unwrap();
        let labels = label_frames(&tag, &walked, &Limits::default()).unwrap();
        assert_eq!(labels[0].1.value, "{\"big\":1}");
        let mut small = Limits::default();
        small.max_inflated_bytes = 4;
        assert!(matches!(label_frames(&tag, &walked, &small), Err(Error::Limit { .. })));
    }
}
