"""The Celery implementation of :class:`workbench.queue.JobQueue`: a job's id goes to the task for
its queue (model work to ``gpu``, the rest to ``cpu``; routing is in config.py)."""

from __future__ import annotations

from workbench.jobs import JobView, mark_submitted
from workbench.settings import Settings


class CeleryQueue:
    def enqueue(self, job: JobView, settings: Settings) -> None:
        from workers.app import client_app

        task = "workbench.run_model_job" if job.queue(settings) == "gpu" else "workbench.run_job"
        result = client_app(settings).send_task(task, args=[job.id])
        mark_submitted(job.id, result.id, settings=settings)

    def revoke(self, job: JobView, settings: Settings) -> None:
        from workers.app import client_app

        if job.celery_task_id:
            client_app(settings).control.revoke(job.celery_task_id)
