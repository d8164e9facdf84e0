//! Replays the seed corpora of the `webp` and `gif` fuzz targets (and any saved crashes) on
//! stable Rust, with the same property the fuzz targets check (for WebP also that
//! `binding_exclusions` accepts exactly what `find` accepts).

use std::io::Cursor;

use aigc_label_core::{Carrier, Limits};
use aigc_label_image::{Gif, WebP};
use aigc_label_testutil::{fuzz_carrier, replay_corpus};

#[test]
fn webp_fuzz_corpus_holds_the_carrier_property() {
    let ran = replay_corpus("webp", |data| {
        let found = WebP.find(&mut Cursor::new(data), &Limits::default());
        let excluded = WebP.binding_exclusions(&mut Cursor::new(data), &Limits::default());
        assert_eq!(
            found.is_ok(),
            excluded.is_ok(),
            "the binding's walk accepts what find accepts"
        );
        fuzz_carrier(&WebP, data);
    });
    assert!(ran >= 10, "only {ran} corpus files");
}

#[test]
fn gif_fuzz_corpus_holds_the_carrier_property() {
    let ran = replay_corpus("gif", |data| fuzz_carrier(&Gif, data));
    assert!(ran >= 10, "only {ran} corpus files");
}
