"""Title card and end slate, drawn from a brand template (``assets/brand/default.json``).

A template gives the background (a colour or a linear gradient), the safe margins, fonts as
lists of family candidates (resolved once, at load, to font files installed under the usual
font folders; Pillow's built-in font, with a warning, when none is), and per card kind its
duration, fades from and to black, and a box per text field (title, tagline, call to action,
date) as fractions of the frame, with colour, alignment and size range.

Text is drawn **literally**: Pillow draws exactly the characters it is given (no markup, no
``%{...}`` expansion, no escapes: nothing passes through an ffmpeg filter string). Newlines in
a field are line breaks; control characters other than newline are dropped (tabs become
spaces). Each field is fitted to its box: the largest size in its range at which the text,
wrapped on spaces (a word wider than the box is broken between characters), fits the box;
at the smallest size what does not fit is cut with an ellipsis and flagged. Every field is
also clipped to its box, and every box to the safe area, so no pixel of text can land outside
the safe area whatever the text or the frame (16:9, 9:16, 1:1). Glyphs the font lacks (emoji
with DejaVu, say) draw as the font's missing-glyph box and are reported in the layout.
"""

from __future__ import annotations

import json
import math
import operator
import os
import re
import threading
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from generators.trailers.timeline import Card, CardKind
from workbench.errors import InvalidInput

DEFAULT_TEMPLATE = Path(__file__).resolve().parents[2] / "assets" / "brand" / "default.json"
FONT_DIRS: tuple[str, ...] = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
FIELDS = ("title", "tagline", "call_to_action", "date")
CARD_KINDS: tuple[CardKind, ...] = ("title", "end")
BUILTIN_FONT = "Pillow built-in"
MIN_FONT_PX = 8  # no text is drawn smaller than this, whatever the template says
ELLIPSIS = "\u2026"

RGB = tuple[int, int, int]
Align = Literal["left", "center", "right"]
VAlign = Literal["top", "middle", "bottom"]

# FreeType faces are shared through the font cache and are not safe to use from two threads.
_FONT_LOCK = threading.RLock()
_NOTDEF_PROBE = "\U0010fffd"  # a private-use code point no text font maps: draws .notdef


# -- the template -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Background:
    kind: Literal["solid", "linear"]
    colors: tuple[RGB, ...]  # one for solid; two or more stops, evenly spaced, for linear
    angle: float = 90.0  # linear: degrees; 0 = left to right, 90 = top to bottom


@dataclass(frozen=True)
class FontChoice:
    key: str
    families: tuple[str, ...]
    weight: Literal["regular", "bold"]
    path: str | None  # None: Pillow's built-in font
    family: str  # the family that was found, or BUILTIN_FONT


@dataclass(frozen=True)
class FieldStyle:
    box: tuple[float, float, float, float]  # x, y, w, h as fractions of the frame
    font: str  # a key of BrandTemplate.fonts
    size: float  # largest font size, fraction of the frame's shorter side
    min_size: float  # smallest, before text is cut
    color: RGB
    align: Align = "center"
    valign: VAlign = "middle"
    max_lines: int = 3
    line_spacing: float = 1.15  # line pitch, in font sizes


@dataclass(frozen=True)
class CardStyle:
    duration_s: float
    fade_in_s: float
    fade_out_s: float
    fields: Mapping[str, FieldStyle]


@dataclass(frozen=True)
class BrandTemplate:
    name: str
    background: Background
    safe_margin: tuple[float, float]  # x, y: fractions of the width and height
    fonts: Mapping[str, FontChoice]
    cards: Mapping[str, CardStyle]
    path: Path | None = None
    warnings: tuple[str, ...] = ()

    def card_frames_for(self, kind: CardKind, fps: Fraction | float) -> int:
        """The template's duration of a card kind in whole frames at ``fps`` (at least 1)."""
        return max(1, round(self.cards[kind].duration_s * float(fps)))


