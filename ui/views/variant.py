"""Variant: the full preview (a player for video), its provenance, its history of versions and
decisions, and the decision itself: approve, reject or request changes (a comment is required
for both), and on request changes optionally regenerate with a tweak on the workers.

An admin may change a decision already taken; that needs a comment and a confirmation, like
any decision it is recorded with the state it came from. Regeneration says at once where the
job went: to a worker, run here (``WORKBENCH_INLINE_JOBS``), or waiting because no worker
serves its queue (with the command that starts one)."""

from __future__ import annotations

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

nav = st.columns([2, 2, 2, 2, 4])
if previous_id is not None:
    nav[0].page_link("views/variant.py", label="Previous variant", icon=":material/chevron_left:",
                     query_params={**carried, "id": str(previous_id)})
if next_id is not None:
    nav[1].page_link("views/variant.py", label="Next variant", icon=":material/chevron_right:",
                     query_params={**carried, "id": str(next_id)})
nav[2].page_link("views/queue.py", label="Back to the queue", icon=":material/grid_view:", query_params=carried)
with nav[3]:
    keys.shortcuts_help("variant")

st.header(md(f"{row.title_name} · {row.segment or '–'} · {components.slot_format(row.format)} · v{row.version}"),
          anchor=False)
st.markdown(f"{components.status_badge(row.status)} {components.variant_label(row)} · {md(row.kind)}"
            f" · score {row.score or 0:.3f}")
components.show_flash()

left, right = st.columns([3, 2])

# 2. the file itself (detail page: the full file, not the grid preview) --------------------------
with left:
    try:
        seek = max(0.0, float(st.query_params.get("at") or 0.0))
    except ValueError:
        seek = 0.0
    picture_slot = st.empty()
    if (row.mime or "").startswith("video/"):
        with picture_slot:
            media.player(row, detail.files, start_time=seek)
        media.shot_strip(detail)
    else:
        picture_slot.image(str(row.file_path), width="stretch")
    st.caption(f"{row.width}×{row.height} · {md(row.mime)} · sha256 {row.sha256[:16]}…")
    st.page_link("views/compare.py", label="Compare with the other picks", icon=":material/compare:",
                 query_params={"id": str(variant_id)})
    pins = threads.comment_panel(actor, row, may_comment=True, may_resolve=True, link_params=carried)
    if pins and not row.is_video:
        drawn = media.pinned_picture(row, pins)
        if drawn is not None:
            picture_slot.image(drawn, width="stretch", caption=f"Comment {pins[0][0]}: its pin drawn on the picture")

# 3. decide ------------------------------------------------------------------------------------
def start_regeneration(tweak: dict, comment: str | None = None) -> None:
    """Submit a new version of this slot with the tweak; where the job went (a worker, this
    process, or nowhere yet) shows below at once, with the job's state."""
    from workbench.regenerate import regenerate

    made = regenerate(actor, variant_id, tweak, comment=comment, settings=settings)
    st.session_state[f"v_job_{variant_id}"] = made.job.id
    st.session_state[f"v_dispatch_{variant_id}"] = (made.dispatch.route, made.dispatch.queue, made.dispatch.note)


def tweak_inputs(prefix: str) -> dict:
    """The tweak chosen, from the controls of the variant's kind (its ``tweaks``): each choice is
    a select box that starts at "Keep", each number an empty field; the non-empty ones combine."""
    specs = components.tweak_specs(row.kind)
    if not specs:
        st.caption("This kind has no tweaks: regenerating makes the same recipe again.")
        return {}
    cols = st.columns(min(3, len(specs)))
    tweak: dict = {}
    for n, spec in enumerate(specs):
        col = cols[n % len(cols)]
        if spec.type == "int":
            value = col.number_input(spec.label, min_value=spec.low, max_value=spec.high, value=None, step=1,
                                     key=f"{prefix}_{spec.name}", help=spec.help or None)
            if value is not None:
                tweak[spec.name] = int(value)
        else:
            labels = {label: value for value, label in spec.choices}
            picked = col.selectbox(spec.label, [KEEP, *labels], key=f"{prefix}_{spec.name}", help=spec.help or None)
            if picked != KEEP:
                tweak[spec.name] = labels[picked]
    return tweak


