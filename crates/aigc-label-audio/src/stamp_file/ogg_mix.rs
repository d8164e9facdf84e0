//! `--mix` into Ogg Opus: only the pages under the cue are re-encoded.
//!
//! For each cue (with its ducking ramps and [`MARGIN`] either side) the run of whole pages that
//! covers it is decoded (by ffmpeg, pre-skip applied), mixed, re-encoded by libopus with the
//! packets' own duration, channel count and bitrate, and its packets take the place of the
//! originals one for one. Every page outside the run is copied byte for byte; the pages of the
//! run keep their sequence numbers, granule positions and packet counts (so the file's timing
//! and length do not change), unless the new packets do not fit the old layout, in which case
//! the run is paginated afresh and the pages after it are renumbered (their bodies unchanged).
//!
//! Opus decoders keep state from packet to packet (CELT's overlap window, its energy
//! prediction, SILK's filters), so a new packet must follow sound like the sound the original
//! packet before it was coded from, and the original packet after the run must follow the same
//! sound it followed before. Hence the run starts and ends [`MARGIN`] away from any mixed sample,
//! and the encoder is fed [`WARM_UP`] of the original sound before the run (its packets
//! dropped) so that its state has settled on that sound when the first kept packet is coded.
//! The encoder's lookahead (its pre-skip) is accounted for: new packet `i` decodes to the
//! samples the original packet `i` of the run did.

use std::io::Write;
use std::path::Path;

use aigc_label_core::io::Source;
use aigc_label_core::{Error, Limits, Result};

use super::ogg::{
    Opened, Stored, audio_packets, encoded_pages, first_audio_page, load, opus_head, opus_samples, paginate_packets,
    pre_skip_of,
};
use super::opus_frames::{frame_count, regroup};
use super::{Stamped, ffmpeg};
use crate::cue::At;
use crate::cue::{Cue, Ducking, Mixer, Mode, PcmSpec, Rendered, resolve};
use crate::ogg::page::{CONTINUED, NO_GRANULE};

const FORMAT: &str = "ogg";

/// Samples (48 kHz) between the ducked sound and either end of a re-encoded run: more than
/// libopus's lookahead and CELT's overlap, so both sides of a join code unmixed sound.
const MARGIN: u64 = 1920;

/// Samples of original sound the encoder is fed before a run (its packets dropped).
const WARM_UP: u64 = 4800;

/// libopus's lookahead at 48 kHz in its `audio` application (2.5 ms of CELT overlap and 4 ms of
/// delay compensation), the pre-skip ffmpeg writes; checked against what it wrote.
const LOOKAHEAD: u64 = 312;

/// Most samples a run may hold (60 s): a few seconds of cue and ramps in pages of a second or
/// so, unless pages are enormous or a crafted file leaves out granule positions; refused beyond,
/// as the run's sound is held in memory.
const MAX_RUN: u64 = 60 * 48_000;

/// Largest granule position taken (about 186 years at 48 kHz): far past any real stream, and
/// small enough that sample arithmetic on it cannot overflow.
const MAX_GRANULE: u64 = 1 << 48;

/// A run of whole pages `a..b` to re-encode, and the cue positions (content samples) in it.
pub(super) struct Run {
    pub(super) a: usize,
    pub(super) b: usize,
    pub(super) cues: Vec<u64>,
}

/// The Ogg stream's facts a mix needs.
pub(super) struct Stream<'a> {
    pub(super) pages: &'a [Stored],
    /// The first audio page.
    pub(super) audio: usize,
    /// Samples at the stream's start the decoder drops (Opus's pre-skip; 0 for Vorbis).
    pub(super) pre_skip: u64,
    pub(super) spec: PcmSpec,
}

