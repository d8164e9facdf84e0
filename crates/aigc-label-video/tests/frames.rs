//! Explicit labels on raw frames: which frames carry the label, what changes inside and outside
//! the label rectangle, the 2 s rule at common frame rates, chroma at label edges, the 5% rule.

use aigc_label_core::Error;
use aigc_label_image::stamp::{Rect, Style};
use aigc_label_video::frames::{FrameSpec, FrameStamper, Matrix, PixelFormat, Schedule};

const W: u32 = 320;
const H: u32 = 240;

/// A deterministic, non-uniform frame (a gradient with noise), so blending shows everywhere.
fn frame(spec: &FrameSpec) -> Vec<u8> {
    let len = spec.frame_len().unwrap();
    (0..len).map(|i| ((i * 7 + i / 311) % 200 + 20) as u8).collect()
}

/// Byte offsets of the bytes that belong to pixels inside `rect` (every plane).
fn inside(spec: &FrameSpec, rect: Rect) -> Vec<bool> {
    let (w, h) = (spec.width as usize, spec.height as usize);
    let mut mask = vec![false; spec.frame_len().unwrap()];
    let r = |x: usize, y: usize, sub: usize| {
        x >= rect.x as usize / sub
            && x < (rect.x + rect.width) as usize / sub
            && y >= rect.y as usize / sub
            && y < (rect.y + rect.height) as usize / sub
    };
    match spec.format {
        PixelFormat::Rgba8 | PixelFormat::Rgb8 => {
            let n = if spec.format == PixelFormat::Rgba8 { 4 } else { 3 };
            for (i, m) in mask.iter_mut().enumerate() {
                let p = i / n;
                *m = r(p % w, p / w, 1);
            }
        }
        PixelFormat::I420 | PixelFormat::Nv12 => {
            for (i, m) in mask.iter_mut().enumerate() {
                *m = if i < w * h {
                    r(i % w, i / w, 1)
                } else if spec.format == PixelFormat::Nv12 {
                    let c = i - w * h;
                    r((c % w) / 2, c / w, 2)
                } else {
                    let c = (i - w * h) % (w * h / 4);
                    r(c % (w / 2), c / (w / 2), 2)
                };
            }
        }
    }
    mask
}

fn stamper(format: PixelFormat, fps: (u32, u32), schedule: Schedule) -> FrameStamper {
    FrameStamper::new(
        FrameSpec::with_fps(W, H, format, fps.0, fps.1),
        Style::default(),
        schedule,
    )
    .unwrap()
}

#[test]
fn frames_before_the_cut_off_carry_the_label_and_later_ones_do_not() {
    for format in [
        PixelFormat::Rgba8,
        PixelFormat::Rgb8,
        PixelFormat::I420,
        PixelFormat::Nv12,
    ] {
        let s = stamper(format, (25, 1), Schedule::default());
        let spec = *s.spec();
        let mask = inside(&spec, s.rect());
        let original = frame(&spec);
        for pts in [0, 1, 40, 74] {
            let mut f = original.clone();
            assert!(s.stamp(&mut f, pts).unwrap(), "{format:?} pts {pts}");
            let changed_inside = f
                .iter()
                .zip(&original)
                .zip(&mask)
                .filter(|((a, b), m)| **m && a != b)
                .count();
            assert!(
                changed_inside > 100,
                "{format:?}: only {changed_inside} bytes changed in the label"
            );
            for (i, ((a, b), m)) in f.iter().zip(&original).zip(&mask).enumerate() {
                assert!(*m || a == b, "{format:?}: byte {i} outside the label changed");
            }
        }
        for pts in [75, 76, 1000] {
            let mut f = original.clone();
            assert!(!s.stamp(&mut f, pts).unwrap());
            assert_eq!(f, original, "{format:?} pts {pts}");
        }
    }
}

#[test]
fn yuv_rectangle_is_even_aligned() {
    for format in [PixelFormat::I420, PixelFormat::Nv12] {
        for w in [320, 322, 642, 100] {
            let spec = FrameSpec::with_fps(w, 202, format, 30, 1);
            let s = FrameStamper::new(spec, Style::default(), Schedule::default()).unwrap();
            let r = s.rect();
            assert_eq!((r.x % 2, r.y % 2, r.width % 2, r.height % 2), (0, 0, 0, 0), "{r:?}");
            assert!(r.x + r.width <= w && r.y + r.height <= 202, "{r:?}");
        }
    }
}

