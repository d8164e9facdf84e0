//! The content binding's contract, checked for every carrier the facade registers:
//!
//! - a label signed and bound by the producer verifies;
//! - flipping any byte the binding covers, or any byte of a signed field, makes verification
//!   fail; the only flips that may leave it passing are in bytes the carrier excludes, and only
//!   when every signed field still reads the same;
//! - the excluded bytes are few: the label's structure plus a small allowance for the size,
//!   checksum and offset fields that change with it;
//! - after the platform's propagation step the file holds one label, the producer's signature
//!   and binding still verify, and so do the platform's; the flip property holds again.
//!
//! Every registered carrier must appear in [`SAMPLES`], so a new format cannot skip this test.

use std::collections::BTreeSet;
use std::io::Cursor;
use std::ops::Range;

use aigc_label::trust::propagate::{Request, propagate};
use aigc_label::trust::{
    BindingStatus, SignSpec, SignatureStatus, SigningKey, TrustList, Verification, embed_signed, verify_copy,
};
use aigc_label::{Carrier, Label, Limits, Options, registry};
use aigc_label_testutil::fixture;

const PRODUCER: &str = "001191440300708461136T1XGW3";
const PLATFORM: &str = "001191110108551385082Q20000";

/// One input per carrier layout worth checking: (format name, fixture path).
const SAMPLES: &[(&str, &str)] = &[
    ("png", "png/rgb.png"),
    ("png", "png/apng.png"),
    ("jpeg", "jpeg/exif-icc-xmp.jpg"),
    ("jpeg", "jpeg/progressive.jpg"),
    ("webp", "webp/lossy.webp"),
    ("webp", "webp/animated-icc.webp"),
    ("gif", "gif/animated.gif"),
    ("tiff", "tiff/le.tif"),
    ("tiff", "tiff/bigtiff-be.tif"),
    ("tiff", "tiff/multipage.tif"),
    ("tiff", "tiff/xmp-existing.tif"),
    ("heif", "heif/rgb.heic"),
    ("heif", "heif/rgb.avif"),
    ("heif", "heif/xmp-existing.heic"),
    ("heif", "heif/xmp-compressed.avif"),
    ("wav", "audio/pcm16_mono.wav"),
    ("wav", "audio/list_info.wav"),
    ("wav", "audio/rf64.wav"),
    ("wav", "audio/id3_mutagen.wav"),
    ("mp3", "audio/id3v24.mp3"),
    ("mp3", "audio/no_tag.mp3"),
    ("mp3", "audio/id3v23.mp3"),
    ("mp3", "audio/id3v24_appended.mp3"),
    ("flac", "audio/sox.flac"),
    ("ogg", "audio/vorbis.ogg"),
    ("ogg", "audio/opus.opus"),
    ("ogg", "audio/sox.ogg"),
    ("aiff", "audio/sox.aiff"),
    ("aiff", "audio/sox.aifc"),
    ("aiff", "audio/ffmpeg_id3.aiff"),
    ("mp4", "video/mp4_faststart.mp4"),
    ("mp4", "video/mp4_moov_end.mp4"),
    ("mp4", "video/mp4_fragmented.mp4"),
    ("mp4", "video/m4a_tagged.m4a"),
    ("mp4", "video/mov_plain.mov"),
    ("matroska", "video/mkv_plain.mkv"),
    ("matroska", "video/webm_plain.webm"),
    ("flv", "video/flv_plain.flv"),
    ("flv", "video/flv_keyframes.flv"),
    ("avi", "video/avi_plain.avi"),
    ("markdown", "text/plain.md"),
    ("markdown", "text/front-matter.md"),
    ("pdf", "text/classic.pdf"),
    ("pdf", "text/objstm.pdf"),
    ("pdf", "text/incremental.pdf"),
    ("ooxml", "text/small.docx"),
    ("ooxml", "text/table.xlsx"),
    ("ooxml", "text/doc-custom-props.docx"),
];

/// How many positions of each file are flipped, spread evenly (plus every position near the
/// start, the end and the edge of each excluded range).
const SPREAD: u64 = 300;

fn producer_key() -> SigningKey {
    SigningKey::parse("sm2:3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8").unwrap()
}

