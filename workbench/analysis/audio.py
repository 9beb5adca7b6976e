"""Audio loudness per shot: ITU-R BS.1770 integrated loudness (LUFS), measured in one pass.

How it is measured:

- The first audio stream is decoded once with PyAV and resampled with ``av.AudioResampler``
  to planar float at ``LOUDNESS_RATE`` (48 kHz), keeping its channels. Why not 24 kHz: the
  K-weighting lifts the treble by 4 dB, and cutting everything above 12 kHz read 10 minutes of
  pink noise in AAC 5.1 0.5 LU low against ffmpeg's ``ebur128`` (32 kHz: 0.16 LU low; 48 kHz:
  within 0.01 LU). Memory does not depend on the rate; 48 kHz costs about 0.3 s of CPU per
  minute of stereo and 0.65 s per minute of 5.1 (24 kHz: 0.23 and 0.41).
- ``LoudnessMeter`` K-weights each channel (the two BS.1770 biquads, designed for the actual
  rate; scipy ``sosfilt`` keeps the filter state across chunks) and keeps only the
  channel-weighted mean square of every 20 ms sub-block: five floats per 100 ms, about 1.4 MB
  for an hour, whatever the channel count. The decoded audio itself is never held.
- Channels are weighted as BS.1770 says: 1.0 for front left/right/centre (and any other
  channel), 1.41 for surround/back channels, 0 for LFE. A mono track counts as one channel
  (not as dual mono). So the figures match ffmpeg's ``ebur128``/``loudnorm`` and pyloudnorm on
  the same multichannel signal. (Measuring a mono downmix instead would read 3 LU low for a
  centred stereo mix and would mis-weight 5.1.)
- The loudness of a span [t0, t1) uses 400 ms gating blocks (20 sub-blocks) stepping by
  100 ms (75% overlap) from the span's start, then the absolute gate (-70 LUFS) and the
  relative gate (-10 LU), as BS.1770-4 does. Only sub-blocks wholly inside the span are used
  (the span shrinks by under 20 ms at each end), so a loud neighbouring shot never leaks in
  across a cut; a span of 0.4 .. 0.44 s that would lose its only block is rounded instead.
  Why 20 ms and not 100 ms sub-blocks: rounding shot edges to a 100 ms grid let up to 50 ms
  of the next shot in, which moved a quiet shot next to a 20 dB louder one by 2.5 LU.

A span shorter than ``MIN_SPAN_S`` (0.4 s, one gating block), a silent span (every block
under -70 LUFS), a span outside the decoded audio, and every span of a file without an audio
stream measure ``None``.

Times: shots are given in seconds from the first video frame; ``stream_start`` is that
frame's presentation time. The audio's own start (its first decoded sample) may be earlier or
later; the two are aligned on the container clock. The audio is assumed continuous from its
first sample (true of normal files; gaps inside the stream are not bridged).

``decode_mono`` is the other way in, for code that wants samples: a mono downmix with
libswresample's default matrix, which for float output is not normalised: mono = 0.707 (L + R)
for stereo; 0.707 (FL + FR) + FC + 0.5 (BL + BR) for 5.1, LFE dropped.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
from scipy.signal import sosfilt

from workbench.errors import AnalysisError, InvalidInput
from workbench.media.source import open_local

log = logging.getLogger(__name__)

LOUDNESS_RATE = 48_000  # Hz; the rate audio is resampled to before K-weighting (see above)
MONO_RATE = 16_000  # Hz; default rate of decode_mono (an hour is about 230 MB of float32)
MIN_SPAN_S = 0.4  # one BS.1770 gating block; shorter spans measure None
SUB_BLOCK_S = 0.02  # energy is kept per 20 ms; spans are cut on this grid
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
_BLOCK_SUBS = 20  # a 400 ms gating block
_STEP_SUBS = 5  # blocks step by 100 ms (75% overlap)
_CHUNK_S = 1.0  # decoded audio is filtered in chunks of about this length
_LOUDNESS_OFFSET = -0.691  # BS.1770: L = -0.691 + 10 log10(sum of weighted mean squares)

# BS.1770 channel weights by FFmpeg channel name; any channel not named here weighs 1.0.
# Surrounds (60..120 degrees off centre) weigh 1.41; FFmpeg names 5.1's surrounds BL/BR, as
# ffmpeg's ebur128 filter also counts them. The LFE is left out.
CHANNEL_WEIGHTS: dict[str, float] = {
    "LFE": 0.0,
    "LFE2": 0.0,
    "BL": 1.41,
    "BR": 1.41,
    "SL": 1.41,
    "SR": 1.41,
}


def k_weighting_sos(rate: int) -> np.ndarray:
    """The BS.1770 K-weighting filter (high shelf, then high pass) as second-order sections.

    Designed from the analogue prototypes by the bilinear transform with pre-warping, so it is
    right at any sample rate; at 48 kHz it gives the coefficients printed in BS.1770.
    """
    # stage 1: high shelf, +4 dB above about 1.7 kHz (head acoustics)
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / q + k * k) / a0,
    ]
    # stage 2: high pass at about 38 Hz (the RLB curve)
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1.0 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0]
    return np.array([shelf, highpass], dtype=np.float64)


class LoudnessMeter:
    """Streaming BS.1770 meter: feed chunks of samples, then ask any span's integrated loudness.

    Keeps the K-weighting filter state between chunks and, per 20 ms sub-block, the
    channel-weighted mean square: memory is five floats per 100 ms.
    """

    def __init__(self, rate: int, channel_weights: Sequence[float] = (1.0,)):
        if rate < 1000:
            raise InvalidInput(f"LoudnessMeter needs a sample rate of at least 1000 Hz; got {rate}")
        if not channel_weights or any(w < 0 for w in channel_weights):
            raise InvalidInput(f"channel weights must be a non-empty list of numbers >= 0; got {list(channel_weights)}")
        self.rate = rate
        self.channel_weights = np.asarray(channel_weights, dtype=np.float64)
        self._sos = k_weighting_sos(rate)
        # filter state per section and channel; starting from rest (zeros) as a meter does
        self._zi = np.zeros((self._sos.shape[0], len(self.channel_weights), 2))
        self._sub_len = int(round(rate * SUB_BLOCK_S))
        self.sub_block_s = self._sub_len / rate
        self._subs: list[np.ndarray] = []  # completed sub-block mean squares, in chunks
        self._partial_sum = 0.0
        self._partial_n = 0
        self._finished = False
        self.samples = 0

    @property
    def channels(self) -> int:
        return len(self.channel_weights)

    @property
    def duration(self) -> float:
        return self.samples / self.rate

    def feed(self, samples: np.ndarray) -> None:
        """Add samples shaped (channels, n) (or (n,) for one channel), float, full scale 1.0."""
        if self._finished:
            raise AnalysisError("LoudnessMeter.feed after finish(): create a new meter")
        x = np.asarray(samples, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[0] != self.channels:
            raise InvalidInput(f"expected samples shaped ({self.channels}, n); got {x.shape}")
        if x.shape[1] == 0:
            return
        y, self._zi = sosfilt(self._sos, x, axis=-1, zi=self._zi)
        power = self.channel_weights @ (y * y)  # weighted sum of squares over channels, per sample
        self.samples += power.size
        # complete the open sub-block first, then whole sub-blocks, then keep the remainder open
        need = self._sub_len - self._partial_n
        if power.size < need:
            self._partial_sum += float(power.sum())
            self._partial_n += power.size
            return
        self._subs.append(np.array([(self._partial_sum + float(power[:need].sum())) / self._sub_len]))
        rest = power[need:]
        whole = rest.size // self._sub_len
        if whole:
            self._subs.append(rest[: whole * self._sub_len].reshape(whole, self._sub_len).mean(axis=1))
        tail = rest[whole * self._sub_len :]
        self._partial_sum = float(tail.sum())
        self._partial_n = tail.size

    def finish(self) -> None:
        """Close the last sub-block (kept when it holds at least half of its length)."""
        if self._finished:
            return
        if self._partial_n >= self._sub_len // 2:
            self._subs.append(np.array([self._partial_sum / self._partial_n]))
        self._partial_sum, self._partial_n = 0.0, 0
        self._finished = True

    def sub_blocks(self) -> np.ndarray:
        """Weighted mean square of every completed 20 ms sub-block."""
        if len(self._subs) > 1:
            self._subs = [np.concatenate(self._subs)]
        return self._subs[0] if self._subs else np.zeros(0)

    def loudness(self, t0: float = 0.0, t1: float | None = None) -> float | None:
        """Gated integrated loudness (LUFS) of [t0, t1) seconds from the first sample fed.

        None when the span holds no full 400 ms block or every block is below the absolute gate.
        """
        subs = self.sub_blocks()
        end = len(subs) * self.sub_block_s if t1 is None else t1
        # sub-blocks wholly inside the span; rounded edges when that leaves no full block
        i0 = max(0, math.ceil(t0 / self.sub_block_s - 1e-6))
        i1 = min(len(subs), math.floor(end / self.sub_block_s + 1e-6))
        if i1 - i0 < _BLOCK_SUBS:
            i0 = max(0, math.floor(t0 / self.sub_block_s + 0.5))
            i1 = min(len(subs), math.floor(end / self.sub_block_s + 0.5))
        if i1 - i0 < _BLOCK_SUBS:
            return None
        csum = np.concatenate([[0.0], np.cumsum(subs[i0:i1])])
        blocks = (csum[_BLOCK_SUBS::_STEP_SUBS] - csum[: len(csum) - _BLOCK_SUBS : _STEP_SUBS]) / _BLOCK_SUBS
        with np.errstate(divide="ignore"):
            block_lufs = _LOUDNESS_OFFSET + 10.0 * np.log10(blocks)
        kept = blocks[block_lufs > ABSOLUTE_GATE_LUFS]
        if kept.size == 0:
            return None
        relative_gate = _LOUDNESS_OFFSET + 10.0 * math.log10(float(kept.mean())) + RELATIVE_GATE_LU
        kept = blocks[(block_lufs > ABSOLUTE_GATE_LUFS) & (block_lufs > relative_gate)]
        return _LOUDNESS_OFFSET + 10.0 * math.log10(float(kept.mean()))


@dataclass
class AudioLoudness:
    """A measured audio track: the meter and where its first sample lies on the container clock."""

    meter: LoudnessMeter
    start_time: float  # seconds, presentation time of the first decoded sample

    def loudness(self, t0: float, t1: float, *, stream_start: float) -> float | None:
        """Loudness (LUFS) of [t0, t1) seconds from the first video frame, which is presented at
        ``stream_start`` seconds; None for a span under 0.4 s, silence, or no audio there."""
        if t1 - t0 < MIN_SPAN_S:
            return None
        offset = stream_start - self.start_time
        return self.meter.loudness(t0 + offset, t1 + offset)


def _channels(stream: Any, rate: int, path: Path) -> tuple[Any, list[str], list[int], LoudnessMeter]:
    """The stream's layout and channel names (mono when it names none), the channels that count
    for loudness (LFE does not) and a BS.1770 meter weighted for them."""
    layout = stream.codec_context.layout
    names = [ch.name for ch in layout.channels] if layout is not None else []
    if not names:
        layout, names = av.AudioLayout("mono"), ["FC"]
    keep = [i for i, name in enumerate(names) if CHANNEL_WEIGHTS.get(name, 1.0) > 0]
    if not keep:
        raise AnalysisError(f"{path.name}: the audio stream has only LFE channels; nothing to measure")
    return layout, names, keep, LoudnessMeter(rate, [CHANNEL_WEIGHTS.get(names[i], 1.0) for i in keep])


def _check_path(path: Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    return path


def _open(path: Path) -> av.container.InputContainer:
    # As itself, never as a URL or a playlist (workbench.media.source.open_local).
    try:
        return open_local(path)
    except av.error.FFmpegError as exc:
        raise InvalidInput(f"{path.name}: not a readable media file ({exc})") from exc


def has_audio(path: Path) -> bool:
    """True when the file has at least one audio stream."""
    path = _check_path(path)
    with _open(path) as container:
        return bool(container.streams.audio)


def _iter_audio(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream, resampler: av.AudioResampler
) -> Iterator[tuple[np.ndarray, float | None]]:
    """Resampled planar float chunks (channels, n) of about ``_CHUNK_S``, with the first frame's time."""
    first_time: float | None = None
    pending: list[np.ndarray] = []
    pending_n = 0
    chunk_n = int(resampler.rate * _CHUNK_S)

    def frames() -> Iterator[av.AudioFrame]:
        nonlocal first_time
        for frame in container.decode(stream):
            if first_time is None and frame.pts is not None:
                first_time = float(frame.pts * frame.time_base)
            yield from resampler.resample(frame)
        yield from resampler.resample(None)  # flush

    for out in frames():
        pending.append(out.to_ndarray())
        pending_n += out.samples
        if pending_n >= chunk_n:
            yield np.concatenate(pending, axis=1), first_time
            pending, pending_n = [], 0
    if pending:
        yield np.concatenate(pending, axis=1), first_time


