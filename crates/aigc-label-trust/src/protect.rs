//! Writing a protected label: sign, bind to the content, embed, and check the result.
//!
//! A binding's digest lives inside the label it protects, so it is computed from a first
//! write: the label goes in once with the slots to be signed left empty, the output is digested
//! without the bytes the carrier excludes ([`aigc_label_core::Carrier::binding_exclusions`]),
//! the slots are signed (with the digest), and the label goes in again. Between the two writes
//! only excluded bytes differ (see [`crate::binding`]). The final output is digested again and
//! its label read back, so a carrier that breaks that rule fails here with
//! [`Error::Unsupported`] rather than producing a binding that never matches.
//!
//! The output must therefore be readable as well as writable (a file, or a `Cursor<Vec<u8>>`);
//! it should be empty, and is written from its start. The first write goes to an anonymous
//! temporary file, so memory stays flat.

use std::io::{self, Read, Seek, SeekFrom, Write};

use aigc_label_core::inspect::Options;
use aigc_label_core::io::{COPY_BLOCK, ReadSeek};
use aigc_label_core::{Carrier, Error, Label, Result, Written, embed};

use crate::alg::DigestAlg;
use crate::binding::{digest_content, file_except_label};
use crate::message::Slot;
use crate::sign::{LabelSigner, SlotContent, sign_slot};

/// An output that can be read back: `Read + Write + Seek`.
pub trait ReadWriteSeek: Read + Write + Seek {}
impl<T: Read + Write + Seek + ?Sized> ReadWriteSeek for T {}

/// One signature to put into a label.
#[derive(Clone, Copy)]
pub struct SignSpec<'a> {
    /// Which slot to sign.
    pub slot: Slot,
    /// The key.
    pub signer: &'a dyn LabelSigner,
    /// Bind the signature to the content (a digest of the file without the label structure).
    pub bind: bool,
    /// Embed the signer's public key in the envelope.
    pub embed_public_key: bool,
}

impl std::fmt::Debug for SignSpec<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignSpec")
            .field("slot", &self.slot)
            .field("algorithm", &self.signer.algorithm())
            .field("key_id", &self.signer.key_id())
            .field("bind", &self.bind)
            .field("embed_public_key", &self.embed_public_key)
            .finish()
    }
}

impl<'a> SignSpec<'a> {
    /// The producer's signature in `ReservedCode1`, bound to the content, public key embedded.
    pub fn producer(signer: &'a dyn LabelSigner) -> Self {
        SignSpec {
            slot: Slot::Producer,
            signer,
            bind: true,
            embed_public_key: true,
        }
    }

    /// The propagator's signature in `ReservedCode2`, bound to the content, public key embedded.
    pub fn propagator(signer: &'a dyn LabelSigner) -> Self {
        SignSpec {
            slot: Slot::Propagator,
            signer,
            bind: true,
            embed_public_key: true,
        }
    }

    /// This signature without a content binding: for a producer, the guide's plain A.1 form.
    pub fn unbound(mut self) -> Self {
        self.bind = false;
        self
    }

    /// This signature without the embedded public key.
    pub fn without_public_key(mut self) -> Self {
        self.embed_public_key = false;
        self
    }
}

/// What [`embed_signed`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protected {
    /// The label as written, protection data included.
    pub label: Label,
    /// Where the carrier put it.
    pub written: Written,
}

