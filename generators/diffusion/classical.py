"""Treatments without a model: extend a frame (blurred mirror), fill a region (OpenCV
inpainting), grade its colours. Pure functions of arrays: nothing here claims AI."""

from __future__ import annotations

import cv2
import numpy as np

from generators.diffusion.styles import Look


def extend_blurred(image: np.ndarray, canvas: tuple[int, int], box: tuple[int, int]) -> np.ndarray:
    """``image`` (H, W, 3 uint8) on a ``canvas`` (width, height) at ``box`` (left, top), the rest
    filled with the frame itself scaled to cover the canvas, heavily blurred and dimmed: the
    familiar backdrop of vertical video, which never passes for real picture. The seam is soft."""
    cw, ch = canvas
    left, top = box
    h, w = image.shape[:2]
    # the part of the frame that, scaled up, covers the canvas; built at 1/8 size (it is blurred anyway)
    scale = max(cw / w, ch / h)
    sw, sh = min(w, cw / scale), min(h, ch / scale)
    x0, y0 = int((w - sw) / 2), int((h - sh) / 2)
    small = cv2.resize(image[y0:y0 + int(round(sh)), x0:x0 + int(round(sw))], (max(1, cw // 8), max(1, ch // 8)),
                       interpolation=cv2.INTER_AREA)
    k = max(3, (max(small.shape[:2]) // 12) | 1)
    backdrop = cv2.convertScaleAbs(cv2.resize(cv2.GaussianBlur(small, (k, k), 0), (cw, ch), interpolation=cv2.INTER_LINEAR),
                                   alpha=0.7)
    out = backdrop.copy()
    out[top:top + h, left:left + w] = image
    # soften the seam over a few pixels on the sides that touch the backdrop
    seam = max(2, min(cw, ch) // 200)
    inside = np.zeros((ch, cw), np.float32)
    inside[top:top + h, left:left + w] = 1.0
    weight = cv2.GaussianBlur(cv2.erode(inside, np.ones((2 * seam + 1, 2 * seam + 1), np.uint8)), (2 * seam + 1, 2 * seam + 1), 0)
    return cv2.blendLinear(out, backdrop, weight, 1.0 - weight)


def inpaint(image: np.ndarray, mask: np.ndarray, radius: int = 5) -> np.ndarray:
    """OpenCV Telea inpainting of the white part of ``mask`` (H, W uint8)."""
    return cv2.inpaint(np.ascontiguousarray(image), (mask > 127).astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA)


def grade(image: np.ndarray, look: Look) -> np.ndarray:
    """The look's colour grade on an RGB uint8 image."""
    x = image.astype(np.float32) / 255.0
    if look.gamma != 1.0:
        x = np.power(x, look.gamma)
    if look.brightness:
        x = x + look.brightness
    if look.contrast:
        # S-curve around mid-grey: blend towards a smoothstep
        s = x * x * (3 - 2 * np.clip(x, 0, 1))
        x = x + look.contrast * (s - x) * 2
    if look.warmth:
        x[..., 0] += 0.5 * look.warmth * 0.2
        x[..., 1] += 0.2 * look.warmth * 0.2
        x[..., 2] -= 0.5 * look.warmth * 0.2
    if look.teal_orange:
        luma = (0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2])[..., None]
        shadows = np.clip(1 - luma * 2, 0, 1)
        highlights = np.clip(luma * 2 - 1, 0, 1)
        x = x + look.teal_orange * 0.12 * (highlights * np.array([1.0, 0.45, -0.6]) + shadows * np.array([-0.6, 0.15, 0.5]))
    if look.saturation != 1.0:
        luma = (0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2])[..., None]
        x = luma + (x - luma) * look.saturation
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)
