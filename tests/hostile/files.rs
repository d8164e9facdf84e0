//! Worst-case inputs for bounded work: a small file made by a real tool (from
//! `tests/fixtures`), grown past 8 MiB with hundreds of thousands of (nearly) empty structures of
//! its container, the shape that made every structure header cost a full buffer refill.
//!
//! Shared by `tests/hostile.rs` (bytes read) and `benches/hostile.rs` (time).

#![allow(dead_code)]

/// At least this many bytes per built file.
pub const MIN_SIZE: usize = 8 << 20;

/// One worst-case file.
pub struct Hostile {
    /// Family and format, for messages and bench names.
    pub name: &'static str,
    /// How many structures were added.
    pub structures: usize,
    /// The file.
    pub bytes: Vec<u8>,
}

/// Every family's worst case.
pub fn all() -> Vec<Hostile> {
    vec![
        png(),
        jpeg(),
        wav(),
        webp(),
        avi(),
        gif(),
        flv(),
        ogg(),
        mp4(),
        avif(),
        matroska(),
        tiff(),
        flac(),
        mp3(),
        pdf(),
        docx(),
    ]
}

fn fixture(rel: &str) -> Vec<u8> {
    let path = aigc_label_testutil::fixture(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// How many structures of `each` bytes fill [`MIN_SIZE`].
fn count(each: usize) -> usize {
    MIN_SIZE / each + 1
}

fn splice(base: &[u8], at: usize, insert: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(base.len() + insert.len());
    out.extend_from_slice(&base[..at]);
    out.extend_from_slice(insert);
    out.extend_from_slice(&base[at..]);
    out
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the fixture"))
}

fn rfind(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .rposition(|w| w == needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the fixture"))
}

/// PNG: empty private ancillary chunks between IHDR and IDAT.
pub fn png() -> Hostile {
    let base = fixture("png/rgb.png");
    let mut chunk = vec![0, 0, 0, 0];
    chunk.extend_from_slice(b"hoSt");
    chunk.extend_from_slice(&crc32fast::hash(b"hoSt").to_be_bytes());
    let n = count(chunk.len());
    let bytes = splice(&base, 33, &chunk.repeat(n));
    Hostile {
        name: "png chunks",
        structures: n,
        bytes,
    }
}

/// JPEG: APP15 segments with 12 bytes of payload after SOI.
pub fn jpeg() -> Hostile {
    let base = fixture("jpeg/baseline.jpg");
    let mut segment = vec![0xFF, 0xEF, 0, 14];
    segment.extend_from_slice(&[0x20; 12]);
    let n = count(segment.len());
    let bytes = splice(&base, 2, &segment.repeat(n));
    Hostile {
        name: "jpeg APPn segments",
        structures: n,
        bytes,
    }
}

/// RIFF: chunks with 4 bytes of payload appended to the top-level list, its size updated.
fn riff(name: &'static str, rel: &str, id: &[u8; 4]) -> Hostile {
    let base = fixture(rel);
    let mut chunk = id.to_vec();
    chunk.extend_from_slice(&4u32.to_le_bytes());
    chunk.extend_from_slice(&[0; 4]);
    let n = count(chunk.len());
    let riff_end = 8 + u32::from_le_bytes(base[4..8].try_into().unwrap()) as usize;
    let mut bytes = splice(&base, riff_end, &chunk.repeat(n));
    let size = (riff_end - 8 + n * chunk.len()) as u32;
    bytes[4..8].copy_from_slice(&size.to_le_bytes());
    Hostile {
        name,
        structures: n,
        bytes,
    }
}

/// WAV: unknown chunks after the data chunk.
pub fn wav() -> Hostile {
    riff("wav RIFF chunks", "audio/pcm16_mono.wav", b"hoSt")
}

/// WebP (extended): unknown chunks after the image.
pub fn webp() -> Hostile {
    riff("webp RIFF chunks", "webp/unknown-chunks.webp", b"hoSt")
}

/// AVI: JUNK chunks after the index.
pub fn avi() -> Hostile {
    riff("avi RIFF chunks", "video/avi_plain.avi", b"JUNK")
}

/// GIF: comment extensions of one 9-byte sub-block before the trailer.
pub fn gif() -> Hostile {
    let base = fixture("gif/static.gif");
    let mut block = vec![0x21, 0xFE, 9];
    block.extend_from_slice(b"hostile..");
    block.push(0);
    let n = count(block.len());
    assert_eq!(base.last(), Some(&0x3B));
    let bytes = splice(&base, base.len() - 1, &block.repeat(n));
    Hostile {
        name: "gif extension blocks",
        structures: n,
        bytes,
    }
}

/// FLV: one-byte audio tags appended after the last tag.
pub fn flv() -> Hostile {
    let mut bytes = fixture("video/flv_plain.flv");
    let mut tag = vec![8, 0, 0, 1];
    tag.extend_from_slice(&[0; 7]);
    tag.push(0x2F);
    tag.extend_from_slice(&12u32.to_be_bytes());
    let n = count(tag.len());
    bytes.extend_from_slice(&tag.repeat(n));
    Hostile {
        name: "flv tags",
        structures: n,
        bytes,
    }
}

/// The CRC of an Ogg page (polynomial 0x04c11db7, not reflected, initial 0).
fn ogg_crc(data: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Ogg: pages with no segments in the audio stream, before its last page, whose sequence number
/// moves up accordingly.
pub fn ogg() -> Hostile {
    let base = fixture("audio/sox.ogg");
    let last = rfind(&base, b"OggS");
    let serial = u32::from_le_bytes(base[last + 14..last + 18].try_into().unwrap());
    let last_seq = u32::from_le_bytes(base[last + 18..last + 22].try_into().unwrap());
    let n = count(27);
    let mut pages = Vec::with_capacity(n * 27);
    for i in 0..n {
        let mut page = Vec::with_capacity(27);
        page.extend_from_slice(b"OggS");
        page.push(0);
        page.push(0);
        page.extend_from_slice(&u64::MAX.to_le_bytes());
        page.extend_from_slice(&serial.to_le_bytes());
        page.extend_from_slice(&(last_seq + i as u32).to_le_bytes());
        page.extend_from_slice(&[0; 4]);
        page.push(0);
        let crc = ogg_crc(&page);
        page[22..26].copy_from_slice(&crc.to_le_bytes());
        pages.extend_from_slice(&page);
    }
    let mut tail = base[last..].to_vec();
    tail[18..22].copy_from_slice(&(last_seq + n as u32).to_le_bytes());
    tail[22..26].fill(0);
    let crc = ogg_crc(&tail);
    tail[22..26].copy_from_slice(&crc.to_le_bytes());
    let mut bytes = base[..last].to_vec();
    bytes.extend_from_slice(&pages);
    bytes.extend_from_slice(&tail);
    Hostile {
        name: "ogg pages",
        structures: n,
        bytes,
    }
}

/// BMFF: `free` boxes with 4 bytes of payload appended at the top level.
fn bmff(name: &'static str, rel: &str) -> Hostile {
    let mut bytes = fixture(rel);
    let mut free = 12u32.to_be_bytes().to_vec();
    free.extend_from_slice(b"free");
    free.extend_from_slice(&[0; 4]);
    let n = count(free.len());
    bytes.extend_from_slice(&free.repeat(n));
    Hostile {
        name,
        structures: n,
        bytes,
    }
}

/// MP4: `free` boxes after `moov`.
pub fn mp4() -> Hostile {
    bmff("mp4 boxes", "video/mp4_faststart.mp4")
}

/// AVIF: `free` boxes after `mdat`.
pub fn avif() -> Hostile {
    bmff("avif boxes", "heif/rgb.avif")
}

/// Matroska: Void elements of 12 bytes at the end of the Segment, whose size grows to match.
pub fn matroska() -> Hostile {
    let base = fixture("video/mkv_plain.mkv");
    let at = find(&base, &[0x18, 0x53, 0x80, 0x67]) + 4;
    assert_eq!(base[at], 0x01, "the fixture's Segment size is an 8-byte vint");
    let size = u64::from_be_bytes(base[at..at + 8].try_into().unwrap()) & 0x00FF_FFFF_FFFF_FFFF;
    assert_eq!(at as u64 + 8 + size, base.len() as u64, "the Segment ends the file");
    let mut void = vec![0xEC, 0x8A];
    void.extend_from_slice(&[0; 10]);
    let n = count(void.len());
    let mut bytes = base;
    bytes.extend_from_slice(&void.repeat(n));
    let size = size + (n * void.len()) as u64;
    bytes[at..at + 8].copy_from_slice(&(size | 0x0100_0000_0000_0000).to_be_bytes());
    Hostile {
        name: "matroska EBML elements",
        structures: n,
        bytes,
    }
}

/// TIFF (little-endian): a chain of one-entry IFDs after the image's own, each linked from the
/// one before.
pub fn tiff() -> Hostile {
    let mut bytes = fixture("tiff/le.tif");
    assert_eq!(&bytes[..4], b"II*\0");
    // Find the last IFD of the chain, to link the new ones from it.
    let mut ifd = u32::from_le_bytes(bytes[4..8].try_into().unwrap()) as usize;
    loop {
        let entries = u16::from_le_bytes(bytes[ifd..ifd + 2].try_into().unwrap()) as usize;
        let next_at = ifd + 2 + entries * 12;
        let next = u32::from_le_bytes(bytes[next_at..next_at + 4].try_into().unwrap()) as usize;
        if next == 0 {
            ifd = next_at;
            break;
        }
        ifd = next;
    }
    if bytes.len() % 2 == 1 {
        bytes.push(0);
    }
    let each = 2 + 12 + 4;
    let n = count(each);
    let first = bytes.len() as u32;
    bytes[ifd..ifd + 4].copy_from_slice(&first.to_le_bytes());
    for i in 0..n {
        let here = bytes.len() as u32;
        bytes.extend_from_slice(&1u16.to_le_bytes());
        // ImageDescription, ASCII, 4 bytes inline: "abc\0".
        bytes.extend_from_slice(&270u16.to_le_bytes());
        bytes.extend_from_slice(&2u16.to_le_bytes());
        bytes.extend_from_slice(&4u32.to_le_bytes());
        bytes.extend_from_slice(b"abc\0");
        let next = if i + 1 == n { 0 } else { here + each as u32 };
        bytes.extend_from_slice(&next.to_le_bytes());
    }
    Hostile {
        name: "tiff IFDs",
        structures: n,
        bytes,
    }
}

/// FLAC: PADDING blocks of 12 bytes after STREAMINFO.
pub fn flac() -> Hostile {
    let base = fixture("audio/sox.flac");
    assert_eq!(&base[..4], b"fLaC");
    assert_eq!(base[4] & 0x7F, 0, "STREAMINFO first");
    let streaminfo_end = 8 + 34;
    let mut bytes = base[..streaminfo_end].to_vec();
    let last_flag = base[4] & 0x80;
    bytes[4] &= 0x7F;
    let block = [1u8, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let n = count(block.len());
    for i in 0..n {
        bytes.extend_from_slice(&block);
        if i + 1 == n && last_flag != 0 {
            let at = bytes.len() - block.len();
            bytes[at] |= 0x80;
        }
    }
    bytes.extend_from_slice(&base[streaminfo_end..]);
    Hostile {
        name: "flac metadata blocks",
        structures: n,
        bytes,
    }
}

/// MP3: an ID3v2.3 tag of PRIV frames with 6 bytes of payload before the audio.
pub fn mp3() -> Hostile {
    let base = fixture("audio/no_tag.mp3");
    assert_ne!(&base[..3], b"ID3");
    let mut frame = b"PRIV".to_vec();
    frame.extend_from_slice(&6u32.to_be_bytes());
    frame.extend_from_slice(&[0, 0]);
    frame.extend_from_slice(b"h\0host");
    let n = count(frame.len());
    let body = frame.repeat(n);
    let size = body.len() as u32;
    let syncsafe = [
        (size >> 21) as u8 & 0x7F,
        (size >> 14) as u8 & 0x7F,
        (size >> 7) as u8 & 0x7F,
        size as u8 & 0x7F,
    ];
    let mut bytes = b"ID3\x03\x00\x00".to_vec();
    bytes.extend_from_slice(&syncsafe);
    bytes.extend_from_slice(&body);
    bytes.extend_from_slice(&base);
    Hostile {
        name: "mp3 ID3 frames",
        structures: n,
        bytes,
    }
}

/// PDF: an incremental update of `null` objects with their xref section.
pub fn pdf() -> Hostile {
    let mut bytes = fixture("text/classic.pdf");
    let startxref = rfind(&bytes, b"startxref");
    let prev: usize = std::str::from_utf8(&bytes[startxref + 9..])
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let trailer = rfind(&bytes, b"trailer");
    let trailer_text = String::from_utf8_lossy(&bytes[trailer..startxref]).into_owned();
    let field = |name: &str| -> String {
        let at = trailer_text.find(name).unwrap_or_else(|| panic!("{name} in trailer")) + name.len();
        trailer_text[at..].split(['/', '>']).next().unwrap().trim().to_string()
    };
    let size: usize = field("/Size").parse().unwrap();
    let root = field("/Root");
    if bytes.last() != Some(&b'\n') {
        bytes.push(b'\n');
    }
    let n = MIN_SIZE / 40;
    let mut offsets = Vec::with_capacity(n);
    for i in 0..n {
        offsets.push(bytes.len());
        bytes.extend_from_slice(format!("{} 0 obj\nnull\nendobj\n", size + i).as_bytes());
    }
    let xref = bytes.len();
    bytes.extend_from_slice(format!("xref\n{size} {n}\n").as_bytes());
    for offset in offsets {
        bytes.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    bytes.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root {root} /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n",
            size + n
        )
        .as_bytes(),
    );
    Hostile {
        name: "pdf objects",
        structures: n,
        bytes,
    }
}

fn le16(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

fn le32(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

/// OOXML: a Word document with 65,000 more stored zip entries of 12 bytes each (as many as a zip
/// without ZIP64 counts), their local headers before the central directory and their records
/// at its end.
pub fn docx() -> Hostile {
    let base = fixture("text/small.docx");
    let eocd = rfind(&base, b"PK\x05\x06");
    let (entries, cd_size, cd_offset) = (le16(&base, eocd + 10), le32(&base, eocd + 12), le32(&base, eocd + 16));
    let n = 65_535 - entries;
    let data = b"hostile data";
    let crc = crc32fast::hash(data).to_le_bytes();
    let mut bytes = base[..cd_offset].to_vec();
    let mut central = base[cd_offset..cd_offset + cd_size].to_vec();
    for i in 0..n {
        let name = format!("customXml/hostile{i:05}.bin");
        let offset = bytes.len() as u32;
        // Version 2.0, no flags, stored, 1980-01-01 00:00.
        let common = |out: &mut Vec<u8>| {
            out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0x21, 0]);
            out.extend_from_slice(&crc);
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&[0, 0]);
        };
        bytes.extend_from_slice(b"PK\x03\x04");
        common(&mut bytes);
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(data);
        central.extend_from_slice(b"PK\x01\x02");
        central.extend_from_slice(&[20, 0]);
        common(&mut central);
        // No comment, disk 0, no attributes.
        central.extend_from_slice(&[0; 10]);
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let cd_offset = bytes.len() as u32;
    let cd_size = central.len() as u32;
    bytes.extend_from_slice(&central);
    let mut end = base[eocd..].to_vec();
    end[8..10].copy_from_slice(&65_535u16.to_le_bytes());
    end[10..12].copy_from_slice(&65_535u16.to_le_bytes());
    end[12..16].copy_from_slice(&cd_size.to_le_bytes());
    end[16..20].copy_from_slice(&cd_offset.to_le_bytes());
    bytes.extend_from_slice(&end);
    Hostile {
        name: "ooxml zip entries",
        structures: n,
        bytes,
    }
}
