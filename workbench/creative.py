"""The low types every layer shares about a creative output: how it was made (Recipe,
EditAction), what it was made from (Ingredient, SourceFrame), where it belongs (Slot), and what a
kind hands back (Output, OutputFile).

Kinds (``generators/``) build these; the workflow signs, stores and catalogues them; provenance
turns them into a C2PA manifest; review and export read them back. Nothing here imports any of
those layers, so each can depend on this module and none on another's internals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from workbench.errors import InvalidInput

Relationship = Literal["parentOf", "componentOf", "inputTo"]


@dataclass(frozen=True)
class EditAction:
    """One C2PA action that a kind performed, in order (``c2pa.cropped``, ``c2pa.resized``,
    ``c2pa.edited`` ...). ``digital_source_type`` is set only when a model made pixels."""

    action: str
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    digital_source_type: str | None = None
    software_agent: dict[str, str] | None = None  # the model that acted, when one did; else the workbench


@dataclass(frozen=True)
class Recipe:
    """Everything needed to say how a file was made and to make it again."""

    generator: str
    generator_version: str
    parameters: dict[str, Any]
    source_sha256: str
    details: dict[str, Any] = field(default_factory=dict)  # frame, score breakdown, crop box, shots...
    seed: int | None = None
    model: dict[str, Any] | None = None  # None means no model ran

    def to_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator,
            "generator_version": self.generator_version,
            "parameters": self.parameters,
            "source_sha256": self.source_sha256,
            "details": self.details,
            "seed": self.seed,
            "model": self.model,
        }


@dataclass(frozen=True)
class SourceFrame:
    """A decoded source frame an output was made from, kept as a high-quality JPEG rendition: it
    identifies the frame, and C2PA hashes each ingredient on every signature (a lossless 1080p PNG
    cost 150 ms to encode and tripled signing time for nothing a reader can see)."""

    frame: int
    time: float
    data: bytes
    mime: str = "image/jpeg"


@dataclass(frozen=True)
class Ingredient:
    """A file an output was made from: the source frame, a source shot, a product image, a music
    bed. ``data`` is the file itself (or a faithful rendition of it)."""

    title: str
    mime: str
    data: bytes = field(repr=False)
    relationship: Relationship = "parentOf"
    metadata: dict[str, Any] | None = None

    @classmethod
    def from_source_frame(cls, frame: SourceFrame, title_name: str, source_sha256: str | None = None,
                          relationship: Relationship = "parentOf") -> Ingredient:
        """The ingredient for a decoded source frame, named after the title and the frame."""
        metadata: dict[str, Any] = {
            "com.creativeworkbench.frame": frame.frame,
            "com.creativeworkbench.time": frame.time,
        }
        if source_sha256:
            metadata["com.creativeworkbench.source_sha256"] = source_sha256
        return cls(title=f"{title_name} — frame {frame.frame}", mime=frame.mime, data=frame.data,
                   relationship=relationship, metadata=metadata)


# -- slots ------------------------------------------------------------------------------------

_PART = re.compile(r"^[A-Za-z0-9_+-]{1,32}$")
_PICK = re.compile(r"^pick([1-9][0-9]{0,3})$")


@dataclass(frozen=True)
class Slot:
    """Where an output belongs: regenerating it makes the slot's next version.

    A slot is a title x kind x ``segment`` x ``locale`` x format cell. The format part is written
    as one key, ``<format>[.<qualifier>...].<output>[.pick<N>]``: a thumbnail's 16:9 second pick as
    JPEG is ``16x9.jpg.pick2``, a 30-second vertical trailer ``9x16.30s.mp4``. This class is the
    one place that builds and parses that key.
    """

    format: str  # the placement / aspect, e.g. "16x9"
    output: str  # the file type, e.g. "jpg", "mp4"
    segment: str | None = None
    locale: str | None = None
    qualifiers: tuple[str, ...] = ()  # e.g. ("30s",): what else tells slots of one format apart
    pick: int | None = None  # the n-th alternative of the same cell (thumbnails' top-k)

    def __post_init__(self) -> None:
        for part in (self.format, self.output, *self.qualifiers):
            if not isinstance(part, str) or not _PART.match(part) or _PICK.match(part):
                raise InvalidInput(f"bad slot part {part!r}: 1-32 letters, digits, '_', '+' or '-'")
        if self.pick is not None and (isinstance(self.pick, bool) or not isinstance(self.pick, int) or not 1 <= self.pick <= 9999):
            raise InvalidInput(f"bad slot pick {self.pick!r}: 1 to 9999")

    @property
    def format_key(self) -> str:
        parts = [self.format, *self.qualifiers, self.output]
        if self.pick is not None:
            parts.append(f"pick{self.pick}")
        return ".".join(parts)

    @classmethod
    def parse(cls, format_key: str, segment: str | None = None, locale: str | None = None) -> Slot:
        """The slot a stored ``format`` column (and the row's segment and locale) stands for."""
        if not isinstance(format_key, str) or not format_key:
            raise InvalidInput(f"bad slot format {format_key!r}")
        parts = format_key.split(".")
        pick = None
        if len(parts) > 1 and (m := _PICK.match(parts[-1])):
            pick, parts = int(m.group(1)), parts[:-1]
        if len(parts) < 2:
            raise InvalidInput(f"bad slot format {format_key!r}: expected <format>.<output>[.pick<N>]")
        return cls(format=parts[0], output=parts[-1], segment=segment, locale=locale,
                   qualifiers=tuple(parts[1:-1]), pick=pick)

    @classmethod
    def placement_of(cls, format_key: str | None) -> str | None:
        """The placement of a stored format (``16x9`` of ``16x9.jpg.pick1``), tolerant of old rows."""
        return format_key.split(".", 1)[0] if format_key else None

    @property
    def label(self) -> str:
        """As people say it: ``16x9 pick 2``, ``9x16 30s``."""
        words = [self.format, *self.qualifiers]
        if self.pick is not None:
            words.append(f"pick {self.pick}")
        return " ".join(words)

    def sort_key(self) -> tuple:
        """Placement, then qualifiers and pick by number (2 before 10), then the output type."""
        def natural(text: str) -> tuple:
            return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text))
        return (self.format, tuple(natural(q) for q in self.qualifiers), self.pick or 0, self.output)


