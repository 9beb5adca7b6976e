"""The pause-ad kind end to end on a real ingested title (four held shots made with ffmpeg: a
coffee cup, a face, colour bars, a cat): an imported catalog goes in; signed 1920×1080 stills
come out with their VAST 4.2 (valid against the IAB XSD) and placement JSON; the QR on each still
scans to the recipe's URL; no face is covered; brand-safety blocks and market exclusions are
recorded and honoured; the kind explains itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import generators
from generators.ads import PauseAdKind
from generators.ads.pause import intersects
from generators.ads.qr import decode_qr
from generators.ads.store import import_products
from generators.ads.vast import NS, validate_vast
from generators.ads.vast import SCHEMA_PATH as XSD  # the IAB schema the product ships
from tests.conftest import ffmpeg
from tests.test_ads_catalog import HEADER, product_png
from workbench import workflow
from workbench.errors import InvalidInput

pytestmark = pytest.mark.timeout(300)

KIND = generators.get_kind(PauseAdKind.kind)
BASE = "https://t.example.com/ads"


def make_title(dest: Path) -> Path:
    """16 s, 960x540 at 25 fps: four still shots of 4 s with hard cuts (coffee, a face, bars, a cat)."""
    from skimage import data as pictures

    work = dest.parent
    stills = []
    for name, picture in (("coffee", pictures.coffee()), ("face", pictures.astronaut()), ("cat", pictures.chelsea())):
        path = work / f"{name}.png"
        Image.fromarray(picture).resize((960, 540)).save(path)
        stills.append(path)
    inputs = ["-loop", "1", "-framerate", "25", "-t", "4", "-i", str(stills[0]),
              "-loop", "1", "-framerate", "25", "-t", "4", "-i", str(stills[1]),
              "-t", "4", "-f", "lavfi", "-i", "smptebars=size=960x540:rate=25",
              "-loop", "1", "-framerate", "25", "-t", "4", "-i", str(stills[2])]
    chains = [f"[{n}:v]scale=960:540,setsar=1,format=yuv420p,trim=duration=4,setpts=PTS-STARTPTS[v{n}]" for n in range(4)]
    ffmpeg(*inputs, "-filter_complex", ";".join(chains) + ";[v0][v1][v2][v3]concat=n=4:v=1:a=0[v]", "-map", "[v]",
           "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-r", "25", str(dest))
    return dest


@pytest.fixture(scope="module")
def title_clip(tmp_path_factory) -> Path:
    return make_title(tmp_path_factory.mktemp("ads-title") / "ads-title.mp4")


@pytest.fixture
def title(home, title_clip) -> str:
    return workflow.ingest(title_clip, "Ads Title").title_name


@pytest.fixture
def catalog(home, tmp_path) -> str:
    folder = tmp_path / "catalog"
    folder.mkdir()
    product_png(folder / "mug.png")
    product_png(folder / "lamp.png", (40, 90, 200))
    product_png(folder / "ring.png", (230, 200, 60))
    (folder / "products.csv").write_text(
        HEADER
        + "MUG-1,Mug <b>&amp;</b> ]]> \"x\",Acme,12.50,EUR,https://shop.example.com/mug?a=1&b=2,mug.png,food;home,DE;FR,Coffee tastes better\n"
        + "LAMP-2,Reading Lamp,Lumo,49.00,EUR,https://shop.example.com/lamp,lamp.png,home;books,,Light for long nights\n"
        + "RING-3,Ring,Shiny,199.00,EUR,https://shop.example.com/ring,ring.png,jewellery,FR,\n")
    sha, _report = import_products(folder / "products.csv")
    return sha


def _recipe(variant_id: int) -> dict:
    from workbench.catalog import open_catalog
    from workbench.catalog.models import Variant
    from workbench.settings import get_settings

    with open_catalog(get_settings()).session() as session:
        return dict(session.get(Variant, variant_id).recipe)


def test_pause_ads_end_to_end(title, catalog) -> None:
    from provenance import verify_with_settings
    from workbench.settings import get_settings

    params = {"products": catalog, "tracking_base": BASE, "campaign": "spring-26", "locale": "de_DE", "market": "DE",
              "max_ads": 3, "min_gap_s": 2.0}
    result = workflow.generate("pause_ad", title, params)
    assert 1 <= len(result.variants) <= 3
    analysis = workflow.analyze_title(title).analysis
    import xmlschema

    schema = xmlschema.XMLSchema(str(XSD))
    skus = []
    for v in result.variants:
        recipe = _recipe(v.variant_id)
        d = recipe["details"]
        skus.append(d["product"]["sku"])
        # 1. the still: 1920x1080 JPEG, signed with honest actions and both ingredients
        with Image.open(v.path) as im:
            assert im.size == (1920, 1080) and im.format == "JPEG"
            rgb = np.asarray(im.convert("RGB"))
        report = verify_with_settings(v.path, get_settings())
        assert report.state == "Trusted"
        names = [a.action for a in report.manifest.actions]
        assert names[0] == "c2pa.opened" and "c2pa.placed" in names and "c2pa.drawing" in names
        assert all(a.digital_source_type is None for a in report.manifest.actions)
        rels = sorted(i.relationship for i in report.manifest.ingredients)
        assert rels == ["componentOf", "parentOf"]
        # 2. the QR scans to the recipe's URL, which names campaign, creative and placement only
        assert decode_qr(rgb) == d["qr"]["qr_url"]
        assert d["qr"]["qr_url"].startswith(f"{BASE}/scan?c=spring-26&cr=")
        assert d["qr"]["qr_height_share"] >= 0.20 and d["qr"]["qr_quiet_zone"] == 4
        # 3. no face covered: the layout's faces are the analysis's for this keyframe
        kf = next(k for k in analysis.keyframes if k.frame == d["frame"])
        layout = d["layout"]
        assert len(layout["faces"]) == len(kf.faces)
        for face in layout["faces"]:
            for box in [layout["panel"], layout["qr"], layout["product"], *layout["text"].values()]:
                assert not intersects(tuple(face), tuple(box))
        # 4. the VAST sidecar: valid, pointing at the still, clicking through to the product
        vast = Path(v.files["vast"]).read_bytes()
        assert validate_vast(vast) == []
        assert list(schema.iter_errors(vast.decode("utf-8"))) == []
        import xml.etree.ElementTree as ET

        root = ET.fromstring(vast)
        static = root.find(f".//{{{NS}}}StaticResource")
        assert static.get("creativeType") == "image/jpeg" and static.text.endswith(".jpg")
        assert root.find(f".//{{{NS}}}NonLinearClickThrough").text.startswith("https://shop.example.com/")
        assert "[ADSERVINGID]" in root.find(f".//{{{NS}}}Impression").text
        assert root.find(f".//{{{NS}}}AdServingId").text == d["ids"]["ad_serving_id"]
        title_text = root.find(f".//{{{NS}}}AdTitle").text
        if d["product"]["sku"] == "MUG-1":
            assert title_text == 'Acme – Mug <b>&amp;</b> ]]> "x"'  # literal, escaped in the XML
        placement = json.loads(Path(v.files["placement"]).read_text())
        assert placement["qr_url"] == d["qr"]["qr_url"] and placement["sku"] == d["product"]["sku"]
        assert placement["window"][1] - placement["window"][0] >= 3.0
        # 5. the recipe says what it used: no scene model, mood scores, the match, safety
        assert d["scene_model"] is None
        assert set(d["mood"]["scores"]) == {"upbeat", "tense", "romantic", "calm", "sad"}
        assert d["match"]["terms"] and d["safety"]["decision"]["allowed"] is True
        assert d["product"]["price_text"] in ("12,50\xa0€", "49,00\xa0€")
        # the matcher: the affinity table and the sentence-embedding model, named with its weights' hash
        semantic = d["matcher"]["semantic"]
        assert semantic["id"] == "sentence-transformers/all-MiniLM-L6-v2" and len(semantic["weights_sha256"]) == 64
        assert any(t["feature"].startswith("semantic: ") for t in d["match"]["terms"])
        # 6. review: the explanation is the score breakdown; the QR read off the stored still matches
        why = KIND.explain(recipe, v.score)
        assert why.terms and abs(sum(t.contribution for t in why.terms) - d["match"]["total"]) < 1e-3
        assert any(label == "Brand safety" for label, _ in why.facts)
        assert "all-MiniLM-L6-v2" in dict(why.facts)["Matching"]
        assert {c.field for c in why.copy} >= {"brand", "name", "price", "cta"} and why.model_share is None
        seen = KIND.inspect(v.path, recipe)
        assert seen.problems == () and seen.facts == (("QR code", f"decodes to {d['qr']['qr_url']} (the tracking URL)"),)
    # RING-3 is sold only in FR: never in a DE ad; the exclusion is recorded
    assert "RING-3" not in skus
    assert "RING-3" in _recipe(result.variants[0].variant_id)["details"]["safety"]["out_of_market"]


def test_brand_safety_blocks_are_recorded_and_never_used(title, tmp_path, home) -> None:
    folder = tmp_path / "cat2"
    folder.mkdir()
    product_png(folder / "a.png")
    product_png(folder / "b.png", (10, 200, 10))
    # A excludes the warm, vivid shots (coffee, face); B is a toy, which a PG-13 title carries no ads for
    (folder / "p.csv").write_text(HEADER.replace(",copy\n", ",copy,exclude\n")
                                  + "A,Alpha,Acme,1.00,EUR,https://shop.example.com/a,a.png,home,,,warm\n"
                                  + "B,Bravo,Toyco,2.00,EUR,https://shop.example.com/b,b.png,toys,,,\n")
    sha, _ = import_products(folder / "p.csv")
    result = workflow.generate("pause_ad", title, {"products": sha, "tracking_base": BASE, "maturity": "PG-13",
                                                   "min_gap_s": 0.0, "max_ads": 4})
    analysis = workflow.analyze_title(title).analysis
    warm_shots = {k.shot for k in analysis.keyframes if "warm" in k.features.tags}
    assert warm_shots, "the title has warm shots"
    assert result.variants, "a product that avoids warm shots still finds a moment (the colour bars)"
    for v in result.variants:
        d = _recipe(v.variant_id)["details"]
        assert d["product"]["sku"] == "A" and d["shot"] not in warm_shots
        safety = d["safety"]
        assert safety["blocked_by_rule"].get("maturity:PG-13", 0) >= 1
        assert safety["blocked_by_rule"].get("product_exclusion", 0) >= 1
        blocked = {(b["shot"], b["sku"]) for b in safety["blocked_pairs"]}
        assert {(s, "A") for s in warm_shots} <= blocked
        assert any("excludes warm" in r for b in safety["blocked_pairs"] for r in b["reasons"])


def test_bad_parameters_fail_before_any_work(home) -> None:
    for params, needle in (({}, "products must be the sha256"),
                           ({"products": "a" * 64}, "tracking_base is required"),
                           ({"products": "a" * 64, "tracking_base": "http://t.example.com"}, "https"),
                           ({"products": "a" * 64, "tracking_base": BASE, "campaign": "a b"}, "campaign"),
                           ({"products": "a" * 64, "tracking_base": BASE, "locale": "xx_YY"}, "locale"),
                           ({"products": "a" * 64, "tracking_base": BASE, "maturity": "X"}, "maturity")):
        with pytest.raises(InvalidInput, match=needle):
            workflow.generate("pause_ad", "no such title", params)


def test_an_exported_pause_ad_points_its_vast_at_the_delivered_still(title, catalog, tmp_path, monkeypatch) -> None:
    """Export: the still as approved (its own manifest), the VAST re-pointed at the exported still
    under the CDN base and valid again, the placement JSON; a VAST naming a file the export does
    not hold is blocked with the reason."""
    import zipfile

    from provenance import verify_with_settings
    from tests.review_helpers import AD_OPS, CREATIVE
    from workbench import review
    from workbench.export import export_approved
    from workbench.settings import Settings, reset_settings_cache

    monkeypatch.setenv("WORKBENCH_ADS_CDN_BASE", "https://cdn.example.com/campaigns/launch")
    reset_settings_cache()
    result = workflow.generate("pause_ad", title, {"products": catalog, "tracking_base": BASE, "min_gap_s": 0.0, "max_ads": 1})
    [v] = result.variants
    review.decide(CREATIVE, [v.variant_id], "approve", "good placement", settings=Settings())
    out = export_approved(AD_OPS, tmp_path / "exports", settings=Settings())
    assert not out.blocked, out.blocked
    by_delivery = {f.delivery: f for f in out.files}
    assert set(by_delivery) == {"pause_ad", "vast", "placement"}
    still, vast = by_delivery["pause_ad"], by_delivery["vast"]
    assert verify_with_settings(still.path, Settings()).state == "Trusted"
    doc = vast.path.read_bytes()
    assert not validate_vast(doc)
    from defusedxml import ElementTree

    urls = [el.text.strip() for el in ElementTree.fromstring(doc).iter(f"{{{NS}}}StaticResource")]
    assert urls == [f"https://cdn.example.com/campaigns/launch/{still.arcname}"]
    with zipfile.ZipFile(out.zip_path) as z:
        assert still.arcname in z.namelist() and vast.arcname in z.namelist()
    import xmlschema

    xmlschema.XMLSchema(str(XSD)).validate(str(vast.path))


def test_the_ads_command_makes_each_format_and_lists_its_files(title, catalog) -> None:
    from typer.testing import CliRunner

    from workbench.cli import app

    r = CliRunner().invoke(app, ["ads", title, "--products", catalog, "--tracking-base", BASE, "--formats", "pause,overlay",
                                 "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    made = {c["format"] for c in out["creatives"]}
    assert made | {p["format"] for p in out["problems"]} == {"pause", "overlay"}
    assert "pause" in made, out["problems"]
    pause = next(c for c in out["creatives"] if c["format"] == "pause")
    assert pause["file"].endswith(".jpg") and pause["vast"].endswith(".xml") and Path(pause["vast"]).is_file()
    bad = CliRunner().invoke(app, ["ads", title, "--products", catalog, "--tracking-base", BASE, "--formats", "hologram"])
    assert bad.exit_code == 2 and "unknown ad format" in bad.output


def test_an_export_whose_vast_would_not_validate_is_blocked_naming_the_problem(title, catalog, tmp_path, monkeypatch) -> None:
    """Re-pointed under a CDN base that is no http(s) URL, the document fails the product's checks:
    the variant is blocked with the first problem named, and no VAST reaches the export."""
    import zipfile

    from tests.review_helpers import AD_OPS, CREATIVE
    from workbench import review
    from workbench.export import export_approved
    from workbench.settings import Settings, reset_settings_cache

    monkeypatch.setenv("WORKBENCH_ADS_CDN_BASE", "ftp://cdn.example.com/launch")
    reset_settings_cache()
    [v] = workflow.generate("pause_ad", title, {"products": catalog, "tracking_base": BASE, "min_gap_s": 0.0,
                                                "max_ads": 1}).variants
    review.decide(CREATIVE, [v.variant_id], "approve", "ok", settings=Settings())
    out = export_approved(AD_OPS, tmp_path / "exports", settings=Settings())
    [(vid, reason)] = out.blocked
    assert vid == v.variant_id
    assert "the exported VAST document is invalid: StaticResource URL must be an absolute http(s) URL" in reason
    assert not [f for f in out.files if f.delivery == "vast"]
    if out.zip_path is not None and Path(out.zip_path).exists():
        with zipfile.ZipFile(out.zip_path) as z:
            assert not [n for n in z.namelist() if n.endswith(".xml")]
