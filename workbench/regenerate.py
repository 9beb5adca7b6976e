"""Regenerate one variant slot with a reviewer's tweak: a job for the workers whose output lands
as the slot's next version, ``pending`` review.

The tweaks a variant supports are its kind's (:attr:`generators.base.CreativeKind.tweaks`: for
thumbnails another frame, a crop moved, another treatment, seed or engine), and so is the way a
tweak turns the variant's recipe into new parameters (:meth:`CreativeKind.apply_tweak`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generators import get_kind
from workbench import jobs
from workbench.access import Actor, require
from workbench.briefs import JobSpec
from workbench.catalog import open_catalog, repo
from workbench.catalog.models import Variant
from workbench.errors import InvalidInput, NotFound
from workbench.ids import check_id
from workbench.settings import Settings, get_settings


@dataclass(frozen=True)
class Regenerated:
    job: jobs.JobView  # follow it with workbench.jobs.get_job
    dispatch: jobs.Dispatch  # queued for a worker, running here, or waiting for a worker (with a note)


def tweaked_params(kind: str, recipe: dict[str, Any], tweak: dict[str, Any]) -> Any:
    """The parameters that regenerate a recipe's slot with ``tweak`` applied (checked)."""
    creative = get_kind(kind)
    if not isinstance(tweak, dict):
        raise InvalidInput("a tweak is a mapping of tweak names to values")
    params = creative.apply_tweak(recipe, tweak)
    creative.check_params(params)
    return params


def regenerate(actor: Actor, variant_id: int, tweak: dict[str, Any], *, comment: str | None = None,
               settings: Settings | None = None) -> Regenerated:
    """Queue a job that makes the slot's next version, and say where it went (see
    :func:`workbench.jobs.dispatch`: with no worker serving its queue it runs in this process
    when ``WORKBENCH_INLINE_JOBS`` is on, else it waits and the note says so)."""
    require(actor, "regenerate")
    settings = settings or get_settings()
    with open_catalog(settings).session() as session:
        variant = session.get(Variant, check_id(variant_id, "variant id"))
        if variant is None:
            raise NotFound(f"no variant {variant_id}")
        kind = get_kind(variant.kind)
        params = tweaked_params(variant.kind, variant.recipe or {}, dict(tweak))
        title_id = variant.title_id
    [(view, _created)] = jobs.create_jobs([JobSpec(kind.kind, title_id, kind.regenerate_params(params))],
                                          requested_by=actor.name, source_variant_id=variant_id, settings=settings)
    if view.state in ("failed", "cancelled"):
        view = jobs.reset_for_retry(view.id, by=actor, settings=settings)
    with open_catalog(settings).session() as session:
        variant = session.get(Variant, variant_id)
        repo.record_audit(session, actor=actor.name, role=actor.role, action="variant.regenerate", variant=variant,
                          comment=comment, details={"tweak": dict(tweak), "job_id": view.id})
    sent = jobs.dispatch(view, settings) if view.state == "queued" else jobs.Dispatch("queued", view.queue(settings))
    return Regenerated(jobs.get_job(view.id, settings=settings), sent)
