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
        """The frame and its score breakdown ("why this frame"), each term named as a creative
        would name it with what was measured, the crop and the treatment, and how much of the
        picture a model made (outpainted border, cleaned regions, or the whole look of a restyle)."""
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
        terms = tuple(Term(_term_words(t), float(t.get("contribution") or 0.0), t.get("weight"), t.get("normalised"),
                           t.get("raw")) for t in raw_terms)
        top = ", ".join(_TERM_WORDS.get(str(t.get("feature")), (str(t.get("feature")), None))[0].lower()
                        for t in raw_terms[:3] if float(t.get("contribution") or 0.0) > 0)

        crop_text = None
        if crop:
            box, src = crop.get("box") or {}, crop.get("source_size") or [None, None]
            crop_text = (f"a {box.get('width')}×{box.get('height')} window of the {src[0]}×{src[1]} frame, "
                         f"{_CROP_WORDS.get(str(crop.get('strategy')), str(crop.get('strategy')))}")
            if crop.get("faces_total"):
                crop_text += f"; keeps {crop.get('faces_kept')} of {crop.get('faces_total')} faces whole"
            if crop.get("upscaled"):
                crop_text += "; enlarged (the frame was smaller than the placement)"
        model = recipe.get("model")
        facts = [("Counted most", top), ("Crop", crop_text)]
        treatment = details.get("treatment") if isinstance(details.get("treatment"), dict) else None
        share, note = None, None
        if treatment:
            text, share, note = _treatment_words(treatment, bool(model))
            facts.append(("Treatment", text))
        return Explanation(
            heading=self.explain_heading,
            summary=", ".join(parts) or None,
            generator=" ".join(str(recipe[k]) for k in ("generator", "generator_version") if recipe.get(k)) or None,
            score=None if total is None else float(total),
            terms=terms,
            facts=tuple((label, text) for label, text in facts if text),
            model=model,
            seed=recipe.get("seed"),
            details={
                "frame": frame, "time": time_s, "shot": shot, "rank": details.get("rank"), "segment": segment,
                "crop": crop, "crop_text": crop_text, "selection": details.get("selection"),
                "treatment": {"title_text": params.get("title_text"), "title": details.get("title"),
                              "output": params.get("output"), "model": model},
                "model_share_note": note,
            },
            model_share=share,
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


# -- the explanation in a creative's words -------------------------------------------------------

def _percent(value: float) -> str:
    return f"{value * 100:.0f} %"


# feature -> (its name, what was measured, with units); the scale of each raw value is the
# transform table's (generators/audience/segments.py)
_TERM_WORDS: dict[str, tuple[str, Any]] = {
    "motion": ("Movement", lambda r: f"{_percent(r)} of the picture changes from frame to frame"),
    "contrast": ("Contrast", lambda r: f"brightness spread {r:.2f} (0.30 is hard light)"),
    "colourfulness": ("Colour", lambda r: f"colourfulness {r * 100:.0f} (80 is vivid)"),
    "brightness": ("Brightness", lambda r: f"{_percent(r)} average brightness"),
    "darkness": ("Darkness", lambda r: f"{_percent(r)} average brightness"),
    "warmth": ("Warm colours", lambda r: f"red-blue balance {r:+.2f} (+0.20 is warm)"),
    "coolness": ("Cool colours", lambda r: f"red-blue balance {r:+.2f} (−0.20 is cool)"),
    "face_presence": ("A face", lambda r: f"face found, {_percent(r)} sure" if r > 0 else "no face found"),
    "face_closeup": ("Face size", lambda r: f"largest face covers {_percent(r)} of the frame" if r > 0 else "no face"),
    "two_faces": ("Two people", lambda r: f"{int(r)} face{'s' if int(r) != 1 else ''}"),
    "group": ("A group", lambda r: f"{int(r)} face{'s' if int(r) != 1 else ''}"),
    "smile": ("Smile", lambda r: f"smile {_percent(r)} strong" if r > 0 else "no smile found"),
    "sharpness": ("Sharpness", lambda r: f"edge detail {r:.0f} (above 100 is crisp)"),
    "saliency_focus": ("One clear subject", lambda r: f"the eye-catching part covers {_percent(r)} of the frame"),
    "loudness": ("Loudness", lambda r: f"the shot's sound at {r:.1f} LUFS"),
}
_CROP_WORDS = {"centre": "centred", "saliency": "placed on the eye-catching part",
               "all_faces": "placed around the faces", "some_faces": "placed around the main faces"}


def _term_words(term: Mapping[str, Any]) -> str:
    """"Movement (12 % of the picture changes from frame to frame)": a term's name and reading."""
    feature = str(term.get("feature"))
    name, reading = _TERM_WORDS.get(feature, (feature.replace("_", " ").capitalize(), None))
    raw = term.get("raw")
    if raw is None:
        return f"{name} (not measured: counted as neutral)" if feature == "loudness" else name
    try:
        return f"{name} ({reading(float(raw))})" if reading else f"{name} ({float(raw):.3g})"
    except (TypeError, ValueError):
        return name


def _covered_share(boxes: Any) -> float:
    """The share of the picture that normalised boxes ``[x, y, w, h]`` cover together (overlaps
    counted once): the sweep over the boxes' left and right edges."""
    rects = [(float(x), float(y), float(x) + float(w), float(y) + float(h)) for x, y, w, h in boxes or ()]
    edges = sorted({v for r in rects for v in (r[0], r[2])})
    area = 0.0
    for left, right in zip(edges, edges[1:]):
        spans = sorted((r[1], r[3]) for r in rects if r[0] <= left and r[2] >= right)
        covered, top, bottom = 0.0, None, None
        for y0, y1 in spans:
            if bottom is None or y0 > bottom:
                covered += (bottom - top) if bottom is not None else 0.0
                top, bottom = y0, y1
            else:
                bottom = max(bottom, y1)
        covered += (bottom - top) if bottom is not None else 0.0
        area += covered * (right - left)
    return max(0.0, min(1.0, area))


def _treatment_words(treatment: Mapping[str, Any], model_ran: bool) -> tuple[str, float | None, str | None]:
    """A treatment in words, the share of the pixels a model made (None when no model made any)
    and what that share is."""
    name, engine = str(treatment.get("name") or "treatment"), treatment.get("engine")
    if engine == "none":
        return f"{name}: {treatment.get('note') or 'nothing to do'}", None, None
    by_model = engine == "model" or (engine is None and model_ran)
    if name == "outpaint":
        generated = float(treatment.get("generated_share") or 0.0)
        if by_model:
            return (f"outpainted by a model: the frame is real, {_percent(generated)} of the picture around it was "
                    "generated", generated, "the area around the frame was generated; the frame itself is real")
        return (f"outpainted classically: {_percent(generated)} of the picture around the frame is a blurred "
                "extension of it (no model)", None, None)
    if name == "clean":
        regions = treatment.get("regions") or {}
        boxes = regions.get("boxes") or []
        found = f"{len(boxes)} region{'s' if len(boxes) != 1 else ''} ({regions.get('source', 'detected')})"
        if by_model:
            return (f"cleaned up by a model: {found} of text or logos filled in", _covered_share(boxes),
                    "the cleaned-up regions were filled in by the model")
        return f"cleaned up classically: {found} filled by inpainting from the picture around them (no model)", None, None
    if name == "restyle":
        if by_model:
            return ("restyled by a model: the look comes from the model, the detail from the frame", 1.0,
                    "the look (colour and light) of the whole picture came from the model; its detail is the frame's")
        return "restyled classically: a colour grade (no model)", None, None
    return f"{name} ({'model' if by_model else 'classical'})", None, None
