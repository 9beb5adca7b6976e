"""Still deliveries: an approved image cut to the IAB display sizes and the pause-ad still, each
re-signed, never upscaled.

- *Boxes* (300x250, 300x600) are cover-cropped when the crop keeps at least :data:`MIN_COVER_KEEP`
  of the source's area (300x250 from 16:9 and 1:1; 300x600 from 9:16 and 2:3).
- *Strips* (728x90, 970x250, 320x50 landscape; 160x600 portrait) are cut from sources of the same
  orientation at least :data:`STRIP_MIN_ASPECT`:1 (16:9 for the leaderboards, 9:16 and 2:3 for the
  skyscraper). Where the window sits is decided by the shared smart crop
  (:func:`generators.imaging.crop.plan_crop`) with the faces of the variant itself (recorded by its
  kind in the recipe, ``details.faces``, whatever treatment made it; older recipes: the source
  frame's faces from the analysis, mapped through the crop the recipe records) and its saliency
  box, so faces stay in the strip whenever they fit.
- The pause-ad still, 1920x1080, from 16:9 sources at least that big (a 1920x1080 JPEG is
  delivered as is).

Every cut file is re-signed: ``c2pa.opened`` on the approved file as its ``parentOf`` ingredient
(whose own manifest travels inside), then ``c2pa.cropped``/``c2pa.resized`` (and
``c2pa.converted`` when the format changed) as performed; when the approved file holds
model-made pixels its first action says so too.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from PIL import Image

from generators.imaging.crop import CropPlan, plan_crop
from generators.imaging.encode import JPEG_OPTIONS
from provenance import COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA, ManifestSpec, sign_file
from workbench.analysis.types import Box, Face
from workbench.catalog import open_catalog
from workbench.catalog.models import Analysis, Keyframe
from workbench.creative import EditAction, Ingredient
from workbench.deliveries import (
    ApprovedVariant,
    Delivery,
    DeliveryPreview,
    ExportContext,
    ExportedFile,
    OwnFile,
    SidecarFile,
    describe,
    write_bytes,
)
from workbench.settings import Settings

Fit = Literal["own", "cover", "strip", "pause"]

MIN_COVER_KEEP = 0.6  # a box crop keeps at least this share of the source's area
STRIP_MIN_ASPECT = 1.5  # a strip's source is at least this elongated, in the strip's orientation
PAUSE_ASPECT_TOLERANCE = 0.01


@dataclass(frozen=True)
class DeliverySpec:
    name: str  # "display_300x250", "pause_1920x1080"
    width: int
    height: int
    fit: Fit
    folder: str  # where its files go inside the export

    def applies_to(self, width: int, height: int) -> bool:
        """Whether a ``width`` x ``height`` source can be delivered at this spec (see the module doc)."""
        if width < self.width or height < self.height:
            return False  # never upscale
        source, target = width / height, self.width / self.height
        if self.fit == "cover":
            return min(source, target) / max(source, target) >= MIN_COVER_KEEP
        if self.fit == "strip":
            if target >= 1:
                return source >= STRIP_MIN_ASPECT
            return 1 / source >= STRIP_MIN_ASPECT
        if self.fit == "pause":
            return abs(source / target - 1) <= PAUSE_ASPECT_TOLERANCE
        return True


DELIVERY_SPECS: tuple[DeliverySpec, ...] = (
    DeliverySpec("display_300x250", 300, 250, "cover", "display/300x250"),
    DeliverySpec("display_300x600", 300, 600, "cover", "display/300x600"),
    DeliverySpec("display_160x600", 160, 600, "strip", "display/160x600"),
    DeliverySpec("display_728x90", 728, 90, "strip", "display/728x90"),
    DeliverySpec("display_970x250", 970, 250, "strip", "display/970x250"),
    DeliverySpec("display_320x50", 320, 50, "strip", "display/320x50"),
    DeliverySpec("pause_1920x1080", 1920, 1080, "pause", "pause"),
)


def delivery_plans(width: int, height: int, mime: str, faces: tuple[Face, ...] = (),
                   saliency: Box | None = None) -> list[tuple[DeliverySpec, CropPlan | None]]:
    """The deliveries a ``width`` x ``height`` approved file gets, each with the crop that makes
    it (None: delivered as the file itself, byte for byte)."""
    out: list[tuple[DeliverySpec, CropPlan | None]] = []
    for spec in DELIVERY_SPECS:
        if not spec.applies_to(width, height):
            continue
        if (width, height) == (spec.width, spec.height) and mime == "image/jpeg":
            out.append((spec, None))
        else:
            out.append((spec, plan_crop(width, height, spec.width, spec.height, faces, saliency)))
    return out


def still_deliveries(approved: ApprovedVariant, folder: str = "") -> list[Delivery]:
    """The approved still itself, its sidecars, and each display/pause size it can be cut to."""
    row = approved.row
    out: list[Delivery] = [OwnFile(approved, folder), *(SidecarFile(approved, s, folder) for s in approved.sidecars)]
    if row.width and row.height:
        out += [StillCut(approved, spec, plan) for spec, plan in
                delivery_plans(row.width, row.height, row.mime, approved.faces, approved.saliency)]
    return out


@dataclass
class StillCut(Delivery):
    """One delivery spec cut from the approved still (``plan`` None: the file itself fits it)."""

    approved: ApprovedVariant
    spec: DeliverySpec
    plan: CropPlan | None

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.spec.name

    def preview(self) -> DeliveryPreview:
        n = len(self.approved.faces)
        if self.plan is None:
            return DeliveryPreview(self.spec.name, self.spec.width, self.spec.height, None, n, n, "own")
        return DeliveryPreview(self.spec.name, self.spec.width, self.spec.height, self.plan.box,
                               self.plan.faces_kept, self.plan.faces_total, self.plan.strategy)

    def write(self, ctx: ExportContext) -> ExportedFile:
        approved, spec, plan, row = self.approved, self.spec, self.plan, self.approved.row
        arcname = f"{spec.folder}/{approved.base_name}_{spec.name}.jpg"
        if plan is None:
            return write_bytes(ctx, arcname, approved.data, approved, spec.name, row.width or 0, row.height or 0, row.mime)
        with Image.open(io.BytesIO(approved.data)) as im:
            im.load()
            image = im.convert("RGB") if im.mode != "RGB" else im.copy()
        rendered = image.resize((spec.width, spec.height), Image.Resampling.LANCZOS, box=plan.box, reducing_gap=3.0)
        unsigned = ctx.staging / ".unsigned" / arcname
        unsigned.parent.mkdir(parents=True, exist_ok=True)
        rendered.save(unsigned, "JPEG", **JPEG_OPTIONS)
        dst = ctx.staging / arcname
        dst.parent.mkdir(parents=True, exist_ok=True)
        parent = Ingredient(
            title=f"{approved.base_name}{row.ext}", mime=row.mime, data=approved.data, relationship="parentOf",
            metadata={"com.creativeworkbench.variant_id": row.id, "com.creativeworkbench.version": row.version,
                      "com.creativeworkbench.sha256": row.sha256},
        )
        manifest = ManifestSpec(
            title=dst.name, mime="image/jpeg", actions=cut_actions(plan, row.mime, model_made=bool((row.recipe or {}).get("model"))),
            parent=parent,
            recipe={"export": {"variant_id": row.id, "version": row.version, "slot_key": row.slot_key,
                               "delivery": spec.name, "approved_sha256": row.sha256, "approver": approved.approver,
                               "approved_at": approved.approved_at, "exported_at": ctx.exported_at.isoformat(),
                               "crop": plan.to_dict()},
                    "variant_recipe": approved.summary},
        )
        sign_file(unsigned, dst, manifest, ctx.identity, claim_generator=ctx.settings.signer_name, durable=False)
        unsigned.unlink()
        return describe(ctx, arcname, approved, spec.name, spec.width, spec.height, "image/jpeg", resigned=True,
                        crop={**plan.to_dict()["box"], "strategy": plan.strategy})


def cut_actions(plan: CropPlan, source_mime: str, *, model_made: bool = False) -> tuple[EditAction, ...]:
    """What the export did. When the approved file holds model-made pixels, the first action says
    so too (its own manifest, not only the parent ingredient's), so the delivered file never reads
    as free of AI content."""
    actions = []
    if not plan.is_full_frame:
        actions.append(EditAction("c2pa.cropped", {"x": plan.x, "y": plan.y, "width": plan.width,
                                                   "height": plan.height, "unit": "px"}))
    if plan.needs_resize:
        actions.append(EditAction("c2pa.resized", {"from": [plan.width, plan.height],
                                                   "to": [plan.target_width, plan.target_height], "filter": "lanczos"}))
    if source_mime != "image/jpeg":
        actions.append(EditAction("c2pa.converted", {"from": source_mime, "to": "image/jpeg"}))
    if model_made and actions:
        first = actions[0]
        actions[0] = EditAction(first.action, first.parameters,
                                description="from an approved variant that contains model-generated pixels",
                                digital_source_type=COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA)
    return tuple(actions)


# -- where faces are in an approved image --------------------------------------------------------


def load_geometry(items: list[ApprovedVariant], settings: Settings) -> None:
    """The face boxes and saliency box of each variant, in the variant's own coordinates. A recipe
    that records where faces are in its image (``details.faces``: every treatment, outpaint
    included) is used as is; older recipes get their source frame's faces from the stored
    analysis, mapped through the crop the recipe records. Variants with neither get none (their
    strips are centred)."""
    wanted: dict[tuple[str, int], list[ApprovedVariant]] = {}
    for item in items:
        recipe = item.row.recipe or {}
        details = recipe.get("details") or {}
        recorded = _recorded_faces(details.get("faces"))
        if recorded is not None:
            item.faces = recorded
        crop = details.get("crop")
        if recipe.get("source_sha256") and isinstance(details.get("frame"), int) and (recorded is None or isinstance(crop, dict)):
            wanted.setdefault((recipe["source_sha256"], details["frame"]), []).append(item)
    if not wanted:
        return
    shas = sorted({sha for sha, _ in wanted})
    frames = sorted({frame for _, frame in wanted})
    found: dict[tuple[str, int], tuple[list[Any], dict[str, Any]]] = {}
    with open_catalog(settings).session() as session:
        rows = session.execute(
            sa.select(Analysis.source_sha256, Keyframe.frame, Keyframe.faces, Keyframe.features)
            .join(Analysis, Analysis.id == Keyframe.analysis_id)
            .where(Analysis.source_sha256.in_(shas), Keyframe.frame.in_(frames))
            .order_by(Analysis.id)  # a newer analysis of the same source wins
        ).all()
    for sha, frame, faces, features in rows:
        found[(sha, frame)] = (faces or [], features or {})
    for key, group in wanted.items():
        if key not in found:
            continue
        faces, features = found[key]
        for item in group:
            crop = (item.row.recipe.get("details") or {}).get("crop")
            if not isinstance(crop, dict):
                continue
            item.saliency = _map_box(features.get("saliency_box"), crop)
            if item.faces:
                continue  # recorded by the generator
            mapped = [_map_box(f.get("box"), crop) for f in faces if isinstance(f, dict)]
            item.faces = tuple(
                Face(box=box, confidence=float(f.get("confidence", 1.0)))
                for f, box in zip([f for f in faces if isinstance(f, dict)], mapped)
                if box is not None
            )


def _recorded_faces(value: Any) -> tuple[Face, ...] | None:
    """``details.faces`` of a recipe as Face boxes (None: the recipe records none or is malformed)."""
    if not isinstance(value, list):
        return None
    faces = []
    for f in value:
        try:
            box = Box(float(f["x"]), float(f["y"]), float(f["w"]), float(f["h"]))
        except (KeyError, TypeError, ValueError):
            return None
        if box.w > 0 and box.h > 0:
            faces.append(Face(box=box, confidence=float(f.get("confidence", 1.0))))
    return tuple(faces)


def _map_box(box: Any, crop: dict[str, Any]) -> Box | None:
    """A box normalised to the source frame, normalised to the variant (the crop window resized),
    clipped to it; None when it falls outside or the data is incomplete."""
    try:
        window = crop["box"]
        frame_w, frame_h = crop["source_size"]
        x0 = (box["x"] * frame_w - window["x"]) / window["width"]
        y0 = (box["y"] * frame_h - window["y"]) / window["height"]
        x1 = x0 + box["w"] * frame_w / window["width"]
        y1 = y0 + box["h"] * frame_h / window["height"]
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(1.0, x1), min(1.0, y1)
    if x1 <= x0 or y1 <= y0:
        return None
    return Box(x0, y0, x1 - x0, y1 - y0)


# -- rendering --------------------------------------------------------------------------------


