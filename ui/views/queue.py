"""Queue: every variant, filtered, sorted and searched, as a paginated grid of cached previews,
with a selection for batch approval.

The view lives in the address (``/queue?segment=action&flag=*&sort=score&q=…&page=2``): a link
or a reload shows the same queue, and each card's "Open" link carries it to the variant page,
whose "next" follows the same filter and order.

A batch acts only on what the reviewer sees: the ticked variants of the current page of the
current filter. Ticks elsewhere (another page, another filter) are kept, so going back shows
them again, but they are not counted on the button and never decided from here; the bar says
how many there are. Decided variants in a batch are skipped and named, not refused with it, and
so are variants with QA flags unless the reviewer gives a comment to override them."""

from __future__ import annotations

import math

import streamlit as st

from ui import cardgrid, components, keys, panels
from workbench import review
from workbench.errors import WorkbenchError
from workbench.previews import LARGE_PREVIEW_SIDE

COLUMNS = 4
PER_PAGE_CHOICES = (8, 24, 48, 96)
FILTERS = {"title": "titles", "kind": "kinds", "segment": "segments", "locale": "locales", "format": "formats",
           "status": "statuses"}  # filter -> its key in review.filter_options()
LABELS = {"format": "Placement"}
SELECTED = "q_selected"  # set of variant ids ticked on any page
SYNCED = "q_synced"  # the address's query this session's widgets were last set from
GOTO = "q_goto"  # (page script, query) a card's "Open" or "Compare" asked for

actor = components.require_actor()
if GOTO in st.session_state:  # a card's link was clicked: to that page, as a page link goes
    script, query = st.session_state.pop(GOTO)
    st.switch_page(script, query_params=query)
settings = components.settings()
st.session_state.setdefault(SELECTED, set())
st.session_state.setdefault("q_page", 1)
options = review.filter_options(settings=settings)


# 1. filters: from the address when it changed (a link, a reload), then back into it -------------
def _reset_page() -> None:
    st.session_state["q_page"] = 1


address = {k: str(st.query_params[k]) for k in components.QUEUE_PARAMS if k in st.query_params}
if st.session_state.get(SYNCED) != address:
    flt, sort, per, page_no = components.queue_view(address)
    for name, option_key in FILTERS.items():
        value = getattr(flt, name)
        st.session_state[f"q_f_{name}"] = value if value in options.get(option_key, []) else None
    st.session_state["q_f_flag"] = flt.flag if flt.flag in (review.FLAGGED_ANY, review.NO_FLAGS, *options["flags"]) else None
    st.session_state["q_f_version"] = flt.version
    st.session_state["q_sort"] = sort
    st.session_state["q_search"] = flt.search or ""
    st.session_state["q_per_page"] = per if per in PER_PAGE_CHOICES else 24
    st.session_state["q_page"] = page_no
    st.session_state["q_job"] = flt.job
    st.session_state[SYNCED] = address

cols = st.columns(len(FILTERS) + 2)
chosen: dict[str, str | None] = {}
for col, (name, option_key) in zip(cols, FILTERS.items()):
    chosen[name] = components.any_select(col, LABELS.get(name, name.capitalize()), options.get(option_key, []),
                                         key=f"q_f_{name}", on_change=_reset_page)
FLAG_NAMES = {review.FLAGGED_ANY: "Any flag", review.NO_FLAGS: "No flags"}
flag = cols[-2].selectbox("QA flags", [None, review.FLAGGED_ANY, review.NO_FLAGS, *options["flags"]], key="q_f_flag",
                          placeholder="All", format_func=lambda v: "All" if v is None else FLAG_NAMES.get(v, str(v)),
                          on_change=_reset_page)
with cols[-1]:
    version = st.selectbox("Version", ["latest", "all"], key="q_f_version", on_change=_reset_page)
row2 = st.columns([4, 2, 1, 2])
search = row2[0].text_input("Search", key="q_search", max_chars=review.SEARCH_MAX, on_change=_reset_page,
                            placeholder="title, segment, locale, placement or #id").strip() or None
