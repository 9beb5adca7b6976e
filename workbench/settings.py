"""One settings object, read from ``WORKBENCH_*`` environment variables (and an optional
``.env``-style file named by ``WORKBENCH_SETTINGS_FILE``). Every knob is documented in the README."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WORKBENCH_",
        env_file=os.environ.get("WORKBENCH_SETTINGS_FILE"),
        extra="ignore",
    )

    home: Path = Field(default=Path(".workbench"), description="Where the catalog, asset store and keys live.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite file under home.")

    # Provenance
    signing_cert: Path | None = Field(default=None, description="PEM certificate chain (end-entity first) for production signing.")
    signing_key: Path | None = Field(default=None, description="PEM private key for the production certificate.")
    trust_anchors: Path | None = Field(default=None, description="PEM root certificates treated as trusted; default: the development root.")
    signer_name: str = Field(default="Creative Workbench", description="Claim generator / signer display name.")

    # Ingest limits
    max_image_pixels: int = Field(default=100_000_000, description="Largest still accepted, in pixels (decompression-bomb guard).")
    max_video_side: int = Field(default=8192, description="Largest video width or height accepted.")
    max_file_bytes: int = Field(default=200 * 1024**3, description="Largest source file accepted.")

    # Analysis
    analysis_width: int = Field(default=320, description="Width frames are decoded at for shot detection and motion.")
    keyframe_width: int = Field(default=640, description="Width keyframe candidates are kept at for faces and features.")
    cut_threshold: float = Field(default=27.0, description="Content-change score (0-255 scale) that marks a hard cut.")
    min_shot_frames: int = Field(default=15, description="Shortest shot, in frames.")
    keyframes_per_shot: int = Field(default=3, description="Most keyframes kept per shot.")
    decode_threads: int = Field(default=0, description="Decoder threads; 0 lets the decoder choose.")

    # Workers
    broker_url: str | None = Field(default=None, description="Celery broker; default: the embedded Redis under home/broker.")
    result_backend: str | None = Field(default=None, description="Celery result backend; default: the broker.")
    visibility_timeout: int = Field(default=3600, description="Seconds before Redis redelivers an unacknowledged job (a killed worker's).")
    job_lease_s: int = Field(default=30, description="A running job's heartbeat lease; a job whose lease ran out may be taken over.")
    max_deliveries: int = Field(default=3, description="Deliveries of one job before it is failed as poison (it killed its worker each time).")
    max_retries: int = Field(default=3, description="Retries, with exponential backoff, of a job that raised an unexpected error.")
    job_queue: str = Field(default="celery", description="How jobs reach workers: celery (the workers/ package), or module:Class implementing workbench.queue.JobQueue.")
    inline_jobs: bool = Field(default=False, description="When no worker serves a job's queue, the review UI runs the job in its own process instead of waiting.")

    # Diffusion (generators/diffusion)
    diffusion_model: str | None = Field(default=None, description="Diffusion model: a local diffusers folder, a single-file .safetensors/.ckpt checkpoint, or a hub id (needs network). Unset: classical treatments only.")
    diffusion_device: str = Field(default="auto", description="auto (CUDA when present, else CPU), cpu, cuda or cuda:N.")
    diffusion_dtype: str = Field(default="auto", description="auto (fp16 on CUDA, bf16 where the card prefers it; fp32 on CPU), float16, bfloat16 or float32.")
    diffusion_compile: bool = Field(default=False, description="torch.compile the UNet on load (slow first call, faster after; GPU workers).")
    diffusion_steps: int = Field(default=25, description="Default denoising steps.")
    diffusion_batch: int = Field(default=4, description="Most requests for one model run in one pipeline call.")
    ai_treatments_default: str = Field(default="denied", description="Model treatments for a title with no rights record: allowed or denied.")

    # Trailers and promos (generators/trailers)
    brand_template: Path | None = Field(default=None, description="Brand template JSON for title cards and end slates; default: assets/brand/default.json.")

    # Ads (generators/ads)
    scene_model: Path | None = Field(default=None, description="A local CLIP-style image-text model folder (transformers) for zero-shot scene tags; default: the classical tags.")
    ads_cdn_base: str | None = Field(default=None, description="https base URL where exported ad media is served; the exported VAST documents point there.")

    # Review UI and export
    session_ttl_s: int = Field(default=8 * 3600, description="A review UI login lasts this long.")
    notify_webhook: str | None = Field(default=None, description="An http(s) URL that gets a JSON POST for each review notification (mentions, new versions, finished batches): a chat tool's incoming webhook.")
    max_upload_mb: int = Field(default=50, description="Largest file the review UI accepts in an upload, in MB.")
    preview_side: int = Field(default=320, description="Longest side of the cached previews the review UI shows.")

    @property
    def store_dir(self) -> Path:
        return self.home / "store"

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @property
    def output_dir(self) -> Path:
        return self.home / "out"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'catalog.sqlite').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    """Forget the cached settings (tests and the CLI's --home option change the environment)."""
    get_settings.cache_clear()
