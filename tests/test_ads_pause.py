"""The pause-ad still and its QR code: the code scans back (OpenCV) to its exact URL from the
final 1920×1080 still and after a simulated camera capture; it is at least 20 % of the height
with a 4-module quiet zone; nothing drawn covers a face, wherever the faces are."""

from __future__ import annotations

import io
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from generators.ads.panel_text import format_price
from generators.ads.pause import (
    HEIGHT,
    WIDTH,
    PauseAdText,
    intersects,
    render_pause_ad,
    safe_area,
)
from generators.ads.qr import decode_qr, make_qr, tracking_url
from workbench.analysis.types import Box, Face
from workbench.errors import InvalidInput

URL = tracking_url("https://t.example.com/ads", campaign="spring-26", creative="pa-0123456789abcdef", placement="t1-s3-f240")


def frame(seed: int = 0) -> np.ndarray:
    """A busy 1280x720 frame (noise and shapes), hard for a detector to mistake for a code."""
    rng = np.random.default_rng(seed)
    base = (rng.random((72, 128, 3)) * 255).astype(np.uint8)
    im = Image.fromarray(base).resize((1280, 720), Image.Resampling.BICUBIC)
    d = ImageDraw.Draw(im)
    for _ in range(30):
        x, y = rng.integers(0, 1280), rng.integers(0, 720)
        d.ellipse((x, y, x + 80, y + 60), fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    return np.asarray(im)


def product() -> np.ndarray:
    im = Image.new("RGB", (400, 300), (240, 240, 240))
    ImageDraw.Draw(im).ellipse((100, 50, 300, 250), fill=(200, 60, 40))
    return np.asarray(im)


TEXT = PauseAdText(brand="Acme", name="Morning Mug <b>&amp;</b> ]]>", price=format_price(Decimal("12.5"), "EUR", "de_DE"),
                   copy="Coffee tastes better in the morning light, every single day of the week")


def test_the_tracking_url_carries_ids_only() -> None:
    q = parse_qs(urlsplit(URL).query)
    assert q == {"c": ["spring-26"], "cr": ["pa-0123456789abcdef"], "pl": ["t1-s3-f240"]}
    assert URL.startswith("https://t.example.com/ads/scan?")
    with_macros = tracking_url("https://t.example.com/ads", campaign="c", creative="x", placement="p", event="impression", macros=True)
    assert with_macros.endswith("&asid=[ADSERVINGID]&cb=[CACHEBUSTING]")
    for bad in ({"campaign": "a b"}, {"creative": "x&y=1"}, {"placement": ""}):
        with pytest.raises(InvalidInput):
            tracking_url("https://t.example.com", **{"campaign": "c", "creative": "x", "placement": "p", **bad})
    for base in ("http://t.example.com", "javascript:alert(1)", "https://t.example.com/?q=1", "https://user:pw@t.example.com"):
        with pytest.raises(InvalidInput):
            tracking_url(base, campaign="c", creative="x", placement="p")


def test_prices_follow_the_locale() -> None:
    assert format_price(Decimal("1234.5"), "EUR", "de_DE") == "1.234,50\xa0€"
    assert format_price(Decimal("1234.5"), "USD", "en_US") == "$1,234.50"
    assert format_price(Decimal("1234.6"), "JPY", "ja_JP") == "￥1,235"


def test_the_qr_scans_from_the_final_still_at_a_fifth_of_the_height_with_its_quiet_zone() -> None:
    still, layout = render_pause_ad(frame(), [], Box(0.1, 0.1, 0.3, 0.3), product(), TEXT, URL)
    assert still.size == (WIDTH, HEIGHT)
    rgb = np.asarray(still)
    assert decode_qr(rgb, scales=(1,)) == URL  # at its own size
    # through a JPEG as delivered
    buf = io.BytesIO()
    still.save(buf, "JPEG", quality=92)
    assert decode_qr(np.asarray(Image.open(buf).convert("RGB"))) == URL
    x0, y0, x1, y1 = layout.qr
    assert (y1 - y0) / HEIGHT >= 0.20 and x1 - x0 == y1 - y0
    assert layout.qr_error in ("m", "q", "h") and layout.qr_quiet_zone == 4
    # the quiet zone: 4 modules of white on every side, and dark modules right inside it
    q = 4 * layout.qr_module_px
    grey = rgb[y0:y1, x0:x1].mean(axis=2)
    for band in (grey[:q], grey[-q:], grey[:, :q], grey[:, -q:]):
        assert band.min() >= 250
    inner = grey[q:-q, q:-q]
    assert inner.min() <= 5 and (inner < 128).mean() > 0.3
    assert layout.qr_modules * layout.qr_module_px + 2 * q == x1 - x0
    # everything inside the title-safe area
    sx0, sy0, sx1, sy1 = safe_area()
    for box in (layout.panel, layout.qr, layout.product, *layout.text.values()):
        assert sx0 <= box[0] and sy0 <= box[1] and box[2] <= sx1 and box[3] <= sy1, box


def test_the_qr_scans_after_a_simulated_camera_capture() -> None:
    still, _layout = render_pause_ad(frame(0), [], None, product(), TEXT, URL)
    # a phone across the room: 480p, soft focus, JPEG 60, tilted 15 degrees in perspective
    small = cv2.resize(np.asarray(still), (854, 480), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (3, 3), 0.8)
    ok, enc = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 60])
    assert ok
    shot = cv2.cvtColor(cv2.imdecode(enc, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    h, w = shot.shape[:2]
    d = np.tan(np.radians(15)) * h / 2  # the far edge shrinks as a 15-degree turn makes it
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[0, d], [w, 0], [w, h], [0, h - d]])
    tilted = cv2.warpPerspective(shot, cv2.getPerspectiveTransform(src, dst), (w, h), borderValue=(255, 255, 255))
    assert decode_qr(shot) == URL
    assert decode_qr(tilted) == URL


