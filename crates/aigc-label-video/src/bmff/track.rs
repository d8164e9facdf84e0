//! Rewriting the samples of one track of an MP4/MOV/M4A file: new samples put in at one place,
//! a run of old ones taken out, every other byte of the file copied.
//!
//! This is the container half of the audible label in AAC audio (`aigc_label_audio`'s
//! `stamp_file`): the cue's AAC frames go into the sound track before, after or in place of
//! original frames, which keep their bytes. What changes in the output:
//! - the track's sample table (`stts`, `stsz`, `stsc`, `stco`/`co64`; `stss` and `ctts` when
//!   needed), rebuilt from one list of samples;
//! - `mdat`: the removed samples' bytes go, the new ones are inserted where the first of the
//!   replaced (or following) samples was, and the `mdat` header gets its new size;
//! - every chunk offset of every other track, moved with the bytes;
//! - the durations (`mdhd`, `tkhd`, `mvhd`), and, when asked, the track's edit list: a single
//!   edit whose media time skips the encoder's priming samples, so the decoded output starts
//!   with the first real sample;
//! - `sbgp` sample-to-group tables: one run over every sample (AAC's `roll` group) is stretched
//!   to the new count; anything finer is dropped with its `sgpd`, as are `sdtp`, `stps` and
//!   `cslg` (optional hints that would no longer match the samples).
//!
//! Everything else (`udta`, `meta` with an implicit label, chapters, other tracks, boxes after
//! `mdat`) is copied unchanged.
//!
//! The byte and table bookkeeping is one splicer (`TrackFile::splice`, crate-internal) that
//! the video stamper's splice goes through as well: it replaces several runs of a video track's
//! samples with re-encoded ones, and says itself what its new samples are (their composition
//! offsets, sync flags and sample descriptions) and which boxes change besides the table.

use std::io::Write;
use std::ops::Range;

use aigc_label_core::container::bmff::StreamBoxes;
use aigc_label_core::io::{Bytes, ReadSeek, Source};
use aigc_label_core::{Error, Limits, Result};

use super::boxes::{Body, FORMAT, Node, parse_tree};
use super::table::{self, Sample};
use crate::common::Budget;

/// A top-level box of the file.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TopBox {
    pub(crate) typ: [u8; 4],
    pub(crate) start: u64,
    pub(crate) payload: u64,
    pub(crate) end: u64,
}

/// One sample of the track: where its bytes are and how long it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrackSample {
    /// Absolute byte offset in the file.
    pub offset: u64,
    /// Size in bytes.
    pub size: u32,
    /// Decode duration, in the track's timescale.
    pub duration: u32,
}

/// A track's single edit: the presentation starts `media_time` into the media and lasts
/// `duration` ticks of the movie timescale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditEntry {
    /// Where in the media (track timescale) the presentation starts.
    pub media_time: u64,
    /// How long it lasts, in the movie timescale (`mvhd`).
    pub duration: u64,
}

/// Which track [`TrackFile::read`] opens.
#[derive(Clone, Copy)]
enum Which<'a> {
    /// The first with this handler.
    Handler(&'a [u8; 4]),
    /// The `n`-th, which must be video.
    #[cfg(feature = "stamp")]
    Video(usize),
}

/// A new sample: its bytes and decode duration (track timescale).
#[derive(Debug, Clone, Copy)]
pub struct NewSample<'a> {
    /// The encoded frame.
    pub bytes: &'a [u8],
    /// Its decode duration.
    pub duration: u32,
}

/// What [`TrackFile::write`] changes: samples `from..to` (decode order) are replaced by
/// `samples` (`from == to` inserts), the original samples listed in `durations` get those
/// decode durations (their bytes stay), and `edit`, when given, becomes the track's only edit.
#[derive(Debug, Clone, Default)]
pub struct Change<'a> {
    /// First replaced sample.
    pub from: usize,
    /// One past the last replaced sample.
    pub to: usize,
    /// The samples put in their place.
    pub samples: Vec<NewSample<'a>>,
    /// Original samples (by index in the input) whose decode duration changes.
    pub durations: Vec<(usize, u32)>,
    /// The new edit list (one entry), or `None` to keep the track's own.
    pub edit: Option<EditEntry>,
}

/// New samples in place of the track's samples `from..to` (decode order; `from == to` inserts),
/// for [`TrackFile::splice`].
pub(crate) struct Run<'a> {
    /// First replaced sample.
    pub from: usize,
    /// One past the last replaced sample.
    pub to: usize,
    /// Each new sample's table entry (its `offset` is set when written) and bytes.
    pub samples: Vec<(Sample, &'a [u8])>,
}

/// An MP4 file opened to rewrite one of its tracks.
pub struct TrackFile {
    top: Vec<TopBox>,
    moov_at: usize,
    pub(crate) moov_buf: Vec<u8>,
    pub(crate) moov: Node,
    /// Index in `moov`'s children of the track's `trak`.
    pub(crate) trak: usize,
    index: usize,
    /// The track's samples, in decode order.
    pub(crate) samples: Vec<Sample>,
    media_timescale: u32,
    movie_timescale: u32,
}

impl std::fmt::Debug for TrackFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackFile")
            .field("index", &self.index)
            .field("samples", &self.samples.len())
            .field("media_timescale", &self.media_timescale)
            .finish_non_exhaustive()
    }
}

/// The top-level boxes of `src`.
pub(crate) fn top_boxes(src: &mut Source<'_>, budget: &mut Budget) -> Result<Vec<TopBox>> {
    let mut top = Vec::new();
    let len = src.len();
    let mut walk = StreamBoxes::new(src, budget, 0, len);
    while walk.remaining() >= 8 {
        let Some(h) = walk.next() else { break };
        let h = h?;
        if h.claimed_end.is_some() {
            return Err(Error::unsupported(
                "mp4",
                format!("box at byte {} runs past the end of the file", h.start),
            ));
        }
        top.push(TopBox {
            typ: h.kind,
            start: h.start,
            payload: h.payload_start(),
            end: h.end,
        });
    }
    Ok(top)
}

