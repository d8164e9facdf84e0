//! Replays the `wav`, `id3`, `flac`, `ogg` and `aiff` fuzz targets' seed corpora (and any saved crash
//! artifacts) on stable Rust with the property the fuzz targets check, and pins what the readers
//! make of the hand-made seeds. The seeds are made by `tests/fixtures/audio/make_corpus.py`.

use std::io::Cursor;

use aigc_label_audio::{Aiff, Flac, Mp3, Ogg, Wav};
use aigc_label_core::{Carrier, Limits};
use aigc_label_testutil::{fuzz_carrier, replay_corpus, workspace_root};

fn copies(carrier: &dyn Carrier, target: &str, name: &str) -> Option<usize> {
    let data = std::fs::read(workspace_root().join("fuzz/corpus").join(target).join(name)).unwrap();
    carrier
        .find(&mut Cursor::new(&data), &Limits::default())
        .ok()
        .map(|f| f.len())
}

#[test]
fn wav_corpus_replays() {
    assert!(replay_corpus("wav", |d| fuzz_carrier(&Wav, d)) >= 8);
    assert_eq!(copies(&Wav, "wav", "labelled.wav"), Some(1));
    assert_eq!(copies(&Wav, "wav", "wild_info_child.wav"), Some(1));
    assert_eq!(copies(&Wav, "wav", "wild_lowercase_before_data.wav"), Some(1));
    assert_eq!(copies(&Wav, "wav", "two_labels_trailing.wav"), Some(2));
    assert_eq!(copies(&Wav, "wav", "ffmpeg_rf64.wav"), Some(0));
    assert_eq!(copies(&Wav, "wav", "lying_size.wav"), None);
    assert_eq!(copies(&Wav, "wav", "wild_id3_chunk.wav"), Some(1));
}

#[test]
fn id3_corpus_replays() {
    assert!(replay_corpus("id3", |d| fuzz_carrier(&Mp3, d)) >= 8);
    for (name, n) in [
        ("labelled_v24_padded.mp3", 1),
        ("wild_v23_lowercase_wrapped.mp3", 1),
        ("v23_utf16.mp3", 1),
        ("v23_unsync.mp3", 1),
        ("v24_footer.mp3", 1),
        ("v22.mp3", 1),
        ("v23_extended.mp3", 0),
        ("two_tags.mp3", 2),
        ("no_tag.mp3", 0),
        ("appended_v24_id3v1.mp3", 1),
        ("appended_lying_footer.mp3", 0),
    ] {
        assert_eq!(copies(&Mp3, "id3", name), Some(n), "{name}");
    }
    assert_eq!(copies(&Mp3, "id3", "lying_frame_size.mp3"), None);
}

#[test]
fn flac_corpus_replays() {
    assert!(replay_corpus("flac", |d| fuzz_carrier(&Flac, d)) >= 5);
    assert_eq!(copies(&Flac, "flac", "labelled_padding.flac"), Some(1));
    assert_eq!(copies(&Flac, "flac", "wild_two_blocks.flac"), Some(2));
    assert_eq!(copies(&Flac, "flac", "no_comments.flac"), Some(0));
    assert_eq!(copies(&Flac, "flac", "lying_vendor.flac"), None);
}

#[test]
fn ogg_corpus_replays() {
    assert!(replay_corpus("ogg", |d| fuzz_carrier(&Ogg, d)) >= 5);
    assert_eq!(copies(&Ogg, "ogg", "labelled.opus"), Some(1));
    assert_eq!(copies(&Ogg, "ogg", "wild_lowercase_wrapped.opus"), Some(1));
    assert_eq!(copies(&Ogg, "ogg", "comment_over_two_pages.opus"), Some(1));
    assert_eq!(copies(&Ogg, "ogg", "chained.opus"), Some(2));
    // find does not read audio pages, so a bad CRC there is only seen when rewriting them.
    assert_eq!(copies(&Ogg, "ogg", "bad_crc_last_page.opus"), Some(0));
}

#[test]
fn aiff_corpus_replays() {
    assert!(replay_corpus("aiff", |d| fuzz_carrier(&Aiff, d)) >= 8);
    for (name, n) in [
        ("sox.aiff", 0),
        ("sox_float.aifc", 0),
        ("ffmpeg_id3.aiff", 1),
        ("id3_before_ssnd.aiff", 1),
        ("two_id3_chunks.aifc", 1),
        ("odd_missing_pad.aiff", 0),
        ("tag_longer_than_chunk.aiff", 0),
    ] {
        assert_eq!(copies(&Aiff, "aiff", name), Some(n), "{name}");
    }
    assert_eq!(copies(&Aiff, "aiff", "lying_size.aiff"), None);
}

#[test]
fn audio_stamp_corpus_replays() {
    assert!(replay_corpus("audio_stamp", aigc_label_audio::fuzz_readers) >= 13);
}
