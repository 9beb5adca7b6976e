"""Triage and conversation in a real browser (Debian's headless Chromium, Playwright), on the
server `workbench review` starts (tests/ui_support.py):

- approve-and-next through 10 variants with the keyboard only (j, o, a), space to select, ? for
  the shortcuts; the queue's view kept in the address; no unnamed buttons or checkboxes in
  Chromium's accessibility tree;
- a pinned comment on a still that another user (mentioned, so notified) sees drawn on the
  picture and replies to; a timecoded comment on a video with its seek link;
- a share link made from a selection: the outside reviewer sees exactly its variants, comments,
  and loses access when it is revoked; the token leaves the address; a hidden selection is
  never decided;
- ticks clicked faster than the page's runs all count.
"""

from __future__ import annotations

import re
import time

import sqlalchemy as sa

from tests.test_ui_browser import browser, statuses  # noqa: F401 (the browser fixture)
from tests.ui_support import WAIT_MS, choose, go, log_in, main_area, settle

UNNAMED = re.compile(r"^\s*- (button|checkbox)(\s*\[[^\]]*\])*\s*:?\s*$")


def unnamed_controls(page) -> list[str]:
    """Buttons and checkboxes without an accessible name, from Chromium's accessibility tree."""
    tree = page.locator("body").aria_snapshot()
    return [line for line in tree.splitlines() if UNNAMED.match(line)]


def new_page(browser):  # noqa: F811
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


def blur(page) -> None:
    """The page has the keyboard (not a field), and the shortcuts are listening."""
    page.wait_for_function("() => window.__wbKeysBound === true", timeout=WAIT_MS)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")


def tick(page, vid: int) -> None:
    """Tick a card's checkbox (a click on its label, as a person does)."""
    page.locator("label.wb-tick").filter(has_text=re.compile(rf"^Select #{vid}$")).click()
    page.get_by_role("checkbox", name=f"Select #{vid}", exact=True).wait_for(timeout=WAIT_MS)
    page.wait_for_function(f"() => document.querySelector('input[aria-label=\"Select #{vid}\"]')?.checked",
                           timeout=WAIT_MS)


def by_score() -> list[int]:
    from workbench import review

    return [r.id for r in review.query_variants(per_page=100, sort="score").items]


