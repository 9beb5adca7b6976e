"""Where people speak: silero-vad speech probabilities, then hysteresis into spans.

The model
---------
Silero VAD v6 (MIT), from the ``silero-vad`` wheel: ``silero_vad/data/silero_vad.jit`` is loaded
with ``torch.jit.load``. The package's Python code is never imported: its ``__init__`` calls
``torch.set_num_threads(1)`` for the whole process (which would slow the face model and
everything else on torch). The file is found with ``importlib.util.find_spec``, which does not
run the package.

The model reads 16 kHz mono in chunks of 512 samples (32 ms), each with the 64 samples before
it as context, and gives one speech probability per chunk. Inside, it is an STFT and four
convolutions per chunk (no state), then **one LSTM cell** carried from chunk to chunk, then a
1x1 convolution and a sigmoid. The reference loop (``model(chunk, 16000)`` per chunk, as
``silero_vad.get_speech_timestamps`` runs it) costs ~0.5 ms a chunk in Python: 56 s for an hour.

Here the stateless front end runs on every chunk of a block as one batch, and the LSTM cell's
weights are copied into a ``torch.nn.LSTM``, which runs the whole sequence in one call (the
same gates, in C++); its state is carried from block to block, so audio is fed in pieces and
memory does not grow with the length. The probabilities are the reference loop's (to ~1e-6:
``tests/test_analysis_editing.py`` checks it), with no windows or overlaps to approximate:
0.4 s for 10 minutes on the 2-core bench machine, about 2.3 s an hour, ~25x faster.

Spans
-----
``speech_spans`` is silero's own hysteresis (``get_speech_timestamps_from_probs``, no maximum
speech length): speech starts at a chunk >= 0.5, ends after ``min_silence_s`` (100 ms) under
0.35; spans of ``min_speech_s`` (250 ms) or less are dropped; each span is padded by ``pad_s``
(30 ms), and neighbours closer than two pads meet half way.

Limits: it is a voice detector, not a dialogue detector. Singing counts as speech (the
Hamilton clip reads as speech throughout), and some animal calls and melodic music do too
(Big Buck Bunny's score reads as speech 2.7-5.0 s). Pure tones and silence read as none.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np
import torch

from workbench.errors import AnalysisError, InvalidInput

RATE = 16_000  # Hz, the rate the model reads
CHUNK = 512  # samples per probability (32 ms)
CONTEXT = 64  # samples of context before each chunk
THRESHOLD = 0.5
NEG_THRESHOLD = 0.35
MIN_SPEECH_S = 0.25
MIN_SILENCE_S = 0.10
PAD_S = 0.03
_BLOCK_CHUNKS = 1024  # chunks (~33 s) encoded per batch while streaming


def find_model() -> Path | None:
    """The silero-vad JIT file shipped in the wheel, without importing the package."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "data" / "silero_vad.jit"
        if path.is_file():
            return path
    return None


class _Model:
    """The loaded network, split into its stateless front end and the recurrent part."""

    def __init__(self, path: Path) -> None:
        jit = torch.jit.load(str(path), map_location="cpu").eval()
        inner = jit._model  # the 16 kHz network (jit._model_8k is the 8 kHz one)
        self.stft = inner.stft
        self.encoder = inner.encoder
        self.head = inner.decoder.decoder  # dropout (off in eval), ReLU, 1x1 conv, sigmoid
        cell = inner.decoder.rnn
        lstm = torch.nn.LSTM(cell.weight_ih.shape[1], cell.weight_hh.shape[1], batch_first=False)
        with torch.no_grad():
            lstm.weight_ih_l0.copy_(cell.weight_ih)
            lstm.weight_hh_l0.copy_(cell.weight_hh)
            lstm.bias_ih_l0.copy_(cell.bias_ih)
            lstm.bias_hh_l0.copy_(cell.bias_hh)
        self.lstm = lstm.eval()
        self.hidden = cell.weight_hh.shape[1]

    def forward(self, chunks: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None):
        """Probabilities of ``chunks`` (n, CONTEXT + CHUNK) in order, and the LSTM state after them."""
        feats = self.encoder(self.stft(chunks)).squeeze(-1)  # (n, hidden)
        out, state = self.lstm(feats.unsqueeze(1), state)  # (n, 1, hidden)
        probs = self.head(out.squeeze(1).unsqueeze(-1))  # (n, 1, 1)
        return probs.reshape(-1), state


_model: _Model | None = None
_model_lock = threading.Lock()


def get_model() -> _Model:
    """The process-wide model, loaded on first use (about 50 ms)."""
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:
                path = find_model()
                if path is None:
                    raise AnalysisError("silero-vad weights not found: pip install --no-deps silero-vad==6.2.3")
                _model = _Model(path)
    return _model


