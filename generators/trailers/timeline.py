"""A trailer cut as data: what the planner decides and the renderer, the audio mix and the cut
lists read. Nothing here decodes or encodes.

Times are seconds. A clip's ``source_in``/``source_out`` are on the *analysis clock* of the title
(0 = the first video frame's presentation time; add ``Timeline.video_start`` for the container
clock). Record (output) times are derived: items follow each other with no gap, so an item's
record start is the sum of the durations before it. Every duration is a whole number of output
frames, so the cut is frame-exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

from workbench.analysis.types import Box

CardKind = Literal["title", "end"]


@dataclass(frozen=True)
class CropKey:
    """Where the crop window sits at one moment of a clip (vertical or square reframing): its
    centre, normalised to the source frame, at ``t`` seconds after the clip's start."""

    t: float
    cx: float
    cy: float


@dataclass(frozen=True)
class Reframe:
    """How a clip fills an output of another aspect. ``mode``:

    - ``crop``: a window of the output's aspect, as large as the frame allows, whose centre
      follows ``path`` (linear between keys; held before the first and after the last);
    - ``letterbox``: the whole frame scaled to fit, on a blurred fill of itself (used when two
      far-apart faces cannot both be kept in a crop);
    - ``split``: two windows stacked (top: ``path``, bottom: ``second``), for two speakers.
    """

    mode: Literal["crop", "letterbox", "split"] = "crop"
    path: tuple[CropKey, ...] = ()
    second: tuple[CropKey, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Clip:
    shot: int  # the source shot it lies inside
    source_in: float  # seconds, analysis clock, inclusive
    frames: int  # its length in output frames
    reframe: Reframe | None = None  # None: the output has the source's aspect (scaled only)
    why: str = ""  # in a reviewer's words: why this shot, here
    score: float = 0.0

    def source_out(self, fps: Fraction) -> float:
        return self.source_in + self.frames / float(fps)


@dataclass(frozen=True)
class Card:
    """A title card or end slate, drawn from the brand template; its text is drawn literally."""

    kind: CardKind
    frames: int
    title: str
    tagline: str | None = None
    call_to_action: str | None = None
    date: str | None = None
    locale: str | None = None  # set: the text is that locale's, drawn in its script's font (shaped, RTL aware)


Item = Clip | Card


@dataclass(frozen=True)
class MusicBed:
    path: str  # a local audio file (the stored asset)
    sha256: str
    start: float = 0.0  # seconds into the music where the trailer starts
    gain_db: float = -6.0  # its level before ducking, relative to the source dialogue
    duck_db: float = -12.0  # how far it goes down under speech


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    fps: Fraction
    items: tuple[Item, ...]
    video_start: float = 0.0  # the title's first video frame on the container clock
    music: MusicBed | None = None
    speech: tuple[tuple[float, float], ...] = ()  # speech spans on the analysis clock (for ducking)
    loudness_lufs: float = -23.0  # integrated target (EBU R128; -24 for ATSC A/85)
    true_peak_db: float = -1.0  # ceiling, dBTP
    crossfade_s: float = 0.010  # audio crossfade at every edit (no clicks)
    extra: dict = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return sum(i.frames for i in self.items)

    @property
    def duration(self) -> float:
        return self.frames / float(self.fps)

    def record_starts(self) -> list[int]:
        """Each item's first output frame."""
        starts, n = [], 0
        for item in self.items:
            starts.append(n)
            n += item.frames
        return starts

    @property
    def clips(self) -> list[Clip]:
        return [i for i in self.items if isinstance(i, Clip)]


def crop_centre(path: tuple[CropKey, ...], t: float, default: tuple[float, float] = (0.5, 0.5)) -> tuple[float, float]:
    """The window centre at ``t`` along ``path`` (linear between keys, held at the ends)."""
    if not path:
        return default
    if t <= path[0].t:
        return path[0].cx, path[0].cy
    for a, b in zip(path, path[1:]):
        if a.t <= t <= b.t:
            w = (t - a.t) / (b.t - a.t) if b.t > a.t else 0.0
            return a.cx + (b.cx - a.cx) * w, a.cy + (b.cy - a.cy) * w
    return path[-1].cx, path[-1].cy


def window_box(frame_w: int, frame_h: int, out_w: int, out_h: int, centre: tuple[float, float]) -> tuple[int, int, int, int]:
    """The largest window of the output's aspect that fits the frame, centred as near ``centre``
    as the frame allows: (x0, y0, x1, y1) in source pixels."""
    if frame_w * out_h >= frame_h * out_w:
        win_h = frame_h
        win_w = min(frame_w, max(2, round(frame_h * out_w / out_h)))
    else:
        win_w = frame_w
        win_h = min(frame_h, max(2, round(frame_w * out_h / out_w)))
    x0 = round(centre[0] * frame_w - win_w / 2)
    y0 = round(centre[1] * frame_h - win_h / 2)
    x0 = min(max(x0, 0), frame_w - win_w)
    y0 = min(max(y0, 0), frame_h - win_h)
    return x0, y0, x0 + win_w, y0 + win_h


def box_inside(box: Box, window: tuple[int, int, int, int], frame_w: int, frame_h: int) -> bool:
    """Whether a normalised box lies wholly inside a pixel window."""
    x0, y0, x1, y1 = box.x * frame_w, box.y * frame_h, (box.x + box.w) * frame_w, (box.y + box.h) * frame_h
    return x0 >= window[0] - 1 and y0 >= window[1] - 1 and x1 <= window[2] + 1 and y1 <= window[3] + 1
