"""Submitting, cancelling and retrying jobs: the library's job rows plus the broker."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from workbench import jobs
from workbench.briefs import load_brief, plan_jobs
from workbench.settings import Settings, get_settings


@dataclass(frozen=True)
class Submitted:
    brief: str
    jobs: list[jobs.JobView]
    new: int
    already_done: int


def _app(settings: Settings | None = None):
    from workers.app import client_app

    return client_app(settings)


def enqueue(job: jobs.JobView, settings: Settings) -> None:
    task = "workbench.run_model_job" if job.queue(settings) == "gpu" else "workbench.run_job"
    result = _app(settings).send_task(task, args=[job.id])
    jobs.mark_submitted(job.id, result.id, settings=settings)


def submit_brief(path: Path, *, settings: Settings | None = None) -> Submitted:
    settings = settings or get_settings()
    brief = load_brief(path)
    specs = plan_jobs(brief)
    rows = jobs.create_jobs(specs, brief_name=brief.name, brief_spec={"source": brief.source}, settings=settings)
    done = 0
    for view, _created in rows:
        if view.state == "succeeded":
            done += 1  # idempotent: the same job already made its variants
        elif view.state == "queued":
            enqueue(view, settings)  # a second message for a queued job is harmless: runs claim it once
    views = jobs.list_jobs(ids=[v.id for v, _ in rows], settings=settings)
    return Submitted(brief=brief.name, jobs=views, new=sum(c for _, c in rows), already_done=done)


def cancel(job_id: int, *, settings: Settings | None = None) -> jobs.JobView:
    settings = settings or get_settings()
    view = jobs.mark_cancelled(job_id, settings=settings)
    if view.celery_task_id:
        _app(settings).control.revoke(view.celery_task_id)  # queued: dropped; running: stops at its next checkpoint
    return view


def retry(job_id: int, *, settings: Settings | None = None) -> jobs.JobView:
    settings = settings or get_settings()
    view = jobs.reset_for_retry(job_id, settings=settings)
    enqueue(view, settings)
    return jobs.get_job(job_id, settings=settings)


def wait(job_ids: list[int], *, settings: Settings | None = None, timeout: float | None = None,
         on_update: Callable[[list[jobs.JobView]], None] | None = None, poll: float = 0.25) -> list[jobs.JobView]:
    settings = settings or get_settings()
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        views = jobs.list_jobs(ids=job_ids, settings=settings)
        if on_update:
            on_update(views)
        if all(v.state in jobs.FINISHED for v in views):
            return views
        if deadline is not None and time.monotonic() > deadline:
            return views
        time.sleep(poll)
