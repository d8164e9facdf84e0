//! Crash-safe label updates in place for PNG (issue 16).
//!
//! Every PNG chunk ends with a CRC over its type and data, so the room layout of JPEG and WebP
//! (prepared bytes inside a room, one header rewritten) would leave a chunk with a wrong CRC
//! between the steps. The layout our writer makes instead ([`super::Png`]'s `write`), with `Q` a
//! [`PAST`] chunk of 4 data bytes, `A` the label's `iTXt` chunk and `R` a [`ROOM`] chunk of
//! zeros ([`Limits::label_room`] bytes more than `A`), all three private, ancillary and
//! safe-to-copy:
//!
//! ```text
//! before:  [Q: len | paSt | Y | ... | crc] [A: old label] [R: len | roOm | .......... | crc ]
//! after:   [Q: len'| paSt | Y'| ... | crc    A: old label    len | roOm] [crc'] [A'] [F: len | roOm | ... | crc ]
//! ```
//!
//! An update (1) writes into `R`'s data, at its start (or up to [`STARTS`] steps later, the
//! bytes skipped joining `Q`), `Q`'s new CRC, the new label chunk `A'` and the header of a
//! filler chunk `F` of type [`ROOM`] that ends where `R` ends, in writes of one disk sector
//! each; synced. `R`'s CRC slot is never written: every one of those writes keeps `R`'s CRC as
//! it was (below), and `F`'s data is set so that `F`'s CRC is that same value. (2) Switches with
//! one write of 12 bytes inside one disk sector, at `Q`'s start: `Q`'s length grows to cover its
//! old CRC, the old label chunk, `R`'s header and any skipped bytes, and its first 4 data bytes
//! `Y` change so that `Q`'s CRC is the value step 1 wrote; synced. Readers then see `Q`, `A'`,
//! `F`, every CRC right. (3) Zeroes the old label's text, now inside `Q`, in writes of at most
//! one sector that each also set 4 bytes next to the zeros so that `Q`'s CRC stays the same;
//! not synced.
//!
//! Why every write of step 1 keeps `R` valid: CRC-32 is affine over GF(2), so a write's change
//! of `R`'s CRC is a linear function of the bytes it changes, zero when the write carries
//! compensating free bits of its own sector (the `prepare` module: spaces of the new XMP
//! packet that may be tabs, characters of a long label's text that may be written `&#xHH;` or
//! `&#DDD;`, `Q`'s new CRC, `F`'s first bytes), all solved at once by Gaussian elimination.
//! Each write's change being zero on its own, any subset of them that a crash lets through, in
//! any order, leaves `R` valid and the old label read; a disk that writes a 512-byte sector
//! whole or not at all is assumed (the conservative choice). `Y` is free: before the switch
//! only `Q`'s old 4 bytes count, after it `Q`'s CRC covers `Y`, which four bytes can set to
//! any value ([`super::crc::solve`]). Bytes inside `F` change `R`'s and `F`'s CRCs alike, and
//! `A'` whole (data and its own CRC) cancels out of `R`'s (after a message and its own CRC a
//! CRC register holds a constant); so the one equation `F`'s CRC adds pins `Q`'s new CRC, and
//! the free bits of `F` set `F`'s CRC.
//!
//! A kill at any moment leaves a file that reads as the old label or the new one, with every
//! chunk's CRC right (pngcheck, Pillow, libpng, exiftool and our reader accept it at every
//! step). Each update moves the label forward, so `Q` grows and `F` shrinks; when the new label
//! no longer fits, or no start gives every sector written enough free bits, [`Update::Rewrite`]
//! says so and the rewrite makes the layout again. It also does when the file lacks the layout
//! (a first label, another writer's file), when a label sits anywhere but that chunk, or when
//! the switch would straddle a sector (our writer pads so that it does not).
//!
//! [`Update::Rewrite`]: aigc_label_core::in_place::Update::Rewrite

use std::ops::Range;