def test_a_qr_code_never_goes_below_m_or_without_its_quiet_zone() -> None:
    code = make_qr(URL, min_side=216)
    assert code.side >= 216 and code.error in ("m", "q", "h")
    with pytest.raises(InvalidInput):
        make_qr(URL, min_side=216, error="l")  # type: ignore[arg-type]


FACES = {
    "left": [Face(Box(0.10, 0.2, 0.2, 0.35), 0.99)],
    "right": [Face(Box(0.70, 0.25, 0.2, 0.3), 0.99)],
    "centre": [Face(Box(0.42, 0.3, 0.16, 0.3), 0.99)],
    "both sides": [Face(Box(0.08, 0.3, 0.15, 0.25), 0.99), Face(Box(0.78, 0.2, 0.15, 0.25), 0.98)],
    "crowd": [Face(Box(x, y, 0.08, 0.12), 0.9) for x in (0.05, 0.3, 0.55, 0.8) for y in (0.1, 0.6)],
}


@pytest.mark.parametrize("where", list(FACES))
def test_nothing_covers_a_face(where) -> None:
    faces = FACES[where]
    src = frame(2)
    still, layout = render_pause_ad(src, faces, Box(0.3, 0.3, 0.4, 0.4), product(), TEXT, URL)
    drawn = (layout.panel, layout.qr, layout.product, *layout.text.values())
    assert len(layout.faces) == len(faces)
    for face in layout.faces:
        for box in drawn:
            assert not intersects(face, box), (where, layout.strategy, face, box)
    if where == "both sides":
        assert layout.strategy == "inset"
    elif where == "right":
        assert layout.strategy == "overlay-left"
    # independently of the layout's own boxes: each face's pixels are the frame's, untouched
    if layout.strategy != "inset":
        ref = np.asarray(Image.fromarray(src).resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)).astype(int)
        out = np.asarray(still).astype(int)
        for x0, y0, x1, y1 in layout.faces:
            x0, y0 = max(0, x0), max(0, y0)
            assert np.abs(out[y0:y1, x0:x1] - ref[y0:y1, x0:x1]).mean() < 2.0
    assert decode_qr(np.asarray(still)) == URL


def test_a_long_url_gets_smaller_modules_but_never_under_a_fifth_of_the_height() -> None:
    long_url = tracking_url("https://tracking.example.com/" + "x" * 60, campaign="c" * 64, creative="pa-0123456789abcdef",
                            placement="t12345-s999-f123456")
    still, layout = render_pause_ad(frame(3), [], None, product(), TEXT, long_url)
    assert (layout.qr[3] - layout.qr[1]) / HEIGHT >= 0.20
    assert layout.panel[3] <= safe_area()[3]
    assert decode_qr(np.asarray(still)) == long_url
    with pytest.raises(InvalidInput, match="too dense"):
        render_pause_ad(frame(3), [], None, product(), TEXT, "https://t.example.com/" + "y" * 1500)
