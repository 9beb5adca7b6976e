"""Fades to and from black (or white), from each frame's mean luma.

PySceneDetect's ThresholdDetector finds fades where its ContentDetector finds nothing: it
compares each frame's mean brightness with a floor (12 of 255). This detector does the same on
the mean luma the decoding pass already has (the 96-px signature, mapped to the full 0..255
range, so limited-range video's black at 16 reads 0), and then asks whether the picture really
*ramped* to that colour, so that a hard cut to black or a one-frame white flash is not a fade.

A **colour run** is a stretch of frames whose mean luma is <= 12 (black) or >= 243 (white).
Frames that leave the colour for at most ``run_gap`` (2) frames while staying within ``near``
(8) levels of the floor belong to the run (a noisy black hold is one run).

``d`` is a frame's distance to the run's colour (its luma for black, 255 - luma for white).
The **fade-out** is the descent before the run: walking back from the first colour frame, the
frames whose ``d`` keeps rising by more than a quarter of the ramp's mean step so far (where
the fade ends, what is left is the picture's own drift; a one-frame wobble is tolerated), at
most ``max_seconds`` (4 s).
The walk ends on the last frame of the picture (the reference); the frames after it, up to the
run, are the fading frames. The **fade-in** is the same walk forwards from the run's end. A
ramp counts as a fade when:

* it has at least ``min_frames`` (2) fading frames,
* it spans at least ``min_depth`` (12) luma levels from the picture to the colour,
* and no single frame step is more than ``max_step_share`` (50 %) of that span.

The last rule is what tells a fade from a cut into the colour: a picture that darkens a little
and then jumps to black makes one step that is nearly the whole span; a fade makes many.
So a hard cut to black, a cut out of black and a white flash (``synthetic_fade.mp4`` frame 175)
give no fade, and a cross-fade between two pictures never reaches the floor at all.

Each run with a fade on either side gives one :class:`FadeEvent`: its ``fade_out`` and
``fade_in`` spans (either may be missing), the run, and the **shot boundary**: the first frame
after the colour run, unless the run opens or closes the video. Frames
``[fade_out.start_frame, fade_in.end_frame]`` are the fade's region: content transitions found
there (a fade scores as a dissolve, or a fast one as a cut, on the content metric) are the fade
itself and are dropped (see :mod:`workbench.analysis.boundaries`).

The detector is streaming: :meth:`FadeDetector.push` takes one frame's luma, and
:meth:`FadeDetector.settled` says which frames no future event can touch any more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from workbench.analysis.types import Transition

Colour = Literal["black", "white"]


@dataclass(frozen=True)
class FadeConfig:
    black_floor: float = 12.0  # mean luma at or under this is black (PySceneDetect ThresholdDetector's default)
    white_floor: float = 243.0  # ... at or over this is white
    max_seconds: float = 4.0  # longest ramp looked for
    min_frames: int = 2  # fading frames between the picture and the colour
    min_depth: float = 12.0  # luma levels from the picture to the colour
    max_step_share: float = 0.5  # no frame step may be more than this share of the depth
    step_eps: float = 0.1  # a step smaller than this is flat
    stop_ratio: float = 0.25  # a ramp ends at a step under this share of its mean step so far
    wobble: float = 2.0  # a one-frame wobble inside a ramp may go back this many levels
    run_gap: int = 2  # frames a run may leave its colour for ...
    near: float = 8.0  # ... staying within this many levels of the floor


@dataclass(frozen=True)
class FadeEvent:
    colour: Colour
    run: tuple[int, int]  # first and last frame of the colour run
    fade_out: Transition | None
    fade_in: Transition | None
    boundary: int | None  # first frame of the new shot, or None (the run opens or ends the video)

    @property
    def region(self) -> tuple[int, int]:
        """Frames that belong to the fade: content transitions here are the fade itself."""
        lo = self.fade_out.start_frame if self.fade_out else self.run[0] + 1
        hi = self.fade_in.end_frame if self.fade_in else self.run[1]
        return lo, hi

    @property
    def transitions(self) -> list[Transition]:
        return [t for t in (self.fade_out, self.fade_in) if t is not None]


class FadeDetector:
    """Feed each frame's full-range mean luma in order; collect the fades as they are decided."""

    def __init__(self, fps: float, config: FadeConfig | None = None):
        self.config = config or FadeConfig()
        self.max_frames = max(3, round(self.config.max_seconds * (fps or 25.0)))
        self.luma: list[float] = []
        self.events: list[FadeEvent] = []
        self._run: list = []  # [colour, start, end, gap] of the open run
        self._closed: tuple[Colour, int, int, Transition | None] | None = None  # run waiting for its fade-in
        self._out: Transition | None = None  # fade-out of the open run
        self._floor_index = 0  # walks never go back before this (the end of the previous event)
        self._finished = False
        # Where a fade-out walk from a future run could reach back to, per colour: the start of
        # the stretch that is still heading towards black (white). See settled().
        self._reach = {"black": 0, "white": 0}
        self._last_step = {"black": 0.0, "white": 0.0}

    # -- classification --------------------------------------------------------------------
    def colour_of(self, luma: float) -> Colour | None:
        if luma <= self.config.black_floor:
            return "black"
        if luma >= self.config.white_floor:
            return "white"
        return None

    def _d(self, i: int, colour: Colour) -> float:
        return self.luma[i] if colour == "black" else 255.0 - self.luma[i]

    def _near(self, luma: float, colour: Colour) -> bool:
        cfg = self.config
        return luma <= cfg.black_floor + cfg.near if colour == "black" else luma >= cfg.white_floor - cfg.near

    # -- input -----------------------------------------------------------------------------
    def push(self, luma: float) -> list[FadeEvent]:
        before = len(self.events)
        i = len(self.luma)
        self.luma.append(float(luma))
        if i:
            self._track_reach(i)
        colour = self.colour_of(luma)
        if self._closed is not None:
            self._try_fade_in(final=False, new_colour=colour is not None)
        if self._run:
            run_colour, start, end, gap = self._run
            if colour == run_colour:
                self._run[2], self._run[3] = i, 0
            elif self._near(luma, run_colour) and gap < self.config.run_gap:
                self._run[3] = gap + 1
            else:
                self._close_run()
                self._try_fade_in(final=False, new_colour=colour is not None)
        if not self._run and self._closed is None and colour is not None:
            self._run = [colour, i, i, 0]
            self._out = self._fade_out(colour, i)
        return self.events[before:]

    def finish(self) -> list[FadeEvent]:
        before = len(self.events)
        if self._run:
            colour, start, end, _ = self._run
            self._run = []
            if self._out is not None:  # the video ends in the colour: a fade-out, no new shot
                self._emit(colour, start, len(self.luma) - 1, self._out, None, boundary=None)
            self._out = None
        if self._closed is not None:
            self._try_fade_in(final=True, new_colour=False)
        self._finished = True
        return self.events[before:]

    def _track_reach(self, i: int) -> None:
        """A fade-out walk (``_walk_back``) accepts frame k only if d falls from k to k + 1 by more
        than ``step_eps``, or rises by at most ``wobble`` with the frame before falling over both
        steps. So it stops at a rise over ``wobble`` and at two steps in a row that do not fall:
        from there on, no future walk can reach further back."""
        cfg = self.config
        for colour in ("black", "white"):
            step = self._d(i - 1, colour) - self._d(i, colour)  # how much frame i is nearer the colour
            if step < -cfg.wobble or (step <= cfg.step_eps and self._last_step[colour] <= cfg.step_eps):
                self._reach[colour] = i
            self._last_step[colour] = step

    def settled(self) -> int:
        """Frames before this index are outside every fade still to be reported."""
        if self._finished:
            return len(self.luma) + 1
        # a future run's fade-out reaches back at most to the stretch still heading for its
        # colour, and never more than max_frames
        settled = max(min(self._reach.values()), len(self.luma) - self.max_frames - 2)
        if self._run:
            start, out = self._run[1], self._out
        elif self._closed is not None:
            start, out = self._closed[1], self._closed[3]
        else:
            return settled
        return min(settled, out.start_frame if out is not None else start + 1)

    # -- ramps -----------------------------------------------------------------------------
    def _close_run(self) -> None:
        colour, start, end, _ = self._run
        self._run = []
        self._closed = (colour, start, end, self._out)
        self._out = None

    def _try_fade_in(self, *, final: bool, new_colour: bool) -> None:
        colour, start, end, out = self._closed
        ref = self._walk_forward(colour, end, final=final or new_colour)
        if ref is None:
            return  # the ramp is still rising: wait for more frames
        self._closed = None
        fade_in = self._validate(colour, "fade_in", end, ref)
        if out is None and fade_in is None:
            self._floor_index = end + 1
            return
        last = len(self.luma) - 1
        at_end = end + 1 > last and final
        boundary = None if start == 0 or at_end else end + 1
        self._emit(colour, start, end, out, fade_in, boundary=boundary)

    def _fade_out(self, colour: Colour, start: int) -> Transition | None:
        ref = self._walk_back(colour, start)
        return self._validate(colour, "fade_out", ref, start)

    def _rising(self, steps: list[float], step: float) -> bool:
        """Does a step continue the ramp? Larger than ``step_eps`` and not much smaller than the
        ramp's steps so far (where a fade ends, the picture's own drift is a fraction of them)."""
        cfg = self.config
        floor = cfg.step_eps
        if steps:
            floor = max(floor, cfg.stop_ratio * (sum(steps) / len(steps)))
        return step > floor

    def _walk_back(self, colour: Colour, start: int) -> int:
        """The last picture frame before the descent into the run starting at ``start``."""
        cfg = self.config
        limit = max(self._floor_index, start - self.max_frames - 1)
        steps: list[float] = []
        k = start - 1  # candidate frame; frame k + 1 is already in the descent
        while k >= limit:
            step = self._d(k, colour) - self._d(k + 1, colour)
            if self._rising(steps, step):
                steps.append(step)
                k -= 1
                continue
            # one frame off the trend: fine if the frame before it continues the descent
            if k - 1 >= limit and step >= -cfg.wobble:
                over = self._d(k - 1, colour) - self._d(k + 1, colour)
                if self._rising(steps, over / 2):
                    steps.extend([max(step, 0.0), over - max(step, 0.0)])
                    k -= 2
                    continue
            break
        return k + 1

    def _walk_forward(self, colour: Colour, end: int, *, final: bool) -> int | None:
        """The first picture frame after the rise out of the run ending at ``end`` (None: not yet known)."""
        cfg = self.config
        n = len(self.luma)
        limit = end + self.max_frames + 1
        steps: list[float] = []
        k = end + 1
        while True:
            if k >= n:
                return k - 1 if final else None
            if k > limit or self.colour_of(self.luma[k]) is not None:
                return k - 1
            step = self._d(k, colour) - self._d(k - 1, colour)
            if self._rising(steps, step):
                steps.append(step)
                k += 1
                continue
            if step < -cfg.wobble:
                return k - 1
            if k + 1 >= n:
                return k - 1 if final else None
            over = self._d(k + 1, colour) - self._d(k - 1, colour)
            if self.colour_of(self.luma[k + 1]) is None and self._rising(steps, over / 2):
                steps.extend([max(step, 0.0), over - max(step, 0.0)])
                k += 2
                continue
            return k - 1

    def _validate(self, colour: Colour, kind: str, a: int, b: int) -> Transition | None:
        """A fade from picture frame ``a`` to colour frame ``b`` (fade_out) or from colour frame
        ``a`` to picture frame ``b`` (fade_in); the fading frames lie strictly between them."""
        cfg = self.config
        first, last = a + 1, b - 1
        if last - first + 1 < cfg.min_frames or a < 0 or b >= len(self.luma):
            return None
        d = [self._d(i, colour) for i in range(a, b + 1)]
        depth = abs(d[0] - d[-1])
        if depth < cfg.min_depth:
            return None
        steps = [abs(x - y) for x, y in zip(d, d[1:])]
        if max(steps) > cfg.max_step_share * depth:
            return None
        return Transition(kind=kind, start_frame=first, end_frame=last, score=round(depth, 3), colour=colour)

    def _emit(self, colour: Colour, start: int, end: int, out: Transition | None, fade_in: Transition | None,
              *, boundary: int | None) -> None:
        self.events.append(FadeEvent(colour=colour, run=(start, end), fade_out=out, fade_in=fade_in, boundary=boundary))
        self._floor_index = (fade_in.end_frame + 1) if fade_in is not None else end + 1
