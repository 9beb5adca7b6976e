"""Shared helpers for the benchmark scripts: machine description, medians, bench media."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import imageio_ffmpeg

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
CACHE = Path(os.environ.get("WORKBENCH_BENCH_DIR", Path.home() / ".cache" / "workbench-bench"))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def median_time(fn: Callable[[], object], runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def bench_title(height: int, seconds: float) -> Path:
    """The sample title (faces, cuts, motion, a flash) scaled to ``height`` and looped to ``seconds``."""
    from workbench.sample import make_sample_title

    CACHE.mkdir(parents=True, exist_ok=True)
    base = CACHE / "sample-720p.mp4"
    if not base.exists():
        make_sample_title(base)
    out = CACHE / f"sample-{height}p-{int(seconds)}s.mp4"
    if not out.exists():
        subprocess.run(
            [FFMPEG, "-loglevel", "error", "-y", "-stream_loop", "-1", "-i", str(base), "-t", str(seconds),
             "-vf", f"scale=-2:{height}", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
             "-c:a", "aac", str(out)],
            check=True,
        )
    return out
