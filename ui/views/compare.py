"""Compare: the slots of one title × kind × segment (× locale × placement) side by side, each
with its versions, its score breakdown ("why this frame") and its recipe."""

from __future__ import annotations

import streamlit as st

from ui import components
from ui.components import md
from workbench import review
from workbench.errors import WorkbenchError

ALL = "All"

actor = components.require_actor()
settings = components.settings()
st.header("Compare", anchor=False)

# 1. which group: a variant's own (?id=) or one chosen here ------------------------------------
anchor = None
raw_id = st.query_params.get("id") or ""
if raw_id.isdigit():
    rows = review.get_rows([int(raw_id)], settings=settings)
    anchor = rows[0] if rows else None
    if anchor is None:
        st.error(f"No variant {md(raw_id)}.")

options = review.filter_options(settings=settings)
if not options["titles"]:
    st.info("No variants yet.")
    st.stop()


def _pick(col, label: str, values: list[str], current: str | None, key: str, *, any_value: bool) -> str | None:
    values = [ALL, *values] if any_value else list(values)
    index = values.index(current) if current in values else 0
    choice = col.selectbox(label, values, index=index, key=key)
    return None if choice == ALL else choice


cols = st.columns(5)
title = _pick(cols[0], "Title", options["titles"], anchor.title_name if anchor else None, "c_title", any_value=False)
kind = _pick(cols[1], "Kind", options["kinds"], anchor.kind if anchor else None, "c_kind", any_value=False)
segment = _pick(cols[2], "Segment", options["segments"], anchor.segment if anchor else None, "c_segment",
                any_value=True)
locale = _pick(cols[3], "Locale", options["locales"], anchor.locale if anchor else None, "c_locale", any_value=True)
placement = _pick(cols[4], "Placement", options["formats"], anchor.placement if anchor else None, "c_placement",
                  any_value=True)

try:
    groups = review.slot_groups(title, kind, segment, locale=locale, settings=settings)
except WorkbenchError as exc:
    components.error(exc)
    st.stop()
groups = [g for g in groups if placement is None or (g.format or "").split(".", 1)[0] == placement]
if not groups:
    st.info("No variants in this group.")
    st.stop()
st.caption(f"{len(groups)} slot{'s' if len(groups) != 1 else ''} · {md(title)} · {md(kind)} · "
           f"{md(segment or 'all segments')} · {md(placement or 'all placements')}")

# 2. side by side: each slot's newest version, its older versions under it -----------------------
PER_ROW = 3
for start in range(0, len(groups), PER_ROW):
    columns = st.columns(PER_ROW)
    for col, group in zip(columns, groups[start:start + PER_ROW]):
        row = group.latest
        with col.container(border=True):
            components.preview(row)
            st.markdown(f"{components.status_badge(row.status)} {components.variant_label(row)}")
            st.page_link("views/variant.py", label="Open and decide", query_params={"id": str(row.id)})
            if len(group.versions) > 1:
                st.markdown("**Earlier versions**")
                older = group.versions[:-1][::-1]
                thumbs = st.columns(min(3, len(older)))
                for i, version in enumerate(older):
                    with thumbs[i % len(thumbs)]:
                        components.preview(version)
                        st.caption(f"v{version.version} · {md(version.status.replace('_', ' '))}")
            components.explanation(row)
            with st.expander("Recipe"):
                st.json(row.recipe or {}, expanded=False)
