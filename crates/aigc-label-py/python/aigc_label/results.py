"""Typed results. Each is built from the JSON object ``aigc-label --json`` prints for the same
call (``docs/output.schema.json``); ``to_dict()`` and ``to_json()`` give that object back."""

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["Check", "Label", "LabelCopy", "Report", "Embedded", "Propagated", "Trace"]

FIELD_NAMES = (
    "Label",
    "ContentProducer",
    "ProduceID",
    "ReservedCode1",
    "ContentPropagator",
    "PropagateID",
    "ReservedCode2",
)


class _FromJson:
    """Keeps the object the library returned, so ``to_json`` is exactly the command's line."""

    _json: str

    def to_dict(self) -> Dict[str, Any]:
        """The object as ``aigc-label --json`` prints it, as a dict."""
        value: Dict[str, Any] = json.loads(self._json)
        return value

    def to_json(self) -> str:
        """The object as ``aigc-label --json`` prints it (one line)."""
        return self._json


@dataclass(frozen=True)
class Check:
    """One validation rule applied to a label copy, by stable id (``json.shape``, ...)."""

    id: str
    ok: bool
    level: str
    detail: str

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "Check":
        return cls(d["id"], d["ok"], d["level"], d["detail"])


@dataclass(frozen=True)
class Label:
    """The seven fields of an implicit label (``None`` for a field a copy lacks)."""

    label: Optional[str]
    content_producer: Optional[str]
    produce_id: Optional[str]
    reserved_code1: Optional[str]
    content_propagator: Optional[str]
    propagate_id: Optional[str]
    reserved_code2: Optional[str]

    @classmethod
    def _from(cls, d: Dict[str, Optional[str]]) -> "Label":
        return cls(*(d.get(name) for name in FIELD_NAMES))

    def to_dict(self) -> Dict[str, Optional[str]]:
        """The fields under their GB 45438 Annex E names."""
        return dict(zip(FIELD_NAMES, (getattr(self, f) for f in self.__dataclass_fields__)))


@dataclass(frozen=True)
class LabelCopy:
    """One label copy found in a file: where, its fields, its checks, and (with a trust list)
    its verification."""

    carrier: str
    range: Tuple[int, int]
    fields: Label
    checks: List[Check]
    verification: Optional[Dict[str, Any]] = None

    @classmethod
    def _from(cls, d: Dict[str, Any]) -> "LabelCopy":
        return cls(
            d["carrier"],
            (d["range"][0], d["range"][1]),
            Label._from(d["fields"]),
            [Check._from(c) for c in d["checks"]],
            d.get("verification"),
        )

    @property
    def label(self) -> Label:
        """The copy's fields."""
        return self.fields

    @property
    def failed(self) -> List[Check]:
        """The checks that failed."""
        return [c for c in self.checks if not c.ok]


@dataclass(frozen=True)
class Report(_FromJson):
    """What inspection found in one file. ``verdict`` is ``compliant``, ``non-compliant``,
    ``unlabelled`` or (in ``inspect_many``) ``unreadable``, with ``error`` saying why."""

    file: str
    format: Optional[str]
    verdict: str
    label_class: Optional[str]
    copies: List[LabelCopy]
    error: Optional[str]
    trust: Optional[str] = None
    _json: str = field(default="", repr=False, compare=False)

    @classmethod
    def _parse(cls, text: str) -> "Report":
        d = json.loads(text)
        return cls(
            d["file"],
            d["format"],
            d["verdict"],
            d["class"],
            [LabelCopy._from(c) for c in d["labels"]],
            d["error"],
            d.get("trust"),
            text,
        )

    @property
    def label(self) -> Optional[Label]:
        """The label when the file carries exactly one copy, else ``None``."""
        return self.copies[0].fields if len(self.copies) == 1 else None

    @property
    def is_compliant(self) -> bool:
        """True when the file carries exactly one compliant label."""
        return self.verdict == "compliant"


@dataclass(frozen=True)
class Embedded(_FromJson):
    """What an embed wrote: ``bytes`` in total to ``output``, the label structure at
    ``label_range``; ``notes`` say what the write did to the file's identity (a symlink written
    through, an owner that could not be kept)."""

    file: str
    output: Optional[str]
    format: Optional[str]
    result: str
    bytes: Optional[int]
    label_range: Optional[Tuple[int, int]]
    notes: List[str]
    _json: str = field(default="", repr=False, compare=False)

    @classmethod
    def _parse(cls, text: str) -> "Embedded":
        d = json.loads(text)
        r = d["label_range"]
        return cls(
            d["file"], d["output"], d["format"], d["result"], d["bytes"], (r[0], r[1]) if r else None,
            list(d["notes"]), text,
        )


@dataclass(frozen=True)
class Trace:
    """A trace of generation found in a file without a label (C2PA, IPTC, generator text...)."""

    kind: str
    location: str
    range: Tuple[int, int]
    detail: str


@dataclass(frozen=True)
class Propagated(_FromJson):
    """The platform's step on one file: ``decision`` (``keep``, ``declared``, ``suspected``,
    ``nothing``, ``refused``), the class, whether and where the label was written, and why."""

    file: str
    output: Optional[str]
    decision: str
    label_class: Optional[str]
    written: bool
    reason: str
    traces: List[Trace]
    label: Optional[Label]
    label_range: Optional[Tuple[int, int]]
    notes: List[str]
    _json: str = field(default="", repr=False, compare=False)

    @classmethod
    def _parse(cls, text: str) -> "Propagated":
        d = json.loads(text)
        r = d["label_range"]
        return cls(
            d["file"],
            d["output"],
            d["decision"],
            d["class"],
            d["written"],
            d["reason"],
            [Trace(t["kind"], t["location"], (t["range"][0], t["range"][1]), t["detail"]) for t in d["traces"]],
            Label._from(d["label"]) if d["label"] else None,
            (r[0], r[1]) if r else None,
            list(d["notes"]),
            text,
        )
