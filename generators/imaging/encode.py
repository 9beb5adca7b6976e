"""Encoding stills: the output types kinds write and the one set of encoder options.

Baseline JPEG: progressive cost ~27 ms against ~6 ms per 1080p image here (libjpeg optimises
progressive scans whatever ``optimize`` says), for a smoother load nobody asked for.
"""

from __future__ import annotations

import io
from typing import Any, Literal

from PIL import Image

OutputType = Literal["jpeg", "webp"]
OUTPUT_TYPES: dict[str, tuple[str, str]] = {"jpeg": (".jpg", "image/jpeg"), "webp": (".webp", "image/webp")}
JPEG_OPTIONS: dict[str, Any] = {"quality": 90, "progressive": False, "optimize": False}
WEBP_OPTIONS: dict[str, Any] = {"quality": 85, "method": 4}  # method 4 is Pillow's default; 0 is ~3x faster, ~50% bigger


def encode(image: Image.Image, output: OutputType) -> bytes:
    buf = io.BytesIO()
    if output == "jpeg":
        image.save(buf, format="JPEG", **JPEG_OPTIONS)
    elif output == "webp":
        image.save(buf, format="WEBP", **WEBP_OPTIONS)
    else:
        raise ValueError(f"unknown output type {output!r}; known: {', '.join(OUTPUT_TYPES)}")
    return buf.getvalue()
