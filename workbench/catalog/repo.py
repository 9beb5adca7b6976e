"""Small typed queries over the catalog, shared by the CLI, the workers and the UI.

Each takes an open session (see :meth:`workbench.catalog.db.Catalog.session`) and neither
commits nor opens one itself: the caller's ``with catalog.session()`` block is the transaction.
Functions that create rows flush, so ids are set and constraint errors surface at the call.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from workbench.analysis import types as atypes
from workbench.catalog.models import Analysis, Asset, AuditEvent, CatalogLock, Keyframe, Shot, Title, Transition, Variant
from workbench.creative import slot_key  # noqa: F401  (the catalog's slot keys: one builder, there)
from workbench.errors import InvalidInput, NotFound
from workbench.ids import MAX_ID, is_id_text, shown


def stable_hash(value: Any) -> str:
    """SHA-256 of the canonical JSON of ``value`` (sorted keys, no spaces): the same data gives
    the same hash in every process. Used for analysis params hashes and job keys."""
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"cannot hash {type(value).__name__}: only JSON data (dict, list, str, finite numbers) is hashable: {exc}") from None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def params_hash(params: Mapping[str, Any]) -> str:
    """The key an analysis is cached under, beside the source hash and analyzer version."""
    return stable_hash(dict(params))


# -- assets and titles ------------------------------------------------------------------------


def add_asset_if_absent(session: Session, **fields: Any) -> Asset:
    """The asset with ``fields["sha256"]``, inserted from ``fields`` if the catalog has none
    (the existing row is returned unchanged: same bytes, same asset)."""
    sha256 = fields.get("sha256")
    if not sha256:
        raise InvalidInput("add_asset_if_absent needs sha256=")
    existing = get_asset_by_sha256(session, sha256)
    if existing is not None:
        return existing
    asset = Asset(**fields)
    session.add(asset)
    session.flush()
    return asset


def get_asset_by_sha256(session: Session, sha256: str) -> Asset | None:
    return session.scalars(sa.select(Asset).where(Asset.sha256 == sha256)).one_or_none()


def create_title(session: Session, name: str, source_asset: Asset, rights: dict[str, Any] | None = None) -> Title:
    name = name.strip()
    if not name:
        raise InvalidInput("a title needs a non-empty name")
    taken = session.scalars(sa.select(Title).where(Title.name == name)).one_or_none()
    if taken is not None:
        raise InvalidInput(f"a title named {name!r} already exists (id {taken.id}); choose another name")
    title = Title(name=name, source_asset=source_asset, rights=rights)
    session.add(title)
    session.flush()
    return title


def get_title(session: Session, ref: int | str) -> Title:
    """A title by id or exact name. A string is tried as a name first (a film may be called
    "1917"), then as an id if it is all digits."""
    title: Title | None = None
    if isinstance(ref, str):
        title = session.scalars(sa.select(Title).where(Title.name == ref)).one_or_none()
        if title is None and is_id_text(ref):
            title = session.get(Title, int(ref))
    elif isinstance(ref, int) and not isinstance(ref, bool) and 1 <= ref <= MAX_ID:
        title = session.get(Title, ref)
    if title is None:
        raise NotFound(f"no title {shown(ref)}; run `workbench ingest` first or see `workbench titles`")
    return title


def find_title(session: Session, name: str) -> Title | None:
    """The title with exactly this name, or None."""
    return session.scalars(sa.select(Title).where(Title.name == name)).one_or_none()


def list_titles(session: Session) -> list[Title]:
    return list(session.scalars(sa.select(Title).order_by(Title.id)))


# -- analysis ---------------------------------------------------------------------------------


def save_analysis(session: Session, title: Title | None, analysis: atypes.Analysis) -> Analysis:
    """Store an analysis, replacing any stored one for the same source, analyzer version and
    params (its shots, transitions and keyframes go with it)."""
    key = params_hash(analysis.params)
    # 1. drop the old result; flush so its unique key is free before the new row goes in
    old = _find_analysis(session, analysis.source_sha256, analysis.analyzer_version, key)
    if old is not None:
        session.delete(old)
        session.flush()
    # 2. the new rows; keyframe measurements are stored as to_dict() writes them
    data = analysis.to_dict()
    row = Analysis(
        title_id=title.id if title is not None else None,
        source_sha256=analysis.source_sha256,
        analyzer_version=analysis.analyzer_version,
        params_hash=key,
        params=data["params"],
        timings=data["timings"],
        fps=analysis.fps,
        frame_count=analysis.frame_count,
        width=analysis.width,
        height=analysis.height,
        duration=analysis.duration,
        has_audio=analysis.has_audio,
        signals={"video_start": data["video_start"], "audio": data["audio"], "face_tracks": data["face_tracks"]},
        shots=[Shot(**s) for s in data["shots"]],
        transitions=[Transition(**t) for t in data["transitions"]],
        keyframes=[
            Keyframe(
                shot_index=k["shot"],
                frame=k["frame"],
                time=k["time"],
                pts=k["pts"],
                motion=k["motion"],
                face_count=len(k["faces"]),
                flags=k["flags"],
                features=k["features"],
                faces=k["faces"],
            )
            for k in data["keyframes"]
        ],
    )
    session.add(row)
    session.flush()
    return row


def load_analysis(
    session: Session, source_sha256: str, analyzer_version: str, params_hash: str
) -> atypes.Analysis | None:
    """The stored analysis rebuilt as the dataclass, or None when none is cached."""
    row = _find_analysis(session, source_sha256, analyzer_version, params_hash, load_children=True)
    if row is None:
        return None
    return analysis_from_row(row)


def analysis_from_row(row: Analysis) -> atypes.Analysis:
    signals = row.signals or {}  # NULL: an analysis stored before analyzer 1.2
    return atypes.Analysis.from_dict(
        {
            "source_sha256": row.source_sha256,
            "fps": row.fps,
            "frame_count": row.frame_count,
            "width": row.width,
            "height": row.height,
            "duration": row.duration,
            "has_audio": row.has_audio,
            "analyzer_version": row.analyzer_version,
            "params": row.params,
            "timings": row.timings,
            "video_start": signals.get("video_start", 0.0),
            "audio": signals.get("audio"),
            "face_tracks": signals.get("face_tracks", ()),
            "shots": [
                {
                    "index": s.index,
                    "start_frame": s.start_frame,
                    "end_frame": s.end_frame,
                    "start_time": s.start_time,
                    "end_time": s.end_time,
                    "motion": s.motion,
                    "loudness_lufs": s.loudness_lufs,
                    "speech_share": s.speech_share,
                }
                for s in row.shots
            ],
            "transitions": [
                {"kind": t.kind, "start_frame": t.start_frame, "end_frame": t.end_frame, "score": t.score,
                 "start_time": t.start_time, "end_time": t.end_time, "colour": t.colour}
                for t in row.transitions
            ],
            "keyframes": [
                {
                    "frame": k.frame,
                    "time": k.time,
                    "pts": k.pts,
                    "shot": k.shot_index,
                    "features": k.features,
                    "faces": k.faces,
                    "motion": k.motion,
                    "flags": k.flags,
                }
                for k in row.keyframes
            ],
        }
    )


def _find_analysis(
    session: Session, source_sha256: str, analyzer_version: str, key: str, load_children: bool = False
) -> Analysis | None:
    query = sa.select(Analysis).where(
        Analysis.source_sha256 == source_sha256,
        Analysis.analyzer_version == analyzer_version,
        Analysis.params_hash == key,
    )
    if load_children:
        query = query.options(
            selectinload(Analysis.shots), selectinload(Analysis.transitions), selectinload(Analysis.keyframes)
        )
    return session.scalars(query).one_or_none()


# -- variants and audit -----------------------------------------------------------------------


def next_variant_version(session: Session, slot_key: str) -> int:
    """1 for an empty slot, else one more than the newest version."""
    newest = session.scalar(sa.select(sa.func.max(Variant.version)).where(Variant.slot_key == slot_key))
    return (newest or 0) + 1


def add_variant(
    session: Session,
    *,
    title: Title,
    asset: Asset,
    kind: str,
    recipe: Mapping[str, Any],
    segment: str | None = None,
    locale: str | None = None,
    format: str | None = None,
    job_id: int | None = None,
    score: float | None = None,
    recipe_key: str | None = None,
) -> Variant:
    """A new ``pending`` variant as the next version of its slot. Two writers racing for the
    same slot make the second flush fail on the (slot_key, version) unique constraint, and two
    writers of the same recipe (``recipe_key``, default ``recipe["recipe_key"]``) on the
    (slot_key, recipe_key) one (IntegrityError): retry the caller's transaction."""
    key = slot_key(title.id, kind, segment, locale, format)
    if recipe_key is None and isinstance(recipe.get("recipe_key"), str):
        recipe_key = recipe["recipe_key"]
    variant = Variant(
        title=title,
        asset=asset,
        job_id=job_id,
        kind=kind,
        segment=segment,
        locale=locale,
        format=format,
        slot_key=key,
        version=next_variant_version(session, key),
        recipe=dict(recipe),
        recipe_key=recipe_key,
        score=score,
        review_status="pending",
    )
    session.add(variant)
    session.flush()
    return variant