def load_template(path: Path | str | None = None) -> BrandTemplate:
    """Read and validate a brand template (default: ``assets/brand/default.json``); fonts are
    resolved here. A bad template raises InvalidInput naming the field, in one line."""
    path = Path(path) if path is not None else DEFAULT_TEMPLATE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"brand template {path.name}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"brand template {path.name}: unreadable ({exc})") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"brand template {path.name}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    return parse_template(raw, name=path.name, path=path)


def parse_template(raw: Any, *, name: str = "template", path: Path | None = None) -> BrandTemplate:
    """Validate a template already parsed from JSON (see :func:`load_template`)."""
    v = _Validator(name)
    v.keys(raw, "", required={"name", "background", "safe_margin", "fonts", "cards"})
    background = _background(v, raw["background"])
    margin = raw["safe_margin"]
    v.keys(margin, "safe_margin", required={"x", "y"})
    safe = (v.number(margin["x"], "safe_margin.x", 0.0, 0.45), v.number(margin["y"], "safe_margin.y", 0.0, 0.45))
    fonts_raw = raw["fonts"]
    if not isinstance(fonts_raw, dict) or not fonts_raw:
        v.fail("fonts", "must be an object of named fonts")
    fonts: dict[str, FontChoice] = {}
    warnings: list[str] = []
    for key, spec in fonts_raw.items():
        where = f"fonts.{key}"
        v.keys(spec, where, required={"families"}, optional={"weight"})
        families = spec["families"]
        if not isinstance(families, list) or not families or not all(isinstance(f, str) and f.strip() for f in families):
            v.fail(f"{where}.families", "must be a non-empty list of family names or font file paths")
        weight = spec.get("weight", "regular")
        if weight not in ("regular", "bold"):
            v.fail(f"{where}.weight", f"must be 'regular' or 'bold'; got {weight!r}")
        found = resolve_font(families, weight)
        if found is None:
            warnings.append(f"font {key!r}: none of {', '.join(families)} ({weight}) is installed; using Pillow's built-in font")
            fonts[key] = FontChoice(key, tuple(families), weight, None, BUILTIN_FONT)
        else:
            fonts[key] = FontChoice(key, tuple(families), weight, found[1], found[0])
    cards_raw = raw["cards"]
    v.keys(cards_raw, "cards", required=set(CARD_KINDS))
    cards = {kind: _card_style(v, cards_raw[kind], f"cards.{kind}", fonts) for kind in CARD_KINDS}
    title = raw["name"]
    if not isinstance(title, str) or not title.strip():
        v.fail("name", "must be a non-empty string")
    return BrandTemplate(
        name=title, background=background, safe_margin=safe, fonts=fonts, cards=cards, path=path, warnings=tuple(warnings)
    )


class _Validator:
    def __init__(self, name: str):
        self.name = name

    def fail(self, where: str, problem: str) -> None:
        raise InvalidInput(f"brand template {self.name}: {where or 'top level'}: {problem}")

    def keys(self, obj: Any, where: str, *, required: set[str], optional: set[str] = frozenset()) -> None:
        if not isinstance(obj, dict):
            self.fail(where, "must be an object")
        missing = sorted(required - obj.keys())
        if missing:
            self.fail(f"{where}.{missing[0]}" if where else missing[0], "is missing")
        unknown = sorted(obj.keys() - required - optional)
        if unknown:
            self.fail(f"{where}.{unknown[0]}" if where else unknown[0], "is not a known field")

    def number(self, value: Any, where: str, lo: float, hi: float, *, lo_open: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(where, f"must be a number; got {value!r}")
        if value < lo or value > hi or (lo_open and value == lo):
            self.fail(where, f"must be {'over' if lo_open else 'at least'} {lo} and at most {hi}; got {value}")
        return float(value)

    def color(self, value: Any, where: str) -> RGB:
        if not isinstance(value, str) or not re.fullmatch(r"#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})", value):
            self.fail(where, f"must be a colour like '#1A2B3C'; got {value!r}")
        h = value[1:]
        if len(h) == 3:
            h = "".join(c * 2 for c in h)
        return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))


