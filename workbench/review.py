"""Review: the queue, side-by-side compare, a variant's provenance, decisions, and the audit trail.

Every decision goes through :func:`decide`, which checks the actor's permission, validates the
whole batch before changing anything, and writes the status change, one :class:`ReviewEvent`
and one :class:`AuditEvent` per variant in one transaction. Pages of the review UI and the CLI
call these functions and hold no rules of their own.

**Review states.** ``pending -> approved | rejected | changes_requested``. Reviewers (creative,
localization, admin) decide pending variants. A decided variant keeps its decision: changing it
(for instance withdrawing an approval) is for an admin, and is recorded like any decision.
``changes_requested`` is answered by a new version of the slot, which starts as ``pending``.
Reject and request-changes need a comment. Any version of a slot can be decided; export takes
the newest approved version of each slot.

Comments are stored exactly as given (the UI escapes them when it shows them); they may hold
line breaks and tabs, not other control characters, and at most :data:`COMMENT_MAX` characters.
"""

from __future__ import annotations

import csv
import io
import json
import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from datetime import datetime
from typing import Any, Literal, get_args

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from generators.base import Explanation, Inspection
from provenance import VerifyReport, trust_anchors_for
from workbench.access import Actor, PermissionDenied, require
from workbench.catalog import open_catalog, repo
from workbench.catalog.models import (
    REVIEW_STATUSES,
    Asset,
    AuditEvent,
    ReviewEvent,
    Title,
    Variant,
)
from workbench.errors import InvalidInput, NotFound, WorkbenchError
from workbench.ids import MAX_ID, check_id
from workbench.settings import Settings, get_settings
from workbench.creative import Slot, slot_sort_key
from workbench.variants import VariantRow, row_select, to_row
from workbench.store import AssetStore
from workbench.verification import check_stored

Decision = Literal["approve", "reject", "request_changes"]
DECISIONS: tuple[str, ...] = get_args(Decision)
DECISION_STATUS: dict[str, str] = {"approve": "approved", "reject": "rejected", "request_changes": "changes_requested"}
COMMENT_REQUIRED = ("reject", "request_changes")
COMMENT_MAX = 2000
MAX_BATCH = 1000
PER_PAGE_MAX = 500
AUDIT_LIMIT_MAX = 100_000
CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


class DecisionConflict(WorkbenchError):
    """A variant changed (another reviewer decided it) between reading and deciding: reload."""


# -- views ------------------------------------------------------------------------------------


@dataclass
class VariantFilter:
    title: str | None = None  # name or id
    kind: str | None = None
    segment: str | None = None
    locale: str | None = None
    status: str | None = None  # one of REVIEW_STATUSES
    format: str | None = None  # a placement ("16x9") or a full slot format ("16x9.jpg.pick1")
    version: Literal["latest", "all"] = "latest"  # latest: the newest version of each slot only
    ids: list[int] | None = None
    flag: str | None = None  # a QA flag ("overflow"), or FLAGGED_ANY: any flag at all, or NO_FLAGS: none
    search: str | None = None  # words found in the title, kind, segment, locale or format; "#12" is an id
    job: int | None = None  # the variants a job made (or found made by the same recipe), by its result


Sort = Literal["newest", "score", "flags"]
SORTS: tuple[str, ...] = get_args(Sort)
FLAGGED_ANY = "*"  # the flag filter's "any flag" value
NO_FLAGS = "-"  # the flag filter's "no flags" value
SEARCH_MAX = 100


@dataclass
class Page:
    items: list[VariantRow]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


@dataclass(frozen=True)
class SlotGroup:
    """Every version of one slot (title x kind x segment x locale x format), oldest first."""

    slot_key: str
    kind: str
    segment: str | None
    locale: str | None
    format: str | None
    versions: list[VariantRow]

    @property
    def latest(self) -> VariantRow:
        return self.versions[-1]


@dataclass(frozen=True)
class ReviewEventView:
    id: int
    at: str
    actor: str
    role: str
    action: str
    variant_id: int | None
    title_id: int | None
    comment: str | None
    details: dict[str, Any] | None


@dataclass(frozen=True)
class AuditView:
    id: int
    at: str
    actor: str
    role: str
    action: str
    title_id: int | None
    title_name: str | None
    variant_id: int | None
    comment: str | None
    details: dict[str, Any] | None