def test_approve_and_next_through_ten_variants_with_the_keyboard(server, browser):  # noqa: F811
    order = by_score()
    context, page, errors = new_page(browser)
    log_in(page, f"{server.url}/?sort=score", "cara")
    assert "sort=score" in page.url
    page.get_by_text(f"{len(order)} variants").first.wait_for(timeout=WAIT_MS)
    assert not unnamed_controls(page), unnamed_controls(page)

    # the queue: j moves between cards, space selects, ? shows the shortcuts, o opens
    blur(page)  # the page has the keyboard, not a field
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("Space")
    settle(page)
    assert page.get_by_role("checkbox", name=f"Select #{order[1]}", exact=True).is_checked()
    page.get_by_role("button", name="Approve 1 selected on this page").wait_for(timeout=WAIT_MS)
    page.keyboard.press("?")
    page.get_by_role("dialog").get_by_text("open the focused card").wait_for(timeout=WAIT_MS)
    page.keyboard.press("Escape")
    page.get_by_role("dialog").wait_for(state="detached", timeout=WAIT_MS)
    page.get_by_role("checkbox", name=f"Select #{order[0]}", exact=True).focus()
    page.keyboard.press("o")
    page.get_by_role("heading", name="Decide").wait_for(timeout=WAIT_MS)
    settle(page)
    assert f"id={order[0]}" in page.url and "sort=score" in page.url
    assert not unnamed_controls(page), unnamed_controls(page)

    # a, ten times: each approves and lands on the next pending variant of the same order
    timings = []
    for n in range(10):
        started = time.monotonic()
        page.keyboard.press("a")
        page.get_by_text(f"Approved variant #{order[n]}. Next: #{order[n + 1]}.").wait_for(timeout=WAIT_MS)
        settle(page)
        timings.append(time.monotonic() - started)
        assert f"id={order[n + 1]}" in page.url
        main_area(page).get_by_text(f"pending #{order[n + 1]} ·").first.wait_for(timeout=WAIT_MS)
    now = statuses()
    assert [now[i] for i in order[:10]] == ["approved"] * 10
    assert [now[i] for i in order[10:]] == ["pending"] * (len(order) - 10)

    # r right after a page switch (j / k follow the links), typed ahead: every time the cursor
    # lands in the decision's comment box; Escape leaves it without typing anything
    for n, key in enumerate("jkjkj"):
        page.keyboard.press(key)
        page.keyboard.press("r")
        page.wait_for_function("() => document.activeElement?.getAttribute('aria-label') === 'Comment (required)'",
                               timeout=WAIT_MS)
        shown = order[11] if key == "j" else order[10]
        assert f"id={shown}" in page.url, (n, key, page.url)
        page.keyboard.press("Escape")
        assert page.evaluate("() => document.activeElement?.tagName") != "TEXTAREA"
    assert page.locator('textarea[aria-label="Comment (required)"]').input_value() == ""
    # reject and next with the keyboard only: r, the comment, Ctrl+Enter (sends and moves on)
    page.keyboard.press("r")
    page.wait_for_function("() => document.activeElement?.getAttribute('aria-label') === 'Comment (required)'",
                           timeout=WAIT_MS)
    page.keyboard.type("Too dark")
    page.keyboard.press("Control+Enter")
    page.get_by_text(f"Rejected. Next: #{order[10]}.").wait_for(timeout=WAIT_MS)  # the search wraps to the start
    page.keyboard.press("r")  # after a rerun (no page switch) too
    page.wait_for_function("() => document.activeElement?.getAttribute('aria-label') === 'Comment (required)'",
                           timeout=WAIT_MS)
    assert page.locator('textarea[aria-label="Comment (required)"]').input_value() == ""  # not the last one's text
    page.keyboard.type("Too soft")
    page.keyboard.press("Control+Enter")
    page.get_by_text("Rejected. No more pending variants in this view.").wait_for(timeout=WAIT_MS)
    assert [statuses()[i] for i in order[10:]] == ["rejected", "rejected"]
    # ? shows the shortcuts, Escape closes them
    settle(page)
    page.keyboard.press("?")
    page.get_by_role("dialog").get_by_text("approve and go to the next pending variant").wait_for(timeout=WAIT_MS)
    page.keyboard.press("Escape")
    page.get_by_role("dialog").wait_for(state="detached", timeout=WAIT_MS)
    assert not errors, errors
    print(f"approve-and-next round trips (s): {[round(t, 2) for t in timings]}")
    context.close()


def video_variant() -> int:
    from workbench.catalog import open_catalog, repo
    from workbench.catalog.models import Title

    with open_catalog().session() as session:
        title = session.scalars(sa.select(Title)).first()
        return repo.add_variant(session, title=title, asset=title.source_asset, kind="trailer", segment="action",
                                format="16x9.mp4.cut15", recipe={"generator": "trailer"}).id


