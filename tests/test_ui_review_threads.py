"""The review app's triage and conversation features under AppTest: the queue's view kept in the
address, approve-and-next along the queue's filter, QA-flag gating of batch approval, comments
with pins drawn on the picture and timecodes with a seek link, the notification bell, and the
outside reviewer's share page (the token leaves the address; only the link's variants show)."""

from __future__ import annotations

import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from tests.test_ui_apptest import (
    APP,
    TIMEOUT,
    app,
    button,
    no_exception,
    page,
    statuses,
    texts,
)
from tests.ui_support import grid_cards, grid_open, grid_tick
from workbench import comments, review, shares
from workbench.access import Actor
from workbench.catalog import open_catalog
from workbench.catalog.models import Comment, Variant

CARA = Actor("cara", "creative")


def test_the_queue_reads_and_writes_its_view_in_the_address(ui_home):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    from workbench.users import login

    at.session_state["wb_token"] = login("cara", "correct horse battery")[1]
    at.query_params.update({"segment": "action", "sort": "score", "q": "16x9", "per": "8"})
    no_exception(at.run())
    assert at.selectbox(key="q_f_segment").value == "action" and at.selectbox(key="q_sort").value == "score"
    assert at.text_input(key="q_search").value == "16x9" and at.selectbox(key="q_per_page").value == 8
    assert "**1** variants" in texts(at.markdown)
    at.selectbox(key="q_f_segment").set_value("romance").run()
    assert at.query_params["segment"] == "romance" and at.query_params["sort"] == "score"
    [card] = grid_cards(at)[:1]
    assert card["open"] == f"/variant?segment=romance&q=16x9&sort=score&per=8&id={card['id']}"
    grid_open(at, card["id"])  # a click on it: the variant page, with the queue's view carried
    no_exception(at)
    assert dict(at.query_params) == {"segment": "romance", "q": "16x9", "sort": "score", "per": "8",
                                     "id": str(card["id"])}
    assert at.get("bidi_component") and not grid_cards(at)  # the variant page: no grid
    assert f"#{card['id']} ·" in texts(at.markdown)


def test_approve_and_next_follows_the_queue_filter(ui_home):
    action = [r.id for r in review.query_variants(review.VariantFilter(segment="action")).items]
    at = app("cara")
    page(at, "views/variant.py", id=str(action[0]), segment="action")
    no_exception(at)
    button(at, "Approve and next").click().run()
    no_exception(at)
    assert statuses()[action[0]] == "approved"
    assert at.query_params["id"] == str(action[1]) and at.query_params["segment"] == "action"
    assert f"Next: #{action[1]}" in texts(at.success)
    assert f"#{action[1]} ·" in texts(at.markdown)
    at.radio(key="v_decision").set_value("Reject")
    at.text_area(key="v_comment").set_value("Too soft")
    button(at, "Send and next").click().run()
    no_exception(at)
    assert statuses()[action[1]] == "rejected" and at.query_params["id"] == str(action[2])
    button(at, "Approve and next").click().run()
    assert "No more pending variants in this view" in texts(at.success)
    assert [statuses()[i] for i in action] == ["approved", "rejected", "approved"]


def test_batch_approval_skips_flagged_ones_unless_a_comment_overrides(ui_home):
    ids = sorted(statuses())[:3]
    with open_catalog().session() as session:
        session.get(Variant, ids[0]).qa_flags = ["overflow"]
    at = app("lou")
    at.selectbox(key="q_f_flag").set_value(review.FLAGGED_ANY).run()
    assert "**1** variants" in texts(at.markdown) and grid_cards(at)[0]["flags"] == ["overflow"]
    at.selectbox(key="q_f_flag").set_value(None).run()
    grid_tick(at, *ids)
    button(at, "Approve 3 selected on this page (1 with QA flags: skipped)").click().run()
    no_exception(at)
    assert f"#{ids[0]} has QA flags (overflow)" in texts(at.success)
    assert [statuses()[i] for i in ids] == ["pending", "approved", "approved"]
    grid_tick(at, ids[0])
    at.text_input(key="q_override").set_value("The overflow is the safe area, fine").run()
    button(at, "Approve 1 selected on this page (1 with QA flags: approved with your comment)").click().run()
    assert statuses()[ids[0]] == "approved"


