"""The scene-model path with a tiny random-weight CLIP built here (no hub, no download): loaded
from the folder ``WORKBENCH_SCENE_MODEL`` names, tags deterministic and independent of batching,
images embedded in batches, and the model's tags and identity reaching the recipe and the
signed manifest of a pause ad."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from generators.ads import scene
from generators.ads.scene import ClipTagger, load_vocabulary, pick_tags

pytestmark = pytest.mark.timeout(300)


def build_tiny_clip(folder: Path) -> Path:
    """A 2-layer, 32-wide CLIP with a word-level tokenizer over the tag vocabulary, saved as a
    transformers model folder (config, safetensors, tokenizer, image processor)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        PreTrainedTokenizerFast,
    )

    folder.mkdir(parents=True, exist_ok=True)
    groups = load_vocabulary()["groups"].values()
    words = sorted({w for tags in groups for t in tags for w in t.split()} | {"a", "photo", "of"})
    vocab = {"[PAD]": 0, "[UNK]": 1, "[EOS]": 2, **{w: i + 3 for i, w in enumerate(words)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="$A [EOS]", special_tokens=[("[EOS]", 2)])
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", eos_token="[EOS]").save_pretrained(folder)
    torch.manual_seed(0)
    config = CLIPConfig(
        text_config={"vocab_size": len(vocab), "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
                         "num_attention_heads": 4, "max_position_embeddings": 32, "eos_token_id": 2, "pad_token_id": 0, "bos_token_id": 0},
        vision_config={"image_size": 32, "patch_size": 8, "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 2,
                           "num_attention_heads": 4},
        projection_dim=16)
    CLIPModel(config).save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> Path:
    return build_tiny_clip(tmp_path_factory.mktemp("tiny-clip") / "clip")


def pictures(n: int = 20) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    return [(rng.random((224, 224, 3)) * 255 * (i + 1) / n).astype(np.uint8) for i in range(n)]


def test_tags_are_deterministic_and_batched(tiny_clip, monkeypatch) -> None:
    vocab = load_vocabulary()
    images = pictures(20)
    tagger = ClipTagger(tiny_clip)
    calls = []
    handle = tagger.model.vision_model.register_forward_hook(
        lambda _m, args, kwargs, _out: calls.append((args[0] if args else kwargs["pixel_values"]).shape[0]), with_kwargs=True)
    first = tagger.tag(images, vocab)
    handle.remove()
    assert calls == [16, 4]  # two batches, not twenty calls
    assert len(first) == 20
    for tags, probs in first:
        assert len(tags) == len(vocab["groups"])  # the best tag of each group
        assert all(t in probs for t in tags)
    # another load of the same folder, in other batch sizes and another order: the same tags
    monkeypatch.setattr(scene, "BATCH", 3)
    again = ClipTagger(tiny_clip).tag(images[::-1], vocab)[::-1]
    assert [t for t, _ in again] == [t for t, _ in first]
    for (_, p1), (_, p2) in zip(first, again):
        assert max(abs(p1[k] - p2[k]) for k in p1) < 1e-4
    assert len({t for t, _ in first}) > 1  # the pictures do not all read the same
    assert tagger.info()["weights_sha256"] == ClipTagger(tiny_clip).info()["weights_sha256"]


def test_near_ties_go_to_the_vocabulary_order_whatever_the_float_noise() -> None:
    """What made batch sizes disagree: two tags within float32 noise of each other. Compared at
    3 decimals they tie, and the earlier tag of the vocabulary wins, in either noise direction."""
    tags = ["kitchen", "beach", "office"]
    for noisy in ([0.40004, 0.40001, 0.19995], [0.40001, 0.40004, 0.19995]):
        assert pick_tags(np.array(noisy, dtype=np.float32), tags, 1, 0.0) == ["kitchen"]
    assert pick_tags(np.array([0.30, 0.45, 0.25]), tags, 1, 0.0) == ["beach"]  # a real difference still wins
    assert pick_tags(np.array([0.30, 0.45, 0.25]), tags, 2, 0.0) == ["beach", "kitchen"]
    assert pick_tags(np.array([0.30, 0.45, 0.25]), tags, 1, 0.5) == []  # under the threshold: no tag


def test_the_scene_model_tags_reach_the_recipe_and_the_manifest(home, tiny_clip, monkeypatch, tmp_path) -> None:
    from generators.ads.store import import_products
    from provenance import verify_with_settings
    from tests.test_ads_catalog import HEADER, product_png
    from tests.test_ads_kind import BASE, _recipe, make_title
    from workbench import workflow
    from workbench.settings import get_settings, reset_settings_cache

    monkeypatch.setenv("WORKBENCH_SCENE_MODEL", str(tiny_clip))
    reset_settings_cache()
    clip = make_title(tmp_path / "title.mp4")
    title = workflow.ingest(clip, "Scene Title").title_name
    folder = tmp_path / "cat"
    folder.mkdir()
    product_png(folder / "lamp.png")
    (folder / "p.csv").write_text(HEADER + "L,Lamp,Lumo,9.00,USD,https://shop.example.com/l,lamp.png,home,,\n")
    sha, _ = import_products(folder / "p.csv")
    result = workflow.generate("pause_ad", title, {"products": sha, "tracking_base": BASE, "min_gap_s": 0.0, "max_ads": 1})
    assert len(result.variants) == 1
    v = result.variants[0]
    d = _recipe(v.variant_id)["details"]
    model = d["scene_model"]
    assert model and model["kind"] == "clip" and len(model["weights_sha256"]) == 64
    vocabulary = {t for tags in load_vocabulary()["groups"].values() for t in tags}
    assert set(d["scene_tags"]) & vocabulary, d["scene_tags"]
    manifest = verify_with_settings(v.path, get_settings()).manifest
    assert json.dumps(manifest.recipe["details"]["scene_model"], sort_keys=True) == json.dumps(model, sort_keys=True)


def test_scene_tagging_runs_through_a_real_gpu_queue_worker(home, tiny_clip, monkeypatch, tmp_path) -> None:
    """With a scene model configured, a pause-ad job belongs on the gpu queue (it reads pixels with
    a model, makes none: no diffusion rights check) and a gpu worker runs it with the model."""
    import os

    from generators.ads.store import import_products
    from tests.test_ads_catalog import HEADER, product_png
    from tests.test_ads_kind import BASE, _recipe, make_title
    from workbench import jobs, workflow
    from workbench.settings import Settings, reset_settings_cache
    from workers.broker import EmbeddedBroker
    from workers.process import WorkerProcess

    values = {"WORKBENCH_HOME": str(home), "WORKBENCH_SCENE_MODEL": str(tiny_clip), "WORKBENCH_JOB_LEASE_S": "5"}
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    reset_settings_cache()
    title = workflow.ingest(make_title(tmp_path / "title.mp4"), "Gpu Scene").title_name
    folder = tmp_path / "cat"
    folder.mkdir()
    product_png(folder / "lamp.png")
    (folder / "p.csv").write_text(HEADER + "L,Lamp,Lumo,9.00,USD,https://shop.example.com/l,lamp.png,home,,\n")
    sha, _ = import_products(folder / "p.csv")
    brief = tmp_path / "ads.yaml"
    brief.write_text(f"name: ads\ntitle: {title}\ngenerators:\n  - kind: pause_ad\n    products: '{sha}'\n"
                     f"    tracking_base: '{BASE}'\n    min_gap_s: 0\n    max_ads: 1\n")
    try:
        with WorkerProcess({**os.environ, **values, "PYTHONUNBUFFERED": "1"}, tmp_path / "worker.log", queues="gpu",
                           concurrency=1):
            [job] = jobs.submit_brief(brief).jobs
            assert job.queue(Settings()) == "gpu"
            [view] = jobs.wait([job.id], timeout=240)
    finally:
        EmbeddedBroker(home).stop()
    assert view.state == "succeeded", view.error
    [vid] = view.result["variants"]
    model = _recipe(vid)["details"]["scene_model"]
    assert model and model["kind"] == "clip"
