"""The mid-roll spot kind end to end on a real ingested title (the trailer tests' six-shot title:
a fade to black, a moving face, a tone with clicks): an imported catalog goes in; signed 10 s MP4
spots come out, each exactly 250 frames at 25 fps, at -23 LUFS (measured by ffmpeg's ebur128)
with true peak under -1 dBTP, with a 720p rendition, a VAST 4.2 Linear document valid against the
IAB XSD, the title's ad breaks as a cue list and VMAP, and a product end card whose QR code, read
back from the encoded MP4, scans to the tracking URL. A brand-safety exclusion keeps a product off
the shots it excludes; the kind explains itself; bad parameters fail before any work."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import av
import pytest

import generators
from generators.ads.breaks import VMAP_NS, validate_vmap
from generators.ads.qr import decode_qr
from generators.ads.simid import CREATIVE_PATH
from generators.ads.spot import SpotKind
from generators.ads.store import import_products
from generators.ads.vast import NS, validate_vast
from generators.ads.vast import SCHEMA_PATH as XSD  # the IAB schema the product ships
from tests.test_ads_catalog import HEADER, product_png
from tests.test_trailers import ebur128, make_title
from workbench import workflow
from workbench.errors import InvalidInput

pytestmark = pytest.mark.timeout(600)

BASE = "https://t.example.com/ads"
AD_TAG = "https://ads.example.com/vast?slot=mid&sz=1920x1080&cb=[CACHEBUSTING]"


@pytest.fixture
def kind(monkeypatch) -> SpotKind:
    k = SpotKind()
    monkeypatch.setitem(generators.KINDS, "spot", k)
    return k


@pytest.fixture(scope="module")
def title_clip(tmp_path_factory) -> Path:
    return make_title(tmp_path_factory.mktemp("spot-title") / "spot-title.mp4")


@pytest.fixture
def title(home, title_clip) -> str:
    return workflow.ingest(title_clip, "Spot Title").title_name


@pytest.fixture
def catalog(home, tmp_path) -> str:
    folder = tmp_path / "catalog"
    folder.mkdir()
    product_png(folder / "lamp.png", (40, 90, 200))
    product_png(folder / "mug.png")
    # MUG-1 excludes vivid shots (the test patterns); LAMP-2 is sold only in FR
    (folder / "products.csv").write_text(
        HEADER.replace(",copy\n", ",copy,exclude\n")
        + "MUG-1,Mug <b>&amp;</b> ]]> \"x\",Acme,12.50,EUR,https://shop.example.com/mug?a=1&b=2,mug.png,home,DE,"
          "Coffee tastes better,vivid\n"
        + "LAMP-2,Reading Lamp,Lumo,49.00,EUR,https://shop.example.com/lamp,lamp.png,home;books,FR,Light,\n")
    sha, _report = import_products(folder / "products.csv")
    return sha


def _recipe(variant_id: int) -> dict:
    from workbench.catalog import open_catalog
    from workbench.catalog.models import Variant
    from workbench.settings import get_settings

    with open_catalog(get_settings()).session() as session:
        return dict(session.get(Variant, variant_id).recipe)


def _probe(path: Path) -> tuple[int, float, tuple[int, int]]:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        frames = sum(1 for p in c.demux(v) if p.size)
        return frames, float(c.duration / av.time_base), (v.codec_context.width, v.codec_context.height)


def _frame_at(path: Path, index: int):
    with av.open(str(path)) as c:
        for n, frame in enumerate(c.decode(video=0)):
            if n == index:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"no frame {index} in {path}")


def test_spot_end_to_end(kind, title, catalog, tmp_path) -> None:
    from provenance import verify_with_settings
    from workbench.settings import get_settings

    params = {"products": catalog, "tracking_base": BASE, "campaign": "spring-26", "locale": "de_DE", "market": "DE",
              "duration": 10, "formats": ["16x9", "9x16"], "ad_tag_url": AD_TAG, "break_spacing_s": 5.0,
              "break_edge_s": 3.0}
    result = workflow.generate("spot", title, params)
    assert sorted(v.format for v in result.variants) == ["16x9", "9x16"]  # LAMP-2 is not sold in DE
    analysis = workflow.analyze_title(title).analysis
    vivid = {k.shot for k in analysis.keyframes if "vivid" in k.features.tags}
    import xmlschema

    schema = xmlschema.XMLSchema(str(XSD))
    for v in result.variants:
        recipe = _recipe(v.variant_id)
        d = recipe["details"]
        size = (1920, 1080) if v.format == "16x9" else (1080, 1920)
        small_size = (1280, 720) if v.format == "16x9" else (720, 1280)
        assert d["product"]["sku"] == "MUG-1" and "LAMP-2" in d["safety"]["out_of_market"]
        # 1. frame-exact: 10 s at 25 fps is 250 frames
        frames, seconds, got = _probe(v.path)
        assert got == size and d["format"] == v.format
        assert abs(frames - 250) <= 1 and abs(seconds - 10.0) <= 1 / 25 + 1e-6, (frames, seconds)
        assert d["frames"] == 250
        # 2. loudness measured independently: -23 LUFS +-1, true peak <= -1 dBTP
        integrated, peak = ebur128(v.path)
        assert abs(integrated + 23.0) <= 1.0, integrated
        assert peak <= -1.0, peak
        assert d["audio"]["target_lufs"] == -23.0 and d["audio"]["true_peak_db"] <= -1.0
        # 3. the QR on the end card, read from the encoded MP4, scans to the tracking URL
        end = d["end_card"]
        rgb = _frame_at(v.path, end["start_frame"] + end["frames"] // 2)
        assert decode_qr(rgb) == end["qr_url"]
        assert end["qr_url"].startswith(f"{BASE}/scan?c=spring-26&cr={d['ids']['creative']}")
        assert "[" not in end["qr_url"]  # no macros in a QR: a phone opens it as it is
        assert end["layout"]["qr_height_share"] >= 0.20
        # 4. the shots: brand-safe (MUG-1 excludes vivid: only the dark face shot and the monochrome one), matched
        used = {c["shot"] for c in d["clips"]}
        assert used and not used & vivid, (used, vivid)
        assert used <= set(d["eligible_shots"]) and d["safety"]["used_shots_allowed"]
        assert d["safety"]["blocked_by_rule"].get("product_exclusion", 0) >= len(vivid - {5}) >= 1
        assert all(c["match"]["terms"] and "matches MUG-1" in c["why"] for c in d["clips"])
        # 5. renditions: the 720p copy
        assert _probe(Path(v.files[f"rendition.{small_size[1]}p"]))[2] == small_size
        # 6. the VAST: Linear, valid by the IAB XSD and by validate_vast
        vast = Path(v.files["vast"]).read_bytes()
        assert validate_vast(vast) == []
        assert list(schema.iter_errors(vast.decode("utf-8"))) == []
        root = ET.fromstring(vast)
        q = lambda tag: f"{{{NS}}}{tag}"
        linear = root.find(f".//{q('Linear')}")
        assert linear.find(q("Duration")).text == "00:00:10.000"
        media = linear.findall(f"{q('MediaFiles')}/{q('MediaFile')}")
        assert {(int(m.get("width")), int(m.get("height"))) for m in media} == {size, small_size}
        assert all(m.get("type") == "video/mp4" and m.get("delivery") == "progressive" for m in media)
        for m in media:  # the codec attribute is read off each file: H.264 High at its level
            rendition = v.path if (int(m.get("width")), int(m.get("height"))) == size else Path(v.files[f"rendition.{small_size[1]}p"])
            with av.open(str(rendition)) as c:
                level = c.streams.video[0].codec_context.level
            assert m.get("codec") == f"avc1.6400{level:02X}", (m.get("codec"), level)
        mezzanine = linear.find(f"{q('MediaFiles')}/{q('Mezzanine')}")
        assert (int(mezzanine.get("width")), int(mezzanine.get("height"))) == size
        # the mezzanine: its own file, ProRes 422 HQ in QuickTime at the spot's size, every frame there
        mezz_path = Path(v.files["mezzanine"])
        assert mezz_path.suffix == ".mov" and mezzanine.text.strip().endswith(d["mezzanine"]["file"])
        assert (mezzanine.get("type"), mezzanine.get("codec"), mezzanine.get("delivery")) == ("video/quicktime", "apch", "progressive")
        # sizes are written at export, where the delivered (re-signed) files exist: none named here
        assert mezzanine.get("fileSize") is None and all(m.get("fileSize") is None for m in media)
        with av.open(str(mezz_path)) as c:
            ctx = c.streams.video[0].codec_context
            assert (ctx.name, ctx.profile, ctx.pix_fmt, (ctx.width, ctx.height)) == ("prores", "HQ", "yuv422p10le", size)
            assert [a.codec_context.name for a in c.streams.audio] == ["pcm_s24le"]
            assert abs(sum(1 for p in c.demux(c.streams.video[0]) if p.size) - 250) <= 1
        # signed as a rendition of the signed master: its parent, and what was done
        assert d["mezzanine"]["signed"] is True
        mezz_report = verify_with_settings(mezz_path, get_settings())
        assert mezz_report.state == "Trusted", mezz_report.codes
        [parent] = mezz_report.manifest.ingredients  # the master, nothing else
        assert parent.relationship == "parentOf" and parent.title.endswith(".mp4")
        assert [a.action for a in mezz_report.manifest.actions] == ["c2pa.opened", "c2pa.transcoded"]
        assert all(a.digital_source_type is None for a in mezz_report.manifest.actions)
        # the interactive end card: a SIMID page over the card's time range and box, clicking to the tracker
        icf = linear.find(f"{q('MediaFiles')}/{q('InteractiveCreativeFile')}")
        assert (icf.get("type"), icf.get("apiFramework")) == ("text/html", "SIMID")
        assert Path(v.files["simid"]).read_bytes() == CREATIVE_PATH.read_bytes()
        import json

        [hot] = json.loads(linear.find(q("AdParameters")).text)["hotspots"]
        assert hot["sku"] == "MUG-1" and hot["name"] == 'Mug <b>&amp;</b> ]]> "x"' and hot["qr_url"] == end["qr_url"]
        assert abs(hot["start"] - end["start_s"]) < 1e-3 and abs(hot["end"] - 10.0) < 1e-3
        assert hot["click_url"].startswith(f"{BASE}/click?c=spring-26&cr={d['ids']['creative']}")
        events = {t.get("event"): t.text for t in linear.iter(q("Tracking"))}
        assert {"start", "firstQuartile", "midpoint", "thirdQuartile", "complete"} <= set(events)
        assert all("[ADSERVINGID]" in u and "[CACHEBUSTING]" in u for u in events.values())
        click = linear.find(f"{q('VideoClicks')}/{q('ClickThrough')}").text
        assert click.startswith(f"{BASE}/click?") and "[ADSERVINGID]" in click
        assert root.find(f".//{q('UniversalAdId')}").text == d["ids"]["creative"]
        assert root.find(f".//{q('AdTitle')}").text == 'Acme – Mug <b>&amp;</b> ]]> "x"'  # literal, escaped
        assert "[CACHEBUSTING]" in root.find(f".//{q('Impression')}").text
        # 7. the title's ad breaks (with the first format's spot): the fade to black is one
        if v.format == "16x9":
            vmap = Path(v.files["breaks.vmap"]).read_bytes()
            assert validate_vmap(vmap) == []
            vroot = ET.fromstring(vmap)
            offsets = [b.get("timeOffset") for b in vroot.findall(f"{{{VMAP_NS}}}AdBreak")]
            assert "00:00:21.160" in offsets, offsets
            assert vroot.find(f".//{{{VMAP_NS}}}AdTagURI").text == AD_TAG
        else:
            assert "breaks.vmap" not in v.files
        # 8. provenance: Trusted, honest actions, the shots' frames and the product image as ingredients
        report = verify_with_settings(v.path, get_settings())
        assert report.state == "Trusted"
        names = [a.action for a in report.manifest.actions]
        assert names[0] == "c2pa.opened" and "c2pa.drawing" in names and "c2pa.placed" in names
        assert all(a.digital_source_type is None for a in report.manifest.actions)
        titles = [i.title for i in report.manifest.ingredients]
        assert any("MUG-1" in t for t in titles) and sum("Spot Title" in t for t in titles) == len(d["clips"])
        # 9. review: the end card's QR read off the stored MP4 matches the recipe
        assert kind.inspect(v.path, recipe).problems == ()
        assert d["matcher"]["semantic"]["id"] == "sentence-transformers/all-MiniLM-L6-v2"
        why = kind.explain(recipe, v.score)
        assert len(why.terms) == len(d["clips"]) and any(label == "Brand safety" for label, _ in why.facts)
        assert "Mug" in why.summary
    # 10. a product every usable shot is unsafe for gets no spot, and the error says why
    folder = tmp_path / "cat-blocked"
    folder.mkdir()
    product_png(folder / "x.png")
    (folder / "p.csv").write_text(HEADER.replace(",copy\n", ",copy,exclude\n")
                                  + "X-1,Ex,Acme,1.00,EUR,https://shop.example.com/x,x.png,home,,,vivid;dark;monochrome\n")
    blocked, _ = import_products(folder / "p.csv")
    with pytest.raises(InvalidInput, match=r"no spot to make: .* blocked by brand safety"):
        workflow.generate("spot", title, {**params, "products": blocked, "market": None})


def test_plan_cut_restricts_and_boosts_shots(home, title) -> None:
    """The trailer planner's keyword arguments the spot uses; without them, the plan is unchanged."""
    from fractions import Fraction

    from generators.trailers.plan import plan_cut

    a = workflow.analyze_title(title).analysis
    fps = Fraction(25)
    plain = plan_cut(a, "drama", 10, fps)
    assert plan_cut(a, "drama", 10, fps, only_shots=None, boost=None) == plain
    only = plan_cut(a, "drama", 10, fps, card_s=(0.0, 3.0), only_shots={1, 4})
    assert {c.shot for c in only.clips} <= {1, 4} and [i.kind for i in only.items if not isinstance(i, type(only.clips[0]))] == ["end"]
    assert sum(i.frames for i in only.items) == 250
    boosted = plan_cut(a, "drama", 6, fps, card_s=(0.0, 2.0), boost={4: 10.0})
    assert 4 in {c.shot for c in boosted.clips}
    with pytest.raises(InvalidInput, match="usable footage"):
        plan_cut(a, "drama", 15, fps, card_s=(0.0, 3.0), only_shots={3})


