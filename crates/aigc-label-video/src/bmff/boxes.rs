//! ISO-BMFF boxes (ISO/IEC 14496-12 §4.2): headers read from a stream, and an editable tree of
//! the boxes inside `moov`.
//!
//! Every box is read within the bounds its parent declares: a size is checked against the bytes
//! the parent has left before anything else happens, 64-bit `largesize` and size 0 ("to the end
//! of the enclosing box or file") are understood, nesting is bounded by `Limits::max_depth` and
//! the number of boxes by `Limits::max_structures`.
//!
//! The tree keeps every box it does not edit as the original bytes, and rebuilds a container only
//! from its own header form (8- or 16-byte), its prefix (full-box version and flags), its
//! children and any trailing bytes that are not a box (QuickTime's 32-bit zero terminator), so an
//! untouched subtree is emitted byte for byte.

use std::ops::Range;

use aigc_label_core::container::bmff::SliceBoxes;
use aigc_label_core::{Error, Limits, Result};

pub(crate) use aigc_label_core::container::bmff::BoxHeader as Header;
pub(crate) use aigc_label_core::container::fourcc;

use crate::common::{Budget, check_depth};

/// Format name used in errors.
pub(crate) const FORMAT: &str = "mp4";

/// What a tree node holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    /// The original bytes (for a leaf) or the children (for a container).
    Original,
    /// A new payload (after the header) replacing a leaf's.
    New(Vec<u8>),
    /// The box is dropped.
    Removed,
}

/// One box of the `moov` tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Node {
    /// Four-character type (may be changed, e.g. `stco` promoted to `co64`).
    pub typ: [u8; 4],
    /// Range of the original box in the buffer; empty for new boxes.
    pub range: Range<usize>,
    /// Header length as found (8 or 16); new boxes use 8.
    pub hdr_len: usize,
    /// Whether the children were parsed.
    pub container: bool,
    /// Bytes between header and children (full-box version and flags).
    pub prefix: Vec<u8>,
    /// Children, for containers.
    pub kids: Vec<Node>,
    /// Bytes after the last child that are not a box.
    pub tail: Vec<u8>,
    /// The payload state.
    pub body: Body,
}

impl Node {
    /// A new leaf box holding `payload`.
    pub fn leaf(typ: [u8; 4], payload: Vec<u8>) -> Node {
        Node {
            typ,
            range: 0..0,
            hdr_len: 8,
            container: false,
            prefix: Vec::new(),
            kids: Vec::new(),
            tail: Vec::new(),
            body: Body::New(payload),
        }
    }

    /// A new container box with `prefix` and `kids`.
    pub fn container(typ: [u8; 4], prefix: Vec<u8>, kids: Vec<Node>) -> Node {
        Node {
            typ,
            range: 0..0,
            hdr_len: 8,
            container: true,
            prefix,
            kids,
            tail: Vec::new(),
            body: Body::Original,
        }
    }

    /// The payload of a leaf (original or new); empty for containers.
    pub fn payload<'a>(&'a self, buf: &'a [u8]) -> &'a [u8] {
        match &self.body {
            Body::New(p) => p,
            Body::Original if !self.container => buf
                .get(self.range.start + self.hdr_len..self.range.end)
                .unwrap_or_default(),
            _ => &[],
        }
    }

    /// True unless the box was dropped.
    pub fn live(&self) -> bool {
        self.body != Body::Removed
    }

    /// Index of the first live child of type `typ`.
    pub fn find(&self, typ: &[u8; 4]) -> Option<usize> {
        self.kids.iter().position(|k| k.live() && &k.typ == typ)
    }

    /// The first live child of type `typ`.
    pub fn child(&self, typ: &[u8; 4]) -> Option<&Node> {
        self.find(typ).and_then(|i| self.kids.get(i))
    }

    /// The node at `path` (child indices from this node).
    pub fn at(&self, path: &[usize]) -> Option<&Node> {
        path.iter().try_fold(self, |n, &i| n.kids.get(i))
    }

    /// The node at `path`, mutably.
    pub fn at_mut(&mut self, path: &[usize]) -> Option<&mut Node> {
        path.iter().try_fold(self, |n, &i| n.kids.get_mut(i))
    }