use aigc_label_core::in_place::{InPlace, Plan, Steps, in_one_sector};
use aigc_label_core::io::ReadSeek;
use aigc_label_core::json::{self, Shape};
use aigc_label_core::{Label, Limits, Result};

use aigc_label_core::container::xmp_plan;

use super::crc::{concat, solve};
use super::prepare::{NewChunk, Room, packet_with_sites, prepare};
use super::{Chunk, MAX_CHUNK_LEN, Place, Png, Role, TextChunk, Walker, copies, xmp_chunk};
use crate::exif;
use crate::room::packet_text_len;

/// The chunk our writer puts right before the label's, which an update grows over the old
/// label (`p`: ancillary, `a`: private, `S`: reserved bit clear, `t`: safe to copy).
pub const PAST: [u8; 4] = *b"paSt";

/// The room chunk our writer puts right after the label's, and the filler an update leaves
/// after the new label (ancillary, private, reserved bit clear, safe to copy).
pub const ROOM: [u8; 4] = *b"roOm";

/// Bytes of the switch: `Q`'s length, type (unchanged) and first 4 data bytes.
const SWITCH: u64 = 12;

/// Updates in place, crash-safely (see the module notes), when the layout our writer leaves
/// around the label can take the new one. The plan's steps: prepare (synced), switch (synced),
/// scrub (not synced).
impl InPlace for Png {
    fn plan(&self, file: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
        steps(file, label, limits)
    }
}

/// The layout around the label: `Q`, the label's chunk `A` (and its decoded text), `R`.
struct Layout {
    q: Chunk,
    a: Chunk,
    text: TextChunk,
    r: Chunk,
}

/// Finds the layout in one strict walk; `Err(why)` when the file does not have it.
fn layout(input: &mut dyn ReadSeek, limits: &Limits) -> Result<std::result::Result<Layout, &'static str>> {
    let mut walker = Walker::new(input, limits)?;
    let mut prev: Option<Chunk> = None;
    let mut waiting: Option<(Chunk, Chunk, TextChunk)> = None;
    let mut found = None;
    let (mut labels, mut xmp_chunks) = (0usize, 0usize);
    while let Some(chunk) = walker.next()? {
        if let Some((q, a, text)) = waiting.take() {
            if chunk.is(&ROOM) {
                found = Some(Layout { q, a, text, r: chunk });
            }
        }
        if let Some((data, tiff_at)) = walker.exif(&chunk, limits)? {
            labels += exif::labelled(&data, tiff_at, limits).len();
        } else if let Some(text) = walker.text(&chunk, limits)? {
            let here = copies(&chunk, &text, limits)?.len();
            labels += here;
            if text.role == Role::Xmp {
                xmp_chunks += 1;
                let first = xmp_chunks == 1;
                let before_q = prev.filter(|p| p.is(&PAST) && p.end() == chunk.offset);
                let placed = chunk.place == Place::BeforeIdat && !text.compressed;
                if let (true, 1, true, Some(q)) = (first, here, placed, before_q) {
                    waiting = Some((q, chunk, text));
                }
            }
        }
        prev = Some(chunk);
    }
    Ok(match found {
        _ if labels != 1 => Err("not exactly one label, in one XMP chunk"),
        Some(layout) => Ok(layout),
        None => Err("no room chunks of ours around the XMP chunk"),
    })
}

/// Starts tried for `Q`'s new CRC, after the start of `R`'s data: a step moves `A'` across
/// sector boundaries, so that every sector written holds free bits.
const STARTS: u64 = 8;
const START_STEP: u64 = 64;

