"""Read full-size frames back from a source by frame index / timestamp.

Analysis keeps only reduced frames; generators ask for the handful of full-size frames they
render from. Reads seek by stream timestamp, then decode forward to the exact frame.

Frames come back as they are displayed (``workbench.media.source``): a still through its EXIF
orientation, bit depth and colour profile; a video frame stretched by its sample aspect ratio
and turned by its display matrix. So a 960x720 SAR 4:3 frame is 1280x720 here, as analysis
measured it and as its boxes are normalised to.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from workbench.errors import InvalidInput
from workbench.media.source import display_of, frame_rgb, load_still, open_local, stream_sar

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}


def is_still(path: Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_still_rgb(path: Path) -> np.ndarray:
    """The still as displayed, RGB uint8 (:func:`workbench.media.source.load_still`)."""
    return load_still(path)


NEAR_S = 2.0  # a wanted frame this close after the last one read is decoded to, not sought


@contextlib.contextmanager
def _video(path: Path) -> Iterator[tuple[Any, Any, Any]]:
    """The opened file, its first video stream (threaded decode) and that stream's sample aspect
    ratio; one line when it does not open or has no video."""
    try:
        container = open_local(path)
    except av.error.FFmpegError as exc:
        raise InvalidInput(f"{path.name}: cannot open to read frames ({exc})") from None
    with container:
        if not container.streams.video:
            raise InvalidInput(f"{path.name}: has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        yield container, stream, stream_sar(stream)


def read_frames_rgb(path: Path, wanted: Iterable[tuple[int, int | None]]) -> dict[int, np.ndarray]:
    """Return {frame_index: RGB array} for each (frame_index, pts) asked for.

    Frames with a pts are found by seeking; frames without one by counting from the start.
    Stills answer frame 0 with the image itself.
    """
    path = Path(path)
    wanted = sorted(set(wanted))
    if not wanted:
        return {}
    if is_still(path):
        img = read_still_rgb(path)
        return {frame: img for frame, _ in wanted}
    out: dict[int, np.ndarray] = {}
    with _video(path) as (container, stream, sar):

        def rgb(frame: av.VideoFrame) -> np.ndarray:
            return frame_rgb(frame, display_of(frame, sar))

        by_pts = sorted(((f, p) for f, p in wanted if p is not None), key=lambda fp: fp[1])
        by_index = [f for f, p in wanted if p is None]
        # In presentation order: a frame a little ahead of the last one read is reached by
        # decoding on (a seek would land on the same keyframe, or one before it, and decode the
        # same frames again); a frame far ahead is reached by seeking.
        near = int(NEAR_S / stream.time_base) if stream.time_base else 0
        frames = None
        last_pts: int | None = None
        for frame_index, pts in by_pts:
            if frames is None or last_pts is None or not last_pts < pts <= last_pts + near:
                container.seek(pts, stream=stream, backward=True, any_frame=False)
                frames = container.decode(stream)
            for frame in frames:
                if frame.pts is None or frame.pts >= pts:
                    out[frame_index] = rgb(frame)
                    last_pts = frame.pts
                    break
        if by_index:
            targets = set(by_index)
            container.seek(0)
            for i, frame in enumerate(container.decode(stream)):
                if i in targets:
                    out[i] = rgb(frame)
                    targets.discard(i)
                    if not targets:
                        break
    missing = [f for f, _ in wanted if f not in out]
    if missing:
        raise InvalidInput(f"{path.name}: could not decode frame(s) {missing[:5]}")
    return out


def read_frames_at(path: Path, times: Iterable[float], video_start: float = 0.0) -> dict[float, np.ndarray]:
    """Return {t: RGB array} of the frame shown at each analysis-clock time ``t`` (the last frame
    whose presentation time is at or before ``t + video_start``), as displayed."""
    path = Path(path)
    wanted = sorted(set(float(t) for t in times))
    if not wanted:
        return {}
    if is_still(path):
        img = read_still_rgb(path)
        return {t: img for t in wanted}
    out: dict[float, np.ndarray] = {}
    with _video(path) as (container, stream, sar):
        for t in wanted:
            target = t + video_start
            container.seek(max(0, int((target - 0.5) / stream.time_base)), stream=stream, backward=True, any_frame=False)
            shown = None
            for frame in container.decode(stream):
                if frame.time is not None and frame.time > target + 1e-6 and shown is not None:
                    break
                shown = frame
            if shown is not None:
                out[t] = frame_rgb(shown, display_of(shown, sar))
    missing = [t for t in wanted if t not in out]
    if missing:
        raise InvalidInput(f"{path.name}: could not decode the frame(s) at {', '.join(f'{t:.2f} s' for t in missing[:5])}")
    return out


def encode_source_frame(rgb: np.ndarray, quality: int = 95) -> bytes:
    """A decoded frame as a high-quality JPEG, for provenance ingredients."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise InvalidInput("could not encode a source frame")
    return buf.tobytes()
