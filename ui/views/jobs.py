"""Jobs: what the workers are doing, what each job made (links to its variants), who asked for
it (a person, or a brief) and for what (title, kind, segments, placements, the variant a
regeneration makes again); filters; cancel and retry; and which workers are alive, on which
queues (a queued job with no worker for its queue waits: the page says so and names the
command that starts one)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui import components
from ui.components import local_time, md
from workbench import review
from workbench.errors import WorkbenchError
from workbench.jobs import cancel, find_jobs, job_filter_options, retry
from workbench.queue import live_workers

STATES = ("queued", "running", "failed", "cancelled", "succeeded")
LINKS_SHOWN = 6  # variant links on a job's card; the rest are one "in the queue" link away
ROWS = (50, 200, 1000)
# a job's parameters worth saying, in words: (key, how it reads)
PARAM_WORDS: tuple[tuple[str, str], ...] = (
    ("segments", "segments"), ("segment", "segment"), ("locales", "locales"), ("locale", "locale"),
    ("formats", "placements"), ("format", "placement"), ("durations", "lengths (s)"), ("duration", "length (s)"),
    ("top_k", "picks per placement"), ("pacing", "pacing"), ("market", "market"),
)

actor = components.require_actor()
settings = components.settings()
st.header("Jobs")

options = job_filter_options(settings=settings)
row1 = st.columns([4, 2, 2, 2, 1])
shown = row1[0].multiselect("States", STATES, default=["queued", "running", "failed"], key="j_states")
kind = components.any_select(row1[1], "Kind", options["kinds"], key="j_kind")
title = components.any_select(row1[2], "Title", options["titles"], key="j_title", any_label="All titles")
asked = components.any_select(row1[3], "Asked by", options["requested_by"], key="j_asked", any_label="Anyone")
rows = row1[4].selectbox("Rows", ROWS, key="j_rows")
live = st.toggle("Refresh every 2 s", value=True, key="j_live")
may_act = components.can(actor, "jobs")


def _act(job_id: int, what: str) -> None:
    """Cancel or retry (the library checks the ``jobs`` permission)."""
    who = components.callback_actor()
    if who is None:
        return
    try:
        job = (cancel if what == "cancel" else retry)(who, job_id, settings=settings)
    except WorkbenchError as exc:
        components.flash(exc, "error")
        return
    text = f"Job {job_id}: {'cancelled' if what == 'cancel' else 'queued again'}."
    if what == "retry":
        queue = job.queue(settings)
        if not any(queue in w.queues for w in live_workers(settings)):
            text += f" No worker serves the {queue} queue: it waits until one starts (`workbench worker --queues {queue}`)."
    components.flash(text)


def worker_panel(jobs: list[Any]) -> None:
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


def params_text(params: dict[str, Any]) -> str:
    """What a job was asked to make, in words: "segments action, comedy · placements 16x9, 1x1"."""
    parts = []
    for key, words in PARAM_WORDS:
        value = params.get(key)
        if value in (None, "", [], ()):
            continue
        shown_value = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        parts.append(f"{words} {shown_value}")
    treatment = params.get("treatment")
    if isinstance(treatment, dict) and treatment.get("name"):
        parts.append(f"treatment {treatment['name']}")
    return " · ".join(parts)


def who_asked(job: Any, sources: dict[int, Any]) -> None:
    """Who asked, from what (a brief, or a regeneration of a variant)."""
    words = f"Asked by **{md(job.requested_by)}**" if job.requested_by else "Asked by someone before this was recorded"
    if job.brief_name:
        words += f" · brief “{md(job.brief_name)}”"
    cols = st.columns([3, 2]) if job.source_variant_id else [st.container()]
    cols[0].markdown(words)
    if job.source_variant_id:
        source = sources.get(job.source_variant_id)
        label = md(f"Makes a new version of #{job.source_variant_id}")  # link labels are Markdown
        if source is not None:
            label += f" \\({components.variant_label(source)}\\)"
        cols[1].page_link("views/variant.py", label=label, query_params={"id": str(job.source_variant_id)})


def made_links(job: Any, made: dict[int, Any]) -> None:
    """The variants the job made, as links; all of them in the queue when there are more."""
    ids = job.variant_ids
    if not ids:
        return
    st.markdown(f"Made {len(ids)} variant{'s' if len(ids) != 1 else ''}:")
    links = st.columns(min(LINKS_SHOWN, len(ids)) + (1 if len(ids) > 1 else 0))
    for col, vid in zip(links, ids[:LINKS_SHOWN]):
        row = made.get(vid)
        label = components.variant_label(row) if row is not None else md(f"#{vid}")  # escaped: labels are Markdown
        col.page_link("views/variant.py", label=label, query_params={"id": str(vid)})
    if len(ids) > 1:
        links[-1].page_link("views/queue.py", label=f"All {len(ids)} in the queue",
                            query_params={"job": str(job.id), "version": "all"})


@st.fragment(run_every=2.0 if live else None)
def job_table() -> None:
    components.show_flash()  # a cancel/retry click reruns only this fragment
    try:
        jobs = find_jobs(states=shown, kind=kind, title=title, requested_by=asked, limit=rows, settings=settings)
    except WorkbenchError as exc:
        components.error(exc)
        return
    worker_panel(jobs)
    if not jobs:
        st.info("No jobs match these filters.")
        return
    wanted = {vid for j in jobs for vid in j.variant_ids[:LINKS_SHOWN]} | {j.source_variant_id for j in jobs
                                                                          if j.source_variant_id}
    known = {r.id: r for r in review.get_rows(sorted(wanted), settings=settings)}
    for job in jobs:  # newest first
        with st.container(border=True):
            top = st.columns([1, 3, 4, 2])
            top[0].markdown(f"**{job.id}**")
            top[1].markdown(f"{md(job.kind)} · {md(job.title_name)} · {md(job.queue(settings))} queue")
            top[2].progress(min(1.0, max(0.0, job.progress)), text=f"{job.state} · {job.progress:.0%}")
            if may_act and job.state in ("queued", "running"):
                top[3].button("Cancel", key=f"j_cancel_{job.id}", on_click=_act, args=(job.id, "cancel"))
            elif may_act and job.state in ("failed", "cancelled"):
                top[3].button("Retry", key=f"j_retry_{job.id}", on_click=_act, args=(job.id, "retry"))
            who_asked(job, known)
            asked_for = params_text(job.params)
            if asked_for:
                st.caption(f"For {md(asked_for)}")
            made_links(job, known)
            if job.error:
                st.text(job.error)
            times = [f"created {local_time(job.created_at)}"]
            if job.finished_at:
                times.append(f"finished {local_time(job.finished_at)}")
            st.caption(f"attempts {job.attempts} · retries {job.retries} · worker {md(job.worker or '–')} · "
                       + md(" · ".join(times)))


job_table()
