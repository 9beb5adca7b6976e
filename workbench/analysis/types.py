"""Typed results of analysis. Boxes and points are normalised to the frame (0..1), so they
apply at any resolution the frame is later decoded at."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

TransitionKind = Literal["cut", "dissolve", "fade_out", "fade_in"]
FadeColour = Literal["black", "white"]
FrameFlag = Literal["black", "blurred", "transition"]

# 1.1: frames as displayed (EXIF orientation, display matrix, SAR), high bit depths, ICC
# 1.2: times from presentation timestamps, fades, speech, beats and energy, face tracks
ANALYZER_VERSION = "1.2.0"


@dataclass(frozen=True)
class Box:
    """An axis-aligned box, normalised to the frame: x, y is the top-left corner."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def area(self) -> float:
        return self.w * self.h


@dataclass(frozen=True)
class Face:
    box: Box
    confidence: float
    smile: float = 0.0  # 0..1, how strongly a smile was found in the mouth region
    landmarks: tuple[tuple[float, float], ...] = ()  # eyes, nose, mouth corners (normalised)


@dataclass(frozen=True)
class FrameFeatures:
    """Per-keyframe measurements. All in 0..1 unless said otherwise."""

    sharpness: float  # variance of the Laplacian on a 640-wide grey frame (unbounded, >100 is crisp)
    brightness: float  # mean luma
    contrast: float  # luma standard deviation
    colourfulness: float  # Hasler & Suesstrunk metric divided by 100 (0 grey .. ~1 vivid)
    warmth: float  # mean (R - B), -1 cool .. +1 warm
    saliency_center: tuple[float, float]  # centre of mass of the spectral-residual saliency map
    saliency_box: Box  # the box holding most of the saliency mass
    tags: tuple[str, ...] = ()  # classical scene tags (see workbench/analysis/features.py)


@dataclass(frozen=True)
class Keyframe:
    frame: int  # 0-based index in decode order (as cv2.VideoCapture counts)
    time: float  # seconds from the first video frame
    pts: int | None  # stream timestamp, for an exact seek when the full-size frame is read
    shot: int  # index of the shot it belongs to
    features: FrameFeatures
    faces: tuple[Face, ...] = ()
    motion: float = 0.0  # mean absolute frame difference around the keyframe, 0..1
    flags: tuple[FrameFlag, ...] = ()

    @property
    def face_count(self) -> int:
        return len(self.faces)

    @property
    def largest_face_area(self) -> float:
        return max((f.box.area for f in self.faces), default=0.0)

    @property
    def smile(self) -> float:
        return max((f.smile for f in self.faces), default=0.0)


@dataclass(frozen=True)
class Transition:
    """A shot boundary or a span an edit must not cut into. A fade to black is a ``fade_out``
    (picture to colour) and usually a ``fade_in`` after it (colour to picture), with the shot
    boundary between them: a boundary, never a cut."""

    kind: TransitionKind
    start_frame: int  # first frame of the new shot for a cut; first blended / fading frame otherwise
    end_frame: int  # equal to start_frame for a cut; last blended / fading frame otherwise
    score: float
    start_time: float | None = None  # presentation time of start_frame, seconds on the analysis clock
    end_time: float | None = None  # presentation time just after end_frame (exclusive)
    colour: FadeColour | None = None  # what a fade goes to or comes from


@dataclass(frozen=True)
class Shot:
    index: int
    start_frame: int
    end_frame: int  # exclusive
    start_time: float
    end_time: float
    motion: float = 0.0  # mean motion energy over the shot, 0..1
    loudness_lufs: float | None = None  # integrated loudness (BS.1770) of the shot's audio; None when silent/absent
    speech_share: float = 0.0  # share of the shot's time with speech in it, 0..1

    @property
    def frame_count(self) -> int:
        return self.end_frame - self.start_frame

    @property
    def duration(self) -> float:
        return self.end_time - self.start_time


@dataclass(frozen=True)
class Span:
    """A time span, seconds on the analysis clock (0 = the first video frame's presentation time)."""

    start: float
    end: float

    def overlaps(self, start: float, end: float) -> bool:
        return self.start < end and start < self.end

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end


@dataclass(frozen=True)
class TrackSample:
    time: float  # seconds on the analysis clock
    box: Box  # normalised to the displayed frame
    confidence: float


