"""The review conversation library: comment threads with pins and timecodes (validated before
any write, audited), @mentions and notifications (in the app and a webhook on a real local
HTTP server), share links (scoped, hashed, expiring, revocable), and the triage additions to
the queue: QA-flag gating of batch approval, flag filters, search, sort and "next pending"."""

from __future__ import annotations

import http.server
import json
import threading
import typing
from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.review_helpers import CREATIVE, LOCALIZER, TITLE, fast_password_hashing
from workbench import comments, notifications, review, shares
from workbench.access import Actor, PermissionDenied
from workbench.catalog import open_catalog, repo
from workbench.catalog.models import (
    AuditEvent,
    Comment,
    ShareLink,
    Title,
    Variant,
)
from workbench.comments import InvalidComment, InvalidPin, InvalidTime, Pin, TimeRange
from workbench.errors import InvalidInput, NotFound
from workbench.settings import reset_settings_cache
from workbench.shares import ShareExpired

ADA = Actor("ada", "admin")


@pytest.fixture
def people(wb, monkeypatch):
    """Accounts for mentions: ada (admin), cara (creative), lou (localization)."""
    from workbench.users import add_user

    fast_password_hashing(monkeypatch)
    add_user("ada", "admin", "password-1234", by=None, settings=wb)
    add_user("cara", "creative", "password-1234", by=ADA, settings=wb)
    add_user("lou", "localization", "password-1234", by=ADA, settings=wb)
    return wb


def audit(action: str) -> list[AuditEvent]:
    with open_catalog().session() as session:
        return list(session.scalars(sa.select(AuditEvent).where(sa.or_(
            AuditEvent.action == action, AuditEvent.action.startswith(action + "."))).order_by(AuditEvent.id)))


def count(model) -> int:
    with open_catalog().session() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model))


def video_variant(duration_s: float | None = None) -> int:
    """A trailer-like variant whose file is the (video) source of the title."""
    with open_catalog().session() as session:
        title = session.scalars(sa.select(Title)).first()
        video = repo.add_variant(session, title=title, asset=title.source_asset, kind="trailer", segment="action",
                                 format="16x9.mp4.cut15", recipe={"generator": "trailer"})
        return video.id


# -- comments -----------------------------------------------------------------------------------


def test_a_pinned_thread_with_a_reply_is_stored_audited_and_read_back(tpl, people):
    still = tpl.variant_ids[0]
    hostile = "Logo <script>alert(1)</script> **too** big\n\tsee :red[here]"
    first = comments.add_comment(CREATIVE, still, hostile, pin=Pin(0.25, 0.5, 0.2, 0.1))
    reply = comments.add_comment(LOCALIZER, still, "Agreed", parent_id=first.id)
    again = comments.add_comment(CREATIVE, still, "Fixed in v2?", parent_id=reply.id)  # joins the thread
    assert first.body == hostile.strip() and first.pin == Pin(0.25, 0.5, 0.2, 0.1) and first.pin.is_box
    assert (reply.parent_id, again.parent_id) == (first.id, first.id)
    [thread] = comments.threads(CREATIVE, still)
    assert [r.author for r in thread.replies] == ["lou", "cara"] and thread.body == hostile.strip()
    events = audit("comment.add")
    assert [(e.actor, e.variant_id, e.details["comment_id"]) for e in events] == [
        ("cara", still, first.id), ("lou", still, reply.id), ("cara", still, again.id)]
    assert events[0].comment == hostile.strip() and events[0].details["pin"] == {"x": 0.25, "y": 0.5, "w": 0.2, "h": 0.1}

    resolved = comments.resolve(LOCALIZER, first.id)
    assert resolved.resolved and resolved.resolved_by == "lou"
    with pytest.raises(InvalidInput, match="already resolved"):
        comments.resolve(LOCALIZER, first.id)
    assert not comments.resolve(CREATIVE, first.id, False).resolved
    assert [e.action for e in audit("comment")] == ["comment.add"] * 3 + ["comment.resolve", "comment.unresolve"]
    assert comments.counts([still]) == {still: 1}


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"body": ""}, InvalidComment), ({"body": "   \n"}, InvalidComment), ({"body": "x" * 2001}, InvalidComment),
    ({"body": "bell\x07"}, InvalidComment), ({"pin": Pin(1.2, 0.5)}, InvalidPin), ({"pin": Pin(-0.1, 0.5)}, InvalidPin),
    ({"pin": Pin(float("nan"), 0.5)}, InvalidPin), ({"pin": Pin(0.9, 0.5, 0.2, 0.1)}, InvalidPin),
    ({"pin": Pin(0.1, 0.5, 0.2)}, InvalidPin), ({"pin": {"x": "0.5", "y": 0.5}}, InvalidPin),
    ({"time": TimeRange(1.0)}, InvalidTime),  # a time on a still
    ({"parent_id": 999}, NotFound),
])
def test_bad_comments_are_refused_before_anything_is_written(tpl, people, kwargs, error):
    args = {"body": "ok", **kwargs}
    with pytest.raises(error):
        comments.add_comment(CREATIVE, tpl.variant_ids[0], **args)
    assert count(Comment) == 0 and not audit("comment.add")


