//! FLAC carrier: fixtures made by ffmpeg (with a padding block) and sox (without), read back by
//! ffprobe and decoded by ffmpeg before and after.

mod common;

use std::io::Cursor;

use aigc_label_audio::Flac;
use aigc_label_core::{Carrier, Limits};
use aigc_label_testutil::{round_trip, sample_label};
use common::*;

/// Metadata blocks as `(type, last flag, offset, body length)`, and the offset of the first frame.
fn blocks(data: &[u8]) -> (Vec<(u8, bool, usize, usize)>, usize) {
    let mut out = Vec::new();
    let mut pos = 4;
    loop {
        let h = &data[pos..pos + 4];
        let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
        out.push((h[0] & 0x7f, h[0] & 0x80 != 0, pos, len));
        pos += 4 + len;
        if h[0] & 0x80 != 0 {
            return (out, pos);
        }
    }
}

fn check_last_flags(data: &[u8]) {
    let (b, _) = blocks(data);
    let flags: Vec<bool> = b.iter().map(|x| x.1).collect();
    assert_eq!(flags.iter().filter(|&&f| f).count(), 1);
    assert!(flags.last().copied().unwrap());
}

#[test]
fn every_fixture_round_trips() {
    for (name, path) in audio_fixtures(&["flac"]) {
        eprintln!("{name}");
        let labelled = round_trip(&Flac, &std::fs::read(path).unwrap());
        check_last_flags(&labelled);
    }
}

#[test]
fn ffprobe_reads_the_label_and_ffmpeg_decodes_the_same_samples() {
    for (name, path) in audio_fixtures(&["flac"]) {
        let original = std::fs::read(&path).unwrap();
        let labelled = round_trip(&Flac, &original);
        let out = temp_file(&labelled, "flac");
        if let Some(value) = ffprobe_aigc(&out) {
            assert_eq!(value, sample_json(), "{name}: ffprobe reads AIGC=");
        }
        if let (Some(before), Some(after)) = (decoded_md5(&path), decoded_md5(&out)) {
            assert_eq!(before, after, "{name}: decoded samples differ");
        }
        let (_, frames_before) = blocks(&original);
        let (_, frames_after) = blocks(&labelled);
        assert_eq!(
            &labelled[frames_after..],
            &original[frames_before..],
            "{name}: frames unchanged"
        );
    }
}

#[test]
fn padding_absorbs_the_label_so_frames_do_not_move() {
    let original = read_fixture("ffmpeg.flac");
    let labelled = round_trip(&Flac, &original);
    assert_eq!(labelled.len(), original.len());
    let (before, frames) = blocks(&original);
    let (after, frames_after) = blocks(&labelled);
    assert_eq!(frames, frames_after);
    assert_eq!(
        &labelled[..before[1].2],
        &original[..before[1].2],
        "STREAMINFO unchanged"
    );
    assert_eq!(after.iter().map(|b| b.0).collect::<Vec<_>>(), [0, 4, 1]);
    // ffmpeg's vendor string and title survive.
    let comment = &labelled[after[1].2..after[1].2 + 4 + after[1].3];
    assert!(comment.windows(15).any(|w| w == b"title=Test tone"));
}

#[test]
fn without_padding_the_metadata_grows_and_gains_padding() {
    let original = read_fixture("sox.flac");
    let labelled = round_trip(&Flac, &original);
    let (after, _) = blocks(&labelled);
    assert_eq!(
        after.iter().map(|b| (b.0, b.1)).collect::<Vec<_>>(),
        [(0, false), (4, false), (1, true)]
    );
}

/// `sox.flac` with its comment block removed: STREAMINFO becomes the last block.
fn without_comments() -> Vec<u8> {
    let original = read_fixture("sox.flac");
    let (b, frames) = blocks(&original);
    let mut out = original[..8 + 34].to_vec();
    out[4] |= 0x80;
    out.extend_from_slice(&original[frames..]);
    assert_eq!(b.len(), 2);
    out
}

#[test]
fn a_comment_block_is_created_after_streaminfo() {
    let bare = without_comments();
    assert!(found_texts(&Flac, &bare).is_empty());
    let labelled = round_trip(&Flac, &bare);
    let (after, frames) = blocks(&labelled);
    assert_eq!(
        after.iter().map(|b| (b.0, b.1)).collect::<Vec<_>>(),
        [(0, false), (4, false), (1, true)]
    );
    assert_eq!(&labelled[frames..], &bare[8 + 34..]);
    let out = temp_file(&labelled, "flac");
    if let Some(value) = ffprobe_aigc(&out) {
        assert_eq!(value, sample_json());
    }
}

fn comment_block(fields: &[&str], last: bool) -> Vec<u8> {
    let mut body = 3u32.to_le_bytes().to_vec();
    body.extend_from_slice(b"sox");
    body.extend_from_slice(&(fields.len() as u32).to_le_bytes());
    for f in fields {
        body.extend_from_slice(&(f.len() as u32).to_le_bytes());
        body.extend_from_slice(f.as_bytes());
    }
    let len = body.len() as u32;
    let mut out = vec![4 | if last { 0x80 } else { 0 }];
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.extend_from_slice(&body);
    out
}