impl Stream<'_> {
    /// The granule position the page `k` starts at: that of the last earlier page on which a
    /// packet ends (the header pages' is 0); the last page's for `k` past the end.
    pub(super) fn start(&self, k: usize) -> Option<u64> {
        self.pages
            .get(..k)
            .unwrap_or_default()
            .iter()
            .rev()
            .map(|p| p.page.granule)
            .find(|&g| g != NO_GRANULE)
    }

    /// Whether a run may start (or end) before page `k`: a packet boundary.
    pub(super) fn boundary(&self, k: usize) -> bool {
        k == self.audio
            || k >= self.pages.len()
            || self
                .pages
                .get(k)
                .is_some_and(|p| p.page.flags & CONTINUED == 0 && self.start(k).is_some())
    }

    /// The run of pages covering granule positions `lo..hi`.
    fn run(&self, lo: u64, hi: u64) -> (usize, usize) {
        let n = self.pages.len();
        let a = (self.audio..n)
            .rev()
            .find(|&k| self.boundary(k) && self.start(k).is_some_and(|s| s <= lo))
            .unwrap_or(self.audio);
        let b = (a + 1..n)
            .find(|&k| self.boundary(k) && self.start(k).is_some_and(|s| s >= hi))
            .unwrap_or(n);
        (a, b)
    }

    /// The start of a mix of `cue` at `at` into the stream, for either codec. Granule positions
    /// past [`MAX_GRANULE`] are refused, so sample arithmetic on them cannot overflow.
    pub(super) fn mix(&self, cue: &Cue, at: &[At], ducking: &Ducking) -> Result<Mix> {
        if self
            .pages
            .iter()
            .any(|p| p.page.granule != NO_GRANULE && p.page.granule > MAX_GRANULE)
        {
            return Err(Error::malformed(FORMAT, 0, "an Ogg granule position past 2^48"));
        }
        let last_granule = self.start(self.pages.len()).unwrap_or(0);
        let content = last_granule.saturating_sub(self.pre_skip);
        let rendered = Rendered::new(cue, &self.spec)?;
        let positions = resolve(at, &self.spec, content, rendered.frames(), &Mode::Mix(*ducking))?;
        let runs = self.runs(&positions, rendered.frames(), ducking);
        Ok(Mix {
            rendered,
            content,
            positions,
            runs,
            tools: ffmpeg::tools()?,
        })
    }

    /// The runs of pages to re-encode for cues at `positions` (content samples, sorted) of
    /// `frames` each: each with its ducking ramps and [`MARGIN`] either side, overlapping runs
    /// merged.
    pub(super) fn runs(&self, positions: &[u64], frames: u64, ducking: &Ducking) -> Vec<Run> {
        let ramp = self.spec.frame_at(ducking.ramp.as_secs_f64());
        let mut runs: Vec<Run> = Vec::new();
        for &p in positions {
            let lo = (p + self.pre_skip).saturating_sub(ramp + MARGIN);
            let hi = p + self.pre_skip + frames + ramp + MARGIN;
            let (a, b) = self.run(lo, hi);
            match runs.last_mut() {
                Some(last) if a < last.b => {
                    last.b = last.b.max(b);
                    last.cues.push(p);
                }
                _ => runs.push(Run { a, b, cues: vec![p] }),
            }
        }
        runs
    }
}

/// Mixes `cue` into the Opus stream of `file` at `at`, writing the result to `output`.
pub(super) fn opus(file: Opened, output: &mut dyn Write, cue: &Cue, at: &[At], ducking: &Ducking) -> Result<Stamped> {
    let Opened {
        path,
        src,
        pages,
        ident,
    } = file;
    let (spec, pre_skip) = opus_head(ident)?;
    let stream = Stream {
        pages,
        audio: first_audio_page(pages, 2)?,
        pre_skip,
        spec,
    };
    let mix = stream.mix(cue, at, ducking)?;
    let limits = Limits::default();
    let mut plans = Vec::with_capacity(mix.runs.len());
    for run in &mix.runs {
        plans.push(Plan::new(src, &stream, run, &limits)?);
    }
    let mut replaced = Vec::with_capacity(plans.len());
    for (plan, run) in plans.iter().zip(&mix.runs) {
        let packets = plan.reencode(
            &mix.tools,
            &stream.spec,
            stream.pre_skip,
            path,
            &mix.rendered,
            &run.cues,
            ducking,
        )?;
        replaced.push(plan.pages(&stream, run, packets));
    }
    mix.finish(src, output, &stream, replaced, "opus", &limits)
}

