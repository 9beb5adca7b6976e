"""End to end through the library: ingest -> analyze -> thumbnails -> signed, stored, catalogued."""

from __future__ import annotations

import pytest
from PIL import Image

from generators.thumbnails.generator import ThumbnailParams
from tests.conftest import shared_media
from workbench import workflow
from workbench.analysis.types import Box
from workbench.catalog import open_catalog
from workbench.catalog.models import Variant
from workbench.settings import get_settings


def flip_one_scan_byte(src, dst):
    """Change one byte in the middle of the JPEG scan data (not the manifest)."""
    data = bytearray(src.read_bytes())
    sos = data.rfind(b"\xff\xda")
    i = sos + (len(data) - sos) // 2
    data[i] ^= 0x55
    dst.write_bytes(bytes(data))


@pytest.fixture
def analysed_sample(home, sample_title):
    r = workflow.ingest(sample_title.path, "Sample")
    return r, workflow.analyze_title(r.title_id)


def test_analysis_of_sample_title(analysed_sample, sample_title):
    _, result = analysed_sample
    a = result.analysis
    assert not result.cached
    assert a.cut_frames == list(sample_title.cuts)
    assert a.frame_count == sample_title.frame_count
    # every shot has at least one keyframe; none sits on the flash
    assert {k.shot for k in a.keyframes} == set(range(len(a.shots)))
    assert sample_title.flash_frame not in {k.frame for k in a.keyframes}
    # the close-up shot has a face; the two-shot has two
    close_up = [k for k in a.keyframes if k.shot == 0]
    assert all(k.face_count == 1 for k in close_up)
    assert any(k.face_count == 2 for k in a.keyframes if k.shot == 3)
    # the black gap is flagged
    assert all("black" in k.flags for k in a.keyframes if k.shot == 5)
    # loudness follows the soundtrack's per-shot levels (-14 dBFS action vs -30 dBFS still life)
    assert a.shots[2].loudness_lufs > a.shots[1].loudness_lufs + 10
    assert a.shots[5].loudness_lufs is None or a.shots[5].loudness_lufs < -50
    # the action shot moves most
    assert max(a.shots, key=lambda s: s.motion).index == 2


def test_analysis_is_cached_by_source_hash(analysed_sample):
    r, first = analysed_sample
    again = workflow.analyze_title(r.title_id)
    assert again.cached and again.analysis == first.analysis
    forced = workflow.analyze_title(r.title_id, force=True)
    assert not forced.cached and forced.analysis.cut_frames == first.analysis.cut_frames


def test_thumbnails_are_signed_valid_and_tamper_evident(analysed_sample, tmp_path):
    r, _ = analysed_sample
    result = workflow.generate("thumbnail", r.title_id, ThumbnailParams(segments=("romance", "action"), top_k=2))
    assert len(result.variants) == 2 * 4 * 2
    for v in result.variants:
        report = workflow.verify(v.export_path)
        assert report.state == "Trusted", (v.export_path, report.codes)
        with Image.open(v.path) as im:
            assert im.size == {"16x9": (1920, 1080), "2x3": (1000, 1500), "1x1": (1080, 1080), "9x16": (1080, 1920)}[v.format]
        m = report.manifest
        assert m.actions[0].action == "c2pa.opened"
        assert m.ingredients[0].relationship == "parentOf" and m.ingredients[0].title.startswith("Sample")
        assert m.digital_source_types == ()  # only classical processing ran
        assert m.training_mining and set(m.training_mining.values()) == {"notAllowed"}
        assert m.recipe["generator"] == "thumbnail" and m.recipe["source_sha256"] == r.sha256
    tampered = tmp_path / "tampered.jpg"
    flip_one_scan_byte(result.variants[0].path, tampered)
    bad = workflow.verify(tampered)
    assert bad.state == "Invalid" and "assertion.dataHash.mismatch" in bad.codes


def test_regenerating_the_same_recipe_adds_nothing(analysed_sample):
    r, _ = analysed_sample
    params = ThumbnailParams(segments=("comedy",), formats=("1x1",), top_k=1)
    first = workflow.generate("thumbnail", r.title_id, params)
    second = workflow.generate("thumbnail", r.title_id, params)
    assert [v.variant_id for v in first.variants] == [v.variant_id for v in second.variants]
    assert all(v.reused for v in second.variants)
    with open_catalog(get_settings()).session() as s:
        assert s.query(Variant).count() == 1
    text = workflow.generate("thumbnail", r.title_id, ThumbnailParams(segments=("comedy",), formats=("1x1",), top_k=1, title_text="Sample"))
    assert text.variants[0].version == 2  # a new recipe is a new version of the same slot


def _inside(inner: Box, outer: tuple[float, float, float, float], slack: float = 0.01) -> bool:
    x0, y0, x1, y1 = outer
    return inner.x >= x0 - slack and inner.y >= y0 - slack and inner.x + inner.w <= x1 + slack and inner.y + inner.h <= y1 + slack


@pytest.mark.shared_media
def test_hamilton_faces_and_romance_drama_crops_keep_faces(home):
    r = workflow.ingest(shared_media("short_hamilton_clip.mp4"), "Hamilton")
    a = workflow.analyze_title(r.title_id).analysis
    assert a.cut_frames == [20, 82, 211]
    # faces in the face shots: the medium frontal shot (82-210) and the audience (211-274)
    assert all(k.face_count >= 1 for k in a.keyframes if k.shot == 2)
    assert any(k.face_count >= 2 for k in a.keyframes if k.shot == 3)
    result = workflow.generate("thumbnail", r.title_id, ThumbnailParams(segments=("romance", "drama")))
    assert {v.format for v in result.variants} == {"16x9", "2x3", "1x1", "9x16"}
    by_frame = {k.frame: k for k in a.keyframes}
    for v in result.variants:
        report = workflow.verify(v.path)
        assert report.state == "Trusted"
        details = report.manifest.recipe["details"]
        kf = by_frame[details["frame"]]
        assert kf.faces, f"{v.segment} {v.format} picked frame {kf.frame} with no face"
        assert details["faces_kept"] >= 1
        crop = details["crop"]["box"]
        W, H = a.width, a.height
        x, y, w, h = crop["x"], crop["y"], crop["width"], crop["height"]
        window = (x / W, y / H, (x + w) / W, (y + h) / H)
        assert any(_inside(f.box, window) for f in kf.faces), f"{v.segment} {v.format}: no face whole in the crop"