def _background(v: _Validator, raw: Any) -> Background:
    if not isinstance(raw, dict) or raw.get("type") not in ("solid", "linear"):
        v.fail("background.type", "must be 'solid' or 'linear'")
    if raw["type"] == "solid":
        v.keys(raw, "background", required={"type", "color"})
        return Background("solid", (v.color(raw["color"], "background.color"),))
    v.keys(raw, "background", required={"type", "colors"}, optional={"angle"})
    colors = raw["colors"]
    if not isinstance(colors, list) or len(colors) < 2:
        v.fail("background.colors", "must list at least two colours")
    stops = tuple(v.color(c, f"background.colors[{i}]") for i, c in enumerate(colors))
    return Background("linear", stops, v.number(raw.get("angle", 90.0), "background.angle", -360.0, 360.0))


def _card_style(v: _Validator, raw: Any, where: str, fonts: Mapping[str, FontChoice]) -> CardStyle:
    v.keys(raw, where, required={"duration_s", "fields"}, optional={"fade_in_s", "fade_out_s"})
    duration = v.number(raw["duration_s"], f"{where}.duration_s", 0.0, 30.0, lo_open=True)
    fade_in = v.number(raw.get("fade_in_s", 0.0), f"{where}.fade_in_s", 0.0, 5.0)
    fade_out = v.number(raw.get("fade_out_s", 0.0), f"{where}.fade_out_s", 0.0, 5.0)
    if fade_in + fade_out > duration:
        v.fail(f"{where}.fade_in_s", f"the fades ({fade_in} + {fade_out} s) are longer than the card ({duration} s)")
    fields_raw = raw["fields"]
    v.keys(fields_raw, f"{where}.fields", required=set(), optional=set(FIELDS))
    if not fields_raw:
        v.fail(f"{where}.fields", "must give a box for at least one field")
    fields = {name: _field_style(v, spec, f"{where}.fields.{name}", fonts) for name, spec in fields_raw.items()}
    return CardStyle(duration, fade_in, fade_out, fields)


def _field_style(v: _Validator, raw: Any, where: str, fonts: Mapping[str, FontChoice]) -> FieldStyle:
    v.keys(
        raw, where, required={"box", "font", "size", "color"},
        optional={"min_size", "align", "valign", "max_lines", "line_spacing"},
    )
    box = raw["box"]
    if not isinstance(box, list) or len(box) != 4:
        v.fail(f"{where}.box", "must be [x, y, w, h], fractions of the frame")
    x, y = v.number(box[0], f"{where}.box[0]", 0.0, 1.0), v.number(box[1], f"{where}.box[1]", 0.0, 1.0)
    w = v.number(box[2], f"{where}.box[2]", 0.0, 1.0, lo_open=True)
    h = v.number(box[3], f"{where}.box[3]", 0.0, 1.0, lo_open=True)
    if x + w > 1.0 + 1e-9 or y + h > 1.0 + 1e-9:
        v.fail(f"{where}.box", f"reaches outside the frame ({box})")
    if raw["font"] not in fonts:
        v.fail(f"{where}.font", f"names no font in 'fonts' ({raw['font']!r}; known: {', '.join(sorted(fonts))})")
    size = v.number(raw["size"], f"{where}.size", 0.0, 0.5, lo_open=True)
    min_size = v.number(raw.get("min_size", size / 2), f"{where}.min_size", 0.0, size, lo_open=True)
    align = raw.get("align", "center")
    if align not in ("left", "center", "right"):
        v.fail(f"{where}.align", f"must be left, center or right; got {align!r}")
    valign = raw.get("valign", "middle")
    if valign not in ("top", "middle", "bottom"):
        v.fail(f"{where}.valign", f"must be top, middle or bottom; got {valign!r}")
    max_lines = raw.get("max_lines", 3)
    if isinstance(max_lines, bool) or not isinstance(max_lines, int) or not 1 <= max_lines <= 20:
        v.fail(f"{where}.max_lines", f"must be a whole number from 1 to 20; got {max_lines!r}")
    spacing = v.number(raw.get("line_spacing", 1.15), f"{where}.line_spacing", 0.8, 3.0)
    return FieldStyle(
        box=(x, y, w, h), font=raw["font"], size=size, min_size=min_size, color=v.color(raw["color"], f"{where}.color"),
        align=align, valign=valign, max_lines=max_lines, line_spacing=spacing,
    )


