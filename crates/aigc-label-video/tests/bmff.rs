//! ISO-BMFF carrier: fixtures made by ffmpeg, witnessed by ffprobe and ffmpeg.

mod common;

use aigc_label_testutil::{fixtures, round_trip};
use aigc_label_video::Bmff;

#[test]
fn every_fixture_round_trips() {
    for path in fixtures("video", &["mp4", "mov", "m4a", "3gp"]) {
        let input = std::fs::read(&path).unwrap();
        eprintln!("{}", path.display());
        round_trip(&Bmff, &input);
    }
}

#[test]
fn ffprobe_sees_the_label_and_frames_are_unchanged() {
    for path in fixtures("video", &["mp4", "mov", "m4a", "3gp"]) {
        common::witness(&Bmff, &path);
    }
}

use std::io::Cursor;
use std::ops::Range;

use aigc_label_core::check::{Level, id};
use aigc_label_core::{Carrier, Label, Limits, json, xmp};
use aigc_label_testutil::{fixture, sample_label, tool};

/// The boxes directly inside `buf[range]`: (type, whole box range, payload range); one that
/// claims more ends at the range's end.
fn boxes(buf: &[u8], range: Range<usize>) -> Vec<([u8; 4], Range<usize>, Range<usize>)> {
    let mut out = Vec::new();
    let mut at = range.start;
    while at + 8 <= range.end {
        let mut size = u32::from_be_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
        let mut hdr = 8;
        if size == 1 {
            size = u64::from_be_bytes(buf[at + 8..at + 16].try_into().unwrap()) as usize;
            hdr = 16;
        } else if size == 0 {
            size = range.end - at;
        }
        size = size.min(range.end - at); // a box past the end (a damaged fixture) ends there
        out.push((
            buf[at + 4..at + 8].try_into().unwrap(),
            at..at + size,
            at + hdr..at + size,
        ));
        at += size;
    }
    out
}

fn child(buf: &[u8], range: Range<usize>, typ: &[u8; 4]) -> Option<([u8; 4], Range<usize>, Range<usize>)> {
    boxes(buf, range).into_iter().find(|b| &b.0 == typ)
}

/// The children of the `mdta` `meta` box in `moov/udta`.
fn mdta_meta_children(file: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
    let moov = child(file, 0..file.len(), b"moov").expect("moov");
    for udta in boxes(file, moov.2).into_iter().filter(|b| &b.0 == b"udta") {
        for meta in boxes(file, udta.2).into_iter().filter(|b| &b.0 == b"meta") {
            let kids = boxes(file, meta.2.start + 4..meta.2.end);
            let handler = kids
                .iter()
                .find(|k| &k.0 == b"hdlr")
                .map(|k| file[k.2.start + 8..k.2.start + 12].to_vec());
            if handler.as_deref() == Some(b"mdta") {
                return kids.into_iter().map(|k| (k.0, file[k.1].to_vec())).collect();
            }
        }
    }
    panic!("no mdta meta in moov/udta");
}

#[test]
fn our_meta_box_is_what_ffmpeg_writes() {
    let Some(ffmpeg) = tool("ffmpeg") else { return };
    let input = fixture("video/mp4_video_only.mp4");
    let label = sample_label();
    let text = json::to_json(&label, json::Shape::Bare);
    let dir = tempfile::tempdir().unwrap();
    let theirs_path = dir.path().join("ffmpeg.mp4");
    let status = std::process::Command::new(ffmpeg)
        .args(["-v", "error", "-nostdin", "-y", "-i"])
        .arg(&input)
        .args([
            "-c",
            "copy",
            "-map_metadata",
            "-1",
            "-fflags",
            "+bitexact",
            "-movflags",
            "use_metadata_tags",
        ])
        .arg("-metadata")
        .arg(format!("AIGC={text}"))
        .arg(&theirs_path)
        .status()
        .unwrap();
    assert!(status.success());
    let theirs = mdta_meta_children(&std::fs::read(&theirs_path).unwrap());
    let ours = mdta_meta_children(&common::embed(&Bmff, &std::fs::read(&input).unwrap(), &label));
    // Ours adds an empty `free` box after hdlr and a padding box after ilst, the room for
    // later in-place updates; the rest is identical.
    assert_eq!(ours.get(1), Some(&(*b"free", b"\0\0\0\x08free".to_vec())));
    assert_eq!(ours.last().map(|k| k.0), Some(*b"free"));
    let boxes: Vec<_> = ours
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1 && *i + 1 != ours.len())
        .map(|(_, k)| k.clone())
        .collect();
    assert_eq!(boxes, theirs, "hdlr, keys and ilst as ffmpeg writes them");
}

