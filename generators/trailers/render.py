"""Render a trailer timeline to an MP4: H.264 High + AAC, yuv420p, constant frame rate,
``+faststart``, exactly ``timeline.frames`` frames.

Frames are decoded with PyAV from the title, only over the clips' source ranges, and written raw
(yuv420p) into one ffmpeg process that encodes them with the mixed audio (generators/trailers/
audio.py). Deciding each output frame in Python makes the cut frame-exact on any source: for
output frame *k* of a clip the source frame shown is the last one whose presentation time is at
or before ``source_in + k / fps`` (a variable-frame-rate title is held or dropped to the output's
constant rate, never cut on a neighbouring shot). A frame that needs no change (same size, no
reframing, displayed as decoded) is passed as decoded, planes and all; a crop works on the YUV
planes; only letterboxing, split screens and rotated sources go through RGB.

On any failure or cancellation (``progress`` raising), ffmpeg is stopped and no partial file
remains: the output is written under a temp name and renamed when complete.
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import imageio_ffmpeg
import numpy as np

from generators.trailers.timeline import (
    Card,
    Clip,
    Reframe,
    Timeline,
    crop_centre,
    window_box,
)
from workbench import scratch
from workbench.errors import GenerationError, InvalidInput
from workbench.media.source import (
    Display,
    display_of,
    ffmpeg_input_args,
    frame_rgb,
    open_local,
    stream_sar,
)

log = logging.getLogger(__name__)

STANDARD_RATES = (Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30),
                  Fraction(50), Fraction(60000, 1001), Fraction(60))
PRESET = "veryfast"
CRF = 20
AUDIO_BITRATE = "192k"
PROGRESS_EVERY = 12  # frames between two progress reports

CardFrames = Callable[[Card, int, int], Iterator[np.ndarray]]  # RGB frames of a card at (width, height)
Progress = Callable[[int, int | None], None]


def output_rate(source_fps: float) -> Fraction:
    """The standard constant frame rate nearest the source's average rate (25 when unknown)."""
    if not source_fps or source_fps <= 0:
        return Fraction(25)
    return min(STANDARD_RATES, key=lambda r: abs(float(r) - source_fps))


@dataclass(frozen=True)
class RenderResult:
    path: Path
    frames: int
    width: int
    height: int
    fps: Fraction
    seconds: float  # wall time of the render
    source_frames: int  # frames decoded from the title


def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def render(timeline: Timeline, source: Path, dest: Path, *, card_frames: CardFrames, audio: Path | None,
           progress: Progress | None = None, preset: str = PRESET, crf: int = CRF,
           overlays: Sequence[Any] = ()) -> RenderResult:
    """Encode ``timeline`` into ``dest`` (an .mp4), with ``audio`` (a WAV of the same length) as
    its sound. ``card_frames`` draws the cards; ``overlays`` (burned-in subtitles,
    :class:`generators.trailers.subtitles.Overlay`) are blended into the frames they cover;
    ``progress(done, total)`` hears each few frames and may raise to stop."""
    started = time.perf_counter()
    if overlays:
        from generators.trailers.subtitles import blend
    w, h, fps = timeline.width, timeline.height, timeline.fps
    if w % 2 or h % 2:
        raise InvalidInput(f"output size {w}x{h} must be even in both directions (yuv420p)")
    total = timeline.frames
    dest = Path(dest)
    tmp = dest.with_name(scratch.temp_name(scratch.TEMP_PREFIX, ".mp4"))
    err = tempfile.TemporaryFile()
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
           "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{w}x{h}", "-framerate", f"{fps.numerator}/{fps.denominator}",
           "-i", "pipe:0"]
    if audio is not None:
        cmd += ffmpeg_input_args(audio)
    cmd += ["-map", "0:v"] + (["-map", "1:a"] if audio is not None else [])
    cmd += ["-c:v", "libx264", "-profile:v", "high", "-pix_fmt", "yuv420p", "-preset", preset, "-crf", str(crf),
            "-g", str(max(1, round(2 * float(fps)))), "-fps_mode", "cfr", "-frames:v", str(total)]
    if audio is not None:
        cmd += ["-c:a", "aac", "-b:a", AUDIO_BITRATE, "-ar", "48000"]
    cmd += ["-movflags", "+faststart", "-f", "mp4", str(tmp)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err)
    done = 0
    decoded = 0
    try:
        reader = _SourceReader(source, timeline.video_start) if timeline.clips else None
        try:
            expected = 0
            for item in timeline.items:
                expected += item.frames
                if isinstance(item, Card):
                    frames = (_rgb_to_i420(rgb) for rgb in card_frames(item, w, h))
                else:
                    frames = reader.clip_frames(item, fps, (w, h))  # type: ignore[union-attr]
                for n, data in enumerate(frames):
                    if n >= item.frames:
                        break
                    if overlays:
                        now = [o for o in overlays if o.first <= done < o.last]
                        if now:
                            data = blend(data, w, h, now)
                    _write(proc, data, err)
                    done += 1
                    if progress is not None and done % PROGRESS_EVERY == 0:
                        progress(done, total)
                if done != expected:
                    raise GenerationError(f"the source ran out of frames in shot {getattr(item, 'shot', '?')}")
        finally:
            if reader is not None:
                decoded = reader.decoded
                reader.close()
        proc.stdin.close()  # type: ignore[union-attr]
        code = proc.wait()
        if code != 0:
            raise GenerationError(f"ffmpeg could not encode the trailer: {_tail(err)}")
        if progress is not None:
            progress(total, total)
        os.replace(tmp, dest)
    except BaseException:
        _stop(proc)
        tmp.unlink(missing_ok=True)
        raise
    finally:
        err.close()
    return RenderResult(dest, total, w, h, fps, time.perf_counter() - started, decoded)


