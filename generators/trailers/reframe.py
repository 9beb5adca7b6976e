"""Vertical (and square) reframing: where the crop window of each clip sits, frame by frame.

Per clip, from the shot's face tracks (and the saliency box when nobody is in it):

1. **Subject.** The face tracks seen during the clip; the main one is the largest on average
   (a speaker fills the frame). When two faces cannot share one window and are of similar size, the
   clip is a *split* (two windows stacked, one per face); when the second face is clearly smaller,
   the window follows the main face. No faces: the window holds the saliency box.
2. **Path.** The subject's centre sampled at 10 Hz, smoothed (a centred moving average of 0.5 s),
   then turned into a camera that moves only when the subject leaves a dead zone in the middle of
   the window, at most once every :data:`MIN_RETARGET_S` seconds, with a bounded speed and eased
   moves: no jitter, and the face stays inside the frame.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from generators.trailers.timeline import Clip, CropKey, Reframe, window_box
from workbench.analysis.types import Analysis, Box, FaceTrack

SAMPLE_HZ = 10.0
SMOOTH_S = 0.5
MIN_RETARGET_S = 1.5
DEAD_ZONE = 0.18  # of the window's width: the subject may move this far from the window's centre unfollowed
MAX_SPEED = 0.6  # window widths per second, the fastest pan
SPLIT_SIZE_RATIO = 0.55  # the smaller face at least this share of the larger's area: a two-shot


def reframe_clip(analysis: Analysis, clip: Clip, fps: Fraction, frame_size: tuple[int, int],
                 out_size: tuple[int, int]) -> Reframe:
    """The reframing of ``clip`` into ``out_size`` from a source frame of ``frame_size``."""
    fw, fh = frame_size
    ow, oh = out_size
    x0, _, x1, _ = window_box(fw, fh, ow, oh, (0.5, 0.5))
    win = (x1 - x0) / fw  # the window's width, as a share of the frame's
    duration = clip.frames / float(fps)
    t0, t1 = clip.source_in, clip.source_in + duration
    tracks = [t for t in analysis.face_tracks if t.shot == clip.shot and t.end >= t0 - 0.25 and t.start <= t1 + 0.25]
    if not tracks:
        cx, cy = _saliency_centre(analysis, clip.shot)
        return Reframe("crop", (CropKey(0.0, cx, cy),), reason="no face: the window holds the salient area")
    sized = sorted(tracks, key=lambda tr: -_mean_area(tr, t0, t1))
    main = sized[0]
    if len(sized) > 1:
        other = sized[1]
        apart = _apart(main, other, t0, t1)
        fits = apart + _mean_width(main, t0, t1) / 2 + _mean_width(other, t0, t1) / 2 <= win * 0.95
        similar = _mean_area(other, t0, t1) >= SPLIT_SIZE_RATIO * _mean_area(main, t0, t1)
        if not fits and similar and _overlap_time(main, other, t0, t1) > 0.5 * duration:
            top, bottom = sorted((main, other), key=lambda tr: _mean_cx(tr, t0, t1))
            return Reframe("split", _path(top, t0, duration, win), _path(bottom, t0, duration, win),
                           reason="two faces too far apart for one window: one above the other")
        if fits:
            return Reframe("crop", _pair_path(main, other, t0, duration, win),
                           reason="two faces: the window holds both")
    return Reframe("crop", _path(main, t0, duration, win),
                   reason=f"follows the main face ({len(tracks)} face track{'s' if len(tracks) != 1 else ''})")


def _samples(track: FaceTrack, t0: float, duration: float) -> list[tuple[float, float, float]]:
    """(t since clip start, cx, cy) at SAMPLE_HZ, the track's box held where it is not seen."""
    n = max(2, int(duration * SAMPLE_HZ) + 1)
    out, last = [], None
    for i in range(n):
        t = min(duration, i / SAMPLE_HZ)
        box = track.box_at(t0 + t)
        if box is not None:
            last = (box.cx, box.cy)
        if last is not None:
            out.append((t, *last))
    if not out:
        first = track.samples[0].box
        out = [(0.0, first.cx, first.cy)]
    # hold the first seen position back to the start
    if out[0][0] > 0:
        out.insert(0, (0.0, out[0][1], out[0][2]))
    return out