/// What a mix into a stream works out before it re-encodes anything: the cue rendered in the
/// stream's layout, the content's length in samples, where the cues go, the runs of pages that
/// hold them, and the tools that re-encode them.
pub(super) struct Mix {
    pub(super) rendered: Rendered,
    pub(super) content: u64,
    pub(super) positions: Vec<u64>,
    pub(super) runs: Vec<Run>,
    pub(super) tools: aigc_label_ffmpeg::Tools,
}

impl Mix {
    /// Writes the stream with each run's pages replaced by `replaced`'s, and says what was
    /// stamped.
    pub(super) fn finish(
        self,
        src: &mut Source,
        output: &mut dyn Write,
        stream: &Stream,
        replaced: Vec<Vec<Stored>>,
        format: &'static str,
        limits: &Limits,
    ) -> Result<Stamped> {
        write(src, output, stream.pages, &self.runs, replaced, limits)?;
        Ok(Stamped {
            format,
            spec: stream.spec,
            cue_frames: self.rendered.frames(),
            input_frames: self.content,
            positions: self.positions,
        })
    }
}

/// What a run holds: its packets' duration, frames, count and bitrate, and the granule it
/// starts at. A run of packets in another container (Matroska) makes one with
/// [`Plan::of_packets`].
pub(super) struct Plan {
    /// Samples per packet (every packet of the run has the same).
    duration: u64,
    /// Frames per packet (every packet of the run has the same).
    frames: u64,
    /// The TOC byte of the run's first packet (its mode and bandwidth).
    toc: u8,
    count: u64,
    bitrate: u64,
    /// Granule position of the run's first sample.
    start: u64,
    /// Packets ending on each page of the run.
    ends: Vec<usize>,
}

impl Plan {
    fn new(src: &mut Source, stream: &Stream, run: &Run, limits: &Limits) -> Result<Plan> {
        let mut carry = Vec::new();
        let (mut count, mut bytes, mut duration, mut frames, mut toc) = (0u64, 0u64, None, None, None);
        let mut start = None;
        let mut ends = Vec::new();
        for page in stream.pages.get(run.a..run.b).unwrap_or_default() {
            let packets = load(src, page, limits)?.packets(&mut carry);
            ends.push(packets.len());
            for packet in &packets {
                let d = opus_samples(packet);
                let f = frame_count(packet);
                toc.get_or_insert(packet.first().copied().unwrap_or(0));
                if *duration.get_or_insert(d) != d || d == 0 || *frames.get_or_insert(f) != f {
                    return Err(Error::unsupported(
                        "ogg",
                        "mixing into Opus whose packets under the cue differ in duration",
                    ));
                }
                count += 1;
                bytes += packet.len() as u64;
            }
            if count * duration.unwrap_or(0) > MAX_RUN {
                return Err(Error::unsupported(
                    "ogg",
                    "mixing into Opus whose pages under the cue hold more than 60 s",
                ));
            }
            if start.is_none() && page.page.granule != NO_GRANULE {
                start = Some(page.page.granule.saturating_sub(count * duration.unwrap_or(0)));
            }
        }
        let duration = duration.ok_or_else(|| Error::malformed(FORMAT, 0, "no Opus packet under the cue"))?;
        let start = start.ok_or_else(|| Error::malformed(FORMAT, 0, "no granule position under the cue"))?;
        Ok(Plan {
            duration,
            frames: frames.unwrap_or(1),
            toc: toc.unwrap_or(0),
            count,
            bitrate: (bytes * 8 * 48_000 / (count * duration).max(1)).clamp(6_000, 256_000 * 2),
            start,
            ends,
        })
    }

