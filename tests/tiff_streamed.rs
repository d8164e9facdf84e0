//! A TIFF embed streamed between files (issue 12): the walk copies the input up to each IFD as
//! it goes, and the fields that change are patched into the output already written. A large
//! copied range is left as a hole the kernel fills after the walk (`src/rewrite.rs`); a patch
//! that falls inside it (here the header's pointer to IFD0, in front of 2 MiB of strip data)
//! must survive that copy.

use aigc_label::{Options, embed_file, embed_to_vec, inspect_file};

/// A little-endian TIFF: header, `strip` bytes of strip data, then IFD0 (width, height, strip
/// offset and byte count).
fn tiff(strip: u32) -> Vec<u8> {
    let ifd0 = 8 + strip;
    let mut bytes = b"II*\0".to_vec();
    bytes.extend_from_slice(&ifd0.to_le_bytes());
    bytes.extend((0..strip).map(|i| (i % 251) as u8));
    let entries: [(u16, u16, u32); 4] = [(256, 4, 1), (257, 4, strip), (273, 4, 8), (279, 4, strip)];
    bytes.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    for (tag, kind, value) in entries {
        bytes.extend_from_slice(&tag.to_le_bytes());
        bytes.extend_from_slice(&kind.to_le_bytes());
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&value.to_le_bytes());
    }
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes
}

#[test]
fn a_patch_inside_a_range_copied_between_files_survives_the_copy() {
    let input = tiff(2 << 20);
    let dir = tempfile::tempdir().unwrap();
    let (src, out) = (dir.path().join("in.tif"), dir.path().join("out.tif"));
    std::fs::write(&src, &input).unwrap();
    let label = aigc_label_testutil::sample_label();
    let options = Options::default();
    embed_file(&src, &out, &label, &options).unwrap();
    let written = std::fs::read(&out).unwrap();
    let mut expected = Vec::new();
    embed_to_vec(std::io::Cursor::new(&input), &mut expected, &label, &options).unwrap();
    let ifd0 = u32::from_le_bytes(expected[4..8].try_into().unwrap()) as usize;
    assert!(ifd0 >= input.len(), "IFD0 is appended, the header patched");
    assert!(
        written == expected,
        "the file written differs from the one made in memory"
    );
    assert_eq!(inspect_file(&out, &options).unwrap().label(), Some(label));
}
