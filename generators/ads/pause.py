"""The 1920×1080 pause-ad still: the moment's frame, and over it one panel holding the product
image, brand, name, copy, the price in the locale's format and the QR code, on a scrim for
legibility, inside the title-safe area (90 %), off every face and as far off the salient region
as the frame allows.

Placement tries the panel at the left and at the right of the safe area; a side that would cover
a face is never used. When both would, the frame itself is set smaller beside the panel (an
"inset"), so the panel still covers no face. With a diffusion model the frame is instead
extended by outpainting (:mod:`generators.ads.backdrop`) and the panel sits on made pixels.

The words are the localization library's (:mod:`generators.ads.panel_text`): shaped, fitted to
their boxes, mirrored for right-to-left locales, with QA flags."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from generators.ads.panel_text import (
    DEFAULT_CTA,
    STYLES,
    DrawnField,
    PanelCopy,
    draw_fields,
)
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
Strategy = Literal["overlay-left", "overlay-right", "inset", "extended-left", "extended-right"]
PixelBox = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)


def safe_area(width: int = WIDTH, height: int = HEIGHT) -> PixelBox:
    mx, my = round(width * (1 - SAFE_SHARE) / 2), round(height * (1 - SAFE_SHARE) / 2)
    return mx, my, width - mx, height - my


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
    """Catalog text only (the spot's end card, a pause ad without a strings set)."""

    brand: str
    name: str
    price: str  # already formatted for the locale
    copy: str | None = None
    call_to_action: str = DEFAULT_CTA
    locale: str = "en"

    def panel_copy(self) -> PanelCopy:
        return PanelCopy.plain(self.brand, self.name, self.price, self.copy, self.locale, self.call_to_action)


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
    fields: tuple[DrawnField, ...] = ()  # every text drawn: its fit, contrast and flags
    locale: str = "en"
    rtl: bool = False

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(code for f in self.fields for code in f.flags))

    @property
    def reasons(self) -> tuple[dict[str, Any], ...]:
        return tuple(r for f in self.fields for r in f.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "panel": list(self.panel), "product": list(self.product), "qr": list(self.qr),
                "text": {k: list(v) for k, v in self.text.items()}, "faces": [list(f) for f in self.faces],
                "saliency": list(self.saliency) if self.saliency else None,
                "saliency_covered": round(self.saliency_covered, 4), "frame_box": list(self.frame_box),
                "qr_side_px": self.qr[2] - self.qr[0], "qr_height_share": round((self.qr[3] - self.qr[1]) / HEIGHT, 4),
                "qr_module_px": self.qr_module_px, "qr_modules": self.qr_modules, "qr_quiet_zone": self.qr_quiet_zone,
                "qr_version": self.qr_version, "qr_error": self.qr_error, "qr_url": self.qr_url,
                "safe_area": list(safe_area()), "locale": self.locale, "rtl": self.rtl}


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


@dataclass(frozen=True)
class ExtendedBackdrop:
    """A 1920x1080 backdrop made by extending the frame (a diffusion model outpainted around it,
    :mod:`generators.ads.backdrop`): the panel goes on the ``panel_side``, over made pixels only."""

    image: np.ndarray  # RGB uint8 (1080, 1920, 3)
    frame_box: PixelBox  # where the real frame is
    panel_side: Literal["left", "right"]
    faces: tuple[PixelBox, ...]  # the frame's faces on the backdrop
    saliency: PixelBox | None


@dataclass(frozen=True)
class _Plan:
    """The panel's rows, top to bottom: (name, height); "product" and "qr" are the picture rows."""

    rows: tuple[tuple[str, int], ...]
    qr: QrCode

    @property
    def height(self) -> int:
        return sum(h for _, h in self.rows)


GAPS = {"headline": 10, "product": 14, "name": 6, "price": 12, "qr": 12}
PRODUCT_MIN = 120


def _plan(copy: PanelCopy, qr_url: str) -> _Plan:
    """Row heights: the text rows are fixed by their styles; the QR code is as large as the
    rules ask (and no larger than the safe height allows); the product image takes what is left."""
    min_qr = int(np.ceil(MIN_HEIGHT_SHARE * HEIGHT))
    qr = make_qr(qr_url, min_side=min_qr)
    rows: list[tuple[str, int]] = [("pad", PAD)]
    for name in ("headline", "product", "brand", "name", "price", "qr", "legal"):
        if name in ("product", "qr"):
            rows.append((name, 0))
        elif copy.get(name) is not None:
            rows.append((name, STYLES[name].box_height))
        else:
            continue
        if name in GAPS and name != "qr":
            rows.append((f"gap-{name}", GAPS[name]))
    if copy.get("legal") is not None:
        rows.insert([n for n, _ in rows].index("legal"), ("gap-qr", GAPS["qr"]))
    rows.append(("pad-end", PAD))
    _sx0, sy0, _sx1, sy1 = safe_area()
    fixed = sum(h for _, h in rows)
    room = (sy1 - sy0) - fixed - PRODUCT_MIN  # what the panel leaves for the code
    if qr.side > room:
        # a long URL: smaller modules, never under a fifth of the height (the recipe records the size)
        total = qr.modules + 2 * qr.quiet_zone
        module_px = room // total
        if module_px * total < min_qr or module_px < 4:  # under 4 px a TV-sized code stops scanning from across a room
            raise InvalidInput(f"the tracking URL ({len(qr_url)} characters) makes a QR code too dense to fit the "
                               "pause ad at a fifth of the screen height; shorten tracking_base or campaign")
        qr = make_qr(qr_url, min_side=module_px * total, min_module_px=module_px)
    product_h = max(PRODUCT_MIN, min(PRODUCT_H, (sy1 - sy0) - fixed - qr.side))
    rows = [(n, product_h if n == "product" else qr.side if n == "qr" else h) for n, h in rows]
    return _Plan(tuple(rows), qr)


