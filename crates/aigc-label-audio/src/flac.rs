//! FLAC: the label is the Vorbis comment field `AIGC=` in the `VORBIS_COMMENT` metadata block
//! (spec section 4; FLAC format, `METADATA_BLOCK`).
//!
//! The block is created after `STREAMINFO` when the file has none. The change in metadata size
//! is taken from (or given to) the first `PADDING` block, so in the usual case the audio frames
//! stay at the same offset; when the padding is too small the metadata is rewritten and the
//! frames move, with a fresh padding block for later updates. The last-metadata-block flag is set
//! on whichever block ends up last. Other blocks (`STREAMINFO`, `SEEKTABLE` — whose offsets are
//! relative to the first frame and so stay valid —, `PICTURE`, `APPLICATION`, `CUESHEET`) are
//! copied byte for byte, and the frames in large blocks.

use std::io::Write;

use aigc_label_core::io::{CountingWriter, ReadSeek, Source};
use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result, Written};

use crate::common::{Budget, found, text_of};
use crate::vorbis_comment;

/// The FLAC carrier (native FLAC streams starting with `fLaC`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Flac;

const FORMAT: &str = "flac";
const STREAMINFO: u8 = 0;
const PADDING: u8 = 1;
const VORBIS_COMMENT: u8 = 4;
const INVALID: u8 = 127;
/// Largest metadata block body (a 24-bit length).
const MAX_BLOCK: u64 = (1 << 24) - 1;
/// Padding added when the metadata has to be rewritten anyway.
const NEW_PADDING: u64 = 1024;
/// Vendor string of a comment block we create.
const VENDOR: &str = "aigc-label";

/// One metadata block header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Block {
    kind: u8,
    offset: u64,
    len: u64,
}

impl Block {
    fn body(&self) -> u64 {
        self.offset + 4
    }
}

