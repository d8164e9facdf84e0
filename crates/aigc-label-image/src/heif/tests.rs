//! HEIF files built byte by byte: every layout the writer must handle, and hostile variants.

use std::io::{Cursor, Write};

use super::*;
use aigc_label_core::Written;
use aigc_label_core::check::Level;
use aigc_label_core::xmp::{self, remove_aigc};

const LABEL: &str = r#"{"Label":"1","ContentProducer":"001191440300708461136T1XGW3","ProduceID":"x"}"#;

fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    [boxes::header(kind, body.len()), body.to_vec()].concat()
}

/// Where an item's bytes go.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Place {
    /// In the `mdat` after `meta`.
    Mdat,
    /// In `idat` (construction method 1).
    Idat,
    /// In an `mdat` before `meta`.
    Early,
}

#[derive(Clone)]
struct Item {
    id: u16,
    kind: [u8; 4],
    content_type: &'static [u8],
    encoding: Option<&'static [u8]>,
    data: Vec<u8>,
    place: Place,
}

fn image(id: u16, data: &[u8]) -> Item {
    Item {
        id,
        kind: *b"av01",
        content_type: b"",
        encoding: None,
        data: data.to_vec(),
        place: Place::Mdat,
    }
}

fn xmp_item(id: u16, packet: Vec<u8>, place: Place) -> Item {
    Item {
        id,
        kind: *b"mime",
        content_type: b"application/rdf+xml",
        encoding: None,
        data: packet,
        place,
    }
}

struct Builder {
    items: Vec<Item>,
    iloc_version: u8,
    sizes: (u8, u8, u8),
    iref: bool,
    last_open_ended: bool,
    /// An item whose extent length is written as 0: "to the end of the file".
    open_extent: Option<u16>,
}

impl Builder {
    fn new(items: Vec<Item>) -> Self {
        Builder {
            items,
            iloc_version: 0,
            sizes: (4, 4, 0),
            iref: false,
            last_open_ended: false,
            open_extent: None,
        }
    }

    fn meta(&self, early_at: u64, mdat_at: u64) -> Vec<u8> {
        let hdlr = boxed(b"hdlr", b"\0\0\0\0\0\0\0\0pict\0\0\0\0\0\0\0\0\0\0\0\0\0");
        let pitm = boxed(b"pitm", &[0, 0, 0, 0, 0, 1]);
        let mut infes = Vec::new();
        for item in &self.items {
            let mut body = vec![2, 0, 0, 0];
            body.extend(item.id.to_be_bytes());
            body.extend([0, 0]);
            body.extend(item.kind);
            body.push(0);
            if &item.kind == b"mime" {
                body.extend(item.content_type);
                body.push(0);
                if let Some(e) = item.encoding {
                    body.extend(e);
                    body.push(0);
                }
            }
            infes.extend(boxed(b"infe", &body));
        }
        let mut iinf_body = vec![0, 0, 0, 0];
        iinf_body.extend((self.items.len() as u16).to_be_bytes());
        iinf_body.extend(infes);
        let (off, len, base) = self.sizes;
        let mut iloc = vec![self.iloc_version, 0, 0, 0, (off << 4) | len, base << 4];
        let id_width = if self.iloc_version == 2 { 4 } else { 2 };
        boxes::put_uint(&mut iloc, self.items.len() as u64, id_width).unwrap();
        let (mut mdat_pos, mut idat_pos, mut early_pos) = (mdat_at + 8, 0u64, early_at + 8);
        let mut idat = Vec::new();
        for item in &self.items {
            boxes::put_uint(&mut iloc, u64::from(item.id), id_width).unwrap();
            let (method, at) = match item.place {
                Place::Mdat => (0u16, &mut mdat_pos),
                Place::Early => (0, &mut early_pos),
                Place::Idat => {
                    idat.extend(&item.data);
                    (1, &mut idat_pos)
                }
            };
            if self.iloc_version >= 1 {
                iloc.extend(method.to_be_bytes());
            }
            iloc.extend([0, 0]);
            let (b, o) = if off == 0 { (*at, 0) } else { (0, *at) };
            // A layout that cannot express the offset gets 0 (for the refusal test).
            boxes::put_uint(&mut iloc, b, base)
                .or_else(|| boxes::put_uint(&mut iloc, 0, base))
                .unwrap();
            iloc.extend([0, 1]);
            boxes::put_uint(&mut iloc, o, off).unwrap();
            let length = match self.open_extent == Some(item.id) {
                true => 0,
                false => item.data.len() as u64,
            };
            boxes::put_uint(&mut iloc, length, len).unwrap();
            *at += item.data.len() as u64;
        }
        let mut body = vec![0, 0, 0, 0];
        body.extend(hdlr);
        body.extend(pitm);
        if !idat.is_empty() {
            body.extend(boxed(b"idat", &idat));
        }
        body.extend(boxed(b"iloc", &iloc));
        body.extend(boxed(b"iinf", &iinf_body));
        if self.iref {
            body.extend(boxed(
                b"iref",
                &[0, 0, 0, 0, 0, 0, 0, 14, b'a', b'u', b'x', b'l', 0, 2, 0, 1, 0, 1],
            ));
        }
        boxed(b"meta", &body)
    }

