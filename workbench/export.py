"""The ad-ops export: approved variants only, provenance re-verified, delivered as each variant's
kind says (``workbench.deliveries``), packed into a zip with a manifest.

What one export does (:func:`export_approved`):

1. **Permission first**: the actor needs ``export`` (ad_ops, admin).
2. **Selection**: the newest *approved* version of each slot (of one title, or all).
3. **Verification**, per variant, before anything is written (:func:`workbench.verification.check_stored`):
   the stored file must exist, still have the SHA-256 the catalog recorded when it was made (a
   file altered after approval is refused even if it carries some valid manifest), and its C2PA
   manifest must verify as ``Trusted`` or ``Valid``. A variant that fails is *blocked* with the
   reason; the rest proceed.
4. **Deliveries**: the variant's kind lists them (:meth:`generators.base.CreativeKind.deliveries`):
   the approved file itself and its sidecars, and for stills the IAB display sizes and the
   pause-ad still, each re-signed (see ``workbench/deliveries/stills.py``). A variant whose
   deliveries fail is blocked alone.
5. **Packing**: ``OUT/<export>/`` holds the files (``<kind>s/``, ``display/<WxH>/``, ``pause/``...)
   with ``manifest.json`` and ``manifest.csv``; ``OUT/<export>.zip`` holds the same, in sorted
   order. The folder and zip names are reserved atomically, so concurrent exports never share
   one; one ``export`` audit event records the counts and the sha256 of the zip as written, and
   each blocked variant gets an ``export.blocked`` event with its reason.

:func:`preview_export` says all of this before anything is written, for the Export page.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

import workbench
from provenance import load_identity, trust_anchors_for
from workbench import scratch
from workbench.access import Actor, require
from workbench.analysis.types import Face
from workbench.catalog import open_catalog, repo
from workbench.catalog.models import ReviewEvent, Variant, VariantFile
from workbench.deliveries import (
    ApprovedVariant,
    Delivery,
    DeliveryPreview,
    ExportContext,
    ExportedFile,
    StoredSidecar,
    prepare,
)
from workbench.errors import InvalidInput, WorkbenchError
from workbench.names import safe_filename
from workbench.review import explain, write_csv
from workbench.settings import Settings, get_settings
from workbench.store import AssetStore, sha256_file
from workbench.variants import VariantRow, row_select, to_row
from workbench.verification import check_stored

log = logging.getLogger(__name__)

MAX_WORKERS = 4

__all__ = ["DeliveryPreview", "ExportResult", "ExportedFile", "VariantPreview", "export_approved", "preview_export"]


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


# -- the export -------------------------------------------------------------------------------


def export_approved(actor: Actor, out_dir: Path, *, title: str | int | None = None,
                    settings: Settings | None = None) -> ExportResult:
    """Export the newest approved version of every slot (of ``title``, or of all titles) into
    ``out_dir``. Raises InvalidInput when nothing is approved or ``out_dir`` cannot be used;
    a variant that fails verification or delivery is listed in ``blocked`` with its reason and
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

    staging = out_dir / scratch.temp_name(scratch.TEMP_PREFIX + "export-")
    try:
        staging.mkdir()
        # 2. verify every approved file before writing anything
        t_verify = time.perf_counter()
        _verify_all(items, settings)
        verify_seconds = time.perf_counter() - t_verify
        ready = [i for i in items if i.reason is None]
        prepare(ready, settings)

        # 3. each variant's deliveries, as its kind says (a variant that fails is blocked alone)
        ctx = ExportContext(staging, load_identity(settings), exported_at, settings)
        with ThreadPoolExecutor(max_workers=_workers(), thread_name_prefix="export-deliver") as pool:
            per_item = list(pool.map(lambda item: _deliver_isolated(item, ctx), ready))
        files = [f for group in per_item for f in group]
        ready = [i for i in ready if i.reason is None]

        # 4. manifests, then the folder and the zip
        blocked = [(i.row.id, i.reason) for i in items if i.reason is not None]
        entries = _manifest_entries(ready, files)
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
    files = [_moved(f, folder) for f in files]

    # 5. the audit trail
    _record_export(actor, title_id, name, zip_path, zip_sha, ready, files, blocked, settings)
    return ExportResult(zip_path=zip_path, folder=folder, files=files, blocked=blocked, variants=len(ready),
                        seconds=time.perf_counter() - started, verify_seconds=verify_seconds)


def _workers() -> int:
    return max(1, min(MAX_WORKERS, os.cpu_count() or 1))


def _usable_out_dir(out_dir: Path) -> Path:
    """``out_dir`` made (with its parents) and writable, or one line saying why it cannot be."""
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


# -- selection and verification ---------------------------------------------------------------


