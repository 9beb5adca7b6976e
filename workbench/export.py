"""The ad-ops export: approved variants only, provenance re-verified, rendered to delivery specs,
re-signed, packed into a zip with a manifest.

What one export does (:func:`export_approved`):

1. **Permission first**: the actor needs ``export`` (ad_ops, admin).
2. **Selection**: the newest *approved* version of each slot (of one title, or all).
3. **Verification**, per variant, before anything is rendered: the stored file must exist, still
   have the SHA-256 the catalog recorded when it was made (a file altered after approval is
   refused even if it carries some valid manifest), and its C2PA manifest must verify as
   ``Trusted`` or ``Valid``. A variant that fails is *blocked* with the reason; the rest proceed.
4. **Rendering** to the delivery specs (:data:`DELIVERY_SPECS`), never upscaling:

   - the thumbnail at its own size: the approved file itself, byte for byte (its own manifest;
     its checksum is the catalog's);
   - IAB display sizes. *Boxes* (300x250, 300x600) are cover-cropped when the crop keeps at least
     :data:`MIN_COVER_KEEP` of the source's area (300x250 from 16:9 and 1:1; 300x600 from 9:16 and
     2:3). *Strips* (728x90, 970x250, 320x50 landscape; 160x600 portrait) are cut from sources of
     the same orientation at least :data:`STRIP_MIN_ASPECT`:1 (16:9 for the leaderboards, 9:16 and
     2:3 for the skyscraper). Where the window sits is decided by the thumbnail generator's own
     smart crop (:func:`generators.thumbnails.crop.plan_crop`) with the frame's face boxes (from
     the analysis, mapped into the variant through the crop its recipe records) and saliency box,
     so faces stay in the strip whenever they fit;
   - a pause-ad still, 1920x1080, from 16:9 sources at least that big (a 1920x1080 JPEG is
     delivered as is).

   Every rendered file is re-signed: ``c2pa.opened`` on the approved file as its ``parentOf``
   ingredient (whose own manifest travels inside), then ``c2pa.cropped``/``c2pa.resized`` (and
   ``c2pa.converted`` when the format changed) as performed.
5. **Packing**: ``OUT/<export>/`` holds the files (``thumbnails/``, ``display/<WxH>/``,
   ``pause/``) with ``manifest.json`` and ``manifest.csv``; ``OUT/<export>.zip`` holds the same,
   in sorted order. One ``export`` audit event records the counts, and each blocked variant gets
   an ``export.blocked`` event with its reason.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import logging
import os
import shutil
import stat
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from PIL import Image
from sqlalchemy.orm import aliased

import workbench
from generators.base import EditAction
from generators.thumbnails.crop import CropPlan, plan_crop
from generators.thumbnails.render import JPEG_OPTIONS
from provenance import (
    Ingredient,
    COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA,
    ManifestSpec,
    load_identity,
    sign_file,
    trust_anchors_for,
    verify_file,
)
from workbench import scratch
from workbench.access import Actor, require
from workbench.analysis.types import Box, Face
from workbench.catalog import open_catalog, repo
from workbench.catalog.models import Analysis, Keyframe, ReviewEvent, Variant
from workbench.errors import InvalidInput
from workbench.names import safe_filename
from workbench.review import VariantRow, _rows_select, _to_row, write_csv
from workbench.settings import Settings, get_settings
from workbench.store import AssetStore, sha256_file

log = logging.getLogger(__name__)

Fit = Literal["own", "cover", "strip", "pause"]

MIN_COVER_KEEP = 0.6  # a box crop keeps at least this share of the source's area
STRIP_MIN_ASPECT = 1.5  # a strip's source is at least this elongated, in the strip's orientation
PAUSE_ASPECT_TOLERANCE = 0.01
MAX_WORKERS = 4


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


@dataclass(frozen=True)
class ExportedFile:
    path: Path  # in the export folder
    arcname: str  # its path inside the zip
    variant_id: int
    delivery: str  # "thumbnail" or a DeliverySpec name
    width: int
    height: int
    mime: str
    sha256: str
    bytes: int
    resigned: bool  # False: the approved file itself, byte for byte
    crop: dict[str, Any] | None = None  # the window cut from the approved file (resigned files)


@dataclass
class ExportResult:
    zip_path: Path | None
    folder: Path | None
    files: list[ExportedFile] = field(default_factory=list)
    blocked: list[tuple[int, str]] = field(default_factory=list)  # (variant id, reason)
    variants: int = 0  # variants exported
    seconds: float = 0.0
    verify_seconds: float = 0.0  # checksum + C2PA verification of the approved files

    @property
    def verify_share(self) -> float:
        return self.verify_seconds / self.seconds if self.seconds else 0.0


@dataclass
class _Item:
    row: VariantRow
    approver: str | None = None
    approver_role: str | None = None
    approved_at: str | None = None
    data: bytes = b""
    c2pa_state: str | None = None
    reason: str | None = None  # set: blocked
    faces: tuple[Face, ...] = ()
    saliency: Box | None = None


# -- the export -------------------------------------------------------------------------------


def export_approved(actor: Actor, out_dir: Path, *, title: str | int | None = None,
                    settings: Settings | None = None) -> ExportResult:
    """Export the newest approved version of every slot (of ``title``, or of all titles) into
    ``out_dir``. Raises InvalidInput when nothing is approved or ``out_dir`` cannot be used;
    a variant that fails verification or rendering is listed in ``blocked`` with its reason and
    the rest are exported. Concurrent exports into one folder never share a name or a staging
    folder, and the audit records the sha256 of exactly the zip left on disk."""
    settings = settings or get_settings()
    started = time.perf_counter()
    # 1. check permission and inputs
    require(actor, "export")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidInput(f"--out {out_dir}: not a folder")
    items, title_name, title_id = _approved_items(title, settings)
    if not items:
        where = f" for title {title_name!r}" if title_name else ""
        raise InvalidInput(f"nothing to export: no approved variants{where}")
    out_dir = _usable_out_dir(out_dir)
    scratch.sweep_folder(out_dir, [scratch.TEMP_PREFIX])  # a killed export's staging folder and zip temp
    exported_at = datetime.now(UTC).replace(microsecond=0)
    name = f"export-{safe_filename(title_name or 'all-titles', 60)}-{exported_at.strftime('%Y%m%dT%H%M%SZ')}"
    folder, zip_path = _reserve(out_dir, name)
    name = folder.name

    workers = max(1, min(MAX_WORKERS, os.cpu_count() or 1))
    staging = out_dir / scratch.temp_name(scratch.TEMP_PREFIX + "export-")
    try:
        staging.mkdir()
        # 2. verify every approved file before rendering anything
        t_verify = time.perf_counter()
        anchors = trust_anchors_for(settings)
        store = AssetStore(settings.store_dir)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export-verify") as pool:
            list(pool.map(lambda item: _verify(item, store, anchors), items))
        verify_seconds = time.perf_counter() - t_verify
        ready = [i for i in items if i.reason is None]
        _load_faces(ready, settings)

        # 3. render and re-sign each variant's deliveries (a variant that fails is blocked alone)
        identity = load_identity(settings)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export-render") as pool:
            per_item = list(pool.map(lambda item: _render_isolated(item, staging, identity, exported_at, settings), ready))
        files = [f for group in per_item for f in group]
        ready = [i for i in ready if i.reason is None]

        # 4. manifests, then the folder and the zip
        blocked = [(i.row.id, i.reason) for i in items if i.reason is not None]
        entries = _manifest_entries(ready, files, exported_at)
        manifest = {
            "export": name,
            "exported_at": exported_at.isoformat(),
            "exported_by": {"name": actor.name, "role": actor.role},
            "title": title_name,
            "workbench_version": workbench.__version__,
            "counts": {"variants": len(ready), "files": len(files), "blocked": len(blocked)},
            "files": entries,
            "blocked": [{"variant_id": vid, "reason": reason} for vid, reason in blocked],
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (staging / "manifest.csv").write_text(
            write_csv(MANIFEST_CSV_COLUMNS, ([e[c] for c in MANIFEST_CSV_COLUMNS] for e in entries)), encoding="utf-8"
        )
        zip_sha = _write_zip(staging, zip_path, exported_at)
        os.replace(staging, folder)  # onto the empty folder reserved for this export
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        zip_path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()
        if isinstance(exc, OSError):
            raise InvalidInput(f"export into {out_dir} failed: {exc.strerror or exc}") from None
        raise
    files = [_moved(f, staging, folder) for f in files]

    # 5. the audit trail
    _record_export(actor, title_id, name, zip_path, zip_sha, ready, files, blocked, settings)
    return ExportResult(zip_path=zip_path, folder=folder, files=files, blocked=blocked, variants=len(ready),
                        seconds=time.perf_counter() - started, verify_seconds=verify_seconds)


def _usable_out_dir(out_dir: Path) -> Path:
    """``out_dir`` made (with its parents) and writable, or one line saying why it cannot be."""
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidInput(f"--out {out_dir}: not a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(f"--out {out_dir}: cannot make this folder ({exc.strerror or exc})") from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise InvalidInput(f"--out {out_dir}: not writable")
    return out_dir


def _reserve(out_dir: Path, name: str) -> tuple[Path, Path]:
    """A folder and a zip name no other export uses, taken atomically: the folder is made with
    mkdir (fails if it exists) and the zip created exclusively, so two exports in the same second
    get ``name`` and ``name-2`` whatever their timing."""
    for n in range(1, 10_000):
        candidate = name if n == 1 else f"{name}-{n}"
        folder, zip_path = out_dir / candidate, out_dir / f"{candidate}.zip"
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise InvalidInput(f"--out {out_dir}: cannot write there ({exc.strerror or exc})") from None
        try:
            os.close(os.open(zip_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            folder.rmdir()
            continue
        except OSError as exc:
            folder.rmdir()
            raise InvalidInput(f"--out {out_dir}: cannot write there ({exc.strerror or exc})") from None
        return folder, zip_path
    raise InvalidInput(f"--out {out_dir}: too many exports named {name!r} already")


# -- selection --------------------------------------------------------------------------------


def _approved_items(title: str | int | None, settings: Settings) -> tuple[list[_Item], str | None, int | None]:
    """The newest approved version of each slot, with who approved it and when."""
    store = AssetStore(settings.store_dir)
    newer = aliased(Variant)
    newest_approved = (
        sa.select(sa.func.max(newer.version))
        .where(newer.slot_key == Variant.slot_key, newer.review_status == "approved")
        .scalar_subquery()
    )
    with open_catalog(settings).session() as session:
        query = _rows_select().where(Variant.review_status == "approved", Variant.version == newest_approved)
        title_name = title_id = None
        if title not in (None, ""):
            row = repo.get_title(session, title)
            title_name, title_id = row.name, row.id
            query = query.where(Variant.title_id == row.id)
        items = [_Item(_to_row(r, store)) for r in session.execute(query.order_by(Variant.id)).all()]
        # the approval that stands: the newest approve event of each variant
        ids = [i.row.id for i in items]
        newest_event = (
            sa.select(sa.func.max(ReviewEvent.id))
            .where(ReviewEvent.action == "approve", ReviewEvent.variant_id.in_(ids))
            .group_by(ReviewEvent.variant_id)
        )
        approvals = {e.variant_id: e for e in session.scalars(sa.select(ReviewEvent).where(ReviewEvent.id.in_(newest_event)))}
    for item in items:
        event = approvals.get(item.row.id)
        if event is not None:
            item.approver, item.approver_role, item.approved_at = event.actor, event.role, event.at.isoformat()
    return items, title_name, title_id


# -- verification -----------------------------------------------------------------------------


def _verify(item: _Item, store: AssetStore, anchors: bytes | None) -> None:
    row = item.row
    if row.is_video:
        item.reason = "video variants are not exported yet (VAST 4 delivery is to come)"
        return
    path = store.path_for(row.sha256, row.ext)
    try:
        item.data = _read_stored(path)
    except FileNotFoundError:
        item.reason = f"the approved file is missing from the asset store ({path.name})"
        return
    except OSError as exc:
        item.reason = f"the approved file cannot be read from the asset store ({path.name}: {exc.strerror or exc})"
        return
    reasons = []
    actual = hashlib.sha256(item.data).hexdigest()
    if actual != row.sha256:
        reasons.append(f"file altered after approval: its sha256 is {actual[:16]}…, the catalog recorded {row.sha256[:16]}…")
    report = verify_file(path, anchors)
    item.c2pa_state = report.state
    if report.state == "Unsigned":
        reasons.append("no C2PA manifest (Unsigned)")
    elif report.state == "Invalid":
        why = ", ".join(report.codes) or report.detail or "no reason given"
        reasons.append(f"C2PA manifest does not verify (Invalid: {why})")
    if reasons:
        item.reason = "; ".join(reasons)
        item.data = b""


def _read_stored(path: Path) -> bytes:
    """A stored file's bytes; only a regular file is read (a folder, a FIFO or a device put in its
    place is refused at once instead of blocking or raising mid-export)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


