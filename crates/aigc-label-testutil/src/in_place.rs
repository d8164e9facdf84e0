//! The harness of the in-place update tests (every format with `Carrier::in_place`): a file in
//! memory that records each write and where the syncs fell, and the replay of those writes as a
//! crash could leave them.

use std::io::{Cursor, Read, Seek, SeekFrom, Write};

use aigc_label_core::in_place::Storage;

/// A file in memory that records every write (position, bytes) and where syncs fell.
#[derive(Debug)]
pub struct Recorder {
    /// The file as the writes left it.
    pub file: Cursor<Vec<u8>>,
    /// Every write, in order: where, and the bytes.
    pub writes: Vec<(u64, Vec<u8>)>,
    /// For each sync, how many writes came before it.
    pub syncs: Vec<usize>,
}

impl Recorder {
    /// A recorder over `bytes`, at offset 0.
    pub fn new(bytes: Vec<u8>) -> Self {
        Recorder {
            file: Cursor::new(bytes),
            writes: Vec::new(),
            syncs: Vec::new(),
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
