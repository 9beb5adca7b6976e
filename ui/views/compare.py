"""Compare: the slots of one title × kind × segment (× locale × placement) side by side, each
with its versions, its score breakdown ("why this frame") and its recipe."""

from __future__ import annotations

import streamlit as st

from ui import components, media, panels
from ui.components import md
from workbench import review
from workbench.errors import WorkbenchError

actor = components.require_actor()
settings = components.settings()
st.header("Compare", anchor=False)

# 1. which group: a variant's own (?id=) or one chosen here ------------------------------------
anchor = None
anchor_id, bad_id = components.id_param("variant id")
if bad_id:
    st.error(md(bad_id))
elif anchor_id is not None:
    rows = review.get_rows([anchor_id], settings=settings)
    anchor = rows[0] if rows else None
    if anchor is None:
        st.error(f"No variant {anchor_id}.")

options = review.filter_options(settings=settings)
if not options["titles"]:
    st.info("No variants yet.")
    st.stop()


def _pick(col, label: str, values: list[str], current: str | None, key: str) -> str:
    """A choice among values (no "any"): the anchor's own value first time."""
    index = values.index(current) if current in values else 0
    return col.selectbox(label, values, index=index, key=key)


cols = st.columns(5)
title = _pick(cols[0], "Title", options["titles"], anchor.title_name if anchor else None, "c_title")
kind = _pick(cols[1], "Kind", options["kinds"], anchor.kind if anchor else None, "c_kind")
segment = components.any_select(cols[2], "Segment", options["segments"], key="c_segment",
                                current=anchor.segment if anchor else None)
locale = components.any_select(cols[3], "Locale", options["locales"], key="c_locale",
                               current=anchor.locale if anchor else None)
placement = components.any_select(cols[4], "Placement", options["formats"], key="c_placement",
                                  current=anchor.placement if anchor else None)

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
            if row.is_video:
                media.player(row)  # cuts of one segment play side by side
            else:
                media.preview(row)
            st.markdown(f"{components.status_badge(row.status)} {components.variant_label(row)}")
            st.page_link("views/variant.py", label="Open and decide", query_params={"id": str(row.id)})
            if len(group.versions) > 1:
                st.markdown("**Earlier versions**")
                older = group.versions[:-1][::-1]
                thumbs = st.columns(min(3, len(older)))
                for i, version in enumerate(older):
                    with thumbs[i % len(thumbs)]:
                        media.preview(version)
                        st.caption(f"v{version.version} · {md(version.status.replace('_', ' '))}")
            panels.explanation(row)
            with st.expander("Recipe"):
                st.json(row.recipe or {}, expanded=False)
