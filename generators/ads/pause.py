"""The 1920×1080 pause-ad still: the moment's frame, and over it one panel holding the product
image, brand, name, copy, the price in the locale's format and the QR code, on a scrim for
legibility, inside the title-safe area (90 %), off every face and as far off the salient region
as the frame allows.

Placement tries the panel at the left and at the right of the safe area; a side that would cover
a face is never used. When both would, the frame itself is set smaller beside the panel (an
"inset"), so the panel still covers no face."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from generators.ads.qr import MIN_HEIGHT_SHARE, QrCode, make_qr
from workbench.errors import InvalidInput

WIDTH, HEIGHT = 1920, 1080
SAFE_SHARE = 0.90  # title-safe: 90 % of width and height, centred
PANEL_W = 620
PAD = 28
PRODUCT_H = 220
SCRIM = (12, 12, 16, 205)
FACE_MARGIN = 0.02  # of the output's width, kept clear around a face
FONTS = {
    "bold": ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf"),
    "regular": ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"),
}
Strategy = Literal["overlay-left", "overlay-right", "inset"]
PixelBox = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)


def safe_area(width: int = WIDTH, height: int = HEIGHT) -> PixelBox:
    mx, my = round(width * (1 - SAFE_SHARE) / 2), round(height * (1 - SAFE_SHARE) / 2)
    return mx, my, width - mx, height - my


def format_price(price: Decimal, currency: str, locale: str) -> str:
    from babel.numbers import format_currency

    return format_currency(price, currency, locale=locale)


def normalised_box(box: PixelBox) -> list[float]:
    """A pixel box on the still as x, y, w, h fractions of 1920x1080 (as analysis writes boxes)."""
    return [round(box[0] / WIDTH, 5), round(box[1] / HEIGHT, 5), round((box[2] - box[0]) / WIDTH, 5),
            round((box[3] - box[1]) / HEIGHT, 5)]


def intersects(a: PixelBox, b: PixelBox) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def overlap_area(a: PixelBox, b: PixelBox) -> int:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0, w) * max(0, h)


@dataclass(frozen=True)
class PauseAdText:
    brand: str
    name: str
    price: str  # already formatted for the locale
    copy: str | None = None
    call_to_action: str = "Scan to shop"


@dataclass(frozen=True)
class PauseAdLayout:
    strategy: Strategy
    panel: PixelBox
    product: PixelBox
    qr: PixelBox
    text: dict[str, PixelBox]
    faces: tuple[PixelBox, ...]  # where the frame's faces are on the still
    saliency: PixelBox | None
    saliency_covered: float  # share of the salient box under the panel
    frame_box: PixelBox  # where the frame sits on the still
    qr_module_px: int
    qr_modules: int
    qr_quiet_zone: int
    qr_version: int
    qr_error: str
    qr_url: str

    def to_dict(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "panel": list(self.panel), "product": list(self.product), "qr": list(self.qr),
                "text": {k: list(v) for k, v in self.text.items()}, "faces": [list(f) for f in self.faces],
                "saliency": list(self.saliency) if self.saliency else None,
                "saliency_covered": round(self.saliency_covered, 4), "frame_box": list(self.frame_box),
                "qr_side_px": self.qr[2] - self.qr[0], "qr_height_share": round((self.qr[3] - self.qr[1]) / HEIGHT, 4),
                "qr_module_px": self.qr_module_px, "qr_modules": self.qr_modules, "qr_quiet_zone": self.qr_quiet_zone,
                "qr_version": self.qr_version, "qr_error": self.qr_error, "qr_url": self.qr_url,
                "safe_area": list(safe_area())}


def load_font(kind: str, size: int) -> ImageFont.FreeTypeFont:
    for path in FONTS[kind]:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)  # a fresh face per render: FreeType faces are not thread-safe
    return ImageFont.load_default(size=size)


def wrap_text(text: str, font: ImageFont.FreeTypeFont, width: int, max_lines: int) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if font.getlength(trial) <= width:
            line = trial
            continue
        if line:
            lines.append(line)
        line = word
        while font.getlength(line) > width and len(line) > 1:  # a single very long word is cut
            cut = len(line)
            while cut > 1 and font.getlength(line[:cut] + "…") > width:
                cut -= 1
            lines.append(line[:cut] + "…")
            line = ""
            break
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.getlength(last + "…") > width:
            last = last[:-1]
        lines[-1] = last + "…"
    return lines or [""]


def _cover(frame: Image.Image, width: int, height: int) -> tuple[Image.Image, float, float, float]:
    """The frame scaled to cover width×height (centre crop): image, scale, x and y offset."""
    scale = max(width / frame.width, height / frame.height)
    w, h = max(width, round(frame.width * scale)), max(height, round(frame.height * scale))
    big = frame.resize((w, h), Image.Resampling.LANCZOS)
    ox, oy = (w - width) / 2, (h - height) / 2
    return big.crop((round(ox), round(oy), round(ox) + width, round(oy) + height)), scale, ox, oy


def box_px(box: Any, frame_w: int, frame_h: int, scale: float, ox: float, oy: float, dx: int = 0, dy: int = 0,
            margin: int = 0) -> PixelBox:
    x0 = box.x * frame_w * scale - ox + dx - margin
    y0 = box.y * frame_h * scale - oy + dy - margin
    x1 = (box.x + box.w) * frame_w * scale - ox + dx + margin
    y1 = (box.y + box.h) * frame_h * scale - oy + dy + margin
    return (int(np.floor(x0)), int(np.floor(y0)), int(np.ceil(x1)), int(np.ceil(y1)))


def _panel_height(text: PauseAdText, qr_side: int, fonts: dict[str, ImageFont.FreeTypeFont], inner: int) -> int:
    h = PAD + PRODUCT_H + 18 + 38
    h += 56 * len(wrap_text(text.name, fonts["name"], inner, 2))
    if text.copy:
        h += 8 + 36 * len(wrap_text(text.copy, fonts["copy"], inner, 2))
    h += 12 + 66 + 14 + qr_side + PAD
    return h


def render_pause_ad(frame_rgb: np.ndarray, faces: list[Any], saliency: Any | None, product_rgb: np.ndarray,
                    text: PauseAdText, qr_url: str) -> tuple[Image.Image, PauseAdLayout]:
    """Compose the still. ``faces`` and ``saliency`` are analysis boxes (normalised to the frame)."""
    # 1. the QR first: its size decides the panel's
    min_qr = int(np.ceil(MIN_HEIGHT_SHARE * HEIGHT))
    qr: QrCode = make_qr(qr_url, min_side=min_qr)
    fonts = {"brand": load_font("bold", 30), "name": load_font("bold", 46), "copy": load_font("regular", 28),
             "price": load_font("bold", 56), "cta": load_font("bold", 30)}
    inner = PANEL_W - 2 * PAD
    sx0, sy0, sx1, sy1 = safe_area()
    room = (sy1 - sy0) - _panel_height(text, 0, fonts, inner)  # what the panel leaves for the code
    if qr.side > room:
        # a long URL: smaller modules, never under a fifth of the height (the recipe records the size)
        total = qr.modules + 2 * qr.quiet_zone
        module_px = room // total
        if module_px * total < min_qr or module_px < 4:  # under 4 px a TV-sized code stops scanning from across a room
            raise InvalidInput(f"the tracking URL ({len(qr_url)} characters) makes a QR code too dense to fit the "
                               "pause ad at a fifth of the screen height; shorten tracking_base or campaign")
        qr = make_qr(qr_url, min_side=module_px * total, min_module_px=module_px)
    panel_h = _panel_height(text, qr.side, fonts, inner)
    frame = Image.fromarray(np.ascontiguousarray(frame_rgb[..., :3]), "RGB")
    fw, fh = frame.size
    margin = round(FACE_MARGIN * WIDTH)
    # 2. where the panel may go: left or right of the safe area, off every face
    background, scale, ox, oy = _cover(frame, WIDTH, HEIGHT)
    face_px = [box_px(f.box, fw, fh, scale, ox, oy) for f in faces]
    face_guard = [box_px(f.box, fw, fh, scale, ox, oy, margin=margin) for f in faces]
    sal_px = box_px(saliency, fw, fh, scale, ox, oy) if saliency is not None else None
    py = sy0 + (sy1 - sy0 - panel_h) // 2
    options = []
    for strategy, px in (("overlay-right", sx1 - PANEL_W), ("overlay-left", sx0)):
        panel = (px, py, px + PANEL_W, py + panel_h)
        if any(intersects(panel, g) for g in face_guard):
            continue
        covered = overlap_area(panel, sal_px) / max(1, (sal_px[2] - sal_px[0]) * (sal_px[3] - sal_px[1])) if sal_px else 0.0
        options.append((covered, strategy, panel))
    if options:
        covered, strategy, panel = min(options, key=lambda o: (round(o[0], 3), o[1] != "overlay-right"))
        canvas = background.convert("RGBA")
        frame_box: PixelBox = (0, 0, WIDTH, HEIGHT)
    else:
        # 3. both sides would cover a face: the frame goes smaller beside the panel
        strategy = "inset"
        panel = (sx1 - PANEL_W, py, sx1, py + panel_h)
        room_w, room_h = panel[0] - 32 - sx0, sy1 - sy0
        s = min(room_w / fw, room_h / fh)
        iw, ih = int(fw * s), int(fh * s)
        dx, dy = sx0 + (room_w - iw) // 2, sy0 + (room_h - ih) // 2
        blurred = background.filter(ImageFilter.GaussianBlur(40)).point(lambda v: v // 3)
        canvas = blurred.convert("RGBA")
        canvas.paste(frame.resize((iw, ih), Image.Resampling.LANCZOS), (dx, dy))
        frame_box = (dx, dy, dx + iw, dy + ih)
        face_px = [box_px(f.box, fw, fh, s, 0, 0, dx, dy) for f in faces]
        sal_px = box_px(saliency, fw, fh, s, 0, 0, dx, dy) if saliency is not None else None
        covered = 0.0
    # 4. the scrim, then the panel's contents top to bottom
    scrim = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    ImageDraw.Draw(scrim).rounded_rectangle((panel[0], panel[1], panel[2] - 1, panel[3] - 1), radius=24, fill=SCRIM)
    canvas = Image.alpha_composite(canvas, scrim)
    draw = ImageDraw.Draw(canvas)
    x, y = panel[0] + PAD, panel[1] + PAD
    product = Image.fromarray(np.ascontiguousarray(product_rgb[..., :3]), "RGB")
    product.thumbnail((inner, PRODUCT_H), Image.Resampling.LANCZOS)
    pbox = (x + (inner - product.width) // 2, y + (PRODUCT_H - product.height) // 2)
    canvas.paste(product, pbox)
    product_box = (pbox[0], pbox[1], pbox[0] + product.width, pbox[1] + product.height)
    y += PRODUCT_H + 18
    boxes: dict[str, PixelBox] = {}

    def line(key: str, value: str, font: ImageFont.FreeTypeFont, step: int, fill=(255, 255, 255)) -> None:
        nonlocal y
        draw.text((x, y), value, font=font, fill=fill)
        l, t, r, b = draw.textbbox((x, y), value, font=font)
        boxes[key] = (l, t, max(r, l + 1), max(b, t + 1))
        y += step

    line("brand", text.brand.upper()[:60], fonts["brand"], 38, fill=(200, 200, 210))
    for n, part in enumerate(wrap_text(text.name, fonts["name"], inner, 2)):
        line(f"name{n + 1}", part, fonts["name"], 56)
    if text.copy:
        y += 8
        for n, part in enumerate(wrap_text(text.copy, fonts["copy"], inner, 2)):
            line(f"copy{n + 1}", part, fonts["copy"], 36, fill=(225, 225, 230))
    y += 12
    line("price", text.price, fonts["price"], 66, fill=(255, 214, 92))
    y += 14
    canvas.paste(qr.image, (x, y))
    qr_box = (x, y, x + qr.side, y + qr.side)
    cta_x = x + qr.side + 24
    for n, part in enumerate(wrap_text(text.call_to_action, fonts["cta"], panel[2] - PAD - cta_x, 3)):
        draw.text((cta_x, y + 20 + 40 * n), part, font=fonts["cta"], fill=(255, 255, 255))
        boxes[f"cta{n + 1}"] = draw.textbbox((cta_x, y + 20 + 40 * n), part, font=fonts["cta"])
    layout = PauseAdLayout(strategy=strategy, panel=panel, product=product_box, qr=qr_box, text=boxes,
                           faces=tuple(face_px), saliency=sal_px, saliency_covered=covered, frame_box=frame_box,
                           qr_module_px=qr.module_px, qr_modules=qr.modules, qr_quiet_zone=qr.quiet_zone,
                           qr_version=qr.version, qr_error=qr.error, qr_url=qr.url)
    return canvas.convert("RGB"), layout
