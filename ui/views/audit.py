"""Audit: every recorded event (who, role, action, variant, comment, when, and its details in
words), filterable, as CSV. Times are the reader's local time; the CSV keeps UTC."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from ui import components, panels
from workbench import review
from workbench.errors import WorkbenchError
from workbench.ids import parse_id

actor = components.require_actor()
settings = components.settings()
st.header("Audit trail")

cols = st.columns([2, 2, 2, 1, 2, 2, 1])
who = cols[0].text_input("User", key="a_actor").strip() or None
action = cols[1].text_input("Action", key="a_action", placeholder="review, review.approve, export…",
                            help="An action or a prefix: 'review' finds every decision").strip() or None
title = components.any_select(cols[2], "Title", review.filter_options(settings=settings)["titles"], key="a_title",
                              any_label="All titles")
variant_text = cols[3].text_input("Variant id", key="a_variant").strip()
since = cols[4].date_input("From", value=None, key="a_since")
until = cols[5].date_input("To (inclusive)", value=None, key="a_until")
limit = cols[6].selectbox("Rows", [500, 5000, 50000], key="a_limit")
variant_id = None
if variant_text:
    try:
        variant_id = parse_id(variant_text, "variant id")
    except WorkbenchError as exc:
        st.error(components.md(components.sentence(exc)))
        st.stop()

zone = components.user_timezone()  # the days are the reader's own, as the times shown are
with components.reported():
    events = review.audit_events(
        actor, actor=who, action=action, title=title, variant_id=variant_id,
        since=dt.datetime.combine(since, dt.time.min, tzinfo=zone) if since else None,
        until=dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=zone) if until else None,
        limit=limit, settings=settings,
    )
    st.caption(f"{len(events)} event{'s' if len(events) != 1 else ''}")
    st.dataframe(panels.event_rows(events), hide_index=True, width="stretch")
    st.download_button("Download CSV", data=review.audit_csv(events), file_name="audit.csv", mime="text/csv",
                       key="a_csv", disabled=not events)
