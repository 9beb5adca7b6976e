"""Read a local media file as itself, and as it is meant to be seen.

Two jobs every reader of a source shares, kept in one place so no reader can get them wrong:

**Opening.** FFmpeg reads its argument as a URL: a relative name with a colon (``concat:a.mp4``,
``take2:final.mp4``, a home folder ``season:2``) names a *protocol*, and a file whose content is
a playlist (HLS, ``ffconcat``) makes FFmpeg open the other files it names. :func:`open_local`
(PyAV) and :func:`ffmpeg_input_args` (an ffmpeg command line) therefore always

- open ``file:`` + the absolute path, so the name is never parsed for a protocol;
- allow only the ``file`` protocol (``protocol_whitelist``), so nothing nested can reach
  ``concat:``, ``subfile:``, ``http:``, ``pipe:``…;
- allow only plain single-file demuxers (``format_whitelist``, :data:`LOCAL_DEMUXERS`), so a
  playlist or concat script is refused instead of followed (a *relative* ``ffconcat`` entry is
  "safe" to FFmpeg and would otherwise be read, whatever the whitelist of protocols says).

**Seeing.** A picture is shown as its metadata says: a still through its EXIF orientation and
ICC profile, a video frame through its display matrix (rotation, flips) and sample aspect ratio.
:func:`load_still` and :class:`Display` give every consumer (probe, analysis, generators) the
displayed picture, so sizes, boxes and crops all speak about what a viewer sees.
"""

from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from workbench.errors import InvalidInput

log = logging.getLogger(__name__)

# -- opening ------------------------------------------------------------------------------------

LOCAL_PROTOCOLS = "file"
# Demuxers that read exactly the one file they are given (video containers and plain audio
# files). Not here: hls, dash, concat, image2 (reads numbered sequences), tee, subfile….
# FFmpeg matches these against each demuxer's comma-separated names ("mov,mp4,m4a,3gp,3g2,mj2",
# "matroska,webm").
LOCAL_DEMUXERS = "mov,matroska,wav,w64,flac,mp3,ogg,aac"
STILL_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})


def local_url(path: Path | str) -> str:
    """``file:`` + the absolute path: FFmpeg's file protocol reads the rest literally."""
    return "file:" + str(Path(path).resolve())


def local_options() -> dict[str, str]:
    """The container options every local open uses (fresh dict; callers may add to it)."""
    return {"protocol_whitelist": LOCAL_PROTOCOLS, "format_whitelist": LOCAL_DEMUXERS}


def open_local(path: Path | str, **kwargs) -> av.container.InputContainer:
    """``av.open`` a local file as itself (see the module docstring). Extra keyword arguments
    go to ``av.open``; ``container_options`` are merged over the safe ones, never replacing
    the two whitelists."""
    options = {**(kwargs.pop("container_options", None) or {}), **local_options()}
    return av.open(local_url(path), mode="r", container_options=options, **kwargs)


def ffmpeg_input_args(path: Path | str) -> list[str]:
    """ffmpeg command-line input arguments that read ``path`` as itself, e.g.
    ``["-protocol_whitelist", "file", "-format_whitelist", LOCAL_DEMUXERS, "-i", "file:/abs/x.mp4"]``.

    A still (by suffix) is read with the image2 demuxer with ``-pattern_type none``, so a name
    like ``frame%03d.png`` or ``*.png`` is one file, not a numbered sequence or a glob."""
    url = local_url(path)
    if Path(path).suffix.lower() in STILL_SUFFIXES:
        return ["-protocol_whitelist", LOCAL_PROTOCOLS, "-f", "image2", "-pattern_type", "none", "-i", url]
    return ["-protocol_whitelist", LOCAL_PROTOCOLS, "-format_whitelist", LOCAL_DEMUXERS, "-i", url]


# -- video display geometry ---------------------------------------------------------------------

# (rotation clockwise, mirrored) -> (transpose, flip_h, flip_v), applied in that order.
# "mirrored" means: mirror left-right first, then rotate clockwise.
_OPS = {
    (0, False): (False, False, False),
    (0, True): (False, True, False),
    (180, False): (False, True, True),
    (180, True): (False, False, True),
    (90, False): (True, True, False),
    (270, False): (True, False, True),
    (270, True): (True, False, False),
    (90, True): (True, True, True),
}


