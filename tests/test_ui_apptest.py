"""The review app's pages, driven with Streamlit's AppTest against a real catalog (signed
thumbnails of the sample title) and real accounts: login, queue filters and pages, decisions,
compare, jobs, audit, export, and what each role sees."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from tests.ui_support import PASSWORD, copy_home, stop_broker, template_home
from workbench import review
from workbench.catalog import open_catalog
from workbench.catalog.models import AuditEvent, ReviewEvent, Variant

UI = Path(__file__).resolve().parents[1] / "ui"
APP = UI / "app.py"
TOKEN_KEY = "wb_token"
TIMEOUT = 60


@pytest.fixture
def ui_home(home, tmp_path_factory, sample_title):
    """This test's own copy of a small real catalog: 12 signed variants, one account per role.
    The embedded broker a regenerate or retry starts is stopped afterwards."""
    yield copy_home(template_home(tmp_path_factory, sample_title.path), home)
    stop_broker(home)


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


def button(at: AppTest, label: str):
    found = [b for b in at.button if b.label.startswith(label)]
    assert found, f"no button {label!r} in {[b.label for b in at.button]}"
    return found[0]


def registered_pages(at: AppTest) -> set[str]:
    return {Path(str(info["script_path"])).stem for info in at._registered_pages.values() if info.get("script_path")}


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
    assert len(at.get("image")) == total  # one preview per variant at 24 a page

    at.selectbox(key="q_per_page").set_value(8).run()
    assert "page 1 of 2" in texts(at.markdown)
    assert len(at.get("image")) == 8
    button(at, "Next").click().run()
    assert "page 2 of 2" in texts(at.markdown)
    assert len(at.get("image")) == total - 8
    assert button(at, "Next").disabled

    at.selectbox(key="q_f_segment").set_value("action").run()
    assert "**3** variants · page 1 of 1" in texts(at.markdown)  # a filter change goes back to page 1
    at.selectbox(key="q_f_format").set_value("1x1").run()
    assert "**1** variants" in texts(at.markdown)
    at.selectbox(key="q_f_status").set_value("approved").run()
    assert "No variants match" in texts(at.info)


def test_queue_previews_are_small_cached_files(ui_home):
    from workbench.settings import get_settings

    no_exception(app("cara"))
    previews = list((ui_home / "previews").rglob("*.jpg"))
    assert len(previews) == 12
    side = get_settings().preview_side
    from PIL import Image

    for path in previews:
        with Image.open(path) as im:
            assert max(im.size) <= side


def test_batch_approve_from_the_queue(ui_home):
    at = app("lou")
    ids = sorted(statuses())[:3]
    for vid in ids:
        at.checkbox(key=f"q_sel_{vid}").check()
    at.run()
    button(at, "Approve selected (3)").click().run()
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
    at = app("cara")
    at.selectbox(key="q_per_page").set_value(8).run()
    first_page = max(statuses())
    at.checkbox(key=f"q_sel_{first_page}").check().run()
    button(at, "Next").click().run()
    assert at.session_state["q_selected"] == {first_page}
    assert button(at, "Approve selected (1)")


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
    [history] = [d.value for d in at.dataframe if "comment" in d.value.columns]
    assert list(history["action"]) == ["approve"] and list(history["who"]) == ["cara"]


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
    # the comment shows in the history table, as text; no markdown on the page carries it raw
    [history] = [d.value for d in at.dataframe if "comment" in d.value.columns]
    assert list(history["comment"]) == [comment]
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
        [bar] = at.get("progress")
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
    [bar] = at.get("progress")
    assert f"job {job.id} queued" in bar.proto.text
    with open_catalog().session() as session:
        row = session.get(Job, job.id)
        row.state, row.progress = "succeeded", 1.0
    at.run()
    no_exception(at)
    assert "new version is in the queue as pending" in texts(at.success)
    assert f"v_job_{vid}" not in at.session_state


def test_a_video_variant_plays_on_its_page(ui_home):
    """A video variant: a placeholder in the grid (no preview frames of videos yet), a player on
    its page, and its provenance state (this source file carries no manifest)."""
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
    assert "video: open it to play" in texts(at.markdown) and not at.get("image")
    page(at, "views/variant.py", id=str(vid))
    no_exception(at)
    assert at.get("video")
    assert "Unsigned" in texts(at.markdown)


# -- compare ----------------------------------------------------------------------------------


def test_compare_shows_each_slot_with_why_and_recipe(ui_home):
    at = app("cara")
    rows = review.query_variants(review.VariantFilter(segment="romance"), settings=None).items
    anchor = rows[0]
    page(at, "views/compare.py", id=str(anchor.id))
    no_exception(at)
    assert at.selectbox(key="c_segment").value == "romance"
    assert at.selectbox(key="c_placement").value == anchor.placement
    assert "Why this frame" in texts(at.markdown)
    assert at.dataframe, "the score terms table"
    assert {"feature", "contribution"} <= set(at.dataframe[0].value.columns)
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


# -- jobs -------------------------------------------------------------------------------------


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
    assert {"review.approve", "review.reject", "login.ok"} <= set(table["action"])
    at.text_input(key="a_action").set_value("review").run()
    table = at.dataframe[0].value
    assert set(table["action"]) == {"review.approve", "review.reject"}
    assert "2 events" in texts(at.caption)
    at.text_input(key="a_variant").set_value(str(second)).run()
    table = at.dataframe[0].value
    assert list(table["variant"]) == [second] and list(table["who"]) == ["cara"]
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
    from ui.launch import APP as LAUNCHED
    from ui.launch import command
    from workbench.settings import reset_settings_cache

    monkeypatch.setenv("WORKBENCH_MAX_UPLOAD_MB", "7")
    reset_settings_cache()
    cmd = command(8601, "127.0.0.1")
    flags = dict(zip(cmd[5::2], cmd[6::2]))
    assert cmd[1:5] == ["-m", "streamlit", "run", str(LAUNCHED)] and LAUNCHED == APP
    assert flags["--server.maxUploadSize"] == "7"
    assert flags["--server.enableXsrfProtection"] == "true"
    assert flags["--server.address"] == "127.0.0.1" and flags["--server.port"] == "8601"
    assert flags["--server.headless"] == "true" and flags["--browser.gatherUsageStats"] == "false"
    with pytest.raises(ValueError):
        command(0)


def test_no_page_enables_raw_html():
    for path in UI.rglob("*.py"):
        source = path.read_text()
        assert "unsafe_allow_html" not in source, path
        assert "st.html(" not in source and "components.v1" not in source, path


def test_user_text_is_escaped_in_markdown(ui_home):
    from workbench import workflow

    hostile = "<img src=x onerror=alert(1)> [x](javascript:alert(1)) :red[big]"
    # a second title with a hostile name, sharing the sample's analysis (same source file)
    ingested = workflow.ingest(next((ui_home / "store").rglob("*.mp4")), hostile[:60])
    from generators.thumbnails.generator import ThumbnailParams

    workflow.generate_thumbnails(ingested.title_id, ThumbnailParams(segments=("action",), formats=("1x1",), top_k=1))
    at = no_exception(app("cara"))
    bodies = [m.value for m in at.markdown] + [c.value for c in at.caption]
    assert not any(b.allow_html for b in [*at.markdown, *at.caption])
    shown = [b for b in bodies if "img src" in b]
    assert shown, "the hostile title is shown"
    assert all("\\<img" in b and "\\[x\\]" in b for b in shown)