sort = row2[1].selectbox("Sort", list(components.SORTS), key="q_sort", format_func=components.SORTS.get,
                         on_change=_reset_page)
per_page = row2[2].selectbox("Per page", PER_PAGE_CHOICES, key="q_per_page", on_change=_reset_page)
with row2[3]:
    keys.shortcuts_help("queue")

def _all_jobs() -> None:
    st.session_state["q_job"] = None
    _reset_page()


job_filter = st.session_state.get("q_job")
if job_filter is not None:  # from a job's "in the queue" link (the Jobs page)
    shown_job = st.columns([6, 2])
    shown_job[0].info(f"Only the variants job {job_filter} made.")
    shown_job[1].button("Show every job's variants", key="q_all_jobs", on_click=_all_jobs)
filters = review.VariantFilter(**chosen, version=version, flag=flag, search=search, job=job_filter)
try:
    result = review.query_variants(filters, st.session_state["q_page"], per_page, sort=sort, settings=settings)
except WorkbenchError as exc:
    components.error(exc)
    st.stop()
pages = max(1, math.ceil(result.total / per_page))
if st.session_state["q_page"] > pages:  # the catalog shrank under this filter
    st.session_state["q_page"] = pages
    result = review.query_variants(filters, pages, per_page, sort=sort, settings=settings)
view_params = components.queue_params(filters, sort, per_page, st.session_state["q_page"])
if view_params != address:
    st.query_params.from_dict(view_params)
    st.session_state[SYNCED] = view_params
link_params = {k: v for k, v in view_params.items() if k != "page"}


# 2. selection and batch actions ---------------------------------------------------------------
def _select_page(ids: list[int]) -> None:
    st.session_state[SELECTED] |= set(ids)


def _clear_selection() -> None:
    st.session_state[SELECTED] = set()


def _batch_approve(ids: tuple[int, ...]) -> None:
    """Approve the pending ones among ``ids`` (the ticked variants the button showed, on this
    page) that are still ticked; the others are named as skipped. Flagged ones are approved only
    with the override comment."""
    from workbench import notifications

    ids = tuple(i for i in ids if i in st.session_state[SELECTED])
    if not ids:
        return
    who = components.callback_actor()
    if who is None:
        return
    why = (st.session_state.get("q_override") or "").strip() or None
    try:
        outcome = review.decide_pending(who, list(ids), "approve", why, override_flags=why is not None,
                                        settings=settings)
    except WorkbenchError as exc:
        components.flash(exc, "error")
        return
    st.session_state[SELECTED] -= set(ids)  # acted on: decided or skipped
    st.session_state.pop("q_override", None)
    n = len(outcome.decided)
    text = f"Approved {n} variant{'s' if n != 1 else ''}"
    if outcome.skipped:
        text += f"; {len(outcome.skipped)} skipped: " + ", ".join(f"#{vid} {reason}" for vid, reason in outcome.skipped)
    components.flash(text + ".", "success" if n else "warning")
    if len(ids) > 1:
        notifications.batch_finished(who, "approve", [e.variant_id for e in outcome.decided], outcome.skipped,
                                     settings=settings)


page_ids = [row.id for row in result.items]
selected = st.session_state[SELECTED]
visible = tuple(i for i in page_ids if i in selected)  # what a batch acts on
flagged = [row.id for row in result.items if row.id in selected and row.qa_flags and row.status == "pending"]
hidden = len(selected) - len(visible)
bar = st.columns([2, 2, 4, 3, 3])
bar[0].button("Select page", key="q_select_page", on_click=_select_page, args=(page_ids,), disabled=not page_ids)
bar[1].button("Clear selection", key="q_clear", on_click=_clear_selection, disabled=not selected)
if components.can(actor, "batch_approve"):
    override = (st.session_state.get("q_override") or "").strip()
    label = f"Approve {len(visible)} selected on this page"
    if flagged:
        label += f" ({len(flagged)} with QA flags: {'approved with your comment' if override else 'skipped'})"
    bar[2].button(label, key="q_approve", type="primary", on_click=_batch_approve, args=(visible,),
                  disabled=not visible)
    if flagged:
        bar[2].text_input("Approve the flagged ones too: say why", key="q_override", max_chars=review.COMMENT_MAX)