@dataclass(frozen=True)
class ProvenanceView:
    """A plain summary of a file's C2PA manifest for the provenance panel."""

    state: str  # Trusted, Valid, Invalid, Unsigned, or Missing (the stored file is gone)
    codes: list[str]
    detail: str | None = None
    signer: str | None = None
    issuer: str | None = None
    claim_generator: str | None = None
    signed_at: str | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)  # action, description, digital_source_type, parameters
    digital_source_types: list[str] = field(default_factory=list)  # empty: no AI claim
    ingredients: list[dict[str, Any]] = field(default_factory=list)  # title, relationship, mime
    training_mining: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VariantDetail:
    row: VariantRow
    report: VerifyReport | None  # None when the stored file is missing
    provenance: ProvenanceView
    file_intact: bool | None  # the stored file still has the catalog's sha256 (None: missing)
    versions: list[VariantRow]
    events: list[ReviewEventView]
    explanation: Explanation
    files: dict[str, Path] = field(default_factory=dict)  # the variant's other files by role (cut lists, review copy)
    inspection: Inspection = field(default_factory=Inspection)  # what the kind read off the stored file


# -- queries ----------------------------------------------------------------------------------


def _title_clause(session: Session, title: str | int) -> sa.ColumnElement[bool]:
    """A WHERE clause for a title by name or id; NotFound when there is none."""
    return Variant.title_id == repo.get_title(session, title).id


_NEWER = aliased(Variant, name="newer")  # made once: adapting a fresh alias's columns costs ms per query


def _latest_only() -> sa.ColumnElement[bool]:
    newest = sa.select(sa.func.max(_NEWER.version)).where(_NEWER.slot_key == Variant.slot_key).scalar_subquery()
    return Variant.version == newest


def _filter_clauses(session: Session, f: VariantFilter) -> list[sa.ColumnElement[bool]]:
    # 1. check the filter values themselves
    if f.status is not None and f.status not in REVIEW_STATUSES:
        raise InvalidInput(f"unknown status {f.status!r}; statuses: {', '.join(REVIEW_STATUSES)}")
    if f.version not in ("latest", "all"):
        raise InvalidInput(f"version must be 'latest' or 'all', got {f.version!r}")
    if f.ids is not None and not all(isinstance(i, int) and not isinstance(i, bool) for i in f.ids):
        raise InvalidInput("ids must be integers")
    # 2. build the clauses
    clauses: list[sa.ColumnElement[bool]] = []
    if f.title not in (None, ""):
        clauses.append(_title_clause(session, f.title))
    for column, value in ((Variant.kind, f.kind), (Variant.segment, f.segment), (Variant.locale, f.locale),
                          (Variant.review_status, f.status)):
        if value not in (None, ""):
            clauses.append(column == value)
    if f.format:
        clauses.append(sa.or_(Variant.format == f.format, Variant.format.startswith(f.format + ".", autoescape=True)))
    if f.ids is not None:
        clauses.append(Variant.id.in_(list(f.ids)))
    if f.flag not in (None, ""):
        clauses.append(_flag_clause(f.flag))
    if f.search not in (None, ""):
        clauses.append(_search_clause(f.search))
    if f.job is not None:
        clauses.append(Variant.id.in_(_job_variants(session, f.job)))
    if f.version == "latest":
        clauses.append(_latest_only())
    return clauses


def _job_variants(session: Session, job_id: int) -> list[int]:
    from workbench.catalog.models import Job

    job = session.get(Job, check_id(job_id, "job id"))
    if job is None:
        raise NotFound(f"no job {job_id}")
    return [int(v) for v in (job.result or {}).get("variants") or []]


def _flags_text() -> sa.ColumnElement[str]:
    return sa.func.coalesce(sa.cast(Variant.qa_flags, sa.String), "")


def _has_flags() -> sa.ColumnElement[bool]:
    return sa.and_(Variant.qa_flags.is_not(None), _flags_text().not_in(["", "[]", "null"]))


