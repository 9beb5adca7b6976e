"""Diffusion treatments on the CPU: a model job through a real GPU-queue worker vs the same model
work as a plain diffusers pipeline call, in the same run.

    python benchmarks/bench_diffusion.py [--runs 3] [--steps 20] [--side 256]

The model is the tiny seeded random-weight pipeline (``generators/diffusion/tiny.py``), loaded
through ``WORKBENCH_DIFFUSION_MODEL`` as a user's would be. One job outpaints the sample title's
top-2 romance frames to 2:3, 1:1 and 9:16 (6 model requests). The worker is started and warmed
first (model loaded, analysis cached); each timed run uses a new seed, so nothing is reused.

* workbench: submit the job, wait until it has succeeded (its state polled every 20 ms): decode
  of the frames, model calls (batched), compositing, JPEG encoding, C2PA signing, store, catalog.
* baseline: ``AutoPipelineForInpainting`` called directly on the same 6 requests (same sizes,
  steps, seeds, batch grouping), images only.

Overhead = workbench / baseline - 1 (target < 20 %).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--side", type=int, default=256)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # a killed run still stops its worker and broker
    tmp = Path(tempfile.mkdtemp(prefix="bench-diffusion-"))
    home = tmp / "home"
    os.environ.update({"WORKBENCH_HOME": str(home), "HF_HUB_OFFLINE": "1"})
    from generators.diffusion.tiny import build_tiny_model

    model = build_tiny_model(tmp / "tiny-sd")
    os.environ["WORKBENCH_DIFFUSION_MODEL"] = str(model)
    from generators.diffusion.treatments import TreatmentParams, prepare
    from generators.imaging.crop import FORMATS
    from generators.thumbnails.generator import ThumbnailGenerator, ThumbnailParams
    from workbench import jobs, rights, workflow
    from workbench.briefs import JobSpec
    from workbench.sample import make_sample_title
    from workbench.settings import Settings
    from workbench.queue import get_queue
    from workers.broker import EmbeddedBroker
    from workers.process import WorkerProcess

    sample = make_sample_title(tmp / "sample.mp4")
    workflow.ingest(sample.path, "Bench")
    rights.set_rights("Bench", "allowed", actor="bench")
    analysis = workflow.analyze_title("Bench").analysis
    formats = ("2x3", "1x1", "9x16")

    def params(seed: int) -> ThumbnailParams:
        return ThumbnailParams(segments=("romance",), formats=formats, top_k=2,
                               treatment=TreatmentParams("outpaint", seed=seed, steps=args.steps, work_side=args.side))

    def submit(seed: int) -> float:
        data = params(seed).to_dict()
        data.pop("title_name"), data.pop("rights")
        [(view, _)] = jobs.create_jobs([JobSpec("thumbnail", "Bench", data)])
        settings = Settings()
        t = time.perf_counter()
        get_queue(settings).enqueue(view, settings)
        deadline = time.monotonic() + 600
        # a light poll (one indexed read every 20 ms): on 2 cores a heavier one slows the worker
        while jobs.job_state(view.id, settings) not in jobs.FINISHED:
            if time.monotonic() > deadline:
                raise SystemExit(f"job {view.id} not finished after 600 s: {jobs.get_job(view.id)}")
            time.sleep(0.02)
        elapsed = time.perf_counter() - t
        final = jobs.get_job(view.id)
        assert final.state == "succeeded", final.error
        return elapsed

    # the same requests the job makes, for the plain pipeline call
    import torch
    from diffusers import AutoPipelineForInpainting
    from workbench.media.frames import read_frames_rgb

    plan = ThumbnailGenerator().plan(analysis, params(0))
    picks = [s for s in plan.picks["romance"]]
    arrays = read_frames_rgb(sample.path, [(s.frame, s.keyframe.pts) for s in picks])
    pipe = AutoPipelineForInpainting.from_pretrained(str(model))
    pipe.set_progress_bar_config(disable=True)
    batch = Settings().diffusion_batch

    def direct(seed: int) -> float:
        reqs = [prepare(arrays[s.frame], s.keyframe.faces, s.keyframe.features.saliency_box, FORMATS[f],
                        params(seed).treatment, "romance", True, args.steps).request for s in picks for f in formats]
        groups: dict[tuple, list] = {}
        for r in reqs:
            groups.setdefault((r.width, r.height), []).append(r)
        t = time.perf_counter()
        for group in groups.values():
            for i in range(0, len(group), batch):
                chunk = group[i:i + batch]
                pipe(prompt=[r.prompt for r in chunk], negative_prompt=[r.negative_prompt for r in chunk], image=[r.image for r in chunk],
                     mask_image=[r.mask for r in chunk], width=chunk[0].width, height=chunk[0].height,
                     num_inference_steps=args.steps, guidance_scale=chunk[0].guidance, strength=1.0,
                     generator=[torch.Generator().manual_seed(r.seed) for r in chunk], output_type="np")
        return time.perf_counter() - t

    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        with WorkerProcess(env, tmp / "gpu-worker.log", queues="gpu", concurrency=1):
            submit(10_000)  # warm-up: first calls of each shape
            direct(10_000)
            worker_times, direct_times = [], []
            for run in range(args.runs):
                worker_times.append(submit(run + 1))
                direct_times.append(direct(run + 1))
    finally:
        EmbeddedBroker(home).stop()
    w, d = statistics.median(worker_times), statistics.median(direct_times)
    print(f"machine: {machine()}; torch threads {torch.get_num_threads()}")
    print(f"tiny SD pipeline, outpaint, 6 requests ({', '.join(formats)} x top-2), work side {args.side}, {args.steps} steps, batch {batch}")
    print(f"  plain pipeline call      median {d:.3f} s  runs {[round(x, 3) for x in direct_times]}")
    print(f"  workbench through worker median {w:.3f} s  runs {[round(x, 3) for x in worker_times]}")
    print(f"  worker overhead          {100 * (w / d - 1):+.1f} % (target < 20 %)")


if __name__ == "__main__":
    main()