@dataclass(frozen=True)
class Display:
    """How a decoded video frame becomes the picture a player shows.

    The frame (``coded_width`` x ``coded_height``) is first stretched by the sample aspect ratio
    (``sar``: the width is scaled, the height kept, as players and ``scale=iw*sar:ih`` do), then
    mirrored left-right if ``mirrored``, then turned ``rotation`` degrees clockwise (0/90/180/270).
    """

    coded_width: int
    coded_height: int
    sar: Fraction = Fraction(1)
    rotation: int = 0
    mirrored: bool = False

    @property
    def stretched(self) -> tuple[int, int]:
        """Size after the sample aspect ratio, before any rotation."""
        if self.sar == 1:
            return self.coded_width, self.coded_height
        return max(1, round(self.coded_width * self.sar)), self.coded_height

    @property
    def transposed(self) -> bool:
        return self.rotation in (90, 270)

    @property
    def size(self) -> tuple[int, int]:
        """The displayed (width, height)."""
        w, h = self.stretched
        return (h, w) if self.transposed else (w, h)

    @property
    def reoriented(self) -> bool:
        return self.rotation != 0 or self.mirrored

    @property
    def identity(self) -> bool:
        """True when the decoded frame is already what is shown (the common, fast case)."""
        return self.sar == 1 and not self.reoriented

    def coded_target(self, width: int, height: int) -> tuple[int, int]:
        """The size to resize a decoded frame to so that, once oriented, it is width x height."""
        return (height, width) if self.transposed else (width, height)

    def orient(self, img: np.ndarray) -> np.ndarray:
        """Turn/mirror an array already resized to :meth:`coded_target` into display orientation."""
        if not self.reoriented:
            return img
        transpose, flip_h, flip_v = _OPS[(self.rotation, self.mirrored)]
        if transpose:
            img = cv2.transpose(img)
        if flip_h and flip_v:
            img = cv2.flip(img, -1)
        elif flip_h:
            img = cv2.flip(img, 1)
        elif flip_v:
            img = cv2.flip(img, 0)
        return img


def stream_sar(stream) -> Fraction:
    """The stream's sample aspect ratio; 1 when unknown or nonsense."""
    for sar in (getattr(stream, "sample_aspect_ratio", None), getattr(stream.codec_context, "sample_aspect_ratio", None)):
        if sar and sar > 0:
            sar = Fraction(sar)
            # A SAR within 0.1 % of square is square (rounding in old muxers); beyond 1:8 it is junk.
            if abs(sar - 1) < Fraction(1, 1000):
                return Fraction(1)
            if Fraction(1, 8) <= sar <= 8:
                return sar
    return Fraction(1)


def matrix_orientation(matrix: bytes | np.ndarray | None) -> tuple[int, bool]:
    """(rotation clockwise 0/90/180/270, mirrored) of an FFmpeg display matrix (nine int32,
    ``(x', y') = (m0 x + m3 y, m1 x + m4 y)`` in image coordinates, y down). Angles that are not
    multiples of 90 are snapped to the nearest one."""
    if matrix is None:
        return 0, False
    m = np.frombuffer(bytes(matrix), dtype=np.int32) if not isinstance(matrix, np.ndarray) else matrix
    if m.size < 9:
        return 0, False
    a, b, c, d = (float(v) for v in (m[0], m[1], m[3], m[4]))
    det = a * d - b * c
    if det == 0:
        return 0, False
    s = -1.0 if det < 0 else 1.0
    # the matrix is R(theta) @ diag(s, 1): its first column is s * (cos theta, sin theta)
    theta = math.degrees(math.atan2(s * b, s * a))
    rotation = int(round(theta / 90.0)) % 4 * 90
    return rotation, det < 0


def display_of(frame: av.VideoFrame, sar: Fraction = Fraction(1)) -> Display:
    """The display geometry of a decoded frame: its display matrix (frame side data, which
    FFmpeg copies from the stream's) and the stream's sample aspect ratio."""
    rotation, mirrored = 0, False
    matrix = None
    try:
        matrix = frame.side_data.get(av.sidedata.sidedata.Type.DISPLAYMATRIX)
    except (AttributeError, KeyError, ValueError):
        matrix = None
    if matrix is not None:
        rotation, mirrored = matrix_orientation(bytes(matrix))
    else:
        # no side data object: PyAV's own reading (rotation only, counter-clockwise)
        rotation = int(round(-(getattr(frame, "rotation", 0) or 0) / 90.0)) % 4 * 90
    return Display(frame.width, frame.height, sar, rotation, mirrored)


def frame_rgb(frame: av.VideoFrame, display: Display) -> np.ndarray:
    """A decoded frame at full displayed size, RGB uint8 (sample aspect and orientation applied)."""
    if display.identity:
        return frame.to_ndarray(format="rgb24")
    width, height = display.stretched
    if (width, height) != (frame.width, frame.height):
        rgb = frame.reformat(width=width, height=height, format="rgb24", interpolation="BICUBIC").to_ndarray()
    else:
        rgb = frame.to_ndarray(format="rgb24")
    return np.ascontiguousarray(display.orient(rgb))


# -- stills -------------------------------------------------------------------------------------

# EXIF orientation tag value -> (rotation clockwise, mirrored), as :class:`Display` means them.
EXIF_ORIENTATION = {
    1: (0, False), 2: (0, True), 3: (180, False), 4: (180, True),
    5: (270, True), 6: (90, False), 7: (90, True), 8: (270, False),
}
ALPHA_BACKGROUND = (0, 0, 0)  # transparent pixels are flattened over black (dark UIs; as a player shows)
_HIGH_GREY = {"I;16", "I;16L", "I;16B", "I;16N", "I"}
_SRGB = None


