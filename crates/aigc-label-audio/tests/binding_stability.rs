//! Content binding stability: for every audio fixture, embed label A, rewrite it with a much
//! longer label B and then with a much shorter label C; the bytes each file's
//! `binding_exclusions` leave covered, read in order, must be the same in all three files (and in
//! B written straight into the unlabelled input, as a signed embed does). That is what lets a
//! platform rewrite the label without breaking the producer's content binding.

mod common;

use std::io::Cursor;
use std::ops::Range;

use aigc_label_audio::{Aiff, Flac, Mp3, Ogg, Wav};
use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_testutil::{covered, replay_corpus, sample_label};
use common::*;

/// A label whose `ProduceID` is `len` bytes long.
fn label(tag: &str, len: usize) -> Label {
    let mut id = tag.to_string();
    id.extend(std::iter::repeat_n('x', len.saturating_sub(tag.len())));
    Label::new(sample_label().content_producer, id)
}

fn exclusions(carrier: &dyn Carrier, data: &[u8]) -> Vec<Range<u64>> {
    let limits = Limits::default();
    let ranges = carrier
        .binding_exclusions(&mut Cursor::new(data), &limits)
        .unwrap_or_else(|e| panic!("{} binding_exclusions: {e}", carrier.format()));
    for f in carrier.find(&mut Cursor::new(data), &limits).unwrap() {
        assert!(
            ranges.iter().any(|r| r.start <= f.range.start && f.range.end <= r.end),
            "label structure {:?} is not excluded: {ranges:?}",
            f.range
        );
    }
    ranges
}

/// Embeds A, then B (`long` bytes of ID), then C (short), and checks the covered bytes agree.
/// Returns the three files.
fn check_stable(carrier: &dyn Carrier, name: &str, input: &[u8], long: usize) -> [Vec<u8>; 3] {
    let a = write_label(carrier, input, &label("a-0001", 24));
    let b = write_label(carrier, &a, &label("b-", long));
    let c = write_label(carrier, &b, &label("c", 1));
    // A signed embed writes twice into the unlabelled input, with labels of different lengths.
    let b_first = write_label(carrier, input, &label("b-", long));
    let covered_a = covered(&a, &exclusions(carrier, &a));
    for (which, file) in [
        ("B (longer)", &b),
        ("C (shorter)", &c),
        ("B written into the input", &b_first),
    ] {
        assert_eq!(found_texts(carrier, file).len(), 1, "{name}: one label in {which}");
        let covered_x = covered(file, &exclusions(carrier, file));
        assert!(
            covered_x == covered_a,
            "{name}: covered bytes of {which} ({} B) differ from A's ({} B), first at {:?}",
            covered_x.len(),
            covered_a.len(),
            covered_x.iter().zip(&covered_a).position(|(x, y)| x != y)
        );
    }
    [a, b, c]
}

/// Label lengths that stay in a tag's padding, outgrow it, and need several Ogg pages.
const LONG: [usize; 3] = [300, 5_000, 150_000];

fn check_fixtures(carrier: &dyn Carrier, exts: &[&str]) {
    let fixtures = audio_fixtures(exts);
    assert!(!fixtures.is_empty());
    for (name, path) in fixtures {
        let input = std::fs::read(&path).unwrap();
        for long in LONG {
            check_stable(carrier, &format!("{name} (B of {long} B)"), &input, long);
        }
    }
}

#[test]
fn wav_rewrites_keep_the_covered_bytes() {
    check_fixtures(&Wav, &["wav"]);
}

#[test]
fn wav_excludes_the_riff_sizes_and_the_label_chunk_and_its_room_only() {
    for name in ["pcm16_mono.wav", "rf64.wav"] {
        let a = write_label(&Wav, &read_fixture(name), &sample_label());
        let mut ex = exclusions(&Wav, &a);
        ex.sort_by_key(|r| r.start);
        let label = Wav.find(&mut Cursor::new(&a), &Limits::default()).unwrap()[0]
            .range
            .clone();
        let mut expected: Vec<Range<u64>> = Vec::new();
        expected.push(4..8);
        if name == "rf64.wav" {
            expected.push(20..28);
        }
        // The label chunk and the room after it (a `JUNK` chunk of `Limits::label_room`).
        let room = 8 + Limits::default().label_room;
        assert_eq!(&a[label.end as usize..label.end as usize + 4], b"JUNK");
        expected.push(label.start..label.end + room);
        assert_eq!(ex, expected, "{name}");
    }
}

