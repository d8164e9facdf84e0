//! The harness of the in-place update tests (every format with `Carrier::in_place`): a file in
//! memory that records each write and where the syncs fell, the replay of those writes as a
//! crash could leave them, and the fuzz property every in-place update is held to
//! ([`fuzz_in_place`]).

use std::io::{Cursor, Read, Seek, SeekFrom, Write};

use aigc_label_core::in_place::{Storage, Update};
use aigc_label_core::json::{Shape, to_json};
use aigc_label_core::{Carrier, Label, Limits};

/// A file in memory that records every write (position, bytes) and where syncs fell.
#[derive(Debug)]
pub struct Recorder {
    /// The file as the writes left it.
    pub file: Cursor<Vec<u8>>,
    /// Every write, in order: where, and the bytes.
    pub writes: Vec<(u64, Vec<u8>)>,
    /// For each sync, how many writes came before it.
    pub syncs: Vec<usize>,
    /// For each cut of the file's length (`set_len`): how many writes came before it, and the
    /// length.
    pub cuts: Vec<(usize, u64)>,
}

impl Recorder {
    /// A recorder over `bytes`, at offset 0.
    pub fn new(bytes: Vec<u8>) -> Self {
        Recorder {
            file: Cursor::new(bytes),
            writes: Vec::new(),
            syncs: Vec::new(),
            cuts: Vec::new(),
        }
    }

    /// Bytes written in all.
    pub fn written(&self) -> u64 {
        self.writes.iter().map(|w| w.1.len() as u64).sum()
    }

    /// The file's bytes now.
    pub fn into_inner(self) -> Vec<u8> {
        self.file.into_inner()
    }
}

impl Read for Recorder {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.file.read(buf)
    }
}

impl Seek for Recorder {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.file.seek(pos)
    }
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let at = self.file.position();
        let n = self.file.write(buf)?;
        self.writes.push((at, buf[..n].to_vec()));
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Storage for Recorder {
    fn sync(&mut self) -> std::io::Result<()> {
        self.syncs.push(self.writes.len());
        Ok(())
    }

    fn set_len(&mut self, len: u64) -> std::io::Result<()> {
        self.cuts.push((self.writes.len(), len));
        self.file.set_len(len)
    }
}

/// Replays `writes` on `start` as a kill could leave them and shows each state to `seen(state,
/// write, cut)`: write `i` cut after every `step(i, bytes)`-th byte (a step as long as the write
/// means whole or not at all: a switch inside one sector), and once whole (`cut` equal to its
/// length). A write past the end grows the file, with zeros up to it, as a file system does.
/// Returns the state after the last write.
pub fn replay_torn(
    start: &[u8],
    writes: &[(u64, Vec<u8>)],
    step: impl Fn(usize, &[u8]) -> usize,
    mut seen: impl FnMut(&[u8], usize, usize),
) -> Vec<u8> {
    let mut state = start.to_vec();
    for (i, (at, bytes)) in writes.iter().enumerate() {
        let at = usize::try_from(*at).expect("a write inside memory");
        for cut in (0..bytes.len()).step_by(step(i, bytes).max(1)) {
            let mut torn = state.clone();
            if cut > 0 {
                if torn.len() < at + cut {
                    torn.resize(at + cut, 0);
                }
                torn[at..at + cut].copy_from_slice(&bytes[..cut]);
            }
            seen(&torn, i, cut);
        }
        if state.len() < at + bytes.len() {
            state.resize(at + bytes.len(), 0);
        }
        state[at..at + bytes.len()].copy_from_slice(bytes);
        seen(&state, i, bytes.len());
    }
    state
}

/// The property every in-place fuzz target checks (and its corpus replay): on any bytes, and on
/// them after the carrier's first write, `carrier.in_place()` never panics; an update that
/// reports success keeps the file's size and leaves exactly the new label, and a refusal or an
/// error writes nothing.
///
/// # Panics
/// When the property fails, or when `carrier` offers no in-place update.
pub fn fuzz_in_place(carrier: &dyn Carrier, data: &[u8]) {
    check_in_place(carrier, data, After::SameSize);
}

/// As [`fuzz_in_place`], for a format whose update may grow the file (TIFF appends the new
/// packet past the end when no room is left).
///
/// # Panics
/// As [`fuzz_in_place`].
pub fn fuzz_in_place_growing(carrier: &dyn Carrier, data: &[u8]) {
    check_in_place(carrier, data, After::Grown);
}

/// As [`fuzz_in_place`], for a format whose update in place makes the very bytes of a rewrite
/// (PDF, which appends an update or replaces its own, so the file may grow or shrink): a
/// successful update leaves exactly what [`Carrier::write`] writes.
///
/// # Panics
/// As [`fuzz_in_place`].
pub fn fuzz_in_place_as_rewrite(carrier: &dyn Carrier, data: &[u8]) {
    check_in_place(carrier, data, After::Rewritten);
}

/// What a successful update leaves, besides exactly the new label.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum After {
    /// A file of the same size.
    SameSize,
    /// A file of the same size or larger.
    Grown,
    /// The bytes [`Carrier::write`] writes.
    Rewritten,
}

fn check_in_place(carrier: &dyn Carrier, data: &[u8], want: After) {
    let in_place = carrier
        .in_place()
        .unwrap_or_else(|| panic!("{}: no in-place update to fuzz", carrier.format()));
    let limits = Limits::default();
    let first = Label::new("001191440300708461136T1XGW3", "fuzz-1");
    let label = first.clone().propagated("001191110108551385082Q20000", "fuzz-2");
    let json = to_json(&label, Shape::Bare);
    let mut labelled = Vec::new();
    let ours = carrier
        .write(&mut Cursor::new(data), &mut labelled, &first, &limits)
        .is_ok();
    for input in [data, &labelled[..]].into_iter().take(1 + usize::from(ours)) {
        let mut file = Cursor::new(input.to_vec());
        match in_place.update(&mut file, &label, &limits) {
            Ok(Update::InPlace(_)) => {
                let after = file.into_inner();
                let kept = match want {
                    After::SameSize => after.len() == input.len(),
                    After::Grown => after.len() >= input.len(),
                    After::Rewritten => {
                        let mut rewritten = Vec::new();
                        let done = carrier.write(&mut Cursor::new(input), &mut rewritten, &label, &limits);
                        done.is_ok() && after == rewritten
                    }
                };
                assert!(
                    kept,
                    "{}: the file after an in-place update ({want:?})",
                    carrier.format()
                );
                let found = carrier.find(&mut Cursor::new(&after), &limits).unwrap_or_default();
                let texts: Vec<_> = found.iter().map(|f| f.text.as_str()).collect();
                assert_eq!(texts, [json.as_str()], "{}: exactly the new label", carrier.format());
            }
            Ok(Update::Rewrite(_)) | Err(_) => {
                assert!(file.into_inner() == input, "{}: nothing written", carrier.format());
            }
        }
    }
}
