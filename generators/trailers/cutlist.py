"""The editor's cut list: the trailer's :class:`Timeline` as OpenTimelineIO (``.otio``, which
DaVinci Resolve 18.5+ and other NLEs open) and as a CMX 3600 EDL (through the
otio-cmx3600-adapter).

What the OTIO holds:

- a video track ``V1``: each Clip an ``otio.schema.Clip`` whose media reference is the title
  (an ``ExternalReference`` with the ``file://`` URL of the source and its available range
  [0, source_duration) at the source's frame rate) and whose ``source_range`` starts at
  ``source_in`` (analysis clock, in frames at the timeline's rate; the exact value, which may
  fall between frames) and lasts the clip's frames; cards are clips with a
  ``GeneratorReference`` (``generator_kind`` "SolidColor", the card's kind and text in its
  parameters) so the cut keeps its length and the card text travels with it;
- an audio track ``A1`` with the same source clips (the dialogue; gaps under the cards), and,
  when there is a music bed, an audio track ``Music`` with one clip of it;
- metadata ``"creative_workbench"`` on every clip (shot, why, score, segment, exact seconds)
  and on the timeline (size, rate, video_start: the analysis clock is the container clock
  minus ``video_start``, loudness targets).

The EDL is one video track, events in record order: clips on the title's reel (a safe name of
at most 8 characters from ``[A-Z0-9_]``), cards as black (``BL``) events. Timecodes are whole
frames (the source in is rounded to the nearest frame; the adapter itself would truncate);
29.97/59.94 use drop-frame timecode as the adapter infers. Names and the title go through
:func:`edl_text` (ASCII, one line), so quotes, newlines, ``*`` or unicode in a title cannot
break a line of the EDL.
"""

from __future__ import annotations

import json
import math
import os
import re
import unicodedata
import uuid
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio
from opentimelineio.opentime import RationalTime, TimeRange

from generators.trailers.timeline import Card, Clip, Timeline
from workbench.errors import InvalidInput

METADATA_KEY = "creative_workbench"
RESERVED_REELS = {"BL", "BLK", "BLACK", "BARS", "AX", "AUX"}
CARD_REEL = "BL"
_FRAME_EPS = 1e-6  # a source_in within this many frames of a whole frame is that frame


# -- names --------------------------------------------------------------------------------------


def edl_text(text: str, limit: int = 70) -> str:
    """One printable ASCII line: accents folded (é -> e), other non-ASCII characters and every
    control character (newlines included) replaced, runs of spaces collapsed."""
    folded = unicodedata.normalize("NFKD", str(text))
    out = []
    for ch in folded:
        if unicodedata.combining(ch):
            continue
        if ch.isspace() or unicodedata.category(ch).startswith("C"):
            out.append(" ")
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.append("?")
    line = re.sub(r" +", " ", "".join(out)).strip()
    return line[:limit].rstrip()


def reel_name(source_name: str) -> str:
    """A CMX 3600 reel name: at most 8 characters of ``[A-Z0-9_]``, never a reserved source
    identifier (BL, BLACK, BARS, AX...); "SOURCE" when nothing usable is left."""
    folded = edl_text(source_name, limit=200).upper()
    reel = re.sub(r"[^A-Z0-9]+", "_", folded).strip("_")
    reel = reel[:8].rstrip("_") or "SOURCE"
    if reel in RESERVED_REELS:
        reel = (reel + "_SRC")[:8]
    return reel


# -- building -----------------------------------------------------------------------------------


def _rate(fps: Fraction | float) -> float:
    return float(Fraction(fps))


def _frames_at(seconds: float, fps: Fraction, *, snap: bool) -> float:
    value = seconds * float(fps)
    nearest = round(value)
    if snap or abs(value - nearest) < _FRAME_EPS:
        return float(nearest)
    return value


def _jsonable(value: Any) -> Any:
    """What OTIO metadata can hold (JSON types, strings without NUL: OTIO's C++ strings end
    at one): anything else becomes its string."""
    def clean(v: Any) -> Any:
        if isinstance(v, str):
            return _otio_text(v)
        if isinstance(v, dict):
            return {_otio_text(str(k)): clean(x) for k, x in v.items()}
        if isinstance(v, list):
            return [clean(x) for x in v]
        return v

    return clean(json.loads(json.dumps(value, default=str)))


