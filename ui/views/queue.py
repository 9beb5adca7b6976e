"""Queue: every variant, filtered, as a paginated grid of small cached previews, with a
selection for batch approval.

A batch acts only on what the reviewer sees: the ticked variants of the current page of the
current filter. Ticks elsewhere (another page, another filter) are kept, so going back shows
them again, but they are not counted on the button and never decided from here; the bar says
how many there are. Decided variants in a batch are skipped and named, not refused with it."""

from __future__ import annotations

import math

import streamlit as st

from ui import components
from ui.components import md
from workbench import review
from workbench.errors import WorkbenchError

COLUMNS = 4
PER_PAGE_CHOICES = (8, 24, 48, 96)
FILTERS = {"title": "titles", "kind": "kinds", "segment": "segments", "locale": "locales", "format": "formats",
           "status": "statuses"}  # filter -> its key in review.filter_options()
LABELS = {"format": "Placement"}
SELECTED = "q_selected"  # set of variant ids ticked on any page

actor = components.require_actor()
settings = components.settings()
st.session_state.setdefault(SELECTED, set())
st.session_state.setdefault("q_page", 1)


# 1. filters -----------------------------------------------------------------------------------
def _reset_page() -> None:
    st.session_state["q_page"] = 1


options = review.filter_options(settings=settings)
cols = st.columns(len(FILTERS) + 2)
chosen: dict[str, str | None] = {}
for col, (name, option_key) in zip(cols, FILTERS.items()):
    chosen[name] = components.any_select(col, LABELS.get(name, name.capitalize()), options.get(option_key, []),
                                         key=f"q_f_{name}", on_change=_reset_page)
with cols[-2]:
    version = st.selectbox("Version", ["latest", "all"], key="q_f_version", on_change=_reset_page)
with cols[-1]:
    per_page = st.selectbox("Per page", PER_PAGE_CHOICES, index=1, key="q_per_page", on_change=_reset_page)

filters = review.VariantFilter(**chosen, version=version)
result = review.query_variants(filters, st.session_state["q_page"], per_page, settings=settings)
pages = max(1, math.ceil(result.total / per_page))
if st.session_state["q_page"] > pages:  # the catalog shrank under this filter
    st.session_state["q_page"] = pages
    result = review.query_variants(filters, pages, per_page, settings=settings)


# 2. selection and batch actions ---------------------------------------------------------------
def _toggle(variant_id: int) -> None:
    if st.session_state.get(f"q_sel_{variant_id}"):
        st.session_state[SELECTED].add(variant_id)
    else:
        st.session_state[SELECTED].discard(variant_id)


def _select_page(ids: list[int], value: bool) -> None:
    for variant_id in ids:
        st.session_state[f"q_sel_{variant_id}"] = value
        (st.session_state[SELECTED].add if value else st.session_state[SELECTED].discard)(variant_id)


def _clear_selection() -> None:
    for variant_id in st.session_state[SELECTED]:
        st.session_state.pop(f"q_sel_{variant_id}", None)
    st.session_state[SELECTED] = set()


def _batch_approve(ids: tuple[int, ...]) -> None:
    """Approve the pending ones among ``ids`` (the ticked variants the button showed, on this
    page) that are still ticked; the others are named as skipped."""
    ids = tuple(i for i in ids if i in st.session_state[SELECTED])
    if not ids:
        return
    try:
        outcome = review.decide_pending(actor, list(ids), "approve", settings=settings)
    except WorkbenchError as exc:
        components.flash(exc, "error")
        return
    for variant_id in ids:  # acted on: decided or skipped
        st.session_state[SELECTED].discard(variant_id)
        st.session_state.pop(f"q_sel_{variant_id}", None)
    n = len(outcome.decided)
    text = f"Approved {n} variant{'s' if n != 1 else ''}"
    if outcome.skipped:
        text += f"; {len(outcome.skipped)} skipped: " + ", ".join(f"#{vid} {reason}" for vid, reason in outcome.skipped)
    components.flash(text + ".", "success" if n else "warning")


page_ids = [row.id for row in result.items]
selected = st.session_state[SELECTED]
visible = tuple(i for i in page_ids if i in selected)  # what a batch acts on
hidden = len(selected) - len(visible)
bar = st.columns([2, 2, 3, 3, 3])
bar[0].button("Select page", key="q_select_page", on_click=_select_page, args=(page_ids, True), disabled=not page_ids)
bar[1].button("Clear selection", key="q_clear", on_click=_clear_selection, disabled=not selected)
if components.can(actor, "batch_approve"):
    bar[2].button(f"Approve {len(visible)} selected on this page", key="q_approve", type="primary",
                  on_click=_batch_approve, args=(visible,), disabled=not visible)
if hidden:
    bar[3].caption(f"{hidden} more selected on other pages or filters: not included (go back to them to act on them)")
bar[4].markdown(f"**{result.total}** variants · page {st.session_state['q_page']} of {pages}")
components.show_flash()


# 3. the grid ----------------------------------------------------------------------------------
if not result.items:
    st.info("No variants match these filters.")
for start in range(0, len(result.items), COLUMNS):
    cells = st.columns(COLUMNS)
    for cell, row in zip(cells, result.items[start:start + COLUMNS]):
        with cell.container(border=True):
            components.preview(row)
            st.markdown(f"{components.status_badge(row.status)} {components.variant_label(row)}")
            st.caption(f"{md(row.title_name)} · {md(row.kind)} · score {row.score or 0:.3f}")
            key = f"q_sel_{row.id}"
            if key not in st.session_state:
                st.session_state[key] = row.id in selected
            st.checkbox("Select", key=key, on_change=_toggle, args=(row.id,))
            links = st.columns(2)
            links[0].page_link("views/variant.py", label="Open", query_params={"id": str(row.id)})
            links[1].page_link("views/compare.py", label="Compare", query_params={"id": str(row.id)})


# 4. paging ------------------------------------------------------------------------------------
def _go(delta: int) -> None:
    st.session_state["q_page"] = min(pages, max(1, st.session_state["q_page"] + delta))


nav = st.columns([1, 1, 6])
nav[0].button("◀ Previous", key="q_prev", on_click=_go, args=(-1,), disabled=st.session_state["q_page"] <= 1)
nav[1].button("Next ▶", key="q_next", on_click=_go, args=(1,), disabled=st.session_state["q_page"] >= pages)
