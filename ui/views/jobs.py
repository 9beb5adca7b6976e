"""Jobs: what the workers are doing and what failed, with progress; cancel and retry."""

from __future__ import annotations

import streamlit as st

from ui import components
from ui.components import md
from workbench.access import require
from workbench.errors import WorkbenchError
from workbench.jobs import list_jobs

STATES = ("queued", "running", "failed", "cancelled", "succeeded")

actor = components.require_actor()
settings = components.settings()
st.header("Jobs")

shown = st.multiselect("States", STATES, default=["queued", "running", "failed"], key="j_states")
live = st.toggle("Refresh every 2 s", value=True, key="j_live")
may_act = components.can(actor, "jobs")


def _act(job_id: int, what: str) -> None:
    """Cancel or retry through the workers' client; the permission is checked first, here,
    because the client functions take no actor (they are shared with the CLI)."""
    from workers import client

    try:
        require(actor, "jobs")
        (client.cancel if what == "cancel" else client.retry)(job_id, settings=settings)
    except WorkbenchError as exc:
        components.flash(exc, "error")
    else:
        components.flash(f"Job {job_id}: {'cancelled' if what == 'cancel' else 'queued again'}.")


@st.fragment(run_every=2.0 if live else None)
def job_table() -> None:
    components.show_flash()  # a cancel/retry click reruns only this fragment
    jobs = [j for j in list_jobs(settings=settings) if j.state in shown]
    if not jobs:
        st.info("No jobs in these states.")
        return
    for job in reversed(jobs):  # newest first
        with st.container(border=True):
            top = st.columns([1, 3, 4, 2])
            top[0].markdown(f"**{job.id}**")
            top[1].markdown(f"{md(job.kind)} · {md(job.title_name)}")
            top[2].progress(min(1.0, max(0.0, job.progress)), text=f"{job.state} · {job.progress:.0%}")
            if may_act and job.state in ("queued", "running"):
                top[3].button("Cancel", key=f"j_cancel_{job.id}", on_click=_act, args=(job.id, "cancel"))
            elif may_act and job.state in ("failed", "cancelled"):
                top[3].button("Retry", key=f"j_retry_{job.id}", on_click=_act, args=(job.id, "retry"))
            if job.error:
                st.text(job.error)
            st.caption(f"attempts {job.attempts} · retries {job.retries} · worker {md(job.worker or '–')}"
                       f" · created {md(job.created_at[:19])}")


job_table()