/// Works out the update; `Err(why)` when it cannot be done in place.
fn steps(input: &mut dyn ReadSeek, label: &Label, limits: &Limits) -> Result<Plan> {
    let Layout { q, a, text, r } = match layout(input, limits)? {
        Ok(layout) => layout,
        Err(why) => return Ok(Err(why)),
    };
    if q.len < 4 {
        return Ok(Err("the chunk before the label has no switch bytes"));
    }
    if !in_one_sector(q.offset, SWITCH) {
        return Ok(Err("the switch would straddle a disk sector"));
    }
    let packet = xmp_plan::label_packet(Some(&text.text), &json::to_json(label, Shape::Bare), limits)?;
    // Everything `Q` may cover after its switch bytes, `R` whole: read at once, so a layout
    // larger than the metadata limit (not ours) is rewritten instead.
    let y_at = q.data_start();
    if r.end() - y_at > limits.max_metadata_bytes {
        return Ok(Err("the chunks around the label are larger than the metadata limit"));
    }
    let mut src = aigc_label_core::io::Source::new(input, super::FORMAT)?;
    src.seek_to(y_at + 4)?;
    let around = src.read_vec(r.end() - (y_at + 4), "chunks around the label", limits)?;
    let at = |pos: u64| usize::try_from(pos - (y_at + 4)).unwrap_or(usize::MAX);
    let (Some(r_data), Some(r_crc)) = (
        around.get(at(r.data_start())..at(r.end() - 4)),
        around.get(at(r.end() - 4)..).and_then(|c| <[u8; 4]>::try_from(c).ok()),
    ) else {
        return Ok(Err("the room chunk is cut short"));
    };
    let room = Room {
        at: r.data_start(),
        data: r_data,
        crc: u32::from_be_bytes(r_crc),
    };
    // Step 1 keeps the room's CRC, which must then be right (a rewrite repairs a wrong one).
    if crc32fast::hash(&[&ROOM[..], r_data].concat()) != room.crc {
        return Ok(Err("the room chunk's CRC is wrong"));
    }
    // The packet with few references first (a short label), then densely (a signed one).
    let mut planned = None;
    for dense in [false, true] {
        let Some((packet, sites)) = packet_with_sites(&packet, dense, limits)? else {
            return Ok(Err("the new packet does not hold exactly one label"));
        };
        let new = xmp_chunk(&text.language, &text.translated, &packet)?;
        // Sites as offsets in the chunk: the packet ends right before the chunk's CRC.
        let packet_at = new.len() - 4 - packet.len();
        let new = NewChunk::new(new, sites.into_iter().map(|s| s.shifted(packet_at)).collect());
        planned = (0..STARTS)
            .map(|i| r.data_start() + i * START_STEP)
            .find_map(|p| Some((p, prepare(&room, p, &new)?)));
        if planned.is_some() {
            break;
        }
    }
    let Some((p, prepared)) = planned else {
        return Ok(Err(
            "the new label does not fit the room with free bits in every sector",
        ));
    };
    let q_len = p - q.data_start();
    let f_len = r.end() - 4 - (prepared.label.end + 8);
    if q_len > MAX_CHUNK_LEN || f_len > MAX_CHUNK_LEN {
        return Ok(Err("the chunks would outgrow their length field"));
    }

    // `Q` after the switch: its 4 switch bytes `Y`, then everything up to `p` as the file holds
    // it; `Y` makes its CRC the value step 1 put at `p`.
    let Some(covered) = around.get(..at(p)) else {
        return Ok(Err("the room chunk is cut short"));
    };
    let covered_crc = crc32fast::hash(covered);
    let q_crc = |y: u32| {
        concat(
            crc32fast::hash(&[&PAST[..], &y.to_be_bytes()].concat()),
            covered_crc,
            covered.len() as u64,
        )
    };
    let Some(y) = solve(|y| q_crc(y) ^ prepared.q_crc).filter(|&y| q_crc(y) == prepared.q_crc) else {
        return Ok(Err("no switch bytes give the chunk before the label its CRC"));
    };
    let switch = (
        q.offset,
        [&(q_len as u32).to_be_bytes()[..], &PAST, &y.to_be_bytes()].concat(),
    );

    // The old packet's text (and 4 bytes after it, room for the last compensation), inside `Q`
    // after the switch.
    let packet_at = a.end() - 4 - text.text.len() as u64;
    let text_end = packet_at + packet_text_len(&text.text);
    let scrub_range = packet_at.max(y_at + 4)..(text_end + 4).min(p);
    let message_head = [&PAST[..], &y.to_be_bytes()].concat();
    let mut covered = covered.to_vec();
    let scrub = scrub(&mut covered, y_at + 4, &message_head, prepared.q_crc, scrub_range);
    Ok(Ok(Steps {
        phases: vec![prepared.writes, vec![switch], scrub],
        label_range: prepared.label,
        // Not synced: lost to a crash, it leaves the old text inside `Q`, which nothing reads.
        scrub: true,
        cut: None,
    }))
}