def test_bad_parameters_fail_before_any_work(kind, home) -> None:
    ok = {"products": "a" * 64, "tracking_base": BASE}
    for params, needle in (({}, "products must be the sha256"),
                           ({**ok, "duration": 20}, "duration"),
                           ({**ok, "duration": 5}, "duration"),
                           ({**ok, "ad_tag_url": "http://ads.example.com/vast"}, "https"),
                           ({**ok, "ad_tag_url": "javascript:alert(1)"}, "ad_tag_url"),
                           ({**ok, "segment": "nope"}, "segment"),
                           ({**ok, "formats": ["4x3"]}, "format"),
                           ({**ok, "tracking_base": "http://t.example.com"}, "https")):
        with pytest.raises(InvalidInput, match=needle):
            workflow.generate("spot", "no such title", params)


def test_an_exported_spot_points_its_vast_at_the_delivered_files(kind, title, catalog, tmp_path, monkeypatch) -> None:
    """Export: the MP4 as approved, its 720p rendition re-encoded and re-signed, the VAST re-pointed
    at both under the CDN base and valid again (XSD too), the ad-break cue list and VMAP."""
    import zipfile

    from defusedxml import ElementTree

    from provenance import verify_with_settings
    from tests.review_helpers import AD_OPS, CREATIVE
    from workbench import review
    from workbench.export import export_approved
    from workbench.settings import Settings, reset_settings_cache

    cdn = "https://cdn.example.com/campaigns/launch"
    monkeypatch.setenv("WORKBENCH_ADS_CDN_BASE", cdn)
    reset_settings_cache()
    result = workflow.generate("spot", title, {"products": catalog, "tracking_base": BASE, "duration": 6,
                                               "ad_tag_url": AD_TAG, "break_spacing_s": 5.0, "break_edge_s": 3.0})
    [v] = result.variants
    review.decide(CREATIVE, [v.variant_id], "approve", "good spot", settings=Settings())
    out = export_approved(AD_OPS, tmp_path / "exports", settings=Settings())
    assert not out.blocked, out.blocked
    by_delivery = {f.delivery: f for f in out.files}
    assert {"spot", "rendition_720p", "vast", "breaks.cues", "breaks.vmap", "mezzanine", "simid"} <= set(by_delivery), set(by_delivery)
    spot, small, vast = by_delivery["spot"], by_delivery["rendition_720p"], by_delivery["vast"]
    mezz, page = by_delivery["mezzanine"], by_delivery["simid"]
    assert verify_with_settings(spot.path, Settings()).state == "Trusted"
    assert verify_with_settings(small.path, Settings()).state == "Trusted"
    doc = vast.path.read_bytes()
    assert validate_vast(doc) == []
    root = ElementTree.fromstring(doc)
    urls = sorted(el.text.strip() for tag in ("MediaFile", "Mezzanine", "InteractiveCreativeFile")
                  for el in root.iter(f"{{{NS}}}{tag}"))
    assert urls == sorted(f"{cdn}/{f.arcname}" for f in (spot, small, mezz, page))
    assert mezz.arcname.endswith(".mov") and page.arcname.endswith(".html")
    assert verify_with_settings(mezz.path, Settings()).state == "Trusted"
    # every MediaFile and the Mezzanine give the exact size of the file delivered beside the VAST
    sizes = {el.text.strip(): int(el.get("fileSize")) for tag in ("MediaFile", "Mezzanine")
             for el in root.iter(f"{{{NS}}}{tag}")}
    assert sizes == {f"{cdn}/{f.arcname}": f.path.stat().st_size for f in (spot, small, mezz)}
    assert page.path.read_bytes() == CREATIVE_PATH.read_bytes()
    assert _probe(small.path)[2] == (1280, 720)
    with zipfile.ZipFile(out.zip_path) as z:
        assert {spot.arcname, small.arcname, vast.arcname, mezz.arcname, page.arcname} <= set(z.namelist())
    import xmlschema

    xmlschema.XMLSchema(str(XSD)).validate(str(vast.path))
