"""The review app's pages, driven with Streamlit's AppTest against a real catalog (signed
thumbnails of the sample title) and real accounts: login, queue filters and pages, decisions,
compare, jobs, audit, export, and what each role sees; filters whose values read like their
"any" choice, batches that act only on what is shown, an admin changing a decision, regeneration
with no worker and run inline, login throttling, the session handed to the cookie and read back
from it, ids typed into addresses, and the export preview. (The server side: test_ui_security.py
and test_ui_browser.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from tests.ui_support import PASSWORD, grid_cards, grid_ids, grid_selected, grid_tick
from workbench import review
from workbench.catalog import open_catalog
from workbench.access import PermissionDenied
from workbench.catalog.models import AuditEvent, ReviewEvent, Variant

UI = Path(__file__).resolve().parents[1] / "ui"
APP = UI / "app.py"
TOKEN_KEY = "wb_token"
TIMEOUT = 60


def app(user: str | None = None) -> AppTest:
    """The app, run once; signed in as ``user`` through a real login when given."""
    from workbench.users import login

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if user is not None:
        at.session_state[TOKEN_KEY] = login(user, PASSWORD)[1]
    return at.run()


def page(at: AppTest, path: str, **query: str) -> AppTest:
    at.query_params.clear()
    at.query_params.update(query)
    return at.switch_page(path).run()


def no_exception(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(elements) -> str:
    """The elements' text as shown (Markdown backslash escapes removed)."""
    return re.sub(r"\\(.)", r"\1", "\n".join(str(e.value) for e in elements))


def statuses() -> dict[int, str]:
    with open_catalog().session() as session:
        return dict(session.execute(sa.select(Variant.id, Variant.review_status)).all())


def table_rows(at: AppTest, column: str) -> list[dict[str, str]]:
    """The rows of the one static table with ``column``, as shown (Markdown escapes removed)."""
    [table] = [t.value for t in at.table if column in t.value.columns]
    unescape = lambda v: re.sub(r"\\(.)", r"\1", str(v))  # noqa: E731
    return [{unescape(k): unescape(v) for k, v in row.items()} for row in table.to_dict("records")]


def job_bars(at: AppTest) -> list:
    """The progress bars of jobs (the page's other bars chart a score's terms)."""
    return [p for p in at.get("progress") if "job" in p.proto.text]


def button(at: AppTest, label: str):
    found = [b for b in at.button if b.label.startswith(label)]
    assert found, f"no button {label!r} in {[b.label for b in at.button]}"
    return found[0]


def registered_pages(at: AppTest) -> set[str]:
    return {Path(str(info["script_path"])).stem for info in at._registered_pages.values()
            if info.get("script_path")} - {"share"}  # the outside reviewers' page is there for everyone


# -- login ------------------------------------------------------------------------------------


def test_login_wrong_password_then_right_one(ui_home):
    at = no_exception(app())
    assert registered_pages(at) == {"login"}
    at.text_input(key="login_name").set_value("cara")
    at.text_input(key="login_password").set_value("not the password")
    at.button[0].click().run()
    assert "Wrong user name or password" in texts(at.error)
    assert TOKEN_KEY not in at.session_state

    at.text_input(key="login_password").set_value(PASSWORD)
    at.button[0].click().run()
    no_exception(at)
    assert at.session_state[TOKEN_KEY]
    assert "queue" in registered_pages(at) and "login" not in registered_pages(at)
    assert "cara" in texts(at.sidebar.caption)


def test_expired_or_ended_session_goes_back_to_login(ui_home):
    from workbench.users import end_session

    at = no_exception(app("cara"))
    end_session(at.session_state[TOKEN_KEY])
    at.run()
    assert registered_pages(at) == {"login"}
    assert "log in again" in texts(at.warning)
    assert TOKEN_KEY not in at.session_state


def test_session_past_its_ttl_is_refused(ui_home, monkeypatch):
    from workbench.settings import reset_settings_cache

    monkeypatch.setenv("WORKBENCH_SESSION_TTL_S", "0")
    reset_settings_cache()
    at = app("cara")
    assert registered_pages(at) == {"login"}


def test_logout_ends_the_session(ui_home):
    from workbench.users import SessionExpired, actor_for_session

    at = no_exception(app("lou"))
    token = at.session_state[TOKEN_KEY]
    at.sidebar.button(key="logout").click().run()
    assert registered_pages(at) == {"login"}
    with pytest.raises(SessionExpired):
        actor_for_session(token)


# -- roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("user", "export", "users"), [
    ("cara", False, False), ("lou", False, False), ("otto", True, False), ("ada", True, True),
])
def test_pages_follow_the_role(ui_home, user, export, users):
    at = no_exception(app(user))
    pages = registered_pages(at)
    assert {"queue", "compare", "variant", "jobs", "audit"} <= pages
    assert ("export" in pages) is export
    assert ("users" in pages) is users
    if not export:  # the router does not route a creative there at all
        with pytest.raises(ValueError):
            at.switch_page("views/export.py")


def test_export_page_shows_the_library_refusal_to_a_creative(ui_home):
    """The page alone (as if a hidden page were reached anyway): the library refuses the export."""
    from workbench.users import login

    at = AppTest.from_file(str(UI / "views" / "export.py"), default_timeout=TIMEOUT)
    at.session_state[TOKEN_KEY] = login("cara", PASSWORD)[1]
    at.run()
    button(at, "Export approved").click().run()
    no_exception(at)
    assert "Not allowed" in texts(at.error) and "export" in texts(at.error)
    assert not at.get("download_button")
    assert not (ui_home / "exports").exists() or not any((ui_home / "exports").rglob("*.zip"))


def test_ad_ops_cannot_decide(ui_home):
    at = app("otto")
    first = min(statuses())
    page(at, "views/variant.py", id=str(first))
    no_exception(at)
    assert "cannot decide" in texts(at.info) or "not decide" in texts(at.info)
    assert not [b for b in at.button if b.label == "Approve"]


# -- queue ------------------------------------------------------------------------------------


def test_queue_filters_and_pages(ui_home):
    at = no_exception(app("cara"))  # the queue is the first page
    total = len(statuses())
    assert total == 12
    assert f"**{total}** variants" in texts(at.markdown)
    assert sorted(grid_ids(at)) == sorted(statuses())  # one card per variant at 24 a page

    at.selectbox(key="q_per_page").set_value(8).run()
    assert "page 1 of 2" in texts(at.markdown)
    first = grid_ids(at)
    assert first == sorted(statuses(), reverse=True)[:8]  # newest first
    button(at, "Next").click().run()
    assert "page 2 of 2" in texts(at.markdown)
    assert grid_ids(at) == sorted(statuses(), reverse=True)[8:]
    assert button(at, "Next").disabled

    at.selectbox(key="q_f_segment").set_value("action").run()
    assert "**3** variants · page 1 of 1" in texts(at.markdown)  # a filter change goes back to page 1
    at.selectbox(key="q_f_format").set_value("1x1").run()
    assert "**1** variants" in texts(at.markdown)
    at.selectbox(key="q_f_status").set_value("approved").run()
    assert "No variants match" in texts(at.info)