/// `file` (whose moov is the last box) with `extra` appended inside moov.
fn append_to_moov(file: &[u8], extra: &[u8]) -> Vec<u8> {
    let moov = child(file, 0..file.len(), b"moov").unwrap();
    assert_eq!(moov.1.end, file.len(), "moov must be last");
    let mut out = file.to_vec();
    out.extend_from_slice(extra);
    let size = (moov.1.len() + extra.len()) as u32;
    out[moov.1.start..moov.1.start + 4].copy_from_slice(&size.to_be_bytes());
    out
}

fn bx(typ: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    v.extend_from_slice(typ);
    v.extend_from_slice(payload);
    v
}

fn full(typ: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    bx(typ, &[&[0u8; 4][..], payload].concat())
}

fn data(text: &str) -> Vec<u8> {
    bx(b"data", &[&[0, 0, 0, 1, 0, 0, 0, 0][..], text.as_bytes()].concat())
}

/// A label by the same producer as [`sample_label`], so embedding may replace it.
fn wild_label() -> (Label, String) {
    let label = Label::new(sample_label().content_producer, "wild-0001");
    let text = json::to_json(&label, json::Shape::Bare);
    (label, text)
}

fn wild_variants() -> Vec<(&'static str, Vec<u8>)> {
    let base = std::fs::read(fixture("video/mp4_moov_end.mp4")).unwrap();
    let (_, text) = wild_label();
    let hdlr = |h: &[u8; 4]| full(b"hdlr", &[&[0u8; 4][..], h, &[0; 13]].concat());
    let keys = full(
        b"keys",
        &[&1u32.to_be_bytes()[..], &12u32.to_be_bytes(), b"mdtaAIGC"].concat(),
    );
    let item = bx(&1u32.to_be_bytes(), &data(&text));
    let quicktime_meta = bx(b"meta", &[hdlr(b"mdta"), keys, bx(b"ilst", &item)].concat());
    let freeform = bx(
        b"----",
        &[full(b"mean", b"com.apple.iTunes"), full(b"name", b"AIGC"), data(&text)].concat(),
    );
    let itunes = full(b"meta", &[hdlr(b"mdir"), bx(b"ilst", &freeform)].concat());
    let mut variants = vec![
        ("moov/meta mdta AIGC", append_to_moov(&base, &quicktime_meta)),
        (
            "moov/udta/AIGC",
            append_to_moov(&base, &bx(b"udta", &bx(b"AIGC", text.as_bytes()))),
        ),
        (
            "ilst ----:com.apple.iTunes:AIGC",
            append_to_moov(&base, &bx(b"udta", &itunes)),
        ),
    ];
    let packet = xmp::new_packet(&text, 64);
    if xmp::find_aigc(&packet, &Limits::default()).is_ok_and(|h| h.len() == 1) {
        variants.push((
            "moov/udta/XMP_ TC260:AIGC",
            append_to_moov(&base, &bx(b"udta", &bx(b"XMP_", &packet))),
        ));
        let uuid = [
            0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC,
        ];
        let mut with_uuid = base.clone();
        with_uuid.extend_from_slice(&bx(b"uuid", &[&uuid[..], &packet].concat()));
        variants.push(("uuid XMP TC260:AIGC", with_uuid));
    } else {
        eprintln!("SKIPPED: XMP variants (the core XMP reader does not find TC260:AIGC yet)");
    }
    variants
}

