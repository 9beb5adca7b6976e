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
    as_json: JsonOpt = False,
) -> None:
    """Personalized thumbnails per audience segment, cropped for every placement, C2PA-signed."""
    from generators.thumbnails.generator import ThumbnailParams
    from workbench import workflow

    kwargs: dict[str, Any] = {"top_k": top_k, "title_text": text, "output": ("jpeg", "webp") if webp else ("jpeg",)}
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
