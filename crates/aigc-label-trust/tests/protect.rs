//! Signing, binding and verifying labels in real PNG and JPEG files.

mod common;

use std::io::Cursor;

use aigc_label_core::check::{Strictness, validate_label};
use aigc_label_core::inspect::Options;
use aigc_label_core::{Carrier, Error, Label};
use aigc_label_image::{Jpeg, Png};
use aigc_label_testutil::fixtures;
use aigc_label_trust::{BindingStatus, SignSpec, SignatureStatus, TrustList, TrustVerdict, embed_signed, verify::id};
use common::*;

fn sign_both(carrier: &dyn Carrier, input: &[u8]) -> Result<(Vec<u8>, aigc_label_trust::Protected), Error> {
    let (producer, platform) = (producer_key(), platform_key());
    let specs = [SignSpec::producer(&producer), SignSpec::propagator(&platform)];
    let mut out = Cursor::new(Vec::new());
    let protected = embed_signed(
        carrier,
        &mut Cursor::new(input),
        &mut out,
        &propagated_label(),
        &specs,
        &Options::default(),
    )?;
    Ok((out.into_inner(), protected))
}

/// The positions of `out` the content binding covers: outside every range the carrier leaves
/// out (the label's structure, and the room an in-place update writes into).
fn bound_positions(carrier: &dyn Carrier, out: &[u8]) -> Vec<usize> {
    let excluded = carrier
        .binding_exclusions(&mut Cursor::new(out), &aigc_label_core::Limits::default())
        .unwrap();
    (0..out.len())
        .filter(|&p| !excluded.iter().any(|r| r.contains(&(p as u64))))
        .collect()
}

fn carriers() -> [(&'static dyn Carrier, &'static str, &'static [&'static str]); 2] {
    [(&Png, "png", &["png"]), (&Jpeg, "jpeg", &["jpg"])]
}

#[test]
fn every_png_and_jpeg_fixture_signs_binds_and_verifies() {
    for (carrier, dir, exts) in carriers() {
        for path in fixtures(dir, exts) {
            let input = std::fs::read(&path).unwrap();
            let (out, protected) = match sign_both(carrier, &input) {
                Ok(ok) => ok,
                // The carrier refuses to move a label out of Extended XMP (its own rule).
                Err(Error::Unsupported(why)) if why.to_string().contains("Extended XMP") => continue,
                Err(e) => panic!("{}: {e}", path.display()),
            };
            let v = verification(carrier, &out, &trust()).unwrap_or_else(|| panic!("{}", path.display()));
            assert_eq!(
                v.verdict(),
                TrustVerdict::Trusted,
                "{}: {:#?}",
                path.display(),
                v.checks
            );
            assert!(matches!(v.producer.signature, SignatureStatus::Valid { .. }));
            assert!(matches!(v.propagator.signature, SignatureStatus::Valid { .. }));
            assert_eq!(v.producer.binding, BindingStatus::Match);
            assert_eq!(v.propagator.binding, BindingStatus::Match);
            let strict = validate_label(&protected.label, Strictness::Strict);
            assert!(strict.iter().all(|c| c.is_ok()), "{}: {strict:?}", path.display());

            // A light sweep on every fixture (the exhaustive ones are below): the first, middle
            // and last byte of the label text and of the bound content.
            let text = label_text_range(&out);
            let bound = bound_positions(carrier, &out);
            let picks = [text.start, (text.start + text.end) / 2, text.end - 1]
                .into_iter()
                .chain([bound[0], bound[bound.len() / 2], bound[bound.len() - 1]]);
            for pos in picks {
                let mut tampered = out.clone();
                tampered[pos] ^= 0x01;
                let result = verdict(carrier, &tampered, &trust());
                assert_ne!(result, Some(TrustVerdict::Trusted), "{}: flip at {pos}", path.display());
            }
        }
    }
}

