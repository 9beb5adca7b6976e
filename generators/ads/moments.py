"""Stable moments: where a pause ad may sit. A moment is a held stretch of at least
:data:`MIN_HOLD_S` inside one shot (never across a cut, never in a fade or dissolve), around a
keyframe that is sharp, still, and not flagged black, blurred or in a transition."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from workbench.analysis.types import Analysis, Keyframe, Shot

MIN_HOLD_S = 3.0
MIN_SHARPNESS = 40.0  # variance of the Laplacian on the 640-wide keyframe
MAX_MOTION = 0.08  # mean absolute frame difference (0..1)
EDGE_S = 0.2  # kept clear of a cut


@dataclass(frozen=True)
class Moment:
    shot: int
    start: float  # the held stretch, seconds on the analysis clock
    end: float
    frame: int  # the keyframe the still is made from
    time: float
    pts: int | None
    sharpness: float
    motion: float

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _clear_spans(analysis: Analysis, shot: Shot) -> list[tuple[float, float]]:
    """The parts of a shot outside every fade and dissolve, kept clear of its cuts."""
    spans = [(shot.start_time + EDGE_S, shot.end_time - EDGE_S)]
    fps = analysis.fps or 25.0
    for t in analysis.transitions:
        if t.kind == "cut":
            continue
        a = t.start_time if t.start_time is not None else t.start_frame / fps
        b = t.end_time if t.end_time is not None else (t.end_frame + 1) / fps
        out = []
        for s, e in spans:
            if b <= s or a >= e:
                out.append((s, e))
                continue
            if a > s:
                out.append((s, a))
            if b < e:
                out.append((b, e))
        spans = out
    return [(s, e) for s, e in spans if e - s > 0]


def usable_keyframe(k: Keyframe) -> bool:
    return not k.flags and k.features.sharpness >= MIN_SHARPNESS and k.motion <= MAX_MOTION


def stable_moments(analysis: Analysis, min_hold_s: float = MIN_HOLD_S) -> list[Moment]:
    """At most one moment per shot (its sharpest usable keyframe in a long enough clear span)."""
    moments = []
    by_shot: dict[int, list[Keyframe]] = {}
    for k in analysis.keyframes:
        by_shot.setdefault(k.shot, []).append(k)
    for shot in analysis.shots:
        if shot.motion > MAX_MOTION:
            continue
        spans = [sp for sp in _clear_spans(analysis, shot) if sp[1] - sp[0] >= min_hold_s]
        best = None
        for k in by_shot.get(shot.index, ()):
            if not usable_keyframe(k):
                continue
            span = next((sp for sp in spans if sp[0] <= k.time <= sp[1]), None)
            if span is None:
                continue
            if best is None or k.features.sharpness > best[0].features.sharpness:
                best = (k, span)
        if best is None:
            continue
        k, (s, e) = best
        half = min_hold_s / 2
        start = min(max(s, k.time - half), e - min_hold_s)
        moments.append(Moment(shot.index, round(start, 4), round(min(e, start + max(min_hold_s, e - s)), 4),
                              k.frame, k.time, k.pts, round(k.features.sharpness, 2), round(k.motion, 4)))
    return moments
