"""Probe a source file and refuse bad input before anything is stored.

Checks run cheapest first: existence and size, the file's magic bytes against its suffix,
then the container and codec (PyAV), dimensions against the limits, and finally that real
frames decode (the first, and one near the end, which catches truncated files).

Sizes are what a viewer sees (``workbench.media.source``): a still's EXIF orientation, a video's
display matrix and sample aspect ratio are applied, and the stored picture's turn is recorded in
``rotation``/``mirrored``. A source smaller than :data:`MIN_SIDE` on either displayed side is
refused here, in those terms, rather than deep in analysis.
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
from workbench.media.source import display_of, open_local, still_orientation, still_to_rgb, stream_sar
from workbench.settings import Settings, get_settings

VIDEO_SUFFIXES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".mkv": "video/x-matroska", ".webm": "video/webm"}
IMAGE_SUFFIXES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}

# The smallest displayed side accepted. The 9:16 and 16:9 placements cut from a 64x64 source
# are 36x64 / 64x36 windows; below that a face (MTCNN finds faces from 20 px, its smallest
# window is 12 px) no longer fits a placement with room around it, saliency has nothing to
# place, and every placement is an upscale of a few dozen pixels.
MIN_SIDE = 64


@dataclass(frozen=True)
class MediaInfo:
    kind: Literal["video", "image", "audio"]
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
    pixel_aspect: float = 1.0  # sample aspect ratio of the stored frames (width/height are after it)
    rotation: int = 0  # degrees clockwise the stored picture is turned for display (0/90/180/270)
    mirrored: bool = False  # the stored picture is mirrored left-right (before the turn) for display


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


def probe(path: Path, settings: Settings | None = None, *, name: str | None = None, ext: str | None = None) -> MediaInfo:
    """Check a source and describe it. ``name`` is what messages call the file (default: its
    file name), ``ext`` the type suffix it is checked against (default: its suffix); both let a
    caller probe a staged copy under a temporary name as the file the user gave."""
    settings = settings or get_settings()
    path = Path(path)
    # 1. the file itself
    name, ext, size = _check_file(path, settings, name, ext)
    # 2. the content matches the suffix
    with path.open("rb") as fh:
        head = fh.read(32)
    found = sniff(head)
    if found != _EXPECTED[ext]:
        what = "text" if _looks_like_text(head) else (found or "unrecognised data")
        raise InvalidInput(f"{name}: content is {what}, not the {ext[1:]} its name says")
    # 3. decode
    if ext in IMAGE_SUFFIXES:
        return _probe_image(path, name, ext, size, settings)
    return _probe_video(path, name, ext, size, settings)


def check_source_file(path: Path, settings: Settings | None = None, *, name: str | None = None,
                      ext: str | None = None) -> None:
    """The checks that need no reading of the file: it exists, is a regular non-empty file under
    the size limit, with a supported suffix. :func:`probe` starts with them."""
    _check_file(Path(path), settings or get_settings(), name, ext)


def _check_regular_file(path: Path, settings: Settings, name: str) -> int:
    """The size of ``path``, a regular, non-empty file under the size limit (else one line)."""
    if not path.exists():
        raise InvalidInput(f"{path}: no such file")
    if not path.is_file():
        raise InvalidInput(f"{path}: not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise InvalidInput(f"{name}: empty file")
    if size > settings.max_file_bytes:
        raise InvalidInput(f"{name}: {size} bytes is over the {settings.max_file_bytes}-byte limit")
    return size


def _check_file(path: Path, settings: Settings, name: str | None, ext: str | None) -> tuple[str, str, int]:
    name = name if name is not None else path.name
    size = _check_regular_file(path, settings, name)
    ext = (ext if ext is not None else path.suffix).lower()
    if ext and not ext.startswith("."):
        ext = "." + ext
    if ext not in _EXPECTED:
        known = ", ".join(sorted({*VIDEO_SUFFIXES, *IMAGE_SUFFIXES}))
        raise InvalidInput(f"{name}: unsupported file type {ext or '(none)'}; accepted: {known}")
    return name, ext, size


def check_min_size(name: str, width: int, height: int) -> None:
    """Refuse a displayed size under :data:`MIN_SIDE` on either side, in the user's terms."""
    if width < MIN_SIDE or height < MIN_SIDE:
        raise InvalidInput(
            f"{name}: {width}×{height} is too small for any placement; the minimum is {MIN_SIDE}×{MIN_SIDE}"
        )


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(b >= 9 for b in head)