def _flag_clause(flag: str) -> sa.ColumnElement[bool]:
    if not isinstance(flag, str) or len(flag) > 64:
        raise InvalidInput("a QA flag filter is a flag's name")
    if flag == FLAGGED_ANY:
        return _has_flags()
    if flag == NO_FLAGS:
        return sa.not_(_has_flags())
    return _flags_text().contains(json.dumps(flag), autoescape=True)


def _search_clause(text: str) -> sa.ColumnElement[bool]:
    if not isinstance(text, str) or len(text) > SEARCH_MAX:
        raise InvalidInput(f"a search is at most {SEARCH_MAX} characters")
    words = text.split()
    clauses = []
    for word in words:
        if word.startswith("#") and word[1:].isdigit() and len(word) < 20:
            clauses.append(Variant.id == int(word[1:]))
            continue
        low = word.lower()
        clauses.append(sa.or_(*(sa.func.lower(sa.func.coalesce(c, "")).contains(low, autoescape=True)
                                for c in (Title.name, Variant.kind, Variant.segment, Variant.locale, Variant.format))))
    return sa.and_(*clauses) if clauses else sa.true()


def _order(sort: str) -> list[Any]:
    if sort not in SORTS:
        raise InvalidInput(f"unknown sort {sort!r}; sorts: {', '.join(SORTS)}")
    if sort == "score":
        return [sa.func.coalesce(Variant.score, -1e308).desc(), Variant.id.desc()]
    if sort == "flags":
        return [sa.case((_has_flags(), 0), else_=1), Variant.id.desc()]
    return [Variant.id.desc()]


