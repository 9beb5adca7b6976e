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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import av
import numpy as np
from PIL import Image

from generators.base import GeneratedFile, Recipe, SourceFrame, register
from generators.thumbnails.crop import FORMATS, CropPlan, plan_crop
from generators.thumbnails.render import (
    OUTPUT_TYPES,
    OutputType,
    RenderedThumbnail,
    encode,
    render_thumbnail,
    variant_filename,
    write_thumbnail,
)
from generators.thumbnails.scoring import (
    Rejected,
    Scored,
    eligible_keyframes,
    rejected_keyframes,
    score_keyframes_for_segment,
)
from generators.thumbnails.segments import SEGMENTS
from generators.thumbnails.selection import LAMBDA, select_top_k
from workbench.analysis.types import Analysis, Keyframe
from workbench.errors import GenerationError, InvalidInput
from workbench.media.frames import encode_source_frame, read_frames_rgb

log = logging.getLogger(__name__)

MAX_TOP_K = 10
MAX_TITLE_CHARS = 100


@dataclass(frozen=True)
class ThumbnailParams:
    segments: tuple[str, ...] = tuple(SEGMENTS)
    formats: tuple[str, ...] = tuple(FORMATS)
    top_k: int = 3
    title_text: str | None = None  # drawn on every thumbnail when given
    output: tuple[OutputType, ...] = ("jpeg",)
    title_name: str = ""  # the title's name, recorded in the recipe (never drawn)


@dataclass(frozen=True)
class ThumbnailPlan:
    """What ``generate`` will render: the picks per segment, best first, and what was ruled out."""

    picks: dict[str, list[Scored]]
    rejected: list[Rejected]
    eligible: int


@dataclass(frozen=True)
class _Render:
    plan: CropPlan
    rendered: RenderedThumbnail
    data: dict[str, bytes]  # output type -> encoded file


def _worker_count() -> int:
    try:
        return max(1, min(8, len(os.sched_getaffinity(0))))
    except AttributeError:  # not on Linux
        return max(1, min(8, os.cpu_count() or 1))


