"""Context for ads on analysis values written out here: moods per shot, stable moments (held,
sharp, still, no transition), brand-safety blocks with their reasons, the affinity match and its
caps, and the classical scene tags."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from generators.ads.match import pick_matches, score_match
from generators.ads.moments import stable_moments
from generators.ads.mood import MOODS, shot_moods
from generators.ads.products import Product
from generators.ads.safety import ShotContext, check_shot, load_rules
from generators.ads.scene import classical_tags, scene_tags
from workbench.analysis.types import (
    Analysis,
    AudioSignals,
    Box,
    Face,
    FrameFeatures,
    Keyframe,
    Shot,
    Transition,
)
from workbench.errors import InvalidInput


def kf(frame: int, shot: int, *, sharp=300.0, bright=0.5, warm=0.0, motion=0.0, tags=(), faces=(), flags=()) -> Keyframe:
    feats = FrameFeatures(sharpness=sharp, brightness=bright, contrast=0.2, colourfulness=0.3, warmth=warm,
                          saliency_center=(0.5, 0.5), saliency_box=Box(0.4, 0.4, 0.2, 0.2), tags=tuple(tags))
    return Keyframe(frame=frame, time=frame / 25, pts=frame * 512, shot=shot, features=feats, faces=tuple(faces),
                    motion=motion, flags=tuple(flags))


def analysis() -> Analysis:
    """Six shots of 5 s: 0 bright and smiling (upbeat), 1 dark and fast (tense), 2 warm two-shot,
    3 held but with a fade out in it, 4 blurred, 5 sad and still."""
    smile = Face(Box(0.3, 0.2, 0.2, 0.3), 0.99, smile=0.9)
    shots = [Shot(i, i * 125, (i + 1) * 125, i * 5.0, (i + 1) * 5.0, motion=m, speech_share=s)
             for i, (m, s) in enumerate([(0.03, 0.2), (0.2, 0.0), (0.0, 0.5), (0.0, 0.0), (0.0, 0.0), (0.0, 0.0)])]
    keyframes = [
        kf(60, 0, bright=0.85, warm=0.1, motion=0.03, tags=("bright", "kitchen"), faces=(smile,)),
        kf(190, 1, bright=0.1, motion=0.2, tags=("dark", "weapon")),
        kf(310, 2, bright=0.5, warm=0.2, tags=("warm", "two-shot"), faces=(smile, Face(Box(0.6, 0.2, 0.2, 0.3), 0.9, smile=0.5))),
        kf(420, 3, tags=("dark",)),
        kf(560, 4, sharp=5.0, flags=("blurred",)),
        kf(690, 5, bright=0.15, warm=-0.2, tags=("dark", "cool", "hospital")),
    ]
    # a fade out over the second half of shot 3 (17.5 .. 20 s) leaves a 2.3 s hold: too short
    transitions = [Transition("fade_out", 437, 499, 1.0, 17.5, 20.0, "black")]
    energy = tuple([-12.0] * 100 + [-8.0] * 100 + [-30.0] * 100 + [-50.0] * 300)
    return Analysis(source_sha256="0" * 64, fps=25.0, frame_count=750, width=1280, height=720, duration=30.0,
                    shots=shots, keyframes=keyframes, transitions=transitions, has_audio=True,
                    audio=AudioSignals(energy_hop=0.05, energy_db=energy))


def product(sku="P1", categories=("food",), exclude=(), markets=()) -> Product:
    return Product(sku=sku, name="Mug", brand="Acme", price=Decimal("9.99"), currency="EUR",
                   landing_url="https://shop.example.com", image="mug.png", categories=tuple(categories),
                   markets=tuple(markets), exclude=tuple(exclude))


def test_moods_are_named_scored_and_follow_the_signals() -> None:
    moods = {m.shot: m for m in shot_moods(analysis())}
    assert set(moods[0].scores) == set(MOODS)
    assert moods[0].mood == "upbeat", moods[0].scores
    assert moods[1].mood == "tense", moods[1].scores
    assert moods[2].mood == "romantic", moods[2].scores
    assert moods[5].mood in ("sad", "calm") and moods[5].scores["sad"] > moods[0].scores["sad"]
    assert moods[0].signals["energy"] > moods[5].signals["energy"]  # from analysis.audio.energy_db
    assert moods[2].signals["speech"] == 0.5


def test_stable_moments_are_held_sharp_still_and_clear_of_transitions() -> None:
    a = analysis()
    shots = [m.shot for m in stable_moments(a)]
    assert 1 not in shots  # too much motion
    assert 3 not in shots  # the fade leaves under 3 s held
    assert 4 not in shots  # blurred
    assert {0, 2, 5} <= set(shots)
    for m in stable_moments(a):
        shot = a.shots[m.shot]
        assert m.duration >= 3.0 and shot.start_time <= m.start < m.end <= shot.end_time


def test_brand_safety_blocks_flagged_shots_and_records_why() -> None:
    rules = load_rules()
    food = product(categories=("food",))
    violent = check_shot(ShotContext(1, "tense", frozenset({"weapon"})), food, "PG", rules)
    assert not violent.allowed and "violence" in violent.rules and "weapons" in violent.reasons[0]
    sad = check_shot(ShotContext(5, "sad", frozenset({"hospital"})), food, "PG", rules)
    assert not sad.allowed and "distress" in sad.rules
    own = check_shot(ShotContext(0, "upbeat", frozenset({"kitchen"})), product(exclude=("kitchen",)), "PG", rules)
    assert not own.allowed and own.rules == ("product_exclusion",) and "kitchen" in own.reasons[0]
    rated = check_shot(ShotContext(0, "upbeat", frozenset()), product(categories=("toys",)), "R", rules)
    assert not rated.allowed and rated.rules == ("maturity:R",)
    flagged = check_shot(ShotContext(4, "calm", frozenset(), frozenset({"blurred"})), food, "G", rules)
    assert not flagged.allowed and "unusable_frame" in flagged.rules
    fine = check_shot(ShotContext(0, "upbeat", frozenset({"kitchen"})), food, "PG", rules)
    assert fine.allowed and fine.reasons == ()
    with pytest.raises(InvalidInput, match="maturity"):
        check_shot(ShotContext(0, "upbeat", frozenset()), food, "X-99", rules)


def test_matching_explains_itself_and_respects_the_caps() -> None:
    a = analysis()
    moods = {m.shot: m for m in shot_moods(a)}
    tags = classical_tags(a)
    moments = stable_moments(a)
    products = [product("FOOD", ("food",)), product("JEWEL", ("jewellery",)), product("BOOK", ("books",))]
    matches = []
    for m in moments:
        ctx = ShotContext(m.shot, moods[m.shot].mood, tags.for_shot(a, m.shot))
        matches += [score_match(m, p, ctx, moods[m.shot].scores) for p in products]
    best = {(x.moment.shot, x.product.sku): x for x in matches}
    kitchen = best[(0, "FOOD")]
    assert kitchen.score > best[(0, "BOOK")].score
    assert any(t["feature"] == "tag: food ~ kitchen" and t["contribution"] > 0 for t in kitchen.terms)
    assert abs(sum(t["contribution"] for t in kitchen.terms) - kitchen.score) < 1e-3
    assert best[(2, "JEWEL")].score > best[(2, "BOOK")].score  # a warm two-shot suits jewellery
    picks = pick_matches(matches, max_ads=5, max_per_product=1, min_gap_s=0.0)
    assert len({p.product.sku for p in picks}) == len(picks)  # each product once
    assert len({p.moment.shot for p in picks}) == len(picks)  # each shot once
    assert picks[0] is kitchen
    spaced = pick_matches(matches, max_ads=5, max_per_product=5, min_gap_s=12.0)
    times = sorted(p.moment.time for p in spaced)
    assert all(b - a_ >= 12.0 for a_, b in itertools.pairwise(times))


def test_without_a_model_the_classical_tags_are_used_and_said(monkeypatch) -> None:
    from workbench.settings import reset_settings_cache

    monkeypatch.delenv("WORKBENCH_SCENE_MODEL", raising=False)
    reset_settings_cache()
    a = analysis()
    tags = scene_tags(a, None)
    assert tags.model is None
    assert tags.tags[60] == ("bright", "kitchen")
    monkeypatch.setenv("WORKBENCH_SCENE_MODEL", "/nonexistent/model")
    reset_settings_cache()
    with pytest.raises(InvalidInput, match="not a local model folder"):
        scene_tags(a, None)
