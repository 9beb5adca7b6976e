"""Legibility measured on the rendered pixels: the WCAG 2.x contrast ratio of the text against
what is actually behind it, a scrim when it falls short, and whether text sits on a face.

The ratio compares the text's luminance (the median of the pixels the glyphs fully cover, or of
their most covered ones when thin strokes cover none fully) with
the background's *worst case* near the glyphs: among the pixels of a halo a few pixels around
the glyphs (not covered by them), the 90th percentile closest in luminance to the text. A busy
background is judged by its worst tenth, not its mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from generators.localization.fit import TextLayout, text_mask
from workbench.analysis.types import Box

WCAG_AA = 4.5
SCRIM_STEPS = (0.45, 0.65, 0.82)  # opacity tried in turn
HALO_PX = 4
SCRIM_PAD = 0.25  # of the text's line height, around the text block


def _linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


_LINEAR_LUT = _linear(np.arange(256) / 255.0)  # sRGB byte → linear light (WCAG 2.x)
_WEIGHTS = np.array([0.2126, 0.7152, 0.0722])
_CHANNEL_LUTS = tuple(_LINEAR_LUT * w for w in _WEIGHTS)  # each channel's share of the luminance, per byte


def relative_luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG relative luminance of sRGB pixels (…, 3) in 0..255."""
    a = np.asarray(rgb)
    if a.dtype == np.uint8:  # three table look-ups: the contrast checks read many pixels per render
        r, g, b = _CHANNEL_LUTS
        return r[a[..., 0]] + g[a[..., 1]] + b[a[..., 2]]
    return _linear(a.astype(np.float64) / 255.0) @ _WEIGHTS


def contrast_ratio(l1: float, l2: float) -> float:
    hi, lo = max(l1, l2), min(l1, l2)
    return (hi + 0.05) / (lo + 0.05)


@dataclass(frozen=True)
class ContrastResult:
    ratio: float
    text_luminance: float
    background_luminance: float
    scrim: float  # opacity of the scrim drawn, 0 when none
    fill: tuple[int, int, int]

    @property
    def passes(self) -> bool:
        return self.ratio >= WCAG_AA

    def to_dict(self) -> dict:
        return {"ratio": round(self.ratio, 2), "scrim": self.scrim, "fill": list(self.fill), "passes": self.passes}


@dataclass(frozen=True)
class Probe:
    """Where drawn text's contrast is read: its glyphs' solid pixels (``core``) and the ring a few
    pixels around them (``ring``), over ``crop`` (x0, y0, x1, y1 of the image). Built once per
    text from its mask; read again after every redraw (a scrim changes the pixels, not the text)."""

    crop: tuple[int, int, int, int]
    core: np.ndarray  # bool, (y1 - y0, x1 - x0)
    ring: np.ndarray

    @property
    def around(self) -> np.ndarray:
        return self.core | self.ring


def probe(image_size: tuple[int, int], mask: Image.Image, origin: tuple[int, int]) -> Probe | None:
    """The probe of text whose coverage ``mask`` lies at ``origin`` on an image of ``image_size``;
    None when nothing is drawn or nothing around it is in the image (there is no contrast to read)."""
    x, y = origin
    pad = HALO_PX + 1
    big = Image.new("L", (mask.width + 2 * pad, mask.height + 2 * pad), 0)
    big.paste(mask, (pad, pad))
    gx, gy = x - pad, y - pad
    x0, y0 = max(0, gx), max(0, gy)
    x1, y1 = min(image_size[0], gx + big.width), min(image_size[1], gy + big.height)
    if x1 <= x0 or y1 <= y0:
        return None
    inside = (slice(y0 - gy, y1 - gy), slice(x0 - gx, x1 - gx))
    cover = np.asarray(big)[inside]
    halo = np.asarray(big.filter(ImageFilter.BoxBlur(HALO_PX)))[inside]
    peak = int(cover.max())
    if peak == 0:
        return None
    # the glyphs' solid pixels; small text's strokes (a legal line at 8 px) may cover no pixel
    # fully: then its most covered ones, whose blend with the background only lowers the ratio
    core = cover >= min(230, int(peak * 0.9))
    ring = (halo > 0) & (cover == 0)
    if not ring.any():  # the text covers all it could be compared with
        return None
    return Probe((x0, y0, x1, y1), core, ring)


