//! `LabelStream` over an async stream (feature `async`): the same output as over an iterator,
//! with `Pending` from the inner stream passed through. Run with `--features async`.
#![cfg(feature = "async")]

use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use aigc_label_text::{LabelStream, Position, TextStyle, stamp_text};
use futures_core::Stream;

/// Yields its chunks, returning `Pending` (after waking) before every other one, as a network
/// stream does.
struct Chunks {
    items: Vec<Vec<u8>>,
    next: usize,
    pending: bool,
}

impl Stream for Chunks {
    type Item = Vec<u8>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Vec<u8>>> {
        if self.pending {
            self.pending = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.pending = true;
        let i = self.next;
        self.next += 1;
        Poll::Ready(self.items.get(i).cloned())
    }
}

/// Polls `stream` to the end with a no-op waker, counting `Pending`s.
fn drain<S: Stream<Item = String> + Unpin>(mut stream: S) -> (Vec<String>, usize) {
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Vec::new();
    let mut pendings = 0;
    loop {
        match Pin::new(&mut stream).poll_next(&mut cx) {
            Poll::Ready(Some(s)) => out.push(s),
            Poll::Ready(None) => return (out, pendings),
            Poll::Pending => pendings += 1,
        }
    }
}

#[test]
fn async_stream_matches_whole_text() {
    let text = "你好，👩\u{200d}👩\u{200d}👧 e\u{301}！\n\n第二段";
    let bytes = text.as_bytes();
    let style = TextStyle::default().at(Position::StartAndEnd);
    let want = stamp_text(text, &style);
    for size in 1..=5 {
        let items: Vec<Vec<u8>> = bytes.chunks(size).map(<[u8]>::to_vec).collect();
        let (out, pendings) = drain(LabelStream::new(
            Chunks {
                items,
                next: 0,
                pending: true,
            },
            &style,
        ));
        assert!(pendings > 0);
        assert!(out.iter().all(|s| !s.is_empty()));
        assert_eq!(out.concat(), want, "chunks of {size} bytes");
    }
}
