//! placeholder
use std::io::Write;
use aigc_label_core::io::ReadSeek;
use aigc_label_core::{Carrier, Error, Found, Label, Limits, Result, Written};
/// placeholder
#[derive(Debug, Clone, Copy, Default)]
pub struct Matroska;
impl Carrier for Matroska {
    fn format(&self) -> &'static str { "matroska" }
    fn media_type(&self) -> &'static str { "video/x" }
    fn extensions(&self) -> &'static [&'static str] { &["matroska"] }
    fn sniff(&self, _head: &[u8]) -> bool { false }
    fn find(&self, _input: &mut dyn ReadSeek, _limits: &Limits) -> Result<Vec<Found>> { Err(Error::Unsupported("not yet".into())) }
    fn write(&self, _i: &mut dyn ReadSeek, _o: &mut dyn Write, _l: &Label, _li: &Limits) -> Result<Written> { Err(Error::Unsupported("not yet".into())) }
}
