"""The diffusion backend: one diffusers pipeline per process, loaded once, called in batches.

A model is named by ``WORKBENCH_DIFFUSION_MODEL``: a local folder in diffusers format (with
``model_index.json``), a single-file checkpoint (``.safetensors`` / ``.ckpt``), or a hub id
(only where the machine has network). Everything that can be checked before the weights load
is checked first, with a one-line :class:`InvalidInput`: a missing path, a folder that is not a
diffusers model, a pipeline family we do not run, CUDA asked for on a machine without it.

One base pipeline is loaded; the text-to-image, image-to-image and inpainting pipelines are
views of it (``AutoPipeline*.from_pipe``: the same weights, no copy). Pipelines are not
thread-safe, so calls are serialised by a lock; the parallelism is one process per GPU.

Speed: fp16 (bf16 where the card prefers it) on CUDA, PyTorch SDPA attention (diffusers' default
processor on torch 2), ``channels_last`` UNet and VAE, optional ``torch.compile`` of the UNet,
requests for the same operation and size batched into one call, each with its own seeded
``torch.Generator`` so a request's pixels do not depend on its batch neighbours' seeds.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import resource
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from workbench.errors import GenerationError, InvalidInput

log = logging.getLogger(__name__)

Operation = Literal["txt2img", "img2img", "inpaint"]
OPERATIONS: tuple[str, ...] = ("txt2img", "img2img", "inpaint")

# Pipeline classes (model_index.json "_class_name") this backend runs, by family.
SUPPORTED_PIPELINES: dict[str, str] = {
    "StableDiffusionPipeline": "sd",
    "StableDiffusionImg2ImgPipeline": "sd",
    "StableDiffusionInpaintPipeline": "sd",
    "StableDiffusionXLPipeline": "sdxl",
    "StableDiffusionXLImg2ImgPipeline": "sdxl",
    "StableDiffusionXLInpaintPipeline": "sdxl",
}
SINGLE_FILE_SUFFIXES = (".safetensors", ".ckpt")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".ckpt", ".pt")
MAX_SIDE = 2048
MAX_STEPS = 200
MAX_PROMPT_CHARS = 1000

StepCallback = Callable[[int, int], None]  # (steps done, steps total); raise to stop


@dataclass(frozen=True)
class DiffusionRequest:
    """One image to make. ``image`` is the input for img2img / inpaint; ``mask`` (inpaint) is
    white where new pixels go, the same size as ``image``."""

    operation: Operation
    prompt: str
    width: int
    height: int
    seed: int
    steps: int = 25
    guidance: float = 7.0
    strength: float = 1.0  # img2img / inpaint: how far from the input (1 = wholly new)
    negative_prompt: str = ""
    image: Image.Image | None = field(default=None, repr=False)
    mask: Image.Image | None = field(default=None, repr=False)

    @property
    def batch_key(self) -> tuple:
        return (self.operation, self.width, self.height, self.steps, self.guidance, self.strength)

    def check(self) -> None:
        """Every request error is caught here, before any model work."""
        if self.operation not in OPERATIONS:
            raise InvalidInput(f"unknown diffusion operation {self.operation!r}; known: {', '.join(OPERATIONS)}")
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise InvalidInput(f"{self.operation} needs a non-empty prompt")
        if len(self.prompt) > MAX_PROMPT_CHARS or len(self.negative_prompt) > MAX_PROMPT_CHARS:
            raise InvalidInput(f"prompts are limited to {MAX_PROMPT_CHARS} characters")
        for side in (self.width, self.height):
            if not isinstance(side, int) or side < 8 or side > MAX_SIDE or side % 8:
                raise InvalidInput(f"diffusion size {self.width}x{self.height}: sides must be multiples of 8 from 8 to {MAX_SIDE}")
        if not isinstance(self.steps, int) or not 1 <= self.steps <= MAX_STEPS:
            raise InvalidInput(f"steps must be an integer from 1 to {MAX_STEPS}, got {self.steps!r}")
        if not 0.0 < self.strength <= 1.0:
            raise InvalidInput(f"strength must be in (0, 1], got {self.strength}")
        if not 0.0 <= self.guidance <= 30.0:
            raise InvalidInput(f"guidance must be from 0 to 30, got {self.guidance}")
        if self.operation != "txt2img" and int(self.steps * self.strength) < 1:
            raise InvalidInput(f"{self.steps} steps at strength {self.strength} denoise nothing: give more steps or more strength")
        if self.operation in ("img2img", "inpaint"):
            if self.image is None:
                raise InvalidInput(f"{self.operation} needs an input image")
            if self.image.size != (self.width, self.height):
                raise InvalidInput(f"input image is {self.image.width}x{self.image.height}, request is {self.width}x{self.height}")
        if self.operation == "inpaint":
            if self.mask is None:
                raise InvalidInput("inpaint needs a mask")
            if self.mask.size != self.image.size:
                raise InvalidInput(
                    f"mask is {self.mask.width}x{self.mask.height} but the image is {self.image.width}x{self.image.height}: "
                    "they must be the same size"
                )
        elif self.mask is not None:
            raise InvalidInput(f"{self.operation} takes no mask")


@dataclass(frozen=True)
class ModelInfo:
    """What ran: recorded in every model-made variant's recipe and manifest."""

    id: str  # the configured name (folder name, file name or hub id)
    weights_sha256: str
    pipeline: str
    family: str
    scheduler: str
    device: str
    dtype: str
    attention: str
    compiled: bool
    channels_last: bool

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# -- resolving the configured model (no weights loaded) ---------------------------------------


