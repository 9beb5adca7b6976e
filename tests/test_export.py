"""The ad-ops export on real signed variants: verification blocks altered and unsigned files
with a reason while the rest export; delivery sizes; re-signed files with the approved file as
parentOf ingredient; the zip and its manifests; safe names; the audit trail."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile

import pytest
import sqlalchemy as sa
from PIL import Image

from generators.thumbnails.generator import ThumbnailParams
from provenance import verify_with_settings
from tests.review_helpers import (
    AD_OPS,
    ADMIN,
    CREATIVE,
    LOCALIZER,
    TITLE,
    make_writable,
)
from workbench import review, workflow
from workbench.catalog import AuditEvent, open_catalog, repo
from workbench.errors import InvalidInput, NotFound
from workbench.deliveries.stills import DELIVERY_SPECS
from workbench.export import MANIFEST_CSV_COLUMNS, export_approved
from workbench.settings import Settings
from workbench.store import AssetStore

SAFE_ARCNAME = re.compile(r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")


def _rows(settings) -> dict[tuple[str, str], review.VariantRow]:
    """(segment, placement) -> row."""
    page = review.query_variants(per_page=100, settings=settings)
    return {(r.segment, r.placement): r for r in page.items}


def _unsigned_variant(settings: Settings) -> int:
    """A variant whose stored file carries no manifest at all (as if made outside the workbench)."""
    buf = io.BytesIO()
    Image.new("RGB", (1920, 1080), (40, 90, 160)).save(buf, "JPEG", quality=90)
    stored = AssetStore(settings.store_dir).put_bytes(buf.getvalue(), ".jpg")
    with open_catalog(settings).session() as s:
        title = repo.get_title(s, TITLE)
        asset = repo.add_asset_if_absent(s, sha256=stored.sha256, kind="image", mime="image/jpeg", ext=".jpg",
                                         size_bytes=stored.size, width=1920, height=1080)
        return repo.add_variant(s, title=title, asset=asset, kind="thumbnail", segment="comedy",
                                format="16x9.jpg.pick1", recipe={"generator": "outside"}).id


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1920, 1080), {"display_300x250", "display_728x90", "display_970x250", "display_320x50", "pause_1920x1080"}),
        ((3840, 2160), {"display_300x250", "display_728x90", "display_970x250", "display_320x50", "pause_1920x1080"}),
        ((1000, 1500), {"display_300x600", "display_160x600"}),
        ((1080, 1920), {"display_300x600", "display_160x600"}),
        ((1080, 1080), {"display_300x250"}),
        ((640, 360), {"display_300x250", "display_320x50"}),  # never upscaled: no 728x90, 970x250 or pause
        ((200, 200), set()),
    ],
)
def test_delivery_specs_by_source_size(size, expected) -> None:
    assert {s.name for s in DELIVERY_SPECS if s.applies_to(*size)} == expected


def test_export_blocks_altered_and_unsigned_files_and_packs_the_rest(wb, tpl, tmp_path) -> None:
    rows = _rows(wb)
    unsigned_id = _unsigned_variant(wb)
    review.decide(LOCALIZER, [*tpl.variant_ids, unsigned_id], "approve", "ok for launch", settings=wb)
    # after approval: one file has a byte flipped, another is swapped for a different (validly signed) file
    flipped, swapped, donor = rows[("action", "1x1")], rows[("action", "9x16")], rows[("action", "2x3")]
    for row in (flipped, swapped):
        make_writable(row.file_path)
    data = bytearray(flipped.file_path.read_bytes())
    sos = data.rfind(b"\xff\xda")
    data[sos + (len(data) - sos) // 2] ^= 0x55
    flipped.file_path.write_bytes(bytes(data))
    swapped.file_path.write_bytes(donor.file_path.read_bytes())

    result = export_approved(AD_OPS, tmp_path / "exports", settings=wb)

    # 1. blocked with clear reasons; the rest exported
    blocked = dict(result.blocked)
    assert set(blocked) == {flipped.id, swapped.id, unsigned_id}
    assert "file altered after approval" in blocked[flipped.id] and "Invalid" in blocked[flipped.id]
    assert "file altered after approval" in blocked[swapped.id] and "Invalid" not in blocked[swapped.id]
    assert blocked[unsigned_id] == "no C2PA manifest (Unsigned)"
    exported_ids = {f.variant_id for f in result.files}
    assert exported_ids == set(tpl.variant_ids) - {flipped.id, swapped.id} and result.variants == 6
    # 2. every delivery its source allows, at the right size: 6 + 3 + 2 + 3 (romance) + 6 + 3 (action)
    assert len(result.files) == 23
    by_variant: dict[int, set[str]] = {}
    for f in result.files:
        by_variant.setdefault(f.variant_id, set()).add(f.delivery)
        with Image.open(f.path) as im:
            assert im.size == (f.width, f.height) and im.format == "JPEG"
    assert by_variant[rows[("romance", "16x9")].id] == {"thumbnail", "display_300x250", "display_728x90",
                                                       "display_970x250", "display_320x50", "pause_1920x1080"}
    assert by_variant[rows[("romance", "2x3")].id] == {"thumbnail", "display_300x600", "display_160x600"}
    assert by_variant[rows[("romance", "1x1")].id] == {"thumbnail", "display_300x250"}
    # 3. provenance of every file
    approved_by_id = {r.id: r for r in rows.values()}
    for f in result.files:
        approved = approved_by_id[f.variant_id]
        if not f.resigned:  # delivered as approved, byte for byte
            assert f.sha256 == approved.sha256 == hashlib.sha256(f.path.read_bytes()).hexdigest()
            continue
        report = verify_with_settings(f.path, wb)
        assert report.state == "Trusted", (f.arcname, report.codes)
        actions = [a.action for a in report.manifest.actions]
        assert actions[0] == "c2pa.opened" and "c2pa.resized" in actions
        parent = report.manifest.ingredients[0]
        assert parent.relationship == "parentOf" and len(report.manifest.ingredients) == 1
        assert parent.metadata["com.creativeworkbench.sha256"] == approved.sha256
        assert parent.metadata["com.creativeworkbench.variant_id"] == approved.id
        assert report.manifest.actions[0].ingredients == (parent.title,)
        assert report.manifest.recipe["export"]["delivery"] == f.delivery
        assert report.manifest.digital_source_types == ()
        assert f.crop is not None
    # faces of the two-shot stay in the romance strips (the crop is planned around them)
    romance_wide = rows[("romance", "16x9")].id
    strips = [f for f in result.files if f.variant_id == romance_wide and f.delivery in ("display_728x90", "display_970x250")]
    assert strips and all(f.crop["strategy"] in ("all_faces", "some_faces") for f in strips)
    # 4. the zip: manifests first, then every file in sorted order, identical to the folder
    with zipfile.ZipFile(result.zip_path) as zf:
        names = zf.namelist()
        assert names[:2] == ["manifest.json", "manifest.csv"] and names[2:] == sorted(f.arcname for f in result.files)
        for f in result.files:
            assert zf.read(f.arcname) == f.path.read_bytes()
        manifest = json.loads(zf.read("manifest.json"))
        manifest_csv = zf.read("manifest.csv").decode("utf-8")
    assert (result.folder / "manifest.json").read_text(encoding="utf-8") == json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    assert (result.folder / "manifest.csv").read_bytes() == manifest_csv.encode("utf-8")
    assert result.zip_path.parent == result.folder.parent
    assert manifest["counts"] == {"variants": 6, "files": 23, "blocked": 3}
    assert manifest["exported_by"] == {"name": "otto", "role": "ad_ops"}
    assert {b["variant_id"] for b in manifest["blocked"]} == set(blocked)
    entry = next(e for e in manifest["files"] if e["delivery"] == "display_300x250" and e["variant_id"] == romance_wide)
    assert entry["title"] == TITLE and entry["segment"] == "romance" and entry["approver"] == "lou"
    assert entry["approver_role"] == "localization" and entry["approved_at"] and entry["approved_c2pa_state"] == "Trusted"
    assert entry["approved_sha256"] == rows[("romance", "16x9")].sha256 and entry["recipe_summary"].startswith("thumbnail 1.0.0; frame ")
    assert (entry["width"], entry["height"]) == (300, 250) and entry["crop"].endswith(("all_faces", "some_faces"))
    csv_rows = list(csv.DictReader(io.StringIO(manifest_csv)))
    assert tuple(csv_rows[0]) == MANIFEST_CSV_COLUMNS and len(csv_rows) == 23
    assert all(r["title"] == "'" + TITLE for r in csv_rows)  # the leading '@' is no formula
    # 5. safe names: ASCII, no separators from the title, no '..'
    for f in result.files:
        assert SAFE_ARCNAME.match(f.arcname) and ".." not in f.arcname and f.path.is_relative_to(result.folder)
    assert SAFE_ARCNAME.match(result.zip_path.name) and not list(result.folder.parent.glob(".tmp-*"))
    # 6. the audit trail: one export event with the counts, one event per blocked variant
    with open_catalog(wb).session() as s:
        events = list(s.scalars(sa.select(AuditEvent).where(AuditEvent.action.startswith("export")).order_by(AuditEvent.id)))
    assert [e.action for e in events] == ["export.blocked"] * 3 + ["export"]
    assert {e.variant_id: e.comment for e in events[:3]} == blocked
    export_event = events[-1]
    assert (export_event.actor, export_event.role) == ("otto", "ad_ops")
    assert {k: export_event.details[k] for k in ("variants", "files", "blocked")} == {"variants": 6, "files": 23, "blocked": 3}
    assert export_event.details["zip"] == result.zip_path.name
    assert 0 < result.verify_seconds < result.seconds


def test_only_the_newest_approved_version_of_each_slot_is_exported(wb, tpl, tmp_path) -> None:
    rows = _rows(wb)
    wide, tall = rows[("romance", "16x9")], rows[("romance", "9x16")]
    review.decide(CREATIVE, [wide.id], "approve", settings=wb)
    review.decide(CREATIVE, [tall.id], "reject", "not this one", settings=wb)
    # a new version of the wide slot, still pending: version 1 stays the one to export
    made = workflow.generate("thumbnail", tpl.title_id, ThumbnailParams(segments=("romance",), formats=("16x9",), top_k=1,
                                                                      title_text="Sample"), settings=wb)
    v2 = made.variants[0].variant_id
    first = export_approved(ADMIN, tmp_path / "a", title=TITLE, settings=wb)
    assert {f.variant_id for f in first.files} == {wide.id}
    review.decide(CREATIVE, [v2], "approve", settings=wb)
    second = export_approved(ADMIN, tmp_path / "a", title=str(tpl.title_id), settings=wb)
    assert {f.variant_id for f in second.files} == {v2} and second.zip_path != first.zip_path
    assert first.zip_path.is_file() and second.zip_path.is_file()  # a second export never overwrites the first
    with pytest.raises(NotFound):
        export_approved(ADMIN, tmp_path / "b", title="No Such Title", settings=wb)


def test_nothing_approved_is_refused_without_writing(wb, tmp_path) -> None:
    with pytest.raises(InvalidInput, match="nothing to export: no approved variants"):
        export_approved(AD_OPS, tmp_path / "out", settings=wb)
    assert not (tmp_path / "out").exists()


def test_a_missing_file_blocks_only_its_variant(wb, tpl, tmp_path) -> None:
    rows = _rows(wb)
    review.decide(CREATIVE, list(tpl.variant_ids), "approve", settings=wb)
    gone = rows[("action", "16x9")]
    make_writable(gone.file_path)
    gone.file_path.unlink()
    result = export_approved(AD_OPS, tmp_path / "out", settings=wb)
    assert [vid for vid, _ in result.blocked] == [gone.id] and "missing from the asset store" in result.blocked[0][1]
    assert result.variants == 7