    fn build(&self) -> Vec<u8> {
        let ftyp = boxed(b"ftyp", b"avif\0\0\0\0mif1avif");
        let early: Vec<u8> = self
            .items
            .iter()
            .filter(|i| i.place == Place::Early)
            .flat_map(|i| i.data.clone())
            .collect();
        let early = if early.is_empty() {
            Vec::new()
        } else {
            boxed(b"mdat", &early)
        };
        let late: Vec<u8> = self
            .items
            .iter()
            .filter(|i| i.place == Place::Mdat)
            .flat_map(|i| i.data.clone())
            .collect();
        let early_at = ftyp.len() as u64;
        let meta_len = self.meta(0, 0).len() as u64;
        let mdat_at = early_at + early.len() as u64 + meta_len;
        let meta = self.meta(early_at, mdat_at);
        let mut mdat = boxed(b"mdat", &late);
        if self.last_open_ended {
            mdat[..4].copy_from_slice(&[0; 4]);
        }
        [ftyp, early, meta, mdat].concat()
    }
}

fn find(data: &[u8]) -> Result<Vec<Found>> {
    Heif.find(&mut Cursor::new(data), &Limits::default())
}

fn write(data: &[u8]) -> Result<(Vec<u8>, Written)> {
    let mut out = Vec::new();
    let label = Label::new("001191440300708461136T1XGW3", "new");
    let w = Heif.write(&mut Cursor::new(data), &mut out, &label, &Limits::default())?;
    assert_eq!(w.bytes_written, out.len() as u64);
    Ok((out, w))
}

/// The bytes of every item of `data`, by id, read with the carrier's own parser.
fn item_bytes(data: &[u8]) -> Vec<(u32, Vec<u8>)> {
    let mut cursor = Cursor::new(data);
    let mut src = Source::new(&mut cursor, FORMAT).unwrap();
    let file = File::read(&mut src, &Limits::default(), false).unwrap();
    file.meta
        .iinf
        .entries
        .iter()
        .map(|e| {
            let spans = file.spans(e.id).unwrap();
            (e.id, file.read_spans(&mut src, &spans, &Limits::default()).unwrap())
        })
        .collect()
}

fn labelled(id: &str, padding: usize) -> Vec<u8> {
    xmp::new_packet(&LABEL.replace("\"x\"", &format!("{id:?}")), padding)
}

#[test]
fn new_item_is_added_and_image_offsets_follow_the_grown_meta() {
    for (version, sizes) in [(0, (4, 4, 0)), (1, (4, 4, 4)), (2, (8, 8, 0)), (1, (0, 4, 4))] {
        let mut b = Builder::new(vec![image(1, b"first image"), image(2, b"alpha plane")]);
        b.iloc_version = version;
        b.sizes = sizes;
        let heif = b.build();
        assert!(Heif.sniff(&heif));
        assert!(find(&heif).unwrap().is_empty());
        let (out, w) = write(&heif).unwrap();
        let found = find(&out).unwrap();
        assert_eq!(found.len(), 1, "v{version}");
        assert!(found[0].text.contains("\"new\""));
        assert_eq!(found[0].range, w.label_range);
        let bytes = item_bytes(&out);
        assert_eq!(bytes[0], (1, b"first image".to_vec()), "v{version} {sizes:?}");
        assert_eq!(bytes[1], (2, b"alpha plane".to_vec()));
        assert_eq!(bytes[2].0, 3);
        // The image data itself is unchanged and the output starts with the input's ftyp.
        assert_eq!(out[..24], heif[..24]);
        assert!(out.windows(11).any(|w| w == b"first image"));
    }
}

