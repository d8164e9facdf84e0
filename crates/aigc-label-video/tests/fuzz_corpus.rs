//! Replays the seed corpora (and any crash artifacts) of the video fuzz targets on stable Rust,
//! with the binding's exclusions computed on each input as well.

mod common;

use aigc_label_testutil::replay_corpus;
use aigc_label_video::{Avi, Bmff, Flv, Matroska};
use common::fuzz_with_binding as fuzz_carrier;

#[test]
fn bmff_corpus() {
    replay_corpus("bmff", |d| fuzz_carrier(&Bmff, d));
}

#[test]
fn ebml_corpus() {
    replay_corpus("ebml", |d| fuzz_carrier(&Matroska, d));
}

#[test]
fn flv_corpus() {
    replay_corpus("flv", |d| fuzz_carrier(&Flv, d));
}

#[test]
fn avi_corpus() {
    replay_corpus("avi", |d| fuzz_carrier(&Avi, d));
}

#[cfg(feature = "stamp")]
#[test]
fn mp4_splice_corpus() {
    replay_corpus("mp4_splice", aigc_label_video::stamp::fuzz_splice);
}

#[cfg(feature = "stamp")]
#[test]
fn mkv_splice_corpus() {
    replay_corpus("mkv_splice", aigc_label_video::stamp::fuzz_splice_mkv);
}

#[cfg(feature = "stamp")]
#[test]
fn flv_splice_corpus() {
    replay_corpus("flv_splice", aigc_label_video::stamp::fuzz_splice_flv);
}

#[cfg(feature = "stamp")]
#[test]
fn avi_splice_corpus() {
    replay_corpus("avi_splice", aigc_label_video::stamp::fuzz_splice_avi);
}
