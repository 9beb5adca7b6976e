"""The catalog's tables, as SQLAlchemy 2 typed models.

Conventions:

- Every timestamp is a timezone-aware UTC ``datetime`` (:class:`UTCDateTime`): naive values
  are refused when written, and values read back carry ``tzinfo=UTC`` on every database.
- Closed sets of strings (asset kind, job state, review status) are non-native enums: a
  VARCHAR plus a CHECK constraint, the same on SQLite and PostgreSQL. Open sets (generator
  kinds, actions, roles) are plain strings.
- Structured values are the portable ``JSON`` type; nothing here is SQLite-only.
- Constraint names follow :data:`NAMING_CONVENTION`, so migrations can refer to them.

**Append-only tables.** :class:`ReviewEvent` and :class:`AuditEvent` rows can be added, never
changed or deleted. The ORM enforces it: a flush that would UPDATE or DELETE such a row, and an
ORM-enabled bulk ``update()``/``delete()`` against them, raise :class:`AppendOnlyError` (see the
listeners at the bottom of this module). Raw SQL on a bare connection is not policed: keep to
the ORM, and grant the application's database role no UPDATE/DELETE on these tables where the
database supports it (PostgreSQL).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Any, Literal, get_args

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, mapped_column, relationship, validates

from workbench.errors import WorkbenchError

AssetKind = Literal["video", "image", "audio", "document"]
JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
ReviewStatus = Literal["pending", "approved", "rejected", "changes_requested"]

ASSET_KINDS: tuple[str, ...] = get_args(AssetKind)
JOB_STATES: tuple[str, ...] = get_args(JobState)
REVIEW_STATUSES: tuple[str, ...] = get_args(ReviewStatus)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ORIGINAL_NAME_MAX = 255


class AppendOnlyError(WorkbenchError):
    """An attempt to change or delete a review or audit event."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores no offset: UTC is implied)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: give a timezone-aware value, e.g. datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, validate_strings=True, length=32)


def sanitize_original_name(name: str | None) -> str | None:
    """The base name of an uploaded file, without directories, control characters or
    surrounding blanks, NFC-normalised and cut to 255 characters. None stays None."""
    if name is None:
        return None
    name = re.split(r"[\\/]", name)[-1]  # drop any directory part, POSIX or Windows
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")  # controls, NUL, bidi overrides
    name = name.strip().lstrip(".") or None  # no hidden files, no "." / ".."
    return name[:ORIGINAL_NAME_MAX] if name else None


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: sa.JSON(),
        list[Any]: sa.JSON(),
    }


