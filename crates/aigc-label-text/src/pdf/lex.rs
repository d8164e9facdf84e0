//! PDF objects from bytes (ISO 32000-1 §7.2-7.3): a tokenizer and a depth-bounded object parser
//! that never indexes out of bounds and says whether it failed on bad syntax or ran out of bytes
//! (so the caller can read a larger window and try again).

use std::ops::Range;

/// A parsed PDF object. Numbers keep their text: the reader only needs integers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Obj {
    Null,
    Bool(bool),
    Int(i64),
    Real,
    Name(Vec<u8>),
    Str(Vec<u8>),
    Array(Vec<Obj>),
    Dict(Dict),
    Ref(u32, u16),
}

impl Obj {
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Obj::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Obj::Dict(d) => Some(d),
            _ => None,
        }
    }

    pub fn as_name(&self) -> Option<&[u8]> {
        match self {
            Obj::Name(n) => Some(n),
            _ => None,
        }
    }
}

/// A dictionary: entries in file order, each with the byte range of its value in the parsed
/// buffer, so an entry can be copied into a new dictionary exactly as it was written.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Dict {
    pub entries: Vec<(Vec<u8>, Obj, Range<usize>)>,
}

impl Dict {
    /// The first value of key `name` (without the slash).
    pub fn get(&self, name: &[u8]) -> Option<&Obj> {
        self.entries.iter().find(|(k, _, _)| k == name).map(|(_, v, _)| v)
    }

    /// The value of `name`, or `None` when it is missing or `null`.
    pub fn get_some(&self, name: &[u8]) -> Option<&Obj> {
        self.get(name).filter(|v| **v != Obj::Null)
    }

    pub fn int(&self, name: &[u8]) -> Option<i64> {
        self.get(name).and_then(Obj::as_int)
    }
}

/// Why parsing stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LexError {
    /// The buffer ended inside a token or object; more bytes may complete it.
    Eof,
    /// The bytes are not PDF syntax here.
    Bad(&'static str),
}

pub(crate) type LexResult<T> = Result<T, LexError>;