/// Reads `moov` (exactly one) of a file whose top-level boxes are `top`.
fn read_moov(
    src: &mut Source<'_>,
    top: &[TopBox],
    limits: &Limits,
    budget: &mut Budget,
) -> Result<(usize, Vec<u8>, Node)> {
    let mut moovs = top.iter().enumerate().filter(|(_, b)| &b.typ == b"moov");
    let (moov_at, moov_box) = match (moovs.next(), moovs.next()) {
        (Some((i, b)), None) => (i, *b),
        _ => return Err(Error::malformed(FORMAT, 0, "expected exactly one moov box")),
    };
    src.seek_to(moov_box.start)?;
    let moov_buf = src.read_vec(moov_box.end - moov_box.start, "moov", limits)?;
    let moov = parse_tree(&moov_buf, moov_box.start, limits, budget)?;
    Ok((moov_at, moov_buf, moov))
}

/// The handler type (`vide`, `soun`, `text`, ...) of each track of `moov`, in order.
fn track_handlers(moov: &Node, buf: &[u8]) -> Vec<(usize, [u8; 4])> {
    moov.kids
        .iter()
        .enumerate()
        .filter(|(_, k)| &k.typ == b"trak" && k.live())
        .map(|(i, t)| {
            let hdlr = t
                .child(b"mdia")
                .and_then(|m| m.child(b"hdlr"))
                .map(|h| h.payload(buf))
                .and_then(|p| p.get(8..12))
                .map_or([0; 4], |h| [h[0], h[1], h[2], h[3]]);
            (i, hdlr)
        })
        .collect()
}

/// The handler type of every track of the MP4 `input`, in file order (`vide` for video,
/// `soun` for sound): what a caller asks before choosing between the video and the audio
/// stamper.
///
/// # Errors
/// Malformed structure; I/O errors.
pub fn handlers(input: &mut dyn ReadSeek, limits: &Limits) -> Result<Vec<[u8; 4]>> {
    let mut src = Source::new(input, FORMAT)?;
    let mut budget = Budget::new(limits);
    let top = top_boxes(&mut src, &mut budget)?;
    let (_, buf, moov) = read_moov(&mut src, &top, limits, &mut budget)?;
    Ok(track_handlers(&moov, &buf).into_iter().map(|(_, h)| h).collect())
}

/// Reads a 32- or 64-bit field of a full box by version: `(v0 offset, v1 offset)` into the
/// payload.
fn versioned(payload: &[u8], at: (usize, usize)) -> Option<u64> {
    let mut b = Bytes::new(payload);
    match payload.first()? {
        1 => {
            b.seek(at.1)?;
            b.u64_be()
        }
        _ => {
            b.seek(at.0)?;
            b.u32_be().map(u64::from)
        }
    }
}

/// `payload` with the versioned field at `at` set to `value`.
fn set_versioned(payload: &[u8], at: (usize, usize), value: u64, what: &'static str) -> Result<Vec<u8>> {
    let mut out = payload.to_vec();
    let (start, bytes) = match payload.first() {
        Some(1) => (at.1, value.to_be_bytes().to_vec()),
        _ => {
            let v = u32::try_from(value)
                .map_err(|_| Error::unsupported("mp4", format!("{what} duration over 32 bits in a version 0 box")))?;
            (at.0, v.to_be_bytes().to_vec())
        }
    };
    out.get_mut(start..start + bytes.len())
        .ok_or_else(|| Error::truncated(FORMAT, 0, what))?
        .copy_from_slice(&bytes);
    Ok(out)
}

/// Where the duration is in `mdhd` and `mvhd` (version 0, version 1).
const MDHD_DURATION: (usize, usize) = (16, 24);
/// Where the timescale is in `mdhd` and `mvhd`.
const MDHD_TIMESCALE: (usize, usize) = (12, 20);
/// Where the duration is in `tkhd`.
const TKHD_DURATION: (usize, usize) = (20, 28);

impl TrackFile {
    /// Opens the first track whose handler is `handler` (`soun` for sound).
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a fragmented file or no such track; malformed structure or
    /// sample tables; I/O errors.
    pub fn open(input: &mut dyn ReadSeek, handler: &[u8; 4], limits: &Limits) -> Result<TrackFile> {
        let file = Self::read(input, Which::Handler(handler), limits)?;
        if file.movie_timescale == 0 {
            return Err(Error::malformed(FORMAT, 0, "a timescale of 0"));
        }
        Ok(file)
    }

    /// Opens the `nth` track (the stream index ffmpeg gives it: tracks are numbered in `moov`
    /// order), which must be a video track: what the video stamper splices.
    ///
    /// # Errors
    /// As [`TrackFile::open`]; [`Error::Unsupported`] when the track is not video.
    #[cfg(feature = "stamp")]
    pub(crate) fn open_video(input: &mut dyn ReadSeek, nth: usize, limits: &Limits) -> Result<TrackFile> {
        Self::read(input, Which::Video(nth), limits)
    }

    fn read(input: &mut dyn ReadSeek, which: Which<'_>, limits: &Limits) -> Result<TrackFile> {
        let mut src = Source::new(input, FORMAT)?;
        let mut budget = Budget::new(limits);
        let top = top_boxes(&mut src, &mut budget)?;
        if top.iter().any(|b| &b.typ == b"moof") {
            return Err(Error::unsupported("mp4", "fragmented MP4"));
        }
        let (moov_at, moov_buf, moov) = read_moov(&mut src, &top, limits, &mut budget)?;
        if moov.child(b"mvex").is_some() {
            return Err(Error::unsupported("mp4", "fragmented MP4 (mvex)"));
        }
        let tracks = track_handlers(&moov, &moov_buf);
        let index = match which {
            Which::Handler(handler) => tracks
                .iter()
                .position(|(_, h)| h == handler)
                .ok_or_else(|| Error::unsupported("mp4", format!("no {} track", String::from_utf8_lossy(handler))))?,
            #[cfg(feature = "stamp")]
            Which::Video(nth) => match tracks.get(nth) {
                Some((_, [b'v', b'i', b'd', b'e'])) => nth,
                Some(_) => return Err(Error::unsupported("mp4", format!("track {nth} is not a video track"))),
                None => return Err(Error::malformed(FORMAT, 0, format!("no track {nth}"))),
            },
        };
        let trak = tracks.get(index).map_or(0, |(i, _)| *i);
        let mdia = moov.kids.get(trak).and_then(|t| t.child(b"mdia"));
        fn header<'a>(n: Option<&'a Node>, buf: &'a [u8]) -> &'a [u8] {
            n.map(|h| h.payload(buf)).unwrap_or_default()
        }
        let media_timescale = versioned(header(mdia.and_then(|m| m.child(b"mdhd")), &moov_buf), MDHD_TIMESCALE)
            .and_then(|t| u32::try_from(t).ok())
            .unwrap_or(0);
        let movie_timescale = versioned(header(moov.child(b"mvhd"), &moov_buf), MDHD_TIMESCALE)
            .and_then(|t| u32::try_from(t).ok())
            .unwrap_or(0);
        if media_timescale == 0 {
            return Err(Error::malformed(FORMAT, 0, "a timescale of 0"));
        }
        let stbl = stbl_path(&moov, trak)
            .and_then(|p| moov.at(&p))
            .ok_or_else(|| Error::malformed(FORMAT, 0, "track without stbl"))?;
        let samples = table::read(stbl, &moov_buf, src.len())?;
        if samples.is_empty() {
            return Err(Error::unsupported("mp4", "the track has no samples"));
        }
        Ok(TrackFile {
            top,
            moov_at,
            moov_buf,
            moov,
            trak,
            index,
            samples,
            media_timescale,
            movie_timescale,
        })
    }

