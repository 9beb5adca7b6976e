"""Share links for outside reviewers: a bearer token that opens exactly the variants it names,
to comment on them (``comment``) or only to look (``view``), until it expires or is revoked.

The token is shown once, when the link is made (:func:`create_share`); the catalog keeps only its
SHA-256 (``share_links.token_hash``), as it does for login sessions. Every use re-reads the row,
so a revoked or expired link stops at the next click. Making, opening and revoking a link are
audit events (``share.create``, ``share.open``, ``share.revoke``); a guest's comments are
recorded under the name ``guest:<label>`` with the role ``guest``.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, get_args

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.access import Actor, require
from workbench.catalog import open_catalog, repo
from workbench.catalog.models import ShareLink, Variant, utcnow
from workbench.errors import InvalidInput, NotFound, WorkbenchError
from workbench.ids import check_id
from workbench.settings import Settings, get_settings

ShareAccess = Literal["comment", "view"]
ACCESS: tuple[str, ...] = get_args(ShareAccess)
TTL_DEFAULT_S = 7 * 86400
TTL_MAX_S = 90 * 86400
TTL_MIN_S = 60
LABEL_MAX = 120
MAX_VARIANTS = 200
TOKEN_MAX = 256
GUEST_ROLE = "guest"


class ShareExpired(WorkbenchError):
    """The share link is unknown, revoked or past its expiry."""


@dataclass(frozen=True)
class ShareGrant:
    """What an outside reviewer holding a live link may do: see ``variant_ids``, and comment on
    them when ``access`` is ``comment``."""

    share_id: int
    label: str
    variant_ids: tuple[int, ...]
    access: str
    expires_at: datetime

    @property
    def name(self) -> str:
        return f"guest:{self.label}"

    @property
    def role(self) -> str:
        return GUEST_ROLE

    @property
    def may_comment(self) -> bool:
        return self.access == "comment"


@dataclass(frozen=True)
class ShareView:
    id: int
    label: str
    variant_ids: tuple[int, ...]
    access: str
    created_by: str
    created_at: str
    expires_at: str
    state: Literal["live", "expired", "revoked"]


@dataclass(frozen=True)
class NewShare:
    share: ShareView
    token: str  # shown once: only its SHA-256 is kept


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _state(row: ShareLink, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    return "expired" if row.expires_at <= now else "live"


def _view(row: ShareLink, now: datetime | None = None) -> ShareView:
    return ShareView(row.id, row.label, tuple(row.variant_ids), row.access, row.created_by, row.created_at.isoformat(),
                     row.expires_at.isoformat(), _state(row, now or utcnow()))  # type: ignore[arg-type]


def check_label(label: str) -> str:
    if not isinstance(label, str) or not label.strip():
        raise InvalidInput("a share link needs a label (who it is for), e.g. 'agency: Ana'")
    label = label.strip()
    if len(label) > LABEL_MAX:
        raise InvalidInput(f"label is {len(label)} characters; at most {LABEL_MAX}")
    if any(unicodedata.category(ch)[0] == "C" for ch in label):
        raise InvalidInput("label contains control characters")
    return label


def create_share(actor: Actor, variant_ids: Sequence[int], *, label: str, access: str = "comment",
                 ttl_s: int = TTL_DEFAULT_S, settings: Settings | None = None) -> NewShare:
    """A new link for ``variant_ids`` (reviewers only); its token is in the result, once."""
    settings = settings or get_settings()
    # 1. check inputs and permission
    require(actor, "review")
    label = check_label(label)
    if access not in ACCESS:
        raise InvalidInput(f"access must be one of {', '.join(ACCESS)}, got {access!r}")
    if isinstance(ttl_s, bool) or not isinstance(ttl_s, int) or not TTL_MIN_S <= ttl_s <= TTL_MAX_S:
        raise InvalidInput(f"a share link lasts from {TTL_MIN_S} s to {TTL_MAX_S // 86400} days, got {ttl_s!r}")
    ids = list(dict.fromkeys(check_id(i, "variant id") for i in variant_ids))
    if not ids:
        raise InvalidInput("a share link needs at least one variant")
    if len(ids) > MAX_VARIANTS:
        raise InvalidInput(f"{len(ids)} variants in one link; at most {MAX_VARIANTS}")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with open_catalog(settings).session() as session:
        # 2. every variant exists
        found = set(session.scalars(sa.select(Variant.id).where(Variant.id.in_(ids))))
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(f"no variant(s) {', '.join(map(str, missing))}")
        # 3. store the hash and record it
        row = ShareLink(token_hash=token_hash(token), label=label, variant_ids=ids, access=access,
                        created_by=actor.name, created_at=now, expires_at=now + timedelta(seconds=ttl_s))
        session.add(row)
        session.flush()
        repo.record_audit(session, actor.name, actor.role, "share.create",
                          details={"share_id": row.id, "label": label, "access": access, "variant_ids": ids,
                                   "expires_at": row.expires_at.isoformat()})
        return NewShare(_view(row, now), token)


def _live_row(session: Session, token: str) -> ShareLink:
    if not isinstance(token, str) or not token or len(token) > TOKEN_MAX:
        raise ShareExpired("this share link is not valid")
    row = session.scalars(sa.select(ShareLink).where(ShareLink.token_hash == token_hash(token))).one_or_none()
    if row is None:
        raise ShareExpired("this share link is not valid")
    state = _state(row, utcnow())
    if state != "live":
        raise ShareExpired(f"this share link was {state}: ask whoever sent it for a new one")
    return row


def _grant(row: ShareLink) -> ShareGrant:
    return ShareGrant(row.id, row.label, tuple(row.variant_ids), row.access, row.expires_at)


def grant_for_token(token: str, *, opened: bool = False, settings: Settings | None = None) -> ShareGrant:
    """What a live link allows; :class:`ShareExpired` when it is unknown, revoked or expired.
    ``opened`` records a ``share.open`` audit event (the UI does on the first load)."""
    settings = settings or get_settings()
    with open_catalog(settings).session() as session:
        row = _live_row(session, token)
        if opened:
            repo.record_audit(session, f"guest:{row.label}", GUEST_ROLE, "share.open", details={"share_id": row.id})
        return _grant(row)


def recheck(session: Session, grant: ShareGrant) -> ShareGrant:
    """The grant as the catalog has it now (inside a write's transaction)."""
    row = session.get(ShareLink, grant.share_id)
    if row is None or _state(row, utcnow()) != "live":
        raise ShareExpired("this share link has been revoked or has expired")
    return _grant(row)


def revoke_share(actor: Actor, share_id: int, *, settings: Settings | None = None) -> ShareView:
    settings = settings or get_settings()
    require(actor, "review")
    check_id(share_id, "share id")
    with open_catalog(settings).session() as session:
        row = session.get(ShareLink, share_id)
        if row is None:
            raise NotFound(f"no share link {share_id}")
        if row.revoked_at is None:
            row.revoked_at, row.revoked_by = utcnow(), actor.name
            repo.record_audit(session, actor.name, actor.role, "share.revoke",
                              details={"share_id": row.id, "label": row.label})
        session.flush()
        return _view(row)


def list_shares(actor: Actor, *, settings: Settings | None = None) -> list[ShareView]:
    """Every share link, newest first (reviewers)."""
    settings = settings or get_settings()
    require(actor, "review")
    with open_catalog(settings).session() as session:
        now = utcnow()
        return [_view(r, now) for r in session.scalars(sa.select(ShareLink).order_by(ShareLink.id.desc()).limit(500))]
