"""Mid-roll ad break markers: where a player (or a server-side ad inserter) may cut away to ads.

A candidate is a shot boundary of the title, never a point inside a shot. It is refused when
speech is near it (``speech_guard_s`` either side, ``analysis.audio.speech``), when it falls inside
a scene's dialogue (speech spans joined across gaps shorter than ``dialogue_gap_s``: a
conversation cut across shots is one dialogue, and a break never splits it), or when it lies in
the first or last ``edge_s`` seconds. The rest are scored: a fade to black (a ``fade_out`` ending
at the boundary, a ``fade_in`` starting there) is what an editor leaves for a break and scores
highest, then any fade, then a hard cut; a longer silence around the boundary adds a little.
The best are kept greedily at least ``min_spacing_s`` apart. Every candidate, kept or refused,
carries its reason.

Exported as a cue list (JSON) and as an IAB **VMAP 1.0** document whose ``vmap:AdBreak`` elements
point a player at an ad tag URL (``vmap:AdTagURI``). :func:`break_sidecars` writes both for a kind
to attach to its output.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from generators.ads.vast import duration_text, url_problem
from workbench.analysis.types import Analysis, Transition
from workbench.creative import OutputFile
from workbench.errors import InvalidInput

VMAP_NS = "http://www.iab.net/videosuite/vmap"
VMAP_VERSION = "1.0"
CUES_FORMAT = "creative-workbench/ad-breaks@1"
CUES_MIME = "application/json"
VMAP_MIME = "application/xml"
TemplateType = Literal["vast3", "vast4"]  # VMAP 1.0 names vast1-3; players that take VAST 4 accept "vast4"
BreakKind = Literal["fade_to_black", "fade", "cut"]

# what a boundary is worth before its silence bonus
KIND_SCORE: dict[str, float] = {"fade_to_black": 1.0, "fade": 0.75, "cut": 0.45}
SILENCE_FULL_S = 6.0  # this much silence on each side earns the whole silence bonus
SILENCE_WEIGHT = 0.25
FADE_NEAR_S = 0.25  # a fade ending / starting this close to the boundary belongs to it

ET.register_namespace("vmap", VMAP_NS)


@dataclass(frozen=True)
class BreakOptions:
    """How breaks are chosen; the defaults suit a feature-length title."""

    min_spacing_s: float = 300.0  # between two kept breaks
    edge_s: float = 120.0  # no break in the first or last this many seconds
    speech_guard_s: float = 1.5  # no speech this close to a break, either side
    dialogue_gap_s: float = 2.5  # speech spans closer than this are one dialogue
    max_breaks: int | None = None

    def check(self) -> None:
        for name in ("min_spacing_s", "edge_s", "speech_guard_s", "dialogue_gap_s"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v <= 86400:
                raise InvalidInput(f"ad breaks: {name} must be a number of seconds from 0 to 86400, got {v!r}")
        if self.max_breaks is not None and (not isinstance(self.max_breaks, int) or self.max_breaks < 1):
            raise InvalidInput(f"ad breaks: max_breaks must be a whole number of at least 1, got {self.max_breaks!r}")


@dataclass(frozen=True)
class BreakCandidate:
    time: float  # seconds on the analysis clock: the first frame of the shot after the break
    frame: int
    shot_before: int
    shot_after: int
    kind: BreakKind
    score: float  # 0 when refused
    reason: str
    terms: dict[str, float] = field(default_factory=dict)
    silence_before_s: float = 0.0
    silence_after_s: float = 0.0
    kept: bool = False
    break_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("time", "silence_before_s", "silence_after_s"):
            d[k] = round(d[k], 3)
        d["time_offset"] = duration_text(self.time)
        return d


@dataclass(frozen=True)
class BreakPlan:
    breaks: tuple[BreakCandidate, ...]  # kept, in time order
    candidates: tuple[BreakCandidate, ...]  # every boundary, kept or not, in time order
    options: BreakOptions

    def to_dict(self) -> dict[str, Any]:
        return {"format": CUES_FORMAT, "options": asdict(self.options), "breaks": [b.to_dict() for b in self.breaks],
                "candidates": [c.to_dict() for c in self.candidates]}


def _t(tr: Transition, fps: float, end: bool) -> float:
    if end:
        return tr.end_time if tr.end_time is not None else (tr.end_frame + 1) / fps
    return tr.start_time if tr.start_time is not None else tr.start_frame / fps


def dialogue_spans(analysis: Analysis, gap_s: float) -> list[tuple[float, float]]:
    """Speech spans joined across gaps shorter than ``gap_s``: the stretches a break may not split."""
    spans = sorted((s.start, s.end) for s in analysis.audio.speech)
    out: list[list[float]] = []
    for a, b in spans:
        if out and a - out[-1][1] < gap_s:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _boundary_kind(analysis: Analysis, t: float) -> tuple[BreakKind, list[str]]:
    """A fade out ending at (or running over) the boundary ``t`` and a fade in starting there."""
    fps = analysis.fps or 25.0
    near = FADE_NEAR_S + 1 / fps
    out_fade = in_fade = None
    for tr in analysis.transitions:
        start, end = _t(tr, fps, False), _t(tr, fps, True)
        if tr.kind == "fade_out" and (abs(end - t) <= near or start <= t <= end):
            out_fade = tr
        elif tr.kind == "fade_in" and (abs(start - t) <= near or start <= t <= end):
            in_fade = tr
    notes = []
    if out_fade is not None:
        notes.append("fade out" + (f" to {out_fade.colour}" if out_fade.colour else "") + " before")
    if in_fade is not None:
        notes.append("fade in" + (f" from {in_fade.colour}" if in_fade.colour else "") + " after")
    if not notes:
        return "cut", ["hard cut"]
    black = any(f is not None and f.colour == "black" for f in (out_fade, in_fade))
    return ("fade_to_black" if black else "fade"), notes


def find_breaks(analysis: Analysis, options: BreakOptions | None = None) -> BreakPlan:
    """Every shot boundary as a candidate, refused or scored; the kept ones at least
    ``min_spacing_s`` apart, best first, then listed in time order."""
    # 1. check inputs
    options = options or BreakOptions()
    options.check()
    speech = sorted((s.start, s.end) for s in analysis.audio.speech)
    dialogues = dialogue_spans(analysis, options.dialogue_gap_s)
    end = analysis.duration
    # 2. every boundary: refused with its reason, or scored
    rows: list[BreakCandidate] = []
    for before, after in zip(analysis.shots, analysis.shots[1:]):
        t = after.start_time
        kind, notes = _boundary_kind(analysis, t)
        prev_end = max((b for a, b in speech if b <= t), default=0.0)
        next_start = min((a for a, b in speech if a >= t), default=end)
        quiet_before, quiet_after = max(0.0, t - prev_end), max(0.0, next_start - t)
        base = {"time": round(t, 6), "frame": after.start_frame, "shot_before": before.index, "shot_after": after.index,
                "kind": kind, "silence_before_s": quiet_before, "silence_after_s": quiet_after}
        refusal = None
        if t < options.edge_s or t > end - options.edge_s:
            refusal = f"within {options.edge_s:g} s of the {'start' if t < options.edge_s else 'end'}"
        elif any(a < t < b for a, b in speech):
            refusal = "inside speech"
        elif any(a < t < b for a, b in dialogues):
            refusal = f"inside a dialogue (speech on both sides, less than {options.dialogue_gap_s:g} s apart)"
        elif quiet_before < options.speech_guard_s or quiet_after < options.speech_guard_s:
            refusal = (f"speech {min(quiet_before, quiet_after):.2f} s away (needs {options.speech_guard_s:g} s of "
                       "silence each side)")
        if refusal:
            rows.append(BreakCandidate(**base, score=0.0, reason=refusal))
            continue
        silence = SILENCE_WEIGHT * min(1.0, min(quiet_before, quiet_after) / SILENCE_FULL_S)
        terms = {"boundary": KIND_SCORE[kind], "silence": round(silence, 4)}
        score = round(sum(terms.values()), 4)
        reason = (f"{', '.join(notes)}; silence {quiet_before:.1f} s before and {quiet_after:.1f} s after")
        rows.append(BreakCandidate(**base, score=score, reason=reason, terms=terms))
    # 3. keep the best, spaced
    kept: list[BreakCandidate] = []
    for c in sorted((r for r in rows if r.score > 0), key=lambda r: (-r.score, r.time)):
        if options.max_breaks is not None and len(kept) >= options.max_breaks:
            break
        if all(abs(c.time - k.time) >= options.min_spacing_s for k in kept):
            kept.append(c)
    kept_times = {k.time for k in kept}
    order = sorted(kept, key=lambda k: k.time)
    ids = {k.time: f"midroll-{n}" for n, k in enumerate(order, 1)}
    out = []
    for r in rows:
        if r.time in kept_times:
            r = _replace(r, kept=True, break_id=ids[r.time])
        elif r.score > 0:
            r = _replace(r, reason=r.reason + f"; not kept: within {options.min_spacing_s:g} s of a better break")
        out.append(r)
    return BreakPlan(tuple(r for r in out if r.kept), tuple(out), options)


def _replace(c: BreakCandidate, **changes: Any) -> BreakCandidate:
    from dataclasses import replace

    return replace(c, **changes)


def check_ad_tag_url(url: str) -> str:
    """An https ad tag URL (a query and VAST macros allowed)."""
    if not isinstance(url, str) or len(url) > 2048:
        raise InvalidInput("ad_tag_url must be one https URL of at most 2048 characters")
    why = url_problem(url)
    if why:
        raise InvalidInput(f"ad_tag_url {why}")
    if not url.strip().startswith("https://"):
        raise InvalidInput(f"ad_tag_url must be https, got {url[:60]!r}")
    return url.strip()


def build_vmap(breaks: tuple[BreakCandidate, ...] | list[BreakCandidate], ad_tag_url: str, *,
               template_type: TemplateType = "vast3") -> bytes:
    """A VMAP 1.0 document: one linear ``vmap:AdBreak`` per break, each with an ``AdSource`` whose
    ``AdTagURI`` is ``ad_tag_url`` (escaped by the XML writer, never pasted into markup)."""
    check_ad_tag_url(ad_tag_url)
    if template_type not in ("vast3", "vast4"):
        raise InvalidInput(f"VMAP templateType must be vast3 or vast4, got {template_type!r}")
    q = lambda tag: f"{{{VMAP_NS}}}{tag}"
    root = ET.Element(q("VMAP"), {"version": VMAP_VERSION})
    for b in breaks:
        if not b.break_id:
            raise InvalidInput("a break in a VMAP needs its break_id (use find_breaks' kept breaks)")
        el = ET.SubElement(root, q("AdBreak"), {"timeOffset": duration_text(b.time), "breakType": "linear",
                                                "breakId": b.break_id})
        src = ET.SubElement(el, q("AdSource"), {"id": f"{b.break_id}-ad", "allowMultipleAds": "true",
                                                "followRedirects": "true"})
        tag = ET.SubElement(src, q("AdTagURI"), {"templateType": template_type})
        tag.text = ad_tag_url.strip()
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def validate_vmap(xml_bytes: bytes) -> list[str]:
    """Problems that make a VMAP 1.0 document unusable (empty: none). Parsed with defusedxml."""
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    try:
        root = DET.fromstring(xml_bytes, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        return [f"refused: {type(exc).__name__}"]
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    q = lambda tag: f"{{{VMAP_NS}}}{tag}"
    if root.tag != q("VMAP"):
        return [f"the root element must be vmap:VMAP in {VMAP_NS}, got {root.tag}"]
    problems = [] if root.get("version") == VMAP_VERSION else [f"VMAP version must be {VMAP_VERSION}"]
    ids = []
    for n, b in enumerate(root.findall(q("AdBreak")), 1):
        offset = b.get("timeOffset") or ""
        if offset not in ("start", "end") and not offset.endswith("%") and not offset.startswith("#"):
            import re

            if not re.fullmatch(r"\d{2}:[0-5]\d:[0-5]\d(\.\d{3})?", offset):
                problems.append(f"AdBreak {n}: timeOffset {offset!r} is not HH:MM:SS.mmm, start, end, n% or #n")
        if b.get("breakType") not in ("linear", "nonlinear", "display", "linear,nonlinear"):
            problems.append(f"AdBreak {n}: breakType {b.get('breakType')!r}")
        ids.append(b.get("breakId"))
        src = b.find(q("AdSource"))
        tag = None if src is None else src.find(q("AdTagURI"))
        if tag is None:
            problems.append(f"AdBreak {n}: needs vmap:AdSource/vmap:AdTagURI")
            continue
        if tag.get("templateType") not in ("vast1", "vast2", "vast3", "vast4", "proprietary"):
            problems.append(f"AdBreak {n}: AdTagURI templateType {tag.get('templateType')!r}")
        why = url_problem(tag.text)
        if why:
            problems.append(f"AdBreak {n}: AdTagURI {why}")
    if len(set(ids)) != len(ids):
        problems.append("breakId values must be unique")
    return problems


def break_sidecars(analysis: Analysis, out_dir: Path, ad_tag_url: str, *, options: BreakOptions | None = None,
                   template_type: TemplateType = "vast3", name: str = "ad_breaks") -> list[OutputFile]:
    """The cue list (role ``breaks.cues``) and the VMAP (role ``breaks.vmap``) of the title's
    mid-roll breaks, written under ``out_dir``, for a kind to attach as sidecars."""
    check_ad_tag_url(ad_tag_url)
    plan = find_breaks(analysis, options)
    vmap = build_vmap(plan.breaks, ad_tag_url, template_type=template_type)
    problems = validate_vmap(vmap)
    if problems:  # a bug here, not the user's input
        raise RuntimeError("the ad-break VMAP is invalid: " + "; ".join(problems))
    out_dir = Path(out_dir)
    cues = out_dir / f"{name}.cues.json"
    doc = {**plan.to_dict(), "source_sha256": analysis.source_sha256, "duration": round(analysis.duration, 3),
           "ad_tag_url": ad_tag_url, "template_type": template_type}
    cues.write_text(json.dumps(doc, indent=2, ensure_ascii=False), "utf-8")
    vmap_path = out_dir / f"{name}.vmap.xml"
    vmap_path.write_bytes(vmap)
    return [OutputFile(cues, CUES_MIME, role="breaks.cues"), OutputFile(vmap_path, VMAP_MIME, role="breaks.vmap")]


__all__ = [
    "VMAP_NS",
    "BreakCandidate",
    "BreakOptions",
    "BreakPlan",
    "break_sidecars",
    "build_vmap",
    "check_ad_tag_url",
    "dialogue_spans",
    "find_breaks",
    "validate_vmap",
]