    /// Size of the box as it will be emitted.
    pub fn emitted_len(&self) -> u64 {
        match self.payload_len() {
            Some(p) => self.header_len(p) + p,
            None => 0,
        }
    }

    /// Size of the payload as it will be emitted, or `None` for a dropped box.
    fn payload_len(&self) -> Option<u64> {
        Some(match (&self.body, self.container) {
            (Body::Removed, _) => return None,
            (_, true) => {
                self.prefix.len() as u64 + self.kids.iter().map(Node::emitted_len).sum::<u64>() + self.tail.len() as u64
            }
            (Body::New(p), false) => p.len() as u64,
            (Body::Original, false) => (self.range.len() - self.hdr_len) as u64,
        })
    }

    fn header_len(&self, payload: u64) -> u64 {
        if self.hdr_len == 16 || payload + 8 > u64::from(u32::MAX) {
            16
        } else {
            8
        }
    }

    /// Appends the box to `out`.
    pub fn emit(&self, buf: &[u8], out: &mut Vec<u8>) {
        match (&self.body, self.container) {
            (Body::Removed, _) => {}
            (Body::Original, false) => {
                let original = buf.get(self.range.clone()).unwrap_or_default();
                let size = u32::try_from(original.len())
                    .ok()
                    .filter(|_| original.starts_with(&[0; 4]));
                match size {
                    // A size of 0 ("to the end of the parent", tolerated when reading) is
                    // written out, as a rewrite of the box would: the next rewrite then
                    // changes no byte of it, which a content binding relies on.
                    Some(size) => {
                        out.extend_from_slice(&size.to_be_bytes());
                        out.extend_from_slice(original.get(4..).unwrap_or_default());
                    }
                    None => out.extend_from_slice(original),
                }
            }
            (Body::New(p), false) => {
                self.emit_header(p.len() as u64, out);
                out.extend_from_slice(p);
            }
            (_, true) => {
                self.emit_header(self.payload_len().unwrap_or(0), out);
                out.extend_from_slice(&self.prefix);
                for kid in &self.kids {
                    kid.emit(buf, out);
                }
                out.extend_from_slice(&self.tail);
            }
        }
    }

    fn emit_header(&self, payload: u64, out: &mut Vec<u8>) {
        let hdr = self.header_len(payload);
        let size = payload + hdr;
        if hdr == 16 {
            out.extend_from_slice(&1u32.to_be_bytes());
            out.extend_from_slice(&self.typ);
            out.extend_from_slice(&size.to_be_bytes());
        } else {
            // header_len() chose 8 only when the size fits in 32 bits.
            out.extend_from_slice(&u32::try_from(size).unwrap_or(u32::MAX).to_be_bytes());
            out.extend_from_slice(&self.typ);
        }
    }
}

/// How many bytes of a container's payload precede its children, or `None` for a leaf.
///
/// `meta` is a full box in ISO files (4 bytes of version and flags) but a plain container in
/// QuickTime files; the two are told apart by whether a `hdlr` box starts right away, the test
/// QuickTime-aware readers use.
fn container_prefix(parent: [u8; 4], typ: [u8; 4], payload: &[u8]) -> Option<usize> {
    match &typ {
        b"moov" | b"trak" | b"mdia" | b"minf" | b"stbl" | b"udta" | b"ilst" | b"dinf" | b"moof" | b"traf" | b"mfra" => {
            Some(0)
        }
        b"meta" => Some(if payload.get(4..8) == Some(b"hdlr") { 0 } else { 4 }),
        _ if &parent == b"ilst" => Some(0),
        _ => None,
    }
}

/// Parses the box that fills `buf` (normally a whole `moov`) into a tree. `base` is the
/// buffer's offset in the file, for error messages.
pub(crate) fn parse_tree(buf: &[u8], base: u64, limits: &Limits, budget: &mut Budget) -> Result<Node> {
    let mut walk = SliceBoxes::new(FORMAT, buf, 0..buf.len(), base, budget);
    let mut nodes = parse_boxes(&mut walk, *b"\0\0\0\0", base, 0, limits)?;
    match (nodes.pop(), nodes.is_empty()) {
        (Some(node), true) => Ok(node),
        _ => Err(Error::malformed(FORMAT, base, "expected a single box")),
    }
}

