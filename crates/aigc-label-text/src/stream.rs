//! Labels for streamed model output: [`LabelStream`] wraps an iterator (or, with the `async`
//! feature, a `futures_core::Stream`) of text chunks and yields the same text with the label
//! first and/or last, as [`crate::stamp_text`] would place it in the whole answer.
//!
//! Model servers cut their output wherever a token ends, which can be inside a UTF-8 character
//! (when chunks are bytes) or inside a grapheme cluster (`e` + combining accent, an emoji ZWJ
//! sequence, a flag). [`Segmenter`] holds back an incomplete UTF-8 sequence (at most 3 bytes) and
//! the last grapheme cluster of what it has seen, so every chunk it lets out ends on a grapheme
//! boundary. That tail is all it buffers: never the whole answer. A crafted "grapheme" longer than
//! [`MAX_HOLD`] bytes is let out at a character boundary instead of growing the buffer.

use std::borrow::Cow;

use unicode_segmentation::UnicodeSegmentation;

use crate::explicit::{Placer, TextStyle};

/// Most bytes of one grapheme cluster held back; a longer cluster (only crafted text has one) is
/// split at a character boundary.
pub const MAX_HOLD: usize = 1024;

/// Cuts a stream of text or bytes into pieces that end on grapheme boundaries.
///
/// ```
/// use aigc_label_text::stream::Segmenter;
/// let mut seg = Segmenter::lossy();
/// let mut out = seg.push_bytes_lossy(b"caf\xc3");       // "é" cut in half
/// out += &seg.push_bytes_lossy(b"\xa9 ok");
/// out += &seg.finish_lossy();
/// assert_eq!(out, "café ok");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Segmenter {
    /// The held-back tail: the last grapheme cluster seen so far.
    pending: String,
    /// An incomplete UTF-8 sequence at the end of the bytes seen so far (at most 3 bytes).
    partial: Vec<u8>,
    /// The largest the held-back state has been, in bytes.
    max_buffered: usize,
}

impl Segmenter {
    /// A segmenter for byte input that replaces invalid UTF-8 with U+FFFD.
    pub fn lossy() -> Self {
        Segmenter::default()
    }

    /// A segmenter for byte input that reports invalid UTF-8 (see [`Segmenter::push_bytes`]).
    pub fn strict() -> Self {
        Segmenter::default()
    }

    /// The most bytes this segmenter has held back at once; stays small however long the text.
    pub fn max_buffered(&self) -> usize {
        self.max_buffered
    }

    /// Takes a text chunk; returns the text that is ready (possibly empty).
    pub fn push_str(&mut self, chunk: &str) -> String {
        let mut text = std::mem::take(&mut self.pending);
        text.push_str(chunk);
        let cut = last_grapheme_start(&text);
        self.pending = text.split_off(cut);
        self.max_buffered = self.max_buffered.max(self.pending.len() + self.partial.len());
        text
    }

    /// Takes a byte chunk. Returns the ready text, or the offset in `chunk` of invalid UTF-8.
    ///
    /// # Errors
    /// The offset (relative to this chunk, 0 when the bad sequence began in an earlier chunk)
    /// of the first byte that is not UTF-8.
    pub fn push_bytes(&mut self, chunk: &[u8]) -> Result<String, usize> {
        let carried = self.partial.len();
        let (text, bad) = self.decode(chunk, false);
        match bad {
            Some(at) => Err(at.saturating_sub(carried)),
            None => Ok(self.push_str(&text)),
        }
    }

    /// Takes a byte chunk, replacing invalid UTF-8 with U+FFFD; returns the ready text.
    pub fn push_bytes_lossy(&mut self, chunk: &[u8]) -> String {
        let (text, _) = self.decode(chunk, true);
        self.push_str(&text)
    }

    /// Decodes the carried partial sequence plus `chunk`, keeping a new incomplete tail. Stops at
    /// the first invalid sequence unless `lossy`; returns its offset in the combined bytes.
    fn decode(&mut self, chunk: &[u8], lossy: bool) -> (String, Option<usize>) {
        let mut bytes = std::mem::take(&mut self.partial);
        bytes.extend_from_slice(chunk);
        let mut out = String::with_capacity(bytes.len());
        let mut rest: &[u8] = &bytes;
        let mut offset = 0;
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    return (out, None);
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                    match e.error_len() {
                        None => {
                            self.partial = after.to_vec();
                            return (out, None);
                        }
                        Some(_) if !lossy => return (out, Some(offset + valid.len())),
                        Some(n) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            offset += valid.len() + n;
                            rest = after.get(n..).unwrap_or_default();
                        }
                    }
                }
            }
        }
    }

    /// Ends the stream: returns everything held back. An incomplete UTF-8 sequence at the end
    /// becomes U+FFFD.
    pub fn finish_lossy(&mut self) -> String {
        let mut out = std::mem::take(&mut self.pending);
        if !std::mem::take(&mut self.partial).is_empty() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
        out
    }

    /// Ends the stream: returns everything held back.
    ///
    /// # Errors
    /// The number of bytes of an incomplete UTF-8 sequence left at the end.
    pub fn finish_strict(&mut self) -> Result<String, usize> {
        let partial = std::mem::take(&mut self.partial);
        if partial.is_empty() {
            Ok(std::mem::take(&mut self.pending))
        } else {
            Err(partial.len())
        }
    }
}