def test_timecodes_on_a_video_must_fall_inside_it(tpl, people):
    vid = video_variant()
    with open_catalog().session() as session:
        duration = session.get(Variant, vid).asset.duration_s
    assert duration and duration > 2
    made = comments.add_comment(CREATIVE, vid, "Cut here", time=TimeRange(1.5, 2.0))
    assert made.time == TimeRange(1.5, 2.0)
    assert comments.add_comment(CREATIVE, vid, "and here", time=0.5).time == TimeRange(0.5)
    for bad in (TimeRange(-1.0), TimeRange(duration + 1), TimeRange(2.0, 1.0), TimeRange(1.0, duration + 5),
                TimeRange(float("inf"))):
        with pytest.raises(InvalidTime):
            comments.add_comment(CREATIVE, vid, "no", time=bad)
    with pytest.raises(InvalidPin, match="stills"):
        comments.add_comment(CREATIVE, vid, "no", pin=Pin(0.5, 0.5))
    assert count(Comment) == 2


# -- mentions and notifications ---------------------------------------------------------------


class Hook(http.server.BaseHTTPRequestHandler):
    received: typing.ClassVar[list[dict]] = []

    def do_POST(self):
        size = int(self.headers["Content-Length"])
        Hook.received.append(json.loads(self.rfile.read(size)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def webhook(monkeypatch):
    """A real HTTP server on 127.0.0.1 standing in for a chat tool's webhook."""
    Hook.received = []
    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(notifications.WEBHOOK_ENV, f"http://127.0.0.1:{server.server_port}/hook")
    reset_settings_cache()
    yield Hook.received
    server.shutdown()
    server.server_close()


def test_a_mention_notifies_that_user_in_the_app_and_on_the_webhook(tpl, people, webhook):
    still = tpl.variant_ids[1]
    made = comments.add_comment(CREATIVE, still, "@lou can you check the German title? cc @nobody @ada.")
    assert made.mentions == ("lou", "ada")  # @nobody has no account; the trailing full stop is not the name
    [note] = notifications.for_user(LOCALIZER)
    assert (note.kind, note.variant_id, note.comment_id, note.read) == ("mention", still, made.id, False)
    assert "cara mentioned you" in note.text
    assert notifications.unread_count(LOCALIZER) == 1
    assert notifications.mark_read(LOCALIZER) == 1 and notifications.unread_count(LOCALIZER) == 0
    assert sorted(h["recipient"] for h in webhook) == ["ada", "lou"]
    assert all(h["kind"] == "mention" and h["variant_id"] == still for h in webhook)
    assert not notifications.for_user(CREATIVE)  # no note to oneself


def wait_until(condition, timeout: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.timeout(600)
def test_a_real_worker_tells_commenters_of_a_new_version_and_requesters_of_finished_jobs(tpl, people, webhook,
                                                                                          tmp_path):
    """Through the broker and a worker process: when the worker records a regenerated variant,
    everyone who commented on the slot is notified then (nobody has read anything yet), and the
    person who asked hears that the job finished; a brief's submitter hears once when its last job
    is done. The webhook gets the same, from the worker. A second delivery of a finished job adds
    nothing."""
    import os

    from workbench import jobs
    from workbench.catalog.models import Notification
    from workbench.queue import serving
    from workbench.regenerate import regenerate
    from workers.broker import EmbeddedBroker
    from workers.process import WorkerProcess

    still = tpl.variant_ids[2]
    comments.add_comment(LOCALIZER, still, "Brighter please")
    comments.add_comment(CREATIVE, still, "Agreed, and warmer")
    brief = tmp_path / "launch.json"
    brief.write_text(json.dumps({"name": "Launch art", "title": TITLE, "generators": [
        {"kind": "thumbnail", "segments": ["comedy", "drama"], "formats": ["16x9"], "top_k": 1}]}))
    try:
        with WorkerProcess({**os.environ, "PYTHONUNBUFFERED": "1"}, tmp_path / "worker.log"):
            wait_until(lambda: serving("cpu", people))  # its first heartbeat names its queue
            made = regenerate(ADA, still, {"frame": "next"}, comment="another frame")
            assert made.dispatch.route == "queued"  # to the live worker
            submitted = jobs.submit_brief(brief, requested_by="cara")
            done = jobs.wait([made.job.id, *(j.id for j in submitted.jobs)], timeout=300)
    finally:
        EmbeddedBroker(people.home).stop()
    assert [j.state for j in done] == ["succeeded"] * 3, [(j.state, j.error) for j in done]
    [new_id] = done[0].variant_ids
    assert done[0].requested_by == "ada" and done[0].source_variant_id == still
    assert {j.requested_by for j in done[1:]} == {"cara"} and {j.brief_name for j in done[1:]} == {"Launch art"}

    def rows() -> list[tuple]:
        with open_catalog().session() as session:
            return sorted(session.execute(sa.select(Notification.recipient, Notification.kind, Notification.variant_id,
                                                    Notification.text)).all())

    told = rows()  # written by the worker: no one has read their notifications
    assert [(r, k, v) for r, k, v, _ in told if k == "new_version"] == [("cara", "new_version", new_id),
                                                                       ("lou", "new_version", new_id)]
    [(_, _, _, job_text)] = [t for t in told if t[:2] == ("ada", "job")]
    assert job_text.startswith(f"Job {made.job.id} finished: 1 variant") and f"new version of #{still}" in job_text
    assert len([t for t in told if t[:2] == ("cara", "job")]) == 2  # each brief job
    [(_, _, _, batch_text)] = [t for t in told if t[:2] == ("cara", "batch")]
    assert batch_text == "Batch finished: brief 'Launch art', 2 of 2 jobs succeeded (2 variants)."
    assert sorted((h["recipient"], h["kind"]) for h in webhook) == [
        ("ada", "job"), ("cara", "batch"), ("cara", "job"), ("cara", "job"), ("cara", "new_version"),
        ("lou", "new_version")]
    assert [n.kind for n in notifications.for_user(LOCALIZER)] == ["new_version"]
    assert jobs.run_job(made.job.id).outcome == "done" and rows() == told  # a redelivery tells nothing new


def test_a_webhook_that_fails_never_fails_the_comment(tpl, people, monkeypatch, caplog):
    from tests.ui_support import free_port

    monkeypatch.setenv(notifications.WEBHOOK_ENV, f"http://127.0.0.1:{free_port()}/nothing-listens")

    reset_settings_cache()
    made = comments.add_comment(CREATIVE, tpl.variant_ids[0], "@lou look")
    assert made.mentions == ("lou",) and notifications.unread_count(LOCALIZER) == 1
    assert "webhook_failed" in caplog.text
    monkeypatch.setenv(notifications.WEBHOOK_ENV, "ftp://example.invalid/")
    reset_settings_cache()
    with pytest.raises(InvalidInput):
        notifications.webhook_url()


def test_a_batch_decision_leaves_a_note(tpl, people, webhook):
    outcome = review.decide_pending(CREATIVE, list(tpl.variant_ids[:3]), "approve")
    note = notifications.batch_finished(CREATIVE, "approve", [e.variant_id for e in outcome.decided], outcome.skipped)
    assert note is not None and note.text.startswith("Batch finished: 3 approved")
    assert webhook and webhook[-1]["kind"] == "batch"


# -- share links --------------------------------------------------------------------------------


def test_a_share_link_opens_exactly_its_variants_until_revoked(tpl, people):
    scope = list(tpl.variant_ids[:2])
    made = shares.create_share(CREATIVE, scope, label="Agency: Ana", access="comment")
    with open_catalog().session() as session:
        [row] = session.scalars(sa.select(ShareLink)).all()
        assert row.token_hash == shares.token_hash(made.token) and made.token not in json.dumps(
            [row.token_hash, row.label, row.variant_ids])
    grant = shares.grant_for_token(made.token, opened=True)
    assert grant.variant_ids == tuple(scope) and grant.name == "guest:Agency: Ana" and grant.may_comment
    c = comments.add_comment(grant, scope[0], "Love it", pin=Pin(0.5, 0.5))
    assert (c.author, c.role) == ("guest:Agency: Ana", "guest")
    with pytest.raises(PermissionDenied, match="does not name it"):
        comments.add_comment(grant, tpl.variant_ids[3], "sneaky")
    with pytest.raises(PermissionDenied):
        comments.threads(grant, tpl.variant_ids[3])
    assert [t.id for t in comments.threads(grant, scope[0])] == [c.id]

    assert shares.revoke_share(CREATIVE, made.share.id).state == "revoked"
    with pytest.raises(ShareExpired, match="revoked"):
        shares.grant_for_token(made.token)
    with pytest.raises(ShareExpired):
        comments.add_comment(grant, scope[0], "after revocation")  # the grant in hand is re-checked
    assert [e.action for e in audit("share")] == ["share.create", "share.open", "share.revoke"]
    assert audit("comment.add")[0].details["share_id"] == made.share.id


def test_a_view_only_link_cannot_comment_and_a_link_expires(tpl, people):
    view = shares.create_share(CREATIVE, [tpl.variant_ids[0]], label="Legal", access="view", ttl_s=60)
    grant = shares.grant_for_token(view.token)
    with pytest.raises(PermissionDenied, match="only view"):
        comments.add_comment(grant, tpl.variant_ids[0], "hi")
    with open_catalog().session() as session:
        row = session.get(ShareLink, view.share.id)
        row.expires_at = row.created_at - timedelta(seconds=1)
    with pytest.raises(ShareExpired, match="expired"):
        shares.grant_for_token(view.token)
    assert shares.list_shares(CREATIVE)[0].state == "expired"


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"label": ""}, InvalidInput), ({"label": "x" * 121}, InvalidInput), ({"access": "edit"}, InvalidInput),
    ({"ttl_s": 10}, InvalidInput), ({"ttl_s": 10**9}, InvalidInput), ({"ids": []}, InvalidInput),
    ({"ids": [999999]}, NotFound),
])
def test_bad_share_links_are_refused(tpl, people, kwargs, error):
    args = {"label": "ok", **kwargs}
    ids = args.pop("ids", [tpl.variant_ids[0]])
    with pytest.raises(error):
        shares.create_share(CREATIVE, ids, **args)
    with pytest.raises(PermissionDenied):
        shares.create_share(Actor("otto", "ad_ops"), [tpl.variant_ids[0]], label="x")
    assert count(ShareLink) == 0
    with pytest.raises(ShareExpired):
        shares.grant_for_token("not-a-token")


