"""Localized key art: 40 locales x 4 placements (160 renders) of one title on 2 CPU workers, and
the same work in this process, with where each render's time goes.

    python benchmarks/bench_localization.py [--runs 3] [--only workers,inprocess]

1. **2 CPU workers**: one real Celery worker (``WorkerProcess``: prefork, concurrency 2, the
   project's Celery config) on the embedded broker, fed one brief (``jobs.submit_brief``, what
   ``workbench run`` calls): a ``localized`` item naming the 40 locales fans out into 40 jobs of 4
   placements. Wall time from submitting to the last job finished (the catalog polled with COUNT
   queries). Each pool process is warmed first (untimed) by a job drawing every locale, so the
   figure is a long-lived worker's: fonts loaded, imports done.
2. **in-process**: one ``workflow.generate`` of the same 160 renders in this process (what
   ``workbench generate localized`` does; its signing uses a thread pool), after the same warm-up.
3. **baseline, same run**: plain Pillow JPEG encodes (the project's options: quality 90, baseline)
   of one frame of the title at the same 4 sizes, 160 of them, in one process and in two.

Where a render's time goes: ``layout`` (block choice, shaping, fitting), ``render`` (masks,
contrast measured on the pixels, scrims), ``encode`` (JPEG) and the frame pick/read/crop shared by
a job's placements come from the kind's own ``localized.generate`` log line (read from the
worker's log in 1); ``sign`` is the workflow's per-variant signing time in 2; in 1 the workers do
not report it, so what follows the kind's work (sign, store, catalog, job claim and finish) is the
jobs' wall (started → finished, from their rows) less the kind's time.

Each run uses a new strings set (the legal line differs), so no recipe is reused. Medians of the
runs are printed; everything started here is stopped before the script exits.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import multiprocessing
import os
import re
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from benchmarks.bench_workers import (
    Cleanup,
    ForeignCpu,
    finished_count,
    stop_embedded_broker,
    use_home,
)
from benchmarks.common import bench_title, machine
from generators.imaging.encode import JPEG_OPTIONS
from generators.localization.keyart import KEY_ART_FORMATS
from workbench.catalog.db import close_all_catalogs
from workbench.settings import Settings

med = statistics.median
# One line of copy per script family; Latin-script locales share the Latin copy (flagged
# "untranslated": the flag costs the same as any other).
COPY = {
    "latin": ("The Long Night", "Some doors should stay closed, even on the longest night", "Watch now", "From {date}"),
    "de": ("Die lange Nacht", "Manche Türen sollten für immer verschlossen bleiben", "Jetzt ansehen", "Ab {date}"),
    "ru": ("Долгая ночь", "Некоторые двери лучше не открывать", "Смотреть", "С {date}"),
    "uk": ("Довга ніч", "Деякі двері краще не відчиняти", "Дивитися", "З {date}"),
    "el": ("Η μεγάλη νύχτα", "Κάποιες πόρτες πρέπει να μένουν κλειστές", "Δείτε τώρα", "Από {date}"),
    "ar": ("الليلة الطويلة", "بعض الأبواب يجب أن تبقى مغلقة", "شاهد الآن", "ابتداءً من {date}"),
    "he": ("הלילה הארוך", "יש דלתות שעדיף להשאיר סגורות", "צפו עכשיו", "החל מ-{date}"),
    "fa": ("شب طولانی", "بعضی درها باید بسته بمانند", "همین حالا ببینید", "از {date}"),
    "hi": ("लंबी रात", "कुछ दरवाज़े बंद ही रहने चाहिए", "अभी देखें", "{date} से"),
    "bn": ("দীর্ঘ রাত", "কিছু দরজা বন্ধই থাকা উচিত", "এখনই দেখুন", "{date} থেকে"),
    "ta": ("நீண்ட இரவு", "சில கதவுகள் மூடியே இருக்க வேண்டும்", "இப்போது பாருங்கள்", "{date} முதல்"),
    "te": ("సుదీర్ఘ రాత్రి", "కొన్ని తలుపులు మూసే ఉండాలి", "ఇప్పుడే చూడండి", "{date} నుండి"),
    "th": ("คืนอันยาวนาน", "ประตูบางบานควรปิดไว้ตลอดไป", "รับชมเลย", "ตั้งแต่ {date}"),
    "ja": ("長い夜", "開けてはならない扉がある", "今すぐ視聴", "{date}より"),
    "ko": ("긴 밤", "어떤 문은 닫혀 있어야 한다", "지금 시청하기", "{date}부터"),
    "zh-Hans": ("漫漫长夜", "有些门永远不该打开", "立即观看", "{date}起"),
    "zh-Hant": ("漫漫長夜", "有些門永遠不該打開", "立即觀看", "{date}起"),
}
LOCALES = {
    "de": "de", "de-AT": "de", "de-CH": "de", "ru": "ru", "uk": "uk", "el": "el", "ar-EG": "ar", "ar-SA": "ar", "he": "he",
    "fa": "fa", "hi": "hi", "bn": "bn", "ta": "ta", "te": "te", "th": "th", "ja": "ja", "ko": "ko", "zh-Hans": "zh-Hans",
    "zh-Hant": "zh-Hant", **{code: "latin" for code in (
        "fr", "fr-CA", "es", "es-419", "es-MX", "pt-BR", "pt-PT", "it", "nl", "sv", "da", "nb", "fi", "pl", "cs", "tr",
        "vi", "id", "ro", "hu", "en-GB")},
}
FORMATS = dict(KEY_ART_FORMATS)
RENDERS = len(LOCALES) * len(FORMATS)
TARGET = 8.0  # renders a second on 2 CPU workers (the target)
TIMING = re.compile(r"localized\.generate .*?renders=(\d+) frame_s=([\d.]+) layout_s=([\d.]+) draw_s=([\d.]+) "
                    r"encode_s=([\d.]+) total_s=([\d.]+)")
KIND_LOGGER = "generators.localization.kind"


# -- the work ---------------------------------------------------------------------------------


def strings_file(folder: Path, tag: str) -> Path:
    locales = {"en": {"title": "The Long Night", "tagline": "Some doors should stay closed", "call_to_action": "Watch now",
                      "date": "2026-12-12", "legal": f"© 2026 Example Studio ({tag})"}}
    for code, family in LOCALES.items():
        title, tagline, cta, date = COPY[family]
        locales[code] = {"title": title, "tagline": tagline, "call_to_action": cta, "date": date,
                         "legal": f"© 2026 Example Studio ({tag})"}
    path = folder / f"strings-{tag}.json"
    path.write_text(json.dumps({"source_locale": "en", "locales": locales}, ensure_ascii=False), "utf-8")
    return path


def brief_file(folder: Path, title: str, sha: str, tag: str) -> Path:
    path = folder / f"brief-{tag}.json"
    path.write_text(json.dumps({"name": f"bench localized {tag}", "title": title, "generators": [
        {"kind": "localized", "strings": sha, "locales": list(LOCALES), "formats": list(FORMATS)}]}), "utf-8")
    return path


@dataclass
class Split:
    """Seconds summed over a run's renders, from the kind's log lines."""

    renders: int = 0
    frame: float = 0.0
    layout: float = 0.0
    draw: float = 0.0
    encode: float = 0.0
    generate: float = 0.0

    def add_line(self, text: str) -> None:
        m = TIMING.search(text)
        if m:
            self.renders += int(m.group(1))
            self.frame += float(m.group(2))
            self.layout += float(m.group(3))
            self.draw += float(m.group(4))
            self.encode += float(m.group(5))
            self.generate += float(m.group(6))


class _Lines(logging.Handler):
    def __init__(self, split: Split) -> None:
        super().__init__(logging.INFO)
        self.split = split

    def emit(self, record: logging.LogRecord) -> None:
        self.split.add_line(record.getMessage())


def in_process_run(settings: Settings, title: str, sha: str) -> dict:
    from workbench import workflow

    split = Split()
    logger = logging.getLogger(KIND_LOGGER)
    handler, level = _Lines(split), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        t = time.perf_counter()
        result = workflow.generate("localized", title, {"strings": sha, "locales": list(LOCALES), "formats": list(FORMATS)},
                                   settings=settings)
        wall = time.perf_counter() - t
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    fresh = [v for v in result.variants if not v.reused]
    if len(fresh) != RENDERS or split.renders != RENDERS:
        raise RuntimeError(f"in-process: {len(fresh)} new variants, {split.renders} logged renders; expected {RENDERS}")
    return {"wall": wall, "split": split, "sign": sum(v.sign_ms for v in fresh) / 1000}


def worker_run(settings: Settings, brief: Path, log: Path) -> dict:
    from workbench import jobs

    mark = log.stat().st_size
    t = time.perf_counter()
    submitted = jobs.submit_brief(brief, settings=settings)
    ids = [j.id for j in submitted.jobs]
    deadline = time.monotonic() + 900
    while finished_count(ids, settings) < len(ids) and time.monotonic() < deadline:
        time.sleep(0.05)
    wall = time.perf_counter() - t
    views = jobs.list_jobs(ids=ids, settings=settings)
    bad = [v for v in views if v.state != "succeeded"]
    if bad:
        raise RuntimeError(f"{len(bad)} of {len(ids)} job(s) did not succeed: {bad[0].state} {bad[0].error}")
    job_s = sum((datetime.fromisoformat(v.finished_at) - datetime.fromisoformat(v.started_at)).total_seconds() for v in views)
    time.sleep(0.3)  # the last log lines reach the file
    split = Split()
    for line in log.read_bytes()[mark:].decode(errors="replace").splitlines():
        split.add_line(line)
    if split.renders != RENDERS:
        raise RuntimeError(f"the workers logged {split.renders} renders, expected {RENDERS} (is the kind's log line at INFO?)")
    return {"wall": wall, "split": split, "jobs": len(ids), "job_s": job_s}


def warm_workers(settings: Settings, title: str, sha: str) -> None:
    """Untimed: two jobs, each drawing every locale once (1x1), one per pool process (prefetch 1,
    both idle): each process loads every script's fonts and runs every import once."""
    from generators.localization.kind import LocalizedParams
    from workbench import jobs
    from workbench.briefs import JobSpec
    from workbench.queue import get_queue

    specs = [JobSpec("localized", title, LocalizedParams.from_dict({"strings": sha, "locales": list(LOCALES), "formats": ["1x1"],
                                                                    "segment": segment}).to_dict())
             for segment in ("drama", "family")]
    rows = jobs.create_jobs(specs, brief_name="warm-up", settings=settings)
    queue = get_queue(settings)
    for view, _ in rows:
        queue.enqueue(view, settings)
    views = jobs.wait([v.id for v, _ in rows], settings=settings, timeout=600, poll=0.1)
    if any(v.state != "succeeded" for v in views):
        raise RuntimeError(f"warm-up failed: {[(v.state, v.error) for v in views]}")