/// Embeds `label` into `input`, writing `output`, with the signatures `specs` ask for; the
/// producer's first write, with the core's checks (strict validation, and refusal to replace
/// another producer's label).
///
/// # Errors
/// As [`aigc_label_core::embed::embed_with`]; the signers' errors; [`Error::Parameter`] when
/// two specs name the same slot; [`Error::Unsupported`] when the carrier changes bytes outside
/// its label structure, so the binding cannot hold; [`Error::Verification`] when the label read
/// back differs.
pub fn embed_signed(
    carrier: &dyn Carrier,
    input: &mut dyn ReadSeek,
    output: &mut dyn ReadWriteSeek,
    label: &Label,
    specs: &[SignSpec<'_>],
    options: &Options,
) -> Result<Protected> {
    write_protected(carrier, input, output, label, specs, options, Mode::Embed)
}

/// As [`embed_signed`], replacing whatever label the file has (the propagation step, which
/// builds the new label from the old one and keeps its production fields).
///
/// # Errors
/// As [`embed_signed`], without the producer check.
pub fn rewrite_signed(
    carrier: &dyn Carrier,
    input: &mut dyn ReadSeek,
    output: &mut dyn ReadWriteSeek,
    label: &Label,
    specs: &[SignSpec<'_>],
    options: &Options,
) -> Result<Protected> {
    write_protected(carrier, input, output, label, specs, options, Mode::Rewrite)
}

#[derive(Clone, Copy)]
enum Mode {
    Embed,
    Rewrite,
}

fn write_once(
    carrier: &dyn Carrier,
    input: &mut dyn ReadSeek,
    output: &mut dyn Write,
    label: &Label,
    options: &Options,
    mode: Mode,
) -> Result<Written> {
    input.seek(SeekFrom::Start(0))?;
    match mode {
        Mode::Embed => embed::embed_with(carrier, input, output, label, options),
        Mode::Rewrite => embed::rewrite_with(carrier, input, output, label, options),
    }
}

fn write_protected(
    carrier: &dyn Carrier,
    input: &mut dyn ReadSeek,
    output: &mut dyn ReadWriteSeek,
    label: &Label,
    specs: &[SignSpec<'_>],
    options: &Options,
    mode: Mode,
) -> Result<Protected> {
    let signed = sign(carrier, input, label, specs, options, mode)?;
    write_signed(carrier, input, output, signed, options, mode)
}

/// Writes a label [`sign_for_rewrite`] made, replacing whatever label `input` has, and checks
/// the output: the second half of [`rewrite_signed`].
///
/// # Errors
/// As [`rewrite_signed`].
pub fn write_signed_rewrite(
    carrier: &dyn Carrier,
    input: &mut dyn ReadSeek,
    output: &mut dyn ReadWriteSeek,
    signed: Signed,
    options: &Options,
) -> Result<Protected> {
    write_signed(carrier, input, output, signed, options, Mode::Rewrite)
}

/// Writes a label [`sign`] made, then checks the output.
fn write_signed(
    carrier: &dyn Carrier,
    input: &mut dyn ReadSeek,
    output: &mut dyn ReadWriteSeek,
    signed: Signed,
    options: &Options,
    mode: Mode,
) -> Result<Protected> {
    output.seek(SeekFrom::Start(0))?;
    let mut out = Output(output);
    let written = write_once(carrier, input, &mut out, &signed.label, options, mode)?;
    out.flush()?;
    signed.check(carrier, &mut out, options)?;
    Ok(Protected {
        label: signed.label,
        written,
    })
}

/// A label signed for one file and ready to be written into it: what [`rewrite_signed`] works
/// out before its final write. A caller that writes the label another way (in place, into the
/// very file it was signed for) runs [`Signed::check`] on the result.
#[derive(Debug, Clone)]
pub struct Signed {
    /// The label with its signatures.
    pub label: Label,
    /// The digest algorithms of the bound signatures, and the digests they sign.
    algorithms: Vec<DigestAlg>,
    digests: Vec<Vec<u8>>,
}

impl Signed {
    /// Checks a file the label was written into: the bytes the bindings cover digest as they
    /// did when signed, and the file holds exactly this label, once.
    ///
    /// # Errors
    /// [`Error::Unsupported`] when covered bytes changed (a carrier whose binding cannot hold);
    /// [`Error::Verification`] when the label read back differs; I/O errors.
    pub fn check(&self, carrier: &dyn Carrier, output: &mut dyn ReadSeek, options: &Options) -> Result<()> {
        if !self.algorithms.is_empty() {
            let again = digest_content(carrier, output, &self.algorithms, &options.limits)?;
            if again != self.digests {
                return Err(Error::unsupported(
                    carrier.format(),
                    "rewriting the label changed bytes the carrier's binding covers, so a content binding cannot \
                     hold (a bug in the carrier's binding_exclusions)",
                ));
            }
        }
        embed::readback(carrier, output, &self.label, options)
    }
}

/// Signs `label` for `input` as [`rewrite_signed`] would, without writing it (a bound signature
/// still needs a first write, to a temporary file, for its digest): for a caller that updates
/// the file in place and then runs [`Signed::check`].
///
/// # Errors
/// As [`rewrite_signed`], but nothing of the output.
pub fn sign_for_rewrite(
    carrier: &dyn Carrier,
    input: &mut dyn ReadSeek,
    label: &Label,
    specs: &[SignSpec<'_>],
    options: &Options,
) -> Result<Signed> {
    sign(carrier, input, label, specs, options, Mode::Rewrite)
}

/// Signs `label`'s slots as `specs` ask, binding signatures to the content written with it.
fn sign(
    carrier: &dyn Carrier,
    input: &mut dyn ReadSeek,
    label: &Label,
    specs: &[SignSpec<'_>],
    options: &Options,
    mode: Mode,
) -> Result<Signed> {
    let mut specs = specs.to_vec();
    specs.sort_by_key(|s| s.slot == Slot::Propagator);
    if specs.windows(2).any(|w| matches!(w, [a, b] if a.slot == b.slot)) {
        return Err(Error::parameter("signatures", "two signatures for the same slot"));
    }
    let mut final_label = label.clone();
    for spec in &specs {
        spec.slot.set(&mut final_label, String::new());
    }

    let mut algorithms: Vec<DigestAlg> = Vec::new();
    for spec in specs.iter().filter(|s| s.bind) {
        let alg = spec.signer.algorithm().digest();
        if !algorithms.contains(&alg) {
            algorithms.push(alg);
        }
    }
    let digests = if algorithms.is_empty() {
        Vec::new()
    } else {
        let mut scratch = io::BufWriter::with_capacity(COPY_BLOCK, tempfile::tempfile()?);
        write_once(carrier, input, &mut scratch, &final_label, options, mode)?;
        let mut scratch = io::BufReader::with_capacity(COPY_BLOCK, scratch.into_inner().map_err(|e| e.into_error())?);
        digest_content(carrier, &mut scratch, &algorithms, &options.limits)?
    };
    let digest_for = |alg: DigestAlg| {
        algorithms
            .iter()
            .position(|a| *a == alg)
            .and_then(|i| digests.get(i))
            .cloned()
            .unwrap_or_default()
    };

    for spec in &specs {
        let alg = spec.signer.algorithm().digest();
        let content = SlotContent {
            bindings: if spec.bind {
                vec![file_except_label(alg, digest_for(alg))]
            } else {
                Vec::new()
            },
            embed_public_key: spec.embed_public_key,
        };
        sign_slot(&mut final_label, spec.slot, spec.signer, content)?;
    }
    Ok(Signed {
        label: final_label,
        algorithms,
        digests,
    })
}

/// Forwards to a `dyn ReadWriteSeek`, so it can be passed where `dyn Write` or `dyn ReadSeek`
/// is expected (trait upcasting needs a newer compiler than the workspace's minimum).
struct Output<'a>(&'a mut dyn ReadWriteSeek);

impl Read for Output<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Output<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl Seek for Output<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.0.seek(pos)
    }
}
