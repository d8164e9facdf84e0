//! `aigc-label keygen`, and reading the key files it writes for `embed --sign-key` and
//! `propagate --sign-key`.
//!
//! A key file is a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`), which OpenSSL, GmSSL
//! and Python's `cryptography` read. When the key has a chosen key id (`keygen --key-id`), the
//! file carries it as RFC 7468 explanatory text before the PEM block, one line `Key-ID: ID`;
//! PEM readers ignore text outside the block, and this command reads the id back so the
//! signatures name the id the trust list holds. Without that line, the key's default id (16
//! hex digits of its public key's digest) is used. A file holding one `sm2:HEX` / `ed25519:HEX`
//! line is read too.
//!
//! Private keys are created with mode 0600 on Unix, written to a temporary file in the target
//! folder and moved into place only when complete; an existing file is never replaced unless
//! `--force` is given.

use std::io::Write;
use std::path::{Path, PathBuf};

use aigc_label::trust::{Algorithm, SigningKey};
use aigc_label::{Error, Result};
use zeroize::Zeroize;

/// Key files larger than this are not key files.
const MAX_KEY_FILE: u64 = 64 << 10;

/// What `keygen` was asked for.
#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Signature algorithm: sm2 (SM3withSM2, the guide's) or ed25519.
    #[arg(long, value_enum)]
    pub alg: AlgArg,
    /// Key id written next to each signature (default: 16 hex digits of the public key's digest).
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,
    /// Provider code the key signs for: the printed trust-list line starts with it.
    #[arg(long, value_name = "CODE")]
    pub provider: Option<String>,
    /// The private key file to create (PKCS#8 PEM, mode 0600).
    #[arg(short, long, value_name = "KEY.pem")]
    pub output: PathBuf,
    /// Also write the public key (SubjectPublicKeyInfo PEM) to this file.
    #[arg(long, value_name = "FILE")]
    pub public: Option<PathBuf>,
    /// Replace existing files.
    #[arg(long)]
    pub force: bool,
}

/// `--alg`.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum AlgArg {
    /// SM3withSM2.
    Sm2,
    /// Ed25519.
    Ed25519,
}

impl From<AlgArg> for Algorithm {
    fn from(a: AlgArg) -> Self {
        match a {
            AlgArg::Sm2 => Algorithm::Sm2Sm3,
            AlgArg::Ed25519 => Algorithm::Ed25519,
        }
    }
}

/// Generates a key, writes the files, and returns the trust-list line for the public key.
///
/// # Errors
/// [`Error::Parameter`] for a bad key id or an existing file without `--force`; I/O errors.
pub fn keygen(args: &KeygenArgs) -> Result<String> {
    if let Some(id) = &args.key_id {
        check_key_id(id)?;
    }
    if let Some(provider) = &args.provider {
        check_word("provider", provider)?;
    }
    let targets = std::iter::once(&args.output).chain(args.public.as_ref());
    for target in targets {
        if !args.force && target.symlink_metadata().is_ok() {
            return Err(Error::parameter(
                "output",
                format!("{} exists; pass --force to replace it", target.display()),
            ));
        }
    }
    if args.public.as_ref() == Some(&args.output) {
        return Err(Error::parameter("--public", "--public names the private key file"));
    }

    let mut key = SigningKey::generate(args.alg.into())?;
    if let Some(id) = &args.key_id {
        key = key.with_key_id(id.clone());
    }
    let mut contents = key.to_key_file()?;
    let written = write_new(&args.output, contents.as_bytes(), args.force, Secrecy::Private);
    contents.zeroize();
    written?;

    let public = key.public_key();
    if let Some(path) = &args.public {
        write_new(path, public.to_pem()?.as_bytes(), args.force, Secrecy::Public)?;
    }
    let line = format!("{} {}", public.to_text(), key.key_id());
    Ok(match &args.provider {
        Some(provider) => format!("{provider} {line}"),
        None => line,
    })
}

/// Reads a key file (see the module documentation); `key_id` overrides the file's id.
///
/// # Errors
/// I/O errors; [`Error::Parameter`] when the file holds no key or a bad key id; each naming
/// `path` ([`Error::WithPath`]).
pub fn load(path: &Path, key_id: Option<&str>) -> Result<SigningKey> {
    read_key(path, key_id).map_err(|e| e.with_path(path))
}

fn read_key(path: &Path, key_id: Option<&str>) -> Result<SigningKey> {
    let file = std::fs::File::open(path)?;
    if file.metadata()?.len() > MAX_KEY_FILE {
        return Err(Error::parameter("key file", "too large"));
    }
    warn_if_readable_by_others(path, &file);
    let mut text = std::io::read_to_string(file)?;
    let parsed = SigningKey::parse(&text);
    text.zeroize();
    let mut key = parsed?;
    if let Some(id) = key_id {
        check_key_id(id)?;
        key = key.with_key_id(id);
    }
    Ok(key)
}

fn check_key_id(id: &str) -> Result<()> {
    aigc_label::trust::keys::check_key_id(id)
}

fn check_word(what: &str, value: &str) -> Result<()> {
    let ok = !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
    if ok {
        Ok(())
    } else {
        Err(Error::parameter(
            "key id",
            format!("{what} {value:?}: use printable ASCII without spaces, quotes or backslashes"),
        ))
    }
}

/// Who may read a file `keygen` writes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Secrecy {
    /// The owner only (0600 on Unix).
    Private,
    /// Everyone the umask allows (0644 before the umask on Unix).
    Public,
}

/// Writes `contents` to a new file at `path`, atomically; replaces an existing file only with
/// `force`.
fn write_new(path: &Path, contents: &[u8], force: bool, secrecy: Secrecy) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    // tempfile creates files readable by the owner only (0600 on Unix) unless told otherwise.
    let mut builder = tempfile::Builder::new();
    builder.prefix(".aigc-label-").suffix(".tmp");
    #[cfg(unix)]
    if secrecy == Secrecy::Public {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    #[cfg(not(unix))]
    let _ = secrecy;
    let mut temp = builder.tempfile_in(dir)?;
    temp.write_all(contents)?;
    temp.as_file().sync_all()?;
    if force {
        temp.persist(path).map_err(|e| Error::Io(e.error))?;
    } else {
        temp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                Error::parameter(
                    "output",
                    format!("{} exists; pass --force to replace it", path.display()),
                )
            } else {
                Error::Io(e.error)
            }
        })?;
    }
    Ok(())
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path, file: &std::fs::File) {
    use std::os::unix::fs::PermissionsExt;
    let mode = file.metadata().map_or(0, |m| m.permissions().mode());
    if mode & 0o077 != 0 {
        eprintln!(
            "aigc-label: warning: {} is readable by other users (mode {:o}); chmod 600 it",
            path.display(),
            mode & 0o777
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path, _file: &std::fs::File) {}
