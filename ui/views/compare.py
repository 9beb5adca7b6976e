"""Compare: the variants of one title × kind × segment (× locale × placement), four ways.

* **Slots** (the default): every slot side by side, its newest version with the older ones
  under it, its score breakdown ("why this frame") and its recipe.
* **2-up** and **4-up**: two or four chosen variants (any versions of the group) at a large
  size, each with its "Full size" lightbox (stills) or its player (videos).
* **Slider**: two stills in one frame with a divider to drag, the "before" version left of it
  and the "after" one right of it; by default the previous and the newest version of a slot.

The view and its choices are in the address (``?id=12&view=slider&before=3&after=12``), so a
link opens the same comparison."""

from __future__ import annotations

import streamlit as st

from ui import components, media, panels, viewers
from ui.components import md
from workbench import review
from workbench.errors import WorkbenchError
from workbench.ids import parse_id

VIEWS = {"slots": "Slots", "2up": "2-up", "4up": "4-up", "slider": "Before/after slider"}
UP = {"2up": 2, "4up": 4}
LARGE_SIDE = 1280  # a 2-up/4-up picture: sharp at half the page, and a cached file (never the original)

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


# 2. the view, and its choices, from the address the first time ----------------------------------
def _ids_param(name: str) -> list[int]:
    """Variant ids listed in the address (``?ids=3,12``); anything that is not an id is left out."""
    out = []
    for raw in str(st.query_params.get(name) or "").split(","):
        try:
            out.append(parse_id(raw.strip(), "variant id"))
        except WorkbenchError:
            continue
    return out


if "c_view" not in st.session_state:
    st.session_state["c_view"] = st.query_params.get("view") if st.query_params.get("view") in VIEWS else "slots"
view = st.radio("View", list(VIEWS), format_func=VIEWS.get, horizontal=True, key="c_view")
shown = [v for g in groups for v in g.versions]  # every version of every slot of the filter, slot by slot
variants = shown  # what 2-up, 4-up and the slider choose from: the filter's first, then the title's others
if view != "slots":
    everything = [v for g in review.slot_groups(title, kind, None, settings=settings) for v in g.versions]
    variants = shown + [v for v in everything if v.id not in {s.id for s in shown}]
by_id = {v.id: v for v in variants}


def plain_label(row) -> str:
    """A variant as a choice's words (shown as plain text: no Markdown there)."""
    parts = [f"#{row.id}", row.segment or "–", *([row.locale] if row.locale else []),
             components.slot_format(row.format), f"v{row.version}", row.status.replace("_", " ")]
    return " · ".join(parts)


def keep_address(**params: str) -> None:
    """The view's choices into the address (a link or a reload opens the same comparison)."""
    wanted = {k: v for k, v in {"view": view if view != "slots" else "", **params}.items() if v}
    for name in ("view", "ids", "before", "after"):
        if name not in wanted and name in st.query_params:
            del st.query_params[name]
    for name, value in wanted.items():
        if st.query_params.get(name) != value:
            st.query_params[name] = value


def default_pair(stills: list) -> tuple[int, int]:
    """The slider's first pair: the previous and the newest version of the anchor's slot (or of
    the first slot of the filter with two versions); else the anchor (or the filter's first
    still) and the next still of the same placement, so the two have the same shape."""
    slots = [g for g in groups if len([v for v in g.versions if not v.is_video]) >= 2]
    slot = next((g for g in slots if anchor is not None and g.slot_key == anchor.slot_key), slots[0] if slots else None)
    if slot is not None:
        before, after = [v.id for v in slot.versions if not v.is_video][-2:]
        return before, after
    first = next((v for v in stills if anchor is not None and v.id == anchor.id), stills[0])
    same = [v for v in stills if v.id != first.id and v.placement == first.placement]
    return first.id, (same or [v for v in stills if v.id != first.id])[0].id


