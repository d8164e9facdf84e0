//! Explicit image labels: the size, contrast and placement rules measured from output pixels,
//! buffer types, the file-level helper, and an OCR witness.

use std::io::Cursor;
use std::path::PathBuf;

use aigc_label_core::inspect::{Options, inspect_with};
use aigc_label_core::{Carrier, Error, Label, embed};
use aigc_label_image::stamp::ab_glyph::FontArc;
use aigc_label_image::stamp::{
    BUNDLED_FONT, Backing, Carried, FileOptions, Length, Position, PreparedLabel, Rect, Stamper, Style, bundled_font,
    relative_luminance, stamp_file,
};
use aigc_label_image::{Jpeg, Png};
use image::codecs::gif::{GifDecoder, GifEncoder, Repeat};
use image::codecs::png::PngEncoder;
use image::{
    AnimationDecoder, DynamicImage, Frame, ImageDecoder, ImageEncoder, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage,
};

// ---------------------------------------------------------------------------------------------
// Backgrounds and measurements

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[derive(Debug, Clone, Copy)]
enum Background {
    White,
    Black,
    Noise,
}

const BACKGROUNDS: [Background; 3] = [Background::White, Background::Black, Background::Noise];

fn background(kind: Background, w: u32, h: u32) -> RgbaImage {
    match kind {
        Background::White => RgbaImage::from_pixel(w, h, Rgba([255, 255, 255, 255])),
        Background::Black => RgbaImage::from_pixel(w, h, Rgba([0, 0, 0, 255])),
        Background::Noise => {
            let mut rng = XorShift(0x1234_5678_9ABC_DEF1 ^ u64::from(w) << 20 ^ u64::from(h));
            RgbaImage::from_fn(w, h, |_, _| {
                let v = rng.next().to_le_bytes();
                Rgba([v[0], v[1], v[2], 255])
            })
        }
    }
}

/// Asserts that no pixel outside `rect` differs between `before` and `after`.
fn assert_unchanged_outside<P: image::Pixel + PartialEq + std::fmt::Debug>(
    before: &image::ImageBuffer<P, Vec<P::Subpixel>>,
    after: &image::ImageBuffer<P, Vec<P::Subpixel>>,
    rect: Rect,
) {
    assert_eq!(before.dimensions(), after.dimensions());
    for (x, y, p) in after.enumerate_pixels() {
        if !rect.contains(x, y) {
            assert_eq!(p, before.get_pixel(x, y), "pixel ({x}, {y}) outside {rect:?} changed");
        }
    }
}

/// Luma in sRGB code values (Rec. 709 weights), for classifying pixels as glyph or ground.
fn luma(p: &Rgba<u8>) -> f64 {
    0.2126 * f64::from(p.0[0]) + 0.7152 * f64::from(p.0[1]) + 0.0722 * f64::from(p.0[2])
}

/// What the output pixels alone say about a label in `rect`: glyph pixels are those lighter
/// than halfway between the darkest and lightest pixel of the rectangle (the text is light on a
/// dark backing); the surround is every other pixel not touching a glyph pixel.
struct Measured {
    ink_rows: u32,
    glyph_luminance: f64,
    surround_luminance: f64,
}

impl Measured {
    fn contrast(&self) -> f64 {
        (self.glyph_luminance + 0.05) / (self.surround_luminance + 0.05)
    }
}