# -- triage -------------------------------------------------------------------------------------


def flag(ids, flags=("overflow",)) -> None:
    with open_catalog().session() as session:
        for i in ids:
            session.get(Variant, i).qa_flags = list(flags)


def test_batch_approval_skips_flagged_variants_unless_overridden_with_a_comment(tpl, people):
    ids = list(tpl.variant_ids[:4])
    flag(ids[:1], ("overflow", "missing_glyphs"))
    outcome = review.decide_pending(CREATIVE, ids, "approve")
    assert sorted(e.variant_id for e in outcome.decided) == sorted(ids[1:])
    assert outcome.skipped == [(ids[0], "has QA flags (overflow, missing_glyphs)")]
    with pytest.raises(InvalidInput, match="needs a comment"):
        review.decide_pending(CREATIVE, [ids[0]], "approve", override_flags=True)
    again = review.decide_pending(CREATIVE, [ids[0]], "approve", "Overflow is the intended crop", override_flags=True)
    assert [e.variant_id for e in again.decided] == [ids[0]]
    [event] = [e for e in audit("review.approve") if e.variant_id == ids[0]]
    assert event.details["override_flags"] == ["overflow", "missing_glyphs"]
    assert event.comment == "Overflow is the intended crop"


def test_queue_filters_by_flag_and_search_and_sorts(tpl, people):
    ids = tpl.variant_ids
    flag(ids[:2])
    flag(ids[2:3], ("missing_glyphs",))
    q = review.query_variants
    assert {r.id for r in q(review.VariantFilter(flag=review.FLAGGED_ANY)).items} == set(ids[:3])
    assert {r.id for r in q(review.VariantFilter(flag="overflow")).items} == set(ids[:2])
    assert q(review.VariantFilter(flag=review.NO_FLAGS)).total == len(ids) - 3
    assert review.filter_options()["flags"] == ["missing_glyphs", "overflow"]
    assert [r.id for r in q(review.VariantFilter(search=f"#{ids[4]}")).items] == [ids[4]]
    assert {r.segment for r in q(review.VariantFilter(search="ROMANCE 16x9")).items} == {"romance"}
    assert q(review.VariantFilter(search="100%_")).total == 0  # wildcards are literal
    by_score = [r.score for r in q(sort="score").items]
    assert by_score == sorted(by_score, reverse=True)
    assert {r.id for r in q(sort="flags").items[:3]} == set(ids[:3])
    with pytest.raises(InvalidInput):
        q(sort="random")


