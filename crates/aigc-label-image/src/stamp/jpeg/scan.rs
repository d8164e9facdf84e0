//! Entropy decoding and encoding of one scan (ITU T.81 annex F for sequential scans, annex G for
//! progressive ones: DC first and refinement, AC first with end-of-band runs, AC refinement with
//! correction bits), at the coefficient level.
//!
//! Encoding goes to a [`Sink`]: a counter, to check the file's Huffman tables still code every
//! symbol (and build new ones when not), or the bit writer. Both see the same symbols, so the
//! tables fit the output exactly. Re-encoding unchanged coefficients with the file's tables gives
//! the file's own bits; end-of-band runs may regroup around redrawn blocks, which changes bits
//! but no coefficient.

use aigc_label_core::{Error, Result};

use super::huffman::{BitReader, BitWriter, Decoder, Table, category, magnitude_bits};
use super::{Frame, Geometry, Scan};

fn bad(offset: usize, what: &str) -> Error {
    Error::malformed("jpeg", offset as u64, format!("scan data: {what}"))
}

/// The longest end-of-band run a symbol codes (libjpeg's limit, 2^15 - 1).
const MAX_EOBRUN: u32 = 0x7FFF;

/// Correction bits buffered for an end-of-band run before they are flushed (libjpeg's bound).
const MAX_CORRECTION_BITS: usize = 1000 - 63;

/// Decodes `scan` (entropy-coded restart intervals `parts`) into `frame`'s coefficients.
pub(super) fn decode(frame: &mut Frame, scan: &Scan, parts: &[&[u8]], decoders: &[Decoder]) -> Result<()> {
    let offset = scan.data.start;
    let geometry = frame.geometry();
    let per = if scan.restart_interval == 0 {
        usize::MAX
    } else {
        scan.restart_interval
    };
    let table = |t: Option<usize>| {
        t.and_then(|t| decoders.get(t))
            .ok_or_else(|| bad(offset, "Huffman table"))
    };
    let (ss, se, ah, al) = (scan.ss, scan.se, scan.ah, scan.al);
    let (p1, m1) = (1i32 << al, -1i32 << al);
    let mut reader = BitReader::new(parts.first().copied().unwrap_or_default());
    let mut pred = [0i32; 4];
    let mut eobrun = 0u32;
    let mut interval = 0;
    geometry.each_block(scan, |sc, block, mcu| {
        if mcu / per != interval {
            interval = mcu / per;
            reader = BitReader::new(parts.get(interval).copied().unwrap_or_default());
            pred = [0; 4];
            eobrun = 0;
        }
        let &(c, dc, ac) = scan.components.get(sc).ok_or_else(|| bad(offset, "component"))?;
        let coefficients = frame
            .components
            .get_mut(c)
            .and_then(|comp| comp.blocks.get_mut(block))
            .ok_or_else(|| bad(offset, "block index"))?;
        let set = |slot: &mut i16, v: i32| *slot = v.clamp(-32767, 32767) as i16;
        if ss == 0 {
            // DC (and, in a sequential scan, the AC coefficients after it).
            if ah == 0 {
                let s = reader.symbol(table(dc)?)?;
                pred[sc] += reader.value(s)?;
                set(&mut coefficients[0], pred[sc].wrapping_shl(al));
            } else if reader.read(1)? == 1 {
                let v = i32::from(coefficients[0]) | p1;
                set(&mut coefficients[0], v);
            }
            if se == 0 {
                return Ok(());
            }
        }
        let start = ss.max(1);
        if ah == 0 {
            // AC first pass (or sequential AC: ss = 0, se = 63, no runs past the block).
            if eobrun > 0 {
                eobrun -= 1;
                return Ok(());
            }
            let ac = table(ac)?;
            let mut k = start;
            while k <= se {
                let rs = reader.symbol(ac)?;
                let (r, s) = (usize::from(rs >> 4), rs & 15);
                if s == 0 {
                    if r == 15 {
                        k += 16;
                        continue;
                    }
                    if ss == 0 && r != 0 {
                        return Err(bad(offset, "end-of-band run in a sequential scan"));
                    }
                    eobrun = (1u32 << r) - 1 + reader.read(r as u32)?;
                    break;
                }
                k += r;
                if k > se {
                    return Err(bad(offset, "coefficient past the band"));
                }
                set(&mut coefficients[k], reader.value(s)?.wrapping_shl(al));
                k += 1;
            }
            return Ok(());
        }
        // AC refinement.
        let mut k = start;
        let correct = |reader: &mut BitReader<'_>, coefficient: &mut i16| -> Result<()> {
            if reader.read(1)? == 1 && i32::from(*coefficient) & p1 == 0 {
                let v = i32::from(*coefficient);
                set(coefficient, if v >= 0 { v + p1 } else { v + m1 });
            }
            Ok(())
        };
        if eobrun == 0 {
            let ac = table(ac)?;
            while k <= se {
                let rs = reader.symbol(ac)?;
                let (mut r, s) = (i32::from(rs >> 4), rs & 15);
                let mut value = 0;
                if s != 0 {
                    if s != 1 {
                        return Err(bad(offset, "refinement value size"));
                    }
                    value = if reader.read(1)? == 1 { p1 } else { m1 };
                } else if r != 15 {
                    eobrun = (1u32 << r) + reader.read(r as u32)?;
                    break;
                }
                while k <= se {
                    if coefficients[k] != 0 {
                        correct(&mut reader, &mut coefficients[k])?;
                    } else {
                        r -= 1;
                        if r < 0 {
                            break;
                        }
                    }
                    k += 1;
                }
                if value != 0 {
                    let slot = coefficients
                        .get_mut(k)
                        .ok_or_else(|| bad(offset, "coefficient past the band"))?;
                    set(slot, value);
                }
                k += 1;
            }
        }
        if eobrun > 0 {
            while k <= se {
                if coefficients[k] != 0 {
                    correct(&mut reader, &mut coefficients[k])?;
                }
                k += 1;
            }
            eobrun -= 1;
        }
        Ok(())
    })
}