    /// The plan for `packets`, whose first sample is at granule position `start` (pre-skip
    /// included): every packet must have the same duration and frame count.
    pub(super) fn of_packets(packets: &[&[u8]], start: u64) -> Result<Plan> {
        let first = packets
            .first()
            .ok_or_else(|| Error::malformed(FORMAT, 0, "no Opus packet under the cue"))?;
        let (duration, frames) = (opus_samples(first), frame_count(first));
        if duration == 0
            || packets
                .iter()
                .any(|p| opus_samples(p) != duration || frame_count(p) != frames)
        {
            return Err(Error::unsupported(
                "opus",
                "mixing into Opus whose packets under the cue differ in duration",
            ));
        }
        let count = packets.len() as u64;
        if count * duration > MAX_RUN {
            return Err(Error::unsupported("opus", "mixing into more than 60 s of Opus packets"));
        }
        let bytes: u64 = packets.iter().map(|p| p.len() as u64).sum();
        Ok(Plan {
            duration,
            frames,
            toc: first.first().copied().unwrap_or(0),
            count,
            bitrate: (bytes * 8 * 48_000 / (count * duration).max(1)).clamp(6_000, 256_000 * 2),
            start,
            ends: Vec::new(),
        })
    }

    /// For packets of several frames, libopus options that keep every frame in the original's
    /// mode and bandwidth (one TOC byte describes a packet's frames, so frames that libopus
    /// coded differently could not share one): a CELT stream is coded CELT-only (`lowdelay`)
    /// with the cutoff of its bandwidth. SILK and hybrid streams have no such switch; their
    /// frames are checked when regrouped.
    fn same_mode(&self) -> Vec<&'static str> {
        let config = self.toc >> 3;
        if self.frames <= 1 || config < 16 {
            return Vec::new();
        }
        let cutoff = match (config - 16) / 4 {
            0 => "4000",
            1 => "8000",
            2 => "12000",
            _ => "20000",
        };
        vec!["-application", "lowdelay", "-cutoff", cutoff]
    }

    /// Packets of warm-up before the run.
    fn warm_up(&self) -> u64 {
        WARM_UP.div_ceil(self.duration)
    }

    /// The content sample the encoder's input starts at when its lookahead is `lookahead`: new
    /// packet `i` (after the warm-up) then decodes to what the run's packet `i` did.
    fn feed_start(&self, pre_skip: u64, lookahead: u64) -> i64 {
        self.start as i64 + lookahead as i64 - pre_skip as i64 - (self.warm_up() * self.duration) as i64
    }

    /// Samples fed to the encoder: the warm-up, the run, and the lookahead and two packets more
    /// (dropped) so that the run's last packets are not coded as the end of the stream.
    fn feed_len(&self, lookahead: u64) -> u64 {
        (self.warm_up() + self.count + lookahead.div_ceil(self.duration) + 2) * self.duration
    }

    /// The run's new packets: the sound decoded (the first audio stream of `path`, in `spec`,
    /// whose decoder drops `pre_skip` samples), mixed and re-encoded.
    ///
    /// libopus codes one frame per packet at the sizes ffmpeg offers it; packets of several
    /// frames are coded frame by frame and regrouped (see `opus_frames`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn reencode(
        &self,
        tools: &aigc_label_ffmpeg::Tools,
        spec: &PcmSpec,
        pre_skip: u64,
        path: &Path,
        rendered: &Rendered,
        cues: &[u64],
        ducking: &Ducking,
    ) -> Result<Vec<Vec<u8>>> {
        let spec = *spec;
        let mut lookahead = LOOKAHEAD;
        // At most twice: the second time with the lookahead the encoder reported.
        for _ in 0..2 {
            let from = self.feed_start(pre_skip, lookahead);
            let mut pcm = ffmpeg::decode_window(tools, path, spec.channels, from, self.feed_len(lookahead))?;
            let at = cues
                .iter()
                .map(|&p| u64::try_from(p as i64 - from).map_err(|_| Error::malformed(FORMAT, 0, "cue before its run")))
                .collect::<Result<Vec<u64>>>()?;
            Mixer::new(rendered, &spec, at, ducking)?.apply(&mut pcm)?;
            let rate = self.bitrate.to_string();
            let frame_ms = match self.duration / self.frames.max(1) {
                120 => "2.5",
                240 => "5",
                480 => "10",
                960 => "20",
                1920 => "40",
                2880 => "60",
                _ => {
                    return Err(Error::unsupported(
                        "opus",
                        "Opus frames of a size libopus does not code",
                    ));
                }
            };
            let channels = spec.channels.to_string();
            let mut codec = vec![
                "-c:a",
                "libopus",
                "-b:a",
                &rate,
                "-frame_duration",
                frame_ms,
                "-ac",
                &channels,
            ];
            codec.extend(self.same_mode());
            let bytes = ffmpeg::encode_pcm(tools, &pcm, &spec, &codec, "ogg")?;
            let (pages, ident) = encoded_pages(bytes)?;
            let reported = pre_skip_of(&ident);
            if reported != lookahead {
                lookahead = reported;
                continue;
            }
            let per = self.frames.max(1);
            let coded = audio_packets(&pages)?;
            // Frames, one packet each (or as libopus packed them), from the warm-up's end on.
            let mut skip = self.warm_up() * per;
            let mut kept = Vec::new();
            for p in coded {
                let n = frame_count(&p);
                if skip >= n {
                    skip -= n;
                } else if skip == 0 {
                    kept.push(p);
                } else {
                    return Err(Error::unsupported(
                        "opus",
                        "libopus packed frames across the warm-up's end",
                    ));
                }
            }
            let packets = regroup(&kept, per, self.count as usize)?;
            if packets.len() as u64 != self.count || packets.iter().any(|p| opus_samples(p) != self.duration) {
                return Err(Error::unsupported(
                    "ogg",
                    "libopus did not re-encode the run in packets like the original's",
                ));
            }
            return Ok(packets);
        }
        Err(Error::unsupported(
            "ogg",
            "libopus's lookahead changed between two runs",
        ))
    }

    /// The run's pages with `packets` in place of the originals: the same pages (sequence
    /// numbers, granule positions, flags) holding as many packets each, or, when a page of the
    /// run ends inside a packet or the new packets overflow its 255 lacing values, fresh pages.
    fn pages(&self, stream: &Stream, run: &Run, packets: Vec<Vec<u8>>) -> Vec<Stored> {
        let originals = stream.pages.get(run.a..run.b).unwrap_or_default();
        if let Some(same) = same_pages(originals, &self.ends, &packets) {
            return same;
        }
        let serial = stream.pages.first().map_or(0, |p| p.page.serial);
        let end = (run.b >= stream.pages.len()).then(|| stream.pages.last().map_or(0, |p| p.page.granule));
        paginate_packets(&packets, serial, self.start, end)
    }
}

