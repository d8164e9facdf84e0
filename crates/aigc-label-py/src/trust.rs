//! Keys, trust lists and signers: `SigningKey` (generated, or from a PEM key file),
//! `TrustList`, and `CallbackSigner` for keys behind a Python callable (an HSM or KMS client).

use aigc_label::trust::{self, Algorithm, LabelSigner, PublicKey};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{invalid, to_py};

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<SigningKey>()?;
    m.add_class::<TrustList>()?;
    m.add_class::<CallbackSigner>()?;
    Ok(())
}

fn algorithm(name: &str) -> PyResult<Algorithm> {
    Algorithm::from_name(name).ok_or_else(|| {
        invalid(
            "algorithm",
            format!("unknown algorithm {name:?}; expected sm2 or ed25519"),
        )
    })
}

/// A private signing key (SM3withSM2 or Ed25519) with its key id.
#[pyclass(module = "aigc_label._native", frozen)]
pub struct SigningKey {
    pub inner: trust::SigningKey,
}

#[pymethods]
impl SigningKey {
    /// A new random key for `algorithm` (`sm2` or `ed25519`), with `key_id` or the default id.
    #[staticmethod]
    #[pyo3(signature = (algorithm="sm2", key_id=None))]
    fn generate(algorithm: &str, key_id: Option<&str>) -> PyResult<Self> {
        let key = trust::SigningKey::generate(self::algorithm(algorithm)?).map_err(|e| to_py(&e, None))?;
        Ok(SigningKey {
            inner: match key_id {
                Some(id) => key.with_key_id(id),
                None => key,
            },
        })
    }

    /// A key from the text of a key file: PKCS#8 PEM, optionally after a `Key-ID: ID` line (as
    /// `aigc-label keygen` writes).
    #[staticmethod]
    fn from_pem(text: &str) -> PyResult<Self> {
        trust::SigningKey::parse(text)
            .map(|inner| SigningKey { inner })
            .map_err(|e| to_py(&e, None))
    }

    /// A key from a key file.
    #[staticmethod]
    fn from_file(path: std::path::PathBuf) -> PyResult<Self> {
        trust::SigningKey::from_file(&path)
            .map(|inner| SigningKey { inner })
            .map_err(|e| to_py(&e, Some(&path.to_string_lossy())))
    }

    /// The key file text: the `Key-ID` line and the PKCS#8 PEM private key.
    fn to_pem(&self) -> PyResult<String> {
        self.inner.to_key_file().map_err(|e| to_py(&e, None))
    }

    /// The key id written into every signature.
    #[getter]
    fn key_id(&self) -> String {
        self.inner.key_id().to_string()
    }

    /// `sm2` or `ed25519`.
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.inner.algorithm().name()
    }

    /// Signs `message` (DER for SM2, 64 bytes for Ed25519): what a `CallbackSigner`'s callback
    /// returns when the key sits in a key service.
    fn sign<'py>(&self, py: Python<'py>, message: &[u8]) -> PyResult<Bound<'py, PyBytes>> {
        let signature = self.inner.try_sign(message).map_err(|e| to_py(&e, None))?;
        Ok(PyBytes::new(py, &signature))
    }

    /// The public key as a trust-list value, `sm2:04...` or `ed25519:...`.
    fn public_key(&self) -> String {
        self.inner.public_key().to_text()
    }

    fn __repr__(&self) -> String {
        format!(
            "SigningKey({}, key_id={:?})",
            self.inner.algorithm().name(),
            self.inner.key_id()
        )
    }
}

/// The keys a platform trusts, per provider code.
#[pyclass(module = "aigc_label._native")]
pub struct TrustList {
    pub inner: trust::TrustList,
}

#[pymethods]
impl TrustList {
    /// An empty list.
    #[new]
    fn new() -> Self {
        TrustList {
            inner: trust::TrustList::new(),
        }
    }

    /// A list from its text: one `PROVIDER ALG:HEX [KEYID]` per line, `#` comments.
    #[staticmethod]
    fn parse(text: &str) -> PyResult<Self> {
        trust::TrustList::parse(text)
            .map(|inner| TrustList { inner })
            .map_err(|e| to_py(&e, None))
    }

    /// A list from a file.
    #[staticmethod]
    fn from_file(path: std::path::PathBuf) -> PyResult<Self> {
        trust::TrustList::from_file(&path)
            .map(|inner| TrustList { inner })
            .map_err(|e| to_py(&e, Some(&path.to_string_lossy())))
    }