def test_a_pinned_comment_is_seen_and_answered_and_a_timecode_seeks(server, browser):  # noqa: F811
    still = min(statuses())
    video = video_variant()
    cara_ctx, cara, errors = new_page(browser)
    log_in(cara, f"{server.url}/variant?id={still}", "cara")
    cara.get_by_role("heading", name="Comments").wait_for(timeout=WAIT_MS)
    blur(cara)
    cara.keyboard.press("c")  # c: the new comment box
    cara.wait_for_function("() => document.activeElement?.getAttribute('aria-label') === 'New comment'",
                           timeout=WAIT_MS)
    cara.keyboard.type("@l")  # "@" suggests names; the arrow keys and Enter pick one
    suggestions = cara.get_by_role("listbox", name="People to mention")
    suggestions.get_by_role("option", name="@lou").wait_for(timeout=WAIT_MS)
    assert suggestions.get_by_role("option").all_inner_texts() == ["@lou"]
    cara.keyboard.press("Enter")
    suggestions.wait_for(state="detached", timeout=WAIT_MS)
    cara.keyboard.type("the logo <b>crowds</b> the face")
    assert cara.get_by_label("New comment").input_value() == "@lou the logo <b>crowds</b> the face"
    cara.get_by_label("Pin x").fill("0.6")
    cara.get_by_label("Pin y").fill("0.25")
    cara.get_by_label("Box width").fill("0.3")
    cara.get_by_label("Box height").fill("0.4")
    cara.get_by_role("button", name="Add comment").click()
    cara.get_by_text("Comment 1 added.").wait_for(timeout=WAIT_MS)
    cara.get_by_text("its pin drawn on the picture").wait_for(timeout=WAIT_MS)

    # lou: notified (mentioned), opens it, sees the pin drawn, replies
    lou_ctx, lou, lou_errors = new_page(browser)
    log_in(lou, server.url, "lou")
    lou.get_by_role("button", name=re.compile("Notifications: 1 unread")).click()
    lou.get_by_text("cara mentioned you").wait_for(timeout=WAIT_MS)
    lou.get_by_role("link", name=f"Open variant #{still} (notification 1)").click()
    settle(lou)
    main_area(lou).get_by_test_id("stText").get_by_text("@lou the logo <b>crowds</b> the face").wait_for(
        timeout=WAIT_MS)  # as text, not markup
    lou.get_by_role("button", name="Show comment 1 on the picture").click()
    lou.get_by_text("Comment 1: its pin drawn on the picture").wait_for(timeout=WAIT_MS)
    lou.wait_for_function("() => Array.from(document.querySelectorAll('[data-testid=\"stImage\"] img'))"
                          ".some(i => i.complete && i.naturalWidth >= 1000)", timeout=WAIT_MS)
    lou.get_by_label("Reply to comment 1").fill("Moved it left in v2")
    lou.get_by_role("button", name="Send reply to comment 1").click()
    settle(lou)
    cara.reload()
    cara.get_by_text("Moved it left in v2").wait_for(timeout=WAIT_MS)

    # a timecoded comment on a video, and its seek link
    cara.goto(f"{server.url}/variant?id={video}")
    cara.get_by_role("heading", name="Comments").wait_for(timeout=WAIT_MS)
    cara.get_by_label("New comment").fill("The door cut is late")
    cara.get_by_label("At (seconds)").fill("2")
    cara.get_by_label("Until (seconds, optional)").fill("3.5")
    cara.get_by_role("button", name="Add comment").click()
    cara.get_by_role("button", name=re.compile(r"Play from 00:02\.00–00:03\.50 \(comment 3\)")).click()
    cara.wait_for_function("() => new URLSearchParams(location.search).get('at') === '2.00'", timeout=WAIT_MS)
    settle(cara)
    cara.locator("video").first.wait_for(timeout=WAIT_MS)
    cara.wait_for_function("() => { const v = document.querySelector('video'); return v && v.readyState >= 1 "
                           "&& v.currentTime >= 1.9; }", timeout=WAIT_MS)
    assert not unnamed_controls(cara), unnamed_controls(cara)
    assert not errors and not lou_errors, errors + lou_errors
    cara_ctx.close()
    lou_ctx.close()


