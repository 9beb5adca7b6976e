"""Analysis wall time vs a plain OpenCV decode of the same file (720p and 1080p).

    python benchmarks/bench_analysis.py [--seconds 60] [--runs 3]

Prints medians of several runs and the ratio (target <= 1.5x the plain decode), beside the
same analysis without the editing signals of analyzer 1.2 (face tracks, speech, beats and
onsets: ``AnalysisParams(editing_signals=False)``), all in the same run. The last columns
are the seconds the background passes spent (they overlap the decoder): keyframe
measurement, face detection for tracks, the whole audio pass, and within it speech and
rhythm.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402

from benchmarks.common import bench_title, machine  # noqa: E402
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
    print(f"{'file':<24}{'frames':>7}{'decode s':>9}{'no-edit s':>10}{'ratio':>7}{'analysis s':>11}{'ratio':>7}"
          f"{'fps':>6}{'1h min':>7}   background s: keyframes tracks audio (speech rhythm)")
    for height in (720, 1080):
        path = bench_title(height, args.seconds)
        info = probe(path)
        analyze(path, info, "warm-up", AnalysisParams())  # load the models once, warm caches
        frames = plain_decode(path)
        decode, plain, full, costs = [], [], [], []
        for _ in range(args.runs):  # interleaved, so drift in the machine's load hits all three alike
            t = time.perf_counter(); plain_decode(path); decode.append(time.perf_counter() - t)
            t = time.perf_counter(); analyze(path, info, "bench", AnalysisParams(editing_signals=False))
            plain.append(time.perf_counter() - t)
            t = time.perf_counter(); a = analyze(path, info, "bench", AnalysisParams()); full.append(time.perf_counter() - t)
            costs.append(a.timings)
        t_decode, t_plain, t_full = (statistics.median(x) for x in (decode, plain, full))
        c = {k: statistics.median(ct.get(k, 0.0) for ct in costs) for k in ("keyframes_s", "tracks_s", "audio_s", "speech_s", "rhythm_s")}
        fps = frames / t_full
        hour_min = 3600 * (info.fps or 25) / fps / 60
        print(f"{path.name:<24}{frames:>7}{t_decode:>9.2f}{t_plain:>10.2f}{t_plain / t_decode:>6.2f}x{t_full:>11.2f}"
              f"{t_full / t_decode:>6.2f}x{fps:>6.0f}{hour_min:>7.1f}   {c['keyframes_s']:.2f} {c['tracks_s']:.2f} "
              f"{c['audio_s']:.2f} ({c['speech_s']:.2f} {c['rhythm_s']:.2f})")


if __name__ == "__main__":
    main()