#[test]
fn cdsc_reference_is_added_to_an_existing_iref_or_a_new_one() {
    for iref in [false, true] {
        let mut b = Builder::new(vec![image(1, b"img"), image(2, b"aux")]);
        b.iref = iref;
        let (out, _) = write(&b.build()).unwrap();
        let mut cursor = Cursor::new(&out);
        let mut src = Source::new(&mut cursor, FORMAT).unwrap();
        let file = File::read(&mut src, &Limits::default(), false).unwrap();
        let (r, _) = file.meta.iref.unwrap();
        let body = &file.meta.buf[r.payload_in()];
        let cdsc = body.windows(4).position(|w| w == b"cdsc").unwrap();
        assert_eq!(&body[cdsc + 4..cdsc + 10], &[0, 3, 0, 1, 0, 1]);
        assert_eq!(body.windows(4).any(|w| w == b"auxl"), iref);
    }
}

#[test]
fn a_labelled_packet_outside_a_trailing_mdat_moves_there_even_when_it_fits() {
    for place in [Place::Mdat, Place::Idat, Place::Early] {
        let packet = xmp::new_packet(LABEL, 1024);
        let mut b = Builder::new(vec![image(1, b"img"), xmp_item(2, packet.clone(), place)]);
        b.iloc_version = 1;
        let heif = b.build();
        assert_eq!(find(&heif).unwrap().len(), 1);
        let (out, w) = write(&heif).unwrap();
        assert!(ends_with_room(&out, &w.label_range));
        assert_eq!(&out[w.label_range.start as usize - 4..][..4], b"mdat");
        assert_eq!(find(&out).unwrap()[0].range, w.label_range);
        assert!(!out.windows(packet.len()).any(|w| w == packet));
        assert_eq!(item_bytes(&out)[0], (1, b"img".to_vec()));
        // From now on a label of the same length goes to the same place...
        let (again, w2) = write(&out).unwrap();
        assert_eq!(again.len(), out.len());
        assert_eq!(w2.label_range, w.label_range);
        assert!((0..out.len()).all(|i| again[i] == out[i] || w.label_range.contains(&(i as u64))));
        // ...and one of any length keeps every covered byte.
        for id in ["x".repeat(6000), "y".to_string()] {
            assert_eq!(covered(&write_label(&out, &id)), covered(&out));
        }
    }
}

#[test]
fn packet_that_grows_moves_to_a_trailing_mdat_and_the_old_bytes_are_zeroed() {
    for place in [Place::Mdat, Place::Idat] {
        let packet = labelled("old", 0);
        let mut b = Builder::new(vec![xmp_item(1, packet.clone(), place), image(2, b"image data")]);
        b.iloc_version = 1;
        let heif = b.build();
        let (out, w) = write(&heif).unwrap();
        assert!(ends_with_room(&out, &w.label_range));
        assert_eq!(&out[w.label_range.start as usize - 4..][..4], b"mdat");
        assert!(!out.windows(packet.len()).any(|w| w == packet));
        let bytes = item_bytes(&out);
        assert_eq!(bytes[1], (2, b"image data".to_vec()));
        let found = find(&out).unwrap();
        assert_eq!(found.len(), 1);
        assert!(found[0].text.contains("\"new\""));
    }
}

#[test]
fn compressed_packet_is_read_and_rewritten_plain() {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&labelled("z", 0)).unwrap();
    let mut item = xmp_item(2, z.finish().unwrap(), Place::Mdat);
    item.encoding = Some(b"deflate");
    let heif = Builder::new(vec![image(1, b"img"), item]).build();
    let found = find(&heif).unwrap();
    assert_eq!(found.len(), 1);
    assert!(found[0].text.contains("\"z\""));
    assert!(found[0].checks.iter().any(|c| c.level == Level::Warn));
    let (out, _) = write(&heif).unwrap();
    let found = find(&out).unwrap();
    assert_eq!(found.len(), 1);
    assert!(found[0].checks.iter().all(|c| c.level == Level::Pass), "{found:#?}");
    assert!(!out.windows(7).any(|w| w == b"deflate"));
}