#[test]
fn wild_variants_are_found_flagged_and_replaced() {
    let (_, wild_text) = wild_label();
    for (place, file) in wild_variants() {
        let found = Bmff.find(&mut Cursor::new(&file), &Limits::default()).unwrap();
        assert_eq!(found.len(), 1, "{place}: {found:#?}");
        assert_eq!(found[0].carrier, place);
        assert_eq!(found[0].text, wild_text);
        let flag = found[0].checks.iter().find(|c| c.id == id::CARRIER_PLACE).unwrap();
        assert_eq!(flag.level, Level::Warn, "{place}");

        let out = common::embed(&Bmff, &file, &sample_label());
        let found = Bmff.find(&mut Cursor::new(&out), &Limits::default()).unwrap();
        assert_eq!(found.len(), 1, "{place}: one copy after writing");
        assert_eq!(found[0].carrier, "moov/udta/meta mdta AIGC");
        assert!(
            !out.windows(9).any(|w| w == b"wild-0001"),
            "{place}: the old copy is gone"
        );
        let (_dir, path) = common::temp_file("wild.mp4", &out);
        if let Some(tag) = common::ffprobe_aigc(&path) {
            assert_eq!(tag, json::to_json(&sample_label(), json::Shape::Bare), "{place}");
            assert_eq!(common::decode_messages(&path).unwrap_or_default(), "");
        }
    }
}

#[test]
fn media_bytes_are_unchanged() {
    for path in fixtures("video", &["mp4", "mov", "m4a", "3gp"]) {
        let input = std::fs::read(&path).unwrap();
        let out = common::embed(&Bmff, &input, &sample_label());
        let payloads = |f: &[u8]| -> Vec<Vec<u8>> {
            boxes(f, 0..f.len())
                .into_iter()
                .filter(|b| &b.0 == b"mdat")
                .map(|b| f[b.2].to_vec())
                .collect()
        };
        assert_eq!(payloads(&input), payloads(&out), "{}", path.display());
        // Every moov child but udta is unchanged when nothing had to move.
        let same_size_free = boxes(&out, 0..out.len()).iter().map(|b| b.1.end).max() == Some(input.len());
        if same_size_free || boxes(&input, 0..input.len()).last().map(|b| b.0) == Some(*b"moov") {
            let kids = |f: &[u8]| -> Vec<Vec<u8>> {
                let moov = child(f, 0..f.len(), b"moov").unwrap();
                boxes(f, moov.2)
                    .into_iter()
                    .filter(|b| &b.0 != b"udta")
                    .map(|b| f[b.1].to_vec())
                    .collect()
            };
            assert_eq!(kids(&input), kids(&out), "{}", path.display());
        }
    }
}

#[test]
fn fragment_offsets_follow_the_fragments() {
    let input = std::fs::read(fixture("video/mp4_fragmented.mp4")).unwrap();
    let out = common::embed(&Bmff, &input, &sample_label());
    let top = boxes(&out, 0..out.len());
    let moofs: Vec<usize> = top.iter().filter(|b| &b.0 == b"moof").map(|b| b.1.start).collect();
    assert!(moofs.len() >= 2);
    // tfra entries name moof boxes.
    let mfra = top.iter().find(|b| &b.0 == b"mfra").unwrap();
    let mut checked = 0;
    for tfra in boxes(&out, mfra.2.clone()).into_iter().filter(|b| &b.0 == b"tfra") {
        let p = &out[tfra.2.clone()];
        let version = p[0];
        let count = u32::from_be_bytes(p[12..16].try_into().unwrap()) as usize;
        let sizes = u32::from_be_bytes(p[8..12].try_into().unwrap());
        let tail = ((sizes >> 4) & 3) + ((sizes >> 2) & 3) + (sizes & 3) + 3;
        let w = if version == 1 { 8 } else { 4 };
        for i in 0..count {
            let at = 16 + i * (2 * w + tail as usize) + w;
            let off = p[at..at + w].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
            assert!(moofs.contains(&off), "tfra entry {i} points at {off}");
            checked += 1;
        }
    }
    assert!(checked > 0);
    // tfhd base data offsets name their moof.
    for &moof in &moofs {
        let m = top.iter().find(|b| b.1.start == moof).unwrap();
        for traf in boxes(&out, m.2.clone()).into_iter().filter(|b| &b.0 == b"traf") {
            let tfhd = child(&out, traf.2, b"tfhd").unwrap();
            let p = &out[tfhd.2];
            assert_eq!(p[3] & 1, 1, "explicit base-data-offset");
            let base = u64::from_be_bytes(p[8..16].try_into().unwrap()) as usize;
            assert_eq!(base, moof);
        }
    }
}

/// Keys of the mdta meta, in order.
fn keys(file: &[u8]) -> Vec<Vec<u8>> {
    let kids = mdta_meta_children(file);
    let keys = &kids.iter().find(|k| &k.0 == b"keys").unwrap().1;
    let count = u32::from_be_bytes(keys[12..16].try_into().unwrap()) as usize;
    let mut at = 16;
    (0..count)
        .map(|_| {
            let size = u32::from_be_bytes(keys[at..at + 4].try_into().unwrap()) as usize;
            let name = keys[at + 8..at + size].to_vec();
            at += size;
            name
        })
        .collect()
}