@register
class ThumbnailGenerator:
    kind: ClassVar[str] = "thumbnail"
    version: ClassVar[str] = "1.0.0"

    def check_inputs(self, analysis: Analysis, params: ThumbnailParams) -> None:
        if not isinstance(params, ThumbnailParams):
            raise InvalidInput(f"thumbnail parameters must be ThumbnailParams, got {type(params).__name__}")
        _check_names("segment", params.segments, tuple(SEGMENTS))
        _check_names("format", params.formats, tuple(FORMATS))
        _check_names("output", params.output, tuple(OUTPUT_TYPES))
        if isinstance(params.top_k, bool) or not isinstance(params.top_k, int) or not 1 <= params.top_k <= MAX_TOP_K:
            raise InvalidInput(f"top_k must be an integer from 1 to {MAX_TOP_K}, got {params.top_k!r}")
        if params.title_text is not None:
            if not isinstance(params.title_text, str) or not params.title_text.strip():
                raise InvalidInput("title_text must be a non-empty string or None")
            if len(params.title_text) > MAX_TITLE_CHARS or not params.title_text.isprintable():
                raise InvalidInput(f"title_text must be one printable line of at most {MAX_TITLE_CHARS} characters")
        if not eligible_keyframes(analysis):
            raise InvalidInput("no usable keyframes (all black/blurred/transition)")

    def plan(self, analysis: Analysis, params: ThumbnailParams) -> ThumbnailPlan:
        """Score and pick without rendering (cheap: for previews and explanations)."""
        self.check_inputs(analysis, params)
        picks = {
            segment: select_top_k(score_keyframes_for_segment(analysis, segment), params.top_k)
            for segment in dict.fromkeys(params.segments)
        }
        return ThumbnailPlan(picks, rejected_keyframes(analysis), len(eligible_keyframes(analysis)))

    def generate(
        self, analysis: Analysis, source_path: Path, params: ThumbnailParams, out_dir: Path
    ) -> list[GeneratedFile]:
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

        # 2. decode every picked frame once, at full size
        keyframes: dict[int, Keyframe] = {s.frame: s.keyframe for picks in plan.picks.values() for s in picks}
        try:
            arrays = read_frames_rgb(source_path, [(kf.frame, kf.pts) for kf in keyframes.values()])
        except (OSError, av.FFmpegError) as e:
            raise GenerationError(f"could not read frames from {source_path.name}: {e}") from e
        read_done = time.perf_counter()
        images = {frame: Image.fromarray(np.ascontiguousarray(arr)) for frame, arr in arrays.items()}

        # 3. source PNGs, crop plans and renders: once per frame / per (frame, format), in parallel
        def source_frame(frame: int) -> SourceFrame:
            return SourceFrame(frame, keyframes[frame].time, encode_source_frame(arrays[frame]))

        def render(frame: int, format_name: str) -> _Render:
            kf, image = keyframes[frame], images[frame]
            target_w, target_h = FORMATS[format_name]
            crop = plan_crop(image.width, image.height, target_w, target_h, kf.faces, kf.features.saliency_box)
            rendered = render_thumbnail(image, crop, kf.faces, params.title_text)
            return _Render(crop, rendered, {output: encode(rendered.image, output) for output in outputs})

        with ThreadPoolExecutor(max_workers=_worker_count()) as pool:
            # PNGs are the longest jobs (~150 ms for a 1080p frame): start them first so that none
            # is left running alone at the end
            png_jobs = {f: pool.submit(source_frame, f) for f in keyframes}
            render_jobs = {(f, fmt): pool.submit(render, f, fmt) for f in keyframes for fmt in formats}
            renders = {key: job.result() for key, job in render_jobs.items()}
            sources = {f: job.result() for f, job in png_jobs.items()}
        render_done = time.perf_counter()

        # 4. write one file per segment x rank x format x output, each with its recipe
        files = []
        for segment, picks in plan.picks.items():
            for rank, scored in enumerate(picks, start=1):
                for format_name in formats:
                    r = renders[(scored.frame, format_name)]
                    for output in outputs:
                        name = variant_filename(segment, format_name, rank, scored.frame, output)
                        files.append(
                            GeneratedFile(
                                path=write_thumbnail(r.data[output], out_dir, name),
                                kind=self.kind,
                                mime=OUTPUT_TYPES[output][1],
                                width=r.plan.target_width,
                                height=r.plan.target_height,
                                recipe=self._recipe(analysis, params, plan, segment, format_name, output, rank, scored, r),
                                actions=r.rendered.actions,
                                source_frame=sources[scored.frame],
                                segment=segment,
                                format=format_name,
                            )
                        )
        log.info(
            "thumbnail.generate source=%s frames=%d renders=%d files=%d read_s=%.3f render_s=%.3f total_s=%.3f",
            analysis.source_sha256[:12], len(keyframes), len(renders), len(files),
            read_done - started, render_done - read_done, time.perf_counter() - started,
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
            "crop": r.plan.to_dict(),
            "faces_kept": r.plan.faces_kept,
            "faces_total": r.plan.faces_total,
            "upscaled": r.plan.upscaled,
            "title": None if r.rendered.title is None else r.rendered.title.to_dict(),
            "selection": {
                "method": "mmr",
                "lambda": LAMBDA,
                "eligible_keyframes": plan.eligible,
                "rejected_keyframes": len(plan.rejected),
            },
        }
        return Recipe(self.kind, self.version, parameters, analysis.source_sha256, details)


def _check_names(what: str, given: tuple[str, ...], known: tuple[str, ...]) -> None:
    if isinstance(given, str) or not given:
        raise InvalidInput(f"{what}s must be a non-empty tuple of names; known: {', '.join(known)}")
    unknown = [g for g in given if g not in known]
    if unknown:
        raise InvalidInput(f"unknown {what}(s) {', '.join(map(repr, unknown))}; known: {', '.join(known)}")