if hidden:
    bar[3].caption(f"{hidden} more selected on other pages or filters: not included (go back to them to act on them)")
bar[4].markdown(f"**{result.total}** variants · page {st.session_state['q_page']} of {pages}")
components.show_flash()
if components.can(actor, "review") and visible:
    # keyed: the box keeps its place whatever its label says (the number selected)
    with st.expander(f"Share {len(visible)} selected with someone outside the team", key="q_share_box"):
        with st.form("q_share", clear_on_submit=False):
            who = st.text_input("Who the link is for", key="q_share_label", max_chars=120)
            access = st.radio("They may", ["comment", "view"], horizontal=True, key="q_share_access",
                              format_func={"comment": "Comment", "view": "Only view"}.get)
            days = st.number_input("Days until it expires", min_value=1, max_value=90, value=7, key="q_share_days")
            made = st.form_submit_button("Create share link")
    # the outcome under the box, not in it: a link shown only once is never hidden in a closed box
    if made:
        from workbench import shares

        with components.reported():
            new = shares.create_share(actor, list(visible), label=who, access=access, ttl_s=int(days) * 86400,
                                      settings=settings)
            st.session_state["q_share_made"] = (new.share.id, new.token, visible)
    shown = st.session_state.get("q_share_made")
    if shown and shown[2] == visible:  # for the selection it was made for, not a later one
        st.success("Share link made. Copy it now: it is shown only once (the catalog keeps only its hash).")
        st.code(f"/share?t={shown[1]}", language=None)


# 3. the grid ----------------------------------------------------------------------------------
if not result.items:
    st.info("No variants match these filters.")
threads = {}
try:
    from workbench import comments

    threads = comments.counts(page_ids, settings=settings)
except WorkbenchError:
    pass


def _card(row) -> cardgrid.Card:
    why = review.explain(row)  # from the recipe: no file is read
    return cardgrid.Card(
        id=row.id, status=row.status, name=components.variant_name(row),
        about=f"{row.title_name} · {row.kind} · score {row.score or 0:.3f}",
        open_query={**link_params, "id": str(row.id)}, is_video=row.is_video,
        placement=components.slot_format(row.format), width=row.width, height=row.height,
        flags=tuple(row.qa_flags or ()), open_threads=int(threads.get(row.id) or 0),
        model_share=panels.model_share_text(why) if why.model_share is not None else None)


def _ticks(value) -> None:
    st.session_state[SELECTED] = cardgrid.apply_ticks(st.session_state[SELECTED], value)


def _open(page: str, variant_id: int) -> None:
    query = {**link_params, "id": str(variant_id)} if page == cardgrid.PAGES["variant"] else {"id": str(variant_id)}
    st.session_state[GOTO] = (page, query)


# one element for the page's cards: the browser draws them at once (a faster first paint)
cardgrid.card_grid([_card(row) for row in result.items], selected=selected, columns=COLUMNS,
                   sides=(settings.preview_side, LARGE_PREVIEW_SIDE), key="q_grid", on_ticks=_ticks, on_open=_open)


# 4. paging ------------------------------------------------------------------------------------
def _go(delta: int) -> None:
    st.session_state["q_page"] = min(pages, max(1, st.session_state["q_page"] + delta))


nav = st.columns([1, 1, 6])
nav[0].button("◀ Previous", key="q_prev", on_click=_go, args=(-1,), disabled=st.session_state["q_page"] <= 1)
nav[1].button("Next ▶", key="q_next", on_click=_go, args=(1,), disabled=st.session_state["q_page"] >= pages)
keys.keyboard({"j": {"move": 1}, "k": {"move": -1}, "o": {"open": "Open"}, "?": {"click": "Keyboard shortcuts"}})