#[test]
fn a_second_labelled_item_loses_its_label_in_place() {
    let heif = Builder::new(vec![
        image(1, b"img"),
        xmp_item(2, labelled("a", 64), Place::Mdat),
        xmp_item(3, labelled("b", 64), Place::Mdat),
    ])
    .build();
    let found = find(&heif).unwrap();
    assert_eq!(found.len(), 2);
    assert_eq!(found[1].checks[0].level, Level::Warn);
    let (out, _) = write(&heif).unwrap();
    let found = find(&out).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].carrier, "XMP item 2");
    // Item 3 keeps its length and its place.
    assert_eq!(item_bytes(&out)[2].1.len(), item_bytes(&heif)[2].1.len());
}

fn write_label(data: &[u8], produce_id: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let label = Label::new("001191440300708461136T1XGW3", produce_id);
    Heif.write(&mut Cursor::new(data), &mut out, &label, &Limits::default())
        .unwrap();
    out
}

/// The bytes `binding_exclusions` leaves covered, in order.
/// True when the packet at `label` is followed by the room to the end of the file: zeros as
/// long as the packet and `Limits::label_room` more.
fn ends_with_room(data: &[u8], label: &Range<u64>) -> bool {
    let room = (label.end - label.start) + Limits::default().label_room;
    data.len() as u64 == label.end + room && data[label.end as usize..].iter().all(|&b| b == 0)
}

fn covered(data: &[u8]) -> Vec<u8> {
    let excluded = Heif
        .binding_exclusions(&mut Cursor::new(data), &Limits::default())
        .unwrap();
    (0..data.len())
        .filter(|&i| !excluded.iter().any(|r| r.contains(&(i as u64))))
        .map(|i| data[i])
        .collect()
}

#[test]
fn an_item_that_fills_the_last_mdat_is_rewritten_there_at_any_length() {
    for (version, sizes) in [(0, (4, 4, 0)), (1, (0, 8, 8)), (2, (8, 4, 4))] {
        let mut img = image(1, b"image data");
        img.place = Place::Early;
        let mut b = Builder::new(vec![img, xmp_item(2, labelled("old", 0), Place::Mdat)]);
        b.iloc_version = version;
        b.sizes = sizes;
        let heif = b.build();
        let mdat_at = heif.len() - labelled("old", 0).len() - 8;
        for id in ["x".repeat(6000), "y".to_string()] {
            let out = write_label(&heif, &id);
            // The trailing mdat is replaced, everything before it kept but the iloc entry.
            assert_eq!(&out[mdat_at + 4..mdat_at + 8], b"mdat", "v{version}");
            let diff = (0..mdat_at).filter(|&i| out[i] != heif[i]).count();
            assert!(diff <= 8, "v{version}: {diff} bytes before the mdat changed");
            assert_eq!(covered(&out), covered(&heif), "v{version}");
            assert_eq!(item_bytes(&out)[0], (1, b"image data".to_vec()));
            let found = find(&out).unwrap();
            assert_eq!(found.len(), 1);
            assert!(found[0].text.contains(&id));
            assert!(ends_with_room(&out, &found[0].range));
        }
    }
}

