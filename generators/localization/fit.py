"""Fit one text into a safe box, measured as it will be drawn (shaped by raqm, in its direction
and language), and draw it clipped to that box.

The order of decisions (each recorded in the :class:`TextLayout`):

1. **shrink**: the largest size from ``max_size`` down to ``min_size`` at which the text fits on
   one line (one line per explicit line break);
2. **wrap**: otherwise the largest size down to ``min_size`` at which it fits wrapped, breaking
   lines only at ICU line-break opportunities for the locale (PyICU: dictionary-based for Thai,
   Lao, Khmer, Burmese; per-character rules for CJK; never inside a grapheme cluster);
3. **below the minimum**: otherwise down to ``floor_size`` (flag ``shrunk_below_min``);
4. else ``overflow``: drawn at ``min_size``, clipped to the box (no pixel leaves it).

"Fits" is judged on the shaped text: its advance widths across (less a margin at each side for
ink beyond them) and its ink up and down (the tallest mark above the baseline, the deepest below,
plus :data:`LEADING` between lines), never the fonts' ascent and descent, which differ by script
far more than the letters do.

Right-to-left scripts (Arabic, Hebrew) align to the right edge: ``align="start"`` means the
reading start of the line, so one layout description mirrors itself.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from PIL import Image, ImageDraw

from generators.localization.fonts import (
    FONT_LOCK,
    FontMissing,
    ScriptFont,
    Weight,
    cmap_of,
    detect_script,
    font_for,
    format_code_points,
    language_tag,
    missing_glyphs,
    pillow_font,
    require_raqm,
)

Align = Literal["start", "center", "end"]
VAlign = Literal["top", "middle", "bottom"]
Direction = Literal["ltr", "rtl"]
Box = tuple[int, int, int, int]  # x, y, width, height in pixels
INSET = 0.08  # of the font size, kept free at each side of a box
LEADING = 0.2  # of the font size, between one line's lowest ink and the next line's highest


@dataclass(frozen=True)
class LineBox:
    text: str
    x: int  # left of the line's advance, in the box
    baseline: int  # in the box
    width: int  # advance width, pixels


@dataclass(frozen=True)
class TextLayout:
    """Where a text goes in its box: the font and size chosen, its lines, and the flags."""

    text: str
    locale: str
    script: str
    direction: Direction
    font: ScriptFont
    size: int
    box: Box
    lines: tuple[LineBox, ...]
    align: Align
    line_height: int  # baseline to baseline: the text's ink height plus LEADING
    decision: Literal["fits", "shrunk", "wrapped", "shrunk_below_min", "overflow"]
    flags: tuple[str, ...] = ()
    missing: tuple[int, ...] = ()  # code points the font lacks
    requested: tuple[int, int] = (0, 0)  # (max_size, min_size)
    fonts: tuple[ScriptFont, ...] = ()  # every font drawn with: the script's, then fallbacks (Latin)
    weight: Weight = "regular"

    def runs(self, line: str) -> list[Run]:
        return _cached_runs(line, fallback_chain(self.font, self.weight), self.font.rtl, self.weight)

    @property
    def text_height(self) -> int:
        return self.line_height * len(self.lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "script": self.script, "direction": self.direction, "font": self.font.name, "size": self.size,
            "fonts": [f.name for f in self.fonts],
            "sizes": list(self.requested), "box": list(self.box), "lines": [ln.text for ln in self.lines],
            "line_widths": [ln.width for ln in self.lines], "align": self.align, "decision": self.decision,
            "flags": list(self.flags), "missing_glyphs": [f"U+{p:04X}" for p in self.missing],
        }

    def reasons(self) -> list[tuple[str, str]]:
        """(flag, the reason in words) for the recipe and the reviewer."""
        out = []
        if "missing_glyphs" in self.flags:
            out.append(("missing_glyphs", f"{self.font.name} lacks {format_code_points(self.missing)}"))
        if "shrunk_below_min" in self.flags:
            out.append(("shrunk_below_min", (f"shrunk to {self.size}px, below the minimum {self.requested[1]}px, "
                                             f"to fit {self.box[2]}x{self.box[3]}")))
        if "overflow" in self.flags:
            out.append(("overflow", f"does not fit {self.box[2]}x{self.box[3]} even wrapped at {self.size}px: clipped"))
        return out


# -- line breaking --------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def break_opportunities(text: str, locale: str | None = None) -> tuple[int, ...]:
    """Indices (into the Python string) where a line may start, ICU's line-break rules for the
    locale; the text's length ends the list."""
    import icu

    bi = icu.BreakIterator.createLineInstance(icu.Locale((locale or "en").replace("-", "_")))
    bi.setText(text)
    # ICU counts UTF-16 code units: map them back to code points (astral characters are two units)
    to_index: dict[int, int] = {}
    units = 0
    for i, ch in enumerate(text):
        to_index[units] = i
        units += 2 if ord(ch) > 0xFFFF else 1
    to_index[units] = len(text)
    return tuple(to_index[b] for b in bi if b in to_index and b > 0)


