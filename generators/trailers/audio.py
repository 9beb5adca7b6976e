"""A trailer's sound: one 48 kHz stereo WAV of exactly the timeline's length, which the video
renderer muxes.

What :func:`mix` does, in order:

1. **Source audio per clip.** The title's first audio stream is decoded only where clips need it
   (clips close together in the source share one decode; far apart ones are reached by seeking,
   with half a second of pre-roll so a codec like AAC has warmed up before the first kept
   sample). A clip's span [source_in, source_in + frames/fps) is on the analysis clock; the
   samples are taken on the container clock, ``Timeline.video_start + t``, from each decoded
   frame's own presentation time, so audio that starts before or after the video lands right.
   PyAV's ``AudioResampler`` (libswresample) converts to 48 kHz stereo float: mono is upmixed
   to both sides (0.707 each), 5.1 is downmixed with the ITU matrix (L = FL + 0.707 FC + 0.707
   BL, LFE dropped); loudness is set afterwards, so those levels do not matter.
2. **Edits without clicks.** Every edit is an equal-power crossfade (sin/cos) of
   ``Timeline.crossfade_s`` centred on the cut: each clip is decoded with half a crossfade of
   handle on each side. Cards are silent (the music, if any, plays under them); the trailer's
   first and last samples fade from and to zero over one crossfade.
3. **Music bed** (optional). Decoded from ``MusicBed.start`` seconds after its first sample,
   set ``gain_db`` LU relative to the dialogue's integrated loudness (to the target when there
   is no dialogue), ducked ``duck_db`` under speech (speech spans are on the analysis clock and
   reach record time through the clips that show them; raised-cosine ramps of 100 ms ahead of
   speech and 300 ms after it), faded in over 0.5 s and out over 1.5 s. A file that does not
   decode, has no audio, or decodes shorter than its header says is refused (InvalidInput).
4. **Loudness.** BS.1770 gated integrated loudness (the project's :class:`LoudnessMeter`) is
   set to ``Timeline.loudness_lufs``; the true peak (4x oversampled with ``resample_poly``'s
   interpolation filter) is kept at ``Timeline.true_peak_db`` minus :data:`AAC_MARGIN_DB` (the
   AAC encode that follows overshoots a little) by a look-ahead limiter that acts only when
   the gain would push peaks over, re-measuring until the loudness is on target. Silence
   stays silent. Loudness and peak in the report are measured on the samples written.
5. **Write** a float32 WAV to a temporary name beside ``dest`` and rename it; on any failure or
   cancellation nothing is left behind.

The limiter is offline, so its "look-ahead" is free: the gain wanted at each sample (ceiling
over the oversampled peak, in dB) goes through a minimum filter and then a Hann smoothing of
the same width (so the smoothed gain is never above what any peak needs: each peak lies inside
every window that averages into it), then an exponential release (:data:`LIMITER_RELEASE_S`).
"""

from __future__ import annotations

import math
import os
import struct
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from scipy.io import wavfile
from scipy.ndimage import maximum_filter1d, minimum_filter1d
from scipy.signal import firwin, oaconvolve, upfirdn

from generators.trailers.timeline import Card, Clip, Timeline
from workbench.analysis.audio import LoudnessMeter
from workbench.errors import InvalidInput
from workbench.media.source import open_local

RATE = 48_000  # Hz, the WAV's sample rate
CHANNELS = 2
AAC_MARGIN_DB = 0.5  # the limiter's ceiling sits this far under Timeline.true_peak_db
OVERSAMPLE = 4  # true peak: BS.1770-4 Annex 2 oversampling at 48 kHz
PREROLL_S = 0.5  # decoded (and thrown away) before a clip after a seek, to warm the decoder
MERGE_GAP_S = 2.0  # clips closer than this in the source are decoded in one pass
DUCK_ATTACK_S = 0.100  # music goes down over this, finishing as speech starts
DUCK_RELEASE_S = 0.300  # and comes back over this after speech ends
MUSIC_FADE_IN_S = 0.5
MUSIC_FADE_OUT_S = 1.5
LIMITER_WINDOW_S = 0.005  # look-ahead (and smoothing) half-width
LIMITER_RELEASE_S = 0.080  # time constant of the gain's recovery after a peak
LOUDNESS_TOLERANCE_LU = 0.05  # normalisation stops re-measuring within this of the target
MAX_PASSES = 8  # gain + limiter passes before giving up on hitting the target exactly
_TRUNCATION_TOLERANCE_S = 0.5  # decoded audio may fall this much (or 2%) short of the header


class Cancelled(Exception):
    """The caller's ``cancel()`` said stop; nothing was written."""