def _stream_start(stream: av.audio.stream.AudioStream, first_time: float | None) -> float:
    if first_time is not None:
        return first_time
    if stream.start_time is not None:
        return float(stream.start_time * stream.time_base)
    return 0.0


def measure_loudness(path: Path, *, rate: int = LOUDNESS_RATE) -> AudioLoudness | None:
    """Decode the first audio stream once and meter it; None when the file has no audio stream.

    Safe to run in a background thread while the video is decoded; ask each shot afterwards
    with ``AudioLoudness.loudness(t0, t1, stream_start=...)``.
    """
    # 1. check inputs
    path = _check_path(path)
    with _open(path) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        # 2. keep the channels; weight them by name
        layout, names, keep, meter = _channels(stream, rate, path)
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        # 3. one pass: decode, resample, K-weight, keep sub-block energies
        first_time: float | None = None
        try:
            for chunk, first_time in _iter_audio(container, stream, resampler):
                meter.feed(chunk[keep] if len(keep) != chunk.shape[0] else chunk)
        except av.error.FFmpegError as exc:
            raise AnalysisError(f"{path.name}: audio decoding failed after {meter.duration:.1f} s ({exc})") from exc
        meter.finish()
        return AudioLoudness(meter=meter, start_time=_stream_start(stream, first_time))


