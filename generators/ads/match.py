"""Products to moments: a score per (moment, product) from the category ↔ tag / mood affinity
table (``assets/ads/affinity.json``) plus the picture's own quality, written as terms as
thumbnails write theirs, and a greedy pick under frequency and diversity caps per title."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

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


def score_match(moment: Moment, product: Product, ctx: ShotContext, mood_scores: dict[str, float],
                affinity: dict[str, Any] | None = None) -> Match:
    """Tag term: the best affinity of any of the product's categories to any of the shot's tags;
    mood term: that category's affinity to the shot's mood, times how clearly the shot has it;
    then sharpness and stillness."""
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
    rows = [("tag", best_tag[1] or "no tag affinity", best_tag[0]), ("mood", best_mood[1] or "no mood affinity", best_mood[0]),
            ("sharpness", "sharpness", sharp), ("stillness", "stillness", still)]
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