/// A trailing `mdat` that holds the XMP item and bytes no item references (another tool's) is
/// not ours: a rewrite keeps it whole, the packet zeroed, and appends its own.
#[test]
fn a_last_mdat_with_other_bytes_is_kept_by_a_rewrite() {
    let packet = labelled("old", 0);
    let extra = b"someone else's bytes, which no item references".to_vec();
    for (before, after) in [(Vec::new(), extra.clone()), (extra.clone(), Vec::new())] {
        let mut img = image(1, b"image data");
        img.place = Place::Early;
        let mut xmp = xmp_item(2, [&before[..], &packet].concat(), Place::Mdat);
        xmp.data.extend(&after);
        let mut heif = Builder::new(vec![img, xmp]).build();
        // The item itself is the packet alone, `before` and `after` are the box's other bytes.
        let mdat_at = heif.len() - before.len() - packet.len() - after.len() - 8;
        let loc = heif.windows(4).position(|w| w == b"iloc").unwrap() + 4 + 4 + 2 + 2 + 14;
        let offset_at = loc + 6;
        let offset = u32::from_be_bytes(heif[offset_at..offset_at + 4].try_into().unwrap());
        heif[offset_at..offset_at + 4].copy_from_slice(&(offset + before.len() as u32).to_be_bytes());
        heif[offset_at + 4..offset_at + 8].copy_from_slice(&(packet.len() as u32).to_be_bytes());
        assert_eq!(item_bytes(&heif)[1], (2, packet.clone()));
        assert_eq!(&heif[mdat_at + 4..mdat_at + 8], b"mdat");

        let out = write_label(&heif, "new");
        let packet_at = mdat_at + 8 + before.len();
        let zeroed = packet_at..packet_at + packet.len();
        let changed: Vec<usize> = (0..heif.len())
            .filter(|&i| out[i] != heif[i] && !zeroed.contains(&i))
            .collect();
        // The item's iloc entry (offset and length) and nothing else outside the packet.
        assert!(
            changed.iter().all(|&i| (offset_at..offset_at + 8).contains(&i)),
            "{changed:?}"
        );
        assert!(out[zeroed].iter().all(|&b| b == 0));
        let found = find(&out).unwrap();
        assert_eq!(found.len(), 1);
        assert!(found[0].range.start >= heif.len() as u64);
        // A later label of any length stays in the mdat this write appended.
        let again = write_label(&out, &"z".repeat(6000));
        assert!((0..heif.len()).all(|i| again[i] == out[i] || (offset_at..offset_at + 8).contains(&i)));
        assert_eq!(covered(&again), covered(&out));
    }
}

#[test]
fn an_unlabelled_item_moves_to_a_trailing_mdat_even_when_it_fits() {
    let labelled = labelled("old", 4096);
    let hits = xmp::find_aigc(&labelled, &Limits::default()).unwrap();
    let packet = remove_aigc(&labelled, hits, &Limits::default()).unwrap();
    let heif = Builder::new(vec![xmp_item(2, packet.clone(), Place::Mdat), image(1, b"image data")]).build();
    assert!(find(&heif).unwrap().is_empty());
    let (out, w) = write(&heif).unwrap();
    assert!(ends_with_room(&out, &w.label_range));
    let at = heif.windows(packet.len()).position(|w| w == packet).unwrap();
    assert!(out[at..at + packet.len()].iter().all(|&b| b == 0));
    // Later labels of any length stay where this one is.
    let again = write_label(&out, &"z".repeat(6000));
    assert_eq!(covered(&again), covered(&out));
}

#[test]
fn open_ended_last_box_gets_its_size_before_the_trailer() {
    let mut b = Builder::new(vec![image(1, b"pixels")]);
    b.last_open_ended = true;
    let heif = b.build();
    assert!(find(&heif).unwrap().is_empty());
    let (out, _) = write(&heif).unwrap();
    assert_eq!(find(&out).unwrap().len(), 1);
    assert_eq!(item_bytes(&out)[0], (1, b"pixels".to_vec()));
}

#[test]
fn an_item_running_to_the_end_of_the_file_keeps_its_bytes_when_the_label_is_appended() {
    // The image, last in the file, has extent length 0; the label's mdat goes after it, so
    // the extent gets its length (it would otherwise take the label's bytes in).
    let mut b = Builder::new(vec![image(1, b"pixels")]);
    b.open_extent = Some(1);
    let heif = b.build();
    assert_eq!(item_bytes(&heif)[0], (1, b"pixels".to_vec()));
    let (out, _) = write(&heif).unwrap();
    assert_eq!(find(&out).unwrap().len(), 1);
    assert_eq!(item_bytes(&out)[0], (1, b"pixels".to_vec()));
    // Without a length field to write, it is refused.
    let mut b = Builder::new(vec![image(1, b"pixels")]);
    b.open_extent = Some(1);
    b.sizes = (4, 0, 0);
    assert!(matches!(write(&b.build()), Err(Error::Unsupported(_))));
}