/// Where the last grapheme cluster of `text` starts, so that everything before it can go out.
/// A cluster longer than [`MAX_HOLD`] is cut at the last character boundary within the limit.
fn last_grapheme_start(text: &str) -> usize {
    let start = text.grapheme_indices(true).next_back().map_or(0, |(i, _)| i);
    if text.len() - start <= MAX_HOLD {
        return start;
    }
    let mut cut = text.len() - MAX_HOLD;
    while !text.is_char_boundary(cut) {
        cut += 1;
    }
    cut
}

/// A piece of model output: text (`&str`, `String`, `Cow<str>`, `Box<str>`) or bytes (`&[u8]`,
/// `Vec<u8>`, `Box<[u8]>`). Byte chunks may split UTF-8 characters anywhere; invalid UTF-8
/// becomes U+FFFD, since a chat answer is for people and must not stop half-way.
pub trait TextChunk {
    /// Feeds this chunk to `seg`, returning the ready text.
    fn feed(&self, seg: &mut Segmenter) -> String;
}

macro_rules! text_chunk {
    ($method:ident: $($t:ty),*) => {
        $(impl TextChunk for $t {
            fn feed(&self, seg: &mut Segmenter) -> String {
                seg.$method(self)
            }
        })*
    };
}

text_chunk!(push_str: &str, String, &String, Cow<'_, str>, Box<str>);
text_chunk!(push_bytes_lossy: &[u8], Vec<u8>, &Vec<u8>, Box<[u8]>);

/// Where a [`LabelStream`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    Body,
    End,
    Done,
}

/// Wraps a stream of text chunks and yields it with an explicit label.
///
/// The label goes where [`crate::stamp_text`] would put it in the whole answer: first, last,
/// both, or after the blank line that ends the chosen paragraph (as soon as that line has
/// arrived; at the end if the answer has fewer paragraphs). Yielded chunks are never empty and
/// always end on a grapheme boundary.
///
/// ```
/// use aigc_label_text::{LabelStream, Position, TextStyle};
/// let tokens = ["你", "好", "！\n"];
/// let style = TextStyle::default().at(Position::StartAndEnd);
/// let out: String = LabelStream::new(tokens.into_iter(), &style).collect();
/// assert_eq!(out, "【AI生成】\n你好！\n【AI生成】\n");
///
/// // Byte chunks that cut a character in half are reassembled.
/// let bytes = vec![b"\xe4\xbd".to_vec(), b"\xa0\xe5\xa5\xbd".to_vec()];
/// let out: String = LabelStream::new(bytes.into_iter(), &TextStyle::default()).collect();
/// assert_eq!(out, "【AI生成】\n你好");
/// ```
#[derive(Debug, Clone)]
pub struct LabelStream<S> {
    inner: S,
    seg: Segmenter,
    placer: Placer,
    phase: Phase,
}

impl<S> LabelStream<S> {
    /// Wraps `inner` (an `Iterator` or, with the `async` feature, a `Stream` of [`TextChunk`]s).
    pub fn new(inner: S, style: &TextStyle) -> Self {
        LabelStream {
            inner,
            seg: Segmenter::lossy(),
            placer: Placer::new(style),
            phase: Phase::Start,
        }
    }

    /// The most bytes held back at once so far (see [`Segmenter::max_buffered`]).
    pub fn max_buffered(&self) -> usize {
        self.seg.max_buffered()
    }

    /// The wrapped stream.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// One step of the state machine, given the next input chunk (`Some(None)` at the end of the
    /// input, `None` when the input has not been polled in this phase). Returns output, if any.
    fn step(&mut self, next: Option<Option<&dyn TextChunk>>) -> Option<String> {
        match self.phase {
            Phase::Start => {
                self.phase = Phase::Body;
                Some(self.placer.start())
            }
            Phase::Body => match next? {
                Some(chunk) => {
                    let ready = chunk.feed(&mut self.seg);
                    Some(self.placer.feed(ready))
                }
                None => {
                    self.phase = Phase::End;
                    let tail = self.seg.finish_lossy();
                    Some(self.placer.feed(tail))
                }
            },
            Phase::End => {
                self.phase = Phase::Done;
                Some(self.placer.end())
            }
            Phase::Done => None,
        }
    }

    fn needs_input(&self) -> bool {
        self.phase == Phase::Body
    }
}

