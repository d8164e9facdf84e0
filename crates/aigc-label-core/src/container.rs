//! The container layer: each container walker written once, and the pieces every walker shares.
//!
//! Formats are thin adapters over these walkers: an MP4, a HEIF image and a trace scanner walk
//! the same ISO-BMFF boxes through [`bmff`]. A walker reports what the bytes declare (a box's
//! claimed end past its parent, a size of zero) and leaves the policy to the format (cut the box
//! at the end of the file, or refuse it), since formats differ there; what they share (decoding
//! a header, bounds, the structure budget) lives here once.
//!
//! Every walker is bounded by type: a child walker is made from its parent and a header the
//! parent returned, and never reads past the end of that header's box, however the bytes lie.

pub mod bmff;
mod budget;

pub use budget::{Budget, check_depth};

/// A four-character code for messages: printable ASCII kept, anything else shown as `?`.
pub fn fourcc(code: [u8; 4]) -> String {
    code.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '?'
            }
        })
        .collect()
}