# -- fonts --------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _font_index(dirs: tuple[str, ...]) -> dict[str, str]:
    """Lower-case file stem -> path of every font file under ``dirs`` (first found wins)."""
    index: dict[str, str] = {}
    for d in dirs:
        root = Path(os.path.expanduser(d))
        if not root.is_dir():
            continue
        for dirpath, _dirs, files in sorted(os.walk(root)):
            for f in sorted(files):
                stem, ext = os.path.splitext(f)
                if ext.lower() in (".ttf", ".otf", ".ttc"):
                    index.setdefault(stem.lower(), os.path.join(dirpath, f))
    return index


def _stems(family: str, weight: str) -> list[str]:
    base = re.sub(r"\s+", "", family).lower()
    if weight == "bold":
        return [f"{base}-bold", f"{base}bold", f"{base}-bd"]
    return [f"{base}-regular", base, f"{base}-book", f"{base}-roman"]


def resolve_font(families: list[str] | tuple[str, ...], weight: str = "regular") -> tuple[str, str] | None:
    """(family, file path) of the first candidate installed, or None. A candidate is a family
    name ("Noto Sans", "DejaVu Sans": NotoSans-Bold.ttf, DejaVuSans.ttf...) or a font file path."""
    index = _font_index(FONT_DIRS)
    for family in families:
        if family.lower().endswith((".ttf", ".otf", ".ttc")):
            p = Path(os.path.expanduser(family))
            if p.is_file():
                return p.stem, str(p)
            continue
        for stem in _stems(family, weight):
            if stem in index:
                return family, index[stem]
    return None


@lru_cache(maxsize=256)
def _font(path: str | None, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size)


@lru_cache(maxsize=4096)
def _has_glyph(path: str | None, ch: str) -> bool:
    font = _font(path, 32)
    if not isinstance(font, ImageFont.FreeTypeFont):
        return ord(ch) < 128
    def look(c: str) -> tuple[Any, ...]:
        mask, offset = font.getmask2(c)
        return mask.size, offset, bytes(mask)

    return look(ch) != look(_NOTDEF_PROBE)


def _needs_glyph(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return not (cat in ("Mn", "Me", "Cf", "Zs", "Cc") or 0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF)


# -- layout -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldLayout:
    name: str
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels: the field's box inside the safe area
    lines: tuple[str, ...]  # as drawn (after wrapping; the last ends in an ellipsis when cut)
    font: str  # family, or BUILTIN_FONT
    font_path: str | None
    font_size: int
    line_pitch: int
    truncated: bool  # the text did not fit its box even at the smallest size
    missing_glyphs: tuple[str, ...]  # characters the font has no glyph for
    localized: Any = None  # a localized card's field: its generators.localization.fit.TextLayout

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "box": list(self.box), "lines": list(self.lines), "font": self.font,
            "font_size": self.font_size, "truncated": self.truncated, "missing_glyphs": list(self.missing_glyphs),
        }