    /// Trusts `public_key` (`sm2:04...`, `ed25519:...`, a public key PEM, or a `SigningKey`,
    /// then under its key id) for labels by `provider`, optionally under `key_id`.
    #[pyo3(signature = (provider, public_key, key_id=None))]
    fn add(&mut self, provider: &str, public_key: &Bound<'_, PyAny>, key_id: Option<&str>) -> PyResult<()> {
        // A signing key brings its own id, which its signatures name.
        let (key, own_id) = if let Ok(signing) = public_key.cast::<SigningKey>() {
            let inner = &signing.get().inner;
            (inner.public_key(), Some(inner.key_id().to_string()))
        } else if let Ok(text) = public_key.extract::<String>() {
            (PublicKey::parse(&text).map_err(|e| to_py(&e, None))?, None)
        } else {
            return Err(PyTypeError::new_err("public_key must be a str or a SigningKey"));
        };
        match key_id.map(str::to_string).or(own_id) {
            Some(id) => self.inner.add_with_id(provider, id, key),
            None => self.inner.add(provider, key),
        };
        Ok(())
    }

    /// The list's text, as `parse` reads it.
    fn to_text(&self) -> String {
        self.inner.to_text()
    }

    fn __len__(&self) -> usize {
        self.inner.keys().len()
    }
}

/// A signer whose key lives elsewhere: `sign(message: bytes) -> bytes` returns the signature
/// (DER for SM2, 64 bytes for Ed25519). Give `public_key` to embed it in the envelope.
#[pyclass(module = "aigc_label._native", frozen)]
pub struct CallbackSigner {
    algorithm: Algorithm,
    key_id: String,
    public_key: Option<PublicKey>,
    sign: Py<PyAny>,
}

#[pymethods]
impl CallbackSigner {
    #[new]
    #[pyo3(signature = (algorithm, key_id, sign, public_key=None))]
    fn new(algorithm: &str, key_id: &str, sign: Py<PyAny>, public_key: Option<&str>) -> PyResult<Self> {
        let public_key = public_key
            .map(PublicKey::parse)
            .transpose()
            .map_err(|e| to_py(&e, None))?;
        Ok(CallbackSigner {
            algorithm: self::algorithm(algorithm)?,
            key_id: key_id.to_string(),
            public_key,
            sign,
        })
    }

    /// The key id written into every signature.
    #[getter]
    fn key_id(&self) -> &str {
        &self.key_id
    }

    /// `sm2` or `ed25519`.
    #[getter]
    fn algorithm(&self) -> &'static str {
        self.algorithm.name()
    }
}

/// The signature a Python callable returns for `message`, or its exception as text.
fn call_signer(sign: &Py<PyAny>, message: &[u8]) -> Result<Vec<u8>, trust::sign::CallbackError> {
    Python::attach(|py| {
        let signature = sign.call1(py, (PyBytes::new(py, message),))?;
        signature.extract::<Vec<u8>>(py)
    })
    .map_err(|e| format!("the sign callback raised {e}").into())
}

/// A signer given from Python, usable while the GIL is released.
pub enum Signer {
    /// A key in memory.
    Key(trust::SigningKey),
    /// A Python callable.
    Callback(Box<trust::CallbackSigner<SignFn>>),
}

type CallbackResult = Result<Vec<u8>, trust::sign::CallbackError>;

/// The callback a `CallbackSigner` calls, usable from any thread.
type SignFn = Box<dyn Fn(&[u8]) -> CallbackResult + Send + Sync>;

impl Signer {
    /// A `SigningKey` or a `CallbackSigner`.
    pub fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(key) = obj.cast::<SigningKey>() {
            return Ok(Signer::Key(key.get().inner.clone()));
        }
        if let Ok(callback) = obj.cast::<CallbackSigner>() {
            let c = callback.get();
            let sign = c.sign.clone_ref(obj.py());
            let call: SignFn = Box::new(move |m| call_signer(&sign, m));
            return Ok(Signer::Callback(Box::new(trust::CallbackSigner::new(
                c.algorithm,
                c.key_id.clone(),
                c.public_key.clone(),
                call,
            ))));
        }
        Err(PyTypeError::new_err("signer must be a SigningKey or a CallbackSigner"))
    }

    /// The signer as the library takes it.
    pub fn as_dyn(&self) -> &dyn LabelSigner {
        match self {
            Signer::Key(key) => key,
            Signer::Callback(callback) => callback.as_ref(),
        }
    }
}