def still_orientation(im: Image.Image) -> tuple[int, bool]:
    """(rotation clockwise, mirrored) a still's EXIF orientation asks for; (0, False) if none."""
    try:
        value = im.getexif().get(0x0112)
    except Exception:  # a damaged EXIF block does not make the picture unreadable
        return 0, False
    return EXIF_ORIENTATION.get(value if isinstance(value, int) else 0, (0, False))


def load_still(path: Path | str) -> np.ndarray:
    """A still as it is displayed: RGB uint8, EXIF orientation applied (all eight), high bit
    depths scaled (not clipped), palette/grey/CMYK converted, an embedded ICC profile converted
    to sRGB, alpha flattened over :data:`ALPHA_BACKGROUND`."""
    path = Path(path)
    try:
        with Image.open(path) as im:
            return still_to_rgb(im, name=path.name)
    except InvalidInput:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InvalidInput(f"{path.name}: not a readable image ({exc})") from None


def still_to_rgb(im: Image.Image, *, name: str = "image") -> np.ndarray:
    """:func:`load_still` for an image already opened (and checked) by the caller."""
    icc = im.info.get("icc_profile")
    if still_orientation(im) != (0, False):
        im = ImageOps.exif_transpose(im)
    colour, alpha = _split_alpha(im, name)
    rgb = np.asarray(_to_srgb(colour, icc), dtype=np.uint8)
    if alpha is not None and alpha.min() < 255:
        rgb = _flatten(rgb, alpha)
    return np.ascontiguousarray(rgb)


def _split_alpha(im: Image.Image, name: str) -> tuple[Image.Image, np.ndarray | None]:
    """8-bit colour (mode L, RGB or CMYK) and the alpha channel (uint8) or None."""
    mode = im.mode
    if mode in _HIGH_GREY:
        return Image.fromarray(_sixteen_to_8(np.asarray(im)), "L"), None
    if mode == "F":
        return Image.fromarray(_float_to_8(np.asarray(im)), "L"), None
    if mode == "1":
        return im.convert("L"), None
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        im = im.convert("RGBA" if has_alpha else "RGB")
        mode = im.mode
    if mode == "La":
        im, mode = im.convert("LA"), "LA"
    if mode == "RGBa":
        im, mode = im.convert("RGBA"), "RGBA"
    if mode == "LA":
        return im.getchannel("L"), np.asarray(im.getchannel("A"))
    if mode == "RGBA":
        return im.convert("RGB"), np.asarray(im.getchannel("A"))
    if mode in ("L", "RGB", "CMYK"):
        return im, None
    try:
        return im.convert("RGB"), None  # YCbCr, RGBX, HSV…
    except ValueError:
        raise InvalidInput(f"{name}: cannot read a picture in colour mode {mode}") from None


def _sixteen_to_8(arr: np.ndarray) -> np.ndarray:
    """16-bit grey (or 32-bit integer grey holding 16-bit values) to 8 bits: v / 257, rounded,
    so the full 16-bit range maps onto the full 8-bit range (an 8-bit value v stored as v * 257,
    as PNG encoders widen, comes back as v)."""
    a = np.clip(arr.astype(np.int64), 0, 65535)
    return ((a + 128) // 257).astype(np.uint8)


def _float_to_8(arr: np.ndarray) -> np.ndarray:
    """Float grey: 0..1 when every value is within it, else 0..255 (Pillow's own scale)."""
    a = np.nan_to_num(arr.astype(np.float64))
    if a.size and a.min() >= 0.0 and a.max() <= 1.0:
        a = a * 255.0
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def _srgb_profile():
    global _SRGB
    if _SRGB is None:
        _SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    return _SRGB


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB in sRGB: through the embedded profile when there is a usable one; an image without a
    profile is taken to be sRGB already (as browsers do). A broken profile is ignored."""
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            space = source.profile.xcolor_space.strip()
            if {"RGB": "RGB", "GRAY": "L", "CMYK": "CMYK"}.get(space) == im.mode:
                return ImageCms.profileToProfile(
                    im, source, _srgb_profile(), renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC, outputMode="RGB"
                )
            log.warning("ignoring an ICC profile for %s data on a %s picture", space, im.mode)
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError, AttributeError) as exc:
            log.warning("ignoring an unusable ICC profile (%s)", exc)
    return im if im.mode == "RGB" else im.convert("RGB")


def _flatten(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.uint16)[..., None]
    bg = np.asarray(ALPHA_BACKGROUND, dtype=np.uint16)
    out = (rgb.astype(np.uint16) * a + bg * (255 - a) + 127) // 255
    return out.astype(np.uint8)
