"""Video deliveries: the approved MP4 itself, renditions made from it for ad servers (each
re-signed with the approved file as its parent ingredient), and its cut lists."""

from __future__ import annotations

from dataclasses import dataclass

from provenance import ManifestSpec, sign_file
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
)
from workbench.media.transcode import scaled_copy

RENDITION_HEIGHTS = (720, 480)  # below the approved file's own size


def video_deliveries(approved: ApprovedVariant, folder: str = "") -> list[Delivery]:
    """The approved MP4, its 720p and 480p renditions (never an upscale) and its cut lists (the
    review copy stored with the variant is not delivered: the renditions are made from the
    approved bytes)."""
    row = approved.row
    out: list[Delivery] = [OwnFile(approved, folder)]
    out += [VideoRendition(approved, h, folder) for h in RENDITION_HEIGHTS if row.height and h < row.height]
    out += [SidecarFile(approved, s, folder) for s in approved.sidecars if not s.role.startswith("rendition.")]
    return out


@dataclass
class VideoRendition(Delivery):
    approved: ApprovedVariant
    height: int
    folder: str = ""

    @property
    def name(self) -> str:  # type: ignore[override]
        return f"rendition_{self.height}p"

    @property
    def width(self) -> int:
        row = self.approved.row
        return round((row.width or 0) * self.height / (row.height or 1) / 2) * 2

    def preview(self) -> DeliveryPreview:
        return DeliveryPreview(self.name, self.width, self.height, None, 0, 0, "scaled")

    def arcname(self) -> str:
        return f"{self.folder or self.approved.row.kind}/{self.approved.base_name}_{self.height}p.mp4"

    def write(self, ctx: ExportContext) -> ExportedFile:
        approved, row = self.approved, self.approved.row
        arcname = self.arcname()
        source = ctx.staging / ".unsigned" / f"{approved.base_name}_approved{row.ext}"
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(approved.data)
        unsigned = ctx.staging / ".unsigned" / arcname
        unsigned.parent.mkdir(parents=True, exist_ok=True)
        scaled_copy(source, unsigned, self.height)
        dst = ctx.staging / arcname
        dst.parent.mkdir(parents=True, exist_ok=True)
        parent = Ingredient(title=f"{approved.base_name}{row.ext}", mime=row.mime, data=approved.data,
                            metadata={"com.creativeworkbench.variant_id": row.id, "com.creativeworkbench.sha256": row.sha256})
        model = bool((row.recipe or {}).get("model"))
        actions = (EditAction("c2pa.resized", {"from": [row.width, row.height], "to": [self.width, self.height]}),
                   EditAction("c2pa.transcoded", {"codec": "h264"},
                              description="from an approved variant that contains model-generated pixels" if model else None))
        manifest = ManifestSpec(title=dst.name, mime="video/mp4", actions=actions, parent=parent,
                                recipe={"export": {"variant_id": row.id, "version": row.version, "slot_key": row.slot_key,
                                                   "delivery": self.name, "approved_sha256": row.sha256,
                                                   "approver": approved.approver, "approved_at": approved.approved_at,
                                                   "exported_at": ctx.exported_at.isoformat()},
                                        "variant_recipe": approved.summary})
        sign_file(unsigned, dst, manifest, ctx.identity, claim_generator=ctx.settings.signer_name, durable=False)
        source.unlink(missing_ok=True)
        unsigned.unlink(missing_ok=True)
        return describe(ctx, arcname, approved, self.name, self.width, self.height, "video/mp4", resigned=True)