#[test]
fn aiff_rewrites_keep_the_covered_bytes() {
    check_fixtures(&Aiff, &["aiff", "aifc"]);
    // An ID3 chunk before the sound data without padding: the tag grows and SSND moves.
    let sox = read_fixture("sox.aiff");
    let (at, ssnd) = (72, &sox[72..]);
    assert_eq!(&ssnd[..4], b"SSND");
    let tag = v23_tag(&[(b"TIT2", b"\0Tone".to_vec())], 0, 0);
    let mut file = sox[..at].to_vec();
    file.extend_from_slice(b"ID3 ");
    file.extend_from_slice(&(tag.len() as u32).to_be_bytes());
    file.extend_from_slice(&tag);
    if tag.len() % 2 == 1 {
        file.push(0);
    }
    file.extend_from_slice(ssnd);
    let size = (file.len() - 8) as u32;
    file[4..8].copy_from_slice(&size.to_be_bytes());
    for long in LONG {
        let [a, b, _] = check_stable(&Aiff, &format!("ID3 chunk before SSND (B of {long} B)"), &file, long);
        // The room our first write leaves in the tag (`Limits::label_room`) takes a short B.
        let room = Limits::default().label_room as usize;
        assert!(b.len() > a.len() || long < room, "B of {long} B");
    }
}

#[test]
fn aiff_excludes_the_sizes_the_label_frame_and_the_padding_only() {
    let a = write_label(&Aiff, &read_fixture("sox.aiff"), &sample_label());
    let ex = exclusions(&Aiff, &a);
    let frame = Aiff.find(&mut Cursor::new(&a), &Limits::default()).unwrap()[0]
        .range
        .clone();
    let total: u64 = ex.iter().map(|r| r.end - r.start).sum();
    // FORM size, chunk size, tag size: 4 bytes each; the pad byte at most one; the tag's
    // padding, the room for later labels.
    let room = Limits::default().label_room;
    assert!(total <= frame.end - frame.start + 13 + room, "{ex:?}");
    assert!(total > room, "the padding is left out: {ex:?}");
    assert!(ex.contains(&(4..8)));
}

#[test]
fn mp3_rewrites_keep_the_covered_bytes() {
    check_fixtures(&Mp3, &["mp3"]);
}

#[test]
fn mp3_keeps_other_frames_covered() {
    let a = write_label(&Mp3, &read_fixture("id3v24.mp3"), &sample_label());
    let kept = covered(&a, &exclusions(&Mp3, &a));
    // ffmpeg's title and artist frames, the tag header's version and flags, and the audio.
    for needle in [&b"TIT2"[..], b"Test tone", b"TPE1", b"aigc-label", b"ID3\x04\x00\x00"] {
        assert!(kept.windows(needle.len()).any(|w| w == needle), "{needle:?} covered");
    }
    assert!(!kept.windows(4).any(|w| w == b"AIGC"), "the label frame is not covered");
    let audio = &a[a.len() - 1000..];
    assert!(kept.ends_with(audio), "the audio frames are covered");
}

