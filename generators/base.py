"""The one small interface every generator implements.

A generator never talks to Celery, the catalog or C2PA: it reads an Analysis and the source
frames, renders files into a directory it is given, and returns them with their recipe and the
list of edit actions that made them. The caller stores and signs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from workbench.errors import InvalidInput


@dataclass(frozen=True)
class EditAction:
    """One C2PA action that a generator performed, in order (``c2pa.cropped``, ``c2pa.resized``,
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
    details: dict[str, Any] = field(default_factory=dict)  # frame, score breakdown, crop box...
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
    """The decoded source frame a file was made from: the parent ingredient of its manifest.

    Kept as a high-quality JPEG rendition: it identifies the frame, and C2PA hashes the
    ingredient on every signature (a lossless 1080p PNG cost 150 ms to encode and tripled
    signing time for nothing a reader can see)."""

    frame: int
    time: float
    data: bytes
    mime: str = "image/jpeg"


@dataclass(frozen=True)
class GeneratedFile:
    path: Path
    kind: str
    mime: str
    width: int
    height: int
    recipe: Recipe
    actions: tuple[EditAction, ...]
    source_frame: SourceFrame
    segment: str | None = None
    format: str | None = None  # placement / aspect name, e.g. "16x9"
    locale: str | None = None


class Generator(Protocol):
    kind: ClassVar[str]
    version: ClassVar[str]

    def check_inputs(self, analysis: Any, params: Any) -> None:
        """Fail fast with InvalidInput before any expensive work."""

    def generate(self, analysis: Any, source_path: Path, params: Any, out_dir: Path) -> list[GeneratedFile]:
        """Render files into out_dir and return them with their recipes."""


registry: dict[str, type] = {}


def register(cls: type) -> type:
    registry[cls.kind] = cls
    return cls


def get_generator(kind: str) -> Generator:
    try:
        return registry[kind]()
    except KeyError:
        raise InvalidInput(f"unknown generator {kind!r}; known: {', '.join(sorted(registry))}") from None
