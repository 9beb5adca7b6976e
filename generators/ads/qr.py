"""QR codes a viewer scans from the sofa, and the tracking URLs they carry.

A code is made with segno at error correction M or better, drawn with whole-pixel modules (no
resampling blur) and a quiet zone of 4 modules, at least :data:`MIN_HEIGHT_SHARE` of the screen
height. The URL names the campaign, the creative and the placement, and nothing about a viewer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlencode, urlsplit

import numpy as np
import segno
from PIL import Image

from workbench.errors import InvalidInput

MIN_HEIGHT_SHARE = 0.20
QUIET_ZONE = 4  # modules, as ISO/IEC 18004 asks
# A phone camera across a living room sees a 1080p screen at about 480p: 7 px modules stay 3 px
# there, which OpenCV's detector still reads (5 px modules, 2.2 px at 480p, did not).
MIN_MODULE_PX = 7
ErrorLevel = Literal["m", "q", "h"]
_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def check_id(name: str, value: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise InvalidInput(f"{name} {value!r} must be 1-64 letters, digits, '.', '_' or '-'")
    return value


def check_base_url(base: str, name: str = "tracking_base") -> str:
    """An https URL without a query or fragment (the workbench adds its own parameters)."""
    if not isinstance(base, str) or len(base) > 512 or any(c.isspace() or not c.isprintable() for c in base):
        raise InvalidInput(f"{name} must be one https URL of at most 512 characters")
    try:
        parts = urlsplit(base)
    except ValueError:
        raise InvalidInput(f"{name} {base!r} is not a URL") from None
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise InvalidInput(f"{name} {base!r} must be an https URL with a host")
    if parts.query or parts.fragment:
        raise InvalidInput(f"{name} {base!r} must have no query or fragment")
    return base


def tracking_url(base: str, *, campaign: str, creative: str, placement: str, event: str = "scan",
                 macros: bool = False) -> str:
    """``base`` + ``/<event>?c=<campaign>&cr=<creative>&pl=<placement>``. With ``macros`` the VAST
    macros ``[ADSERVINGID]`` and ``[CACHEBUSTING]`` are added (for a player to fill; never in a QR,
    which a phone opens as it is)."""
    check_base_url(base)
    params = {"c": check_id("campaign", campaign), "cr": check_id("creative", creative),
              "pl": check_id("placement", placement)}
    url = f"{base.rstrip('/')}/{check_id('event', event)}?{urlencode(params)}"
    if macros:
        url += "&asid=[ADSERVINGID]&cb=[CACHEBUSTING]"
    return url


@dataclass(frozen=True)
class QrCode:
    url: str
    image: Image.Image  # RGB, white quiet zone included
    modules: int  # symbol width in modules, without the quiet zone
    module_px: int
    quiet_zone: int
    error: str
    version: int

    @property
    def side(self) -> int:
        return self.image.width


def make_qr(url: str, *, min_side: int, error: ErrorLevel = "m", min_module_px: int = MIN_MODULE_PX) -> QrCode:
    """The smallest whole-pixel module size (``min_module_px`` or more) whose code, quiet zone
    included, is at least ``min_side`` pixels wide; error correction ``error`` or higher (segno boosts it when free)."""
    if error not in ("m", "q", "h"):
        raise InvalidInput("QR error correction must be m, q or h (L is too weak for a TV screen)")
    qr = segno.make_qr(url, error=error, boost_error=True)
    width = qr.symbol_size(scale=1, border=0)[0]
    total = width + 2 * QUIET_ZONE
    module_px = max(min_module_px, -(-min_side // total))
    dark = np.array([list(row) for row in qr.matrix_iter(scale=1, border=QUIET_ZONE)], dtype=bool)
    grey = np.where(dark, 0, 255).astype(np.uint8).repeat(module_px, axis=0).repeat(module_px, axis=1)
    img = Image.fromarray(grey, "L").convert("RGB")
    return QrCode(url=url, image=img, modules=width, module_px=module_px, quiet_zone=QUIET_ZONE,
                  error=qr.error.lower() if isinstance(qr.error, str) else str(qr.error), version=int(qr.version))


def decode_qr(rgb, scales: tuple[int, ...] = (1, 2, 3)) -> str:
    """What OpenCV reads from an RGB array ("" when nothing), trying the picture as it is and then
    enlarged, as phone scanners do: OpenCV's detector misses 3 px modules (a 1080p screen seen at
    480p) at their own size and reads them once enlarged."""
    import cv2

    bgr = cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2BGR)
    detector = cv2.QRCodeDetector()
    for scale in scales:
        img = bgr if scale == 1 else cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        text, _points, _ = detector.detectAndDecode(img)
        if text:
            return text
    return ""