#[test]
fn an_xmp_item_sharing_bytes_with_another_is_not_zeroed() {
    // The image item points into the XMP packet (a crafted file: the heif fuzz target found
    // one): moving the packet to a trailing mdat zeroes its old bytes, which would change the
    // image's too, so the write is refused.
    let mut heif = Builder::new(vec![image(1, b"pixels"), xmp_item(2, labelled("a", 0), Place::Mdat)]).build();
    let spans = item_bytes(&heif);
    let at1 = heif.windows(6).position(|w| w == b"pixels").unwrap();
    let at2 = heif.windows(spans[1].1.len()).position(|w| w == spans[1].1).unwrap();
    let field = heif.windows(4).position(|w| w == (at1 as u32).to_be_bytes()).unwrap();
    heif[field..field + 4].copy_from_slice(&((at2 + 10) as u32).to_be_bytes());
    let err = write(&heif).map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("item 2 shares bytes with item 1"), "{err}");
}

#[test]
fn unexpressible_layouts_are_refused() {
    // No offset and no base offset field: the new item's position cannot be written.
    let mut b = Builder::new(vec![image(1, b"")]);
    b.sizes = (0, 4, 0);
    assert!(matches!(write(&b.build()), Err(Error::Unsupported(_))));
    // A moov box: sample offsets would move with meta.
    let mut heif = Builder::new(vec![image(1, b"x")]).build();
    heif.extend(boxed(b"moov", b""));
    assert!(matches!(write(&heif), Err(Error::Unsupported(_))));
}

#[test]
fn malformed_inputs_are_errors() {
    let good = Builder::new(vec![image(1, b"img"), xmp_item(2, labelled("a", 0), Place::Mdat)]).build();
    let meta_at = 28;
    let mut lying_box = good.clone();
    lying_box[meta_at..meta_at + 4].copy_from_slice(&0xFFFF_FF00u32.to_be_bytes());
    let iloc_at = good.windows(4).position(|w| w == b"iloc").unwrap() - 4;
    let mut lying_offset = good.clone();
    lying_offset[iloc_at + 8 + 4 + 4 + 2 + 2 + 2 + 2 + 8..][..4].copy_from_slice(&0x7FFF_FFFFu32.to_be_bytes());
    let mut lying_count = good.clone();
    lying_count[iloc_at + 14..iloc_at + 16].copy_from_slice(&[0xFF, 0xFF]);
    let iinf_at = good.windows(4).position(|w| w == b"iinf").unwrap() - 4;
    let mut lying_entries = good.clone();
    lying_entries[iinf_at + 12..iinf_at + 14].copy_from_slice(&[0, 9]);
    let mut broken_xmp = good.clone();
    let xmp_at = good.windows(10).position(|w| w == b"<x:xmpmeta").unwrap();
    broken_xmp[xmp_at + 1] = b'!';
    let mut no_meta = good.clone();
    no_meta[meta_at + 4..meta_at + 8].copy_from_slice(b"free");
    let mut random = good[..28].to_vec();
    random.extend((0u32..400).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("ftyp only", good[..28].to_vec()),
        ("zero bytes", [&good[..28], &[0u8; 64][..]].concat()),
        ("truncated", good[..good.len() - 3].to_vec()),
        ("lying box size", lying_box),
        ("lying item offset", lying_offset),
        ("lying iloc count", lying_count),
        ("lying iinf count", lying_entries),
        ("broken xmp naming tc260", broken_xmp),
        ("no meta", no_meta),
        ("random after ftyp", random),
        ("not heif", b"GIF89a and more bytes".to_vec()),
    ];
    for (name, data) in cases {
        assert!(find(&data).is_err(), "{name}: find");
        assert!(write(&data).is_err(), "{name}: write");
    }
}

#[test]
fn every_truncation_and_corruption_is_handled_without_panic() {
    let mut b = Builder::new(vec![
        image(1, b"img"),
        xmp_item(2, labelled("a", 16), Place::Idat),
        xmp_item(3, labelled("b", 0), Place::Mdat),
    ]);
    b.iloc_version = 1;
    b.iref = true;
    let good = b.build();
    let excludes = |data: &[u8]| Heif.binding_exclusions(&mut Cursor::new(data), &Limits::default());
    for cut in 0..good.len() {
        let part = &good[..cut];
        assert_eq!(find(part).is_ok(), excludes(part).is_ok(), "cut at {cut}");
        let _ = write(part);
    }
    let meta_end = good.windows(4).rposition(|w| w == b"mdat").unwrap();
    for i in 0..meta_end {
        for v in [0x00, 0x01, 0x7F, 0xFF] {
            let mut bad = good.clone();
            bad[i] = v;
            assert_eq!(find(&bad).is_ok(), excludes(&bad).is_ok(), "byte {i} = {v}");
            if find(&bad).is_ok() {
                if let Ok((out, _)) = write(&bad) {
                    assert_eq!(find(&out).unwrap().len(), 1, "byte {i} = {v}");
                }
            }
        }
    }
}