# -- faces and saliency, in the variant's own coordinates -------------------------------------


def _load_faces(items: list[_Item], settings: Settings) -> None:
    """The face boxes and saliency box of each variant, in the variant's own coordinates. A recipe
    that records where faces are in its image (``details.faces``: every treatment, outpaint
    included) is used as is; older recipes get their source frame's faces from the stored
    analysis, mapped through the crop the recipe records. Variants with neither get none (their
    strips are centred)."""
    wanted: dict[tuple[str, int], list[_Item]] = {}
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


def _base_name(row: VariantRow) -> str:
    parts = [row.title_name, row.kind, row.segment, row.locale, (row.format or "").replace(".", "-")]
    base = "_".join(safe_filename(p, 40) for p in parts if p)
    return f"{base}_v{row.version}_id{row.id}"


def _render_isolated(item: _Item, staging: Path, identity: Any, exported_at: datetime,
                     settings: Settings) -> list[ExportedFile]:
    """One variant's deliveries; if anything about this variant fails (a file that does not
    decode, a signing error), it is blocked with the reason and the export goes on."""
    try:
        return _render(item, staging, identity, exported_at, settings)
    except Exception as exc:  # an isolation boundary: one variant's failure never stops the export
        log.warning("event=export_variant_failed variant=%d error=%s", item.row.id, exc, exc_info=True)
        for path in staging.rglob(f"{_base_name(item.row)}*"):
            path.unlink(missing_ok=True)
        item.reason = f"its deliveries could not be made: {type(exc).__name__}: {_one_line(str(exc))}"
        item.data = b""
        return []


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _render(item: _Item, staging: Path, identity: Any, exported_at: datetime, settings: Settings) -> list[ExportedFile]:
    row = item.row
    base = _base_name(row)
    files = [_write_file(staging, f"thumbnails/{base}{row.ext}", item.data, row, "thumbnail", row.width or 0,
                         row.height or 0, row.mime, resigned=False)]
    with Image.open(io.BytesIO(item.data)) as im:
        im.load()
        image = im.convert("RGB") if im.mode != "RGB" else im.copy()
    width, height = image.size
    parent = Ingredient(
        title=f"{base}{row.ext}", mime=row.mime, data=item.data, relationship="parentOf",
        metadata={"com.creativeworkbench.variant_id": row.id, "com.creativeworkbench.version": row.version,
                  "com.creativeworkbench.sha256": row.sha256},
    )
    for spec, plan in delivery_plans(width, height, row.mime, item.faces, item.saliency):
        arcname = f"{spec.folder}/{base}_{spec.name}.jpg"
        if plan is None:
            files.append(_write_file(staging, arcname, item.data, row, spec.name, width, height, row.mime, resigned=False))
            continue
        actions = _actions(plan, row.mime, model_made=bool((row.recipe or {}).get("model")))
        rendered = image.resize((spec.width, spec.height), Image.Resampling.LANCZOS, box=plan.box, reducing_gap=3.0)
        unsigned = staging / ".unsigned" / arcname
        unsigned.parent.mkdir(parents=True, exist_ok=True)
        rendered.save(unsigned, "JPEG", **JPEG_OPTIONS)
        dst = staging / arcname
        dst.parent.mkdir(parents=True, exist_ok=True)
        manifest = ManifestSpec(
            title=dst.name, mime="image/jpeg", actions=actions, parent=parent,
            recipe={"export": {"variant_id": row.id, "version": row.version, "slot_key": row.slot_key,
                               "delivery": spec.name, "approved_sha256": row.sha256, "approver": item.approver,
                               "approved_at": item.approved_at, "exported_at": exported_at.isoformat(),
                               "crop": plan.to_dict()},
                    "variant_recipe": recipe_summary(row)},
        )
        sign_file(unsigned, dst, manifest, identity, claim_generator=settings.signer_name, durable=False)
        unsigned.unlink()
        files.append(_describe(staging, arcname, row, spec.name, spec.width, spec.height, "image/jpeg",
                               crop={**plan.to_dict()["box"], "strategy": plan.strategy}))
    return files


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


