//! The per-turn adapter's memory does not grow with turn length: measured with a counting
//! allocator over a stream of 1 s turns and one of 100 s turns. This file holds a single test so
//! no other test allocates while it measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use aigc_label_audio::cue::{Cue, PcmSpec, TurnCues, TurnEvent, TurnOptions};

/// Counts live heap bytes and their high-water mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
            PEAK.fetch_max(now, Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const RATE: u32 = 16_000;
const CHUNK: usize = 320; // 20 ms

/// Runs three turns of `seconds` each through the adapter; returns the peak heap bytes above
/// what was live when streaming began, and the number of audio samples that came out.
fn peak_for_turns(seconds: usize) -> (usize, usize) {
    let spec = PcmSpec::new(RATE, 1);
    let chunks_per_turn = seconds * RATE as usize / CHUNK;
    // The source makes each chunk when asked, as a live voice pipeline would.
    let source = (0..3).flat_map(move |_| {
        (0..chunks_per_turn)
            .map(|i| TurnEvent::Audio(vec![(i % 100) as i16; CHUNK]))
            .chain(std::iter::once(TurnEvent::EndOfTurn))
    });
    let adapter = TurnCues::new(source, &Cue::default(), &spec, TurnOptions::default()).unwrap();
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let mut samples = 0;
    for event in adapter {
        if let TurnEvent::Audio(s) = event {
            samples += s.len();
        }
    }
    (PEAK.load(Relaxed) - base, samples)
}

#[test]
fn memory_does_not_grow_with_turn_length() {
    let cue = 24_960; // 1.56 s at 16 kHz
    let (short, short_samples) = peak_for_turns(1);
    let (long, long_samples) = peak_for_turns(100);
    assert_eq!(short_samples, 3 * (RATE as usize + cue));
    assert_eq!(long_samples, 3 * (100 * RATE as usize + cue));
    eprintln!("peak heap above baseline: {short} bytes with 1 s turns, {long} bytes with 100 s turns");
    // A few chunks in flight at most; a buffered turn would be 3.2 MB.
    assert!(
        long <= short + 1024,
        "1 s turns: {short} bytes, 100 s turns: {long} bytes"
    );
    assert!(long < 16 * 1024, "{long} bytes");
}
