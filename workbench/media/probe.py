"""Probe a source file and refuse bad input before anything is stored.

Checks run cheapest first: existence and size, the file's magic bytes against its suffix,
then the container and codec (PyAV), dimensions against the limits, and finally that real
frames decode (the first, and one near the end, which catches truncated files).
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
from PIL import Image, UnidentifiedImageError

from workbench.errors import InvalidInput
from workbench.settings import Settings, get_settings

VIDEO_SUFFIXES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".mkv": "video/x-matroska", ".webm": "video/webm"}
IMAGE_SUFFIXES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


@dataclass(frozen=True)
class MediaInfo:
    kind: Literal["video", "image"]
    mime: str
    ext: str
    size_bytes: int
    width: int
    height: int
    duration: float | None = None
    fps: float | None = None
    frame_count: int | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    has_audio: bool = False
    pixel_aspect: float = 1.0


def sniff(head: bytes) -> str | None:
    """Name the container family from the first bytes, or None when unknown."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "isobmff"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    return None


_EXPECTED = {
    ".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".webp": "webp",
    ".mp4": "isobmff", ".m4v": "isobmff", ".mov": "isobmff", ".mkv": "matroska", ".webm": "matroska",
}


def probe(path: Path, settings: Settings | None = None) -> MediaInfo:
    settings = settings or get_settings()
    path = Path(path)
    # 1. the file itself
    if not path.exists():
        raise InvalidInput(f"{path}: no such file")
    if not path.is_file():
        raise InvalidInput(f"{path}: not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise InvalidInput(f"{path.name}: empty file")
    if size > settings.max_file_bytes:
        raise InvalidInput(f"{path.name}: {size} bytes is over the {settings.max_file_bytes}-byte limit")
    ext = path.suffix.lower()
    if ext not in _EXPECTED:
        known = ", ".join(sorted({*VIDEO_SUFFIXES, *IMAGE_SUFFIXES}))
        raise InvalidInput(f"{path.name}: unsupported file type {ext or '(none)'}; accepted: {known}")
    # 2. the content matches the suffix
    with path.open("rb") as fh:
        head = fh.read(32)
    found = sniff(head)
    if found != _EXPECTED[ext]:
        what = "text" if _looks_like_text(head) else (found or "unrecognised data")
        raise InvalidInput(f"{path.name}: content is {what}, not the {ext[1:]} its name says")
    # 3. decode
    if ext in IMAGE_SUFFIXES:
        return _probe_image(path, ext, size, settings)
    return _probe_video(path, ext, size, settings)


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(b >= 9 for b in head)


def _probe_image(path: Path, ext: str, size: int, settings: Settings) -> MediaInfo:
    try:
        with warnings.catch_warnings(), _own_pixel_limit():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
                # Dimensions come from the header: refuse before any pixel is decompressed.
                _check_pixels(path, width, height, settings.max_image_pixels)
                _check_bomb(path, width, height, size)
                im.load()
    except InvalidInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidInput(f"{path.name}: refused as a decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise InvalidInput(f"{path.name}: not a readable image") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput(f"{path.name}: truncated or corrupt image ({exc})") from None
    return MediaInfo(kind="image", mime=IMAGE_SUFFIXES[ext], ext=ext, size_bytes=size, width=width, height=height, frame_count=1)


@contextmanager
def _own_pixel_limit():
    """Pillow refuses huge images inside ``open`` with its own wording; our limit, checked on the
    header right after ``open`` and before any pixel is decoded, gives the clearer message."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _check_pixels(path: Path, width: int, height: int, limit: int) -> None:
    if width <= 0 or height <= 0:
        raise InvalidInput(f"{path.name}: image has no pixels ({width}x{height})")
    if width * height > limit:
        raise InvalidInput(
            f"{path.name}: {width}x{height} is {width * height / 1e6:.0f} MP, over the {limit / 1e6:.0f} MP limit"
        )


# A real picture needs at least a few bits a pixel; a huge canvas in a tiny file expands far beyond
# its size when decoded. Flat-colour graphics reach a few hundred pixels a byte; bombs thousands.
BOMB_MIN_PIXELS = 16_000_000
BOMB_PIXELS_PER_BYTE = 1000


def _check_bomb(path: Path, width: int, height: int, size: int) -> None:
    pixels = width * height
    if pixels >= BOMB_MIN_PIXELS and pixels / size > BOMB_PIXELS_PER_BYTE:
        raise InvalidInput(
            f"{path.name}: refused as a decompression bomb ({width}x{height} = {pixels / 1e6:.0f} MP in {size / 1024:.0f} KiB)"
        )


def _probe_video(path: Path, ext: str, size: int, settings: Settings) -> MediaInfo:
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path.name}: truncated or corrupt video ({_reason(exc)})") from None
    with container:
        if not container.streams.video:
            raise InvalidInput(f"{path.name}: has no video stream")
        vs = container.streams.video[0]
        width, height = vs.codec_context.width, vs.codec_context.height
        if width <= 0 or height <= 0:
            raise InvalidInput(f"{path.name}: video stream has no frame size")
        if max(width, height) > settings.max_video_side:
            raise InvalidInput(f"{path.name}: {width}x{height} is over the {settings.max_video_side}-pixel limit")
        rate = vs.average_rate or vs.guessed_rate or vs.base_rate
        fps = float(rate) if rate else 0.0
        duration = _duration(container, vs)
        audio = container.streams.audio[0] if container.streams.audio else None
        sar = vs.sample_aspect_ratio
        _decode_first(path, container, vs)
        if duration and fps:
            _check_tail(path, container, vs, duration)
        frame_count = vs.frames or (round(duration * fps) if duration and fps else None)
    if not fps:
        raise InvalidInput(f"{path.name}: video stream has no frame rate")
    return MediaInfo(
        kind="video", mime=VIDEO_SUFFIXES[ext], ext=ext, size_bytes=size, width=width, height=height,
        duration=duration, fps=fps, frame_count=frame_count, video_codec=vs.codec_context.name,
        audio_codec=audio.codec_context.name if audio else None, has_audio=audio is not None,
        pixel_aspect=float(sar) if sar else 1.0,
    )


def _duration(container, vs) -> float | None:
    if vs.duration is not None and vs.time_base:
        return float(vs.duration * vs.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def _decode_first(path: Path, container, vs) -> None:
    try:
        for _frame in container.decode(vs):
            return
    except av.error.FFmpegError as exc:
        raise InvalidInput(f"{path.name}: no decodable video frames ({_reason(exc)})") from None
    raise InvalidInput(f"{path.name}: no decodable video frames")


def _check_tail(path: Path, container, vs, duration: float) -> None:
    """Seek close to the end and decode up to it: a file cut short fails here, not mid-analysis."""
    if duration < 2.0 or not vs.time_base:
        return
    start = float(vs.start_time * vs.time_base) if vs.start_time is not None else 0.0
    target = start + duration - 1.0
    try:
        # The seek lands on the keyframe before the target; decode forward from there.
        container.seek(int(target / vs.time_base), stream=vs, backward=True, any_frame=False)
        for frame in container.decode(vs):
            if frame.time is None or frame.time >= target - 0.5:
                return
    except av.error.FFmpegError as exc:
        raise InvalidInput(f"{path.name}: truncated video, the end does not decode ({_reason(exc)})") from None
    raise InvalidInput(f"{path.name}: truncated video, frames stop before the stated {duration:.1f}s")


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).splitlines()[0][:160]

