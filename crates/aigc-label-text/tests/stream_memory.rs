//! A 10 MB answer streamed through `LabelStream` and `stamp_stream` in small chunks that cut
//! characters and grapheme clusters, with live heap memory measured by a counting allocator:
//! the adapter's memory must stay flat, not grow with the answer.
//!
//! This file is its own test binary with one test, so no other test allocates meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use aigc_label_text::{LabelStream, Position, TextStyle, stamp_stream};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged and only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const TOTAL: usize = 10 << 20;
/// Tricky text: CJK (3-byte), an emoji ZWJ family, a combining accent, a flag pair.
const PATTERN: &str = "人工智能 👩\u{200d}👩\u{200d}👧 e\u{301} 🇨🇳 answer text\n\n";

/// The answer's length: whole repetitions of the pattern, just under 10 MiB.
fn total() -> usize {
    TOTAL / PATTERN.len() * PATTERN.len()
}

/// The answer as 7-byte chunks generated on the fly (never held whole).
fn chunks() -> impl Iterator<Item = Vec<u8>> {
    let bytes = PATTERN.as_bytes();
    let mut sent = 0usize;
    std::iter::from_fn(move || {
        let n = 7.min(total().saturating_sub(sent));
        if n == 0 {
            return None;
        }
        let chunk: Vec<u8> = (0..n).map(|k| bytes[(sent + k) % bytes.len()]).collect();
        sent += n;
        Some(chunk)
    })
}

/// A reader over the same bytes, read in whatever sizes the caller asks for.
struct Generated {
    sent: usize,
}

impl std::io::Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let bytes = PATTERN.as_bytes();
        let n = buf.len().min(total().saturating_sub(self.sent));
        for (k, slot) in buf[..n].iter_mut().enumerate() {
            *slot = bytes[(self.sent + k) % bytes.len()];
        }
        self.sent += n;
        Ok(n)
    }
}

struct Counter(u64);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn ten_megabytes_stream_with_flat_memory() {
    let style = TextStyle::default().at(Position::StartAndEnd);
    let label_len = style.label().len();

    // The iterator adapter over byte chunks.
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut stream = LabelStream::new(chunks(), &style);
    let mut out_bytes = 0usize;
    let mut first: Option<String> = None;
    let mut last = String::new();
    for piece in stream.by_ref() {
        out_bytes += piece.len();
        if first.is_none() {
            first = Some(piece.clone());
        }
        last = piece;
    }
    let held = stream.max_buffered();
    drop(stream);
    let peak = PEAK.load(Ordering::Relaxed) - base;
    eprintln!("LabelStream: 10 MiB in 7-byte chunks, peak live heap {peak} bytes, max held back {held} bytes");
    // The whole input length plus two labels and their line breaks.
    assert!(total() > TOTAL - PATTERN.len());
    assert_eq!(
        out_bytes,
        total() + 2 * (label_len + 1),
        "each label is a line of its own"
    );
    assert_eq!(first.as_deref(), Some("【AI生成】\n"));
    assert_eq!(last, "【AI生成】\n");
    assert!(held <= 64, "held back {held} bytes");
    assert!(
        peak < 64 << 10,
        "peak live heap {peak} bytes: the adapter must not buffer the answer"
    );

    // The Read -> Write form used for files and stdin/stdout.
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut sink = Counter(0);
    let written = stamp_stream(&mut Generated { sent: 0 }, &mut sink, &style);
    let peak = PEAK.load(Ordering::Relaxed) - base;
    eprintln!("stamp_stream: 10 MiB, peak live heap {peak} bytes");
    assert_eq!(written.unwrap(), sink.0);
    assert_eq!(sink.0 as usize, total() + 2 * label_len + 2);
    assert!(peak < 1 << 20, "peak live heap {peak} bytes");
}
