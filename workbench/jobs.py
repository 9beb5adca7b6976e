"""Jobs: one generation request each, idempotent by key, run by a worker.

The catalog row is the source of truth for a job's state; the broker only carries its id.
That makes the reliability rules independent of the broker:

* **claim** (one transaction): a finished job is not run again; a job another worker is
  running (heartbeat younger than the lease) is left to it; otherwise the delivery is counted
  and the job marked running by this worker.
* **poison**: deliveries that never reported back (the worker died: ``attempts - retries``)
  beyond ``WORKBENCH_MAX_DELIVERIES`` fail the job with a readable error instead of looping.
* **heartbeat**: a thread renews the lease while the job runs and notices cancellation.
* **idempotent outputs**: variants are content-addressed and reused by recipe, so a job run
  twice after a crash leaves one row and one file per variant.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import sqlalchemy as sa

from workbench.catalog import open_catalog, repo
from workbench.catalog.models import Brief as BriefRow
from workbench.catalog.models import JOB_STATES, Job
from workbench.errors import InvalidInput, NotFound, WorkbenchError
from workbench.ids import check_id
from workbench.settings import Settings, get_settings

log = logging.getLogger(__name__)

FINISHED = ("succeeded", "failed", "cancelled")


class JobCancelled(WorkbenchError):
    """The job was cancelled while it ran."""


@dataclass(frozen=True)
class JobView:
    id: int
    key: str
    kind: str
    title_id: int
    title_name: str
    state: str
    progress: float
    attempts: int
    retries: int
    error: str | None
    result: dict[str, Any] | None
    params: dict[str, Any]
    celery_task_id: str | None
    worker: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    requested_by: str | None = None  # the account (or local user) that submitted it
    brief_name: str | None = None  # the brief it came from
    source_variant_id: int | None = None  # a regeneration: the variant whose slot it makes again

    @property
    def variant_ids(self) -> list[int]:
        """The variants the job made (or found already made by the same recipe), once it succeeded."""
        return [int(v) for v in (self.result or {}).get("variants") or []]

    def queue(self, settings: Settings) -> str:
        """"gpu" when the job's kind will run a model here (:meth:`CreativeKind.wants_gpu`), else "cpu".
        A job whose parameters do not parse goes to "cpu", where it fails with the reason."""
        from generators import get_kind

        try:
            kind = get_kind(self.kind)
            return "gpu" if kind.wants_gpu(kind.parse_params(self.params), settings) else "cpu"
        except WorkbenchError:
            return "cpu"


def _view(job: Job) -> JobView:
    iso = lambda d: d.isoformat() if d else None  # noqa: E731
    return JobView(
        id=job.id, key=job.key, kind=job.kind, title_id=job.title_id, title_name=job.title.name, state=job.state,
        progress=job.progress, attempts=job.attempts, retries=job.retries, error=job.error, result=job.result,
        params=dict(job.params or {}), celery_task_id=job.celery_task_id, worker=job.worker,
        created_at=iso(job.created_at), started_at=iso(job.started_at), finished_at=iso(job.finished_at),
        requested_by=job.requested_by, brief_name=job.brief.name if job.brief is not None else None,
        source_variant_id=job.source_variant_id,
    )


def _now() -> datetime:
    return datetime.now(timezone.utc)


def job_key(kind: str, source_sha256: str, params: dict[str, Any], generator_version: str) -> str:
    return repo.stable_hash({"kind": kind, "source": source_sha256, "params": params, "version": generator_version})


# -- creating and listing -------------------------------------------------------------------


def create_jobs(specs, *, brief_name: str | None = None, brief_spec: dict | None = None,
                requested_by: str | None = None, source_variant_id: int | None = None,
                settings: Settings | None = None) -> list[tuple[JobView, bool]]:
    """Rows for each JobSpec (kind, title, params); an existing key is returned, not duplicated
    (it keeps who asked first). ``requested_by`` is who submits them (an account, or the local
    user); ``source_variant_id`` the variant a regeneration makes again."""
    from generators import get_kind

    settings = settings or get_settings()
    out: list[tuple[JobView, bool]] = []
    with open_catalog(settings).session() as session:
        brief_row = None
        if brief_name is not None:
            first_title = repo.get_title(session, specs[0].title) if specs else None
            brief_row = BriefRow(title_id=first_title.id if first_title else None, name=brief_name, spec=brief_spec or {})
            session.add(brief_row)
            session.flush()
        for spec in specs:
            version = get_kind(spec.kind).version
            title = repo.get_title(session, spec.title)
            key = job_key(spec.kind, title.source_asset.sha256, spec.params, version)
            job = session.scalars(sa.select(Job).where(Job.key == key)).one_or_none()
            created = job is None
            if created:
                job = Job(key=key, kind=spec.kind, title=title, brief=brief_row, params=dict(spec.params), state="queued",
                          requested_by=requested_by, source_variant_id=source_variant_id)
                session.add(job)
                session.flush()
            out.append((_view(job), created))
    return out


def list_jobs(status: str | None = None, ids: list[int] | None = None, *, settings: Settings | None = None) -> list[JobView]:
    settings = settings or get_settings()
    if status not in (None, "") and status not in JOB_STATES:
        raise InvalidInput(f"unknown job state {status!r}; states: {', '.join(JOB_STATES)}")
    with open_catalog(settings).session() as session:
        query = sa.select(Job).order_by(Job.id)
        if status:
            query = query.where(Job.state == status)
        if ids is not None:
            query = query.where(Job.id.in_(ids))
        return [_view(j) for j in session.scalars(query)]


JOBS_SHOWN_MAX = 1000


def find_jobs(*, states: list[str] | tuple[str, ...] | None = None, kind: str | None = None,
              title: str | int | None = None, requested_by: str | None = None, limit: int = 200,
              settings: Settings | None = None) -> list[JobView]:
    """Jobs, newest first, in any of ``states``, of one kind, one title (name or id) and asked for
    by one person (each when given); at most ``limit``."""
    settings = settings or get_settings()
    unknown = sorted(set(states or ()) - set(JOB_STATES))
    if unknown:
        raise InvalidInput(f"unknown job state(s) {', '.join(unknown)}; states: {', '.join(JOB_STATES)}")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= JOBS_SHOWN_MAX:
        raise InvalidInput(f"limit must be from 1 to {JOBS_SHOWN_MAX}, got {limit!r}")
    with open_catalog(settings).session() as session:
        query = sa.select(Job).order_by(Job.id.desc()).limit(limit)
        if states is not None:
            query = query.where(Job.state.in_(list(states)))
        if kind:
            query = query.where(Job.kind == kind)
        if title not in (None, ""):
            query = query.where(Job.title_id == repo.get_title(session, title).id)
        if requested_by:
            query = query.where(Job.requested_by == requested_by)
        return [_view(j) for j in session.scalars(query)]


def job_filter_options(*, settings: Settings | None = None) -> dict[str, list[str]]:
    """The values the Jobs page's filters can take: kinds, titles and who asked."""
    from workbench.catalog.models import Title

    settings = settings or get_settings()
    with open_catalog(settings).session() as session:
        def distinct(column: Any) -> list[str]:
            return sorted(v for v in session.scalars(sa.select(column).distinct()) if v)

        return {"kinds": distinct(Job.kind), "requested_by": distinct(Job.requested_by),
                "titles": list(session.scalars(sa.select(Title.name).where(Title.id.in_(sa.select(Job.title_id)))
                                               .order_by(Title.name)))}