/// Where encoded symbols and bits go.
pub(super) trait Sink {
    /// A Huffman symbol of table definition `table`.
    fn symbol(&mut self, table: usize, symbol: u8);
    /// `n` raw bits (the low bits of `value`).
    fn bits(&mut self, value: u32, n: u32);
    /// The end of restart interval `index` (0-based): pad and write `RSTn`.
    fn restart(&mut self, index: u32);
}

/// Counts symbols per table definition.
pub(super) struct Counter<'a>(pub &'a mut [[u64; 256]]);

impl Sink for Counter<'_> {
    fn symbol(&mut self, table: usize, symbol: u8) {
        if let Some(f) = self.0.get_mut(table) {
            f[usize::from(symbol)] += 1;
        }
    }
    fn bits(&mut self, _: u32, _: u32) {}
    fn restart(&mut self, _: u32) {}
}

/// Writes entropy-coded data with the tables' codes.
pub(super) struct Writer {
    codes: Vec<[(u16, u8); 256]>,
    pub out: BitWriter,
    /// Set when a symbol had no code (the output is then unusable).
    pub missing: bool,
}

impl Writer {
    pub fn new(tables: &[Table]) -> Self {
        Writer {
            codes: tables.iter().map(Table::codes).collect(),
            out: BitWriter::new(),
            missing: false,
        }
    }
}

impl Sink for Writer {
    fn symbol(&mut self, table: usize, symbol: u8) {
        match self.codes.get(table).map(|t| t[usize::from(symbol)]) {
            Some((code, len)) if len > 0 => self.out.write(u32::from(code), u32::from(len)),
            _ => self.missing = true,
        }
    }
    fn bits(&mut self, value: u32, n: u32) {
        self.out.write(value, n);
    }
    fn restart(&mut self, index: u32) {
        self.out.restart(index);
    }
}

/// End-of-band run state of an AC scan, with the refinement bits waiting for it.
struct Runs {
    eobrun: u32,
    pending: Vec<bool>,
    table: usize,
}

impl Runs {
    fn flush(&mut self, sink: &mut dyn Sink) {
        if self.eobrun > 0 {
            let n = u32::from(category(self.eobrun as i32)) - 1;
            sink.symbol(self.table, (n << 4) as u8);
            sink.bits(self.eobrun, n);
            self.eobrun = 0;
            for &b in &self.pending {
                sink.bits(u32::from(b), 1);
            }
            self.pending.clear();
        }
    }
}

