"""The review app in a real browser: a Streamlit server started as `workbench review` starts
it (ui.launch.command) and Debian's headless Chromium driven with Playwright.

Scenario: a creative logs in, approves one variant, rejects another with a comment, compares,
logs out; ad ops logs in, reads the audit trail (CSV download), sees the export preview,
exports and downloads the zip, which holds the approved variant and not the rejected one.
Screenshots of the queue and compare pages are saved under the test's own output directory.

Sessions: a reload (a new websocket session) stays signed in through the HttpOnly cookie; a
link opened logged out shows the login form at its own address and the page it names after
the login; no URL ever carries the token.
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
    choose,
    chromium_browser,
    go,
    log_in,
    main_area,
    session_cookie,
    settle,
)


@pytest.fixture
def browser():
    with chromium_browser() as b:
        yield b


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
    page.wait_for_function("() => Array.from(document.querySelectorAll('.wb-card img'))"
                           ".filter(i => i.complete && i.naturalWidth > 0).length >= 1", timeout=WAIT_MS)
    screenshot(page, tmp_path / "queue.png")

    # 2. approve the first variant from its page
    main_area(page).get_by_role("link", name=f"Open #{to_approve}", exact=True).click()
    settle(page)
    page.get_by_role("button", name="Approve", exact=True).click()
    page.get_by_text(f"Approved variant #{to_approve}").wait_for(timeout=WAIT_MS)

    # 3. reject the second one: the comment is required
    go(page, "Queue")
    main_area(page).get_by_role("link", name=f"Open #{to_reject}", exact=True).click()
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
    main_area(page).get_by_role("link", name=f"Compare #{to_approve}", exact=True).click()
    settle(page)
    page.get_by_text("Why this frame").first.wait_for(timeout=WAIT_MS)
    assert page.get_by_text(f"#{to_approve} ·").count() >= 1  # the approved variant's own group
    choose(page, "Placement", "All")  # widen: every placement
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

    # 6. ad ops sees what the export would deliver (each crop window drawn), exports, downloads
    go(page, "Export")
    page.get_by_text("What the export would deliver").wait_for(timeout=WAIT_MS)
    page.wait_for_function("() => Array.from(document.querySelectorAll('[data-testid=\"stMain\"] "
                           "[data-testid=\"stImage\"] img')).filter(i => i.complete && i.naturalWidth > 0)"
                           ".length >= 1", timeout=WAIT_MS)
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


# -- sessions: reloads, links, the cookie ----------------------------------------------------------


def watch_urls(page) -> list[str]:
    """Every URL the page requests or opens a websocket to, and every address it shows."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    page.on("websocket", lambda ws: seen.append(ws.url))
    page.on("framenavigated", lambda f: seen.append(f.url))
    return seen


def login_form(page):
    return page.get_by_role("button", name="Log in")


def test_a_reload_keeps_the_session_and_the_page(server, browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    seen = watch_urls(page)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, server.url, "cara")
    go(page, "Audit")
    page.get_by_role("heading", name="Audit trail").wait_for(timeout=WAIT_MS)
    audit_url = page.url

    page.reload()
    page.get_by_role("heading", name="Audit trail").wait_for(timeout=WAIT_MS)
    settle(page)
    assert page.url == audit_url
    assert page.get_by_text("Signed in as").count() == 1 and login_form(page).count() == 0

    cookie = session_cookie(context)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/" and not cookie["secure"]
    assert "wb_session" not in page.evaluate("document.cookie")  # page scripts cannot read it
    # a second tab of the same browser is signed in too
    other = context.new_page()
    seen += watch_urls(other)
    other.goto(server.url)
    other.get_by_text("Signed in as").wait_for(timeout=WAIT_MS)
    settle(other)
    assert login_form(other).count() == 0

    # logging out ends it for every tab: a reload shows the login form
    page.get_by_role("button", name="Log out").click()
    login_form(page).wait_for(timeout=WAIT_MS)
    other.reload()
    login_form(other).wait_for(timeout=WAIT_MS)
    token = cookie["value"]
    assert len(token) >= 40 and not [u for u in seen if token in u], "a URL carried the session token"
    assert not [u for u in seen if "code=" in u or "token=" in u]
    assert not errors, errors
    context.close()


def test_a_link_opened_logged_out_lands_where_it_points_after_login(server, browser):
    ids = sorted(statuses())
    target = ids[len(ids) // 2]
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    seen = watch_urls(page)
    link = f"{server.url}/variant?id={target}"
    page.goto(link)
    login_form(page).wait_for(timeout=WAIT_MS)
    settle(page)
    assert page.get_by_text("Page not found").count() == 0 and page.get_by_role("dialog").count() == 0
    assert page.url == link

    log_in(page, None, "cara")
    assert page.url == link
    page.get_by_role("heading", name="Decide").wait_for(timeout=WAIT_MS)
    assert main_area(page).get_by_text(f"#{target} ·").count() >= 1

    # a fresh browser with a link to a page whose id is not an id: one line after the login
    bad = browser.new_context(viewport={"width": 1440, "height": 1000})
    other = bad.new_page()
    seen += watch_urls(other)
    other.goto(f"{server.url}/compare?id=%C2%B2")  # "²"
    login_form(other).wait_for(timeout=WAIT_MS)
    log_in(other, None, "lou")
    other.get_by_text("is not an id").wait_for(timeout=WAIT_MS)
    assert other.get_by_test_id("stException").count() == 0
    tokens = [session_cookie(context)["value"], session_cookie(bad)["value"]]
    assert not [u for u in seen for t in tokens if t in u]
    bad.close()
    context.close()