/// `packets` on the pages `originals` (sequence numbers, granule positions and flags kept),
/// `ends[i]` of them on page `i`; `None` when a page of the run ends inside a packet or the new
/// packets overflow its 255 lacing values.
pub(super) fn same_pages(originals: &[Stored], ends: &[usize], packets: &[Vec<u8>]) -> Option<Vec<Stored>> {
    let whole = originals
        .iter()
        .all(|p| p.page.lacing.last().is_some_and(|&l| l < 255) && p.page.flags & CONTINUED == 0);
    if !whole || ends.len() != originals.len() || ends.iter().sum::<usize>() != packets.len() {
        return None;
    }
    let mut out = Vec::with_capacity(originals.len());
    let mut rest = packets;
    for (page, &n) in originals.iter().zip(ends) {
        let (these, more) = rest.split_at(n.min(rest.len()));
        rest = more;
        let lacing: Vec<u8> = these
            .iter()
            .flat_map(|p| std::iter::repeat_n(255u8, p.len() / 255).chain(std::iter::once((p.len() % 255) as u8)))
            .collect();
        if lacing.len() > 255 {
            return None;
        }
        let mut new = page.page.clone();
        new.lacing = lacing;
        out.push(Stored {
            page: new,
            body: these.concat(),
        });
    }
    Some(out)
}