class SpeechDetector:
    """Streaming: feed 16 kHz mono float samples in pieces of any size, then :meth:`finish`
    for one speech probability per 512-sample chunk from the first sample fed."""

    def __init__(self) -> None:
        self._model = get_model()
        self._state: tuple[torch.Tensor, torch.Tensor] | None = None
        self._context = np.zeros(CONTEXT, np.float32)
        self._pending: list[np.ndarray] = []
        self._pending_n = 0
        self._probs: list[np.ndarray] = []
        self.samples = 0
        self._finished = False

    def feed(self, samples: np.ndarray) -> None:
        if self._finished:
            raise AnalysisError("SpeechDetector.feed after finish(): create a new detector")
        x = np.asarray(samples, dtype=np.float32).reshape(-1)
        if x.size == 0:
            return
        self.samples += x.size
        self._pending.append(x)
        self._pending_n += x.size
        if self._pending_n >= _BLOCK_CHUNKS * CHUNK:
            self._run(final=False)

    def finish(self) -> np.ndarray:
        if not self._finished:
            self._run(final=True)
            self._finished = True
        return np.concatenate(self._probs) if self._probs else np.zeros(0, np.float32)

    def _run(self, *, final: bool) -> None:
        x = np.concatenate(self._pending) if self._pending else np.zeros(0, np.float32)
        whole = x.size // CHUNK
        if final and x.size % CHUNK:
            whole += 1  # the last chunk is padded with zeros, as the reference loop does
            x = np.concatenate([x, np.zeros(whole * CHUNK - x.size, np.float32)])
        rest = x[whole * CHUNK:]
        x = x[: whole * CHUNK]
        self._pending, self._pending_n = ([rest], rest.size) if rest.size else ([], 0)
        if whole == 0:
            return
        padded = torch.from_numpy(np.concatenate([self._context, x]))
        self._context = x[-CONTEXT:].copy()
        chunks = padded.unfold(0, CONTEXT + CHUNK, CHUNK)  # (whole, 576), chunk i with its context
        # TorchScript's profiling executor re-specialises the graph for every new input shape
        # and spent 4-8 s on each of the first calls here before running fast; the plain
        # interpreter is as fast from the first call. The setting is per thread.
        with torch.inference_mode(), torch.jit.optimized_execution(False):
            for a in range(0, whole, _BLOCK_CHUNKS):
                probs, self._state = self._model.forward(chunks[a : a + _BLOCK_CHUNKS], self._state)
                self._probs.append(probs.numpy().astype(np.float32, copy=True))


def speech_probabilities(samples: np.ndarray, rate: int = RATE) -> np.ndarray:
    """One probability per 512-sample chunk of 16 kHz mono ``samples``."""
    if rate != RATE:
        raise InvalidInput(f"speech detection reads 16 kHz mono; got {rate} Hz (resample first)")
    detector = SpeechDetector()
    detector.feed(samples)
    return detector.finish()


def speech_spans(
    probs: np.ndarray,
    total_samples: int | None = None,
    *,
    threshold: float = THRESHOLD,
    neg_threshold: float = NEG_THRESHOLD,
    min_speech_s: float = MIN_SPEECH_S,
    min_silence_s: float = MIN_SILENCE_S,
    pad_s: float = PAD_S,
) -> list[tuple[float, float]]:
    """Speech (start, end) seconds from the first sample, from per-chunk probabilities."""
    probs = np.asarray(probs, dtype=np.float64).reshape(-1)
    total = int(total_samples) if total_samples is not None else probs.size * CHUNK
    min_speech = RATE * min_speech_s
    min_silence = RATE * min_silence_s
    pad = RATE * pad_s
    spans: list[list[int]] = []
    triggered = False
    start = 0
    temp_end: int | None = None
    above = probs >= threshold
    below = probs < neg_threshold
    for i in np.flatnonzero(above | below):  # chunks in between change nothing
        cur = CHUNK * int(i)
        if above[i]:
            temp_end = None
            if not triggered:
                triggered, start = True, cur
            continue
        if triggered:
            if temp_end is None:
                temp_end = cur
            if cur - temp_end < min_silence:
                continue
            if temp_end - start > min_speech:
                spans.append([start, temp_end])
            triggered, temp_end = False, None
    if triggered and total - start > min_speech:
        spans.append([start, total])
    for i, span in enumerate(spans):
        if i == 0:
            span[0] = int(max(0, span[0] - pad))
        if i != len(spans) - 1:
            gap = spans[i + 1][0] - span[1]
            if gap < 2 * pad:
                span[1] += int(gap // 2)
                spans[i + 1][0] = int(max(0, spans[i + 1][0] - gap // 2))
            else:
                span[1] = int(min(total, span[1] + pad))
                spans[i + 1][0] = int(max(0, spans[i + 1][0] - pad))
        else:
            span[1] = int(min(total, span[1] + pad))
    return [(a / RATE, b / RATE) for a, b in spans]