def expected_neighbours(filters: review.VariantFilter, current: int, sort: str) -> tuple:
    """What neighbours() must say, worked out from the queue's own pages: the order of the
    matches (the status filter aside), the current variant in its place even where the filter
    does not show it."""
    unfiltered = review.VariantFilter(**{**vars(filters), "status": None})
    matches = {r.id for r in review.query_variants(unfiltered, per_page=200).items}
    rows = review.query_variants(review.VariantFilter(version="all"), per_page=200, sort=sort).items
    status = {r.id: r.status for r in rows}
    shown = [r.id for r in rows if r.id == current or (r.id in matches and filters.status in (None, r.status))]
    if current not in shown:
        return None, None, None
    at = shown.index(current)
    pending = None
    if filters.status in (None, "pending"):
        pending = next((i for i in shown[at + 1:] + shown[:at] if status[i] == "pending"), None)
    return (shown[at - 1] if at else None), (shown[at + 1] if at + 1 < len(shown) else None), pending


def test_neighbours_agree_with_the_queue_order_for_every_variant_sort_and_filter(tpl, people):
    """The newest-first order seeks past the current variant's keys; the score and flags orders
    scan: both must give what the queue's own order gives, at the ends, across decided ones, and
    for a variant the filter does not show."""
    ids = tpl.variant_ids
    flag(ids[1:4])
    review.decide(CREATIVE, ids[::3], "approve")
    review.decide(CREATIVE, ids[1::4], "reject", "no")
    for sort in review.SORTS:
        for filters in (review.VariantFilter(), review.VariantFilter(status="pending"),
                        review.VariantFilter(status="approved"), review.VariantFilter(segment="romance"),
                        review.VariantFilter(segment="action", status="pending"),
                        review.VariantFilter(flag=review.FLAGGED_ANY)):
            for current in [*ids, 999_999]:
                assert review.neighbours(filters, current, sort=sort) == \
                    expected_neighbours(filters, current, sort), (sort, filters, current)


def test_next_pending_follows_the_filter_and_order_and_wraps(tpl, people):
    newest_first = [r.id for r in review.query_variants().items]
    a, b, c = newest_first[:3]
    assert review.neighbours(None, a) == (None, b, b)
    review.decide(CREATIVE, [b], "approve")
    assert review.neighbours(None, a) == (None, b, c)  # b keeps its place, but is not pending
    pending = review.VariantFilter(status="pending")
    assert review.neighbours(pending, b)[2] == c  # b was just decided: still "here", next pending after it
    for i in newest_first[1:]:
        if i != b:
            review.decide(CREATIVE, [i], "approve")
    assert review.neighbours(None, a)[2] is None
    last = newest_first[-1]
    review_status_of_a = review.get_rows([a])[0].status
    assert review_status_of_a == "pending" and review.neighbours(None, last)[2] == a  # wraps to the start