fn measure(image: &RgbaImage, rect: Rect) -> Measured {
    let pixel = |x: u32, y: u32| image.get_pixel(rect.x + x, rect.y + y);
    let (mut lo, mut hi) = (f64::MAX, f64::MIN);
    for y in 0..rect.height {
        for x in 0..rect.width {
            let v = luma(pixel(x, y));
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    let mid = (lo + hi) / 2.0;
    let glyph = |x: i64, y: i64| {
        x >= 0
            && y >= 0
            && x < i64::from(rect.width)
            && y < i64::from(rect.height)
            && luma(pixel(x as u32, y as u32)) > mid
    };
    let (mut first, mut last) = (None, 0);
    let mut glyph_lum = Vec::new();
    let mut surround_max = 0.0f64;
    for y in 0..rect.height {
        for x in 0..rect.width {
            let p = pixel(x, y);
            let lum = relative_luminance([p.0[0], p.0[1], p.0[2]]);
            let (xi, yi) = (i64::from(x), i64::from(y));
            if glyph(xi, yi) {
                first.get_or_insert(y);
                last = y;
                glyph_lum.push(lum);
            } else if !(-1..=1).any(|dy| (-1..=1).any(|dx| glyph(xi + dx, yi + dy))) {
                surround_max = surround_max.max(lum);
            }
        }
    }
    glyph_lum.sort_by(f64::total_cmp);
    Measured {
        ink_rows: first.map_or(0, |f| last - f + 1),
        glyph_luminance: glyph_lum.get(glyph_lum.len() / 2).copied().unwrap_or(0.0),
        surround_luminance: surround_max,
    }
}

fn min_ink(w: u32, h: u32) -> u32 {
    (w.min(h) as f64 * 0.05).ceil() as u32
}

// ---------------------------------------------------------------------------------------------
// The rules, measured from pixels

#[test]
fn size_contrast_and_untouched_pixels_on_every_shape_and_background() {
    let stamper = Stamper::new(Style::default()).unwrap();
    for (w, h) in [
        (64, 64),
        (1920, 1080),
        (1080, 1920),
        (4000, 300),
        (300, 4000),
        (640, 480),
    ] {
        for bg in BACKGROUNDS {
            let before = background(bg, w, h);
            let mut image = before.clone();
            let stamped = stamper.draw_rgba(&mut image).unwrap();
            let rect = stamped.rect;
            assert!(
                rect.x + rect.width <= w && rect.y + rect.height <= h,
                "{rect:?} outside {w}x{h}"
            );
            assert_unchanged_outside(&before, &image, rect);
            let m = measure(&image, rect);
            let ctx = format!("{w}x{h} {bg:?}: {stamped:?}");
            assert!(
                m.ink_rows >= min_ink(w, h),
                "{ctx}: ink {} px < 5% of {}",
                m.ink_rows,
                w.min(h)
            );
            assert!(m.ink_rows >= stamped.ink_height, "{ctx}: measured {} px", m.ink_rows);
            assert!(m.contrast() >= 4.5, "{ctx}: contrast {:.2}", m.contrast());
        }
    }
}

#[test]
fn callers_may_ask_for_larger_labels() {
    let style = Style::default().min_height_fraction(0.12);
    let mut image = background(Background::Noise, 800, 600);
    let stamped = Stamper::new(style).unwrap().draw_rgba(&mut image).unwrap();
    assert!(measure(&image, stamped.rect).ink_rows >= 72, "{stamped:?}");
}

#[test]
fn outline_style_keeps_the_contrast_too() {
    let style = Style::default().backing(Backing::Outline {
        colour: Rgba([0, 0, 0, 255]),
    });
    for bg in BACKGROUNDS {
        let before = background(bg, 1280, 720);
        let mut image = before.clone();
        let stamped = Stamper::new(style.clone()).unwrap().draw_rgba(&mut image).unwrap();
        assert_unchanged_outside(&before, &image, stamped.rect);
        let label = Stamper::new(style.clone()).unwrap().prepare(1280, 720).unwrap();
        // Glyph pixels fully covered are the text colour; the halo right around them is black.
        let mut glyph_full = 0;
        for (i, (&g, &b)) in label.glyph_coverage().iter().zip(label.backing_coverage()).enumerate() {
            let (x, y) = (i as u32 % label.width(), i as u32 / label.width());
            let p = image.get_pixel(stamped.rect.x + x, stamped.rect.y + y);
            if g == 255 {
                glyph_full += 1;
                assert_eq!(p.0, [255, 255, 255, 255]);
            } else if g == 0 && b == 255 {
                assert_eq!(p.0, [0, 0, 0, 255]);
            }
        }
        assert!(glyph_full > 100);
        assert!(stamped.ink_height >= 36);
    }
}

#[test]
fn every_position_sits_at_its_edge() {
    let (w, h) = (800u32, 500u32);
    let margin = 10; // 2% of 500
    for position in Position::ALL {
        let mut image = background(Background::White, w, h);
        let stamped = Stamper::new(Style::default().at(position))
            .unwrap()
            .draw_rgba(&mut image)
            .unwrap();
        let r = stamped.rect;
        let (cx, cy) = (r.x + r.width / 2, r.y + r.height / 2);
        let name = position.as_str();
        if name.contains("left") {
            assert_eq!(r.x, margin, "{name}");
        } else if name.contains("right") {
            assert_eq!(r.x + r.width, w - margin, "{name}");
        } else {
            assert!(cx.abs_diff(w / 2) <= 1, "{name}");
        }
        if name.starts_with("top") {
            assert_eq!(r.y, margin, "{name}");
        } else if name.starts_with("bottom") {
            assert_eq!(r.y + r.height, h - margin, "{name}");
        } else {
            assert!(cy.abs_diff(h / 2) <= 1, "{name}");
        }
    }
}

#[test]
fn small_and_narrow_images_fall_back_then_fail_clearly() {
    // Find the nominal label width for a 200 px tall image (ink 10 px, the legibility floor).
    let style = Style::default().margin(Length::Px(10));
    let stamper = Stamper::new(style.clone()).unwrap();
    let nominal = stamper.prepare(1000, 200).unwrap();
    let (full_w, _) = (nominal.width(), nominal.height());
    let mut fallbacks = 0;
    let mut failures = 0;
    for w in 10..full_w + 12 {
        let mut image = background(Background::Black, w, 200);
        match stamper.draw_rgba(&mut image) {
            Ok(s) => {
                assert!(s.rect.x + s.rect.width <= w);
                assert!(s.ink_height >= 10, "ink never shrinks: {s:?}");
                if s.rect.width < full_w || s.rect.x + s.rect.width == w {
                    fallbacks += 1; // margin dropped, or padding shrunk
                }
            }
            Err(e) => {
                assert!(matches!(e, Error::Parameter { .. }), "{e}");
                assert!(e.to_string().contains("too small"), "{e}");
                failures += 1;
            }
        }
    }
    assert!(
        fallbacks > 0 && failures > 0,
        "fallbacks {fallbacks}, failures {failures}"
    );
    // A tiny image fails with the size it would need; lowering the legibility floor draws it
    // (still at 5% of the shortest side or more).
    let err = Stamper::new(Style::default())
        .unwrap()
        .draw_rgba(&mut background(Background::White, 30, 30))
        .unwrap_err();
    assert!(err.to_string().contains("30x30"), "{err}");
    let mut small = Style::default();
    small.min_ink_px = 5;
    let s = Stamper::new(small)
        .unwrap()
        .draw_rgba(&mut background(Background::White, 30, 30))
        .unwrap();
    assert!(s.ink_height >= 5);
    // Zero-sized images are refused, not drawn.
    assert!(Stamper::new(Style::default()).unwrap().prepare(0, 10).is_err());
}

#[test]
fn text_rule_and_font_coverage_are_enforced() {
    assert!(Style::with_text("机器生成").is_err());
    assert!(Style::with_text("AI").is_err());
    for text in ["本图片由人工智能合成", "本图片由ＡＩ生成", "ai生成", "【AI生成】"] {
        let mut image = background(Background::Noise, 600, 400);
        let stamped = Stamper::new(Style::with_text(text).unwrap())
            .unwrap()
            .draw_rgba(&mut image)
            .unwrap();
        assert!(measure(&image, stamped.rect).ink_rows >= 20, "{text}");
    }
    assert!(Style::with_text("AIGC生成").is_err());
    let mut emoji = Style::default();
    emoji.text = "AI生成🙂".into();
    let err = Stamper::new(emoji).unwrap_err().to_string();
    assert!(err.contains("U+1F642"), "{err}");
}

#[test]
fn a_callers_font_draws_the_same_as_the_bundled_one() {
    let own = FontArc::try_from_vec(BUNDLED_FONT.to_vec()).unwrap();
    let mut a = background(Background::Noise, 500, 400);
    let mut b = a.clone();
    let sa = Stamper::new(Style::default()).unwrap().draw_rgba(&mut a).unwrap();
    let sb = Stamper::with_font(Style::default(), own)
        .unwrap()
        .draw_rgba(&mut b)
        .unwrap();
    assert_eq!(sa, sb);
    assert_eq!(a, b);
}

#[test]
fn prepared_label_blends_into_frames_with_padding_bytes() {
    let (w, h, stride) = (320u32, 240u32, 320 * 4 + 16);
    let label = PreparedLabel::new(&Style::default(), &bundled_font(), w, h).unwrap();
    assert_eq!(label.glyph_coverage().len(), (label.width() * label.height()) as usize);
    assert_eq!(label.layer().len(), label.glyph_coverage().len() * 4);
    assert!(label.layer_row(label.height()).is_none());
    let reference = {
        let mut img = background(Background::Noise, w, h);
        Stamper::new(Style::default()).unwrap().draw_rgba(&mut img).unwrap();
        img
    };
    let source = background(Background::Noise, w, h);
    for _frame in 0..3 {
        let mut buf = vec![0xAAu8; stride * h as usize];
        for (y, row) in source.rows().enumerate() {
            for (x, p) in row.enumerate() {
                buf[y * stride + x * 4..][..4].copy_from_slice(&p.0);
            }
        }
        let rect = label.blend_rgba8(&mut buf, w, h, stride).unwrap();
        assert_eq!(rect, label.placement(w, h).unwrap());
        for y in 0..h as usize {
            assert!(
                buf[y * stride + w as usize * 4..(y + 1) * stride]
                    .iter()
                    .all(|&b| b == 0xAA)
            );
            for x in 0..w as usize {
                assert_eq!(
                    &buf[y * stride + x * 4..][..4],
                    &reference.get_pixel(x as u32, y as u32).0
                );
            }
        }
    }
    // Too short a buffer is an error, not a panic.
    assert!(label.blend_rgba8(&mut [0u8; 100], w, h, w as usize * 4).is_err());
    // Reusing it on a much larger image would break the 5% rule: refused.
    assert!(label.placement(3000, 3000).is_err());
}

#[test]
fn every_pixel_type_is_drawn_and_only_in_the_rectangle() {
    let base = background(Background::Noise, 400, 300);
    let variants: Vec<DynamicImage> = vec![
        DynamicImage::ImageRgba8(base.clone()),
        DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(base.clone()).to_rgb8()),
        DynamicImage::ImageLuma8(DynamicImage::ImageRgba8(base.clone()).to_luma8()),
        DynamicImage::ImageLumaA8(DynamicImage::ImageRgba8(base.clone()).to_luma_alpha8()),
        DynamicImage::ImageRgb16(DynamicImage::ImageRgba8(base.clone()).to_rgb16()),
        DynamicImage::ImageRgba16(DynamicImage::ImageRgba8(base.clone()).to_rgba16()),
        DynamicImage::ImageLuma16(DynamicImage::ImageRgba8(base.clone()).to_luma16()),
        DynamicImage::ImageRgb32F(DynamicImage::ImageRgba8(base.clone()).to_rgb32f()),
        DynamicImage::ImageRgba32F(DynamicImage::ImageRgba8(base.clone()).to_rgba32f()),
    ];
    let stamper = Stamper::new(Style::default()).unwrap();
    for before in variants {
        let mut after = before.clone();
        let stamped = stamper.draw(&mut after).unwrap();
        let r = stamped.rect;
        let (b8, a8) = (before.to_rgba8(), after.to_rgba8());
        let mut changed = 0;
        for (x, y, p) in a8.enumerate_pixels() {
            if !r.contains(x, y) {
                assert_eq!(
                    p,
                    b8.get_pixel(x, y),
                    "{:?} changed outside at ({x},{y})",
                    before.color()
                );
            } else if p != b8.get_pixel(x, y) {
                changed += 1;
            }
        }
        assert!(
            changed > (r.width * r.height / 2) as usize,
            "{:?}: {changed}",
            before.color()
        );
        // The label reads the same in every type: white glyphs on a dark plate.
        let m = measure(&a8, r);
        assert!(m.contrast() >= 4.5 && m.ink_rows >= 15, "{:?}", before.color());
    }
}

#[test]
fn transparent_images_gain_an_opaque_text_and_a_translucent_plate() {
    let before = RgbaImage::from_pixel(300, 200, Rgba([0, 0, 0, 0]));
    let mut image = before.clone();
    let stamped = Stamper::new(Style::default()).unwrap().draw_rgba(&mut image).unwrap();
    assert_unchanged_outside(&before, &image, stamped.rect);
    let r = stamped.rect;
    let alphas: Vec<u8> = (r.y..r.y + r.height)
        .flat_map(|y| (r.x..r.x + r.width).map(move |x| (x, y)))
        .map(|(x, y)| image.get_pixel(x, y).0[3])
        .collect();
    assert!(alphas.iter().all(|&a| a >= 204));
    assert!(alphas.contains(&255) && alphas.contains(&204));
    assert_eq!(image.get_pixel(r.x, r.y).0, [0, 0, 0, 204]);
}

#[test]
fn rgb_images_take_the_same_colours_as_rgba() {
    let rgba = background(Background::Noise, 300, 300);
    let mut rgb: RgbImage = DynamicImage::ImageRgba8(rgba.clone()).to_rgb8();
    let mut rgba = rgba;
    let stamper = Stamper::new(Style::default()).unwrap();
    stamper.draw_rgba(&mut rgba).unwrap();
    stamper.draw_rgb(&mut rgb).unwrap();
    for (a, b) in rgba.pixels().zip(rgb.pixels()) {
        assert_eq!(Rgb([a.0[0], a.0[1], a.0[2]]), *b);
    }
}

// ---------------------------------------------------------------------------------------------
// The file-level helper

fn label(id: &str) -> Label {
    Label::new("001191440300708461136T1XGW3", id)
}

/// A fake but well-formed-looking ICC header: 128 bytes with the data colour space `RGB `.
fn icc_profile() -> Vec<u8> {
    let mut p = vec![0u8; 200];
    p[0..4].copy_from_slice(&200u32.to_be_bytes());
    p[12..16].copy_from_slice(b"mntr");
    p[16..20].copy_from_slice(b"RGB ");
    p[36..40].copy_from_slice(b"acsp");
    p
}

/// A little-endian EXIF TIFF block with one IFD0 entry: Orientation = `orientation`.
fn exif_block(orientation: u16) -> Vec<u8> {
    let mut e = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    e.extend_from_slice(&1u16.to_le_bytes());
    e.extend_from_slice(&0x0112u16.to_le_bytes());
    e.extend_from_slice(&3u16.to_le_bytes());
    e.extend_from_slice(&1u32.to_le_bytes());
    e.extend_from_slice(&orientation.to_le_bytes());
    e.extend_from_slice(&[0, 0]);
    e.extend_from_slice(&0u32.to_le_bytes());
    e
}

fn png_with_metadata(image: &RgbaImage, exif: Option<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = PngEncoder::new(&mut out);
    enc.set_icc_profile(icc_profile()).unwrap();
    if let Some(exif) = exif {
        enc.set_exif_metadata(exif).unwrap();
    }
    enc.write_image(
        image.as_raw(),
        image.width(),
        image.height(),
        image::ExtendedColorType::Rgba8,
    )
    .unwrap();
    out
}

fn stamp_bytes(
    input: &[u8],
    style: Style,
    label: Option<&Label>,
) -> Result<(Vec<u8>, aigc_label_image::stamp::FileReport), Error> {
    let mut out = Vec::new();
    let report = stamp_file(
        &mut Cursor::new(input),
        &mut out,
        &Stamper::new(style)?,
        label,
        &FileOptions::default(),
    )?;
    assert_eq!(report.bytes_written, out.len() as u64);
    Ok((out, report))
}

fn decode_rgba(bytes: &[u8]) -> RgbaImage {
    image::load_from_memory(bytes).unwrap().to_rgba8()
}

fn found_label(carrier: &dyn Carrier, bytes: &[u8]) -> Option<Label> {
    inspect_with(carrier, &mut Cursor::new(bytes), &Options::default())
        .unwrap()
        .label()
}

#[test]
fn png_file_keeps_icc_and_exif_and_carries_the_implicit_label() {
    let source = background(Background::Noise, 320, 200);
    let input = png_with_metadata(&source, Some(exif_block(1)));
    let (out, report) = stamp_bytes(&input, Style::default(), Some(&label("stamp-png"))).unwrap();
    assert_eq!(report.format, "png");
    assert_eq!((report.icc_profile, report.exif), (Carried::Kept, Carried::Kept));
    assert!(report.implicit.is_some());
    let mut decoder = image::codecs::png::PngDecoder::new(Cursor::new(&out)).unwrap();
    assert_eq!(decoder.icc_profile().unwrap(), Some(icc_profile()));
    assert_eq!(decoder.exif_metadata().unwrap(), Some(exif_block(1)));
    let decoded = decode_rgba(&out);
    assert_unchanged_outside(&source, &decoded, report.stamped.rect);
    assert_eq!(found_label(&Png, &out), Some(label("stamp-png")));
    embed::readback(&Png, &mut Cursor::new(&out), &label("stamp-png"), &Options::default()).unwrap();
}

#[test]
fn exif_orientation_places_the_label_as_displayed() {
    // Stored 300x200, EXIF orientation 6 (rotate 90 clockwise to display): shown as 200x300.
    let source = background(Background::Noise, 300, 200);
    let input = png_with_metadata(&source, Some(exif_block(6)));
    let (out, report) = stamp_bytes(&input, Style::default().at(Position::BottomRight), None).unwrap();
    let r = report.stamped.rect;
    assert!(
        r.x + r.width <= 200 && r.y + r.height <= 300,
        "{r:?} is in display coordinates"
    );
    let mut shown_before = DynamicImage::ImageRgba8(source);
    shown_before.apply_orientation(image::metadata::Orientation::Rotate90);
    let mut shown_after = image::load_from_memory(&out).unwrap();
    assert_eq!(shown_after.dimensions_tuple(), (300, 200), "stored orientation kept");
    shown_after.apply_orientation(image::metadata::Orientation::Rotate90);
    assert_unchanged_outside(&shown_before.to_rgba8(), &shown_after.to_rgba8(), r);
    // And the label is at the displayed bottom-right corner.
    assert_eq!(r.x + r.width, 200 - 4);
    assert_eq!(r.y + r.height, 300 - 4);
}

trait Dims {
    fn dimensions_tuple(&self) -> (u32, u32);
}

impl Dims for DynamicImage {
    fn dimensions_tuple(&self) -> (u32, u32) {
        (self.width(), self.height())
    }
}

#[test]
fn jpeg_file_is_reencoded_with_its_metadata_and_label() {
    let source = DynamicImage::ImageRgba8(background(Background::White, 400, 300)).to_rgb8();
    let mut input = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut input, 90);
    enc.set_icc_profile(icc_profile()).unwrap();
    enc.set_exif_metadata(exif_block(1)).unwrap();
    enc.write_image(source.as_raw(), 400, 300, image::ExtendedColorType::Rgb8)
        .unwrap();
    let (out, report) = stamp_bytes(&input, Style::default(), Some(&label("stamp-jpeg"))).unwrap();
    assert_eq!(report.format, "jpeg");
    assert_eq!((report.icc_profile, report.exif), (Carried::Kept, Carried::Kept));
    let mut decoder = image::codecs::jpeg::JpegDecoder::new(Cursor::new(&out)).unwrap();
    assert_eq!(decoder.icc_profile().unwrap(), Some(icc_profile()));
    assert!(
        decoder
            .exif_metadata()
            .unwrap()
            .is_some_and(|e| e.ends_with(&exif_block(1)))
    );
    // Lossy: outside the label the picture stays white within JPEG's error.
    let decoded = image::load_from_memory(&out).unwrap().to_rgb8();
    let r = report.stamped.rect;
    for (x, y, p) in decoded.enumerate_pixels() {
        if !r.contains(x, y) && (x + 8 < r.x || y + 8 < r.y) {
            assert!(p.0.iter().all(|&c| c >= 245), "({x},{y}) {p:?}");
        }
    }
    assert_eq!(found_label(&Jpeg, &out), Some(label("stamp-jpeg")));
}

