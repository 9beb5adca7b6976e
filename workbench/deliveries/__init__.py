"""What ad ops receive for an approved variant: one small interface the export core drives.

A kind says which deliveries an approved variant gets (:meth:`generators.base.CreativeKind.deliveries`);
each :class:`Delivery` writes one file into the export's staging folder and can describe itself
beforehand for the Export page's preview. The kinds of delivery live here, one module each:

- :func:`own_files` (this module): the approved file itself, byte for byte, and its sidecars;
- :mod:`.stills`: IAB display sizes and the pause-ad still, cut and re-signed from an approved image.

The export core (``workbench/export.py``) selects, verifies, calls the deliveries, packs and audits.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.analysis.types import Box, Face
from workbench.names import safe_filename

if TYPE_CHECKING:
    from workbench.variants import VariantRow
    from workbench.settings import Settings


@dataclass(frozen=True)
class StoredSidecar:
    """A sidecar file of a variant (a cut list, a VAST document) as stored."""

    role: str
    name: str
    path: Path
    sha256: str
    mime: str


@dataclass
class ApprovedVariant:
    """An approved variant on its way out: its row, who approved it, the verified bytes of its
    file, its sidecars and, for images, where the faces are in it (normalised)."""

    row: VariantRow
    approver: str | None = None
    approver_role: str | None = None
    approved_at: str | None = None
    data: bytes = b""
    c2pa_state: str | None = None
    reason: str | None = None  # set: blocked, with why
    sidecars: list[StoredSidecar] = field(default_factory=list)
    faces: tuple[Face, ...] = ()
    saliency: Box | None = None
    summary: str = ""  # one line saying how it was made (its kind's explanation)

    def own_files(self, folder: str = "") -> list[Delivery]:
        """The approved file itself and each of its sidecars (the default deliveries of a kind)."""
        return own_files(self, folder)

    @property
    def base_name(self) -> str:
        """``<title>_<kind>_<segment>_<locale>_<format>_v<N>_id<ID>``: safe on any file system."""
        row = self.row
        parts = [row.title_name, row.kind, row.segment, row.locale, (row.format or "").replace(".", "-")]
        base = "_".join(safe_filename(p, 40) for p in parts if p)
        return f"{base}_v{row.version}_id{row.id}"


@dataclass(frozen=True)
class ExportedFile:
    path: Path  # in the export folder
    arcname: str  # its path inside the zip
    variant_id: int
    delivery: str  # "own", a still spec name ("display_300x250"), a sidecar role
    width: int
    height: int
    mime: str
    sha256: str
    bytes: int
    resigned: bool  # False: the approved file itself, byte for byte
    crop: dict[str, Any] | None = None  # the window cut from the approved file (resigned files)


@dataclass(frozen=True)
class ExportContext:
    """What a delivery needs to write its file: the staging folder, the signing identity, when."""

    staging: Path
    identity: Any
    exported_at: datetime
    settings: Settings


@dataclass(frozen=True)
class DeliveryPreview:
    delivery: str
    width: int
    height: int
    box: tuple[int, int, int, int] | None  # the window cut from the approved file (x0, y0, x1, y1); None: as is
    faces_kept: int
    faces_total: int
    strategy: str

    @property
    def cuts_a_face(self) -> bool:
        return self.faces_kept < self.faces_total


class Delivery(ABC):
    """One file an approved variant is delivered as."""

    name: str  # what the manifest calls it

    @abstractmethod
    def preview(self) -> DeliveryPreview:
        """What it will be, before anything is written."""

    @abstractmethod
    def write(self, ctx: ExportContext) -> ExportedFile:
        """Write it into ``ctx.staging``."""


def write_bytes(ctx: ExportContext, arcname: str, data: bytes, approved: ApprovedVariant, delivery: str,
                width: int, height: int, mime: str, *, resigned: bool = False,
                crop: dict[str, Any] | None = None) -> ExportedFile:
    path = ctx.staging / arcname
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return ExportedFile(path, arcname, approved.row.id, delivery, width, height, mime, hashlib.sha256(data).hexdigest(),
                        len(data), resigned, crop)


def describe(ctx: ExportContext, arcname: str, approved: ApprovedVariant, delivery: str, width: int, height: int,
             mime: str, *, resigned: bool, crop: dict[str, Any] | None = None) -> ExportedFile:
    """The ExportedFile of a file a delivery already wrote at ``arcname``."""
    path = ctx.staging / arcname
    data = path.read_bytes()
    return ExportedFile(path, arcname, approved.row.id, delivery, width, height, mime, hashlib.sha256(data).hexdigest(),
                        len(data), resigned, crop)


@dataclass
class OwnFile(Delivery):
    """The approved file, byte for byte (its own manifest; its checksum is the catalog's)."""

    approved: ApprovedVariant
    folder: str = ""

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.approved.row.kind  # "thumbnail": the variant as approved

    def preview(self) -> DeliveryPreview:
        row = self.approved.row
        n = len(self.approved.faces)
        return DeliveryPreview(self.name, row.width or 0, row.height or 0, None, n, n, "own")

    def write(self, ctx: ExportContext) -> ExportedFile:
        row = self.approved.row
        folder = self.folder or row.kind
        return write_bytes(ctx, f"{folder}/{self.approved.base_name}{row.ext}", self.approved.data, self.approved,
                           self.name, row.width or 0, row.height or 0, row.mime)


@dataclass
class SidecarFile(Delivery):
    """A sidecar (cut list, VAST document, hotspot JSON), as stored and checked against its hash."""

    approved: ApprovedVariant
    sidecar: StoredSidecar
    folder: str = ""

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.sidecar.role

    def preview(self) -> DeliveryPreview:
        return DeliveryPreview(self.name, 0, 0, None, 0, 0, "own")

    def arcname(self) -> str:
        folder = self.folder or self.approved.row.kind
        suffix = Path(self.sidecar.name).suffix
        return f"{folder}/{self.approved.base_name}_{safe_filename(self.sidecar.role, 30)}{suffix}"

    def write(self, ctx: ExportContext) -> ExportedFile:
        data = self.sidecar.path.read_bytes()
        if hashlib.sha256(data).hexdigest() != self.sidecar.sha256:
            raise ValueError(f"sidecar {self.sidecar.name} was altered after approval")
        return write_bytes(ctx, self.arcname(), data, self.approved, self.name, 0, 0, self.sidecar.mime)


def own_files(approved: ApprovedVariant, folder: str = "") -> list[Delivery]:
    """The approved file itself and each of its sidecars."""
    return [OwnFile(approved, folder), *(SidecarFile(approved, s, folder) for s in approved.sidecars)]


def prepare(items: list[ApprovedVariant], settings: Settings) -> None:
    """What deliveries read from the catalog, loaded once for the whole export (faces and
    saliency of images)."""
    from workbench.deliveries.stills import load_geometry

    load_geometry([i for i in items if i.row.mime.startswith("image/")], settings)
