//! Huffman coding of JPEG scans (ITU T.81 annex C and F): tables from DHT segments, a bit reader
//! that unstuffs `FF 00` and stops at markers, a bit writer that stuffs, and optimal tables
//! (annex K.2) for when a redrawn block needs a symbol the file's own table lacks.

use aigc_label_core::{Error, Result};

/// One Huffman table as a DHT segment defines it: code counts per length and the symbols.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Table {
    /// `bits[i]`: number of codes of length `i + 1`.
    pub bits: [u8; 16],
    /// Symbols in code order.
    pub values: Vec<u8>,
}

impl Table {
    /// Parses one table body (after the class/id byte); returns it and the bytes it used.
    pub fn parse(data: &[u8]) -> Option<(Table, usize)> {
        let bits: [u8; 16] = data.get(..16)?.try_into().ok()?;
        let n: usize = bits.iter().map(|&b| usize::from(b)).sum();
        if n > 256 {
            return None;
        }
        let values = data.get(16..16 + n)?.to_vec();
        Some((Table { bits, values }, 16 + n))
    }

    /// The table body as a DHT segment holds it.
    pub fn serialise(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.bits);
        out.extend_from_slice(&self.values);
    }

    /// `(code, length)` per symbol (length 0: no code), annex C.
    pub fn codes(&self) -> [(u16, u8); 256] {
        let mut codes = [(0u16, 0u8); 256];
        let mut code = 0u32;
        let mut k = 0usize;
        for (len, &count) in (1u8..=16).zip(&self.bits) {
            for _ in 0..count {
                if let Some(&symbol) = self.values.get(k) {
                    codes[usize::from(symbol)] = (code as u16, len);
                }
                code += 1;
                k += 1;
            }
            code <<= 1;
        }
        codes
    }
}

/// Fast decoding: symbols of codes up to `LOOKUP` bits found by one table look-up, longer ones by
/// the canonical `max_code` walk.
const LOOKUP: u32 = 9;

/// A table ready for decoding.
pub(super) struct Decoder {
    /// Indexed by the next `LOOKUP` bits: (length, symbol), length 0 when the code is longer.
    fast: Vec<(u8, u8)>,
    /// Largest code of each length (-1: none), and the index of its first symbol.
    max_code: [i32; 17],
    val_offset: [i32; 17],
    values: Vec<u8>,
}

impl Decoder {
    pub fn new(table: &Table) -> Result<Decoder> {
        let mut fast = vec![(0u8, 0u8); 1 << LOOKUP];
        let mut max_code = [-1i32; 17];
        let mut val_offset = [0i32; 17];
        let mut code = 0i32;
        let mut k = 0i32;
        for len in 1..=16usize {
            let count = i32::from(table.bits[len - 1]);
            val_offset[len] = k - code;
            for _ in 0..count {
                let symbol = *table.values.get(k as usize).ok_or_else(|| bad("Huffman table"))?;
                if len as u32 <= LOOKUP {
                    let shift = LOOKUP - len as u32;
                    let first = (code as usize) << shift;
                    for entry in fast
                        .get_mut(first..first + (1 << shift))
                        .ok_or_else(|| bad("Huffman table"))?
                    {
                        *entry = (len as u8, symbol);
                    }
                }
                code += 1;
                k += 1;
            }
            if count > 0 {
                max_code[len] = code - 1;
            }
            if code > 1 << len {
                return Err(bad("Huffman table with too many codes"));
            }
            code <<= 1;
        }
        Ok(Decoder {
            fast,
            max_code,
            val_offset,
            values: table.values.clone(),
        })
    }
}

fn bad(what: &str) -> Error {
    Error::malformed("jpeg", 0, format!("scan data: bad {what}"))
}

/// Reads bits from one restart interval of entropy-coded data, removing stuffed zero bytes; at
/// the end it supplies zero bits, and too many of them is an error.
pub(super) struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u64,
    bits: u32,
    /// Zero bits supplied past a marker or the end; a scan that consumes many is corrupt.
    padding: u32,
}