/// Writes of at most one sector each that zero `range` (file offsets inside `covered`, which
/// starts at file offset `at` and follows `head` in `Q`'s CRC) but for the last 4 bytes of each,
/// set so that `Q`'s CRC stays `crc`.
fn scrub(covered: &mut [u8], at: u64, head: &[u8], crc: u32, range: Range<u64>) -> Vec<(u64, Vec<u8>)> {
    let sector = aigc_label_core::in_place::SECTOR;
    let mut writes = Vec::new();
    let mut start = range.start;
    while start < range.end {
        let end = ((start / sector + 1) * sector).min(range.end);
        let piece = (start, end);
        start = end;
        // Too short to zero anything besides its 4 compensation bytes.
        if piece.1 - piece.0 <= 4 {
            continue;
        }
        let (Ok(s), Ok(e)) = (usize::try_from(piece.0 - at), usize::try_from(piece.1 - at)) else {
            continue;
        };
        let (Some(before), Some(after)) = (covered.get(..s), covered.get(e..)) else {
            continue;
        };
        let before_crc = crc32fast::hash(&[head, before].concat());
        let (after_crc, after_len) = (crc32fast::hash(after), after.len() as u64);
        let mut bytes = vec![0u8; e - s];
        let with = |c: u32, bytes: &mut Vec<u8>| {
            let n = bytes.len();
            if let Some(last) = bytes.get_mut(n - 4..) {
                last.copy_from_slice(&c.to_be_bytes());
            }
            concat(
                concat(before_crc, crc32fast::hash(bytes), bytes.len() as u64),
                after_crc,
                after_len,
            )
        };
        let mut trial = bytes.clone();
        let Some(c) = solve(|c| with(c, &mut trial) ^ crc) else {
            continue;
        };
        if with(c, &mut bytes) != crc {
            continue;
        }
        if let Some(place) = covered.get_mut(s..e) {
            place.copy_from_slice(&bytes);
        }
        writes.push((piece.0, bytes));
    }
    writes
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use aigc_label_core::Carrier;
    use aigc_label_core::in_place::{Storage, Update};
    use aigc_label_testutil::in_place::Recorder;

    use super::*;

    /// The update through the carrier's capability, as the facade makes it.
    fn update(file: &mut dyn Storage, label: &Label, limits: &Limits) -> Result<Update> {
        Png.update(file, label, limits)
    }

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc32fast::hash(&[&kind[..], data].concat()).to_be_bytes());
        out
    }

    /// A 1x1 grey PNG, with a text chunk of `pad` bytes before the image data to move the label.
    fn tiny(pad: usize) -> Vec<u8> {
        let mut png = super::super::SIGNATURE.to_vec();
        png.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
        png.extend(chunk(b"tEXt", &[b"Comment\0".as_slice(), &vec![b'x'; pad]].concat()));
        png.extend(chunk(
            b"IDAT",
            &[0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01],
        ));
        png.extend(chunk(b"IEND", &[]));
        png
    }

    /// Every chunk up to `IEND` has the CRC of its type and data.
    fn crcs_hold(png: &[u8]) -> bool {
        let mut at = 8;
        while let Some(head) = png.get(at..at + 8) {
            let len = u32::from_be_bytes(head[..4].try_into().unwrap()) as usize;
            let Some(body) = png.get(at + 4..at + 8 + len) else {
                return false;
            };
            let Some(crc) = png.get(at + 8 + len..at + 12 + len) else {
                return false;
            };
            if crc32fast::hash(body).to_be_bytes() != crc {
                return false;
            }
            if &head[4..] == b"IEND" {
                return true;
            }
            at += 12 + len;
        }
        false
    }

    fn texts(png: &[u8]) -> Vec<String> {
        let found = Png.find(&mut Cursor::new(png), &Limits::default()).unwrap();
        found.into_iter().map(|f| f.text).collect()
    }

    fn label(n: usize, len: usize) -> Label {
        Label::new("001191440300708461136T1XGW3", "a-1")
            .propagated("001191110108551385082Q20000", format!("p-{n}-{}", "x".repeat(len)))
    }

    /// Every state a crash can leave has the old label or the new and every chunk's CRC right:
    /// each write lies inside one disk sector (whole or not at all), and the prepared writes
    /// keep the room's CRC each on its own, so any subset of them, in any order, leaves a valid
    /// file; the old label's text is gone at the end; the writes are the label's size and a few
    /// hundred bytes more.
    #[test]
    fn updates_keep_every_crc_and_read_old_or_new() {
        let first = Label::new("001191440300708461136T1XGW3", "a-1");
        updates_hold(first, |n| label(n, 40 * n), (0..520).step_by(37).chain(490..500));
    }

    /// A signed label's size: envelopes longer than a disk sector without white space, written
    /// with character references dense enough that every sector holds free bits.
    #[test]
    fn long_labels_update_in_place_too() {
        let envelope = |n: usize| {
            format!(
                r#"{{"SecurityData":{{"Type":"TC260PG","PubSD":[{{"Value":"{}{n}"}}]}}}}"#,
                "0123456789abcdef".repeat(40)
            )
        };
        let long = move |n: usize| {
            let mut label = label(n, 10);
            label.reserved_code1 = envelope(n);
            label.reserved_code2 = envelope(n + 100);
            label
        };
        updates_hold(long(99), long, (0..520).step_by(101));
    }

    /// The checks of [`updates_keep_every_crc_and_read_old_or_new`] for labels `make(n)` after
    /// `first`, the label of the first write, with
    /// a text chunk of each of `pads` bytes before the label to move it across sectors.
    fn updates_hold(first: Label, make: impl Fn(usize) -> Label, pads: impl Iterator<Item = usize>) {
        for pad in pads {
            let mut file = Vec::new();
            Png.write(&mut Cursor::new(tiny(pad)), &mut file, &first, &Limits::default())
                .unwrap();
            assert!(crcs_hold(&file), "pad {pad}");
            let mut old = json::to_json(&first, Shape::Bare);
            let mut in_place = 0;
            for n in 0..4 {
                let next = make(n);
                let new = json::to_json(&next, Shape::Bare);
                let mut rec = Recorder::new(file.clone());
                let Update::InPlace(w) = update(&mut rec, &next, &Limits::default()).unwrap() else {
                    assert!(in_place >= 2, "pad {pad}: update {n} asked for a rewrite");
                    assert_eq!(rec.written(), 0);
                    break;
                };
                in_place += 1;
                assert_eq!(w.bytes_written, rec.written());
                assert_eq!(rec.syncs.len(), 2, "prepare and switch, each synced");
                let (prepared, switched) = (rec.syncs[0], rec.syncs[1]);
                assert_eq!(switched, prepared + 1, "one switch write");
                let (at, bytes) = &rec.writes[prepared];
                assert!(bytes.len() == 12 && in_one_sector(*at, 12), "pad {pad}");
                let label_len = (w.label_range.end - w.label_range.start) as usize;
                assert!(rec.written() as usize <= 2 * label_len + 600, "{} bytes", rec.written());
                // Any subset of the prepared writes: the old label, every CRC right.
                let apply = |state: &mut Vec<u8>, (at, bytes): &(u64, Vec<u8>)| {
                    state[*at as usize..*at as usize + bytes.len()].copy_from_slice(bytes);
                };
                assert!(prepared <= 12, "{prepared} prepared writes");
                for subset in 0u32..1 << prepared {
                    let mut torn = file.clone();
                    for (i, write) in rec.writes[..prepared].iter().enumerate() {
                        if subset >> i & 1 == 1 {
                            apply(&mut torn, write);
                        }
                    }
                    assert!(crcs_hold(&torn), "pad {pad}: prepared writes {subset:b}");
                    assert_eq!(texts(&torn), std::slice::from_ref(&old), "pad {pad}");
                }
                let mut state = file.clone();
                for (i, write) in rec.writes.iter().enumerate() {
                    assert!(in_one_sector(write.0, write.1.len() as u64), "pad {pad} write {i}");
                    apply(&mut state, write);
                    assert!(crcs_hold(&state), "pad {pad}: after write {i}");
                    let seen = texts(&state);
                    let want = if i < prepared { &old } else { &new };
                    assert_eq!(seen, std::slice::from_ref(want), "pad {pad} write {i}");
                }
                // The old packet's text is zeroed: its namespace and property are gone.
                let count = |bytes: &[u8]| bytes.windows(5).filter(|w| w == b"TC260").count();
                let range = w.label_range.start as usize..w.label_range.end as usize;
                assert_eq!(count(&state), count(&state[range]), "pad {pad}: old text scrubbed");
                assert_eq!(state.len(), file.len());
                assert_eq!(texts(&state), std::slice::from_ref(&new));
                file = state;
                old = new;
            }
            assert!(in_place >= 2, "pad {pad}");
        }
    }

    #[test]
    fn without_the_layout_nothing_is_written() {
        let plain = tiny(3);
        let mut rec = Recorder::new(plain.clone());
        assert!(matches!(
            update(&mut rec, &label(0, 0), &Limits::default()),
            Ok(Update::Rewrite(_))
        ));
        // A label written without room, and one too large for the room.
        let mut limits = Limits::default();
        limits.label_room = 0;
        let mut bare = Vec::new();
        Png.write(&mut Cursor::new(&plain), &mut bare, &label(0, 0), &limits)
            .unwrap();
        let mut labelled = Vec::new();
        Png.write(
            &mut Cursor::new(&plain),
            &mut labelled,
            &label(0, 0),
            &Limits::default(),
        )
        .unwrap();
        for (file, next) in [(bare, label(1, 0)), (labelled.clone(), label(1, 9000))] {
            let mut rec = Recorder::new(file);
            assert!(matches!(
                update(&mut rec, &next, &Limits::default()),
                Ok(Update::Rewrite(_))
            ));
            assert_eq!(rec.written(), 0);
        }
        // Chunks around the label larger than the metadata limit are not read: a rewrite.
        let mut small = Limits::default();
        small.max_metadata_bytes = 4000;
        let mut rec = Recorder::new(labelled.clone());
        assert!(matches!(update(&mut rec, &label(1, 0), &small), Ok(Update::Rewrite(_))));
        assert_eq!(rec.written(), 0);
        // A room chunk whose CRC is wrong: step 1 would keep it wrong, so a rewrite.
        let mut broken = labelled;
        let room = broken.windows(4).position(|w| w == ROOM).unwrap();
        let len = u32::from_be_bytes(broken[room - 4..room].try_into().unwrap()) as usize;
        broken[room + 4 + len] ^= 1;
        let mut rec = Recorder::new(broken);
        assert!(matches!(
            update(&mut rec, &label(1, 0), &Limits::default()),
            Ok(Update::Rewrite(_))
        ));
        assert_eq!(rec.written(), 0);
    }
}