#[test]
fn another_producers_label_is_neither_replaced_nor_dropped() {
    let source = background(Background::Black, 200, 200);
    let plain = png_with_metadata(&source, None);
    let theirs = Label::new("001191440300708461136T1XGW9", "theirs-1");
    let mut labelled = Vec::new();
    embed::embed_with(
        &Png,
        &mut Cursor::new(&plain),
        &mut labelled,
        &theirs,
        &Options::default(),
    )
    .unwrap();
    // A new label by another producer: refused before anything is written.
    let err = stamp_bytes(&labelled, Style::default(), Some(&label("mine"))).unwrap_err();
    assert!(matches!(err, Error::AlreadyLabelled { .. }), "{err}");
    // No new label: the existing one survives re-encoding.
    let (out, report) = stamp_bytes(&labelled, Style::default(), None).unwrap();
    assert!(report.implicit.is_some());
    assert_eq!(found_label(&Png, &out), Some(theirs.clone()));
    // The same producer may replace its own label.
    let mine_again = Label::new(theirs.content_producer.clone(), "theirs-2");
    let (out, _) = stamp_bytes(&labelled, Style::default(), Some(&mine_again)).unwrap();
    assert_eq!(found_label(&Png, &out), Some(mine_again));
}

#[test]
fn webp_tiff_and_gif_are_reencoded_in_their_own_format() {
    let source = background(Background::Noise, 240, 160);
    for format in [ImageFormat::WebP, ImageFormat::Tiff, ImageFormat::Gif] {
        let mut input = Vec::new();
        DynamicImage::ImageRgba8(source.clone())
            .write_to(&mut Cursor::new(&mut input), format)
            .unwrap();
        let (out, report) = stamp_bytes(&input, Style::default(), None).unwrap();
        assert_eq!(image::guess_format(&out).unwrap(), format);
        assert!(report.implicit.is_none());
        if format != ImageFormat::Gif {
            // Lossless: every pixel outside the label is the input's.
            assert_unchanged_outside(&decode_rgba(&input), &decode_rgba(&out), report.stamped.rect);
        }
        let m = measure(&decode_rgba(&out), report.stamped.rect);
        assert!(m.contrast() >= 4.5 && m.ink_rows >= 8, "{format:?}");
        // Each format has a carrier: the label is embedded in the re-encoded file.
        let (out, _) = stamp_bytes(&input, Style::default(), Some(&label("x"))).unwrap();
        let carrier: &dyn Carrier = match format {
            ImageFormat::WebP => &aigc_label_image::WebP,
            ImageFormat::Gif => &aigc_label_image::Gif,
            _ => &aigc_label_image::Tiff,
        };
        assert_eq!(found_label(carrier, &out), Some(label("x")), "{format:?}");
    }
}