def _otio_text(text: str) -> str:
    return text.replace("\x00", "")


def _check(timeline: Timeline, source_name: str, source_path: Path | None, source_rate: float | None,
           source_duration: float | None) -> None:
    if not isinstance(source_name, str):
        raise InvalidInput(f"source_name must be a string; got {type(source_name).__name__}")
    if Fraction(timeline.fps) <= 0:
        raise InvalidInput(f"timeline fps must be positive; got {timeline.fps}")
    if not timeline.items:
        raise InvalidInput("the timeline has no items")
    if source_rate is not None and not (isinstance(source_rate, (int, float, Fraction)) and math.isfinite(source_rate) and source_rate > 0):
        raise InvalidInput(f"source_rate must be a positive number of frames a second; got {source_rate}")
    if source_duration is not None and not (math.isfinite(source_duration) and source_duration > 0):
        raise InvalidInput(f"source_duration must be a positive number of seconds; got {source_duration}")
    fps = float(Fraction(timeline.fps))
    for i, item in enumerate(timeline.items):
        if not isinstance(item, (Clip, Card)) or not isinstance(item.frames, int) or item.frames < 1:
            raise InvalidInput(f"timeline item {i} must be a Clip or Card of at least one frame")
        if isinstance(item, Clip):
            if not (math.isfinite(item.source_in) and item.source_in >= 0):
                raise InvalidInput(f"clip {i}: source_in must be >= 0 seconds; got {item.source_in}")
            end = item.source_in + item.frames / fps
            if source_duration is not None and end > source_duration + 1.0 / fps + 1e-6:
                raise InvalidInput(
                    f"clip {i} ends at {end:.3f} s, after the end of {source_path.name if source_path else 'the source'} ({source_duration:.3f} s)"
                )


def _card_clip(card: Card, fps: Fraction, *, edl: bool) -> otio.schema.Clip:
    rate = _rate(fps)
    text = {k: getattr(card, k) for k in ("title", "tagline", "call_to_action", "date") if getattr(card, k)}
    label = "Title card" if card.kind == "title" else "End slate"
    name = f"{label}: {card.title}" if card.title else label
    ref = otio.schema.GeneratorReference(
        name=label,
        generator_kind="SolidColor",
        parameters=_jsonable({"card": card.kind, "kind": "title card" if card.kind == "title" else "end slate", **text}),
        available_range=TimeRange(RationalTime(0, rate), RationalTime(card.frames, rate)),
    )
    return otio.schema.Clip(
        name=edl_text(name) if edl else _otio_text(name),
        media_reference=ref,
        source_range=TimeRange(RationalTime(0, rate), RationalTime(card.frames, rate)),
        metadata={"cmx_3600": {"reel": CARD_REEL}, METADATA_KEY: _jsonable({"card": card.kind, **text})},
    )


def _source_reference(source_name: str, source_path: Path | None, source_rate: float | None,
                      source_duration: float | None, fps: Fraction) -> otio.schema.ExternalReference:
    rate = float(source_rate) if source_rate else _rate(fps)
    available = None
    if source_duration is not None:
        available = TimeRange(RationalTime(0, rate), RationalTime(source_duration * rate, rate))
    url = Path(source_path).resolve().as_uri() if source_path is not None else ""
    return otio.schema.ExternalReference(
        target_url=url, available_range=available, metadata={METADATA_KEY: _jsonable({"title": source_name})}
    )