pub(crate) fn is_white(b: u8) -> bool {
    matches!(b, 0 | b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

pub(crate) fn is_delim(b: u8) -> bool {
    matches!(b, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%')
}

fn is_regular(b: u8) -> bool {
    !is_white(b) && !is_delim(b)
}

/// A cursor over a buffer of PDF syntax.
pub(crate) struct Lexer<'a> {
    data: &'a [u8],
    pub pos: usize,
    max_depth: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(data: &'a [u8], pos: usize, max_depth: usize) -> Self {
        Lexer { data, pos, max_depth }
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// The next byte, if any.
    pub fn peek_byte(&self) -> Option<u8> {
        self.peek()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.data.get(self.pos.checked_add(ahead)?).copied()
    }

    /// Skips white space and comments.
    pub fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            if is_white(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(c) = self.peek() {
                    if c == b'\n' || c == b'\r' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// A run of regular characters (a keyword or number), without moving past it when it is not
    /// complete (the buffer ends right after it).
    fn regular_run(&self) -> LexResult<&'a [u8]> {
        let rest = self.data.get(self.pos..).ok_or(LexError::Eof)?;
        let len = rest.iter().take_while(|&&b| is_regular(b)).count();
        if len == rest.len() {
            return Err(LexError::Eof);
        }
        rest.get(..len).ok_or(LexError::Eof)
    }

    /// Consumes keyword `word` if it comes next (after white space).
    pub fn keyword(&mut self, word: &[u8]) -> LexResult<bool> {
        self.skip_ws();
        if self.peek().is_none() {
            return Err(LexError::Eof);
        }
        let run = self.regular_run()?;
        if run == word {
            self.pos += run.len();
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Reads an unsigned integer token.
    pub fn uint(&mut self) -> LexResult<u64> {
        self.skip_ws();
        let run = self.regular_run()?;
        if run.is_empty() || !run.iter().all(u8::is_ascii_digit) || run.len() > 19 {
            return Err(LexError::Bad("expected an unsigned integer"));
        }
        let v = std::str::from_utf8(run)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(LexError::Bad("integer out of range"))?;
        self.pos += run.len();
        Ok(v)
    }

    /// Reads `N G obj`, returning the object number and generation.
    pub fn object_header(&mut self) -> LexResult<(u32, u16)> {
        let num = self.uint()?;
        let gen_ = self.uint()?;
        if !self.keyword(b"obj")? {
            return Err(LexError::Bad("expected 'obj'"));
        }
        let num = u32::try_from(num).map_err(|_| LexError::Bad("object number out of range"))?;
        let gen_ = u16::try_from(gen_).map_err(|_| LexError::Bad("generation out of range"))?;
        Ok((num, gen_))
    }

    /// Parses one object.
    pub fn object(&mut self) -> LexResult<Obj> {
        self.object_at_depth(0)
    }

    fn object_at_depth(&mut self, depth: usize) -> LexResult<Obj> {
        if depth >= self.max_depth {
            return Err(LexError::Bad("objects nested deeper than the limit"));
        }
        self.skip_ws();
        let b = self.peek().ok_or(LexError::Eof)?;
        match b {
            b'/' => {
                self.pos += 1;
                self.name().map(Obj::Name)
            }
            b'(' => self.literal_string().map(Obj::Str),
            b'<' if self.peek_at(1) == Some(b'<') => self.dict(depth).map(Obj::Dict),
            b'<' => self.hex_string().map(Obj::Str),
            b'[' => self.array(depth),
            b'0'..=b'9' | b'+' | b'-' | b'.' => self.number_or_ref(),
            _ => {
                let run = self.regular_run()?;
                let obj = match run {
                    b"true" => Obj::Bool(true),
                    b"false" => Obj::Bool(false),
                    b"null" => Obj::Null,
                    _ => return Err(LexError::Bad("unexpected token")),
                };
                self.pos += run.len();
                Ok(obj)
            }
        }
    }

    /// A name after its slash, with `#xx` escapes decoded.
    fn name(&mut self) -> LexResult<Vec<u8>> {
        let rest = self.data.get(self.pos..).ok_or(LexError::Eof)?;
        let len = rest.iter().take_while(|&&b| is_regular(b)).count();
        if len == rest.len() {
            return Err(LexError::Eof);
        }
        let raw = rest.get(..len).ok_or(LexError::Eof)?;
        self.pos += len;
        let mut out = Vec::with_capacity(raw.len());
        let mut i = 0;
        while let Some(&b) = raw.get(i) {
            let hex = (b == b'#')
                .then(|| raw.get(i + 1..i + 3))
                .flatten()
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(v) => {
                    out.push(v);
                    i += 3;
                }
                None => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        Ok(out)
    }

    fn literal_string(&mut self) -> LexResult<Vec<u8>> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut nesting = 1usize;
        loop {
            let b = self.peek().ok_or(LexError::Eof)?;
            self.pos += 1;
            match b {
                b'(' => {
                    nesting += 1;
                    out.push(b);
                }
                b')' => {
                    nesting -= 1;
                    if nesting == 0 {
                        return Ok(out);
                    }
                    out.push(b);
                }
                b'\\' => {
                    let e = self.peek().ok_or(LexError::Eof)?;
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        other => out.push(other),
                    }
                }
                b'\r' => {
                    // An end-of-line in a string is read as a single line feed (§7.3.4.2).
                    if self.peek() == Some(b'\n') {
                        self.pos += 1;
                    }
                    out.push(b'\n');
                }
                other => out.push(other),
            }
        }
    }

    fn hex_string(&mut self) -> LexResult<Vec<u8>> {
        self.pos += 1;
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        loop {
            let b = self.peek().ok_or(LexError::Eof)?;
            self.pos += 1;
            if b == b'>' {
                if let Some(h) = high {
                    out.push(h << 4);
                }
                return Ok(out);
            }
            if is_white(b) {
                continue;
            }
            let v = (b as char).to_digit(16).ok_or(LexError::Bad("bad hex string"))? as u8;
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
    }

    fn array(&mut self, depth: usize) -> LexResult<Obj> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(LexError::Eof),
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Obj::Array(items));
                }
                Some(_) => items.push(self.object_at_depth(depth + 1)?),
            }
        }
    }

    fn dict(&mut self, depth: usize) -> LexResult<Dict> {
        self.pos += 2;
        let mut dict = Dict::default();
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(LexError::Eof),
                Some(b'>') => {
                    if self.peek_at(1) == Some(b'>') {
                        self.pos += 2;
                        return Ok(dict);
                    }
                    return if self.peek_at(1).is_none() {
                        Err(LexError::Eof)
                    } else {
                        Err(LexError::Bad("expected '>>'"))
                    };
                }
                Some(b'/') => {
                    self.pos += 1;
                    let key = self.name()?;
                    self.skip_ws();
                    let start = self.pos;
                    let value = self.object_at_depth(depth + 1)?;
                    dict.entries.push((key, value, start..self.pos));
                }
                Some(_) => return Err(LexError::Bad("expected a name as dictionary key")),
            }
        }
    }

    fn number_or_ref(&mut self) -> LexResult<Obj> {
        let run = self.regular_run()?;
        let text = std::str::from_utf8(run).map_err(|_| LexError::Bad("bad number"))?;
        self.pos += run.len();
        let Ok(int) = text.parse::<i64>() else {
            return if text.parse::<f64>().is_ok()
                || text.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+'))
            {
                Ok(Obj::Real)
            } else {
                Err(LexError::Bad("bad number"))
            };
        };
        // `N G R` is a reference: look ahead without committing.
        let save = self.pos;
        if let Some(r) = self.try_ref(int)? {
            return Ok(r);
        }
        self.pos = save;
        Ok(Obj::Int(int))
    }

    /// The rest of a reference `num G R`, or `None` when what follows is not one. Running out
    /// of bytes in the look-ahead is [`LexError::Eof`], not "no reference": a buffer that ends
    /// inside `3 0 R` must be read again with more bytes, or `3` would be taken for an integer
    /// and `0` for the next token (a dictionary key, say) depending on where a window ended.
    fn try_ref(&mut self, num: i64) -> LexResult<Option<Obj>> {
        let Ok(num) = u32::try_from(num) else {
            return Ok(None);
        };
        let gen_ = match self.uint() {
            Ok(g) => g,
            Err(LexError::Eof) => return Err(LexError::Eof),
            Err(LexError::Bad(_)) => return Ok(None),
        };
        let Ok(gen_) = u16::try_from(gen_) else {
            return Ok(None);
        };
        self.skip_ws();
        match self.peek() {
            None => return Err(LexError::Eof),
            Some(b'R') => {}
            Some(_) => return Ok(None),
        }
        match self.peek_at(1) {
            None => return Err(LexError::Eof),
            Some(b) if is_regular(b) => return Ok(None),
            Some(_) => {}
        }
        self.pos += 1;
        Ok(Some(Obj::Ref(num, gen_)))
    }
}