@dataclass(frozen=True)
class AudioReport:
    """What :func:`mix` wrote and measured (on the final samples, as written)."""

    path: Path
    samples: int  # per channel; round(frames * 48000 / fps)
    rate: int
    channels: int
    integrated_lufs: float | None  # None: silent (or under the -70 LUFS gate)
    true_peak_db: float | None  # dBTP, 4x oversampled; None when silent
    target_lufs: float
    ceiling_db: float  # the limiter's ceiling: true_peak_db target minus the AAC margin
    gain_db: float  # static gain applied to the mix
    limited: bool  # whether the limiter reduced any peak
    limiter_max_reduction_db: float
    source_audio: bool  # False: the title has no audio track (or no source): a silent bed
    music_used: bool
    music_gain_db: float | None  # gain given to the music before ducking
    ducked_s: float  # seconds of record time with speech under the music
    silent: bool  # no signal at all: written as digital silence
    seconds: float  # wall time of the mix
    warnings: tuple[str, ...] = ()

    @property
    def duration(self) -> float:
        return self.samples / self.rate

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = str(self.path)
        d["warnings"] = list(self.warnings)
        return d


@dataclass
class Assembly:
    """The mix before loudness normalisation: (2, n) float32 at 48 kHz, and what went in."""

    samples: np.ndarray
    source_audio: bool
    music_used: bool = False
    music_gain_db: float | None = None
    ducked_s: float = 0.0
    warnings: list[str] = field(default_factory=list)


# -- public API ---------------------------------------------------------------------------------


def mix(
    timeline: Timeline,
    source: Path | None,
    dest: Path,
    *,
    cancel: Callable[[], bool] | None = None,
) -> AudioReport:
    """Mix the trailer's sound to ``dest`` (48 kHz stereo float32 WAV) and report it.

    ``source`` is the title (None, or a file without audio: a silent bed). Raises InvalidInput
    for a bad timeline or music file, :class:`Cancelled` when ``cancel()`` returns True (polled
    between clips and between steps). ``dest`` is written atomically.
    """
    t_start = time.perf_counter()
    # 1. check inputs (before anything is decoded)
    dest = Path(dest)
    check_timeline(timeline)
    if source is not None and not Path(source).is_file():
        raise InvalidInput(f"{Path(source).name}: no such source file")
    poll = _poller(cancel)
    # 2. source clips, crossfaded, and the music bed
    assembly = assemble(timeline, source, cancel=cancel)
    poll()
    # 3. loudness and true peak
    target = float(timeline.loudness_lufs)
    ceiling = float(timeline.true_peak_db) - AAC_MARGIN_DB
    level = normalize(assembly.samples, target, ceiling)
    poll()
    # 4. write exactly what was measured (temp name, rename)
    out, lufs, peak, reduction = level.samples, level.lufs, level.peak_db, level.reduction_db
    silent = not np.any(out)
    _write_wav_atomic(out, dest, poll)
    return AudioReport(
        path=dest,
        samples=out.shape[1],
        rate=RATE,
        channels=CHANNELS,
        integrated_lufs=None if lufs is None else round(lufs, 3),
        true_peak_db=None if peak is None else round(peak, 3),
        target_lufs=target,
        ceiling_db=ceiling,
        gain_db=round(level.gain_db, 3),
        limited=reduction > 0.0,
        limiter_max_reduction_db=round(reduction, 3),
        source_audio=assembly.source_audio,
        music_used=assembly.music_used,
        music_gain_db=None if assembly.music_gain_db is None else round(assembly.music_gain_db, 3),
        ducked_s=round(assembly.ducked_s, 3),
        silent=silent,
        seconds=round(time.perf_counter() - t_start, 3),
        warnings=tuple(assembly.warnings) + level.warnings,
    )


def assemble(timeline: Timeline, source: Path | None, *, cancel: Callable[[], bool] | None = None) -> Assembly:
    """The mix before loudness: source clips at their record positions with crossfades, plus
    the ducked music bed. Exactly ``total_samples(timeline)`` long."""
    check_timeline(timeline)
    poll = _poller(cancel)
    n_total = total_samples(timeline)
    out = np.zeros((CHANNELS, n_total), dtype=np.float32)
    warnings: list[str] = []
    source_audio = _place_source_clips(timeline, source, out, poll, warnings)
    assembly = Assembly(samples=out, source_audio=source_audio, warnings=warnings)
    if not source_audio:
        warnings.append("the source has no audio track: the trailer has a silent bed" if source else "no source: silent bed")
    if timeline.music is not None:
        poll()
        _add_music(timeline, out, assembly)
    return assembly


def total_samples(timeline: Timeline) -> int:
    """The WAV's length: round(frames * 48000 / fps)."""
    return _sample_at(timeline.frames, timeline.fps)