# -- previewing an export before it is made ------------------------------------------------------


@dataclass(frozen=True)
class DeliveryPreview:
    delivery: str  # a DeliverySpec name
    width: int
    height: int
    box: tuple[int, int, int, int] | None  # the window cut from the approved file (x0, y0, x1, y1); None: the file itself
    faces_kept: int
    faces_total: int
    strategy: str

    @property
    def cuts_a_face(self) -> bool:
        return self.faces_kept < self.faces_total


@dataclass(frozen=True)
class VariantPreview:
    row: VariantRow
    blocked: str | None  # why it would be blocked (verification), else None
    deliveries: tuple[DeliveryPreview, ...]
    faces: tuple[Face, ...]  # where faces are in the approved file (normalised)

    @property
    def cuts_a_face(self) -> bool:
        return any(d.cuts_a_face for d in self.deliveries)


def preview_export(actor: Actor, *, title: str | int | None = None, settings: Settings | None = None) -> list[VariantPreview]:
    """What :func:`export_approved` would deliver, without writing anything: per approved variant,
    whether it would be blocked, and each delivery's crop window with the faces it keeps (a
    delivery that cuts a face says so), for the Export page to show before the zip is made."""
    settings = settings or get_settings()
    require(actor, "export")
    items, _title_name, _title_id = _approved_items(title, settings)
    anchors = trust_anchors_for(settings)
    store = AssetStore(settings.store_dir)
    workers = max(1, min(MAX_WORKERS, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="export-preview") as pool:
        list(pool.map(lambda item: _verify(item, store, anchors), items))
    _load_faces([i for i in items if i.reason is None], settings)
    previews = []
    for item in items:
        row, deliveries = item.row, []
        if item.reason is None and row.width and row.height:
            for spec, plan in delivery_plans(row.width, row.height, row.mime, item.faces, item.saliency):
                if plan is None:
                    deliveries.append(DeliveryPreview(spec.name, spec.width, spec.height, None, len(item.faces),
                                                      len(item.faces), "own"))
                else:
                    deliveries.append(DeliveryPreview(spec.name, spec.width, spec.height, plan.box, plan.faces_kept,
                                                      plan.faces_total, plan.strategy))
        item.data = b""
        previews.append(VariantPreview(row, item.reason, tuple(deliveries), item.faces))
    return previews


def _actions(plan: CropPlan, source_mime: str, *, model_made: bool = False) -> tuple[EditAction, ...]:
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


def _write_file(staging: Path, arcname: str, data: bytes, row: VariantRow, delivery: str, width: int, height: int,
                mime: str, *, resigned: bool) -> ExportedFile:
    path = staging / arcname
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return ExportedFile(path, arcname, row.id, delivery, width, height, mime, hashlib.sha256(data).hexdigest(),
                        len(data), resigned)


def _describe(staging: Path, arcname: str, row: VariantRow, delivery: str, width: int, height: int, mime: str, *,
              crop: dict[str, Any]) -> ExportedFile:
    data = (staging / arcname).read_bytes()
    return ExportedFile(staging / arcname, arcname, row.id, delivery, width, height, mime,
                        hashlib.sha256(data).hexdigest(), len(data), True, crop)


def _moved(f: ExportedFile, staging: Path, folder: Path) -> ExportedFile:
    return ExportedFile(**{**asdict(f), "path": folder / f.arcname})


# -- manifest, zip, audit ---------------------------------------------------------------------


MANIFEST_CSV_COLUMNS = (
    "variant_id", "version", "file", "delivery", "width", "height", "bytes", "sha256", "mime", "resigned", "crop", "title",
    "kind", "segment", "locale", "format", "slot_key", "approved_sha256", "approved_c2pa_state", "approver",
    "approver_role", "approved_at", "recipe_summary",
)


def recipe_summary(row: VariantRow) -> str:
    """One line saying how a variant was made, for the export manifest."""
    recipe = row.recipe or {}
    details = recipe.get("details") or {}
    score = details.get("score") if isinstance(details.get("score"), dict) else {}
    crop = details.get("crop") if isinstance(details.get("crop"), dict) else {}
    parts = [" ".join(str(recipe[k]) for k in ("generator", "generator_version") if recipe.get(k)) or row.kind]
    if details.get("frame") is not None:
        parts.append(f"frame {details['frame']}")
    if details.get("rank") is not None:
        parts.append(f"pick {details['rank']}")
    if score.get("total") is not None:
        parts.append(f"score {float(score['total']):.3f}")
    if crop.get("strategy"):
        parts.append(f"crop {crop['strategy']}")
    parts.append("model " + str((recipe.get("model") or {}).get("id", "yes")) if recipe.get("model") else "no model")
    return "; ".join(parts)


def _manifest_entries(items: list[_Item], files: list[ExportedFile], exported_at: datetime) -> list[dict[str, Any]]:
    by_id = {i.row.id: i for i in items}
    entries = []
    for f in sorted(files, key=lambda f: f.arcname):
        item = by_id[f.variant_id]
        row = item.row
        entries.append({
            "variant_id": row.id, "version": row.version, "file": f.arcname, "delivery": f.delivery, "width": f.width,
            "height": f.height, "bytes": f.bytes, "sha256": f.sha256, "mime": f.mime, "resigned": f.resigned,
            "crop": _crop_text(f.crop),
            "title": row.title_name, "kind": row.kind, "segment": row.segment, "locale": row.locale,
            "format": row.format, "slot_key": row.slot_key, "approved_sha256": row.sha256,
            "approved_c2pa_state": item.c2pa_state, "approver": item.approver, "approver_role": item.approver_role,
            "approved_at": item.approved_at, "recipe_summary": recipe_summary(row),
        })
    return entries


def _crop_text(crop: dict[str, Any] | None) -> str | None:
    """``"1296x1080+614+0 all_faces"``: the window cut from the approved file (None: not cut)."""
    if crop is None:
        return None
    return f"{crop['width']}x{crop['height']}+{crop['x']}+{crop['y']} {crop['strategy']}"


_STORED_SUFFIXES = (".jpg", ".jpeg", ".webp", ".png", ".mp4")  # already compressed


def _write_zip(staging: Path, zip_path: Path, exported_at: datetime) -> str:
    """The staging folder as a zip: manifests first, then the files in sorted order, every entry
    with the export's time (so the zip depends on the files only). Written to a private temp and
    renamed onto ``zip_path`` (reserved by this export); returns the sha256 of those bytes."""
    names = sorted(p.relative_to(staging).as_posix() for p in staging.rglob("*")
                   if p.is_file() and not p.relative_to(staging).as_posix().startswith("."))
    order = [n for n in ("manifest.json", "manifest.csv") if n in names] + [n for n in names if n not in ("manifest.json", "manifest.csv")]
    tmp = zip_path.with_name(scratch.temp_name(scratch.TEMP_PREFIX, ".zip"))
    stamp = exported_at.timetuple()[:6]
    try:
        with zipfile.ZipFile(tmp, "x") as zf:
            for name in order:
                info = zipfile.ZipInfo(name, date_time=stamp)
                info.compress_type = zipfile.ZIP_STORED if name.lower().endswith(_STORED_SUFFIXES) else zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, (staging / name).read_bytes())
        digest = sha256_file(tmp)
        os.replace(tmp, zip_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    shutil.rmtree(staging / ".unsigned", ignore_errors=True)
    return digest


def _record_export(actor: Actor, title_id: int | None, name: str, zip_path: Path, zip_sha: str, ready: list[_Item],
                   files: list[ExportedFile], blocked: list[tuple[int, str]], settings: Settings) -> None:
    with open_catalog(settings).session() as session:
        title = repo.get_title(session, title_id) if title_id is not None else None
        variants = {v.id: v for v in repo.get_variants(session, [vid for vid, _ in blocked])} if blocked else {}
        for vid, reason in blocked:
            repo.record_audit(session, actor.name, actor.role, "export.blocked", variant=variants.get(vid),
                              comment=reason, details={"export": name})
        repo.record_audit(
            session, actor.name, actor.role, "export", title=title,
            details={"export": name, "zip": zip_path.name, "zip_sha256": zip_sha, "variants": len(ready),
                     "files": len(files), "blocked": len(blocked), "variant_ids": [i.row.id for i in ready],
                     "blocked_ids": [vid for vid, _ in blocked]},
        )