#[test]
fn guide_form_signature_is_the_plain_a1_message() {
    let key = producer_key();
    let input = std::fs::read(aigc_label_testutil::fixture("png/rgb.png")).unwrap();
    let mut out = Cursor::new(Vec::new());
    let label = Label::new(PRODUCER, "img-0001");
    let specs = [SignSpec::producer(&key).unbound().without_public_key()];
    let protected = embed_signed(
        &Png,
        &mut Cursor::new(&input),
        &mut out,
        &label,
        &specs,
        &Options::default(),
    )
    .unwrap();
    assert!(!protected.label.reserved_code1.contains("Bindings"));
    assert!(!protected.label.reserved_code1.contains("PubKey"));
    let v = verification(&Png, out.get_ref(), &trust()).unwrap();
    assert_eq!(v.verdict(), TrustVerdict::Trusted);
    assert_eq!(v.producer.binding, BindingStatus::Absent);
    assert!(!v.is_bound());
}

#[test]
fn keys_off_the_trust_list_are_unknown_and_an_embedded_key_is_reported() {
    let input = std::fs::read(aigc_label_testutil::fixture("jpeg/baseline.jpg")).unwrap();
    let (out, _) = sign_both(&Jpeg, &input).unwrap();
    let v = verification(&Jpeg, &out, &TrustList::new()).unwrap();
    assert_eq!(v.verdict(), TrustVerdict::Untrusted);
    assert!(matches!(
        v.producer.signature,
        SignatureStatus::UnknownKey {
            embedded_key_verifies: true,
            ..
        }
    ));
    assert!(v.checks.iter().any(|c| c.id == id::SIGNATURE_UNKNOWN_KEY));

    // A key trusted for another provider does not count for this one.
    let mut wrong = TrustList::new();
    wrong.add("001191440300708461136T1XGW4", producer_key().public_key());
    let v = verification(&Jpeg, &out, &wrong).unwrap();
    assert!(matches!(v.producer.signature, SignatureStatus::UnknownKey { .. }));

    // A trusted key with that id that did not make the signature: invalid.
    let mut impostor = TrustList::new();
    let other = aigc_label_trust::SigningKey::generate(aigc_label_trust::Algorithm::Sm2Sm3).unwrap();
    impostor.add_with_id(PRODUCER, producer_key().key_id(), other.public_key());
    let v = verification(&Jpeg, &out, &impostor).unwrap();
    assert!(
        matches!(v.producer.signature, SignatureStatus::Invalid(_)),
        "{:?}",
        v.producer
    );
    assert_eq!(v.verdict(), TrustVerdict::Tampered);

    // The trusted key under another id: the KeyID was altered or is wrong.
    let mut renamed = TrustList::new();
    renamed.add_with_id(PRODUCER, "other-id", producer_key().public_key());
    let v = verification(&Jpeg, &out, &renamed).unwrap();
    assert!(
        matches!(&v.producer.signature, SignatureStatus::Invalid(why) if why.contains("KeyID")),
        "{:?}",
        v.producer
    );
}

#[test]
fn decoded_content_change_breaks_the_binding_but_not_the_signature() {
    let input = std::fs::read(aigc_label_testutil::fixture("png/rgb.png")).unwrap();
    let (out, protected) = sign_both(&Png, &input).unwrap();
    // Re-encode the image with one pixel changed, then put the same label back in.
    let mut img = image::load_from_memory(&out).unwrap().to_rgb8();
    img.get_pixel_mut(3, 3).0[0] ^= 0x40;
    let mut reencoded = Vec::new();
    img.write_to(&mut Cursor::new(&mut reencoded), image::ImageFormat::Png)
        .unwrap();
    let mut relabelled = Vec::new();
    aigc_label_core::embed::rewrite_with(
        &Png,
        &mut Cursor::new(&reencoded),
        &mut relabelled,
        &protected.label,
        &Options::default(),
    )
    .unwrap();
    let v = verification(&Png, &relabelled, &trust()).unwrap();
    assert_eq!(v.producer.binding, BindingStatus::ContentChanged);
    assert!(matches!(v.producer.signature, SignatureStatus::Valid { .. }));
    assert_eq!(v.verdict(), TrustVerdict::Tampered);
    assert!(v.checks.iter().any(|c| c.id == id::BINDING_CHANGED));
}