def test_queue_previews_are_small_cached_files(ui_home):
    """Each card names its variant's small cached preview (and the sharper one for wide cards),
    through the media route: never the stored file."""
    from PIL import Image

    from ui.mediafiles import media_file
    from workbench.settings import get_settings

    cards = grid_cards(no_exception(app("cara")))
    assert len(cards) == 12
    for card in cards:
        for size, side in (("small", get_settings().preview_side), ("large", 640)):
            variant, what = card["preview"][size].rsplit("/", 2)[-2:]
            assert (int(variant), what) == (card["id"], f"preview-{side}")
            found = media_file(card["id"], what)
            with Image.open(found.path) as im:
                assert max(im.size) == side and found.path.is_relative_to(ui_home / "previews")
    assert len(list((ui_home / "previews").rglob("*.jpg"))) == 24


def test_batch_approve_from_the_queue(ui_home):
    at = app("lou")
    ids = sorted(statuses())[:3]
    grid_tick(at, *ids)
    button(at, "Approve 3 selected on this page").click().run()
    no_exception(at)
    assert "Approved 3 variants" in texts(at.success)
    now = statuses()
    assert [now[v] for v in ids] == ["approved"] * 3
    assert all(s == "pending" for v, s in now.items() if v not in ids)
    with open_catalog().session() as session:
        events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "review.approve")).all()
    assert sorted(e.variant_id for e in events) == ids  # one audit event per decision
    assert all(e.actor == "lou" and e.role == "localization" for e in events)


def test_selection_survives_paging(ui_home):
    """A tick on page 1 is kept while page 2 is shown (and shown again on page 1), but the
    button on page 2 counts only page 2's ticks and says how many are elsewhere."""
    at = app("cara")
    at.selectbox(key="q_per_page").set_value(8).run()
    first_page = max(statuses())
    grid_tick(at, first_page)
    assert button(at, "Approve 1 selected on this page")
    button(at, "Next").click().run()
    assert at.session_state["q_selected"] == {first_page}
    assert button(at, "Approve 0 selected on this page").disabled
    assert "1 more selected on other pages or filters: not included" in texts(at.caption)
    button(at, "◀ Previous").click().run()
    assert grid_selected(at) == [first_page]
    assert button(at, "Approve 1 selected on this page")


# -- variant page: decisions ------------------------------------------------------------------


def test_approve_on_the_variant_page(ui_home):
    at = app("cara")
    vid = min(statuses())
    page(at, "views/variant.py", id=str(vid))
    no_exception(at)
    assert "Trusted" in texts(at.markdown)  # the provenance panel verified the stored file
    [approve] = [b for b in at.button if b.label == "Approve"]
    approve.click().run()
    no_exception(at)
    assert statuses()[vid] == "approved"
    assert f"Approved variant #{vid}" in texts(at.success)
    history = table_rows(at, "Comment")
    assert [(h["Action"], h["Who"], h["Comment"]) for h in history] == [("approve", "cara", "–")]
    assert history[0]["Details"] == "pending → approved · v1"  # in words, no JSON
    assert history[0]["When"].endswith("UTC")  # AppTest has no browser time zone: UTC, said so


def test_reject_needs_a_comment(ui_home):
    at = app("cara")
    vid = min(statuses())
    page(at, "views/variant.py", id=str(vid))
    at.radio(key="v_decision").set_value("Reject")
    button(at, "Send decision").click().run()
    assert "comment is required" in texts(at.error)
    assert statuses()[vid] == "pending"
    with open_catalog().session() as session:
        assert not session.scalars(sa.select(ReviewEvent)).all()

    comment = "Too dark <script>alert(1)</script> **bold**"
    at.radio(key="v_decision").set_value("Reject")
    at.text_area(key="v_comment").set_value(comment)
    button(at, "Send decision").click().run()
    no_exception(at)
    assert statuses()[vid] == "rejected"
    with open_catalog().session() as session:
        [event] = session.scalars(sa.select(ReviewEvent)).all()
    assert (event.action, event.actor, event.comment) == ("reject", "cara", comment)
    # the comment shows in the history table, escaped (the table's cells are Markdown)
    assert [h["Comment"] for h in table_rows(at, "Comment")] == [comment]
    assert not any("<script>" in m.value for m in at.markdown)


def test_request_changes_with_a_comment(ui_home):
    at = app("cara")
    vid = max(statuses())
    page(at, "views/variant.py", id=str(vid))
    at.radio(key="v_decision").set_value("Request changes")
    at.text_area(key="v_comment").set_value("Pick a brighter frame")
    button(at, "Send decision").click().run()
    no_exception(at)
    assert statuses()[vid] == "changes_requested"
    assert "Changes requested" in texts(at.success)


def test_request_changes_and_regenerate(ui_home):
    import importlib.util

    at = app("cara")
    vid = max(statuses())
    page(at, "views/variant.py", id=str(vid))
    at.radio(key="v_decision").set_value("Request changes")
    at.text_area(key="v_comment").set_value("Another frame, please")
    at.checkbox(key="v_regen").check()
    at.selectbox(key="v_frame").set_value("Another frame")
    button(at, "Send decision").click().run()
    no_exception(at)
    assert statuses()[vid] == "changes_requested"  # the decision stands whatever happens to the job
    if importlib.util.find_spec("workbench.regenerate") is None:
        # not built yet: the page says so instead of failing
        assert "regeneration could not start" in texts(at.error)
    else:
        job_id = at.session_state[f"v_job_{vid}"]
        [bar] = job_bars(at)
        assert f"Regenerating: job {job_id}" in bar.proto.text
        with open_catalog().session() as session:
            [event] = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "variant.regenerate")).all()
        assert event.variant_id == vid and event.details["tweak"] == {"frame": "next"}


def test_regeneration_progress_follows_the_job(ui_home):
    """The progress panel polls the job row; when the job finishes the page says where the new
    version is. (A real job row, finished by hand here: the workers are not under test.)"""
    from workbench.briefs import JobSpec
    from workbench.catalog.models import Job
    from workbench.jobs import create_jobs

    vid = max(statuses())
    [(job, _)] = create_jobs([JobSpec(kind="thumbnail", title="Sample", params={"segments": ["kids"], "top_k": 1})])
    at = app("cara")
    at.session_state[f"v_job_{vid}"] = job.id
    page(at, "views/variant.py", id=str(vid))
    no_exception(at)
    [bar] = job_bars(at)
    assert f"job {job.id} queued" in bar.proto.text
    with open_catalog().session() as session:
        row = session.get(Job, job.id)
        row.state, row.progress = "succeeded", 1.0
    at.run()
    no_exception(at)
    assert "new version is in the queue as pending" in texts(at.success)
    assert f"v_job_{vid}" not in at.session_state


