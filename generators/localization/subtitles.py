"""Subtitles for video promos: SRT and WebVTT in (pysubs2), checked against a style guide
(``assets/localization/subtitle_style.json``), out as SRT, WebVTT and TTML, and one cue drawn as
an RGBA image with the right font for its script (for burning in).

The checks, each a :class:`SubtitleFlag` naming the cue (1-based, in time order):

- ``line_too_long``: a line over ``max_chars_per_line`` characters (42);
- ``too_many_lines``: more than ``max_lines`` (2);
- ``reading_speed``: over ``max_cps`` characters a second (17 for adults, 13 for kids), counted
  without line breaks;
- ``too_short`` / ``too_long``: under 5/6 s or over 7 s on screen;
- ``gap_too_small``: under ``min_gap_frames`` (2) between a cue and the next;
- ``overlap``: a cue starting before the previous one ends;
- ``crosses_shot_change``: a shot change inside a cue within ``shot_change_frames`` (12) of its
  start or end: the cue should start or end on the change instead of flashing across it.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image, ImageFilter

from workbench.errors import InvalidInput

STYLE_GUIDE = Path(__file__).resolve().parents[2] / "assets" / "localization" / "subtitle_style.json"
MAX_SUBTITLE_BYTES = 2 * 1024 * 1024
MAX_CUES = 5000
TTML_NS = "http://www.w3.org/ns/ttml"
XML_NS = "http://www.w3.org/XML/1998/namespace"
Audience = Literal["adult", "kids"]


@dataclass(frozen=True)
class Cue:
    start: float  # seconds
    end: float
    text: str  # lines separated by "\n", no markup

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")


@dataclass(frozen=True)
class StyleGuide:
    max_chars_per_line: int = 42
    max_lines: int = 2
    max_cps_adult: float = 17.0
    max_cps_kids: float = 13.0
    min_duration_s: float = 5 / 6
    max_duration_s: float = 7.0
    min_gap_frames: int = 2
    shot_change_frames: int = 12

    @classmethod
    def load(cls, path: Path | None = None) -> StyleGuide:
        raw = json.loads((path or STYLE_GUIDE).read_text(encoding="utf-8"))
        return cls(raw["max_chars_per_line"], raw["max_lines"], raw["max_cps"]["adult"], raw["max_cps"]["kids"],
                   raw["min_duration_s"], raw["max_duration_s"], raw["min_gap_frames"], raw["shot_change_frames"])


@dataclass(frozen=True)
class SubtitleFlag:
    code: str
    cue: int  # 1-based
    message: str

    def line(self) -> str:
        return f"cue {self.cue}: {self.code}: {self.message}"


# -- in ---------------------------------------------------------------------------------------------


def load_subtitles(path: Path | str) -> list[Cue]:
    """The cues of an SRT or WebVTT file, in time order, text without markup."""
    import pysubs2

    path = Path(path)
    if path.suffix.lower() not in (".srt", ".vtt"):
        raise InvalidInput(f"{path.name}: subtitles must be .srt or .vtt")
    if path.stat().st_size > MAX_SUBTITLE_BYTES:
        raise InvalidInput(f"{path.name}: too big for a subtitle file (at most {MAX_SUBTITLE_BYTES // (1024 * 1024)} MiB)")
    try:
        subs = pysubs2.load(str(path), encoding="utf-8", format_="srt" if path.suffix.lower() == ".srt" else "vtt")
    except (UnicodeDecodeError, pysubs2.exceptions.Pysubs2Error, ValueError) as exc:
        raise InvalidInput(f"{path.name}: not readable subtitles ({str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__})") from None
    cues = [Cue(e.start / 1000, e.end / 1000, e.plaintext.strip()) for e in subs if not e.is_comment and e.plaintext.strip()]
    if len(cues) > MAX_CUES:
        raise InvalidInput(f"{path.name}: {len(cues)} cues; at most {MAX_CUES}")
    return sorted(cues, key=lambda c: (c.start, c.end))


# -- checks -----------------------------------------------------------------------------------------


def check_subtitles(cues: Sequence[Cue], fps: float, *, audience: Audience = "adult", shot_changes: Sequence[float] = (),
                    guide: StyleGuide | None = None) -> list[SubtitleFlag]:
    """Every style-guide problem of ``cues`` (see the module docstring), in cue order."""
    g = guide or StyleGuide.load()
    frame = 1.0 / fps
    max_cps = g.max_cps_kids if audience == "kids" else g.max_cps_adult
    flags: list[SubtitleFlag] = []
    eps = 1e-6
    for n, cue in enumerate(cues, 1):
        lines = cue.lines
        for i, ln in enumerate(lines, 1):
            if len(ln) > g.max_chars_per_line:
                flags.append(SubtitleFlag("line_too_long", n, f"line {i} has {len(ln)} characters (at most {g.max_chars_per_line})"))
        if len(lines) > g.max_lines:
            flags.append(SubtitleFlag("too_many_lines", n, f"{len(lines)} lines (at most {g.max_lines})"))
        duration = cue.end - cue.start
        chars = len(cue.text.replace("\n", ""))
        if duration > 0 and chars / duration > max_cps + eps:
            flags.append(SubtitleFlag("reading_speed", n, f"{chars / duration:.1f} characters a second (at most {max_cps:g} for {audience})"))
        if duration < g.min_duration_s - eps:
            flags.append(SubtitleFlag("too_short", n, f"{duration:.2f} s on screen (at least {g.min_duration_s:.3f} s)"))
        if duration > g.max_duration_s + eps:
            flags.append(SubtitleFlag("too_long", n, f"{duration:.2f} s on screen (at most {g.max_duration_s:g} s)"))
        if n < len(cues):
            nxt = cues[n]
            gap = nxt.start - cue.end
            if gap < -eps:
                flags.append(SubtitleFlag("overlap", n, f"overlaps cue {n + 1} by {-gap:.3f} s"))
            elif gap < g.min_gap_frames * frame - eps:
                flags.append(SubtitleFlag("gap_too_small", n, f"{gap * fps:.1f} frames before cue {n + 1} (at least {g.min_gap_frames})"))
        for t in shot_changes:
            if cue.start + eps < t < cue.end - eps:
                near = min(t - cue.start, cue.end - t)
                if near < g.shot_change_frames * frame - eps:
                    flags.append(SubtitleFlag("crosses_shot_change", n, f"a shot change at {t:.3f} s is {near * fps:.0f} frames "
                                              f"inside the cue (snap to it or stay {g.shot_change_frames} frames away)"))
    return flags


# -- out --------------------------------------------------------------------------------------------


def _ssa(cues: Sequence[Cue]):
    import pysubs2

    subs = pysubs2.SSAFile()
    for c in cues:
        # pysubs2 keeps \N as its line break; literal braces and backslashes stay text in SRT/VTT output
        subs.append(pysubs2.SSAEvent(start=round(c.start * 1000), end=round(c.end * 1000), text=c.text.replace("\n", "\\N")))
    return subs


def write_srt(cues: Sequence[Cue], path: Path) -> Path:
    _ssa(cues).save(str(path), format_="srt", encoding="utf-8")
    return path


def write_vtt(cues: Sequence[Cue], path: Path) -> Path:
    _ssa(cues).save(str(path), format_="vtt", encoding="utf-8")
    return path


def _clock(t: float) -> str:
    ms = round(t * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def write_ttml(cues: Sequence[Cue], path: Path, locale: str) -> Path:
    """TTML 1 (``<tt xml:lang>`` … ``<p begin end>`` with ``<br/>`` between lines); the text is
    escaped by the XML writer, never spliced in."""
    ET.register_namespace("", TTML_NS)
    tt = ET.Element(f"{{{TTML_NS}}}tt", {f"{{{XML_NS}}}lang": locale})
    body = ET.SubElement(tt, f"{{{TTML_NS}}}body")
    div = ET.SubElement(body, f"{{{TTML_NS}}}div")
    for c in cues:
        p = ET.SubElement(div, f"{{{TTML_NS}}}p", {"begin": _clock(c.start), "end": _clock(c.end)})
        lines = c.lines
        p.text = lines[0]
        for ln in lines[1:]:
            br = ET.SubElement(p, f"{{{TTML_NS}}}br")
            br.tail = ln
    ET.ElementTree(tt).write(path, encoding="utf-8", xml_declaration=True)
    return path


def _seconds(clock: str) -> float:
    h, m, s = clock.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def read_ttml(path: Path) -> list[Cue]:
    """Cues of a TTML file this module wrote (clock times, ``<br/>`` line breaks); defused parse."""
    from defusedxml import ElementTree as SafeET

    root = SafeET.parse(str(path), forbid_dtd=True).getroot()
    cues = []
    for p in root.iter(f"{{{TTML_NS}}}p"):
        parts = [p.text or ""]
        for child in p:
            if child.tag == f"{{{TTML_NS}}}br":
                parts.append("\n")
            parts.append(child.tail or "")
        cues.append(Cue(_seconds(p.get("begin")), _seconds(p.get("end")), "".join(parts)))
    return cues


# -- burning in -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedCue:
    image: Image.Image  # RGBA
    layout: object  # generators.localization.fit.TextLayout


def render_cue(text: str, locale: str, width: int, *, size: int = 44, min_size: int = 28,
               fill: tuple[int, int, int] = (255, 255, 255)) -> RenderedCue:
    """One cue as an RGBA image ``width`` wide: centred lines in the script's font (shaped, RTL
    aware), with a dark outline so it reads on any picture. Overlay it at the bottom safe area."""
    from generators.localization.fit import fit_text, text_mask

    height = int(size * 1.6 * 2 + size * 0.6)
    pad = max(2, size // 12)
    layout = fit_text(text, (pad * 2, pad * 2, width - pad * 4, height - pad * 4), locale, max_size=size, min_size=min_size,
                      max_lines=2, align="center", valign="bottom")
    mask = Image.new("L", (width, height), 0)
    mask.paste(text_mask(layout), layout.box[:2])
    outline = mask.filter(ImageFilter.MaxFilter(2 * pad + 1))
    image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    image.paste(Image.new("RGBA", image.size, (0, 0, 0, 220)), (0, 0), outline)
    image.paste(Image.new("RGBA", image.size, (*fill, 255)), (0, 0), mask)
    return RenderedCue(image, layout)
