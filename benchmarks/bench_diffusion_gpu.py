"""Diffusion throughput on a GPU: the workbench backend (fp16, SDPA, channels_last, torch.compile,
batched, seeded per request) vs a plain diffusers pipeline call (fp16, defaults), same run.

    python benchmarks/bench_diffusion_gpu.py [--batches 1,4,8] [--steps 25] [--side 512] [--runs 3]
    python benchmarks/bench_diffusion_gpu.py --tiny --device cpu   # the code path, anywhere

The model is the full-size Stable Diffusion 1.5 architecture with random weights built from its
config (speed does not depend on weight values; nothing is downloaded). Text-to-image at
side x side. For each batch size: images per second, median of ``--runs`` after a warm-up (the
compile happens in the warm-up), and peak GPU memory. Ratio = workbench / plain (target >= 1.3x).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,4,8")
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--side", type=int, default=512)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--tiny", action="store_true", help="the tiny architecture (checks the script on a CPU)")
    ap.add_argument("--no-compile", action="store_true")
    args = ap.parse_args()
    import torch

    from generators.diffusion.backend import DiffusionBackend, DiffusionRequest
    from generators.diffusion.tiny import build_pipeline

    cuda = args.device.startswith("cuda")
    dtype = torch.float16 if cuda else torch.float32
    scratch = Path(tempfile.mkdtemp(prefix="bench-gpu-"))
    base = build_pipeline(scratch, 0, sd15_config=not args.tiny)
    plain = copy.deepcopy(base).to(args.device, dtype)
    plain.set_progress_bar_config(disable=True)
    ours_pipe = base.to(dtype=dtype)
    backend = DiffusionBackend.from_pipeline(ours_pipe, "sd15-random" if not args.tiny else "tiny", "random",
                                             device=args.device, compile=not args.no_compile, batch=max(map(int, args.batches.split(","))),
                                             steps=args.steps)
    name = torch.cuda.get_device_name() if cuda else "CPU"
    print(f"machine: {machine()}; device {name}; torch {torch.__version__}; dtype {str(dtype)[6:]}")
    print(f"{'SD 1.5 architecture' if not args.tiny else 'tiny'} random weights, txt2img {args.side}x{args.side}, {args.steps} steps")
    prompt = "a cinematic film still, warm light"

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    def plain_call(n: int, seed: int) -> None:
        plain(prompt=[prompt] * n, num_inference_steps=args.steps, width=args.side, height=args.side,
              generator=[torch.Generator(args.device).manual_seed(seed + i) for i in range(n)], output_type="np")

    def ours_call(n: int, seed: int) -> None:
        backend.run([DiffusionRequest("txt2img", prompt, args.side, args.side, seed + i, steps=args.steps) for i in range(n)])

    for n in map(int, args.batches.split(",")):
        row = {}
        for label, fn in (("plain", plain_call), ("workbench", ours_call)):
            fn(n, 1000)  # warm-up (and compile)
            sync()
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            times = []
            for r in range(args.runs):
                t = time.perf_counter()
                fn(n, r)
                sync()
                times.append(time.perf_counter() - t)
            med = statistics.median(times)
            peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else float("nan")
            row[label] = n / med
            print(f"  batch {n}: {label:9s} {n / med:6.2f} images/s  (median {med:.2f} s of {[round(x, 2) for x in times]}), peak {peak:.2f} GiB")
        print(f"  batch {n}: workbench / plain = {row['workbench'] / row['plain']:.2f}x (target >= 1.3x)")


if __name__ == "__main__":
    main()
