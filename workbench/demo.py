"""``workbench demo``: the whole flow on a sample title generated on the spot.

sample title -> ingest -> a brief run by a real Celery worker on the embedded broker (analysis,
every variant of the product's sample brief, signing) -> verify each signed file -> a contact
sheet (segments by placement, pick 1) and a summary table.
The contact sheet is a review preview, not a deliverable: it is not signed.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from generators.imaging.crop import FORMATS
from workbench import jobs, scratch, workflow
from workbench.errors import ProvenanceError, WorkbenchError
from workers.broker import EmbeddedBroker
from workers.process import WorkerProcess
from workbench.names import title_folder
from workbench.sample import make_sample_title
from workbench.settings import Settings, get_settings

SAMPLE_TITLE = "Sample Title"


@dataclass
class DemoResult:
    title_id: int
    title_name: str
    shots: int
    keyframes: int
    cuts: list[int]
    variants: int
    verified: int
    contact_sheet: Path
    timings: dict[str, float] = field(default_factory=dict)
    picks: list[dict] = field(default_factory=list)


# The brief the demo runs: the product's sample brief (every creative kind it makes).
DEMO_BRIEF = Path(__file__).resolve().parents[1] / "assets" / "briefs" / "sample-launch.yaml"


def run_demo(progress: Callable[[str], None] | None = None, settings: Settings | None = None) -> DemoResult:
    settings = settings or get_settings()
    say = progress or (lambda _msg: None)
    timings: dict[str, float] = {}

    # 1. the sample title (rendered once, then reused)
    t = time.perf_counter()
    samples = settings.home / "samples"
    sample_path = samples / "sample-title.mp4"
    if not sample_path.exists():
        say("rendering the sample title (images from scikit-image, encoded with ffmpeg)…")
        make_sample_title(sample_path)
    timings["sample_s"] = time.perf_counter() - t

    # 2. ingest
    t = time.perf_counter()
    ingested = workflow.ingest(sample_path, SAMPLE_TITLE, settings=settings)
    timings["ingest_s"] = time.perf_counter() - t
    say(f"ingested title {ingested.title_id} {ingested.title_name!r} ({ingested.info.width}x{ingested.info.height}, {ingested.info.duration:.1f}s)")

    # 3. a brief, run by a real worker on the embedded broker
    brief_path = DEMO_BRIEF
    t = time.perf_counter()
    with _worker(settings, say):
        timings["worker_start_s"] = time.perf_counter() - t
        t = time.perf_counter()
        submitted = jobs.submit_brief(brief_path, settings=settings)
        say(f"brief {submitted.brief!r}: {len(submitted.jobs)} jobs queued ({submitted.already_done} already done)")
        views = jobs.wait([j.id for j in submitted.jobs], settings=settings, on_update=_reporter(say))
    timings["jobs_s"] = time.perf_counter() - t
    failed = [v for v in views if v.state != "succeeded"]
    if failed:
        raise WorkbenchError(f"{len(failed)} job(s) did not succeed: " + "; ".join(f"job {v.id} {v.state}: {v.error}" for v in failed))
    ids = [i for v in views for i in (v.result or {}).get("variants", [])]
    variants = workflow.variants_by_id(ids, settings=settings)
    a = workflow.analyze_title(ingested.title_id, settings=settings).analysis  # cached by the worker
    say(f"analysed: {len(a.shots)} shots, cuts at {a.cut_frames}, {len(a.keyframes)} keyframes")
    say(f"the worker made {len(variants)} signed variants")

    # 4. every file verifies
    t = time.perf_counter()
    verified = 0
    state = "-"
    for v in variants:
        report = workflow.verify(v.path, settings=settings)
        if report.state not in ("Valid", "Trusted"):
            raise ProvenanceError(f"{v.path.name} does not verify: {report.state} {', '.join(report.codes)}")
        verified, state = verified + 1, report.state
    timings["verify_s"] = time.perf_counter() - t
    say(f"verified {verified} manifests ({state})")

    # 5. contact sheet
    sheet = settings.output_dir / title_folder(ingested.title_id, ingested.title_name) / "contact-sheet.jpg"
    picks = make_contact_sheet(variants, sheet)
    return DemoResult(
        title_id=ingested.title_id, title_name=ingested.title_name, shots=len(a.shots), keyframes=len(a.keyframes),
        cuts=a.cut_frames, variants=len(variants), verified=verified, contact_sheet=sheet,
        timings={k: round(v, 3) for k, v in timings.items()}, picks=picks,
    )


@contextlib.contextmanager
def _worker(settings: Settings, say: Callable[[str], None]):
    """A worker child process for the demo, stopped afterwards (with the embedded broker if the
    demo started it)."""
    broker = None if settings.broker_url else EmbeddedBroker(settings.home)
    was_running = broker.ping() if broker else True
    env = {**os.environ, "WORKBENCH_HOME": str(settings.home.resolve()), "PYTHONUNBUFFERED": "1"}
    say("starting a worker (2 processes) on the " + ("embedded broker" if broker else "configured broker") + "…")
    worker = WorkerProcess(env, settings.home / "logs" / "demo-worker.log", concurrency=2)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        if broker is not None and not was_running:
            broker.stop()


def _reporter(say: Callable[[str], None]):
    last: list[str] = []

    def report(views) -> None:
        done = sum(v.state == "succeeded" for v in views)
        line = f"jobs: {done}/{len(views)} done, {sum(v.state == 'running' for v in views)} running"
        if not last or line != last[-1]:
            last.append(line)
            say(line)

    return report


def make_contact_sheet(variants: list[workflow.VariantResult], dest: Path, tile_h: int = 240) -> list[dict]:
    """A grid: one row per segment, one column per placement (pick 1), labelled."""
    firsts = {(v.segment, v.format): v for v in variants if v.rank == 1 and v.path.suffix == ".jpg"}
    segments = list(dict.fromkeys(v.segment for v in variants))
    formats = [f for f in FORMATS if any(v.format == f for v in variants)]
    widths = [round(tile_h * FORMATS[f][0] / FORMATS[f][1]) for f in formats]
    label_w, pad, head = 220, 12, 40
    sheet = Image.new("RGB", (label_w + sum(widths) + pad * (len(formats) + 1), head + len(segments) * (tile_h + pad) + pad), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=20)
    small = ImageFont.load_default(size=15)
    x = label_w + pad
    for f, w in zip(formats, widths):
        draw.text((x, 10), f, fill=(220, 220, 220), font=font)
        x += w + pad
    picks = []
    for row, segment in enumerate(segments):
        y = head + row * (tile_h + pad)
        draw.text((12, y + 8), segment or "-", fill=(255, 255, 255), font=font)
        x = label_w + pad
        for f, w in zip(formats, widths):
            v = firsts.get((segment, f))
            if v is not None:
                with Image.open(v.path) as im:
                    sheet.paste(im.convert("RGB").resize((w, tile_h), Image.Resampling.BILINEAR), (x, y))
                if f == formats[0]:
                    draw.text((12, y + 36), f"score {v.score:.3f}", fill=(180, 180, 180), font=small)
                picks.append({"segment": segment, "format": f, "variant_id": v.variant_id, "score": round(v.score, 4),
                              "file": str(v.export_path)})
            x += w + pad
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(scratch.temp_name(scratch.TEMP_PREFIX, ".jpg"))
    try:
        sheet.save(tmp, "JPEG", quality=88)
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return picks