fn parse_boxes(
    walk: &mut SliceBoxes<'_, '_>,
    parent: [u8; 4],
    base: u64,
    depth: usize,
    limits: &Limits,
) -> Result<Vec<Node>> {
    let buf_at = |pos: usize| base + pos as u64;
    let mut out = Vec::new();
    while walk.rest().len() >= 8 {
        if depth > 0 && walk.rest().iter().all(|&x| x == 0) {
            break; // zero padding at the end of a container: kept as its tail
        }
        let Some(found) = walk.next() else { break };
        let h = found?;
        if h.claimed_end.is_some() {
            return Err(Error::malformed(
                FORMAT,
                buf_at(h.range_in().start),
                format!(
                    "box {} size {} does not fit its parent",
                    fourcc(h.kind),
                    h.claimed_end.unwrap_or(h.end) - h.start
                ),
            ));
        }
        let range = h.range_in();
        let hdr_len = h.header_len as usize;
        let payload = walk.payload(&h);
        let mut node = Node {
            typ: h.kind,
            range: range.clone(),
            hdr_len,
            container: false,
            prefix: Vec::new(),
            kids: Vec::new(),
            tail: Vec::new(),
            body: Body::Original,
        };
        if let Some(prefix) = container_prefix(parent, h.kind, payload).filter(|&p| p <= payload.len()) {
            check_depth(FORMAT, buf_at(range.start), depth + 1, limits)?;
            node.container = true;
            node.prefix = payload.get(..prefix).unwrap_or_default().to_vec();
            let kids_start = range.start + hdr_len + prefix;
            node.kids = parse_boxes(&mut walk.children(&h, prefix), h.kind, base, depth + 1, limits)?;
            let used = node.kids.last().map_or(kids_start, |k| k.range.end);
            node.tail = walk.buf().get(used..range.end).unwrap_or_default().to_vec();
        }
        out.push(node);
    }
    if !walk.rest().is_empty() && depth == 0 {
        return Err(Error::malformed(FORMAT, buf_at(walk.pos()), "bytes after the last box"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(typ: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(typ);
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn untouched_tree_emits_the_same_bytes() {
        let mut udta = bx(b"meta", &[&[0u8, 0, 0, 0][..], &bx(b"hdlr", &[0; 25])].concat());
        udta.extend_from_slice(&[0, 0, 0, 0]); // QuickTime terminator
        let mut large = 1u32.to_be_bytes().to_vec();
        large.extend_from_slice(b"free");
        large.extend_from_slice(&20u64.to_be_bytes());
        large.extend_from_slice(&[7; 4]);
        let moov = bx(b"moov", &[bx(b"mvhd", &[1; 12]), bx(b"udta", &udta), large].concat());
        let tree = parse_tree(&moov, 0, &Limits::default(), &mut Budget::new(&Limits::default())).unwrap();
        assert_eq!(tree.kids.len(), 3);
        let udta = &tree.kids[1];
        assert!(udta.container);
        assert_eq!(udta.tail, [0, 0, 0, 0]);
        assert_eq!(udta.kids[0].prefix, [0, 0, 0, 0]);
        let mut out = Vec::new();
        tree.emit(&moov, &mut out);
        assert_eq!(out, moov);
        assert_eq!(tree.emitted_len(), moov.len() as u64);
    }

    #[test]
    fn lying_sizes_are_errors() {
        let mut moov = bx(b"moov", &bx(b"trak", &[0; 8]));
        moov[11] = 200; // trak claims 200 bytes
        let r = parse_tree(&moov, 0, &Limits::default(), &mut Budget::new(&Limits::default()));
        assert!(matches!(r, Err(Error::Malformed { .. })));
    }

    #[test]
    fn depth_is_bounded() {
        let mut b = bx(b"mvhd", &[]);
        for _ in 0..40 {
            b = bx(b"trak", &b);
        }
        let r = parse_tree(&b, 0, &Limits::default(), &mut Budget::new(&Limits::default()));
        assert!(matches!(r, Err(Error::Limit { .. })));
    }
}