#[test]
fn wild_variants_lowercase_key_wrapped_json_and_two_blocks() {
    let bare = without_comments();
    let wrapped = format!("{{\"AIGC\":{}}}", sample_json());
    let mut file = bare[..8 + 34].to_vec();
    file[4] &= 0x7f;
    file.extend_from_slice(&comment_block(&["TITLE=x", &format!("aigc={wrapped}")], false));
    file.extend_from_slice(&comment_block(&[&format!("AIGC={}", sample_json())], true));
    file.extend_from_slice(&bare[8 + 34..]);
    assert_eq!(found_texts(&Flac, &file), [wrapped, sample_json()]);
    let out = write_label(&Flac, &file, &sample_label());
    assert_eq!(found_texts(&Flac, &out), [sample_json()]);
    assert!(out.windows(7).any(|w| w == b"TITLE=x"));
    check_last_flags(&out);
}

#[test]
fn malformed_metadata_is_a_clean_error() {
    let limits = Limits::default();
    let good = read_fixture("sox.flac");
    let mut not_streaminfo = good.clone();
    not_streaminfo[4] = 4;
    let mut invalid_type = good.clone();
    invalid_type[8 + 34] = 0xff;
    let mut lying = good.clone();
    lying[8 + 34 + 1] = 0x7f;
    let mut bad_comment = good.clone();
    bad_comment[8 + 34 + 4] = 0xff; // vendor length past the block
    for bad in [
        not_streaminfo,
        invalid_type,
        lying,
        bad_comment,
        b"fLaC".to_vec(),
        b"fLaX".to_vec(),
    ] {
        assert!(Flac.find(&mut Cursor::new(&bad), &limits).is_err());
        assert!(
            Flac.write(&mut Cursor::new(&bad), &mut Vec::new(), &sample_label(), &limits)
                .is_err()
        );
    }
}

#[test]
fn hostile_inputs_never_panic() {
    for name in ["ffmpeg.flac", "sox.flac"] {
        hostile_variants(&Flac, &read_fixture(name));
    }
}

/// A metadata block of `kind` with `len` bytes of body.
fn meta_block(kind: u8, len: usize, last: bool) -> Vec<u8> {
    let mut out = vec![kind | if last { 0x80 } else { 0 }];
    out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    out.extend((0..len).map(|i| if kind == 1 { 0 } else { i as u8 }));
    out
}

/// The one-walk plan guesses where the label and the padding go once it has walked 2 KiB of
/// metadata without knowing; every layout where a guess is refuted (no comment block at all, a
/// second labelled block that changes the padding, padding that must move behind blocks
/// already written, a last-block flag that moves) must still stream `write`'s bytes, into
/// both sink kinds (`plan_agrees`), and read back with one label and one last block.
#[test]
fn layouts_that_refute_the_walks_guesses_stream_writes_bytes() {
    let bare = without_comments();
    let streaminfo = {
        let mut b = bare[4..8 + 34].to_vec();
        b[0] &= 0x7f;
        b
    };
    let frames = &bare[8 + 34..];
    let label = format!("AIGC={}", sample_json());
    let app = |n: usize| (0..n).flat_map(|_| meta_block(2, 200, false)).collect::<Vec<u8>>();
    let layouts: Vec<(&str, Vec<Vec<u8>>)> = vec![
        ("no comment block", vec![app(20), meta_block(1, 100, true)]),
        (
            "no comment block, padding first",
            vec![meta_block(1, 100, false), app(20), meta_block(2, 8, true)],
        ),
        (
            "comment block last",
            vec![meta_block(1, 10, false), app(20), comment_block(&["TITLE=x"], true)],
        ),
        (
            "padding before the comment block",
            vec![
                meta_block(1, 600, false),
                app(20),
                comment_block(&["TITLE=x"], false),
                app(2),
                meta_block(2, 8, true),
            ],
        ),
        (
            "padding late, last",
            vec![comment_block(&["TITLE=x"], false), app(20), meta_block(1, 600, true)],
        ),
        (
            "padding absorbed exactly (dropped), a second padding moves",
            vec![
                comment_block(&["TITLE=x"], false),
                meta_block(1, 0, false),
                app(20),
                meta_block(1, 50, true),
            ],
        ),
        (
            "a second labelled block after 4 KiB",
            vec![
                comment_block(&["TITLE=x"], false),
                meta_block(1, 2000, false),
                app(20),
                comment_block(&[&label], false),
                meta_block(2, 8, true),
            ],
        ),
        (
            "no padding",
            vec![comment_block(&[&label], false), app(20), meta_block(2, 8, true)],
        ),
    ];
    for (name, blocks_in) in layouts {
        let file = [&b"fLaC"[..], &streaminfo, &blocks_in.concat(), frames].concat();
        aigc_label_testutil::plan_agrees(&Flac, &file, &sample_label(), &Limits::default());
        let out = write_label(&Flac, &file, &sample_label());
        assert_eq!(found_texts(&Flac, &out), [sample_json()], "{name}");
        check_last_flags(&out);
        assert_eq!(&out[blocks(&out).1..], frames, "{name}: the frames are kept");
    }
}
