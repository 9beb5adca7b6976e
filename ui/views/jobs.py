"""Jobs: what the workers are doing and what failed, with progress; cancel and retry; and which
workers are alive, on which queues (a queued job with no worker for its queue waits: the page
says so and names the command that starts one)."""

from __future__ import annotations

import streamlit as st

from ui import components
from ui.components import md
from workbench.errors import WorkbenchError
from workbench.jobs import cancel, list_jobs, retry
from workbench.queue import live_workers

STATES = ("queued", "running", "failed", "cancelled", "succeeded")

actor = components.require_actor()
settings = components.settings()
st.header("Jobs")

shown = st.multiselect("States", STATES, default=["queued", "running", "failed"], key="j_states")
live = st.toggle("Refresh every 2 s", value=True, key="j_live")
may_act = components.can(actor, "jobs")


def _act(job_id: int, what: str) -> None:
    """Cancel or retry (the library checks the ``jobs`` permission)."""
    try:
        job = (cancel if what == "cancel" else retry)(actor, job_id, settings=settings)
    except WorkbenchError as exc:
        components.flash(exc, "error")
        return
    text = f"Job {job_id}: {'cancelled' if what == 'cancel' else 'queued again'}."
    if what == "retry":
        queue = job.queue(settings)
        if not any(queue in w.queues for w in live_workers(settings)):
            text += f" No worker serves the {queue} queue: it waits until one starts (`workbench worker --queues {queue}`)."
    components.flash(text)


def worker_panel(jobs) -> None:
    """The live workers and their queues; a warning per queue that has jobs waiting and no worker."""
    workers = live_workers(settings)
    if workers:
        st.caption("Workers: " + " · ".join(f"{md(w.name)} ({md(', '.join(w.queues) or 'no queue')})" for w in workers))
    else:
        st.warning("No worker is running: queued jobs wait until one starts (`workbench worker --queues cpu`; "
                   "`workbench worker --queues gpu --gpu 0` on a GPU machine).")
    served = {q for w in workers for q in w.queues}
    waiting = sorted({j.queue(settings) for j in jobs if j.state == "queued"} - served)
    if workers and waiting:
        for queue in waiting:
            st.warning(f"No worker serves the {md(queue)} queue: its jobs wait until one starts "
                       f"(`workbench worker --queues {md(queue)}`).")


@st.fragment(run_every=2.0 if live else None)
def job_table() -> None:
    components.show_flash()  # a cancel/retry click reruns only this fragment
    every = list_jobs(settings=settings)
    worker_panel(every)
    jobs = [j for j in every if j.state in shown]
    if not jobs:
        st.info("No jobs in these states.")
        return
    for job in reversed(jobs):  # newest first
        with st.container(border=True):
            top = st.columns([1, 3, 4, 2])
            top[0].markdown(f"**{job.id}**")
            top[1].markdown(f"{md(job.kind)} · {md(job.title_name)} · {md(job.queue(settings))} queue")
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
