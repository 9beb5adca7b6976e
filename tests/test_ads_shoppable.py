"""The shoppable kind end to end: hotspot JSON (time ranges × normalised boxes × sku), one
transparent overlay PNG per hotspot, and a preview MP4 where each card is burned in over its
range only: its QR scans inside the range and nothing scans outside any range; no card covers a
face of its shot. The interactive layer: a VAST 4.2 NonLinear framing the shipped SIMID page
(IFrameResource, apiFramework="SIMID") with the hotspots in its AdParameters, valid against the
IAB XSD; exported, the page travels beside the VAST, which points at it under the CDN base."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

import generators
from generators.ads import ShoppableKind
from generators.ads.qr import decode_qr
from generators.ads.simid import CREATIVE_PATH
from generators.ads.vast import NS, SCHEMA_PATH, validate_vast
from tests.test_ads_kind import BASE, _recipe, catalog, make_title, title, title_clip  # noqa: F401 (fixtures)
from workbench import workflow

pytestmark = pytest.mark.timeout(300)
KIND = generators.get_kind(ShoppableKind.kind)


def frame_at(path: Path, t: float) -> np.ndarray:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        for f in c.decode(s):
            if f.time is not None and f.time >= t:
                return f.to_ndarray(format="rgb24")
    raise AssertionError(f"no frame at {t}")


def test_hotspots_overlays_and_a_burned_in_preview(title, catalog) -> None:  # noqa: F811
    from provenance import verify_with_settings
    from workbench.settings import get_settings

    result = workflow.generate("shoppable", title, {"products": catalog, "tracking_base": BASE, "campaign": "spring-26",
                                                    "min_gap_s": 2.0, "max_ads": 2})
    assert len(result.variants) == 1
    v = result.variants[0]
    assert verify_with_settings(v.path, get_settings()).state == "Trusted"
    timeline = json.loads(Path(v.files["hotspots"]).read_text())
    hotspots = timeline["hotspots"]
    assert 1 <= len(hotspots) <= 2 and timeline["size"] == [1920, 1080]
    analysis = workflow.analyze_title(title).analysis
    for n, h in enumerate(hotspots, 1):
        assert h["end"] - h["start"] >= 3.0
        x, y, w, hh = h["box"]
        assert 0 <= x and 0 <= y and x + w <= 1 and y + hh <= 1
        # the overlay: RGBA, transparent outside its card, opaque on it
        with Image.open(v.files[f"overlay.{n}"]) as im:
            assert im.mode == "RGBA" and im.size == (1920, 1080)
            alpha = np.asarray(im.getchannel("A"))
        x0, y0, x1, y1 = round(x * 1920), round(y * 1080), round((x + w) * 1920), round((y + hh) * 1080)
        outside = alpha.copy()
        outside[y0:y1, x0:x1] = 0
        assert outside.max() == 0 and alpha[y0 + 40:y1 - 40, x0 + 40:x1 - 40].min() > 0
        # no face of the shot under the card (boxes normalised to the frame, the preview covers 16:9)
        for k in analysis.keyframes:
            if k.shot == h["shot"]:
                for f in k.faces:
                    assert not (f.box.x < x + w and x < f.box.x + f.box.w and f.box.y < y + hh and y < f.box.y + f.box.h)
        # burned in over its range: the QR scans from the preview inside it
        assert decode_qr(frame_at(v.path, (h["start"] + h["end"]) / 2)) == h["qr_url"]
    # and nothing scans where no hotspot is
    covered = [(h["start"], h["end"]) for h in hotspots]
    free = next(t for t in np.arange(0.5, analysis.duration - 0.5, 0.5) if all(not (s - 0.3 <= t <= e + 0.3) for s, e in covered))
    assert decode_qr(frame_at(v.path, float(free))) == ""
    recipe = _recipe(v.variant_id)
    assert recipe["details"]["scene_model"] is None and KIND.explain(recipe, v.score).terms
    # the interactive layer: the SIMID page as shipped, framed by a valid VAST with the hotspots
    import xml.etree.ElementTree as ET

    import xmlschema

    assert Path(v.files["simid"]).read_bytes() == CREATIVE_PATH.read_bytes()
    doc = Path(v.files["vast"]).read_bytes()
    assert validate_vast(doc) == [] and list(xmlschema.XMLSchema(str(SCHEMA_PATH)).iter_errors(doc.decode())) == []
    nonlinear = ET.fromstring(doc).find(f".//{{{NS}}}NonLinear")
    assert nonlinear.get("apiFramework") == "SIMID"
    assert [c.tag.rsplit("}", 1)[1] for c in nonlinear] == ["IFrameResource", "AdParameters"]
    iframe = nonlinear.find(f"{{{NS}}}IFrameResource").text
    assert iframe == recipe["details"]["vast"]["iframe"] == f"{BASE}/media/shoppable_simid.html"
    assert recipe["details"]["vast_media"] == {iframe: "simid"}
    layer = json.loads(nonlinear.find(f"{{{NS}}}AdParameters").text)["hotspots"]
    assert [(x["sku"], x["start"], x["end"], x["box"], x["qr_url"]) for x in layer] == \
        [(h["sku"], round(h["start"], 4), round(h["end"], 4), [round(b, 5) for b in h["box"]], h["qr_url"]) for h in hotspots]
    assert all(x["click_url"].startswith(f"{BASE}/click?c=spring-26&cr={x['id']}") for x in layer)


def test_an_exported_shoppable_layer_carries_its_simid_page_beside_the_vast(title, catalog, tmp_path, monkeypatch) -> None:  # noqa: F811
    from defusedxml import ElementTree

    from tests.review_helpers import AD_OPS, CREATIVE
    from workbench import review
    from workbench.export import export_approved
    from workbench.settings import Settings, reset_settings_cache

    cdn = "https://cdn.example.com/campaigns/launch"
    monkeypatch.setenv("WORKBENCH_ADS_CDN_BASE", cdn)
    reset_settings_cache()
    [v] = workflow.generate("shoppable", title, {"products": catalog, "tracking_base": BASE, "min_gap_s": 2.0,
                                                 "max_ads": 1}).variants
    review.decide(CREATIVE, [v.variant_id], "approve", "good layer", settings=Settings())
    out = export_approved(AD_OPS, tmp_path / "exports", settings=Settings())
    assert not out.blocked, out.blocked
    by_delivery = {f.delivery: f for f in out.files}
    assert {"shoppable", "vast", "simid", "hotspots", "overlay.1"} <= set(by_delivery), set(by_delivery)
    page, vast = by_delivery["simid"], by_delivery["vast"]
    assert page.path.read_bytes() == CREATIVE_PATH.read_bytes()
    doc = vast.path.read_bytes()
    assert validate_vast(doc) == []
    [iframe] = [el.text.strip() for el in ElementTree.fromstring(doc).iter(f"{{{NS}}}IFrameResource")]
    assert iframe == f"{cdn}/{page.arcname}"
