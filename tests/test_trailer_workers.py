"""Trailer jobs on real Celery workers: cpu queue, progress from the render, cancellation that
stops ffmpeg and leaves no partial file, and a worker killed mid-render whose job completes once
on redelivery."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.test_trailers import make_title
from tests.test_workers import env, store_temp_files, submit, variants_count, wait  # noqa: F401 (env is a fixture)
from workbench import jobs, workflow
from workbench.access import Actor
from workbench.catalog import open_catalog
from workbench.catalog.models import Variant
from workbench.settings import Settings
from workers.process import WorkerProcess

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_title(tmp_path_factory.mktemp("trailer-worker-title") / "title.mp4")


def trailer_brief(path: Path, title: str, durations=(20,), formats=("16x9",)) -> Path:
    path.write_text(
        f"name: trailer brief for {title}\ntitle: {title}\ngenerators:\n"
        f"  - kind: trailer\n    segments: [action]\n    durations: [{', '.join(map(str, durations))}]\n"
        f"    formats: [{', '.join(formats)}]\n"
    )
    return path


def wait_rendering(job_id: int, timeout: float = 120.0) -> None:
    """Until the job reports render progress (it is past analysis and planning)."""
    deadline = time.monotonic() + timeout
    while True:
        view = jobs.get_job(job_id)
        if view.state == "running" and (view.progress or 0) > 0.05:
            return
        assert view.state in ("queued", "running"), (view.state, view.error)
        assert time.monotonic() < deadline, f"the job never got to rendering: {view.state} {view.progress}"
        time.sleep(0.05)


def partial_videos(home: Path) -> list[Path]:
    """Video files outside the store: a render's leftovers."""
    return [p for p in home.rglob("*.mp4") if "store" not in p.relative_to(home).parts and "out" not in p.relative_to(home).parts]


def test_a_trailer_job_runs_on_the_cpu_queue_with_progress(env, home, tmp_path, clip):  # noqa: F811
    workflow.ingest(clip, "Worker Trailer")
    workflow.analyze_title("Worker Trailer")
    with WorkerProcess(env, tmp_path / "worker.log", queues="cpu"):
        sub = submit(trailer_brief(tmp_path / "t.yaml", "Worker Trailer", durations=(6,), formats=("16x9", "9x16")))
        [job] = sub.jobs
        assert job.queue(Settings()) == "cpu"
        [view] = wait([job.id])
    assert view.state == "succeeded", view.error
    assert view.progress == 1.0 and len(view.result["variants"]) == 2


def test_kill_9_mid_render_completes_exactly_once(env, home, tmp_path, clip):  # noqa: F811
    workflow.ingest(clip, "Killed Trailer")
    workflow.analyze_title("Killed Trailer")
    log = tmp_path / "worker.log"
    first = WorkerProcess(env, log).start()
    [job] = submit(trailer_brief(tmp_path / "k.yaml", "Killed Trailer")).jobs
    wait_rendering(job.id)
    first.kill9()  # the machine dies mid-render
    with WorkerProcess(env, log):
        [view] = wait([job.id], timeout=300)
    assert view.state == "succeeded", view.error
    assert view.attempts == 2
    with open_catalog(Settings()).session() as s:
        rows = s.query(Variant).all()
        assert len(rows) == 1 and rows[0].kind == "trailer"
    assert partial_videos(home) == [], "a killed render left a file behind"
    assert store_temp_files(home) == []


def test_cancel_mid_render_stops_and_leaves_nothing(env, home, tmp_path, clip):  # noqa: F811
    from workbench import jobs as client

    workflow.ingest(clip, "Cancelled Trailer")
    workflow.analyze_title("Cancelled Trailer")
    with WorkerProcess(env, tmp_path / "worker.log"):
        [job] = submit(trailer_brief(tmp_path / "c.yaml", "Cancelled Trailer", durations=(30,))).jobs
        wait_rendering(job.id)
        assert client.cancel(Actor("cara", "creative"), job.id).state == "cancelled"
        deadline = time.monotonic() + 30
        while partial_videos(home):  # the render notices at its next progress report and cleans up
            assert time.monotonic() < deadline, partial_videos(home)
            time.sleep(0.1)
        time.sleep(1.0)
        assert jobs.get_job(job.id).state == "cancelled"
    assert variants_count() == 0
    assert partial_videos(home) == []
