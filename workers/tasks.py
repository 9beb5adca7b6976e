"""Thin tasks: load by id, call the library, return small JSON. Routing lives in config.py."""

from __future__ import annotations

import logging

from celery import shared_task

from workbench import jobs
from workbench.settings import get_settings

log = logging.getLogger("workbench.worker")


def _run(task, job_id: int) -> dict:
    def report(fraction: float) -> None:
        task.update_state(state="PROGRESS", meta={"job_id": job_id, "progress": round(fraction, 4)})

    outcome = jobs.run_job(job_id, settings=get_settings(), report=report)
    log.info("event=job_delivery job=%d outcome=%s error=%s", job_id, outcome.outcome, outcome.error or "-")
    if outcome.outcome in ("busy", "retry"):
        # Bounded by the catalog (max_retries, lease), not by Celery's own counter.
        raise task.retry(countdown=outcome.retry_in, max_retries=None)
    return {"job_id": job_id, "outcome": outcome.outcome, "error": outcome.error, **(outcome.result or {})}


@shared_task(name="workbench.run_job", bind=True)
def run_job(self, job_id: int) -> dict:
    return _run(self, job_id)


@shared_task(name="workbench.run_model_job", bind=True)
def run_model_job(self, job_id: int) -> dict:
    """The same body, routed to the GPU queue (a model is loaded in this process)."""
    return _run(self, job_id)


@shared_task(name="workbench.ping")
def ping() -> dict:
    """A health check (and the round-trip benchmark's task): who answered."""
    import os
    import socket

    return {"host": socket.gethostname(), "pid": os.getpid()}