def query_variants(filters: VariantFilter | None = None, page: int = 1, per_page: int = 48, *,
                   sort: str = "newest", settings: Settings | None = None) -> Page:
    """One page of variants matching ``filters``, newest first (or by ``sort``: ``score``, best
    first, or ``flags``, flagged first). Filtering, the total and the page's ids are done by the
    database in one narrow query (ids and a window count), then the page's rows are read by id:
    the window count materialises every match, and with whole rows (recipes are kilobytes of
    JSON) that cost 170 ms on a 10,000-variant catalog, with ids alone 20 ms. A page past the
    end is empty (its ``total`` still says how many)."""
    settings = settings or get_settings()
    filters = filters or VariantFilter()
    order = _order(sort)
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise InvalidInput(f"page must be a positive integer, got {page!r}")
    if isinstance(per_page, bool) or not isinstance(per_page, int) or not 1 <= per_page <= PER_PAGE_MAX:
        raise InvalidInput(f"per_page must be from 1 to {PER_PAGE_MAX}, got {per_page!r}")
    store = AssetStore(settings.store_dir)
    with open_catalog(settings).session() as session:
        clauses = _filter_clauses(session, filters)
        query = (
            sa.select(Variant.id, sa.func.count().over().label("total"))
            .join(Title, Title.id == Variant.title_id)
            .join(Asset, Asset.id == Variant.asset_id)
            .where(*clauses)
            .order_by(*order)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        hits = session.execute(query).all()
        if hits:
            total = hits[0].total
            found = {r.id: r for r in session.execute(row_select().where(Variant.id.in_([h.id for h in hits])))}
            rows = [found[h.id] for h in hits if h.id in found]
        else:  # past the last page (or nothing matches): count on its own
            rows = []
            total = session.scalar(sa.select(sa.func.count()).select_from(Variant)
                                   .join(Title, Title.id == Variant.title_id).where(*clauses)) or 0
        return Page([to_row(r, store) for r in rows], total, page, per_page)


NEIGHBOURS_MAX = 20_000  # a scan reads at most this many matches


def neighbours(filters: VariantFilter | None, current: int, *, sort: str = "newest",
               settings: Settings | None = None) -> tuple[int | None, int | None, int | None]:
    """Around variant ``current`` in the queue's order for ``filters`` (its status filter aside,
    so a variant that was just decided keeps its place): ``(previous, next, next pending)``.
    The next pending one wraps around to the start; None where there is none.

    In the newest-first order (the id, the primary key) each is the first row past the current
    one (a keyset query, ``LIMIT 1``): 2-3 ms on a 10,000-variant catalog, where reading the id
    and status of every match cost 31 ms, twice per approve-and-next (the decision, then the next
    variant's page). The score and flags orders have no index to seek in, and four such queries
    would be four sorts: they are read in one scan of the matches, in order."""
    settings = settings or get_settings()
    filters = filters or VariantFilter()
    order = _order(sort)
    check_id(current, "variant id")
    wanted = filters.status
    unfiltered = VariantFilter(**{**vars(filters), "status": None})
    with open_catalog(settings).session() as session:
        matches = _filter_clauses(session, unfiltered)
        if sort == "newest":
            return _neighbours_by_seek(session, matches, current, wanted)
        rows = session.execute(
            sa.select(Variant.id, Variant.review_status).join(Title, Title.id == Variant.title_id)
            .where(sa.or_(sa.and_(sa.true(), *matches), Variant.id == current)).order_by(*order)
            .limit(NEIGHBOURS_MAX)
        ).all()
    ids = [r[0] for r in rows]
    status = dict(rows)
    shown = [i for i in ids if i == current or wanted in (None, "") or status[i] == wanted]
    if current not in shown:
        return None, None, None
    at = shown.index(current)
    previous = shown[at - 1] if at > 0 else None
    following = shown[at + 1] if at + 1 < len(shown) else None
    pending = None
    if wanted in (None, "", "pending"):
        pending = next((i for i in shown[at + 1:] + shown[:at] if status[i] == "pending"), None)
    return previous, following, pending


def _neighbours_by_seek(session: Session, matches: list[sa.ColumnElement[bool]], current: int,
                        wanted: str | None) -> tuple[int | None, int | None, int | None]:
    """:func:`neighbours` in the newest-first order: the nearest shown ids above and below."""
    if session.scalar(sa.select(Variant.id).where(Variant.id == current)) is None:
        return None, None, None
    shown = list(matches)
    if wanted not in (None, ""):
        shown.append(Variant.review_status == wanted)

    def first(*where: sa.ColumnElement[bool], order: Any = Variant.id.desc()) -> int | None:
        return session.scalar(sa.select(Variant.id).join(Title, Title.id == Variant.title_id)
                              .where(*shown, *where).order_by(order).limit(1))

    after, before = Variant.id < current, Variant.id > current  # newest first: later rows have smaller ids
    previous, following = first(before, order=Variant.id.asc()), first(after)
    pending = None
    if wanted in (None, "", "pending"):  # the first pending one after it, else from the start
        is_pending = Variant.review_status == "pending"
        pending = first(after, is_pending) or first(before, is_pending)
    return previous, following, pending


def filter_options(*, settings: Settings | None = None) -> dict[str, list[str]]:
    """The values the queue's filters can take: titles, kinds, segments, locales, formats
    (placements such as "16x9") and statuses."""
    settings = settings or get_settings()
    with open_catalog(settings).session() as session:
        def distinct(column: Any) -> list[str]:
            return sorted(v for v in session.scalars(sa.select(column).distinct()) if v is not None)

        titles = list(session.scalars(sa.select(Title.name).where(Title.id.in_(sa.select(Variant.title_id))).order_by(Title.name)))
        formats = sorted({Slot.placement_of(f) for f in distinct(Variant.format)})
        flags = sorted({str(flag) for value in session.scalars(sa.select(Variant.qa_flags).distinct())
                        for flag in (value or ())})
        return {
            "flags": flags,
            "titles": titles,
            "kinds": distinct(Variant.kind),
            "segments": distinct(Variant.segment),
            "locales": distinct(Variant.locale),
            "formats": formats,
            "statuses": list(REVIEW_STATUSES),
        }


def get_rows(ids: Iterable[int], *, settings: Settings | None = None) -> list[VariantRow]:
    """Variants by id, in id order (missing ids are left out)."""
    settings = settings or get_settings()
    store = AssetStore(settings.store_dir)
    ids = [i for i in ids if isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= MAX_ID]  # no row has another id
    with open_catalog(settings).session() as session:
        rows = session.execute(row_select().where(Variant.id.in_(ids)).order_by(Variant.id)).all()
    return [to_row(r, store) for r in rows]


def slot_versions(slot_key: str, *, settings: Settings | None = None) -> list[VariantRow]:
    """Every version in a slot, oldest first."""
    settings = settings or get_settings()
    store = AssetStore(settings.store_dir)
    with open_catalog(settings).session() as session:
        rows = session.execute(row_select().where(Variant.slot_key == slot_key).order_by(Variant.version)).all()
    return [to_row(r, store) for r in rows]


def slot_groups(title: str | int, kind: str, segment: str | None = None, *, locale: str | None = None,
                settings: Settings | None = None) -> list[SlotGroup]:
    """The slots of a title's ``kind`` (for one segment/locale when given), each with all its
    versions: what the compare page lays side by side. Ordered by segment, format, pick."""
    settings = settings or get_settings()
    store = AssetStore(settings.store_dir)
    with open_catalog(settings).session() as session:
        query = row_select().where(_title_clause(session, title), Variant.kind == kind)
        if segment is not None:
            query = query.where(Variant.segment == segment)
        if locale is not None:
            query = query.where(Variant.locale == locale)
        rows = session.execute(query.order_by(Variant.slot_key, Variant.version)).all()
    groups: dict[str, list[VariantRow]] = {}
    for r in rows:
        row = to_row(r, store)
        groups.setdefault(row.slot_key, []).append(row)
    return [
        SlotGroup(key, versions[0].kind, versions[0].segment, versions[0].locale, versions[0].format, versions)
        for key, versions in sorted(groups.items(), key=lambda kv: (kv[1][0].segment or "", slot_sort_key(kv[1][0].format)))
    ]


def compare_slot(slot_key: str, *, settings: Settings | None = None) -> list[tuple[VariantRow, dict[str, Any]]]:
    """Every version of a slot with its explanation (:func:`explain`), oldest first."""
    return [(row, explain(row)) for row in slot_versions(slot_key, settings=settings)]


def explain(row: VariantRow) -> Explanation:
    """Why this variant looks the way it does, from its recipe, in its kind's words ("why this
    frame", "why these shots"). A variant whose kind is not installed here gets the generic
    explanation. Nothing here reads the file."""
    from generators import get_kind
    from generators.base import PluginError

    try:
        kind = get_kind(row.kind)
    except PluginError:
        return Explanation(heading="Why this variant", summary=f"made by {row.kind}, a kind not installed here",
                           generator=" ".join(str(row.recipe[k]) for k in ("generator", "generator_version")
                                              if row.recipe.get(k)) or None,
                           score=row.score, model=row.recipe.get("model"), seed=row.recipe.get("seed"))
    return kind.explain(row.recipe or {}, row.score)


def review_events(variant_id: int, *, settings: Settings | None = None) -> list[ReviewEventView]:
    """A variant's review history, oldest first."""
    settings = settings or get_settings()
    check_id(variant_id, "variant id")
    with open_catalog(settings).session() as session:
        events = session.scalars(sa.select(ReviewEvent).where(ReviewEvent.variant_id == variant_id).order_by(ReviewEvent.id))
        return [_event_view(e) for e in events]


def _event_view(e: ReviewEvent) -> ReviewEventView:
    return ReviewEventView(e.id, e.at.isoformat(), e.actor, e.role, e.action, e.variant_id, e.title_id, e.comment, e.details)


def provenance_view(report: VerifyReport | None, missing_detail: str | None = None) -> ProvenanceView:
    """The provenance panel's summary of a verification report (None: the file is missing)."""
    if report is None:
        return ProvenanceView(state="Missing", codes=[], detail=missing_detail or "the stored file is missing")
    m = report.manifest
    if m is None:
        return ProvenanceView(state=report.state, codes=list(report.codes), detail=report.detail)
    return ProvenanceView(
        state=report.state,
        codes=list(report.codes),
        detail=report.detail,
        signer=m.signer,
        issuer=m.issuer,
        claim_generator=m.claim_generator,
        signed_at=m.signed_at,
        actions=[{"action": a.action, "description": a.description, "digital_source_type": a.digital_source_type,
                  "parameters": a.parameters, "ingredients": list(a.ingredients)} for a in m.actions],
        digital_source_types=list(m.digital_source_types),
        ingredients=[{"title": i.title, "relationship": i.relationship, "mime": i.mime} for i in m.ingredients],
        training_mining=dict(m.training_mining),
    )


def variant_detail(variant_id: int, *, settings: Settings | None = None) -> VariantDetail:
    """Everything the variant page shows: the row, its stored file's C2PA verification (read
    now, not cached), whether the file still has the catalog's checksum, the slot's versions,
    the review history and the explanation."""
    settings = settings or get_settings()
    check_id(variant_id, "variant id")
    rows = get_rows([variant_id], settings=settings)
    if not rows:
        raise NotFound(f"no variant {variant_id}")
    row = rows[0]
    check = check_stored(AssetStore(settings.store_dir), row.sha256, row.ext, trust_anchors_for(settings))
    report, intact = check.report, check.intact
    return VariantDetail(
        row=row,
        report=report,
        provenance=provenance_view(report),
        file_intact=intact,
        versions=slot_versions(row.slot_key, settings=settings),
        events=review_events(variant_id, settings=settings),
        explanation=explain(row),
        files=variant_files(variant_id, settings=settings),
        inspection=inspect(row) if intact else Inspection(),
    )


def inspect(row: VariantRow) -> Inspection:
    """What the variant's kind reads off its stored file (a QR code decoded, say); nothing for a
    kind not installed here. A kind's failure to read is shown as a problem, never raised."""
    from generators import get_kind
    from generators.base import PluginError

    try:
        kind = get_kind(row.kind)
    except PluginError:
        return Inspection()
    try:
        return kind.inspect(row.file_path, row.recipe or {})
    except Exception as exc:  # noqa: BLE001 (a page load must not fail on one check)
        return Inspection(problems=(f"could not read the file: {type(exc).__name__}: {exc}",))


def variant_files(variant_id: int, *, settings: Settings | None = None) -> dict[str, Path]:
    """A variant's sidecar files (role -> stored path): cut lists, a review copy..."""
    from workbench.catalog.models import VariantFile

    settings = settings or get_settings()
    store = AssetStore(settings.store_dir)
    with open_catalog(settings).session() as session:
        rows = session.scalars(sa.select(VariantFile).where(VariantFile.variant_id == check_id(variant_id, "variant id")))
        return {f.role: store.path_for(f.asset.sha256, f.asset.ext) for f in rows}


# -- decisions --------------------------------------------------------------------------------


def check_comment(comment: str | None, decision: str) -> str | None:
    """A comment as it will be stored; InvalidInput when missing where required, too long, or
    holding control characters other than line breaks and tabs."""
    if comment is not None and not isinstance(comment, str):
        raise InvalidInput("a comment must be text")
    if decision in COMMENT_REQUIRED and (comment is None or not comment.strip()):
        what = "reject" if decision == "reject" else "request changes"
        raise InvalidInput(f"say why: a comment is required to {what}")
    if comment is None or not comment.strip():
        return None
    if len(comment) > COMMENT_MAX:
        raise InvalidInput(f"comment is {len(comment)} characters; at most {COMMENT_MAX}")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in comment):
        raise InvalidInput("comment contains control characters")
    return comment


