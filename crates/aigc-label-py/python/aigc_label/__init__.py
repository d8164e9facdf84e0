"""Label AI-generated content as GB 45438-2025 requires, and read the labels back out of files.

Generation pipelines call :func:`embed_file` / :func:`embed_bytes` (optionally signed) on what
they produce and :func:`stamp_image`, :func:`stamp_audio`, :class:`FrameStamper` or
:class:`LabelStream` for the label people see or hear; platforms call :func:`inspect_file`,
:func:`inspect_bytes`, :func:`inspect_many`, :func:`verify_file` and :func:`propagate_file`
on uploads. Results equal the ``aigc-label --json`` output for the same files.

>>> import aigc_label
>>> report = aigc_label.inspect_file("upload.png")          # doctest: +SKIP
>>> report.verdict, report.label.content_producer            # doctest: +SKIP
('compliant', '001191440300708461136T1XGW3')
"""

import os
from typing import Any, AsyncIterable, AsyncIterator, Iterable, Iterator, List, Optional, Tuple, Union

from . import _native
from ._native import CallbackSigner, SigningKey, TrustList
from .errors import (
    AigcLabelError,
    AlreadyLabelled,
    FileError,
    InvalidLabel,
    LimitExceeded,
    MalformedFile,
    SigningFailed,
    Unsupported,
    VerificationFailed,
)
from .results import Check, Embedded, Label, LabelCopy, Propagated, Report, Trace

__version__: str = _native.__version__

__all__ = [
    "AigcLabelError",
    "AlreadyLabelled",
    "CallbackSigner",
    "Check",
    "Embedded",
    "FileError",
    "FrameStamper",
    "InvalidLabel",
    "Label",
    "LabelCopy",
    "LabelStream",
    "LimitExceeded",
    "MalformedFile",
    "Propagated",
    "Report",
    "SigningFailed",
    "SigningKey",
    "Trace",
    "TrustList",
    "Unsupported",
    "VerificationFailed",
    "embed_bytes",
    "embed_file",
    "inspect_bytes",
    "inspect_file",
    "inspect_many",
    "keygen",
    "propagate_bytes",
    "propagate_file",
    "stamp_audio",
    "stamp_image",
    "verify_bytes",
    "verify_file",
]

PathLike = Union[str, "os.PathLike[str]"]
Signer = Union[SigningKey, CallbackSigner]


# ---- implicit labels ------------------------------------------------------------------------


def inspect_file(path: PathLike) -> Report:
    """Finds and validates every label copy in the file at ``path`` (format detected from the
    bytes). A broken label is a verdict, not an exception.

    :raises MalformedFile, Unsupported, LimitExceeded, FileError: the file cannot be read.
    """
    return Report._parse(_native.inspect_file(os.fspath(path)))


def inspect_bytes(data: bytes, name: str = "-") -> Report:
    """:func:`inspect_file` on bytes held in memory (an upload); ``name`` is the report's
    ``file``."""
    return Report._parse(_native.inspect_bytes(bytes(data), name))


def inspect_many(paths: Iterable[PathLike], jobs: Optional[int] = None) -> List[Report]:
    """Inspects many files on ``jobs`` threads (default: all cores), with the GIL released.
    Returns one report per path, in order; a file that cannot be read gets verdict
    ``unreadable`` and ``error`` instead of raising, as ``aigc-label inspect`` does."""
    return [Report._parse(line) for line in _native.inspect_many([os.fspath(p) for p in paths], jobs)]


def embed_file(
    input: PathLike,
    output: PathLike,
    producer: str,
    produce_id: str,
    *,
    label: str = "1",
    propagator: Optional[str] = None,
    propagate_id: Optional[str] = None,
    signer: Optional[Signer] = None,
    bind: bool = True,
    lenient: bool = False,
) -> Embedded:
    """Writes ``input`` to ``output`` (may be the same path) with the implicit label of
    ``producer`` (a 27-character provider code) and ``produce_id``, atomically and verified.
    With ``signer`` (a :class:`SigningKey` or :class:`CallbackSigner`) the label is signed in
    ``ReservedCode1`` and, unless ``bind`` is false, bound to the file's content.

    :raises InvalidLabel: the label fails validation (``lenient`` accepts provider names).
    :raises AlreadyLabelled: the file carries another producer's label.
    """
    return Embedded._parse(
        _native.embed_file(
            os.fspath(input),
            os.fspath(output),
            producer,
            produce_id,
            label=label,
            propagator=propagator,
            propagate_id=propagate_id,
            signer=signer,
            bind=bind,
            lenient=lenient,
        )
    )


