//! Where labels live inside `moov`, and how the label is put into `moov/udta/meta`.
//!
//! The spec's carrier (section 4) is what `ffmpeg -metadata AIGC=... -movflags use_metadata_tags`
//! writes: a full-box `meta` in `udta` with an `mdta` handler, a `keys` box whose entries are
//! (namespace `mdta`, name) pairs numbered from 1, and an `ilst` whose items are typed by key
//! number and hold a `data` box (type 1, UTF-8). Also read, as variants seen in real files: the
//! same structure in `moov/meta` (QuickTime's place), a raw `udta/AIGC` box, an iTunes freeform
//! `----` item (`mean` com.apple.iTunes, `name` AIGC) and XMP in `udta/XMP_`.

use aigc_label_core::io::Bytes;
use aigc_label_core::{Limits, Result, xmp};

use super::boxes::{Body, Node};
use crate::common::text;

/// Room left after `ilst` in a `meta` box we write, so that a later update (a platform's
/// propagation fields, a signature in `ReservedCode2`) fits without moving anything.
pub const PADDING: usize = 1024;

/// The key our label is stored under.
const KEY: &[u8] = b"AIGC";

/// Where a copy was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// `moov/udta/meta` (`mdta` keys): the spec's carrier.
    UdtaMdta,
    /// `moov/meta` (`mdta` keys).
    MoovMdta,
    /// An iTunes `----` freeform item.
    Freeform,
    /// A raw `udta/AIGC` box.
    UdtaBox,
    /// A `TC260:AIGC` property in `udta/XMP_`.
    UdtaXmp,
}

impl Place {
    /// Name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Place::UdtaMdta => "moov/udta/meta mdta AIGC",
            Place::MoovMdta => "moov/meta mdta AIGC",
            Place::Freeform => "ilst ----:com.apple.iTunes:AIGC",
            Place::UdtaBox => "moov/udta/AIGC",
            Place::UdtaXmp => "moov/udta/XMP_ TC260:AIGC",
        }
    }
}

/// One copy inside `moov`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Copy {
    /// Where.
    pub place: Place,
    /// Path of the box holding it (the `ilst` item, or the `udta` child), from `moov`.
    pub path: Vec<usize>,
    /// The label text.
    pub text: String,
    /// For XMP: the property's byte range inside the packet.
    pub xmp_range: Option<std::ops::Range<usize>>,
}

impl Copy {
    /// Path of the structure that holds the copy, as [`Found::range`] reports it: for the
    /// spec's carrier, the whole `moov/udta/meta` box (like an XMP packet, the metadata block
    /// the label is a property of, and the box our writer owns: its padding, `keys` and `ilst`
    /// change with the label); elsewhere the item or box holding the text.
    ///
    /// [`Found::range`]: aigc_label_core::Found::range
    pub fn structure(&self) -> &[usize] {
        match self.place {
            Place::UdtaMdta => self.path.get(..2).unwrap_or(&self.path),
            _ => &self.path,
        }
    }
}

/// The handler type of a `meta` box (`mdta`, `mdir`, ...).
fn handler(meta: &Node, buf: &[u8]) -> Option<[u8; 4]> {
    meta.child(b"hdlr")?.payload(buf).get(8..12)?.try_into().ok()
}

/// Key numbers (1-based) whose key is `mdta` `AIGC`, and the number of entries parsed.
fn aigc_keys(meta: &Node, buf: &[u8]) -> (Vec<u32>, u32, usize) {
    let mut found = Vec::new();
    let Some(keys) = meta.child(b"keys") else {
        return (found, 0, 0);
    };
    let mut b = Bytes::new(keys.payload(buf));
    let (Some(_), Some(count)) = (b.take(4), b.u32_be()) else {
        return (found, 0, 0);
    };
    let mut n = 0u32;
    while n < count {
        let Some(size) = b.u32_be() else { break };
        let Some(entry) = (size as usize).checked_sub(4).and_then(|len| b.take(len)) else {
            break;
        };
        n += 1;
        if entry.get(..4) == Some(b"mdta") && entry.get(4..) == Some(KEY) {
            found.push(n);
        }
    }
    (found, n, b.pos())
}

/// The value of the first `data` box in an `ilst` item.
fn data_text(item: &Node, buf: &[u8]) -> Option<String> {
    item.child(b"data").and_then(|d| d.payload(buf).get(8..)).map(text)
}

/// The string of a `mean` or `name` full box in a freeform item.
fn freeform_part<'a>(item: &'a Node, buf: &'a [u8], typ: &[u8; 4]) -> Option<&'a [u8]> {
    item.child(typ)?.payload(buf).get(4..)
}