def _probe_image(path: Path, name: str, ext: str, size: int, settings: Settings) -> MediaInfo:
    try:
        with warnings.catch_warnings(), _own_pixel_limit():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                width, height = im.size
                # Dimensions come from the header: refuse before any pixel is decompressed.
                _check_pixels(name, width, height, settings.max_image_pixels)
                _check_bomb(name, width, height, size)
                im.load()
                # The picture as it is shown: orientation, bit depth, profile (one decode).
                rotation, mirrored = still_orientation(im)
                rgb = still_to_rgb(im, name=name)
    except InvalidInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidInput(f"{name}: refused as a decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise InvalidInput(f"{name}: not a readable image") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput(f"{name}: truncated or corrupt image ({exc})") from None
    height, width = rgb.shape[:2]
    check_min_size(name, width, height)
    return MediaInfo(kind="image", mime=IMAGE_SUFFIXES[ext], ext=ext, size_bytes=size, width=width, height=height,
                     frame_count=1, rotation=rotation, mirrored=mirrored)


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


def _check_pixels(name: str, width: int, height: int, limit: int) -> None:
    if width <= 0 or height <= 0:
        raise InvalidInput(f"{name}: image has no pixels ({width}x{height})")
    if width * height > limit:
        raise InvalidInput(
            f"{name}: {width}x{height} is {width * height / 1e6:.0f} MP, over the {limit / 1e6:.0f} MP limit"
        )


# A real picture needs at least a few bits a pixel; a huge canvas in a tiny file expands far beyond
# its size when decoded. Flat-colour graphics reach a few hundred pixels a byte; bombs thousands.
BOMB_MIN_PIXELS = 16_000_000
BOMB_PIXELS_PER_BYTE = 1000


def _check_bomb(name: str, width: int, height: int, size: int) -> None:
    pixels = width * height
    if pixels >= BOMB_MIN_PIXELS and pixels / size > BOMB_PIXELS_PER_BYTE:
        raise InvalidInput(
            f"{name}: refused as a decompression bomb ({width}x{height} = {pixels / 1e6:.0f} MP in {size / 1024:.0f} KiB)"
        )


def _probe_video(path: Path, name: str, ext: str, size: int, settings: Settings) -> MediaInfo:
    try:
        container = open_local(path, metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{name}: truncated or corrupt video ({_reason(exc)})") from None
    with container:
        if not container.streams.video:
            raise InvalidInput(f"{name}: has no video stream")
        vs = container.streams.video[0]
        width, height = vs.codec_context.width, vs.codec_context.height
        if width <= 0 or height <= 0:
            raise InvalidInput(f"{name}: video stream has no frame size")
        if max(width, height) > settings.max_video_side:
            raise InvalidInput(f"{name}: {width}x{height} is over the {settings.max_video_side}-pixel limit")
        rate = vs.average_rate or vs.guessed_rate or vs.base_rate
        fps = float(rate) if rate else 0.0
        duration = _duration(container, vs)
        audio = container.streams.audio[0] if container.streams.audio else None
        sar = stream_sar(vs)
        try:
            first = _decode_first(name, container, vs)
        except InvalidInput:
            # a picture too small to decode at all: say that, not that it is corrupt
            check_min_size(name, max(1, round(width * sar)), height)
            raise
        display = display_of(first, sar)
        shown_w, shown_h = display.size
        check_min_size(name, shown_w, shown_h)
        if duration and fps:
            _check_tail(name, container, vs, duration, fps)
        frame_count = vs.frames or (round(duration * fps) if duration and fps else None)
    if not fps:
        raise InvalidInput(f"{name}: video stream has no frame rate")
    return MediaInfo(
        kind="video", mime=VIDEO_SUFFIXES[ext], ext=ext, size_bytes=size, width=shown_w, height=shown_h,
        duration=duration, fps=fps, frame_count=frame_count, video_codec=vs.codec_context.name,
        audio_codec=audio.codec_context.name if audio else None, has_audio=audio is not None,
        pixel_aspect=float(vs.sample_aspect_ratio) if vs.sample_aspect_ratio else 1.0,
        rotation=display.rotation, mirrored=display.mirrored,
    )


def _duration(container, vs) -> float | None:
    if vs.duration is not None and vs.time_base:
        return float(vs.duration * vs.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def _decode_first(name: str, container, vs) -> av.VideoFrame:
    try:
        for frame in container.decode(vs):
            return frame
    except av.error.FFmpegError as exc:
        raise InvalidInput(f"{name}: no decodable video frames ({_reason(exc)})") from None
    raise InvalidInput(f"{name}: no decodable video frames")


# How much of the stated end may be missing before a video counts as truncated: its last
# decodable frame, with its own display time, must reach within this of the stated duration.
TAIL_SLACK_S = 1.5


def _check_tail(name: str, container, vs, duration: float, fps: float) -> None:
    """Seek close to the end and decode up to it: a file cut short fails here, not mid-analysis.

    Margins follow the stream's own frame spacing: a 0.5 fps slideshow has a frame every 2 s,
    so its last frame starts 2 s before the end and the seek must start earlier than that. A
    frame counts as far as it lasts (its own duration, else the spacing seen between the last
    frames, else 1 / frame rate)."""
    if not vs.time_base:
        return
    spacing = 1.0 / fps if fps > 0 else 0.04
    if duration < max(2.0, 2 * spacing):
        return
    start = float(vs.start_time * vs.time_base) if vs.start_time is not None else 0.0
    end = start + duration
    target = end - max(1.0, 2 * spacing)
    previous: float | None = None
    try:
        # The seek lands on the keyframe before the target; decode forward from there.
        container.seek(int(target / vs.time_base), stream=vs, backward=True, any_frame=False)
        for frame in container.decode(vs):
            if frame.time is None:
                return
            t = float(frame.time)
            time_base = frame.time_base or vs.time_base
            lasts = float(frame.duration * time_base) if frame.duration else 0.0
            if lasts <= 0:
                lasts = t - previous if previous is not None and t > previous else spacing
            if t + lasts >= end - TAIL_SLACK_S:
                return
            previous = t
    except av.error.FFmpegError as exc:
        raise InvalidInput(f"{name}: truncated video, the end does not decode ({_reason(exc)})") from None
    raise InvalidInput(f"{name}: truncated video, frames stop before the stated {duration:.1f}s")


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).splitlines()[0][:160]


# -- audio files (music beds) -------------------------------------------------------------------

AUDIO_SUFFIXES = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".m4a": "audio/mp4", ".aac": "audio/aac",
                  ".flac": "audio/flac", ".ogg": "audio/ogg"}
MAX_AUDIO_S = 3 * 3600


def _sniff_audio(head: bytes) -> str | None:
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06):
        return "mp3"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"fLaC"):
        return "flac"
    if head.startswith(b"OggS"):
        return "ogg"
    if head[4:8] == b"ftyp":
        return "m4a"
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return "aac"
    return None


