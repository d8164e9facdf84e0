"""Type stubs for the native module. Use the functions of ``aigc_label`` itself: they wrap
these and return typed results."""

from typing import Callable, List, Optional, Tuple, Union

__version__: str

def inspect_file(path: str) -> str: ...
def inspect_bytes(data: bytes, name: str) -> str: ...
def inspect_many(paths: List[str], jobs: Optional[int] = None) -> List[str]: ...
def embed_file(
    input: str,
    output: str,
    producer: str,
    produce_id: str,
    *,
    label: str = "1",
    propagator: Optional[str] = None,
    propagate_id: Optional[str] = None,
    signer: Optional[Union[SigningKey, CallbackSigner]] = None,
    bind: bool = True,
    lenient: bool = False,
) -> str: ...
def embed_bytes(
    data: bytes,
    producer: str,
    produce_id: str,
    *,
    label: str = "1",
    propagator: Optional[str] = None,
    propagate_id: Optional[str] = None,
    signer: Optional[Union[SigningKey, CallbackSigner]] = None,
    bind: bool = True,
    lenient: bool = False,
    name: str = "-",
) -> Tuple[bytes, str]: ...
def verify_file(path: str, trust: TrustList) -> str: ...
def verify_bytes(data: bytes, trust: TrustList, name: str) -> str: ...
def propagate_file(
    input: str,
    output: str,
    platform: str,
    propagate_id: str,
    *,
    declared: bool = False,
    signer: Optional[Union[SigningKey, CallbackSigner]] = None,
    bind: bool = True,
    lenient: bool = False,
) -> str: ...
def propagate_bytes(
    data: bytes,
    platform: str,
    propagate_id: str,
    *,
    declared: bool = False,
    signer: Optional[Union[SigningKey, CallbackSigner]] = None,
    bind: bool = True,
    lenient: bool = False,
    name: str = "-",
) -> Tuple[Optional[bytes], str]: ...
def stamp_pixels(
    pixels: bytes, width: int, height: int, channels: int, *, text: Optional[str] = None, position: str = "bottom-right"
) -> Tuple[bytes, Tuple[int, int, int, int]]: ...
def stamp_pcm(
    data: bytes, dtype: str, sample_rate: int, channels: int, *, at: str = "start", mix: bool = False, bits: int = 0
) -> bytes: ...

class SigningKey:
    """A private signing key (SM3withSM2 or Ed25519) with its key id."""

    @staticmethod
    def generate(algorithm: str = "sm2", key_id: Optional[str] = None) -> SigningKey: ...
    @staticmethod
    def from_pem(text: str) -> SigningKey: ...
    @staticmethod
    def from_file(path: str) -> SigningKey: ...
    def to_pem(self) -> str: ...
    @property
    def key_id(self) -> str: ...
    @property
    def algorithm(self) -> str: ...
    def sign(self, message: bytes) -> bytes: ...
    def public_key(self) -> str: ...

class TrustList:
    """The keys a platform trusts, per provider code."""

    def __init__(self) -> None: ...
    @staticmethod
    def parse(text: str) -> TrustList: ...
    @staticmethod
    def from_file(path: str) -> TrustList: ...
    def add(self, provider: str, public_key: Union[str, SigningKey], key_id: Optional[str] = None) -> None: ...
    def to_text(self) -> str: ...
    def __len__(self) -> int: ...

class CallbackSigner:
    """A signer whose key lives elsewhere (HSM, KMS): ``sign(message) -> signature``."""

    def __init__(
        self, algorithm: str, key_id: str, sign: Callable[[bytes], bytes], public_key: Optional[str] = None
    ) -> None: ...
    @property
    def key_id(self) -> str: ...
    @property
    def algorithm(self) -> str: ...

class FrameStamper:
    def __init__(
        self,
        width: int,
        height: int,
        format: str = "rgb",
        fps: int = 25,
        fps_den: int = 1,
        *,
        text: Optional[str] = None,
        position: str = "bottom-right",
        seconds: float = 3.0,
    ) -> None: ...
    @property
    def frame_len(self) -> int: ...
    def shows_at(self, pts: int) -> bool: ...
    def stamp(self, frame: bytes, pts: int) -> Optional[bytes]: ...

class TextLabeller:
    def __init__(self, *, text: Optional[str] = None, position: str = "start") -> None: ...
    def push(self, chunk: Union[str, bytes]) -> str: ...
    def finish(self) -> str: ...