fn ilst_copies(meta: &Node, buf: &[u8], path: &[usize], mdta: Option<Place>, out: &mut Vec<Copy>) {
    let (keys, _, _) = if mdta.is_some() {
        aigc_keys(meta, buf)
    } else {
        (Vec::new(), 0, 0)
    };
    let Some(ilst_at) = meta.find(b"ilst") else { return };
    let Some(ilst) = meta.kids.get(ilst_at) else { return };
    for (i, item) in ilst.kids.iter().enumerate().filter(|(_, k)| k.live()) {
        let index = u32::from_be_bytes(item.typ);
        let place = if let Some(p) = mdta.filter(|_| keys.contains(&index)) {
            p
        } else if &item.typ == b"----"
            && freeform_part(item, buf, b"mean") == Some(b"com.apple.iTunes")
            && freeform_part(item, buf, b"name") == Some(KEY)
        {
            Place::Freeform
        } else {
            continue;
        };
        if let Some(text) = data_text(item, buf) {
            out.push(Copy {
                place,
                path: [path, &[ilst_at, i]].concat(),
                text,
                xmp_range: None,
            });
        }
    }
}

fn meta_copies(meta: &Node, buf: &[u8], path: &[usize], place: Place, out: &mut Vec<Copy>) {
    let mdta = (handler(meta, buf) == Some(*b"mdta")).then_some(place);
    ilst_copies(meta, buf, path, mdta, out);
}

/// The text of a raw `udta/AIGC` box: the payload, or a QuickTime international string
/// (16-bit length, 16-bit language, text) when the payload has that shape.
fn raw_text(payload: &[u8]) -> String {
    let mut b = Bytes::new(payload);
    if let (Some(len), Some(_)) = (b.u16_be(), b.u16_be()) {
        if usize::from(len) == b.remaining() && b.rest().first() == Some(&b'{') {
            return text(b.rest());
        }
    }
    text(payload)
}

/// Every label copy inside `moov`, in box order.
///
/// # Errors
/// Malformed XMP.
pub(crate) fn copies(moov: &Node, buf: &[u8], limits: &Limits) -> Result<Vec<Copy>> {
    let mut out = Vec::new();
    for (i, kid) in moov.kids.iter().enumerate().filter(|(_, k)| k.live()) {
        match &kid.typ {
            b"udta" => {
                for (j, box_) in kid.kids.iter().enumerate().filter(|(_, k)| k.live()) {
                    let path = [i, j];
                    match &box_.typ {
                        b"meta" => meta_copies(box_, buf, &path, Place::UdtaMdta, &mut out),
                        b"AIGC" => out.push(Copy {
                            place: Place::UdtaBox,
                            path: path.to_vec(),
                            text: raw_text(box_.payload(buf)),
                            xmp_range: None,
                        }),
                        b"XMP_" => {
                            for hit in xmp::find_aigc(box_.payload(buf), limits)? {
                                out.push(Copy {
                                    place: Place::UdtaXmp,
                                    path: path.to_vec(),
                                    text: hit.value,
                                    xmp_range: Some(hit.range),
                                });
                            }
                        }
                        _ => {}
                    }
                }
            }
            b"meta" => meta_copies(kid, buf, &[i], Place::MoovMdta, &mut out),
            _ => {}
        }
    }
    Ok(out)
}

/// A `data` box holding `json` as UTF-8 (well-known type 1, default locale).
fn data_box(json: &str) -> Node {
    let mut payload = vec![0, 0, 0, 1, 0, 0, 0, 0];
    payload.extend_from_slice(json.as_bytes());
    Node::leaf(*b"data", payload)
}

fn item(index: u32, json: &str) -> Node {
    Node::container(index.to_be_bytes(), Vec::new(), vec![data_box(json)])
}

fn key_entry() -> Vec<u8> {
    let mut e = ((8 + KEY.len()) as u32).to_be_bytes().to_vec();
    e.extend_from_slice(b"mdta");
    e.extend_from_slice(KEY);
    e
}

/// A new `meta` box as ffmpeg writes it with `use_metadata_tags`, holding only our key, plus
/// our padding.
fn new_meta(json: &str) -> Node {
    // hdlr: version/flags, pre_defined, handler `mdta`, three reserved words, empty name.
    let mut hdlr = vec![0u8; 8];
    hdlr.extend_from_slice(b"mdta");
    hdlr.extend_from_slice(&[0; 13]);
    let mut keys = vec![0, 0, 0, 0, 0, 0, 0, 1];
    keys.extend_from_slice(&key_entry());
    Node::container(
        *b"meta",
        vec![0; 4],
        vec![
            Node::leaf(*b"hdlr", hdlr),
            Node::leaf(*b"keys", keys),
            Node::container(*b"ilst", Vec::new(), vec![item(1, json)]),
        ],
    )
}

/// Blanks the XMP property at `range` with spaces, which XML allows between elements and
/// attributes: the packet keeps its length and every other property.
fn blank_xmp(node: &mut Node, buf: &[u8], range: &std::ops::Range<usize>) {
    let mut payload = node.payload(buf).to_vec();
    if let Some(slot) = payload.get_mut(range.clone()) {
        slot.fill(b' ');
    }
    node.body = Body::New(payload);
}