def read_contrast(image: Image.Image, where: Probe | None) -> tuple[float, float, float]:
    """(ratio, text luminance, background luminance) at ``where`` on the image as it is now."""
    if where is None:
        return float("inf"), 0.0, 0.0
    region = image.crop(where.crop)
    rgb = np.asarray(region if region.mode == "RGB" else region.convert("RGB"))
    text_l = float(np.median(relative_luminance(rgb[where.core])))
    bg = relative_luminance(rgb[where.ring])
    # the background's worst tenth: the pixels nearest the text's own luminance
    bg_l = float(np.percentile(bg, 90)) if text_l >= float(np.median(bg)) else float(np.percentile(bg, 10))
    return contrast_ratio(text_l, bg_l), text_l, bg_l


def measure_contrast(image: Image.Image, mask: Image.Image, origin: tuple[int, int]) -> tuple[float, float, float]:
    """(ratio, text luminance, background luminance) of drawn text: ``mask`` is its coverage over
    the box at ``origin`` in ``image`` (see the module docstring)."""
    return read_contrast(image, probe(image.size, mask, origin))


def _scrim(image: Image.Image, layout: TextLayout, opacity: float, dark: bool) -> None:
    """A darkening (or lightening) band behind the text's box, a little wider than it."""
    x, y, bw, bh = layout.box
    pad = int(layout.line_height * SCRIM_PAD)
    x0, y0 = max(0, x - pad), max(0, y - pad)
    x1, y1 = min(image.width, x + bw + pad), min(image.height, y + bh + pad)
    band = Image.new("L", (x1 - x0, y1 - y0), int(255 * opacity))
    colour = Image.new("RGB", band.size, (0, 0, 0) if dark else (255, 255, 255))
    image.paste(colour, (x0, y0), band)


def draw_legibly(image: Image.Image, layout: TextLayout, fill: tuple[int, int, int] | None = None) -> ContrastResult:
    """Draw ``layout`` on ``image`` (in place) with a WCAG AA contrast where it can be had.

    The fill is white or near-black, whichever contrasts more with the background around the
    glyphs (or ``fill`` when given); when the measured ratio is under 4.5:1 the drawing is undone,
    a scrim is laid under the text, and it is drawn and measured again, more opaque each time."""
    x, y, bw, bh = layout.box
    halo_pad = HALO_PX + int(layout.line_height * SCRIM_PAD) + 2
    backup_box = (max(0, x - halo_pad), max(0, y - halo_pad), min(image.width, x + bw + halo_pad), min(image.height, y + bh + halo_pad))
    backup = image.crop(backup_box).copy()
    mask = text_mask(layout)
    where = probe(image.size, mask, (x, y))
    fill = fill or _fill_for(image, [where], [layout])
    dark_scrim = relative_luminance(np.array(fill)) > 0.5
    ink = Image.new("RGB", mask.size, fill)
    image.paste(ink, (x, y), mask)
    ratio, tl, bl = read_contrast(image, where)
    scrim = 0.0
    for opacity in SCRIM_STEPS:
        if ratio >= WCAG_AA:
            break
        image.paste(backup, backup_box[:2])
        _scrim(image, layout, opacity, dark_scrim)
        image.paste(ink, (x, y), mask)
        ratio, tl, bl = read_contrast(image, where)
        scrim = opacity
    return ContrastResult(float(ratio), tl, bl, scrim, tuple(fill))