/// A label copied onto other content keeps a valid signature but its binding fails.
#[test]
fn a_label_copied_onto_another_image_fails_its_binding() {
    let a = std::fs::read(aigc_label_testutil::fixture("jpeg/baseline.jpg")).unwrap();
    let b = std::fs::read(aigc_label_testutil::fixture("jpeg/progressive.jpg")).unwrap();
    let (_, protected) = sign_both(&Jpeg, &a).unwrap();
    let mut copied = Vec::new();
    aigc_label_core::embed::rewrite_with(
        &Jpeg,
        &mut Cursor::new(&b),
        &mut copied,
        &protected.label,
        &Options::default(),
    )
    .unwrap();
    assert_eq!(verdict(&Jpeg, &copied, &trust()), Some(TrustVerdict::Tampered));
}

/// Where the label's JSON text sits in a file our carriers wrote: the XMP property's value, in
/// element form (ends at the next `<`) or attribute form (ends at the closing quote).
fn label_text_range(bytes: &[u8]) -> std::ops::Range<usize> {
    let find = |needle: &[u8]| bytes.windows(needle.len()).position(|w| w == needle);
    let start = find(b"{\"Label\"")
        .or_else(|| find(b"{&quot;Label"))
        .expect("label text");
    let end_byte = match bytes[start - 1] {
        b'>' => b'<',
        quote => quote,
    };
    start
        ..start
            + bytes[start..]
                .iter()
                .position(|&b| b == end_byte)
                .expect("end of the label text")
}

/// Flipping one byte of a label signed in both slots, or of the bound content, is caught.
///
/// The flip is `^ 0x01`, which changes a character's identity; a case-only change of a member
/// name (`^ 0x20` on a letter) is absorbed by design: the core reads field names and this crate
/// reads envelope member names in any case, reporting it as a spelling deviation, and values
/// are signed, not their spelling.
fn flips_are_caught(carrier: &dyn Carrier, input: &[u8], content_positions: usize) {
    let trust = trust();
    let (out, _) = sign_both(carrier, input).unwrap();
    assert_eq!(verdict(carrier, &out, &trust), Some(TrustVerdict::Trusted));
    let label = label_text_range(&out);
    let bound = bound_positions(carrier, &out);
    let step = (bound.len() / content_positions).max(1);
    let positions = label
        .clone()
        .chain(bound.iter().copied().step_by(step))
        .chain(bound.last().copied());
    let mut checked = 0;
    for pos in positions {
        let mut tampered = out.clone();
        tampered[pos] ^= 0x01;
        let result = verdict(carrier, &tampered, &trust);
        assert_ne!(
            result,
            Some(TrustVerdict::Trusted),
            "flip at {pos} ({:?}) not caught",
            out[pos] as char
        );
        checked += 1;
    }
    assert!(checked > label.len());
}

#[test]
fn flipping_any_label_byte_or_bound_byte_fails_verification_png() {
    let input = std::fs::read(aigc_label_testutil::fixture("png/xmp-existing.png")).unwrap();
    flips_are_caught(&Png, &input, 48);
}

#[test]
fn flipping_any_label_byte_or_bound_byte_fails_verification_jpeg() {
    let input = std::fs::read(aigc_label_testutil::fixture("jpeg/exif-icc-xmp.jpg")).unwrap();
    flips_are_caught(&Jpeg, &input, 48);
}

/// Replaces the first `from` inside the label structure by `to` (same length).
fn edit_in_structure(bytes: &mut [u8], structure: std::ops::Range<usize>, from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let at = bytes[structure.clone()]
        .windows(from.len())
        .position(|w| w == from)
        .expect("text to edit")
        + structure.start;
    bytes[at..at + to.len()].copy_from_slice(to);
}

/// The binding covers everything but the label structure, and the signatures cover the label;
/// the structure's other bytes (the XMP packet's other properties) may change freely.
#[test]
fn changes_outside_the_binding_and_the_label_keep_it_trusted() {
    let input = std::fs::read(aigc_label_testutil::fixture("png/xmp-existing.png")).unwrap();
    let (mut out, protected) = sign_both(&Png, &input).unwrap();
    let r = protected.written.label_range.start as usize..protected.written.label_range.end as usize;
    edit_in_structure(&mut out, r.clone(), b"Plasma test", b"Plasma TEST");
    // The chunk CRC covers the chunk's type and data; recompute it as any editor would.
    let crc = crc32fast::hash(&out[r.start + 4..r.end - 4]);
    out[r.end - 4..r.end].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(verdict(&Png, &out, &trust()), Some(TrustVerdict::Trusted));

    let input = std::fs::read(aigc_label_testutil::fixture("jpeg/exif-icc-xmp.jpg")).unwrap();
    let (mut out, protected) = sign_both(&Jpeg, &input).unwrap();
    let r = protected.written.label_range.start as usize..protected.written.label_range.end as usize;
    edit_in_structure(&mut out, r, b"harbour", b"HARBOUR");
    assert_eq!(verdict(&Jpeg, &out, &trust()), Some(TrustVerdict::Trusted));
}