def test_a_share_link_shows_its_variants_until_revoked_and_a_hidden_selection_is_not_decided(server, browser):  # noqa: F811
    from workbench import review

    action = [r.id for r in review.query_variants(review.VariantFilter(segment="action")).items]
    romance = [r.id for r in review.query_variants(review.VariantFilter(segment="romance")).items]
    context, page, errors = new_page(browser)
    log_in(page, f"{server.url}/?segment=action", "cara")
    page.get_by_text("3 variants").first.wait_for(timeout=WAIT_MS)
    for vid in action[:2]:
        tick(page, vid)
        settle(page)

    # share the two ticked ones
    page.get_by_text("Share 2 selected with someone outside the team").click()
    page.get_by_label("Who the link is for").fill("Agency: Ana")
    settle(page)
    page.get_by_role("button", name="Create share link").click()
    settle(page)
    said = page.locator('[data-testid="stAlert"], [data-testid="stException"]')
    try:
        said.first.wait_for(timeout=WAIT_MS)
    except Exception:  # say what the page shows instead, and whether the link was made
        from workbench import shares
        from workbench.access import Actor

        made = [s.label for s in shares.list_shares(Actor("test", "admin"))]
        raise AssertionError(f"links in the catalog: {made}; the page: {main_area(page).inner_text()[-1500:]}") from None
    assert page.get_by_text("Share link made").is_visible(), said.all_inner_texts()  # an error says why
    link = page.locator("code").filter(has_text="/share?t=").first.inner_text().strip()
    token = link.split("t=", 1)[1]

    # the hidden selection: under another filter the two are not counted and not decided
    choose(page, "Segment", "romance")  # in the same session
    settle(page)
    page.wait_for_function("() => location.search.includes('segment=romance')", timeout=WAIT_MS)  # the address follows
    page.get_by_text("2 more selected on other pages or filters: not included").wait_for(timeout=WAIT_MS)
    tick(page, romance[0])
    settle(page)
    page.get_by_role("button", name="Approve 1 selected on this page").click()
    page.get_by_text("Approved 1 variant.").wait_for(timeout=WAIT_MS)
    now = statuses()
    assert now[romance[0]] == "approved" and [now[v] for v in action[:2]] == ["pending", "pending"]

    # the outside reviewer: exactly the two variants, the token out of the address, comments
    guest_ctx, guest, guest_errors = new_page(browser)
    seen: list[str] = []
    guest.on("framenavigated", lambda f: seen.append(f.url))
    guest.goto(server.url + link)
    guest.get_by_text("For Agency: Ana").wait_for(timeout=WAIT_MS)
    guest.get_by_text("Opening the shared review").wait_for(state="detached", timeout=WAIT_MS)
    settle(guest)
    assert "t=" not in guest.url
    cookie = next(c for c in guest_ctx.cookies() if c["name"] == "wb_share")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    shown = sorted(int(i) for i in re.findall(r"#(\d+)", guest.get_by_test_id("stRadio").inner_text()))
    assert shown == sorted(action[:2]) and guest.get_by_test_id("stRadio").get_by_role("radio").count() == 2
    guest.wait_for_function("() => Array.from(document.querySelectorAll('[data-testid=\"stImage\"] img'))"
                            ".some(i => i.complete && i.naturalWidth > 0)", timeout=WAIT_MS)  # media for the link
    guest.get_by_label("New comment").fill("Love the second one")
    guest.get_by_role("button", name="Add comment").click()
    guest.get_by_text("guest:Agency: Ana").first.wait_for(timeout=WAIT_MS)
    guest.reload()  # the cookie keeps the link working without the token in the address
    guest.get_by_text("For Agency: Ana").wait_for(timeout=WAIT_MS)
    guest.goto(f"{server.url}/variant?id={action[2]}")  # anything else asks for a login
    guest.get_by_role("button", name="Log in").wait_for(timeout=WAIT_MS)
    assert guest.get_by_role("heading", name="Decide").count() == 0
    assert not unnamed_controls(guest), unnamed_controls(guest)

    # revoked: the link stops at once
    go(page, "Share links")
    page.get_by_role("button", name="Revoke link 1").click()
    page.get_by_text("Share link 1 revoked").wait_for(timeout=WAIT_MS)
    guest.goto(f"{server.url}/share")
    guest.get_by_text("was revoked").wait_for(timeout=WAIT_MS)
    assert not [u for u in seen[1:] if token in u], "the token stayed in the address"
    assert not errors and not guest_errors, errors + guest_errors
    guest_ctx.close()
    context.close()


def test_quick_ticks_are_all_kept(server, browser):  # noqa: F811
    """Ticks clicked faster than the page's runs (each tick starts one, and a run drawn while
    later ticks wait must not undo them on the page): every tick counts, and so does an untick."""
    ids = sorted(statuses(), reverse=True)[:7]  # the first cards, newest first
    context, page, errors = new_page(browser)
    log_in(page, server.url, "cara")
    page.locator("label.wb-tick").first.wait_for(timeout=WAIT_MS)
    settle(page)
    # clicked 40 ms apart, in the page (a click through Playwright waits for the page to settle)
    page.evaluate("""async (ids) => {
      for (const id of ids) {
        const box = document.querySelector(`.wb-card[data-id="${id}"] label.wb-tick`);
        box.click();
        await new Promise((done) => setTimeout(done, 40));
      }
    }""", [*ids[:6], ids[2]])  # the last: changed its mind
    page.get_by_role("button", name="Approve 5 selected on this page").wait_for(timeout=WAIT_MS)
    settle(page)
    ticked = page.evaluate("() => Array.from(document.querySelectorAll('.wb-card input[type=checkbox]'))"
                           ".filter(b => b.checked).map(b => Number(b.closest('.wb-card').dataset.id))")
    assert sorted(ticked) == sorted(set(ids[:6]) - {ids[2]})
    page.get_by_role("button", name="Clear selection").click()
    page.get_by_role("button", name="Approve 0 selected on this page").wait_for(timeout=WAIT_MS)
    page.locator("label.wb-tick").filter(has_text=re.compile(rf"^Select #{ids[0]}$")).click()  # the same tick again
    page.get_by_role("button", name="Approve 1 selected on this page").wait_for(timeout=WAIT_MS)
    assert not errors, errors
    context.close()