#[test]
fn at_least_two_seconds_at_common_frame_rates() {
    for (num, den) in [(24000, 1001), (25, 1), (30, 1), (30000, 1001), (60, 1)] {
        for start in [2.0, 3.0, 5.5] {
            let schedule = Schedule {
                start_seconds: start,
                ..Schedule::default()
            };
            let s = stamper(PixelFormat::I420, (num, den), schedule);
            let spec = *s.spec();
            let mut f = frame(&spec);
            let stamped: Vec<i64> = (0..1000).filter(|&pts| s.stamp(&mut f, pts).unwrap()).collect();
            let last = *stamped.last().unwrap();
            assert_eq!(
                stamped,
                (0..=last).collect::<Vec<_>>(),
                "{num}/{den}: stamped frames are not a prefix"
            );
            let frame_secs = f64::from(den) / f64::from(num);
            // The last stamped frame stays on screen until the next frame: at least N s in all.
            assert!(
                spec.seconds(last) + frame_secs >= start - 1e-9,
                "{num}/{den} N={start}: {last}"
            );
            if start >= 3.0 {
                assert!(
                    spec.seconds(last) >= 2.0,
                    "{num}/{den}: last stamped at {}",
                    spec.seconds(last)
                );
            }
            assert!(
                spec.seconds(last + 1) >= start,
                "{num}/{den}: first unstamped at {}",
                spec.seconds(last + 1)
            );
            assert!(spec.seconds(last) < start);
        }
    }
}

#[test]
fn end_and_middle_windows() {
    let schedule = Schedule {
        start_seconds: 2.0,
        end: Some((10.0, 2.0)),
        middle: vec![(5.0, 1.0)],
    };
    let s = stamper(PixelFormat::Rgba8, (10, 1), schedule);
    let shown: Vec<i64> = (0..100).filter(|&pts| s.shows_at(pts)).collect();
    let expected: Vec<i64> = (0..20).chain(50..60).chain(80..100).collect();
    assert_eq!(shown, expected);
}

#[test]
fn time_base_other_than_frame_numbers() {
    // 90 kHz clock, 30 fps: pts step 3000.
    let spec = FrameSpec::new(W, H, PixelFormat::Nv12, (1, 90_000));
    let s = FrameStamper::new(spec, Style::default(), Schedule::default()).unwrap();
    assert!(s.shows_at(0) && s.shows_at(89 * 3000));
    assert!(!s.shows_at(90 * 3000) && !s.shows_at(-3000));
}

#[test]
fn invalid_parameters_are_errors() {
    let spec = FrameSpec::with_fps(W, H, PixelFormat::I420, 25, 1);
    let short = Schedule {
        start_seconds: 1.9,
        ..Schedule::default()
    };
    assert!(matches!(
        FrameStamper::new(spec, Style::default(), short),
        Err(Error::Parameter { .. })
    ));
    let nan = Schedule {
        start_seconds: f64::NAN,
        ..Schedule::default()
    };
    assert!(FrameStamper::new(spec, Style::default(), nan).is_err());
    let bad_end = Schedule {
        end: Some((1.0, 2.0)),
        ..Schedule::default()
    };
    assert!(FrameStamper::new(spec, Style::default(), bad_end).is_err());
    let bad_middle = Schedule {
        middle: vec![(4.0, 0.0)],
        ..Schedule::default()
    };
    assert!(FrameStamper::new(spec, Style::default(), bad_middle).is_err());
    let odd = FrameSpec::with_fps(321, H, PixelFormat::I420, 25, 1);
    assert!(matches!(
        FrameStamper::new(odd, Style::default(), Schedule::default()),
        Err(Error::Parameter { .. })
    ));
    let zero_tb = FrameSpec::new(W, H, PixelFormat::Rgb8, (1, 0));
    assert!(FrameStamper::new(zero_tb, Style::default(), Schedule::default()).is_err());
    let tiny = FrameSpec::with_fps(8, 8, PixelFormat::Rgba8, 25, 1);
    assert!(FrameStamper::new(tiny, Style::default(), Schedule::default()).is_err());

    let s = FrameStamper::new(spec, Style::default(), Schedule::default()).unwrap();
    for len in [0, 1, spec.frame_len().unwrap() - 1] {
        let mut f = vec![0u8; len];
        assert!(matches!(s.stamp(&mut f, 0), Err(Error::Parameter { .. })), "{len}");
        assert!(matches!(s.stamp(&mut f, 1000), Err(Error::Parameter { .. })), "{len}");
    }
}