def _check_ids(variant_ids: Sequence[int]) -> list[int]:
    if isinstance(variant_ids, int):
        variant_ids = [variant_ids]
    ids = list(dict.fromkeys(variant_ids))  # keep order, drop repeats
    if not ids:
        raise InvalidInput("no variants chosen")
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise InvalidInput("variant ids must be integers")
    for i in ids:
        check_id(i, "variant id")
    if len(ids) > MAX_BATCH:
        raise InvalidInput(f"{len(ids)} variants in one decision; at most {MAX_BATCH}")
    return ids


def decide(actor: Actor, variant_ids: Sequence[int], decision: str, comment: str | None = None, *,
           settings: Settings | None = None) -> list[ReviewEventView]:
    """Approve, reject or request changes on one or many variants, all or nothing.

    Each variant gets its status change, one ReviewEvent (action = the decision) and one
    AuditEvent (action ``review.<decision>``), in one transaction. Nothing changes when any
    variant is missing, already in that state, decided already (unless the actor is an admin,
    who must then say why in the comment), or was decided by someone else meanwhile
    (:class:`DecisionConflict`)."""
    settings = settings or get_settings()
    ids, comment, new_status = _check_decision(actor, variant_ids, decision, comment)
    with open_catalog(settings).session() as session:
        # 2. load and validate the whole batch first
        variants = _load_batch(session, ids)
        same = [i for i in ids if variants[i].review_status == new_status]
        if same:
            raise InvalidInput(f"variant(s) {', '.join(map(str, same))} already {new_status.replace('_', ' ')}")
        decided = [i for i in ids if variants[i].review_status != "pending"]
        if decided and actor.role != "admin":
            shown = ", ".join(f"{i} ({variants[i].review_status.replace('_', ' ')})" for i in decided)
            raise PermissionDenied(f"variant(s) {shown} already decided: only an admin may change a decision")
        if decided and comment is None:
            shown = ", ".join(f"{i} ({variants[i].review_status.replace('_', ' ')})" for i in decided)
            raise InvalidInput(f"say why: changing a decision needs a comment (variant(s) {shown})")
        # 3. change, guarded against a concurrent decision, and record both events
        return _apply(session, actor, [variants[i] for i in ids], decision, new_status, comment)


