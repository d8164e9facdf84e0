//! Updating an MP4's label in place: only the label's bytes are written when the padding left
//! by an earlier write has room, and nothing at all when it has not.

mod common;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};

use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_testutil::{fixture, sample_label};
use aigc_label_video::Bmff;
use aigc_label_video::bmff::update_in_place;

/// A file wrapper that counts the bytes written through it.
struct Counted {
    file: File,
    written: u64,
}

impl Read for Counted {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.file.read(buf)
    }
}

impl Seek for Counted {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.file.seek(to)
    }
}

impl Write for Counted {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

fn open(path: &std::path::Path) -> Counted {
    Counted {
        file: File::options().read(true).write(true).open(path).unwrap(),
        written: 0,
    }
}

/// A platform's update: new propagation fields.
fn propagated() -> Label {
    sample_label().propagated("001191440300708461136T2PLAT", "platform-upload-42")
}

#[test]
fn updating_a_labelled_file_writes_only_the_label_bytes() {
    for name in [
        "mp4_faststart.mp4",
        "mp4_moov_end.mp4",
        "mp4_fragmented.mp4",
        "m4a_tagged.m4a",
    ] {
        let input = std::fs::read(fixture(&format!("video/{name}"))).unwrap();
        let labelled = common::embed(&Bmff, &input, &sample_label());
        let (_dir, path) = common::temp_file(name, &labelled);
        let mut file = open(&path);
        let label = propagated();
        assert!(
            update_in_place(&mut file, &label, &Limits::default()).unwrap(),
            "{name}"
        );
        let json = aigc_label_core::json::to_json(&label, aigc_label_core::json::Shape::Bare);
        eprintln!(
            "{name}: {} bytes written in place for a {}-byte label",
            file.written,
            json.len()
        );
        // The span from the ilst header to the new padding header: the item, a few headers.
        assert!(
            file.written < json.len() as u64 + 64,
            "{name}: wrote {} bytes for a {}-byte label",
            file.written,
            json.len()
        );
        let after = std::fs::read(&path).unwrap();
        assert_eq!(after.len(), labelled.len(), "{name}: the file keeps its size");
        let changed: Vec<usize> = (0..after.len()).filter(|&i| after[i] != labelled[i]).collect();
        let copies = Bmff
            .find(&mut std::io::Cursor::new(&after), &Limits::default())
            .unwrap();
        assert_eq!(copies.len(), 1);
        assert_eq!(copies[0].text, json);
        let moov_label = copies[0].range.clone();
        assert!(
            changed
                .iter()
                .all(|&i| (moov_label.start as usize - 16..moov_label.end as usize + 16).contains(&i)),
            "{name}: bytes changed outside the label's box"
        );
        if let Some(tag) = common::ffprobe_aigc(&path) {
            assert_eq!(tag, json);
            assert_eq!(
                common::framemd5(&path),
                common::framemd5(&fixture(&format!("video/{name}")))
            );
        }
    }
}

#[test]
fn no_room_means_nothing_is_written() {
    // A fast-start file without a label: the new meta box cannot fit without moving mdat.
    let input = std::fs::read(fixture("video/mp4_faststart.mp4")).unwrap();
    let (_dir, path) = common::temp_file("in.mp4", &input);
    let mut file = open(&path);
    assert!(!update_in_place(&mut file, &sample_label(), &Limits::default()).unwrap());
    assert_eq!(file.written, 0);
    assert_eq!(std::fs::read(&path).unwrap(), input);

    // A labelled fast-start file, and a label larger than the padding.
    let labelled = common::embed(&Bmff, &input, &sample_label());
    let (_dir, path) = common::temp_file("labelled.mp4", &labelled);
    let mut file = open(&path);
    let mut big = propagated();
    big.reserved_code2 = "A".repeat(3000);
    assert!(!update_in_place(&mut file, &big, &Limits::default()).unwrap());
    assert_eq!(file.written, 0);
}

#[test]
fn free_space_next_to_moov_takes_a_first_label_in_place() {
    let input = std::fs::read(fixture("video/mp4_faststart_free.mp4")).unwrap();
    let (_dir, path) = common::temp_file("free.mp4", &input);
    let mut file = open(&path);
    assert!(update_in_place(&mut file, &sample_label(), &Limits::default()).unwrap());
    let after = std::fs::read(&path).unwrap();
    assert_eq!(after.len(), input.len());
    // Written: the moov and the new free header, nothing of the media.
    assert!(file.written < 4096, "wrote {}", file.written);
    let mdat = input.windows(4).position(|w| w == b"mdat").unwrap() - 4;
    assert_eq!(after[mdat..], input[mdat..]);
    let copies = Bmff
        .find(&mut std::io::Cursor::new(&after), &Limits::default())
        .unwrap();
    assert_eq!(copies.len(), 1);
    if common::ffprobe_aigc(&path).is_some() {
        assert_eq!(
            common::framemd5(&path),
            common::framemd5(&fixture("video/mp4_faststart_free.mp4"))
        );
        assert_eq!(common::decode_messages(&path).unwrap_or_default(), "");
    }
}