def _load(session, job_id: int) -> Job:
    job = session.get(Job, check_id(job_id, "job id"))
    if job is None:
        raise NotFound(f"no job {job_id}; see `workbench jobs`")
    return job


def get_job(job_id: int, *, settings: Settings | None = None) -> JobView:
    settings = settings or get_settings()
    with open_catalog(settings).session() as session:
        return _view(_load(session, job_id))


def mark_submitted(job_id: int, task_id: str, *, settings: Settings) -> None:
    with open_catalog(settings).session() as session:
        job = session.get(Job, job_id)
        job.celery_task_id = task_id


def mark_cancelled(job_id: int, *, by=None, settings: Settings | None = None) -> JobView:
    settings = settings or get_settings()
    with open_catalog(settings).session() as session:
        job = _load(session, job_id)
        if job.state in ("succeeded", "failed"):
            raise InvalidInput(f"job {job_id} already {job.state}; nothing to cancel")
        if job.state != "cancelled":
            job.state = "cancelled"
            job.finished_at = _now()
            repo.record_audit(session, *_who(by), "job.cancel", title=job.title, details={"job": job.id})
        return _view(job)


def reset_for_retry(job_id: int, *, by=None, settings: Settings | None = None) -> JobView:
    settings = settings or get_settings()
    with open_catalog(settings).session() as session:
        job = _load(session, job_id)
        if job.state not in ("failed", "cancelled"):
            raise InvalidInput(f"job {job_id} is {job.state}; only failed or cancelled jobs are retried")
        job.state, job.error, job.progress = "queued", None, 0.0
        job.attempts = job.retries = 0
        job.worker = job.heartbeat_at = job.finished_at = None
        repo.record_audit(session, *_who(by), "job.retry", title=job.title, details={"job": job.id})
        return _view(job)