@dataclass(frozen=True)
class BatchOutcome:
    """A batch decision on the pending variants of a selection, and what was left alone and why."""

    decided: list[ReviewEventView]
    skipped: list[tuple[int, str]]  # (variant id, reason), e.g. already approved


def decide_pending(actor: Actor, variant_ids: Sequence[int], decision: str, comment: str | None = None, *,
                   override_flags: bool = False, settings: Settings | None = None) -> BatchOutcome:
    """The batch form of :func:`decide`: the *pending* variants among ``variant_ids`` are decided
    together (all or nothing, as ``decide``); the others (decided already, or missing) are left
    alone and reported, so one decided variant in a selection does not refuse the batch. Changing
    decisions is never done in bulk: that goes one variant at a time, with a comment.

    A batch **approval** skips variants with QA flags (``Variant.qa_flags``) unless
    ``override_flags`` is given with a comment saying why: then they are approved too, and their
    events record ``override_flags`` with the flags that were overridden."""
    settings = settings or get_settings()
    ids, comment, new_status = _check_decision(actor, variant_ids, decision, comment)
    if override_flags and comment is None:
        raise InvalidInput("say why: approving variants with QA flags needs a comment")
    with open_catalog(settings).session() as session:
        variants = {v.id: v for v in repo.get_variants(session, ids)}
        skipped = [(i, "no such variant") for i in ids if i not in variants]
        skipped += [(i, f"already {variants[i].review_status.replace('_', ' ')}") for i in ids
                    if i in variants and variants[i].review_status != "pending"]
        pending = [variants[i] for i in ids if i in variants and variants[i].review_status == "pending"]
        overridden: dict[int, list[str]] = {}
        if decision == "approve":
            flagged = [v for v in pending if v.qa_flags]
            if override_flags:
                overridden = {v.id: [str(f) for f in v.qa_flags or ()] for v in flagged}
            else:
                skipped += [(v.id, f"has QA flags ({', '.join(map(str, v.qa_flags or ()))})") for v in flagged]
                pending = [v for v in pending if not v.qa_flags]
        decided = _apply(session, actor, pending, decision, new_status, comment,
                         overridden=overridden) if pending else []
    order = {vid: n for n, vid in enumerate(ids)}
    return BatchOutcome(decided, sorted(skipped, key=lambda s: order[s[0]]))