def record_speech(timeline: Timeline) -> list[tuple[float, float]]:
    """Speech spans (analysis clock) mapped to record seconds through the clips showing them,
    sorted, touching spans joined."""
    fps = Fraction(timeline.fps)
    spans: list[tuple[float, float]] = []
    for item, start in zip(timeline.items, timeline.record_starts()):
        if not isinstance(item, Clip):
            continue
        s_in, s_out = item.source_in, item.source_in + item.frames / float(fps)
        rec0 = float(start / fps)
        for a, b in timeline.speech:
            lo, hi = max(a, s_in), min(b, s_out)
            if hi > lo:
                spans.append((rec0 + lo - s_in, rec0 + hi - s_in))
    spans.sort()
    joined: list[tuple[float, float]] = []
    for a, b in spans:
        if joined and a <= joined[-1][1] + 1e-6:
            joined[-1] = (joined[-1][0], max(joined[-1][1], b))
        else:
            joined.append((a, b))
    return joined


def integrated_loudness(samples: np.ndarray) -> float | None:
    """BS.1770 gated integrated loudness of (2, n) samples at 48 kHz; None for silence."""
    meter = LoudnessMeter(RATE, (1.0,) * samples.shape[0])
    step = RATE * 10
    for i in range(0, samples.shape[1], step):
        meter.feed(samples[:, i : i + step])
    meter.finish()
    return meter.loudness()


def true_peak_db(samples: np.ndarray) -> float | None:
    """True peak (dBTP): the largest |sample| 4x oversampled; None for digital silence."""
    sample_peak = float(np.abs(samples).max(initial=0.0))
    if sample_peak == 0.0:
        return None
    # the true peak is at least the sample peak: blocks that cannot beat it are not oversampled
    peak = float(_peak_envelope(samples, floor=sample_peak).max(initial=0.0))
    return 20.0 * math.log10(peak) if peak > 0 else None


def check_timeline(timeline: Timeline) -> None:
    """One-line InvalidInput for a timeline the mix cannot honour."""
    fps = timeline.fps
    if not isinstance(fps, (Fraction, int)) and not (isinstance(fps, float) and math.isfinite(fps)):
        raise InvalidInput(f"timeline fps must be a number; got {fps!r}")
    if fps <= 0:
        raise InvalidInput(f"timeline fps must be positive; got {fps}")
    if not timeline.items:
        raise InvalidInput("the timeline has no items")
    for i, item in enumerate(timeline.items):
        if not isinstance(item, (Clip, Card)):
            raise InvalidInput(f"timeline item {i} is a {type(item).__name__}, not a Clip or Card")
        if not isinstance(item.frames, int) or item.frames < 1:
            raise InvalidInput(f"timeline item {i} must last a whole number (>= 1) of frames; got {item.frames!r}")
        if isinstance(item, Clip) and not (math.isfinite(item.source_in) and item.source_in >= 0):
            raise InvalidInput(f"clip {i}: source_in must be >= 0 seconds; got {item.source_in}")
    if not (math.isfinite(timeline.loudness_lufs) and -70.0 < timeline.loudness_lufs < 0.0):
        raise InvalidInput(f"loudness_lufs must be between -70 and 0; got {timeline.loudness_lufs}")
    if not (math.isfinite(timeline.true_peak_db) and -20.0 <= timeline.true_peak_db <= 0.0):
        raise InvalidInput(f"true_peak_db must be between -20 and 0 dBTP; got {timeline.true_peak_db}")
    if not (math.isfinite(timeline.crossfade_s) and 0.0 <= timeline.crossfade_s <= 1.0):
        raise InvalidInput(f"crossfade_s must be between 0 and 1 second; got {timeline.crossfade_s}")
    for span in timeline.speech:
        if len(span) != 2 or not all(math.isfinite(v) for v in span) or span[1] < span[0]:
            raise InvalidInput(f"speech spans must be (start, end) seconds with end >= start; got {span}")
    music = timeline.music
    if music is not None:
        if not Path(music.path).is_file():
            raise InvalidInput(f"music {Path(music.path).name}: no such file")
        if not (math.isfinite(music.start) and music.start >= 0):
            raise InvalidInput(f"music start must be >= 0 seconds; got {music.start}")
        if not (math.isfinite(music.gain_db) and -60.0 <= music.gain_db <= 20.0):
            raise InvalidInput(f"music gain_db must be between -60 and 20; got {music.gain_db}")
        if not (math.isfinite(music.duck_db) and -60.0 <= music.duck_db <= 0.0):
            raise InvalidInput(f"music duck_db must be between -60 and 0; got {music.duck_db}")


# -- source clips -------------------------------------------------------------------------------


def _sample_at(frame: int, fps: Fraction | float) -> int:
    return round(Fraction(frame) * RATE / Fraction(fps))