#[test]
fn animated_gif_gets_the_label_on_every_frame_and_keeps_its_loop_count() {
    let frames: Vec<Frame> = [Background::White, Background::Black, Background::Noise]
        .into_iter()
        .map(|bg| {
            Frame::from_parts(
                background(bg, 200, 120),
                0,
                0,
                image::Delay::from_numer_denom_ms(100, 1),
            )
        })
        .collect();
    let mut input = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut input);
        enc.set_repeat(Repeat::Finite(3)).unwrap();
        enc.encode_frames(frames).unwrap();
    }
    let (out, report) = stamp_bytes(&input, Style::default(), None).unwrap();
    assert_eq!(report.frames, 3);
    let decoded: Vec<Frame> = GifDecoder::new(Cursor::new(&out))
        .unwrap()
        .into_frames()
        .collect_frames()
        .unwrap();
    assert_eq!(decoded.len(), 3);
    for frame in &decoded {
        assert_eq!(frame.delay().numer_denom_ms(), (100, 1));
        let m = measure(frame.buffer(), report.stamped.rect);
        assert!(m.contrast() >= 4.5 && m.ink_rows >= 10);
    }
    let repeat = gif::DecodeOptions::new().read_info(Cursor::new(&out)).unwrap().repeat();
    assert_eq!(repeat, gif::Repeat::Finite(3));
}