/// A label in an ID3v2.4 tag appended at the end is left out like one in the leading tag (the
/// frame, the sizes in header and footer); the tag's other frame, its header and footer and the
/// ID3v1 trailer stay covered. Once our writer has moved the label to the leading tag, nothing
/// in the appended tag is left out, and `mp3_rewrites_keep_the_covered_bytes` checks later
/// rewrites of that fixture.
#[test]
fn mp3_label_in_an_appended_tag_is_excluded() {
    let original = read_fixture("id3v24_appended.mp3");
    let ex = exclusions(&Mp3, &original);
    let kept = covered(&original, &ex);
    for needle in [
        &b"TCOM"[..],
        b"appended composer",
        b"3DI\x04\x00\x10",
        b"ID3\x04\x00\x10",
        b"TAGTest tone",
    ] {
        assert!(kept.windows(needle.len()).any(|w| w == needle), "{needle:?} covered");
    }
    assert!(
        !kept.windows(13).any(|w| w == b"appended-0001"),
        "the label is not covered"
    );
    assert!(
        original.len() - kept.len() < 300,
        "{} bytes left out",
        original.len() - kept.len()
    );

    let a = write_label(&Mp3, &original, &sample_label());
    let leading = 10 + a[6..10].iter().fold(0, |acc, &x| (acc << 7) | usize::from(x));
    assert!(
        exclusions(&Mp3, &a).iter().all(|r| r.end <= leading as u64),
        "only the leading tag is left out once the label moved there"
    );
}

#[test]
fn mp3_with_an_unsynchronised_v23_tag_and_extended_header() {
    // A v2.3 tag with tag-level unsynchronisation, an extended header recording the padding,
    // a frame whose data holds FF E0 (stuffed when stored), and room to spare.
    let mut frames = Vec::new();
    for (id, data) in [
        (b"TIT2", vec![0, b'a', 0xff, 0xe0, 0xff]),
        (b"TPE1", b"\0someone".to_vec()),
    ] {
        frames.extend_from_slice(id);
        frames.extend_from_slice(&(data.len() as u32).to_be_bytes());
        frames.extend_from_slice(&[0, 0]);
        frames.extend_from_slice(&data);
    }
    let padding = 600u32;
    let mut body = vec![0, 0, 0, 6, 0, 0];
    body.extend_from_slice(&padding.to_be_bytes());
    body.extend_from_slice(&frames);
    let mut stored = aigc_label_audio_unsync(&body);
    stored.extend(std::iter::repeat_n(0, padding as usize));
    let size = stored.len() as u32;
    let mut file = b"ID3\x03\x00\xc0".to_vec();
    file.extend_from_slice(&[
        (size >> 21) as u8 & 0x7f,
        (size >> 14) as u8 & 0x7f,
        (size >> 7) as u8 & 0x7f,
        size as u8 & 0x7f,
    ]);
    file.extend_from_slice(&stored);
    let no_tag = read_fixture("no_tag.mp3");
    file.extend_from_slice(&no_tag);
    for long in LONG {
        check_stable(&Mp3, &format!("unsynchronised v2.3 (B of {long} B)"), &file, long);
    }
}

#[test]
fn mp3_with_a_v24_footer() {
    // A v2.4 tag with a footer has no padding: it is resized exactly, header and footer sizes
    // both change.
    let mut frame = b"TIT2\0\0\0\x04\0\0\x03abc".to_vec();
    frame.extend_from_slice(b"TPE1\0\0\0\x02\0\0\x03x");
    let size = frame.len() as u8;
    let mut file = b"ID3\x04\x00\x10\0\0\0".to_vec();
    file.push(size);
    file.extend_from_slice(&frame);
    file.extend_from_slice(b"3DI\x04\x00\x10\0\0\0");
    file.push(size);
    let plain = found_texts(&Mp3, &file);
    assert!(plain.is_empty());
    file.extend_from_slice(&read_fixture("no_tag.mp3"));
    for long in LONG {
        let [a, ..] = check_stable(&Mp3, &format!("v2.4 footer (B of {long} B)"), &file, long);
        assert_eq!(&a[..6], b"ID3\x04\x00\x10", "footer flag kept");
    }
}

/// ID3v2 unsynchronisation (a zero after every FF that precedes 00, E0..FF or the end); the
/// crate's own is private.
fn aigc_label_audio_unsync(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, &b) in data.iter().enumerate() {
        out.push(b);
        if b == 0xff && data.get(i + 1).is_none_or(|&n| n == 0 || n >= 0xe0) {
            out.push(0);
        }
    }
    out
}

#[test]
fn flac_rewrites_keep_the_covered_bytes() {
    check_fixtures(&Flac, &["flac"]);
}