fn platform_key() -> SigningKey {
    SigningKey::parse("ed25519:9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap()
}

fn trust() -> TrustList {
    let mut t = TrustList::new();
    t.add(PRODUCER, producer_key().public_key());
    t.add(PLATFORM, platform_key().public_key());
    t
}

/// What a verifier makes of a file: its label and verification, or nothing readable.
fn read(carrier: &dyn Carrier, bytes: &[u8]) -> Option<(Label, Verification)> {
    let report = aigc_label::core::inspect::inspect_with(carrier, &mut Cursor::new(bytes), &Options::default()).ok()?;
    let [copy] = report.copies.as_slice() else { return None };
    let label = copy.label()?;
    let v = verify_copy(carrier, copy, &mut Cursor::new(bytes), &trust(), &Limits::default()).ok()??;
    Some((label, v))
}

/// Every signature present is valid and every binding matches, and at least one binding exists.
fn passes(v: &Verification) -> bool {
    let slots = [&v.producer, &v.propagator];
    let signed: Vec<_> = slots
        .iter()
        .filter(|s| s.signature != SignatureStatus::Absent)
        .collect();
    !signed.is_empty()
        && signed
            .iter()
            .all(|s| matches!(s.signature, SignatureStatus::Valid { .. }) && s.binding == BindingStatus::Match)
        && v.verdict() == aigc_label::trust::TrustVerdict::Trusted
}

/// The fields the label's signatures cover: all seven once a platform has signed, otherwise the
/// first four (the propagation pair is the platform's to rewrite, so the producer does not sign
/// it; see `aigc_label_trust::message`).
fn signed_part(label: &Label, v: &Verification) -> Label {
    let mut l = label.clone();
    if v.propagator.signature == SignatureStatus::Absent {
        l.content_propagator.clear();
        l.propagate_id.clear();
        l.reserved_code2.clear();
    }
    l
}

fn merged(mut ranges: Vec<Range<u64>>) -> Vec<Range<u64>> {
    ranges.sort_by_key(|r| r.start);
    let mut out: Vec<Range<u64>> = Vec::new();
    for r in ranges.into_iter().filter(|r| r.start < r.end) {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

fn positions(len: u64, excluded: &[Range<u64>]) -> BTreeSet<u64> {
    let mut at: BTreeSet<u64> = (0..len.min(64)).chain(len.saturating_sub(64)..len).collect();
    at.extend((0..SPREAD).map(|i| i * len / SPREAD));
    for r in excluded {
        for edge in [r.start, r.end] {
            at.extend(edge.saturating_sub(8)..(edge + 8).min(len));
        }
        // Inside the excluded range: the label's own bytes, the padding, the size fields.
        let step = ((r.end - r.start) / 64).max(1);
        at.extend((r.start..r.end).step_by(step as usize));
    }
    at
}

/// Flips each chosen byte of `file` and checks the verification outcome against the exclusions.
fn flip_property(name: &str, carrier: &dyn Carrier, file: &[u8], label: &Label) {
    let excluded = merged(
        carrier
            .binding_exclusions(&mut Cursor::new(file), &Limits::default())
            .unwrap(),
    );
    let inside = |p: u64| excluded.iter().any(|r| r.contains(&p));
    let mut flipped = file.to_vec();
    let mut covered_checked = 0;
    for p in positions(file.len() as u64, &excluded) {
        let i = p as usize;
        flipped[i] = !file[i];
        let outcome = read(carrier, &flipped);
        flipped[i] = file[i];
        let Some((read_label, v)) = outcome else { continue };
        if !inside(p) {
            covered_checked += 1;
            assert!(
                !passes(&v),
                "{name}: flipping covered byte {p} of {} still verifies: {v:#?}",
                file.len()
            );
        } else if passes(&v) {
            assert_eq!(
                signed_part(&read_label, &v),
                signed_part(label, &v),
                "{name}: flipping excluded byte {p} changed a signed field yet it still verifies"
            );
        }
    }
    assert!(
        covered_checked > 0 || file.len() < 64,
        "{name}: no flip of a covered byte left a readable file"
    );
}

/// The bytes excluded beyond the label structures must be few.
fn exclusions_are_tight(name: &str, carrier: &dyn Carrier, file: &[u8]) {
    let limits = Limits::default();
    let excluded = merged(carrier.binding_exclusions(&mut Cursor::new(file), &limits).unwrap());
    let structures = merged(
        carrier
            .find(&mut Cursor::new(file), &limits)
            .unwrap()
            .into_iter()
            .map(|f| f.range)
            .collect(),
    );
    let total = |rs: &[Range<u64>]| rs.iter().map(|r| r.end - r.start).sum::<u64>();
    let extra = total(&excluded).saturating_sub(total(&structures));
    // FLAC, MP3, AIFF and WAV writes that grow the metadata reserve `Limits::label_room` of
    // padding (zeros) so that later labels are written in place (issue 16); a binding leaves
    // padding out (WAV: a `JUNK` chunk and its header). A JPEG or WebP write leaves a room
    // segment (chunk) next to the label's: a label structure's worth plus that room. A Matroska
    // write leaves a Void of room inside its Tags element (and a small Void before the Tag when
    // the Tag's header would straddle a disk sector). A HEIF write leaves zeros after the packet
    // in its own `mdat`: a packet's worth and that room, with the `mdat` header. PNG: see below.
    let room = match carrier.format() {
        "flac" | "mp3" | "aiff" => limits.label_room,
        "wav" => limits.label_room + 16,
        "matroska" => limits.label_room + 16 + 520,
        "jpeg" | "webp" => limits.label_room + total(&structures) + 8,
        // A 16-byte `paSt` chunk before the label's, a `roOm` chunk after it (a label chunk's
        // worth and that room), and at most 523 bytes of `roOm` padding that keep the switch of
        // an update in place inside one disk sector.
        "png" => limits.label_room + total(&structures) + 16 + 12 + 523,
        "heif" => limits.label_room + total(&structures) + 16,
        _ => 0,
    };
    let allowance = 256 + file.len() as u64 / 20 + room;
    assert!(
        extra <= allowance,
        "{name}: {extra} bytes excluded beyond the label structures ({} B) of a {}-byte file; allowance {allowance}: {excluded:?}",
        total(&structures),
        file.len()
    );
    for s in &structures {
        assert!(
            excluded.iter().any(|r| r.start <= s.start && s.end <= r.end),
            "{name}: label structure {s:?} is not excluded: {excluded:?}"
        );
    }
}

fn check(format: &str, path: &str) {
    let carrier = registry()
        .by_name(format)
        .unwrap_or_else(|| panic!("no carrier {format}"));
    let input = std::fs::read(fixture(path)).unwrap();
    let name = format!("{format} {path}");
    let producer = producer_key();
    let label = Label::new(PRODUCER, "bind-0001");

    let mut signed = Cursor::new(Vec::new());
    let protected = embed_signed(
        carrier,
        &mut Cursor::new(&input),
        &mut signed,
        &label,
        &[SignSpec::producer(&producer)],
        &Options::default(),
    )
    .unwrap_or_else(|e| panic!("{name}: signed embed: {e}"));
    let signed = signed.into_inner();
    let (read_label, v) = read(carrier, &signed).unwrap_or_else(|| panic!("{name}: signed file does not read"));
    assert_eq!(read_label, protected.label);
    assert!(passes(&v), "{name}: {v:#?}");
    assert_eq!(v.producer.binding, BindingStatus::Match, "{name}");
    exclusions_are_tight(&name, carrier, &signed);
    flip_property(&name, carrier, &signed, &protected.label);

    let platform = platform_key();
    let mut propagated = Cursor::new(Vec::new());
    let request = Request {
        platform: PLATFORM,
        propagate_id: "a-much-longer-propagation-id-than-the-placeholder-0000000001",
        declared_by_user: false,
        signer: Some(&platform),
        bind: true,
    };
    let outcome = propagate(
        carrier,
        &mut Cursor::new(&signed),
        &mut propagated,
        &request,
        &Options::default(),
    )
    .unwrap_or_else(|e| panic!("{name}: propagate: {e}"));
    let written = outcome
        .label
        .unwrap_or_else(|| panic!("{name}: propagate wrote nothing"));
    let propagated = propagated.into_inner();
    let report = aigc_label::core::inspect::inspect_with(carrier, &mut Cursor::new(&propagated), &Options::default())
        .unwrap_or_else(|e| panic!("{name}: inspect after propagate: {e}"));
    assert_eq!(report.copies.len(), 1, "{name}: one label after propagate");
    let (read_label, v) = read(carrier, &propagated).unwrap_or_else(|| panic!("{name}: propagated file does not read"));
    assert_eq!(read_label, written);
    assert_eq!(
        read_label.reserved_code1, protected.label.reserved_code1,
        "{name}: producer's envelope kept"
    );
    assert!(
        matches!(v.producer.signature, SignatureStatus::Valid { .. }),
        "{name}: {v:#?}"
    );
    assert_eq!(
        v.producer.binding,
        BindingStatus::Match,
        "{name}: producer's binding after propagate"
    );
    assert!(
        matches!(v.propagator.signature, SignatureStatus::Valid { .. }),
        "{name}: {v:#?}"
    );
    assert_eq!(v.propagator.binding, BindingStatus::Match, "{name}: platform's binding");
    exclusions_are_tight(&name, carrier, &propagated);
    flip_property(&format!("{name} (propagated)"), carrier, &propagated, &written);
}

#[test]
fn every_registered_carrier_has_a_sample() {
    for carrier in registry().carriers() {
        assert!(
            SAMPLES.iter().any(|(f, _)| *f == carrier.format()),
            "carrier {} has no sample in the binding test",
            carrier.format()
        );
    }
}

macro_rules! samples {
    ($($test:ident: $format:literal $path:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check($format, $path);
            }
        )*

        #[test]
        fn every_sample_has_a_test() {
            let tested: &[(&str, &str)] = &[$(($format, $path)),*];
            assert_eq!(tested, SAMPLES);
        }
    };
}

samples! {
    png_rgb: "png" "png/rgb.png",
    png_apng: "png" "png/apng.png",
    jpeg_exif_icc_xmp: "jpeg" "jpeg/exif-icc-xmp.jpg",
    jpeg_progressive: "jpeg" "jpeg/progressive.jpg",
    webp_lossy: "webp" "webp/lossy.webp",
    webp_animated_icc: "webp" "webp/animated-icc.webp",
    gif_animated: "gif" "gif/animated.gif",
    tiff_le: "tiff" "tiff/le.tif",
    tiff_bigtiff_be: "tiff" "tiff/bigtiff-be.tif",
    tiff_multipage: "tiff" "tiff/multipage.tif",
    tiff_xmp_existing: "tiff" "tiff/xmp-existing.tif",
    heif_heic: "heif" "heif/rgb.heic",
    heif_avif: "heif" "heif/rgb.avif",
    heif_xmp_existing: "heif" "heif/xmp-existing.heic",
    heif_xmp_compressed: "heif" "heif/xmp-compressed.avif",
    wav_pcm16: "wav" "audio/pcm16_mono.wav",
    wav_list_info: "wav" "audio/list_info.wav",
    wav_rf64: "wav" "audio/rf64.wav",
    wav_id3_chunk: "wav" "audio/id3_mutagen.wav",
    mp3_id3v24: "mp3" "audio/id3v24.mp3",
    mp3_no_tag: "mp3" "audio/no_tag.mp3",
    mp3_id3v23: "mp3" "audio/id3v23.mp3",
    mp3_appended: "mp3" "audio/id3v24_appended.mp3",
    flac_sox: "flac" "audio/sox.flac",
    ogg_vorbis: "ogg" "audio/vorbis.ogg",
    ogg_opus: "ogg" "audio/opus.opus",
    ogg_sox: "ogg" "audio/sox.ogg",
    aiff_sox: "aiff" "audio/sox.aiff",
    aifc_sox: "aiff" "audio/sox.aifc",
    aiff_ffmpeg_id3: "aiff" "audio/ffmpeg_id3.aiff",
    mp4_faststart: "mp4" "video/mp4_faststart.mp4",
    mp4_moov_end: "mp4" "video/mp4_moov_end.mp4",
    mp4_fragmented: "mp4" "video/mp4_fragmented.mp4",
    m4a_tagged: "mp4" "video/m4a_tagged.m4a",
    mov_plain: "mp4" "video/mov_plain.mov",
    mkv_plain: "matroska" "video/mkv_plain.mkv",
    webm_plain: "matroska" "video/webm_plain.webm",
    flv_plain: "flv" "video/flv_plain.flv",
    flv_keyframes: "flv" "video/flv_keyframes.flv",
    avi_plain: "avi" "video/avi_plain.avi",
    markdown_plain: "markdown" "text/plain.md",
    markdown_front_matter: "markdown" "text/front-matter.md",
    pdf_classic: "pdf" "text/classic.pdf",
    pdf_objstm: "pdf" "text/objstm.pdf",
    pdf_incremental: "pdf" "text/incremental.pdf",
    ooxml_docx: "ooxml" "text/small.docx",
    ooxml_xlsx: "ooxml" "text/table.xlsx",
    ooxml_custom_props: "ooxml" "text/doc-custom-props.docx",
}
