//! Where labels live inside `moov`, and how the label is put into `moov/udta/meta`.
//!
//! The spec's carrier (section 4) is what `ffmpeg -metadata AIGC=... -movflags use_metadata_tags`
//! writes: a full-box `meta` in `udta` with an `mdta` handler, a `keys` box whose entries are
//! (namespace `mdta`, name) pairs numbered from 1, and an `ilst` whose items are typed by key
//! number and hold a `data` box (type 1, UTF-8). Also read, as variants seen in real files: the
//! same structure in `moov/meta` (QuickTime's place), a raw `udta/AIGC` box, an iTunes freeform
//! `----` item (`mean` com.apple.iTunes, `name` AIGC) and XMP in `udta/XMP_`.
//!
//! Most files already have a `udta/meta`: iTunes' (handler `mdir`, items typed by four-character
//! codes). ISO/IEC 14496-12 allows one `meta` per container, so the label joins that box rather
//! than a second one beside it ([`put_label`], `docs/spec.md`); a second one we wrote before is
//! merged into the first.

use aigc_label_core::io::Bytes;
use aigc_label_core::{Error, Limits, Result, xmp};

use super::boxes::{Body, Node};
use crate::common::text;

/// The most room [`put_label`] leaves after `ilst`, whatever [`Limits::label_room`] asks: the
/// padding lives in `moov`, which readers load whole.
const MAX_ROOM: u64 = 1 << 20;

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

/// The entries of a `meta` box's `keys` box (namespace and name, without the size field), in
/// key order: entry `i` is key number `i + 1` (Apple's QuickTime metadata rules, which ffmpeg
/// follows). Parsing stops at the declared count or at the first entry that does not fit.
fn key_entries(meta: &Node, buf: &[u8]) -> Vec<Vec<u8>> {
    let mut entries = Vec::new();
    let Some(keys) = meta.child(b"keys") else {
        return entries;
    };
    let mut b = Bytes::new(keys.payload(buf));
    let (Some(_), Some(count)) = (b.take(4), b.u32_be()) else {
        return entries;
    };
    while (entries.len() as u64) < u64::from(count) {
        let Some(size) = b.u32_be() else { break };
        let Some(entry) = (size as usize).checked_sub(4).and_then(|len| b.take(len)) else {
            break;
        };
        entries.push(entry.to_vec());
    }
    entries
}

/// Our key's entry: namespace `mdta`, name `AIGC`.
fn is_our_key(entry: &[u8]) -> bool {
    entry.get(..4) == Some(b"mdta") && entry.get(4..) == Some(KEY)
}

/// Key numbers (1-based) whose key is `mdta` `AIGC`.
fn aigc_keys(meta: &Node, buf: &[u8]) -> Vec<u32> {
    let entries = key_entries(meta, buf);
    (1u32..)
        .zip(&entries)
        .filter(|(_, e)| is_our_key(e))
        .map(|(n, _)| n)
        .collect()
}

/// A `keys` payload (full box, version 0) listing `entries` in order.
fn keys_payload(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut payload = vec![0; 4];
    payload.extend_from_slice(&u32::try_from(entries.len()).unwrap_or(u32::MAX).to_be_bytes());
    for e in entries {
        payload.extend_from_slice(&u32::try_from(e.len() + 4).unwrap_or(u32::MAX).to_be_bytes());
        payload.extend_from_slice(e);
    }
    payload
}

