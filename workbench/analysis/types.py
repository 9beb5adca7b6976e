"""Typed results of analysis. Boxes and points are normalised to the frame (0..1), so they
apply at any resolution the frame is later decoded at."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

TransitionKind = Literal["cut", "dissolve"]
FrameFlag = Literal["black", "blurred", "transition"]

ANALYZER_VERSION = "1.1.0"  # 1.1: frames as displayed (EXIF orientation, display matrix, SAR), high bit depths, ICC


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
    kind: TransitionKind
    start_frame: int  # first frame of the new shot for a cut; first blended frame for a dissolve
    end_frame: int  # equal to start_frame for a cut; last blended frame for a dissolve
    score: float


@dataclass(frozen=True)
class Shot:
    index: int
    start_frame: int
    end_frame: int  # exclusive
    start_time: float
    end_time: float
    motion: float = 0.0  # mean motion energy over the shot, 0..1
    loudness_lufs: float | None = None  # integrated loudness (BS.1770) of the shot's audio; None when silent/absent

    @property
    def frame_count(self) -> int:
        return self.end_frame - self.start_frame


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

    @property
    def cut_frames(self) -> list[int]:
        return [t.start_frame for t in self.transitions if t.kind == "cut"]

    def shot(self, index: int) -> Shot:
        return self.shots[index]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Analysis":
        def box(d: dict) -> Box:
            return Box(**d)

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
        )