/// Writes `name` as a PDF name token (with its slash), escaping what is not a regular
/// character.
pub(crate) fn write_name(out: &mut Vec<u8>, name: &[u8]) {
    out.push(b'/');
    for &b in name {
        if b.is_ascii_graphic() && !is_delim(b) && b != b'#' {
            out.push(b);
        } else {
            out.extend_from_slice(format!("#{b:02X}").as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &[u8]) -> LexResult<Obj> {
        Lexer::new(s, 0, 32).object()
    }

    #[test]
    fn objects() {
        let src = b"<< /Type /Catalog /Pages 2 0 R /A [1 -2 3.5 (a\\(b\\)\\101) <4142 4> true null] /N#20x 7 >> ";
        let Obj::Dict(d) = parse(src).unwrap() else { panic!() };
        assert_eq!(d.get(b"Type"), Some(&Obj::Name(b"Catalog".to_vec())));
        assert_eq!(d.get(b"Pages"), Some(&Obj::Ref(2, 0)));
        assert_eq!(d.int(b"N x"), Some(7));
        let Some(Obj::Array(a)) = d.get(b"A") else { panic!() };
        assert_eq!(a[3], Obj::Str(b"a(b)A".to_vec()));
        assert_eq!(a[4], Obj::Str(b"AB@".to_vec()));
        let (_, _, range) = &d.entries[1];
        assert_eq!(&src[range.clone()], b"2 0 R");
    }

    #[test]
    fn eof_versus_bad() {
        assert_eq!(parse(b"<< /A (open"), Err(LexError::Eof));
        assert_eq!(parse(b"<< /A 1"), Err(LexError::Eof));
        assert_eq!(
            parse(b"<< 1 2 >>"),
            Err(LexError::Bad("expected a name as dictionary key"))
        );
        assert_eq!(parse(b"<zz>"), Err(LexError::Bad("bad hex string")));
        let deep = [b'['; 100];
        assert!(matches!(parse(&deep), Err(LexError::Bad(_))));
    }

    /// A buffer that ends inside `N G R` (a read window, say) asks for more bytes; it does not
    /// read an integer and then stumble on the generation (fuzz `pdf`, `crash-3531169b`).
    #[test]
    fn a_reference_cut_by_the_buffer_end_is_eof() {
        let src = b"<< /Info 3 0 R /Root 2 0 R >>";
        for end in 11..src.len() - 2 {
            assert_eq!(parse(&src[..end]), Err(LexError::Eof), "cut at {end}");
        }
        let Obj::Dict(d) = parse(src).unwrap() else { panic!() };
        assert_eq!(d.get(b"Info"), Some(&Obj::Ref(3, 0)));
        // Numbers that are no reference are still numbers.
        let Obj::Array(a) = parse(b"[3 0 /B 4 5 true] ").unwrap() else {
            panic!()
        };
        assert_eq!(a[..2], [Obj::Int(3), Obj::Int(0)]);
        assert_eq!(a[3..], [Obj::Int(4), Obj::Int(5), Obj::Bool(true)]);
    }

    #[test]
    fn header_and_names() {
        let mut l = Lexer::new(b"12 0 obj\n<<>>", 0, 8);
        assert_eq!(l.object_header(), Ok((12, 0)));
        let mut out = Vec::new();
        write_name(&mut out, b"A B#/");
        assert_eq!(out, b"/A#20B#23#2F");
    }
}