def _union(layouts: Sequence[TextLayout], pad: int, image: Image.Image) -> tuple[int, int, int, int]:
    x0 = min(lo.box[0] for lo in layouts) - pad
    y0 = min(lo.box[1] for lo in layouts) - pad
    x1 = max(lo.box[0] + lo.box[2] for lo in layouts) + pad
    y1 = max(lo.box[1] + lo.box[3] for lo in layouts) + pad
    return max(0, x0), max(0, y0), min(image.width, x1), min(image.height, y1)


def pick_fill(image: Image.Image, layouts: Sequence[TextLayout]) -> tuple[int, int, int]:
    """White or near-black, whichever contrasts more with the pixels around the glyphs."""
    return _fill_for(image, [probe(image.size, text_mask(lo), lo.box[:2]) for lo in layouts], layouts)


def _fill_for(image: Image.Image, probes: Sequence[Probe | None], layouts: Sequence[TextLayout]) -> tuple[int, int, int]:
    values = []
    for where, lo in zip(probes, layouts):
        if where is not None:
            values.append(relative_luminance(np.asarray(image.crop(where.crop).convert("RGB"))[where.around]))
        else:  # nothing drawn: the box itself
            x, y, bw, bh = lo.box
            values.append(relative_luminance(np.asarray(image.crop((x, y, x + bw, y + bh)).convert("RGB"))).ravel())
    pixels = np.concatenate(values) if values else np.empty(0)
    bg = float(np.median(pixels)) if pixels.size else 0.5
    return (255, 255, 255) if contrast_ratio(1.0, bg) >= contrast_ratio(0.0008, bg) else (16, 16, 16)


def draw_block_legibly(image: Image.Image, layouts: Sequence[TextLayout],
                       fill: tuple[int, int, int] | None = None) -> list[ContrastResult]:
    """Draw several fields of one text block with one fill and, when any of them falls under
    4.5:1, one scrim under the whole block (rather than a patchwork of bands), as opaque as the
    worst field needs; each field's ratio is measured on the pixels after drawing."""
    if not layouts:
        return []
    masks = [text_mask(lo) for lo in layouts]  # drawn once; redrawn from these after each scrim
    probes = [probe(image.size, mask, lo.box[:2]) for lo, mask in zip(layouts, masks)]
    fill = fill or _fill_for(image, probes, layouts)
    dark_scrim = relative_luminance(np.array(fill)) > 0.5
    pad = max(int(lo.line_height * SCRIM_PAD) for lo in layouts)
    region = _union(layouts, pad, image)
    halo = _union(layouts, pad + HALO_PX + 2, image)
    backup = image.crop(halo).copy()
    inks = [Image.new("RGB", mask.size, fill) for mask in masks]
    results: list[ContrastResult] = []
    for opacity in (0.0, *SCRIM_STEPS):
        if opacity:
            image.paste(backup, halo[:2])
            band = Image.new("L", (region[2] - region[0], region[3] - region[1]), int(255 * opacity))
            image.paste(Image.new("RGB", band.size, (0, 0, 0) if dark_scrim else (255, 255, 255)), region[:2], band)
        for lo, mask, ink in zip(layouts, masks, inks):
            image.paste(ink, lo.box[:2], mask)
        results = []
        for where in probes:
            ratio, tl, bl = read_contrast(image, where)
            results.append(ContrastResult(float(ratio), tl, bl, opacity, tuple(fill)))
        if all(r.passes for r in results):
            break
    return results


# -- faces ----------------------------------------------------------------------------------------


def overlap_area(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return max(0.0, min(ax + aw, bx + bw) - max(ax, bx)) * max(0.0, min(ay + ah, by + bh) - max(ay, by))


def over_face(text_box: tuple[float, float, float, float], faces: Sequence[Box], *, tolerance: float = 0.02) -> bool:
    """Whether a text box (normalised x, y, w, h) covers more than ``tolerance`` of a face box."""
    return any(overlap_area(text_box, (f.x, f.y, f.w, f.h)) > tolerance * max(f.w * f.h, 1e-9) for f in faces)
