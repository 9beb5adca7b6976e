"""A font per script, from the installed Noto set (``assets/localization/fonts.json``), and the
checks that come before any text is drawn:

- :func:`detect_script`: the text's script (ISO 15924, from the Unicode Script property via
  fontTools), CJK told apart by the locale (Japanese, Korean, Simplified, Traditional Chinese);
- :func:`font_for`: the font file (and face of a .ttc) for a script; a missing file is one line
  naming the Debian package that installs it (:class:`FontMissing`);
- :func:`missing_glyphs`: code points the chosen font's cmap lacks (Pillow has no fallback: a
  missing glyph draws as a box), so ``missing_glyphs`` is flagged *before* rendering;
- :func:`require_raqm`: Pillow's raqm layout (HarfBuzz + FriBiDi) must be there: without it
  Arabic, Hebrew and Indic text would be drawn unshaped, so it is refused instead.
"""

from __future__ import annotations

import json
import os
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from PIL import ImageFont

from workbench.errors import InvalidInput

FONT_TABLE = Path(__file__).resolve().parents[2] / "assets" / "localization" / "fonts.json"
FONT_DIRS: tuple[str, ...] = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
CJK_SCRIPTS = ("Jpan", "Kore", "Hans", "Hant")
Weight = Literal["regular", "bold"]
# FreeType faces are shared through the cache and are not safe to use from two threads at once.
FONT_LOCK = threading.RLock()


class FontMissing(InvalidInput):
    """No installed font for a script (the message names the Debian package)."""


class RaqmMissing(InvalidInput):
    """Pillow without libraqm: complex scripts cannot be shaped."""


@dataclass(frozen=True)
class ScriptFont:
    script: str  # the table's key: Latn, Arab, Hans...
    label: str  # "Arabic"
    path: str
    index: int  # the face in a .ttc
    package: str  # the Debian package that ships it
    rtl: bool
    complex: bool  # needs shaping (raqm)

    @property
    def name(self) -> str:
        return f"{Path(self.path).name}" + (f"#{self.index}" if self.index else "")


@lru_cache(maxsize=1)
def font_table() -> dict[str, dict]:
    table = json.loads(FONT_TABLE.read_text(encoding="utf-8"))
    return {k: v for k, v in table.items() if not k.startswith("_")}


@lru_cache(maxsize=1)
def _installed() -> dict[str, str]:
    """Font file name → path, for every font under the usual folders (first found wins)."""
    found: dict[str, str] = {}
    for folder in FONT_DIRS:
        root = Path(os.path.expanduser(folder))
        if not root.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                if name.lower().endswith((".ttf", ".otf", ".ttc")):
                    found.setdefault(name, os.path.join(dirpath, name))
    return found


def require_raqm() -> None:
    """Raise (one line) unless Pillow can shape text with libraqm."""
    from PIL import features

    if not features.check("raqm"):
        raise RaqmMissing("Pillow has no raqm layout (libraqm with HarfBuzz and FriBiDi): complex scripts would be drawn "
                          "unshaped; install Pillow wheels 10+ (they bundle raqm) or Debian libraqm0")


# -- scripts ---------------------------------------------------------------------------------------

_KANA = {"Hira", "Kana"}
_NEUTRAL = {"Zyyy", "Zinh", "Zzzz"}


def char_script(ch: str) -> str:
    from fontTools import unicodedata as fu

    return fu.script(ch)


def detect_script(text: str, locale: str | None = None) -> str:
    """The font table's script for ``text``: the most frequent script of its letters, CJK by the
    locale (``ja`` → Jpan, ``ko`` → Kore, ``zh-Hant``/``zh-TW``/``zh-HK`` → Hant, other ``zh`` →
    Hans); text of digits and punctuation only takes the locale's script (Latin by default)."""
    counts: Counter[str] = Counter()
    for ch in text:
        s = char_script(ch)
        if s not in _NEUTRAL:
            counts[s] += 1
    lang = (locale or "").split("-")[0].lower()
    if not counts:
        return script_of_locale(locale)
    if counts.keys() & _KANA:
        return "Jpan"
    top = counts.most_common(1)[0][0]
    if top == "Hang":
        return "Kore"
    if top == "Hani":
        if lang == "ja":
            return "Jpan"
        if lang == "ko":
            return "Kore"
        return _chinese(locale)
    return top


