"""Variant: the full preview (a player for video), its provenance, its history of versions and
decisions, and the decision itself: approve, reject or request changes (a comment is required
for both), and on request changes optionally regenerate with a tweak on the workers.

An admin may change a decision already taken; that needs a comment and a confirmation, like
any decision it is recorded with the state it came from. Regeneration says at once where the
job went: to a worker, run here (``WORKBENCH_INLINE_JOBS``), or waiting because no worker
serves its queue (with the command that starts one)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import components, keys, media, panels, threads
from ui.components import md
from workbench import review
from workbench.errors import InvalidInput, NotFound, WorkbenchError
from workbench.ids import parse_id

actor = components.require_actor()
settings = components.settings()

KEEP = "Keep"
DECISION_LABELS = {"approve": "Approve", "reject": "Reject", "request_changes": "Request changes"}

# 1. which variant -----------------------------------------------------------------------------
variant_id, bad_id = components.id_param("variant id")
if variant_id is None:
    st.header("Variant")
    if bad_id:
        st.error(md(bad_id))
    picked = st.text_input("Variant id", key="v_pick").strip()
    if not picked:
        st.info("Open a variant from the Queue or Compare page, or give its id.")
        st.stop()
    try:
        variant_id = parse_id(picked, "variant id")
    except WorkbenchError as exc:
        st.error(md(components.sentence(exc)))
        st.stop()
try:
    detail = review.variant_detail(variant_id, settings=settings)
except NotFound:
    st.error(f"No variant {variant_id}.")
    st.stop()
except WorkbenchError as exc:
    components.error(exc)
    st.stop()
row = detail.row
queue_filter, queue_sort, _per, _page = components.queue_view()
carried = components.carried_params()
try:
    previous_id, next_id, next_pending = review.neighbours(queue_filter, variant_id, sort=queue_sort, settings=settings)
except WorkbenchError:
    previous_id = next_id = next_pending = None


def clear_decision_inputs(kind: str) -> None:
    """The next variant starts with an empty decision form and comment box (the page stays the
    same, so its controls would otherwise keep what was typed for the one before)."""
    defaults = {"v_comment": "", "v_decision": "Reject", "v_regen": False, "cm_body": ""}
    for spec in components.tweak_specs(kind):
        defaults[f"v_{spec.name}"] = None if spec.type == "int" else KEEP
    for key, value in defaults.items():
        if key in st.session_state:
            st.session_state[key] = value


def open_variant(vid: int, carried_query: dict, kind: str) -> None:
    """Previous, next, another version (a callback): the address names that variant and the same
    page draws it in the run that follows. (A link to this same page would draw it too, but
    Streamlit leaves the browser's address at the old id: a reload would go back.)"""
    st.query_params.from_dict({**carried_query, "id": str(vid)})
    clear_decision_inputs(kind)


nav = st.columns([2, 2, 2, 3, 3])  # wide enough that no label is cut
if previous_id is not None:
    nav[0].button("Previous variant", key="v_previous", icon=":material/chevron_left:", on_click=open_variant,
                  args=(previous_id, carried, row.kind))
if next_id is not None:
    nav[1].button("Next variant", key="v_next", icon=":material/chevron_right:", on_click=open_variant,
                  args=(next_id, carried, row.kind))
nav[2].page_link("views/queue.py", label="Back to the queue", icon=":material/grid_view:", query_params=carried)
with nav[3]:
    keys.shortcuts_help("variant")

st.header(md(f"{row.title_name} · {row.segment or '–'} · {components.slot_format(row.format)} · v{row.version}"),
          anchor=False)
st.markdown(f"{components.status_badge(row.status)} {components.variant_label(row)} · {md(row.kind)}"
            f" · score {row.score or 0:.3f} · {md(panels.model_share_phrase(detail.explanation))}")
components.show_flash()

left, right = st.columns([3, 2])

# 2. the file itself (detail page: the full file, not the grid preview) --------------------------
with left:
    try:
        seek = max(0.0, float(st.query_params.get("at") or 0.0))
    except ValueError:
        seek = 0.0
    picture_slot = st.empty()  # a still's picture is drawn once its comments are known (their pins)
    pin_tool = False
    if (row.mime or "").startswith("video/"):
        with picture_slot:
            media.player(row, detail.files, start_time=seek, viewer=actor)
        media.shot_strip(detail)
    else:
        pin_tool = media.still_tools(row, may_pin=True)
    st.caption(f"{row.width}×{row.height} · {md(row.mime)} · sha256 {row.sha256[:16]}…")
    st.page_link("views/compare.py", label="Compare with the other picks", icon=":material/compare:",
                 query_params={"id": str(variant_id)})
    pins = threads.comment_panel(actor, row, may_comment=True, may_resolve=True, link_params=carried)
    if not row.is_video:
        media.still_picture(row, pins, picture_slot, pin_tool=pin_tool)

# 3. decide ------------------------------------------------------------------------------------
# The decision buttons act in callbacks, which run before the page is drawn again: a decision
# "and next" changes the address's id and the same run draws the next variant (one run, no page
# switch, and the variant just decided is not verified and drawn a second time).
FORM_ERROR = "v_form_error"  # why the last decision form was refused, shown under the form


def start_regeneration(who: Any, vid: int, tweak: dict, comment: str | None = None) -> None:
    """Submit a new version of this slot with the tweak; where the job went (a worker, this
    process, or nowhere yet) shows below at once, with the job's state."""
    from workbench.regenerate import regenerate

    made = regenerate(who, vid, tweak, comment=comment, settings=settings)
    st.session_state[f"v_job_{vid}"] = made.job.id
    st.session_state[f"v_dispatch_{vid}"] = (made.dispatch.route, made.dispatch.queue, made.dispatch.note)


def tweak_inputs(prefix: str) -> dict:
    """The tweak chosen, from the controls of the variant's kind (its ``tweaks``): each choice is
    a select box that starts at "Keep", each number an empty field; the non-empty ones combine."""
    specs = components.tweak_specs(row.kind)
    if not specs:
        st.caption("This kind has no tweaks: regenerating makes the same recipe again.")
        return {}
    cols = st.columns(min(3, len(specs)))
    for n, spec in enumerate(specs):
        col = cols[n % len(cols)]
        if spec.type == "int":
            col.number_input(spec.label, min_value=spec.low, max_value=spec.high, value=None, step=1,
                             key=f"{prefix}_{spec.name}", help=spec.help or None)
        else:
            col.selectbox(spec.label, [KEEP, *(label for _value, label in spec.choices)], key=f"{prefix}_{spec.name}",
                          help=spec.help or None)
    return chosen_tweak(prefix, row.kind)


def chosen_tweak(prefix: str, kind: str) -> dict:
    """The tweak the ``prefix`` controls hold now (read in a callback too)."""
    tweak: dict = {}
    for spec in components.tweak_specs(kind):
        value = st.session_state.get(f"{prefix}_{spec.name}")
        if spec.type == "int":
            if value is not None:
                tweak[spec.name] = int(value)
        elif value not in (None, KEEP):
            labels = {label: choice for choice, label in spec.choices}
            if value in labels:
                tweak[spec.name] = labels[value]
    return tweak


def move_to_next_pending(vid: int, flt: Any, sort: str, carried_query: dict, kind: str) -> str:
    """After a decision "and next": the address names the next pending variant of the queue's
    filter and order (the run that follows draws it); the words to add to the confirmation."""
    _prev, _next, pending = review.neighbours(flt, vid, sort=sort, settings=settings)
    if pending is None:
        return " No more pending variants in this view."
    st.query_params.from_dict({**carried_query, "id": str(pending)})
    clear_decision_inputs(kind)
    return f" Next: #{pending}."


def approve(vid: int, and_next: bool, flt: Any, sort: str, carried_query: dict, kind: str) -> None:
    """"Approve" / "Approve and next" (a callback)."""
    who = components.callback_actor()
    if who is None:
        return
    try:
        review.decide(who, [vid], "approve", settings=settings)
    except WorkbenchError as exc:
        components.flash(exc, "error")
        return
    components.flash(f"Approved variant #{vid}." + (move_to_next_pending(vid, flt, sort, carried_query, kind)
                                                    if and_next else ""))


def send_decision(vid: int, and_next: bool, flt: Any, sort: str, carried_query: dict, kind: str) -> None:
    """"Send decision" / "Send and next": reject or request changes with the form's comment, and
    on request changes optionally regenerate with the chosen tweak (a callback)."""
    st.session_state.pop(FORM_ERROR, None)
    who = components.callback_actor()
    if who is None:
        return
    action = "reject" if st.session_state.get("v_decision", "Reject") == "Reject" else "request_changes"
    comment = (st.session_state.get("v_comment") or "").strip()
    if not comment:
        st.session_state[FORM_ERROR] = "A comment is required to reject or request changes."
        return
    try:
        review.decide(who, [vid], action, comment, settings=settings)
    except WorkbenchError as exc:
        st.session_state[FORM_ERROR] = components.sentence(exc)
        return
    text, kind_of_message = ("Rejected." if action == "reject" else "Changes requested."), "success"
    if action == "request_changes" and st.session_state.get("v_regen"):
        tweak = chosen_tweak("v", kind)
        try:
            if not tweak:
                raise InvalidInput("choose a tweak: another frame, a crop, a treatment or a seed")
            start_regeneration(who, vid, tweak, comment)
        except (WorkbenchError, ImportError) as exc:
            text, kind_of_message = f"Changes requested, but regeneration could not start: {exc}", "error"
    if and_next:
        text += move_to_next_pending(vid, flt, sort, carried_query, kind)
    components.flash(text, kind_of_message)


with right:
    st.subheader("Decide", anchor=False)
    may_regenerate = components.can(actor, "regenerate")
    decision_args = (queue_filter, queue_sort, carried, row.kind)
    if not components.can(actor, "review"):
        st.info("Your role can view variants but not decide on them.")
    elif row.status != "pending" and actor.role != "admin":
        st.info(f"Decided: {md(row.status.replace('_', ' '))}. Only an admin can change a decision.")
    elif row.status != "pending":
        # an admin changing an earlier decision: the new one, why, and a confirmation
        was = row.status.replace("_", " ")
        st.info(f"Decided: {md(was)}. As an admin you can change it: say why and confirm.")
        choices = [d for d in ("approve", "reject", "request_changes") if review.DECISION_STATUS[d] != row.status]
        with st.form("v_change", clear_on_submit=False):
            change_to = st.radio("Change to", choices, horizontal=True, key="v_change_to",
                                 format_func=lambda d: DECISION_LABELS[d])
            change_comment = st.text_area("Why (required)", key="v_change_comment", max_chars=2000)
            confirmed = st.checkbox(f"I am changing a decision already taken (now: {was})", key="v_change_confirm")
            changed = st.form_submit_button("Change decision")
        if changed:
            if not change_comment.strip():
                st.error("A comment is required to change a decision.")
            elif not confirmed:
                st.error("Tick the confirmation to change a decision already taken.")
            else:
                with components.reported():
                    review.decide(actor, [variant_id], change_to, change_comment.strip(), settings=settings)
                    now = review.DECISION_STATUS[change_to].replace("_", " ")
                    components.flash(f"Variant #{variant_id}: {was} → {now}.")
                    st.rerun()
    else:
        buttons = st.columns(2)
        buttons[0].button("Approve and next", key="v_approve_next", type="primary", on_click=approve,
                          args=(variant_id, True, *decision_args))
        buttons[1].button("Approve", key="v_approve", on_click=approve, args=(variant_id, False, *decision_args))
        with st.form("v_decide", clear_on_submit=False):
            st.radio("Or", ["Reject", "Request changes"], horizontal=True, key="v_decision")
            st.text_area("Comment (required)", key="v_comment", max_chars=2000,
                         placeholder="Why: Ctrl+Enter sends it and opens the next pending variant")
            if may_regenerate:
                st.checkbox("Regenerate with a tweak (request changes only)", key="v_regen")
                tweak_inputs("v")
            sends = st.columns(2)
            # the first submit button is the one Ctrl+Enter in the comment presses: send and next
            sends[0].form_submit_button("Send and next", type="primary", on_click=send_decision,
                                        args=(variant_id, True, *decision_args))
            sends[1].form_submit_button("Send decision", on_click=send_decision,
                                        args=(variant_id, False, *decision_args))
        refused = st.session_state.pop(FORM_ERROR, None)
        if refused:
            st.error(md(refused))
    if row.status == "changes_requested" and may_regenerate and f"v_job_{variant_id}" not in st.session_state:
        with st.form("v_regenerate"):
            st.markdown("**Regenerate this slot**")
            tweak = tweak_inputs("r")
            again = st.form_submit_button("Regenerate")
        if again:
            try:
                if not tweak:
                    raise InvalidInput("choose a tweak: another frame, a crop, a treatment or a seed")
                start_regeneration(actor, variant_id, tweak)
            except (WorkbenchError, ImportError) as exc:
                components.error(exc)
            else:
                st.rerun()

    job_id = st.session_state.get(f"v_job_{variant_id}")
    if job_id is not None:
        route, queue, note = st.session_state.get(f"v_dispatch_{variant_id}") or ("queued", None, None)

        @st.fragment(run_every=1.0)
        def regeneration_progress() -> None:
            from workbench.jobs import FINISHED, get_job
            from workbench.queue import serving

            job = get_job(job_id, settings=settings)
            st.progress(min(1.0, max(0.0, job.progress)), text=f"Regenerating: job {job.id} {job.state}")
            if job.state in FINISHED:
                # Done: a full rerun shows the new version in the history below.
                st.session_state.pop(f"v_job_{variant_id}", None)
                st.session_state.pop(f"v_dispatch_{variant_id}", None)
                if job.state == "succeeded":
                    components.flash("The new version is in the queue as pending.")
                else:
                    components.flash(f"Regeneration {job.state}: {job.error or 'no error recorded'}", "error")
                st.rerun()
            if route == "inline":
                st.info(f"Running here, in the review app: no worker serves the {md(queue)} queue.")
            elif route == "no_worker" and job.state == "queued":
                if queue and serving(queue, settings):
                    st.caption(f"A worker now serves the {md(queue)} queue: it takes the job next.")
                else:
                    st.warning(md(note or "no worker serves the job's queue: it waits until one starts"))

        regeneration_progress()

    # 4. what the kind read off the file, and provenance -------------------------------------
    panels.inspection_panel(detail.inspection)
    st.subheader("Provenance", anchor=False)
    panels.provenance_panel(detail)

# 5. history -----------------------------------------------------------------------------------
st.subheader("History", anchor=False)
vcol, ecol = st.columns(2)
with vcol:
    st.markdown("**Versions of this slot**")
    for version in detail.versions:
        label = (f"v{version.version} · {version.status.replace('_', ' ')} · "
                 f"{components.local_time(version.created_at)}")
        if version.id == variant_id:
            st.markdown(f"**{md(label)}** (this one)")
        else:
            st.button(label, key=f"v_version_{version.id}", on_click=open_variant, args=(version.id, carried, row.kind))
with ecol:
    st.markdown("**Decisions and events**")
    if detail.events:
        panels.event_table(detail.events)
    else:
        st.caption("No decisions yet.")
with st.expander(panels.explanation_heading(detail.explanation), expanded=True):
    panels.explanation(row, detail.explanation, heading=False)
    panels.copy_panel(detail.explanation)
with st.expander("How it was made"):
    panels.recipe_panel(row)

shortcuts = {"j": {"click": "Next variant"}, "k": {"click": "Previous variant"}, "c": {"focus": "New comment"},
             "?": {"click": "Keyboard shortcuts"}}
if components.can(actor, "review") and row.status == "pending":
    shortcuts.update({"a": {"click": "Approve and next"}, "r": {"pick": "Reject", "focus": "Comment (required)"}})
keys.keyboard(shortcuts)
