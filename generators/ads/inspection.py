"""What the review page reads off an ad's stored file: each QR code decoded from the pixels that
were signed (the still, or the frames of a video at the code's time), compared with the tracking
URL the recipe says it carries. A code that does not decode, or decodes to another URL, is a
problem that should stop an approval.

Fast enough for a page load: the code's recorded box (with a margin) is decoded first, the whole
picture only when that fails; a video is read at one frame per code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generators.ads.qr import decode_qr
from generators.base import Inspection

MARGIN = 0.25  # of the code's side, added round its box (a quiet zone's worth and some)


@dataclass(frozen=True)
class QrCheck:
    """One code to read: where it is (pixel box x0, y0, x1, y1 on the picture, or None: look
    everywhere), what it should say, and how the reviewer names it."""

    label: str
    expected: str
    box: Sequence[float] | None = None
    time_s: float | None = None  # for a video: when the code is on screen


def read_qr(rgb: np.ndarray, box: Sequence[float] | None = None) -> str:
    """The text of the QR code in ``box`` of ``rgb`` (the whole picture when the box holds none)."""
    if box is not None and len(box) == 4:
        x0, y0, x1, y1 = (float(v) for v in box)
        pad = MARGIN * max(x1 - x0, y1 - y0)
        h, w = rgb.shape[:2]
        crop = rgb[max(0, int(y0 - pad)):min(h, int(np.ceil(y1 + pad))), max(0, int(x0 - pad)):min(w, int(np.ceil(x1 + pad)))]
        if crop.size:
            text = decode_qr(crop)
            if text:
                return text
    return decode_qr(rgb)


def check_codes(pictures: Sequence[np.ndarray], checks: Sequence[QrCheck]) -> Inspection:
    """Facts and problems of ``checks``, each read from the picture at the same index."""
    facts: list[tuple[str, str]] = []
    problems: list[str] = []
    for picture, check in zip(pictures, checks):
        found = read_qr(picture, check.box)
        if not found:
            facts.append((check.label, "does not decode"))
            problems.append(f"{check.label}: the QR code does not decode (expected {check.expected})")
        elif found != check.expected:
            facts.append((check.label, f"decodes to {found}: NOT the tracking URL"))
            problems.append(f"{check.label}: the QR code decodes to {found!r}, not the recipe's {check.expected!r}")
        else:
            facts.append((check.label, f"decodes to {found} (the tracking URL)"))
    return Inspection(facts=tuple(facts), problems=tuple(problems))


def inspect_still(path: Path, checks: Sequence[QrCheck]) -> Inspection:
    """The codes of a still; a file that does not read is a problem, never an exception."""
    from workbench.media.frames import read_still_rgb

    if not checks:
        return Inspection(problems=("the recipe names no QR code to check",))
    try:
        rgb = read_still_rgb(Path(path))
    except Exception as exc:  # noqa: BLE001 (a page load must not fail on one check)
        return Inspection(problems=(f"could not read the still: {type(exc).__name__}: {exc}",))
    return check_codes([rgb] * len(checks), checks)


def inspect_video(path: Path, checks: Sequence[QrCheck]) -> Inspection:
    """The codes of a video, each at its time; as :func:`inspect_still` for a bad file."""
    from workbench.media.frames import read_frames_at

    if not checks:
        return Inspection(problems=("the recipe names no QR code to check",))
    try:
        frames = read_frames_at(Path(path), [c.time_s or 0.0 for c in checks])
    except Exception as exc:  # noqa: BLE001
        return Inspection(problems=(f"could not read the video: {type(exc).__name__}: {exc}",))
    return check_codes([frames[float(c.time_s or 0.0)] for c in checks], checks)


__all__ = ["QrCheck", "check_codes", "inspect_still", "inspect_video", "read_qr"]