def _approved_items(title: str | int | None, settings: Settings) -> tuple[list[ApprovedVariant], str | None, int | None]:
    """The newest approved version of each slot, with who approved it and when, and its sidecars."""
    store = AssetStore(settings.store_dir)
    newer = aliased(Variant)
    newest_approved = (
        sa.select(sa.func.max(newer.version))
        .where(newer.slot_key == Variant.slot_key, newer.review_status == "approved")
        .scalar_subquery()
    )
    with open_catalog(settings).session() as session:
        query = row_select().where(Variant.review_status == "approved", Variant.version == newest_approved)
        title_name = title_id = None
        if title not in (None, ""):
            row = repo.get_title(session, title)
            title_name, title_id = row.name, row.id
            query = query.where(Variant.title_id == row.id)
        items = [ApprovedVariant(to_row(r, store)) for r in session.execute(query.order_by(Variant.id)).all()]
        # the approval that stands: the newest approve event of each variant
        ids = [i.row.id for i in items]
        newest_event = (
            sa.select(sa.func.max(ReviewEvent.id))
            .where(ReviewEvent.action == "approve", ReviewEvent.variant_id.in_(ids))
            .group_by(ReviewEvent.variant_id)
        )
        approvals = {e.variant_id: e for e in session.scalars(sa.select(ReviewEvent).where(ReviewEvent.id.in_(newest_event)))}
        sidecars: dict[int, list[StoredSidecar]] = {}
        for vf in session.scalars(sa.select(VariantFile).where(VariantFile.variant_id.in_(ids)).order_by(VariantFile.id)):
            sidecars.setdefault(vf.variant_id, []).append(StoredSidecar(
                vf.role, vf.name, store.path_for(vf.asset.sha256, vf.asset.ext), vf.asset.sha256, vf.asset.mime))
    for item in items:
        event = approvals.get(item.row.id)
        if event is not None:
            item.approver, item.approver_role, item.approved_at = event.actor, event.role, event.at.isoformat()
        item.sidecars = sidecars.get(item.row.id, [])
        item.summary = recipe_summary(item.row)
    return items, title_name, title_id


def _verify_all(items: list[ApprovedVariant], settings: Settings) -> None:
    anchors = trust_anchors_for(settings)
    store = AssetStore(settings.store_dir)

    def verify(item: ApprovedVariant) -> None:
        check = check_stored(store, item.row.sha256, item.row.ext, anchors, keep_bytes=True, since="approval",
                             subject="the approved file")
        item.c2pa_state = check.report.state if check.report else None
        if check.problem:
            item.reason = check.problem
        else:
            item.data = check.data or b""

    with ThreadPoolExecutor(max_workers=_workers(), thread_name_prefix="export-verify") as pool:
        list(pool.map(verify, items))


def _deliveries(item: ApprovedVariant) -> list[Delivery]:
    from generators import get_kind

    return get_kind(item.row.kind).deliveries(item)


def _deliver_isolated(item: ApprovedVariant, ctx: ExportContext) -> list[ExportedFile]:
    """One variant's deliveries; if anything about this variant fails (a kind that is not
    installed, a file that does not decode, a signing error), it is blocked with the reason and
    the export goes on."""
    try:
        return [d.write(ctx) for d in _deliveries(item)]
    except Exception as exc:  # an isolation boundary: one variant's failure never stops the export
        log.warning("event=export_variant_failed variant=%d error=%s", item.row.id, exc,
                    exc_info=not isinstance(exc, WorkbenchError))
        for path in ctx.staging.rglob(f"{item.base_name}*"):
            path.unlink(missing_ok=True)
        why = str(exc) if isinstance(exc, WorkbenchError) else f"{type(exc).__name__}: {exc}"
        item.reason = f"its deliveries could not be made: {_one_line(why)}"
        item.data = b""
        return []


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _moved(f: ExportedFile, folder: Path) -> ExportedFile:
    return ExportedFile(**{**asdict(f), "path": folder / f.arcname})


# -- previewing an export before it is made ------------------------------------------------------


@dataclass(frozen=True)
class VariantPreview:
    row: VariantRow
    blocked: str | None  # why it would be blocked, else None
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
    _verify_all(items, settings)
    prepare([i for i in items if i.reason is None], settings)
    previews = []
    for item in items:
        deliveries: tuple[DeliveryPreview, ...] = ()
        if item.reason is None:
            try:
                deliveries = tuple(d.preview() for d in _deliveries(item))
            except WorkbenchError as exc:
                item.reason = f"its deliveries could not be made: {_one_line(str(exc))}"
        item.data = b""
        previews.append(VariantPreview(item.row, item.reason, deliveries, item.faces))
    return previews


# -- manifest, zip, audit ---------------------------------------------------------------------


MANIFEST_CSV_COLUMNS = (
    "variant_id", "version", "file", "delivery", "width", "height", "bytes", "sha256", "mime", "resigned", "crop", "title",
    "kind", "segment", "locale", "format", "slot_key", "approved_sha256", "approved_c2pa_state", "approver",
    "approver_role", "approved_at", "recipe_summary",
)


def recipe_summary(row: VariantRow) -> str:
    """One line saying how a variant was made (its kind's explanation), for the export manifest."""
    why = explain(row)
    model = why.model
    parts = [why.generator or row.kind, why.summary,
             ("model " + str((model or {}).get("id", "yes"))) if model else "no model"]
    return "; ".join(p for p in parts if p)


def _manifest_entries(items: list[ApprovedVariant], files: list[ExportedFile]) -> list[dict[str, Any]]:
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
            "approved_at": item.approved_at, "recipe_summary": item.summary,
        })
    return entries


def _crop_text(crop: dict[str, Any] | None) -> str | None:
    """``"1296x1080+614+0 all_faces"``: the window cut from the approved file (None: not cut)."""
    if crop is None:
        return None
    return f"{crop['width']}x{crop['height']}+{crop['x']}+{crop['y']} {crop['strategy']}"


_STORED_SUFFIXES = (".jpg", ".jpeg", ".webp", ".png", ".mp4", ".m4v", ".mov", ".zip")  # already compressed


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
                with open(staging / name, "rb") as src, zf.open(info, "w") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        digest = sha256_file(tmp)
        os.replace(tmp, zip_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    shutil.rmtree(staging / ".unsigned", ignore_errors=True)
    return digest


def _record_export(actor: Actor, title_id: int | None, name: str, zip_path: Path, zip_sha: str,
                   ready: list[ApprovedVariant], files: list[ExportedFile], blocked: list[tuple[int, str]],
                   settings: Settings) -> None:
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