#[test]
fn zero_width_extents_are_one_per_entry() {
    // All field sizes 0: an extent is the whole source and takes no bytes, so 65535 of them
    // per entry would cost nothing to declare. A second one is refused whatever the budget.
    for count in [2u16, 0xFFFF] {
        let mut iloc = vec![0, 0, 0, 0, 0, 0];
        iloc.extend(1000u16.to_be_bytes());
        for id in 0..1000u16 {
            iloc.extend(id.to_be_bytes());
            iloc.extend([0, 0]);
            iloc.extend(count.to_be_bytes());
        }
        let body = [
            &[0u8, 0, 0, 0][..],
            &boxed(b"iinf", &[0, 0, 0, 0, 0, 0]),
            &boxed(b"iloc", &iloc),
        ]
        .concat();
        let heif = [boxed(b"ftyp", b"heic\0\0\0\0mif1"), boxed(b"meta", &body)].concat();
        assert!(matches!(find(&heif), Err(Error::Malformed { .. })), "{count} extents");
    }
}

/// The heif fuzz target's `heif-timeout-cc74a41a`: an XMP item of 8703 extents, each the whole
/// file, made a 434-byte file read as a 3.7 MB item (and searched as an XMP packet) by every
/// pass. The bytes an item's extents cover are at most the bytes present.
#[test]
fn an_item_is_at_most_the_bytes_present() {
    let packet = labelled("x", 0);
    let data = Builder::new(vec![xmp_item(1, packet, Place::Mdat)]).build();
    // The item's one extent, repeated: 100 extents over the same bytes.
    let iloc_at = data.windows(4).position(|w| w == b"iloc").unwrap() - 4;
    let entry_end = iloc_at + 8 + 4 + 2 + 2 + 2 + 2 + 2 + 8;
    let extent = data[entry_end - 8..entry_end].to_vec();
    let mut crafted = data[..entry_end - 10].to_vec();
    crafted.extend(100u16.to_be_bytes());
    (0..100).for_each(|_| crafted.extend(&extent));
    crafted.extend(&data[entry_end..]);
    let grown = 99 * extent.len();
    let meta_at = data.windows(4).position(|w| w == b"meta").unwrap() - 4;
    for at in [iloc_at, meta_at] {
        let size = u32::from_be_bytes(crafted[at..at + 4].try_into().unwrap()) as usize + grown;
        crafted[at..at + 4].copy_from_slice(&(size as u32).to_be_bytes());
    }
    // The iloc offsets point into the mdat, which moved by `grown`.
    let offset_at = entry_end - 8;
    let old = u32::from_be_bytes(data[offset_at..offset_at + 4].try_into().unwrap()) as usize;
    for i in 0..100 {
        let at = offset_at + i * 8;
        crafted[at..at + 4].copy_from_slice(&((old + grown) as u32).to_be_bytes());
    }
    let mut cursor = Cursor::new(&crafted);
    let mut src = Source::new(&mut cursor, FORMAT).unwrap();
    let file = File::read(&mut src, &Limits::default(), false).unwrap();
    assert_eq!(file.meta.iloc.item(1).unwrap().extents.len(), 100);
    // Without the rule each pass would read 100 copies of the packet.
    match file.spans(1) {
        Ok(spans) => {
            let read: u64 = spans.iter().map(Span::len).sum();
            assert!(
                read <= crafted.len() as u64,
                "an item of {read} bytes in a file of {}",
                crafted.len()
            );
        }
        Err(e) => assert!(matches!(e, Error::Malformed { .. }), "{e}"),
    }
    assert!(find(&crafted).is_err());
    assert!(write(&crafted).is_err());
    // The same file with the one extent reads its label.
    assert_eq!(find(&data).unwrap().len(), 1);
}