def _chinese(locale: str | None) -> str:
    parts = (locale or "").replace("_", "-").split("-")
    return "Hant" if any(p in ("Hant", "TW", "HK", "MO") for p in parts[1:]) else "Hans"


def script_of_locale(locale: str | None) -> str:
    """The usual script of a locale's language (CLDR likely subtags via Babel)."""
    if not locale:
        return "Latn"
    lang = locale.split("-")[0].lower()
    if lang == "ja":
        return "Jpan"
    if lang == "ko":
        return "Kore"
    if lang == "zh":
        return _chinese(locale)
    from babel.core import get_global

    likely = get_global("likely_subtags").get(lang) or ""
    for part in likely.split("_")[1:]:
        if len(part) == 4:
            return part
    return "Latn"


def is_rtl(script: str) -> bool:
    return bool(font_table().get(script, {}).get("rtl"))


# -- fonts -----------------------------------------------------------------------------------------


def font_for(script: str, weight: Weight = "regular") -> ScriptFont:
    """The installed font of a script; FontMissing naming the Debian package otherwise."""
    table = font_table()
    entry = table.get(script)
    if entry is None:
        raise FontMissing(f"no font for the {script} script in {FONT_TABLE.name}; it covers "
                          f"{', '.join(v['label'] for v in table.values())}")
    name = entry.get(weight) or entry["regular"]
    path = _installed().get(name) or _installed().get(entry["regular"])
    if path is None:
        raise FontMissing(f"no {entry['label']} font: {name} is not installed (Debian: apt-get install {entry['package']})")
    return ScriptFont(script, entry["label"], path, int(entry.get("index", 0)), entry["package"],
                      bool(entry.get("rtl")), bool(entry.get("complex")))


def pillow_font(font: ScriptFont, size: int) -> ImageFont.FreeTypeFont:
    """The font at ``size`` pixels with raqm layout (shaping, bidi)."""
    return _pillow_font(font.path, font.index, int(size))


@lru_cache(maxsize=512)
def _pillow_font(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index, layout_engine=ImageFont.Layout.RAQM)


@lru_cache(maxsize=32)
def cmap_of(path: str, index: int = 0) -> frozenset[int]:
    """The code points a font maps (its best cmap), read once per face."""
    from fontTools.ttLib import TTFont

    with TTFont(path, fontNumber=index, lazy=True) as f:
        return frozenset(f.getBestCmap() or {})


def _needs_glyph(ch: str) -> bool:
    # spaces, line breaks, format characters (ZWJ, ZWNJ, marks of direction) need no glyph of their own
    return not (ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf"))


def missing_glyphs(text: str, font: ScriptFont) -> tuple[int, ...]:
    """Code points of ``text`` that ``font`` cannot draw, each once, in order."""
    cmap = cmap_of(font.path, font.index)
    return tuple(dict.fromkeys(ord(ch) for ch in text if _needs_glyph(ch) and ord(ch) not in cmap))


def format_code_points(points: tuple[int, ...], limit: int = 8) -> str:
    shown = " ".join(f"U+{p:04X}" for p in points[:limit])
    return shown + (f" (+{len(points) - limit} more)" if len(points) > limit else "")


def language_tag(locale: str | None) -> str | None:
    """The language raqm/HarfBuzz shapes for (``sr`` and ``bg`` Cyrillic forms, Urdu digits...)."""
    return (locale or "").split("-")[0].lower() or None