/// Replaces (or inserts, right after `hdlr`, where readers that parse in one pass need it
/// before `ilst`) the `keys` box of `meta`.
fn set_keys(meta: &mut Node, entries: &[Vec<u8>]) {
    let payload = keys_payload(entries);
    match meta.find(b"keys").and_then(|k| meta.kids.get_mut(k)) {
        Some(node) => node.body = Body::New(payload),
        None => {
            let at = meta.find(b"hdlr").map_or(0, |h| h + 1);
            meta.kids.insert(at, Node::leaf(*b"keys", payload));
        }
    }
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
    let keys = if mdta.is_some() {
        aigc_keys(meta, buf)
    } else {
        Vec::new()
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

/// A new `meta` box as ffmpeg writes it with `use_metadata_tags`, holding only our key, plus
/// our padding.
fn new_meta(json: &str) -> Node {
    // hdlr: version/flags, pre_defined, handler `mdta`, three reserved words, empty name.
    let mut hdlr = vec![0u8; 8];
    hdlr.extend_from_slice(b"mdta");
    hdlr.extend_from_slice(&[0; 13]);
    let keys = keys_payload(&[[&b"mdta"[..], KEY].concat()]);
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
/// `udta` keeps one item-list `meta` (see [`unify`]): the label goes into the first `meta`
/// with an `mdir` or `mdta` handler, which is given the `mdta` handler; its `keys` and `ilst`
/// are kept, our key appended (so no key is renumbered) and an item added; other keys and
/// items stay byte-exact. Without such a `meta`, a new one is added.
///
/// # Errors
/// Malformed XMP; [`unify`]'s errors.
pub(crate) fn put_label(moov: &mut Node, buf: &[u8], json: &str, limits: &Limits) -> Result<Vec<usize>> {
    let udta = moov.find(b"udta");
    if let Some(node) = udta.and_then(|u| moov.kids.get_mut(u)) {
        unify(node, buf)?;
    }
    let found = copies(moov, buf, limits)?;
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
    let room = usize::try_from(limits.label_room.min(MAX_ROOM)).unwrap_or(0);
    Ok(ensure_padding(moov, &meta_path, room))
}

/// Whether `meta` is an item list readers take as tags: iTunes (`mdir` handler) or QuickTime
/// metadata (`mdta`, what ffmpeg writes with `use_metadata_tags`).
fn is_item_list(meta: &Node, buf: &[u8]) -> bool {
    &meta.typ == b"meta" && matches!(handler(meta, buf).as_ref(), Some(b"mdir" | b"mdta"))
}

/// Leaves at most one item-list `meta` in `udta` (ISO/IEC 14496-12 allows one `meta` per
/// container; `exiftool -validate` flags a second and mutagen reads only the first), and gives
/// it the `mdta` handler, without which ffmpeg does not resolve `keys` numbers.
///
/// Every other item-list `meta` (the one we added beside iTunes' before we merged, or one
/// another tool added) is merged into the first: its keys are appended to the first's (a key
/// the first already has is reused, so one name has one number), its items renumbered to
/// match and appended, and any other box it holds (not `hdlr`, `keys`, `ilst` or padding)
/// moved along. The iTunes items, typed by four-character codes (`©nam`, `covr`, `----`),
/// keep their bytes: ffmpeg, exiftool and mutagen read them by type whatever the handler.
///
/// # Errors
/// [`Error::Unsupported`] when a `meta` to merge has an `mdta` item whose number names no
/// key (renumbered, it would be read as another key; kept, it could collide), or when an
/// iTunes item is typed by a number rather than four characters (it would be read as a key).
fn unify(udta: &mut Node, buf: &[u8]) -> Result<()> {
    let metas: Vec<usize> = (0..udta.kids.len())
        .filter(|&i| udta.kids.get(i).is_some_and(|k| k.live() && is_item_list(k, buf)))
        .collect();
    let Some((&first, rest)) = metas.split_first() else {
        return Ok(());
    };
    if let Some(target) = udta.kids.get(first).filter(|t| handler(t, buf) != Some(*b"mdta")) {
        // Under `mdta` an item typed by a small number is read as that key.
        let numbered = target
            .child(b"ilst")
            .and_then(|l| l.kids.iter().find(|k| k.live() && k.typ[0] == 0));
        if let Some(item) = numbered {
            return Err(Error::unsupported(
                "mp4",
                format!(
                    "the iTunes meta holds an item typed by the number {}, which the mdta handler the label needs would read as a key",
                    u32::from_be_bytes(item.typ)
                ),
            ));
        }
    }
    for &i in rest {
        let Some(other) = udta.kids.get_mut(i).map(|k| {
            let copy = k.clone();
            k.body = Body::Removed;
            copy
        }) else {
            continue;
        };
        if let Some(target) = udta.kids.get_mut(first) {
            merge(target, &other, buf)?;
        }
    }
    if let Some(target) = udta.kids.get_mut(first) {
        set_handler(target, buf, *b"mdta");
    }
    Ok(())
}

/// Moves the keys, items and other boxes of the item-list `meta` `other` into `target`.
fn merge(target: &mut Node, other: &Node, buf: &[u8]) -> Result<()> {
    let mut entries = key_entries(target, buf);
    let keys_before = entries.len();
    let numbered = handler(other, buf) == Some(*b"mdta");
    let theirs = if numbered { key_entries(other, buf) } else { Vec::new() };
    let mut items = Vec::new();
    for item in other
        .child(b"ilst")
        .into_iter()
        .flat_map(|l| l.kids.iter())
        .filter(|k| k.live())
    {
        let mut item = item.clone();
        if numbered {
            let n = u32::from_be_bytes(item.typ);
            let entry = n
                .checked_sub(1)
                .and_then(|i| theirs.get(i as usize))
                .ok_or_else(|| {
                    Error::unsupported("mp4", format!("udta holds two meta boxes, and an item of the second names key {n}, which it does not have; they cannot be merged"))
                })?;
            let number = match entries.iter().position(|e| e == entry) {
                Some(p) => p + 1,
                None => {
                    entries.push(entry.clone());
                    entries.len()
                }
            };
            item.typ = u32::try_from(number).unwrap_or(u32::MAX).to_be_bytes();
        }
        items.push(item);
    }
    if entries.len() != keys_before {
        set_keys(target, &entries);
    }
    push_items(target, items);
    let others = other
        .kids
        .iter()
        .filter(|k| k.live() && !matches!(&k.typ, b"hdlr" | b"keys" | b"ilst" | b"free" | b"skip"));
    target.kids.extend(others.cloned());
    Ok(())
}

/// Sets the handler type of `meta`'s `hdlr` box. The reserved words after it are cleared when
/// the type changes (iTunes writes its manufacturer code `appl` there), as ffmpeg's `mdta`
/// handler has them; the name is kept.
fn set_handler(meta: &mut Node, buf: &[u8], typ: [u8; 4]) {
    if handler(meta, buf) == Some(typ) {
        return;
    }
    let Some(hdlr) = meta.find(b"hdlr").and_then(|h| meta.kids.get_mut(h)) else {
        return;
    };
    let mut payload = hdlr.payload(buf).to_vec();
    if let Some(slot) = payload.get_mut(8..12) {
        slot.copy_from_slice(&typ);
    }
    if let Some(reserved) = payload.get_mut(12..24) {
        reserved.fill(0);
    }
    hdlr.body = Body::New(payload);
}

/// Adds our key (unless an `mdta` `AIGC` key exists) and an item for it to an existing `meta`.
fn add_item(meta: &mut Node, buf: &[u8], json: &str) {
    let index = match aigc_keys(meta, buf).first() {
        Some(&k) => k,
        None => {
            let mut entries = key_entries(meta, buf);
            entries.push([&b"mdta"[..], KEY].concat());
            set_keys(meta, &entries);
            u32::try_from(entries.len()).unwrap_or(u32::MAX)
        }
    };
    push_items(meta, vec![item(index, json)]);
}

/// Appends `items` to the `ilst` of `meta`, adding an `ilst` after `keys` when there is none.
fn push_items(meta: &mut Node, items: Vec<Node>) {
    match meta.find(b"ilst").and_then(|i| meta.kids.get_mut(i)) {
        Some(ilst) => ilst.kids.extend(items),
        None => {
            let at = meta.find(b"keys").map_or(meta.kids.len(), |k| k + 1);
            meta.kids.insert(at, Node::container(*b"ilst", Vec::new(), items));
        }
    }
}

/// Makes sure a `free` box follows `ilst` in the `meta` at `meta_path` (with `room` bytes when
/// it is new), and that an empty `free` box follows `hdlr`; returns the path of the first.
///
/// The two are the room an update in place ([`super::Bmff`]'s `plan`) needs to switch labels
/// crash-safely: the new `keys` and `ilst` are written inside one of them, then the box after
/// `hdlr` grows (or shrinks) in one 4-byte write so that readers skip the old ones and reach the
/// new ones.
fn ensure_padding(moov: &mut Node, meta_path: &[usize], room: usize) -> Vec<usize> {
    let Some(meta) = moov.at_mut(meta_path) else {
        return Vec::new();
    };
    let is_free = |k: &Node| k.live() && (&k.typ == b"free" || &k.typ == b"skip");
    if meta.kids.first().is_some_and(|k| &k.typ == b"hdlr") && !meta.kids.get(1).is_some_and(is_free) {
        meta.kids.insert(1, Node::leaf(*b"free", Vec::new()));
    }
    let Some(ilst) = meta.find(b"ilst") else {
        return Vec::new();
    };
    if !meta.kids.get(ilst + 1).is_some_and(is_free) {
        meta.kids.insert(ilst + 1, Node::leaf(*b"free", vec![0; room]));
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