    /// The track's position among the file's tracks (ffmpeg's stream index).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The track's timescale (`mdhd`; the sample rate for sound).
    pub fn media_timescale(&self) -> u32 {
        self.media_timescale
    }

    /// The movie's timescale (`mvhd`), in which edit durations count.
    pub fn movie_timescale(&self) -> u32 {
        self.movie_timescale
    }

    /// The samples, in decode order.
    pub fn samples(&self) -> Vec<TrackSample> {
        self.samples
            .iter()
            .map(|s| TrackSample {
                offset: s.offset,
                size: s.size,
                duration: s.duration,
            })
            .collect()
    }

    /// The sum of the samples' durations (track timescale).
    pub fn media_duration(&self) -> u64 {
        self.samples.iter().map(|s| u64::from(s.duration)).sum()
    }

    fn stbl(&self) -> Option<&Node> {
        stbl_path(&self.moov, self.trak).and_then(|p| self.moov.at(&p))
    }

    /// The payload of the track's `stsd`.
    ///
    /// # Errors
    /// A track without one.
    pub(crate) fn stsd(&self) -> Result<&[u8]> {
        self.stbl()
            .and_then(|s| s.child(b"stsd"))
            .map(|n| n.payload(&self.moov_buf))
            .ok_or_else(|| Error::malformed(FORMAT, 0, "track without stsd"))
    }

