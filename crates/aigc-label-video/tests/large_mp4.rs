//! Embedding into a fast-start MP4 larger than 4 GiB: `moov` must grow, one `stco` table must be
//! promoted to `co64` and an existing `co64` table moved, all with memory that does not grow
//! with the file.
//!
//! The input is a synthetic stream (headers, zeros, and a marker at each chunk offset, generated
//! as it is read) whose `mdat` spans 4 GiB; the output goes to a sparse temporary file (all-zero
//! blocks become holes), where the moved offsets are checked against the markers. A counting global allocator in this
//! test binary measures the peak heap while the carrier runs. (The library itself forbids unsafe
//! code; implementing `GlobalAlloc` needs `unsafe impl`, which is why this lives in a test.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use aigc_label_core::{Carrier, Limits};
use aigc_label_video::Bmff;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = CURRENT.fetch_add(by, Ordering::SeqCst) + by;
    PEAK.fetch_max(now, Ordering::SeqCst);
}

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            CURRENT.fetch_sub(layout.size(), Ordering::SeqCst);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const GIB: u64 = 1 << 30;

fn bx(typ: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut v = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    v.extend_from_slice(typ);
    v.extend_from_slice(payload);
    v
}

fn full(typ: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    bx(typ, &[&[0u8, 0, 0, 0][..], payload].concat())
}

fn trak(table: Vec<u8>) -> Vec<u8> {
    let dref = full(b"dref", &[&1u32.to_be_bytes()[..], &full(b"url ", &[])].concat());
    let mut url_flag = dref.clone();
    let n = url_flag.len();
    url_flag[n - 1] = 1; // `url ` flags = 1: media in this file
    let stbl = bx(b"stbl", &table);
    let minf = bx(b"minf", &[bx(b"dinf", &url_flag), stbl].concat());
    bx(b"trak", &bx(b"mdia", &minf))
}

fn stco(offsets: &[u64]) -> Vec<u8> {
    let mut p = (offsets.len() as u32).to_be_bytes().to_vec();
    for &o in offsets {
        p.extend_from_slice(&u32::try_from(o).unwrap().to_be_bytes());
    }
    full(b"stco", &p)
}

fn co64(offsets: &[u64]) -> Vec<u8> {
    let mut p = (offsets.len() as u32).to_be_bytes().to_vec();
    for &o in offsets {
        p.extend_from_slice(&o.to_be_bytes());
    }
    full(b"co64", &p)
}

/// A synthetic 4 GiB+ file: headers, then zeros, with an 8-byte marker at each chunk offset.
/// Served by [`Synthetic`] without ever being stored.
struct Synthetic {
    head: Vec<u8>,
    markers: Vec<(u64, Vec<u8>)>,
    len: u64,
    pos: u64,
}

impl Synthetic {
    fn new() -> (Synthetic, Vec<u64>) {
        let ftyp = bx(b"ftyp", b"isom\0\0\x02\0isomiso2mp41");
        // Fixed sizes first (the tables' byte lengths do not depend on their values).
        let probe = bx(b"moov", &[trak(stco(&[0; 3])), trak(co64(&[0; 2]))].concat());
        let mdat_start = (ftyp.len() + probe.len()) as u64;
        let data = mdat_start + 16;
        let small = vec![data, data + GIB, u64::from(u32::MAX) - 100];
        let large = vec![data + 2 * GIB, data + 4 * GIB + (1 << 20)];
        let moov = bx(b"moov", &[trak(stco(&small)), trak(co64(&large))].concat());
        assert_eq!(moov.len(), probe.len());
        let len = data + 4 * GIB + (2 << 20);
        let mut head = [ftyp, moov].concat();
        head.extend_from_slice(&1u32.to_be_bytes());
        head.extend_from_slice(b"mdat");
        head.extend_from_slice(&(len - mdat_start).to_be_bytes());
        let chunks: Vec<u64> = small.iter().chain(&large).copied().collect();
        let markers = chunks
            .iter()
            .enumerate()
            .map(|(i, &at)| (at, format!("CHUNK#{i:02}").into_bytes()))
            .collect();
        (
            Synthetic {
                head,
                markers,
                len,
                pos: 0,
            },
            chunks,
        )
    }
}

