"""Small cached JPEG previews of stored images, so the review queue never sends full-size files.

A preview is made once per (asset, side) under ``HOME/previews/ab/<sha256>-<side>.jpg`` and
written atomically (temp file + rename), so concurrent page loads can race for it safely. JPEG
sources are decoded in Pillow's draft mode (the decoder scales by 1/2, 1/4 or 1/8 itself), which
makes a 1080p preview cost a few milliseconds. Previews are a cache: deleting the folder is safe.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from workbench.errors import NotFound
from workbench.settings import Settings, get_settings
from workbench.store import AssetStore, check_sha256, normalize_ext

if TYPE_CHECKING:
    import numpy as np

VIDEO_EXTS = frozenset({".mp4", ".mov", ".mkv", ".webm", ".m4v"})
PREVIEW_QUALITY = 80
# The queue's second, sharper preview: for cards that are wider on the screen (in device pixels)
# than the small one (``settings.preview_side``), e.g. a 300-px card on a 2x display. Still a
# cache of a few tens of kB, never the full-size file.
LARGE_PREVIEW_SIDE = 640
# Sides the review app's media route serves (ui/web.py): the two queue sizes and the large one
# the variant page draws pins on and the compare views show.
SERVED_SIDES = frozenset({320, LARGE_PREVIEW_SIDE, 1280})


def preview_dir(settings: Settings) -> Path:
    return settings.home / "previews"


def preview_path(sha256: str, ext: str, settings: Settings | None = None, *, side: int | None = None) -> Path | None:
    """The cached preview of a stored image (made now if missing), longest side ``side``
    (default ``settings.preview_side``); None for a video (the UI plays those). NotFound when the
    asset is not in the store."""
    settings = settings or get_settings()
    # 1. check inputs
    check_sha256(sha256)
    ext = normalize_ext(ext)
    side = int(side or settings.preview_side)
    if side < 16:
        raise ValueError(f"preview side {side} is too small (at least 16)")
    if ext in VIDEO_EXTS:
        return None
    # 2. the cached file, if an earlier call made it
    dest = preview_dir(settings) / sha256[:2] / f"{sha256}-{side}.jpg"
    if dest.is_file():
        return dest
    source = AssetStore(settings.store_dir).resolve(sha256, ext)
    # 3. decode small, shrink, write atomically
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".tmp-{os.getpid()}-{secrets.token_hex(4)}.jpg")
    try:
        with Image.open(source) as im:
            if im.format == "JPEG":
                im.draft("RGB", (side, side))
            im.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=2.0)
            small = im.convert("RGB")
        small.save(tmp, "JPEG", quality=PREVIEW_QUALITY, optimize=True)
        os.replace(tmp, dest)
    except FileNotFoundError:
        raise NotFound(f"asset {sha256[:12]} is not in the store") from None
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def poster_path(sha256: str, ext: str, settings: Settings | None = None, *, at: float | None = None,
                side: int | None = None, video_start: float = 0.0) -> Path:
    """A cached JPEG of one frame of a stored video: the frame shown at ``at`` seconds (analysis
    clock; ``video_start`` added for the container clock), or a third of the way in. For queue
    cards of video variants and the trailer page's shot strip."""
    from workbench.media.frames import read_frames_at
    from workbench.media.probe import VIDEO_SUFFIXES

    settings = settings or get_settings()
    check_sha256(sha256)
    ext = normalize_ext(ext)
    side = int(side or settings.preview_side)
    if side < 16:
        raise ValueError(f"preview side {side} is too small (at least 16)")
    if ext not in VIDEO_SUFFIXES:
        raise ValueError(f"{ext} is not a video")
    source = AssetStore(settings.store_dir).resolve(sha256, ext)
    if at is None:
        # the default poster has its own name, so a cached one is found without opening the
        # video to compute "a third of the way in" (the queue asks for one per video card)
        dest = preview_dir(settings) / sha256[:2] / f"{sha256}-poster-{side}.jpg"
        if dest.is_file():
            return dest
        import av

        from workbench.media.source import open_local

        with open_local(source) as container:
            at = (container.duration / av.time_base / 3) if container.duration else 0.0
    else:
        dest = preview_dir(settings) / sha256[:2] / f"{sha256}-t{round(at * 1000)}-{side}.jpg"
        if dest.is_file():
            return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    [rgb] = read_frames_at(source, [at], video_start).values()
    tmp = dest.with_name(f".tmp-{os.getpid()}-{secrets.token_hex(4)}.jpg")
    try:
        im = Image.fromarray(rgb)
        im.thumbnail((side, side), Image.Resampling.LANCZOS, reducing_gap=2.0)
        im.save(tmp, "JPEG", quality=PREVIEW_QUALITY, optimize=True)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def locate_window(frame: np.ndarray, picture: np.ndarray, *, height: int = 96) -> tuple[int, int, int, int] | None:
    """Where ``picture`` was cut from ``frame``, measured on the pixels: the window of the
    picture's shape that fills the frame's height (or width, for a picture wider than the
    frame), slid along the free side to where the frame, scaled to ``height`` rows, matches the
    picture best. ``(x0, y0, x1, y1)`` in the frame's pixels, or None when no place matches
    clearly better than the others (a title card, different content). For the export preview of
    a reframed video (a 9:16 cut of a 16:9 title), whose recipe does not record its windows."""
    import numpy as np

    fh, fw = frame.shape[:2]
    ph, pw = picture.shape[:2]
    if min(fh, fw, ph, pw) < 2:
        return None
    transposed = pw * fh > fw * ph  # wider than the frame: slide down instead of across
    if transposed:
        frame, picture = frame.transpose(1, 0, 2), picture.transpose(1, 0, 2)
        fh, fw, ph, pw = fw, fh, pw, ph
    win_w = min(fw, max(1, round(fh * pw / ph)))
    scale = height / fh
    small_w, small_win = max(1, round(fw * scale)), max(1, round(win_w * scale))

    def grey(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        return np.asarray(Image.fromarray(rgb).convert("L").resize(size, Image.Resampling.BOX), dtype=np.float32)

    f = grey(frame, (small_w, height))
    p = grey(picture, (small_win, height))
    diffs = np.array([np.abs(f[:, x:x + small_win] - p).mean() for x in range(small_w - small_win + 1)])
    best = int(diffs.argmin())
    clear = diffs.size == 1 or diffs[best] < 0.6 * float(np.median(diffs))
    if diffs[best] > 20.0 or not clear:
        return None
    x0 = min(fw - win_w, round(best / scale))
    box = (x0, 0, x0 + win_w, fh)
    return (box[1], box[0], box[3], box[2]) if transposed else box
