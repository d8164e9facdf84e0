//! The *room* layout of an update in place, for containers whose structures are skipped by a
//! length before anyone parses them: JPEG marker segments and WebP's RIFF chunks (the image
//! crate), Matroska's EBML elements (the video crate).
//!
//! Our writer leaves a room structure (one no reader looks into) right next to the label's; the
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
//! it covers the rest, old structure included. Either way the switch lands on the header at the
//! start of the pair, so a pair our writer placed with that header inside one sector keeps it
//! there across updates.
//!
//! The steps ([`super::Steps::single_switch`]): (1) the new bytes where no reader looks,
//! synced; (2) the switch, synced; (3) the old label's text, now inside a room, zeroed and not
//! synced. A kill at any moment leaves a file that reads as the old label or the new one;
//! nothing outside the two structures changes.

use std::ops::Range;

use super::{Steps, in_one_sector};

/// The label's structure and the room next to it, as a container frames them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// The label's structure, header first.
    pub old: Range<u64>,
    /// The room, right before or right after `old`.
    pub room: Range<u64>,
    /// The bytes of `old` holding the label's text (zeroed once inside a room).
    pub text: Range<u64>,
    /// Bytes at the start of a structure that make it what it is (marker or ID, length,
    /// identifier): a prepared write never touches the room's, and a room header written after
    /// the new structure is this long.
    pub head: u64,
    /// The header bytes the switch rewrites, relative to a structure's start; the header bytes
    /// outside it are the same in a room and in a label structure.
    pub switch: Range<u64>,
}

impl Pair {
    /// Works out the update that puts `new` (a whole label structure) in place of `old`;
    /// `room_header(len)` is the header of a room structure `len` bytes long (`None` when no
    /// such structure can be that long). `Err(why)` when it does not fit or the switch would
    /// straddle a sector.
    pub fn steps(
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
            Steps::single_switch(
                vec![(n, new.to_vec())],
                (h + self.switch.start, switch.to_vec()),
                std::slice::from_ref(&self.text),
                h..self.room.end,
            )
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
            Steps::single_switch(
                vec![(h + self.switch.end, body.to_vec()), (rest, header)],
                (h + self.switch.start, switch.to_vec()),
                std::slice::from_ref(&(self.old.start..self.text.end)),
                h..self.old.end,
            )
        } else {
            return Err("the room is not next to the label");
        };
        let switch = steps.phases.get(1).and_then(|p| p.first());
        if !switch.is_some_and(|(at, bytes)| in_one_sector(*at, (bytes.len() as u64).max(1))) {
            return Err("the switch would straddle a disk sector");
        }
        Ok(steps)
    }
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
        assert_eq!(s.phases[0], [(22, b"L\x08ll-new".to_vec())]);
        assert_eq!(s.phases[1], [(1, vec![22, b'r'])]);
        assert_eq!(s.label_range, 0..30);
        let s = pair(20..30, 0..20).steps(b"L\x08ll-new", header).unwrap();
        assert_eq!(s.phases[0], [(3, b"l-new".to_vec()), (8, vec![b'R', 22, b'r', b'r'])]);
        assert_eq!(s.phases[1], [(1, b"\x08l".to_vec())]);
        assert_eq!(s.phases[2], [(20, vec![0; 6])]);
        assert!(pair(0..10, 10..15).steps(b"L\x08ll-new", header).is_err());
        assert!(pair(0..10, 11..30).steps(b"L\x08ll-new", header).is_err());
        assert!(pair(510..520, 520..560).steps(b"L\x08ll-new", header).is_err());
    }
}