impl Carrier for Flac {
    fn format(&self) -> &'static str {
        FORMAT
    }

    fn media_type(&self) -> &'static str {
        "audio/flac"
    }

    fn extensions(&self) -> &'static [&'static str] {
        &["flac"]
    }

    fn sniff(&self, head: &[u8]) -> bool {
        head.starts_with(b"fLaC")
    }

    fn find(&self, input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<Found>> {
        let mut src = Source::new(input, FORMAT)?;
        let blocks = read_blocks(&mut src, limits)?;
        let mut out = Vec::new();
        for block in blocks.iter().filter(|b| b.kind == VORBIS_COMMENT) {
            src.seek_to(block.body())?;
            let body = src.read_vec(block.len, "VORBIS_COMMENT block", limits)?;
            let comments = vorbis_comment::parse(&body, FORMAT, block.body(), limits)?;
            let range = block.offset..block.body() + block.len;
            for value in comments.labels() {
                out.push(found("VORBIS_COMMENT AIGC", range.clone(), text_of(value), Vec::new()));
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
        let mut src = Source::new(input, FORMAT)?;
        let blocks = read_blocks(&mut src, limits)?;
        let json = to_json(label, Shape::Bare);
        let mut plan = plan(&mut src, &blocks, &json, limits)?;
        fit_padding(&mut plan, &blocks);

        let mut out = CountingWriter::new(output);
        out.write_all(b"fLaC")?;
        let mut label_range = 0..0;
        let last = plan.len().saturating_sub(1);
        for (i, item) in plan.iter().enumerate() {
            let start = out.count();
            out.write_all(&block_header(item.kind(), i == last, item.len())?)?;
            match item {
                Out::Copy(block) => {
                    src.seek_to(block.body())?;
                    src.copy_to(&mut out, block.len, "metadata block")?;
                }
                Out::Comments { body, labelled } => {
                    out.write_all(body)?;
                    if *labelled {
                        label_range = start..out.count();
                    }
                }
                Out::Padding(len) => write_zeros(&mut out, *len)?,
            }
        }
        let frames = blocks.last().map_or(4, |b| b.body() + b.len);
        src.seek_to(frames)?;
        src.copy_rest(&mut out, "FLAC frames")?;
        Ok(Written {
            label_range,
            bytes_written: out.count(),
        })
    }
}

/// Walks the metadata block headers, seeking past their bodies; leaves `src` at the first frame.
fn read_blocks(src: &mut Source, limits: &Limits) -> Result<Vec<Block>> {
    let magic: [u8; 4] = src.read_array("fLaC marker")?;
    if &magic != b"fLaC" {
        return Err(src.malformed("not a FLAC stream"));
    }
    let mut blocks = Vec::new();
    let mut budget = Budget::new(FORMAT, limits);
    loop {
        let offset = src.pos();
        budget.tick(offset, limits)?;
        let head: [u8; 4] = src.read_array("metadata block header")?;
        let kind = head[0] & 0x7f;
        let len = u64::from(u32::from_be_bytes([0, head[1], head[2], head[3]]));
        if kind == INVALID {
            return Err(Error::malformed(FORMAT, offset, "metadata block type 127 is invalid"));
        }
        if blocks.is_empty() && (kind != STREAMINFO || len != 34) {
            return Err(Error::malformed(
                FORMAT,
                offset,
                "first metadata block is not a 34-byte STREAMINFO",
            ));
        }
        src.skip(len, "metadata block")?;
        blocks.push(Block { kind, offset, len });
        if head[0] & 0x80 != 0 {
            return Ok(blocks);
        }
    }
}

/// One block of the output metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    /// An input block copied as is.
    Copy(Block),
    /// A `VORBIS_COMMENT` body; `labelled` when it holds the new label.
    Comments { body: Vec<u8>, labelled: bool },
    /// A `PADDING` block of this length.
    Padding(u64),
}

impl Out {
    fn kind(&self) -> u8 {
        match self {
            Out::Copy(b) => b.kind,
            Out::Comments { .. } => VORBIS_COMMENT,
            Out::Padding(_) => PADDING,
        }
    }

    fn len(&self) -> u64 {
        match self {
            Out::Copy(b) => b.len,
            Out::Comments { body, .. } => body.len() as u64,
            Out::Padding(n) => *n,
        }
    }
}

/// The output blocks before padding is adjusted: comment blocks rebuilt (the first one gets the
/// label; a new one follows `STREAMINFO` when there is none), everything else copied.
fn plan(src: &mut Source, blocks: &[Block], json: &str, limits: &Limits) -> Result<Vec<Out>> {
    let mut out = Vec::with_capacity(blocks.len() + 1);
    let mut labelled = false;
    for block in blocks {
        match block.kind {
            VORBIS_COMMENT => {
                src.seek_to(block.body())?;
                let body = src.read_vec(block.len, "VORBIS_COMMENT block", limits)?;
                let comments = vorbis_comment::parse(&body, FORMAT, block.body(), limits)?;
                let value = (!labelled).then_some(json);
                if value.is_none() && !comments.has_label() {
                    out.push(Out::Copy(*block));
                    continue;
                }
                out.push(Out::Comments {
                    body: comments.rebuild(value)?,
                    labelled: value.is_some(),
                });
                labelled = true;
            }
            _ => out.push(Out::Copy(*block)),
        }
    }
    if !labelled {
        let body = vorbis_comment::new_list(VENDOR, json)?;
        out.insert(1.min(out.len()), Out::Comments { body, labelled: true });
    }
    for item in &out {
        if item.len() > MAX_BLOCK {
            return Err(Error::Unsupported("label too large for a FLAC metadata block".into()));
        }
    }
    Ok(out)
}

/// Grows or shrinks the first padding block so the metadata keeps its size, when it can.
fn fit_padding(plan: &mut Vec<Out>, blocks: &[Block]) {
    let old: u64 = blocks.iter().map(|b| 4 + b.len).sum();
    let new: u64 = plan.iter().map(|o| 4 + o.len()).sum();
    let pad = plan.iter().position(|o| o.kind() == PADDING);
    match (pad, new.cmp(&old)) {
        (_, std::cmp::Ordering::Equal) => {}
        (Some(i), std::cmp::Ordering::Greater) => {
            let grow = new - old;
            let len = plan[i].len();
            if grow <= len {
                plan[i] = Out::Padding(len - grow);
            } else if grow == len + 4 {
                plan.remove(i);
            } else {
                plan[i] = Out::Padding(NEW_PADDING);
            }
        }
        (Some(i), std::cmp::Ordering::Less) => {
            let len = plan[i].len() + (old - new);
            plan[i] = Out::Padding(len.min(MAX_BLOCK));
        }
        (None, std::cmp::Ordering::Less) if old - new >= 4 => plan.push(Out::Padding(old - new - 4)),
        (None, std::cmp::Ordering::Greater) => plan.push(Out::Padding(NEW_PADDING)),
        (None, _) => {}
    }
}

/// Writes `n` zero bytes without allocating them all.
fn write_zeros(out: &mut dyn Write, mut n: u64) -> Result<()> {
    const ZEROS: [u8; 4096] = [0; 4096];
    while n > 0 {
        let k = n.min(ZEROS.len() as u64) as usize;
        out.write_all(&ZEROS[..k])?;
        n -= k as u64;
    }
    Ok(())
}

fn block_header(kind: u8, last: bool, len: u64) -> Result<[u8; 4]> {
    let len = u32::try_from(len)
        .ok()
        .filter(|&l| u64::from(l) <= MAX_BLOCK)
        .ok_or_else(|| Error::Unsupported("FLAC metadata block over 16 MiB".into()))?;
    let b = len.to_be_bytes();
    Ok([kind | if last { 0x80 } else { 0 }, b[1], b[2], b[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(kind: u8, len: u64) -> Block {
        Block { kind, offset: 0, len }
    }

    fn comments(len: usize) -> Out {
        Out::Comments {
            body: vec![0; len],
            labelled: true,
        }
    }

    #[test]
    fn padding_absorbs_growth_and_shrinkage() {
        let blocks = [block(0, 34), block(4, 100), block(1, 500)];
        let mut plan = vec![Out::Copy(blocks[0]), comments(300), Out::Copy(blocks[2])];
        fit_padding(&mut plan, &blocks);
        assert_eq!(plan[2], Out::Padding(300));
        let mut plan = vec![Out::Copy(blocks[0]), comments(50), Out::Padding(500)];
        fit_padding(&mut plan, &blocks);
        assert_eq!(plan[2], Out::Padding(550));
        // Exactly the padding block's header and body: the block goes away.
        let mut plan = vec![Out::Copy(blocks[0]), comments(604), Out::Padding(500)];
        fit_padding(&mut plan, &blocks);
        assert_eq!(plan.len(), 2);
        // Too big: new padding for next time; the frames move.
        let mut plan = vec![Out::Copy(blocks[0]), comments(2000), Out::Padding(500)];
        fit_padding(&mut plan, &blocks);
        assert_eq!(plan[2], Out::Padding(NEW_PADDING));
    }

    #[test]
    fn shrinking_without_padding_adds_a_padding_block() {
        let blocks = [block(0, 34), block(4, 100)];
        let mut plan = vec![Out::Copy(blocks[0]), comments(50)];
        fit_padding(&mut plan, &blocks);
        assert_eq!(plan[2], Out::Padding(46));
    }

    #[test]
    fn headers_mark_the_last_block() {
        assert_eq!(block_header(4, true, 0x010203).unwrap(), [0x84, 1, 2, 3]);
        assert_eq!(block_header(1, false, 5).unwrap(), [1, 0, 0, 5]);
        assert!(block_header(1, false, MAX_BLOCK + 1).is_err());
    }
}