impl<'a> BitReader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        BitReader {
            data,
            pos: 0,
            acc: 0,
            bits: 0,
            padding: 0,
        }
    }

    fn refill(&mut self) {
        while self.bits <= 56 {
            let byte = match self.data.get(self.pos) {
                Some(0xFF) => match self.data.get(self.pos + 1) {
                    Some(0x00) => {
                        self.pos += 2;
                        0xFF
                    }
                    _ => {
                        self.padding += 8;
                        0
                    }
                },
                Some(&b) => {
                    self.pos += 1;
                    b
                }
                None => {
                    self.padding += 8;
                    0
                }
            };
            self.acc |= u64::from(byte) << (56 - self.bits);
            self.bits += 8;
        }
    }

    fn check_padding(&self) -> Result<()> {
        // Up to a few bytes of zero fill are normal at the very end; more means the data ran out.
        if self.padding > 64 + 64 {
            return Err(bad("scan: data ends inside a block"));
        }
        Ok(())
    }

    /// Reads `n` (<= 16) bits.
    pub fn read(&mut self, n: u32) -> Result<u32> {
        if n == 0 {
            return Ok(0);
        }
        if self.bits < n {
            self.refill();
            self.check_padding()?;
        }
        let v = (self.acc >> (64 - n)) as u32;
        self.acc <<= n;
        self.bits -= n;
        Ok(v)
    }

    /// Decodes one symbol.
    pub fn symbol(&mut self, table: &Decoder) -> Result<u8> {
        if self.bits < 16 {
            self.refill();
            self.check_padding()?;
        }
        let peek = (self.acc >> (64 - LOOKUP)) as usize;
        if let Some(&(len, symbol)) = table.fast.get(peek)
            && len != 0
        {
            self.acc <<= len;
            self.bits -= u32::from(len);
            return Ok(symbol);
        }
        for len in LOOKUP as usize + 1..=16 {
            let code = (self.acc >> (64 - len)) as i32;
            if code <= table.max_code[len] {
                self.acc <<= len;
                self.bits -= len as u32;
                let index = code + table.val_offset[len];
                return usize::try_from(index)
                    .ok()
                    .and_then(|i| table.values.get(i).copied())
                    .ok_or_else(|| bad("Huffman code"));
            }
        }
        Err(bad("Huffman code"))
    }

    /// Reads `n` bits as a signed coefficient value (annex F.2.2.1, EXTEND).
    pub fn value(&mut self, n: u8) -> Result<i32> {
        if n > 16 {
            return Err(bad("coefficient size"));
        }
        let v = self.read(u32::from(n))? as i32;
        Ok(if n > 0 && v < 1 << (n - 1) { v - (1 << n) + 1 } else { v })
    }
}

/// Writes bits with `FF 00` stuffing.
pub(super) struct BitWriter {
    pub out: Vec<u8>,
    acc: u32,
    bits: u32,
}

impl BitWriter {
    pub fn new() -> Self {
        BitWriter {
            out: Vec::new(),
            acc: 0,
            bits: 0,
        }
    }

    /// Writes the low `n` (<= 16) bits of `v`.
    pub fn write(&mut self, v: u32, n: u32) {
        if n == 0 {
            return;
        }
        self.acc = (self.acc << n) | (v & ((1 << n) - 1));
        self.bits += n;
        while self.bits >= 8 {
            let byte = (self.acc >> (self.bits - 8)) as u8;
            self.out.push(byte);
            if byte == 0xFF {
                self.out.push(0);
            }
            self.bits -= 8;
        }
        self.acc &= (1 << self.bits) - 1;
    }

    /// Pads the last byte with one bits (annex F.1.2.3).
    pub fn flush(&mut self) {
        if self.bits > 0 {
            let n = 8 - self.bits;
            self.write((1 << n) - 1, n);
        }
    }

    /// Pads and writes restart marker `RSTn`, `n = index % 8`.
    pub fn restart(&mut self, index: u32) {
        self.flush();
        self.out.push(0xFF);
        self.out.push(0xD0 + (index % 8) as u8);
    }
}

/// Number of bits of `v`'s magnitude (the JPEG "size" category).
pub(super) fn category(v: i32) -> u8 {
    (32 - v.unsigned_abs().leading_zeros()) as u8
}

/// The bits that follow a size category: `v` for positive values, `v - 1` (one's complement)
/// for negative ones.
pub(super) fn magnitude_bits(v: i32) -> u32 {
    if v < 0 { (v - 1) as u32 } else { v as u32 }
}