def slot_key(title_id: int, kind: str, segment: str | None, locale: str | None, format: str | None) -> str:
    """The variant slot's catalog key: ``"<title>/<kind>/<segment>/<locale>/<format>"``, ``-`` for
    an unset part. Versions of the same creative share a slot."""
    parts = [str(title_id), kind, segment or "-", locale or "-", format or "-"]
    for part in parts:
        if "/" in part or not part:
            raise InvalidInput(f"bad variant slot part {part!r}: must be non-empty and contain no '/'")
    return "/".join(parts)


def slot_label(format_key: str | None) -> str:
    """A stored format as people say it (unparseable old values are shown as they are)."""
    if not format_key:
        return "–"
    try:
        return Slot.parse(format_key).label
    except InvalidInput:
        return format_key


def slot_sort_key(format_key: str | None) -> tuple:
    if not format_key:
        return ("",)
    try:
        return Slot.parse(format_key).sort_key()
    except InvalidInput:
        return (format_key,)


# -- what a kind hands back -----------------------------------------------------------------------


@dataclass(frozen=True)
class OutputFile:
    """One file of an output: the primary (the signed creative) or a sidecar (a trailer's cut
    list, an ad's VAST document, a review rendition). ``role`` names it within the output."""

    path: Path
    mime: str
    role: str = "primary"
    width: int | None = None
    height: int | None = None
    duration: float | None = None  # seconds, for time-based media


@dataclass(frozen=True)
class Rendition:
    """Another encoding of the primary file (a 720p copy for review): signed after the primary,
    with the signed primary as its parent ingredient and ``actions`` saying what changed."""

    file: OutputFile
    actions: tuple[EditAction, ...]


@dataclass(frozen=True)
class Output:
    """A creative variant as a kind made it, before it is signed, stored and catalogued."""

    primary: OutputFile
    slot: Slot
    recipe: Recipe
    actions: tuple[EditAction, ...]  # after c2pa.opened on the parent ingredient, in order
    ingredients: tuple[Ingredient, ...]  # the parentOf one first (if any), then components/inputs
    sidecars: tuple[OutputFile, ...] = ()  # unsigned companions (cut lists, VAST): the primary's manifest names their hashes
    score: float | None = None
    qa_flags: tuple[str, ...] = ()  # e.g. "overflow", "missing_glyphs": shown in review, gate batch approval
    renditions: tuple[Rendition, ...] = ()  # signed copies derived from the primary

    def slot_key(self, title_id: int, kind: str) -> str:
        return slot_key(title_id, kind, self.slot.segment, self.slot.locale, self.slot.format_key)

    @property
    def parent(self) -> Ingredient | None:
        return next((i for i in self.ingredients if i.relationship == "parentOf"), None)

    @property
    def components(self) -> tuple[Ingredient, ...]:
        parent = self.parent
        return tuple(i for i in self.ingredients if i is not parent)
