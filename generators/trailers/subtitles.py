"""Subtitles of a trailer: the title's cues (source time) carried through the cut, checked against
the style guide, burned into the picture and written beside the video as SRT, WebVTT and TTML.

1. **Retiming.** A cue is shown in the trailer wherever a clip shows its source time: each
   clip's piece of the cue moves to the clip's record time. Pieces shorter than
   :data:`MIN_PIECE_S` are dropped (a flash of text at an edit reads as a mistake); a piece that
   runs into the next ends :data:`GAP_FRAMES` frames before it. Cards show no subtitles.
2. **Checks.** The retimed cues go through ``generators.localization.subtitles.check_subtitles``
   with the trailer's edits as its shot changes; each flag becomes a QA flag of the variant.
3. **Burn-in.** Each cue is drawn once as an RGBA image in its script's font (shaped, right to
   left where it applies, outlined), converted to the output's Y, U and V planes with its alpha,
   and blended into the I420 frames it covers, bottom-centred in the title-safe area. No text
   passes through an ffmpeg filter string.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from generators.localization.subtitles import Cue, check_subtitles, render_cue, write_srt, write_ttml, write_vtt
from generators.trailers.timeline import Clip, Timeline

MIN_PIECE_S = 5 / 6  # the style guide's shortest cue: a shorter piece cannot be read
GAP_FRAMES = 2  # kept between two cues (an edit often joins two pieces)
SAFE_BOTTOM = 0.08  # of the height, kept clear below the text
WIDTH_SHARE = 0.84  # of the width the text may use


def retime(cues: Sequence[Cue], timeline: Timeline) -> list[Cue]:
    """The cues as the trailer shows them (record time), in order."""
    f = float(timeline.fps)
    out: list[Cue] = []
    for item, start in zip(timeline.items, timeline.record_starts()):
        if not isinstance(item, Clip):
            continue
        s0, s1 = item.source_in, item.source_in + item.frames / f
        r0 = start / f
        for cue in cues:
            a, b = max(cue.start, s0), min(cue.end, s1)
            if b - a >= MIN_PIECE_S:
                out.append(Cue(round(r0 + a - s0, 4), round(r0 + b - s0, 4), cue.text))
    out.sort(key=lambda c: (c.start, c.end))
    gap = GAP_FRAMES / f
    spaced = []
    for cue, nxt in zip(out, [*out[1:], None]):
        if nxt is not None and nxt.start - cue.end < gap:
            cue = Cue(cue.start, round(nxt.start - gap, 4), cue.text)
        if cue.end - cue.start >= MIN_PIECE_S - gap:
            spaced.append(cue)
    return spaced


def edit_times(timeline: Timeline) -> list[float]:
    """Record times of the trailer's edits (between any two items)."""
    f = float(timeline.fps)
    return [s / f for s in timeline.record_starts()[1:]]


def check(cues: Sequence[Cue], timeline: Timeline, audience: str = "adult") -> list[dict]:
    flags = check_subtitles(cues, float(timeline.fps), audience=audience, shot_changes=edit_times(timeline))  # type: ignore[arg-type]
    return [{"code": fl.code, "cue": fl.cue, "message": fl.message} for fl in flags]


def write_sidecars(cues: Sequence[Cue], folder: Path, base: str, locale: str) -> dict[str, Path]:
    """SRT, WebVTT and TTML of the retimed cues, by sidecar role."""
    return {"subtitles.srt": write_srt(cues, folder / f"{base}.srt"),
            "subtitles.vtt": write_vtt(cues, folder / f"{base}.vtt"),
            "subtitles.ttml": write_ttml(cues, folder / f"{base}.ttml", locale)}


@dataclass(frozen=True)
class Overlay:
    """One cue, ready to blend into I420 frames ``first`` to ``last`` (exclusive)."""

    first: int
    last: int
    x: int  # even: the chroma planes are half size
    y: int
    luma: np.ndarray  # float32 (h, w)
    chroma: np.ndarray  # float32 (2, h/2, w/2): U, V
    alpha: np.ndarray  # float32 (h, w), 0..1
    alpha_half: np.ndarray  # float32 (h/2, w/2)


def overlays(cues: Sequence[Cue], timeline: Timeline, locale: str) -> list[Overlay]:
    """Each retimed cue drawn once and placed; frames are whole output frames."""
    w, h, f = timeline.width, timeline.height, float(timeline.fps)
    size = max(18, round(min(w, h) * 0.045))
    out = []
    for cue in cues:
        image = render_cue(cue.text, locale, int(w * WIDTH_SHARE) // 2 * 2, size=size, min_size=max(14, size * 2 // 3)).image
        rgba = np.asarray(image, dtype=np.uint8)
        ch, cw = rgba.shape[0] // 2 * 2, rgba.shape[1] // 2 * 2
        rgba = rgba[:ch, :cw]
        x = (w - cw) // 2 // 2 * 2
        y = max(0, int(h * (1 - SAFE_BOTTOM)) - ch) // 2 * 2
        out.append(_overlay(rgba, x, y, math.floor(cue.start * f + 0.5), min(timeline.frames, math.floor(cue.end * f + 0.5))))
    return out


def _overlay(rgba: np.ndarray, x: int, y: int, first: int, last: int) -> Overlay:
    yuv = cv2.cvtColor(np.ascontiguousarray(rgba[..., :3]), cv2.COLOR_RGB2YUV_I420)
    h, w = rgba.shape[:2]
    luma = yuv[:h].astype(np.float32)
    chroma = yuv[h:].reshape(2, h // 2, w // 2).astype(np.float32)
    alpha = rgba[..., 3].astype(np.float32) / 255.0
    alpha_half = cv2.resize(alpha, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return Overlay(first, last, x, y, luma, chroma, alpha, alpha_half)


def blend(frame: np.ndarray | bytes, width: int, height: int, overlays_now: Sequence[Overlay]) -> np.ndarray:
    """An I420 frame (flat or shaped) with the overlays blended in (a new array)."""
    buf = np.frombuffer(frame, np.uint8) if isinstance(frame, (bytes, bytearray)) else np.asarray(frame)
    out = buf.reshape(-1).copy()
    ysize, csize = width * height, (width // 2) * (height // 2)
    planes = (out[:ysize].reshape(height, width), out[ysize:ysize + csize].reshape(height // 2, width // 2),
              out[ysize + csize:ysize + 2 * csize].reshape(height // 2, width // 2))
    for ov in overlays_now:
        oh, ow = ov.alpha.shape
        oh, ow = min(oh, height - ov.y), min(ow, width - ov.x)
        if oh <= 0 or ow <= 0:
            continue
        region = planes[0][ov.y:ov.y + oh, ov.x:ov.x + ow]
        a = ov.alpha[:oh, :ow]
        region[...] = np.clip(region * (1 - a) + ov.luma[:oh, :ow] * a + 0.5, 0, 255).astype(np.uint8)
        cy, cx, chh, cww = ov.y // 2, ov.x // 2, oh // 2, ow // 2
        ah = ov.alpha_half[:chh, :cww]
        for n in (1, 2):
            region = planes[n][cy:cy + chh, cx:cx + cww]
            region[...] = np.clip(region * (1 - ah) + ov.chroma[n - 1, :chh, :cww] * ah + 0.5, 0, 255).astype(np.uint8)
    return out