#[test]
fn unsupported_and_broken_inputs_fail_cleanly() {
    let stamper = Stamper::new(Style::default()).unwrap();
    let options = FileOptions::default();
    let run = |bytes: &[u8]| stamp_file(&mut Cursor::new(bytes), &mut Vec::new(), &stamper, None, &options);
    assert!(matches!(run(b"hello world, not an image"), Err(Error::Unsupported(_))));
    let png = png_with_metadata(&background(Background::White, 100, 100), None);
    for cut in [20, 40, png.len() / 2, png.len() - 13] {
        assert!(run(&png[..cut]).is_err(), "cut at {cut}");
    }
    let mut webp = Vec::new();
    DynamicImage::ImageRgba8(background(Background::White, 160, 120))
        .write_to(&mut Cursor::new(&mut webp), ImageFormat::WebP)
        .unwrap();
    // A label in a WebP is read, so re-encoding carries it over rather than dropping it.
    let mut labelled = Vec::new();
    let theirs = label("theirs");
    embed::embed_with(
        &aigc_label_image::WebP,
        &mut Cursor::new(&webp),
        &mut labelled,
        &theirs,
        &Options::default(),
    )
    .unwrap();
    let (out, report) = stamp_bytes(&labelled, Style::default(), None).unwrap();
    assert!(report.implicit.is_some());
    assert_eq!(found_label(&aigc_label_image::WebP, &out), Some(theirs));
    // Size limits apply before decoding.
    let mut small = FileOptions::default();
    small.max_input_bytes = 10;
    assert!(matches!(
        stamp_file(&mut Cursor::new(&png), &mut Vec::new(), &stamper, None, &small),
        Err(Error::Limit { .. })
    ));
    // Too small for the label: the stamp rules' error comes through.
    let tiny = png_with_metadata(&background(Background::White, 16, 16), None);
    assert!(matches!(run(&tiny), Err(Error::Parameter { .. })));
}

