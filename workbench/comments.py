"""Comment threads on variants: replies, @mentions, pins on stills and timecodes on video,
resolve and unresolve.

A thread starts with a comment whose ``parent_id`` is None; replies name the thread's first
comment (a reply to a reply joins the same thread). A comment may point at what it is about:

- a **pin** on a still: a point ``Pin(x, y)`` or a box ``Pin(x, y, w, h)``, as fractions 0..1
  of the picture's width and height (so it holds for every preview size);
- a **time** on a video: ``TimeRange(start)`` or ``TimeRange(start, end)`` in seconds, within
  the video's duration.

Everything is validated before anything is written (:func:`check_body`, :func:`check_pin`,
:func:`check_time`); text is stored exactly as given (the UI escapes it when it shows it).
``@name`` mentions of existing, enabled users are recorded and notify them
(:mod:`workbench.notifications`). Every creation and every (un)resolve is an audit event
(``comment.add``, ``comment.resolve``, ``comment.unresolve``). Reviewers and the other roles
may comment (``view``); an outside reviewer may through a share link with comment access that
names the variant (:mod:`workbench.shares`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.access import Actor, PermissionDenied, require
from workbench.catalog import open_catalog, repo
from workbench.catalog.models import Asset, Comment, User, Variant, utcnow
from workbench.errors import InvalidInput, NotFound
from workbench.ids import check_id
from workbench.settings import Settings, get_settings
from workbench.shares import ShareGrant, recheck

BODY_MAX = 2000
MENTION_RE = re.compile(r"(?<![\w@.])@([A-Za-z0-9][A-Za-z0-9._@-]{0,63})")


class InvalidComment(InvalidInput):
    """The text of a comment is empty, too long or holds control characters."""


class InvalidPin(InvalidInput):
    """A pin outside the picture (0..1), or on something that is not a still."""


class InvalidTime(InvalidInput):
    """A time outside the video's duration, a range that ends before it starts, or a time on a still."""


@dataclass(frozen=True)
class Pin:
    x: float
    y: float
    w: float | None = None  # a box when w and h are given
    h: float | None = None

    @property
    def is_box(self) -> bool:
        return self.w is not None and self.h is not None


@dataclass(frozen=True)
class TimeRange:
    start: float
    end: float | None = None  # a range when given


@dataclass(frozen=True)
class CommentView:
    id: int
    variant_id: int
    parent_id: int | None
    author: str
    role: str
    body: str
    mentions: tuple[str, ...]
    pin: Pin | None
    time: TimeRange | None
    resolved: bool
    resolved_by: str | None
    at: str  # ISO 8601, UTC
    replies: tuple[CommentView, ...] = ()


Author = Actor | ShareGrant


# 1. checks -------------------------------------------------------------------------------------


def check_body(body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise InvalidComment("a comment needs some text")
    if len(body) > BODY_MAX:
        raise InvalidComment(f"comment is {len(body)} characters; at most {BODY_MAX}")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in body):
        raise InvalidComment("comment contains control characters")
    return body.strip()