def test_a_video_variant_plays_on_its_page(ui_home):
    """A video variant: a poster frame in the grid, marked as a video, a player on its page, and
    its provenance state (this source file carries no manifest)."""
    from workbench.catalog import repo
    from workbench.catalog.models import Title

    with open_catalog().session() as session:
        title = session.scalars(sa.select(Title)).first()
        video = repo.add_variant(session, title=title, asset=title.source_asset, kind="trailer", segment="action",
                                 format="16x9.mp4.cut15", recipe={"generator": "trailer"})
        vid = video.id
    at = app("cara")
    at.selectbox(key="q_f_kind").set_value("trailer").run()
    no_exception(at)
    [card] = grid_cards(at)
    assert card["id"] == vid and card["video"] == "16x9 mp4" and card["zoom"] is None  # played, not zoomed
    from ui.mediafiles import media_file

    poster = media_file(vid, card["preview"]["small"].rsplit("/", 1)[1])  # the grid shows its poster frame
    assert poster.mime == "image/jpeg" and poster.path.read_bytes()[:2] == b"\xff\xd8"
    page(at, "views/variant.py", id=str(vid))
    no_exception(at)
    assert at.get("video")
    assert "Unsigned" in texts(at.markdown)


# -- compare ----------------------------------------------------------------------------------


def test_the_model_made_share_is_stated_on_the_card_and_the_page_in_plain_words(ui_home, tiny_model, monkeypatch):
    from generators.diffusion.treatments import TreatmentParams
    from generators.thumbnails.generator import ThumbnailParams
    from workbench import rights, workflow
    from workbench.settings import reset_settings_cache

    monkeypatch.setenv("WORKBENCH_DIFFUSION_MODEL", str(tiny_model))
    reset_settings_cache()
    rights.set_rights("Sample", "allowed", actor="test")
    treatment = TreatmentParams("outpaint", steps=3, work_side=64, seed=1)
    [v] = workflow.generate("thumbnail", "Sample", ThumbnailParams(segments=("action",), formats=("9x16",), top_k=1,
                                                                   treatment=treatment)).variants
    share = review.explain(review.get_rows([v.variant_id])[0]).model_share
    words = f"{share * 100:.0f} % of the pixels"
    at = no_exception(app("cara"))  # the queue: the card says it; the other cards (no model) say nothing
    assert {c["id"]: c["model"] for c in grid_cards(at) if c["model"]} == {v.variant_id: words}
    at = no_exception(page(at, "views/variant.py", id=str(v.variant_id)))
    shown = texts(at.markdown)
    assert f"model-made: {words}" in shown
    assert f"**Model-made pixels:** {words}: the area around the frame was generated; the frame itself is real (tiny-sd)" \
        in shown
    assert "outpainted by a model" in shown
    # how it was made: settings in words; the stored recipe only behind its toggle
    settings_table = table_rows(at, "Setting")
    assert {r["Setting"] for r in settings_table} >= {"segment", "format", "treatment"}
    assert not any(r["Value"] in ("None", "null", "") or r["Value"].startswith("{") for r in settings_table)
    assert not at.json
    at.toggle(key=f"recipe_raw_{v.variant_id}").set_value(True).run()
    assert at.json
    plain = no_exception(page(at, "views/variant.py", id=str(min(statuses()))))
    assert "**Model-made pixels:** none: no model ran (classical processing only)" in texts(plain.markdown)


def test_compare_shows_each_slot_with_why_and_recipe(ui_home):
    at = app("cara")
    rows = review.query_variants(review.VariantFilter(segment="romance"), settings=None).items
    anchor = rows[0]
    page(at, "views/compare.py", id=str(anchor.id))
    no_exception(at)
    assert at.selectbox(key="c_segment").value == "romance"
    assert at.selectbox(key="c_placement").value == anchor.placement
    assert "Why this frame" in texts(at.markdown)
    bars = [re.sub(r"\\(.)", r"\1", p.proto.text) for p in at.get("progress")]  # the terms as bars, in words
    assert bars and all(re.search(r"(adds|takes) \d\.\d{3} (to|off) the score", b) for b in bars), bars
    assert at.json, "the recipe"
    at.selectbox(key="c_placement").set_value("All").run()
    assert "3 slots" in texts(at.caption)  # the romance picks of the three placements


def test_compare_shows_older_versions_of_a_slot(ui_home):
    from workbench.catalog import repo
    from workbench.catalog.models import Variant as VariantModel

    anchor = review.query_variants(review.VariantFilter(segment="action", format="16x9")).items[0]
    with open_catalog().session() as session:
        old = session.get(VariantModel, anchor.id)
        newer = repo.add_variant(session, title=old.title, asset=old.asset, kind=old.kind, segment=old.segment,
                                 format=old.format, recipe={**old.recipe, "recipe_key": "v2"}, score=old.score)
        assert newer.version == 2
    at = page(app("cara"), "views/compare.py", id=str(anchor.id))
    no_exception(at)
    assert "Earlier versions" in texts(at.markdown)
    assert "v1 · pending" in texts(at.caption) and "v2" in texts(at.markdown)


def test_admin_adds_a_user(ui_home):
    from workbench.users import authenticate

    at = page(app("ada"), "views/users.py")
    at.text_input(key="u_name").set_value("nina")
    at.selectbox(key="u_role").set_value("localization")
    at.text_input(key="u_password").set_value("a long enough password")
    button(at, "Add user").click().run()
    no_exception(at)
    assert "Added nina as localization" in texts(at.success)
    assert authenticate("nina", "a long enough password").role == "localization"


