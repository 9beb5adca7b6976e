"""Diffusion treatments: a tiny seeded random-weight pipeline built here (no hub, no download),
loaded through WORKBENCH_DIFFUSION_MODEL as a user would, run in-process and through a real
worker; the classical fallback; honest manifests; rights; cancellation; bad input."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from generators.diffusion.backend import DiffusionBackend, DiffusionRequest, choose_device, resolve_model
from generators.diffusion.textregions import detect_text_regions
from generators.diffusion.treatments import TreatmentParams
from generators.thumbnails.generator import ThumbnailGenerator, ThumbnailParams
from provenance.manifest import COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA
from tests.conftest import lavfi_video
from workbench import jobs, rights, workflow
from workbench.access import Actor
from workbench.catalog import open_catalog, repo
from workbench.catalog.models import AuditEvent, Variant
from workbench.errors import InvalidInput
from workbench.rights import RightsDenied
from workbench.settings import Settings, reset_settings_cache
from workbench.store import AssetStore
from workers.process import WorkerProcess

pytestmark = pytest.mark.timeout(600)
FAST = {"steps": 3, "work_side": 64}


@pytest.fixture(scope="session")
def backend(tiny_model) -> DiffusionBackend:
    return DiffusionBackend.load(tiny_model, device="cpu")


@pytest.fixture
def title(home, tmp_path) -> str:
    clip = lavfi_video(tmp_path / "clip.mp4", "testsrc2=size=640x360:rate=25", 3, audio=True)
    workflow.ingest(clip, "Clip")
    return "Clip"


def params(name: str, **kw) -> ThumbnailParams:
    options = {**FAST, **kw.pop("treatment", {})}
    return ThumbnailParams(segments=("action",), formats=("9x16",), top_k=1, treatment=TreatmentParams(name, **options), **kw)


def analysis_and_source(title: str):
    analysis = workflow.analyze_title(title).analysis
    with open_catalog(Settings()).session() as s:
        asset = repo.get_title(s, title).source_asset
        return analysis, AssetStore(Settings().store_dir).resolve(asset.sha256, asset.ext)


def manifest_of(path: Path):
    report = workflow.verify(path)
    assert report.state in ("Valid", "Trusted"), report
    return report.manifest


# -- bad input: clear errors before any model work ------------------------------------------


def test_model_setting_errors_are_clear(tmp_path, tiny_model):
    with pytest.raises(InvalidInput, match="no such file or folder"):
        resolve_model(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInput, match="not a diffusers model"):
        resolve_model(tmp_path / "empty")
    (tmp_path / "weights.txt").write_text("x")
    with pytest.raises(InvalidInput, match="not a diffusers folder or a .safetensors"):
        resolve_model(tmp_path / "weights.txt")
    other = tmp_path / "ddpm"
    other.mkdir()
    (other / "model_index.json").write_text(json.dumps({"_class_name": "DDPMPipeline"}))
    with pytest.raises(InvalidInput, match="pipeline 'DDPMPipeline' is not supported"):
        resolve_model(other)
    with pytest.raises(InvalidInput, match="HF_HUB_OFFLINE=1"):
        resolve_model("someone/some-model")
    assert resolve_model(tiny_model).pipeline_class == "StableDiffusionPipeline"


def test_cuda_on_a_machine_without_it_is_refused():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(InvalidInput, match="no CUDA"):
        choose_device("cuda")
    with pytest.raises(InvalidInput, match="no CUDA"):
        choose_device("cuda:0")


def test_request_errors_are_caught_before_the_model_runs(backend):
    image = Image.new("RGB", (64, 48))
    calls = []
    bad = [
        (DiffusionRequest("inpaint", "x", 64, 48, 0, image=image, mask=Image.new("L", (32, 32))), "mask is 32x32 but the image is 64x48"),
        (DiffusionRequest("txt2img", "  ", 64, 48, 0), "needs a non-empty prompt"),
        (DiffusionRequest("img2img", "x", 64, 48, 0), "needs an input image"),
        (DiffusionRequest("txt2img", "x", 60, 48, 0), "multiples of 8"),
        (DiffusionRequest("txt2img", "x", 64, 48, 0, steps=0), "steps must be"),
    ]
    for request, message in bad:
        with pytest.raises(InvalidInput, match=message):
            backend.run([DiffusionRequest("txt2img", "fine", 64, 48, 0, steps=1), request], on_step=lambda d, t: calls.append(d))
    assert calls == []  # the good request in the same call never ran either


def test_treatment_parameter_errors(home, title, with_model):
    rights.set_rights(title, "allowed", actor="test")
    cases = [
        ({"prompt": ""}, "the prompt is empty"),
        ({"strength": 1.5}, "strength must be in"),
        ({"regions": ((0.1, 0.1, 0.2, 0.1),)}, "regions are for the clean treatment only"),
    ]
    for options, message in cases:
        with pytest.raises(InvalidInput, match=message):
            workflow.generate("thumbnail", title, params("restyle", treatment=options))
    with pytest.raises(InvalidInput, match="must be x, y, w, h inside 0..1"):
        workflow.generate("thumbnail", title, params("clean", treatment={"regions": ((0.5, 0.5, 0.8, 0.1),)}))
    with pytest.raises(InvalidInput, match="unknown treatment 'sharpen'"):
        workflow.generate("thumbnail", title, params("sharpen"))  # type: ignore[arg-type]


def test_a_bad_model_setting_fails_before_analysis_or_rendering(home, title, monkeypatch, tmp_path):
    rights.set_rights(title, "allowed", actor="test")
    monkeypatch.setenv("WORKBENCH_DIFFUSION_MODEL", str(tmp_path / "no-model-here"))
    reset_settings_cache()
    with pytest.raises(InvalidInput, match="no such file or folder"):
        workflow.generate("thumbnail", title, params("outpaint"))
    with open_catalog(Settings()).session() as s:
        assert s.query(Variant).count() == 0


def test_engine_model_without_a_configured_model_is_refused(home, title):
    with pytest.raises(InvalidInput, match="no diffusion model is configured"):
        workflow.generate("thumbnail", title, params("outpaint", treatment={"engine": "model"}))


# -- the model path, in-process ---------------------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_bytes(home, title, backend, tmp_path):
    analysis, source = analysis_and_source(title)
    gen = ThumbnailGenerator()

    def run(seed: int, out: str) -> bytes:
        p = params("outpaint", treatment={"seed": seed}, title_name=title)
        [f] = gen.generate(analysis, source, p, tmp_path / out, backend=backend)
        return f.path.read_bytes()

    assert run(7, "a") == run(7, "b")
    assert run(7, "c") != run(8, "d")


@pytest.mark.parametrize("name", ["outpaint", "restyle", "clean"])
def test_model_treatment_manifest_names_the_model(home, title, with_model, name):
    rights.set_rights(title, "allowed", ["US", "GB"], actor="test")
    extra = {"regions": ((0.4, 0.1, 0.2, 0.1),)} if name == "clean" else {}
    result = workflow.generate("thumbnail", title, params(name, treatment={"seed": 3, **extra}))
    [v] = result.variants
    manifest = manifest_of(v.path)
    assert manifest.digital_source_types == (COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA,)
    recipe = manifest.recipe
    model = recipe["model"]
    assert model["id"] == "tiny-sd" and len(model["weights_sha256"]) == 64
    assert model["scheduler"] == "DDIMScheduler" and recipe["seed"] == 3
    treatment = recipe["details"]["treatment"]
    assert treatment["engine"] == "model" and treatment["steps"] == 3 and treatment["prompt"]
    assert treatment["negative_prompt"] and treatment["guidance"] == 7.0 and "strength" in treatment
    assert recipe["details"]["rights"]["ai_treatments"] == "allowed"
    assert recipe["details"]["rights"]["markets"] == ["US", "GB"]
    edited = [a for a in manifest.actions if a.digital_source_type]
    assert len(edited) == 1 and edited[0].action == "c2pa.edited"
    assert v.path.name.endswith(".jpg") and "_ai" in result.variants[0].export_path.name
    with Image.open(v.path) as img:
        assert img.size == (1080, 1920)


@pytest.mark.parametrize("name", ["outpaint", "restyle", "clean"])
def test_classical_fallback_makes_no_ai_claim(home, title, name):
    extra = {"regions": ((0.4, 0.1, 0.2, 0.1),)} if name == "clean" else {}
    result = workflow.generate("thumbnail", title, params(name, treatment=extra))
    [v] = result.variants
    manifest = manifest_of(v.path)
    assert manifest.digital_source_types == ()
    assert manifest.recipe["model"] is None and manifest.recipe["seed"] is None
    treatment = manifest.recipe["details"]["treatment"]
    assert treatment["engine"] == "classical" and treatment["model"] is None and "prompt" not in treatment
    assert any("no model" in (a.description or "") for a in manifest.actions)
    # without a rights record, the default (denied) is recorded: classical treatments do not need it
    rights_state = manifest.recipe["details"]["rights"]
    assert rights_state["ai_treatments"] == "denied" and rights_state["source"] == "default"


def test_outpaint_keeps_the_real_frame_and_only_generates_the_border(home, title, with_model):
    rights.set_rights(title, "allowed", actor="test")
    [v] = workflow.generate("thumbnail", title, params("outpaint")).variants
    details = manifest_of(v.path).recipe["details"]["treatment"]
    box = details["frame_box"]
    assert (box["width"], box["height"]) == (1080, round(1080 * 360 / 640))  # the whole 16:9 frame, scaled
    assert 0.6 < details["generated_share"] < 0.75


def test_a_frame_already_at_the_target_aspect_runs_no_model_and_claims_none(home, title, with_model):
    rights.set_rights(title, "allowed", actor="test")
    p = ThumbnailParams(segments=("action",), formats=("16x9",), top_k=1, treatment=TreatmentParams("outpaint", **FAST))
    [v] = workflow.generate("thumbnail", title, p).variants
    manifest = manifest_of(v.path)
    assert manifest.digital_source_types == () and manifest.recipe["model"] is None
    assert manifest.recipe["details"]["treatment"]["engine"] == "none"


# -- rights -------------------------------------------------------------------------------------


def test_denied_rights_refuse_model_treatments_with_an_audit_event(home, title, with_model):
    rights.set_rights(title, "denied", note="talent likeness not cleared", actor="legal")
    with pytest.raises(RightsDenied, match="its rights record denies AI treatments"):
        workflow.generate("thumbnail", title, params("restyle"))
    with open_catalog(Settings()).session() as s:
        assert s.query(Variant).count() == 0
        refused = s.query(AuditEvent).filter_by(action="treatment.refused").one()
        assert refused.details["treatment"] == "restyle" and refused.details["rights"]["ai_treatments"] == "denied"
        assert s.query(AuditEvent).filter_by(action="rights.set").count() == 1
    # the classical path still works for the same title
    [v] = workflow.generate("thumbnail", title, params("restyle", treatment={"engine": "classical"})).variants
    assert manifest_of(v.path).digital_source_types == ()


def test_rights_input_is_checked(home, title):
    with pytest.raises(InvalidInput, match="allowed, denied"):
        rights.set_rights(title, "maybe", actor="x")
    with pytest.raises(InvalidInput, match="unknown market code"):
        rights.set_rights(title, "allowed", ["USA"], actor="x")
    record = rights.set_rights(title, "allowed", ["us", "gb", "us"], actor="x")
    assert record.markets == ("US", "GB") and rights.get_rights(title).ai_treatments == "allowed"


# -- cancellation ------------------------------------------------------------------------------


class Stop(Exception):
    pass


def test_cancel_stops_within_one_step_and_leaves_no_file(home, title, backend, tmp_path):
    analysis, source = analysis_and_source(title)
    steps: list[int] = []

    def on_step(done: int, total: int) -> None:
        steps.append(done)
        if done == 3:
            raise Stop("cancelled")

    out = tmp_path / "out"
    with pytest.raises(Stop):
        ThumbnailGenerator().generate(analysis, source, params("outpaint", treatment={"steps": 50}, title_name=title), out,
                                      backend=backend, on_step=on_step)
    assert steps == [1, 2, 3]  # no step ran after the one that asked to stop
    assert not out.exists() or not any(out.iterdir())


# -- through real workers -----------------------------------------------------------------------


@pytest.fixture
def worker_env(home, monkeypatch, tiny_model):
    values = {"WORKBENCH_HOME": str(home), "WORKBENCH_DIFFUSION_MODEL": str(tiny_model), "WORKBENCH_JOB_LEASE_S": "3"}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    reset_settings_cache()
    yield {**os.environ, **values, "PYTHONUNBUFFERED": "1"}
    from workers.broker import EmbeddedBroker

    EmbeddedBroker(home).stop()


def write_brief(path: Path, title: str, treatments: list[dict]) -> Path:
    items = "".join(
        f"  - kind: thumbnail\n    segments: [action]\n    formats: [9x16]\n    top_k: 1\n    treatment: {json.dumps(t)}\n"
        for t in treatments
    )
    path.write_text(f"name: treatments\ntitle: {title}\ngenerators:\n{items}")
    return path


def test_treatments_run_end_to_end_through_a_gpu_queue_worker(worker_env, home, title, tmp_path):
    from workbench import jobs as client

    rights.set_rights(title, "allowed", actor="test")
    treatments = [{"name": "outpaint", **FAST, "seed": 1}, {"name": "restyle", **FAST, "seed": 1},
                  {"name": "clean", **FAST, "seed": 1, "regions": [[0.4, 0.1, 0.2, 0.1]]}]
    brief = write_brief(tmp_path / "brief.yaml", title, treatments)
    with WorkerProcess(worker_env, tmp_path / "gpu-worker.log", queues="gpu", concurrency=1):
        sub = client.submit_brief(brief)
        assert [j.queue(Settings()) for j in sub.jobs] == ["gpu"] * 3
        started = time.monotonic()
        views = client.wait([j.id for j in sub.jobs], timeout=300)
        elapsed = time.monotonic() - started
    assert [v.state for v in views] == ["succeeded"] * 3, [(v.state, v.error) for v in views]
    assert elapsed < 120
    log = (tmp_path / "gpu-worker.log").read_text()
    assert "event=diffusion_ready model=tiny-sd" in log  # loaded once, at worker start
    for view in views:
        [v] = workflow.variants_by_id(view.result["variants"])
        manifest = manifest_of(v.path)
        assert manifest.digital_source_types == (COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA,)
        assert manifest.recipe["model"]["id"] == "tiny-sd"


def test_denied_title_gets_a_refusal_through_the_worker(worker_env, home, title, tmp_path):
    from workbench import jobs as client

    rights.set_rights(title, "denied", actor="legal")
    brief = write_brief(tmp_path / "brief.yaml", title, [{"name": "outpaint", **FAST}])
    with WorkerProcess(worker_env, tmp_path / "gpu-worker.log", queues="gpu", concurrency=1):
        sub = client.submit_brief(brief)
        [view] = client.wait([j.id for j in sub.jobs], timeout=300)
    assert view.state == "failed" and "refused" in view.error and "denies AI treatments" in view.error
    assert view.retries == 0  # a refusal is not retried
    with open_catalog(Settings()).session() as s:
        assert s.query(Variant).count() == 0
        assert s.query(AuditEvent).filter_by(action="treatment.refused").count() == 1


def test_cancelling_a_running_model_job_stops_it_and_leaves_nothing(worker_env, home, title, tmp_path):
    from workbench import jobs as client

    rights.set_rights(title, "allowed", actor="test")
    brief = write_brief(tmp_path / "brief.yaml", title, [{"name": "outpaint", "steps": 200, "work_side": 256}])
    with WorkerProcess(worker_env, tmp_path / "gpu-worker.log", queues="gpu", concurrency=1):
        sub = client.submit_brief(brief)
        [job] = sub.jobs
        deadline = time.monotonic() + 240
        while jobs.get_job(job.id).progress <= 0.5 and time.monotonic() < deadline:  # denoising has begun
            time.sleep(0.1)
        assert jobs.get_job(job.id).state == "running"
        client.cancel(Actor("cara", "creative"), job.id)
        cancelled_at = time.monotonic()
        log = tmp_path / "gpu-worker.log"
        while "cancelled" not in log.read_text() and time.monotonic() < cancelled_at + 30:
            time.sleep(0.05)
        stopped_in = time.monotonic() - cancelled_at
    assert jobs.get_job(job.id).state == "cancelled"
    assert stopped_in < 10, stopped_in
    with open_catalog(Settings()).session() as s:
        assert s.query(Variant).count() == 0
    out = home / "out"
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))
    assert not list((home / "tmp").rglob("*.jpg")) if (home / "tmp").exists() else True


# -- text regions ---------------------------------------------------------------------------------


def test_burned_in_text_is_found_on_a_calm_background():
    img = Image.new("RGB", (960, 540), (40, 60, 90))
    draw = ImageDraw.Draw(img)
    for y in range(540):
        draw.line([(0, y), (959, y)], fill=(40 + y // 10, 60, 90))
    from generators.thumbnails.render import font_path
    from PIL import ImageFont

    font = ImageFont.truetype(font_path(), 36) if font_path() else ImageFont.load_default()
    draw.text((60, 450), "COMING SOON ON STREAMING", font=font, fill=(255, 255, 255))
    regions = detect_text_regions(np.asarray(img))
    assert regions, "no region found"
    x, y, w, h = regions[0]
    assert x <= 60 / 960 + 0.01 and y <= 450 / 540 and y + h >= 480 / 540 and w > 0.3


def test_detected_regions_over_a_face_are_left_alone():
    from generators.diffusion.treatments import prepare
    from workbench.analysis.types import Box, Face

    img = Image.new("RGB", (960, 540), (40, 60, 90))
    draw = ImageDraw.Draw(img)
    from generators.thumbnails.render import font_path
    from PIL import ImageFont

    font = ImageFont.truetype(font_path(), 36) if font_path() else ImageFont.load_default()
    draw.text((60, 450), "LOWER THIRD CAPTION", font=font, fill=(255, 255, 255))
    draw.text((600, 100), "ON A FACE", font=font, fill=(255, 255, 255))
    face = Face(Box(580 / 960, 60 / 540, 300 / 960, 200 / 540), 0.99)
    p = prepare(np.asarray(img), [face], None, (960, 540), TreatmentParams("clean"), None, False, 25)
    boxes = p.details["regions"]["boxes"]
    assert len(boxes) == 1 and boxes[0][1] > 0.75  # the caption, not the text on the face
    assert p.mask[100:160, 600:800].max() == 0 and p.mask[455:485, 60:400].min() == 255


def test_exported_deliveries_of_a_model_made_variant_keep_the_ai_claim(home, title, with_model, tmp_path):
    import zipfile

    from workbench.access import Actor
    from workbench.export import export_approved
    from workbench.review import decide

    rights.set_rights(title, "allowed", actor="test")
    p = ThumbnailParams(segments=("action",), formats=("16x9",), top_k=1,
                        treatment=TreatmentParams("restyle", **FAST))
    [v] = workflow.generate("thumbnail", title, p).variants
    decide(Actor("cara", "creative"), [v.variant_id], "approve")
    result = export_approved(Actor("otto", "ad_ops"), tmp_path / "export")
    assert not result.blocked
    resized = [f for f in result.files if f.resigned]
    assert resized
    out = tmp_path / "unzipped"
    with zipfile.ZipFile(result.zip_path) as z:
        z.extractall(out)
    for f in resized:
        manifest = manifest_of(out / f.arcname)
        assert COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA in manifest.digital_source_types
