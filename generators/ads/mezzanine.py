"""The spot's mezzanine: the high-quality master VAST 4 names in ``<Mezzanine>`` for ad stitchers
and transcoders (not for playback), as ProRes 422 HQ in QuickTime (10-bit 4:2:2, every frame a
key frame) with 24-bit PCM sound at the spot's size and frame rate.

The bundled ffmpeg (imageio-ffmpeg) has two ProRes encoders; ``prores`` (Anatolyi's) writes
422 HQ about ten times faster than ``prores_ks`` on two cores (4 s against 40 s for 10 s of
1080p), so it is preferred. An ffmpeg without ProRes falls back to H.264 intra (every frame a key
frame, CRF 10, 4:2:2 High 4:2:2) in MP4. The recipe and the VAST say which was made.

It is encoded from the spot's master MP4 (the renderer writes one encode), so its quality is the
master's, in the container and codec stitchers expect. The workflow signs it as a rendition of the
signed master (C2PA carries a manifest in QuickTime as in MP4).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from workbench import scratch
from workbench.errors import GenerationError
from workbench.media.source import ffmpeg_input_args

PRORES_HQ = 3  # ffmpeg's ProRes profile number for 422 HQ (FourCC apch)


@dataclass(frozen=True)
class Mezzanine:
    path: Path
    mime: str
    codec: str  # as VAST writes it: the FourCC for ProRes ("apch"), RFC 6381 for H.264
    encoder: str
    pix_fmt: str
    width: int
    height: int

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.path.name, "mime": self.mime, "codec": self.codec, "encoder": self.encoder,
                "pix_fmt": self.pix_fmt, "width": self.width, "height": self.height}


@lru_cache(maxsize=4)
def _encoders(ffmpeg: str) -> frozenset[str]:
    out = subprocess.run([ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=60, check=False).stdout
    return frozenset(line.split()[1] for line in out.splitlines() if len(line.split()) > 1 and line.startswith(" V"))


def make_mezzanine(master: Path, dest_stem: Path, width: int, height: int, *, timeout_s: float = 3600) -> Mezzanine:
    """The mezzanine of ``master`` beside ``dest_stem`` (its extension chosen by the codec),
    written under a temp name and renamed: a failed encode leaves no file."""
    from generators.trailers.render import ffmpeg_exe

    ffmpeg = ffmpeg_exe()
    encoders = _encoders(ffmpeg)
    if "prores" in encoders or "prores_ks" in encoders:
        encoder = "prores" if "prores" in encoders else "prores_ks"
        dest, mime, codec, pix_fmt = dest_stem.with_suffix(".mov"), "video/quicktime", "apch", "yuv422p10le"
        video = ["-c:v", encoder, "-profile:v", str(PRORES_HQ), "-vendor", "apl0", "-pix_fmt", pix_fmt]
        audio = ["-c:a", "pcm_s24le", "-ar", "48000"]
        container = ["-f", "mov"]
    else:
        encoder = "libx264"
        dest, mime, codec, pix_fmt = dest_stem.with_suffix(".mp4"), "video/mp4", "avc1.7A0028", "yuv422p"
        video = ["-c:v", "libx264", "-profile:v", "high422", "-pix_fmt", pix_fmt, "-crf", "10", "-preset", "medium",
                 "-x264-params", "keyint=1:min-keyint=1:scenecut=0"]
        audio = ["-c:a", "aac", "-b:a", "320k", "-ar", "48000"]
        container = ["-movflags", "+faststart", "-f", "mp4"]
    tmp = dest.with_name(scratch.temp_name(scratch.TEMP_PREFIX, dest.suffix))
    cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", *ffmpeg_input_args(master), "-map", "0:v:0", "-map", "0:a:0?",
           *video, *audio, *container, str(tmp)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
        if proc.returncode != 0:
            raise GenerationError(f"ffmpeg could not encode the mezzanine ({encoder}): "
                                  f"{' '.join(proc.stderr.decode(errors='replace').split())[-300:]}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return Mezzanine(dest, mime, codec, encoder, pix_fmt, width, height)


__all__ = ["Mezzanine", "make_mezzanine"]
