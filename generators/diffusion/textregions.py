"""Burned-in text and logo areas, found classically (no OCR or detection model ships on PyPI).

Text is dense, high-contrast strokes laid out in lines: a morphological gradient, Otsu's
threshold and a horizontal closing join letters into line blobs; blobs with text-like geometry
(wider than tall, a plausible line height, densely stroked) are kept. A heuristic: it finds
captions, lower thirds, credits and channel bugs on calm backgrounds, and can miss text on busy
ones or flag striped textures. Regions can always be given by hand instead.
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_LINE_HEIGHT = 0.012  # fractions of the image height
MAX_LINE_HEIGHT = 0.15
MIN_ASPECT = 1.6  # width / height of a line blob
MIN_FILL = 0.25  # share of the blob's box covered by stroke pixels
MAX_REGIONS = 8
PAD = 0.25  # of the line height, around each region

NormBox = tuple[float, float, float, float]  # x, y, w, h in 0..1


def detect_text_regions(image: np.ndarray) -> list[NormBox]:
    """Normalised boxes (x, y, w, h) of likely text/logo areas in an RGB uint8 image, largest first."""
    h, w = image.shape[:2]
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    grad = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    _, bw = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    if bw.mean() > 0.35 * 255:  # edges everywhere: a texture, not text on a background
        _, bw = cv2.threshold(grad, int(np.percentile(grad, 97)), 255, cv2.THRESH_BINARY)
    kw = max(3, int(w * 0.015))
    closed = cv2.morphologyEx(bw, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (kw, 1)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
    found: list[tuple[int, NormBox]] = []
    for i in range(1, count):
        x, y, bw_, bh, area = stats[i]
        if not (MIN_LINE_HEIGHT * h <= bh <= MAX_LINE_HEIGHT * h) or bw_ < MIN_ASPECT * bh:
            continue
        fill = float(np.count_nonzero(bw[y:y + bh, x:x + bw_])) / float(bw_ * bh)
        if fill < MIN_FILL:
            continue
        pad = int(round(PAD * bh))
        x0, y0 = max(0, x - pad), max(0, y - pad)
        x1, y1 = min(w, x + bw_ + pad), min(h, y + bh + pad)
        found.append((int((x1 - x0) * (y1 - y0)), (x0 / w, y0 / h, (x1 - x0) / w, (y1 - y0) / h)))
    merged = _merge_lines([box for _, box in found], w, h)
    merged.sort(key=lambda b: -(b[2] * b[3]))
    return merged[:MAX_REGIONS]


def _merge_lines(boxes: list[NormBox], w: int, h: int) -> list[NormBox]:
    """Words of one line as one region: boxes that share most of their height and are closer
    than a line height apart are joined."""
    px = sorted([(b[0] * w, b[1] * h, (b[0] + b[2]) * w, (b[1] + b[3]) * h) for b in boxes], key=lambda b: b[0])
    out: list[list[float]] = []
    for x0, y0, x1, y1 in px:
        for m in out:
            overlap = min(y1, m[3]) - max(y0, m[1])
            height = min(y1 - y0, m[3] - m[1])
            if overlap > 0.5 * height and x0 - m[2] < max(y1 - y0, m[3] - m[1]):
                m[:] = [min(m[0], x0), min(m[1], y0), max(m[2], x1), max(m[3], y1)]
                break
        else:
            out.append([x0, y0, x1, y1])
    return [(a / w, b / h, (c - a) / w, (d - b) / h) for a, b, c, d in out]


def region_mask(width: int, height: int, boxes: list[NormBox], dilate: int = 0) -> np.ndarray:
    """A uint8 mask (255 inside the boxes) of the given size."""
    mask = np.zeros((height, width), np.uint8)
    for x, y, bw, bh in boxes:
        x0, y0 = int(np.floor(x * width)), int(np.floor(y * height))
        x1, y1 = int(np.ceil((x + bw) * width)), int(np.ceil((y + bh) * height))
        mask[max(0, y0):min(height, y1), max(0, x0):min(width, x1)] = 255
    if dilate > 0:
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilate + 1, 2 * dilate + 1)))
    return mask
