"""A sample title for the demo and the tests, made on the spot from images that ship inside
scikit-image (astronaut: NASA, public domain; coffee, chelsea, rocket, moon, hubble: see
skimage.data) plus drawn frames, encoded with the ffmpeg binary from imageio-ffmpeg.

The title has known ground truth: shot boundaries at the frames listed in ``SampleTitle.cuts``,
one face shot, one two-face shot, a warm shot, dark and bright shots, a high-motion shot, a
black gap and a one-frame white flash (not a cut), with a sine soundtrack whose level changes
per shot.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import imageio_ffmpeg
import numpy as np

from workbench.errors import WorkbenchError

W, H, FPS = 1280, 720, 25


@dataclass(frozen=True)
class SampleTitle:
    path: Path
    cuts: tuple[int, ...]  # first frame of each new shot
    flash_frame: int
    frame_count: int


def _skimage(name: str) -> np.ndarray:
    from skimage import data

    img = getattr(data, name)()
    if img.ndim == 2:
        img = np.stack([img] * 3, axis=-1)
    return cv2.cvtColor(img[..., :3].astype(np.uint8), cv2.COLOR_RGB2BGR)


def _cover(img: np.ndarray, zoom: float, dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
    """Scale img to cover WxH at ``zoom``, offset by (dx, dy) in fractions of the spare room."""
    h, w = img.shape[:2]
    scale = max(W / w, H / h) * zoom
    M = np.float32([[scale, 0, (W - w * scale) / 2 * (1 + dx)], [0, scale, (H - h * scale) / 2 * (1 + dy)]])
    return cv2.warpAffine(img, M, (W, H), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def _two_shot(face: np.ndarray) -> Callable[[float], np.ndarray]:
    h, w = face.shape[:2]
    crop = face[: int(h * 0.75), int(w * 0.15) : int(w * 0.75)]
    half = cv2.resize(crop, (W // 2, H))
    warm = np.clip(half.astype(np.int16) + np.array([-20, 5, 25], np.int16), 0, 255).astype(np.uint8)
    frame = np.concatenate([warm, cv2.flip(warm, 1)], axis=1)
    return lambda t: _cover(frame, 1.0 + 0.03 * t)


def _action(t: float) -> np.ndarray:
    frame = np.zeros((H, W, 3), np.uint8)
    frame[:] = (20, 30, 40)
    rng = np.random.default_rng(int(t * 1000))
    for i in range(14):
        x = int((i * 97 + t * 900) % W)
        y = int((i * 53 + t * 400 * (1 + i % 3)) % H)
        color = tuple(int(c) for c in rng.integers(80, 255, 3))
        cv2.circle(frame, (x, y), 30 + (i * 7) % 50, color, -1)
    cv2.rectangle(frame, (int(t * 1500) % W, 300), (int(t * 1500) % W + 200, 420), (0, 0, 255), -1)
    return frame


def _shots() -> list[tuple[str, float, Callable[[float], np.ndarray], float]]:
    """(name, seconds, frame function of t in seconds, audio level dBFS)."""
    astronaut, coffee, chelsea = _skimage("astronaut"), _skimage("coffee"), _skimage("chelsea")
    rocket, moon = _skimage("rocket"), _skimage("moon")
    return [
        ("close-up", 3.0, lambda t: _cover(astronaut, 1.6 + 0.05 * t, 0.0, -0.6), -23.0),
        ("warm still life", 2.4, lambda t: _cover(coffee, 1.0 + 0.04 * t), -30.0),
        ("action", 2.4, _action, -14.0),
        ("two-shot", 2.8, _two_shot(astronaut), -26.0),
        ("sky", 2.4, lambda t: _cover(rocket, 1.1, 0.0, -0.5 + 0.1 * t), -20.0),
        ("black", 0.8, lambda t: np.zeros((H, W, 3), np.uint8), -60.0),
        ("pet", 2.4, lambda t: _cover(chelsea, 1.0 + 0.05 * t), -24.0),
        ("night", 2.4, lambda t: (_cover(moon, 1.2 + 0.03 * t) * 0.45).astype(np.uint8), -32.0),
    ]


def make_sample_title(dest: Path, *, flash: bool = True) -> SampleTitle:
    """Render the sample title to ``dest`` (an .mp4) and return its ground truth."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shots = _shots()
    lengths = [round(s * FPS) for _, s, _, _ in shots]
    cuts = tuple(int(c) for c in np.cumsum(lengths)[:-1])
    total = sum(lengths)
    flash_frame = cuts[3] + lengths[4] // 2 if flash else -1  # one white frame inside the "sky" shot
    # Audio: one sine whose level steps per shot (an ffmpeg volume expression over time).
    level_expr = "+".join(
        f"between(t,{start / FPS:.3f},{(start + n) / FPS - 1e-3:.3f})*{10 ** (db / 20):.5f}"
        for (_, _, _, db), start, n in zip(shots, [0, *cuts], lengths)
    )
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    tmp = dest.with_name(f".tmp-{dest.name}")
    cmd = [
        ffmpeg, "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{W}x{H}", "-r", str(FPS), "-i", "-",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={total / FPS:.3f}",
        "-filter:a", f"volume='{level_expr}':eval=frame",
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-g", "50",
        "-c:a", "aac", "-b:a", "96k", "-shortest", "-movflags", "+faststart", "-f", "mp4", str(tmp),
    ]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    try:
        white = np.full((H, W, 3), 255, np.uint8).tobytes()
        index = 0
        for (_, _, render, _), n in zip(shots, lengths):
            for i in range(n):
                frame = white if index == flash_frame else np.ascontiguousarray(render(i / FPS)).tobytes()
                proc.stdin.write(frame)
                index += 1
    finally:
        proc.stdin.close()
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.wait() != 0:
        tmp.unlink(missing_ok=True)
        raise WorkbenchError(f"could not render the sample title: {err.strip()[:300]}")
    tmp.replace(dest)
    return SampleTitle(path=dest, cuts=cuts, flash_frame=flash_frame, frame_count=total)