def go_next() -> str:
    """After a decision "and next": the next pending variant of the queue's filter and order
    (the address changes to it); the words to add to the confirmation."""
    _prev, _next, pending = review.neighbours(queue_filter, variant_id, sort=queue_sort, settings=settings)
    if pending is None:
        return " No more pending variants in this view."
    st.session_state["v_goto"] = {**carried, "id": str(pending)}
    return f" Next: #{pending}."


def rerun() -> None:
    """Show the result: the next variant's page when "and next" found one, else this one again.
    (A page switch, so the browser's address and the app agree before the next click.)"""
    target = st.session_state.pop("v_goto", None)
    if target is not None:
        st.switch_page("views/variant.py", query_params=target)
    st.rerun()


with right:
    st.subheader("Decide", anchor=False)
    may_regenerate = components.can(actor, "regenerate")
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
        approve_next = buttons[0].button("Approve and next", key="v_approve_next", type="primary")
        if buttons[1].button("Approve", key="v_approve") or approve_next:
            with components.reported():
                review.decide(actor, [variant_id], "approve", settings=settings)
                components.flash(f"Approved variant #{variant_id}." + (go_next() if approve_next else ""))
                rerun()
        with st.form("v_decide", clear_on_submit=False):
            decision = st.radio("Or", ["Reject", "Request changes"], horizontal=True, key="v_decision")
            comment = st.text_area("Comment (required)", key="v_comment", max_chars=2000)
            regenerate = False
            if may_regenerate:
                regenerate = st.checkbox("Regenerate with a tweak (request changes only)", key="v_regen")
                tweak = tweak_inputs("v")
            sends = st.columns(2)
            sent = sends[0].form_submit_button("Send decision")
            sent_next = sends[1].form_submit_button("Send and next")
        if sent or sent_next:
            action = "reject" if decision == "Reject" else "request_changes"
            if not comment.strip():
                st.error("A comment is required to reject or request changes.")
            else:
                with components.reported():
                    review.decide(actor, [variant_id], action, comment.strip(), settings=settings)
                    components.flash(("Rejected." if action == "reject" else "Changes requested.")
                                     + (go_next() if sent_next else ""))
                    if sent_next:
                        st.session_state.pop("v_comment", None)
                    if action == "request_changes" and regenerate:
                        try:
                            if not tweak:
                                raise InvalidInput("choose a tweak: another frame, a crop, a treatment or a seed")
                            start_regeneration(tweak, comment.strip())
                        except (WorkbenchError, ImportError) as exc:
                            components.flash(f"Changes requested, but regeneration could not start: {exc}", "error")
                    rerun()
    if row.status == "changes_requested" and may_regenerate and f"v_job_{variant_id}" not in st.session_state:
        with st.form("v_regenerate"):
            st.markdown("**Regenerate this slot**")
            tweak = tweak_inputs("r")
            again = st.form_submit_button("Regenerate")
        if again:
            try:
                if not tweak:
                    raise InvalidInput("choose a tweak: another frame, a crop, a treatment or a seed")
                start_regeneration(tweak)
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

    # 4. provenance --------------------------------------------------------------------------
    st.subheader("Provenance", anchor=False)
    panels.provenance_panel(detail)

# 5. history -----------------------------------------------------------------------------------
st.subheader("History", anchor=False)
vcol, ecol = st.columns(2)
with vcol:
    st.markdown("**Versions of this slot**")
    for version in detail.versions:
        label = f"v{version.version} · {version.status.replace('_', ' ')} · {str(version.created_at)[:19]}"
        if version.id == variant_id:
            st.markdown(f"**{md(label)}** (this one)")
        else:
            st.page_link("views/variant.py", label=label, query_params={"id": str(version.id)})
with ecol:
    st.markdown("**Decisions and events**")
    events = panels.event_rows(detail.events)
    if events:
        st.dataframe(events, hide_index=True, width="stretch")
    else:
        st.caption("No decisions yet.")
with st.expander(panels.explanation_heading(detail.explanation), expanded=True):
    panels.explanation(row, detail.explanation, heading=False)
with st.expander("Recipe"):
    st.json(row.recipe or {}, expanded=False)

keys = {"j": {"click": "Next variant"}, "k": {"click": "Previous variant"}, "c": {"focus": "New comment"},
        "?": {"click": "Keyboard shortcuts"}}
if components.can(actor, "review") and row.status == "pending":
    keys.update({"a": {"click": "Approve and next"}, "r": {"pick": "Reject", "focus": "Comment (required)"}})
keys.keyboard(keys)
