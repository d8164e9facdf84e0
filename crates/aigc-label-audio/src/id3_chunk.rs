//! An ID3v2 tag stored in a RIFF or IFF chunk (`ID3 ` or `id3 `), as ffmpeg's AIFF muxer
//! (`-write_id3v2 1`), mutagen, TagLib and exiftool write it in AIFF, AIFC and WAV files; ffmpeg,
//! exiftool and mutagen read it there.
//!
//! The chunk body starts with the tag; bytes after the tag's stored length (rare) stay where
//! they are. A chunk whose body does not hold a tag this crate can walk (no `ID3` magic, an
//! unsupported version, a tag longer than its chunk, frames that do not walk) is not a label
//! place: finding, writing and the binding all leave it alone, so they agree on what it holds.

use std::ops::Range;

use aigc_label_core::check::Check;
use aigc_label_core::io::Source;
use aigc_label_core::{Error, Found, Limits, Result};

use crate::common::Exclusions;
use crate::id3::{self, HEADER_LEN, Stripped, Tag, TagHeader};
use crate::riff::{Chunk, Flavour, Piece};

/// True for the chunk ids an ID3v2 tag is stored under: `ID3 ` and `id3 ` (in any letter case).
pub(crate) fn is_id3(id: &[u8; 4]) -> bool {
    id.eq_ignore_ascii_case(b"ID3 ")
}

/// A chunk holding a readable ID3v2 tag.
pub(crate) struct ChunkTag {
    /// The chunk as the walker met it.
    pub chunk: Chunk,
    tag: Tag,
    labels: usize,
    only_labels: bool,
}

/// The tag at the start of `chunk`'s body, or `None` when the chunk holds none this crate reads
/// (see the module docs).
///
/// # Errors
/// Limits (the tag is read into memory, within [`Limits::max_metadata_bytes`]) and I/O errors.
pub(crate) fn read(src: &mut Source, chunk: &Chunk, limits: &Limits) -> Result<Option<ChunkTag>> {
    if chunk.size < HEADER_LEN {
        return Ok(None);
    }
    src.seek_to(chunk.body_start())?;
    let head: [u8; 10] = src.read_array("ID3v2 header")?;
    if TagHeader::parse(&head).is_none_or(|h| h.stored_len() > chunk.size) {
        return Ok(None);
    }
    src.seek_to(chunk.body_start())?;
    let walked = id3::read_tag(src, limits).and_then(|tag| {
        let Some(tag) = tag else { return Ok(None) };
        let walked = id3::walk(&tag, limits)?;
        let labels = id3::label_frames(&tag, &walked, limits)?.len();
        let only_labels = id3::only_labels(&walked, labels);
        Ok(Some(ChunkTag {
            chunk: *chunk,
            tag,
            labels,
            only_labels,
        }))
    });
    match walked {
        Err(Error::Malformed { .. } | Error::Truncated { .. } | Error::Unsupported(_)) => Ok(None),
        other => other,
    }
}

impl ChunkTag {
    /// The tag (its offset is the file's).
    pub fn tag(&self) -> &Tag {
        &self.tag
    }

    /// True when the tag holds a `TXXX` frame `AIGC`.
    pub fn has_labels(&self) -> bool {
        self.labels > 0
    }

    /// Adds the tag's label copies to `out` (see [`id3::push_copies`]).
    ///
    /// # Errors
    /// As [`id3::push_copies`] (which [`read`] has already run once without error).
    pub fn copies(&self, name: &str, extra: Option<&Check>, limits: &Limits, out: &mut Vec<Found>) -> Result<()> {
        id3::push_copies(&self.tag, name, extra, limits, out)
    }

    /// The chunk rebuilt with `value` as its one label (every other frame's stored bytes kept;
    /// the tag keeps its size when the frame fits, else grows by `padding`), as output pieces,
    /// with the label frame's range relative to the chunk's start.
    ///
    /// # Errors
    /// As [`id3::rewrite`].
    pub fn with_label(
        &self,
        flavour: Flavour,
        value: &str,
        padding: usize,
        limits: &Limits,
    ) -> Result<(Vec<Piece>, Range<u64>)> {
        let (bytes, range) = id3::rewrite(&self.tag, Some(value), padding, limits)?
            .ok_or_else(|| Error::malformed("id3", self.tag.offset, "tag rewrite wrote nothing"))?;
        let pieces = self.around(flavour, bytes)?;
        Ok((pieces, 8 + range.start as u64..8 + range.end as u64))
    }

    /// The chunk without its label frames, as output pieces: `None` when it holds none (copy it
    /// as is), no pieces when it held nothing but labels (drop it).
    ///
    /// # Errors
    /// As [`id3::strip_labels`].
    pub fn without_labels(&self, flavour: Flavour, limits: &Limits) -> Result<Option<Vec<Piece>>> {
        match id3::strip_labels(&self.tag, limits)? {
            Stripped::Unchanged => Ok(None),
            Stripped::Dropped => Ok(Some(Vec::new())),
            Stripped::Rewritten(bytes) => self.around(flavour, bytes).map(Some),
        }
    }

    /// The chunk holding `tag` in place of the old tag: header, tag, the bytes that followed
    /// the old tag in the body (copied), and a pad byte when the body is odd.
    fn around(&self, flavour: Flavour, tag: Vec<u8>) -> Result<Vec<Piece>> {
        let old = self.tag.header.stored_len();
        let rest = self.chunk.size - old;
        let size = u32::try_from(tag.len() as u64 + rest)
            .map_err(|_| Error::capacity("riff", "an ID3 chunk would pass 4 GiB"))?;
        let mut head = Vec::with_capacity(8 + tag.len());
        head.extend_from_slice(&self.chunk.id);
        head.extend_from_slice(&flavour.size_bytes(size));
        head.extend_from_slice(&tag);
        let mut pieces = vec![Piece::Bytes(head)];
        if rest > 0 {
            pieces.push(Piece::Copy {
                offset: self.chunk.body_start() + old,
                len: rest,
            });
        }
        if size % 2 == 1 {
            pieces.push(Piece::Bytes(vec![0]));
        }
        Ok(pieces)
    }

    /// Adds the bytes a content binding leaves out of this chunk. `target` says that writing
    /// puts the label in this chunk: then, as for a chunk holding labels, the chunk's size
    /// field, the label frames, the tag's size fields and padding (see [`id3::volatile_ranges`])
    /// and the chunk's pad byte (it comes and goes with the tag's length) are left out. A chunk holding nothing but labels that writing drops is left out
    /// whole; a chunk without labels that is not the target is covered whole.
    ///
    /// # Errors
    /// Limits on the number of ranges; as [`id3::walk`].
    pub fn exclusions(&self, target: bool, limits: &Limits, out: &mut Exclusions) -> Result<()> {
        let c = &self.chunk;
        if !target && !self.has_labels() {
            return Ok(());
        }
        if !target && self.only_labels {
            return out.push(c.start..c.start + c.stored_len());
        }
        let walked = id3::walk(&self.tag, limits)?;
        out.push(c.start + 4..c.start + 8)?;
        for range in id3::volatile_ranges(&self.tag, &walked) {
            out.push(range)?;
        }
        for (frame, _) in id3::label_frames(&self.tag, &walked, limits)? {
            out.push(id3::frame_range(&self.tag, &walked, frame))?;
        }
        out.push(c.body_start() + c.size..c.start + c.stored_len())
    }
}
