"""Analysis wall time vs a plain OpenCV decode of the same file (720p and 1080p).

    python benchmarks/bench_analysis.py [--seconds 60] [--runs 3]

Prints medians of several runs and the ratio (target <= 1.5x the plain decode).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402

from benchmarks.common import bench_title, machine, median_time  # noqa: E402
from workbench.analysis.pipeline import AnalysisParams, analyze  # noqa: E402
from workbench.media.probe import probe  # noqa: E402


def plain_decode(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    print(f"{'file':<28}{'frames':>7}{'decode s':>10}{'analysis s':>12}{'ratio':>8}{'fps':>8}{'1h est. min':>13}")
    for height in (720, 1080):
        path = bench_title(height, args.seconds)
        info = probe(path)
        analyze(path, info, "warm-up", AnalysisParams())  # load the face model once, warm caches
        frames = plain_decode(path)
        t_decode, _ = median_time(lambda: plain_decode(path), args.runs)
        t_analysis, _ = median_time(lambda: analyze(path, info, "bench", AnalysisParams()), args.runs)
        fps = frames / t_analysis
        hour_min = 3600 * (info.fps or 25) / fps / 60
        print(f"{path.name:<28}{frames:>7}{t_decode:>10.2f}{t_analysis:>12.2f}{t_analysis / t_decode:>7.2f}x{fps:>8.0f}{hour_min:>13.1f}")


if __name__ == "__main__":
    main()