def shot_loudness(path: Path, shots: Sequence[tuple[float, float]], *, stream_start: float) -> list[float | None]:
    """Integrated loudness (LUFS) of each shot's audio, or None (see the module docstring).

    ``shots`` are (start, end) seconds from the first video frame; ``stream_start`` is that
    frame's presentation time in seconds (the video stream's start time).
    """
    # 1. check inputs
    spans = [(float(t0), float(t1)) for t0, t1 in shots]
    bad = [(t0, t1) for t0, t1 in spans if not (math.isfinite(t0) and math.isfinite(t1) and t1 >= t0)]
    if bad:
        raise InvalidInput(f"shot spans must be finite (start, end) seconds with end >= start; got {bad[:3]}")
    if not math.isfinite(stream_start):
        raise InvalidInput(f"stream_start must be a finite number of seconds; got {stream_start}")
    # 2. measure the track once, then answer every span
    measured = measure_loudness(path)
    if measured is None:
        return [None] * len(spans)
    return [measured.loudness(t0, t1, stream_start=stream_start) for t0, t1 in spans]


def decode_mono(path: Path, rate: int = MONO_RATE) -> tuple[np.ndarray, float]:
    """The first audio stream as mono float32 at ``rate``, and its first sample's time in seconds.

    Holds the whole track (4 bytes a sample: an hour at 16 kHz is about 230 MB); prefer
    ``measure_loudness`` for loudness. Raises InvalidInput when the file has no audio stream.
    """
    path = _check_path(path)
    if rate <= 0:
        raise InvalidInput(f"rate must be a positive number of Hz; got {rate}")
    with _open(path) as container:
        if not container.streams.audio:
            raise InvalidInput(f"{path.name}: has no audio stream")
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=rate)
        chunks: list[np.ndarray] = []
        first_time: float | None = None
        try:
            for chunk, first_time in _iter_audio(container, stream, resampler):
                chunks.append(chunk[0].astype(np.float32, copy=False))
        except av.error.FFmpegError as exc:
            raise AnalysisError(f"{path.name}: audio decoding failed ({exc})") from exc
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    return samples, _stream_start(stream, first_time)


