"""Celery configuration, built from the workbench settings (kept apart from the app and tasks)."""

from __future__ import annotations

from typing import Any

from workbench.settings import Settings
from workers.broker import broker_url

CPU_QUEUE = "cpu"
GPU_QUEUE = "gpu"

# Model work goes to the GPU queue, everything else to the CPU queue.
TASK_ROUTES = {
    "workbench.run_model_job": {"queue": GPU_QUEUE},
    "workbench.*": {"queue": CPU_QUEUE},
}


def celery_config(settings: Settings, *, start_broker: bool = True) -> dict[str, Any]:
    broker = broker_url(settings, start=start_broker)
    transport = {"visibility_timeout": settings.visibility_timeout}
    return {
        "broker_url": broker,
        "result_backend": settings.result_backend or broker,
        "broker_transport_options": transport,
        "result_backend_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        "task_routes": TASK_ROUTES,
        "task_default_queue": CPU_QUEUE,
        # Reliability: a job is acknowledged only when it finished; a worker that dies returns it.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_track_started": True,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_expires": 24 * 3600,
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        "worker_cancel_long_running_tasks_on_connection_loss": False,
    }