def _poller(cancel: Callable[[], bool] | None) -> Callable[[], None]:
    def poll() -> None:
        if cancel is not None and cancel():
            raise Cancelled("audio mix cancelled")

    return poll


def _crossfade_len(timeline: Timeline, bounds: Sequence[tuple[int, int]]) -> int:
    """Crossfade length in samples (even), never longer than the shortest item."""
    xf = round(timeline.crossfade_s * RATE)
    shortest = min(b - a for a, b in bounds)
    xf = min(xf, shortest)
    return xf - (xf % 2)


def _fade_in(n: int, *, linear: bool = False) -> np.ndarray:
    """Rising ramp sampled at the centres of n steps: equal-power (sin; with the matching cos
    the powers sum to one) or equal-gain (linear; the gains sum to one)."""
    x = (np.arange(n) + 0.5) / n
    return (x if linear else np.sin(0.5 * np.pi * x)).astype(np.float32)


def _runs_on(a: Clip | Card, b: Clip | Card, fps: Fraction) -> bool:
    """Whether clip ``b`` starts in the source exactly where clip ``a`` ends (a split shot)."""
    if not (isinstance(a, Clip) and isinstance(b, Clip)):
        return False
    return abs(a.source_in + a.frames / float(fps) - b.source_in) < 0.5 / RATE


def _place_source_clips(
    timeline: Timeline, source: Path | None, out: np.ndarray, poll: Callable[[], None], warnings: list[str]
) -> bool:
    """Decode each clip's audio into ``out`` with its crossfades. False when there is no audio."""
    if source is None:
        return False
    fps = Fraction(timeline.fps)
    starts = timeline.record_starts()
    bounds = [(_sample_at(s, fps), _sample_at(s + it.frames, fps)) for s, it in zip(starts, timeline.items)]
    xf = _crossfade_len(timeline, bounds)
    half = xf // 2
    last = len(timeline.items) - 1
    continuous = [_runs_on(a, b, fps) for a, b in zip(timeline.items, timeline.items[1:])]
    # what each clip needs: record [a - left, b + right) <- container time from c0 - left/RATE
    wants: list[tuple[float, float, int, int, int]] = []  # (t0, t1, item index, left, right)
    for i, item in enumerate(timeline.items):
        if isinstance(item, Clip):
            a, b = bounds[i]
            left = half if i > 0 else 0
            right = half if i < last else 0
            c0 = timeline.video_start + item.source_in
            wants.append((c0 - left / RATE, c0 + (b - a + right) / RATE, i, left, right))
    if not wants:
        return _has_audio(source)
    try:
        container = open_local(source)
    except av.error.FFmpegError as exc:
        raise InvalidInput(f"{Path(source).name}: not a readable media file ({exc})") from None
    with container:
        if not container.streams.audio:
            return False
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        short: list[int] = []
        for group in _groups(sorted(wants)):
            poll()
            g0, g1 = group[0][0], max(w[1] for w in group)
            buf, first = _decode_span(container, stream, g0, g1, name=Path(source).name)
            for t0, _t1, i, left, right in group:
                poll()
                a, b = bounds[i]
                n = b - a + left + right
                seg = _take(buf, first, t0, n)
                if seg is None:
                    short.append(i)
                    continue
                # fades: equal-power across internal edits (equal-gain where the source simply
                # runs on across the edit, so it passes unchanged), from/to zero at the ends
                if xf:
                    ramp = _fade_in(2 * half if i > 0 else xf, linear=i > 0 and continuous[i - 1])
                    seg[:, : ramp.size] *= ramp
                    ramp = _fade_in(2 * half if i < last else xf, linear=i < last and continuous[i])[::-1]
                    seg[:, seg.shape[1] - ramp.size :] *= ramp
                out[:, a - left : b + right] += seg
        if short:
            warnings.append(f"no source audio under clip(s) {', '.join(map(str, short[:8]))}: silent there")
    return True


def _has_audio(source: Path) -> bool:
    try:
        with open_local(source) as container:
            return bool(container.streams.audio)
    except av.error.FFmpegError as exc:
        raise InvalidInput(f"{Path(source).name}: not a readable media file ({exc})") from None


def _groups(wants: list[tuple[float, float, int, int, int]]) -> list[list[tuple[float, float, int, int, int]]]:
    """Clips close together in the source, to decode in one pass (sorted by source time)."""
    groups: list[list[tuple[float, float, int, int, int]]] = []
    end = -math.inf
    for want in wants:
        if groups and want[0] <= end + MERGE_GAP_S:
            groups[-1].append(want)
            end = max(end, want[1])
        else:
            groups.append([want])
            end = want[1]
    return groups


