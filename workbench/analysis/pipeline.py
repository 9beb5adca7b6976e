"""Analyse a title in one decoding pass.

1. decode every frame once (tiny signature for shots and motion; keyframe-size copies of a few
   sampled frames a second);
2. detect shot boundaries as frames stream by;
3. when a shot closes, choose its keyframes and measure them (features, faces, smiles) on a
   background thread, overlapping the decoder;
4. audio loudness per shot from one pass over the audio, also on a background thread;
5. motion energy and flags, then the typed :class:`Analysis`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from workbench.analysis import audio as audio_mod
from workbench.analysis.decode import decode_video
from workbench.analysis.features import frame_features, frame_flags
from workbench.analysis.keyframes import Candidate, CandidatePool, choose_keyframes, make_candidate
from workbench.analysis.shots import ShotDetector, ShotDetectorConfig
from workbench.analysis.types import ANALYZER_VERSION, Analysis, Keyframe, Shot
from workbench.errors import AnalysisError
from workbench.media.source import load_still
from workbench.media.probe import MediaInfo
from workbench.settings import Settings

Progress = Callable[[int, int | None], None]  # (frames done, frames expected)


@dataclass(frozen=True)
class AnalysisParams:
    """Every knob that changes the result: part of the cache key."""

    sig_width: int = 96
    keyframe_width: int = 640
    cut_threshold: float = 27.0
    min_shot_frames: int = 15
    keyframes_per_shot: int = 3
    candidates_per_second: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings) -> "AnalysisParams":
        return cls(
            keyframe_width=settings.keyframe_width,
            cut_threshold=settings.cut_threshold,
            min_shot_frames=settings.min_shot_frames,
            keyframes_per_shot=settings.keyframes_per_shot,
        )

    def cache_key(self) -> str:
        blob = json.dumps({"v": ANALYZER_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


@dataclass
class _Measured:
    candidate: Candidate
    shot: int
    features: object
    faces: tuple


def _measure(candidates: list[Candidate], shot: int) -> list[_Measured]:
    from workbench.analysis.faces import get_face_detector

    detector = get_face_detector()
    rgbs = [cv2.cvtColor(c.bgr, cv2.COLOR_BGR2RGB) for c in candidates]
    faces_per = detector.detect_many(rgbs)
    return [
        _Measured(candidate=c, shot=shot, features=frame_features(c.bgr, faces), faces=faces)
        for c, faces in zip(candidates, faces_per)
    ]


def analyze_video(
    path: Path,
    info: MediaInfo,
    source_sha256: str,
    params: AnalysisParams = AnalysisParams(),
    progress: Progress | None = None,
) -> Analysis:
    t_start = time.perf_counter()
    fps = info.fps or 25.0
    detector = ShotDetector(fps, ShotDetectorConfig(threshold=params.cut_threshold, min_shot_frames=params.min_shot_frames))
    pool = CandidatePool()
    sample_every = max(1, round(fps / params.candidates_per_second))
    executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="analysis")
    audio_future: Future | None = None
    if info.has_audio:
        audio_future = executor.submit(audio_mod.measure_loudness, path)
    measured: list[Future] = []
    motion: list[float] = []
    shot_starts = [0]
    prev_grey: np.ndarray | None = None
    frames = 0
    last_time = 0.0
    stream_start = 0.0

    def close_shot(start: int, end: int) -> None:
        taken = pool.take_before(end)
        chosen = choose_keyframes(taken, start, end, fps, params.keyframes_per_shot, detector.transition_frames)
        if chosen:
            measured.append(executor.submit(_measure, chosen, len(shot_starts) - 1))

    try:
        for frame in decode_video(path, sig_width=params.sig_width):
            grey = cv2.cvtColor(frame.small_bgr, cv2.COLOR_BGR2GRAY)
            motion.append(float(cv2.absdiff(grey, prev_grey).mean()) / 255.0 if prev_grey is not None else 0.0)
            prev_grey = grey
            if frame.index % sample_every == 0:
                pool.add(make_candidate(frame.index, frame.pts, frame.time, frame.bgr(params.keyframe_width)))
            for _ in detector.push(frame.index, frame.small_bgr):
                boundary = detector.boundaries[-1]
                close_shot(shot_starts[-1], boundary)
                shot_starts.append(boundary)
            frames = frame.index + 1
            last_time = frame.time
            stream_start = frame.stream_start
            if progress and frames % 25 == 0:
                progress(frames, info.frame_count)
        for _ in detector.finish():
            boundary = detector.boundaries[-1]
            close_shot(shot_starts[-1], boundary)
            shot_starts.append(boundary)
        close_shot(shot_starts[-1], frames)
        measured_rows = [m for f in measured for m in f.result()]
        audio = audio_future.result() if audio_future else None
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    if frames == 0:
        raise AnalysisError(f"{path.name}: no decodable video frames")
    if progress:
        progress(frames, frames)

    # Shots, with their motion and loudness.
    frame_dt = 1.0 / fps
    bounds = list(zip(shot_starts, shot_starts[1:] + [frames]))
    shots = []
    for i, (s, e) in enumerate(bounds):
        t0, t1 = s * frame_dt, e * frame_dt
        inner = [motion[k] for k in range(s + 1, e) if k not in detector.transition_frames]
        loud = audio.loudness(t0, t1, stream_start=stream_start) if audio is not None else None
        shots.append(Shot(index=i, start_frame=s, end_frame=e, start_time=round(t0, 4), end_time=round(t1, 4),
                          motion=round(float(np.mean(inner)) if inner else 0.0, 5),
                          loudness_lufs=None if loud is None else round(loud, 2)))

    # Keyframes, with motion around them and their flags.
    half = max(1, round(fps / 2))
    keyframes = []
    for m in sorted(measured_rows, key=lambda m: m.candidate.index):
        c = m.candidate
        window = motion[max(1, c.index - half) : c.index + half + 1]
        keyframes.append(Keyframe(
            frame=c.index, time=round(c.time, 4), pts=c.pts, shot=m.shot, features=m.features, faces=m.faces,
            motion=round(float(np.mean(window)) if window else 0.0, 5),
            flags=frame_flags(m.features, c.index in detector.transition_frames),
        ))

    return Analysis(
        source_sha256=source_sha256, fps=fps, frame_count=frames, width=info.width, height=info.height,
        duration=round(last_time + frame_dt, 4), shots=shots, keyframes=keyframes,
        transitions=list(detector.transitions), has_audio=info.has_audio,
        params={**asdict(params), "cache_key": params.cache_key()},
        timings={"analysis_s": round(time.perf_counter() - t_start, 3), "frames": frames},
    )


def analyze_still(path: Path, info: MediaInfo, source_sha256: str, params: AnalysisParams = AnalysisParams()) -> Analysis:
    t_start = time.perf_counter()
    rgb = load_still(path)  # as displayed: EXIF orientation, bit depth, ICC profile, alpha
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    h, w = bgr.shape[:2]
    width = min(params.keyframe_width, w)
    small = cv2.resize(bgr, (width, max(2, round(h * width / w))), interpolation=cv2.INTER_AREA)
    [m] = _measure([make_candidate(0, None, 0.0, small)], 0)
    keyframe = Keyframe(frame=0, time=0.0, pts=None, shot=0, features=m.features, faces=m.faces,
                        flags=frame_flags(m.features, False))
    return Analysis(
        source_sha256=source_sha256, fps=0.0, frame_count=1, width=info.width, height=info.height, duration=0.0,
        shots=[Shot(index=0, start_frame=0, end_frame=1, start_time=0.0, end_time=0.0)], keyframes=[keyframe],
        transitions=[], has_audio=False, params={**asdict(params), "cache_key": params.cache_key()},
        timings={"analysis_s": round(time.perf_counter() - t_start, 3), "frames": 1},
    )


def analyze(path: Path, info: MediaInfo, source_sha256: str, params: AnalysisParams = AnalysisParams(),
            progress: Progress | None = None) -> Analysis:
    if info.kind == "image":
        return analyze_still(path, info, source_sha256, params)
    return analyze_video(path, info, source_sha256, params, progress)
