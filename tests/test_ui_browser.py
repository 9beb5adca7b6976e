"""The review app in a real browser: a Streamlit server started as `workbench review` starts
it (ui.launch.command) and Debian's headless Chromium driven with Playwright.

Scenario: a creative logs in, approves one variant, rejects another with a comment, compares,
logs out; ad ops logs in, reads the audit trail (CSV download), exports and downloads the zip,
which holds the approved variant and not the rejected one. Screenshots of the queue and compare
pages are saved under the test's own output directory.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.ui_support import (
    WAIT_MS,
    ReviewServer,
    chromium_or_skip,
    copy_home,
    go,
    launch_chromium,
    log_in,
    main_area,
    settle,
    stop_broker,
    template_home,
)


@pytest.fixture
def ui_home(home, tmp_path_factory, sample_title):
    yield copy_home(template_home(tmp_path_factory, sample_title.path), home)
    stop_broker(home)


@pytest.fixture
def server(ui_home, tmp_path):
    srv = ReviewServer(ui_home, tmp_path)
    yield srv
    srv.stop()


@pytest.fixture
def browser():
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p, executable)
        yield b
        b.close()


# -- helpers ---------------------------------------------------------------------------------


def screenshot(page, path: Path) -> Path:
    page.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000, path
    return path


def statuses() -> dict[int, str]:
    from workbench.catalog import open_catalog
    from workbench.catalog.models import Variant

    with open_catalog().session() as session:
        return dict(session.execute(sa.select(Variant.id, Variant.review_status)).all())


# -- the scenario -----------------------------------------------------------------------------


def test_review_and_export_in_a_real_browser(server, browser, tmp_path):
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    ids = sorted(statuses(), reverse=True)  # the queue lists newest first
    to_approve, to_reject = ids[0], ids[1]

    # 1. a creative logs in and sees the queue; the server handed out its XSRF cookie
    log_in(page, server.url, "cara")
    assert any(c["name"] == "_streamlit_xsrf" for c in context.cookies()), "XSRF protection is on"
    page.get_by_text(f"{len(ids)} variants").first.wait_for(timeout=WAIT_MS)
    page.get_by_test_id("stImage").first.wait_for(timeout=WAIT_MS)
    screenshot(page, tmp_path / "queue.png")

    # 2. approve the first variant from its page
    main_area(page).get_by_role("link", name="Open", exact=True).nth(0).click()
    settle(page)
    page.get_by_role("button", name="Approve", exact=True).click()
    page.get_by_text(f"Approved variant #{to_approve}").wait_for(timeout=WAIT_MS)

    # 3. reject the second one: the comment is required
    go(page, "Queue")
    main_area(page).get_by_role("link", name="Open", exact=True).nth(1).click()
    settle(page)
    page.get_by_text("Reject", exact=True).click()
    page.get_by_role("button", name="Send decision").click()
    page.get_by_text("A comment is required").wait_for(timeout=WAIT_MS)
    assert statuses()[to_reject] == "pending"
    page.get_by_label("Comment (required)").fill("Too dark for the <b>hero</b> slot")
    page.get_by_role("button", name="Send decision").click()
    page.get_by_test_id("stAlertContentSuccess").get_by_text("Rejected.").wait_for(timeout=WAIT_MS)
    now = statuses()
    assert (now[to_approve], now[to_reject]) == ("approved", "rejected")

    # 4. compare the approved variant's group, then log out
    go(page, "Queue")
    main_area(page).get_by_role("link", name="Compare", exact=True).nth(0).click()
    settle(page)
    page.get_by_text("Why this frame").first.wait_for(timeout=WAIT_MS)
    assert page.get_by_text(f"#{to_approve} ·").count() >= 1  # the approved variant's own group
    page.get_by_test_id("stSelectbox").filter(has_text="Placement").click()  # widen: every placement
    page.get_by_role("option", name="All", exact=True).click()
    page.get_by_text("3 slots").wait_for(timeout=WAIT_MS)
    settle(page)
    page.wait_for_function("() => Array.from(document.querySelectorAll('[data-testid=\"stImage\"] img'))"
                           ".filter(i => i.complete && i.naturalWidth > 0).length >= 3", timeout=WAIT_MS)
    screenshot(page, tmp_path / "compare.png")
    assert not page.get_by_test_id("stSidebarNav").get_by_role("link", name="Export").count()  # hidden for a creative
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Log in").wait_for(timeout=WAIT_MS)

    # 5. ad ops: the audit trail as CSV
    log_in(page, server.url, "otto")
    go(page, "Audit")
    page.get_by_role("textbox", name="Action", exact=True).fill("review")
    page.keyboard.press("Enter")
    settle(page)
    with page.expect_download(timeout=WAIT_MS) as dl:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO((dl.value.path()).read_text())))
    assert {(r["actor"], r["action"], r["variant_id"]) for r in rows} == {
        ("cara", "review.approve", str(to_approve)), ("cara", "review.reject", str(to_reject))}
    assert [r["comment"] for r in rows if r["action"] == "review.reject"] == ["Too dark for the <b>hero</b> slot"]

    # 6. ad ops exports and downloads the zip
    go(page, "Export")
    page.get_by_role("button", name="Export approved").click()
    page.get_by_text("Exported 1 variant").wait_for(timeout=120_000)
    with page.expect_download(timeout=WAIT_MS) as dl:
        page.get_by_role("button", name="Download zip").click()
    zip_path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(zip_path)
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        manifest = json.loads(zf.read("manifest.json"))
    exported = {f["variant_id"] for f in manifest["files"]}
    assert exported == {to_approve} and to_reject not in exported
    assert "manifest.csv" in names and any(n.startswith("thumbnails/") for n in names)
    assert manifest["exported_by"] == {"name": "otto", "role": "ad_ops"}
    assert not errors, errors
    context.close()
