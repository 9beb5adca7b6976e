"""How the library hands jobs to workers, without knowing what the workers are.

The core (``workbench.jobs``: briefs, regenerate, cancel and retry) speaks to a :class:`JobQueue`
(jobs are :class:`workbench.jobs.JobView` objects): put a job
on its queue, take it off. The Celery workers implement it (``workers/queue.py``); which one is
used is a setting (``WORKBENCH_JOB_QUEUE``, default ``celery``), loaded by name so the core never
imports the workers package.

Workers also say that they are alive: each running worker keeps a row (its queues, a heartbeat
every :data:`HEARTBEAT_S`). :func:`serving` tells a submitter whether any live worker serves a
queue, so the review UI can say "no worker is running" instead of waiting forever, or, where the
settings allow (``WORKBENCH_INLINE_JOBS``), run the job in its own process
(:func:`workbench.jobs.dispatch`).
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any, Protocol

import sqlalchemy as sa

from workbench.catalog import open_catalog
from workbench.catalog.models import WorkerRow, utcnow
from workbench.errors import InvalidInput
from workbench.settings import Settings

log = logging.getLogger(__name__)

HEARTBEAT_S = 10.0
STALE_AFTER_S = 3 * HEARTBEAT_S  # a worker silent this long is taken for gone
QUEUE_IMPLEMENTATIONS = {"celery": "workers.queue:CeleryQueue"}


class JobQueue(Protocol):
    """What a job transport does for the library."""

    def enqueue(self, job: Any, settings: Settings) -> None:
        """Put the job on its queue (``job.queue(settings)``): a worker will run it."""

    def revoke(self, job: Any, settings: Settings) -> None:
        """Take a queued job off the queue (a running one stops at its next checkpoint anyway)."""


@lru_cache(maxsize=8)
def _load(spec: str) -> JobQueue:
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)()


def get_queue(settings: Settings) -> JobQueue:
    """The configured job queue."""
    spec = QUEUE_IMPLEMENTATIONS.get(settings.job_queue, settings.job_queue)
    if ":" not in spec:
        raise InvalidInput(f"unknown job queue {settings.job_queue!r}; known: {', '.join(QUEUE_IMPLEMENTATIONS)}"
                           " or module:Class")
    return _load(spec)


# -- workers saying they are alive ------------------------------------------------------------


def heartbeat(name: str, queues: list[str], settings: Settings, *, started: bool = False) -> None:
    """Record that worker ``name`` serves ``queues`` now (a worker calls this every HEARTBEAT_S)."""
    now = utcnow()
    with open_catalog(settings).session() as session:
        row = session.get(WorkerRow, name)
        if row is None:
            session.add(WorkerRow(name=name, queues=",".join(queues), started_at=now, seen_at=now))
        else:
            row.queues, row.seen_at = ",".join(queues), now
            if started:
                row.started_at = now


def signed_off(name: str, settings: Settings) -> None:
    """A worker that stops cleanly removes its row."""
    with open_catalog(settings).session() as session:
        session.execute(sa.delete(WorkerRow).where(WorkerRow.name == name))


@dataclass(frozen=True)
class WorkerView:
    name: str
    queues: tuple[str, ...]
    started_at: str
    seen_at: str


def live_workers(settings: Settings) -> list[WorkerView]:
    """Workers that gave a sign of life within STALE_AFTER_S."""
    since = utcnow() - timedelta(seconds=STALE_AFTER_S)
    with open_catalog(settings).session() as session:
        rows = session.scalars(sa.select(WorkerRow).where(WorkerRow.seen_at >= since).order_by(WorkerRow.name)).all()
        return [WorkerView(r.name, tuple(q for q in r.queues.split(",") if q), r.started_at.isoformat(),
                           r.seen_at.isoformat()) for r in rows]


def serving(queue: str, settings: Settings) -> bool:
    """Whether a live worker serves ``queue``."""
    return any(queue in w.queues for w in live_workers(settings))