class Asset(Base):
    """A file in the content-addressed store (see :mod:`workbench.store`)."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[AssetKind] = mapped_column(_enum(ASSET_KINDS, "asset_kind"))
    mime: Mapped[str] = mapped_column(sa.String(127))
    ext: Mapped[str] = mapped_column(sa.String(16))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    width: Mapped[int | None]
    height: Mapped[int | None]
    duration_s: Mapped[float | None]
    fps: Mapped[float | None]
    frame_count: Mapped[int | None]
    video_codec: Mapped[str | None] = mapped_column(sa.String(32))
    audio_codec: Mapped[str | None] = mapped_column(sa.String(32))
    has_audio: Mapped[bool] = mapped_column(default=False)
    original_name: Mapped[str | None] = mapped_column(sa.String(ORIGINAL_NAME_MAX))
    c2pa_state: Mapped[str | None] = mapped_column(sa.String(32))  # None: not checked or no manifest
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @validates("original_name")
    def _sanitize_original_name(self, key: str, value: str | None) -> str | None:
        return sanitize_original_name(value)

    def __repr__(self) -> str:
        return f"Asset(id={self.id}, sha256={self.sha256[:12]}, kind={self.kind}, ext={self.ext})"


class Title(Base):
    """A source programme (film, episode, trailer master) and its source asset."""

    __tablename__ = "titles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255), unique=True)
    source_asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    rights: Mapped[dict[str, Any] | None]

    source_asset: Mapped[Asset] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"Title(id={self.id}, name={self.name!r})"


class Analysis(Base):
    """One analysis of a source file, cached by (source hash, analyzer version, params hash).
    ``title_id`` says which title asked for it; the cache itself is keyed by content."""

    __tablename__ = "analyses"
    __table_args__ = (sa.UniqueConstraint("source_sha256", "analyzer_version", "params_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title_id: Mapped[int | None] = mapped_column(sa.ForeignKey("titles.id", ondelete="SET NULL"), index=True)
    source_sha256: Mapped[str] = mapped_column(sa.String(64))
    analyzer_version: Mapped[str] = mapped_column(sa.String(32))
    params_hash: Mapped[str] = mapped_column(sa.String(64))
    params: Mapped[dict[str, Any]]
    timings: Mapped[dict[str, Any]]
    fps: Mapped[float]
    frame_count: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    duration: Mapped[float]
    has_audio: Mapped[bool]
    # What editing needs beyond shots and keyframes, as ``Analysis.to_dict`` writes it:
    # ``video_start``, ``audio`` (speech spans, onsets, beats, tempo, energy curve) and
    # ``face_tracks``. NULL for analyses made before analyzer 1.2.
    signals: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Children go with their analysis; the database deletes them (ON DELETE CASCADE), so
    # replacing an analysis of thousands of keyframes does not load them first.
    shots: Mapped[list[Shot]] = relationship(
        back_populates="analysis", order_by="Shot.index", cascade="all, delete-orphan", passive_deletes=True
    )
    transitions: Mapped[list[Transition]] = relationship(
        back_populates="analysis", order_by="Transition.id", cascade="all, delete-orphan", passive_deletes=True
    )
    keyframes: Mapped[list[Keyframe]] = relationship(
        back_populates="analysis", order_by="Keyframe.id", cascade="all, delete-orphan", passive_deletes=True
    )


class Shot(Base):
    __tablename__ = "shots"
    __table_args__ = (sa.UniqueConstraint("analysis_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    analysis_id: Mapped[int] = mapped_column(sa.ForeignKey("analyses.id", ondelete="CASCADE"))
    index: Mapped[int]
    start_frame: Mapped[int]
    end_frame: Mapped[int]  # exclusive
    start_time: Mapped[float]
    end_time: Mapped[float]
    motion: Mapped[float] = mapped_column(default=0.0)
    loudness_lufs: Mapped[float | None]
    speech_share: Mapped[float] = mapped_column(default=0.0, server_default="0")  # 0..1 of the shot's time

    analysis: Mapped[Analysis] = relationship(back_populates="shots")


class Transition(Base):
    __tablename__ = "transitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    analysis_id: Mapped[int] = mapped_column(sa.ForeignKey("analyses.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # "cut" | "dissolve" | "fade_out" | "fade_in" (open: detectors may add kinds)
    start_frame: Mapped[int]
    end_frame: Mapped[int]
    score: Mapped[float]
    start_time: Mapped[float | None]  # seconds on the analysis clock; NULL before analyzer 1.2
    end_time: Mapped[float | None]  # exclusive
    colour: Mapped[str | None] = mapped_column(sa.String(16))  # a fade's colour: "black" | "white"

    analysis: Mapped[Analysis] = relationship(back_populates="transitions")


class Keyframe(Base):
    """A keyframe; its measurements are JSON as :meth:`workbench.analysis.types.Analysis.to_dict`
    writes them. ``face_count`` and ``motion`` are copied out to be queryable."""

    __tablename__ = "keyframes"

    id: Mapped[int] = mapped_column(primary_key=True)
    analysis_id: Mapped[int] = mapped_column(sa.ForeignKey("analyses.id", ondelete="CASCADE"), index=True)
    shot_index: Mapped[int]
    frame: Mapped[int]
    time: Mapped[float]
    pts: Mapped[int | None] = mapped_column(sa.BigInteger)
    motion: Mapped[float] = mapped_column(default=0.0)
    face_count: Mapped[int] = mapped_column(default=0)
    flags: Mapped[list[Any]]
    features: Mapped[dict[str, Any]]
    faces: Mapped[list[Any]]

    analysis: Mapped[Analysis] = relationship(back_populates="keyframes")


class Brief(Base):
    """What to make for a title: segments, formats, locales, products, durations (``spec``)."""

    __tablename__ = "briefs"

    id: Mapped[int] = mapped_column(primary_key=True)
    title_id: Mapped[int] = mapped_column(sa.ForeignKey("titles.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    spec: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    title: Mapped[Title] = relationship()


class Job(Base):
    """One generation request. ``key`` is a hash of its inputs and recipe (idempotency: the same
    request twice finds the same job)."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(64))
    title_id: Mapped[int] = mapped_column(sa.ForeignKey("titles.id"), index=True)
    brief_id: Mapped[int | None] = mapped_column(sa.ForeignKey("briefs.id", ondelete="SET NULL"), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[JobState] = mapped_column(_enum(JOB_STATES, "job_state"), default="queued", index=True)
    progress: Mapped[float] = mapped_column(default=0.0)  # 0..1
    celery_task_id: Mapped[str | None] = mapped_column(sa.String(255))
    error: Mapped[str | None] = mapped_column(sa.Text)
    attempts: Mapped[int] = mapped_column(default=0)  # deliveries that started running
    retries: Mapped[int] = mapped_column(default=0, server_default="0")  # retries after an unexpected error
    worker: Mapped[str | None] = mapped_column(sa.String(255))  # host:pid running it
    heartbeat_at: Mapped[datetime | None]  # the running worker's last sign of life
    result: Mapped[dict[str, Any] | None]  # small JSON: variant ids, counts
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    requested_by: Mapped[str | None] = mapped_column(sa.String(255))  # who submitted it (0008)
    # a regeneration: the variant whose slot it makes again (0008). No foreign key: variants
    # already name their job, and a key each way would make the two tables a cycle.
    source_variant_id: Mapped[int | None]

    title: Mapped[Title] = relationship()
    brief: Mapped[Brief | None] = relationship()


class Variant(Base):
    """One creative output. Regenerating a slot (title × kind × segment × locale × format, see
    :func:`workbench.catalog.repo.slot_key`) adds a new version; versions count from 1."""

    __tablename__ = "variants"
    # (slot, version): one row per version; (slot, recipe): the same recipe makes one row, however
    # many runs race for it (the database decides, see workbench.catalog.repo.add_variant).
    __table_args__ = (sa.UniqueConstraint("slot_key", "version"), sa.UniqueConstraint("slot_key", "recipe_key"),
                      # the queue's filter choices read from the index alone, not the wide rows (0008)
                      sa.Index("ix_variants_filters", "kind", "segment", "locale", "format"))

    id: Mapped[int] = mapped_column(primary_key=True)
    title_id: Mapped[int] = mapped_column(sa.ForeignKey("titles.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id", ondelete="SET NULL"), index=True)
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(64))
    segment: Mapped[str | None] = mapped_column(sa.String(64))
    locale: Mapped[str | None] = mapped_column(sa.String(35))  # BCP 47
    format: Mapped[str | None] = mapped_column(sa.String(64))
    slot_key: Mapped[str] = mapped_column(sa.String(255))
    version: Mapped[int]
    recipe: Mapped[dict[str, Any]]
    recipe_key: Mapped[str | None] = mapped_column(sa.String(64))  # hash of the recipe (NULL: a pre-0004 duplicate)
    score: Mapped[float | None]
    qa_flags: Mapped[list[Any] | None]  # the kind's QA flags ("overflow", "missing_glyphs"); None or []: none
    review_status: Mapped[ReviewStatus] = mapped_column(
        _enum(REVIEW_STATUSES, "review_status"), default="pending", index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    title: Mapped[Title] = relationship()
    job: Mapped[Job | None] = relationship()
    asset: Mapped[Asset] = relationship(lazy="joined")
    files: Mapped[list[VariantFile]] = relationship(back_populates="variant", order_by="VariantFile.id")

    def __repr__(self) -> str:
        return f"Variant(id={self.id}, slot={self.slot_key!r}, v{self.version}, {self.review_status})"


class VariantFile(Base):
    """A file of a variant besides its primary asset (a sidecar): a cut list, a VAST document,
    a review rendition. The primary's manifest names each one's sha256 in its recipe."""

    __tablename__ = "variant_files"
    __table_args__ = (sa.UniqueConstraint("variant_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(sa.ForeignKey("variants.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(255))
    asset_id: Mapped[int] = mapped_column(sa.ForeignKey("assets.id"))

    variant: Mapped[Variant] = relationship(back_populates="files")
    asset: Mapped[Asset] = relationship(lazy="joined")


class _EventColumns:
    """Columns shared by the append-only event tables."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(64))
    # No ON DELETE: a variant or title with history cannot be deleted out from under it.
    variant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("variants.id"), index=True)
    title_id: Mapped[int | None] = mapped_column(sa.ForeignKey("titles.id"), index=True)
    comment: Mapped[str | None] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any] | None]


class AppendOnly:
    """Marker: rows of subclasses are never updated or deleted (enforced below)."""


class ReviewEvent(AppendOnly, _EventColumns, Base):
    """A review decision on a variant (approve, reject, request changes, comment)."""

    __tablename__ = "review_events"


class AuditEvent(AppendOnly, _EventColumns, Base):
    """Anything worth a trail: ingest, generate, sign, review, export."""

    __tablename__ = "audit_events"


# -- users and login sessions (review UI, see workbench/users.py) -------------------------------


class User(Base):
    """A local account of the review UI and the CLI's ``--as``. ``role`` is one of
    :data:`workbench.access.ROLES` (an open set here, checked in code); ``password_hash`` is an
    argon2id PHC string, never the password. Users are disabled, never deleted: their names stay
    in the audit trail."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    role: Mapped[str] = mapped_column(sa.String(32))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"User(id={self.id}, name={self.name!r}, role={self.role}{', disabled' if self.disabled else ''})"


class LoginSession(Base):
    """A login: only the SHA-256 of its bearer token is stored, so a copy of the catalog does not
    hand out live sessions. Ends at ``expires_at`` or when revoked (logout, user disabled)."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(default=False)

    user: Mapped[User] = relationship(lazy="joined")


class CatalogLock(Base):
    """A named lock (see :func:`workbench.catalog.repo.take_lock`): a transaction that updates its
    row first runs alone among the transactions that take the same lock."""

    __tablename__ = "catalog_locks"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    taken: Mapped[int] = mapped_column(sa.BigInteger, default=0, server_default="0")


class LoginFailure(Base):
    """A failed login, kept for the backoff (see :mod:`workbench.users`); the audit trail has them too."""

    __tablename__ = "login_failures"
    __table_args__ = (sa.Index("ix_login_failures_name", "name", "at"), sa.Index("ix_login_failures_client", "client", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64))  # lower-cased as typed (the account may not exist)
    client: Mapped[str] = mapped_column(sa.String(64))  # the client's address, or "-" when unknown
    at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkerRow(Base):
    """A running worker (``host:pid``), the queues it serves and its last heartbeat (see
    :mod:`workbench.queue`). A killed worker's row stays until it goes stale."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    queues: Mapped[str] = mapped_column(sa.String(255))  # comma-separated
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- review conversations: comments, share links, notifications (0007) -------------------------


class ShareLink(Base):
    """A link for outside reviewers: scoped to ``variant_ids``, ``access`` comment or view,
    until ``expires_at`` or revoked. Only the SHA-256 of its token is stored (as login sessions)."""

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    label: Mapped[str] = mapped_column(sa.String(120))
    variant_ids: Mapped[list[Any]]
    access: Mapped[str] = mapped_column(sa.String(16))  # "comment" or "view"
    created_by: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(sa.String(255))


class Comment(Base):
    """A comment on a variant: a thread starts with ``parent_id`` NULL, replies name it. A pin
    (``pin_x``/``pin_y``, a box with ``pin_w``/``pin_h``, all 0..1 of the picture) or a time
    (``time_start``, a range with ``time_end``, seconds of the video) says what it is about."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int] = mapped_column(sa.ForeignKey("variants.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comments.id"), index=True)
    author: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(64))  # a role, or "guest" (a share link)
    share_id: Mapped[int | None] = mapped_column(sa.ForeignKey("share_links.id"))
    body: Mapped[str] = mapped_column(sa.Text)
    mentions: Mapped[list[Any] | None]
    pin_x: Mapped[float | None]
    pin_y: Mapped[float | None]
    pin_w: Mapped[float | None]
    pin_h: Mapped[float | None]
    time_start: Mapped[float | None]
    time_end: Mapped[float | None]
    resolved: Mapped[bool] = mapped_column(default=False)
    resolved_by: Mapped[str | None] = mapped_column(sa.String(255))
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    """Something for one user to know (a mention, a new version, a finished batch). ``key``
    makes a notification idempotent per recipient (one per new version, say)."""

    __tablename__ = "notifications"
    __table_args__ = (sa.UniqueConstraint("recipient", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(sa.String(64), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))  # mention, new_version, batch
    key: Mapped[str] = mapped_column(sa.String(128))
    text: Mapped[str] = mapped_column(sa.Text)
    variant_id: Mapped[int | None] = mapped_column(sa.ForeignKey("variants.id"))
    comment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("comments.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


# -- append-only enforcement ------------------------------------------------------------------


def _refuse_change(mapper: sa.orm.Mapper, connection: sa.Connection, target: AppendOnly) -> None:
    raise AppendOnlyError(f"{type(target).__name__} rows are append-only: record a new event instead of changing one")


# Per-row: fires inside flush for any UPDATE or DELETE of a ReviewEvent/AuditEvent.
event.listen(AppendOnly, "before_update", _refuse_change, propagate=True)
event.listen(AppendOnly, "before_delete", _refuse_change, propagate=True)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_change(state: ORMExecuteState) -> None:
    """ORM-enabled ``session.execute(update(AuditEvent)...)`` / ``delete(...)`` bypass flush."""
    if not (state.is_update or state.is_delete):
        return
    mapper = state.bind_mapper
    if mapper is not None and issubclass(mapper.class_, AppendOnly):
        verb = "update" if state.is_update else "delete"
        raise AppendOnlyError(f"{mapper.class_.__name__} rows are append-only: bulk {verb} refused")
