"""Regenerate one variant slot with a reviewer's tweak: a job for the workers whose output lands
as the slot's next version, ``pending`` review.

Tweaks (any combination):

* ``{"frame": "next"}``: another frame: this variant's frame (and any an earlier regeneration
  excluded) is left out, so the slot's pick falls to the next best frame;
* ``{"crop": "left" | "right" | "up" | "down"}``: the crop window moved that way;
* ``{"treatment": "outpaint" | "restyle" | "clean" | None}``: another treatment (None: none);
* ``{"seed": N}``: another seed for a model treatment; ``{"engine": "classical"}`` and so on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from generators.diffusion.treatments import TreatmentParams
from generators.thumbnails.crop import CROP_SHIFTS
from generators.thumbnails.generator import ThumbnailParams
from workbench import jobs
from workbench.access import Actor, require
from workbench.briefs import JobSpec
from workbench.catalog import open_catalog, repo
from workbench.catalog.models import Variant
from workbench.errors import InvalidInput, NotFound
from workbench.ids import check_id
from workbench.queue import Dispatch, dispatch
from workbench.settings import Settings, get_settings

TWEAKS = ("frame", "crop", "treatment", "seed", "engine")


def tweaked_params(recipe: dict[str, Any], tweak: dict[str, Any]) -> ThumbnailParams:
    """The parameters that regenerate this recipe's slot with ``tweak`` applied."""
    unknown = set(tweak) - set(TWEAKS)
    if unknown:
        raise InvalidInput(f"unknown tweak(s) {', '.join(sorted(unknown))}; known: {', '.join(TWEAKS)}")
    p = recipe.get("parameters") or {}
    details = recipe.get("details") or {}
    rank = int(p.get("rank", 1))
    exclude = list(p.get("exclude_frames") or [])
    if tweak.get("frame") is not None:
        if tweak["frame"] != "next":
            raise InvalidInput("frame tweak must be 'next'")
        exclude.append(int(details["frame"]))
    crop = tweak.get("crop", p.get("crop_shift"))
    if crop is not None and crop not in CROP_SHIFTS:
        raise InvalidInput(f"crop tweak must be one of {', '.join(CROP_SHIFTS)}")
    treatment = TreatmentParams.from_value(p.get("treatment"))
    if "treatment" in tweak:
        if tweak["treatment"] is None:
            treatment = None
        elif treatment is None:
            treatment = TreatmentParams(tweak["treatment"])
        else:  # another treatment keeps engine, seed, steps, guidance and working size; not its prompt or regions
            treatment = replace(treatment, name=tweak["treatment"], strength=None, prompt=None, negative_prompt=None, regions=())
    if "seed" in tweak or "engine" in tweak:
        if treatment is None:
            raise InvalidInput("seed and engine tweaks need a treatment")
        treatment = replace(treatment, **{k: tweak[k] for k in ("seed", "engine") if k in tweak})
    params = ThumbnailParams(
        segments=(p["segment"],), formats=(p["format"],), top_k=max(rank, int(p.get("top_k", rank))), only_rank=rank,
        title_text=p.get("title_text"), output=(p.get("output", "jpeg"),), exclude_frames=tuple(exclude),
        crop_shift=crop, treatment=treatment,
    )
    if params.treatment is not None:
        params.treatment.check()
    return params


@dataclass(frozen=True)
class Regenerated:
    job: jobs.JobView  # follow it with workbench.jobs.get_job
    dispatch: Dispatch  # queued for a worker, running here, or waiting for a worker (with a note)


def regenerate(actor: Actor, variant_id: int, tweak: dict[str, Any], *, comment: str | None = None,
               settings: Settings | None = None) -> Regenerated:
    """Queue a job that makes the slot's next version, and say where it went (see
    :func:`workbench.queue.dispatch`: with no worker serving its queue it runs in this process
    when ``WORKBENCH_INLINE_JOBS`` is on, else it waits and the note says so)."""
    require(actor, "regenerate")
    settings = settings or get_settings()
    with open_catalog(settings).session() as session:
        variant = session.get(Variant, check_id(variant_id, "variant id"))
        if variant is None:
            raise NotFound(f"no variant {variant_id}")
        if variant.kind != "thumbnail":
            raise InvalidInput(f"variant {variant_id} is a {variant.kind}: only thumbnails can be regenerated yet")
        params = tweaked_params(variant.recipe or {}, dict(tweak))
        title_id = variant.title_id
    data = params.to_dict()
    for derived in ("title_name", "rights"):  # filled in when the job runs
        data.pop(derived, None)
    [(view, _created)] = jobs.create_jobs([JobSpec("thumbnail", title_id, data)], settings=settings)
    if view.state in ("failed", "cancelled"):
        view = jobs.reset_for_retry(view.id, by=actor, settings=settings)
    with open_catalog(settings).session() as session:
        variant = session.get(Variant, variant_id)
        repo.record_audit(session, actor=actor.name, role=actor.role, action="variant.regenerate", variant=variant,
                          comment=comment, details={"tweak": dict(tweak), "job_id": view.id})
    sent = dispatch(view, settings) if view.state == "queued" else Dispatch("queued", view.queue(settings))
    return Regenerated(jobs.get_job(view.id, settings=settings), sent)
