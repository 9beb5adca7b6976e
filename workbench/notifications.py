"""In-app notifications, and an optional webhook for chat tools.

A notification is one row per recipient (``notifications``), made in the same transaction as
what caused it: a comment that @mentions someone (:mod:`workbench.comments`), a finished batch
decision (:func:`batch_finished`), and a new version of a variant someone commented on (found
when their notifications are read, :func:`check_new_versions`: the generators need not know
about comments). ``(recipient, key)`` is unique, so a repeat is one row.

When ``WORKBENCH_NOTIFY_WEBHOOK`` names an ``http(s)://`` URL, each new notification is also
POSTed there as JSON (``{"recipient", "kind", "text", "variant_id", "comment_id", "at"}``),
after the commit, with a short timeout; a failing webhook is logged and never fails the action.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from workbench.access import Actor, require
from workbench.catalog import open_catalog
from workbench.catalog.models import Comment, Notification, Variant, utcnow
from workbench.errors import InvalidInput
from workbench.settings import Settings, get_settings

log = logging.getLogger(__name__)

NotificationKind = Literal["mention", "new_version", "batch"]
WEBHOOK_ENV = "WORKBENCH_NOTIFY_WEBHOOK"
WEBHOOK_TIMEOUT_S = 3.0
LIST_MAX = 200


@dataclass(frozen=True)
class NotificationView:
    id: int
    recipient: str
    kind: str
    text: str
    variant_id: int | None
    comment_id: int | None
    at: str  # ISO 8601, UTC
    read: bool


def _view(n: Notification) -> NotificationView:
    return NotificationView(n.id, n.recipient, n.kind, n.text, n.variant_id, n.comment_id, n.created_at.isoformat(),
                            n.read_at is not None)


def webhook_url() -> str | None:
    """``WORKBENCH_NOTIFY_WEBHOOK`` (``Settings.notify_webhook``) when it is an http(s) URL."""
    from workbench.settings import get_settings

    value = (get_settings().notify_webhook or "").strip()
    if not value:
        return None
    if not value.startswith(("http://", "https://")):
        raise InvalidInput(f"{WEBHOOK_ENV} must be an http:// or https:// URL, got {value[:60]!r}")
    return value


# -- writing (inside the caller's transaction) ---------------------------------------------------


def notify(session: Session, recipient: str, kind: NotificationKind, key: str, text: str, *,
           variant_id: int | None = None, comment_id: int | None = None) -> NotificationView | None:
    """Add a notification in ``session``'s transaction; None when ``(recipient, key)`` exists."""
    exists = session.scalar(sa.select(Notification.id).where(Notification.recipient == recipient,
                                                             Notification.key == key[:128]))
    if exists is not None:
        return None
    row = Notification(recipient=recipient, kind=kind, key=key[:128], text=text, variant_id=variant_id,
                       comment_id=comment_id)
    session.add(row)
    session.flush()
    return _view(row)


def send_webhook(items: Iterable[NotificationView | None]) -> int:
    """POST each notification to the webhook (after the commit); how many were accepted."""
    items = [i for i in items if i is not None]
    try:
        url = webhook_url()
    except InvalidInput as exc:
        log.warning("event=webhook_misconfigured reason=%s", exc)
        return 0
    if url is None or not items:
        return 0
    sent = 0
    for item in items:
        payload = {k: v for k, v in asdict(item).items() if k not in ("id", "read")}
        request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as resp:
                sent += 200 <= resp.status < 300
        except OSError as exc:
            log.warning("event=webhook_failed kind=%s recipient=%s reason=%s", item.kind, item.recipient, exc)
    return sent


# -- reading ------------------------------------------------------------------------------------


def check_new_versions(actor: Actor, *, settings: Settings | None = None) -> list[NotificationView]:
    """Notify ``actor`` of each version made, after their first comment on it, of a slot they
    commented on (once per version)."""
    settings = settings or get_settings()
    made: list[NotificationView | None] = []
    with open_catalog(settings).session() as session:
        first = (sa.select(Variant.slot_key, sa.func.min(Comment.created_at).label("since"))
                 .join(Variant, Variant.id == Comment.variant_id)
                 .where(Comment.author == actor.name).group_by(Variant.slot_key).subquery())
        newer = session.execute(
            sa.select(Variant.id, Variant.slot_key, Variant.version, Variant.segment, Variant.format)
            .join(first, first.c.slot_key == Variant.slot_key)
            .where(Variant.created_at > first.c.since).order_by(Variant.id)
        ).all()
        for vid, slot, version, segment, fmt in newer:
            made.append(notify(session, actor.name, "new_version", f"version:{slot}:{version}",
                               f"A new version (v{version}) of a variant you commented on: #{vid} "
                               f"{segment or ''} {fmt or ''}".strip(), variant_id=vid))
    send_webhook(made)
    return [m for m in made if m is not None]


def for_user(actor: Actor, *, unread_only: bool = False, limit: int = 50,
             settings: Settings | None = None) -> list[NotificationView]:
    """``actor``'s notifications, newest first (new versions are looked for first)."""
    settings = settings or get_settings()
    require(actor, "view")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= LIST_MAX:
        raise InvalidInput(f"limit must be from 1 to {LIST_MAX}, got {limit!r}")
    check_new_versions(actor, settings=settings)
    with open_catalog(settings).session() as session:
        query = sa.select(Notification).where(Notification.recipient == actor.name)
        if unread_only:
            query = query.where(Notification.read_at.is_(None))
        return [_view(n) for n in session.scalars(query.order_by(Notification.id.desc()).limit(limit))]


def unread_count(actor: Actor, *, settings: Settings | None = None) -> int:
    settings = settings or get_settings()
    with open_catalog(settings).session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.recipient == actor.name, Notification.read_at.is_(None))) or 0


def mark_read(actor: Actor, ids: Iterable[int] | None = None, *, settings: Settings | None = None) -> int:
    """Mark ``actor``'s notifications read (all when ``ids`` is None); how many changed."""
    settings = settings or get_settings()
    with open_catalog(settings).session() as session:
        query = sa.update(Notification).where(Notification.recipient == actor.name, Notification.read_at.is_(None))
        if ids is not None:
            query = query.where(Notification.id.in_([int(i) for i in ids]))
        return session.execute(query.values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount


def batch_finished(actor: Actor, decision: str, decided: list[int], skipped: list[tuple[int, str]], *,
                   settings: Settings | None = None) -> NotificationView | None:
    """A batch decision finished: the reviewer's own note (handy from another tab) and the
    webhook's message for the team's chat."""
    settings = settings or get_settings()
    verb = {"approve": "approved", "reject": "rejected", "request_changes": "sent back"}.get(decision, decision)
    text = f"Batch finished: {len(decided)} {verb}"
    if skipped:
        text += f", {len(skipped)} skipped ({', '.join(f'#{i} {why}' for i, why in skipped[:5])}"
        text += ", …)" if len(skipped) > 5 else ")"
    with open_catalog(settings).session() as session:
        key = f"batch:{decision}:{','.join(map(str, decided[:20]))}:{utcnow().isoformat()}"
        made = notify(session, actor.name, "batch", key, text)
    send_webhook([made])
    return made