def warm_in_process(settings: Settings, title: str, sha: str) -> None:
    from workbench import workflow

    workflow.generate("localized", title, {"strings": sha, "locales": list(LOCALES), "formats": ["1x1"], "segment": "kids"},
                      settings=settings)


# -- the baseline -----------------------------------------------------------------------------

_FRAMES: list[Image.Image] = []


def _encode_some(n: int) -> None:
    for i in range(n):
        _FRAMES[i % len(_FRAMES)].save(io.BytesIO(), "JPEG", **JPEG_OPTIONS)


def baseline_frames(source: Path) -> list[Image.Image]:
    """One frame of the title cut to each placement's size (a picture, not noise: noise encodes slower)."""
    from generators.imaging.crop import apply_crop, plan_crop
    from workbench.media.frames import read_frames_at

    rgb = next(iter(read_frames_at(source, [5.0]).values()))
    frame = Image.fromarray(rgb)
    return [apply_crop(frame, plan_crop(frame.width, frame.height, w, h))[0] for w, h in FORMATS.values()]


def plain_encodes(n: int, processes: int) -> float:
    """Seconds for ``n`` encodes split over ``processes`` forked processes (1: this one)."""
    if processes == 1:
        t = time.perf_counter()
        _encode_some(n)
        return time.perf_counter() - t
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.map(_encode_some, [1] * processes)  # the processes are up before the clock starts
        t = time.perf_counter()
        pool.map(_encode_some, [n // processes + (i < n % processes) for i in range(processes)])
        return time.perf_counter() - t


# -- the report -------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds / RENDERS * 1000:6.1f} ms"


def report_split(runs: list[dict], sign_known: bool) -> None:
    splits = [r["split"] for r in runs]
    parts = [("frame pick, read and crops (shared by a job's placements)", [s.frame for s in splits]),
             ("layout (block, shaping, fitting)", [s.layout for s in splits]),
             ("render (masks, contrast on the pixels, scrims)", [s.draw for s in splits]),
             ("encode (JPEG q90)", [s.encode for s in splits])]
    if sign_known:
        parts.append(("sign (C2PA, on the workflow's signing threads)", [r["sign"] for r in runs]))
        parts.append(("store, catalog, analysis lookup, the rest (wall - generate - sign)",
                      [r["wall"] - s.generate - r["sign"] for r, s in zip(runs, splits)]))
    else:
        parts.append(("sign + store + catalog + job claim/finish (job wall - generate)",
                      [r["job_s"] - s.generate for r, s in zip(runs, splits)]))
    for label, values in parts:
        print(f"    {label:<70} {ms(med(values))}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="workers,inprocess", help="comma-separated arms")
    args = ap.parse_args()
    arms = {a.strip() for a in args.only.split(",") if a.strip()}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a plain kill still stops the worker and broker
    print(f"machine: {machine()}")
    print(f"load average at start: {os.getloadavg()[0]:.2f} (1 min); the figures assume an otherwise idle machine")
    foreign = ForeignCpu()
    source = bench_title(1080, 20)
    cleanup = Cleanup()
    saved = {k: os.environ.get(k) for k in ("WORKBENCH_HOME", "WORKBENCH_BROKER_URL")}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-localized-") as tmp:
            root = Path(tmp)
            from generators.localization.store import import_strings
            from provenance.certs import load_identity
            from workbench import workflow

            settings = use_home(root / "home")
            title = workflow.ingest(source, "Bench", settings=settings).title_name
            workflow.analyze_title(title, settings=settings)
            load_identity(settings)
            warm_sha, _ = import_strings(strings_file(root, "warm"), settings)
            close_all_catalogs()
            res: dict[str, list[dict]] = {"workers": [], "inprocess": []}
            if "workers" in arms:
                log = root / "worker.log"
                cleanup.embedded_broker(settings.home)
                worker, ready_s = cleanup.worker(settings, log, concurrency=2)
                warm_workers(settings, title, warm_sha)
                print(f"worker up in {ready_s:.1f} s; warm-up done")
            if "inprocess" in arms:
                warm_in_process(settings, title, warm_sha)
            for run in range(args.runs):
                if "workers" in arms:
                    sha, _ = import_strings(strings_file(root, f"w{run}"), settings)
                    res["workers"].append(worker_run(settings, brief_file(root, title, sha, f"w{run}"), log))
                if "inprocess" in arms:
                    sha, _ = import_strings(strings_file(root, f"p{run}"), settings)
                    res["inprocess"].append(in_process_run(settings, title, sha))
            if "workers" in arms:
                worker.stop()
                stop_embedded_broker(settings.home)
            _FRAMES.extend(baseline_frames(source))
            plain1 = [plain_encodes(RENDERS, 1) for _ in range(args.runs)]
            plain2 = [plain_encodes(RENDERS, 2) for _ in range(args.runs)]
            close_all_catalogs()
    finally:
        cleanup.close()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    sizes = ", ".join(f"{k} {w}x{h}" for k, (w, h) in FORMATS.items())
    print(f"\nwork: {len(LOCALES)} locales x {len(FORMATS)} placements ({sizes}) = {RENDERS} key-art renders of a 1080p "
          f"title, 5 text fields each, signed and catalogued; medians of {args.runs} run(s)")
    if res["workers"]:
        w = res["workers"]
        wall = med(r["wall"] for r in w)
        rate = RENDERS / wall
        print(f"\n## 2 CPU workers (one Celery worker, prefork concurrency 2, embedded broker; {w[0]['jobs']} jobs)")
        print(f"  {wall:.2f} s from submit to the last job finished = {rate:.1f} renders/s "
              f"(target >= {TARGET:.0f}/s: {'met' if rate >= TARGET else 'NOT met'}); runs "
              + ", ".join(f"{r['wall']:.2f}" for r in w))
        print("  per render, measured in the workers (summed over both, / renders):")
        report_split(w, sign_known=False)
    if res["inprocess"]:
        p = res["inprocess"]
        wall = med(r["wall"] for r in p)
        print("\n## in this process (one workflow.generate of all 160; signing on a thread pool)")
        print(f"  {wall:.2f} s = {RENDERS / wall:.1f} renders/s; runs " + ", ".join(f"{r['wall']:.2f}" for r in p))
        print("  per render:")
        report_split(p, sign_known=True)
    e1, e2 = med(plain1), med(plain2)
    print(f"\n## baseline, same run: {RENDERS} plain Pillow JPEG encodes (q90, baseline) of a title frame at the same sizes")
    print(f"  1 process: {e1:.2f} s = {RENDERS / e1:.0f} encodes/s; 2 processes: {e2:.2f} s = {RENDERS / e2:.0f} encodes/s")
    if res["workers"]:
        print(f"  2 workers' key art vs 2 processes' plain encodes: {med(r['wall'] for r in res['workers']) / e2:.1f}x the time")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}; {foreign.report()}")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
