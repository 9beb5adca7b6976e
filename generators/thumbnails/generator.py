"""Personalized thumbnails: per audience segment, a diverse top-k of keyframes smart-cropped to
each format, with an optional title treatment.

Work is shared wherever the result is the same: each full-size frame is decoded once (one
``read_frames_rgb`` call over every pick of every segment) and PNG-encoded once for its source
ingredient, and each (frame, format) is cropped, resized, titled and encoded once even when
several segments picked that frame; their files then hold the same bytes under their own names.
Renders run on a thread pool (Pillow releases the GIL while resizing and encoding).
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import av
import numpy as np
from PIL import Image

from generators.diffusion.backend import DiffusionBackend, StepCallback
from generators.diffusion.treatments import TREATMENT_SPEC, Prepared, TreatmentParams, finish, prepare
from generators.imaging.crop import CROP_SHIFTS, FORMATS, CropPlan, plan_crop, shift_crop
from generators.imaging.encode import OUTPUT_TYPES, OutputType, encode
from generators.params import Int, Internal, KindParams, Names, Text, param
from generators.thumbnails.render import RenderedThumbnail, render_thumbnail, variant_filename, write_thumbnail
from generators.audience.scoring import (
    Rejected,
    Scored,
    eligible_keyframes,
    rejected_keyframes,
    score_keyframes_for_segment,
)
from generators.audience.segments import SEGMENTS
from generators.thumbnails.selection import LAMBDA, select_top_k
from workbench.analysis.types import Analysis, Box, Face, Keyframe
from workbench.creative import EditAction, Recipe, SourceFrame
from workbench.errors import GenerationError, InvalidInput
from workbench.media.frames import encode_source_frame, read_frames_rgb

log = logging.getLogger(__name__)

MAX_TOP_K = 10
MAX_TITLE_CHARS = 100


@dataclass(frozen=True)
class ThumbnailFile:
    """One rendered thumbnail, before it becomes an Output (see generators/thumbnails/kind.py)."""

    path: Path
    kind: str
    mime: str
    width: int
    height: int
    recipe: Recipe
    actions: tuple[EditAction, ...]
    source_frame: SourceFrame
    segment: str | None = None
    format: str | None = None  # placement / aspect, e.g. "16x9"
    locale: str | None = None


@dataclass(frozen=True)
class ThumbnailParams(KindParams):
    unknown_noun: ClassVar[str] = "thumbnail parameter"

    segments: tuple[str, ...] = param(tuple(SEGMENTS), Names(noun="segment", values=SEGMENTS))
    formats: tuple[str, ...] = param(tuple(FORMATS), Names(noun="format", values=FORMATS))
    top_k: int = param(3, Int(1, MAX_TOP_K))
    title_text: str | None = param(None, Text(MAX_TITLE_CHARS))  # drawn on every thumbnail when given
    output: tuple[OutputType, ...] = param(("jpeg",), Names(noun="output", values=OUTPUT_TYPES, brief_noun="output type"))
    title_name: str = param("", Internal())  # the title's name, recorded in the recipe (never drawn)
    treatment: TreatmentParams | None = param(None, TREATMENT_SPEC)  # outpaint / restyle / clean-up instead of a plain crop
    exclude_frames: tuple[int, ...] = param((), Internal())  # frames not to pick (regenerate: "another frame")
    only_rank: int | None = param(None, Internal())  # render just this pick of each segment (regenerate one slot)
    crop_shift: str | None = param(None, Internal())  # "left" / "right" / "up" / "down": move the crop window (regenerate)
    rights: dict[str, Any] | None = param(None, Internal())  # the title's rights state, recorded in the recipe

    def check_together(self) -> None:
        if self.only_rank is not None and (not isinstance(self.only_rank, int) or not 1 <= self.only_rank <= self.top_k):
            raise InvalidInput(f"only_rank must be from 1 to top_k ({self.top_k}), got {self.only_rank!r}")
        if self.crop_shift not in (None, *CROP_SHIFTS):
            raise InvalidInput(f"crop_shift must be one of {', '.join(CROP_SHIFTS)}, got {self.crop_shift!r}")


@dataclass(frozen=True)
class ThumbnailPlan:
    """What ``generate`` will render: the picks per segment, best first, and what was ruled out."""

    picks: dict[str, list[Scored]]
    rejected: list[Rejected]
    eligible: int
    only_rank: int | None = None

    def ranked(self) -> dict[str, list[tuple[int, Scored]]]:
        """(rank, pick) per segment: all picks, or just ``only_rank``."""
        return {seg: [(r, s) for r, s in enumerate(p, 1) if self.only_rank in (None, r)] for seg, p in self.picks.items()}


@dataclass(frozen=True)
class _Render:
    plan: CropPlan | None  # None: outpainted (the whole frame is kept)
    rendered: RenderedThumbnail
    data: dict[str, bytes]  # output type -> encoded file
    treatment: dict[str, Any] | None = None  # what the treatment did (recipe details)
    model_used: bool = False
    faces: tuple[dict[str, float], ...] = ()  # face boxes in the output, normalised (x, y, w, h, confidence)


def faces_in_output(faces: Sequence[Face], to_output: Callable[[Box], tuple[float, float, float, float]],
                    width: int, height: int) -> tuple[dict[str, float], ...]:
    """Face boxes as they lie in an output image, normalised to it and clipped; faces cut off
    entirely are left out. ``to_output`` maps a source-normalised box to output pixels."""
    out = []
    for face in faces:
        x0, y0, x1, y1 = to_output(face.box)
        x0, y0, x1, y1 = max(0.0, x0 / width), max(0.0, y0 / height), min(1.0, x1 / width), min(1.0, y1 / height)
        if x1 > x0 and y1 > y0:
            out.append({"x": round(x0, 5), "y": round(y0, 5), "w": round(x1 - x0, 5), "h": round(y1 - y0, 5),
                        "confidence": round(float(face.confidence), 4)})
    return tuple(out)


def _worker_count() -> int:
    try:
        return max(1, min(8, len(os.sched_getaffinity(0))))
    except AttributeError:  # not on Linux
        return max(1, min(8, os.cpu_count() or 1))


class ThumbnailGenerator:
    """Scoring, picking and rendering thumbnails: the engine of the thumbnail kind (kind.py)."""

    kind: ClassVar[str] = "thumbnail"
    version: ClassVar[str] = "1.0.0"

    def check_inputs(self, analysis: Analysis, params: ThumbnailParams) -> None:
        if not isinstance(params, ThumbnailParams):
            raise InvalidInput(f"thumbnail parameters must be ThumbnailParams, got {type(params).__name__}")
        params.check()
        if not eligible_keyframes(analysis):
            raise InvalidInput(no_usable_frames_message(analysis))

    def plan(self, analysis: Analysis, params: ThumbnailParams) -> ThumbnailPlan:
        """Score and pick without rendering (cheap: for previews and explanations)."""
        self.check_inputs(analysis, params)
        excluded = set(params.exclude_frames)
        picks = {
            segment: select_top_k([s for s in score_keyframes_for_segment(analysis, segment) if s.frame not in excluded], params.top_k)
            for segment in dict.fromkeys(params.segments)
        }

        return ThumbnailPlan(picks, rejected_keyframes(analysis), len(eligible_keyframes(analysis)), params.only_rank)

    def generate(
        self, analysis: Analysis, source_path: Path, params: ThumbnailParams, out_dir: Path,
        *, backend: DiffusionBackend | None = None, on_step: StepCallback | None = None,
    ) -> list[ThumbnailFile]:
        """Render the picks. With a treatment, ``backend`` is the diffusion model to use (None:
        the classical path); ``on_step`` hears each denoising step and may raise to stop."""
        # 1. check inputs, score and pick per segment
        started = time.perf_counter()
        plan = self.plan(analysis, params)
        source_path = Path(source_path)
        if not source_path.is_file():
            raise InvalidInput(f"source not found: {source_path}")
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        formats = tuple(dict.fromkeys(params.formats))
        outputs = tuple(dict.fromkeys(params.output))

        treatment = params.treatment
        use_model = False
        model_s = 0.0
        if treatment is not None:
            if treatment.engine == "model" and backend is None:
                raise InvalidInput("the model engine was asked for but no diffusion model is loaded (WORKBENCH_DIFFUSION_MODEL)")
            use_model = backend is not None and treatment.engine != "classical"

        # 2. decode every picked frame once, at full size
        ranked = plan.ranked()
        keyframes: dict[int, Keyframe] = {s.frame: s.keyframe for picks in ranked.values() for _, s in picks}
        try:
            arrays = read_frames_rgb(source_path, [(kf.frame, kf.pts) for kf in keyframes.values()])
        except (OSError, av.FFmpegError) as e:
            raise GenerationError(f"could not read frames from {source_path.name}: {e}") from e
        read_done = time.perf_counter()
        # plain crops work on PIL images; treatments on the arrays
        images = {} if params.treatment else {f: Image.fromarray(np.ascontiguousarray(a)) for f, a in arrays.items()}

        # 3. source PNGs, crop plans and renders: once per frame / per (frame, format), in parallel
        def source_frame(frame: int) -> SourceFrame:
            return SourceFrame(frame, keyframes[frame].time, encode_source_frame(arrays[frame]))

        def render(frame: int, format_name: str) -> _Render:
            kf, image = keyframes[frame], images[frame]
            target_w, target_h = FORMATS[format_name]
            crop = plan_crop(image.width, image.height, target_w, target_h, kf.faces, kf.features.saliency_box)
            crop = shift_crop(crop, params.crop_shift, kf.faces)
            rendered = render_thumbnail(image, crop, kf.faces, params.title_text)
            faces = faces_in_output(kf.faces, crop.to_output, crop.target_width, crop.target_height)
            return _Render(crop, rendered, {output: encode(rendered.image, output) for output in outputs}, faces=faces)

        def finish_one(prepared: Prepared) -> _Render:
            treated = finish(prepared, backend.info if use_model else None)
            tw, th = prepared.target
            identity = CropPlan(0, 0, tw, th, tw, th, tw, th, 0, 0, "centre")
            rendered = render_thumbnail(treated.image, identity, treated.faces_out, params.title_text)
            rendered = RenderedThumbnail(rendered.image, treated.actions + rendered.actions, rendered.title)
            faces = faces_in_output(treated.faces_out, lambda b: (b.x * tw, b.y * th, (b.x + b.w) * tw, (b.y + b.h) * th), tw, th)
            return _Render(prepared.plan, rendered, {output: encode(rendered.image, output) for output in outputs},
                           treated.details, treated.model_used, faces)

        backend_steps = backend.default_steps if backend is not None else 25
        with ThreadPoolExecutor(max_workers=_worker_count()) as pool:
            # PNGs are the longest jobs (~150 ms for a 1080p frame): start them first so that none
            # is left running alone at the end
            png_jobs = {f: pool.submit(source_frame, f) for f in keyframes}
            if treatment is None:
                render_jobs = {(f, fmt): pool.submit(render, f, fmt) for f in keyframes for fmt in formats}
                renders = {key: job.result() for key, job in render_jobs.items()}
            else:
                # a segment-specific look makes each (segment, frame, format) its own render
                prepared = {(seg, s.frame, fmt): pool.submit(prepare, arrays[s.frame], s.keyframe.faces, s.keyframe.features.saliency_box,
                                                              FORMATS[fmt], treatment, seg, use_model, backend_steps, params.crop_shift)
                            for seg, p in ranked.items() for _, s in p for fmt in formats}
                prepared = {k: job.result() for k, job in prepared.items()}
                wanted = [p for p in prepared.values() if p.request is not None]
                if wanted:
                    t_model = time.perf_counter()
                    results = backend.run([p.request for p in wanted], on_step=on_step)
                    model_s = time.perf_counter() - t_model
                    for p, image in zip(wanted, results):
                        p.result = image
                finish_jobs = {k: pool.submit(finish_one, p) for k, p in prepared.items()}
                renders = {k: job.result() for k, job in finish_jobs.items()}
            sources = {f: job.result() for f, job in png_jobs.items()}
        render_done = time.perf_counter()

        # 4. write one file per segment x rank x format x output, each with its recipe
        files = []
        for segment, picks in ranked.items():
            for rank, scored in picks:
                for format_name in formats:
                    r = renders[(scored.frame, format_name) if treatment is None else (segment, scored.frame, format_name)]
                    for output in outputs:
                        suffix = None if treatment is None else f"{treatment.name}_{'ai' if r.model_used else 'classic'}"
                        name = variant_filename(segment, format_name, rank, scored.frame, output, suffix)
                        files.append(
                            ThumbnailFile(
                                path=write_thumbnail(r.data[output], out_dir, name),
                                kind=self.kind,
                                mime=OUTPUT_TYPES[output][1],
                                width=r.rendered.image.width,
                                height=r.rendered.image.height,
                                recipe=self._recipe(analysis, params, plan, segment, format_name, output, rank, scored, r),
                                actions=r.rendered.actions,
                                source_frame=sources[scored.frame],
                                segment=segment,
                                format=format_name,
                            )
                        )
        log.info(
            "thumbnail.generate source=%s frames=%d renders=%d files=%d read_s=%.3f render_s=%.3f model_s=%.3f total_s=%.3f",
            analysis.source_sha256[:12], len(keyframes), len(renders), len(files),
            read_done - started, render_done - read_done, model_s, time.perf_counter() - started,
        )
        return files

    def _recipe(
        self,
        analysis: Analysis,
        params: ThumbnailParams,
        plan: ThumbnailPlan,
        segment: str,
        format_name: str,
        output: str,
        rank: int,
        scored: Scored,
        r: _Render,
    ) -> Recipe:
        kf = scored.keyframe
        parameters: dict[str, Any] = {
            "segment": segment,
            "format": format_name,
            "rank": rank,
            "top_k": params.top_k,
            "output": output,
            "title_text": params.title_text,
            "title_name": params.title_name,
        }
        details: dict[str, Any] = {
            "frame": kf.frame,
            "time": kf.time,
            "shot": kf.shot,
            "rank": rank,
            "score": scored.breakdown.to_dict(),
            "crop": None if r.plan is None else r.plan.to_dict(),
            "faces_kept": len(kf.faces) if r.plan is None else r.plan.faces_kept,  # outpaint keeps the whole frame
            "faces_total": len(kf.faces) if r.plan is None else r.plan.faces_total,
            "upscaled": False if r.plan is None else r.plan.upscaled,
            "faces": [dict(f) for f in r.faces],  # where faces are in this image: later crops (export) keep them
            "title": None if r.rendered.title is None else r.rendered.title.to_dict(),
            "selection": {
                "method": "mmr",
                "lambda": LAMBDA,
                "eligible_keyframes": plan.eligible,
                "rejected_keyframes": len(plan.rejected),
            },
        }
        if params.exclude_frames:
            parameters["exclude_frames"] = list(params.exclude_frames)
        if params.crop_shift:
            parameters["crop_shift"] = params.crop_shift
        model = None
        if params.treatment is not None:
            parameters["treatment"] = params.treatment.to_dict()
            details["treatment"] = r.treatment
            details["rights"] = params.rights
            if r.model_used:
                model = dict(r.treatment.get("model_info") or {})
        return Recipe(self.kind, self.version, parameters, analysis.source_sha256, details,
                      seed=params.treatment.seed if model else None, model=model or None)


_REASON_WORDS = {
    "black": "black (no picture)",
    "blurred": "blurred or flat (too little detail to make a sharp still)",
    "transition": "inside a transition (a fade or dissolve)",
}


def no_usable_frames_message(analysis: Analysis) -> str:
    """Why no frame of a title can be a still, in a reviewer's words: how many candidate frames
    there were and what was wrong with them."""
    rejected = rejected_keyframes(analysis)
    if not analysis.keyframes:
        return "the title has no frames to choose from"
    counts: dict[str, int] = {}
    for r in rejected:
        for reason in r.reasons:
            counts[reason] = counts.get(reason, 0) + 1
    total = len(analysis.keyframes)
    parts = [f"{n} of {total} {_REASON_WORDS.get(reason, reason)}" for reason, n in sorted(counts.items(), key=lambda kv: -kv[1])]
    return "no frame of this title can make a thumbnail: " + "; ".join(parts)
