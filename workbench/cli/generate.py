"""Generating creatives: the friendly per-kind commands."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from workbench.cli.output import Bar, JsonOpt, emit_json, guarded, say, table
from workbench.errors import InvalidInput


@guarded
def thumbnails(
    title: str,
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
    as_json: JsonOpt = False,
) -> None:
    """Personalized thumbnails per audience segment, cropped for every placement, C2PA-signed."""
    from generators.diffusion.treatments import TreatmentParams
    from generators.thumbnails.generator import ThumbnailParams
    from workbench import workflow

    kwargs: dict[str, Any] = {"top_k": top_k, "title_text": text, "output": ("jpeg", "webp") if webp else ("jpeg",)}
    if treatment:
        regions = tuple(_region(r) for r in region or ())
        kwargs["treatment"] = TreatmentParams(treatment, engine, seed, steps, strength=strength, prompt=prompt,  # type: ignore[arg-type]
                                              negative_prompt=negative_prompt, regions=regions)
    if segments:
        kwargs["segments"] = tuple(s.strip() for s in segments.split(",") if s.strip())
    if formats:
        kwargs["formats"] = tuple(s.strip() for s in formats.split(",") if s.strip())
    with Bar("analysing", not as_json) as bar:
        result = workflow.generate_thumbnails(title, ThumbnailParams(**kwargs), progress=bar)
    if as_json:
        emit_json(result)
        return
    table(("segment", "format", "pick", "score", "variant", "file"),
          ((v.segment or "-", v.format or "-", v.rank, f"{v.score:.3f}", f"{v.variant_id} v{v.version}", v.export_path)
           for v in result.variants))
    new = sum(not v.reused for v in result.variants)
    say(f"{len(result.variants)} signed variants ({new} new) for {result.title_name!r} in {result.seconds:.2f}s")


def _region(text: str) -> tuple[float, float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 4:
        raise InvalidInput(f"region {text!r}: give x,y,w,h as four numbers from 0 to 1")
    return values  # type: ignore[return-value]


def register(app: typer.Typer) -> None:
    app.command()(thumbnails)