def test_users_page_lists_changes_roles_disables_and_keeps_the_last_admin(ui_home):
    from workbench.access import Actor
    from workbench.users import SessionExpired, actor_for_session, list_users, login

    lou_token = login("lou", PASSWORD)[1]
    at = no_exception(page(app("ada"), "views/users.py"))
    assert "4 accounts · 4 enabled" in texts(at.caption)
    assert at.selectbox(key="u_role_lou").value == "localization"
    shown = texts(at.markdown)
    assert "never" in shown and "UTC" in shown  # otto never logged in; ada and lou did (UTC under AppTest)
    at.selectbox(key="u_role_lou").set_value("creative").run()
    no_exception(at)
    assert "lou is now creative" in texts(at.success) and at.selectbox(key="u_role_lou").value == "creative"
    button(at, "Disable lou").click().run()
    assert "lou is disabled" in texts(at.success)
    with pytest.raises(SessionExpired):
        actor_for_session(lou_token)  # the disabled account's sessions ended
    button(at, "Enable lou").click().run()
    assert {u.name: (u.role, u.disabled) for u in list_users()}["lou"] == ("creative", False)

    # the last enabled admin: a clear refusal, and the page keeps showing the role she has
    at.selectbox(key="u_role_ada").set_value("creative").run()
    no_exception(at)
    assert "ada is the last enabled admin: make another admin first" in texts(at.error)
    assert at.selectbox(key="u_role_ada").value == "admin"
    button(at, "Disable ada").click().run()
    assert "ada is the last enabled admin" in texts(at.error)
    assert {u.name: u.role for u in list_users()}["ada"] == "admin"
    with open_catalog().session() as session:
        actions = list(session.scalars(sa.select(AuditEvent.action).where(AuditEvent.action.startswith("user."))))
    assert actions == ["user.add"] * 4 + ["user.role", "user.disable", "user.enable"]
    with pytest.raises(PermissionDenied):
        list_users(by=Actor("cara", "creative"))  # the library refuses whoever is not an admin


# -- jobs -------------------------------------------------------------------------------------


def test_jobs_page_says_who_asked_for_what_and_links_what_it_made(ui_home):
    from workbench.access import Actor
    from workbench.briefs import JobSpec
    from workbench.jobs import create_jobs, run_job
    from workbench.regenerate import regenerate

    source = max(statuses())
    made = regenerate(Actor("cara", "creative"), source, {"frame": "next"})
    assert run_job(made.job.id).outcome == "done"  # the job itself, run by the library as a worker runs it
    [new] = set(statuses()) - {v for v in statuses() if v <= source}
    [(queued, _)] = create_jobs([JobSpec(kind="thumbnail", title="Sample", params={"segments": ["kids"], "top_k": 1})],
                                brief_name="Launch art", requested_by="lou")
    at = page(app("cara"), "views/jobs.py")
    at.multiselect(key="j_states").set_value(list(("queued", "running", "failed", "cancelled", "succeeded"))).run()
    no_exception(at)
    shown = texts(at.markdown)
    assert "Asked by **cara**" in shown and "Asked by **lou** · brief “Launch art”" in shown
    links = {str(p.proto.label): p.proto.query_string for p in at.get("page_link")}
    regenerated = next(label for label in links if label.startswith(f"Makes a new version of \\#{source}"))
    assert links[regenerated] == f"id={source}"
    assert "Made 1 variant:" in shown and any(q == f"id={new}" for q in links.values())
    assert "For segments kids · picks per placement 1" in texts(at.caption)
    at.selectbox(key="j_asked").set_value("lou").run()
    assert f"**{queued.id}**" in texts(at.markdown) and f"**{made.job.id}**" not in texts(at.markdown)
    at.selectbox(key="j_asked").set_value(None).run()
    at.selectbox(key="j_kind").set_value("thumbnail").run()
    assert f"**{made.job.id}**" in texts(at.markdown)

    # a job's variants in the queue (its "in the queue" link: ?job=N)
    at = no_exception(page(app("cara"), "views/queue.py", job=str(made.job.id), version="all"))
    assert "**1** variants" in texts(at.markdown) and f"Only the variants job {made.job.id} made" in texts(at.info)
    button(at, "Show every job's variants").click().run()
    assert "job" not in at.query_params and "**1** variants" not in texts(at.markdown)


def test_jobs_page_lists_cancels_and_retries(ui_home):
    from workbench.briefs import JobSpec
    from workbench.jobs import create_jobs, get_job

    [(job, _)] = create_jobs([JobSpec(kind="thumbnail", title="Sample", params={"segments": ["kids"], "top_k": 1})])
    at = no_exception(page(app("cara"), "views/jobs.py"))
    assert f"**{job.id}**" in texts(at.markdown)
    at.button(key=f"j_cancel_{job.id}").click().run()
    no_exception(at)
    assert get_job(job.id).state == "cancelled"
    assert f"Job {job.id}: cancelled" in texts(at.success)

    at.multiselect(key="j_states").set_value(["queued", "cancelled"]).run()
    at.button(key=f"j_retry_{job.id}").click().run()  # queued again and sent to the (embedded) broker
    no_exception(at)
    again = get_job(job.id)
    assert again.state == "queued" and again.celery_task_id

    at = no_exception(page(app("otto"), "views/jobs.py"))  # ad ops sees jobs, cannot act on them
    assert f"**{job.id}**" in texts(at.markdown)
    assert not [b for b in at.button if b.label in ("Cancel", "Retry")]


# -- audit ------------------------------------------------------------------------------------


def test_audit_page_filters_and_offers_csv(ui_home, monkeypatch):
    from workbench.access import Actor

    offered: list[str] = []  # what the page hands to its download button (the library's CSV)

    def audit_csv(events):
        offered.append(real_audit_csv(events))
        return offered[-1]

    real_audit_csv = review.audit_csv
    monkeypatch.setattr(review, "audit_csv", audit_csv)
    first, second = sorted(statuses())[:2]

    review.decide(Actor("cara", "creative"), [first], "approve")
    review.decide(Actor("cara", "creative"), [second], "reject", "=HYPERLINK(\"http://x\") off brand")
    at = no_exception(page(app("otto"), "views/audit.py"))
    table = at.dataframe[0].value
    assert {"review.approve", "review.reject", "login.ok"} <= set(table["Action"])
    at.text_input(key="a_action").set_value("review").run()
    table = at.dataframe[0].value
    assert set(table["Action"]) == {"review.approve", "review.reject"}
    assert "2 events" in texts(at.caption)
    assert not table.isna().any().any() and "None" not in table.to_string()  # no empty or "None" cells
    at.text_input(key="a_variant").set_value(str(second)).run()
    table = at.dataframe[0].value
    assert list(table["Variant"]) == [f"#{second}"] and list(table["Who"]) == ["cara"]
    assert list(table["Details"]) == ["pending → rejected · v1"]
    [download] = at.get("download_button")
    assert download.proto.label == "Download CSV" and not download.proto.disabled
    lines = offered[-1].splitlines()
    assert lines[0].startswith("id,at,actor,role,action") and len(lines) == 2
    assert "review.reject" in lines[1] and "'=HYPERLINK" in lines[1]  # a formula is defused for spreadsheets


# -- export -----------------------------------------------------------------------------------


