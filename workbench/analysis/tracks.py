"""Face tracks: each face followed through its shot, for reframing (a 9:16 crop that keeps a
face in frame).

Detections
----------
Faces are found on every keyframe candidate the decoding pass keeps for a shot (two frames a
second at 640 px; a shot longer than ~24 s keeps at most 48, the sharper of neighbours, so its
samples thin out), measured on a 320-px copy (``TRACK_WIDTH``): a quarter of the pixels, so
MTCNN costs ~9.5 ms of CPU a frame instead of ~26 at 640 on the 2-core bench machine, and no
smile score is taken. The smallest face found there is 20 px at 320 (6 % of the frame's
width): smaller faces do not steer a crop. The shot's keyframes bring their own 640-px faces.

Only shots whose keyframes show a face are searched (``pipeline._track_faces``, on the
analysis' background thread right after the keyframes are measured): a shot where none of 1-3
keyframes has a face gets no track. Samples on flash, dissolve and fading frames are left out
(a blend shows two pictures).

Linking
-------
Per shot, in time order. Each open track predicts its box at the next sample (its last box,
moved by its last velocity), and tracks are matched to that sample's faces by the Hungarian
method (``scipy.optimize.linear_sum_assignment``) on

    cost = (1 - IoU) + distance between centres in box sizes (dx / mean width, dy / mean height)

over pairs that pass the gate: centres at most ``MAX_JUMP`` (1.5) box sizes apart, times one
more for each sample the track has missed, and widths within ``MAX_SCALE`` (2x) of each other.
A face left unmatched starts a new track; a track unmatched for more than ``MAX_MISSES`` (2)
samples in a row (a second at two samples a second) ends. Tracks of one sample are dropped
(a lone detection is more often a false positive than a face worth following), unless the
shot has only one sample.

``FaceTrack.box_at(t)`` (``types.py``) interpolates between samples for a crop path.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass

import cv2
import numpy as np
from scipy.optimize import linear_sum_assignment

from workbench.analysis.types import Box, FaceTrack, Shot, TrackSample

TRACK_WIDTH = 320
MAX_JUMP = 1.5
MAX_SCALE = 2.0
MAX_MISSES = 2
MIN_SAMPLES = 2
_BLOCKED = 1e6


@dataclass(frozen=True)
class Detection:
    """The faces found on one sampled frame."""

    frame: int
    time: float  # seconds on the analysis clock
    faces: tuple[tuple[Box, float], ...]  # (box, confidence)


def detect(frames: Sequence[tuple[int, float, np.ndarray]]) -> list[Detection]:
    """Faces for tracking on (frame index, time, BGR candidate) triples, at ``TRACK_WIDTH``."""
    from workbench.analysis.faces import get_face_detector

    if not frames:
        return []
    small = []
    for _, _, bgr in frames:
        h, w = bgr.shape[:2]
        if w > TRACK_WIDTH:
            bgr = cv2.resize(bgr, (TRACK_WIDTH, max(2, round(h * TRACK_WIDTH / w))), interpolation=cv2.INTER_AREA)
        small.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    found = get_face_detector().detect_many(small, smiles=False)
    return [
        Detection(frame=i, time=t, faces=tuple((f.box, f.confidence) for f in faces))
        for (i, t, _), faces in zip(frames, found)
    ]


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


@dataclass
class _Open:
    samples: list[TrackSample]
    misses: int = 0

    def predict(self, t: float) -> Box:
        last = self.samples[-1]
        if len(self.samples) < 2:
            return last.box
        prev = self.samples[-2]
        dt = last.time - prev.time
        if dt <= 0:
            return last.box
        k = (t - last.time) / dt
        b, p = last.box, prev.box
        return Box(b.x + (b.x - p.x) * k, b.y + (b.y - p.y) * k, b.w, b.h)


def _cost(track: _Open, box: Box, t: float) -> float:
    pred = track.predict(t)
    last = track.samples[-1].box
    if max(last.w, box.w) > MAX_SCALE * max(1e-6, min(last.w, box.w)):
        return _BLOCKED
    mw, mh = (pred.w + box.w) / 2, (pred.h + box.h) / 2
    jump = float(np.hypot((pred.cx - box.cx) / max(mw, 1e-6), (pred.cy - box.cy) / max(mh, 1e-6)))
    if jump > MAX_JUMP * (1 + track.misses):
        return _BLOCKED
    return (1.0 - _iou(pred, box)) + jump


def link_tracks(detections: Sequence[Detection], shot: int, first_id: int = 0) -> list[FaceTrack]:
    """Face tracks of one shot from its sampled detections (in any order)."""
    detections = sorted(detections, key=lambda d: d.time)
    open_: list[_Open] = []
    done: list[_Open] = []
    for d in detections:
        faces = list(d.faces)
        matched_tracks: set[int] = set()
        matched_faces: set[int] = set()
        if open_ and faces:
            cost = np.array([[_cost(tr, box, d.time) for box, _ in faces] for tr in open_])
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols):
                if cost[r, c] >= _BLOCKED:
                    continue
                box, conf = faces[c]
                open_[r].samples.append(TrackSample(time=round(d.time, 4), box=box, confidence=conf))
                open_[r].misses = 0
                matched_tracks.add(r)
                matched_faces.add(c)
        still: list[_Open] = []
        for r, tr in enumerate(open_):
            if r not in matched_tracks:
                tr.misses += 1
                if tr.misses > MAX_MISSES:
                    done.append(tr)
                    continue
            still.append(tr)
        for c, (box, conf) in enumerate(faces):
            if c not in matched_faces:
                still.append(_Open([TrackSample(time=round(d.time, 4), box=box, confidence=conf)]))
        open_ = still
    done.extend(open_)
    least = MIN_SAMPLES if len(detections) >= MIN_SAMPLES else 1
    kept = sorted((tr for tr in done if len(tr.samples) >= least), key=lambda tr: (tr.samples[0].time, tr.samples[0].box.x))
    return [FaceTrack(track=first_id + i, shot=shot, samples=tuple(tr.samples)) for i, tr in enumerate(kept)]


def build_tracks(detections: Iterable[Detection], shots: Sequence[Shot], excluded: Set[int] = frozenset()) -> tuple[FaceTrack, ...]:
    """Face tracks of every shot: detections grouped by the shot holding their frame, linked
    within it; samples on ``excluded`` frames (transitions) left out. Ids count from 0."""
    by_shot: dict[int, list[Detection]] = {}
    starts = [s.start_frame for s in shots]
    for d in detections:
        if d.frame in excluded or not shots:
            continue
        i = int(np.searchsorted(starts, d.frame, side="right")) - 1
        if 0 <= i < len(shots) and d.frame < shots[i].end_frame:
            by_shot.setdefault(i, []).append(d)
    tracks: list[FaceTrack] = []
    for i in sorted(by_shot):
        tracks.extend(link_tracks(by_shot[i], shots[i].index, first_id=len(tracks)))
    return tuple(tracks)
