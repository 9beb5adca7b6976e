"""Render one thumbnail: crop + resize (:mod:`generators.imaging`), an optional title treatment.

The title is one centred line, or two when one would be small, in the bottom or top safe area
over a soft gradient scrim, sized to fit the width (and at most ``TITLE_MAX_HEIGHT`` tall). It
goes to the bottom unless the text would cover a face there and not at the top, or, covering none
either way, its scrim would darken a face at the bottom and less of one at the top.

The returned edit actions list only what was done, in order: ``c2pa.cropped`` (when the window is
not the whole frame), ``c2pa.resized`` (when the size changes) and ``c2pa.edited`` (when a title
was drawn). No model makes pixels here, so no action carries a digital source type.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from PIL import Image, ImageDraw, ImageFont

from generators.imaging.crop import CropPlan, apply_crop
from generators.imaging.encode import OUTPUT_TYPES, OutputType
from workbench.analysis.types import Face
from workbench.creative import EditAction

# Title safe area: margins as fractions of the output's width and height.
SAFE_MARGIN_X = 0.06
SAFE_MARGIN_Y = 0.06
SCRIM_ALPHA = 170  # darkest point of the scrim, 0..255
TITLE_SIZE = 0.10  # starting font size, fraction of the output's shorter side
TITLE_MAX_HEIGHT = 0.16  # the text block's height at most, fraction of the output's height
SCRIM_EXTENT = 0.8  # the scrim reaches this many text-block heights beyond the text
TITLE_SPLIT_SIZE = 0.07  # a one-line title smaller than this tries two lines (fraction of the shorter side)
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
    "/usr/share/fonts/opentype/noto/NotoSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
)

_SAFE_NAME = re.compile(r"^[a-z0-9]+$")
# FreeType faces are shared through the font cache and are not safe to use from two threads.
_FONT_LOCK = threading.Lock()


@dataclass(frozen=True)
class TitlePlacement:
    position: Literal["bottom", "top"]
    lines: tuple[str, ...]
    font: str
    font_size: int
    overlaps_face: bool  # True only when both safe areas cover a face (the one covering less is used)

    def to_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "lines": list(self.lines),
            "font": self.font,
            "font_size": self.font_size,
            "overlaps_face": self.overlaps_face,
        }


@dataclass(frozen=True)
class RenderedThumbnail:
    image: Image.Image
    actions: tuple[EditAction, ...]
    title: TitlePlacement | None


def variant_filename(segment: str, format_name: str, rank: int, frame: int, output: OutputType, suffix: str | None = None) -> str:
    """``<segment>_<format>_r<rank>_f<frame>[_<suffix>].<ext>`` (the suffix names a treatment and
    its engine); refuses anything that is not a plain name."""
    parts = [segment, format_name, *(suffix.split("_") if suffix else [])]
    if not all(_SAFE_NAME.match(p) for p in parts):
        raise ValueError(f"unsafe name parts: segment={segment!r} format={format_name!r} suffix={suffix!r}")
    tail = f"_{suffix}" if suffix else ""
    return f"{segment}_{format_name}_r{int(rank)}_f{int(frame)}{tail}{OUTPUT_TYPES[output][0]}"


@lru_cache(maxsize=1)
def font_path() -> str | None:
    """The first title font found on this machine, or None for Pillow's built-in font."""
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    return None


@lru_cache(maxsize=128)
def _font(size: int) -> ImageFont.FreeTypeFont:
    path = font_path()
    return ImageFont.truetype(path, size) if path else ImageFont.load_default(size=size)


def _font_name() -> str:
    path = font_path()
    return Path(path).stem if path else "pillow-default"


def _fit_size(lines: Sequence[str], start: int, max_width: int) -> int:
    """The largest size up to ``start`` at which every line fits ``max_width``."""
    widest = max(_font(start).getlength(line) for line in lines)
    size = start if widest <= max_width else max(6, int(start * max_width / widest))
    while size > 6 and max(_font(size).getlength(line) for line in lines) > max_width:
        size -= 1
    return size


def _two_lines(text: str) -> tuple[str, str] | None:
    words = text.split()
    if len(words) < 2:
        return None
    best = min(range(1, len(words)), key=lambda i: abs(len(" ".join(words[:i])) - len(" ".join(words[i:]))))
    return " ".join(words[:best]), " ".join(words[best:])