impl Read for Synthetic {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min((self.len - self.pos.min(self.len)) as usize);
        let buf = &mut buf[..n];
        buf.fill(0);
        let window = self.pos..self.pos + n as u64;
        let pieces =
            std::iter::once((0u64, self.head.as_slice())).chain(self.markers.iter().map(|(at, m)| (*at, m.as_slice())));
        for (at, bytes) in pieces {
            let end = at + bytes.len() as u64;
            let (from, to) = (at.max(window.start), end.min(window.end));
            if from < to {
                buf[(from - window.start) as usize..(to - window.start) as usize]
                    .copy_from_slice(&bytes[(from - at) as usize..(to - at) as usize]);
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Synthetic {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        self.pos = match to {
            SeekFrom::Start(p) => p,
            SeekFrom::End(d) => self.len.saturating_add_signed(d),
            SeekFrom::Current(d) => self.pos.saturating_add_signed(d),
        };
        Ok(self.pos)
    }
}

/// Writes to a file, leaving holes for all-zero blocks (compared with memcmp, so this stays
/// fast in debug builds).
struct SparseWriter {
    file: File,
    pos: u64,
}

static ZEROS: [u8; 1 << 18] = [0; 1 << 18];

impl Write for SparseWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = buf.len().min(ZEROS.len());
        let buf = &buf[..n];
        if buf == &ZEROS[..n] {
            self.file.seek(SeekFrom::Current(n as i64))?;
        } else {
            self.file.write_all(buf)?;
        }
        self.pos += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.set_len(self.pos)
    }
}

fn read_at(file: &mut File, at: u64, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    file.seek(SeekFrom::Start(at)).unwrap();
    file.read_exact(&mut buf).unwrap();
    buf
}

/// The entries of every chunk offset table in `moov` bytes, in file order, with the type.
fn tables(moov: &[u8]) -> Vec<([u8; 4], Vec<u64>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 8 <= moov.len() {
        let typ: [u8; 4] = moov[i + 4..i + 8].try_into().unwrap();
        if &typ == b"stco" || &typ == b"co64" {
            let width = if &typ == b"co64" { 8 } else { 4 };
            let count = u32::from_be_bytes(moov[i + 12..i + 16].try_into().unwrap()) as usize;
            let entries = (0..count)
                .map(|k| {
                    let at = i + 16 + k * width;
                    moov[at..at + width].iter().fold(0u64, |a, &b| (a << 8) | u64::from(b))
                })
                .collect();
            out.push((typ, entries));
        }
        i += 1;
    }
    out
}

#[test]
fn a_fast_start_file_over_4_gib_gets_co64_with_flat_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (mut input, chunks) = Synthetic::new();
    let len = input.len;
    assert!(len > 4 * GIB);
    let out_file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.path().join("out.mp4"))
        .unwrap();
    let mut out = SparseWriter { file: out_file, pos: 0 };
    let label = aigc_label_testutil::sample_label();

    let baseline = CURRENT.load(Ordering::SeqCst);
    PEAK.store(baseline, Ordering::SeqCst);
    let written = Bmff
        .write(&mut input, &mut out, &label, &Limits::default())
        .expect("write");
    out.flush().unwrap();
    let peak = PEAK.load(Ordering::SeqCst) - baseline;
    eprintln!("peak heap while embedding into a {len}-byte file: {peak} bytes");
    assert!(peak < 64 << 20, "peak heap {peak} bytes");

    let mut out = out.file;
    let out_len = out.seek(SeekFrom::End(0)).unwrap();
    assert_eq!(out_len, written.bytes_written);
    let head = read_at(&mut out, 0, 8192.min(out_len as usize));
    let at = u32::from_be_bytes(head[0..4].try_into().unwrap()) as usize;
    let moov_len = u32::from_be_bytes(head[at..at + 4].try_into().unwrap()) as usize;
    assert_eq!(&head[at + 4..at + 8], b"moov");
    let found = tables(&head[at..at + moov_len]);
    assert_eq!(found.len(), 2);
    assert_eq!(&found[0].0, b"co64", "the stco whose offsets pass 4 GiB is promoted");
    assert_eq!(&found[1].0, b"co64");
    let offsets: Vec<u64> = found.iter().flat_map(|(_, e)| e.iter().copied()).collect();
    let delta = out_len - len;
    for (i, (&new, &old)) in offsets.iter().zip(&chunks).enumerate() {
        assert_eq!(new, old + delta);
        assert_eq!(read_at(&mut out, new, 8), format!("CHUNK#{i:02}").as_bytes());
    }
    assert!(offsets[2] > u64::from(u32::MAX));

    let copies = Bmff.find(&mut out, &Limits::default()).unwrap();
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0].range, written.label_range);
}
