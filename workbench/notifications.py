"""In-app notifications, and an optional webhook for chat tools.

A notification is one row per recipient (``notifications``), made when what it tells happens:

- a comment that @mentions someone (:mod:`workbench.comments`, in the comment's transaction);
- a new version of a slot someone commented on (:func:`versions_made`, called by the workflow
  right after it records the variants a job or a regeneration made);
- a job that finished, for whoever asked for it, and the last job of a brief, for whoever
  submitted the brief (:func:`job_finished`, called by the worker that finished it);
- a batch decision that finished, for the reviewer (:func:`batch_finished`).

``(recipient, key)`` is unique, so a repeat (a job run twice after a crash, two workers finishing
a brief's last jobs at once) is one row. Only enabled accounts get rows; guests of share links
have none.

When ``WORKBENCH_NOTIFY_WEBHOOK`` names an ``http(s)://`` URL, each new notification is also
POSTed there as JSON (``{"recipient", "kind", "text", "variant_id", "comment_id", "at"}``),
after the commit, with a short timeout. A finished job whose requester has no account (a brief
run from the command line) is still POSTed, with that requester's name. A failing webhook is
logged and never fails what caused it; once it has failed, the rest of that batch is not tried.
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
from workbench.catalog.models import Comment, Job, Notification, User, Variant, utcnow
from workbench.creative import slot_label
from workbench.errors import InvalidInput
from workbench.settings import Settings, get_settings

log = logging.getLogger(__name__)

NotificationKind = Literal["mention", "new_version", "batch", "job"]
WEBHOOK_ENV = "WORKBENCH_NOTIFY_WEBHOOK"
WEBHOOK_TIMEOUT_S = 3.0
LIST_MAX = 200
GUEST_ROLE = "guest"


@dataclass(frozen=True)
class NotificationView:
    id: int  # 0: posted to the webhook only (its recipient has no account)
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


def webhook_url(settings: Settings | None = None) -> str | None:
    """``WORKBENCH_NOTIFY_WEBHOOK`` (``Settings.notify_webhook``) when it is an http(s) URL."""
    value = ((settings or get_settings()).notify_webhook or "").strip()
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


def _accounts(session: Session, names: Iterable[str | None]) -> list[str]:
    """The enabled accounts among ``names`` (compared without case), as the accounts spell them."""
    wanted = {n.lower() for n in names if n}
    if not wanted:
        return []
    return sorted(session.scalars(sa.select(User.name).where(sa.func.lower(User.name).in_(wanted),
                                                             User.disabled.is_(False))))


def send_webhook(items: Iterable[NotificationView | None], settings: Settings | None = None) -> int:
    """POST each notification to the webhook (after the commit); how many were accepted. Never
    raises: a webhook that is down or misconfigured is logged, and the rest of the batch skipped."""
    items = [i for i in items if i is not None]
    if not items:
        return 0
    try:
        url = webhook_url(settings)
    except InvalidInput as exc:
        log.warning("event=webhook_misconfigured reason=%s", exc)
        return 0
    if url is None:
        return 0
    sent = 0
    for n, item in enumerate(items):
        payload = {k: v for k, v in asdict(item).items() if k not in ("id", "read")}
        request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as resp:
                sent += 200 <= resp.status < 300
        except Exception as exc:  # noqa: BLE001 (any failure of the chat tool is logged, never raised)
            log.warning("event=webhook_failed kind=%s recipient=%s reason=%s skipped=%d", item.kind, item.recipient,
                        exc, len(items) - n - 1)
            break
    return sent


def _announce(work: Iterable[NotificationView | None], settings: Settings) -> list[NotificationView]:
    made = [m for m in work if m is not None]
    send_webhook(made, settings)
    return made


# -- pushed by the workflow and the workers ---------------------------------------------------------


def versions_made(variant_ids: Iterable[int], *, settings: Settings | None = None) -> list[NotificationView]:
    """Tell everyone who commented on a slot that it has a new version: called right after the
    variants ``variant_ids`` were recorded (a job or a regeneration). The first version of a
    slot tells nobody; each version is told once per person. Never raises: the variants are
    made whatever happens here (a failure is logged)."""
    settings = settings or get_settings()
    ids = sorted({int(i) for i in variant_ids})
    if not ids:
        return []
    try:
        made: list[NotificationView | None] = []
        with open_catalog(settings).session() as session:
            new = session.execute(sa.select(Variant.id, Variant.slot_key, Variant.version, Variant.segment,
                                             Variant.locale, Variant.format)
                                  .where(Variant.id.in_(ids), Variant.version > 1)).all()
            for vid, slot, version, segment, locale, fmt in new:
                earlier = sa.select(Variant.id).where(Variant.slot_key == slot, Variant.id != vid)
                authors = session.scalars(sa.select(Comment.author).distinct().where(
                    Comment.variant_id.in_(earlier), Comment.role != GUEST_ROLE))
                where = " · ".join(p for p in (segment, locale, slot_label(fmt)) if p)
                for who in _accounts(session, authors):
                    made.append(notify(session, who, "new_version", f"version:{slot}:{version}",
                                       f"A new version (v{version}) of a variant you commented on: #{vid} {where}",
                                       variant_id=vid))
    except sa.exc.IntegrityError:  # the same versions told at once by another process: told once
        return []
    except Exception as exc:  # noqa: BLE001 (a notification must never undo the work it tells of)
        log.warning("event=notify_failed what=new_versions variants=%s reason=%s", ids, exc, exc_info=True)
        return []
    return _announce(made, settings)


def job_finished(job_id: int, *, settings: Settings | None = None) -> list[NotificationView]:
    """Tell whoever asked for job ``job_id`` that it finished (succeeded or failed, with what it
    made), and, when it was the last unfinished job of a brief, tell the brief's submitter that
    the batch is done. Called by the worker right after it finished the job. Never raises."""
    settings = settings or get_settings()
    try:
        made: list[NotificationView | None] = []
        webhook_only: list[NotificationView] = []
        with open_catalog(settings).session() as session:
            job = session.get(Job, job_id)
            if job is None or job.state not in ("succeeded", "failed") or job.finished_at is None:
                return []
            text, first = _job_text(job)
            at = job.finished_at.isoformat()
            key = f"job:{job.id}:{at}"
            recipients = _accounts(session, [job.requested_by])
            for who in recipients:
                made.append(notify(session, who, "job", key, text, variant_id=first))
            if not recipients and job.requested_by:
                webhook_only.append(NotificationView(0, job.requested_by, "job", text, first, None, at, False))
            if job.brief_id is not None:
                made += _brief_done(session, job, webhook_only)
    except sa.exc.IntegrityError:  # another worker finished the brief's last job at once: told once
        return []
    except Exception as exc:  # noqa: BLE001 (a notification must never fail the job it tells of)
        log.warning("event=notify_failed what=job_finished job=%s reason=%s", job_id, exc, exc_info=True)
        return []
    return _announce([*made, *webhook_only], settings)


def _job_text(job: Job) -> tuple[str, int | None]:
    what = f"{job.kind} of {job.title.name}"
    params = job.params or {}
    segments = params.get("segments") or ([params["segment"]] if params.get("segment") else [])
    if segments:
        what += f" ({', '.join(map(str, segments))})"
    if job.state == "failed":
        return f"Job {job.id} failed: {what}. {(job.error or 'no error recorded')[:300]}", job.source_variant_id
    variants = list((job.result or {}).get("variants") or [])
    new = int((job.result or {}).get("new") or 0)
    made = f"{len(variants)} variant{'s' if len(variants) != 1 else ''}" + (f" ({new} new)" if new != len(variants) else "")
    again = f", a new version of #{job.source_variant_id}" if job.source_variant_id else ""
    return f"Job {job.id} finished: {made}, {what}{again}.", (variants[0] if variants else None)


def _brief_done(session: Session, job: Job, webhook_only: list[NotificationView]) -> list[NotificationView | None]:
    states = dict(session.execute(sa.select(Job.state, sa.func.count()).where(Job.brief_id == job.brief_id)
                                  .group_by(Job.state)).all())
    if set(states) - {"succeeded", "failed", "cancelled"}:
        return []  # jobs of the brief are still queued or running
    last = session.scalar(sa.select(sa.func.max(Job.finished_at)).where(Job.brief_id == job.brief_id))
    results = session.scalars(sa.select(Job.result).where(Job.brief_id == job.brief_id))
    variants = sum(len((r or {}).get("variants") or []) for r in results)
    text = (f"Batch finished: brief {job.brief.name!r}, {states.get('succeeded', 0)} of {sum(states.values())} jobs "
            f"succeeded ({variants} variants)")
    if states.get("failed"):
        text += f", {states['failed']} failed"
    text += "."
    key = f"brief:{job.brief_id}:{last.isoformat() if last else ''}"
    requesters = session.scalars(sa.select(Job.requested_by).distinct().where(Job.brief_id == job.brief_id))
    names = [n for n in requesters if n]
    recipients = _accounts(session, names)
    if not recipients and names:
        webhook_only.append(NotificationView(0, names[0], "batch", text, None, None, utcnow().isoformat(), False))
    return [notify(session, who, "batch", key, text) for who in recipients]


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
    send_webhook([made], settings)
    return made


# -- reading ------------------------------------------------------------------------------------


def for_user(actor: Actor, *, unread_only: bool = False, limit: int = 50,
             settings: Settings | None = None) -> list[NotificationView]:
    """``actor``'s notifications, newest first."""
    settings = settings or get_settings()
    require(actor, "view")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= LIST_MAX:
        raise InvalidInput(f"limit must be from 1 to {LIST_MAX}, got {limit!r}")
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
