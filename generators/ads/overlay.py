"""A shoppable overlay card: a transparent 1920×1080 PNG holding one compact card (the QR code,
the product image, its name and price) in a corner of the title-safe area that covers no face
of the whole moment (every keyframe of the shot) and as little of the salient region as it can."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from generators.ads.pause import (
    FACE_MARGIN,
    HEIGHT,
    SCRIM,
    WIDTH,
    PauseAdText,
    PixelBox,
    box_px,
    intersects,
    load_font,
    normalised_box,
    overlap_area,
    safe_area,
    wrap_text,
)
from generators.ads.qr import MIN_HEIGHT_SHARE, make_qr

PAD = 24
TEXT_W = 300
THUMB_H = 140


@dataclass(frozen=True)
class OverlayCard:
    image: Image.Image  # RGBA, transparent outside the card
    card: PixelBox
    qr: PixelBox
    corner: str
    qr_module_px: int

    def box_normalised(self) -> list[float]:
        return normalised_box(self.card)


def render_overlay(faces: list[Any], saliency: Any | None, frame_size: tuple[int, int], product_rgb: np.ndarray,
                   text: PauseAdText, qr_url: str) -> OverlayCard | None:
    """The overlay for one hotspot, or None when every corner would cover a face. ``faces`` are
    analysis faces of every keyframe in the moment (normalised boxes), over a frame of
    ``frame_size`` shown scaled to 1920×1080."""
    qr = make_qr(qr_url, min_side=int(np.ceil(MIN_HEIGHT_SHARE * HEIGHT)))
    w, h = PAD + qr.side + PAD + TEXT_W + PAD, PAD + qr.side + PAD
    fw, fh = frame_size
    scale = max(WIDTH / fw, HEIGHT / fh)
    ox, oy = (fw * scale - WIDTH) / 2, (fh * scale - HEIGHT) / 2
    margin = round(FACE_MARGIN * WIDTH)
    guards = [box_px(f.box, fw, fh, scale, ox, oy, margin=margin) for f in faces]
    sal = box_px(saliency, fw, fh, scale, ox, oy) if saliency is not None else None
    sx0, sy0, sx1, sy1 = safe_area()
    corners = {"bottom-right": (sx1 - w, sy1 - h), "bottom-left": (sx0, sy1 - h),
               "top-right": (sx1 - w, sy0), "top-left": (sx0, sy0)}
    options = []
    for order, (name, (x, y)) in enumerate(corners.items()):
        box = (x, y, x + w, y + h)
        if any(intersects(box, g) for g in guards):
            continue
        options.append((overlap_area(box, sal) if sal else 0, order, name, box))
    if not options:
        return None
    _, _, corner, card = min(options)
    canvas = Image.new("RGBA", (WIDTH, HEIGHT), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).rounded_rectangle((card[0], card[1], card[2] - 1, card[3] - 1), radius=20, fill=SCRIM)  # Pillow includes x1, y1
    qx, qy = card[0] + PAD, card[1] + PAD
    canvas.paste(qr.image.convert("RGBA"), (qx, qy))
    tx = qx + qr.side + PAD
    thumb = Image.fromarray(np.ascontiguousarray(product_rgb[..., :3]), "RGB")
    thumb.thumbnail((TEXT_W, THUMB_H), Image.Resampling.LANCZOS)
    canvas.paste(thumb.convert("RGBA"), (tx, qy))
    draw = ImageDraw.Draw(canvas)
    y = qy + THUMB_H + 10
    name_font, price_font, cta_font = load_font("bold", 32), load_font("bold", 40), load_font("regular", 24)
    for line in wrap_text(text.name, name_font, TEXT_W, 2):
        draw.text((tx, y), line, font=name_font, fill=(255, 255, 255, 255))
        y += 40
    draw.text((tx, y), text.price, font=price_font, fill=(255, 214, 92, 255))
    y += 50
    if y + 28 <= card[3] - PAD:
        draw.text((tx, y), text.call_to_action, font=cta_font, fill=(220, 220, 225, 255))
    return OverlayCard(canvas, card, (qx, qy, qx + qr.side, qy + qr.side), corner, qr.module_px)