def _actor() -> str:
    return os.environ.get("WORKBENCH_USER") or os.environ.get("USER") or "cli"


def _who(by) -> tuple[str, str]:
    """(name, role) an audit event records: the acting user, or the local system."""
    return (by.name, by.role) if by is not None else (_actor(), "system")


# -- submitting, cancelling, retrying (through the configured queue) ---------------------------


@dataclass(frozen=True)
class Submitted:
    brief: str
    jobs: list[JobView]
    new: int
    already_done: int
    unserved: tuple[str, ...] = ()  # queues of these jobs that no live worker serves right now


def submit_brief(path, *, requested_by: str | None = None, settings: Settings | None = None) -> Submitted:
    """Fan a brief file out into jobs and queue the ones not done yet (idempotent: a job already
    made is not made again). ``requested_by`` (default: the local user) hears when they finish."""
    from workbench.briefs import load_brief, plan_jobs
    from workbench.queue import get_queue, serving

    settings = settings or get_settings()
    brief = load_brief(path)
    specs = plan_jobs(brief)
    rows = create_jobs(specs, brief_name=brief.name, brief_spec={"source": brief.source},
                       requested_by=requested_by or _actor(), settings=settings)
    queue = get_queue(settings)
    done = 0
    for view, _created in rows:
        if view.state == "succeeded":
            done += 1  # idempotent: the same job already made its variants
        elif view.state == "queued":
            queue.enqueue(view, settings)  # a second message for a queued job is harmless: runs claim it once
    views = list_jobs(ids=[v.id for v, _ in rows], settings=settings)
    wanted = sorted({v.queue(settings) for v in views if v.state == "queued"})
    return Submitted(brief=brief.name, jobs=views, new=sum(c for _, c in rows), already_done=done,
                     unserved=tuple(q for q in wanted if not serving(q, settings)))


Route = Literal["queued", "inline", "no_worker"]


@dataclass(frozen=True)
class Dispatch:
    """What became of a job handed over: queued for a live worker, run in this process (no worker,
    and the settings allow it), or queued with no worker to take it (``note`` says what to do)."""

    route: Route
    queue: str
    note: str | None = None


def dispatch(job: JobView, settings: Settings) -> Dispatch:
    """Hand a queued job over: to the workers when one serves its queue; else, with
    ``WORKBENCH_INLINE_JOBS`` on, run it on a thread of this process; else queue it all the same
    (a worker started later takes it) and say that none is running."""
    from workbench.queue import get_queue, serving

    queue = job.queue(settings)
    if serving(queue, settings):
        get_queue(settings).enqueue(job, settings)
        return Dispatch("queued", queue)
    if settings.inline_jobs:
        thread = threading.Thread(target=run_job, args=(job.id,), kwargs={"settings": settings},
                                  name=f"inline-job-{job.id}", daemon=True)
        thread.start()
        log.info("event=job_inline job=%d queue=%s", job.id, queue)
        return Dispatch("inline", queue, f"no worker serves the {queue} queue: running it here")
    get_queue(settings).enqueue(job, settings)
    return Dispatch("no_worker", queue,
                    f"no worker serves the {queue} queue: it waits until one starts (`workbench worker --queues {queue}`)")


def cancel(actor, job_id: int, *, settings: Settings | None = None) -> JobView:
    """Cancel a queued or running job (needs the ``jobs`` permission): a queued one is taken off
    its queue, a running one stops at its next checkpoint."""
    from workbench.access import require
    from workbench.queue import get_queue

    require(actor, "jobs")
    settings = settings or get_settings()
    view = mark_cancelled(job_id, by=actor, settings=settings)
    if view.celery_task_id:
        get_queue(settings).revoke(view, settings)
    return view