/// The ilst items of the mdta meta, as whole boxes.
fn items(file: &[u8]) -> Vec<Vec<u8>> {
    let kids = mdta_meta_children(file);
    let ilst = &kids.iter().find(|k| &k.0 == b"ilst").unwrap().1;
    boxes(ilst, 8..ilst.len())
        .into_iter()
        .map(|b| ilst[b.1].to_vec())
        .collect()
}

#[test]
fn existing_mdta_keys_are_kept_and_ours_added_or_replaced() {
    let Some(ffmpeg) = tool("ffmpeg") else { return };
    let dir = tempfile::tempdir().unwrap();
    let old = Label::new(sample_label().content_producer, "by-ffmpeg");
    let old_text = json::to_json(&old, json::Shape::Bare);
    let make = |name: &str, extra: &[String]| {
        let path = dir.path().join(name);
        let status = std::process::Command::new(&ffmpeg)
            .args(["-v", "error", "-nostdin", "-y", "-i"])
            .arg(fixture("video/mp4_video_only.mp4"))
            .args([
                "-c",
                "copy",
                "-map_metadata",
                "-1",
                "-fflags",
                "+bitexact",
                "-movflags",
                "use_metadata_tags",
            ])
            .args(["-metadata", "com.example.first=one", "-metadata", "second=two"])
            .args(extra)
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::read(path).unwrap()
    };
    // Without a label: our key is appended after theirs, their items are untouched.
    let theirs = make("plain.mp4", &[]);
    let out = common::embed(&Bmff, &theirs, &sample_label());
    assert_eq!(keys(&out)[..2], keys(&theirs)[..]);
    assert_eq!(keys(&out)[2], b"AIGC");
    assert_eq!(items(&out)[..2], items(&theirs)[..]);
    // With a label ffmpeg wrote (key in the middle): the key stays, its item's value changes.
    let labelled = make("labelled.mp4", &["-metadata".into(), format!("AIGC={old_text}")]);
    let before = keys(&labelled);
    let out = common::embed(&Bmff, &labelled, &sample_label());
    assert_eq!(keys(&out), before, "no key added, none renumbered");
    let (_d, path) = common::temp_file("relabelled.mp4", &out);
    let probe = tool("ffprobe").unwrap();
    let tags = aigc_label_testutil::run(
        &probe,
        &[
            "-v".as_ref(),
            "error".as_ref(),
            "-show_entries".as_ref(),
            "format_tags".as_ref(),
            path.as_os_str(),
        ],
    );
    let tags = String::from_utf8_lossy(&tags);
    assert!(
        tags.contains("TAG:com.example.first=one") && tags.contains("TAG:second=two"),
        "{tags}"
    );
    assert!(tags.contains(&format!(
        "TAG:AIGC={}",
        json::to_json(&sample_label(), json::Shape::Bare)
    )));
    assert!(!tags.contains("by-ffmpeg"));
}

/// A `keys` payload listing `names` in the `mdta` namespace.
fn keys_box(names: &[&str]) -> Vec<u8> {
    let mut payload = (names.len() as u32).to_be_bytes().to_vec();
    for n in names {
        payload.extend_from_slice(&((8 + n.len()) as u32).to_be_bytes());
        payload.extend_from_slice(b"mdta");
        payload.extend_from_slice(n.as_bytes());
    }
    full(b"keys", &payload)
}

fn item_box(index: u32, text: &str) -> Vec<u8> {
    bx(&index.to_be_bytes(), &data(text))
}

fn meta_box(handler: &[u8; 4], kids: &[Vec<u8>]) -> Vec<u8> {
    let hdlr = full(b"hdlr", &[&[0u8; 4][..], handler, &[0; 13]].concat());
    full(b"meta", &[vec![hdlr], kids.to_vec()].concat().concat())
}

