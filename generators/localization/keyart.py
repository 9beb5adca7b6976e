"""A locale's copy laid out and drawn in a key-art text block: the one path every localized
still takes (the kind's renders, the golden-image tests, the benchmark).

1. :func:`choose_block`: where the text block goes in a placement (off faces and the salient
   region; the side columns mirrored for right-to-left locales);
2. :func:`fit_copy`: each field in its own box, stacked in the block, fitted by
   :func:`generators.localization.fit.fit_text` (shaped measurement, shrink, wrap, flags);
3. :func:`draw_copy`: drawn with one fill and, when any field falls under 4.5:1 on the pixels,
   one scrim under the block (:func:`generators.localization.contrast.draw_block_legibly`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from generators.localization.contrast import (
    ContrastResult,
    draw_block_legibly,
    overlap_area,
)
from generators.localization.fit import Box, TextLayout, fit_text
from generators.localization.strings import FIELDS

KEY_ART_FORMATS: dict[str, tuple[int, int]] = {"16x9": (1920, 1080), "2x3": (1000, 1500), "1x1": (1080, 1080),
                                                "9x16": (1080, 1920)}
# Where the text block may go, per placement: (name, x, y, w, h) as fractions of the image; tried
# in order, the first with the least face and saliency overlap wins. "left"/"right" are mirrored
# for right-to-left locales, so an Arabic block takes the right column first.
BLOCKS: dict[str, tuple[tuple[str, float, float, float, float], ...]] = {
    "16x9": (("left", 0.05, 0.40, 0.46, 0.53), ("right", 0.49, 0.40, 0.46, 0.53),
             ("bottom", 0.05, 0.58, 0.90, 0.35), ("top", 0.05, 0.07, 0.90, 0.35)),
    "2x3": (("bottom", 0.07, 0.56, 0.86, 0.38), ("top", 0.07, 0.05, 0.86, 0.38)),
    "1x1": (("bottom", 0.06, 0.52, 0.88, 0.42), ("top", 0.06, 0.05, 0.88, 0.42)),
    # vertical (stories, mobile home screens): the lower third clears the platform's top chrome
    "9x16": (("bottom", 0.08, 0.60, 0.84, 0.30), ("top", 0.08, 0.10, 0.84, 0.30)),
}
# Each field's share of the block's height (top to bottom), its size range as fractions of the
# image's shorter side, lines and weight.
FIELD_STYLES: dict[str, dict[str, Any]] = {
    "title": {"share": 0.40, "max": 0.110, "min": 0.060, "lines": 2, "weight": "bold"},
    "tagline": {"share": 0.24, "max": 0.048, "min": 0.030, "lines": 2, "weight": "regular"},
    "call_to_action": {"share": 0.13, "max": 0.042, "min": 0.028, "lines": 1, "weight": "bold"},
    "date": {"share": 0.11, "max": 0.036, "min": 0.024, "lines": 1, "weight": "regular"},
    "legal": {"share": 0.12, "max": 0.020, "min": 0.014, "lines": 2, "weight": "regular"},
}
GAP = 0.02  # between fields, of the block's height

Block = tuple[str, float, float, float, float]  # name, x, y, w, h (fractions of the image)
Faces = Sequence[Mapping[str, float]]  # normalised x, y, w, h of each face in the placement


@dataclass(frozen=True)
class FittedField:
    """One field of the copy: its text as drawn, its layout and its box (pixels)."""

    name: str
    text: str
    layout: TextLayout
    box: Box


def choose_block(fmt: str, rtl: bool, faces: Faces = (), salient: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)) -> Block:
    """The candidate block of ``fmt`` with the least face overlap (weighted 10x) and saliency overlap."""
    best: Block | None = None
    best_cost: float | None = None
    for name, x, y, w, h in BLOCKS[fmt]:
        if rtl and name in ("left", "right"):  # right-to-left reads from the right: mirror the columns
            name, x = ("right" if name == "left" else "left"), 1.0 - x - w
        face_cost = sum(overlap_area((x, y, w, h), (f["x"], f["y"], f["w"], f["h"])) / max(f["w"] * f["h"], 1e-9) for f in faces)
        cost = 10.0 * face_cost + overlap_area((x, y, w, h), salient) / max(salient[2] * salient[3], 1e-9)
        if best_cost is None or cost < best_cost - 1e-9:
            best, best_cost = (name, x, y, w, h), cost
    assert best is not None  # every placement has candidates
    return best


def fit_copy(texts: Mapping[str, str], locale: str, size: tuple[int, int], block: Block) -> list[FittedField]:
    """Each field of ``texts`` (in :data:`FIELDS` order) fitted in its share of ``block`` on an
    image of ``size``; sizes scale with the image's shorter side."""
    tw, th = size
    short = min(tw, th)
    _name, bx, by, bw, bh = block
    fitted: list[FittedField] = []
    y = by * th
    for name in FIELDS:
        style = FIELD_STYLES[name]
        h = bh * th * (style["share"] - GAP)
        box = (int(bx * tw), int(y), int(bw * tw), max(1, int(h)))
        y += bh * th * style["share"]
        text = texts.get(name)
        if not text:
            continue
        layout = fit_text(text, box, locale, max_size=max(8, int(style["max"] * short)), min_size=max(7, int(style["min"] * short)),
                          max_lines=style["lines"], align="start", valign="middle" if name == "title" else "top",
                          weight=style["weight"])
        fitted.append(FittedField(name, text, layout, box))
    return fitted


def draw_copy(image: Image.Image, fields: Sequence[FittedField]) -> list[ContrastResult]:
    """Draw the fitted fields on ``image`` (RGB, in place), legibly; each field's measured contrast."""
    return draw_block_legibly(image, [f.layout for f in fields])