def retry(actor, job_id: int, *, settings: Settings | None = None) -> JobView:
    """Queue a failed or cancelled job again (needs the ``jobs`` permission)."""
    from workbench.access import require
    from workbench.queue import get_queue

    require(actor, "jobs")
    settings = settings or get_settings()
    view = reset_for_retry(job_id, by=actor, settings=settings)
    get_queue(settings).enqueue(view, settings)
    return get_job(job_id, settings=settings)


def wait(job_ids: list[int], *, settings: Settings | None = None, timeout: float | None = None,
         on_update: Callable[[list[JobView]], None] | None = None, poll: float = 0.25) -> list[JobView]:
    """Poll the jobs' rows until all are finished (or ``timeout`` seconds passed); returns them."""
    settings = settings or get_settings()
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        views = list_jobs(ids=job_ids, settings=settings)
        if on_update:
            on_update(views)
        if all(v.state in FINISHED for v in views):
            return views
        if deadline is not None and time.monotonic() > deadline:
            return views
        time.sleep(poll)


# -- running (inside a worker) ----------------------------------------------------------------

Outcome = Literal["done", "busy", "retry", "failed", "cancelled"]


@dataclass(frozen=True)
class RunOutcome:
    outcome: Outcome
    result: dict[str, Any] | None = None
    retry_in: float = 0.0
    error: str | None = None
    finished_now: bool = False  # this delivery moved the job to succeeded or failed


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def run_job(job_id: int, *, settings: Settings | None = None,
            report: Callable[[float], None] | None = None) -> RunOutcome:
    """Claim, run and finish one job. Safe to call for any delivery of the job, any number of times."""
    settings = settings or get_settings()
    # 1. claim
    claim = _claim(job_id, settings)
    if claim is not None:
        if claim.finished_now:  # given up as poison
            _tell_finished(job_id, settings)
        return claim
    job = get_job(job_id, settings=settings)
    # 2. run with a heartbeat
    try:
        with _heartbeat(job_id, settings) as cancelled:
            def progress(done: int, total: int | None) -> None:
                if cancelled.is_set():
                    raise JobCancelled(f"job {job_id} cancelled")
                fraction = 0.5 * done / total if total else 0.0
                _set_progress(job_id, fraction, settings)
                if report:
                    report(fraction)

            last_write = [0.0]

            def on_step(done: int, total: int) -> None:
                """Each denoising step: stop at once when cancelled (one cheap read), report
                progress at most twice a second."""
                if cancelled.is_set() or job_state(job_id, settings) == "cancelled":
                    cancelled.set()
                    raise JobCancelled(f"job {job_id} cancelled")
                now = time.monotonic()
                if now - last_write[0] >= 0.5 or done == total:
                    last_write[0] = now
                    fraction = 0.5 + 0.5 * done / max(1, total)
                    _set_progress(job_id, fraction, settings)
                    if report:
                        report(fraction)

            result = _execute(job, progress, on_step, settings)
            if cancelled.is_set():
                raise JobCancelled(f"job {job_id} cancelled")
    except JobCancelled:
        return RunOutcome("cancelled")
    except WorkbenchError as exc:  # the input is wrong: retrying cannot help
        _finish(job_id, "failed", settings, error=str(exc))
        _tell_finished(job_id, settings)
        return RunOutcome("failed", error=str(exc), finished_now=True)
    except Exception as exc:  # unexpected: bounded retries with backoff
        error = f"{type(exc).__name__}: {exc}"[:2000]
        outcome = _retry_or_fail(job_id, error, settings)
        if outcome.finished_now:
            _tell_finished(job_id, settings)
        return outcome
    _finish(job_id, "succeeded", settings, result=result)
    _tell_finished(job_id, settings)
    if report:
        report(1.0)
    return RunOutcome("done", result=result, finished_now=True)


def _tell_finished(job_id: int, settings: Settings) -> None:
    """Whoever asked hears that the job finished (and the brief's submitter, when it was the
    brief's last job): in the app and on the webhook. Never fails the job."""
    from workbench import notifications

    notifications.job_finished(job_id, settings=settings)