@dataclass(frozen=True)
class CardLayout:
    kind: CardKind
    width: int
    height: int
    safe_box: tuple[int, int, int, int]
    fields: tuple[FieldLayout, ...]
    warnings: tuple[str, ...]

    @property
    def qa_flags(self) -> tuple[str, ...]:
        flags = [f"text_truncated:{f.name}" for f in self.fields if f.truncated]
        flags += [f"missing_glyphs:{f.name}" for f in self.fields if f.missing_glyphs]
        return tuple(flags)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "width": self.width, "height": self.height, "safe_box": list(self.safe_box),
            "fields": [f.to_dict() for f in self.fields], "warnings": list(self.warnings), "qa_flags": list(self.qa_flags),
        }


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str | None) -> str:
    """The text as drawn: line breaks unified to ``\\n`` (CR LF, CR, U+2028/9), tabs to a
    space, other control characters dropped, blank lines at either end removed. Nothing else
    changes: quotes, colons, backslashes, ``%{pts}``, ``$HOME``, ``<b>``, braces stay."""
    if not text:
        return ""
    t = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n").replace("\t", " ")
    t = _CONTROL.sub("", t)
    lines = [line.rstrip() for line in t.split("\n")]
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def _clusters(word: str) -> list[str]:
    """Break points inside a word: never before a combining mark, variation selector or ZWJ,
    nor after a ZWJ (keeps accents and emoji sequences whole)."""
    out: list[str] = []
    for ch in word:
        glue = out and (
            unicodedata.category(ch) in ("Mn", "Me") or ch == "\u200d" or 0xFE00 <= ord(ch) <= 0xFE0F
            or out[-1].endswith("\u200d") or 0x1F3FB <= ord(ch) <= 0x1F3FF
        )
        if glue:
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _width(font, text: str) -> float:
    if not text:
        return 0.0
    left, _top, right, _bottom = font.getbbox(text)
    return max(right, font.getlength(text)) - min(left, 0)


def _advance(font, text: str) -> float:
    return font.getlength(text) if text else 0.0


def _wrap(text: str, font, max_w: float, limit: int | None = None) -> list[str]:
    """Greedy wrap on spaces; explicit newlines kept; over-wide words broken between clusters.
    Measures advances (fast); callers check the ink of the lines they keep. Stops after
    ``limit`` + 1 lines (enough to know the text does not fit ``limit``)."""
    lines: list[str] = []

    def full() -> bool:
        return limit is not None and len(lines) > limit

    for paragraph in text.split("\n"):
        words = paragraph.split(" ")
        line = ""
        for word in words:
            candidate = word if not line else f"{line} {word}"
            if _advance(font, candidate) <= max_w:
                line = candidate
                continue
            if line:
                lines.append(line)
                line = ""
                if full():
                    return lines
            if _advance(font, word) <= max_w:
                line = word
                continue
            for piece in _clusters(word):  # a word wider than the box: break it
                if line and _advance(font, line + piece) > max_w:
                    lines.append(line)
                    line = piece
                    if full():
                        return lines
                else:
                    line += piece
        lines.append(line)
        if full():
            return lines
    return lines