#[test]
fn metas_are_merged_with_keys_renumbered_and_shared_keys_reused() {
    let (_, old) = wild_label();
    let first = meta_box(
        b"mdta",
        &[
            keys_box(&["title", "AIGC"]),
            bx(b"ilst", &[item_box(1, "T"), item_box(2, &old)].concat()),
        ],
    );
    let second = meta_box(
        b"mdta",
        &[
            keys_box(&["AIGC", "artist"]),
            bx(b"ilst", &[item_box(1, &old), item_box(2, "A")].concat()),
        ],
    );
    let id3 = meta_box(b"ID32", &[bx(b"ID32", &[0; 12])]);
    let udta = bx(b"udta", &[first, id3.clone(), second].concat());
    let moov = bx(b"moov", &[bx(b"mvhd", &[0; 100]), udta].concat());
    let file = [bx(b"ftyp", b"isom\0\0\0\0isom"), moov].concat();
    assert_eq!(Bmff.find(&mut Cursor::new(&file), &Limits::default()).unwrap().len(), 2);

    let out = common::embed(&Bmff, &file, &sample_label());
    let label = json::to_json(&sample_label(), json::Shape::Bare);
    assert_eq!(keys(&out), [&b"title"[..], b"AIGC", b"artist"], "one number per name");
    let items = items(&out);
    let typed: Vec<(u32, Vec<u8>)> = items
        .iter()
        .map(|i| (u32::from_be_bytes(i[4..8].try_into().unwrap()), i[24..].to_vec()))
        .collect();
    assert_eq!(
        typed,
        [(1, b"T".to_vec()), (2, label.into_bytes()), (3, b"A".to_vec())],
        "the second meta's items renumbered, its copy of the label dropped"
    );
    // The ID3 meta is no item list: left where it was, byte for byte.
    let moov = child(&out, 0..out.len(), b"moov").unwrap();
    let udta = child(&out, moov.2, b"udta").unwrap();
    let metas: Vec<_> = boxes(&out, udta.2).into_iter().filter(|b| &b.0 == b"meta").collect();
    assert_eq!(metas.len(), 2);
    assert_eq!(out[metas[1].1.clone()], id3[..]);
}

#[test]
fn an_itunes_item_typed_by_a_number_is_refused() {
    // Under the mdta handler the label needs, item 5 would be read as key 5.
    let itunes = meta_box(
        b"mdir",
        &[bx(b"ilst", &[item_box(5, "odd"), bx(b"\xa9nam", &data("T"))].concat())],
    );
    let moov = bx(b"moov", &[bx(b"mvhd", &[0; 100]), bx(b"udta", &itunes)].concat());
    let file = [bx(b"ftyp", b"isom\0\0\0\0isom"), moov].concat();
    let mut sink = Vec::new();
    let err = Bmff
        .write(&mut Cursor::new(&file), &mut sink, &sample_label(), &Limits::default())
        .unwrap_err();
    assert!(err.to_string().contains("typed by the number 5"), "{err}");
    // Typed by four characters only, the same box takes the label.
    let itunes = meta_box(b"mdir", &[bx(b"ilst", &bx(b"\xa9nam", &data("T")))]);
    let moov = bx(b"moov", &[bx(b"mvhd", &[0; 100]), bx(b"udta", &itunes)].concat());
    let out = common::embed(
        &Bmff,
        &[bx(b"ftyp", b"isom\0\0\0\0isom"), moov].concat(),
        &sample_label(),
    );
    assert_eq!(keys(&out), [&b"AIGC"[..]]);
    assert_eq!(items(&out).len(), 2);
}

#[test]
fn a_uuid_xmp_label_in_a_variant_namespace_is_found_with_a_warning() {
    let (_, wild_text) = wild_label();
    let base = std::fs::read(fixture("video/mp4_moov_end.mp4")).unwrap();
    let packet = String::from_utf8(xmp::new_packet(&wild_text, 64)).unwrap();
    let packet = packet.replace(xmp::TC260_NS, "https://www.tc260.org.cn/ns/AIGC/1.0");
    assert!(packet.contains("https://"), "the packet names the namespace");
    let uuid = [
        0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC,
    ];
    let mut file = base;
    file.extend_from_slice(&bx(b"uuid", &[&uuid[..], packet.as_bytes()].concat()));
    let found = Bmff.find(&mut Cursor::new(&file), &Limits::default()).unwrap();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].text, wild_text);
    let flag = found[0].checks.iter().find(|c| c.id == id::XMP_NAMESPACE);
    assert_eq!(flag.map(|c| c.level), Some(Level::Warn), "{:#?}", found[0].checks);
}
