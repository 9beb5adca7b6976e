"""The localized kind: key art per locale × placement, the segment's best frame (chosen by the
thumbnail engine) cropped to each placement with the localized title, tagline, call to action,
availability date and legal line fitted into safe boxes off faces and salient regions, each
checked for missing glyphs, fit, contrast (measured on the pixels) and faces, with the flags on
the output.

Recipe keys hold each locale's own texts (not the strings set's hash), so a corrected
translation regenerates only the locales whose text changed; the rest are reused.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from generators.audience.segments import SEGMENTS
from generators.base import CreativeKind, Explanation, GenerationContext
from generators.localization.contrast import ContrastResult, over_face
from generators.localization.fit import TextLayout
from generators.localization.fonts import (
    FontMissing,
    detect_script,
    font_for,
    require_raqm,
)
from generators.localization.keyart import (
    FIELD_STYLES,
    KEY_ART_FORMATS,
    choose_block,
    draw_copy,
    fit_copy,
)
from generators.localization.strings import (
    FIELDS,
    StringsSet,
    check_strings,
    normalize_locale,
)
from generators.localization.texts import (
    copy_lines,
    copy_record,
    source_texts,
    texts_for,
)
from generators.params import Choice, KindParams, Names, Spec, Text, param
from workbench.creative import (
    EditAction,
    Ingredient,
    Output,
    OutputFile,
    Recipe,
    Slot,
    SourceFrame,
)
from workbench.errors import GenerationError, InvalidInput
from workbench.ids import shown

DATE_STYLES = ("long", "short")
MAX_LOCALES = 200
STRING_FLAGS = ("untranslated", "placeholder_mismatch", "preshaped_input", "too_long", "control_characters", "bidi_controls")

log = logging.getLogger(__name__)
# The last frame read and its placements' crops (never drawn on: each render draws on a copy).
_FRAMES: dict[tuple[Any, ...], tuple[Image.Image, SourceFrame, dict[str, tuple[Any, ...]]]] = {}
_FRAMES_LOCK = threading.Lock()


@dataclass(frozen=True)
class LocaleCodes(Spec):
    """A list of locale codes checked against CLDR (Babel); empty means every locale of the set."""

    max_items: int = MAX_LOCALES

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "maxItems": self.max_items, "items": {"type": "string", "maxLength": 35}}

    def check(self, name: str, value: Any) -> None:
        if isinstance(value, str) or not isinstance(value, (tuple, list)):
            raise InvalidInput(f"{name} must be a list of locale codes such as de, ar-EG, zh-Hant")
        if len(value) > self.max_items:
            raise InvalidInput(f"{name}: at most {self.max_items} locales, got {len(value)}")
        for v in value:
            normalize_locale(v)

    def from_json(self, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    def to_json(self, value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value

    def from_text(self, name: str, text: str) -> Any:
        return tuple(part.strip() for part in text.split(",") if part.strip())


@dataclass(frozen=True)
class LocalizedParams(KindParams):
    unknown_noun: ClassVar[str] = "localized parameter"

    strings: str | None = param(None, Text(64, label="strings", min_len=64))  # sha256 of an imported strings set
    locales: tuple[str, ...] = param((), LocaleCodes())  # empty: every locale of the set
    formats: tuple[str, ...] = param(tuple(KEY_ART_FORMATS), Names(noun="format", values=tuple(KEY_ART_FORMATS)))
    segment: str = param("action", Choice(noun="segment", values=SEGMENTS))
    date_style: str = param("long", Choice(noun="date style", values=DATE_STYLES))

    def check_together(self) -> None:
        if self.strings is None:
            raise InvalidInput("strings is required: import translations first (`workbench strings import FILE`) and pass its sha256")
        if not re.fullmatch(r"[0-9a-f]{64}", self.strings):
            raise InvalidInput(f"strings must be the sha256 of an imported strings set, got {shown(self.strings)}")


@dataclass(frozen=True)
class _Field:
    name: str
    text: str
    layout: TextLayout
    contrast: ContrastResult
    over_face: bool

    def to_dict(self) -> dict[str, Any]:
        return {**self.layout.to_dict(), "text": self.text, "contrast": self.contrast.to_dict(), "over_face": self.over_face}


@dataclass
class _Timings:
    """Seconds spent per step over one generate call (logged; the benchmark splits renders by it)."""

    frame_s: float = 0.0  # the frame picked, read and cropped per placement (shared by the locales)
    layout_s: float = 0.0  # block choice, shaping, fitting
    draw_s: float = 0.0  # masks, contrast measured on the pixels, scrims
    encode_s: float = 0.0

    def add(self, layout: float, draw: float, encode: float) -> None:
        self.layout_s += layout
        self.draw_s += draw
        self.encode_s += encode


class LocalizationKind(CreativeKind):
    kind: ClassVar[str] = "localized"
    label: ClassVar[str] = "Localized artwork"
    version: ClassVar[str] = "0.2.0"  # 0.2: the copy beside its source in the recipe; 9x16
    Params = LocalizedParams
    explain_heading: ClassVar[str] = "How the text was fitted"

    # -- parameters ---------------------------------------------------------------------------

    def fan_out(self, item: Mapping[str, Any]) -> list[dict[str, Any]]:
        """One job per locale (a failing locale does not stop the others): the locales named, or
        with none named every locale of the stored set. Placements share a job (they share a frame)."""
        params = LocalizedParams.from_dict(item)
        data = params.to_dict()
        data["formats"] = [f for f in KEY_ART_FORMATS if f in params.formats]
        locales = list(dict.fromkeys(params.locales)) or self._stored_locales(params)
        return [{**data, "locales": [loc]} for loc in locales] if locales else [data]

    def _stored_locales(self, params: LocalizedParams) -> list[str]:
        """The locales of the stored strings set; none when it cannot be read here (then one job
        for the whole set, which says why when it runs)."""
        from generators.localization.store import load_strings
        from workbench.errors import WorkbenchError

        try:
            return list(load_strings(params.strings).codes) if params.strings else []
        except (WorkbenchError, OSError):
            return []

    def gather_inputs(self, params: LocalizedParams, reader: Any) -> dict[str, Any]:
        from generators.localization.store import STRINGS_EXT, read_stored_strings

        strings = read_stored_strings(reader.stored_path(params.strings, STRINGS_EXT), params.strings)
        self._locales(params, strings)  # unknown locales fail here, before the analysis
        return {"strings": strings}

    def _locales(self, params: LocalizedParams, strings: StringsSet) -> list[str]:
        if not params.locales:
            return list(strings.codes)
        wanted = list(dict.fromkeys(normalize_locale(v) for v in params.locales))
        unknown = [c for c in wanted if c not in strings.codes]
        if unknown:
            raise InvalidInput(f"the strings set has no {', '.join(unknown)}; it has {', '.join(strings.codes)}")
        return wanted

    # -- generation ---------------------------------------------------------------------------

    def _strings(self, context: GenerationContext, params: LocalizedParams) -> StringsSet:
        strings = context.inputs.get("strings")
        if strings is None:
            from generators.localization.store import load_strings

            strings = load_strings(params.strings, context.settings)
        return strings

    def check_inputs(self, context: GenerationContext, params: LocalizedParams) -> None:
        from generators.audience.scoring import eligible_keyframes
        from generators.thumbnails.generator import no_usable_frames_message

        if not eligible_keyframes(context.analysis):
            raise InvalidInput(no_usable_frames_message(context.analysis))
        strings = self._strings(context, params)
        for code in self._locales(params, strings):  # every font is there before anything is drawn
            for f in FIELDS:
                text = strings.get(code).get(f) or strings.source.get(f)
                if text and f != "date":
                    font = font_for(detect_script(text, code), FIELD_STYLES[f]["weight"])
                    if font.complex or font.rtl:  # and the shaping engine: refused here, not drawn wrong
                        require_raqm()

    def generate(self, context: GenerationContext, params: LocalizedParams) -> list[Output]:
        from generators.imaging.crop import apply_crop, plan_crop
        from generators.thumbnails.generator import (
            ThumbnailGenerator,
            ThumbnailParams,
            faces_in_output,
        )
        from workbench.media.frames import encode_source_frame, read_frames_rgb

        started = time.perf_counter()
        # 1. the strings and the locales asked for, with the import's flags per locale
        strings = self._strings(context, params)
        locales = self._locales(params, strings)
        report = check_strings(strings)
        # 2. the segment's best frame, as the thumbnail engine picks it
        plan = ThumbnailGenerator().plan(context.analysis, ThumbnailParams(segments=(params.segment,), top_k=1))
        picks = plan.picks.get(params.segment) or []
        if not picks:
            raise InvalidInput(f"no frame of {context.title_name!r} suits the {params.segment} segment")
        scored = picks[0]
        kf = scored.keyframe
        # 3. the frame and, per placement, the crop and where faces and the salient region land in
        # it: the same for every locale, so a worker's next job for this title reuses them
        frame_key = (context.source_sha256, kf.frame, kf.pts, repr(kf.faces), repr(kf.features.saliency_box))
        with _FRAMES_LOCK:
            cached = _FRAMES.get(frame_key)
        if cached is None:
            try:
                rgb = read_frames_rgb(context.source, [(kf.frame, kf.pts)])[kf.frame]
            except (OSError, KeyError) as exc:
                raise GenerationError(f"could not read frame {kf.frame} of {context.source.name}: {exc}") from exc
            cached = (Image.fromarray(np.ascontiguousarray(rgb)), SourceFrame(kf.frame, kf.time, encode_source_frame(rgb)), {})
        frame_image, source_frame, bases = cached
        ingredient = Ingredient.from_source_frame(source_frame, context.title_name, context.source_sha256)
        for fmt in params.formats:
            if fmt in bases:
                continue
            tw, th = KEY_ART_FORMATS[fmt]
            crop = plan_crop(frame_image.width, frame_image.height, tw, th, kf.faces, kf.features.saliency_box)
            image, actions = apply_crop(frame_image, crop)
            faces = faces_in_output(kf.faces, crop.to_output, tw, th)
            sx0, sy0, sx1, sy1 = crop.to_output(kf.features.saliency_box)
            salient = (max(0.0, sx0 / tw), max(0.0, sy0 / th), max(0.0, min(1.0, sx1 / tw) - max(0.0, sx0 / tw)),
                       max(0.0, min(1.0, sy1 / th) - max(0.0, sy0 / th)))
            bases[fmt] = (image, tuple(actions), crop, faces, salient)
        with _FRAMES_LOCK:
            _FRAMES.clear()  # one frame kept (~30 MB with its four crops): the title being localized
            _FRAMES[frame_key] = cached
        timings = _Timings(frame_s=time.perf_counter() - started)
        # 4. per locale x placement: fit, draw legibly, flag
        outputs = []
        total = len(locales) * len(params.formats)
        for n_loc, code in enumerate(locales):
            texts = texts_for(strings, code, params.date_style)
            sources = source_texts(strings, code, params.date_style)
            string_flags = tuple(c for c in report.flags_of(code) if c in STRING_FLAGS)
            string_lines = [f for r in report.locales if r.locale == code for f in r.flags]
            for n_fmt, fmt in enumerate(params.formats):
                image, actions, crop, faces, salient = bases[fmt]
                out = self._render(context, params, code, fmt, image.copy(), actions, crop, faces, salient, texts, sources,
                                   string_flags, string_lines, scored, ingredient, timings)
                outputs.append(out)
                if context.on_step is not None:
                    context.on_step(n_loc * len(params.formats) + n_fmt + 1, total)
        # where the time went (the benchmark reads this line from a worker's log)
        log.info("localized.generate source=%s locales=%d renders=%d frame_s=%.3f layout_s=%.3f draw_s=%.3f encode_s=%.3f "
                 "total_s=%.3f", context.source_sha256[:12], len(locales), len(outputs), timings.frame_s, timings.layout_s,
                 timings.draw_s, timings.encode_s, time.perf_counter() - started)
        return outputs

    def _render(self, context: GenerationContext, params: LocalizedParams, code: str, fmt: str, image: Image.Image,
                crop_actions: tuple[EditAction, ...], crop: Any, faces: tuple[dict[str, float], ...],
                salient: tuple[float, float, float, float], texts: dict[str, str], sources: dict[str, str],
                string_flags: tuple[str, ...], string_lines: list[Any], scored: Any, ingredient: Ingredient,
                timings: _Timings) -> Output:
        from generators.imaging.encode import encode
        from workbench.analysis.types import Box

        tw, th = image.size
        t0 = time.perf_counter()
        # 1. the block off faces and the salient region, each field fitted in its share of it
        rtl = font_for(detect_script(texts.get("title", ""), code)).rtl
        block = choose_block(fmt, rtl, faces, salient)
        fitted = fit_copy(texts, code, (tw, th), block)
        t1 = time.perf_counter()
        # 2. draw them, with one scrim under the block when the pixels behind would not give 4.5:1
        contrasts = draw_copy(image, fitted)
        face_boxes = [Box(f["x"], f["y"], f["w"], f["h"]) for f in faces]
        fields = [_Field(f.name, f.text, f.layout, contrast,
                         over_face((f.box[0] / tw, f.box[1] / th, f.box[2] / tw, f.box[3] / th), face_boxes))
                  for f, contrast in zip(fitted, contrasts)]
        t2 = time.perf_counter()
        # 3. the flags, each with its reason
        reasons: list[dict[str, Any]] = [{"code": f.code, "field": f.field, "reason": f.message} for f in string_lines]
        flags: list[str] = list(string_flags)
        for f in fields:
            for code_, why in f.layout.reasons():
                flags.append(code_)
                reasons.append({"code": code_, "field": f.name, "reason": why})
            if not f.contrast.passes:
                flags.append("low_contrast")
                reasons.append({"code": "low_contrast", "field": f.name,
                                "reason": f"{f.contrast.ratio:.2f}:1 even with a {f.contrast.scrim:.0%} scrim (needs 4.5:1)"})
            if f.over_face:
                flags.append("over_face")
                reasons.append({"code": "over_face", "field": f.name, "reason": f"the {f.name} box covers a face"})
        flags = list(dict.fromkeys(flags))
        # 4. encode, and say what was done
        path = context.out_dir / f"localized_{params.segment}_{code}_{fmt}.jpg"
        path.write_bytes(encode(image, "jpeg"))
        t3 = time.perf_counter()
        timings.add(t1 - t0, t2 - t1, t3 - t2)
        fonts = sorted({f.layout.font.name for f in fields})
        drawing = EditAction("c2pa.drawing", {"locale": code, "fields": [f.name for f in fields], "fonts": fonts,
                                              "scrims": {f.name: f.contrast.scrim for f in fields if f.contrast.scrim}},
                             description=f"{code} text drawn (shaped with raqm), with a scrim where contrast needed one")
        kf = scored.keyframe
        by_field: dict[str, list[str]] = {}
        for r in reasons:
            by_field.setdefault(str(r.get("field")), []).append(r["code"])
        recipe = Recipe(
            generator=self.kind, generator_version=self.version,
            parameters={"locale": code, "format": fmt, "segment": params.segment, "date_style": params.date_style,
                        "texts": dict(texts), "title_name": context.title_name},
            source_sha256=context.source_sha256,
            details={
                "frame": kf.frame, "time": kf.time, "shot": kf.shot, "score": round(float(scored.total), 6),
                "crop": crop.to_dict(), "faces": [dict(f) for f in faces], "block": block[0],
                "fields": {f.name: f.to_dict() for f in fields}, "fonts": fonts,
                "flags": reasons, "size": [tw, th],
                # each text drawn beside its source-language text (what the reviewer compares)
                "copy": copy_record({f.name: f.text for f in fields}, sources, code, by_field),
            },
        )
        return Output(
            primary=OutputFile(path, "image/jpeg", width=tw, height=th),
            slot=Slot(format=fmt, output="jpg", segment=params.segment, locale=code),
            recipe=recipe, actions=(*crop_actions, drawing), ingredients=(ingredient,),
            score=round(float(scored.total), 4), qa_flags=tuple(flags),
        )

    # -- review -------------------------------------------------------------------------------

    def explain(self, recipe: Mapping[str, Any], score: float | None = None) -> Explanation:
        """The frame, where the text block went and why, each field's fit and contrast, the flags,
        and each text drawn beside its source (``copy``; empty for recipes made before it was kept)."""
        recipe = recipe or {}
        p, d = recipe.get("parameters") or {}, recipe.get("details") or {}
        facts: list[tuple[str, str]] = [("Frame", (f"frame {d.get('frame')} at {float(d.get('time') or 0):.2f} s, "
                                                   f"best for {p.get('segment')}")),
                                        ("Text block", f"{d.get('block')} (the placement with least face and saliency overlap)")]
        for name, f in (d.get("fields") or {}).items():
            sizes = f.get("sizes") or [None, None]
            facts.append((name, f"{f.get('font')} {f.get('size')}px (range {sizes[1]}-{sizes[0]}), {len(f.get('lines') or [])} "
                                f"line(s), {f.get('decision')}, contrast {f.get('contrast', {}).get('ratio')}:1"
                                + (f" with a {f['contrast']['scrim']:.0%} scrim" if f.get("contrast", {}).get("scrim") else "")))
        for flag in d.get("flags") or []:
            facts.append((f"Flag {flag.get('code')}", str(flag.get("reason") or flag.get("field"))))
        return Explanation(
            heading=self.explain_heading,
            summary=f"{p.get('locale')} {p.get('format')} key art: {len(d.get('flags') or [])} flag(s)",
            generator=" ".join(str(recipe[k]) for k in ("generator", "generator_version") if recipe.get(k)) or None,
            score=score, facts=tuple(facts), model=None, seed=None,
            details={"fields": d.get("fields"), "flags": d.get("flags"), "block": d.get("block"), "texts": p.get("texts")},
            copy=copy_lines(d.get("copy")),
        )

    # -- the command line ---------------------------------------------------------------------

    def cli_apps(self) -> list[tuple[str, Any]]:
        """``workbench strings import FILE`` and ``workbench localize TITLE [--kinds thumbnail,trailer]``
        (a batch over locales and kinds, so a command of its own rather than this kind's alone)."""
        from generators.localization.cli import localize_batch, strings_app

        return [("strings", strings_app), ("localize", localize_batch)]

    @property
    def export_folder(self) -> str:
        return "localized"

    def deliveries(self, approved: Any) -> list[Any]:
        """The approved key art (and its sidecars) in a folder per locale: ``localized/ar-EG/...``."""
        from workbench.names import safe_filename

        locale = approved.row.locale or "und"
        return approved.own_files(f"{self.export_folder}/{safe_filename(locale, 20)}")


__all__ = ["KEY_ART_FORMATS", "FontMissing", "LocalizationKind", "LocalizedParams"]
