"""``workbench thumbnails TITLE``: the thumbnail kind's friendly command, as the options that
build its parameters (the CLI adds TITLE and --json; the generic command is
``workbench generate thumbnail TITLE --set ...``)."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from generators.thumbnails.generator import ThumbnailParams
from workbench.errors import InvalidInput


def thumbnails(
    segments: Annotated[Optional[str], typer.Option(help="Comma-separated audience segments (default: all).")] = None,
    formats: Annotated[Optional[str], typer.Option(help="Comma-separated formats: 16x9,2x3,1x1,9x16 (default: all).")] = None,
    top_k: Annotated[int, typer.Option("--top-k", help="Variants per segment and format.")] = 3,
    text: Annotated[Optional[str], typer.Option("--text", help="Title text treatment to draw.")] = None,
    webp: Annotated[bool, typer.Option(help="Also write WebP.")] = False,
    treatment: Annotated[Optional[str], typer.Option(help="outpaint (extend to the format instead of cropping), restyle (per-segment look) or clean (remove text/logos).")] = None,
    engine: Annotated[str, typer.Option(help="auto (the model when WORKBENCH_DIFFUSION_MODEL is set), model or classical.")] = "auto",
    seed: Annotated[int, typer.Option(help="Seed of the model treatment.")] = 0,
    steps: Annotated[Optional[int], typer.Option(help="Denoising steps (default WORKBENCH_DIFFUSION_STEPS).")] = None,
    strength: Annotated[Optional[float], typer.Option(help="How far a model treatment may move from the frame, 0-1.")] = None,
    prompt: Annotated[Optional[str], typer.Option(help="Prompt instead of the segment's template.")] = None,
    negative_prompt: Annotated[Optional[str], typer.Option("--negative-prompt", help="Negative prompt instead of the default.")] = None,
    region: Annotated[Optional[list[str]], typer.Option(help="Clean-up region x,y,w,h in 0-1 of the frame (repeatable; default: detect text).")] = None,
) -> ThumbnailParams:
    """Personalized thumbnails per audience segment, cropped for every placement, C2PA-signed."""
    from generators.diffusion.treatments import TreatmentParams

    kwargs: dict[str, Any] = {"top_k": top_k, "title_text": text, "output": ("jpeg", "webp") if webp else ("jpeg",)}
    if treatment:
        regions = tuple(_region(r) for r in region or ())
        kwargs["treatment"] = TreatmentParams(treatment, engine, seed, steps, strength=strength, prompt=prompt,  # type: ignore[arg-type]
                                              negative_prompt=negative_prompt, regions=regions)
    if segments:
        kwargs["segments"] = tuple(s.strip() for s in segments.split(",") if s.strip())
    if formats:
        kwargs["formats"] = tuple(s.strip() for s in formats.split(",") if s.strip())
    return ThumbnailParams(**kwargs)


def _region(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise InvalidInput(f"region {text!r}: give x,y,w,h as four numbers from 0 to 1")
    return values  # type: ignore[return-value]
