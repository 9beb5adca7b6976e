"""A diffusion-extended pause backdrop: with a model configured (the tiny random-weight pipeline
the diffusion tests build) and the title's rights allowing it, the frame is set whole beside the
panel and the rest outpainted; the manifest says compositeWithTrainedAlgorithmicMedia with the
model as software agent, the recipe names the model and the share of pixels it made, and the
kind's explanation returns that share. Without a model, or where the rights deny it, the
classical layout runs and nothing claims AI; ``backdrop=model`` on a denied title is refused
and audited."""

from __future__ import annotations

import json
from pathlib import Path

import c2pa
import numpy as np
import pytest
from PIL import Image

import generators
from generators.ads import PauseAdKind
from generators.ads.pause import intersects
from generators.ads.qr import decode_qr
from generators.ads.store import import_products
from provenance.manifest import COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA
from tests.test_ads_catalog import HEADER, product_png
from tests.test_ads_kind import BASE, _recipe, make_title
from workbench import rights, workflow
from workbench.catalog import open_catalog
from workbench.catalog.models import AuditEvent
from workbench.rights import RightsDenied
from workbench.settings import Settings, reset_settings_cache

pytestmark = pytest.mark.timeout(600)
KIND = generators.get_kind(PauseAdKind.kind)
FAST = {"steps": 2, "work_side": 128, "seed": 5}


@pytest.fixture(scope="module")
def title_clip(tmp_path_factory) -> Path:
    return make_title(tmp_path_factory.mktemp("backdrop") / "title.mp4")


@pytest.fixture
def title(home, title_clip) -> str:
    return workflow.ingest(title_clip, "Backdrop Title").title_name


@pytest.fixture
def catalog(home, tmp_path) -> str:
    folder = tmp_path / "catalog"
    folder.mkdir()
    product_png(folder / "mug.png")
    (folder / "p.csv").write_text(HEADER + "MUG-1,Morning Mug,Acme,12.50,EUR,https://shop.example.com/mug,mug.png,food,,\n")
    return import_products(folder / "p.csv")[0]


def raw_actions(path: Path) -> list[dict]:
    """The actions as c2pa reads them from the file (software agents included)."""
    with c2pa.Reader(str(path)) as reader:
        store = json.loads(reader.json())
    manifest = store["manifests"][store["active_manifest"]]
    return [a for assertion in manifest["assertions"] if assertion["label"].startswith("c2pa.actions")
            for a in assertion["data"]["actions"]]


def generate(title: str, catalog: str, **over) -> tuple:
    [v] = workflow.generate("pause_ad", title, {"products": catalog, "tracking_base": BASE, "max_ads": 1, "min_gap_s": 0.0,
                                                **FAST, **over}).variants
    recipe = _recipe(v.variant_id)
    return v, recipe, workflow.verify(v.path)