def test_ad_ops_export_from_the_page(ui_home):
    import zipfile

    from workbench.access import Actor

    approved, rejected = sorted(statuses())[:2]
    review.decide(Actor("cara", "creative"), [approved], "approve")
    review.decide(Actor("cara", "creative"), [rejected], "reject", "no")
    at = no_exception(page(app("otto"), "views/export.py"))
    at.selectbox(key="x_title").set_value("Sample")
    button(at, "Export approved").click().run(timeout=180)
    no_exception(at)
    assert "Exported" in texts(at.success)
    result = at.session_state["x_result"]
    assert result.zip_path.is_file() and result.zip_path.is_relative_to(ui_home / "exports")
    assert at.get("download_button")
    with zipfile.ZipFile(result.zip_path) as zf:
        manifest = zf.read("manifest.csv").decode()
    assert str(approved) in manifest


# -- safety -----------------------------------------------------------------------------------


def test_launch_command_caps_uploads_and_keeps_xsrf(home, monkeypatch):
    from ui.launch import APP as SCRIPT
    from ui.launch import ENTRY, command
    from workbench.settings import reset_settings_cache

    monkeypatch.setenv("WORKBENCH_MAX_UPLOAD_MB", "7")
    reset_settings_cache()
    cmd = command(8601, "127.0.0.1")
    flags = dict(zip(cmd[5::2], cmd[6::2]))
    # the server runs st.App (ui/server.py) around the same script AppTest runs
    assert cmd[1:5] == ["-m", "streamlit", "run", str(ENTRY)] and ENTRY == UI / "server.py" and SCRIPT == APP
    assert "st.App(" in ENTRY.read_text() and "app.py" in ENTRY.read_text()
    assert flags["--server.maxUploadSize"] == "7"
    assert flags["--server.enableXsrfProtection"] == "true"
    assert flags["--server.enableAgentApi"] == "false"
    assert flags["--server.address"] == "127.0.0.1" and flags["--server.port"] == "8601"
    assert flags["--server.headless"] == "true" and flags["--browser.gatherUsageStats"] == "false"
    with pytest.raises(ValueError):
        command(0)


def test_no_page_enables_raw_html():
    """No raw HTML anywhere. The app's scripts are fixed texts held by the modules in SCRIPTS
    (one posts to the session-cookie routes, its data a route path and a handoff code; one maps
    keys to the page's own control labels); no other module mounts a component, and no script
    builds markup from data."""
    import importlib

    for path in UI.rglob("*.py"):
        source = path.read_text()
        assert "unsafe_allow_html" not in source, path
        assert "unsafe_allow_javascript" not in source, path
        assert "st.html(" not in source and "components.v1" not in source, path
        if path.name not in SCRIPTS:
            assert "components.v2" not in source, path
    for name, scripts in SCRIPTS.items():
        module = importlib.import_module(f"ui.{name.removesuffix('.py')}")
        assert (UI / name).read_text().count("st.components.v2.component(") == len(scripts), name
        for script in scripts:
            js = getattr(module, script)
            assert not any(w in js for w in ("innerHTML", "outerHTML", "eval(", "document.write", "insertAdjacentHTML",
                                             "new Function")), (name, script)


SCRIPTS = {"components.py": ("_COOKIE_JS",), "keys.py": ("_KEYS_JS",), "mentions.py": ("_MENTIONS_JS",),
           "viewers.py": ("_LIGHTBOX_JS", "_PLAYER_JS", "_SLIDER_JS", "_PINPAD_JS"),
           "cardgrid.py": ("_GRID_JS",)}  # module -> its fixed scripts


def test_the_ui_never_imports_the_workers_package():
    """Cancel, retry and regenerate go through the library (workbench.jobs, workbench.regenerate),
    which reaches the workers through workbench.queue: the UI has no other way in."""
    import ast

    for path in UI.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not [n for n in names if n == "workers" or n.startswith("workers.")], (path, names)


def test_user_text_is_escaped_in_markdown(ui_home):
    from workbench import workflow

    hostile = "<img src=x onerror=alert(1)> [x](javascript:alert(1)) :red[big]"
    # a second title with a hostile name, sharing the sample's analysis (same source file)
    ingested = workflow.ingest(next((ui_home / "store").rglob("*.mp4")), hostile[:60])
    from generators.thumbnails.generator import ThumbnailParams

    workflow.generate("thumbnail", ingested.title_id, ThumbnailParams(segments=("action",), formats=("1x1",), top_k=1))
    at = no_exception(app("cara"))
    assert not any(b.allow_html for b in [*at.markdown, *at.caption])
    # the card grid sets its words as text (test_no_page_enables_raw_html): the name as it is
    assert [c["about"].split(" · ")[0] for c in grid_cards(at) if "img src" in c["about"]] == [hostile[:60]]
    at.selectbox(key="q_f_title").set_value(hostile[:60]).run()  # the filter: Markdown, escaped
    bodies = [m.value for m in at.markdown] + [c.value for c in at.caption]
    at = no_exception(page(at, "views/compare.py", id=str(grid_ids(at)[0])))
    bodies += [m.value for m in at.markdown] + [c.value for c in at.caption]
    shown = [b for b in bodies if "img src" in b]
    assert shown, "the hostile title is shown"
    assert all("\\<img" in b and "\\[x\\]" in b for b in shown)


# -- filters: "any value" is a sentinel, never a display string (issue 10 item 7) ---------------


def copy_variant(of_id: int, title_name: str, *, segment: str | None = None) -> int:
    """A new variant of ``title_name`` (made if missing, on the sample's source) sharing the
    stored file of variant ``of_id`` (so it verifies and exports like it)."""
    from workbench.catalog import repo

    with open_catalog().session() as session:
        base = session.get(Variant, of_id)
        title = repo.find_title(session, title_name) or repo.create_title(session, title_name, base.title.source_asset)
        seg = segment if segment is not None else base.segment
        made = repo.add_variant(session, title=title, asset=base.asset, kind=base.kind, segment=seg,
                                format=base.format, score=base.score,
                                recipe={**base.recipe, "recipe_key": f"copy-{title_name}-{seg}-{of_id}"})
        return made.id


def queue_total(at: AppTest) -> int:
    [total] = re.findall(r"\*\*(\d+)\*\* variants", texts(at.markdown))
    return int(total)


