"""Faces and smiles in a frame.

Faces
-----
The default backend is MTCNN (`workbench/analysis/mtcnn.py`): a three-network cascade with
trained weights shipped by the `facenet-pytorch` wheel (only its weight files are read; its
code is never imported). A face's `confidence` is ONet's face probability averaged with the
probability of the same box mirrored; faces under `min_confidence` (0.9), and faces whose box
is under 0.75 x `min_face_px` on its longer side, are dropped. Boxes are
clipped to the frame and, like the 5 landmarks (left eye, right eye, nose, left and right
mouth corner, as seen in the image), normalised to 0..1. Faces come largest first.

When the weights are not installed, the detector falls back to OpenCV's frontal-face Haar
cascade and says so in `FaceDetector.backend` (and a warning in the log). That backend finds
fewer faces (frontal only), gives no landmarks, and its `confidence` is the detection's
neighbour votes / 20, capped at 1: a strength, not a probability; `min_confidence` does not
apply to it (a detection needs `HAAR_MIN_NEIGHBOURS` votes instead).

Smile score (0..1): an honest heuristic, not an expression model
---------------------------------------------------------------------
1. Haar votes: the lower half of the face box, in grey, resized to 64 px wide and histogram
   equalised, goes through OpenCV's `haarcascade_smile.xml` (scale step 1.1; about 1 ms a
   face, where 96 px and step 1.05 cost 6 ms for the same ranking). `votes` is the neighbour
   count of the strongest grouped detection (groups need more than `SMILE_MIN_NEIGHBOURS` raw
   hits). On the test media a broad smile with teeth gave 85-100 votes; a closed-mouth smirk or
   an open, singing mouth 0-20; neutral faces 0. `haar = 1 - exp(-votes / 40)`.
2. Mouth geometry (MTCNN only): `ratio = mouth-corner distance / eye distance`. Neutral faces
   measured 0.7-0.85 on the test media, broad smiles 1.0-1.1. `geometry = (ratio - 0.8) / 0.2`
   clipped to 0..1. The ratio hardly changes with head turn (both distances shrink together).
3. `smile = sqrt(haar * geometry)` when landmarks exist (both cues must agree: an open mouth
   while speaking or singing trips the Haar cascade but is not wider than the eyes), else `haar`.

Limits: the smile cascade wants a frontal, lit, unoccluded mouth at least ~40 px wide in the
frame; small, dark, profile or occluded faces (a microphone, a hand) score near 0 even when
laughing. The geometry thresholds come from a handful of faces, and mouth width varies between
people. Read the score as "a clear, broad smile was seen", and its absence as "not known".
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np
import torch

from workbench.analysis import mtcnn
from workbench.analysis.types import Box, Face
from workbench.errors import AnalysisError, InvalidInput

log = logging.getLogger(__name__)

Backend = Literal["mtcnn", "haar"]

MIN_CONFIDENCE = 0.9
# The pyramid only looks for faces >= min_face_px, but RNet/ONet may shrink a large proposal
# onto a smaller face (PNet fires on a 90 px face even when told 200). Faces whose box is under
# this share of min_face_px are dropped; the slack allows for MTCNN's boxes being tight.
MIN_FACE_SLACK = 0.75

HAAR_SCALE_FACTOR = 1.1
HAAR_MIN_NEIGHBOURS = 5
HAAR_FULL_VOTES = 20  # Haar backend: votes that count as confidence 1.0

SMILE_CROP_WIDTH = 64
SMILE_SCALE_FACTOR = 1.1
SMILE_MIN_NEIGHBOURS = 3
SMILE_VOTES_SCALE = 40.0  # haar = 1 - exp(-votes / SMILE_VOTES_SCALE)
MOUTH_RATIO_NEUTRAL = 0.80  # mouth width / eye distance at or under which geometry says 0
MOUTH_RATIO_BROAD = 1.00  # ... and at or over which it says 1


def _cascade(name: str) -> cv2.CascadeClassifier:
    path = cv2.data.haarcascades + name
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise AnalysisError(f"OpenCV Haar cascade {path} is missing: install opencv-contrib-python-headless 4.x (5.0 ships none)")
    return cascade


class FaceDetector:
    """Finds faces (boxes, confidence, landmarks) and scores smiles; loads its models once.

    One instance may be shared by threads: `detect` keeps no state between calls.
    """

    def __init__(
        self,
        min_face_px: int = 20,
        thresholds: Sequence[float] = (0.6, 0.7, 0.7),
        device: str = "cpu",
        *,
        min_confidence: float = MIN_CONFIDENCE,
        backend: Backend | None = None,
    ) -> None:
        # 1. check inputs
        if not isinstance(min_face_px, int) or min_face_px < 12:
            raise InvalidInput(f"min_face_px must be an int >= 12 (MTCNN's smallest window), got {min_face_px!r}")
        thresholds = tuple(float(t) for t in thresholds)
        if len(thresholds) != 3 or not all(0.0 < t < 1.0 for t in thresholds):
            raise InvalidInput(f"thresholds must be 3 numbers in (0, 1) for PNet, RNet, ONet, got {thresholds!r}")
        if not 0.0 <= min_confidence <= 1.0:
            raise InvalidInput(f"min_confidence must be in 0..1, got {min_confidence!r}")
        if backend not in (None, "mtcnn", "haar"):
            raise InvalidInput(f"backend must be 'mtcnn', 'haar' or None (choose), got {backend!r}")
        try:
            torch_device = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise InvalidInput(f"device {device!r} is not a torch device name such as 'cpu' or 'cuda:0'") from exc
        if torch_device.type == "cuda" and not torch.cuda.is_available():
            raise InvalidInput(f"device {device!r} asked for, but this torch build sees no CUDA GPU")

        self.min_face_px = min_face_px
        self.thresholds = thresholds
        self.device = torch_device
        self.min_confidence = min_confidence

        # 2. pick the backend and load its models
        started = time.perf_counter()
        weights_dir = mtcnn.find_weights_dir()
        if backend is None:
            backend = "mtcnn" if weights_dir is not None else "haar"
            if backend == "haar":
                log.warning("event=face_backend_fallback backend=haar reason=facenet_pytorch_weights_not_installed")
        if backend == "mtcnn" and weights_dir is None:
            raise AnalysisError("MTCNN weights not found: pip install --no-deps facenet-pytorch==2.6.0 (or use backend='haar')")
        self.backend: Backend = backend
        self._mtcnn = None
        self._frontal = None
        if backend == "mtcnn":
            nets = mtcnn.load_networks(weights_dir, torch_device)
            self._mtcnn = mtcnn.MTCNN(nets, min_face_px, thresholds, torch_device)
        else:
            self._frontal = _cascade("haarcascade_frontalface_default.xml")
        self._smile = _cascade("haarcascade_smile.xml")
        log.info("event=face_detector_loaded backend=%s device=%s load_ms=%.0f", backend, torch_device, (time.perf_counter() - started) * 1000)

    def detect(self, rgb: np.ndarray) -> tuple[Face, ...]:
        """Faces in one uint8 HxWx3 RGB frame of any size, largest first."""
        return self.detect_many([rgb])[0]

    def detect_many(self, frames: Sequence[np.ndarray], *, smiles: bool = True) -> list[tuple[Face, ...]]:
        """Faces per frame; with MTCNN, frames of one size share each network pass.
        ``smiles=False`` skips the smile score (0.0), for callers that want boxes only."""
        # 1. check inputs
        frames = [_check_frame(frame, i) for i, frame in enumerate(frames)]
        if not frames:
            return []
        # 2. find faces, in pixels
        if self._mtcnn is not None:
            raw = self._mtcnn.detect(frames)
            smallest = MIN_FACE_SLACK * self.min_face_px
            found = [
                [
                    (box, float(score), points)
                    for box, score, points in zip(r.boxes, r.scores, r.landmarks)
                    if score >= self.min_confidence and max(box[2] - box[0], box[3] - box[1]) >= smallest
                ]
                for r in raw
            ]
        else:
            found = [self._detect_haar(frame) for frame in frames]
        # 3. clip, score smiles, normalise
        return [self._to_faces(frame, faces, smiles=smiles) for frame, faces in zip(frames, found)]

    def _detect_haar(self, rgb: np.ndarray) -> list[tuple[np.ndarray, float, None]]:
        grey = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        rects, votes = self._frontal.detectMultiScale2(
            grey, scaleFactor=HAAR_SCALE_FACTOR, minNeighbors=HAAR_MIN_NEIGHBOURS, minSize=(self.min_face_px, self.min_face_px)
        )
        return [
            (np.array([x, y, x + w, y + h], dtype=np.float64), min(1.0, int(n) / HAAR_FULL_VOTES), None)
            for (x, y, w, h), n in zip(rects, np.ravel(votes))
        ]

    def _to_faces(self, rgb: np.ndarray, found: list[tuple[np.ndarray, float, np.ndarray | None]], *,
                  smiles: bool = True) -> tuple[Face, ...]:
        if not found:
            return ()
        h, w = rgb.shape[:2]
        grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if smiles else None
        faces = []
        for box, confidence, points in found:
            x1, x2 = np.clip(box[[0, 2]], 0, w)
            y1, y2 = np.clip(box[[1, 3]], 0, h)
            if x2 - x1 < 1 or y2 - y1 < 1:
                continue
            smile = self.smile_score(grey, (x1, y1, x2, y2), points) if smiles else 0.0
            landmarks = () if points is None else tuple((_unit(px / w), _unit(py / h)) for px, py in points)
            faces.append(
                Face(
                    box=Box(x=_unit(x1 / w), y=_unit(y1 / h), w=_unit((x2 - x1) / w), h=_unit((y2 - y1) / h)),
                    confidence=round(confidence, 4),
                    smile=round(smile, 3),
                    landmarks=landmarks,
                )
            )
        faces.sort(key=lambda f: f.box.area, reverse=True)
        return tuple(faces)

    def smile_score(self, grey: np.ndarray, box: tuple[float, float, float, float], landmarks: np.ndarray | None = None) -> float:
        """0..1 smile score of one face (see the module docstring): grey frame, box in pixels
        (x1, y1, x2, y2, inside the frame), landmarks in pixels as MTCNN orders them."""
        haar = 1.0 - math.exp(-self.smile_votes(grey, box) / SMILE_VOTES_SCALE)
        if landmarks is None:
            return haar
        return math.sqrt(haar * mouth_geometry(landmarks))

    def smile_votes(self, grey: np.ndarray, box: tuple[float, float, float, float]) -> int:
        """Neighbour votes of the strongest smile-cascade detection in the lower half of the box."""
        x1, y1, x2, y2 = box
        top = int(round((y1 + y2) / 2))
        mouth = grey[top : int(round(y2)), int(round(x1)) : int(round(x2))]
        if mouth.shape[0] < 4 or mouth.shape[1] < 4:
            return 0
        height = max(1, round(SMILE_CROP_WIDTH * mouth.shape[0] / mouth.shape[1]))
        interp = cv2.INTER_AREA if mouth.shape[1] > SMILE_CROP_WIDTH else cv2.INTER_LINEAR
        mouth = cv2.equalizeHist(cv2.resize(mouth, (SMILE_CROP_WIDTH, height), interpolation=interp))
        _, votes = self._smile.detectMultiScale2(mouth, scaleFactor=SMILE_SCALE_FACTOR, minNeighbors=SMILE_MIN_NEIGHBOURS)
        return int(np.max(votes)) if len(votes) else 0


def mouth_geometry(landmarks: np.ndarray) -> float:
    """0..1 from mouth width relative to eye distance (landmarks as MTCNN orders them)."""
    points = np.asarray(landmarks, dtype=np.float64)
    eyes = float(np.linalg.norm(points[1] - points[0]))
    if eyes < 1e-6:
        return 0.0
    ratio = float(np.linalg.norm(points[4] - points[3])) / eyes
    return float(np.clip((ratio - MOUTH_RATIO_NEUTRAL) / (MOUTH_RATIO_BROAD - MOUTH_RATIO_NEUTRAL), 0.0, 1.0))


def _unit(value: float) -> float:
    return round(min(1.0, max(0.0, float(value))), 4)


def _check_frame(frame: object, index: int) -> np.ndarray:
    if not isinstance(frame, np.ndarray):
        raise InvalidInput(f"frame {index}: expected a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise InvalidInput(f"frame {index}: expected uint8 HxWx3 RGB, got {frame.dtype} with shape {frame.shape}")
    if frame.shape[0] < 1 or frame.shape[1] < 1:
        raise InvalidInput(f"frame {index}: empty frame of shape {frame.shape}")
    return np.ascontiguousarray(frame)


_detector: FaceDetector | None = None
_detector_lock = threading.Lock()


def get_face_detector() -> FaceDetector:
    """The process-wide detector with default settings, loaded on first use."""
    global _detector
    if _detector is None:
        with _detector_lock:
            if _detector is None:
                _detector = FaceDetector()
    return _detector
