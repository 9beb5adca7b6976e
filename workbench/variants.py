"""A variant as the review pages, the export and the deliveries read it: plain values out of the
catalog (no ORM objects), and the one query that builds them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from workbench.catalog.models import Asset, Title, Variant
from workbench.creative import Slot, slot_label
from workbench.store import AssetStore


@dataclass(frozen=True)
class VariantRow:
    """One variant as the review pages show it (plain values, no ORM objects)."""

    id: int
    title_id: int
    title_name: str
    kind: str
    segment: str | None
    locale: str | None
    format: str | None  # the slot's format, e.g. "16x9.jpg.pick1"
    slot_key: str
    version: int
    status: str
    score: float | None
    sha256: str
    ext: str
    mime: str
    width: int | None
    height: int | None
    file_path: Path  # where the stored file lives (it may be missing or altered: see variant_detail)
    created_at: str  # ISO 8601, UTC
    recipe: dict[str, Any]
    job_id: int | None
    qa_flags: tuple[str, ...] = ()

    @property
    def placement(self) -> str | None:
        """The format without the output type and pick: ``"16x9"`` for ``"16x9.jpg.pick1"``."""
        return Slot.placement_of(self.format)

    @property
    def slot_label(self) -> str:
        """The slot's format as people say it: ``16x9 pick 2``."""
        return slot_label(self.format)

    @property
    def is_video(self) -> bool:
        return self.mime.startswith("video/")


def row_columns() -> tuple[Any, ...]:
    return (
        Variant.id, Variant.title_id, Title.name, Variant.kind, Variant.segment, Variant.locale, Variant.format,
        Variant.slot_key, Variant.version, Variant.review_status, Variant.score, Asset.sha256, Asset.ext, Asset.mime,
        Asset.width, Asset.height, Variant.created_at, Variant.recipe, Variant.job_id, Variant.qa_flags,
    )


def row_select() -> sa.Select:
    return sa.select(*row_columns()).join(Title, Title.id == Variant.title_id).join(Asset, Asset.id == Variant.asset_id)


def to_row(r: Sequence[Any], store: AssetStore) -> VariantRow:
    (vid, title_id, title_name, kind, segment, locale, fmt, slot, version, status, score, sha, ext, mime,
     width, height, created_at, recipe, job_id, qa_flags) = tuple(r)[:20]
    return VariantRow(
        id=vid, title_id=title_id, title_name=title_name, kind=kind, segment=segment, locale=locale, format=fmt,
        slot_key=slot, version=version, status=status, score=score, sha256=sha, ext=ext, mime=mime, width=width,
        height=height, file_path=store.path_for(sha, ext), created_at=created_at.isoformat(), recipe=recipe or {},
        job_id=job_id, qa_flags=tuple(qa_flags or ()),
    )
