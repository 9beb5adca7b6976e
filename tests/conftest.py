"""Shared fixtures. The core suite makes its own media (ffmpeg lavfi sources, Pillow drawings,
images shipped in scikit-image); tests of ../shared/media skip with a reason when it is absent."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Real PostgreSQL and Redis servers for the tests that need them (started on demand).
pytest_plugins = ["tests.services"]

SHARED_MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def shared_media(name: str) -> Path:
    path = SHARED_MEDIA / name
    if not path.exists():
        pytest.skip(f"../shared/media/{name} is not here (a plain clone has no ../shared)")
    return path


def ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-loglevel", "error", "-y", *args], check=True)


def lavfi_video(dest: Path, source: str, seconds: float, *, audio: bool = False, extra: tuple[str, ...] = ()) -> Path:
    args = ["-f", "lavfi", "-i", source]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    args += ["-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *extra]
    if audio:
        args += ["-c:a", "aac", "-shortest"]
    ffmpeg(*args, str(dest))
    return dest


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An isolated WORKBENCH_HOME for the test, with the settings cache reset around it."""
    from workbench.settings import reset_settings_cache

    path = tmp_path / "wb-home"
    monkeypatch.setenv("WORKBENCH_HOME", str(path))
    monkeypatch.delenv("WORKBENCH_DATABASE_URL", raising=False)
    reset_settings_cache()
    yield path
    reset_settings_cache()


@pytest.fixture(scope="session")
def sample_title(tmp_path_factory):
    """The demo's sample title (known cuts, a face shot, a two-shot, black gap, a flash)."""
    from workbench.sample import make_sample_title

    return make_sample_title(tmp_path_factory.mktemp("sample") / "sample-title.mp4")


@pytest.fixture(scope="session")
def tpl(tmp_path_factory, sample_title):
    """Signed, catalogued review variants of the sample title, made once (tests/review_helpers.py)."""
    from tests.review_helpers import template

    return template(tmp_path_factory, sample_title)


@pytest.fixture
def wb(tpl, tmp_path, monkeypatch):
    """This test's own copy of ``tpl``'s home: its Settings."""
    from tests.review_helpers import copy_home
    from workbench.catalog import open_catalog

    settings = copy_home(tpl, tmp_path / "home", monkeypatch)
    yield settings
    open_catalog(settings).close()


@pytest.fixture
def ui_home(home, tmp_path_factory, sample_title):
    """This test's own copy of a small real catalog for the review UI: signed variants, one
    account per role (tests/ui_support.py). The embedded broker a regenerate or retry starts is
    stopped afterwards."""
    from tests.ui_support import copy_home, stop_broker, template_home

    yield copy_home(template_home(tmp_path_factory, sample_title.path), home)
    stop_broker(home)


@pytest.fixture
def server(ui_home, tmp_path):
    """The review app served for real (``workbench review``'s command), on a free port."""
    from tests.ui_support import ReviewServer

    srv = ReviewServer(ui_home, tmp_path)
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def fail_on_error_logs(caplog):
    """As PySceneDetect's suite: an ERROR logged during a test fails it."""
    yield
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    if errors:
        pytest.fail("ERROR logged: " + "; ".join(r.getMessage() for r in errors))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny seeded random-weight diffusion model, built once for the run (no hub, no download)."""
    from generators.diffusion.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-sd", seed=0)


@pytest.fixture
def with_model(monkeypatch, tiny_model):
    """``WORKBENCH_DIFFUSION_MODEL`` set to the tiny model for one test."""
    from workbench.settings import reset_settings_cache

    monkeypatch.setenv("WORKBENCH_DIFFUSION_MODEL", str(tiny_model))
    reset_settings_cache()
    yield tiny_model
    reset_settings_cache()