def pieces(text: str, locale: str | None) -> list[str]:
    """``text`` cut at every line-break opportunity (each piece keeps its trailing space)."""
    out, start = [], 0
    for b in break_opportunities(text, locale):
        out.append(text[start:b])
        start = b
    if start < len(text):
        out.append(text[start:])
    return out


# -- measuring ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """A piece of a line drawn with one font in one direction (runs are in visual order)."""

    text: str
    font: ScriptFont
    rtl: bool


def fallback_chain(primary: ScriptFont, weight: Weight = "regular") -> tuple[ScriptFont, ...]:
    """The script's font, then Latin (digits, punctuation and brand names in every script's copy:
    Noto's Thai, Hebrew and Indic fonts carry no Latin letters, some no digits)."""
    chain = [primary]
    if primary.script != "Latn":
        try:
            chain.append(font_for("Latn", weight))
        except FontMissing:
            pass
    return tuple(chain)


def _font_of(ch: str, chain: tuple[ScriptFont, ...], weight: Weight) -> ScriptFont | None:
    for f in chain:
        if ord(ch) in cmap_of(f.path, f.index):
            return f
    try:  # a character of a third script: its own font when one is installed
        own = font_for(detect_script(ch), weight)
    except FontMissing:
        return None
    return own if ord(ch) in cmap_of(own.path, own.index) else None


def visual_runs(line: str, chain: tuple[ScriptFont, ...], rtl: bool, weight: Weight = "regular") -> list[Run]:
    """``line`` as runs of one font and one direction, left to right as drawn (ICU's bidi
    algorithm orders them; raqm shapes each)."""
    import icu

    if not line:
        return []
    # 1. a font per character; spaces and combining marks stay with their neighbour's font
    fonts: list[ScriptFont | None] = []
    for ch in line:
        needs = not (ch.isspace() or unicodedata.category(ch) in ("Mn", "Me", "Cf", "Cc"))
        fonts.append(_font_of(ch, chain, weight) if needs else None)
    last = next((f for f in fonts if f is not None), chain[0])
    for i, f in enumerate(fonts):
        if f is None:
            fonts[i] = last
        else:
            last = f
    # 2. directional runs in visual order (ICU counts UTF-16 units)
    bidi = icu.Bidi()
    bidi.setPara(icu.UnicodeString(line), 1 if rtl else 0)
    index, units = {}, 0
    for i, ch in enumerate(line):
        index[units] = i
        units += 2 if ord(ch) > 0xFFFF else 1
    index[units] = len(line)
    runs: list[Run] = []
    for r in range(bidi.countRuns()):
        start16, length16, direction = bidi.getVisualRun(r)
        a, b = index[start16], index[start16 + length16]
        # 3. split by font, in logical order; a right-to-left run lays its pieces out right to left
        pieces_: list[Run] = []
        i = a
        while i < b:
            j = i
            while j < b and fonts[j] == fonts[i]:
                j += 1
            pieces_.append(Run(line[i:j], fonts[i], direction == 1))  # type: ignore[arg-type]
            i = j
        runs.extend(reversed(pieces_) if direction == 1 else pieces_)
    return runs