def _claim(job_id: int, settings: Settings) -> RunOutcome | None:
    """Read-then-write in one transaction (a row lock on PostgreSQL). On SQLite two claimers can
    race; the loser's write fails with "database is locked" and simply claims again."""
    for attempt in range(5):
        try:
            return _claim_once(job_id, settings)
        except sa.exc.OperationalError:
            if attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))
    return None


def _claim_once(job_id: int, settings: Settings) -> RunOutcome | None:
    with open_catalog(settings).session() as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None:
            return RunOutcome("failed", error=f"no job {job_id}")
        if job.state in FINISHED:
            return RunOutcome("done" if job.state == "succeeded" else job.state, result=job.result, error=job.error)
        now = _now()
        lease = timedelta(seconds=settings.job_lease_s)
        if job.state == "running" and job.heartbeat_at and now - job.heartbeat_at < lease and job.worker != worker_id():
            # Another worker holds it (e.g. a redelivery after a visibility timeout): leave it.
            return RunOutcome("busy", retry_in=(job.heartbeat_at + lease - now).total_seconds() + 1)
        job.attempts += 1
        if job.attempts - job.retries > settings.max_deliveries:
            job.state, job.finished_at = "failed", now
            job.error = (f"gave up after {settings.max_deliveries} deliveries: the worker running it died each time"
                         f" (last on {job.worker or 'unknown'})")
            return RunOutcome("failed", error=job.error, finished_now=True)
        job.state, job.worker, job.heartbeat_at, job.error = "running", worker_id(), now, None
        job.started_at = job.started_at or now
    return None


@contextlib.contextmanager
def _heartbeat(job_id: int, settings: Settings) -> Iterator[threading.Event]:
    cancelled, stop = threading.Event(), threading.Event()

    def beat() -> None:
        while not stop.wait(max(0.5, settings.job_lease_s / 3)):
            with open_catalog(settings).session() as session:
                job = session.get(Job, job_id)
                if job.state == "cancelled":
                    cancelled.set()
                elif job.state == "running":
                    job.heartbeat_at = _now()

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield cancelled
    finally:
        stop.set()
        thread.join()
        if not cancelled.is_set() and get_job(job_id, settings=settings).state == "cancelled":
            cancelled.set()


def _set_progress(job_id: int, fraction: float, settings: Settings) -> None:
    with open_catalog(settings).session() as session:
        job = session.get(Job, job_id)
        if job.state == "cancelled":
            raise JobCancelled(f"job {job_id} cancelled")
        job.progress = round(fraction, 4)
        job.heartbeat_at = _now()


def _finish(job_id: int, state: str, settings: Settings, *, result: dict | None = None, error: str | None = None) -> None:
    with open_catalog(settings).session() as session:
        job = session.get(Job, job_id)
        if job.state == "cancelled":
            return
        job.state, job.finished_at, job.error = state, _now(), error
        if result is not None:
            job.result, job.progress = result, 1.0


def _retry_or_fail(job_id: int, error: str, settings: Settings) -> RunOutcome:
    with open_catalog(settings).session() as session:
        job = session.get(Job, job_id)
        if job.retries >= settings.max_retries:
            job.state, job.finished_at = "failed", _now()
            job.error = f"{error} (after {job.retries} retries)"
            return RunOutcome("failed", error=job.error, finished_now=True)
        job.retries += 1
        job.state, job.error, job.worker, job.heartbeat_at = "queued", error, None, None
        return RunOutcome("retry", retry_in=float(2 ** job.retries), error=error)


def job_state(job_id: int, settings: Settings) -> str | None:
    """A job's state alone: one indexed read (cheap enough to poll, or to check at every denoising step)."""
    with open_catalog(settings).session() as session:
        return session.scalar(sa.select(Job.state).where(Job.id == job_id))


def _execute(job: JobView, progress, on_step, settings: Settings) -> dict[str, Any]:
    """Run a job: its kind's variants of its title (analysis, with progress, happens inside,
    after the parameter and rights checks); the variants it made are recorded with its id."""
    from workbench import workflow

    done = workflow.generate(job.kind, job.title_id, job.params, job_id=job.id, progress=progress, on_step=on_step,
                             settings=settings)
    return {"variants": [v.variant_id for v in done.variants], "new": sum(not v.reused for v in done.variants)}