@dataclass(frozen=True)
class FaceTrack:
    """One face followed through a shot: its box at each sampled frame, linked across frames."""

    track: int
    shot: int
    samples: tuple[TrackSample, ...]

    @property
    def start(self) -> float:
        return self.samples[0].time

    @property
    def end(self) -> float:
        return self.samples[-1].time

    def box_at(self, t: float) -> Box | None:
        """The box at ``t`` (linear between samples; the nearest sample within half a sample
        gap outside them; None farther away)."""
        s = self.samples
        if not s:
            return None
        if t <= s[0].time or t >= s[-1].time:
            edge = s[0] if t <= s[0].time else s[-1]
            gap = (s[-1].time - s[0].time) / max(1, len(s) - 1) if len(s) > 1 else 0.5
            return edge.box if abs(t - edge.time) <= max(0.25, gap / 2) else None
        for a, b in zip(s, s[1:]):
            if a.time <= t <= b.time:
                w = (t - a.time) / (b.time - a.time) if b.time > a.time else 0.0
                return Box(*(av + (bv - av) * w for av, bv in zip((a.box.x, a.box.y, a.box.w, a.box.h),
                                                                  (b.box.x, b.box.y, b.box.w, b.box.h))))
        return None


@dataclass(frozen=True)
class AudioSignals:
    """What editing needs from the sound, on the analysis clock: where people speak, the music's
    onsets and beats, and the loudness over time."""

    speech: tuple[Span, ...] = ()
    onsets: tuple[float, ...] = ()
    beats: tuple[float, ...] = ()
    tempo: float | None = None  # beats per minute, when a beat was found
    energy_hop: float = 0.05  # seconds between two energy values
    energy_db: tuple[float, ...] = ()  # RMS level, dBFS, per hop from time 0

    def speech_at(self, t: float) -> bool:
        return any(s.contains(t) for s in self.speech)


@dataclass
class Analysis:
    source_sha256: str
    fps: float
    frame_count: int
    width: int
    height: int
    duration: float
    shots: list[Shot]
    keyframes: list[Keyframe]
    transitions: list[Transition]
    has_audio: bool
    analyzer_version: str = ANALYZER_VERSION
    params: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    video_start: float = 0.0  # the first video frame's presentation time, seconds on the container clock
    audio: AudioSignals = field(default_factory=AudioSignals)
    face_tracks: tuple[FaceTrack, ...] = ()

    @property
    def cut_frames(self) -> list[int]:
        return [t.start_frame for t in self.transitions if t.kind == "cut"]

    def shot(self, index: int) -> Shot:
        return self.shots[index]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready: tuples become lists once serialised); ``from_dict`` reads it back."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Analysis":
        """The analysis ``to_dict`` wrote (or one from before 1.2, without the editing signals)."""
        def box(d: dict) -> Box:
            return Box(**d)

        def audio(d: dict | None) -> AudioSignals:
            if not d:
                return AudioSignals()
            return AudioSignals(
                speech=tuple(Span(float(s["start"]), float(s["end"])) for s in d.get("speech", ())),
                onsets=tuple(float(t) for t in d.get("onsets", ())),
                beats=tuple(float(t) for t in d.get("beats", ())),
                tempo=d.get("tempo"),
                energy_hop=float(d.get("energy_hop", 0.05)),
                energy_db=tuple(float(v) for v in d.get("energy_db", ())),
            )

        def track(d: dict) -> FaceTrack:
            return FaceTrack(
                track=int(d["track"]), shot=int(d["shot"]),
                samples=tuple(TrackSample(time=float(s["time"]), box=box(s["box"]), confidence=float(s["confidence"]))
                              for s in d.get("samples", ())),
            )

        def face(d: dict) -> Face:
            return Face(
                box=box(d["box"]),
                confidence=d["confidence"],
                smile=d.get("smile", 0.0),
                landmarks=tuple(tuple(p) for p in d.get("landmarks", ())),
            )

        def features(d: dict) -> FrameFeatures:
            return FrameFeatures(
                **{**d, "saliency_center": tuple(d["saliency_center"]), "saliency_box": box(d["saliency_box"]), "tags": tuple(d.get("tags", ()))}
            )

        keyframes = [
            Keyframe(
                **{
                    **k,
                    "features": features(k["features"]),
                    "faces": tuple(face(f) for f in k.get("faces", ())),
                    "flags": tuple(k.get("flags", ())),
                }
            )
            for k in data["keyframes"]
        ]
        return cls(
            source_sha256=data["source_sha256"],
            fps=data["fps"],
            frame_count=data["frame_count"],
            width=data["width"],
            height=data["height"],
            duration=data["duration"],
            shots=[Shot(**s) for s in data["shots"]],
            keyframes=keyframes,
            transitions=[Transition(**t) for t in data["transitions"]],
            has_audio=data["has_audio"],
            analyzer_version=data.get("analyzer_version", ANALYZER_VERSION),
            params=data.get("params", {}),
            timings=data.get("timings", {}),
            video_start=float(data.get("video_start") or 0.0),
            audio=audio(data.get("audio")),
            face_tracks=tuple(track(t) for t in data.get("face_tracks") or ()),
        )
