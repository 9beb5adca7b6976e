"""Score keyframes for an audience segment, term by term, so every score can be explained.

A keyframe flagged black, blurred or transition is never eligible: ``rejected_keyframes`` says
which ones were dropped and why, ``score_keyframes_for_segment`` scores the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generators.audience.segments import FEATURES, TRANSFORMS, Segment, get_segment
from workbench.analysis.types import Analysis, Keyframe, Shot

# Flags that make a frame unusable as a thumbnail (see workbench.analysis.types.FrameFlag).
REJECTING_FLAGS: tuple[str, ...] = ("black", "blurred", "transition")


@dataclass(frozen=True)
class FeatureTerm:
    """One feature's share of a score: ``contribution == normalised * weight``."""

    feature: str
    raw: float | None
    normalised: float
    weight: float
    contribution: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "raw": None if self.raw is None else round(float(self.raw), 6),
            "normalised": round(self.normalised, 6),
            "weight": self.weight,
            "contribution": round(self.contribution, 6),
        }


@dataclass(frozen=True)
class ScoreBreakdown:
    """A keyframe's score for one segment: ``total`` is the sum of the terms' contributions."""

    segment: str
    total: float
    terms: tuple[FeatureTerm, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"segment": self.segment, "total": round(self.total, 6), "terms": [t.to_dict() for t in self.terms]}


@dataclass(frozen=True)
class Scored:
    keyframe: Keyframe
    shot: Shot | None
    breakdown: ScoreBreakdown

    @property
    def total(self) -> float:
        return self.breakdown.total

    @property
    def frame(self) -> int:
        return self.keyframe.frame


@dataclass(frozen=True)
class Rejected:
    """A keyframe that can never be a thumbnail, with the flags that ruled it out."""

    frame: int
    shot: int
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"frame": self.frame, "shot": self.shot, "reasons": list(self.reasons)}


def _segment(segment: Segment | str) -> Segment:
    return get_segment(segment) if isinstance(segment, str) else segment


def _shot_of(analysis: Analysis, kf: Keyframe) -> Shot | None:
    if 0 <= kf.shot < len(analysis.shots) and analysis.shots[kf.shot].index == kf.shot:
        return analysis.shots[kf.shot]
    return next((s for s in analysis.shots if s.index == kf.shot), None)


def rejection_reasons(kf: Keyframe) -> tuple[str, ...]:
    return tuple(flag for flag in REJECTING_FLAGS if flag in kf.flags)


def rejected_keyframes(analysis: Analysis) -> list[Rejected]:
    """The keyframes no segment may use, each with its reasons."""
    out = []
    for kf in analysis.keyframes:
        reasons = rejection_reasons(kf)
        if reasons:
            out.append(Rejected(kf.frame, kf.shot, reasons))
    return out


def eligible_keyframes(analysis: Analysis) -> list[Keyframe]:
    return [kf for kf in analysis.keyframes if not rejection_reasons(kf)]


def score_keyframe(kf: Keyframe, shot: Shot | None, segment: Segment | str) -> ScoreBreakdown:
    """Score one keyframe for one segment. Features the segment does not weight are left out."""
    seg = _segment(segment)
    terms = []
    for feature in FEATURES:
        weight = seg.weights.get(feature)
        if not weight:
            continue
        transform = TRANSFORMS[feature]
        raw = transform.raw(kf, shot)
        normalised = transform.normalise(raw)
        terms.append(FeatureTerm(feature, raw, normalised, weight, normalised * weight))
    return ScoreBreakdown(seg.name, sum(t.contribution for t in terms), tuple(terms))


def score_keyframes_for_segment(analysis: Analysis, segment: Segment | str) -> list[Scored]:
    """Every eligible keyframe scored for ``segment``, best first (ties: earlier frame first)."""
    seg = _segment(segment)
    scored = []
    for kf in eligible_keyframes(analysis):
        shot = _shot_of(analysis, kf)
        scored.append(Scored(kf, shot, score_keyframe(kf, shot, seg)))
    scored.sort(key=lambda s: (-s.total, s.frame))
    return scored
