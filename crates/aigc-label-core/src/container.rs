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
mod drains;
mod exclusions;
#[cfg(feature = "inflate")]
pub mod inflate;
pub mod jpeg;
pub mod png;
pub mod riff;
pub mod tiff;
pub mod xmp_plan;

pub use budget::{Budget, check_depth};
pub use drains::Drains;
pub use exclusions::Exclusions;

/// The byte order of a container's numbers: RIFF and TIFF `II` are little-endian, IFF `FORM`,
/// TIFF `MM` and ISO-BMFF big-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Least significant byte first.
    Little,
    /// Most significant byte first.
    Big,
}

impl Order {
    /// A 32-bit number (a size field) in this byte order.
    #[inline]
    pub fn size_bytes(self, size: u32) -> [u8; 4] {
        match self {
            Order::Big => size.to_be_bytes(),
            Order::Little => size.to_le_bytes(),
        }
    }

    /// Reads a 32-bit number (a size field) in this byte order.
    #[inline]
    pub fn read_size(self, b: [u8; 4]) -> u32 {
        match self {
            Order::Big => u32::from_be_bytes(b),
            Order::Little => u32::from_le_bytes(b),
        }
    }
}

/// A four-character code for messages: printable ASCII kept, anything else shown as `?`.
#[inline]
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