def make_rendition(src: Path, dest: Path, height: int = 720, *, preset: str = PRESET) -> Path:
    """A smaller copy for review (scaled to ``height``, the same sound), written atomically."""
    from workbench.media.transcode import scaled_copy

    return scaled_copy(src, dest, height, preset=preset)


def _write(proc: subprocess.Popen, data: bytes | np.ndarray, err) -> None:
    try:
        proc.stdin.write(data if isinstance(data, bytes) else memoryview(np.ascontiguousarray(data)))  # type: ignore[union-attr]
    except BrokenPipeError:
        proc.wait()
        raise GenerationError(f"ffmpeg stopped while encoding the trailer: {_tail(err)}") from None


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        pass
    if proc.stdin:
        try:
            proc.stdin.close()
        except OSError:
            pass


def _tail(err) -> str:
    try:
        err.seek(0)
        text = err.read().decode(errors="replace")
    except (OSError, ValueError):
        return "(no message)"
    return " ".join(text.split())[-300:] or "(no message)"


def _rgb_to_i420(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2YUV_I420)


# -- reading the title ------------------------------------------------------------------------


class _SourceReader:
    """Frames of the title for each clip, in output order, as yuv420p planes of the output size."""

    def __init__(self, source: Path, video_start: float) -> None:
        self.source = Path(source)
        self.video_start = video_start
        try:
            self.container = open_local(self.source)
        except av.error.FFmpegError as exc:
            raise GenerationError(f"{self.source.name}: cannot open to render ({exc})") from None
        if not self.container.streams.video:
            raise GenerationError(f"{self.source.name}: has no video stream")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.sar = stream_sar(self.stream)
        self.decoded = 0
        self._frames: Iterator[av.VideoFrame] | None = None
        self._ahead: av.VideoFrame | None = None  # decoded, not yet shown

    def close(self) -> None:
        self.container.close()

    def _seek(self, t: float) -> None:
        base = self.stream.time_base
        self.container.seek(max(0, int((t - 0.5) / base)), stream=self.stream, backward=True, any_frame=False)
        self._frames = self.container.decode(self.stream)
        self._ahead = None

    def _next(self) -> av.VideoFrame | None:
        if self._ahead is not None:
            frame, self._ahead = self._ahead, None
            return frame
        try:
            frame = next(self._frames)  # type: ignore[arg-type]
        except StopIteration:
            return None
        except av.error.FFmpegError:
            return None
        self.decoded += 1
        return frame

    def clip_frames(self, clip: Clip, fps: Fraction, out: tuple[int, int]) -> Iterator[np.ndarray | bytes]:
        start = clip.source_in + self.video_start  # container clock
        self._seek(start)
        shown: av.VideoFrame | None = None
        eps = 0.25 / float(fps)
        geometry: _Geometry | None = None
        for k in range(clip.frames):
            t = start + k / float(fps)
            # advance to the last frame whose presentation time is at or before t
            while True:
                frame = self._next()
                if frame is None:
                    break
                ft = frame.time if frame.time is not None else 0.0
                if ft > t + eps:
                    self._ahead = frame
                    break
                shown = frame
            if shown is None:
                if self._ahead is None:
                    return  # the title ended
                shown = self._ahead  # the clip starts before the first frame at or after it
            if geometry is None:
                geometry = _Geometry(display_of(shown, self.sar), out)
            yield geometry.convert(shown, clip.reframe, k / float(fps))


