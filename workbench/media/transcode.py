"""Re-encoding a finished video: a smaller copy for review or delivery, the same sound."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import imageio_ffmpeg

from workbench import scratch
from workbench.errors import GenerationError
from workbench.media.source import ffmpeg_input_args


def scaled_copy(src: Path, dest: Path, height: int, *, preset: str = "veryfast", crf: int = 23,
                timeout_s: float = 3600) -> Path:
    """``src`` scaled to ``height`` (width kept even, aspect kept), H.264 High yuv420p, the audio
    copied, ``+faststart``; written under a temp name and renamed (no partial file on failure)."""
    dest = Path(dest)
    tmp = dest.with_name(scratch.temp_name(scratch.TEMP_PREFIX, dest.suffix or ".mp4"))
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *ffmpeg_input_args(src),
           "-vf", f"scale=-2:{height}:flags=bicubic", "-c:v", "libx264", "-profile:v", "high", "-pix_fmt", "yuv420p",
           "-preset", preset, "-crf", str(crf), "-c:a", "copy", "-movflags", "+faststart", "-f", "mp4", str(tmp)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout_s)
        if proc.returncode != 0:
            raise GenerationError(f"ffmpeg could not make a {height}p copy: {' '.join(proc.stderr.decode(errors='replace').split())[-300:]}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest
