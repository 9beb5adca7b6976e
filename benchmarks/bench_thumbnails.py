"""Thumbnails for a title whose analysis is cached: all segments x 4 placements x top-3, and
C2PA signing time as a share of render time.

    python benchmarks/bench_thumbnails.py [--runs 3] [--height 1080]

Baselines measured in the same run: the render alone (generator, no signing) and a plain
Pillow JPEG encode of the same number of 1080p frames.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from benchmarks.common import bench_title, machine  # noqa: E402
from generators import get_kind  # noqa: E402
from generators.base import GenerationContext  # noqa: E402
from generators.thumbnails.generator import ThumbnailParams  # noqa: E402
from workbench import workflow  # noqa: E402
from workbench.settings import Settings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--height", type=int, default=1080)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    source = bench_title(args.height, 30)
    params = ThumbnailParams()
    e2e, render, sign, plain = [], [], [], []
    n = 0
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(home=Path(tmp) / "home")
            r = workflow.ingest(source, "Bench", settings=settings)
            analysed = workflow.analyze_title(r.title_id, settings=settings)  # cached from here on
            # 1. the whole command: render + sign + store + catalog
            t = time.perf_counter()
            result = workflow.generate("thumbnail", r.title_id, params, settings=settings)
            e2e.append(time.perf_counter() - t)
            n = len(result.variants)
            # 2. render alone, then sign alone, on the same files
            out = Path(tmp) / "render"
            out.mkdir()
            t = time.perf_counter()
            context = GenerationContext(title_id=r.title_id, title_name="Bench", analysis=analysed.analysis,
                                        source=_source(settings, r), source_info=r.info, out_dir=out, settings=settings)
            files = get_kind("thumbnail").generate(context, params)
            render.append(time.perf_counter() - t)
            t = time.perf_counter()
            workflow.sign_outputs(files, settings)
            sign.append(time.perf_counter() - t)
            # 3. baseline: plain JPEG encodes of as many 1080p frames
            frame = Image.fromarray(np.asarray(Image.open(files[0].primary.path).convert("RGB").resize((1920, 1080))))
            t = time.perf_counter()
            for _ in range(n):
                frame.save(io.BytesIO(), "JPEG", quality=90)
            plain.append(time.perf_counter() - t)
    med = statistics.median
    print(f"variants per run: {n} (8 segments x 4 placements x top-3), source {source.name}, runs {args.runs}")
    print(f"thumbnails command (render+sign+store+catalog): {med(e2e):.2f} s  = {med(e2e) / n * 1000:.1f} ms/variant  (target < 5 s)")
    print(f"render alone:                                   {med(render):.2f} s  = {med(render) / n * 1000:.1f} ms/variant")
    print(f"C2PA signing alone (thread pool, as the command):{med(sign):.2f} s  = {med(sign) / n * 1000:.1f} ms/variant")
    print(f"signing as a share of render:                   {med(sign) / med(render) * 100:.1f} %  (target <= 10 %)")
    print(f"baseline, plain 1080p JPEG encodes:             {med(plain):.2f} s  = {med(plain) / n * 1000:.1f} ms/encode")


def _source(settings: Settings, r) -> Path:
    return settings.store_dir / r.sha256[:2] / r.sha256[2:4] / f"{r.sha256}{r.info.ext}"


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