    /// The number of sample descriptions `stsd` declares.
    ///
    /// # Errors
    /// A track without `stsd`.
    #[cfg(feature = "stamp")]
    pub(crate) fn entry_count(&self) -> Result<u32> {
        let stsd = self.stsd()?;
        Ok(stsd
            .get(4..8)
            .map_or(0, |c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
    }

    /// The first sample description, as a whole box.
    ///
    /// # Errors
    /// A missing or malformed `stsd`.
    #[cfg(feature = "stamp")]
    pub(crate) fn first_entry(&self) -> Result<&[u8]> {
        let rest = self.stsd()?.get(8..).unwrap_or_default();
        let size = rest
            .get(..4)
            .map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize);
        rest.get(..size)
            .filter(|_| size >= 8)
            .ok_or_else(|| Error::malformed(FORMAT, 0, "stsd entry"))
    }

    /// The `stsd` payload with `entries` appended (they become descriptions `entry_count + 1`,
    /// ...).
    ///
    /// # Errors
    /// A track without `stsd`.
    #[cfg(feature = "stamp")]
    pub(crate) fn stsd_appending(&self, entries: &[&[u8]]) -> Result<Vec<u8>> {
        let stsd = self.stsd()?;
        let count = self
            .entry_count()?
            .saturating_add(u32::try_from(entries.len()).unwrap_or(u32::MAX));
        let mut out = stsd.get(..4).unwrap_or(&[0; 4]).to_vec();
        out.extend_from_slice(&count.to_be_bytes());
        out.extend_from_slice(stsd.get(8..).unwrap_or_default());
        entries.iter().for_each(|e| out.extend_from_slice(e));
        Ok(out)
    }

    /// The `stsd` payload with its first description replaced by `entry`.
    ///
    /// # Errors
    /// A missing or malformed `stsd`.
    #[cfg(feature = "stamp")]
    pub(crate) fn stsd_replacing_first(&self, entry: &[u8]) -> Result<Vec<u8>> {
        let stsd = self.stsd()?;
        let first = self.first_entry()?.len();
        let mut out = stsd.get(..8).unwrap_or_default().to_vec();
        out.extend_from_slice(entry);
        out.extend_from_slice(stsd.get(8 + first..).unwrap_or_default());
        Ok(out)
    }

    /// Where the payload starts of the `mdat` holding byte `offset` (its end included).
    #[cfg(feature = "stamp")]
    pub(crate) fn mdat_payload_holding(&self, offset: u64) -> Option<u64> {
        self.top
            .iter()
            .find(|b| &b.typ == b"mdat" && b.payload <= offset && offset <= b.end)
            .map(|b| b.payload)
    }

    /// The sample descriptions (`stsd` entries), as whole boxes.
    ///
    /// # Errors
    /// A malformed `stsd`.
    pub fn sample_entries(&self) -> Result<Vec<&[u8]>> {
        let stsd = self.stsd()?;
        let mut b = Bytes::new(stsd);
        b.take(4).ok_or_else(|| Error::truncated(FORMAT, 0, "stsd"))?;
        let count = b.u32_be().ok_or_else(|| Error::truncated(FORMAT, 0, "stsd"))?;
        let mut out = Vec::new();
        for _ in 0..count {
            let rest = b.rest();
            let size = rest
                .get(..4)
                .map_or(0, |s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize);
            let entry = b
                .take(size)
                .filter(|_| size >= 8)
                .ok_or_else(|| Error::malformed(FORMAT, 0, "stsd entry"))?;
            out.push(entry);
        }
        Ok(out)
    }

    /// The track's edit list when it is a single edit at normal rate (or absent: `None`).
    ///
    /// # Errors
    /// [`Error::Unsupported`] for several edits, an empty edit or another rate; a malformed
    /// `elst`.
    pub fn edit(&self) -> Result<Option<EditEntry>> {
        let Some(edts) = self.moov.kids.get(self.trak).and_then(|t| t.child(b"edts")) else {
            return Ok(None);
        };
        let payload = edts.payload(&self.moov_buf);
        let elst = payload
            .get(4..8)
            .filter(|t| *t == b"elst")
            .and_then(|_| payload.get(8..))
            .ok_or_else(|| Error::unsupported("mp4", "an edts box without a leading elst"))?;
        let mut b = Bytes::new(elst);
        let version = b.u8().ok_or_else(|| Error::truncated(FORMAT, 0, "elst"))?;
        b.take(3);
        let count = b.u32_be().ok_or_else(|| Error::truncated(FORMAT, 0, "elst"))?;
        if count == 0 {
            return Ok(None);
        }
        if count != 1 {
            return Err(Error::unsupported("mp4", format!("an edit list of {count} edits")));
        }
        let (duration, media_time) = if version == 1 {
            (b.u64_be(), b.u64_be().map(|t| i64::from_be_bytes(t.to_be_bytes())))
        } else {
            (
                b.u32_be().map(u64::from),
                b.u32_be().map(|t| i64::from(i32::from_be_bytes(t.to_be_bytes()))),
            )
        };
        let rate = b.u32_be();
        match (duration, media_time, rate) {
            (Some(duration), Some(t), Some(0x0001_0000)) if t >= 0 => Ok(Some(EditEntry {
                media_time: t.unsigned_abs(),
                duration,
            })),
            (Some(_), Some(_), Some(_)) => Err(Error::unsupported("mp4", "an empty edit or a rate other than 1")),
            _ => Err(Error::truncated(FORMAT, 0, "elst")),
        }
    }

    /// The bytes of sample `i`, up to `max` bytes.
    ///
    /// # Errors
    /// No such sample, a larger one, I/O errors.
    pub fn read_sample(&self, input: &mut dyn ReadSeek, i: usize, max: u32) -> Result<Vec<u8>> {
        let s = self
            .samples
            .get(i)
            .ok_or_else(|| Error::parameter("sample", format!("no sample {i}")))?;
        if s.size > max {
            return Err(Error::unsupported("mp4", format!("a sample of {} bytes", s.size)));
        }
        let mut src = Source::new(input, FORMAT)?;
        src.seek_to(s.offset)?;
        // `max` is the caller's bound on a sample, above the metadata bound when it asks.
        let mut limits = Limits::default();
        limits.max_metadata_bytes = limits.max_metadata_bytes.max(u64::from(max));
        src.read_vec(u64::from(s.size), "sample", &limits)
    }

    /// Writes `input` (the file this was opened from) to `out` with `change` applied.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when a sample lies outside an `mdat`, removed bytes are shared
    /// with another track, or a duration no longer fits its box; I/O errors.
    pub fn write(&self, input: &mut dyn ReadSeek, change: &Change<'_>, out: &mut dyn Write) -> Result<()> {
        let n = self.samples.len();
        if change.from > change.to || change.to > n {
            return Err(Error::parameter("samples", "replaced range out of the track"));
        }
        if change
            .durations
            .iter()
            .any(|&(i, _)| i >= n || (change.from..change.to).contains(&i))
        {
            return Err(Error::parameter(
                "samples",
                "a new duration for a sample that is not kept",
            ));
        }
        let desc = self
            .samples
            .get(change.from)
            .or_else(|| self.samples.last())
            .map_or(1, |s| s.desc);
        let mut new = Vec::new();
        new.try_reserve_exact(change.samples.len())
            .map_err(|_| Error::parameter("samples", "out of memory for the sample table"))?;
        for s in &change.samples {
            let size = u32::try_from(s.bytes.len()).map_err(|_| Error::parameter("samples", "a sample over 4 GiB"))?;
            let entry = Sample {
                offset: 0,
                size,
                duration: s.duration,
                cts_offset: 0,
                sync: true,
                desc,
            };
            new.push((entry, s.bytes));
        }
        let run = Run {
            from: change.from,
            to: change.to,
            samples: new,
        };
        // The new samples go where the first replaced (or following) one was.
        let at = match self.samples.get(change.from) {
            Some(s) => s.offset,
            None => self
                .samples
                .last()
                .map_or(0, |s| s.offset.saturating_add(u64::from(s.size))),
        };
        let finish = |moov: &mut Node, samples: &[Sample]| self.finish_track(moov, change, samples);
        self.splice(input, std::slice::from_ref(&run), at, &change.durations, &finish, out)
    }

    /// Writes `input` (the file this was opened from) to `out` with each of `runs` (ascending,
    /// disjoint) in the track: the replaced samples' bytes removed, every new sample's bytes
    /// inserted at `at` (inside an `mdat`, whose header gets the new size), the kept samples
    /// listed in `durations` given those decode durations, the sample table rebuilt and every
    /// other track's chunk offsets moved with the bytes. `finish` then edits the new `moov`
    /// (given the track's new samples) for what only the caller knows: sample descriptions,
    /// durations, groups and hints.
    ///
    /// This is the one sample splicer: [`TrackFile::write`] (the AAC cue) and the video
    /// stamper's splice both go through it.
    ///
    /// # Errors
    /// [`Error::Parameter`] for runs out of order or out of the track; [`Error::Unsupported`]
    /// when a kept sample is not inside an `mdat` on its own or replaced samples share bytes;
    /// what `finish` returns; I/O errors.
    pub(crate) fn splice(
        &self,
        input: &mut dyn ReadSeek,
        runs: &[Run<'_>],
        at: u64,
        durations: &[(usize, u32)],
        finish: &dyn Fn(&mut Node, &[Sample]) -> Result<()>,
        out: &mut dyn Write,
    ) -> Result<()> {
        let n = self.samples.len();
        let mut end = 0;
        for r in runs {
            if r.from < end || r.from > r.to || r.to > n {
                return Err(Error::parameter(
                    "samples",
                    "replaced ranges out of order or out of the track",
                ));
            }
            end = r.to;
        }
        let mdat_of = |r: &Range<u64>| {
            self.top
                .iter()
                .position(|b| &b.typ == b"mdat" && b.payload <= r.start && r.end <= b.end)
        };
        let removed = self.removed_bytes(runs)?;
        // Every kept sample must lie inside an mdat's payload and clear of the removed bytes, or
        // copying the file around the edits would change it (a crafted table can point anywhere).
        let mut next_run = runs.iter().peekable();
        for (i, s) in self.samples.iter().enumerate() {
            while next_run.peek().is_some_and(|r| r.to <= i) {
                next_run.next();
            }
            if next_run.peek().is_some_and(|r| r.from <= i && i < r.to) {
                continue;
            }
            let r = s.offset..s.offset.saturating_add(u64::from(s.size));
            let first_after = removed.partition_point(|m| m.end <= r.start);
            let overlaps = removed.get(first_after).is_some_and(|m| m.start < r.end);
            if mdat_of(&r).is_none() || overlaps {
                return Err(Error::unsupported(
                    "mp4",
                    format!(
                        "sample {i} (bytes {}..{}) is not inside an mdat payload on its own",
                        r.start, r.end
                    ),
                ));
            }
        }
        let insert_mdat =
            mdat_of(&(at..at)).ok_or_else(|| Error::unsupported("mp4", "the samples are not inside an mdat"))?;
        let inserted: u64 = runs
            .iter()
            .flat_map(|r| &r.samples)
            .map(|(_, bytes)| bytes.len() as u64)
            .sum();
        let mut edits: Vec<Edit> = Vec::new();
        let mut mdat_change: Vec<i128> = vec![0; self.top.len()];
        for r in &removed {
            let m = mdat_of(r).ok_or_else(|| Error::unsupported("mp4", "removed samples outside an mdat"))?;
            if let Some(c) = mdat_change.get_mut(m) {
                *c -= i128::from(r.end - r.start);
            }
            edits.push(Edit {
                old: r.clone(),
                new_len: 0,
                what: What::Remove,
            });
        }
        if let Some(c) = mdat_change.get_mut(insert_mdat) {
            *c += i128::from(inserted);
        }
        edits.push(Edit {
            old: at..at,
            new_len: inserted,
            what: What::Insert,
        });
        for (b, change) in self.top.iter().zip(&mdat_change).filter(|(_, c)| **c != 0) {
            let header = mdat_header(b, *change)?;
            edits.push(Edit {
                old: b.start..b.payload,
                new_len: header.len() as u64,
                what: What::Bytes(header),
            });
        }
        let moov_box = self
            .top
            .get(self.moov_at)
            .copied()
            .ok_or_else(|| Error::malformed(FORMAT, 0, "moov"))?;
        edits.push(Edit {
            old: moov_box.start..moov_box.end,
            new_len: moov_box.end - moov_box.start,
            what: What::Moov,
        });
        edits.sort_by_key(|e| (e.old.start, e.old.end));
        // The new moov's size moves the offsets after it, which can widen stco to co64: settle.
        let mut new_moov = Vec::new();
        for _ in 0..4 {
            let ins_start = shifted(&edits, at, false)?;
            new_moov = self.build_moov(runs, durations, &edits, ins_start, finish)?;
            match edits.iter_mut().find(|e| matches!(e.what, What::Moov)) {
                Some(e) if e.new_len != new_moov.len() as u64 => e.new_len = new_moov.len() as u64,
                _ => break,
            }
        }
        if edits
            .iter()
            .any(|e| matches!(e.what, What::Moov) && e.new_len != new_moov.len() as u64)
        {
            return Err(Error::unsupported("mp4", "moov size did not settle"));
        }
        let mut src = Source::new(input, FORMAT)?;
        let mut pos = 0u64;
        for e in &edits {
            src.seek_to(pos)?;
            let gap = e
                .old
                .start
                .checked_sub(pos)
                .ok_or_else(|| Error::malformed(FORMAT, pos, "overlapping edits"))?;
            src.copy_to(out, gap, "mp4 bytes")?;
            match &e.what {
                What::Moov => out.write_all(&new_moov)?,
                What::Bytes(b) => out.write_all(b)?,
                What::Insert => {
                    for (_, bytes) in runs.iter().flat_map(|r| &r.samples) {
                        out.write_all(bytes)?;
                    }
                }
                What::Remove => {}
            }
            pos = e.old.end;
        }
        src.seek_to(pos)?;
        src.copy_rest(out, "mp4 bytes")?;
        Ok(())
    }

    /// The bytes of the samples `runs` replace, sorted and merged where they touch.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when two of them share bytes.
    fn removed_bytes(&self, runs: &[Run<'_>]) -> Result<Vec<Range<u64>>> {
        let mut removed: Vec<Range<u64>> = Vec::new();
        for r in runs {
            for s in self.samples.get(r.from..r.to).unwrap_or_default() {
                let range = s.offset..s.offset.saturating_add(u64::from(s.size));
                match removed.last_mut() {
                    Some(last) if last.end == range.start => last.end = range.end,
                    _ => removed.push(range),
                }
            }
        }
        removed.sort_by_key(|r| r.start);
        let mut merged: Vec<Range<u64>> = Vec::new();
        for r in removed {
            match merged.last_mut() {
                Some(last) if r.start < last.end => {
                    return Err(Error::unsupported("mp4", "samples share bytes"));
                }
                Some(last) if r.start == last.end => last.end = r.end,
                _ => merged.push(r),
            }
        }
        Ok(merged)
    }

    /// The new `moov`: every other track's chunk offsets moved by `edits`, this track's sample
    /// table rebuilt with the new samples of `runs` from `ins_start` on, then `finish`.
    fn build_moov(
        &self,
        runs: &[Run<'_>],
        durations: &[(usize, u32)],
        edits: &[Edit],
        ins_start: u64,
        finish: &dyn Fn(&mut Node, &[Sample]) -> Result<()>,
    ) -> Result<Vec<u8>> {
        let buf = &self.moov_buf;
        let mut moov = self.moov.clone();
        for i in 0..moov.kids.len() {
            if i == self.trak || &moov.kids[i].typ != b"trak" || !moov.kids[i].live() {
                continue;
            }
            let Some(path) = stbl_path(&moov, i) else { continue };
            let Some(stbl) = moov.at_mut(&path) else { continue };
            let Some((typ, payload)) = table::remap_chunks(stbl, buf, |x| shifted(edits, x, true))? else {
                continue;
            };
            if let Some(k) = stbl
                .kids
                .iter_mut()
                .find(|k| k.live() && (&k.typ == b"stco" || &k.typ == b"co64"))
            {
                k.typ = typ;
                k.body = Body::New(payload);
                k.hdr_len = 8;
            }
        }
        // This track's samples.
        let added: usize = runs.iter().map(|r| r.samples.len()).sum();
        let mut samples: Vec<Sample> = Vec::new();
        samples
            .try_reserve_exact(self.samples.len() + added)
            .map_err(|_| Error::parameter("samples", "out of memory for the sample table"))?;
        let kept = |i: usize, s: &Sample| -> Result<Sample> {
            let duration = durations.iter().find(|(j, _)| *j == i).map_or(s.duration, |(_, d)| *d);
            Ok(Sample {
                offset: shifted(edits, s.offset, true)?,
                duration,
                ..*s
            })
        };
        let mut at = ins_start;
        let mut next = 0usize;
        for r in runs {
            for (i, s) in self.samples.iter().enumerate().take(r.from).skip(next) {
                samples.push(kept(i, s)?);
            }
            for (s, _) in &r.samples {
                samples.push(Sample { offset: at, ..*s });
                at += u64::from(s.size);
            }
            next = r.to;
        }
        for (i, s) in self.samples.iter().enumerate().skip(next) {
            samples.push(kept(i, s)?);
        }
        let stbl = stbl_mut(&mut moov, self.trak)?;
        let force_co64 = stbl.child(b"co64").is_some();
        let t = table::write(&samples, force_co64);
        set(stbl, b"stts", Some(t.stts), None);
        set(stbl, b"ctts", t.ctts, None);
        set(stbl, b"stss", t.stss, None);
        set(stbl, b"stsz", Some(t.stsz), None);
        set(stbl, b"stsc", Some(t.stsc), None);
        set(
            stbl,
            if force_co64 { b"co64" } else { b"stco" },
            Some(t.chunk_offsets),
            Some(t.chunk_type),
        );
        finish(&mut moov, &samples)?;
        let mut out = Vec::new();
        moov.emit(buf, &mut out);
        Ok(out)
    }

    /// What [`TrackFile::write`] changes besides the sample table: the `roll` group stretched
    /// (or the groups dropped), the hints dropped, the durations and, when asked, the edit.
    fn finish_track(&self, moov: &mut Node, change: &Change<'_>, samples: &[Sample]) -> Result<()> {
        let buf = &self.moov_buf;
        let media_duration: u64 = samples.iter().map(|s| u64::from(s.duration)).sum();
        let stbl = stbl_mut(moov, self.trak)?;
        let mut keep_groups = true;
        for k in stbl.kids.iter_mut().filter(|k| k.live() && &k.typ == b"sbgp") {
            match stretched_sbgp(k.payload(buf), self.samples.len(), samples.len()) {
                Some(p) => k.body = Body::New(p),
                None => keep_groups = false,
            }
        }
        for k in stbl.kids.iter_mut().filter(|k| k.live()) {
            let group = &k.typ == b"sbgp" || &k.typ == b"sgpd";
            if (group && !keep_groups) || [b"sdtp", b"stps", b"cslg"].contains(&&k.typ) {
                k.body = Body::Removed;
            }
        }
        // Durations.
        let track_durations: Vec<u64> = moov
            .kids
            .iter()
            .enumerate()
            .filter(|(i, k)| *i != self.trak && &k.typ == b"trak" && k.live())
            .map(|(_, k)| {
                let tkhd = k.child(b"tkhd").map(|t| t.payload(buf)).unwrap_or_default();
                versioned(tkhd, TKHD_DURATION).unwrap_or(0)
            })
            .collect();
        let trak = moov
            .kids
            .get_mut(self.trak)
            .ok_or_else(|| Error::malformed(FORMAT, 0, "trak"))?;
        if let Some(mdia) = trak.find(b"mdia").and_then(|i| trak.kids.get_mut(i)) {
            if let Some(mdhd) = mdia.kids.iter_mut().find(|k| k.live() && &k.typ == b"mdhd") {
                let p = set_versioned(mdhd.payload(buf), MDHD_DURATION, media_duration, "mdhd")?;
                mdhd.body = Body::New(p);
            }
        }
        let presented = match change.edit {
            Some(e) => {
                let elst = elst_box(e);
                match trak.kids.iter_mut().find(|k| k.live() && &k.typ == b"edts") {
                    Some(edts) => {
                        edts.body = Body::New(elst);
                        edts.hdr_len = 8;
                    }
                    None => {
                        let at = trak.find(b"mdia").unwrap_or(trak.kids.len());
                        trak.kids.insert(at, Node::leaf(*b"edts", elst));
                    }
                }
                e.duration
            }
            None => {
                let tkhd = trak.child(b"tkhd").map(|t| t.payload(buf)).unwrap_or_default();
                let had = versioned(tkhd, TKHD_DURATION).unwrap_or(0);
                let old_media: u64 = self.samples.iter().map(|s| u64::from(s.duration)).sum();
                if old_media == media_duration || self.edit()?.is_some() {
                    had
                } else {
                    scale(media_duration, self.media_timescale, self.movie_timescale)
                }
            }
        };
        if let Some(tkhd) = trak.kids.iter_mut().find(|k| k.live() && &k.typ == b"tkhd") {
            let p = set_versioned(tkhd.payload(buf), TKHD_DURATION, presented, "tkhd")?;
            tkhd.body = Body::New(p);
        }
        let movie = track_durations.into_iter().fold(presented, u64::max);
        if let Some(mvhd) = moov.kids.iter_mut().find(|k| k.live() && &k.typ == b"mvhd") {
            let p = set_versioned(mvhd.payload(buf), MDHD_DURATION, movie, "mvhd")?;
            mvhd.body = Body::New(p);
        }
        Ok(())
    }
}

/// `ticks` of timescale `from` in timescale `to`, rounded to the nearest.
pub fn scale(ticks: u64, from: u32, to: u32) -> u64 {
    let v = (u128::from(ticks) * u128::from(to) + u128::from(from) / 2) / u128::from(from.max(1));
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// An `edts` payload holding an `elst` with the one edit `e` (version 0 when it fits).
fn elst_box(e: EditEntry) -> Vec<u8> {
    let small = u32::try_from(e.duration).is_ok() && i32::try_from(e.media_time).is_ok();
    let mut body = Vec::new();
    body.extend_from_slice(&1u32.to_be_bytes());
    if small {
        body.extend_from_slice(&u32::try_from(e.duration).unwrap_or(u32::MAX).to_be_bytes());
        body.extend_from_slice(&i32::try_from(e.media_time).unwrap_or(i32::MAX).to_be_bytes());
    } else {
        body.extend_from_slice(&e.duration.to_be_bytes());
        body.extend_from_slice(&i64::try_from(e.media_time).unwrap_or(i64::MAX).to_be_bytes());
    }
    body.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    aigc_label_core::container::bmff::full(b"elst", if small { 0 } else { 1 }, 0, &body)
}

/// An `sbgp` payload whose single run covered the `old` samples, stretched to `new`; `None`
/// when it maps samples more finely.
fn stretched_sbgp(payload: &[u8], old: usize, new: usize) -> Option<Vec<u8>> {
    let version = *payload.first()?;
    let count_at = if version == 1 { 12 } else { 8 };
    let mut b = Bytes::new(payload);
    b.seek(count_at)?;
    let (entries, samples) = (b.u32_be()?, b.u32_be()?);
    if entries != 1 || samples as usize != old || payload.len() != count_at + 12 {
        return None;
    }
    let mut out = payload.to_vec();
    out.get_mut(count_at + 4..count_at + 8)?
        .copy_from_slice(&u32::try_from(new).ok()?.to_be_bytes());
    Some(out)
}

/// Sets, replaces or (with `None`) removes the child `typ` of `stbl`.
pub(crate) fn set(stbl: &mut Node, typ: &[u8; 4], payload: Option<Vec<u8>>, new_type: Option<[u8; 4]>) {
    let i = stbl.kids.iter().position(|k| k.live() && &k.typ == typ);
    match (i.and_then(|i| stbl.kids.get_mut(i)), payload) {
        (Some(k), Some(p)) => {
            k.body = Body::New(p);
            k.hdr_len = 8;
            if let Some(t) = new_type {
                k.typ = t;
            }
        }
        (Some(k), None) => k.body = Body::Removed,
        (None, Some(p)) => stbl.kids.push(Node::leaf(new_type.unwrap_or(*typ), p)),
        (None, None) => {}
    }
}

/// The `stbl` of track `trak` (an index into `moov`'s children), to edit.
pub(crate) fn stbl_mut(moov: &mut Node, trak: usize) -> Result<&mut Node> {
    let path = stbl_path(moov, trak).ok_or_else(|| Error::malformed(FORMAT, 0, "track without stbl"))?;
    moov.at_mut(&path)
        .ok_or_else(|| Error::malformed(FORMAT, 0, "track without stbl"))
}

/// The path from `moov` to the `stbl` of its child `trak`.
pub(crate) fn stbl_path(moov: &Node, trak: usize) -> Option<Vec<usize>> {
    let t = moov.kids.get(trak)?;
    let mdia = t.find(b"mdia")?;
    let m = t.kids.get(mdia)?;
    let minf = m.find(b"minf")?;
    let stbl = m.kids.get(minf)?.find(b"stbl")?;
    Some(vec![trak, mdia, minf, stbl])
}

/// The header of `mdat` box `b` whose payload grows by `change` bytes: an explicit size (also
/// for a box whose size field said "to the end of the file"), 64 bits when it needs them.
fn mdat_header(b: &TopBox, change: i128) -> Result<Vec<u8>> {
    let hdr_len = b.payload - b.start;
    let payload = u64::try_from(i128::from(b.end - b.payload) + change)
        .map_err(|_| Error::malformed(FORMAT, b.start, "mdat size"))?;
    let mut h = Vec::new();
    if hdr_len == 16 || payload + 8 > u64::from(u32::MAX) {
        h.extend_from_slice(&1u32.to_be_bytes());
        h.extend_from_slice(b"mdat");
        h.extend_from_slice(&(payload + 16).to_be_bytes());
    } else {
        h.extend_from_slice(&u32::try_from(payload + 8).unwrap_or(u32::MAX).to_be_bytes());
        h.extend_from_slice(b"mdat");
    }
    Ok(h)
}

/// One change to the bytes of the file: `old` becomes `new_len` bytes.
#[derive(Debug, Clone)]
struct Edit {
    old: Range<u64>,
    new_len: u64,
    what: What,
}

#[derive(Debug, Clone)]
enum What {
    Moov,
    Bytes(Vec<u8>),
    Insert,
    Remove,
}

/// Where the original offset `x` lands in the output. With `past_insert`, an offset at the
/// insertion point moves after the inserted bytes (a kept sample there); without, it is where
/// the inserted bytes start.
fn shifted(edits: &[Edit], x: u64, past_insert: bool) -> Result<u64> {
    let mut delta: i128 = 0;
    for e in edits {
        if past_insert && matches!(e.what, What::Remove) && e.old.start <= x && x < e.old.end {
            return Err(Error::unsupported(
                "mp4",
                format!("a chunk at byte {x} overlaps a replaced sample"),
            ));
        }
        let counts = match e.what {
            What::Insert => past_insert && e.old.end <= x,
            _ => e.old.end <= x,
        };
        if counts {
            delta += i128::from(e.new_len) - i128::from(e.old.end - e.old.start);
        }
    }
    u64::try_from(i128::from(x) + delta).map_err(|_| Error::malformed(FORMAT, x, "offset out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aigc_label_core::container::bmff::{full, header};
    use std::io::Cursor;

    fn bx(typ: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        [header(typ, payload.len()), payload.to_vec()].concat()
    }

    /// A sound-only MP4: `mdat` with three 2-byte samples, then `moov` (one track, an edit
    /// skipping 1024 samples, a `roll` group over every sample).
    fn m4a() -> Vec<u8> {
        m4a_with(&[])
    }

    /// [`m4a`] with `extra` boxes at the end of its `stbl`.
    fn m4a_with(extra: &[u8]) -> Vec<u8> {
        let ftyp = bx(b"ftyp", b"M4A \0\0\0\0");
        let mdat = bx(b"mdat", &[1, 1, 2, 2, 3, 3]);
        let mdat_payload = (ftyp.len() + 8) as u32;
        let mut mvhd = vec![0u8; 100];
        mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
        mvhd[16..20].copy_from_slice(&40u32.to_be_bytes());
        let mut tkhd = vec![0u8; 84];
        tkhd[20..24].copy_from_slice(&40u32.to_be_bytes());
        let mut mdhd = vec![0u8; 24];
        mdhd[12..16].copy_from_slice(&48_000u32.to_be_bytes());
        mdhd[16..20].copy_from_slice(&3072u32.to_be_bytes());
        let hdlr = [&[0u8; 8][..], b"soun", &[0u8; 13]].concat();
        let elst = full(b"elst", 0, 0, &[0, 0, 0, 1, 0, 0, 0, 40, 0, 0, 4, 0, 0, 1, 0, 0]);
        let stsd = full(b"stsd", 0, 0, &[0, 0, 0, 1, 0, 0, 0, 8, b'm', b'p', b'4', b'a']);
        let stts = full(b"stts", 0, 0, &[0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 4, 0]);
        let stsc = full(b"stsc", 0, 0, &[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 1]);
        let stsz = full(b"stsz", 0, 0, &[0, 0, 0, 2, 0, 0, 0, 3]);
        let stco = full(
            b"stco",
            0,
            0,
            &[&[0, 0, 0, 1][..], &mdat_payload.to_be_bytes()].concat(),
        );
        let sbgp = full(
            b"sbgp",
            0,
            0,
            &[b"roll", &[0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 1][..]].concat(),
        );
        let stbl = bx(b"stbl", &[stsd, stts, stsc, stsz, stco, sbgp, extra.to_vec()].concat());
        let minf = bx(b"minf", &stbl);
        let mdia = bx(b"mdia", &[bx(b"mdhd", &mdhd), bx(b"hdlr", &hdlr), minf].concat());
        let trak = bx(b"trak", &[bx(b"tkhd", &tkhd), bx(b"edts", &elst), mdia].concat());
        let moov = bx(b"moov", &[bx(b"mvhd", &mvhd), trak].concat());
        [ftyp, mdat, moov].concat()
    }

    /// Readers differ on which of two chunk offset tables wins, and a rewrite that moved one
    /// would leave the other pointing at the old bytes, so such a track is refused.
    #[test]
    fn a_track_with_both_stco_and_co64_is_refused() {
        let co64 = full(b"co64", 0, 0, &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        let data = m4a_with(&co64);
        let err = TrackFile::open(&mut Cursor::new(&data), b"soun", &Limits::default())
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("both stco and co64")),
            "{err:?}"
        );
        assert!(TrackFile::open(&mut Cursor::new(&m4a()), b"soun", &Limits::default()).is_ok());
    }

    #[test]
    fn an_insert_at_the_start_moves_the_samples_and_sets_the_edit_and_durations() {
        let data = m4a();
        let limits = Limits::default();
        assert_eq!(handlers(&mut Cursor::new(&data), &limits).unwrap(), [*b"soun"]);
        let file = TrackFile::open(&mut Cursor::new(&data), b"soun", &limits).unwrap();
        assert_eq!(
            file.edit().unwrap(),
            Some(EditEntry {
                media_time: 1024,
                duration: 40
            })
        );
        let cue = [9u8; 5];
        let change = Change {
            samples: vec![NewSample {
                bytes: &cue,
                duration: 1024,
            }],
            edit: Some(EditEntry {
                media_time: 1024,
                duration: 61,
            }),
            ..Change::default()
        };
        let mut out = Vec::new();
        file.write(&mut Cursor::new(&data), &change, &mut out).unwrap();
        let again = TrackFile::open(&mut Cursor::new(&out), b"soun", &limits).unwrap();
        let s = again.samples();
        assert_eq!(s.len(), 4);
        let bytes = |t: &TrackSample| out[t.offset as usize..t.offset as usize + t.size as usize].to_vec();
        assert_eq!(bytes(&s[0]), cue);
        assert_eq!([bytes(&s[1]), bytes(&s[2]), bytes(&s[3])], [[1, 1], [2, 2], [3, 3]]);
        assert_eq!(again.media_duration(), 4096);
        assert_eq!(
            again.edit().unwrap(),
            Some(EditEntry {
                media_time: 1024,
                duration: 61
            })
        );
        let sbgp = out.windows(4).position(|w| w == b"sbgp").unwrap();
        assert_eq!(
            out[sbgp + 16..sbgp + 20],
            4u32.to_be_bytes(),
            "the roll group covers 4 samples"
        );
        let mvhd = out.windows(4).position(|w| w == b"mvhd").unwrap();
        assert_eq!(out[mvhd + 20..mvhd + 24], 61u32.to_be_bytes());
    }

    #[test]
    fn a_replacement_keeps_the_count_and_the_other_samples() {
        let data = m4a();
        let limits = Limits::default();
        let file = TrackFile::open(&mut Cursor::new(&data), b"soun", &limits).unwrap();
        let new = [7u8; 3];
        let change = Change {
            from: 1,
            to: 2,
            samples: vec![NewSample {
                bytes: &new,
                duration: 1024,
            }],
            ..Change::default()
        };
        let mut out = Vec::new();
        file.write(&mut Cursor::new(&data), &change, &mut out).unwrap();
        let again = TrackFile::open(&mut Cursor::new(&out), b"soun", &limits).unwrap();
        let s = again.samples();
        let bytes = |t: &TrackSample| out[t.offset as usize..t.offset as usize + t.size as usize].to_vec();
        assert_eq!(
            s.iter().map(bytes).collect::<Vec<_>>(),
            [vec![1, 1], vec![7, 7, 7], vec![3, 3]]
        );
        assert_eq!(again.edit().unwrap(), file.edit().unwrap());
        // One byte more in mdat; stsz now lists three sizes instead of one shared size.
        assert_eq!(out.len(), data.len() + 1 + 3 * 4);
        // A range past the track is a parameter error, not a panic.
        let bad = Change {
            from: 2,
            to: 9,
            ..Change::default()
        };
        assert!(file.write(&mut Cursor::new(&data), &bad, &mut Vec::new()).is_err());
    }

    #[test]
    fn ticks_scale_between_timescales_rounding_to_the_nearest() {
        assert_eq!(scale(44_100, 44_100, 1000), 1000);
        assert_eq!(scale(1105, 44_100, 1000), 25);
        assert_eq!(scale(7, 0, 1000), 7000);
    }
}