_AUDIO_EXPECTED = {".mp3": "mp3", ".wav": "wav", ".flac": "flac", ".ogg": "ogg", ".m4a": "m4a", ".aac": "aac"}


def probe_audio(path: Path, settings: Settings | None = None, *, name: str | None = None, ext: str | None = None) -> MediaInfo:
    """Check an audio file (a music bed) and describe it: the content is the audio its suffix
    says, it decodes to the end, and it lasts what its header says (a file cut short is refused)."""
    settings = settings or get_settings()
    path = Path(path)
    name = name if name is not None else path.name
    size = _check_regular_file(path, settings, name)
    ext = (ext if ext is not None else path.suffix).lower()
    if ext not in AUDIO_SUFFIXES:
        raise InvalidInput(f"{name}: unsupported audio type {ext or '(none)'}; accepted: {', '.join(sorted(AUDIO_SUFFIXES))}")
    with path.open("rb") as fh:
        head = fh.read(32)
    found = _sniff_audio(head)
    if found != _AUDIO_EXPECTED[ext]:
        what = "text" if _looks_like_text(head) else (found or sniff(head) or "unrecognised data")
        raise InvalidInput(f"{name}: content is {what}, not the {ext[1:]} audio its name says")
    try:
        container = open_local(path, metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{name}: not a readable audio file ({_reason(exc)})") from None
    with container:
        if not container.streams.audio:
            raise InvalidInput(f"{name}: has no audio stream")
        stream = container.streams.audio[0]
        stated = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else (
            container.duration / av.time_base if container.duration else None)
        if stated is not None and stated > MAX_AUDIO_S:
            raise InvalidInput(f"{name}: {stated / 60:.0f} minutes is longer than a music bed can be (at most {MAX_AUDIO_S // 60})")
        last = 0.0
        try:
            for frame in container.decode(stream):
                if frame.time is not None:
                    last = float(frame.time) + frame.samples / float(frame.sample_rate or 1)
        except av.error.FFmpegError as exc:
            raise InvalidInput(f"{name}: truncated or corrupt audio, the end does not decode ({_reason(exc)})") from None
        if last <= 0:
            raise InvalidInput(f"{name}: no decodable audio")
        if stated and last < stated - max(0.5, 0.02 * stated):
            raise InvalidInput(f"{name}: truncated audio: it stops at {last:.1f} s of the stated {stated:.1f} s")
        codec = stream.codec_context.name
    return MediaInfo(kind="audio", mime=AUDIO_SUFFIXES[ext], ext=ext, size_bytes=size, width=0, height=0,
                     duration=stated or last, audio_codec=codec, has_audio=True)
