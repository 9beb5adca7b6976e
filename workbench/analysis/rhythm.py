"""Onsets, tempo and beats, with numpy and scipy only (no weights, no librosa).

The method is librosa's (Ellis 2007, "Beat tracking by dynamic programming"), written here so
that it costs no numba JIT at start and streams over an hour of audio:

1. **Onset strength** (:class:`OnsetEnvelope`): 16 kHz mono, Hann frames of 512 samples
   (32 ms) every 160 (10 ms: 100 values a second), centred; power spectrum scaled so a
   full-scale sine reads 0 dB; 64 triangular mel bands 30 Hz..8 kHz in dB, floored at -80 dB
   (hiss below that is silence); spectral flux = the mean over bands of the rise in dB from the
   previous frame (falls count 0). The value is placed near where the sound that caused it
   starts: half a window after its frame's centre (librosa shifts it the same way), less one
   hop (measured on clicks, see ``ENV_OFFSET_S``).
   Streaming: samples are fed in pieces and only the envelope is kept (400 bytes a second).
2. **Tempo** (:func:`estimate_tempo`): the envelope smoothed by a 20 ms Gaussian;
   autocorrelation in 8 s Hann windows every 2 s inside the signal (each window's mean
   removed, normalised by its lag-0 value, and scaled down when the window's envelope varies by
   less than 1 dB: coding noise on a steady tone is no pulse), averaged; each lag's
   strength ``log1p(1e6 * ac)`` plus a log-normal prior around 120 BPM (one octave wide), best
   lag between 30 and 320 BPM, refined by a parabola through its neighbours. The averaged
   autocorrelation at that lag is the **pulse** (0..1): a click track reads ~0.7-0.9, music
   with a clear beat 0.1-0.4, tones, noise and silence under 0.03.
3. **Beats** (:func:`track_beats`): the envelope over its standard deviation, smoothed by a
   Gaussian a period wide (the local score); dynamic programming, each frame's best
   predecessor between half a period and two periods back, penalised by
   ``-100 * log(gap / period)^2``; the last beat where the cumulative score peaks above half
   its median peak; backtracked; weak beats trimmed at both ends. Vectorised in blocks of half
   a period (every predecessor of a block lies before it), so an hour takes about a second.
4. Beats are kept only where the sound is rhythmic: where the local window's autocorrelation
   at the beat period is at least ``MIN_PULSE`` (0.06), and so is a neighbouring window's
   (windows overlap by 6 s: music lasts; one window alone is an edge or a bang). No such
   window: no tempo, no beats.
   Each beat is then moved to the start of its attack (:func:`snap_to_attacks`: a gated tone
   has a second transient where it stops, and the programme may pick either). The reported
   tempo is the one the kept beats keep (their mean spacing), finer than the
   autocorrelation's one-frame lag grid.
5. **Onsets** (:func:`pick_onsets`): the envelope normalised by its maximum over the
   surrounding 10 s (at least 4 dB, so near-silence is not magnified); a peak is the largest
   value of the last 30 ms, at least 0.07 over the mean of the 100 ms around it and at least
   1 dB of flux; peaks closer than 30 ms to the previous one are dropped (librosa's
   ``peak_pick`` rules, with a local instead of a global maximum: one explosion does not
   silence the rest of a film).

:func:`beats_of` runs it all on any mono signal at any rate (resampled to 16 kHz with a
polyphase filter first): the trailer's music bed is analysed with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view
from scipy import ndimage
from scipy.signal import get_window, resample_poly

from workbench.errors import AnalysisError, InvalidInput

RATE = 16_000
HOP = 160  # samples: 10 ms
N_FFT = 512  # samples: 32 ms
FPS = RATE / HOP  # envelope values a second
N_MELS = 64
FMIN, FMAX = 30.0, 8000.0
DB_FLOOR = -80.0
# Envelope value k belongs to time k / FPS + this: half a window after the frame's centre is
# where a sound entering the window starts; one hop less, measured on clicks (beats and onsets
# then land within 5 ms of the click's first sample; half a window alone read 10-13 ms late).
ENV_OFFSET_S = (N_FFT / 2 - HOP) / RATE
_BLOCK_FRAMES = 2048  # STFT frames computed per batch while streaming

START_BPM = 120.0
STD_BPM = 1.0  # octaves
MIN_BPM, MAX_BPM = 30.0, 320.0
AC_SECONDS = 8.0
AC_HOP_SECONDS = 2.0
TIGHTNESS = 100.0
SMOOTH_SECONDS = 0.02  # the envelope is smoothed by a Gaussian this wide before autocorrelation
MIN_PULSE = 0.06  # measured: clicks 0.88, drum-and-pad music 0.34, the Hamilton song 0.12,
# Big Buck Bunny's score 0.14; a steady tone 0.02, pink noise 0.01, silence 0

MIN_FLUX_DB = 1.0  # a window whose envelope varies less than this carries less pulse weight
ONSET_SCALE_DB = 4.0  # onset normalisation never divides by less (near-silence stays quiet) ...
ONSET_MIN_DB = 1.0  # ... and an onset raises the mean band level by at least this
NORM_SECONDS = 10.0


def _hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)


def mel_filters(rate: int = RATE, n_fft: int = N_FFT, n_mels: int = N_MELS, fmin: float = FMIN, fmax: float = FMAX) -> np.ndarray:
    """Triangular mel filters (HTK mel scale), each with unit area: shape (n_mels, n_fft // 2 + 1)."""
    freqs = np.arange(n_fft // 2 + 1) * rate / n_fft
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(min(fmax, rate / 2)), n_mels + 2))
    lower = (freqs[None, :] - edges[:-2, None]) / (edges[1:-1] - edges[:-2])[:, None]
    upper = (edges[2:, None] - freqs[None, :]) / (edges[2:] - edges[1:-1])[:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]  # Slaney-style: equal area per band
    # a band narrower than one bin would be empty: give it its nearest bin
    for i in np.flatnonzero(weights.sum(axis=1) == 0):
        weights[i, int(np.argmin(np.abs(freqs - edges[i + 1])))] = 1.0
    return weights / weights.sum(axis=1, keepdims=True)


