"""Trailer rendering: a 30 s 1080p cut against a plain ffmpeg x264 encode of the same 30 s of
source at the same preset, in the same run; then the whole matrix for one title.

    python benchmarks/bench_trailers.py [--runs 3] [--matrix]

1. **Render vs plain encode.** The bench title (the sample title looped to 120 s, 1080p) is
   analysed once; a 30 s action cut in 16:9 is planned, its sound mixed and its MP4 rendered
   (what ``workflow.generate("trailer", ...)`` does before signing); the baseline is
   ``ffmpeg -ss 20 -t 30 -i title -c:v libx264 -preset veryfast -crf 20 -c:a aac`` (decode +
   encode in one process: the least any cut of 30 s can cost). Medians of ``--runs``.
2. **Matrix** (``--matrix``): all 8 segments x 15/30/60 s x 16:9 and 9:16 for the title through
   ``workflow.generate`` in this process (2 cores), with where the time goes (analysis, audio,
   video, cut lists and review copies, signing and storing), read back from the recipes.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import FFMPEG, bench_title, machine  # noqa: E402


def plain_encode(source: Path, dest: Path, start: float = 20.0, seconds: float = 30.0) -> float:
    t = time.perf_counter()
    subprocess.run([FFMPEG, "-loglevel", "error", "-y", "-ss", str(start), "-t", str(seconds), "-i", str(source),
                    "-c:v", "libx264", "-profile:v", "high", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart", str(dest)], check=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--matrix", action="store_true")
    args = ap.parse_args()

    from generators.trailers import audio as audio_mix
    from generators.trailers import cards
    from generators.trailers.plan import plan_cut
    from generators.trailers.render import output_rate, render
    from generators.trailers.timeline import Timeline
    from workbench import workflow
    from workbench.settings import Settings

    source = bench_title(1080, args.seconds)
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp) / "home")
        r = workflow.ingest(source, "Bench", settings=settings)
        t = time.perf_counter()
        analysis = workflow.analyze_title(r.title_id, settings=settings).analysis
        analysis_s = time.perf_counter() - t
        fps = output_rate(analysis.fps)
        plan = plan_cut(analysis, "action", 30, fps, title="Bench")
        template = cards.load_template()
        timeline = Timeline(1920, 1080, fps, plan.items, video_start=analysis.video_start,
                            speech=tuple((s.start, s.end) for s in analysis.audio.speech))
        trailer, plain, audio_s, video_s = [], [], [], []
        for run in range(args.runs):
            wav, mp4, base = Path(tmp) / f"t{run}.wav", Path(tmp) / f"t{run}.mp4", Path(tmp) / f"plain{run}.mp4"
            t0 = time.perf_counter()
            audio_mix.mix(timeline, source, wav)
            t1 = time.perf_counter()
            render(timeline, source, mp4, audio=wav, card_frames=lambda c, w, h: cards.card_frames(c, template, w, h, fps=fps))
            t2 = time.perf_counter()
            audio_s.append(t1 - t0)
            video_s.append(t2 - t1)
            trailer.append(t2 - t0)
            plain.append(plain_encode(source, base))
        m_t, m_p = statistics.median(trailer), statistics.median(plain)
        print(f"analysis of the {args.seconds:.0f} s 1080p title (cached afterwards): {analysis_s:.2f} s")
        print(f"30 s 1080p trailer, {len(plan.clips)} clips + 2 cards: {m_t:.2f} s "
              f"(sound mix {statistics.median(audio_s):.2f} s, video {statistics.median(video_s):.2f} s), runs "
              + ", ".join(f"{x:.2f}" for x in trailer))
        print(f"baseline, plain ffmpeg x264 veryfast encode of 30 s of the source: {m_p:.2f} s, runs "
              + ", ".join(f"{x:.2f}" for x in plain))
        print(f"trailer / plain encode: {m_t / m_p:.2f}x  (target <= 1.2x)")

        if args.matrix:
            from generators.audience.segments import SEGMENTS
            from workbench.catalog import Variant, open_catalog

            t = time.perf_counter()
            result = workflow.generate("trailer", r.title_id, {"segments": list(SEGMENTS), "durations": [15, 30, 60],
                                                               "formats": ["16x9", "9x16"]}, settings=settings)
            wall = time.perf_counter() - t
            parts = {"audio": 0.0, "video": 0.0, "cut_lists_and_review_copy": 0.0}
            with open_catalog(settings).session() as s:
                for v in result.variants:
                    timings = s.get(Variant, v.variant_id).recipe["details"]["timings_s"]
                    for k in parts:
                        parts[k] += timings[k]
            sign = sum(v.sign_ms for v in result.variants) / 1000
            rest = wall - sum(parts.values()) - sign
            print(f"matrix: {len(result.variants)} trailers (8 segments x 3 lengths x 2 formats) in {wall:.1f} s on this machine")
            print("  where it goes: " + ", ".join(f"{k} {v:.1f} s" for k, v in parts.items())
                  + f", signing {sign:.1f} s, planning/reframing/storing {rest:.1f} s")


if __name__ == "__main__":
    main()
