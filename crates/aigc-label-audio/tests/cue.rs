//! Explicit audio labels: the rhythm cue is found again, with its configured timing, in files
//! decoded by ffmpeg; insertion keeps the content's samples; voice prompts are converted.

mod common;

use std::path::Path;
use std::time::Duration;

use aigc_label_audio::Wav;
use aigc_label_audio::cue::{
    At, Cue, Ducking, Mode, PcmSpec, Rendered, Rhythm, Sample, VoicePrompt, insert, stamp_wav_file,
};
use aigc_label_testutil::{sample_label, tool};
use common::*;

/// A WAV file of `frames` frames of a quiet 300 Hz tone with a little deterministic noise.
fn content_wav(path: &Path, rate: u32, channels: u16, format: (hound::SampleFormat, u16), frames: usize) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: format.1,
        sample_format: format.0,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    let mut seed = 0x9e37_79b9u32;
    for n in 0..frames {
        for c in 0..channels {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (seed >> 16) as f32 / 65_536.0 - 0.5;
            let x =
                0.1 * (2.0 * std::f32::consts::PI * 300.0 * n as f32 / rate as f32 + f32::from(c)).sin() + 0.01 * noise;
            match format {
                (hound::SampleFormat::Float, _) => w.write_sample(x).unwrap(),
                (_, 16) => w.write_sample(i16::from_unit(x, 16)).unwrap(),
                (_, bits) => w.write_sample(i32::from_unit(x, bits)).unwrap(),
            }
        }
    }
    w.finalize().unwrap();
}

/// Every sample of `path` as f32, decoded by ffmpeg when it is installed (a third-party
/// decoder), otherwise by hound.
fn decode(path: &Path) -> (u32, u16, Vec<f32>) {
    let reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    let samples = match tool("ffmpeg") {
        Some(ffmpeg) => {
            let out = aigc_label_testutil::run(
                &ffmpeg,
                &[
                    "-v".as_ref(),
                    "error".as_ref(),
                    "-i".as_ref(),
                    path.as_os_str(),
                    "-f".as_ref(),
                    "f32le".as_ref(),
                    "-c:a".as_ref(),
                    "pcm_f32le".as_ref(),
                    "-".as_ref(),
                ],
            );
            out.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        }
        None => read_all_f32(path),
    };
    (spec.sample_rate, spec.channels, samples)
}

fn read_all_f32(path: &Path) -> Vec<f32> {
    let mut reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().map(Result::unwrap).collect(),
        hound::SampleFormat::Int => reader
            .samples::<i32>()
            .map(|s| s.unwrap().to_unit(spec.bits_per_sample))
            .collect(),
    }
}

fn read_all_i32(path: &Path) -> Vec<i32> {
    let mut reader = hound::WavReader::open(path).unwrap();
    reader.samples::<i32>().map(Result::unwrap).collect()
}

#[test]
fn rhythm_is_detected_in_decoded_files_with_configured_timing() {
    let dir = tempfile::tempdir().unwrap();
    let custom = Rhythm {
        frequency_hz: 1000.0,
        unit: Duration::from_millis(90),
        dash_units: 2.5,
        fade: Duration::from_millis(8),
        level_dbfs: -12.0,
        ..Rhythm::default()
    };
    let formats = [
        (hound::SampleFormat::Int, 16),
        (hound::SampleFormat::Int, 24),
        (hound::SampleFormat::Float, 32),
        (hound::SampleFormat::Int, 32),
    ];
    for (k, rate) in [8_000u32, 16_000, 44_100, 48_000].into_iter().enumerate() {
        for channels in [1u16, 2] {
            for rhythm in [Rhythm::default(), custom.clone()] {
                let what = format!("{rate} Hz, {channels} ch, {:?}, {} Hz", formats[k], rhythm.frequency_hz);
                let input = dir.path().join("in.wav");
                let output = dir.path().join("out.wav");
                content_wav(&input, rate, channels, formats[k], rate as usize / 2);
                let cue = Cue::Rhythm(rhythm.clone());
                stamp_wav_file(&input, &output, &cue, &[At::Start], &Mode::Insert).unwrap();
                let (r, ch, samples) = decode(&output);
                assert_eq!((r, ch), (rate, channels));
                let cue_frames = (rhythm.duration().unwrap().as_secs_f64() * f64::from(rate)).round() as usize;
                for c in 0..usize::from(channels) {
                    let channel: Vec<f32> = samples
                        .iter()
                        .skip(c)
                        .step_by(usize::from(channels))
                        .take(cue_frames)
                        .copied()
                        .collect();
                    let found = tone_segments(&channel, rate, f64::from(rhythm.frequency_hz));
                    assert_rhythm(&found, &rhythm, &format!("{what}, channel {c}"));
                }
            }
        }
    }
}