def test_titles_named_like_the_any_choice_are_filtered_exactly(ui_home):
    base = min(statuses())
    named_all = copy_variant(base, "All")
    named_all_titles = copy_variant(base, "All titles")
    odd_segment = copy_variant(base, "Sample", segment="All")
    total = len(statuses())
    assert total == 15

    at = no_exception(app("cara"))
    assert queue_total(at) == total
    for name, expected in (("All", {named_all}), ("All titles", {named_all_titles})):
        at.selectbox(key="q_f_title").set_value(name).run()
        no_exception(at)
        assert queue_total(at) == 1, name
        assert set(grid_ids(at)) == expected
    at.selectbox(key="q_f_title").set_value(None).run()  # the "any" choice
    assert queue_total(at) == total
    at.selectbox(key="q_f_segment").set_value("All").run()  # the segment called "All", not any segment
    assert queue_total(at) == 1
    assert grid_ids(at) == [odd_segment]
    at.selectbox(key="q_f_segment").set_value(None).run()
    assert queue_total(at) == total
    # the shown words name one choice each
    options = at.selectbox(key="q_f_title").options
    assert options[0] == "All" and len(set(options)) == len(options) == 4

    # compare: the segment called "All" is that segment; the "any" choice is every segment
    at = no_exception(page(app("cara"), "views/compare.py", id=str(odd_segment)))
    assert at.selectbox(key="c_segment").value == "All"
    assert "1 slot · Sample · thumbnail · All ·" in texts(at.caption)
    at = no_exception(page(app("cara"), "views/compare.py"))
    at.selectbox(key="c_title").set_value("Sample").run()
    assert at.selectbox(key="c_segment").value is None and "all segments" in texts(at.caption)
    at.selectbox(key="c_segment").set_value("All").run()
    assert "1 slot · Sample · thumbnail · All ·" in texts(at.caption)


def test_export_and_audit_of_a_title_named_all_titles_pick_that_title(ui_home):
    import json
    import zipfile

    from workbench.access import Actor

    base = min(statuses())
    named_all_titles = copy_variant(base, "All titles")
    named_all = copy_variant(base, "All")
    cara = Actor("cara", "creative")
    review.decide(cara, [base, named_all_titles, named_all], "approve")

    at = no_exception(page(app("otto"), "views/export.py"))
    for name, expected in (("All titles", named_all_titles), ("All", named_all)):
        at.selectbox(key="x_title").set_value(name).run()
        button(at, "Export approved").click().run(timeout=180)
        no_exception(at)
        with zipfile.ZipFile(at.session_state["x_result"].zip_path) as zf:
            manifest = json.loads(zf.read("manifest.json"))
        assert {f["variant_id"] for f in manifest["files"]} == {expected}, name
    at.selectbox(key="x_title").set_value(None).run()  # every title
    button(at, "Export approved").click().run(timeout=180)
    with zipfile.ZipFile(at.session_state["x_result"].zip_path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    assert {f["variant_id"] for f in manifest["files"]} == {base, named_all_titles, named_all}

    at = no_exception(page(app("otto"), "views/audit.py"))
    at.text_input(key="a_action").set_value("review").run()
    at.selectbox(key="a_title").set_value("All titles").run()
    assert list(at.dataframe[0].value["Variant"]) == [f"#{named_all_titles}"]
    at.selectbox(key="a_title").set_value("All").run()
    assert list(at.dataframe[0].value["Variant"]) == [f"#{named_all}"]
    at.selectbox(key="a_title").set_value(None).run()
    assert sorted(at.dataframe[0].value["Variant"]) == sorted(f"#{i}" for i in (base, named_all_titles, named_all))


# -- batch decisions act on what is shown (issue 10 item 18) -------------------------------------


def rows_of(segment: str) -> list[int]:
    return [r.id for r in review.query_variants(review.VariantFilter(segment=segment)).items]


def test_a_hidden_selection_is_never_decided(ui_home):
    action, romance = rows_of("action"), rows_of("romance")
    at = app("lou")
    at.selectbox(key="q_f_segment").set_value("action").run()
    grid_tick(at, *action[:2])
    assert button(at, "Approve 2 selected on this page")
    at.selectbox(key="q_f_segment").set_value("romance").run()  # the two ticked ones are hidden now
    approve = button(at, "Approve 0 selected on this page")
    assert approve.disabled
    assert "2 more selected on other pages or filters: not included" in texts(at.caption)
    grid_tick(at, romance[0])
    button(at, "Approve 1 selected on this page").click().run()
    no_exception(at)
    assert "Approved 1 variant." in texts(at.success)
    now = statuses()
    assert now[romance[0]] == "approved"
    assert [now[v] for v in action[:2]] == ["pending", "pending"]
    assert sum(s == "approved" for s in now.values()) == 1
    # back on their filter, the hidden ticks are shown again and counted there only
    at.selectbox(key="q_f_segment").set_value("action").run()
    assert button(at, "Approve 2 selected on this page")


def test_select_page_with_a_decided_variant_decides_the_others_and_says_so(ui_home):
    from workbench.access import Actor

    action = rows_of("action")
    rejected = action[1]
    review.decide(Actor("cara", "creative"), [rejected], "reject", "too dark")
    at = app("lou")
    at.selectbox(key="q_f_segment").set_value("action").run()
    button(at, "Select page").click().run()
    button(at, f"Approve {len(action)} selected on this page").click().run()
    no_exception(at)
    assert f"Approved {len(action) - 1} variants; 1 skipped: #{rejected} already rejected." in texts(at.success)
    now = statuses()
    assert now[rejected] == "rejected"
    assert all(now[v] == "approved" for v in action if v != rejected)
    assert not at.session_state["q_selected"]


def test_an_admin_changing_a_decision_gives_a_comment_and_confirms(ui_home):
    from workbench.access import Actor

    vid = min(statuses())
    review.decide(Actor("cara", "creative"), [vid], "reject", "off brand")
    at = page(app("ada"), "views/variant.py", id=str(vid))
    no_exception(at)
    assert not [b for b in at.button if b.label == "Approve"]  # no one-click approve of a decided variant
    assert at.radio(key="v_change_to").options == ["Approve", "Request changes"]
    at.radio(key="v_change_to").set_value("approve")
    button(at, "Change decision").click().run()
    assert "A comment is required" in texts(at.error)
    at.text_area(key="v_change_comment").set_value("Legal cleared the logo")
    button(at, "Change decision").click().run()
    assert "Tick the confirmation" in texts(at.error)
    assert statuses()[vid] == "rejected"
    at.checkbox(key="v_change_confirm").check()
    button(at, "Change decision").click().run()
    no_exception(at)
    assert statuses()[vid] == "approved"
    assert f"Variant #{vid}: rejected → approved." in texts(at.success)
    with open_catalog().session() as session:
        event = session.scalars(sa.select(ReviewEvent).order_by(ReviewEvent.id.desc())).first()
    assert (event.actor, event.action, event.comment) == ("ada", "approve", "Legal cleared the logo")
    assert event.details["from"] == "rejected"

    at = page(app("cara"), "views/variant.py", id=str(vid))  # a creative cannot change it
    assert "Only an admin can change a decision" in texts(at.info)
    assert not [b for b in at.button if b.label in ("Approve", "Change decision")]


# -- regeneration without a worker, and jobs (issue 10 item 19) ----------------------------------


def request_changes_with_regeneration(at: AppTest, vid: int) -> AppTest:
    page(at, "views/variant.py", id=str(vid))
    at.radio(key="v_decision").set_value("Request changes")
    at.text_area(key="v_comment").set_value("Another frame, please")
    at.checkbox(key="v_regen").check()
    at.selectbox(key="v_frame").set_value("Another frame")
    return no_exception(button(at, "Send decision").click().run())


def test_regenerate_with_no_worker_says_so_at_once(ui_home):
    vid = max(statuses())
    at = request_changes_with_regeneration(app("cara"), vid)
    job_id = at.session_state[f"v_job_{vid}"]
    [bar] = job_bars(at)
    assert f"Regenerating: job {job_id} queued" in bar.proto.text
    shown = texts(at.warning)
    assert "no worker serves the cpu queue" in shown and "workbench worker --queues cpu" in shown

    at = no_exception(page(app("cara"), "views/jobs.py"))
    assert "No worker is running" in texts(at.warning) and "workbench worker --queues cpu" in texts(at.warning)

    from workbench.queue import heartbeat
    from workbench.settings import get_settings

    heartbeat("w-gpu-1", ["gpu"], get_settings(), started=True)
    at.run()
    assert "w-gpu-1 (gpu)" in texts(at.caption)
    assert "No worker serves the cpu queue" in texts(at.warning)  # a job waits on cpu, only gpu is served
    heartbeat("w-cpu-1", ["cpu"], get_settings(), started=True)
    at.run()
    assert "w-cpu-1 (cpu)" in texts(at.caption) and not at.warning


def test_regenerate_inline_runs_here_and_the_new_version_appears(ui_home, monkeypatch):
    import time

    from workbench.settings import reset_settings_cache

    monkeypatch.setenv("WORKBENCH_INLINE_JOBS", "true")
    reset_settings_cache()
    vid = max(statuses())
    before = set(statuses())
    at = request_changes_with_regeneration(app("cara"), vid)
    assert "Running here" in texts(at.info) and "cpu queue" in texts(at.info)
    deadline = time.monotonic() + 120
    while f"v_job_{vid}" in at.session_state and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
        no_exception(at)
    assert "The new version is in the queue as pending" in texts(at.success)
    [new] = set(statuses()) - before
    assert statuses()[new] == "pending"
    assert any(b.label.startswith("v2 · pending") for b in at.button)  # the new version, one click away


# -- login throttling, sessions from the cookie (issue 10 items 20, 21) ---------------------------


def test_repeated_wrong_passwords_are_throttled_and_audited(ui_home, monkeypatch):
    import datetime as dt

    from ui import components
    from workbench import users
    from workbench.catalog.models import LoginFailure

    now = [dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)]
    monkeypatch.setattr(users, "utcnow", lambda: now[0])  # no time passes between the attempts
    monkeypatch.setattr(components, "client_address", lambda: "203.0.113.7")
    at = no_exception(app())
    shown = []
    for _ in range(7):
        at.text_input(key="login_name").set_value("cara")
        at.text_input(key="login_password").set_value("not the password")
        at.button[0].click().run()
        no_exception(at)
        shown.append(texts(at.error))
    assert shown[:5] == ["Wrong user name or password."] * 5
    assert re.fullmatch(r"Too many failed logins: try again in \d+ s\.", shown[6]), shown[6]
    # while it waits even the right password is not checked
    at.text_input(key="login_password").set_value(PASSWORD)
    at.button[0].click().run()
    assert "Too many failed logins" in texts(at.error) and TOKEN_KEY not in at.session_state
    with open_catalog().session() as session:
        throttled = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "login.throttled")).all()
        clients = set(session.scalars(sa.select(LoginFailure.client)))
    assert len(throttled) >= 2 and all(e.actor == "cara" for e in throttled)
    assert throttled[-1].details["client"] == "203.0.113.7" and clients == {"203.0.113.7"}
    now[0] += dt.timedelta(seconds=users.MAX_WAIT_S)  # waiting it out works
    at.text_input(key="login_password").set_value(PASSWORD)
    at.button[0].click().run()
    no_exception(at)
    assert at.session_state[TOKEN_KEY]


