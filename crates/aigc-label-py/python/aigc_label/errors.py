"""Exceptions: every failure is an :class:`AigcLabelError`, and says which file it concerns."""

from typing import Optional

__all__ = [
    "AigcLabelError",
    "FileError",
    "MalformedFile",
    "Unsupported",
    "LimitExceeded",
    "InvalidLabel",
    "AlreadyLabelled",
    "VerificationFailed",
    "SigningFailed",
]


class AigcLabelError(Exception):
    """Base class. ``path`` is the file concerned (``None`` for calls on no file)."""

    def __init__(self, message: str, path: Optional[str] = None, producer: Optional[str] = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.message = message
        self.path = path


class FileError(AigcLabelError):
    """Reading or writing a file failed (not found, permission denied, disk full, ...)."""


class MalformedFile(AigcLabelError):
    """The file does not follow its format's rules, or ends early."""


class Unsupported(AigcLabelError):
    """The format, or a feature of it, is not supported.

    ``format`` is the short name of the format concerned (``"zip"``, ``"heif"``, ...), or
    ``None`` when no format recognised the input.
    """

    format: Optional[str] = None


class LimitExceeded(AigcLabelError):
    """A declared size or count in the file exceeds the library's limits."""


class InvalidLabel(AigcLabelError, ValueError):
    """The label (or another argument) fails validation.

    ``parameter`` names what is wrong: ``"label"``, ``"style"``, ``"format"``, ...
    """

    parameter: Optional[str] = None


class AlreadyLabelled(AigcLabelError):
    """The file carries another producer's label, which nobody else may replace."""

    def __init__(self, message: str, path: Optional[str] = None, producer: Optional[str] = None) -> None:
        super().__init__(message, path)
        self.producer = producer


class VerificationFailed(AigcLabelError):
    """The label read back after writing differs from what was written."""


class SigningFailed(AigcLabelError):
    """A signer failed: a key service refused, a callback raised."""