def render_pause_ad(frame_rgb: np.ndarray, faces: list[Any], saliency: Any | None, product_rgb: np.ndarray,
                    text: PauseAdText | PanelCopy, qr_url: str, *,
                    backdrop: ExtendedBackdrop | None = None) -> tuple[Image.Image, PauseAdLayout]:
    """Compose the still. ``faces`` and ``saliency`` are analysis boxes (normalised to the frame);
    ``text`` the panel's words (:class:`PanelCopy` for localized copy); ``backdrop`` a frame
    extended by a model, which replaces the classical cover / inset geometry."""
    # 1. the rows of the panel: the QR code's size decides the rest
    copy = text.panel_copy() if isinstance(text, PauseAdText) else text
    plan = _plan(copy, qr_url)
    qr = plan.qr
    panel_h = plan.height
    frame = Image.fromarray(np.ascontiguousarray(frame_rgb[..., :3]), "RGB")
    fw, fh = frame.size
    margin = round(FACE_MARGIN * WIDTH)
    sx0, sy0, sx1, sy1 = safe_area()
    py = sy0 + (sy1 - sy0 - panel_h) // 2
    if backdrop is not None:
        # 2'. a model extended the frame: the panel goes over the made side only
        strategy: Strategy = "extended-right" if backdrop.panel_side == "right" else "extended-left"
        px = sx1 - PANEL_W if backdrop.panel_side == "right" else sx0
        panel = (px, py, px + PANEL_W, py + panel_h)
        if intersects(panel, backdrop.frame_box):
            raise RuntimeError(f"the extended backdrop left no room for the panel: frame {backdrop.frame_box}, panel {panel}")
        canvas = Image.fromarray(np.ascontiguousarray(backdrop.image), "RGB").convert("RGBA")
        frame_box, face_px, sal_px, covered = backdrop.frame_box, list(backdrop.faces), backdrop.saliency, 0.0
    else:
        # 2. where the panel may go: left or right of the safe area, off every face
        background, scale, ox, oy = _cover(frame, WIDTH, HEIGHT)
        face_px = [box_px(f.box, fw, fh, scale, ox, oy) for f in faces]
        face_guard = [box_px(f.box, fw, fh, scale, ox, oy, margin=margin) for f in faces]
        sal_px = box_px(saliency, fw, fh, scale, ox, oy) if saliency is not None else None
        options = []
        for strategy_, px in (("overlay-right", sx1 - PANEL_W), ("overlay-left", sx0)):
            panel = (px, py, px + PANEL_W, py + panel_h)
            if any(intersects(panel, g) for g in face_guard):
                continue
            covered = overlap_area(panel, sal_px) / max(1, (sal_px[2] - sal_px[0]) * (sal_px[3] - sal_px[1])) if sal_px else 0.0
            options.append((covered, strategy_, panel))
        if options:
            covered, strategy, panel = min(options, key=lambda o: (round(o[0], 3), o[1] != "overlay-right"))
            canvas = background.convert("RGBA")
            frame_box = (0, 0, WIDTH, HEIGHT)
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
    # 4. the scrim, then the panel's rows top to bottom (mirrored for a right-to-left locale)
    scrim = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    ImageDraw.Draw(scrim).rounded_rectangle((panel[0], panel[1], panel[2] - 1, panel[3] - 1), radius=24, fill=SCRIM)
    image = Image.alpha_composite(canvas, scrim).convert("RGB")
    inner = PANEL_W - 2 * PAD
    left, right = panel[0] + PAD, panel[2] - PAD
    rtl = copy.rtl
    boxes: dict[str, PixelBox] = {}
    y = panel[1]
    product_box = qr_box = (0, 0, 0, 0)
    for name, h in plan.rows:
        if name == "product":
            product = Image.fromarray(np.ascontiguousarray(product_rgb[..., :3]), "RGB")
            product.thumbnail((inner, h), Image.Resampling.LANCZOS)
            at = (left + (inner - product.width) // 2, y + (h - product.height) // 2)
            image.paste(product, at)
            product_box = (at[0], at[1], at[0] + product.width, at[1] + product.height)
        elif name == "qr":
            qx = right - qr.side if rtl else left
            image.paste(qr.image, (qx, y))
            qr_box = (qx, y, qx + qr.side, y + qr.side)
            # the call to action (and the date under it) in the column beside the code
            cx0, cx1 = (left, qx - 24) if rtl else (qx + qr.side + 24, right)
            date_h = STYLES["date"].box_height if copy.get("date") is not None else 0
            boxes["cta"] = (cx0, y, cx1, y + qr.side - date_h)
            if date_h:
                boxes["date"] = (cx0, y + qr.side - date_h, cx1, y + qr.side)
        elif name in STYLES:
            boxes[name] = (left, y, right, y + h)
        y += h
    drawn = draw_fields(image, copy, boxes, face_px)
    layout = PauseAdLayout(strategy=strategy, panel=panel, product=product_box, qr=qr_box,
                           text={f.field: f.box for f in drawn}, faces=tuple(face_px), saliency=sal_px,
                           saliency_covered=covered, frame_box=frame_box, qr_module_px=qr.module_px, qr_modules=qr.modules,
                           qr_quiet_zone=qr.quiet_zone, qr_version=qr.version, qr_error=qr.error, qr_url=qr.url,
                           fields=tuple(drawn), locale=copy.locale, rtl=rtl)
    return image, layout
