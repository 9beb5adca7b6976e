"""Variant: the full preview (a player for video), its provenance, its history of versions and
decisions, and the decision itself: approve, reject or request changes (a comment is required
for both), and on request changes optionally regenerate with a tweak on the workers."""

from __future__ import annotations

import streamlit as st

from ui import components
from ui.components import md
from workbench import review
from workbench.errors import InvalidInput, WorkbenchError

actor = components.require_actor()
settings = components.settings()

KEEP = "Keep"
FRAME_TWEAKS: dict[str, dict] = {  # one change of picture: another frame, or the crop moved
    KEEP: {},
    "Another frame": {"frame": "next"},
    "Crop further left": {"crop": "left"},
    "Crop further right": {"crop": "right"},
    "Crop further up": {"crop": "up"},
    "Crop further down": {"crop": "down"},
}
TREATMENTS = (KEEP, "outpaint", "restyle", "clean")

# 1. which variant -----------------------------------------------------------------------------
raw_id = st.query_params.get("id") or ""
if not raw_id.isdigit():
    st.header("Variant")
    picked = st.number_input("Variant id", min_value=1, step=1, value=None, key="v_pick")
    if picked is None:
        st.info("Open a variant from the Queue or Compare page, or give its id.")
        st.stop()
    raw_id = str(int(picked))
variant_id = int(raw_id)
try:
    detail = review.variant_detail(variant_id, settings=settings)
except WorkbenchError as exc:
    components.error(exc)
    st.stop()
row = detail.row

st.header(md(f"{row.title_name} · {row.segment or '–'} · {components.slot_format(row.format)} · v{row.version}"),
          anchor=False)
st.markdown(f"{components.status_badge(row.status)} {components.variant_label(row)} · {md(row.kind)}"
            f" · score {row.score or 0:.3f}")
components.show_flash()

left, right = st.columns([3, 2])

# 2. the file itself (detail page: the full file, not the grid preview) --------------------------
with left:
    if (row.mime or "").startswith("video/"):
        st.video(str(row.file_path))
    else:
        st.image(str(row.file_path), width="stretch")
    st.caption(f"{row.width}×{row.height} · {md(row.mime)} · sha256 {row.sha256[:16]}…")
    st.page_link("views/compare.py", label="Compare with the other picks", icon=":material/compare:",
                 query_params={"id": str(variant_id)})

# 3. decide ------------------------------------------------------------------------------------
def start_regeneration(tweak: dict, comment: str | None = None) -> None:
    """Submit a new version of this slot with the tweak to the workers; progress shows below.
    (``workbench.regenerate`` is imported here, when used.)"""
    from workbench.regenerate import regenerate

    job = regenerate(actor, variant_id, tweak, comment=comment, settings=settings)
    st.session_state[f"v_job_{variant_id}"] = job.id


def tweak_inputs(prefix: str) -> dict:
    """The tweak chosen: a frame or crop change, a treatment, a seed (for a treatment), combined."""
    cols = st.columns(3)
    frame = cols[0].selectbox("Frame or crop", list(FRAME_TWEAKS), key=f"{prefix}_frame")
    treatment = cols[1].selectbox("Treatment", TREATMENTS, key=f"{prefix}_treatment")
    seed = cols[2].number_input("Seed", min_value=0, max_value=2**31 - 1, value=None, step=1, key=f"{prefix}_seed",
                                help="Another seed for a model treatment")
    tweak = dict(FRAME_TWEAKS[frame])
    if treatment != KEEP:
        tweak["treatment"] = treatment
    if seed is not None:
        tweak["seed"] = int(seed)
    return tweak


with right:
    st.subheader("Decide", anchor=False)
    may_regenerate = components.can(actor, "regenerate")
    if not components.can(actor, "review"):
        st.info("Your role can view variants but not decide on them.")
    elif row.status != "pending" and actor.role != "admin":
        st.info(f"Decided: {md(row.status.replace('_', ' '))}. Only an admin can change a decision.")
    else:
        if st.button("Approve", key="v_approve", type="primary", disabled=row.status == "approved"):
            with components.reported():
                review.decide(actor, [variant_id], "approve", settings=settings)
                components.flash(f"Approved variant #{variant_id}.")
                st.rerun()
        with st.form("v_decide", clear_on_submit=False):
            decision = st.radio("Or", ["Reject", "Request changes"], horizontal=True, key="v_decision")
            comment = st.text_area("Comment (required)", key="v_comment", max_chars=2000)
            regenerate = False
            if may_regenerate:
                regenerate = st.checkbox("Regenerate with a tweak (request changes only)", key="v_regen")
                tweak = tweak_inputs("v")
            sent = st.form_submit_button("Send decision")
        if sent:
            action = "reject" if decision == "Reject" else "request_changes"
            if not comment.strip():
                st.error("A comment is required to reject or request changes.")
            else:
                with components.reported():
                    review.decide(actor, [variant_id], action, comment.strip(), settings=settings)
                    components.flash("Rejected." if action == "reject" else "Changes requested.")
                    if action == "request_changes" and regenerate:
                        try:
                            if not tweak:
                                raise InvalidInput("choose a tweak: another frame, a crop, a treatment or a seed")
                            start_regeneration(tweak, comment.strip())
                        except (WorkbenchError, ImportError) as exc:
                            components.flash(f"Changes requested, but regeneration could not start: {exc}", "error")
                    st.rerun()
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

        @st.fragment(run_every=1.0)
        def regeneration_progress() -> None:
            from workbench.jobs import FINISHED, get_job

            job = get_job(job_id, settings=settings)
            st.progress(min(1.0, max(0.0, job.progress)), text=f"Regenerating: job {job.id} {job.state}")
            if job.state in FINISHED:
                # Done: a full rerun shows the new version in the history below.
                st.session_state.pop(f"v_job_{variant_id}", None)
                if job.state == "succeeded":
                    components.flash("The new version is in the queue as pending.")
                else:
                    components.flash(f"Regeneration {job.state}: {job.error or 'no error recorded'}", "error")
                st.rerun()

        regeneration_progress()

    # 4. provenance --------------------------------------------------------------------------
    st.subheader("Provenance", anchor=False)
    components.provenance_panel(detail)

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
    events = components.event_rows(detail.events)
    if events:
        st.dataframe(events, hide_index=True, width="stretch")
    else:
        st.caption("No decisions yet.")
with st.expander("Why this frame", expanded=True):
    components.explanation(row, detail.explanation, heading=False)
with st.expander("Recipe"):
    st.json(row.recipe or {}, expanded=False)