class _Measure:
    def __init__(self, chain: tuple[ScriptFont, ...], rtl: bool, language: str | None, weight: Weight) -> None:
        self.chain, self.rtl, self.language, self.weight = chain, rtl, language, weight

    def runs(self, text: str) -> list[Run]:
        return _cached_runs(text, self.chain, self.rtl, self.weight)

    def run_width(self, run: Run, size: int) -> int:
        with FONT_LOCK:
            return round(pillow_font(run.font, size).getlength(run.text, direction="rtl" if run.rtl else "ltr",
                                                                 language=self.language))

    def width(self, text: str, size: int) -> int:
        return sum(self.run_width(r, size) for r in self.runs(text)) if text else 0

    def extents(self, text: str, size: int) -> tuple[int, int]:
        """(pixels of ink above the baseline, below it) of ``text`` drawn as one line at ``size``."""
        above, below = 0, 0
        with FONT_LOCK:
            for r in self.runs(text):
                if not r.text.strip():
                    continue
                _l, top, _r, bottom = pillow_font(r.font, size).getbbox(r.text, anchor="ls", direction="rtl" if r.rtl else "ltr",
                                                                        language=self.language)
                above, below = max(above, -top), max(below, bottom)
        return above, below

    def metrics(self, size: int, fonts: tuple[ScriptFont, ...]) -> tuple[int, int]:
        with FONT_LOCK:
            ms = [pillow_font(f, size).getmetrics() for f in fonts]
        return max(m[0] for m in ms), max(m[1] for m in ms)


@lru_cache(maxsize=4096)
def _cached_runs(text: str, chain: tuple[ScriptFont, ...], rtl: bool, weight: Weight) -> list[Run]:
    return visual_runs(text, chain, rtl, weight)


def _wrap(paragraphs: list[list[str]], m: _Measure, size: int, width: int) -> tuple[list[str], bool]:
    """Greedy lines of break pieces; False when a piece alone is wider than ``width``."""
    lines: list[str] = []
    ok = True
    for parts in paragraphs:
        current = ""
        for part in parts:
            candidate = current + part
            if not current or m.width(candidate.rstrip(), size) <= width:
                current = candidate
                continue
            lines.append(current.rstrip())
            current = part
        if current.strip():
            lines.append(current.rstrip())
    for ln in lines:
        if m.width(ln, size) > width:
            ok = False
    return lines, ok