def find_variant_by_recipe(session: Session, slot: str, recipe_key: str) -> Variant | None:
    """The version of the slot made from this recipe, if any (the same recipe makes one row and one
    file: regenerating the same thing makes no second version)."""
    return session.scalars(
        sa.select(Variant).where(Variant.slot_key == slot, Variant.recipe_key == recipe_key)
    ).one_or_none()


def get_variants(session: Session, ids: Sequence[int]) -> Sequence[Variant]:
    """Variants by id, in id order."""
    return session.scalars(sa.select(Variant).where(Variant.id.in_(list(ids))).order_by(Variant.id)).all()


def list_variants(session: Session, slot_key: str) -> Sequence[Variant]:
    """Every version in a slot, oldest first."""
    return session.scalars(sa.select(Variant).where(Variant.slot_key == slot_key).order_by(Variant.version)).all()


def take_lock(session: Session, name: str) -> None:
    """Hold the named lock until the caller's transaction ends. Call it first in the transaction:
    it updates the lock's row, so a second holder waits on SQLite (the write lock) and on
    PostgreSQL (the row lock) until the first commits, and then reads what the first wrote."""
    bumped = session.execute(
        sa.update(CatalogLock).where(CatalogLock.name == name).values(taken=CatalogLock.taken + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    if bumped != 1:  # a lock no migration seeded: create it, then take it
        insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
        session.execute(insert(CatalogLock).values(name=name, taken=1).on_conflict_do_nothing(index_elements=["name"]))
        session.execute(sa.update(CatalogLock).where(CatalogLock.name == name).values(taken=CatalogLock.taken + 1)
                        .execution_options(synchronize_session=False))


def record_audit(
    session: Session,
    actor: str,
    role: str,
    action: str,
    *,
    variant: Variant | None = None,
    title: Title | None = None,
    comment: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event (append-only: it can never be changed afterwards)."""
    if variant is not None and title is None:
        title_id = variant.title_id
    else:
        title_id = title.id if title is not None else None
    audit = AuditEvent(
        actor=actor,
        role=role,
        action=action,
        variant_id=variant.id if variant is not None else None,
        title_id=title_id,
        comment=comment,
        details=dict(details) if details is not None else None,
    )
    session.add(audit)
    session.flush()
    return audit
