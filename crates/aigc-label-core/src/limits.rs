//! Every bound a reader obeys, in one place.
//!
//! Uploaded files are hostile: a declared length, count or nesting depth is a request, and these
//! limits say how much of it the reader grants. Each reader checks a declared size first against
//! the bytes that remain in the stream and then against the limit here, before it allocates.

/// Bounds on what readers and writers will buffer or walk.
///
/// The defaults suit an upload service: generous for real metadata, small enough that a crafted
/// file cannot exhaust memory or time. All readers take a `&Limits`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Largest metadata structure (chunk, segment, box, packet) buffered in memory, in bytes.
    pub max_metadata_bytes: u64,
    /// Largest inflated size of a compressed metadata structure (zTXt, compressed iTXt).
    pub max_inflated_bytes: u64,
    /// Largest label text (the JSON) accepted, in bytes.
    pub max_label_bytes: u64,
    /// Most label copies reported for one file; past this the reader stops collecting.
    pub max_copies: usize,
    /// Deepest nesting of containers, XML elements or JSON values walked.
    pub max_depth: usize,
    /// Most structures (chunks, segments, boxes) walked in one file.
    pub max_structures: u64,
    /// Bytes a carrier may read per seek it makes (about one per structure) beyond its share
    /// of the file. The read budget of an inspection is the file's size, plus
    /// [`Limits::max_metadata_bytes`] (room to read a metadata structure again), plus this per
    /// seek; a write may read the file twice (once to check it, once to copy it). Enough to
    /// read around each structure, too little to re-read the file per structure: past it the
    /// pass stops with [`crate::Error::Limit`], so a carrier bug cannot become unbounded work.
    pub read_slack_per_seek: u64,
    /// Room a write that has to grow the metadata leaves for later labels (padding in FLAC
    /// and ID3v2 tags (MP3, AIFF), a `JUNK` chunk after a WAV file's `AIGC` chunk, a `free`
    /// box in an MP4's label `meta` box, a `Void` in a Matroska file's label `Tags` element), in
    /// bytes: a platform's propagation fields and signature then fit in
    /// place, and an update writes about the label's size instead of the whole file. 0 leaves
    /// none.
    pub label_room: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_metadata_bytes: 16 << 20,
            max_inflated_bytes: 16 << 20,
            max_label_bytes: 64 << 10,
            max_copies: 64,
            max_depth: 32,
            max_structures: 1 << 20,
            read_slack_per_seek: 64,
            label_room: 4 << 10,
        }
    }
}

impl Limits {
    /// Checks a declared metadata size against [`Limits::max_metadata_bytes`].
    ///
    /// # Errors
    /// [`crate::Error::Limit`] when `len` is over the limit.
    pub fn check_metadata(&self, format: &'static str, offset: u64, len: u64) -> crate::Result<()> {
        if len > self.max_metadata_bytes {
            return Err(crate::Error::Limit {
                format,
                offset,
                what: "metadata size",
                found: len,
                limit: self.max_metadata_bytes,
            });
        }
        Ok(())
    }
}