@lru_cache(maxsize=32)
def _scrim_mask(width: int, height: int, dark_at_bottom: bool) -> Image.Image:
    # clear at the inner edge, full SCRIM_ALPHA over the outer half where the text sits
    ramp = Image.linear_gradient("L").resize((width, height), Image.Resampling.BILINEAR)
    ramp = ramp.point(lambda v: min(SCRIM_ALPHA, round(SCRIM_ALPHA * v / (255 * 0.5))))
    return ramp if dark_at_bottom else ramp.transpose(Image.Transpose.FLIP_TOP_BOTTOM)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _block_height(font: ImageFont.FreeTypeFont, size: int, lines: int) -> tuple[int, int, int]:
    ascent, descent = font.getmetrics()
    line_h = ascent + descent
    gap = round(size * 0.15)
    return line_h, gap, lines * line_h + (lines - 1) * gap


def draw_title(image: Image.Image, text: str, face_boxes: Sequence[tuple[float, float, float, float]]) -> TitlePlacement:
    """Draw ``text`` on ``image`` in place, away from ``face_boxes`` (output pixels)."""
    # 1. fit: as large as the width allows, two lines when one would be small, never too tall
    width, height = image.size
    short = min(width, height)
    max_width = int(width * (1 - 2 * SAFE_MARGIN_X))
    start = max(8, round(short * TITLE_SIZE))
    lines: tuple[str, ...] = (text.strip(),)
    size = _fit_size(lines, start, max_width)
    split = _two_lines(text) if size < short * TITLE_SPLIT_SIZE else None
    if split is not None:
        split_size = _fit_size(split, start, max_width)
        if split_size > size:
            lines, size = split, split_size
    line_h, gap, block_h = _block_height(_font(size), size, len(lines))
    if block_h > height * TITLE_MAX_HEIGHT:
        size = max(8, int(size * height * TITLE_MAX_HEIGHT / block_h))
        line_h, gap, block_h = _block_height(_font(size), size, len(lines))
    font = _font(size)
    block_w = max(font.getlength(line) for line in lines)
    margin_y = round(height * SAFE_MARGIN_Y)
    scrim_h = min(height, margin_y + round(block_h * (1 + SCRIM_EXTENT)))

    # 2. place: where the text covers no face (then where the scrim covers least), bottom first
    left = (width - block_w) / 2
    placements = {
        "bottom": ((left, height - margin_y - block_h, left + block_w, height - margin_y), (0, height - scrim_h, width, height)),
        "top": ((left, margin_y, left + block_w, margin_y + block_h), (0, 0, width, scrim_h)),
    }
    covered = {
        where: (sum(_overlap(text_box, f) for f in face_boxes), sum(_overlap(scrim_box, f) for f in face_boxes))
        for where, (text_box, scrim_box) in placements.items()
    }
    position: Literal["bottom", "top"] = "bottom" if covered["bottom"] <= covered["top"] else "top"
    text_box, scrim_box = placements[position]

    # 3. draw: a soft gradient scrim from the frame edge, then the lines with a thin outline
    image.paste((0, 0, 0), scrim_box, _scrim_mask(width, scrim_h, position == "bottom"))
    draw = ImageDraw.Draw(image)
    stroke = max(1, size // 28)
    y = text_box[1]
    for line in lines:
        draw.text((width / 2, y), line, font=font, fill=(255, 255, 255), anchor="ma", stroke_width=stroke, stroke_fill=(0, 0, 0))
        y += line_h + gap
    return TitlePlacement(position, lines, _font_name(), size, covered[position][0] > 0)


def render_thumbnail(
    frame: Image.Image, plan: CropPlan, faces: Sequence[Face] = (), title_text: str | None = None
) -> RenderedThumbnail:
    """Crop + resize ``frame`` as ``plan`` says, then draw the title when one is given."""
    image, actions = apply_crop(frame, plan)
    title = None
    if title_text and title_text.strip():
        with _FONT_LOCK:
            title = draw_title(image, title_text, [plan.to_output(f.box) for f in faces])
        actions.append(
            EditAction(
                "c2pa.edited",
                {"text": title_text.strip(), **title.to_dict()},
                description="title text drawn",
            )
        )
    return RenderedThumbnail(image, tuple(actions), title)


def write_thumbnail(data: bytes, out_dir: Path, filename: str) -> Path:
    path = Path(out_dir) / filename
    path.write_bytes(data)
    return path