def cell(row, n: int) -> None:
    """One variant of a 2-up/4-up view: large picture (or player), its words and links."""
    with st.container(border=True):
        st.markdown(f"{components.status_badge(row.status)} {components.variant_label(row)}")
        if row.is_video:
            media.player(row, viewer=actor, key_prefix=f"c{n}")
        else:
            media.preview(row, side=LARGE_SIDE, zoom=True, key_prefix=f"c{n}")
        st.page_link("views/variant.py", label=f"Open #{row.id} and decide", query_params={"id": str(row.id)})


# 3. the views -----------------------------------------------------------------------------------
if view in UP:
    n = UP[view]
    key = f"c_pick_{n}"
    if key not in st.session_state:
        start = [i for i in _ids_param("ids") if i in by_id]
        if not start:  # the anchor first, then the filter's other variants, then the title's
            first = [anchor.id] if anchor is not None and anchor.id in by_id else []
            start = first + [v.id for v in variants if v.id not in first]
        st.session_state[key] = start[:n]
    st.session_state[key] = [i for i in st.session_state[key] if i in by_id][:n]
    chosen = st.multiselect(f"Variants side by side (up to {n})", [v.id for v in variants], key=key,
                            max_selections=n, format_func=lambda i: plain_label(by_id[i]))
    keep_address(ids=",".join(str(i) for i in chosen))
    if not chosen:
        st.info("Choose the variants to lay side by side.")
    per_row = 2
    for start in range(0, len(chosen), per_row):
        for col, vid in zip(st.columns(per_row), chosen[start:start + per_row]):
            with col:
                cell(by_id[vid], chosen.index(vid))
elif view == "slider":
    stills = [v for v in variants if not v.is_video]
    if len(stills) < 2:
        st.info("The slider compares two stills: this title has fewer of this kind (compare videos in 2-up).")
    else:
        still_ids = [v.id for v in stills]
        if "c_before" not in st.session_state or "c_after" not in st.session_state:
            asked = [i for i in (_ids_param("before") + _ids_param("after")) if i in still_ids]
            if len(asked) == 2:
                before_id, after_id = asked
            else:
                before_id, after_id = default_pair(stills)
            st.session_state["c_before"], st.session_state["c_after"] = before_id, after_id
        if st.session_state["c_before"] not in still_ids:
            st.session_state["c_before"] = still_ids[0]
        if st.session_state["c_after"] not in still_ids:
            st.session_state["c_after"] = still_ids[-1]
        sides = st.columns(2)
        before = by_id[sides[0].selectbox("Before (left of the divider)", still_ids, key="c_before",
                                          format_func=lambda i: plain_label(by_id[i]))]
        after = by_id[sides[1].selectbox("After (right of the divider)", still_ids, key="c_after",
                                         format_func=lambda i: plain_label(by_id[i]))]
        keep_address(before=str(before.id), after=str(after.id))
        if before.id == after.id:
            st.info("Before and after are the same variant: choose another one on either side.")
        viewers.before_after(before, after, key="c_slider")
        if (before.width or 0) * (after.height or 0) != (after.width or 0) * (before.height or 0):
            st.caption("The two have different shapes: each is fitted into the frame.")
        st.caption("Drag anywhere on the picture (or use the arrow keys on the divider) to move the divider.")
        links = st.columns(2)
        for col, row in zip(links, (before, after)):
            with col:
                viewers.lightbox_button(row.id, row.width, row.height, key=f"c_slider_zoom_{row.id}")
                st.page_link("views/variant.py", label=f"Open #{row.id} and decide", query_params={"id": str(row.id)})
else:
    keep_address()
    # side by side: each slot's newest version, its older versions under it
    PER_ROW = 3
    for start in range(0, len(groups), PER_ROW):
        columns = st.columns(PER_ROW)
        for col, group in zip(columns, groups[start:start + PER_ROW]):
            row = group.latest
            with col.container(border=True):
                if row.is_video:
                    media.player(row, viewer=actor, key_prefix="cs")  # cuts of one segment play side by side
                else:
                    media.preview(row, zoom=True, key_prefix="cs")
                st.markdown(f"{components.status_badge(row.status)} {components.variant_label(row)}")
                st.page_link("views/variant.py", label=f"Open #{row.id} and decide", query_params={"id": str(row.id)})
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
