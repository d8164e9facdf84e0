//! Embedding a label into a 100 MB MP4, in both layouts: `moov` after `mdat` (the new `moov`
//! replaces the old one at the end) and fast start without free space (`moov` grows, 2,000
//! chunk offsets move). The file is synthetic, built in memory; the output goes to a sink, so
//! this measures the carrier: walking, rebuilding `moov`, and streaming `mdat`.

use std::hint::black_box;
use std::io::Cursor;

use aigc_label_core::{Carrier, Label, Limits};
use aigc_label_video::Bmff;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const MDAT: usize = 100 << 20;
const CHUNKS: usize = 2000;

fn bx(typ: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    v.extend_from_slice(typ);
    v.extend_from_slice(payload);
    v
}

fn moov(first_chunk: usize) -> Vec<u8> {
    let mut stco = vec![0, 0, 0, 0];
    stco.extend_from_slice(&(CHUNKS as u32).to_be_bytes());
    for i in 0..CHUNKS {
        stco.extend_from_slice(&((first_chunk + i * (MDAT / CHUNKS)) as u32).to_be_bytes());
    }
    let stbl = bx(b"stbl", &bx(b"stco", &stco));
    let trak = bx(b"trak", &bx(b"mdia", &bx(b"minf", &stbl)));
    bx(b"moov", &[bx(b"mvhd", &[0; 100]), trak].concat())
}

/// (moov at the end, fast start) files of a little over 100 MB.
fn files() -> (Vec<u8>, Vec<u8>) {
    let ftyp = bx(b"ftyp", b"isom\0\0\x02\0isomiso2mp41");
    let mdat_header = |size: usize| [&(size as u32 + 8).to_be_bytes()[..], b"mdat"].concat();
    let payload: Vec<u8> = (0..MDAT).map(|i| (i * 31 % 251) as u8).collect();
    let moov_len = moov(0).len();

    let mut end = ftyp.clone();
    end.extend_from_slice(&mdat_header(MDAT));
    end.extend_from_slice(&payload);
    end.extend_from_slice(&moov(ftyp.len() + 8));

    let mut fast = ftyp.clone();
    fast.extend_from_slice(&moov(ftyp.len() + moov_len + 8));
    fast.extend_from_slice(&mdat_header(MDAT));
    fast.extend_from_slice(&payload);
    (end, fast)
}

fn embed(c: &mut Criterion) {
    let (end, fast) = files();
    let label = Label::new("001191440300708461136T1XGW3", "bench-0001");
    let limits = Limits::default();
    let mut group = c.benchmark_group("embed_mp4_100MB");
    group.sample_size(10);
    for (name, file) in [("moov_at_end", &end), ("fast_start_grow", &fast)] {
        group.throughput(Throughput::Bytes(file.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                let written = Bmff
                    .write(&mut Cursor::new(black_box(file)), &mut std::io::sink(), &label, &limits)
                    .expect("embed");
                black_box(written)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, embed);
criterion_main!(benches);