def _largest(lo: int, hi: int, ok) -> int | None:
    """The largest size in lo..hi for which ``ok(size)`` (assumed monotone), or None."""
    if hi < lo or not ok(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def inset(size: int) -> int:
    """Side margin kept inside a box at ``size`` pixels, for ink beyond the advance."""
    return max(1, round(size * INSET))


def fit_text(text: str, box: Box, locale: str, *, max_size: int, min_size: int, floor_size: int | None = None,
             max_lines: int = 3, align: Align = "start", valign: VAlign = "top", weight: Weight = "regular",
             script: str | None = None) -> TextLayout:
    """The layout of ``text`` in ``box`` (see the module docstring for the order of decisions)."""
    # 1. check inputs: the font, the shaping engine and every glyph, before anything is drawn
    x0, y0, bw, bh = (int(v) for v in box)
    if bw <= 0 or bh <= 0 or min_size < 1 or max_size < min_size:
        raise ValueError(f"bad box {box} or sizes {min_size}..{max_size}")
    floor_size = max(1, floor_size if floor_size is not None else max(6, int(min_size * 0.75)))
    script = script or detect_script(text, locale)
    font = font_for(script, weight)
    if font.complex or font.rtl:
        require_raqm()
    direction: Direction = "rtl" if font.rtl else "ltr"
    chain = fallback_chain(font, weight)
    m = _Measure(chain, font.rtl, language_tag(locale), weight)
    missing = tuple(p for p in missing_glyphs(text, font) if _font_of(chr(p), chain, weight) is None)
    used = tuple(dict.fromkeys(r.font for ln in text.split("\n") for r in m.runs(ln))) or (font,)

    paragraphs_text = [p for p in text.split("\n") if p.strip()] or [""]
    paragraphs = [pieces(p, locale) for p in paragraphs_text]
    ink_at_max: list[tuple[int, int]] = []

    def vertical(size: int) -> tuple[int, int, int]:
        """(ink above the baseline, ink below it, line pitch) of this text at ``size``. Measured on
        the shaped text, not the fonts' ascent and descent: Noto Sans Arabic's (2.1 em, room for
        stacked marks the copy may not have) would make Arabic copy half the size of Latin copy in
        the same box, and flag it as shrunk. Measured once, at ``max_size``, and scaled (rounded
        up): measuring ink renders the glyphs, and the search tries several sizes."""
        if not ink_at_max:
            above, below = 0, 0
            for p in paragraphs_text:
                up, down = m.extents(p, max_size)
                above, below = max(above, up), max(below, down)
            if above + below == 0:  # nothing with ink: the fonts' own line
                above, below = m.metrics(max_size, used)
            ink_at_max.append((above, below))
        above, below = (math.ceil(v * size / max_size) for v in ink_at_max[0])
        return above, below, above + below + max(1, round(size * LEADING))

    def block_height(n: int, size: int) -> int:
        above, below, pitch = vertical(size)
        return (n - 1) * pitch + above + below

    def fits_height(n: int, size: int) -> bool:
        # the same margin above and below as at the sides (inset)
        return n <= max_lines and block_height(n, size) + 2 * inset(size) <= bh

    def room(size: int) -> int:
        # glyph ink may overhang its advance (an initial Arabic letter, an italic): keep a margin
        return bw - 2 * inset(size)

    def one_line(size: int) -> bool:
        return fits_height(len(paragraphs_text), size) and all(m.width(p, size) <= room(size) for p in paragraphs_text)

    def wrapped(size: int) -> bool:
        lines, ok = _wrap(paragraphs, m, size, room(size))
        return ok and fits_height(len(lines), size)

    # 2. shrink, then wrap, then below the minimum, else overflow
    flags: list[str] = ["missing_glyphs"] if missing else []
    size = _largest(min_size, max_size, one_line)
    if size is not None:
        lines = paragraphs_text
        decision = "fits" if size == max_size else "shrunk"
    else:
        size = _largest(min_size, max_size, wrapped)
        if size is not None:
            decision = "wrapped"
        else:
            size = _largest(floor_size, min_size - 1, wrapped)
            if size is not None:
                decision = "shrunk_below_min"
                flags.append("shrunk_below_min")
            else:
                size, decision = min_size, "overflow"
                flags.append("overflow")
        lines, _ = _wrap(paragraphs, m, size, room(size))
        lines = lines[:max_lines] if decision != "overflow" else lines

    # 3. place the lines: reading start is the right edge for RTL
    ascent, _below, lh = vertical(size)
    block = block_height(len(lines), size)
    pad_y = inset(size)
    top = pad_y if valign == "top" else (bh - block) // 2 if valign == "middle" else bh - pad_y - block
    top = max(0, top) if decision != "overflow" else top
    side = {"start": "right" if direction == "rtl" else "left", "end": "left" if direction == "rtl" else "right",
            "center": "center"}[align]
    placed = []
    for i, ln in enumerate(lines):
        w = m.width(ln, size)
        pad = inset(size)
        x = pad if side == "left" else bw - pad - w if side == "right" else (bw - w) // 2
        placed.append(LineBox(ln, int(x), int(top + ascent + i * lh), int(w)))
    return TextLayout(text, locale, script, direction, font, int(size), (x0, y0, bw, bh), tuple(placed), align, lh,
                      decision, tuple(flags), missing, (max_size, min_size), used, weight)


# -- drawing --------------------------------------------------------------------------------------


def text_mask(layout: TextLayout) -> Image.Image:
    """The text's coverage (L, 0..255) over its box: what is drawn, clipped to the box."""
    _, _, bw, bh = layout.box
    mask = Image.new("L", (bw, bh), 0)
    draw = ImageDraw.Draw(mask)
    language = language_tag(layout.locale)
    with FONT_LOCK:
        for ln in layout.lines:
            x = ln.x
            for run in layout.runs(ln.text):
                font = pillow_font(run.font, layout.size)
                direction = "rtl" if run.rtl else "ltr"
                draw.text((x, ln.baseline), run.text, fill=255, font=font, anchor="ls", direction=direction, language=language)
                x += round(font.getlength(run.text, direction=direction, language=language))
    return mask


def draw_layout(image: Image.Image, layout: TextLayout, fill: tuple[int, int, int]) -> Image.Image:
    """Draw ``layout`` onto ``image`` (RGB, in place) in ``fill``; returns the mask drawn with."""
    mask = text_mask(layout)
    x, y, bw, bh = layout.box
    image.paste(Image.new("RGB", (bw, bh), fill), (x, y), mask)
    return mask
