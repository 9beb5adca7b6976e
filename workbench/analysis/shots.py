"""Streaming shot-boundary detection over tiny frame signatures.

Hard cuts follow PySceneDetect's ContentDetector score: the mean absolute change of the H, S
and V channels between consecutive frames (0..255 scale, default threshold 27). Three checks
run on top, each looking only a few frames ahead:

* **flash**: a jump whose following frames return to what came before (a camera flash, a
  one-frame white-out) is not a cut;
* **fast dissolve**: several consecutive frames over the threshold are one transition;
* **slow dissolve** (twin comparison): a run of moderate changes, above an adaptive low
  threshold, whose end frames differ like a cut and whose middle frame looks like the average of
  the two ends (a pan or fast motion fails that blend test) is one ``dissolve``.

Shots shorter than ``min_shot_frames`` are not split off (as PySceneDetect's min_scene_len).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

from workbench.analysis.types import Transition


@dataclass(frozen=True)
class ShotDetectorConfig:
    threshold: float = 27.0  # content score of a hard cut
    min_shot_frames: int = 15
    flash_lookahead: int = 3  # longest flash, in frames
    low_floor_ratio: float = 0.2  # slow-dissolve low threshold >= threshold * this ...
    low_median_factor: float = 2.0  # ... and >= this times the recent median change
    dissolve_min_frames: int = 3
    dissolve_max_seconds: float = 3.0
    dissolve_gap_frames: int = 2  # dips below the low threshold tolerated inside a dissolve
    blend_ratio: float = 0.5  # mid-frame error / end-to-end difference below this is a blend
    flash_return_ratio: float = 0.35  # a flash returns to within this share of its jump


def content_score(hsv_a: np.ndarray, hsv_b: np.ndarray) -> float:
    return float(cv2.absdiff(hsv_a, hsv_b).mean())


class ShotDetector:
    """Feed frames in order with :meth:`push`; read confirmed transitions as they come."""

    def __init__(self, fps: float, config: ShotDetectorConfig | None = None):
        self.config = cfg = config or ShotDetectorConfig()
        self.fps = fps or 25.0
        self.lookahead = cfg.flash_lookahead + 1
        self.dissolve_max = max(cfg.dissolve_min_frames + 1, round(cfg.dissolve_max_seconds * self.fps))
        self._ring: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._ring_size = self.dissolve_max + self.lookahead + 4
        self.scores: list[float] = []  # content score per frame (0 for frame 0)
        self.transition_frames: set[int] = set()  # flash and dissolve frames
        self.transitions: list[Transition] = []
        self._last_boundary = 0
        self._skip_until = -1
        self._run: tuple[int, int, int] | None = None  # (start, end, gap) of a slow-change run
        self._run_low = 0.0  # the low threshold, frozen when the run started
        self.boundaries: list[int] = []  # first frame of each new shot
        self._last = -1
        self._finished = False

    # -- input -------------------------------------------------------------------------
    def push(self, index: int, small_bgr: np.ndarray) -> list[Transition]:
        hsv = cv2.cvtColor(small_bgr, cv2.COLOR_BGR2HSV)
        self._ring[index] = (small_bgr, hsv)
        while len(self._ring) > self._ring_size:
            self._ring.popitem(last=False)
        self.scores.append(content_score(self._ring[index - 1][1], hsv) if index > 0 else 0.0)
        self._last = index
        before = len(self.transitions)
        j = index - self.lookahead
        if j >= 1:
            self._process(j)
        return self.transitions[before:]

    def finish(self) -> list[Transition]:
        before = len(self.transitions)
        for j in range(max(1, self._last - self.lookahead + 1), self._last + 1):
            self._process(j)
        self._close_run(self._last + 1)
        self._finished = True
        return self.transitions[before:]

    def settled(self) -> int:
        """No transition found later can start or put its boundary before this frame: the next
        frame to be decided, or the start of the slow-change run still open."""
        if self._finished:
            return self._last + 2
        nxt = max(1, self._last - self.lookahead + 1)
        if self._run is not None:
            nxt = min(nxt, self._run[0])
        return nxt

    # -- decisions ---------------------------------------------------------------------
    def _hsv(self, i: int) -> np.ndarray:
        return self._ring[i][1]

    def _bgr(self, i: int) -> np.ndarray:
        return self._ring[i][0]

    def _process(self, j: int) -> None:
        cfg = self.config
        c = self.scores
        if j <= self._skip_until:
            return
        if c[j] >= cfg.threshold:
            # A slow rise just before a big jump is the start of a fast dissolve.
            rise_start = self._run[0] if self._run is not None else j
            self._run = None
            self._hard_change(j, rise_start)
            return
        self._slow_change(j)

    def _hard_change(self, j: int, rise_start: int) -> None:
        cfg = self.config
        c = self.scores
        horizon = min(self._last, j + cfg.flash_lookahead)
        before = self._hsv(j - 1)
        for k in range(j + 1, horizon + 1):
            back = content_score(before, self._hsv(k))
            if back < cfg.threshold and back < cfg.flash_return_ratio * c[j]:
                # The picture came back: frames j..k-1 were a flash, not a new shot.
                # Frame k's own jump is the return, not a cut either.
                self.transition_frames.update(range(j, k))
                self._skip_until = k
                return
        run_end = j
        while run_end + 1 <= horizon and c[run_end + 1] >= cfg.threshold:
            run_end += 1
        after = min(run_end + 1, self._last)
        if (run_end == j and rise_start == j) or content_score(self._hsv(j), self._hsv(after)) < cfg.threshold:
            self._add(Transition(kind="cut", start_frame=j, end_frame=j, score=round(c[j], 3)), boundary=j)
        else:
            # The tail of the blend: moderate changes right after the big ones.
            while run_end + 1 <= horizon and c[run_end + 1] >= cfg.threshold * cfg.low_floor_ratio * 2:
                run_end += 1
            start = rise_start
            self.transition_frames.update(range(start, run_end + 1))
            first = self._hsv(start - 1) if start - 1 in self._ring else before
            score = content_score(first, self._hsv(min(run_end + 1, self._last)))
            self._add(
                Transition(kind="dissolve", start_frame=start, end_frame=run_end, score=round(score, 3)),
                boundary=(start + run_end + 1) // 2,
            )
        self._skip_until = run_end

    def _slow_change(self, j: int) -> None:
        cfg = self.config
        c = self.scores
        if self._run is None:
            floor = cfg.threshold * cfg.low_floor_ratio
            if c[j] < floor:
                return  # below the floor no run can start: skip the median
            recent = c[max(1, j - 50) : j] or [0.0]
            low = max(floor, cfg.low_median_factor * float(np.median(recent)))
            if c[j] >= low:
                self._run = (j, j, 0)
                self._run_low = low
            return
        start, end, gap = self._run
        if c[j] >= self._run_low:
            self._run = (start, j, 0)
        elif gap + 1 > cfg.dissolve_gap_frames:
            self._close_run(j)
        else:
            self._run = (start, end, gap + 1)
        if self._run is not None and j - self._run[0] > self.dissolve_max:
            self._run = None  # sustained change: motion, not a dissolve

    def _close_run(self, j: int) -> None:
        if self._run is None:
            return
        start, end, _ = self._run
        self._run = None
        cfg = self.config
        if end - start + 1 < cfg.dissolve_min_frames:
            return
        a, b = start - 1, min(end + 1, self._last)
        if a not in self._ring or b not in self._ring:
            return
        if content_score(self._hsv(a), self._hsv(b)) < cfg.threshold:
            return
        bgr_a, bgr_b = self._bgr(a).astype(np.float32), self._bgr(b).astype(np.float32)
        mid = self._bgr((start + end) // 2).astype(np.float32)
        span = float(np.abs(bgr_a - bgr_b).mean())
        blend_error = float(np.abs(mid - (bgr_a + bgr_b) / 2).mean())
        if span <= 0 or blend_error >= cfg.blend_ratio * span:
            return
        self.transition_frames.update(range(start, end + 1))
        self._add(
            Transition(kind="dissolve", start_frame=start, end_frame=end, score=round(span, 3)),
            boundary=(start + end + 1) // 2,
        )

    def _add(self, transition: Transition, boundary: int) -> None:
        if boundary - self._last_boundary < self.config.min_shot_frames:
            return
        self._last_boundary = boundary
        self.transitions.append(transition)
        self.boundaries.append(boundary)
