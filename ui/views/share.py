"""A shared review: what an outside reviewer sees through a share link (``/share?t=…``).

Exactly the variants the link names, each with its picture (or player) and its comment threads;
a link with comment access lets them comment (pins, times, replies), a view-only link does not.
Nothing else of the app is reachable with it: every other address asks for a login. The token
leaves the address on the first load and lives on in an HttpOnly cookie (``ui.components.
current_grant``); a revoked or expired link stops at the next click."""

from __future__ import annotations

import streamlit as st

from ui import components, media, threads
from ui.components import md
from workbench import review

grant = components.current_grant()
st.title("Shared review", anchor=False)
if grant is None:
    st.error(md(st.session_state.pop("wb_share_refused", None) or "This page needs a share link: ask whoever sent "
                "you one for a new link."))
    st.stop()
if components.finish_share_handoff():
    st.stop()
settings = components.settings()
st.caption(f"For {md(grant.label)} · {len(grant.variant_ids)} variant{'s' if len(grant.variant_ids) != 1 else ''} · "
           f"{'you may comment' if grant.may_comment else 'view only'} · until {md(threads.when(grant.expires_at.isoformat()))}")
components.show_flash()

rows = review.get_rows(list(grant.variant_ids), settings=settings)
if not rows:
    st.info("The variants of this link are no longer in the catalog.")
labels = {row.id: f"#{row.id} · {row.segment or '–'} · {components.slot_format(row.format)}" for row in rows}
chosen = st.radio("Variant", [row.id for row in rows], format_func=lambda i: labels[i], horizontal=True,
                  key="s_variant") if rows else None
for row in rows:
    if row.id != chosen:
        continue
    left, right = st.columns([3, 2])
    with left:
        slot = st.empty()
        if row.is_video:
            try:
                seek = max(0.0, float(st.query_params.get("at") or 0.0))
            except ValueError:
                seek = 0.0
            with slot:
                media.player(row, start_time=seek)
        else:
            with slot.container():
                media.preview(row)
        st.markdown(f"{components.status_badge(row.status)} {components.variant_label(row)} · {md(row.kind)}")
    with right:
        pins = threads.comment_panel(grant, row, may_comment=grant.may_comment, may_resolve=False,
                                        link_params={}, page_path="views/share.py", prefix="sc")
    if pins and not row.is_video:
        drawn = media.pinned_picture(row, pins)
        if drawn is not None:
            slot.image(drawn, width="stretch", caption=f"Comment {pins[0][0]}: its pin drawn on the picture")