/// Writes the stream with each run's pages replaced: pages before the first run are copied as
/// stored; after a run that changed the page count, the later pages are renumbered.
pub(super) fn write(
    src: &mut Source,
    output: &mut dyn Write,
    pages: &[Stored],
    runs: &[Run],
    replaced: Vec<Vec<Stored>>,
    limits: &Limits,
) -> Result<()> {
    let mut shift: i64 = 0;
    let mut replaced = replaced.into_iter();
    let mut k = 0;
    let mut next_run = runs.iter().peekable();
    while k < pages.len() {
        if let Some(run) = next_run.next_if(|r| r.a == k) {
            let new = replaced.next().unwrap_or_default();
            let first_seq = pages.get(run.a).map_or(0, |p| p.page.seq);
            for (i, mut page) in new.iter().cloned().enumerate() {
                page.page.seq = (i64::from(first_seq) + shift + i as i64) as u32;
                output.write_all(&page.encode())?;
            }
            shift += new.len() as i64 - (run.b - run.a) as i64;
            k = run.b;
            continue;
        }
        let Some(p) = pages.get(k) else { break };
        if shift == 0 {
            src.seek_to(p.page.offset)?;
            src.copy_to(output, p.page.end() - p.page.offset, "Ogg page")?;
        } else {
            let mut page = load(src, p, limits)?;
            page.page.seq = (i64::from(page.page.seq) + shift) as u32;
            output.write_all(&page.encode())?;
        }
        k += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 20 ms CELT packet (TOC config 31, one frame) of `len` bytes.
    fn packet(len: usize) -> Vec<u8> {
        let mut p = vec![0u8; len];
        p[0] = 31 << 3;
        p
    }

    #[test]
    fn new_packets_take_the_old_pages_or_fresh_ones_when_they_overflow_them() {
        let old: Vec<Vec<u8>> = (0..400).map(|_| packet(10)).collect();
        let mut pages = paginate_packets(&[b"OpusHead".to_vec(), b"OpusTags".to_vec()], 7, 0, None);
        pages.extend(paginate_packets(&old, 7, 0, None));
        for (i, p) in pages.iter_mut().enumerate() {
            p.page.seq = i as u32;
        }
        assert_eq!(pages.len(), 3, "one header page, two audio pages");
        let stream = Stream {
            pages: &pages,
            audio: 1,
            pre_skip: 0,
            spec: PcmSpec::new(48_000, 2),
        };
        let run = Run {
            a: 1,
            b: 3,
            cues: vec![0],
        };
        let plan = Plan {
            duration: 960,
            frames: 1,
            toc: 31 << 3,
            count: 400,
            bitrate: 64_000,
            start: 0,
            ends: vec![255, 145],
        };
        // Packets as small as before: the same pages, granules and sequence numbers.
        let same = plan.pages(&stream, &run, (0..400).map(|_| packet(12)).collect());
        assert_eq!(same.len(), 2);
        for (new, old) in same.iter().zip(&pages[1..]) {
            assert_eq!((new.page.granule, new.page.seq), (old.page.granule, old.page.seq));
        }
        // Packets of 300 bytes need two lacing values each: fresh pages, the granule positions
        // still counting every packet.
        let fresh = plan.pages(&stream, &run, (0..400).map(|_| packet(300)).collect());
        assert!(fresh.len() > 2);
        assert!(fresh.iter().all(|p| p.page.lacing.len() <= 255));
        assert_eq!(fresh.last().map(|p| p.page.granule), Some(400 * 960));
        let total: usize = fresh.iter().map(Stored::packet_ends).sum();
        assert_eq!(total, 400);
    }
}
