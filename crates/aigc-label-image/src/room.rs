//! Label updates in place through a *room* structure next to the label's (issue 16), for the
//! containers whose structures are skipped by a length before anyone parses them and carry no
//! checksum: JPEG marker segments ([`crate::jpeg::update_in_place`]) and WebP's RIFF chunks
//! ([`crate::webp::update_in_place`]). PNG chunks carry a CRC, which prepared bytes would break
//! until the switch, so PNG is rewritten.
//!
//! Our writer leaves a room structure (one no reader looks into) right after the label's; the
//! two alternate roles. An update writes the new label structure inside the room, then one
//! small write inside one disk sector rewrites a header, so that readers see the new one and
//! not the old:
//!
//! ```text
//! forward:  [label: old] [room ........ new]  ->  [room: old + room ...] [label: new]
//! backward: [room ...... ] [label: old]       ->  [label: new] [room: rest + old]
//! ```
//!
//! Forward, the old label structure's header becomes a room header that ends where the new
//! structure starts (prepared at the end of the room). Backward, the room's header becomes the
//! new structure's (its body written after the header first), and a room header written after
//! it covers the rest, old structure included.
//!
//! The steps: (1) the new bytes where no reader looks, synced; (2) the switch, synced; (3) the
//! old label's text, now inside a room, zeroed and not synced (lost, it leaves stale bytes in a
//! room, which no reader looks at). A kill at any moment leaves a file that reads as the old
//! label or the new one; nothing outside the two structures changes.

use std::io::{Read, Seek, Write};
use std::ops::Range;

use aigc_label_core::Result;

/// What an in-place update did: the one type every carrier's update returns.
pub use aigc_label_core::in_place::Update;

use aigc_label_core::in_place::in_one_sector;

/// The label's structure and the room next to it, as a container frames them.
pub(crate) struct Pair {
    /// The label's structure, header first.
    pub old: Range<u64>,
    /// The room, right before or right after `old`.
    pub room: Range<u64>,
    /// The bytes of `old` holding the label's text (zeroed once inside a room).
    pub text: Range<u64>,
    /// Bytes at the start of a structure that make it what it is (marker or FourCC, length,
    /// identifier): a prepared write never touches the room's.
    pub head: u64,
    /// The header bytes the switch rewrites, relative to a structure's start; the header bytes
    /// outside it are the same in a room and in a label structure.
    pub switch: Range<u64>,
}

/// The writes of the three steps, and where the label and the room end up.
#[derive(Debug)]
pub(crate) struct Steps {
    prepare: Vec<(u64, Vec<u8>)>,
    switch: (u64, Vec<u8>),
    scrub: (u64, u64),
    label_range: Range<u64>,
}

impl Pair {
    /// Works out the update that puts `new` (a whole label structure) in place of `old`;
    /// `room_header(len)` is the header of a room structure `len` bytes long (`None` when no
    /// such structure can be that long). `Err(why)` when it does not fit or the switch would
    /// straddle a sector.
    pub(crate) fn steps(
        &self,
        new: &[u8],
        room_header: impl Fn(u64) -> Option<Vec<u8>>,
    ) -> std::result::Result<Steps, &'static str> {
        let len = new.len() as u64;
        let (s0, s1) = (
            usize::try_from(self.switch.start).unwrap_or(usize::MAX),
            usize::try_from(self.switch.end).unwrap_or(usize::MAX),
        );
        let steps = if self.room.start == self.old.end {
            // Forward: the new structure ends where the room ends.
            let h = self.old.start;
            let n = self
                .room
                .end
                .checked_sub(len)
                .filter(|&n| n >= self.room.start + self.head)
                .ok_or("the new label does not fit the room")?;
            let header = room_header(n - h).ok_or("the room would outgrow its structure")?;
            let switch = header.get(s0..s1).ok_or("a room header shorter than its switch")?;
            Steps {
                prepare: vec![(n, new.to_vec())],
                switch: (h + self.switch.start, switch.to_vec()),
                scrub: (self.text.start, self.text.end - self.text.start),
                label_range: h..self.room.end,
            }
        } else if self.room.end == self.old.start {
            // Backward: the new structure starts where the room starts, a room header follows.
            let h = self.room.start;
            let rest = h + len;
            if rest + self.head > self.old.start {
                return Err("the new label does not fit the room");
            }
            let header = room_header(self.old.end - rest).ok_or("the room would outgrow its structure")?;
            let (Some(switch), Some(body)) = (new.get(s0..s1), new.get(s1..)) else {
                return Err("a label structure shorter than its switch");
            };
            Steps {
                prepare: vec![(h + self.switch.end, body.to_vec()), (rest, header)],
                switch: (h + self.switch.start, switch.to_vec()),
                scrub: (self.old.start, self.text.end - self.old.start),
                label_range: h..self.old.end,
            }
        } else {
            return Err("the room is not next to the label");
        };
        let (at, bytes) = &steps.switch;
        if !in_one_sector(*at, (bytes.len() as u64).max(1)) {
            return Err("the switch would straddle a disk sector");
        }
        Ok(steps)
    }
}

