"""Pick a diverse top-k with maximal marginal relevance (MMR).

Each step picks the candidate with the best ``LAMBDA * relevance - (1 - LAMBDA) * similarity to
the closest pick so far``, where relevance is the score rescaled to 0..1 over the candidates.

Similarity of two keyframes (0..1) mixes three cues:
- same shot (1 or 0),
- temporal closeness ``exp(-|dt| / TEMPORAL_SCALE_S)``: nearby shots are usually one scene,
- appearance: a small vector of what the frame looks like (brightness, contrast, colourfulness,
  warmth, face count, largest face size, saliency centre), compared by RMS distance.

Two hard rules sit on top of the MMR score:
- no two picks from one shot, unless fewer distinct shots than ``k`` are eligible (then the
  remaining picks may share shots, still by MMR);
- never a near-duplicate: a candidate whose appearance is within ``NEAR_DUPLICATE_DISTANCE`` of a
  pick (and shows as many faces) is dropped, even when that leaves fewer than ``k`` picks.
  This catches the same set-up cut back to later (shot / reverse shot), not only the same shot.

Analysis stores no pixel signature of a keyframe, so appearance is the feature vector; swapping in
a colour histogram later only changes ``appearance_distance``.
"""

from __future__ import annotations

import math

from generators.audience.scoring import Scored
from workbench.analysis.types import Keyframe

LAMBDA = 0.7
TEMPORAL_SCALE_S = 20.0
APPEARANCE_SCALE = 0.25  # RMS distance at which two frames count as unrelated
NEAR_DUPLICATE_DISTANCE = 0.03
SIMILARITY_WEIGHTS = {"same_shot": 0.40, "temporal": 0.25, "appearance": 0.35}


def appearance_vector(kf: Keyframe) -> tuple[float, ...]:
    f = kf.features
    return (
        f.brightness,
        min(1.0, f.contrast / 0.3),
        min(1.0, f.colourfulness / 0.8),
        min(1.0, max(0.0, 0.5 + f.warmth / 0.4)),
        min(kf.face_count, 3) / 3.0,
        min(1.0, math.sqrt(kf.largest_face_area) / 0.3),
        f.saliency_center[0],
        f.saliency_center[1],
    )


def _rms(va: tuple[float, ...], vb: tuple[float, ...]) -> float:
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(va, vb)) / len(va))


def appearance_distance(a: Keyframe, b: Keyframe) -> float:
    return _rms(appearance_vector(a), appearance_vector(b))


def is_near_duplicate(a: Keyframe, b: Keyframe) -> bool:
    return a.face_count == b.face_count and appearance_distance(a, b) < NEAR_DUPLICATE_DISTANCE


def _similarity(a: Keyframe, b: Keyframe, distance: float) -> float:
    same_shot = 1.0 if a.shot == b.shot else 0.0
    temporal = math.exp(-abs(a.time - b.time) / TEMPORAL_SCALE_S)
    appearance = max(0.0, 1.0 - distance / APPEARANCE_SCALE)
    w = SIMILARITY_WEIGHTS
    return w["same_shot"] * same_shot + w["temporal"] * temporal + w["appearance"] * appearance


def similarity(a: Keyframe, b: Keyframe) -> float:
    return _similarity(a, b, appearance_distance(a, b))


def select_top_k(scored: list[Scored], k: int, lam: float = LAMBDA) -> list[Scored]:
    """Up to ``k`` picks, best first, diverse by MMR (see the module docstring for the rules)."""
    if k <= 0 or not scored:
        return []
    totals = [s.total for s in scored]
    lo, hi = min(totals), max(totals)
    span = hi - lo
    n = len(scored)
    relevance = [(t - lo) / span if span > 0 else 1.0 for t in totals]
    vectors = [appearance_vector(s.keyframe) for s in scored]
    redundancy = [0.0] * n  # highest similarity to any pick so far, kept up to date per pick
    alive = set(range(n))  # not picked and not a near-duplicate of a pick
    distinct_shots = len({s.keyframe.shot for s in scored})
    picks: list[int] = []
    while alive and len(picks) < k:
        shots_taken = {scored[p].keyframe.shot for p in picks}
        candidates = [i for i in alive if scored[i].keyframe.shot not in shots_taken]
        if not candidates and distinct_shots < k:
            # Fewer shots than picks asked for: every shot has had its chance, now they may repeat.
            candidates = list(alive)
        if not candidates:
            break
        best = max(
            candidates,
            key=lambda i: (lam * relevance[i] - (1.0 - lam) * redundancy[i], totals[i], -scored[i].frame),
        )
        picks.append(best)
        alive.discard(best)
        chosen = scored[best].keyframe
        for i in list(alive):
            kf = scored[i].keyframe
            distance = _rms(vectors[i], vectors[best])
            if kf.face_count == chosen.face_count and distance < NEAR_DUPLICATE_DISTANCE:
                alive.discard(i)
            else:
                redundancy[i] = max(redundancy[i], _similarity(kf, chosen, distance))
    return [scored[i] for i in picks]