#[test]
fn a_flood_of_signatures_is_checked_only_up_to_the_bound() {
    use aigc_label_trust::envelope::{PubSd, SecurityData, SignatureEntry};
    use aigc_label_trust::verify::MAX_SIGNATURES;
    let mut label = Label::new(PRODUCER, "img-1");
    let key = producer_key();
    aigc_label_trust::sign_slot(&mut label, aigc_label_trust::Slot::Producer, &key, Default::default()).unwrap();
    let mut envelope = SecurityData::parse(&label.reserved_code1, &Default::default())
        .unwrap()
        .data;
    let first = envelope.pub_sd[0].clone();
    let PubSd::Signature(entry) = &first else { panic!() };
    for _ in 0..100 {
        envelope.pub_sd.push(PubSd::Signature(SignatureEntry {
            value: vec![0x30, 0x00],
            ..entry.clone()
        }));
    }
    label.reserved_code1 = envelope.to_json().unwrap();
    let v = aigc_label_trust::verify(&Png, &label, &mut Cursor::new(b""), &trust(), &Default::default()).unwrap();
    let checked = v
        .checks
        .iter()
        .filter(|c| c.id.starts_with("signature.") && c.detail.starts_with("ReservedCode1"))
        .count();
    assert_eq!(checked, MAX_SIGNATURES + 1);
    assert_ne!(v.verdict(), TrustVerdict::Trusted);
}

/// Counts the bytes read through it.
struct Counting<R> {
    inner: R,
    read: u64,
}

impl<R: std::io::Read> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl<R: std::io::Seek> std::io::Seek for Counting<R> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[test]
fn copies_of_one_file_share_one_digest_pass() {
    let input = std::fs::read(
        fixtures("png", &["png"])
            .into_iter()
            .find(|p| p.ends_with("rgb.png"))
            .unwrap(),
    )
    .unwrap();
    let (signed, _) = sign_both(&Png, &input).unwrap();
    // A second copy of the label chunk right after the first: two copies, both excluded.
    let limits = aigc_label_core::Limits::default();
    let found = Png.find(&mut Cursor::new(&signed), &limits).unwrap();
    let chunk = found[0].range.start as usize..found[0].range.end as usize;
    let mut two = signed[..chunk.end].to_vec();
    two.extend_from_slice(&signed[chunk.clone()]);
    two.extend_from_slice(&signed[chunk.end..]);
    let report = aigc_label_core::inspect::inspect_with(&Png, &mut Cursor::new(&two), &Options::default()).unwrap();
    assert_eq!(report.copies.len(), 2);

    let mut once = Counting {
        inner: Cursor::new(&two),
        read: 0,
    };
    let together = aigc_label_trust::verify_copies(&Png, &report.copies, &mut once, &trust(), &limits).unwrap();
    let mut each = Counting {
        inner: Cursor::new(&two),
        read: 0,
    };
    let apart: Vec<_> = report
        .copies
        .iter()
        .map(|c| aigc_label_trust::verify_copy(&Png, c, &mut each, &trust(), &limits).unwrap())
        .collect();
    assert_eq!(together, apart);
    assert!(
        together.iter().flatten().all(|v| v.verdict() == TrustVerdict::Trusted),
        "{together:#?}"
    );
    // One pass reads every byte the binding covers once (the room of an in-place update, left
    // out of the binding, need not be read).
    let covered = bound_positions(&Png, &two).len() as u64;
    assert!(
        once.read < each.read && once.read >= covered,
        "one pass reads {} bytes, one per copy {}",
        once.read,
        each.read
    );
}
