"""Workers and jobs: run a worker, fan a brief out into jobs, follow, cancel and retry them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from workbench.cli.output import AsOpt, JsonOpt, emit_json, err_console, guarded, say, styled, table
from workbench.errors import InvalidInput

STATE_STYLES = {"succeeded": "green", "failed": "red", "running": "yellow", "cancelled": "dim"}


@guarded
def worker(
    queues: Annotated[str, typer.Option(help="Queues to serve: cpu, gpu or cpu,gpu.")] = "cpu",
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Worker processes (GPU workers: always 1).")] = 2,
    gpu: Annotated[Optional[str], typer.Option(help="GPU index for a gpu worker (sets CUDA_VISIBLE_DEVICES).")] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Run a Celery worker (starts the embedded broker when no WORKBENCH_BROKER_URL is set)."""
    from workbench.settings import get_settings

    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = set(wanted) - {"cpu", "gpu"}
    if unknown or not wanted:
        raise InvalidInput(f"unknown queue(s) {', '.join(sorted(unknown)) or '(none)'}; use cpu, gpu or cpu,gpu")
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    os.environ["WORKBENCH_WORKER_QUEUES"] = ",".join(wanted)
    settings = get_settings()
    from workers.app import make_app

    # Import the heavy libraries (OpenCV, PyAV, c2pa, torch) once in the parent: pool processes
    # fork with them loaded instead of paying ~0.9 s on their first job. No model or CUDA here.
    # The kind registry (with WORKBENCH_PLUGINS) is loaded here too, so every job sees every kind.
    import workbench.workflow  # noqa: F401
    from generators import kinds

    kinds()

    celery_app = make_app(settings)

    # Model workers: one process per GPU, models loaded once, no fork after CUDA init.
    pool = ["--pool", "solo"] if "gpu" in wanted else ["--pool", "prefork", "--concurrency", str(concurrency)]
    name = f"{'-'.join(wanted)}-{os.getpid()}@%h"
    celery_app.worker_main(["worker", "-Q", ",".join(wanted), "-n", name, "--loglevel", loglevel,
                            "--without-mingle", "--without-gossip", *pool])


@guarded
def run(brief: Path, wait: Annotated[bool, typer.Option("--wait", help="Follow the jobs until they finish.")] = False,
        timeout: Annotated[Optional[float], typer.Option(min=0, help="Give up waiting after this many seconds.")] = None,
        as_json: JsonOpt = False) -> None:
    """Fan a brief out into jobs and queue them for the workers."""
    from workbench import jobs

    submitted = jobs.submit_brief(brief)
    ids = [j.id for j in submitted.jobs]
    views = submitted.jobs
    if wait:
        views = jobs.wait(ids, timeout=timeout) if as_json else _follow(ids, timeout)
    if as_json:
        emit_json({"brief": submitted.brief, "new": submitted.new, "already_done": submitted.already_done,
                   "unserved_queues": list(submitted.unserved), "jobs": views})
    else:
        say(f"brief {submitted.brief!r}: {len(ids)} jobs ({submitted.new} new, {submitted.already_done} already done)")
        for queue in submitted.unserved:
            say(f"no worker serves the {queue} queue right now: start one with `workbench worker --queues {queue}`",
                style="yellow")
        if not wait:
            say("follow with `workbench jobs`")
        else:
            _jobs_table(views)
    if wait and any(v.state != "succeeded" for v in views):
        raise typer.Exit(1)


def _follow(ids: list[int], timeout: float | None):
    from rich.live import Live

    from workbench import jobs

    def summary(views):
        count = {s: sum(v.state == s for v in views) for s in ("succeeded", "failed", "running", "queued", "cancelled")}
        done = sum(v.progress for v in views) / max(1, len(views))
        return styled("jobs: ", (f"{count['succeeded']} done", "green"), ", ", (f"{count['failed']} failed", "red"), ", ",
                      (f"{count['running']} running", "yellow"),
                      f", {count['queued']} queued, {count['cancelled']} cancelled — {done * 100:.0f}%")

    with Live(console=err_console, refresh_per_second=4, transient=True) as live:
        return jobs.wait(ids, timeout=timeout, on_update=lambda views: live.update(summary(views)))


def _jobs_table(views) -> None:
    table(("job", "kind", "title", "state", "progress", "attempts", "params", "error"),
          ((v.id, v.kind, v.title_name, v.state, f"{v.progress * 100:.0f}%", v.attempts,
            ",".join(v.params.get("segments", ()) or ()) or "-", (v.error or "")[:80]) for v in views),
          styles={3: STATE_STYLES.get})


@guarded
def jobs(status: Annotated[Optional[str], typer.Option(help="queued, running, succeeded, failed or cancelled.")] = None,
         as_json: JsonOpt = False) -> None:
    """List jobs."""
    from workbench import jobs as jobs_lib

    views = jobs_lib.list_jobs(status)
    if as_json:
        emit_json(views)
    else:
        _jobs_table(views)


@guarded
def cancel(job: Annotated[str, typer.Argument(metavar="JOB", help="Job id.")], as_user: AsOpt = None,
           as_json: JsonOpt = False) -> None:
    """Cancel a queued or running job (a running one stops at its next checkpoint)."""
    _job_action("cancel", job, as_user, as_json)


@guarded
def retry(job: Annotated[str, typer.Argument(metavar="JOB", help="Job id.")], as_user: AsOpt = None,
          as_json: JsonOpt = False) -> None:
    """Queue a failed or cancelled job again."""
    _job_action("retry", job, as_user, as_json)


def _job_action(action: str, job: str, as_user: str | None, as_json: bool) -> None:
    from workbench import jobs as jobs_lib
    from workbench.ids import parse_id
    from workbench.users import resolve_cli_actor

    job_id = parse_id(job, "job id")
    actor = resolve_cli_actor(as_user)
    view = (jobs_lib.cancel if action == "cancel" else jobs_lib.retry)(actor, job_id)
    emit_json(view) if as_json else say(f"job {view.id}: {view.state}")


def register(app: typer.Typer) -> None:
    for command in (worker, run, jobs, cancel, retry):
        app.command()(command)