#[test]
fn flac_keeps_the_vendor_and_other_comments_covered() {
    let a = write_label(&Flac, &read_fixture("ffmpeg.flac"), &sample_label());
    let kept = covered(&a, &exclusions(&Flac, &a));
    assert!(kept.windows(15).any(|w| w == b"title=Test tone"));
    assert!(kept.windows(6).any(|w| w == b"ffmpeg"), "vendor covered");
    assert!(!kept.windows(5).any(|w| w == b"AIGC="));
    assert!(kept.starts_with(&a[..4 + 4 + 34]), "fLaC and STREAMINFO covered");
}

#[test]
fn ogg_rewrites_keep_the_covered_bytes_even_when_the_page_count_changes() {
    check_fixtures(&Ogg, &["ogg", "opus"]);
    // The 150 000-byte label really does need more pages: the audio pages are renumbered.
    let input = read_fixture("vorbis.ogg");
    let [a, b, _] = check_stable(&Ogg, "vorbis.ogg", &input, 150_000);
    let seq = |data: &[u8]| {
        let last = data.windows(4).rposition(|w| w == b"OggS").unwrap();
        u32::from_le_bytes(data[last + 18..last + 22].try_into().unwrap())
    };
    assert!(seq(&b) >= seq(&a) + 2, "{} vs {}", seq(&b), seq(&a));
}

#[test]
fn ogg_keeps_the_setup_header_and_other_comments_covered() {
    let a = write_label(&Ogg, &read_fixture("vorbis.ogg"), &sample_label());
    let kept = covered(&a, &exclusions(&Ogg, &a));
    assert!(kept.windows(15).any(|w| w == b"title=Test tone"));
    assert!(kept.windows(7).any(|w| w == b"\x05vorbis"), "setup header covered");
    assert!(!kept.windows(5).any(|w| w == b"AIGC="));
}

/// The fuzz seed corpora hold wild and unusual layouts (labels in a `LIST`/`INFO` child or
/// before `data`, two labels, two ID3 tags, v2.2 / unsynchronised / footer tags, two comment
/// blocks, chained Ogg links): once our writer has put its label in, rewriting it must keep the
/// covered bytes too.
#[test]
fn fuzz_seed_layouts_are_stable_once_labelled() {
    let carriers: [(&str, &dyn Carrier); 4] = [("wav", &Wav), ("id3", &Mp3), ("flac", &Flac), ("ogg", &Ogg)];
    for (target, carrier) in carriers {
        let checked = std::cell::Cell::new(0);
        replay_corpus(target, |data| {
            let limits = Limits::default();
            let readable = carrier.find(&mut Cursor::new(data), &limits).is_ok();
            if readable
                && carrier
                    .write(&mut Cursor::new(data), &mut Vec::new(), &sample_label(), &limits)
                    .is_ok()
            {
                check_stable(carrier, &format!("{target} seed"), data, 5_000);
                checked.set(checked.get() + 1);
            }
        });
        assert!(checked.get() >= 3, "{target}: {} seeds checked", checked.get());
    }
}

/// `Written::label_range` names the same structure `find` reports, so a signer can use either.
#[test]
fn written_label_range_is_what_find_reports() {
    let limits = Limits::default();
    let carriers: [(&dyn Carrier, &[&str]); 4] = [
        (&Wav, &["wav"]),
        (&Mp3, &["mp3"]),
        (&Flac, &["flac"]),
        (&Ogg, &["ogg", "opus"]),
    ];
    for (carrier, exts) in carriers {
        for (name, path) in audio_fixtures(exts) {
            let input = std::fs::read(path).unwrap();
            for long in [10, 150_000] {
                let mut out = Vec::new();
                let written = carrier
                    .write(&mut Cursor::new(&input), &mut out, &label("w-", long), &limits)
                    .unwrap();
                let found = carrier.find(&mut Cursor::new(&out), &limits).unwrap();
                assert_eq!(found.len(), 1, "{name}");
                assert_eq!(found[0].range, written.label_range, "{name} ({long} B)");
            }
        }
    }
}