def test_login_hands_the_session_to_the_cookie_then_shows_the_page(ui_home):
    """After the form: only "Signing in…" until the handoff code is used (by the page's POST
    to /_wb/session in a browser; redeemed here by hand), then the page."""
    from ui import sessions

    at = no_exception(app())
    at.text_input(key="login_name").set_value("cara")
    at.text_input(key="login_password").set_value(PASSWORD)
    at.button[0].click().run()
    code = at.session_state["wb_handoff"]
    assert sessions.pending(code) and "Signing in" in texts(at.info)
    assert not grid_cards(at)  # the page (whose pictures need the cookie) waits
    assert sessions.redeem(code) == at.session_state[TOKEN_KEY]
    assert sessions.redeem(code) is None  # single use
    at.run()
    no_exception(at)
    assert "wb_handoff" not in at.session_state
    assert "**12** variants" in texts(at.markdown) and len(grid_cards(at)) == 12


def test_a_new_session_signs_in_from_the_cookie_until_logout(ui_home, monkeypatch):
    """A reload is a new websocket session with empty state: the cookie's token signs it in.
    After logout the cookie names a revoked session: the login form, with no "session ended"
    warning; a cookie whose session ended elsewhere gets that warning."""
    from ui import components
    from workbench.users import SessionExpired, actor_for_session, end_session, login

    token = login("cara", PASSWORD)[1]
    monkeypatch.setattr(components, "cookie_token", lambda: token)
    at = no_exception(AppTest.from_file(str(APP), default_timeout=TIMEOUT).run())  # no session state
    assert "cara" in texts(at.sidebar.caption) and "**12** variants" in texts(at.markdown)
    at.sidebar.button(key="logout").click().run()
    no_exception(at)
    assert registered_pages(at) == {"login"} and "Logged out" in texts(at.info) and not at.warning
    with pytest.raises(SessionExpired):
        actor_for_session(token)
    at.run()
    assert registered_pages(at) == {"login"} and not at.warning  # the dead cookie is not tried again

    other = login("cara", PASSWORD)[1]
    monkeypatch.setattr(components, "cookie_token", lambda: other)
    end_session(other)  # ended in another tab
    at = no_exception(AppTest.from_file(str(APP), default_timeout=TIMEOUT).run())
    assert registered_pages(at) == {"login"} and "log in again" in texts(at.warning)


def test_logged_out_every_page_address_runs_the_login_form(ui_home):
    at = no_exception(app())
    urls = {info.get("url_pathname") for info in at._registered_pages.values()}
    assert {"", "compare", "variant", "jobs", "audit", "export", "users", "login"} <= urls  # "": the queue
    assert registered_pages(at) == {"login"}