/// Encodes `scan` from `frame`'s coefficients into `sink`.
pub(super) fn encode(frame: &Frame, geometry: &Geometry, scan: &Scan, sink: &mut dyn Sink) -> Result<()> {
    let per = if scan.restart_interval == 0 {
        usize::MAX
    } else {
        scan.restart_interval
    };
    let (ss, se, ah, al) = (scan.ss, scan.se, scan.ah, scan.al);
    let ac_table = scan.components.first().and_then(|c| c.2).unwrap_or(0);
    let mut runs = Runs {
        eobrun: 0,
        pending: Vec::new(),
        table: ac_table,
    };
    let mut pred = [0i32; 4];
    let mut interval = 0;
    let mut correction: Vec<bool> = Vec::with_capacity(64);
    geometry.each_block(scan, |sc, block, mcu| {
        if mcu / per != interval {
            interval = mcu / per;
            runs.flush(sink);
            sink.restart(interval as u32 - 1);
            pred = [0; 4];
        }
        let Some(&(c, dc, ac)) = scan.components.get(sc) else {
            return Ok(());
        };
        let Some(b) = frame.components.get(c).and_then(|comp| comp.blocks.get(block)) else {
            return Ok(());
        };
        if ss == 0 {
            if ah == 0 {
                let value = i32::from(b[0]) >> al;
                let diff = value - pred[sc];
                pred[sc] = value;
                let size = category(diff);
                sink.symbol(dc.unwrap_or(0), size);
                sink.bits(magnitude_bits(diff), u32::from(size));
            } else {
                sink.bits(((i32::from(b[0]) >> al) & 1) as u32, 1);
            }
            if se == 0 {
                return Ok(());
            }
        }
        let ac = ac.unwrap_or(0);
        let start = ss.max(1);
        if ah == 0 {
            // First pass (sequential: the whole block, its own EOB).
            let mut r = 0u32;
            for &coefficient in &b[start..=se] {
                let v = i32::from(coefficient);
                let magnitude = v.unsigned_abs() >> al;
                if magnitude == 0 {
                    r += 1;
                    continue;
                }
                runs.flush(sink);
                while r > 15 {
                    sink.symbol(ac, 0xF0);
                    r -= 16;
                }
                let m = magnitude as i32;
                let shifted = if v < 0 { -m } else { m };
                let size = category(shifted);
                sink.symbol(ac, ((r << 4) as u8) | size);
                sink.bits(magnitude_bits(shifted), u32::from(size));
                r = 0;
            }
            if r > 0 {
                if ss == 0 {
                    sink.symbol(ac, 0);
                } else {
                    runs.eobrun += 1;
                    if runs.eobrun == MAX_EOBRUN {
                        runs.flush(sink);
                    }
                }
            }
            return Ok(());
        }
        // Refinement: newly non-zero coefficients are coded, older ones send a correction bit.
        let magnitudes: Vec<u32> = b[start..=se]
            .iter()
            .map(|&v| i32::from(v).unsigned_abs() >> al)
            .collect();
        let last_new = magnitudes.iter().rposition(|&m| m == 1);
        let mut r = 0u32;
        correction.clear();
        for (i, &m) in magnitudes.iter().enumerate() {
            if m == 0 {
                r += 1;
                continue;
            }
            while r > 15 && last_new.is_some_and(|e| i <= e) {
                runs.flush(sink);
                sink.symbol(ac, 0xF0);
                r -= 16;
                for &bit in &correction {
                    sink.bits(u32::from(bit), 1);
                }
                correction.clear();
            }
            if m > 1 {
                correction.push(m & 1 == 1);
                continue;
            }
            runs.flush(sink);
            sink.symbol(ac, ((r << 4) as u8) | 1);
            sink.bits(u32::from(b[start + i] >= 0), 1);
            for &bit in &correction {
                sink.bits(u32::from(bit), 1);
            }
            correction.clear();
            r = 0;
        }
        if r > 0 || !correction.is_empty() {
            runs.eobrun += 1;
            runs.pending.append(&mut correction);
            if runs.eobrun == MAX_EOBRUN || runs.pending.len() > MAX_CORRECTION_BITS {
                runs.flush(sink);
            }
        }
        Ok(())
    })?;
    runs.flush(sink);
    Ok(())
}