/// Each chroma sample in the label rectangle equals the mean of what its four luma pixels would
/// get in 4:4:4 (computed here in floating point from the label's layer and the matrix), within
/// rounding. On a grey frame a neutral label leaves chroma neutral: no fringes.
#[test]
fn chroma_is_the_mean_of_its_four_pixels() {
    for matrix in [Matrix::Bt601, Matrix::Bt709] {
        for format in [PixelFormat::I420, PixelFormat::Nv12] {
            let spec = FrameSpec::with_fps(W, H, format, 25, 1).matrix(matrix);
            let s = FrameStamper::new(spec, Style::default(), Schedule::default()).unwrap();
            let (w, h) = (W as usize, H as usize);
            let mut f = frame(&spec);
            let original = f.clone();
            s.draw(&mut f).unwrap();
            let label = s.label();
            let lw = label.width() as usize;
            let layer = |x: usize, y: usize| -> [u8; 4] {
                if x >= lw || y >= label.height() as usize {
                    return [0; 4];
                }
                let i = (y * lw + x) * 4;
                label.layer()[i..i + 4].try_into().unwrap()
            };
            let r = s.rect();
            let mut partial = 0;
            for cy in r.y as usize / 2..(r.y + r.height) as usize / 2 {
                for cx in r.x as usize / 2..(r.x + r.width) as usize / 2 {
                    let (cb_at, cr_at) = match format {
                        PixelFormat::I420 => (w * h + cy * w / 2 + cx, w * h + w * h / 4 + cy * w / 2 + cx),
                        _ => (w * h + cy * w + 2 * cx, w * h + cy * w + 2 * cx + 1),
                    };
                    let mut want = [0.0f64; 2];
                    let mut alphas = Vec::new();
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        let p = layer(2 * cx + dx - r.x as usize, 2 * cy + dy - r.y as usize);
                        let [_, cb, cr] = matrix.premultiplied(p);
                        let keep = 1.0 - f64::from(p[3]) / 255.0;
                        want[0] += (cb + f64::from(original[cb_at]) * keep) / 4.0;
                        want[1] += (cr + f64::from(original[cr_at]) * keep) / 4.0;
                        alphas.push(p[3]);
                    }
                    if alphas.iter().any(|&a| a != alphas[0]) {
                        partial += 1;
                    }
                    for (got, want) in [(f[cb_at], want[0]), (f[cr_at], want[1])] {
                        assert!(
                            (f64::from(got) - want).abs() <= 1.5,
                            "{format:?} {matrix:?} ({cx},{cy}): {got} vs {want}"
                        );
                    }
                }
            }
            assert!(partial > 50, "only {partial} edge blocks checked");

            // Neutral label on a neutral frame: chroma stays neutral at every edge.
            let mut grey = vec![128u8; spec.frame_len().unwrap()];
            s.draw(&mut grey).unwrap();
            assert!(
                grey[w * h..].iter().all(|&c| c.abs_diff(128) <= 1),
                "{format:?}: colour fringe"
            );
        }
    }
}

/// The ink is at least 5% of the shortest side, by the label's own measure and on the pixels:
/// rows of the label rectangle where white text covers some pixel at least half (luma over
/// 16 + 219 / 2 on a black frame), the measure the image adapter uses.
#[test]
fn ink_height_meets_the_five_percent_rule() {
    for (w, h) in [(1920, 1080), (1080, 1920), (640, 480), (320, 240)] {
        let spec = FrameSpec::with_fps(w, h, PixelFormat::I420, 25, 1);
        let s = FrameStamper::new(spec, Style::default(), Schedule::default()).unwrap();
        let need = (f64::from(w.min(h)) * 0.05).ceil() as u32;
        assert!(
            s.label().ink_height() >= need,
            "{w}x{h}: {} < {need}",
            s.label().ink_height()
        );
        let mut f = vec![16u8; spec.frame_len().unwrap()];
        s.draw(&mut f).unwrap();
        let r = s.rect();
        let rows = (r.y..r.y + r.height)
            .filter(|&y| (r.x..r.x + r.width).any(|x| f[(y * w + x) as usize] >= 125))
            .count() as u32;
        assert!(rows >= need, "{w}x{h}: {rows} inked rows < {need}");
    }
}
