//! Raw frames with their timestamps, for an encoder on a pipe: a minimal Matroska stream with
//! one `V_UNCOMPRESSED` track (the pixel layout as a FourCC in `ColourSpace`) and one Cluster
//! per frame. A bare `rawvideo` pipe has no timestamps, so the encoder would give every frame
//! the average rate's slot and a variable-frame-rate source would lose its timing.

use std::io::Write;

use aigc_label_core::Result;

use crate::matroska::ebml::{self, element, uint_element};

const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
const TRACKS_ENTRY: u32 = 0xAE;
const CLUSTER_TIMESTAMP: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;
/// Nanoseconds per tick: microseconds.
pub(crate) const TICK_NS: u64 = 1_000;

fn string(id: u32, s: &str) -> Vec<u8> {
    element(id, s.as_bytes())
}

/// The stream's header: EBML header, a Segment of unknown size, Info and Tracks.
/// `fourcc` names the layout (`I420`, or `RGB` and 24 for packed RGB).
pub(crate) fn header(width: u32, height: u32, fourcc: [u8; 4]) -> Vec<u8> {
    let ebml_header = [
        uint_element(0x4286, 1),
        uint_element(0x42F7, 1),
        uint_element(0x42F2, 4),
        uint_element(0x42F3, 8),
        string(0x4282, "matroska"),
        uint_element(0x4287, 4),
        uint_element(0x4285, 2),
    ]
    .concat();
    let mut out = element(ebml::id::EBML, &ebml_header);
    out.extend_from_slice(&ebml::id_bytes(ebml::id::SEGMENT));
    out.extend_from_slice(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
    out.extend_from_slice(&element(ebml::id::INFO, &uint_element(TIMESTAMP_SCALE, TICK_NS)));
    let video = [
        uint_element(0xB0, u64::from(width)),
        uint_element(0xBA, u64::from(height)),
        element(0x2E_B524, &fourcc),
    ]
    .concat();
    let entry = [
        uint_element(0xD7, 1),
        uint_element(0x73C5, 1),
        uint_element(0x83, 1),
        string(0x86, "V_UNCOMPRESSED"),
        element(0xE0, &video),
    ]
    .concat();
    out.extend_from_slice(&element(ebml::id::TRACKS, &element(TRACKS_ENTRY, &entry)));
    out
}

/// Writes one frame shown at `ticks` (microseconds from the first) as a Cluster of its own.
pub(crate) fn frame(out: &mut dyn Write, ticks: u64, data: &[u8]) -> Result<()> {
    let timestamp = uint_element(CLUSTER_TIMESTAMP, ticks);
    let block_len = data.len() as u64 + 4;
    let mut block_head = ebml::id_bytes(SIMPLE_BLOCK);
    block_head.extend_from_slice(&ebml::size_bytes(block_len, ebml::size_width(block_len)).unwrap_or_default());
    // Track 1, relative timestamp 0, keyframe.
    block_head.extend_from_slice(&[0x81, 0, 0, 0x80]);
    let cluster_len = (timestamp.len() + block_head.len() + data.len()) as u64;
    let mut head = ebml::id_bytes(ebml::id::CLUSTER);
    head.extend_from_slice(&ebml::size_bytes(cluster_len, ebml::size_width(cluster_len)).unwrap_or_default());
    head.extend_from_slice(&timestamp);
    head.extend_from_slice(&block_head);
    out.write_all(&head)?;
    out.write_all(data)?;
    Ok(())
}
