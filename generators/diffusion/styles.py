"""Per-segment looks, in one table: the prompt a model restyle uses and the colour grade the
classical path applies. Both aim at the same look, so a title without a model still gets it.

A grade is: ``contrast`` (S-curve strength around mid-grey), ``saturation`` (multiplier),
``warmth`` (+ pushes red/yellow, - blue/cyan, in 0..1 of a full shift), ``brightness`` (added,
0..1 of full range), ``gamma`` (< 1 lifts shadows) and ``teal_orange`` (split toning amount).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

NEGATIVE_PROMPT = "deformed face, distorted face, extra limbs, text, watermark, logo, blurry, lowres"


@dataclass(frozen=True)
class Look:
    prompt: str
    contrast: float = 0.0
    saturation: float = 1.0
    warmth: float = 0.0
    brightness: float = 0.0
    gamma: float = 1.0
    teal_orange: float = 0.0


LOOKS: Mapping[str, Look] = MappingProxyType({
    "action": Look("cinematic action film still, high contrast, punchy teal and orange grade, dramatic light",
                   contrast=0.35, saturation=1.15, teal_orange=0.35),
    "romance": Look("romantic film still, warm golden hour light, soft glow, gentle skin tones",
                    contrast=0.05, saturation=1.05, warmth=0.18, brightness=0.03, gamma=0.95),
    "comedy": Look("bright cheerful comedy film still, vivid colours, even light",
                   contrast=0.10, saturation=1.20, brightness=0.06, gamma=0.9),
    "drama": Look("moody drama film still, low-key light, deep shadows, muted palette",
                  contrast=0.25, saturation=0.85, gamma=1.1),
    "family": Look("warm family film still, bright, colourful, friendly light",
                   contrast=0.08, saturation=1.15, warmth=0.08, brightness=0.05, gamma=0.92),
    "thriller": Look("tense thriller film still, cold blue shadows, hard contrast",
                     contrast=0.30, saturation=0.85, warmth=-0.15, gamma=1.08),
    "horror": Look("dark horror film still, cold desaturated tones, crushed shadows",
                   contrast=0.30, saturation=0.55, warmth=-0.12, brightness=-0.04, gamma=1.2),
    "kids": Look("colourful animated family film still, bright saturated colours, cheerful",
                 contrast=0.10, saturation=1.30, brightness=0.06, gamma=0.9),
})

OUTPAINT_PROMPT = "film still, seamless continuation of the scene, same lighting and colours, photographic"
CLEAN_PROMPT = "clean background, seamless texture, no text, no logo"


def look_for(segment: str | None) -> Look:
    return LOOKS.get(segment or "", Look("cinematic film still, natural colours"))