def _take(buf: np.ndarray, first: float, t0: float, n: int) -> np.ndarray | None:
    """n samples from container time t0 out of a buffer whose sample 0 is at ``first``; zeros
    where the buffer has none; None when it has none of them."""
    i0 = round((t0 - first) * RATE)
    lo, hi = max(i0, 0), min(i0 + n, buf.shape[1])
    if hi <= lo:
        return None
    seg = np.zeros((CHANNELS, n), dtype=np.float32)
    seg[:, lo - i0 : hi - i0] = buf[:, lo:hi]
    return seg


def _frame_time(frame: av.AudioFrame, fallback: float | None) -> float:
    if frame.pts is not None and frame.time_base is not None:
        return float(frame.pts * frame.time_base)
    return fallback if fallback is not None else 0.0


def _decode_span(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream, t0: float, t1: float, *, name: str
) -> tuple[np.ndarray, float]:
    """Decode container time [t0, t1) of ``stream`` resampled to 48 kHz stereo float32: the
    samples (2, n) and the container time of the first one. Seeks with pre-roll; the part
    before the stream's first sample or after its end is simply not there."""
    for preroll in (PREROLL_S, PREROLL_S + 3.0):
        buf, first = _decode_from(container, stream, t0, t1, t0 - preroll, name=name)
        # a seek that landed late (rare, inexact indexes) is retried from further back
        if first is None or first <= t0 + 1.0 / RATE or buf.shape[1] == 0:
            break
        if _stream_start(stream) is not None and first <= _stream_start(stream) + 1e-3:
            break
    return buf, (first if first is not None else t0)


def _stream_start(stream: av.audio.stream.AudioStream) -> float | None:
    if stream.start_time is not None and stream.time_base is not None:
        return float(stream.start_time * stream.time_base)
    return None


def _decode_from(
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    t0: float,
    t1: float,
    seek_to: float,
    *,
    name: str,
) -> tuple[np.ndarray, float | None]:
    try:
        ts = max(seek_to, 0.0)
        container.seek(math.floor(ts / float(stream.time_base)), stream=stream, backward=True, any_frame=False)
    except av.error.FFmpegError:
        container.seek(0)
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=RATE)
    chunks: list[np.ndarray] = []
    first: float | None = None
    next_t: float | None = None
    try:
        for frame in container.decode(stream):
            ft = _frame_time(frame, next_t)
            dur = frame.samples / float(frame.sample_rate or 1)
            next_t = ft + dur
            if ft + dur <= t0:
                continue
            if first is None:
                first = ft
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray())
            if next_t >= t1:
                break
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray())
    except (av.error.FFmpegError, ValueError) as exc:
        raise InvalidInput(f"{name}: audio decoding failed near {next_t or t0:.2f} s ({exc})") from None
    if not chunks:
        return np.zeros((CHANNELS, 0), dtype=np.float32), first
    buf = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    return buf, first


# -- music --------------------------------------------------------------------------------------