def _fraction(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidPin(f"pin {what} must be a number from 0 to 1, got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise InvalidPin(f"pin {what} {value} is outside the picture: 0 to 1")
    return float(value)


def check_pin(pin: Pin | Mapping[str, Any] | None) -> Pin | None:
    if pin is None:
        return None
    if isinstance(pin, Mapping):
        pin = Pin(pin.get("x"), pin.get("y"), pin.get("w"), pin.get("h"))  # type: ignore[arg-type]
    if not isinstance(pin, Pin):
        raise InvalidPin("a pin is Pin(x, y) or Pin(x, y, w, h)")
    x, y = _fraction(pin.x, "x"), _fraction(pin.y, "y")
    if (pin.w is None) != (pin.h is None):
        raise InvalidPin("a box pin needs both a width and a height")
    if pin.w is None:
        return Pin(x, y)
    w, h = _fraction(pin.w, "width"), _fraction(pin.h, "height")
    if w <= 0 or h <= 0:
        raise InvalidPin("a box pin needs a width and a height above 0")
    if x + w > 1.0 + 1e-9 or y + h > 1.0 + 1e-9:
        raise InvalidPin("the box pin reaches outside the picture")
    return Pin(x, y, w, h)


def _seconds(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidTime(f"{what} must be a number of seconds, got {value!r}")
    return float(value)


def check_time(time: TimeRange | Mapping[str, Any] | float | None, duration_s: float | None) -> TimeRange | None:
    if time is None:
        return None
    if isinstance(time, int | float) and not isinstance(time, bool):
        time = TimeRange(time)
    if isinstance(time, Mapping):
        time = TimeRange(time.get("start"), time.get("end"))  # type: ignore[arg-type]
    if not isinstance(time, TimeRange):
        raise InvalidTime("a time is TimeRange(start) or TimeRange(start, end)")
    start = _seconds(time.start, "start")
    end = None if time.end is None else _seconds(time.end, "end")
    limit = float(duration_s) if duration_s else None
    if start < 0 or (limit is not None and start > limit):
        raise InvalidTime(f"time {start:.2f} s is outside the video (0 to {limit or 0:.2f} s)")
    if end is not None:
        if end <= start:
            raise InvalidTime(f"the range ends ({end:.2f} s) before it starts ({start:.2f} s)")
        if limit is not None and end > limit + 1e-6:
            raise InvalidTime(f"the range ends at {end:.2f} s, after the video ({limit:.2f} s)")
    return TimeRange(start, end)


MENTION_NAMES_MAX = 500


def mention_names(viewer: Actor, *, settings: Settings | None = None) -> list[str]:
    """The names a comment can @mention (enabled accounts), for suggestions while typing. Only
    the team sees them: a guest of a share link gets none (it is no :class:`Actor`)."""
    settings = settings or get_settings()
    if not isinstance(viewer, Actor):
        raise PermissionDenied("only signed-in users see who can be mentioned")
    require(viewer, "view")
    with open_catalog(settings).session() as session:
        return list(session.scalars(sa.select(User.name).where(User.disabled.is_(False))
                                    .order_by(sa.func.lower(User.name)).limit(MENTION_NAMES_MAX)))


def mention_candidates(body: str) -> list[str]:
    """The ``@names`` written in ``body`` (without a trailing full stop), in order, once each."""
    return list(dict.fromkeys(m.rstrip(".") for m in MENTION_RE.findall(body or "")))


# 2. writing ------------------------------------------------------------------------------------


def _author(author: Author, variant_id: int, session: Session) -> tuple[str, str, int | None]:
    if isinstance(author, ShareGrant):
        grant = recheck(session, author)
        if variant_id not in grant.variant_ids:
            raise PermissionDenied(f"{grant.name} may not see variant {variant_id}: the link does not name it")
        if not grant.may_comment:
            raise PermissionDenied(f"{grant.name} may only view: the link gives no comment access")
        return grant.name, grant.role, grant.share_id
    if not isinstance(author, Actor):
        raise InvalidInput("a comment needs an author")
    require(author, "view")
    return author.name, author.role, None


def add_comment(author: Author, variant_id: int, body: str, *, parent_id: int | None = None,
                pin: Pin | Mapping[str, Any] | None = None, time: TimeRange | Mapping[str, Any] | float | None = None,
                settings: Settings | None = None) -> CommentView:
    """A new comment (or a reply, with ``parent_id``) on a variant; audited, mentions notified."""
    from workbench import notifications

    settings = settings or get_settings()
    # 1. check what needs no catalog
    check_id(variant_id, "variant id")
    if parent_id is not None:
        check_id(parent_id, "comment id")
    body = check_body(body)
    pin = check_pin(pin)
    made: list[notifications.NotificationView | None] = []
    with open_catalog(settings).session() as session:
        # 2. who, on what, and whether the pin or time fits the file
        variant = session.get(Variant, variant_id)
        if variant is None:
            raise NotFound(f"no variant {variant_id}")
        name, role, share_id = _author(author, variant_id, session)
        asset: Asset = variant.asset
        is_video = (asset.mime or "").startswith("video/")
        if pin is not None and is_video:
            raise InvalidPin("pins are for stills: give a time on a video")
        if time is not None and not is_video:
            raise InvalidTime("times are for video: give a pin on a still")
        span = check_time(time, asset.duration_s)
        if parent_id is not None:
            parent = session.get(Comment, parent_id)
            if parent is None or parent.variant_id != variant_id:
                raise NotFound(f"no comment {parent_id} on variant {variant_id}")
            parent_id = parent.parent_id or parent.id
        wanted = mention_candidates(body)
        mentioned = []
        if wanted:
            users = session.scalars(sa.select(User).where(sa.func.lower(User.name).in_([w.lower() for w in wanted]),
                                                          User.disabled.is_(False))).all()
            by_lower = {u.name.lower(): u.name for u in users}
            mentioned = [by_lower[w.lower()] for w in wanted if w.lower() in by_lower]
        # 3. write the comment, its audit event and the mentions' notifications
        row = Comment(variant_id=variant_id, parent_id=parent_id, author=name, role=role, share_id=share_id,
                      body=body, mentions=mentioned or None, resolved=False,
                      pin_x=pin.x if pin else None, pin_y=pin.y if pin else None,
                      pin_w=pin.w if pin else None, pin_h=pin.h if pin else None,
                      time_start=span.start if span else None, time_end=span.end if span else None)
        session.add(row)
        session.flush()
        details: dict[str, Any] = {"comment_id": row.id, "parent_id": parent_id, "mentions": mentioned}
        if pin:
            details["pin"] = {k: v for k, v in vars(pin).items() if v is not None}
        if span:
            details["time"] = {k: v for k, v in vars(span).items() if v is not None}
        if share_id:
            details["share_id"] = share_id
        repo.record_audit(session, name, role, "comment.add", variant=variant, comment=body, details=details)
        for who in mentioned:
            if who != name:
                made.append(notifications.notify(
                    session, who, "mention", f"mention:{row.id}", f"{name} mentioned you on variant #{variant_id}: "
                    f"{body[:140]}", variant_id=variant_id, comment_id=row.id))
        view = _view(row)
    notifications.send_webhook(made, settings)
    return view


def resolve(actor: Actor, comment_id: int, resolved: bool = True, *, settings: Settings | None = None) -> CommentView:
    """Mark a thread resolved (or open again); audited. Anyone who may view may do it."""
    settings = settings or get_settings()
    require(actor, "view")
    check_id(comment_id, "comment id")
    with open_catalog(settings).session() as session:
        row = session.get(Comment, comment_id)
        if row is None:
            raise NotFound(f"no comment {comment_id}")
        if row.resolved == bool(resolved):
            raise InvalidInput(f"comment {comment_id} is already {'resolved' if resolved else 'open'}")
        row.resolved = bool(resolved)
        row.resolved_by, row.resolved_at = (actor.name, utcnow()) if resolved else (None, None)
        session.flush()
        repo.record_audit(session, actor.name, actor.role, "comment.resolve" if resolved else "comment.unresolve",
                          variant=session.get(Variant, row.variant_id), details={"comment_id": row.id})
        return _view(row)


# 3. reading ------------------------------------------------------------------------------------


def _view(row: Comment, replies: tuple[CommentView, ...] = ()) -> CommentView:
    pin = None
    if row.pin_x is not None and row.pin_y is not None:
        pin = Pin(row.pin_x, row.pin_y, row.pin_w, row.pin_h)
    time = TimeRange(row.time_start, row.time_end) if row.time_start is not None else None
    return CommentView(row.id, row.variant_id, row.parent_id, row.author, row.role, row.body,
                       tuple(row.mentions or ()), pin, time, row.resolved, row.resolved_by,
                       row.created_at.isoformat(), replies)


def threads(viewer: Author, variant_id: int, *, settings: Settings | None = None) -> list[CommentView]:
    """A variant's threads, oldest first, each with its replies (oldest first)."""
    settings = settings or get_settings()
    check_id(variant_id, "variant id")
    with open_catalog(settings).session() as session:
        if isinstance(viewer, ShareGrant):
            if variant_id not in recheck(session, viewer).variant_ids:
                raise PermissionDenied(f"{viewer.name} may not see variant {variant_id}")
        else:
            require(viewer, "view")
        rows = session.scalars(sa.select(Comment).where(Comment.variant_id == variant_id).order_by(Comment.id)).all()
    replies: dict[int, list[CommentView]] = {}
    for r in rows:
        if r.parent_id is not None:
            replies.setdefault(r.parent_id, []).append(_view(r))
    return [_view(r, tuple(replies.get(r.id, ()))) for r in rows if r.parent_id is None]


def counts(variant_ids: list[int], *, settings: Settings | None = None) -> dict[int, int]:
    """Open (unresolved) threads per variant, for the queue's cards."""
    settings = settings or get_settings()
    ids = [i for i in variant_ids if isinstance(i, int)]
    if not ids:
        return {}
    with open_catalog(settings).session() as session:
        rows = session.execute(sa.select(Comment.variant_id, sa.func.count()).where(
            Comment.variant_id.in_(ids), Comment.parent_id.is_(None), Comment.resolved.is_(False))
            .group_by(Comment.variant_id)).all()
    return dict(rows)
