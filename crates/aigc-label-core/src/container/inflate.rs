//! Bounded inflate: zlib (PNG text, PDF FlateDecode, HEIF `deflate` items, ID3 compressed frames)
//! and raw deflate (zip) data decompressed in blocks, stopping once more than a limit comes out,
//! so a compression bomb ends at the limit instead of filling memory.

use std::io::Read;

/// How the compressed data is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// A zlib stream (RFC 1950): header, deflate data, Adler-32.
    Zlib,
    /// Raw deflate data (RFC 1951), as zip stores it.
    Raw,
}

/// Why data did not inflate.
#[derive(Debug)]
pub enum InflateError {
    /// The data is not a valid stream of its kind.
    Corrupt(std::io::Error),
    /// More than the limit came out; `found` is how much had come out when the walk stopped.
    TooLarge {
        /// Bytes out when the inflate stopped (past the limit).
        found: u64,
    },
}

/// Inflates `data`, at most `limit` bytes out.
///
/// # Errors
/// [`InflateError::Corrupt`] for data that does not inflate; [`InflateError::TooLarge`] past
/// `limit` (or when memory for the output cannot be had).
pub fn inflate(data: &[u8], stream: Stream, limit: u64) -> Result<Vec<u8>, InflateError> {
    match stream {
        Stream::Zlib => read_bounded(&mut flate2::read::ZlibDecoder::new(data), limit),
        Stream::Raw => read_bounded(&mut flate2::read::DeflateDecoder::new(data), limit),
    }
}

fn read_bounded(reader: &mut dyn Read, limit: u64) -> Result<Vec<u8>, InflateError> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 << 10];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(out),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(InflateError::Corrupt(e)),
        };
        let found = out.len() as u64 + n as u64;
        if found > limit {
            return Err(InflateError::TooLarge { found });
        }
        out.try_reserve(n).map_err(|_| InflateError::TooLarge { found })?;
        out.extend_from_slice(buf.get(..n).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(data).unwrap();
        z.finish().unwrap()
    }

    #[test]
    fn inflates_within_the_limit_and_stops_past_it() {
        let bomb = zlib(&vec![0u8; 100_000]);
        assert_eq!(inflate(&bomb, Stream::Zlib, 100_000).unwrap().len(), 100_000);
        assert!(matches!(
            inflate(&bomb, Stream::Zlib, 1000),
            Err(InflateError::TooLarge { found }) if found > 1000
        ));
        assert!(matches!(
            inflate(b"garbage", Stream::Zlib, 1000),
            Err(InflateError::Corrupt(_))
        ));
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        raw.write_all(b"abc").unwrap();
        assert_eq!(inflate(&raw.finish().unwrap(), Stream::Raw, 3).unwrap(), b"abc");
    }
}
