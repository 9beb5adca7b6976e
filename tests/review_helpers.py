"""Shared set-up for the review, access and export tests.

Generating real signed thumbnails costs ~10 s (ingest, analysis, render, sign), so it is done
once per session into a template home; each test gets its own copy (catalog, store, keys) and
can approve, tamper and export without affecting the others.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from generators.thumbnails.generator import ThumbnailParams
from workbench import workflow
from workbench.access import Actor
from workbench.catalog import open_catalog
from workbench.settings import Settings, reset_settings_cache

# A name with characters unsafe in file names and a leading '@' (a spreadsheet formula prefix).
TITLE = "@Été: Sample <Cut>"
SEGMENTS = ("romance", "action")
FORMATS = ("16x9", "2x3", "1x1", "9x16")  # one of each, so every delivery spec has a source

ADMIN = Actor("root-admin", "admin")
CREATIVE = Actor("cara", "creative")
LOCALIZER = Actor("lou", "localization")
AD_OPS = Actor("otto", "ad_ops")


@dataclass(frozen=True)
class Template:
    home: Path
    title_id: int
    variant_ids: tuple[int, ...]


_template: Template | None = None


def template(tmp_path_factory: pytest.TempPathFactory, sample_title) -> Template:
    """Built once per session: the sample title with 2 segments x 4 formats x top-1 = 8 variants."""
    global _template
    if _template is None:
        home = tmp_path_factory.mktemp("review-template") / "home"
        settings = Settings(home=home)
        ingested = workflow.ingest(sample_title.path, TITLE, settings=settings)
        result = workflow.generate("thumbnail", 
            ingested.title_id, ThumbnailParams(segments=SEGMENTS, formats=FORMATS, top_k=1), settings=settings
        )
        open_catalog(settings).close()  # checkpoint the WAL so a plain copy is complete
        _template = Template(home, ingested.title_id, tuple(sorted(v.variant_id for v in result.variants)))
    return _template


def copy_home(tpl: Template, dest: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A private copy of the template home, also made the default (WORKBENCH_HOME) for the test."""
    shutil.copytree(tpl.home, dest, symlinks=True)
    monkeypatch.setenv("WORKBENCH_HOME", str(dest))
    monkeypatch.delenv("WORKBENCH_DATABASE_URL", raising=False)
    reset_settings_cache()
    return Settings(home=dest)


def make_writable(path: Path) -> None:
    """Stored files are read-only (0444); a test that tampers with one makes it writable first."""
    path.chmod(0o644)


FAST_HASHER_PARAMS = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2's defaults (64 MiB, 3 passes) cost ~0.3 s a hash here, on purpose; tests that
    make many users use light parameters (the code path is the same)."""
    from argon2 import PasswordHasher

    from workbench import users

    hasher = PasswordHasher(**FAST_HASHER_PARAMS)
    dummy = hasher.hash("dummy-password")
    monkeypatch.setattr(users, "_hasher", lambda: hasher)
    monkeypatch.setattr(users, "_dummy_hash", lambda: dummy)