/// The optimal table for symbol frequencies `freq`, code lengths limited to 16 bits and the
/// all-ones code left unused (ITU T.81 annex K.2).
pub(super) fn optimal(freq: &[u64; 256]) -> Table {
    // 257 entries: symbol 256 is the reserved one, frequency 1, so no real code is all ones.
    let mut f: Vec<u64> = freq.to_vec();
    f.push(1);
    let mut size = [0usize; 257];
    let mut others = [-1i32; 257];
    loop {
        // The two least frequent non-zero entries, v1 the larger index on ties (as K.2 says).
        let mut v1: Option<usize> = None;
        for i in 0..257 {
            if f[i] > 0 && v1.is_none_or(|v| f[i] <= f[v]) {
                v1 = Some(i);
            }
        }
        let Some(v1) = v1 else { break };
        let mut v2: Option<usize> = None;
        for i in 0..257 {
            if f[i] > 0 && i != v1 && v2.is_none_or(|v| f[i] <= f[v]) {
                v2 = Some(i);
            }
        }
        let Some(v2) = v2 else { break };
        f[v1] += f[v2];
        f[v2] = 0;
        let mut a = v1;
        size[a] += 1;
        while others[a] >= 0 {
            a = others[a] as usize;
            size[a] += 1;
        }
        others[a] = v2 as i32;
        let mut b = v2;
        size[b] += 1;
        while others[b] >= 0 {
            b = others[b] as usize;
            size[b] += 1;
        }
    }
    let mut bits = [0usize; 33];
    for &s in &size {
        if s > 0 {
            bits[s.min(32)] += 1;
        }
    }
    // Limit lengths to 16 (K.2, figure K.3).
    let mut i = 32;
    while i > 16 {
        while bits[i] > 0 {
            let mut j = i - 2;
            while bits[j] == 0 {
                j -= 1;
            }
            bits[i] -= 2;
            bits[i - 1] += 1;
            bits[j + 1] += 2;
            bits[j] -= 1;
        }
        i -= 1;
    }
    // Remove the reserved code (the longest).
    while i > 0 && bits[i] == 0 {
        i -= 1;
    }
    if i > 0 {
        bits[i] -= 1;
    }
    let mut values = Vec::new();
    for len in 1..=32 {
        for (symbol, &s) in size.iter().enumerate().take(256) {
            if s == len {
                values.push(symbol as u8);
            }
        }
    }
    let mut counts = [0u8; 16];
    for (c, &b) in counts.iter_mut().zip(&bits[1..=16]) {
        *c = b as u8;
    }
    Table { bits: counts, values }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimal_tables_round_trip_and_reserve_all_ones() {
        let mut freq = [0u64; 256];
        for (i, f) in freq.iter_mut().enumerate().take(200) {
            *f = 1 + (i as u64 * 7919) % 1000 * (i as u64 % 5).pow(6);
        }
        let table = optimal(&freq);
        let codes = table.codes();
        for (s, &(code, len)) in codes.iter().enumerate() {
            assert_eq!(len > 0, freq[s] > 0, "symbol {s}");
            assert!(len <= 16);
            if len > 0 {
                assert_ne!(u32::from(code), (1u32 << len) - 1, "all-ones code used");
            }
        }
        let decoder = Decoder::new(&table).unwrap();
        let mut w = BitWriter::new();
        for (s, &(code, len)) in codes.iter().enumerate().take(200) {
            w.write(u32::from(code), u32::from(len));
            w.write(s as u32 & 3, 2);
        }
        w.flush();
        let mut r = BitReader::new(&w.out);
        for s in 0..200usize {
            assert_eq!(usize::from(r.symbol(&decoder).unwrap()), s);
            assert_eq!(r.read(2).unwrap(), s as u32 & 3);
        }
    }

    #[test]
    fn categories_and_values() {
        for v in [-1025, -255, -2, -1, 1, 2, 7, 8, 255, 2047] {
            let n = category(v);
            let mut w = BitWriter::new();
            w.write(magnitude_bits(v), u32::from(n));
            w.flush();
            assert_eq!(BitReader::new(&w.out).value(n).unwrap(), v);
        }
        assert_eq!(category(0), 0);
    }

    #[test]
    fn a_corrupt_scan_is_an_error_not_a_panic() {
        let table = Table {
            bits: [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            values: vec![3],
        };
        let d = Decoder::new(&table).unwrap();
        // "11" is no code of this table.
        assert!(BitReader::new(&[0xC0, 0, 0]).symbol(&d).is_err());
        // Past the end, zero bits decode for a while ("00" is a code) and then stop.
        let mut r = BitReader::new(&[]);
        assert!((0..200).map(|_| r.symbol(&d)).any(|s| s.is_err()));
        let too_many = Table {
            bits: [3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            values: vec![1, 2, 3],
        };
        assert!(Decoder::new(&too_many).is_err());
    }
}