#[test]
fn inserting_at_the_start_keeps_the_following_samples() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.wav");
    let output = dir.path().join("out.wav");
    for format in [(hound::SampleFormat::Int, 16), (hound::SampleFormat::Int, 24)] {
        content_wav(&input, 16_000, 2, format, 8_000);
        let cue = Cue::default();
        stamp_wav_file(&input, &output, &cue, &[At::Start], &Mode::Insert).unwrap();
        let before = read_all_i32(&input);
        let after = read_all_i32(&output);
        let cue_samples = after.len() - before.len();
        assert_eq!(cue_samples, 2 * 24_960);
        assert_eq!(&after[cue_samples..], &before[..], "{format:?}");
    }
    // The same in memory, for i32 holding 24-bit audio, with middle points and the end.
    let spec = PcmSpec::new(16_000, 2).with_bits(24);
    let content: Vec<i32> = (0..40_000).map(|i| ((i * 7919) % (1 << 23)) - (1 << 22)).collect();
    let cue = Rendered::new(&Cue::default(), &spec).unwrap();
    let at = [At::Start, At::Time(Duration::from_millis(500)), At::End];
    let out = insert(&content, &spec, &cue, &at).unwrap();
    let n = cue.frames() as usize * 2;
    assert_eq!(&out[n..n + 16_000], &content[..16_000]);
    assert_eq!(&out[2 * n + 16_000..out.len() - n], &content[16_000..]);
    assert!(out.iter().all(|&s| (-(1 << 23)..1 << 23).contains(&s)), "24-bit range");
}

#[test]
fn mixing_keeps_length_and_samples_away_from_the_cue() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.wav");
    let output = dir.path().join("out.wav");
    content_wav(&input, 8_000, 1, (hound::SampleFormat::Int, 16), 40_000);
    let mode = Mode::Mix(Ducking::default());
    stamp_wav_file(&input, &output, &Cue::default(), &[At::Frame(16_000)], &mode).unwrap();
    let before = read_all_i32(&input);
    let after = read_all_i32(&output);
    assert_eq!(before.len(), after.len());
    let ramp = 160;
    assert_eq!(&after[..16_000 - ramp], &before[..16_000 - ramp]);
    let end = 16_000 + 12_480 + ramp;
    assert_eq!(&after[end..], &before[end..]);
    // The cue is there, louder than the ducked content.
    let found = tone_segments(&read_all_f32(&output)[16_000..16_000 + 12_480], 8_000, 800.0);
    assert_rhythm(&found, &Rhythm::default(), "mixed");
}

#[test]
fn a_voice_prompt_in_another_layout_is_converted_and_inserted() {
    let dir = tempfile::tempdir().unwrap();
    // A stereo 22.05 kHz "recording": a 1 s, 1 kHz tone, left and right slightly different.
    let prompt_path = dir.path().join("prompt.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 22_050,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&prompt_path, spec).unwrap();
    for n in 0..22_050 {
        let x = (0.4 * (2.0 * std::f32::consts::PI * 1000.0 * n as f32 / 22_050.0).sin() * 32767.0) as i16;
        w.write_sample(x).unwrap();
        w.write_sample(x / 2).unwrap();
    }
    w.finalize().unwrap();
    let voice = VoicePrompt::from_wav_file(&prompt_path).unwrap();
    assert_eq!(voice.duration(), Duration::from_secs(1));

    let input = dir.path().join("in.wav");
    let output = dir.path().join("out.wav");
    content_wav(&input, 8_000, 1, (hound::SampleFormat::Int, 16), 8_000);
    let cue = Cue::Voice(voice);
    stamp_wav_file(&input, &output, &cue, &[At::End], &Mode::Insert).unwrap();
    let before = read_all_i32(&input);
    let after = read_all_i32(&output);
    assert_eq!(after.len(), before.len() + 8_000, "one second at 8 kHz");
    assert_eq!(&after[..before.len()], &before[..]);
    // The prompt is the mono average of its channels (0.3 amplitude), resampled without changing pitch.
    let tail: Vec<f32> = read_all_f32(&output)[before.len() + 1_000..before.len() + 7_000].to_vec();
    let rms = (tail.iter().map(|x| x * x).sum::<f32>() / tail.len() as f32).sqrt();
    assert!((rms - 0.3 / 2f32.sqrt()).abs() < 0.005, "rms {rms}");
    let crossings = tail.windows(2).filter(|w| (w[0] < 0.0) != (w[1] < 0.0)).count();
    assert!(
        (crossings as i64 - 1500).abs() <= 2,
        "{crossings} crossings in 0.75 s of 1 kHz"
    );
    if let Some(ffmpeg) = tool("ffmpeg") {
        aigc_label_testutil::run(
            &ffmpeg,
            &[
                "-v".as_ref(),
                "error".as_ref(),
                "-i".as_ref(),
                output.as_os_str(),
                "-f".as_ref(),
                "null".as_ref(),
                "-".as_ref(),
            ],
        );
    }
}

#[test]
fn stamping_keeps_every_chunk_and_the_implicit_label() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "bext.wav",
        "list_info.wav",
        "float32.wav",
        "odd_u8.wav",
        "id3_mutagen.wav",
    ] {
        for mode in [Mode::Insert, Mode::Mix(Ducking::default())] {
            let what = format!("{name}, {mode:?}");
            // A labelled file: the implicit label in its AIGC chunk after data.
            let labelled = write_label(&Wav, &read_fixture(name), &sample_label());
            let input = dir.path().join("in.wav");
            let output = dir.path().join("out.wav");
            std::fs::write(&input, &labelled).unwrap();
            stamp_wav_file(&input, &output, &Cue::default(), &[At::Start], &mode).unwrap();
            let stamped = std::fs::read(&output).unwrap();

            let (_, before) = riff_chunks(&labelled);
            let (size, after) = riff_chunks(&stamped);
            assert_eq!(size as usize, stamped.len() - 8, "{what}: RIFF size");
            let ids = |c: &[Stored]| c.iter().map(|(id, _)| *id).collect::<Vec<_>>();
            assert_eq!(ids(&after), ids(&before), "{what}: the same chunks in the same order");
            assert!(ids(&before).contains(b"AIGC"));
            for ((id, old), (_, new)) in before.iter().zip(&after) {
                match id {
                    b"data" => {}
                    b"fact" if matches!(mode, Mode::Insert) => {
                        let frames = frames_of(&output);
                        assert_eq!(&new[..8], &old[..8], "{what}: fact header");
                        assert_eq!(u32::from_le_bytes(new[8..12].try_into().unwrap()) as usize, frames);
                    }
                    _ => assert_eq!(new, old, "{what}: {} kept byte for byte", String::from_utf8_lossy(id)),
                }
            }
            assert_eq!(
                found_texts(&Wav, &stamped),
                [sample_json()],
                "{what}: the label survives"
            );
            // The content's samples follow the cue (inserted) or keep the length (mixed).
            let (old, new) = (samples_of(&input), samples_of(&output));
            match mode {
                Mode::Insert => {
                    assert!(new.len() > old.len());
                    assert_eq!(&new[new.len() - old.len()..], &old[..], "{what}: content after the cue");
                }
                Mode::Mix(_) => assert_eq!(new.len(), old.len(), "{what}"),
            }
            if let (Some(before), Some(after)) = (decode_warnings(&input), decode_warnings(&output)) {
                assert_eq!(after, before, "{what}: ffmpeg warns about something new");
            }
            if name == "bext.wav" {
                if let Some(description) = exiftool_tag(&output, "-RIFF:Description") {
                    assert_eq!(description, "bext test", "{what}: exiftool reads the bext chunk");
                }
            }
        }
    }
}

