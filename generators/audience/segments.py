"""Audience segments and the one table of feature weights the thumbnail scorer uses.

Every feature is first brought to 0..1 by the transform below, then multiplied by the
segment's weight; a keyframe's score is the sum of those contributions (so every score can be
explained term by term, see ``scoring.ScoreBreakdown``).

Feature transforms (``raw`` comes from ``workbench.analysis.types``):

| feature          | raw value                                   | normalised to 0..1                     |
|------------------|---------------------------------------------|----------------------------------------|
| motion           | max(keyframe motion, shot motion)           | min(1, raw / 0.15)                     |
| contrast         | luma standard deviation                     | min(1, raw / 0.30)                     |
| colourfulness    | Hasler & Suesstrunk / 100                   | min(1, raw / 0.80)                     |
| brightness       | mean luma                                   | raw                                    |
| darkness         | mean luma                                   | 1 - raw                                |
| warmth           | mean (R - B), -1..1                         | clip(raw / 0.20, 0, 1)                 |
| coolness         | mean (R - B), -1..1                         | clip(-raw / 0.20, 0, 1)                |
| face_presence    | highest face confidence (0 without faces)   | raw                                    |
| face_closeup     | largest face box area (fraction of frame)   | min(1, sqrt(raw) / 0.30)               |
| two_faces        | face count                                  | 1 when exactly 2, else 0               |
| group            | face count                                  | 1 when 3 or more, else 0               |
| smile            | strongest smile among the faces             | raw                                    |
| sharpness        | variance of the Laplacian (640-wide grey)   | 1 - exp(-raw / 100)                    |
| saliency_focus   | saliency box area (fraction of frame)       | 1 - raw                                |
| loudness         | shot integrated loudness, LUFS              | (raw + 40) / 30 clipped; None -> 0.5   |

Why these transforms: the divisors are where a feature stops telling frames apart on real
footage (a luma deviation of 0.3 is already a hard-lit frame; a face a third of the frame high is
a close-up), so one vivid frame cannot outweigh every other quality. ``sqrt`` turns a face's area
into its size, which is what a viewer sees. Missing loudness (silent or absent audio) is neutral.

Segment weights (positive: the segment looks for it; negative: the segment avoids it). The
positive weights of each segment add up to 1.0, so totals of different segments are comparable;
a total lies between the sum of the negative weights and 1.0.

| segment  | weights                                                                                       |
|----------|-----------------------------------------------------------------------------------------------|
| action   | motion .30, contrast .20, colourfulness .15, loudness .15, saliency_focus .10, sharpness .10  |
| romance  | two_faces .30, face_closeup .20, warmth .20, smile .15, saliency_focus .05, sharpness .10     |
| comedy   | smile .40, brightness .20, face_presence .20, colourfulness .10, sharpness .10                |
| drama    | face_closeup .35, contrast .20, darkness .15, face_presence .10, saliency_focus .10, sharpness .10 |
| family   | group .30, brightness .20, smile .20, colourfulness .20, sharpness .10                        |
| thriller | darkness .25, coolness .20, contrast .20, face_closeup .20, saliency_focus .05, sharpness .10 |
| horror   | darkness .30, coolness .20, contrast .20, saliency_focus .20, sharpness .10, colourfulness -.15 |
| kids     | colourfulness .30, brightness .25, smile .20, face_presence .10, sharpness .15, darkness -.15 |

The table in code is ``SEGMENTS`` below; this docstring mirrors it and a test keeps them equal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from workbench.analysis.types import Keyframe, Shot
from workbench.errors import InvalidInput

FEATURES: tuple[str, ...] = (
    "motion",
    "contrast",
    "colourfulness",
    "brightness",
    "darkness",
    "warmth",
    "coolness",
    "face_presence",
    "face_closeup",
    "two_faces",
    "group",
    "smile",
    "sharpness",
    "saliency_focus",
    "loudness",
)


def _clip01(value: float) -> float:
    return 0.0 if value <= 0.0 else 1.0 if value >= 1.0 else float(value)


def _loudness_raw(kf: Keyframe, shot: Shot | None) -> float | None:
    return None if shot is None else shot.loudness_lufs


def _loudness_norm(raw: float | None) -> float:
    return 0.5 if raw is None else _clip01((raw + 40.0) / 30.0)


@dataclass(frozen=True)
class FeatureTransform:
    """How one feature is read from a keyframe (``raw``) and brought to 0..1 (``normalise``)."""

    raw: Callable[[Keyframe, Shot | None], float | None]
    normalise: Callable[[float | None], float]


TRANSFORMS: Mapping[str, FeatureTransform] = MappingProxyType(
    {
        "motion": FeatureTransform(
            lambda kf, shot: max(kf.motion, shot.motion if shot is not None else 0.0),
            lambda r: _clip01(r / 0.15),
        ),
        "contrast": FeatureTransform(lambda kf, shot: kf.features.contrast, lambda r: _clip01(r / 0.30)),
        "colourfulness": FeatureTransform(lambda kf, shot: kf.features.colourfulness, lambda r: _clip01(r / 0.80)),
        "brightness": FeatureTransform(lambda kf, shot: kf.features.brightness, _clip01),
        "darkness": FeatureTransform(lambda kf, shot: kf.features.brightness, lambda r: _clip01(1.0 - r)),
        "warmth": FeatureTransform(lambda kf, shot: kf.features.warmth, lambda r: _clip01(r / 0.20)),
        "coolness": FeatureTransform(lambda kf, shot: kf.features.warmth, lambda r: _clip01(-r / 0.20)),
        "face_presence": FeatureTransform(
            lambda kf, shot: max((f.confidence for f in kf.faces), default=0.0), _clip01
        ),
        "face_closeup": FeatureTransform(
            lambda kf, shot: kf.largest_face_area, lambda r: _clip01(math.sqrt(max(r, 0.0)) / 0.30)
        ),
        "two_faces": FeatureTransform(lambda kf, shot: float(kf.face_count), lambda r: 1.0 if r == 2 else 0.0),
        "group": FeatureTransform(lambda kf, shot: float(kf.face_count), lambda r: 1.0 if r >= 3 else 0.0),
        "smile": FeatureTransform(lambda kf, shot: kf.smile, _clip01),
        "sharpness": FeatureTransform(
            lambda kf, shot: kf.features.sharpness, lambda r: _clip01(1.0 - math.exp(-max(r, 0.0) / 100.0))
        ),
        "saliency_focus": FeatureTransform(
            lambda kf, shot: kf.features.saliency_box.area, lambda r: _clip01(1.0 - r)
        ),
        "loudness": FeatureTransform(_loudness_raw, _loudness_norm),
    }
)


@dataclass(frozen=True)
class Segment:
    """One audience segment: a name, what it looks for in a frame, and the weights that say so."""

    name: str
    description: str
    weights: Mapping[str, float]


def _segment(name: str, description: str, **weights: float) -> Segment:
    return Segment(name, description, MappingProxyType(dict(weights)))


# The one table. Keep the module docstring in step with it (a test compares them).
SEGMENTS: Mapping[str, Segment] = MappingProxyType(
    {
        s.name: s
        for s in (
            _segment(
                "action", "intense, kinetic, punchy frames",
                motion=0.30, contrast=0.20, colourfulness=0.15, loudness=0.15, saliency_focus=0.10, sharpness=0.10,
            ),
            _segment(
                "romance", "close two-shots, warm tones, smiles",
                two_faces=0.30, face_closeup=0.20, warmth=0.20, smile=0.15, saliency_focus=0.05, sharpness=0.10,
            ),
            _segment(
                "comedy", "smiling faces in bright frames",
                smile=0.40, brightness=0.20, face_presence=0.20, colourfulness=0.10, sharpness=0.10,
            ),
            _segment(
                "drama", "close-ups, low-key hard light",
                face_closeup=0.35, contrast=0.20, darkness=0.15, face_presence=0.10, saliency_focus=0.10,
                sharpness=0.10,
            ),
            _segment(
                "family", "groups, bright, colourful, smiling",
                group=0.30, brightness=0.20, smile=0.20, colourfulness=0.20, sharpness=0.10,
            ),
            _segment(
                "thriller", "dark, cold, tense faces",
                darkness=0.25, coolness=0.20, contrast=0.20, face_closeup=0.20, saliency_focus=0.05, sharpness=0.10,
            ),
            _segment(
                "horror", "dark, cold, desaturated, one focal point",
                darkness=0.30, coolness=0.20, contrast=0.20, saliency_focus=0.20, sharpness=0.10,
                colourfulness=-0.15,
            ),
            _segment(
                "kids", "colourful, bright, cheerful, never dark",
                colourfulness=0.30, brightness=0.25, smile=0.20, face_presence=0.10, sharpness=0.15, darkness=-0.15,
            ),
        )
    }
)


def get_segment(name: str) -> Segment:
    try:
        return SEGMENTS[name]
    except KeyError:
        raise InvalidInput(f"unknown segment {name!r}; known: {', '.join(SEGMENTS)}") from None


def _check_table() -> None:
    for segment in SEGMENTS.values():
        unknown = set(segment.weights) - set(FEATURES)
        if unknown:
            raise AssertionError(f"segment {segment.name}: unknown features {sorted(unknown)}")
        positive = sum(w for w in segment.weights.values() if w > 0)
        if not math.isclose(positive, 1.0, abs_tol=1e-9):
            raise AssertionError(f"segment {segment.name}: positive weights add up to {positive}, not 1.0")


_check_table()
