"""Regenerate a variant slot with a reviewer's tweak: the job goes through the broker, and its
output lands as the slot's next version, pending review."""

from __future__ import annotations

import pytest

from generators.thumbnails.generator import ThumbnailParams
from workbench import jobs, workflow
from workbench.access import Actor, PermissionDenied
from workbench.catalog import open_catalog
from workbench.catalog.models import AuditEvent, Variant
from workbench.errors import InvalidInput
from workbench.regenerate import regenerate
from workbench.settings import Settings

pytestmark = pytest.mark.timeout(300)
CREATIVE = Actor("cara", "creative")


@pytest.fixture
def first(home, sample_title):
    from workers.broker import EmbeddedBroker

    workflow.ingest(sample_title.path, "Sample")
    p = ThumbnailParams(segments=("romance",), formats=("16x9",), top_k=2)
    result = workflow.generate("thumbnail", "Sample", p)
    yield result.variants[1]  # pick 2
    EmbeddedBroker(home).stop()


def run_and_reload(view) -> Variant:
    outcome = jobs.run_job(view.id)
    assert outcome.outcome == "done", outcome
    [new_id] = outcome.result["variants"]
    with open_catalog(Settings()).session() as s:
        v = s.get(Variant, new_id)
        s.expunge(v)
        return v


@pytest.mark.parametrize("tweak, check", [
    ({"frame": "next"}, lambda old, new: new.recipe["details"]["frame"] != old.recipe["details"]["frame"]),
    ({"crop": "left"}, lambda old, new: new.recipe["details"]["crop"]["box"]["x"] <= old.recipe["details"]["crop"]["box"]["x"]),
    ({"treatment": "restyle"}, lambda old, new: new.recipe["details"]["treatment"]["engine"] == "classical"),
])
def test_regenerate_makes_the_next_version_pending(first, tweak, check):
    view = regenerate(CREATIVE, first.variant_id, tweak, comment="try again").job
    assert view.state == "queued" and view.celery_task_id  # sent to the workers
    new = run_and_reload(view)
    with open_catalog(Settings()).session() as s:
        old = s.get(Variant, first.variant_id)
        assert new.slot_key == old.slot_key and new.version == old.version + 1
        assert new.review_status == "pending"
        assert check(old, new)
        event = s.query(AuditEvent).filter_by(action="variant.regenerate").one()
        assert event.actor == "cara" and event.details["tweak"] == tweak and event.comment == "try again"


def test_regenerate_is_checked(first):
    with pytest.raises(PermissionDenied, match="may not regenerate"):
        regenerate(Actor("otto", "ad_ops"), first.variant_id, {"frame": "next"})
    with pytest.raises(InvalidInput, match="unknown tweak"):
        regenerate(CREATIVE, first.variant_id, {"zoom": 2})
    with pytest.raises(InvalidInput, match="need a treatment"):
        regenerate(CREATIVE, first.variant_id, {"seed": 3})
