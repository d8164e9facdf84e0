//! Embedding a label into a 100 MB WAV file, and finding it again.
//!
//! The file (16-bit stereo 48 kHz PCM, about 9 minutes, with a `LIST`/`INFO` chunk) is written
//! once into a temporary file; each iteration streams it through the carrier into a sink, so the
//! figure is the carrier's copy throughput from the page cache.

use std::fs::File;
use std::io::{BufWriter, Write};

use aigc_label_audio::Wav;
use aigc_label_core::{Carrier, Label, Limits};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const DATA_BYTES: u32 = 100 << 20;

fn big_wav() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let mut w = BufWriter::new(file.as_file());
    let info: &[u8] = b"INFOINAM\x06\0\0\0bench\0";
    let riff_size = 4 + (8 + 16) + (8 + info.len() as u32) + (8 + DATA_BYTES);
    w.write_all(b"RIFF").unwrap();
    w.write_all(&riff_size.to_le_bytes()).unwrap();
    w.write_all(b"WAVEfmt \x10\0\0\0\x01\0\x02\0\x80\xbb\0\0\0\xee\x02\0\x04\0\x10\0")
        .unwrap();
    w.write_all(b"LIST").unwrap();
    w.write_all(&(info.len() as u32).to_le_bytes()).unwrap();
    w.write_all(info).unwrap();
    w.write_all(b"data").unwrap();
    w.write_all(&DATA_BYTES.to_le_bytes()).unwrap();
    let mut block = vec![0u8; 1 << 20];
    let mut seed = 0x1234_5678u32;
    for b in &mut block {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        *b = (seed >> 24) as u8;
    }
    for _ in 0..(DATA_BYTES >> 20) {
        w.write_all(&block).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    file
}

fn bench(c: &mut Criterion) {
    let file = big_wav();
    let len = file.as_file().metadata().unwrap().len();
    let label = Label::new("001191440300708461136T1XGW3", "bench-0001");
    let limits = Limits::default();
    let mut group = c.benchmark_group("wav");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(len));
    group.bench_function("embed_100MB", |b| {
        b.iter(|| {
            let mut input = File::open(file.path()).unwrap();
            let written = Wav.write(&mut input, &mut std::io::sink(), &label, &limits).unwrap();
            assert!(written.bytes_written > len);
        })
    });
    group.finish();
    // Finding reads chunk headers and seeks past the audio, so its time does not grow with size.
    c.bench_function("wav/find_100MB", |b| {
        b.iter(|| {
            let mut input = File::open(file.path()).unwrap();
            assert!(Wav.find(&mut input, &limits).unwrap().is_empty());
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
