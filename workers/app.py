"""The Celery app. Models are loaded once per worker process on ``worker_process_init``
(never in the prefork parent), so a GPU worker holds one pipeline per GPU process."""

from __future__ import annotations

import logging
import os
import threading

from celery import Celery
from celery.signals import worker_process_init, worker_ready, worker_shutdown

from workbench.settings import Settings, get_settings
from workers.config import celery_config

log = logging.getLogger("workbench.worker")


def make_app(settings: Settings, *, client: bool = False, start_broker: bool = True) -> Celery:
    app = Celery("workbench", set_as_current=not client)
    config = celery_config(settings, start_broker=start_broker)
    if client:
        # Submitters read job state from the catalog, not from Celery results: no backend
        # connection (and no result subscription) in the CLI or the UI.
        config["result_backend"] = None
    app.conf.update(config)
    app.autodiscover_tasks(["workers"], related_name="tasks", force=True)
    return app


_client_apps: dict[str, Celery] = {}


def client_app(settings: Settings | None = None) -> Celery:
    """An app for submitting and revoking jobs, one per broker (tests switch homes)."""
    settings = settings or get_settings()
    from workers.broker import broker_url

    key = broker_url(settings)
    if key not in _client_apps:
        _client_apps[key] = make_app(settings, client=True)
    return _client_apps[key]


# The worker's app (`workbench worker` runs it); built from the environment's settings.
app = make_app(get_settings(), start_broker=os.environ.get("WORKBENCH_NO_BROKER_START") != "1") \
    if os.environ.get("WORKBENCH_WORKER") == "1" else None


@worker_process_init.connect
def load_models(**_kwargs) -> None:
    """Per process: the face model warm, and one torch thread in a prefork pool (its processes
    are the parallelism). A GPU worker's solo pool is the only process: it keeps torch's threads
    for model work that runs on the CPU (measured: 1 thread made a CPU diffusion job 1.6x slower)."""
    import torch

    if not serves_gpu():
        torch.set_num_threads(1)
    from workbench.analysis.faces import get_face_detector

    get_face_detector()
    log.info("event=worker_process_ready pid=%d", os.getpid())


def serves_gpu() -> bool:
    return "gpu" in os.environ.get("WORKBENCH_WORKER_QUEUES", "").split(",")


_beat_stop = threading.Event()


def _worker_name() -> str:
    from workbench.jobs import worker_id

    return worker_id()


def _queues() -> list[str]:
    return [q for q in os.environ.get("WORKBENCH_WORKER_QUEUES", "cpu").split(",") if q]


@worker_ready.connect
def start_heartbeat(**_kwargs) -> None:
    """The worker's main process says it serves its queues, every few seconds, in the catalog
    (workbench.queue): submitters can tell when nobody does. Forked pool children do not inherit
    the thread."""
    from workbench import queue

    settings = get_settings()
    name, queues = _worker_name(), _queues()

    def beat() -> None:
        first = True
        while True:
            try:
                queue.heartbeat(name, queues, settings, started=first)
                first = False
            except Exception as exc:  # the catalog may be briefly unreachable: try again next beat
                log.warning("event=worker_heartbeat_failed reason=%s", exc)
            if _beat_stop.wait(queue.HEARTBEAT_S):
                return

    threading.Thread(target=beat, name="worker-heartbeat", daemon=True).start()


@worker_shutdown.connect
def stop_heartbeat(**_kwargs) -> None:
    from workbench import queue

    _beat_stop.set()
    try:
        queue.signed_off(_worker_name(), get_settings())
    except Exception as exc:
        log.warning("event=worker_signoff_failed reason=%s", exc)


@worker_ready.connect
def load_diffusion(**_kwargs) -> None:
    """A GPU worker (solo pool: this process runs the jobs) loads its diffusion model once, when
    it is ready and before it takes its first job. A bad model setting is logged with its reason
    here, and each job that needs the model fails with the same one-line reason."""
    if not serves_gpu():
        return
    settings = get_settings()
    if not settings.diffusion_model:
        log.info("event=diffusion_not_configured note=treatments run classically")
        return
    from generators.diffusion.backend import get_backend
    from workbench.errors import WorkbenchError

    try:
        backend = get_backend(settings)
    except WorkbenchError as exc:
        log.warning("event=diffusion_unavailable reason=%s", exc)
        return
    import torch

    log.info("event=diffusion_ready model=%s device=%s dtype=%s torch_threads=%d pid=%d", backend.info.id,
             backend.info.device, backend.info.dtype, torch.get_num_threads(), os.getpid())