class OnsetEnvelope:
    """Streaming onset strength of 16 kHz mono samples (see the module docstring, step 1)."""

    def __init__(self, rate: int = RATE):
        if rate != RATE:
            raise InvalidInput(f"OnsetEnvelope reads {RATE} Hz mono; got {rate} Hz (resample first)")
        self._window = get_window("hann", N_FFT).astype(np.float32)
        self._scale = (2.0 / float(self._window.sum())) ** 2
        self._mel = mel_filters(RATE, N_FFT, N_MELS, FMIN, FMAX).astype(np.float32)
        self._amin = 10.0 ** (DB_FLOOR / 10.0)
        self._buf = np.zeros(N_FFT // 2, np.float32)  # centred frames: half a window of zeros first
        self._prev: np.ndarray | None = None
        self._env: list[np.ndarray] = []
        self._frames = 0
        self.samples = 0
        self._finished = False

    def feed(self, samples: np.ndarray) -> None:
        if self._finished:
            raise AnalysisError("OnsetEnvelope.feed after finish(): create a new one")
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        if x.size == 0:
            return
        self.samples += x.size
        self._buf = np.concatenate([self._buf, x])
        if self._buf.size >= N_FFT + HOP * _BLOCK_FRAMES:
            self._compute((self._buf.size - N_FFT) // HOP + 1)

    def finish(self) -> np.ndarray:
        """The envelope: one value per 10 ms frame, ``1 + samples // 160`` of them."""
        if not self._finished:
            total = 1 + self.samples // HOP
            need = total - self._frames
            if need > 0:
                self._buf = np.concatenate([self._buf, np.zeros(max(0, (need - 1) * HOP + N_FFT - self._buf.size), np.float32)])
                self._compute(need)
            self._finished = True
        return np.concatenate(self._env) if self._env else np.zeros(0, np.float32)

    def _compute(self, n: int) -> None:
        for a in range(0, n, _BLOCK_FRAMES):  # in blocks: a whole file at once would hold GBs of frames
            m = min(_BLOCK_FRAMES, n - a)
            start = a * HOP
            frames = sliding_window_view(self._buf[start : start + (m - 1) * HOP + N_FFT], N_FFT)[::HOP] * self._window
            spec = scipy.fft.rfft(frames, axis=1)  # single precision
            power = (spec.real**2 + spec.imag**2) * np.float32(self._scale)
            db = 10.0 * np.log10(np.maximum(power @ self._mel.T, self._amin))
            prev = db[:1] if self._prev is None else self._prev
            flux = np.maximum(0.0, np.diff(np.concatenate([prev, db]), axis=0)).mean(axis=1)
            self._prev = db[-1:]
            self._env.append(flux.astype(np.float32))
        self._frames += n
        self._buf = self._buf[n * HOP:]


def onset_strength(samples: np.ndarray, rate: int = RATE) -> np.ndarray:
    """The onset envelope of mono ``samples`` (any rate: resampled to 16 kHz first)."""
    env = OnsetEnvelope()
    env.feed(to_rate(samples, rate))
    return env.finish()


def to_rate(samples: np.ndarray, rate: int, target: int = RATE) -> np.ndarray:
    """Mono float32 at ``target`` Hz (polyphase resampling when the rate differs)."""
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 2:  # (channels, n) or (n, channels): average the channels
        x = x.mean(axis=0 if x.shape[0] <= x.shape[1] else 1)
    if x.ndim != 1:
        raise InvalidInput(f"expected mono samples shaped (n,) or (channels, n); got {x.shape}")
    if not isinstance(rate, int) or rate <= 0:
        raise InvalidInput(f"rate must be a positive whole number of Hz; got {rate!r}")
    if rate == target:
        return x
    ratio = Fraction(target, rate).limit_denominator(1000)
    return resample_poly(x, ratio.numerator, ratio.denominator).astype(np.float32)


def frame_times(frames: np.ndarray | list[int]) -> np.ndarray:
    """Seconds from the first sample of envelope frames."""
    return np.asarray(frames, dtype=np.float64) / FPS + ENV_OFFSET_S


# -- tempo ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tempo:
    bpm: float | None  # None: no periodicity at all
    period: float  # envelope frames per beat
    pulse: float  # averaged autocorrelation at the period, 0..1
    local_pulse: np.ndarray  # per window
    window_centres: np.ndarray  # envelope frame of each window's centre


def _local_autocorrelation(env: np.ndarray, win: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Autocorrelation (lags 0..win-1) of Hann windows of ``env`` every ``hop`` frames, each
    window inside the signal (no padding: a step into zeros would read as a pulse), its mean
    removed, normalised by its lag-0 value and weighted by how much it moves at all (a window
    whose envelope varies by less than ``MIN_FLUX_DB`` is mostly coding noise: weight < 1)."""
    win = min(win, env.size)
    starts = np.arange(0, env.size - win + 1, hop)
    frames = sliding_window_view(env.astype(np.float64), win)[starts]
    frames = (frames - frames.mean(axis=1, keepdims=True)) * np.hanning(win)[None, :]
    # RMS of the windowed frame over the Hann window's own RMS (sqrt(3/8)): the envelope's
    # spread where the window looks (an edge the window fades out does not count)
    strength = np.minimum(1.0, np.sqrt((frames**2).mean(axis=1) / 0.375) / MIN_FLUX_DB)
    spec = np.fft.rfft(frames, n=2 * win, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, n=2 * win, axis=1)[:, :win]
    zero = ac[:, :1]
    ac = np.where(zero > 1e-12, ac / np.maximum(zero, 1e-12), 0.0) * strength[:, None]
    return ac, starts + win // 2


def estimate_tempo(env: np.ndarray, fps: float = FPS, *, start_bpm: float = START_BPM, std_bpm: float = STD_BPM,
                   min_bpm: float = MIN_BPM, max_bpm: float = MAX_BPM) -> Tempo:
    env = np.asarray(env, dtype=np.float64)
    win = int(min(round(AC_SECONDS * fps), env.size))
    empty = Tempo(None, 0.0, 0.0, np.zeros(0), np.zeros(0, int))
    if env.size < 8 or not np.any(env > 0):
        return empty
    # Smoothed a little first (20 ms): one beat's onset may land a frame early or late, and a
    # one-frame-wide envelope would split its autocorrelation peak over three lags.
    smooth = ndimage.gaussian_filter1d(env, SMOOTH_SECONDS * fps, mode="constant")
    ac, centres = _local_autocorrelation(smooth, win, max(1, int(round(AC_HOP_SECONDS * fps))))
    live = ac[:, 0] > 0
    if not live.any():
        return empty
    mean_ac = ac[live].mean(axis=0)
    lags = np.arange(win, dtype=np.float64)
    with np.errstate(divide="ignore"):
        bpms = 60.0 * fps / lags
    allowed = (lags >= 1) & (bpms >= min_bpm) & (bpms <= max_bpm)
    if not allowed.any():
        return empty
    prior = -0.5 * ((np.log2(np.where(allowed, bpms, 1.0)) - math.log2(start_bpm)) / std_bpm) ** 2
    score = np.where(allowed, np.log1p(1e6 * np.maximum(mean_ac, 0.0)) + prior, -np.inf)
    best = int(np.argmax(score))
    lag = float(best)
    if 1 <= best < win - 1:  # parabola through the neighbours of the peak
        y0, y1, y2 = mean_ac[best - 1], mean_ac[best], mean_ac[best + 1]
        denom = y0 - 2 * y1 + y2
        if denom < 0:
            lag += float(np.clip(0.5 * (y0 - y2) / denom, -0.5, 0.5))
    local = np.where(live, ac[:, best], 0.0)
    return Tempo(60.0 * fps / lag, lag, float(max(0.0, mean_ac[best])), local, centres)


# -- beats ------------------------------------------------------------------------------------


def track_beats(env: np.ndarray, period: float, *, tightness: float = TIGHTNESS, trim: bool = True) -> np.ndarray:
    """Beat frames by dynamic programming over the onset envelope (see the module docstring)."""
    env = np.asarray(env, dtype=np.float64)
    if env.size == 0 or not np.any(env > 0) or period < 2:
        return np.zeros(0, dtype=int)
    p = int(round(period))
    onsets = env / (env.std(ddof=1) + 1e-12)
    kernel = np.exp(-0.5 * (np.arange(-p, p + 1) * 32.0 / p) ** 2)
    local = np.convolve(onsets, kernel, mode="same")
    n = local.size
    offsets = np.arange(-2 * p, -int(round(p / 2)) + 1)  # predecessor offsets
    txwt = -tightness * np.log(-offsets / p) ** 2
    cum = np.zeros(n)
    back = np.full(n, -1, dtype=np.int64)
    step = max(1, int(round(p / 2)))  # every predecessor of a block lies before the block
    for b in range(0, n, step):
        idx = np.arange(b, min(b + step, n))
        pred = idx[:, None] + offsets[None, :]
        valid = pred >= 0
        cand = txwt[None, :] + np.where(valid, cum[np.maximum(pred, 0)], 0.0)
        best = np.argmax(cand, axis=1)
        rows = np.arange(idx.size)
        cum[idx] = local[idx] + cand[rows, best]
        back[idx] = np.where(valid[rows, best], pred[rows, best], -1)
    # the first beat: nothing before the local score first becomes noticeable
    thresh = 0.01 * local.max()
    first = int(np.argmax(local >= thresh))
    back[:first] = -1
    # the last beat: the last local maximum of the cumulative score above half their median
    peaks = np.flatnonzero((cum[1:-1] > cum[:-2]) & (cum[1:-1] >= cum[2:])) + 1
    if peaks.size == 0:
        return np.zeros(0, dtype=int)
    median = float(np.median(cum[peaks]))
    good = peaks[cum[peaks] * 2 > median]
    tail = int(good.max() if good.size else peaks.max())
    beats = [tail]
    while back[beats[-1]] >= 0:
        beats.append(int(back[beats[-1]]))
    beats = np.array(beats[::-1], dtype=int)
    if trim and beats.size:
        smooth = np.convolve(local[beats], get_window("hann", 5), mode="same")
        threshold = 0.5 * math.sqrt(float((smooth**2).mean()))
        valid = np.flatnonzero(smooth > threshold)
        beats = beats[valid.min() : valid.max() + 1] if valid.size else beats[:0]
    return beats


def snap_to_attacks(env: np.ndarray, frames: np.ndarray, before: float = 0.06, after: float = 0.02) -> np.ndarray:
    """Each beat moved to the start of its attack: the first frame within ``before`` s before
    (to ``after`` s after) it whose envelope reaches half the largest value there. A sound with
    two transients (a gated tone, a flam) gets its beat on the first, where a cut should land."""
    env = np.asarray(env, dtype=np.float64)
    out = []
    b0, a0 = int(round(before * FPS)), int(round(after * FPS))
    for b in frames:
        lo, hi = max(0, int(b) - b0), min(env.size, int(b) + a0 + 1)
        seg = env[lo:hi]
        if seg.size == 0 or seg.max() <= 0:
            out.append(int(b))
            continue
        out.append(lo + int(np.argmax(seg >= 0.5 * seg.max())))
    snapped = np.array(out, dtype=int)
    return np.unique(snapped) if snapped.size else snapped


# -- onsets -----------------------------------------------------------------------------------


def pick_onsets(env: np.ndarray, fps: float = FPS, *, pre_max: float = 0.03, post_max: float = 0.0,
                pre_avg: float = 0.10, post_avg: float = 0.10, wait: float = 0.03, delta: float = 0.07) -> np.ndarray:
    """Onset frames: peaks of the locally normalised envelope (see the module docstring)."""
    x = np.asarray(env, dtype=np.float64)
    if x.size == 0:
        return np.zeros(0, dtype=int)
    norm_win = max(1, int(round(NORM_SECONDS * fps)))
    raw = x
    x = x / np.maximum(ndimage.maximum_filter1d(x, norm_win, mode="nearest"), ONSET_SCALE_DB)
    pre_mx, post_mx = int(pre_max * fps), int(post_max * fps) + 1
    pre_av, post_av = int(pre_avg * fps), int(post_avg * fps) + 1
    wait_n = int(wait * fps)
    n = x.size
    idx = np.arange(n)
    # largest value of x[i - pre_mx : i + post_mx] and mean of x[i - pre_av : i + post_av], truncated at the ends
    mov_max = ndimage.maximum_filter1d(x, pre_mx + post_mx, mode="constant", cval=0.0,
                                       origin=int(math.ceil(0.5 * (pre_mx - post_mx))))
    csum = np.concatenate([[0.0], np.cumsum(x)])
    lo, hi = np.maximum(0, idx - pre_av), np.minimum(n, idx + post_av)
    mov_avg = (csum[hi] - csum[lo]) / np.maximum(1, hi - lo)
    candidates = np.flatnonzero((raw >= ONSET_MIN_DB) & (x == mov_max) & (x >= mov_avg + delta))
    peaks: list[int] = []
    last = -(10**9)
    for i in candidates:
        if i > last + wait_n:
            peaks.append(int(i))
            last = int(i)
    return np.array(peaks, dtype=int)


# -- all of it --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rhythm:
    tempo: float | None  # BPM; None when nothing rhythmic was found
    beats: tuple[float, ...]  # seconds from the first sample
    onsets: tuple[float, ...]
    pulse: float


def rhythm_of_envelope(env: np.ndarray, *, min_pulse: float = MIN_PULSE) -> Rhythm:
    """Tempo, beats and onsets from an onset envelope (100 values a second)."""
    env = np.asarray(env, dtype=np.float64)
    onsets = tuple(round(float(t), 4) for t in frame_times(pick_onsets(env)))
    tempo = estimate_tempo(env)
    rhythmic = tempo.local_pulse >= min_pulse
    if rhythmic.size > 1:  # a window counts with a rhythmic neighbour (one alone is an edge or a bang)
        neighbour = np.zeros_like(rhythmic)
        neighbour[1:] |= rhythmic[:-1]
        neighbour[:-1] |= rhythmic[1:]
        rhythmic &= neighbour
    if tempo.bpm is None or not rhythmic.any():
        return Rhythm(None, (), onsets, tempo.pulse)
    frames = track_beats(env, tempo.period)
    if frames.size:
        # keep beats inside rhythmic windows (nearest window centre)
        nearest = np.abs(frames[:, None] - tempo.window_centres[None, :]).argmin(axis=1)
        frames = frames[rhythmic[nearest]]
    if frames.size == 0:
        return Rhythm(None, (), onsets, tempo.pulse)
    frames = snap_to_attacks(env, frames)
    times = frame_times(frames)
    bpm = tempo.bpm
    gaps = np.diff(times)
    gaps = gaps[(gaps > 0.5 * tempo.period / FPS) & (gaps < 1.5 * tempo.period / FPS)]
    if gaps.size >= 3:  # the tempo the beats keep (finer than one envelope frame)
        bpm = 60.0 / float(np.median(gaps)) if gaps.size < 8 else 60.0 / float(gaps.mean())
    beats = tuple(round(float(t), 4) for t in times)
    return Rhythm(round(bpm, 2), beats, onsets, round(tempo.pulse, 4))


def beats_of(samples: np.ndarray, rate: int) -> tuple[float | None, tuple[float, ...], tuple[float, ...]]:
    """(tempo in BPM or None, beat times, onset times) of a mono signal, seconds from its first
    sample. Any rate; stereo (channels, n) is averaged. This is what analysis runs on a title's
    sound, usable on any audio file (``audio.decode_mono`` then this)."""
    r = rhythm_of_envelope(onset_strength(samples, rate))
    return r.tempo, r.beats, r.onsets
