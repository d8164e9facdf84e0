//! Memory stays flat as files grow: embedding into a 200 MB PNG keeps the peak heap under 32 MiB.
//!
//! A counting global allocator measures the heap in this test binary, which holds this one test
//! so that nothing else allocates while it measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use aigc_label::{Options, Verdict, embed_file, inspect_file};

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now = CURRENT.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(now, Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak heap growth, in bytes, while `f` runs.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Relaxed);
    PEAK.store(base, Relaxed);
    let out = f();
    (out, PEAK.load(Relaxed).saturating_sub(base))
}

#[test]
fn embedding_into_a_200_mb_png_keeps_peak_heap_under_32_mib() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("large.png");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
        aigc_label_testutil::synthetic_png(&mut file, 7300, 7000).unwrap();
    }
    let size = std::fs::metadata(&input).unwrap().len();
    assert!(size > 200_000_000, "input is {size} bytes");

    let output = dir.path().join("labelled.png");
    let label = aigc_label_testutil::sample_label();
    let options = Options::default();
    let (written, peak) = peak_during(|| embed_file(&input, &output, &label, &options).unwrap());
    assert!(written.bytes_written > size);
    assert!(peak < 32 << 20, "peak heap while embedding was {peak} bytes");
    eprintln!("embedding into {size} bytes: peak heap {} KiB", peak >> 10);

    let (report, peak) = peak_during(|| inspect_file(&output, &options).unwrap());
    assert_eq!(report.verdict, Verdict::Compliant);
    assert!(peak < 32 << 20, "peak heap while inspecting was {peak} bytes");
    eprintln!(
        "inspecting {} bytes: peak heap {} KiB",
        written.bytes_written,
        peak >> 10
    );
}