def build_timeline(
    timeline: Timeline,
    *,
    source_name: str,
    source_path: Path | None,
    source_rate: float | None,
    source_duration: float | None,
    edl: bool = False,
) -> otio.schema.Timeline:
    """The OTIO timeline of a trailer (see the module docstring). ``edl=True`` builds the
    variant the EDL is written from: whole-frame source ins, ASCII one-line names, the video
    track only."""
    _check(timeline, source_name, source_path, source_rate, source_duration)
    fps = Fraction(timeline.fps)
    rate = _rate(fps)
    reel = reel_name(source_name)
    segment = timeline.extra.get("segment") if isinstance(timeline.extra, dict) else None
    title = f"{source_name} trailer" if source_name else "trailer"
    result = otio.schema.Timeline(name=edl_text(title) if edl else _otio_text(title))
    result.metadata[METADATA_KEY] = _jsonable({
        "width": timeline.width,
        "height": timeline.height,
        "fps": f"{fps.numerator}/{fps.denominator}",
        "frames": timeline.frames,
        "video_start_s": timeline.video_start,
        "loudness_lufs": timeline.loudness_lufs,
        "true_peak_db": timeline.true_peak_db,
        "segment": segment,
        "source": source_name,
        "extra": timeline.extra,
    })
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    dialogue = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    record = 0
    for i, item in enumerate(timeline.items):
        if isinstance(item, Card):
            video.append(_card_clip(item, fps, edl=edl))
            dialogue.append(otio.schema.Gap(source_range=TimeRange(RationalTime(0, rate), RationalTime(item.frames, rate))))
        else:
            start = _frames_at(item.source_in, fps, snap=edl)
            name = f"{source_name} shot {item.shot}" if source_name else f"shot {item.shot}"
            meta = {
                "cmx_3600": {"reel": reel},
                METADATA_KEY: _jsonable({
                    "item": i,
                    "shot": item.shot,
                    "why": item.why,
                    "score": item.score,
                    "segment": segment,
                    "source_in_s": item.source_in,
                    "source_out_s": item.source_out(fps),
                    "record_in_frame": record,
                    "reframe": None if item.reframe is None else {"mode": item.reframe.mode, "reason": item.reframe.reason},
                }),
            }
            for track in (video, dialogue):
                track.append(otio.schema.Clip(
                    name=edl_text(name) if edl else _otio_text(name),
                    media_reference=_source_reference(source_name, source_path, source_rate, source_duration, fps),
                    source_range=TimeRange(RationalTime(start, rate), RationalTime(item.frames, rate)),
                    metadata=meta,
                ))
        record += item.frames
    result.tracks.append(video)
    if edl:
        return result
    result.tracks.append(dialogue)
    if timeline.music is not None:
        music = timeline.music
        track = otio.schema.Track(name="Music", kind=otio.schema.TrackKind.Audio)
        track.append(otio.schema.Clip(
            name=_otio_text(Path(music.path).name),
            media_reference=otio.schema.ExternalReference(target_url=Path(music.path).resolve().as_uri()),
            source_range=TimeRange(RationalTime(_frames_at(music.start, fps, snap=False), rate), RationalTime(timeline.frames, rate)),
            metadata={METADATA_KEY: _jsonable({
                "sha256": music.sha256, "start_s": music.start, "gain_db": music.gain_db, "duck_db": music.duck_db,
            })},
        ))
        result.tracks.append(track)
    return result


# -- writing and reading ------------------------------------------------------------------------


def _write_atomic(otio_timeline: otio.schema.Timeline, dest: Path, adapter: str) -> None:
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        otio.adapters.write_to_file(otio_timeline, str(tmp), adapter_name=adapter)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_otio(
    timeline: Timeline,
    dest: Path,
    *,
    source_name: str,
    source_path: Path,
    source_rate: float,
    source_duration: float,
) -> None:
    """Write the trailer as an OpenTimelineIO file (``otio_json``), atomically."""
    built = build_timeline(
        timeline, source_name=source_name, source_path=source_path, source_rate=source_rate, source_duration=source_duration
    )
    _write_atomic(built, Path(dest), "otio_json")


def write_edl(
    timeline: Timeline,
    dest: Path,
    *,
    source_name: str,
    source_path: Path | None = None,
    source_rate: float | None = None,
    source_duration: float | None = None,
) -> None:
    """Write the trailer's video cut as a CMX 3600 EDL (otio-cmx3600-adapter), atomically."""
    built = build_timeline(
        timeline, source_name=source_name, source_path=source_path, source_rate=source_rate,
        source_duration=source_duration, edl=True,
    )
    _write_atomic(built, Path(dest), "cmx_3600")


def read_back(path: Path, *, rate: Fraction | float | None = None) -> otio.schema.Timeline:
    """Read a written cut list with OTIO's adapters. An EDL carries no frame rate: give the
    timeline's ``rate`` for one (an ``.otio`` file needs none)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"{path.name}: no such cut list")
    if path.suffix.lower() == ".edl":
        if rate is None:
            raise InvalidInput(f"{path.name}: an EDL has no frame rate; pass rate=")
        return otio.adapters.read_from_file(str(path), adapter_name="cmx_3600", rate=float(Fraction(rate)))
    return otio.adapters.read_from_file(str(path), adapter_name="otio_json")