#[test]
fn multi_page_tiff_the_in_place_path_cannot_take_is_refused() {
    // PackBits strips are not rewritten in place (see `stamp_tiff.rs` for the pages that are);
    // the fallback re-encodes single pages only.
    let Some(tiffcp) = aigc_label_testutil::tool("tiffcp") else {
        return;
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stamp-tiff");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("page.tif");
    DynamicImage::ImageRgba8(background(Background::White, 64, 64))
        .to_rgb8()
        .save(&page)
        .unwrap();
    let multi = dir.join("multi.tif");
    let _ = std::fs::remove_file(&multi);
    aigc_label_testutil::run(
        &tiffcp,
        &[
            "-c".as_ref(),
            "packbits".as_ref(),
            page.as_os_str(),
            page.as_os_str(),
            multi.as_os_str(),
        ],
    );
    let bytes = std::fs::read(&multi).unwrap();
    let err = stamp_bytes(&bytes, Style::default(), None).unwrap_err();
    assert!(err.to_string().contains("multi-page"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// OCR witness

/// OCR confuses the capital I of a sans-serif face with l, | or 1 (the shapes are the same);
/// map those back after an A, and drop spaces.
fn normalise_ocr(text: &str) -> String {
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    squeezed.replace("Al", "AI").replace("A|", "AI").replace("A1", "AI")
}

#[test]
fn tesseract_reads_the_label_back_on_light_dark_and_noisy_images() {
    let Some(tesseract) = aigc_label_testutil::tool("tesseract") else {
        return;
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stamp-ocr");
    std::fs::create_dir_all(&dir).unwrap();
    let light = RgbaImage::from_fn(960, 540, |x, y| {
        Rgba([230 + (x % 25) as u8, 235, 240 - (y % 20) as u8, 255])
    });
    let cases = [
        ("light", light),
        ("dark", background(Background::Black, 960, 540)),
        ("noisy", background(Background::Noise, 960, 540)),
    ];
    for text in ["AI生成", "人工智能合成"] {
        for (name, bg) in &cases {
            let mut image = bg.clone();
            let stamper = Stamper::new(Style::with_text(text).unwrap()).unwrap();
            let stamped = stamper.draw_rgba(&mut image).unwrap();
            let r = stamped.rect;
            // Crop the label's rectangle and scale it so the CJK ink is about 40 px
            // tall, the size tesseract reads best.
            let crop = image::imageops::crop_imm(&image, r.x, r.y, r.width, r.height).to_image();
            let scale = 40.0 / stamped.ink_height as f32;
            let (w, h) = (
                (crop.width() as f32 * scale) as u32,
                (crop.height() as f32 * scale) as u32,
            );
            let big = image::imageops::resize(&crop, w, h, image::imageops::FilterType::CatmullRom);
            let path = dir.join(format!("{name}-{}.png", text.len()));
            big.save(&path).unwrap();
            let out = aigc_label_testutil::run(
                &tesseract,
                &[
                    path.as_os_str(),
                    "-".as_ref(),
                    "-l".as_ref(),
                    "chi_sim+eng".as_ref(),
                    "--psm".as_ref(),
                    "7".as_ref(),
                ],
            );
            let read = normalise_ocr(&String::from_utf8_lossy(&out));
            assert!(
                read.contains(text),
                "{name}: tesseract read {read:?}, expected {text:?}"
            );
        }
    }
}

#[test]
fn mutated_inputs_never_panic() {
    let stamper = Stamper::new(Style::default()).unwrap();
    let options = FileOptions::default();
    let source = DynamicImage::ImageRgba8(background(Background::Noise, 64, 48));
    let mut rng = XorShift(0xDEAD_BEEF_CAFE_F00D);
    for format in [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::WebP,
        ImageFormat::Gif,
        ImageFormat::Tiff,
    ] {
        let mut valid = Vec::new();
        let image = if format == ImageFormat::Jpeg {
            DynamicImage::ImageRgb8(source.to_rgb8())
        } else {
            source.clone()
        };
        image.write_to(&mut Cursor::new(&mut valid), format).unwrap();
        for _ in 0..40 {
            let mut bytes = valid.clone();
            for _ in 0..1 + rng.next() % 8 {
                let at = 8 + (rng.next() as usize) % (bytes.len() - 8);
                bytes[at] = rng.next() as u8;
            }
            if rng.next() % 4 == 0 {
                bytes.truncate(8 + (rng.next() as usize) % (bytes.len() - 8));
            }
            // Any result is fine; a panic fails the test.
            let _ = stamp_file(&mut Cursor::new(&bytes), &mut Vec::new(), &stamper, None, &options);
        }
    }
}
