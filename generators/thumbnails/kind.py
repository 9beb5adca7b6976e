"""The thumbnail kind: personalized thumbnails per audience segment, cropped (or treated) for
every placement. Its engine is :class:`generators.thumbnails.generator.ThumbnailGenerator`; this
module is what the core sees of it (the :class:`CreativeKind` interface)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from generators.base import CreativeKind, Explanation, GenerationContext, KindCommand, Term, TweakSpec
from generators.diffusion.treatments import ENGINES, TREATMENTS, TreatmentParams
from generators.imaging.crop import CROP_SHIFTS, FORMATS
from generators.imaging.encode import OUTPUT_TYPES
from generators.thumbnails.generator import ThumbnailFile, ThumbnailGenerator, ThumbnailParams
from generators.audience.segments import SEGMENTS
from workbench.creative import Ingredient, Output, OutputFile, Slot
from workbench.errors import InvalidInput


def _in_table_order(given: Any, known: Any) -> list[str]:
    """Each name once, in the order of its table, so [2x3, 16x9] and [16x9, 2x3, 2x3] agree."""
    given = set(given)
    return [name for name in known if name in given]


class ThumbnailKind(CreativeKind):
    kind: ClassVar[str] = ThumbnailGenerator.kind
    label: ClassVar[str] = "Thumbnail"
    version: ClassVar[str] = ThumbnailGenerator.version
    Params = ThumbnailParams
    explain_heading: ClassVar[str] = "Why this frame"
    tweaks: ClassVar[tuple[TweakSpec, ...]] = (
        TweakSpec("frame", "Frame", choices=(("next", "Another frame"),)),
        TweakSpec("crop", "Crop", choices=tuple((d, f"Crop further {d}") for d in CROP_SHIFTS)),
        TweakSpec("treatment", "Treatment", choices=((None, "None"), *((t, t) for t in TREATMENTS))),
        TweakSpec("seed", "Seed", type="int", low=0, high=2**31 - 1, help="Another seed for a model treatment"),
        TweakSpec("engine", "Engine", choices=tuple((e, e) for e in ENGINES)),
    )

    def __init__(self) -> None:
        self.engine = ThumbnailGenerator()

    # -- parameters ---------------------------------------------------------------------------

    def fan_out(self, item: Mapping[str, Any]) -> list[dict[str, Any]]:
        # one job per segment (the unit that can fail, retry and be reviewed alone), in the brief's
        # order; formats and outputs are one job's parameters, so they go in table order
        segments = list(dict.fromkeys(item.get("segments", list(SEGMENTS))))
        shared: dict[str, Any] = {
            "formats": _in_table_order(item.get("formats", FORMATS), FORMATS),
            "top_k": item.get("top_k", ThumbnailParams.top_k),
            "title_text": item.get("title_text"),
            "output": _in_table_order(item.get("output", ThumbnailParams.output), OUTPUT_TYPES),
        }
        if item.get("treatment") is not None:
            shared["treatment"] = TreatmentParams.from_value(item["treatment"]).to_dict()
        return [{"segments": [segment], **shared} for segment in segments]

    def needs_model(self, params: ThumbnailParams, settings: Any) -> str | None:
        treatment = params.treatment
        if treatment is None or treatment.engine == "classical":
            return None
        if treatment.engine == "model" and not settings.diffusion_model:
            raise InvalidInput("engine=model asked for, but no diffusion model is configured (set WORKBENCH_DIFFUSION_MODEL)")
        return treatment.name if settings.diffusion_model else None

    # -- generation ---------------------------------------------------------------------------

    def _with_context(self, context: GenerationContext, params: ThumbnailParams) -> ThumbnailParams:
        params = replace(params, title_name=params.title_name or context.title_name)
        if params.treatment is not None:  # a treatment's recipe records the rights it ran under
            params = replace(params, rights=context.rights)
        return params

    def check_inputs(self, context: GenerationContext, params: ThumbnailParams) -> None:
        self.engine.check_inputs(context.analysis, params)

    def generate(self, context: GenerationContext, params: ThumbnailParams) -> list[Output]:
        files = self.engine.generate(context.analysis, context.source, self._with_context(context, params),
                                     context.out_dir, backend=context.backend, on_step=context.on_step)
        return [self._output(f, context) for f in files]

    def _output(self, f: ThumbnailFile, context: GenerationContext) -> Output:
        rank = int(f.recipe.details.get("rank", 1))
        score = f.recipe.details.get("score")
        total = float(score.get("total", 0.0)) if isinstance(score, dict) else float(score or 0.0)
        return Output(
            primary=OutputFile(f.path, f.mime, width=f.width, height=f.height),
            slot=Slot(format=f.format or "", output=f.path.suffix.lstrip("."), segment=f.segment, locale=f.locale, pick=rank),
            recipe=f.recipe,
            actions=f.actions,
            ingredients=(Ingredient.from_source_frame(f.source_frame, context.title_name, context.source_sha256),),
            score=total,
        )

    # -- review -------------------------------------------------------------------------------

    def explain(self, recipe: Mapping[str, Any], score: float | None = None) -> Explanation:
        """The frame and its score breakdown ("why this frame"), the crop and the treatment."""
        recipe = recipe or {}
        details = recipe.get("details") or {}
        params = recipe.get("parameters") or {}
        breakdown = details.get("score") if isinstance(details.get("score"), dict) else {}
        raw_terms = sorted((t for t in breakdown.get("terms", []) if isinstance(t, dict)),
                           key=lambda t: abs(float(t.get("contribution") or 0.0)), reverse=True)
        crop = details.get("crop") if isinstance(details.get("crop"), dict) else None
        total = breakdown.get("total", score)
        frame, time_s, shot = details.get("frame"), details.get("time"), details.get("shot")
        segment = breakdown.get("segment", params.get("segment"))

        parts = []
        if frame is not None:
            when = f" at {float(time_s):.2f} s" if time_s is not None else ""
            parts.append(f"frame {frame}{when}" + (f" (shot {shot})" if shot is not None else ""))
        if details.get("rank") is not None:
            parts.append(f"pick {details['rank']}" + (f" for {segment}" if segment else ""))
        if total is not None:
            parts.append(f"score {float(total):.3f}")
        top = ", ".join(f"{t.get('feature')} {float(t.get('contribution') or 0.0):+.3f}" for t in raw_terms[:3])

        crop_text = None
        if crop:
            box, src = crop.get("box") or {}, crop.get("source_size") or [None, None]
            crop_text = (
                f"{box.get('width')}x{box.get('height')} window at ({box.get('x')}, {box.get('y')}) of "
                f"{src[0]}x{src[1]}, {crop.get('strategy')}"
            )
            if crop.get("faces_total"):
                crop_text += f", faces kept {crop.get('faces_kept')}/{crop.get('faces_total')}"
            if crop.get("upscaled"):
                crop_text += ", upscaled"
        model = recipe.get("model")
        facts = [("Strongest terms", top), ("Crop", crop_text)]
        treatment = details.get("treatment") if isinstance(details.get("treatment"), dict) else None
        if treatment:
            facts.append(("Treatment", f"{treatment.get('name', '')} ({'model' if model else 'classical'})".strip()))
        return Explanation(
            heading=self.explain_heading,
            summary=", ".join(parts) or None,
            generator=" ".join(str(recipe[k]) for k in ("generator", "generator_version") if recipe.get(k)) or None,
            score=None if total is None else float(total),
            terms=tuple(Term(str(t.get("feature")), float(t.get("contribution") or 0.0), t.get("weight"),
                             t.get("normalised"), t.get("raw")) for t in raw_terms),
            facts=tuple((label, text) for label, text in facts if text),
            model=model,
            seed=recipe.get("seed"),
            details={
                "frame": frame, "time": time_s, "shot": shot, "rank": details.get("rank"), "segment": segment,
                "crop": crop, "crop_text": crop_text, "selection": details.get("selection"),
                "treatment": {"title_text": params.get("title_text"), "title": details.get("title"),
                              "output": params.get("output"), "model": model},
            },
        )

    def apply_tweak(self, recipe: Mapping[str, Any], tweak: Mapping[str, Any]) -> ThumbnailParams:
        """Another frame (this variant's frame, and any an earlier regeneration excluded, is left
        out), the crop window moved, another treatment (None: none), another seed or engine."""
        known = [t.name for t in self.tweaks]
        unknown = set(tweak) - set(known)
        if unknown:
            raise InvalidInput(f"unknown tweak(s) {', '.join(sorted(unknown))}; known: {', '.join(known)}")
        p = recipe.get("parameters") or {}
        details = recipe.get("details") or {}
        rank = int(p.get("rank", 1))
        exclude = list(p.get("exclude_frames") or [])
        if tweak.get("frame") is not None:
            if tweak["frame"] != "next":
                raise InvalidInput("frame tweak must be 'next'")
            exclude.append(int(details["frame"]))
        crop = tweak.get("crop", p.get("crop_shift"))
        if crop is not None and crop not in CROP_SHIFTS:
            raise InvalidInput(f"crop tweak must be one of {', '.join(CROP_SHIFTS)}")
        treatment = TreatmentParams.from_value(p.get("treatment"))
        if "treatment" in tweak:
            if tweak["treatment"] is None:
                treatment = None
            elif treatment is None:
                treatment = TreatmentParams(tweak["treatment"])
            else:  # another treatment keeps engine, seed, steps, guidance and working size; not its prompt or regions
                treatment = replace(treatment, name=tweak["treatment"], strength=None, prompt=None, negative_prompt=None,
                                    regions=())
        if "seed" in tweak or "engine" in tweak:
            if treatment is None:
                raise InvalidInput("seed and engine tweaks need a treatment")
            treatment = replace(treatment, **{k: tweak[k] for k in ("seed", "engine") if k in tweak})
        params = ThumbnailParams(
            segments=(p["segment"],), formats=(p["format"],), top_k=max(rank, int(p.get("top_k", rank))), only_rank=rank,
            title_text=p.get("title_text"), output=(p.get("output", "jpeg"),), exclude_frames=tuple(exclude),
            crop_shift=crop, treatment=treatment,
        )
        if params.treatment is not None:
            params.treatment.check()
        return params

    def regenerate_params(self, params: ThumbnailParams) -> dict[str, Any]:
        data = params.to_dict()
        for derived in ("title_name", "rights"):  # filled in when the job runs
            data.pop(derived, None)
        return data

    def cli_commands(self) -> list[KindCommand]:
        from generators.thumbnails.cli import thumbnails

        return [KindCommand("thumbnails", thumbnails)]

    # -- export -------------------------------------------------------------------------------

    def deliveries(self, approved: Any) -> list[Any]:
        """The thumbnail itself, IAB display sizes and the pause-ad still (see workbench.deliveries.stills)."""
        from workbench.deliveries.stills import still_deliveries

        return still_deliveries(approved, self.export_folder)