def embed_bytes(
    data: bytes,
    producer: str,
    produce_id: str,
    *,
    label: str = "1",
    propagator: Optional[str] = None,
    propagate_id: Optional[str] = None,
    signer: Optional[Signer] = None,
    bind: bool = True,
    lenient: bool = False,
) -> bytes:
    """:func:`embed_file` on bytes held in memory: returns the labelled bytes."""
    out, _ = _native.embed_bytes(
        bytes(data),
        producer,
        produce_id,
        label=label,
        propagator=propagator,
        propagate_id=propagate_id,
        signer=signer,
        bind=bind,
        lenient=lenient,
    )
    return out


def verify_file(path: PathLike, trust: TrustList) -> Report:
    """:func:`inspect_file`, plus each copy's signatures and content binding checked against
    ``trust``: ``report.trust`` is ``trusted``, ``untrusted``, ``tampered`` or ``unsigned``."""
    return Report._parse(_native.verify_file(os.fspath(path), trust))


def verify_bytes(data: bytes, trust: TrustList, name: str = "-") -> Report:
    """:func:`verify_file` on bytes held in memory."""
    return Report._parse(_native.verify_bytes(bytes(data), trust, name))


def propagate_file(
    input: PathLike,
    output: PathLike,
    platform: str,
    propagate_id: str,
    *,
    declared: bool = False,
    signer: Optional[Signer] = None,
    bind: bool = True,
    lenient: bool = False,
) -> Propagated:
    """The platform's step on an upload: keeps a label's class, or gives class 2 (``declared``:
    the uploader says it is AI-generated) or 3 (traces of generation found), and writes the
    label with the platform's ``ContentPropagator`` and ``PropagateID`` to ``output``
    (atomically; nothing is written when there is nothing to add)."""
    return Propagated._parse(
        _native.propagate_file(
            os.fspath(input),
            os.fspath(output),
            platform,
            propagate_id,
            declared=declared,
            signer=signer,
            bind=bind,
            lenient=lenient,
        )
    )


def propagate_bytes(
    data: bytes,
    platform: str,
    propagate_id: str,
    *,
    declared: bool = False,
    signer: Optional[Signer] = None,
    bind: bool = True,
    lenient: bool = False,
    name: str = "-",
) -> Tuple[bytes, Propagated]:
    """:func:`propagate_file` on bytes held in memory: returns the bytes to store (the input
    itself when nothing was written) and the outcome."""
    out, text = _native.propagate_bytes(
        bytes(data),
        platform,
        propagate_id,
        declared=declared,
        signer=signer,
        bind=bind,
        lenient=lenient,
        name=name,
    )
    return (bytes(data) if out is None else out), Propagated._parse(text)


def keygen(algorithm: str = "sm2", key_id: Optional[str] = None) -> SigningKey:
    """A new signing key, ``sm2`` (SM3withSM2) or ``ed25519``. ``key.to_pem()`` is the key file
    ``aigc-label keygen`` writes; ``key.public_key()`` goes into a :class:`TrustList`."""
    return SigningKey.generate(algorithm, key_id)


# ---- explicit labels ------------------------------------------------------------------------


def stamp_image(image: Any, *, text: Optional[str] = None, position: str = "bottom-right") -> Any:
    """Draws the visible label (default ``AI生成``, at least 5% of the shortest side) on a
    ``PIL.Image.Image`` or a NumPy ``HxWx3``/``HxWx4`` ``uint8`` array; returns a new image of
    the same kind. ``position``: ``top-left``, ``top``, ..., ``left``."""
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover - PIL is optional
        Image = None  # type: ignore[assignment]
    if Image is not None and isinstance(image, Image.Image):
        mode = image.mode if image.mode in ("RGB", "RGBA") else ("RGBA" if "A" in image.getbands() else "RGB")
        converted = image if image.mode == mode else image.convert(mode)
        width, height = converted.size
        pixels, _ = _native.stamp_pixels(converted.tobytes(), width, height, len(mode), text=text, position=position)
        out = Image.frombytes(mode, (width, height), pixels)
        out.info.update(image.info)
        return out
    import numpy as np

    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] not in (3, 4):
        raise InvalidLabel(f"expected a PIL image or an HxWx3/4 uint8 array, got {array.dtype} {array.shape}")
    height, width, channels = array.shape
    pixels, _ = _native.stamp_pixels(
        np.ascontiguousarray(array).tobytes(), width, height, channels, text=text, position=position
    )
    return np.frombuffer(pixels, dtype=np.uint8).reshape(array.shape).copy()