def _check_decision(actor: Actor, variant_ids: Sequence[int], decision: str,
                    comment: str | None) -> tuple[list[int], str | None, str]:
    """1. check inputs and permission before touching the catalog."""
    if decision not in DECISIONS:
        raise InvalidInput(f"unknown decision {decision!r}; decisions: {', '.join(DECISIONS)}")
    require(actor, "review")
    ids = _check_ids(variant_ids)
    if decision == "approve" and len(ids) > 1:
        require(actor, "batch_approve")
    return ids, check_comment(comment, decision), DECISION_STATUS[decision]


def _load_batch(session: Session, ids: list[int]) -> dict[int, Variant]:
    variants = {v.id: v for v in repo.get_variants(session, ids)}
    missing = [i for i in ids if i not in variants]
    if missing:
        raise NotFound(f"no variant(s) {', '.join(map(str, missing))}")
    return variants


def _apply(session: Session, actor: Actor, variants: list[Variant], decision: str, new_status: str,
           comment: str | None, *, overridden: dict[int, list[str]] | None = None) -> list[ReviewEventView]:
    views = []
    for v in variants:
        old = v.review_status
        changed = session.execute(
            sa.update(Variant).where(Variant.id == v.id, Variant.review_status == old)
            .values(review_status=new_status).execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            raise DecisionConflict(f"variant {v.id} was decided by someone else meanwhile: reload and try again")
        details = {"from": old, "to": new_status, "slot_key": v.slot_key, "version": v.version,
                   "sha256": v.asset.sha256, "batch": len(variants)}
        if overridden and v.id in overridden:
            details["override_flags"] = overridden[v.id]
        event = ReviewEvent(actor=actor.name, role=actor.role, action=decision, variant_id=v.id,
                            title_id=v.title_id, comment=comment, details=details)
        session.add(event)
        session.flush()
        repo.record_audit(session, actor.name, actor.role, f"review.{decision}", variant=v, comment=comment,
                          details={**details, "review_event": event.id})
        views.append(_event_view(event))
    session.expire_all()  # the bulk updates bypassed the identity map
    return views


# -- audit ------------------------------------------------------------------------------------


def audit_events(by: Actor | None = None, *, action: str | None = None, actor: str | None = None,
                 title: str | int | None = None, variant_id: int | None = None, since: datetime | None = None,
                 until: datetime | None = None, limit: int = 500, settings: Settings | None = None) -> list[AuditView]:
    """Audit events, newest first. ``by`` (the viewer) is checked for the ``audit`` permission
    when given. ``action`` matches exactly or as a dotted prefix ("review" finds review.approve);
    ``actor`` is a user name; ``since``/``until`` are timezone-aware and inclusive/exclusive."""
    settings = settings or get_settings()
    if by is not None:
        require(by, "audit")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= AUDIT_LIMIT_MAX:
        raise InvalidInput(f"limit must be from 1 to {AUDIT_LIMIT_MAX}, got {limit!r}")
    for name, when in (("since", since), ("until", until)):
        if when is not None and (not isinstance(when, datetime) or when.tzinfo is None):
            raise InvalidInput(f"{name} must be a timezone-aware datetime")
    with open_catalog(settings).session() as session:
        query = sa.select(AuditEvent, Title.name).outerjoin(Title, Title.id == AuditEvent.title_id)
        if action:
            base = action.rstrip(".*") or action
            query = query.where(sa.or_(AuditEvent.action == base, AuditEvent.action.startswith(base + ".", autoescape=True)))
        if actor:
            query = query.where(AuditEvent.actor == actor)
        if title not in (None, ""):
            query = query.where(AuditEvent.title_id == repo.get_title(session, title).id)
        if variant_id is not None:
            query = query.where(AuditEvent.variant_id == check_id(variant_id, "variant id"))
        if since is not None:
            query = query.where(AuditEvent.at >= since)
        if until is not None:
            query = query.where(AuditEvent.at < until)
        rows = session.execute(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)).all()
        return [
            AuditView(e.id, e.at.isoformat(), e.actor, e.role, e.action, e.title_id, name, e.variant_id, e.comment, e.details)
            for e, name in rows
        ]


def csv_safe(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula: text starting with = + - @ tab
    or carriage return gets a leading apostrophe (OWASP's advice). Numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(CSV_FORMULA_PREFIXES):
        return "'" + value
    return value


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """CSV text (RFC 4180 quoting, ``\\r\\n`` line ends) with every cell passed through :func:`csv_safe`."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_safe("" if cell is None else cell) for cell in row])
    return out.getvalue()


AUDIT_CSV_HEADER = ("id", "at", "actor", "role", "action", "title", "title_id", "variant_id", "comment", "details")


def audit_csv(events: Iterable[AuditView]) -> str:
    """The events as CSV text for download, safe to open in a spreadsheet."""
    return write_csv(
        AUDIT_CSV_HEADER,
        ([e.id, e.at, e.actor, e.role, e.action, e.title_name, e.title_id, e.variant_id, e.comment,
          json.dumps(e.details, sort_keys=True, ensure_ascii=False) if e.details is not None else None] for e in events),
    )
