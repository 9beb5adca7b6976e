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

from PIL import Image

from workbench.errors import NotFound
from workbench.settings import Settings, get_settings
from workbench.store import AssetStore, check_sha256, normalize_ext

VIDEO_EXTS = frozenset({".mp4", ".mov", ".mkv", ".webm", ".m4v"})
PREVIEW_QUALITY = 80


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
        import av

        from workbench.media.source import open_local

        with open_local(source) as container:
            at = (container.duration / av.time_base / 3) if container.duration else 0.0
    key = f"{sha256}-t{round(at * 1000)}-{side}.jpg"
    dest = preview_dir(settings) / sha256[:2] / key
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