def _wav_declared_seconds(path: Path) -> float | None:
    """The length a RIFF/WAVE header declares, or None (not a WAV, or a streamed size). FFmpeg
    clamps a cut WAV's length to the file, so a truncated WAV is found from its header."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            byte_rate = None
            while True:
                chunk = fh.read(8)
                if len(chunk) < 8:
                    return None
                cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if cid == b"fmt ":
                    fmt = fh.read(size + (size & 1))
                    if len(fmt) >= 12:
                        byte_rate = struct.unpack("<I", fmt[8:12])[0]
                elif cid == b"data":
                    if byte_rate in (None, 0) or size in (0, 0xFFFFFFFF):
                        return None
                    return size / byte_rate
                else:
                    fh.seek(size + (size & 1), os.SEEK_CUR)
    except OSError:
        return None


def _header_seconds(path: Path, container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float | None:
    declared = _wav_declared_seconds(path)
    if declared is not None:
        return declared
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def _decode_music(path: Path, start: float, seconds: float) -> tuple[np.ndarray, list[str]]:
    """The music from ``start`` seconds after its first sample, up to ``seconds`` long (less if
    the music ends sooner), 48 kHz stereo float32. InvalidInput for a file that is not audio,
    does not decode, or decodes shorter than its header declares."""
    name = path.name
    warnings: list[str] = []
    try:
        container = open_local(path)
    except av.error.FFmpegError as exc:
        raise InvalidInput(f"music {name}: not a readable audio file ({_short(exc)})") from None
    with container:
        if not container.streams.audio:
            raise InvalidInput(f"music {name}: has no audio stream")
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        header = _header_seconds(path, container, stream)
        origin = _stream_start(stream) or 0.0
        if header is not None and start >= header:
            raise InvalidInput(f"music {name}: starts at {start:.2f} s but the file is {header:.2f} s long")
        t0, t1 = origin + start, origin + start + seconds
        buf, first = _decode_span(container, stream, t0, t1, name=f"music {name}")
        decoded_end = first + buf.shape[1] / RATE
        # truncation: the decode must reach what the header promises (within a tolerance)
        if header is not None:
            tolerance = max(_TRUNCATION_TOLERANCE_S, 0.02 * header)
            promised = origin + header
            reached = decoded_end  # the decode stops at t1: when the file goes on, look at its end
            if reached >= min(t1, promised) - tolerance and promised > t1 + tolerance:
                reached = max(reached, _decoded_end_near(container, stream, promised - 1.0))
            if reached < promised - tolerance:
                raise InvalidInput(
                    f"music {name}: truncated (decodes to {reached - origin:.2f} s of the"
                    f" {header:.2f} s its header declares)"
                )
        seg = _take(buf, first, t0, round(seconds * RATE))
        if seg is None or not np.any(seg):
            raise InvalidInput(f"music {name}: no audio from {start:.2f} s on")
        available = decoded_end - t0
        if available < seconds - 1.0 / RATE:
            warnings.append(f"music ends {available:.2f} s into the trailer ({seconds:.2f} s long)")
            seg = seg[:, : max(1, round(available * RATE))]
        return seg, warnings


def _decoded_end_near(container: av.container.InputContainer, stream: av.audio.stream.AudioStream, t: float) -> float:
    """The end time of the last frame decoded from a seek to ``t``: where the file really ends."""
    end = -math.inf
    try:
        container.seek(int(max(t, 0.0) / float(stream.time_base)), stream=stream, backward=True, any_frame=False)
        next_t: float | None = None
        for frame in container.decode(stream):
            ft = _frame_time(frame, next_t)
            next_t = ft + frame.samples / float(frame.sample_rate or 1)
            end = max(end, next_t)
    except (av.error.FFmpegError, ValueError):
        pass  # a seek or decode past the data: whatever decoded is where it ends
    return end


def _short(exc: BaseException) -> str:
    text = str(exc).split(":", 1)[0] if "file:" in str(exc) else str(exc)
    return " ".join(text.split())[:120]


def _raised_cosine(n: int) -> np.ndarray:
    """0 -> 1 over n samples, smooth at both ends."""
    return (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)


def duck_envelope(n: int, spans: Sequence[tuple[float, float]], duck_db: float) -> np.ndarray:
    """Per-sample music gain in dB: ``duck_db`` under each record-time span, reached over
    :data:`DUCK_ATTACK_S` before it and left over :data:`DUCK_RELEASE_S` after it."""
    env = np.zeros(n, dtype=np.float32)
    if duck_db >= 0 or not spans:
        return env
    att, rel = round(DUCK_ATTACK_S * RATE), round(DUCK_RELEASE_S * RATE)
    down, up = _raised_cosine(att), _raised_cosine(rel)[::-1]
    for a_s, b_s in spans:
        a, b = round(a_s * RATE), round(b_s * RATE)
        lo, hi = a - att, b + rel
        local = np.concatenate([down, np.ones(max(b - a, 0), dtype=np.float32), up]) * np.float32(duck_db)
        c0, c1 = max(lo, 0), min(hi, n)
        if c1 > c0:
            np.minimum(env[c0:c1], local[c0 - lo : c1 - lo], out=env[c0:c1])
    return env


def _add_music(timeline: Timeline, out: np.ndarray, assembly: Assembly) -> None:
    music = timeline.music
    assert music is not None
    n = out.shape[1]
    seg, warnings = _decode_music(Path(music.path), float(music.start), n / RATE)
    assembly.warnings.extend(warnings)
    music_lufs = integrated_loudness(seg)
    if music_lufs is None:
        assembly.warnings.append("the music bed is silent where the trailer uses it; left out")
        return
    dialogue = integrated_loudness(out) if assembly.source_audio else None
    reference = dialogue if dialogue is not None else float(timeline.loudness_lufs)
    gain_db = reference + float(music.gain_db) - music_lufs
    m = seg.shape[1]
    # level, ducking (in dB), fades at the ends
    spans = record_speech(timeline)
    env_db = duck_envelope(m, spans, float(music.duck_db)) + np.float32(gain_db)
    gain = np.power(np.float32(10.0), env_db / np.float32(20.0))
    fin = min(int(MUSIC_FADE_IN_S * RATE), m // 2)
    fout = min(int(MUSIC_FADE_OUT_S * RATE), m - fin)
    if fin:
        gain[:fin] *= _raised_cosine(fin)
    if fout:
        gain[m - fout :] *= _raised_cosine(fout)[::-1]
    out[:, :m] += seg * gain
    assembly.music_used = True
    assembly.music_gain_db = gain_db
    assembly.ducked_s = sum(min(b, m / RATE) - a for a, b in spans if a < m / RATE)


# -- loudness and peaks -------------------------------------------------------------------------


_HALF_TAPS = 10 * OVERSAMPLE
# resample_poly's own interpolation filter for 4x up (Kaiser-windowed sinc, beta 5), designed once
_INTERPOLATOR = firwin(2 * _HALF_TAPS + 1, 1.0 / OVERSAMPLE, window=("kaiser", 5.0)) * OVERSAMPLE


def _oversample(x: np.ndarray) -> np.ndarray:
    """4x oversampled along the last axis: ``resample_poly(x, 4, 1)`` without designing the
    filter on every call."""
    n = x.shape[-1]
    return upfirdn(_INTERPOLATOR, x, OVERSAMPLE, 1, axis=-1)[..., _HALF_TAPS : _HALF_TAPS + OVERSAMPLE * n]


def _oversampling_gain() -> float:
    """The most the 4x interpolation can make of a signal whose samples are all within +-1:
    the largest L1 norm of its polyphase branches (about 2.24)."""
    h = _INTERPOLATOR
    return float(max(np.abs(h[p::OVERSAMPLE]).sum() for p in range(OVERSAMPLE)))


_BLOCK = 2048  # samples; oversampling is skipped block by block where it cannot matter
_MAX_RUN = 1 << 18  # samples oversampled at once (memory)
_PAD = 64  # resample_poly's filter reaches 10 input samples each way; keep a margin


def _peak_envelope(samples: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Per input sample, the largest |value| over channels of the 4x oversampled signal on the
    interval starting at that sample (and of the sample itself).

    Exact wherever the result can reach ``floor``: a block whose neighbourhood's sample peak
    times :func:`_oversampling_gain` stays under ``floor`` cannot, and keeps its plain sample
    peaks (a lower bound) without being oversampled. ``floor=0`` oversamples everything."""
    a = np.abs(samples).max(axis=0).astype(np.float32)
    env = a.copy()
    n = a.size
    if n == 0:
        return env
    nb = -(-n // _BLOCK)
    blocks = np.pad(a, (0, nb * _BLOCK - n)).reshape(nb, _BLOCK).max(axis=1)
    reach = blocks.copy()
    reach[1:] = np.maximum(reach[1:], blocks[:-1])
    reach[:-1] = np.maximum(reach[:-1], blocks[1:])
    need = reach * _OVERSAMPLING_GAIN >= floor if floor > 0 else np.ones(nb, dtype=bool)
    idx = np.flatnonzero(need)
    if idx.size == 0:
        return env
    # runs of consecutive blocks, each at most _MAX_RUN samples
    splits = np.flatnonzero(np.diff(idx) > 1) + 1
    for run in np.split(idx, splits):
        for k in range(0, run.size, _MAX_RUN // _BLOCK):
            part = run[k : k + _MAX_RUN // _BLOCK]
            i, j = int(part[0]) * _BLOCK, min(n, (int(part[-1]) + 1) * _BLOCK)
            lo, hi = max(0, i - _PAD), min(n, j + _PAD)
            x = samples[:, lo:hi].astype(np.float64)
            up = np.abs(_oversample(x)).max(axis=0)
            up = up[: (hi - lo) * OVERSAMPLE].reshape(hi - lo, OVERSAMPLE).max(axis=1)
            env[i:j] = np.maximum(up[i - lo : j - lo], a[i:j])
    return env


def limiter_gain_db(samples: np.ndarray, ceiling_db: float, *, envelope: np.ndarray | None = None) -> np.ndarray:
    """Per-sample gain (dB, <= 0) that keeps the oversampled peak at or under ``ceiling_db``:
    wanted gain -> minimum over +-W -> Hann smoothing over the same +-W (never above what a
    peak inside the window needs) -> exponential release (:data:`LIMITER_RELEASE_S`)."""
    ceiling = 10.0 ** (ceiling_db / 20.0)
    if envelope is None:
        envelope = _peak_envelope(samples, floor=ceiling)
    env = envelope.astype(np.float64)
    with np.errstate(divide="ignore"):
        want = np.minimum(0.0, ceiling_db - 20.0 * np.log10(np.maximum(env, 1e-12)))
    if not np.any(want < 0):
        return np.zeros_like(want)
    w = round(LIMITER_WINDOW_S * RATE)
    size = 2 * w + 1
    held = minimum_filter1d(want, size=size, mode="nearest")
    kernel = np.hanning(size + 2)[1:-1]
    kernel /= kernel.sum()
    smooth = oaconvolve(np.pad(held, w, mode="edge"), kernel, mode="valid")
    # release: the reduction decays exponentially after each peak (time constant tau):
    # r[n] = -max over k <= n of |smooth[k]| * exp(-(n - k) / tau), computed in the log domain
    # as a sliding maximum (no overflow however long the mix), over the window in which a
    # reduction of the greatest depth decays to 0.01 dB
    tau = LIMITER_RELEASE_S * RATE
    depth = float(-smooth.min())
    if depth <= 0:
        return np.zeros_like(smooth)
    r = int(min(tau * math.log(max(depth, 0.02) / 0.01), 4.0 * RATE))
    r += r % 2
    k = np.arange(smooth.size, dtype=np.float64) / tau
    with np.errstate(divide="ignore"):
        log_depth = np.log(np.maximum(-smooth, 0.0)) + k
    released = -np.exp(maximum_filter1d(log_depth, size=r + 1, origin=r // 2, mode="nearest") - k)
    return np.minimum(np.minimum(released, smooth), 0.0)


@dataclass(frozen=True)
class Normalized:
    """The mix at its final level (float32, as written) and what was measured on it."""

    samples: np.ndarray
    gain_db: float
    reduction_db: float  # the limiter's largest gain reduction; 0 when it did not act
    lufs: float | None
    peak_db: float | None
    warnings: tuple[str, ...] = ()


def _gain_and_limit(x: np.ndarray, gain_db: float, ceiling_db: float) -> tuple[np.ndarray, float, float | None]:
    """x at ``gain_db``, limited to ``ceiling_db`` true peak: (float32 samples, largest
    reduction dB, true peak dB of those very samples)."""
    y = (x * np.float32(10.0 ** (gain_db / 20.0))).astype(np.float32, copy=False)
    reduction = 0.0
    ceiling = 10.0 ** (ceiling_db / 20.0)
    for _ in range(3):  # one pass, then up to two more for the gain ramps' own overshoot
        env = _peak_envelope(y, floor=ceiling)  # exact wherever it could reach the ceiling
        if float(env.max(initial=0.0)) <= ceiling * 10.0 ** (1e-4 / 20.0):
            break
        g = limiter_gain_db(y, ceiling_db - 0.02, envelope=env)
        reduction = max(reduction, float(-g.min()))
        y = (y * (10.0 ** (g / 20.0)).astype(np.float32)[None, :]).astype(np.float32, copy=False)
    peak = true_peak_db(y)
    if peak is not None and peak > ceiling_db + 1e-4:  # never expected; a static trim keeps the promise
        trim = ceiling_db - peak - 0.01
        y = (y * np.float32(10.0 ** (trim / 20.0))).astype(np.float32, copy=False)
        reduction += -trim
        peak = true_peak_db(y)
    return y, reduction, peak


def normalize(samples: np.ndarray, target_lufs: float, ceiling_db: float) -> Normalized:
    """Gain to ``target_lufs`` with the true peak at or under ``ceiling_db``. When the limiter
    acts, the loudness it took away is measured and given back (secant steps, up to
    :data:`MAX_PASSES` passes). Silence and unmeasurable quiet pass through unchanged. The
    loudness and peak reported are measured on the returned samples."""
    x = np.asarray(samples, dtype=np.float32)
    if not np.any(x):
        return Normalized(x, 0.0, 0.0, None, None, ("the mix is silent",))
    measured = integrated_loudness(x)
    if measured is None:
        note = "the mix is too quiet to measure (under the -70 LUFS gate): left as it is"
        return Normalized(x, 0.0, 0.0, None, true_peak_db(x), (note,))
    gain_db = target_lufs - measured
    tried: list[tuple[float, float]] = []  # (gain, loudness) of limited passes
    for _ in range(MAX_PASSES):
        y, reduction, peak = _gain_and_limit(x, gain_db, ceiling_db)
        now = integrated_loudness(y)
        if reduction == 0.0 or now is None or abs(target_lufs - now) <= LOUDNESS_TOLERANCE_LU:
            break
        tried.append((gain_db, now))
        # secant step: limiting makes each dB of gain worth less than a dB of loudness
        slope = 1.0
        if len(tried) >= 2 and tried[-1][0] != tried[-2][0]:
            slope = (tried[-1][1] - tried[-2][1]) / (tried[-1][0] - tried[-2][0])
            slope = min(max(slope, 0.05), 1.0)
        gain_db += (target_lufs - now) / slope
    warnings: tuple[str, ...] = ()
    if now is not None and abs(target_lufs - now) > 0.5:
        warnings = (f"loudness {now:.1f} LUFS misses the {target_lufs:.1f} target (peaks too high to limit further)",)
    return Normalized(y, gain_db, reduction, now, peak, warnings)


_OVERSAMPLING_GAIN = _oversampling_gain()


# -- writing ------------------------------------------------------------------------------------


def _write_wav_atomic(samples: np.ndarray, dest: Path, poll: Callable[[], None]) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        wavfile.write(tmp, RATE, np.ascontiguousarray(samples.T, dtype=np.float32))
        poll()
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