# -- ids typed into addresses and boxes ------------------------------------------------------


BAD_IDS = ("²", "٣", "99999999999999999999", "-1", "0", "abc", "5.0", "+5", " 5", "1e3")


@pytest.mark.parametrize("path", ["views/variant.py", "views/compare.py"])
def test_a_bad_id_in_the_address_is_one_line(ui_home, path):
    at = app("cara")
    for raw in BAD_IDS:
        page(at, path, id=raw)
        no_exception(at)
        errors = [str(e.value) for e in at.error]
        assert len(errors) == 1 and "is not an id" in texts(at.error), (raw, errors)
    page(at, path, id="999999")
    no_exception(at)
    assert texts(at.error) == "No variant 999999."


def test_a_bad_variant_id_in_the_audit_box_is_one_line(ui_home):
    at = no_exception(page(app("otto"), "views/audit.py"))
    for raw in BAD_IDS:
        at.text_input(key="a_variant").set_value(raw).run()
        no_exception(at)
        if raw.strip() == "5":  # the box trims spaces: " 5" is 5
            continue
        assert "is not an id" in texts(at.error), raw
    at.text_input(key="a_variant").set_value("999999").run()
    assert not at.error and "0 events" in texts(at.caption)


# -- the export preview ----------------------------------------------------------------------


def test_export_page_previews_each_delivery_before_the_zip(ui_home):
    from workbench.access import Actor

    rows = review.query_variants(review.VariantFilter(format="16x9")).items
    review.decide(Actor("cara", "creative"), [r.id for r in rows], "approve")
    tampered = rows[0]
    tampered.file_path.chmod(0o644)
    tampered.file_path.write_bytes(tampered.file_path.read_bytes()[:-10] + b"0123456789")  # altered after approval

    at = no_exception(page(app("otto"), "views/export.py"))
    assert f"**{len(rows)}** approved variants" in texts(at.markdown)
    assert "Blocked: file altered after approval" in texts(at.error)
    assert len(at.get("image")) == len(rows) - 1  # one picture with its windows per deliverable variant
    tables = [d.value for d in at.dataframe if "delivery" in d.value.columns]
    assert len(tables) == len(rows) - 1
    assert {"display_300x250", "display_970x250", "display_728x90"} <= set(tables[0]["delivery"])
    assert not [b for b in at.button if b.label == "Download zip"]  # nothing made yet
    assert not (ui_home / "exports").exists()
    from ui.mediafiles import media_file

    at = no_exception(app("cara"))  # the queue's card of the altered file gets no picture (it says so)
    previews = {c["id"]: c["preview"]["small"].rsplit("/", 1)[1] for c in grid_cards(at)}
    assert media_file(tampered.id, previews[tampered.id]) is None
    assert all(media_file(vid, what) is not None for vid, what in previews.items() if vid != tampered.id)


def test_export_preview_names_a_delivery_that_cuts_a_face(ui_home, monkeypatch):
    from workbench import export
    from workbench.analysis.types import Box, Face

    row = review.query_variants(review.VariantFilter(format="16x9")).items[0]
    faces = (Face(Box(0.1, 0.2, 0.1, 0.2), 0.9), Face(Box(0.7, 0.2, 0.1, 0.2), 0.9))
    made = export.VariantPreview(row, None, (
        export.DeliveryPreview("thumbnail", row.width, row.height, None, 2, 2, "own"),
        export.DeliveryPreview("display_970x250", 970, 250, (0, 100, row.width // 2, 300), 1, 2, "strip"),
    ), faces)
    monkeypatch.setattr(export, "preview_export", lambda actor, title=None, settings=None: [made])
    at = no_exception(page(app("otto"), "views/export.py"))
    assert texts(at.warning) == "970x250 cuts 1 of 2 faces"
    assert "1 delivery cut a face" in texts(at.markdown)


def test_crop_windows_are_drawn_on_the_cached_preview(ui_home):
    from ui import media
    from workbench import export

    row = review.query_variants(review.VariantFilter(format="16x9")).items[0]
    box = (row.width // 4, row.height // 4, row.width // 2, row.height // 2)
    made = export.VariantPreview(row, None, (
        export.DeliveryPreview("thumbnail", row.width, row.height, None, 0, 0, "own"),
        export.DeliveryPreview("display_300x250", 300, 250, box, 0, 0, "cover"),
    ), ())
    picture = media.crop_windows(made)
    side = max(picture.size)
    assert side <= 320
    sx = picture.width / row.width
    x0, y0 = round(box[0] * sx), round(box[1] * sx)
    mid_y = round((box[1] + box[3]) / 2 * sx)
    assert picture.getpixel((x0, mid_y)) == media.BOX_COLOURS[1]  # the second delivery's window
    assert picture.getpixel((x0 - 3, mid_y)) != media.BOX_COLOURS[1]
    assert y0 > 0


def test_texts_on_a_variant_and_what_its_kind_read_off_the_file_read_as_text():
    """A kind's copy lines (drawn text beside its source) and inspection (facts, problems) as
    the variant page shows them: tables of text, escaped, "–" for nothing, problems in red."""

    def page_of_panels():
        from generators.base import CopyLine, Explanation, Inspection
        from ui import panels

        info = Explanation(heading="Why this placement", copy=(
            CopyLine("title", "Été <b>brûlant</b>", "Burning **Summer**", "fr-FR", ("overflow",)),
            CopyLine("date", "12 juin", None, "fr-FR")))
        panels.copy_panel(info)
        panels.inspection_panel(Inspection(facts=(("QR code", "https://ex.example/p?id=1&x=<y>"),),
                                           problems=("the QR code does not decode to its URL",)))

    at = AppTest.from_function(page_of_panels, default_timeout=TIMEOUT).run()
    no_exception(at)
    [table] = [t.value for t in at.table]
    unescape = lambda v: re.sub(r"\\(.)", r"\1", str(v))  # noqa: E731
    rows = [{unescape(k): unescape(v) for k, v in r.items()} for r in table.to_dict("records")]
    assert rows == [
        {"Text": "title", "As drawn": "Été <b>brûlant</b>", "Source": "Burning **Summer**", "Locale": "fr-FR",
         "QA flags": "overflow"},
        {"Text": "date", "As drawn": "12 juin", "Source": "–", "Locale": "fr-FR", "QA flags": "–"}]
    assert table.iloc[0]["As drawn"] == "Été \\<b\\>brûlant\\</b\\>"  # escaped: the table's cells are Markdown
    assert "The QR code does not decode to its URL" in texts(at.error)
    assert "**QR code:** https://ex.example/p?id=1&x=<y>" in texts(at.markdown)
