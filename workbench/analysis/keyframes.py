"""Keyframe candidates: sampled during the decoding pass, chosen when their shot closes.

A few frames a second are kept at keyframe size with a cheap sharpness score. When a shot's
boundary is confirmed the shot is split into equal parts and the sharpest usable candidate of
each part becomes a keyframe. Memory stays bounded on very long shots by thinning the pool.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class Candidate:
    index: int
    pts: int | None
    time: float
    bgr: np.ndarray
    sharpness: float
    brightness: float


def make_candidate(index: int, pts: int | None, time: float, bgr: np.ndarray) -> Candidate:
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    sharpness = float(cv2.Laplacian(grey, cv2.CV_32F).var())
    return Candidate(index, pts, time, bgr, sharpness, float(grey.mean()) / 255.0)


class CandidatePool:
    def __init__(self, max_open: int = 48):
        self.max_open = max_open
        self._items: list[Candidate] = []

    def add(self, candidate: Candidate) -> None:
        self._items.append(candidate)
        if len(self._items) > self.max_open:
            # Keep the sharper of each neighbouring pair: halves memory, keeps coverage.
            pairs = [self._items[i : i + 2] for i in range(0, len(self._items), 2)]
            self._items = [max(p, key=lambda c: c.sharpness) for p in pairs]

    def take_before(self, boundary: int) -> list[Candidate]:
        taken = [c for c in self._items if c.index < boundary]
        self._items = [c for c in self._items if c.index >= boundary]
        return taken


def choose_keyframes(
    candidates: list[Candidate],
    start: int,
    end: int,
    fps: float,
    most: int,
    excluded: set[int],
    edge_frames: int = 2,
) -> list[Candidate]:
    """The sharpest usable candidate in each of k equal parts of the shot [start, end)."""
    usable = [
        c for c in candidates
        if start + edge_frames <= c.index < end - edge_frames and c.index not in excluded
    ] or [c for c in candidates if c.index not in excluded]
    if not usable:
        return []
    seconds = (end - start) / (fps or 25.0)
    k = max(1, min(most, math.ceil(seconds / 2.0)))
    span = (end - start) / k
    picked: list[Candidate] = []
    for part in range(k):
        lo, hi = start + part * span, start + (part + 1) * span
        pool = [c for c in usable if lo <= c.index < hi]
        if pool:
            # Prefer frames that are not near-black; among them the sharpest.
            picked.append(max(pool, key=lambda c: (c.brightness > 0.06, c.sharpness)))
    return picked