def test_a_model_extends_the_frame_and_the_manifest_says_so(title, catalog, with_model) -> None:
    rights.set_rights(title, "allowed", actor="legal")
    v, recipe, report = generate(title, catalog)
    d = recipe["details"]
    backdrop = d["backdrop"]
    # 1. the recipe: the model, its weights, the seed, the share of the still it made
    assert recipe["model"]["id"] == "tiny-sd" and len(recipe["model"]["weights_sha256"]) == 64
    assert recipe["seed"] == 5 and backdrop["engine"] == "model" and backdrop["model"] == "tiny-sd"
    box = backdrop["frame_box"]
    expected_share = 1 - box["width"] * box["height"] / (1920 * 1080)
    assert abs(backdrop["generated_share"] - expected_share) < 1e-3 and 0.3 < backdrop["generated_share"] < 0.8
    assert d["layout"]["strategy"] == "extended-right" and d["rights"]["ai_treatments"] == "allowed"
    # 2. the manifest: one action with compositeWithTrainedAlgorithmicMedia, the model as its agent
    assert report.state in ("Valid", "Trusted")
    assert report.manifest.digital_source_types == (COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA,)
    [made] = [a for a in raw_actions(v.path) if a.get("digitalSourceType")]
    assert made["action"] == "c2pa.edited" and "tiny-sd" in made["softwareAgent"]["name"]
    assert made["softwareAgent"]["version"] == recipe["model"]["weights_sha256"][:16]
    assert made["parameters"]["seed"] == 5
    # 3. the frame is real where it is: its pixels are the frame's, the panel sits on made pixels only
    rgb = np.asarray(Image.open(v.path).convert("RGB")).astype(int)
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    frame = workflow.analyze_title(title).analysis
    from workbench.catalog import repo
    from workbench.media.frames import read_frames_rgb
    from workbench.store import AssetStore

    with open_catalog(Settings()).session() as s:
        asset = repo.get_title(s, title).source_asset
        source = AssetStore(Settings().store_dir).resolve(asset.sha256, asset.ext)
    kf = next(k for k in frame.keyframes if k.frame == d["frame"])
    real = np.asarray(Image.fromarray(read_frames_rgb(source, [(kf.frame, kf.pts)])[kf.frame]).resize((w, h), Image.Resampling.BOX)).astype(int)
    inner = (slice(y0 + 30, y0 + h - 30), slice(x0 + 30, x0 + w - 30))
    assert np.abs(rgb[inner] - real[30:-30, 30:-30]).mean() < 6.0  # JPEG aside, the real frame
    panel = d["layout"]["panel"]
    assert not intersects(tuple(panel), (x0, y0, x0 + w, y0 + h))
    # 4. the code still scans; review: the model's share and the model named
    assert decode_qr(rgb.astype(np.uint8)) == d["qr"]["qr_url"]
    assert KIND.inspect(v.path, recipe).problems == ()
    why = KIND.explain(recipe, v.score)
    assert why.model_share == backdrop["generated_share"] and why.model["id"] == "tiny-sd"
    assert "extended by tiny-sd" in dict(why.facts)["Backdrop"]


def test_denied_rights_fall_back_to_classical_with_no_ai_claim(title, catalog, with_model) -> None:
    rights.set_rights(title, "denied", note="likeness not cleared", actor="legal")
    v, recipe, report = generate(title, catalog)
    d = recipe["details"]
    assert report.manifest.digital_source_types == ()
    assert not [a for a in raw_actions(v.path) if a.get("digitalSourceType")]
    assert recipe["model"] is None and recipe["seed"] is None
    assert d["backdrop"]["engine"] == "classical" and "rights do not allow" in d["backdrop"]["why"]
    assert d["backdrop"]["generated_share"] == 0.0 and d["layout"]["strategy"].startswith(("overlay", "inset"))
    assert KIND.explain(recipe, v.score).model_share is None
    # asking for the model outright on that title is refused with the reason, and audited
    with pytest.raises(RightsDenied, match="its rights record denies AI treatments"):
        generate(title, catalog, backdrop="model")
    with open_catalog(Settings()).session() as s:
        refused = s.query(AuditEvent).filter_by(action="treatment.refused").one()
        assert refused.details["treatment"] == "outpaint"


def test_classical_when_asked_or_when_no_model_is_configured(title, catalog, with_model, monkeypatch) -> None:
    rights.set_rights(title, "allowed", actor="legal")
    _v, recipe, report = generate(title, catalog, backdrop="classical")
    assert report.manifest.digital_source_types == () and recipe["model"] is None
    assert recipe["details"]["backdrop"]["why"] == "backdrop=classical"
    monkeypatch.delenv("WORKBENCH_DIFFUSION_MODEL")
    reset_settings_cache()
    _v, recipe, report = generate(title, catalog, seed=6)
    assert report.manifest.digital_source_types == () and recipe["model"] is None
    assert "no diffusion model is configured" in recipe["details"]["backdrop"]["why"]
    from workbench.errors import InvalidInput

    with pytest.raises(InvalidInput, match="backdrop=model asked for, but no diffusion model is configured"):
        generate(title, catalog, backdrop="model")