impl Steps {
    /// Runs the steps on `file`, calling `sync` after the first two (core's step runner).
    pub(crate) fn run<F: Read + Write + Seek>(
        self,
        file: &mut F,
        sync: impl FnMut(&mut F) -> std::io::Result<()>,
    ) -> Result<Update> {
        let (at, len) = self.scrub;
        let steps = aigc_label_core::in_place::Steps::single_switch(
            self.prepare,
            self.switch,
            std::slice::from_ref(&(at..at.saturating_add(len))),
            self.label_range,
        );
        Ok(Update::InPlace(steps.run(file, sync)?))
    }
}

/// Bytes of an XMP `packet` before its padding and `<?xpacket end` trailer: the text to zero.
pub(crate) fn packet_text_len(packet: &[u8]) -> u64 {
    let trailer = b"<?xpacket end";
    let end = packet
        .windows(trailer.len())
        .rposition(|w| w == trailer)
        .unwrap_or(packet.len());
    let text = packet.get(..end).unwrap_or(packet);
    let padding = text.iter().rev().take_while(|b| b.is_ascii_whitespace()).count();
    (end - padding) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(old: Range<u64>, room: Range<u64>) -> Pair {
        Pair {
            text: old.start + 4..old.start + 6,
            old,
            room,
            head: 4,
            switch: 1..3,
        }
    }

    fn header(len: u64) -> Option<Vec<u8>> {
        Some(vec![b'R', u8::try_from(len).ok()?, b'r', b'r'])
    }

    #[test]
    fn forward_and_backward() {
        let s = pair(0..10, 10..30).steps(b"L\x08ll-new", header).unwrap();
        assert_eq!(s.prepare, [(22, b"L\x08ll-new".to_vec())]);
        assert_eq!(s.switch, (1, vec![22, b'r']));
        assert_eq!(s.label_range, 0..30);
        let s = pair(20..30, 0..20).steps(b"L\x08ll-new", header).unwrap();
        assert_eq!(s.prepare, [(3, b"l-new".to_vec()), (8, vec![b'R', 22, b'r', b'r'])]);
        assert_eq!(s.switch, (1, b"\x08l".to_vec()));
        assert_eq!(s.scrub, (20, 6));
        assert!(pair(0..10, 10..15).steps(b"L\x08ll-new", header).is_err());
        assert!(pair(0..10, 11..30).steps(b"L\x08ll-new", header).is_err());
        assert!(pair(510..520, 520..560).steps(b"L\x08ll-new", header).is_err());
    }

    #[test]
    fn packet_text() {
        assert_eq!(packet_text_len(b"<a/>   \n <?xpacket end=\"w\"?>"), 4);
        assert_eq!(packet_text_len(b"<a/>"), 4);
    }
}