impl<S> Iterator for LabelStream<S>
where
    S: Iterator,
    S::Item: TextChunk,
{
    type Item = String;

    fn next(&mut self) -> Option<String> {
        loop {
            if self.phase == Phase::Done {
                return None;
            }
            let out = if self.needs_input() {
                let item = self.inner.next();
                self.step(Some(item.as_ref().map(|c| c as &dyn TextChunk)))
            } else {
                self.step(None)
            };
            if let Some(s) = out.filter(|s| !s.is_empty()) {
                return Some(s);
            }
        }
    }
}

#[cfg(feature = "async")]
mod async_stream {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use futures_core::Stream;

    use super::{LabelStream, Phase, TextChunk};

    /// With the `async` feature: the same adapter over an async stream. The inner stream must be
    /// `Unpin` (wrap it with `Box::pin` if it is not), which keeps this crate free of `unsafe`.
    impl<S> Stream for LabelStream<S>
    where
        S: Stream + Unpin,
        S::Item: TextChunk,
    {
        type Item = String;

        fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<String>> {
            let this = self.get_mut();
            loop {
                if this.phase == Phase::Done {
                    return Poll::Ready(None);
                }
                let out = if this.needs_input() {
                    match Pin::new(&mut this.inner).poll_next(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(item) => this.step(Some(item.as_ref().map(|c| c as &dyn TextChunk))),
                    }
                } else {
                    this.step(None)
                };
                if let Some(s) = out.filter(|s| !s.is_empty()) {
                    return Poll::Ready(Some(s));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Position;
    use unicode_segmentation::UnicodeSegmentation;

    const TRICKY: &str = "é́ 👩‍👩‍👧 🇨🇳🇺🇸 ก่ 한국어 नमस्ते\n\n第二段。";

    /// Every way of cutting `text` into two or three byte chunks gives the same output, and every
    /// yielded chunk ends on a grapheme boundary of the whole output.
    #[test]
    fn byte_splits_never_break_characters_or_graphemes() {
        let bytes = TRICKY.as_bytes();
        let style = TextStyle::default().at(Position::StartAndEnd);
        let whole = crate::stamp_text(TRICKY, &style);
        let boundaries: Vec<usize> = whole
            .grapheme_indices(true)
            .map(|(i, _)| i)
            .chain([whole.len()])
            .collect();
        for a in 0..=bytes.len() {
            for b in [a, (a + 1).min(bytes.len()), (a + 7).min(bytes.len())] {
                let chunks = vec![bytes[..a].to_vec(), bytes[a..b].to_vec(), bytes[b..].to_vec()];
                let out: Vec<String> = LabelStream::new(chunks.into_iter(), &style).collect();
                let mut end = 0;
                for chunk in &out {
                    assert!(!chunk.is_empty());
                    end += chunk.len();
                    assert!(boundaries.contains(&end), "split at {a}/{b} broke a grapheme: {out:?}");
                }
                assert_eq!(out.concat(), whole, "split at {a}/{b}");
            }
        }
    }

    #[test]
    fn str_splits_at_every_char() {
        let style = TextStyle::default().at(Position::AfterParagraph(1));
        let whole = crate::stamp_text(TRICKY, &style);
        for (i, _) in TRICKY.char_indices() {
            let out: String = LabelStream::new([&TRICKY[..i], &TRICKY[i..]].into_iter(), &style).collect();
            assert_eq!(out, whole);
        }
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let chunks = vec![b"ok\xff".to_vec(), b"\xe4\xbd".to_vec()];
        let out: String = LabelStream::new(chunks.into_iter(), &TextStyle::default().at(Position::End)).collect();
        assert_eq!(out, "ok\u{fffd}\u{fffd}\n【AI生成】");
    }

    #[test]
    fn strict_push_reports_offsets() {
        let mut seg = Segmenter::strict();
        assert_eq!(seg.push_bytes(b"ab\xe4").unwrap(), "a");
        assert_eq!(seg.push_bytes(b"\xbd\xa0\xff"), Err(2));
        let mut seg = Segmenter::strict();
        seg.push_bytes(b"\xe4").unwrap();
        assert_eq!(seg.finish_strict(), Err(1));
    }

    #[test]
    fn giant_cluster_is_bounded() {
        let mut seg = Segmenter::lossy();
        let mut out = seg.push_str("a");
        for _ in 0..1000 {
            out += &seg.push_str("\u{301}\u{301}\u{301}");
        }
        out += &seg.finish_lossy();
        assert_eq!(out.chars().count(), 3001);
        assert!(seg.max_buffered() <= MAX_HOLD + 6, "{}", seg.max_buffered());
    }

    #[test]
    fn empty_input() {
        let out: Vec<String> = LabelStream::new(std::iter::empty::<&str>(), &TextStyle::default()).collect();
        assert_eq!(out, ["【AI生成】\n"]);
        let style = TextStyle::default().at(Position::End);
        let out: Vec<String> = LabelStream::new(["", ""].into_iter(), &style).collect();
        assert_eq!(out, ["【AI生成】"]);
    }
}
