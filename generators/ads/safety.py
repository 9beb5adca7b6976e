"""Brand safety: which shots a product may never appear beside, and why.

The rule table (``assets/ads/brand_safety.json``) lists, per rule, the product categories it
protects (``*``: all) and the moods, scene tags and frame flags it avoids; the title's maturity
rating blocks categories outright; a product's own ``exclude`` names more moods or tags. A
blocked (shot, product) pair is never used, and every block is recorded with its reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from generators.ads.products import Product
from workbench.errors import InvalidInput

RULES_PATH = Path(__file__).resolve().parents[2] / "assets" / "ads" / "brand_safety.json"


@lru_cache(maxsize=4)
def load_rules(path: str | None = None) -> dict[str, Any]:
    p = Path(path) if path else RULES_PATH
    try:
        data = json.loads(p.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"brand-safety rules {p.name} are not readable ({exc})") from None
    for rule in data.get("rules", []):
        if not rule.get("name") or not rule.get("reason") or not isinstance(rule.get("categories"), list):
            raise InvalidInput(f"brand-safety rule {rule!r} needs a name, a reason and categories")
    return data


def ratings() -> tuple[str, ...]:
    return tuple(load_rules()["ratings"])


@dataclass(frozen=True)
class ShotContext:
    """What safety (and matching) knows of a shot: its mood, its scene tags, its frame flags."""

    shot: int
    mood: str
    tags: frozenset[str]
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SafetyDecision:
    shot: int
    sku: str
    allowed: bool
    reasons: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"shot": self.shot, "sku": self.sku, "allowed": self.allowed, "rules": list(self.rules),
                "reasons": list(self.reasons)}


def _applies(rule_categories: list[str], product: Product) -> bool:
    return "*" in rule_categories or bool(set(rule_categories) & set(product.categories))


def check_shot(ctx: ShotContext, product: Product, maturity: str, rules: dict[str, Any] | None = None) -> SafetyDecision:
    """Whether ``product`` may appear on this shot of a title rated ``maturity``, and why not."""
    rules = rules or load_rules()
    if maturity not in rules["ratings"]:
        raise InvalidInput(f"unknown maturity rating {maturity!r}; known: {', '.join(rules['ratings'])}")
    names, reasons = [], []
    blocked_cats = rules.get("maturity", {}).get(maturity, [])
    if _applies(blocked_cats, product):
        names.append(f"maturity:{maturity}")
        reasons.append(f"a {maturity} title carries no ads for {', '.join(product.categories) or 'this product'}")
    for rule in rules["rules"]:
        if not _applies(rule["categories"], product):
            continue
        hit = (ctx.mood in rule.get("moods", []) or bool(ctx.tags & set(rule.get("tags", [])))
               or bool(ctx.flags & set(rule.get("flags", []))))
        if hit:
            names.append(rule["name"])
            reasons.append(rule["reason"])
    own = set(product.exclude) & ({ctx.mood} | set(ctx.tags))
    if own:
        names.append("product_exclusion")
        reasons.append(f"the product excludes {', '.join(sorted(own))}")
    return SafetyDecision(ctx.shot, product.sku, not names, tuple(reasons), tuple(names))