# -- the editing signals: energy, speech, rhythm (one pass with the loudness) ----------------------

ENERGY_BLOCK_S = 0.01  # mean squares are kept per 10 ms ...
ENERGY_HOP_S = 0.05  # ... and reported per 50 ms hop on the analysis clock
ENERGY_FLOOR_DB = -100.0  # digital silence, no audio there, or quieter than this


class EnergyMeter:
    """Streaming RMS level: the mean square over channels (unweighted, LFE left out as for
    loudness) of every 10 ms block. A full-scale sine reads -3.01 dBFS, on one channel or on
    all of them alike; memory is one float per 10 ms (1.4 MB an hour)."""

    def __init__(self, rate: int):
        self.rate = rate
        self._block = int(round(rate * ENERGY_BLOCK_S))
        self._blocks: list[np.ndarray] = []
        self._partial = np.zeros(0)
        self.samples = 0

    def feed(self, samples: np.ndarray) -> None:
        x = np.asarray(samples, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        power = (x * x).mean(axis=0)
        self.samples += power.size
        power = np.concatenate([self._partial, power]) if self._partial.size else power
        whole = power.size // self._block
        if whole:
            self._blocks.append(power[: whole * self._block].reshape(whole, self._block).mean(axis=1))
        self._partial = power[whole * self._block:]

    def finish(self) -> None:
        if self._partial.size >= self._block // 2:
            self._blocks.append(np.array([self._partial.mean()]))
        self._partial = np.zeros(0)

    def blocks(self) -> np.ndarray:
        if len(self._blocks) > 1:
            self._blocks = [np.concatenate(self._blocks)]
        return self._blocks[0] if self._blocks else np.zeros(0)

    def curve(self, start: float, hops: int, hop: float = ENERGY_HOP_S) -> np.ndarray:
        """RMS dBFS of ``hops`` hops of ``hop`` seconds from ``start`` seconds after the first
        sample (negative: before it). Time with no audio counts as silence."""
        per = int(round(hop / ENERGY_BLOCK_S))
        if hops <= 0:
            return np.zeros(0)
        first = int(round(start / ENERGY_BLOCK_S))
        blocks = self.blocks()
        picked = np.zeros(hops * per)
        lo, hi = max(0, first), min(blocks.size, first + hops * per)
        if hi > lo:
            picked[lo - first : hi - first] = blocks[lo:hi]
        ms = picked.reshape(hops, per).mean(axis=1)
        with np.errstate(divide="ignore"):
            return np.maximum(10.0 * np.log10(ms), ENERGY_FLOOR_DB)


@dataclass
class AudioMeasurement:
    """Everything the one audio pass measured, on the audio's own clock (0 = first sample,
    which lies at ``start_time`` on the container clock)."""

    loudness: AudioLoudness
    energy: EnergyMeter
    speech_probs: np.ndarray | None  # one per 512 samples at 16 kHz (None: not measured)
    speech_samples: int
    onset_envelope: np.ndarray | None  # 100 values a second (None: not measured)
    timings: dict[str, float]
    speech: list[tuple[float, float]] | None = None  # speech spans, seconds on the audio clock
    rhythm: object | None = None  # rhythm.Rhythm on the audio clock

    @property
    def start_time(self) -> float:
        return self.loudness.start_time

    def signals(self, video_start: float, duration: float):
        """The editing signals on the analysis clock (0 = the first video frame, presented at
        ``video_start`` on the container clock), clipped to ``[0, duration)``."""
        from workbench.analysis import rhythm, speech
        from workbench.analysis.types import AudioSignals, Span

        shift = self.start_time - video_start  # analysis time = audio time + shift
        spans: list[Span] = []
        found = self.speech
        if found is None and self.speech_probs is not None:
            found = speech.speech_spans(self.speech_probs, self.speech_samples)
        for a, b in found or ():
            a, b = max(0.0, a + shift), min(duration, b + shift)
            if b > a:
                spans.append(Span(round(a, 4), round(b, 4)))
        tempo, beats, onsets = None, (), ()
        r = self.rhythm
        if r is None and self.onset_envelope is not None:
            r = rhythm.rhythm_of_envelope(self.onset_envelope)
        if r is not None:
            beats = tuple(round(t + shift, 4) for t in r.beats if 0.0 <= t + shift < duration)
            onsets = tuple(round(t + shift, 4) for t in r.onsets if 0.0 <= t + shift < duration)
            tempo = r.tempo if beats else None
        hops = max(0, math.ceil(duration / ENERGY_HOP_S - 1e-9))
        energy = tuple(round(float(v), 2) for v in self.energy.curve(-shift, hops))
        return AudioSignals(speech=tuple(spans), onsets=onsets, beats=beats, tempo=tempo,
                            energy_hop=ENERGY_HOP_S, energy_db=energy)


class _Chunker:
    """Collects a resampler's output into chunks of about ``_CHUNK_S``."""

    def __init__(self, resampler: av.AudioResampler, sink):
        self.resampler = resampler
        self.sink = sink
        self._pending: list[np.ndarray] = []
        self._n = 0
        self._chunk = int(resampler.rate * _CHUNK_S)

    def push(self, frame: av.AudioFrame | None) -> None:
        for out in self.resampler.resample(frame):
            self._pending.append(out.to_ndarray())
            self._n += out.samples
            if self._n >= self._chunk:
                self.flush()

    def flush(self) -> None:
        if self._pending:
            self.sink(np.concatenate(self._pending, axis=1))
            self._pending, self._n = [], 0


def measure_audio(path: Path, *, speech: bool = True, rhythm: bool = True, rate: int = LOUDNESS_RATE) -> AudioMeasurement | None:
    """One pass over the first audio stream: loudness and energy (at ``rate``, every channel),
    and, from a 16 kHz mono copy made from the same decoded frames, speech probabilities
    (``workbench.analysis.speech``) and the onset envelope (``workbench.analysis.rhythm``).
    None when the file has no audio stream. Safe to run on a background thread."""
    import time

    from workbench.analysis import rhythm as rhythm_mod
    from workbench.analysis import speech as speech_mod

    path = _check_path(path)
    with _open(path) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        layout, names, keep, meter = _channels(stream, rate, path)
        energy = EnergyMeter(rate)
        if speech and speech_mod.find_model() is None:
            log.warning("event=speech_skipped reason=silero_vad_weights_not_installed fix='pip install --no-deps silero-vad==6.2.3'")
            speech = False
        vad = speech_mod.SpeechDetector() if speech else None
        onsets = rhythm_mod.OnsetEnvelope() if rhythm else None
        timings = {"speech_s": 0.0, "rhythm_s": 0.0}

        def full(chunk: np.ndarray) -> None:
            chunk = chunk[keep] if len(keep) != chunk.shape[0] else chunk
            meter.feed(chunk)
            energy.feed(chunk)

        def mono(chunk: np.ndarray) -> None:
            x = chunk[0]
            if vad is not None:
                t = time.perf_counter()
                vad.feed(x)
                timings["speech_s"] += time.perf_counter() - t
            if onsets is not None:
                t = time.perf_counter()
                onsets.feed(x)
                timings["rhythm_s"] += time.perf_counter() - t

        sinks = [_Chunker(av.AudioResampler(format="fltp", layout=layout, rate=rate), full)]
        if vad is not None or onsets is not None:
            sinks.append(_Chunker(av.AudioResampler(format="fltp", layout="mono", rate=speech_mod.RATE), mono))
        first_time: float | None = None
        try:
            for frame in container.decode(stream):
                if first_time is None and frame.pts is not None:
                    first_time = float(frame.pts * frame.time_base)
                for sink in sinks:
                    sink.push(frame)
            for sink in sinks:
                sink.push(None)
                sink.flush()
        except av.error.FFmpegError as exc:
            raise AnalysisError(f"{path.name}: audio decoding failed after {meter.duration:.1f} s ({exc})") from exc
        meter.finish()
        energy.finish()
        # the last blocks, then spans and beats, here on the background thread
        t = time.perf_counter()
        probs = vad.finish() if vad is not None else None
        spans = speech_mod.speech_spans(probs, vad.samples) if vad is not None else None
        timings["speech_s"] += time.perf_counter() - t
        t = time.perf_counter()
        env = onsets.finish() if onsets is not None else None
        beats = rhythm_mod.rhythm_of_envelope(env) if env is not None else None
        timings["rhythm_s"] += time.perf_counter() - t
        return AudioMeasurement(
            loudness=AudioLoudness(meter=meter, start_time=_stream_start(stream, first_time)),
            energy=energy, speech_probs=probs, speech_samples=vad.samples if vad is not None else 0,
            onset_envelope=env, timings={k: round(v, 3) for k, v in timings.items()}, speech=spans, rhythm=beats,
        )
