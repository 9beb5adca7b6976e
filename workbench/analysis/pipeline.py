"""Analyse a title in one decoding pass.

1. decode every frame once (tiny signature for shots, motion and mean luma; keyframe-size
   copies of a few sampled frames a second), each frame timed by its presentation timestamp;
2. detect shot boundaries as frames stream by: content cuts and dissolves, and fades to and
   from black or white (``boundaries.ShotSegmenter``);
3. when a shot closes, choose its keyframes and measure them (features, faces, smiles) on a
   background thread, overlapping the decoder; faces for tracking are found on every sampled
   frame (at 320 px) on the same thread, in batches;
4. one pass over the audio, also on a background thread: loudness per shot, the energy curve,
   speech probabilities and the onset envelope (``audio.measure_audio``);
5. motion energy and flags, face tracks, speech per shot, then the typed :class:`Analysis`.

Times are seconds on the analysis clock: 0 is the first video frame's presentation time,
which is ``Analysis.video_start`` on the container clock. A shot ends (exclusive) at the next
frame's presentation time; the last one at its last frame's time plus that frame's duration.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from workbench.analysis import audio as audio_mod
from workbench.analysis import tracks as tracks_mod
from workbench.analysis.boundaries import ShotSegmenter
from workbench.analysis.decode import decode_video, full_range_luma
from workbench.analysis.features import frame_features, frame_flags
from workbench.analysis.keyframes import Candidate, CandidatePool, choose_keyframes, make_candidate
from workbench.analysis.shots import ShotDetectorConfig
from workbench.analysis.types import ANALYZER_VERSION, Analysis, AudioSignals, Keyframe, Shot
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
    editing_signals: bool = True  # face tracks, speech, beats and onsets (off: only to measure their cost)

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


_costs_lock = threading.Lock()


def _one_torch_thread() -> None:
    """Each background worker runs torch on one thread (torch's intra-op setting is per thread
    under OpenMP: the caller's own setting is untouched). The decoder already keeps both cores
    of the bench machine busy; with two torch threads MTCNN spent 16 ms of CPU a 320-px frame
    for 8 ms of wall time, with one 9.5 ms."""
    import torch

    torch.set_num_threads(1)


def _timed(fn, timings: dict[str, float], key: str):
    """``fn``, adding the seconds each call takes to ``timings[key]`` (calls run on worker threads)."""
    def run(*args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            with _costs_lock:
                timings[key] = timings.get(key, 0.0) + time.perf_counter() - t
    return run


def _speech_share(spans, t0: float, t1: float) -> float:
    if t1 <= t0:
        return 0.0
    inside = sum(max(0.0, min(t1, s.end) - max(t0, s.start)) for s in spans)
    return min(1.0, inside / (t1 - t0))


def _track_faces(keyframes: Future, candidates: list[Candidate], detect=tracks_mod.detect) -> list[tracks_mod.Detection]:
    """Faces for tracking on every sampled frame of a shot whose keyframes show a face (a shot
    none of whose keyframes has one is not searched: on the bench title that saves two thirds
    of the cost). Keyframes give their own (640-px) faces; the other frames are searched at
    320 px (``tracks.detect``)."""
    rows = keyframes.result()  # submitted after the keyframe job: it is done or running on the other worker
    if not any(m.faces for m in rows):
        return []
    known = {m.candidate.index: m for m in rows}
    found = [tracks_mod.Detection(frame=m.candidate.index, time=m.candidate.time,
                                  faces=tuple((f.box, f.confidence) for f in m.faces)) for m in rows]
    rest = [(c.index, c.time, c.bgr) for c in candidates if c.index not in known]
    return sorted(found + detect(rest), key=lambda d: d.frame)


def analyze_video(
    path: Path,
    info: MediaInfo,
    source_sha256: str,
    params: AnalysisParams = AnalysisParams(),
    progress: Progress | None = None,
) -> Analysis:
    t_start = time.perf_counter()
    fps = info.fps or 25.0
    segmenter = ShotSegmenter(fps, ShotDetectorConfig(threshold=params.cut_threshold, min_shot_frames=params.min_shot_frames))
    pool = CandidatePool()
    sample_every = max(1, round(fps / params.candidates_per_second))
    executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="analysis", initializer=_one_torch_thread)
    costs: dict[str, float] = {}
    audio_future: Future | None = None
    editing = params.editing_signals
    if info.has_audio:
        audio_future = executor.submit(_timed(audio_mod.measure_audio, costs, "audio_s"), path,
                                       speech=editing, rhythm=editing)
    measured: list[Future] = []
    track_jobs: list[Future] = []
    detect_faces = _timed(tracks_mod.detect, costs, "tracks_s")
    measure = _timed(_measure, costs, "keyframes_s")
    motion: list[float] = []
    times: list[float] = []  # presentation time of every frame, analysis clock
    shot_starts = [0]
    prev_grey: np.ndarray | None = None
    frames = 0
    last_duration: float | None = None
    stream_start = 0.0

    def close_shot(start: int, end: int) -> None:
        taken = pool.take_before(end)
        chosen = choose_keyframes(taken, start, end, fps, params.keyframes_per_shot, segmenter.transition_frames)
        if chosen:
            job = executor.submit(measure, chosen, len(shot_starts) - 1)
            measured.append(job)
            if editing:
                track_jobs.append(executor.submit(_track_faces, job, taken, detect_faces))

    def new_boundaries(found: list[int]) -> None:
        for boundary in found:
            close_shot(shot_starts[-1], boundary)
            shot_starts.append(boundary)

    try:
        for frame in decode_video(path, sig_width=params.sig_width):
            grey = cv2.cvtColor(frame.small_bgr, cv2.COLOR_BGR2GRAY)
            motion.append(float(cv2.absdiff(grey, prev_grey).mean()) / 255.0 if prev_grey is not None else 0.0)
            prev_grey = grey
            times.append(frame.time)
            if frame.index % sample_every == 0:
                candidate = make_candidate(frame.index, frame.pts, frame.time, frame.bgr(params.keyframe_width))
                pool.add(candidate)
            luma = full_range_luma(float(cv2.mean(grey)[0]), frame.limited_range)
            new_boundaries(segmenter.push(frame.index, frame.small_bgr, luma))
            frames = frame.index + 1
            last_duration = frame.duration
            stream_start = frame.stream_start
            if progress and frames % 25 == 0:
                progress(frames, info.frame_count)
        new_boundaries(segmenter.finish())
        close_shot(shot_starts[-1], frames)
        measured_rows = [m for f in measured for m in f.result()]
        detections = [d for f in track_jobs for d in f.result()]
        audio = audio_future.result() if audio_future else None
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
    if frames == 0:
        raise AnalysisError(f"{path.name}: no decodable video frames")
    if progress:
        progress(frames, frames)

    # The end of the last frame: its own duration, else the spacing seen, else 1 / fps.
    if not last_duration or last_duration <= 0:
        last_duration = times[-1] - times[-2] if frames > 1 and times[-1] > times[-2] else 1.0 / fps
    end_of_video = times[-1] + last_duration

    def time_after(frame: int) -> float:
        """Presentation time just after ``frame`` (the next frame's, or the end of the video)."""
        return times[frame + 1] if frame + 1 < frames else end_of_video

    def time_of(frame: int) -> float:
        return times[frame] if frame < frames else end_of_video

    duration = round(end_of_video, 4)
    signals = audio.signals(stream_start, end_of_video) if audio is not None else AudioSignals()

    # Shots, with their motion, loudness and speech.
    bounds = list(zip(shot_starts, shot_starts[1:] + [frames]))
    shots = []
    for i, (s, e) in enumerate(bounds):
        t0, t1 = time_of(s), time_of(e)
        inner = [motion[k] for k in range(s + 1, e) if k not in segmenter.transition_frames]
        loud = audio.loudness.loudness(t0, t1, stream_start=stream_start) if audio is not None else None
        shots.append(Shot(index=i, start_frame=s, end_frame=e, start_time=round(t0, 4), end_time=round(t1, 4),
                          motion=round(float(np.mean(inner)) if inner else 0.0, 5),
                          loudness_lufs=None if loud is None else round(loud, 2),
                          speech_share=round(_speech_share(signals.speech, t0, t1), 4)))

    # Transitions, timed: start at the first frame's time, end just after the last frame.
    transitions = [
        replace(t, start_time=round(time_of(t.start_frame), 4), end_time=round(time_after(t.end_frame), 4))
        for t in segmenter.transitions
    ]

    # Keyframes, with motion around them and their flags.
    half = max(1, round(fps / 2))
    keyframes = []
    for m in sorted(measured_rows, key=lambda m: m.candidate.index):
        c = m.candidate
        window = motion[max(1, c.index - half) : c.index + half + 1]
        keyframes.append(Keyframe(
            frame=c.index, time=round(c.time, 4), pts=c.pts, shot=m.shot, features=m.features, faces=m.faces,
            motion=round(float(np.mean(window)) if window else 0.0, 5),
            flags=frame_flags(m.features, c.index in segmenter.transition_frames),
        ))

    face_tracks = tracks_mod.build_tracks(detections, shots, segmenter.transition_frames)
    timings = {"analysis_s": round(time.perf_counter() - t_start, 3), "frames": frames,
               **{k: round(v, 3) for k, v in costs.items()}}
    if audio is not None:
        timings.update(audio.timings)
    return Analysis(
        source_sha256=source_sha256, fps=fps, frame_count=frames, width=info.width, height=info.height,
        duration=duration, shots=shots, keyframes=keyframes, transitions=transitions, has_audio=info.has_audio,
        params={**asdict(params), "cache_key": params.cache_key()}, timings=timings,
        video_start=round(stream_start, 6), audio=signals, face_tracks=face_tracks,
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