@dataclass(frozen=True)
class ModelSource:
    name: str
    kind: Literal["folder", "single_file", "hub"]
    path: Path | None
    pipeline_class: str | None  # from model_index.json; None for single files and hub ids


def resolve_model(spec: str | os.PathLike | None) -> ModelSource:
    if spec is None or not str(spec).strip():
        raise InvalidInput("no diffusion model configured: set WORKBENCH_DIFFUSION_MODEL to a diffusers folder or checkpoint")
    text = str(spec).strip()
    path = Path(text).expanduser()
    looks_like_path = path.is_absolute() or text.startswith((".", "~")) or path.exists() or path.suffix in SINGLE_FILE_SUFFIXES
    if looks_like_path:
        if not path.exists():
            raise InvalidInput(f"diffusion model {text}: no such file or folder")
        if path.is_file():
            if path.suffix.lower() not in SINGLE_FILE_SUFFIXES:
                raise InvalidInput(f"diffusion model {path.name}: not a diffusers folder or a .safetensors/.ckpt checkpoint")
            return ModelSource(path.name, "single_file", path, None)
        index = path / "model_index.json"
        if not index.is_file():
            raise InvalidInput(f"diffusion model {text}: not a diffusers model (no model_index.json in the folder)")
        try:
            config = json.loads(index.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise InvalidInput(f"diffusion model {text}: unreadable model_index.json ({e})") from None
        cls = config.get("_class_name") if isinstance(config, dict) else None
        if cls not in SUPPORTED_PIPELINES:
            raise InvalidInput(
                f"diffusion model {path.name}: pipeline {cls!r} is not supported; supported: "
                + ", ".join(sorted(SUPPORTED_PIPELINES))
            )
        return ModelSource(path.name, "folder", path, cls)
    if text.count("/") == 1 and all(part and part.replace("-", "").replace("_", "").replace(".", "").isalnum() for part in text.split("/")):
        if os.environ.get("HF_HUB_OFFLINE") == "1":
            raise InvalidInput(f"diffusion model {text} is a hub id but HF_HUB_OFFLINE=1: give a local folder or checkpoint")
        return ModelSource(text, "hub", None, None)
    raise InvalidInput(f"diffusion model {text!r}: not a path that exists nor a hub id (owner/name)")


def choose_device(requested: str = "auto") -> str:
    import torch

    requested = (requested or "auto").strip().lower()
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cpu":
        return "cpu"
    if requested == "cuda" or requested.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise InvalidInput(f"diffusion device {requested} asked for, but this machine has no CUDA (torch {torch.__version__})")
        index = requested.partition(":")[2]
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            raise InvalidInput(f"diffusion device {requested}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return requested
    raise InvalidInput(f"diffusion device {requested!r}: use auto, cpu, cuda or cuda:N")


def choose_dtype(device: str, requested: str = "auto"):
    import torch

    names = {"float16": torch.float16, "fp16": torch.float16, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
             "float32": torch.float32, "fp32": torch.float32}
    requested = (requested or "auto").strip().lower()
    if requested == "auto":
        if device.startswith("cuda"):
            return torch.float16
        return torch.float32
    if requested not in names:
        raise InvalidInput(f"diffusion dtype {requested!r}: use auto, float16, bfloat16 or float32")
    dtype = names[requested]
    if device == "cpu" and dtype == torch.float16:
        raise InvalidInput("float16 is not supported on the CPU: use float32 (or bfloat16)")
    return dtype


def weights_sha256(source: ModelSource, cache_dir: Path | None = None) -> str:
    """One hash over the model's weight files (name + content hash each). Per-file hashes are
    cached by (size, mtime) so a multi-GB model is hashed once, not at every worker start."""
    if source.path is None:
        return "hub:" + source.name
    files = [source.path] if source.path.is_file() else sorted(
        p for p in source.path.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES
    )
    cache_file = cache_dir / "weights-sha256.json" if cache_dir else None
    cache: dict[str, str] = {}
    if cache_file and cache_file.is_file():
        try:
            cache = json.loads(cache_file.read_text())
        except ValueError:
            cache = {}
    outer = hashlib.sha256()
    changed = False
    for f in files:
        st = f.stat()
        key = f"{f.resolve()}|{st.st_size}|{st.st_mtime_ns}"
        digest = cache.get(key)
        if digest is None:
            h = hashlib.sha256()
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            digest = cache[key] = h.hexdigest()
            changed = True
        rel = f.name if source.path.is_file() else f.relative_to(source.path).as_posix()
        outer.update(f"{rel}\0{digest}\n".encode())
    if cache_file and changed:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f".tmp-{os.getpid()}-{cache_file.name}")
        tmp.write_text(json.dumps(cache))
        os.replace(tmp, cache_file)
    return outer.hexdigest()


# -- the loaded backend -------------------------------------------------------------------------


class DiffusionBackend:
    """A loaded model. Build with :meth:`load`; call :meth:`run` with requests."""

    def __init__(self, pipes: dict[str, Any], info: ModelInfo, batch: int, default_steps: int = 25) -> None:
        self._pipes = pipes
        self.default_steps = default_steps
        self.info = info
        self.batch = max(1, batch)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, model: str | os.PathLike | None, *, device: str = "auto", dtype: str = "auto",
             compile: bool = False, batch: int = 4, steps: int = 25, cache_dir: Path | None = None) -> DiffusionBackend:
        source = resolve_model(model)  # all checks that need no weights come first
        device = choose_device(device)
        torch_dtype = choose_dtype(device, dtype)
        from diffusers import AutoPipelineForText2Image

        started = time.perf_counter()
        try:
            if source.kind == "single_file":
                from diffusers import StableDiffusionPipeline

                base = StableDiffusionPipeline.from_single_file(str(source.path), dtype=torch_dtype)
            else:
                base = AutoPipelineForText2Image.from_pretrained(str(source.path or source.name), dtype=torch_dtype)
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            raise InvalidInput(f"diffusion model {source.name}: could not load ({str(e).splitlines()[0][:300]})") from None
        backend = cls.from_pipeline(base, source.name, weights_sha256(source, cache_dir), device=device,
                                    compile=compile, batch=batch, steps=steps)
        log.info("event=diffusion_loaded model=%s pipeline=%s device=%s dtype=%s load_s=%.2f",
                 source.name, backend.info.pipeline, device, backend.info.dtype, time.perf_counter() - started)
        return backend

    @classmethod
    def from_pipeline(cls, base, name: str, weights_hash: str, *, device: str, compile: bool = False, batch: int = 4,
                      steps: int = 25) -> DiffusionBackend:
        """A backend over an already built text-to-image pipeline (moved to ``device``, with the
        speed settings applied). ``load`` uses it; so do benchmarks with in-memory weights."""
        import torch
        from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting

        cls_name = type(base).__name__
        family = SUPPORTED_PIPELINES.get(cls_name)
        if family is None:
            raise InvalidInput(f"diffusion model {name}: pipeline {cls_name} is not supported")
        base.set_progress_bar_config(disable=True)
        base.to(device)
        channels_last = device.startswith("cuda")
        if channels_last:
            base.unet.to(memory_format=torch.channels_last)
            base.vae.to(memory_format=torch.channels_last)
        if compile:
            base.unet = torch.compile(base.unet, mode="max-autotune-no-cudagraphs", fullgraph=False)
        pipes: dict[str, Any] = {"txt2img": base}
        pipes["img2img"] = AutoPipelineForImage2Image.from_pipe(base)
        pipes["inpaint"] = AutoPipelineForInpainting.from_pipe(base)
        for p in pipes.values():
            p.set_progress_bar_config(disable=True)
        info = ModelInfo(
            id=name, weights_sha256=weights_hash, pipeline=cls_name, family=family,
            scheduler=type(base.scheduler).__name__, device=device, dtype=str(base.unet.dtype).removeprefix("torch."),
            attention=_attention_name(base.unet), compiled=compile, channels_last=channels_last,
        )
        return cls(pipes, info, batch, steps)

    def run(self, requests: Sequence[DiffusionRequest], on_step: StepCallback | None = None) -> list[Image.Image]:
        """Make one image per request, in order. Requests with the same operation, size and
        settings share one pipeline call (at most ``batch`` at a time). ``on_step`` is called
        after every denoising step; an exception it raises stops the run at that step."""
        for r in requests:
            r.check()
        groups: dict[tuple, list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault(r.batch_key, []).append(i)
        chunks = [idx[s:s + self.batch] for idx in groups.values() for s in range(0, len(idx), self.batch)]
        total_steps = sum(_effective_steps(requests[c[0]]) for c in chunks)
        out: list[Image.Image | None] = [None] * len(requests)
        done = 0
        with self._lock:
            for chunk in chunks:
                images = self._call([requests[i] for i in chunk], on_step, done, total_steps)
                done += _effective_steps(requests[chunk[0]])
                for i, image in zip(chunk, images):
                    out[i] = image
        return out  # type: ignore[return-value]

    def _call(self, reqs: list[DiffusionRequest], on_step: StepCallback | None, done: int, total: int) -> list[Image.Image]:
        import torch

        first = reqs[0]
        pipe = self._pipes[first.operation]
        stop: list[BaseException] = []

        def callback(p, step: int, timestep, kwargs):
            if on_step is not None:
                try:
                    on_step(done + step + 1, total)
                except BaseException as e:  # noqa: BLE001 - re-raised below, after the loop stops
                    stop.append(e)
                    p._interrupt = True
            return kwargs

        kwargs: dict[str, Any] = {
            "prompt": [r.prompt for r in reqs],
            "negative_prompt": [r.negative_prompt for r in reqs] if any(r.negative_prompt for r in reqs) else None,
            "num_inference_steps": first.steps,
            "guidance_scale": first.guidance,
            "generator": [torch.Generator(device=self.info.device).manual_seed(r.seed) for r in reqs],
            "callback_on_step_end": callback,
            "output_type": "np",
            "width": first.width,
            "height": first.height,
        }
        if first.operation in ("img2img", "inpaint"):
            kwargs["image"] = [r.image.convert("RGB") for r in reqs]
            kwargs["strength"] = first.strength
        if first.operation == "img2img":
            kwargs.pop("width"), kwargs.pop("height")
        if first.operation == "inpaint":
            kwargs["mask_image"] = [r.mask.convert("L") for r in reqs]
        try:
            with torch.inference_mode():
                result = pipe(**kwargs)
        except torch.OutOfMemoryError as e:
            raise GenerationError(f"out of GPU memory at batch {len(reqs)} of {first.width}x{first.height}: lower WORKBENCH_DIFFUSION_BATCH") from e
        finally:
            pipe._interrupt = False
        if stop:
            raise stop[0]
        arrays = np.clip(np.nan_to_num(result.images) * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return [Image.fromarray(a) for a in arrays]

    def memory(self) -> dict[str, Any]:
        import torch

        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        params = sum(p.numel() * p.element_size() for m in _modules(self._pipes["txt2img"]) for p in m.parameters())
        out: dict[str, Any] = {"weights_mb": round(params / 2**20, 1), "process_peak_rss_mb": round(rss_mb, 1)}
        if self.info.device.startswith("cuda"):
            out["gpu_allocated_mb"] = round(torch.cuda.memory_allocated() / 2**20, 1)
            out["gpu_peak_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
            free, total = torch.cuda.mem_get_info()
            out["gpu_free_mb"], out["gpu_total_mb"] = round(free / 2**20, 1), round(total / 2**20, 1)
            out["gpu_name"] = torch.cuda.get_device_name()
        return out


def _effective_steps(r: DiffusionRequest) -> int:
    if r.operation == "txt2img":
        return r.steps
    return max(1, min(r.steps, int(r.steps * r.strength)))


def _modules(pipe) -> list[Any]:
    import torch

    return [m for m in pipe.components.values() if isinstance(m, torch.nn.Module)]


def _attention_name(unet) -> str:
    procs = {type(p).__name__ for p in getattr(unet, "attn_processors", {}).values()}
    return "sdpa" if procs and all("2_0" in p or "SDPA" in p.upper() for p in procs) else ",".join(sorted(procs)) or "unknown"


# -- one backend per process --------------------------------------------------------------------

_backend: DiffusionBackend | None = None
_backend_key: tuple | None = None
_backend_lock = threading.Lock()


def get_backend(settings) -> DiffusionBackend:
    """The process's backend for the configured model, loaded on first use (a GPU worker loads it
    at start, see workers/app.py). A changed setting loads the new model."""
    global _backend, _backend_key
    key = (settings.diffusion_model, settings.diffusion_device, settings.diffusion_dtype,
           settings.diffusion_compile, settings.diffusion_batch, settings.diffusion_steps)
    with _backend_lock:
        if _backend is None or _backend_key != key:
            _backend = None
            _backend = DiffusionBackend.load(
                settings.diffusion_model, device=settings.diffusion_device, dtype=settings.diffusion_dtype,
                compile=settings.diffusion_compile, batch=settings.diffusion_batch, steps=settings.diffusion_steps,
                cache_dir=settings.home / "cache",
            )
            _backend_key = key
        return _backend


def loaded_backend() -> DiffusionBackend | None:
    return _backend