def test_a_pinned_comment_is_drawn_and_a_reply_threads_under_it(ui_home):
    vid = min(statuses())
    at = app("cara")
    page(at, "views/variant.py", id=str(vid))
    at.text_area(key="cm_body").set_value("Move the logo <b>left</b> @lou")
    at.number_input(key="cm_px").set_value(0.2)
    at.number_input(key="cm_py").set_value(0.3)
    at.number_input(key="cm_pw").set_value(0.3)
    at.number_input(key="cm_ph").set_value(0.2)
    button(at, "Add comment").click().run()
    no_exception(at)
    with open_catalog().session() as session:
        [row] = session.scalars(sa.select(Comment)).all()
    assert (row.pin_x, row.pin_y, row.pin_w, row.pin_h, row.mentions) == (0.2, 0.3, 0.3, 0.2, ["lou"])
    assert "Move the logo <b>left</b> @lou" in [t.value for t in at.text]  # shown as text, not markup
    assert any("its pin drawn" in str(i.proto) for i in at.get("image"))

    other = app("lou")
    assert any("Notifications: 1 unread" in str(p.proto) for p in other.get("popover"))
    page(other, "views/variant.py", id=str(vid))
    other.text_input(key=f"cm_reply_text_{row.id}").set_value("Done in v2")
    button(other, f"Send reply to comment {row.id}").click().run()
    no_exception(other)
    [thread] = comments.threads(CARA, vid)
    assert [(r.author, r.body) for r in thread.replies] == [("lou", "Done in v2")]
    button(other, f"Resolve comment {row.id}").click().run()
    assert comments.threads(CARA, vid)[0].resolved


def test_a_timecoded_comment_on_a_video_has_a_seek_link(ui_home):
    from workbench.catalog import repo
    from workbench.catalog.models import Title

    with open_catalog().session() as session:
        title = session.scalars(sa.select(Title)).first()
        vid = repo.add_variant(session, title=title, asset=title.source_asset, kind="trailer", segment="action",
                               format="16x9.mp4.cut15", recipe={"generator": "trailer"}).id
    at = app("cara")
    page(at, "views/variant.py", id=str(vid))
    at.text_area(key="cm_body").set_value("The cut at the door is late")
    at.number_input(key="cm_t0").set_value(2.0)
    at.number_input(key="cm_t1").set_value(3.5)
    button(at, "Add comment").click().run()
    no_exception(at)
    [t] = comments.threads(CARA, vid)
    assert (t.time.start, t.time.end) == (2.0, 3.5)
    button(at, f"Play from 00:02.00–00:03.50 (comment {t.id})").click().run()
    no_exception(at)
    assert at.query_params["at"] == "2.00" and at.get("video")
    assert at.get("video")[0].proto.start_time == 2


def test_the_share_page_takes_the_token_out_of_the_address_and_shows_only_its_variants(ui_home):
    from ui import sessions

    ids = sorted(statuses())
    made = shares.create_share(CARA, ids[:2], label="Agency", access="comment")
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params["t"] = made.token
    at.switch_page("views/share.py").run()
    no_exception(at)
    assert "t" not in at.query_params
    code = at.session_state["wb_share_handoff"]
    assert "Opening the shared review" in texts(at.info)
    assert sessions.redeem(code, kind="share") == made.token
    assert sessions.redeem(sessions.issue(made.token, kind="share")) is None  # a share code is no login code
    at.run()
    no_exception(at)
    assert [o.split(" ")[0] for o in at.radio(key="s_variant").options] == [f"#{i}" for i in ids[:2]]
    at.text_area(key="sc_body").set_value("Lovely")
    button(at, "Add comment").click().run()
    no_exception(at)
    [c] = comments.threads(CARA, at.radio(key="s_variant").value)
    assert c.author == "guest:Agency"
    shares.revoke_share(CARA, made.share.id)
    at.run()
    assert "revoked" in texts(at.error)