def _smooth(points: list[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
    half = max(1, int(SMOOTH_S * SAMPLE_HZ / 2))
    out = []
    for i, (t, _, _) in enumerate(points):
        window = points[max(0, i - half): i + half + 1]
        out.append((t, sum(p[1] for p in window) / len(window), sum(p[2] for p in window) / len(window)))
    return out


def _camera(points: list[tuple[float, float, float]], win: float) -> tuple[CropKey, ...]:
    """A camera over smoothed subject positions: holds while the subject is inside the dead zone,
    retargets at most once per MIN_RETARGET_S, pans at a bounded, eased speed."""
    cam_x = points[0][1]
    cam_y = points[0][2]
    keys = [CropKey(0.0, cam_x, cam_y)]
    last_retarget = -math.inf
    moving_to: tuple[float, float, float] | None = None  # (start t, from x, to x)
    for t, x, y in points[1:]:
        if moving_to is not None:
            start, frm, to = moving_to
            span = max(0.2, abs(to - frm) / (MAX_SPEED * win))
            p = min(1.0, (t - start) / span)
            eased = 0.5 - 0.5 * math.cos(math.pi * p)
            cam_x = frm + (to - frm) * eased
            keys.append(CropKey(round(t, 3), round(cam_x, 5), round(cam_y, 5)))
            if p >= 1.0:
                moving_to = None
            continue
        if abs(x - cam_x) > DEAD_ZONE * win and t - last_retarget >= MIN_RETARGET_S:
            moving_to = (t, cam_x, x)
            last_retarget = t
            keys.append(CropKey(round(t, 3), round(cam_x, 5), round(cam_y, 5)))
    if keys[-1].t < points[-1][0]:
        keys.append(CropKey(round(points[-1][0], 3), round(cam_x, 5), round(cam_y, 5)))
    return tuple(keys)


def _path(track: FaceTrack, t0: float, duration: float, win: float) -> tuple[CropKey, ...]:
    return _camera(_smooth(_samples(track, t0, duration)), win)


def _pair_path(a: FaceTrack, b: FaceTrack, t0: float, duration: float, win: float) -> tuple[CropKey, ...]:
    pa, pb = _samples(a, t0, duration), _samples(b, t0, duration)
    n = min(len(pa), len(pb))
    mid = [(pa[i][0], (pa[i][1] + pb[i][1]) / 2, (pa[i][2] + pb[i][2]) / 2) for i in range(n)]
    return _camera(_smooth(mid), win)


def _boxes(track: FaceTrack, t0: float, t1: float) -> list[Box]:
    inside = [s.box for s in track.samples if t0 - 0.25 <= s.time <= t1 + 0.25]
    return inside or [s.box for s in track.samples]


def _mean_area(track: FaceTrack, t0: float, t1: float) -> float:
    boxes = _boxes(track, t0, t1)
    return sum(b.area for b in boxes) / len(boxes)


def _mean_width(track: FaceTrack, t0: float, t1: float) -> float:
    boxes = _boxes(track, t0, t1)
    return sum(b.w for b in boxes) / len(boxes)


def _mean_cx(track: FaceTrack, t0: float, t1: float) -> float:
    boxes = _boxes(track, t0, t1)
    return sum(b.cx for b in boxes) / len(boxes)


def _apart(a: FaceTrack, b: FaceTrack, t0: float, t1: float) -> float:
    return abs(_mean_cx(a, t0, t1) - _mean_cx(b, t0, t1))


def _overlap_time(a: FaceTrack, b: FaceTrack, t0: float, t1: float) -> float:
    return max(0.0, min(a.end, b.end, t1) - max(a.start, b.start, t0))


def _saliency_centre(analysis: Analysis, shot: int) -> tuple[float, float]:
    boxes = [k.features.saliency_box for k in analysis.keyframes if k.shot == shot]
    if not boxes:
        return 0.5, 0.5
    return sum(b.cx for b in boxes) / len(boxes), sum(b.cy for b in boxes) / len(boxes)


def faces_kept(analysis: Analysis, clip: Clip, reframe: Reframe, fps: Fraction, frame_size: tuple[int, int],
               out_size: tuple[int, int]) -> tuple[int, int]:
    """(frames whose main face lies inside the window, frames with a face): the reframing's
    measure, recorded in the recipe."""
    from generators.trailers.timeline import box_inside, crop_centre

    fw, fh = frame_size
    tracks = [t for t in analysis.face_tracks if t.shot == clip.shot]
    if not tracks or reframe.mode != "crop":
        return 0, 0
    t0 = clip.source_in
    main = max(tracks, key=lambda tr: _mean_area(tr, t0, t0 + clip.frames / float(fps)))
    kept = seen = 0
    for k in range(clip.frames):
        t = k / float(fps)
        box = main.box_at(t0 + t)
        if box is None:
            continue
        seen += 1
        window = window_box(fw, fh, *out_size, crop_centre(reframe.path, t))
        kept += box_inside(box, window, fw, fh)
    return kept, seen


def reframe_all(analysis: Analysis, clips: Sequence[Clip], fps: Fraction, frame_size: tuple[int, int],
                out_size: tuple[int, int]) -> list[Clip]:
    """The clips with their reframing (unchanged when the output has the source's aspect)."""
    from dataclasses import replace

    fw, fh = frame_size
    ow, oh = out_size
    if abs(fw / fh - ow / oh) < 0.01:
        return list(clips)
    return [replace(c, reframe=reframe_clip(analysis, c, fps, frame_size, out_size)) for c in clips]
