"""The ad-ops export of ~200 approved thumbnails: variants per second and the share of the time
spent verifying the approved files (checksum + C2PA validation) before anything is rendered.

    python benchmarks/bench_export.py [--runs 3] [--variants 200] [--height 1080]

The variants are real: the bench title (the sample title looped to 30 s) is analysed once and
gets 8 segments x 4 placements x top-k signed thumbnails, of which the first ``--variants`` are
approved. Each run exports them all again (nothing is cached between exports).

Baseline measured in the same run: the same delivery files rendered with Pillow alone (decode,
crop, resize, JPEG encode on the same number of threads; no verification, no signing, no zip),
so the ratio says what provenance and packing add on top of the pixels.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from benchmarks.common import bench_title, machine
from generators.imaging.crop import FORMATS, plan_crop
from generators.thumbnails.generator import ThumbnailParams
from generators.imaging.encode import JPEG_OPTIONS
from generators.audience.segments import SEGMENTS
from workbench import review, workflow
from workbench.access import Actor
from workbench.deliveries.stills import DELIVERY_SPECS
from workbench.export import MAX_WORKERS, export_approved
from workbench.settings import Settings

REVIEWER = Actor("bench-reviewer", "creative")
AD_OPS = Actor("bench-ad-ops", "ad_ops")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--variants", type=int, default=200)
    ap.add_argument("--height", type=int, default=1080)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    source = bench_title(args.height, 30)
    top_k = math.ceil(args.variants / (len(SEGMENTS) * len(FORMATS)))
    with tempfile.TemporaryDirectory() as tmp:
        # 1. set-up (not timed): real signed variants, approved in batches
        settings = Settings(home=Path(tmp) / "home")
        r = workflow.ingest(source, "Bench", settings=settings)
        made = workflow.generate("thumbnail", r.title_id, ThumbnailParams(top_k=top_k), settings=settings)
        ids = sorted(v.variant_id for v in made.variants)[: args.variants]
        for start in range(0, len(ids), 500):
            review.decide(REVIEWER, ids[start:start + 500], "approve", settings=settings)
        rows = review.query_variants(review.VariantFilter(ids=ids), per_page=500, settings=settings).items

        # 2. the export and the baseline, alternating so that both see the same machine load
        totals, verifies, plain, files, rendered = [], [], [], 0, 0
        cpu_export, cpu_plain = [], []  # CPU seconds of this process: steadier than wall time on a busy machine
        workers = max(1, min(MAX_WORKERS, os.cpu_count() or 1))
        for run in range(args.runs):
            c = time.process_time()
            result = export_approved(AD_OPS, Path(tmp) / f"out-{run}", settings=settings)
            cpu_export.append(time.process_time() - c)
            assert not result.blocked and result.variants == len(ids), result.blocked
            totals.append(result.seconds)
            verifies.append(result.verify_seconds)
            files = len(result.files)
            # baseline: the same deliveries rendered by Pillow alone, on as many threads
            t, c = time.perf_counter(), time.process_time()
            with ThreadPoolExecutor(max_workers=workers) as pool:
                rendered = sum(pool.map(_render_plain, [row.file_path for row in rows]))
            plain.append(time.perf_counter() - t)
            cpu_plain.append(time.process_time() - c)
    med = statistics.median
    n = len(ids)
    print(f"approved variants: {n} (8 segments x 4 placements x top-{top_k}, first {n}), source {source.name}, runs {args.runs}")
    print(f"export (verify + render + sign + zip):   {med(totals):.2f} s = {n / med(totals):.1f} variants/s, "
          f"{files} files ({files / med(totals):.1f} files/s)")
    print(f"verification (sha256 + C2PA) of approved files: {med(verifies):.2f} s = "
          f"{med(verifies) / med(totals) * 100:.1f} % of the export ({med(verifies) / n * 1000:.1f} ms/variant)")
    print(f"baseline, Pillow renders alone ({rendered - n} resized files, same threads, no C2PA, no zip): {med(plain):.2f} s")
    print(f"CPU time: export {med(cpu_export):.2f} s, baseline {med(cpu_plain):.2f} s = "
          f"{med(cpu_export) / med(cpu_plain):.2f}x")
    print(f"export / baseline (wall): {med(totals) / med(plain):.2f}x  (per run: "
          f"{', '.join(f'{a / b:.2f}' for a, b in zip(totals, plain))}); load average {os.getloadavg()[0]:.1f}")


def _render_plain(path: Path) -> int:
    """Crop, resize and encode the delivery sizes a file allows, as the export does, without
    provenance. Returns the number of files (the thumbnail itself counts as one)."""
    count = 1
    with Image.open(path) as im:
        image = im.convert("RGB")
    for spec in DELIVERY_SPECS:
        if not spec.applies_to(*image.size) or image.size == (spec.width, spec.height):
            continue
        plan = plan_crop(image.width, image.height, spec.width, spec.height)
        out = image.resize((spec.width, spec.height), Image.Resampling.LANCZOS, box=plan.box, reducing_gap=3.0)
        out.save(io.BytesIO(), "JPEG", **JPEG_OPTIONS)
        count += 1
    return count


if __name__ == "__main__":
    main()
