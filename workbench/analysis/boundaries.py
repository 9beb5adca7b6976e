"""Shot boundaries from both detectors: content changes (cuts, dissolves) and fades.

:class:`ShotSegmenter` runs :class:`~workbench.analysis.shots.ShotDetector` (with no shortest-shot
rule of its own) and :class:`~workbench.analysis.fades.FadeDetector` side by side on the one
decoding pass, and decides each boundary once both have settled past it:

* a content transition inside a fade's region (its fading frames and the colour run between
  them) is that fade seen by the content metric (a fade to black scores as a dissolve, a fast
  one as a cut) and is dropped; the fade's own ``fade_out`` / ``fade_in`` transitions stand
  for it, with the boundary at the first frame after the colour run. A hard cut *into* a colour
  run with no fade-out before it, or *out of* one with no fade-in after it, stays a ``cut``
  (the sample title's cut to black and back);
* then the shortest-shot rule (``min_shot_frames``) as the content detector applied it: a
  boundary closer than that to the previous one is dropped. A fade always keeps its
  transitions (an edit must not cut into it), even when its boundary is dropped.

Boundaries come out in order, at most ``max_seconds`` of the fade detector (4 s) plus the
content detector's look-ahead after their frame, so keyframes are still chosen and measured
while decoding goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from workbench.analysis.fades import FadeConfig, FadeDetector, FadeEvent
from workbench.analysis.shots import ShotDetector, ShotDetectorConfig
from workbench.analysis.types import Transition

_KIND_ORDER = {"fade_out": 0, "cut": 1, "dissolve": 1, "fade_in": 2}


@dataclass
class _Pending:
    boundary: int | None
    transitions: list[Transition]
    fade: FadeEvent | None = None

    @property
    def key(self) -> tuple[int, int]:
        first = self.boundary if self.boundary is not None else min(t.start_frame for t in self.transitions)
        return first, 1 if self.fade is not None else 0  # a content cut goes before a fade at the same frame

    @property
    def last_frame(self) -> int:
        return max([t.end_frame for t in self.transitions] + [self.boundary or 0])


class ShotSegmenter:
    """Feed every frame (signature and full-range mean luma) with :meth:`push`; each call returns
    the shot boundaries decided by then (first frame of each new shot), in order."""

    def __init__(self, fps: float, config: ShotDetectorConfig | None = None, fades: FadeConfig | None = None):
        config = config or ShotDetectorConfig()
        self.min_shot_frames = config.min_shot_frames
        self.content = ShotDetector(fps, replace(config, min_shot_frames=0))
        self.fades = FadeDetector(fps, fades)
        self.transitions: list[Transition] = []  # decided transitions, in order
        self.boundaries: list[int] = []
        self.regions: list[tuple[int, int]] = []  # fade regions (first, last frame)
        self._pending: list[_Pending] = []
        self._content_seen = 0
        self._last_boundary = 0

    @property
    def transition_frames(self) -> set[int]:
        """Flash, dissolve and fading frames: never a keyframe, flagged ``transition``."""
        return self.content.transition_frames

    def push(self, index: int, small_bgr: np.ndarray, luma: float) -> list[int]:
        self.content.push(index, small_bgr)
        self._take_content()
        for event in self.fades.push(luma):
            self._take_fade(event)
        return self._commit(min(self.content.settled(), self.fades.settled()))

    def finish(self) -> list[int]:
        self.content.finish()
        self._take_content()
        for event in self.fades.finish():
            self._take_fade(event)
        return self._commit(None)

    def _take_content(self) -> None:
        found = self.content.transitions[self._content_seen:]
        bounds = self.content.boundaries[self._content_seen:]
        self._content_seen = len(self.content.transitions)
        self._pending.extend(_Pending(boundary=b, transitions=[t]) for t, b in zip(found, bounds))

    def _take_fade(self, event: FadeEvent) -> None:
        self.regions.append(event.region)
        for t in event.transitions:
            self.content.transition_frames.update(range(t.start_frame, t.end_frame + 1))
        self._pending.append(_Pending(boundary=event.boundary, transitions=event.transitions, fade=event))

    def _in_fade(self, t: Transition) -> bool:
        return any(t.start_frame <= hi and lo <= t.end_frame for lo, hi in self.regions)

    def _commit(self, settled: int | None) -> list[int]:
        self._pending.sort(key=lambda p: p.key)
        new: list[int] = []
        while self._pending and (settled is None or self._pending[0].last_frame < settled):
            item = self._pending.pop(0)
            if item.fade is None and self._in_fade(item.transitions[0]):
                continue  # the fade itself, as the content metric saw it
            b = item.boundary
            keeps_boundary = b is not None and b - self._last_boundary >= self.min_shot_frames and b > self._last_boundary
            if keeps_boundary:
                self._last_boundary = b
                self.boundaries.append(b)
                new.append(b)
            if keeps_boundary or item.fade is not None:
                self.transitions.extend(item.transitions)
        self.transitions.sort(key=lambda t: (t.start_frame, _KIND_ORDER.get(t.kind, 1)))
        return new