def stamp_audio(samples: Any, sample_rate: int, *, at: str = "start", mix: bool = False, bits: int = 0) -> Any:
    """Places the audible label (the rhythm short-long short-short) in NumPy PCM ``samples``:
    1-D (mono) or ``frames x channels``, ``int16``, ``int32`` or ``float32``. ``at``: ``start``,
    ``end``, a time such as ``12.5s`` or a frame number, several separated by commas; inserted
    (the result is longer) or, with ``mix``, mixed over the content with ducking. ``bits``: the
    significant bits of ``int32`` samples (24 for 24-bit audio). Returns a new array."""
    import numpy as np

    array = np.asarray(samples)
    if array.dtype.name not in ("int16", "int32", "float32") or array.ndim not in (1, 2):
        raise InvalidLabel(f"expected 1-D or 2-D int16/int32/float32 samples, got {array.dtype} {array.shape}")
    channels = 1 if array.ndim == 1 else array.shape[1]
    out = _native.stamp_pcm(
        np.ascontiguousarray(array).tobytes(), array.dtype.name, sample_rate, channels, at=at, mix=mix, bits=bits
    )
    result = np.frombuffer(out, dtype=array.dtype).copy()
    return result if array.ndim == 1 else result.reshape(-1, channels)


class FrameStamper:
    """Draws the visible label on raw video frames (NumPy ``HxWx3``/``HxWx4`` ``uint8``, or
    flat I420/NV12 ``uint8`` arrays) during the opening ``seconds`` (at least 2). The label is
    rasterised once; each frame is blended in place.

    >>> stamper = FrameStamper(640, 360, "rgb", fps=30)   # doctest: +SKIP
    >>> for pts, frame in enumerate(frames):              # doctest: +SKIP
    ...     stamper.stamp(frame, pts)
    """

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
    ) -> None:
        self._native = _native.FrameStamper(
            width, height, format, fps, fps_den, text=text, position=position, seconds=seconds
        )

    @property
    def frame_len(self) -> int:
        """Bytes in one frame."""
        return self._native.frame_len

    def shows_at(self, pts: int) -> bool:
        """True when frame number ``pts`` gets the label."""
        return self._native.shows_at(pts)

    def stamp(self, frame: Any, pts: int) -> bool:
        """Draws the label on ``frame`` (a writable ``uint8`` NumPy array) in place when frame
        ``pts`` falls in the schedule; returns whether it drew."""
        import numpy as np

        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
            raise InvalidLabel("a frame must be a uint8 NumPy array")
        out = self._native.stamp(np.ascontiguousarray(frame).tobytes(), pts)
        if out is None:
            return False
        frame[...] = np.frombuffer(out, dtype=np.uint8).reshape(frame.shape)
        return True


class LabelStream:
    """Wraps a model's token stream (an iterator or async iterator of ``str`` or ``bytes``
    chunks) and yields the same text with the explicit label (default ``【AI生成】``) at the
    ``start``, the ``end`` or ``both``. Byte chunks may split a character anywhere; nothing is
    held back longer than a character needs.

    >>> "".join(LabelStream(iter(["你", "好"])))
    '【AI生成】\\n你好'
    """

    def __init__(
        self,
        tokens: Union[Iterable[Union[str, bytes]], AsyncIterable[Union[str, bytes]]],
        *,
        text: Optional[str] = None,
        position: str = "start",
    ) -> None:
        self._tokens = tokens
        self._labeller = _native.TextLabeller(text=text, position=position)

    def __iter__(self) -> Iterator[str]:
        labeller = self._labeller
        for token in self._tokens:  # type: ignore[union-attr]
            out = labeller.push(token)
            if out:
                yield out
        tail = labeller.finish()
        if tail:
            yield tail

    async def _agen(self) -> AsyncIterator[str]:
        labeller = self._labeller
        async for token in self._tokens:  # type: ignore[union-attr]
            out = labeller.push(token)
            if out:
                yield out
        tail = labeller.finish()
        if tail:
            yield tail

    def __aiter__(self) -> AsyncIterator[str]:
        return self._agen()