class _Geometry:
    """Turns decoded frames into output frames for one clip."""

    def __init__(self, display: Display, out: tuple[int, int]) -> None:
        self.display = display
        self.out = out
        self.frame_size = display.size

    def convert(self, frame: av.VideoFrame, reframe: Reframe | None, t: float) -> np.ndarray | bytes:
        ow, oh = self.out
        fw, fh = self.frame_size
        if reframe is None or reframe.mode == "crop" and not reframe.path and abs(fw / fh - ow / oh) < 0.01:
            if self.display.identity and (fw, fh) == (ow, oh) and frame.format.name == "yuv420p":
                return frame.to_ndarray(format="yuv420p")
            if self.display.identity:
                return frame.reformat(width=ow, height=oh, format="yuv420p", interpolation="BICUBIC").to_ndarray()
            return _rgb_to_i420(cv2.resize(frame_rgb(frame, self.display), (ow, oh), interpolation=cv2.INTER_AREA))
        if reframe.mode == "crop":
            window = window_box(fw, fh, ow, oh, crop_centre(reframe.path, t))
            if self.display.identity and frame.format.name in ("yuv420p", "yuvj420p"):
                return _crop_i420(frame, window, (ow, oh))
            rgb = frame_rgb(frame, self.display)
            x0, y0, x1, y1 = window
            return _rgb_to_i420(cv2.resize(rgb[y0:y1, x0:x1], (ow, oh), interpolation=cv2.INTER_AREA))
        rgb = frame_rgb(frame, self.display)
        if reframe.mode == "split":
            half = (ow, oh // 2 - (oh // 2) % 2)
            top = window_box(fw, fh, *half, crop_centre(reframe.path, t))
            bottom = window_box(fw, fh, *half, crop_centre(reframe.second, t))
            parts = [cv2.resize(rgb[b[1]:b[3], b[0]:b[2]], half, interpolation=cv2.INTER_AREA) for b in (top, bottom)]
            canvas = np.zeros((oh, ow, 3), np.uint8)
            canvas[: half[1]] = parts[0]
            canvas[oh - half[1]:] = parts[1]
            return _rgb_to_i420(canvas)
        # letterbox: the whole frame fitted, over a blurred fill of itself
        fill = cv2.resize(cv2.resize(rgb, (max(2, ow // 16), max(2, oh // 16)), interpolation=cv2.INTER_AREA), (ow, oh),
                          interpolation=cv2.INTER_LINEAR)
        fill = (cv2.GaussianBlur(fill, (0, 0), 8) * 0.6).astype(np.uint8)
        scale = min(ow / fw, oh / fh)
        sw, sh = max(2, round(fw * scale)), max(2, round(fh * scale))
        fitted = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA)
        x, y = (ow - sw) // 2, (oh - sh) // 2
        fill[y:y + sh, x:x + sw] = fitted
        return _rgb_to_i420(fill)


def _plane(frame: av.VideoFrame, i: int) -> np.ndarray:
    plane = frame.planes[i]
    return np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)[: plane.height, : plane.width]


def _crop_i420(frame: av.VideoFrame, window: tuple[int, int, int, int], out: tuple[int, int]) -> np.ndarray:
    """Crop and scale on the YUV planes (no colour conversion at full size)."""
    x0, y0, x1, y1 = (v - v % 2 for v in window)
    ow, oh = out
    y = cv2.resize(_plane(frame, 0)[y0:y1, x0:x1], (ow, oh), interpolation=cv2.INTER_AREA)
    u = cv2.resize(_plane(frame, 1)[y0 // 2:y1 // 2, x0 // 2:x1 // 2], (ow // 2, oh // 2), interpolation=cv2.INTER_AREA)
    v = cv2.resize(_plane(frame, 2)[y0 // 2:y1 // 2, x0 // 2:x1 // 2], (ow // 2, oh // 2), interpolation=cv2.INTER_AREA)
    return np.concatenate([y.reshape(-1), u.reshape(-1), v.reshape(-1)])