/// Puts `json` into `moov` as the single label and removes or blanks every other copy that
/// [`copies`] reports. Returns the path of the padding box after our `ilst`.
///
/// Existing `udta`, `meta`, `keys` and `ilst` boxes are kept: a key is appended (so no key is
/// renumbered) and an item added; other keys and items stay byte-exact. A `udta` `meta` with a
/// different handler (iTunes `mdir`) is left alone and an `mdta` `meta` is added beside it,
/// which ffmpeg reads together with it.
///
/// # Errors
/// Malformed XMP.
pub(crate) fn put_label(moov: &mut Node, buf: &[u8], json: &str, limits: &Limits) -> Result<Vec<usize>> {
    let found = copies(moov, buf, limits)?;
    let udta = moov.find(b"udta");
    let target = udta.and_then(|u| {
        let kids = &moov.kids.get(u)?.kids;
        let m = kids
            .iter()
            .position(|k| k.live() && &k.typ == b"meta" && handler(k, buf) == Some(*b"mdta"))?;
        Some([u, m])
    });
    let primary = found
        .iter()
        .position(|c| c.place == Place::UdtaMdta && target.is_some_and(|t| c.path.starts_with(&t)));
    for (i, copy) in found.iter().enumerate() {
        let Some(node) = moov.at_mut(&copy.path) else { continue };
        if Some(i) == primary {
            node.kids = vec![data_box(json)];
            node.tail.clear();
        } else if let Some(range) = &copy.xmp_range {
            blank_xmp(node, buf, range);
        } else {
            node.body = Body::Removed;
        }
    }
    let meta_path = match target {
        Some(t) => {
            if primary.is_none() {
                if let Some(meta) = moov.at_mut(&t) {
                    add_item(meta, buf, json);
                }
            }
            t.to_vec()
        }
        None => {
            let u = match udta {
                Some(u) => u,
                None => {
                    moov.kids.push(Node::container(*b"udta", Vec::new(), Vec::new()));
                    moov.kids.len() - 1
                }
            };
            let kids = moov.at_mut(&[u]).map(|n| &mut n.kids);
            let Some(kids) = kids else { return Ok(Vec::new()) };
            kids.push(new_meta(json));
            vec![u, kids.len() - 1]
        }
    };
    Ok(ensure_padding(moov, &meta_path))
}

/// Adds our key (unless an `mdta` `AIGC` key exists) and an item for it to an existing `meta`.
fn add_item(meta: &mut Node, buf: &[u8], json: &str) {
    let (existing, parsed, used) = aigc_keys(meta, buf);
    let index = match existing.first() {
        Some(&k) => k,
        None => {
            let mut payload = meta
                .child(b"keys")
                .and_then(|k| k.payload(buf).get(..used))
                .filter(|p| p.len() >= 8)
                .map_or_else(|| vec![0; 8], <[u8]>::to_vec);
            let count = parsed + 1;
            if let Some(slot) = payload.get_mut(4..8) {
                slot.copy_from_slice(&count.to_be_bytes());
            }
            payload.extend_from_slice(&key_entry());
            match meta.find(b"keys") {
                Some(k) => {
                    if let Some(node) = meta.kids.get_mut(k) {
                        node.body = Body::New(payload);
                    }
                }
                None => {
                    let at = meta.find(b"hdlr").map_or(0, |h| h + 1);
                    meta.kids.insert(at, Node::leaf(*b"keys", payload));
                }
            }
            count
        }
    };
    match meta.find(b"ilst").and_then(|i| meta.kids.get_mut(i)) {
        Some(ilst) => ilst.kids.push(item(index, json)),
        None => {
            let at = meta.find(b"keys").map_or(meta.kids.len(), |k| k + 1);
            meta.kids
                .insert(at, Node::container(*b"ilst", Vec::new(), vec![item(index, json)]));
        }
    }
}

/// Makes sure a `free` box follows `ilst` in the `meta` at `meta_path`; returns its path.
fn ensure_padding(moov: &mut Node, meta_path: &[usize]) -> Vec<usize> {
    let Some(meta) = moov.at_mut(meta_path) else {
        return Vec::new();
    };
    let Some(ilst) = meta.find(b"ilst") else {
        return Vec::new();
    };
    let next = meta
        .kids
        .get(ilst + 1)
        .filter(|k| k.live() && (&k.typ == b"free" || &k.typ == b"skip"));
    if next.is_none() {
        meta.kids.insert(ilst + 1, Node::leaf(*b"free", vec![0; PADDING]));
    }
    [meta_path, &[ilst + 1]].concat()
}

/// Resizes the padding box at `path` so that `moov` changes size by `-by` bytes less, if the
/// padding can give (or take) that much and stay a valid box; returns whether it did.
pub(crate) fn absorb(moov: &mut Node, buf: &[u8], path: &[usize], by: i64) -> bool {
    let Some(pad) = moov.at_mut(path) else { return false };
    let total = pad.emitted_len() as i64;
    let new_total = total - by;
    if new_total == 0 {
        pad.body = Body::Removed;
        return true;
    }
    let hdr = pad.hdr_len as i64;
    if new_total < hdr.max(8) {
        return false;
    }
    let mut payload = pad.payload(buf).to_vec();
    payload.resize((new_total - hdr) as usize, 0);
    pad.body = Body::New(payload);
    true
}