def _metrics(font, size: int, spacing: float) -> tuple[int, int]:
    """(line pitch, ink height of one line) in pixels."""
    if isinstance(font, ImageFont.FreeTypeFont):
        ascent, descent = font.getmetrics()
    else:
        ascent, descent = size, max(1, size // 4)
    one = ascent + descent
    return max(one, round(size * spacing)), one


def _fits(text: str, font, size: int, style: FieldStyle, w: int, h: int) -> list[str] | None:
    lines = _wrap(text, font, w, limit=style.max_lines)
    pitch, one = _metrics(font, size, style.line_spacing)
    if len(lines) > style.max_lines or (len(lines) - 1) * pitch + one > h:
        return None
    if any(_width(font, line) > w for line in lines):
        return None
    return lines


def _cut(text: str, font, size: int, style: FieldStyle, w: int, h: int) -> list[str]:
    """At the smallest size: the lines that fit, the last ending in an ellipsis."""
    pitch, one = _metrics(font, size, style.line_spacing)
    room = min(style.max_lines, max(0, (h - one) // pitch + 1) if h >= one else 0)
    if room == 0:
        return []
    lines = _wrap(text, font, w, limit=room)
    kept = lines[:room]
    if len(lines) > room or any(_width(font, line) > w for line in kept):
        last = kept[-1].rstrip()
        clusters = _clusters(last)
        while clusters and _width(font, "".join(clusters) + ELLIPSIS) > w:
            clusters.pop()
        kept[-1] = "".join(clusters).rstrip() + ELLIPSIS
        if _width(font, kept[-1]) > w:
            kept[-1] = ""
    return kept


def _pixel_box(style: FieldStyle, width: int, height: int, safe: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    x, y, w, h = style.box
    x0, y0 = math.ceil(x * width), math.ceil(y * height)
    x1, y1 = math.floor((x + w) * width), math.floor((y + h) * height)
    x0, y0, x1, y1 = max(x0, safe[0]), max(y0, safe[1]), min(x1, safe[2]), min(y1, safe[3])
    return x0, y0, max(x0, x1), max(y0, y1)


def safe_box(template: BrandTemplate, width: int, height: int) -> tuple[int, int, int, int]:
    mx, my = template.safe_margin
    return math.ceil(mx * width), math.ceil(my * height), math.floor(width - mx * width), math.floor(height - my * height)


def _check_size(width: int, height: int) -> tuple[int, int]:
    try:
        w, h = operator.index(width), operator.index(height)
    except TypeError:
        raise InvalidInput(f"card size must be whole pixels; got {width!r}x{height!r}") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise InvalidInput(f"card size must be 16..8192 pixels a side; got {width}x{height}")
    return w, h


def layout_card(card: Card, template: BrandTemplate, width: int, height: int) -> CardLayout:
    """Where each of the card's fields goes, at which size, in which lines (and what did not
    fit or has no glyph). :func:`render_card` draws exactly this."""
    width, height = _check_size(width, height)
    if card.kind not in template.cards:
        raise InvalidInput(f"brand template {template.name}: no style for a {card.kind!r} card")
    style = template.cards[card.kind]
    safe = safe_box(template, width, height)
    shorter = min(width, height)
    fields: list[FieldLayout] = []
    warnings: list[str] = list(template.warnings)
    with _FONT_LOCK:
        for name in FIELDS:
            text = clean_text(getattr(card, name))
            fs = style.fields.get(name)
            if not text:
                continue
            if fs is None:
                warnings.append(f"the template has no box for a {card.kind} card's {name}; it is not shown")
                continue
            if card.locale:
                fields.append(_layout_localized(name, text, fs, template.fonts[fs.font], card.locale, width, height, safe,
                                                shorter))
            else:
                fields.append(_layout_field(name, text, fs, template.fonts[fs.font], width, height, safe, shorter))
    for f in fields:
        if f.truncated:
            warnings.append(f"{f.name} does not fit its box even at {f.font_size} px; cut")
        if f.missing_glyphs:
            warnings.append(f"{f.name}: the font has no glyph for {' '.join(f.missing_glyphs)}")
    return CardLayout(card.kind, width, height, safe, tuple(fields), tuple(warnings))


def _layout_localized(
    name: str, text: str, fs: FieldStyle, choice: FontChoice, locale: str, width: int, height: int,
    safe: tuple[int, int, int, int], shorter: int,
) -> FieldLayout:
    """A localized field: the locale's script font (the template's families name Latin faces),
    shaped by raqm, wrapped at ICU line breaks (``generators.localization.fit``); the box, sizes,
    alignment and line count are the template's."""
    from generators.localization.fit import fit_text

    box = _pixel_box(fs, width, height, safe)
    w, h = box[2] - box[0], box[3] - box[1]
    hi = max(MIN_FONT_PX, round(fs.size * shorter))
    lo = min(hi, max(MIN_FONT_PX, round(fs.min_size * shorter)))
    align = {"left": "start", "right": "end"}.get(fs.align, "center")
    tl = fit_text(text, (0, 0, w, h), locale, max_size=hi, min_size=lo, max_lines=fs.max_lines, align=align,  # type: ignore[arg-type]
                  valign=fs.valign, weight=choice.weight)
    return FieldLayout(
        name=name, box=box, lines=tuple(ln.text for ln in tl.lines), font=Path(tl.font.path).name, font_path=tl.font.path,
        font_size=tl.size,
        line_pitch=tl.line_height, truncated="overflow" in tl.flags,
        missing_glyphs=tuple(chr(c) for c in tl.missing), localized=tl,
    )


def _layout_field(
    name: str, text: str, fs: FieldStyle, choice: FontChoice, width: int, height: int,
    safe: tuple[int, int, int, int], shorter: int,
) -> FieldLayout:
    box = _pixel_box(fs, width, height, safe)
    w, h = box[2] - box[0], box[3] - box[1]
    hi = max(MIN_FONT_PX, round(fs.size * shorter))
    lo = min(hi, max(MIN_FONT_PX, round(fs.min_size * shorter)))
    best: tuple[int, list[str]] | None = None
    if w > 0 and h > 0:
        # the largest size that fits: the largest allowed often does; else bisect (fitting is
        # monotonic in size)
        lines = _fits(text, _font(choice.path, hi), hi, fs, w, h)
        if lines is not None:
            best = (hi, lines)
        else:
            lines = _fits(text, _font(choice.path, lo), lo, fs, w, h) if lo < hi else None
        if best is None and lines is not None:
            best = (lo, lines)
            a, b = lo + 1, hi - 1
            while a <= b:
                mid = (a + b) // 2
                lines = _fits(text, _font(choice.path, mid), mid, fs, w, h)
                if lines is not None:
                    best, a = (mid, lines), mid + 1
                else:
                    b = mid - 1
    truncated = best is None
    if best is None:
        best = (lo, _cut(text, _font(choice.path, lo), lo, fs, w, h) if w > 0 and h > 0 else [])
    size, lines = best
    font = _font(choice.path, size)
    pitch, _one = _metrics(font, size, fs.line_spacing)
    missing = sorted({ch for ch in text if _needs_glyph(ch) and not _has_glyph(choice.path, ch)})
    return FieldLayout(
        name=name, box=box, lines=tuple(lines), font=choice.family, font_path=choice.path, font_size=size,
        line_pitch=pitch, truncated=truncated, missing_glyphs=tuple(missing),
    )


# -- drawing ------------------------------------------------------------------------------------


def render_background(background: Background, width: int, height: int) -> np.ndarray:
    """The background alone, RGB uint8 (height, width, 3) (a fresh array)."""
    return _background_image(background, width, height).copy()


@lru_cache(maxsize=16)
def _background_image(background: Background, width: int, height: int) -> np.ndarray:
    colors = np.asarray(background.colors, dtype=np.float32)
    if background.kind == "solid" or len(colors) == 1:
        image = np.broadcast_to(colors[0].astype(np.uint8), (height, width, 3)).copy()
        image.setflags(write=False)
        return image
    a = math.radians(background.angle)
    dx, dy = math.cos(a), math.sin(a)
    xs = (np.arange(width, dtype=np.float32) + 0.5) / width - 0.5
    ys = (np.arange(height, dtype=np.float32) + 0.5) / height - 0.5
    proj = xs[None, :] * dx + ys[:, None] * dy
    span = abs(dx) * 0.5 + abs(dy) * 0.5
    pos = np.clip((proj + span) / (2 * span), 0.0, 1.0)  # 0..1 along the gradient
    stops = np.linspace(0.0, 1.0, len(colors))
    out = np.empty((height, width, 3), dtype=np.float32)
    for c in range(3):
        out[..., c] = np.interp(pos, stops, colors[:, c])
    image = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    image.setflags(write=False)
    return image


def render_card(
    card: Card, template: BrandTemplate, width: int, height: int, *, layout: CardLayout | None = None
) -> np.ndarray:
    """The card at full brightness: RGB uint8 (height, width, 3)."""
    layout = layout if layout is not None else layout_card(card, template, width, height)
    if (layout.width, layout.height) != (width, height) or layout.kind != card.kind:
        raise InvalidInput(f"the layout is of a {layout.width}x{layout.height} {layout.kind} card, not {width}x{height} {card.kind}")
    frame = render_background(template.background, layout.width, layout.height)
    style = template.cards[card.kind]
    with _FONT_LOCK:
        for fl in layout.fields:
            if not fl.lines:
                continue
            mask = _localized_mask(fl) if fl.localized is not None else _text_mask(fl, style.fields[fl.name])
            x0, y0, x1, y1 = fl.box
            alpha = np.asarray(mask, dtype=np.float32)[:, :, None] / 255.0
            region = frame[y0:y1, x0:x1].astype(np.float32)
            color = np.asarray(style.fields[fl.name].color, dtype=np.float32)
            frame[y0:y1, x0:x1] = np.clip(np.rint(region * (1.0 - alpha) + color * alpha), 0, 255).astype(np.uint8)
    return frame


def _localized_mask(fl: FieldLayout) -> Image.Image:
    from generators.localization.fit import text_mask

    x0, y0, x1, y1 = fl.box
    mask = Image.new("L", (x1 - x0, y1 - y0), 0)
    mask.paste(text_mask(fl.localized), fl.localized.box[:2])
    return mask


def _text_mask(fl: FieldLayout, fs: FieldStyle) -> Image.Image:
    """The field's text as an 8-bit coverage mask of its box: ink outside the box is cut off
    by the mask's own edges."""
    font = _font(fl.font_path, fl.font_size)
    x0, y0, x1, y1 = fl.box
    _pitch, one = _metrics(font, fl.font_size, fs.line_spacing)
    block = (len(fl.lines) - 1) * fl.line_pitch + one
    if fs.valign == "top":
        top = y0
    elif fs.valign == "bottom":
        top = y1 - block
    else:
        top = y0 + (y1 - y0 - block) / 2
    mask = Image.new("L", (x1 - x0, y1 - y0), 0)
    draw = ImageDraw.Draw(mask)
    for i, line in enumerate(fl.lines):
        if not line:
            continue
        left, _t, _r, _b = font.getbbox(line)
        line_w = _width(font, line)
        if fs.align == "left":
            x = x0 - min(left, 0)
        elif fs.align == "right":
            x = x1 - line_w - min(left, 0)
        else:
            x = x0 + (x1 - x0 - line_w) / 2 - min(left, 0)
        # drawn as given: ImageDraw.text interprets nothing in the string
        draw.text((x - x0, top + i * fl.line_pitch - y0), line, font=font, fill=255, anchor="la")
    return mask


def card_frames(
    card: Card, template: BrandTemplate, width: int, height: int, *, fps: Fraction | float | None = None
) -> Iterator[np.ndarray]:
    """``card.frames`` frames of the card (read-only RGB uint8 arrays), faded in from and out to
    black over the template's fades. Give ``fps`` (the timeline's); without it the card is
    taken to last the template's duration for its kind (fps = frames / duration)."""
    if card.frames < 1:
        raise InvalidInput(f"a card must last at least one frame; got {card.frames}")
    style = template.cards[card.kind]
    rate = float(fps) if fps is not None else card.frames / style.duration_s
    if not (math.isfinite(rate) and rate > 0):
        raise InvalidInput(f"fps must be a positive number; got {fps}")
    image = render_card(card, template, width, height)
    image.setflags(write=False)
    n = card.frames
    fin = min(n, round(style.fade_in_s * rate))
    fout = min(n - fin, round(style.fade_out_s * rate))
    base = image.astype(np.float32)
    for i in range(n):
        level = 1.0
        if fin and i < fin:
            level = min(level, i / fin)
        if fout and i >= n - fout:
            level = min(level, (n - 1 - i) / fout)
        if level >= 1.0:
            yield image
        else:
            faded = np.rint(base * level).astype(np.uint8)
            faded.setflags(write=False)
            yield faded