fn exif_item(id: u16, data: Vec<u8>, place: Place) -> Item {
    Item {
        id,
        kind: *b"Exif",
        content_type: b"",
        encoding: None,
        data,
        place,
    }
}

#[test]
fn a_label_in_an_exif_user_comment_is_read_and_blanked_when_it_moves_to_xmp() {
    use crate::exif::{self as ex, Order};
    let wrapped = r#"{"AIGC":{"Label":"1","ContentProducer":"001191440300708461136T1XGW3","ProduceID":"x"}}"#;
    let comment = [b"ASCII\0\0\0".as_slice(), wrapped.as_bytes()].concat();
    // The item opens with exif_tiff_header_offset: 6 past an `Exif\0\0`, or 0.
    let with_id = [&6u32.to_be_bytes()[..], &ex::tests::payload_be(&comment)].concat();
    let bare = [&0u32.to_be_bytes()[..], &ex::tests::tiff_block(Order::Little, &comment)].concat();
    // A wrong offset: lenient readers still find the header after the field.
    let lying = [
        &99u32.to_be_bytes()[..],
        &ex::tests::tiff_block(Order::Little, &comment),
    ]
    .concat();
    for data in [with_id, bare, lying] {
        for place in [Place::Mdat, Place::Idat, Place::Early] {
            let mut builder = Builder::new(vec![image(1, b"pixels"), exif_item(2, data.clone(), place)]);
            // Construction methods are written from iloc version 1 on.
            builder.iloc_version = 1;
            let input = builder.build();
            let found = find(&input).unwrap();
            assert_eq!(found.len(), 1, "{found:?} {place:?} {data:?}");
            assert_eq!(found[0].carrier, ex::CARRIER);
            assert_eq!(found[0].text, wrapped);
            assert_eq!(found[0].expected_shape, Shape::Wrapped);
            assert_eq!(found[0].checks[0].level, Level::Warn);

            let (out, _) = write(&input).unwrap();
            let after = find(&out).unwrap();
            assert_eq!(after.len(), 1, "{after:?}");
            assert!(after[0].carrier.starts_with("XMP item"));
            let items = item_bytes(&out);
            let exif = &items.iter().find(|(id, _)| *id == 2).unwrap().1;
            assert_eq!(exif.len(), data.len());
            assert!(!exif.windows(4).any(|w| w == b"AIGC"));
            assert_eq!(items.iter().find(|(id, _)| *id == 1).unwrap().1, b"pixels");
        }
    }
}

#[test]
fn an_exif_item_this_reader_cannot_reach_is_skipped() {
    // An Exif item with no TIFF header, and one built from another item's data.
    let input = Builder::new(vec![
        image(1, b"pixels"),
        exif_item(2, b"\0\0\0\0junk".to_vec(), Place::Mdat),
    ])
    .build();
    assert!(find(&input).unwrap().is_empty());
    let (out, _) = write(&input).unwrap();
    assert_eq!(find(&out).unwrap().len(), 1);
}

#[test]
fn a_truncated_file_is_read_up_to_the_cut_and_flagged() {
    // ftyp, meta (the XMP item in idat), mdat with the image: cut inside mdat.
    let mut builder = Builder::new(vec![xmp_item(2, labelled("a", 0), Place::Idat), image(1, &[7u8; 64])]);
    builder.iloc_version = 1;
    let input = builder.build();
    for cut in [input.len() - 1, input.len() - 40, input.len() - 60] {
        let found = find(&input[..cut]).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        assert_eq!(found.len(), 1, "cut at {cut}");
        let check = found[0].checks.iter().find(|c| c.id == id::STRUCTURE_TRUNCATED);
        assert!(check.is_some_and(|c| c.level == Level::Warn), "{:?}", found[0].checks);
        let mut out = Vec::new();
        let label = Label::new("001191440300708461136T1XGW3", "new");
        let r = Heif.write(&mut Cursor::new(&input[..cut]), &mut out, &label, &Limits::default());
        assert!(matches!(r, Err(Error::Truncated { .. })), "cut at {cut}: {r:?}");
        assert!(
            Heif.binding_exclusions(&mut Cursor::new(&input[..cut]), &Limits::default())
                .is_ok()
        );
    }
    assert!(
        find(&input).unwrap()[0]
            .checks
            .iter()
            .all(|c| c.id != id::STRUCTURE_TRUNCATED)
    );
}