/// Every sample of a WAV file as bits (integer samples widened, float samples by their bits),
/// so integer and float files compare exactly.
fn samples_of(path: &Path) -> Vec<u32> {
    let mut r = hound::WavReader::open(path).unwrap();
    match r.spec().sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().map(|s| s.unwrap().to_bits()).collect(),
        hound::SampleFormat::Int => r.samples::<i32>().map(|s| s.unwrap() as u32).collect(),
    }
}

/// The number of frames in a WAV file.
fn frames_of(path: &Path) -> usize {
    hound::WavReader::open(path).unwrap().duration() as usize
}

#[test]
fn stamping_uses_hounds_fmt_when_it_lays_the_samples_out_differently() {
    // WAVE_FORMAT_EXTENSIBLE, 24 valid bits in 4-byte containers: hound reads them and writes
    // 3-byte samples, so the input's fmt no longer describes the data and hound's replaces it.
    let mut fmt = Vec::new();
    for (v, n) in [
        (0xfffe, 2),
        (1, 2),
        (8_000, 4),
        (32_000, 4),
        (4, 2),
        (32, 2),
        (22, 2),
        (24, 2),
        (4, 4),
    ] {
        fmt.extend_from_slice(&(v as u32).to_le_bytes()[..n]);
    }
    fmt.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71]);
    let content: Vec<i32> = (0..4_000).map(|i| ((i * 7919) % (1 << 23)) - (1 << 22)).collect();
    let data: Vec<u8> = content.iter().flat_map(|s| s.to_le_bytes()).collect();
    let info = b"INFOINAM\x05\0\0\0tone\0\0";
    let input_bytes = riff_file(&[(b"fmt ", &fmt), (b"LIST", info), (b"data", &data)]);
    let dir = tempfile::tempdir().unwrap();
    let (input, output) = (dir.path().join("in.wav"), dir.path().join("out.wav"));
    std::fs::write(&input, &input_bytes).unwrap();
    stamp_wav_file(&input, &output, &Cue::default(), &[At::Start], &Mode::Insert).unwrap();
    let stamped = std::fs::read(&output).unwrap();
    let (size, chunks) = riff_chunks(&stamped);
    assert_eq!(size as usize, stamped.len() - 8);
    let ids: Vec<[u8; 4]> = chunks.iter().map(|(id, _)| *id).collect();
    assert_eq!(ids, [*b"fmt ", *b"LIST", *b"data"]);
    assert_eq!(
        u16::from_le_bytes([chunks[0].1[20], chunks[0].1[21]]),
        3,
        "hound's block align"
    );
    assert_eq!(chunks[1].1, riff_chunks(&input_bytes).1[1].1, "LIST kept");
    let after = read_all_i32(&output);
    assert_eq!(&after[after.len() - content.len()..], &content[..]);
}
