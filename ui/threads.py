"""Comment threads on a variant (replies, pins on stills, times on video, resolve) and the
sidebar's notification bell."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.components import error, flash, local_time, md, reported, settings
from ui.media import timecode
from workbench.access import Actor
from workbench.errors import WorkbenchError

def when(iso: str) -> str:
    """A comment's (or link's) time on the reader's clock."""
    return local_time(iso)


def time_label(t: Any) -> str:
    return timecode(t.start) + (f"–{timecode(t.end)}" if t.end is not None else "")


def comment_panel(author: Any, row: Any, *, may_comment: bool, may_resolve: bool, link_params: dict[str, str],
                  page_path: str = "views/variant.py", prefix: str = "cm") -> Any:
    """A variant's threads (replies, pins, times), and a form for a new comment with a pin (a
    still) or a time (a video). Returns the pins of the selected thread, for the picture."""
    from workbench import comments

    key_sel = f"{prefix}_sel_{row.id}"
    try:
        threads = comments.threads(author, row.id, settings=settings())
    except WorkbenchError as exc:
        error(exc)
        return []
    st.subheader("Comments", anchor=False)
    open_n = sum(not t.resolved for t in threads)
    st.caption(f"{len(threads)} thread{'s' if len(threads) != 1 else ''} · {open_n} open")
    selected = st.session_state.get(key_sel)
    for t in threads:
        with st.container(border=True):
            where = ""
            if t.pin is not None:
                where = " · :material/location_on: " + ("box" if t.pin.is_box else "pin")
            if t.time is not None:
                where = f" · :material/schedule: {md(time_label(t.time))}"
            state = ":green-badge[resolved]" if t.resolved else ""
            st.markdown(f"**{md(t.author)}** · {md(when(t.at))}{where} {state}")
            st.text(t.body)
            if t.time is not None and row.is_video and st.button(
                    f"Play from {time_label(t.time)} (comment {t.id})", key=f"{prefix}_seek_{t.id}",
                    icon=":material/play_arrow:"):
                st.query_params["at"] = f"{t.time.start:.2f}"  # the player's start; the address can be shared
                st.rerun()
            for r in t.replies:
                st.markdown(f"↳ **{md(r.author)}** · {md(when(r.at))}")
                st.text(r.body)
            actions = st.columns([3, 2])  # the first label is long: never cut
            if t.pin is not None and actions[0].button(
                    f"Hide comment {t.id} on the picture" if selected == t.id else f"Show comment {t.id} on the picture",
                    key=f"{prefix}_show_{t.id}"):
                st.session_state[key_sel] = None if selected == t.id else t.id
                st.rerun()
            if may_resolve and actions[1].button(f"{'Reopen' if t.resolved else 'Resolve'} comment {t.id}",
                                                 key=f"{prefix}_res_{t.id}"):
                with reported():
                    comments.resolve(author, t.id, not t.resolved, settings=settings())
                    st.rerun()
            if may_comment:
                with st.form(f"{prefix}_reply_{t.id}", clear_on_submit=True, border=False):
                    text = st.text_input(f"Reply to comment {t.id}", key=f"{prefix}_reply_text_{t.id}", max_chars=2000)
                    if st.form_submit_button(f"Send reply to comment {t.id}"):
                        with reported():
                            comments.add_comment(author, row.id, text, parent_id=t.id, settings=settings())
                            st.rerun()
    if may_comment:
        from ui import mentions

        mentions.autocomplete(author)  # "@" in the boxes below suggests names
        with st.form(f"{prefix}_new_{row.id}", clear_on_submit=True):
            body = st.text_area("New comment", key=f"{prefix}_body", max_chars=2000,
                                placeholder="@name to mention someone")
            pin = span = None
            if row.is_video:
                cols = st.columns(2)
                start = cols[0].number_input("At (seconds)", min_value=0.0, value=None, step=0.1, key=f"{prefix}_t0")
                end = cols[1].number_input("Until (seconds, optional)", min_value=0.0, value=None, step=0.1,
                                           key=f"{prefix}_t1")
            else:
                st.caption("Pin: where on the picture, from the left and top edges (0 to 1); a box also has a size. "
                           "Where the picture has a pin tool, a click or a drag on it fills these in.")
                cols = st.columns(4)
                # three decimals: a click of the pin tool lands within a pixel of a 1,000-px picture
                px = cols[0].number_input("Pin x", min_value=0.0, max_value=1.0, value=None, step=0.01, format="%.3f",
                                          key=f"{prefix}_px")
                py = cols[1].number_input("Pin y", min_value=0.0, max_value=1.0, value=None, step=0.01, format="%.3f",
                                          key=f"{prefix}_py")
                pw = cols[2].number_input("Box width", min_value=0.0, max_value=1.0, value=None, step=0.01,
                                          format="%.3f", key=f"{prefix}_pw")
                ph = cols[3].number_input("Box height", min_value=0.0, max_value=1.0, value=None, step=0.01,
                                          format="%.3f", key=f"{prefix}_ph")
            sent = st.form_submit_button("Add comment")
        if sent:
            try:
                if row.is_video:
                    span = None if start is None else comments.TimeRange(start, end)
                elif px is not None or py is not None:
                    if px is None or py is None:
                        raise comments.InvalidPin("a pin needs both x and y")
                    pin = comments.Pin(px, py, pw or None, ph or None) if (pw or ph) else comments.Pin(px, py)
                made = comments.add_comment(author, row.id, body, pin=pin, time=span, settings=settings())
            except WorkbenchError as exc:
                error(exc)
            else:
                if made.pin is not None:
                    st.session_state[key_sel] = made.id
                flash(f"Comment {made.id} added.")
                st.rerun()
    chosen = next((t for t in threads if t.id == st.session_state.get(key_sel) and t.pin is not None), None)
    return [(chosen.id, chosen.pin)] if chosen else []


# -- notifications -----------------------------------------------------------------------------


def notification_bell(actor: Actor) -> None:
    """The sidebar's bell: how many unread, and the list (with links to the variants)."""
    from workbench import notifications

    try:
        items = notifications.for_user(actor, limit=20, settings=settings())
    except WorkbenchError:
        return
    unread = sum(not n.read for n in items)
    with st.popover(f"Notifications: {unread} unread" if unread else "Notifications", icon=":material/notifications:"):
        if not items:
            st.caption("Nothing yet: mentions, new versions of what you commented on, finished jobs and batches.")
        for n in items:
            st.markdown(("**new** · " if not n.read else "") + md(n.text))
            st.caption(md(local_time(n.at)))
            if n.variant_id:
                st.page_link("views/variant.py", label=f"Open variant #{n.variant_id} (notification {n.id})",
                             query_params={"id": str(n.variant_id)})
        if unread and st.button("Mark all read", key="notify_read"):
            notifications.mark_read(actor, settings=settings())
            st.rerun()
