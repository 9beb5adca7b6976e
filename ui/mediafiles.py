"""Which stored file the review app's media route (``GET /_wb/media/<variant id>/<what>``, see
:mod:`ui.web`) serves for a variant, and the facts the players need about a video.

``what`` is one of a fixed set, never a path: ``file`` (the stored file itself, full
resolution), ``play`` (a video's review copy when it has one, else the file), ``preview-<side>``
(a cached preview of a still, or a poster frame of a video; sides in
:data:`workbench.previews.SERVED_SIDES`) and ``shot-<n>`` (the still of a trailer's n-th clip,
from the title, as the shot strip shows it). Everything is looked up from the catalog by the
variant's id, so a request can name nothing else. Nothing here imports Streamlit: the ASGI route
calls it on a worker thread.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError
from workbench.settings import Settings, get_settings

WHAT = re.compile(r"file|play|preview-(?P<side>\d{2,4})|shot-(?P<shot>\d{1,4})")
SHOT_SIDE = 240  # the shot strip's stills
SHOT_OFFSET_S = 0.04  # a frame into the clip: its first frame may still be the cut


@dataclass(frozen=True)
class MediaFile:
    path: Path
    mime: str
    etag: str  # content-addressed: the same name always has the same bytes


@dataclass(frozen=True)
class VideoFacts:
    """What frame stepping and the scrubber need: the exact frame rate, the number of frames and
    the duration of the file the player plays."""

    fps: Fraction
    frames: int
    duration: float


def media_file(variant_id: int, what: str, settings: Settings | None = None) -> MediaFile | None:
    """The file ``what`` names for a variant, made now when it is a preview not cached yet;
    None when there is no such variant or no such file (a still has no ``play``)."""
    from workbench import review
    from workbench.previews import SERVED_SIDES, poster_path, preview_path

    settings = settings or get_settings()
    match = WHAT.fullmatch(what or "")
    if match is None:
        return None
    rows = review.get_rows([variant_id], settings=settings)
    if not rows:
        return None
    row = rows[0]
    try:
        if what == "file":
            return MediaFile(row.file_path, row.mime, f'"{row.sha256}"') if row.file_path.is_file() else None
        if what == "play":
            if not row.is_video:
                return None
            path = playable_path(row, review.variant_files(row.id, settings=settings))
            return MediaFile(path, "video/mp4" if path.suffix == ".mp4" else row.mime, f'"{path.stem}"') if path else None
        if match["side"] is not None:
            side = int(match["side"])
            if side not in SERVED_SIDES and side != settings.preview_side:  # the queue's own size too
                return None
            path = (poster_path(row.sha256, row.ext, settings, side=side) if row.is_video
                    else preview_path(row.sha256, row.ext, settings, side=side))
            return MediaFile(path, "image/jpeg", f'"{path.stem}"')
        path = shot_still(row, int(match["shot"]), settings)
        return MediaFile(path, "image/jpeg", f'"{path.stem}"') if path else None
    except (WorkbenchError, OSError, ValueError):  # not in the store, not a readable picture
        return None


def playable_path(row: Any, files: dict[str, Path]) -> Path | None:
    """The file a video variant's player plays: its review copy (a smaller rendition made with
    it) when it has one, else the stored file itself; None when neither is in the store."""
    review_copy = next((path for role, path in sorted(files.items()) if role.startswith("rendition.")), None)
    if review_copy is not None and review_copy.is_file():
        return review_copy
    return row.file_path if row.file_path.is_file() else None


def clips(row: Any) -> list[dict[str, Any]]:
    """A trailer's or spot's clips as its recipe records them (``details.clips``)."""
    details = (row.recipe or {}).get("details") or {}
    return [c for c in details.get("clips") or [] if isinstance(c, dict)]


def shot_still(row: Any, n: int, settings: Settings | None = None) -> Path | None:
    """The cached still of clip ``n`` of a video variant: its source frame a frame after the
    clip's in point, from the title the variant was cut from."""
    from workbench.previews import poster_path

    clip = next((c for c in clips(row) if c.get("n") == n), None)
    source = (row.recipe or {}).get("source_sha256")
    if clip is None or not source:
        return None
    ext = _source_ext(source, settings)
    if ext is None:
        return None
    start = float(((row.recipe or {}).get("details") or {}).get("video_start") or 0.0)
    return poster_path(source, ext, settings, at=float(clip["source_in"]) + SHOT_OFFSET_S, side=SHOT_SIDE,
                       video_start=start)


def _source_ext(sha: str, settings: Settings | None) -> str | None:
    from workbench.catalog import get_asset_by_sha256, open_catalog

    with open_catalog(settings or get_settings()).session() as session:
        asset = get_asset_by_sha256(session, sha)
        return asset.ext if asset is not None else None


def video_facts(row: Any, path: Path) -> VideoFacts:
    """The frame rate, frame count and duration of ``path`` (what the player plays), read from
    the file's own stream; the recipe's ``details.fps`` only when the file does not say."""
    fps, frames, duration = _probe(str(path))
    if fps is None:
        fps = _recipe_fps(row) or Fraction(25)
    if duration is None:
        duration = frames / float(fps) if frames else 0.0
    if not frames:
        frames = max(1, round(duration * float(fps)))
    return VideoFacts(fps, frames, duration)


@functools.lru_cache(maxsize=512)
def _probe(path: str) -> tuple[Fraction | None, int, float | None]:
    """Read from the container header only (stored files never change: content-addressed)."""
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate
        duration = container.duration / av.time_base if container.duration else None
        return (Fraction(rate) if rate else None), int(stream.frames or 0), duration


def _recipe_fps(row: Any) -> Fraction | None:
    raw = ((row.recipe or {}).get("details") or {}).get("fps")
    try:
        fps = Fraction(str(raw))
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return fps if fps > 0 else None
