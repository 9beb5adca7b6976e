"""``workbench`` command line: a thin layer over :mod:`workbench.workflow`.

Every command takes ``--json`` for scripts. Errors the workbench raises on purpose print as
one line (no traceback) and exit 2; ``verify`` exits 1 for a file that does not verify.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from workbench.errors import WorkbenchError
from workbench.settings import reset_settings_cache

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Creative Workbench: analyse titles, generate signed creative variants.")
console = Console()
err_console = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@app.callback()
def main(home: Annotated[Optional[Path], typer.Option("--home", help="Workbench home (default $WORKBENCH_HOME or ./.workbench).")] = None) -> None:
    if home is not None:
        os.environ["WORKBENCH_HOME"] = str(home)
        reset_settings_cache()


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(_jsonable(value), indent=2, ensure_ascii=False) + "\n")


def _fail(exc: WorkbenchError, as_json: bool) -> None:
    if as_json:
        _emit_json({"error": str(exc), "type": type(exc).__name__})
    else:
        err_console.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False)
    raise typer.Exit(2)


class _Bar:
    """A rich progress bar for long titles (silent with --json)."""

    def __init__(self, label: str, enabled: bool):
        self.enabled = enabled
        self.progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                 console=err_console, transient=True, disable=not enabled)
        self.task = None

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        self.progress.__exit__(*exc)

    def __call__(self, done: int, total: int | None) -> None:
        if self.task is None:
            self.task = self.progress.add_task("frames", total=total)
        self.progress.update(self.task, completed=done, total=total or done)


@app.command()
def ingest(path: Path, title: Annotated[Optional[str], typer.Option(help="Title name (default: file name).")] = None,
           as_json: JsonOpt = False) -> None:
    """Probe a video or still, store it by content hash and add it to the catalog."""
    from workbench import workflow

    try:
        result = workflow.ingest(path, title)
    except WorkbenchError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit_json(result)
        return
    i = result.info
    what = f"{i.width}x{i.height}" + (f", {i.duration:.2f}s @ {i.fps:.3f} fps, {i.video_codec}" if i.kind == "video" else "")
    audio = f", audio {i.audio_codec}" if i.has_audio else (", no audio" if i.kind == "video" else "")
    verb = "ingested" if result.created else "already ingested"
    console.print(f"{verb} title [bold]{result.title_id}[/] {result.title_name!r}: {i.kind} {what}{audio}; sha256 {result.sha256[:16]}…")


@app.command()
def titles(as_json: JsonOpt = False) -> None:
    """List the titles in the catalog."""
    from workbench.catalog import open_catalog, repo

    with open_catalog().session() as session:
        rows = [
            {"id": t.id, "name": t.name, "kind": t.source_asset.kind, "width": t.source_asset.width,
             "height": t.source_asset.height, "duration_s": t.source_asset.duration_s, "sha256": t.source_asset.sha256}
            for t in repo.list_titles(session)
        ]
    if as_json:
        _emit_json(rows)
        return
    table = Table("id", "name", "kind", "size", "duration")
    for r in rows:
        table.add_row(str(r["id"]), r["name"], r["kind"], f"{r['width']}x{r['height']}",
                      f"{r['duration_s']:.1f}s" if r["duration_s"] else "-")
    console.print(table)


@app.command()
def analyze(title: str, force: Annotated[bool, typer.Option(help="Ignore the cached analysis.")] = False,
            as_json: JsonOpt = False) -> None:
    """Shots, keyframes and their features (cached by the source's hash)."""
    from workbench import workflow

    try:
        with _Bar("analysing", not as_json) as bar:
            result = workflow.analyze_title(title, force=force, progress=bar)
    except WorkbenchError as exc:
        _fail(exc, as_json)
    a = result.analysis
    if as_json:
        _emit_json({"title_id": result.title_id, "title": result.title_name, "cached": result.cached,
                    "seconds": round(result.seconds, 3), "analysis": a.to_dict()})
        return
    console.print(f"title {result.title_id} {result.title_name!r}: {a.frame_count} frames, {len(a.shots)} shots, "
                  f"{len(a.keyframes)} keyframes{' (cached)' if result.cached else ''} in {result.seconds:.2f}s")
    table = Table("shot", "frames", "time", "motion", "LUFS", "keyframes (frame: faces, tags, flags)")
    by_shot: dict[int, list[str]] = {}
    for k in a.keyframes:
        flags = f" [red]{','.join(k.flags)}[/]" if k.flags else ""
        by_shot.setdefault(k.shot, []).append(f"{k.frame}: {k.face_count}f {' '.join(k.features.tags[:3])}{flags}")
    for s in a.shots:
        table.add_row(str(s.index), f"{s.start_frame}-{s.end_frame - 1}", f"{s.start_time:.2f}-{s.end_time:.2f}",
                      f"{s.motion:.3f}", "-" if s.loudness_lufs is None else f"{s.loudness_lufs:.1f}",
                      "\n".join(by_shot.get(s.index, [])))
    console.print(table)
    for t in a.transitions:
        console.print(f"{t.kind} at frame {t.start_frame}" + (f"-{t.end_frame}" if t.end_frame != t.start_frame else ""))


@app.command()
def thumbnails(
    title: str,
    segments: Annotated[Optional[str], typer.Option(help="Comma-separated audience segments (default: all).")] = None,
    formats: Annotated[Optional[str], typer.Option(help="Comma-separated formats: 16x9,2x3,1x1,9x16 (default: all).")] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="Variants per segment and format.")] = 3,
    text: Annotated[Optional[str], typer.Option("--text", help="Title text treatment to draw.")] = None,
    webp: Annotated[bool, typer.Option(help="Also write WebP.")] = False,
    treatment: Annotated[Optional[str], typer.Option(help="outpaint (extend to the format instead of cropping), restyle (per-segment look) or clean (remove text/logos).")] = None,
    engine: Annotated[str, typer.Option(help="auto (the model when WORKBENCH_DIFFUSION_MODEL is set), model or classical.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of the model treatment.")] = 0,
    steps: Annotated[Optional[int], typer.Option(help="Denoising steps (default WORKBENCH_DIFFUSION_STEPS).")] = None,
    strength: Annotated[Optional[float], typer.Option(help="How far a model treatment may move from the frame, 0-1.")] = None,
    prompt: Annotated[Optional[str], typer.Option(help="Prompt instead of the segment's template.")] = None,
    negative_prompt: Annotated[Optional[str], typer.Option("--negative-prompt", help="Negative prompt instead of the default.")] = None,
    region: Annotated[Optional[list[str]], typer.Option(help="Clean-up region x,y,w,h in 0-1 of the frame (repeatable; default: detect text).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Personalized thumbnails per audience segment, cropped for every placement, C2PA-signed."""
    from generators.diffusion.treatments import TreatmentParams
    from generators.thumbnails.generator import ThumbnailParams
    from workbench import workflow

    kwargs: dict[str, Any] = {"top_k": top_k, "title_text": text, "output": ("jpeg", "webp") if webp else ("jpeg",)}
    if treatment:
        try:
            regions = tuple(_region(r) for r in region or ())
        except WorkbenchError as exc:
            _fail(exc, as_json)
        kwargs["treatment"] = TreatmentParams(treatment, engine, seed, steps, strength=strength, prompt=prompt,  # type: ignore[arg-type]
                                              negative_prompt=negative_prompt, regions=regions)
    if segments:
        kwargs["segments"] = tuple(s.strip() for s in segments.split(",") if s.strip())
    if formats:
        kwargs["formats"] = tuple(s.strip() for s in formats.split(",") if s.strip())
    try:
        with _Bar("analysing", not as_json) as bar:
            result = workflow.generate_thumbnails(title, ThumbnailParams(**kwargs), progress=bar)
    except WorkbenchError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit_json(result)
        return
    table = Table("segment", "format", "pick", "score", "variant", "file")
    for v in result.variants:
        table.add_row(v.segment or "-", v.format or "-", str(v.rank), f"{v.score:.3f}", f"{v.variant_id} v{v.version}",
                      str(v.export_path))
    console.print(table)
    new = sum(not v.reused for v in result.variants)
    console.print(f"{len(result.variants)} signed variants ({new} new) for {result.title_name!r} in {result.seconds:.2f}s")


def _region(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise WorkbenchError(f"region {text!r}: give x,y,w,h as four numbers from 0 to 1")
    return values  # type: ignore[return-value]


@app.command()
def rights(
    title: str,
    ai_treatments: Annotated[Optional[str], typer.Option("--ai-treatments", help="allowed or denied: may diffusion models treat this title's frames?")] = None,
    markets: Annotated[Optional[str], typer.Option(help="Comma-separated markets the clearance covers (ISO 3166 codes, WW for worldwide).")] = None,
    note: Annotated[Optional[str], typer.Option(help="Where the clearance comes from (contract, ticket).")] = None,
    as_user: Annotated[Optional[str], typer.Option("--as", help="Act as this user (an admin); default: your own account.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show or set a title's rights record (talent-likeness and licence clearances for AI treatments)."""
    from workbench import rights as rights_mod
    from workbench.access import require
    from workbench.users import resolve_cli_actor

    try:
        if ai_treatments is None:
            if markets is not None or note is not None:
                raise WorkbenchError("--markets and --note go with --ai-treatments")
            record = rights_mod.get_rights(title)
        else:
            actor = require(resolve_cli_actor(as_user), "rights")
            record = rights_mod.set_rights(title, ai_treatments, (markets or "").split(","), note, actor=actor.name,
                                           role=actor.role)
    except WorkbenchError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit_json(record.to_dict())
        return
    where = ", ".join(record.markets) or "all markets"
    origin = "" if record.source == "record" else " (no record: the default)"
    console.print(f"{title}: AI treatments {record.ai_treatments} in {where}{origin}")


diffusion_app = typer.Typer(no_args_is_help=True, help="The diffusion model of this machine's GPU workers.")
app.add_typer(diffusion_app, name="diffusion")


@diffusion_app.command("info")
def diffusion_info(as_json: JsonOpt = False) -> None:
    """Load the configured model (WORKBENCH_DIFFUSION_MODEL) and show model, device, dtype and memory."""
    from generators.diffusion.backend import get_backend
    from workbench.settings import get_settings

    settings = get_settings()
    if not settings.diffusion_model:
        info = {"model": None, "note": "no model configured: treatments run classically (set WORKBENCH_DIFFUSION_MODEL)"}
        if as_json:
            _emit_json(info)
        else:
            console.print(info["note"])
        return
    try:
        backend = get_backend(settings)
    except WorkbenchError as exc:
        _fail(exc, as_json)
    data = {**backend.info.to_dict(), "memory": backend.memory(), "batch": backend.batch, "steps": backend.default_steps}
    if as_json:
        _emit_json(data)
        return
    table = Table("setting", "value")
    for key, value in data.items():
        table.add_row(key, json.dumps(value) if isinstance(value, dict) else str(value))
    console.print(table)


@diffusion_app.command("tiny")
def diffusion_tiny(dest: Path, seed: int = 0, as_json: JsonOpt = False) -> None:
    """Write a tiny random-weight model (diffusers format) to DEST, for smoke tests without a real model."""
    from generators.diffusion.tiny import build_tiny_model

    if dest.exists() and any(dest.iterdir()):
        _fail(WorkbenchError(f"{dest} exists and is not empty"), as_json)
    path = build_tiny_model(dest, seed)
    if as_json:
        _emit_json({"model": str(path)})
    else:
        console.print(f"tiny model written to {path}: WORKBENCH_DIFFUSION_MODEL={path}")


@app.command()
def verify(file: Path, as_json: JsonOpt = False) -> None:
    """Verify a file's C2PA manifest: exit 0 when Valid or Trusted, 1 otherwise."""
    from workbench import workflow

    try:
        report = workflow.verify(file)
    except WorkbenchError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit_json(report)
    else:
        colour = "green" if report.state in ("Valid", "Trusted") else "red"
        console.print(f"[{colour}]{report.state}[/] {file}")
        for code in report.codes:
            console.print(f"  {code}")
        if report.manifest is not None:
            m = report.manifest
            console.print(f"  signed by {m.issuer or '-'}; claim generator {m.claim_generator}")
            for a in m.actions:
                console.print(f"  action {a.action}" + (f" ({a.digital_source_type})" if a.digital_source_type else ""))
            for ing in m.ingredients:
                console.print(f"  ingredient {ing.relationship}: {ing.title}")
    raise typer.Exit(0 if report.state in ("Valid", "Trusted") else 1)


@app.command()
def demo(as_json: JsonOpt = False) -> None:
    """The whole flow on a generated sample title, ending with a contact sheet."""
    from workbench.demo import run_demo

    try:
        result = run_demo(progress=None if as_json else console.print)
    except WorkbenchError as exc:
        _fail(exc, as_json)
    if as_json:
        _emit_json(result)
        return
    console.print(f"\ncontact sheet: [bold]{result.contact_sheet}[/]")


# -- workers and jobs ---------------------------------------------------------------------------


@app.command()
def worker(
    queues: Annotated[str, typer.Option(help="Queues to serve: cpu, gpu or cpu,gpu.")] = "cpu",
    concurrency: Annotated[int, typer.Option(help="Worker processes (GPU workers: always 1).")] = 2,
    gpu: Annotated[Optional[str], typer.Option(help="GPU index for a gpu worker (sets CUDA_VISIBLE_DEVICES).")] = None,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Run a Celery worker (starts the embedded broker when no WORKBENCH_BROKER_URL is set)."""
    from workbench.settings import get_settings
    from workbench.store import AssetStore

    wanted = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = set(wanted) - {"cpu", "gpu"}
    if unknown or not wanted:
        _fail(WorkbenchError(f"unknown queue(s) {', '.join(sorted(unknown)) or '(none)'}; use cpu, gpu or cpu,gpu"), False)
    if gpu is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    os.environ["WORKBENCH_WORKER_QUEUES"] = ",".join(wanted)
    settings = get_settings()
    AssetStore(settings.store_dir).sweep_temp(older_than_s=0, dead_writers_only=True)
    from workers.app import make_app

    # Import the heavy libraries (OpenCV, PyAV, c2pa, torch) once in the parent: pool processes
    # fork with them loaded instead of paying ~0.9 s on their first job. No model or CUDA here.
    import workbench.workflow  # noqa: F401

    celery_app = make_app(settings)

    # Model workers: one process per GPU, models loaded once, no fork after CUDA init.
    pool = ["--pool", "solo"] if "gpu" in wanted else ["--pool", "prefork", "--concurrency", str(concurrency)]
    name = f"{'-'.join(wanted)}-{os.getpid()}@%h"
    celery_app.worker_main(["worker", "-Q", ",".join(wanted), "-n", name, "--loglevel", loglevel,
                            "--without-mingle", "--without-gossip", *pool])


@app.command()
def run(brief: Path, wait: Annotated[bool, typer.Option("--wait", help="Follow the jobs until they finish.")] = False,
        timeout: Annotated[Optional[float], typer.Option(help="Give up waiting after this many seconds.")] = None,
        as_json: JsonOpt = False) -> None:
    """Fan a brief out into jobs and queue them for the workers."""
    from workers import client

    try:
        submitted = client.submit_brief(brief)
    except WorkbenchError as exc:
        _fail(exc, as_json)
    ids = [j.id for j in submitted.jobs]
    views = submitted.jobs
    if wait:
        if as_json:
            views = client.wait(ids, timeout=timeout)
        else:
            views = _follow(ids, timeout)
    if as_json:
        _emit_json({"brief": submitted.brief, "new": submitted.new, "already_done": submitted.already_done, "jobs": views})
    else:
        console.print(f"brief {submitted.brief!r}: {len(ids)} jobs ({submitted.new} new, {submitted.already_done} already done)")
        if not wait:
            console.print("follow with `workbench jobs` (a worker must be running: `workbench worker`)")
        else:
            _jobs_table(views)
    if wait and any(v.state != "succeeded" for v in views):
        raise typer.Exit(1)


def _follow(ids: list[int], timeout: float | None):
    from rich.live import Live

    from workers import client

    def summary(views) -> str:
        count = {s: sum(v.state == s for v in views) for s in ("succeeded", "failed", "running", "queued", "cancelled")}
        done = sum(v.progress for v in views) / max(1, len(views))
        return (f"jobs: [green]{count['succeeded']} done[/], [red]{count['failed']} failed[/], "
                f"[yellow]{count['running']} running[/], {count['queued']} queued, {count['cancelled']} cancelled"
                f" — {done * 100:.0f}%")

    with Live(console=err_console, refresh_per_second=4, transient=True) as live:
        return client.wait(ids, timeout=timeout, on_update=lambda views: live.update(summary(views)))


def _jobs_table(views) -> None:
    table = Table("job", "kind", "title", "state", "progress", "attempts", "params", "error")
    colours = {"succeeded": "green", "failed": "red", "running": "yellow", "cancelled": "dim"}
    for v in views:
        params = ",".join(v.params.get("segments", ()) or ()) or "-"
        table.add_row(str(v.id), v.kind, v.title_name, f"[{colours.get(v.state, 'white')}]{v.state}[/]",
                      f"{v.progress * 100:.0f}%", str(v.attempts), params, (v.error or "")[:80])
    console.print(table)


@app.command()
def jobs(status: Annotated[Optional[str], typer.Option(help="queued, running, succeeded, failed or cancelled.")] = None,
         as_json: JsonOpt = False) -> None:
    """List jobs."""
    from workbench import jobs as jobs_lib

    views = jobs_lib.list_jobs(status)
    if as_json:
        _emit_json(views)
    else:
        _jobs_table(views)


@app.command()
def cancel(job: int, as_json: JsonOpt = False) -> None:
    """Cancel a queued or running job (a running one stops at its next checkpoint)."""
    from workers import client

    _job_action(client.cancel, job, as_json)


@app.command()
def retry(job: int, as_json: JsonOpt = False) -> None:
    """Queue a failed or cancelled job again."""
    from workers import client

    _job_action(client.retry, job, as_json)


def _job_action(action, job: int, as_json: bool) -> None:
    try:
        view = action(job)
    except WorkbenchError as exc:
        _fail(exc, as_json)
    _emit_json(view) if as_json else console.print(f"job {view.id}: {view.state}")


# Review, users, decisions, audit and export commands (workbench/cli_review.py).
from workbench.cli_review import register  # noqa: E402

register(app)
