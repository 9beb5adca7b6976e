"""The pause-ad kind: for a title and an imported product catalog, the 1920×1080 stills a player
shows when the viewer pauses, each on a stable moment whose scene and mood suit the product, with
a QR code to a tracking URL, and the IAB VAST 4.2 document and placement JSON ad ops serve it by.

The steps (``generate``): 1. the catalog's products for the market; 2. mood per shot, scene tags,
stable moments; 3. brand safety for every (moment, product), every block recorded; 4. scores and
the pick under the caps; 5. per pick: the still, the VAST, the placement JSON, the recipe."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from generators.ads.base import AdKind
from generators.ads.match import (
    Match,
    Semantic,
    load_affinity,
    pick_matches,
    score_match,
)
from generators.ads.moments import stable_moments
from generators.ads.mood import shot_moods
from generators.ads.panel_text import format_price, panel_copy
from generators.ads.pause import (
    HEIGHT,
    WIDTH,
    normalised_box,
    render_pause_ad,
)
from generators.ads.products import Product
from generators.ads.qr import check_base_url, check_id, tracking_url
from generators.ads.safety import SafetyDecision, ShotContext, check_shot, ratings
from generators.ads.scene import scene_model_dir, scene_tags
from generators.ads.vast import (
    Creative,
    NonLinearCreative,
    Tracking,
    VastAd,
    build_vast,
    require_valid_vast,
    validate_vast,
)
from generators.base import (
    CopyLine,
    Explanation,
    GenerationContext,
    Inspection,
    KindCommand,
    Term,
)
from generators.diffusion.backend import MAX_STEPS
from generators.diffusion.treatments import ENGINES
from generators.params import (
    Choice,
    Int,
    Internal,
    KindParams,
    Number,
    OptionalInt,
    Text,
    param,
)
from workbench.creative import (
    EditAction,
    Ingredient,
    Output,
    OutputFile,
    Recipe,
    Slot,
    SourceFrame,
)
from workbench.errors import InvalidInput

VAST_MIME = "application/xml"
DATE_STYLES = ("long", "short")
PLACEMENT_MIME = "application/json"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_MIME = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


@dataclass(frozen=True)
class PauseAdParams(KindParams):
    unknown_noun: ClassVar[str] = "pause ad parameter"

    products: str | None = param(None, Text(64, label="products", min_len=64))  # sha256 of an imported catalog
    tracking_base: str | None = param(None, Text(512, label="tracking_base"))  # https; scan/impression/error URLs under it
    campaign: str = param("campaign", Text(64, label="campaign"))
    media_base: str | None = param(None, Text(512, label="media_base"))  # where the stills are served (default: tracking_base's /media)
    locale: str = param("en_US", Text(16, label="locale"))
    market: str | None = param(None, Text(2, label="market"))  # ISO 3166: products not sold there are left out
    maturity: str = param("PG", Choice(noun="maturity rating", values=ratings))
    max_ads: int = param(3, Int(1, 50))
    max_per_product: int = param(2, Int(1, 50))
    min_gap_s: float = param(30.0, Number(0, 3600))
    # localized copy: the sha256 of an imported strings set (`workbench strings import`); None: catalog text only
    strings: str | None = param(None, Text(64, label="strings", min_len=64))
    date_style: str = param("long", Choice(noun="date style", values=DATE_STYLES))
    # the frame extended by a diffusion model (auto: when one is configured and the title's rights allow it)
    backdrop: str = param("auto", Choice(noun="backdrop engine", values=ENGINES))
    seed: int = param(0, Int(0, 2**31 - 1))
    steps: int | None = param(None, OptionalInt(1, MAX_STEPS))  # None: WORKBENCH_DIFFUSION_STEPS
    work_side: int = param(512, Int(64, 2048))  # the model's working resolution, longest side
    title_name: str = param("", Internal())

    def check_together(self) -> None:
        if self.strings is not None and not _HEX64.match(self.strings):
            raise InvalidInput("strings must be the sha256 of an imported strings set (`workbench strings import FILE`)")
        if self.products is None or not _HEX64.match(self.products):
            raise InvalidInput("products must be the sha256 of an imported product catalog (import_products)")
        if self.tracking_base is None:
            raise InvalidInput("tracking_base is required: the https URL the QR and tracking calls go to")
        check_base_url(self.tracking_base)
        if self.media_base is not None:
            check_base_url(self.media_base, "media_base")
        check_id("campaign", self.campaign)
        from babel import Locale, UnknownLocaleError

        try:
            Locale.parse(self.locale)
        except (UnknownLocaleError, ValueError, TypeError):
            raise InvalidInput(f"unknown locale {self.locale!r} (e.g. en_US, de_DE, fr_FR)") from None
        if self.market is not None and not re.fullmatch(r"[A-Z]{2}", self.market):
            raise InvalidInput(f"market {self.market!r} must be an ISO 3166 country code, e.g. US")


def plan_placements(context: GenerationContext, params: PauseAdParams) -> dict[str, Any]:
    """Steps 1-4 (shared by the pause-ad and shoppable kinds): everything up to the pick."""
    a = context.analysis
    # 1. products for the market
    products: list[Product] = list(context.inputs["products"])
    out_of_market = [p.sku for p in products if not p.in_market(params.market)]
    products = [p for p in products if p.in_market(params.market)]
    # 2. moods, scene tags, moments
    moods = {m.shot: m for m in shot_moods(a)}
    moments = stable_moments(a)
    scene = scene_tags(a, context.source, model_dir=scene_model_dir(context.settings),
                       only_shots={m.shot for m in moments})  # the model only where an ad may go
    # 3. brand safety, 4. scores (every product and moment text embedded once, in batches)
    affinity = load_affinity()
    decisions: list[SafetyDecision] = []
    matches: list[Match] = []
    keyframes = {k.frame: k for k in a.keyframes}
    contexts: dict[int, ShotContext] = {
        m.shot: ShotContext(m.shot, moods[m.shot].mood, scene.for_shot(a, m.shot), frozenset(keyframes[m.frame].flags))
        for m in moments}
    semantic = Semantic.load()
    semantic.prepare(products, list(contexts.values()))
    for m in moments:
        ctx = contexts[m.shot]
        for p in products:
            d = check_shot(ctx, p, params.maturity)
            decisions.append(d)
            if d.allowed:
                matches.append(score_match(m, p, ctx, moods[m.shot].scores, affinity, semantic))
    picks = pick_matches(matches, max_ads=params.max_ads, max_per_product=params.max_per_product,
                         min_gap_s=params.min_gap_s)
    return {"moods": moods, "scene": scene, "moments": moments, "decisions": decisions, "matches": matches,
            "picks": picks, "contexts": contexts, "out_of_market": out_of_market, "matcher": semantic.info()}


def refuse_pause_only(params: PauseAdParams, what: str) -> None:
    """The kinds that share the pause ad's parameters refuse those only a pause ad uses, rather
    than ignore them: localized copy and a model-extended backdrop are drawn on pause stills."""
    if params.strings is not None:
        raise InvalidInput(f"strings: localized copy is drawn on pause ads; {what} takes the catalog's text")
    if params.backdrop == "model":
        raise InvalidInput(f"backdrop=model: a model-extended backdrop is for pause ads, not {what}")


def copy_locale(params: PauseAdParams, strings: Any | None) -> tuple[str, Any | None]:
    """The panel's locale as BCP 47 and the strings set to draw it from (None: catalog text):
    the set's own locale when it has ``params.locale`` (``de_DE`` → ``de-DE``), else its
    language's (``de``); a set with neither is refused, naming what it has."""
    from generators.localization.strings import normalize_locale

    code = normalize_locale(params.locale)
    if strings is None:
        return code, None
    for candidate in (code, code.split("-", 1)[0]):
        if candidate in strings.codes:
            return candidate, strings
    raise InvalidInput(f"the strings set has no {code} (nor {code.split('-', 1)[0]}); it has {', '.join(strings.codes)}")


def treatment_of(params: PauseAdParams) -> Any:
    """The thumbnails' outpaint treatment, with this pause ad's seed and steps."""
    from generators.diffusion.treatments import TreatmentParams

    return TreatmentParams("outpaint", engine=params.backdrop, seed=params.seed, steps=params.steps,
                           work_side=params.work_side)


def backdrop_engine(context: GenerationContext, params: PauseAdParams) -> tuple[Any | None, dict[str, Any]]:
    """The diffusion backend to extend the frames with, or None and why not. ``backdrop=model``
    was cleared by the workflow (rights checked, refusal audited, backend loaded); ``auto`` runs
    the model only where the title's rights allow it, and falls back to classical otherwise."""
    if params.backdrop == "classical":
        return None, {"engine": "classical", "why": "backdrop=classical"}
    if not context.settings.diffusion_model:
        return None, {"engine": "classical", "why": "no diffusion model is configured (WORKBENCH_DIFFUSION_MODEL)"}
    if context.backend is not None:
        return context.backend, {"engine": "model"}
    rights = context.rights or {}
    markets = rights.get("markets") or []
    if rights.get("ai_treatments") != "allowed":
        return None, {"engine": "classical", "why": "the title's rights do not allow AI treatments"}
    if markets and params.market is not None and params.market not in markets and "WW" not in markets:
        return None, {"engine": "classical", "why": f"the title's AI clearance does not cover {params.market}"}
    from generators.diffusion.backend import get_backend

    return get_backend(context.settings), {"engine": "model"}


def backdrop_details(ext: Any | None, engine: dict[str, Any], layout: Any) -> dict[str, Any]:
    """What the recipe says of the backdrop: the model's treatment and the share of the still's
    pixels it made, or the classical geometry and why no model ran."""
    if ext is None:
        return {**engine, "engine": "classical", "strategy": layout.strategy, "generated_share": 0.0}
    d = ext.details
    return {"engine": "model", "strategy": layout.strategy, "generated_share": d["generated_share"],
            "frame_box": d["frame_box"], "panel_side": d["panel_side"], "prompt": d["prompt"],
            "negative_prompt": d["negative_prompt"], "steps": d["steps"], "strength": d["strength"],
            "guidance": d.get("guidance"), "seed": d.get("seed"), "work_size": d.get("work_size"),
            "model": (d.get("model_info") or {}).get("id")}


def digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class PauseAdKind(AdKind):
    kind: ClassVar[str] = "pause_ad"
    label: ClassVar[str] = "Pause ad"
    version: ClassVar[str] = "0.1.0"
    Params = PauseAdParams
    explain_heading: ClassVar[str] = "Why this moment and product"




    # -- parameters ---------------------------------------------------------------------------

    def needs_model(self, params: PauseAdParams, settings: Any) -> str | None:
        """``backdrop=model`` asks for the model outright (the workflow checks the title's rights
        and audits a refusal); ``auto`` decides per title in :func:`backdrop_engine`."""
        if params.backdrop != "model":
            return None
        if not settings.diffusion_model:
            raise InvalidInput("backdrop=model asked for, but no diffusion model is configured (set WORKBENCH_DIFFUSION_MODEL)")
        return "outpaint"

    def wants_gpu(self, params: PauseAdParams, settings: Any) -> bool:
        return super().wants_gpu(params, settings) or (bool(settings.diffusion_model) and params.backdrop != "classical")

    def gather_inputs(self, params: PauseAdParams, reader: Any) -> dict[str, Any]:
        inputs = super().gather_inputs(params, reader)
        if params.strings is not None:
            from generators.localization.store import STRINGS_EXT, read_stored_strings

            inputs["strings"] = read_stored_strings(reader.stored_path(params.strings, STRINGS_EXT), params.strings)
            copy_locale(params, inputs["strings"])  # a locale the set lacks fails here, before the analysis
        return inputs

    # -- generation ---------------------------------------------------------------------------

    def plan(self, context: GenerationContext, params: PauseAdParams) -> dict[str, Any]:
        return plan_placements(context, params)

    def generate(self, context: GenerationContext, params: PauseAdParams) -> list[Output]:
        from workbench.media.frames import encode_source_frame, read_frames_rgb
        from workbench.media.source import load_still

        a = context.analysis
        plan = self.plan(context, params)
        picks: list[Match] = plan["picks"]
        if not picks:
            blocked = sum(1 for d in plan["decisions"] if not d.allowed)
            raise InvalidInput(f"no pause ad to make: {len(plan['moments'])} stable moment(s), "
                               f"{blocked} (moment, product) pair(s) blocked by brand safety, none left to place")
        keyframes = {k.frame: k for k in a.keyframes}
        frames = read_frames_rgb(context.source, [(m.moment.frame, m.moment.pts) for m in picks])
        media_base = (params.media_base or params.tracking_base.rstrip("/") + "/media").rstrip("/")
        safety_totals = safety_summary(plan["decisions"], plan["out_of_market"])
        code, strings = copy_locale(params, context.inputs.get("strings"))
        # 5a. the backdrops: extended by the model in one batch when one runs, else classical
        backend, engine = backdrop_engine(context, params)
        extended: dict[int, Any] = {}
        if backend is not None:
            from generators.ads.backdrop import extend_frames

            done = extend_frames([frames[m.moment.frame] for m in picks], [keyframes[m.moment.frame].faces for m in picks],
                                 [keyframes[m.moment.frame].features.saliency_box for m in picks], backend,
                                 treatment_of(params), context.on_step)
            extended = {m.moment.frame: e for m, e in zip(picks, done)}
        outputs = []
        for rank, match in enumerate(picks, 1):
            m, p = match.moment, match.product
            kf = keyframes[m.frame]
            rgb = frames[m.frame]
            image_path = context.inputs["product_images"][p.sku]
            creative_id = f"pa-{digest(context.source_sha256, p.sku, m.frame, params.campaign)[:16]}"
            placement_id = f"t{context.title_id}-s{m.shot}-f{m.frame}"
            qr_url = tracking_url(params.tracking_base, campaign=params.campaign, creative=creative_id,
                                  placement=placement_id)
            copy = panel_copy(brand=p.brand, name=p.name, price=format_price(p.price, p.currency, code),
                              product_copy=p.copy, locale=code, strings=strings, strings_sha256=params.strings,
                              date_style=params.date_style)
            ext = extended.get(m.frame)
            still, layout = render_pause_ad(rgb, list(kf.faces), kf.features.saliency_box, load_still(image_path), copy,
                                            qr_url, backdrop=None if ext is None else ext.backdrop)
            base = f"pause_{rank}_{p.sku}"
            jpg = context.out_dir / f"{base}.jpg"
            still.save(jpg, "JPEG", quality=92, optimize=True)
            # the VAST document and the placement JSON
            ad_serving_id = digest(creative_id, placement_id, self.version)[:32]
            track = {"campaign": params.campaign, "creative": creative_id, "placement": placement_id, "macros": True}
            ad = VastAd(
                id=creative_id, ad_serving_id=ad_serving_id, title=f"{p.brand} – {p.name}", advertiser=p.brand,
                impressions=(tracking_url(params.tracking_base, event="impression", **track),),
                errors=(tracking_url(params.tracking_base, event="error", **track) + "&code=[ERRORCODE]",),
                ad_system_version=self.version, description=p.copy,
                creatives=(Creative(universal_ad_id=creative_id, id=creative_id, nonlinear=NonLinearCreative(
                    width=WIDTH, height=HEIGHT, static_url=f"{media_base}/{jpg.name}", creative_type="image/jpeg",
                    click_through=p.landing_url, min_suggested_duration_s=5.0,
                    tracking=(Tracking("creativeView", tracking_url(params.tracking_base, event="view", **track)),))),),
            )
            vast_bytes = require_valid_vast(build_vast(ad), "the pause ad's VAST")
            vast_path = context.out_dir / f"{base}.vast.xml"
            vast_path.write_bytes(vast_bytes)
            placement = {
                "kind": self.kind, "creative_id": creative_id, "placement_id": placement_id, "campaign": params.campaign,
                "sku": p.sku, "title_id": context.title_id, "shot": m.shot, "frame": m.frame, "time": round(m.time, 4),
                "window": [m.start, m.end], "still": jpg.name, "size": [WIDTH, HEIGHT], "qr_url": qr_url,
                "landing_url": p.landing_url, "vast": vast_path.name,
                "boxes": {k: normalised_box(v) for k, v in (("panel", layout.panel), ("qr", layout.qr), ("product", layout.product))},
            }
            placement_path = context.out_dir / f"{base}.placement.json"
            placement_path.write_text(json.dumps(placement, indent=2, ensure_ascii=False), "utf-8")
            ctx = plan["contexts"][m.shot]
            mood = plan["moods"][m.shot]
            decision = next(d for d in plan["decisions"] if d.shot == m.shot and d.sku == p.sku)
            recipe = Recipe(
                generator=self.kind, generator_version=self.version,
                parameters={**{k: v for k, v in params.to_dict().items() if k != "title_name"}, "rank": rank,
                            "title_name": context.title_name},
                source_sha256=context.source_sha256,
                model=None if ext is None else backend.info.to_dict(), seed=None if ext is None else params.seed,
                details={
                    "rank": rank, "moment": m.to_dict(), "frame": m.frame, "time": round(m.time, 4), "shot": m.shot,
                    "mood": mood.to_dict(), "scene_tags": sorted(ctx.tags), "scene_model": plan["scene"].model,
                    "match": match.breakdown(), "matcher": plan["matcher"],
                    "safety": {"decision": decision.to_dict(), **safety_totals},
                    "product": {"sku": p.sku, "brand": p.brand, "name": p.name, "price": str(p.price),
                                "currency": p.currency, "price_text": copy.get("price").text, "image_sha256": p.image_sha256},
                    "qr": {k: v for k, v in layout.to_dict().items() if k.startswith("qr")},
                    "copy": {"locale": code, "rtl": layout.rtl, "strings": params.strings,
                             "fields": {f.field: f.to_dict() for f in layout.fields}},
                    "flags": [*copy.string_flags, *layout.reasons],
                    "backdrop": backdrop_details(ext, engine, layout), "rights": context.rights,
                    "layout": layout.to_dict(), "ids": {"creative": creative_id, "placement": placement_id,
                                                        "ad_serving_id": ad_serving_id},
                    "candidates": {"moments": len(plan["moments"]), "scored": len(plan["matches"])},
                    # which delivered file each media URL of the VAST names (re-pointed at export)
                    "vast_media": {f"{media_base}/{jpg.name}": "primary"},
                },
            )
            actions = []
            if ext is not None:  # resized, then outpainted by the model (compositeWithTrainedAlgorithmicMedia)
                actions += list(ext.actions)
            elif rgb.shape[1] != WIDTH or rgb.shape[0] != HEIGHT or layout.strategy == "inset":
                actions.append(EditAction("c2pa.resized", {"from": [int(rgb.shape[1]), int(rgb.shape[0])],
                                                           "to": [WIDTH, HEIGHT], "strategy": layout.strategy}))
            actions.append(EditAction("c2pa.drawing", {"elements": ["scrim", "text", "qr"], "panel": list(layout.panel),
                                                       "qr": list(layout.qr), "locale": code,
                                                       "fonts": sorted({f.layout["font"] for f in layout.fields})},
                                      description=f"product panel: brand, name, copy, price and a QR code drawn ({code})"))
            frame_ing = Ingredient.from_source_frame(SourceFrame(m.frame, m.time, encode_source_frame(rgb)),
                                                     context.title_name, context.source_sha256)
            product_ing = Ingredient(title=f"{p.brand} {p.name} ({p.sku})", mime=_MIME.get(image_path.suffix.lower(), "image/png"),
                                     data=image_path.read_bytes(), relationship="componentOf",
                                     metadata={"com.creativeworkbench.sku": p.sku})
            outputs.append(Output(
                primary=OutputFile(jpg, "image/jpeg", width=WIDTH, height=HEIGHT),
                slot=Slot(format="16x9", output="jpg", locale=params.locale.replace("_", "-"), qualifiers=("pause",), pick=rank),
                recipe=recipe, actions=tuple(actions), ingredients=(frame_ing, product_ing),
                sidecars=(OutputFile(vast_path, VAST_MIME, role="vast"), OutputFile(placement_path, PLACEMENT_MIME, role="placement")),
                score=match.score, qa_flags=tuple(dict.fromkeys([*(f["code"] for f in copy.string_flags), *layout.flags])),
            ))
        return outputs

    # -- review -------------------------------------------------------------------------------

    def deliveries(self, approved: Any) -> list[Any]:
        """The signed still, its VAST document re-pointed at the exported still (under
        ``WORKBENCH_ADS_CDN_BASE`` when set) and re-validated, and the placement JSON."""
        from workbench.deliveries import SidecarFile
        from workbench.deliveries.vast import ad_deliveries

        return ad_deliveries(approved, self.export_folder, validate=validate_vast,
                             extra=[SidecarFile(approved, s, self.export_folder) for s in approved.sidecars
                                    if s.role == "placement"])


    def cli_commands(self) -> list[KindCommand]:
        from generators.ads.cli import pause_ads

        return [KindCommand("pause-ads", pause_ads)]

    def cli_apps(self) -> list[tuple[str, Any]]:
        from generators.ads.cli import ads

        return [*super().cli_apps(), ("ads", ads)]


    def explain(self, recipe: Mapping[str, Any], score: float | None = None) -> Explanation:
        recipe = recipe or {}
        d = recipe.get("details") or {}
        match = d.get("match") or {}
        terms = sorted((t for t in match.get("terms", []) if isinstance(t, dict)),
                       key=lambda t: abs(float(t.get("contribution") or 0)), reverse=True)
        product = d.get("product") or {}
        mood = d.get("mood") or {}
        safety = d.get("safety") or {}
        qr = d.get("qr") or {}
        layout = d.get("layout") or {}
        facts = [
            ("Moment", f"shot {d.get('shot')} at {d.get('time')} s (held {_held(d.get('moment'))} s)"),
            ("Mood", f"{mood.get('mood')} ({', '.join(f'{k} {v:.2f}' for k, v in sorted((mood.get('scores') or {}).items()))})"),
            ("Scene tags", ", ".join(d.get("scene_tags") or []) + (" (classical)" if d.get("scene_model") is None else " (model)")),
            ("Brand safety", f"allowed; {safety.get('blocked', 0)} pair(s) blocked elsewhere"
             + (f": {', '.join(sorted(safety.get('blocked_by_rule', {})))}" if safety.get("blocked_by_rule") else "")),
            ("QR", (f"{qr.get('qr_side_px')} px ({qr.get('qr_height_share', 0):.0%} of the height), "
                   f"{qr.get('qr_module_px')} px modules, quiet zone {qr.get('qr_quiet_zone')}, EC {str(qr.get('qr_error')).upper()}")),
            ("Placement", f"{layout.get('strategy')}, no face covered"),
            ("Matching", matcher_fact(d.get("matcher"))),
            ("Backdrop", _backdrop_fact(d.get("backdrop"))),
        ]
        for flag in d.get("flags") or []:
            facts.append((f"Flag {flag.get('code')}", f"{flag.get('field')}: {flag.get('reason')}"))
        copy_d = d.get("copy") or {}
        copy = tuple(CopyLine(str(name), str(f.get("text")), f.get("source"), copy_d.get("locale"), tuple(f.get("flags") or ()))
                     for name, f in (copy_d.get("fields") or {}).items() if isinstance(f, dict))
        backdrop = d.get("backdrop") or {}
        model_share = float(backdrop["generated_share"]) if backdrop.get("engine") == "model" else None
        total = match.get("total", score)
        return Explanation(
            heading=self.explain_heading,
            summary=f"{product.get('brand')} {product.get('name')} ({product.get('price_text')}) on shot {d.get('shot')}",
            generator=" ".join(str(recipe[k]) for k in ("generator", "generator_version") if recipe.get(k)) or None,
            score=None if total is None else float(total),
            terms=tuple(Term(str(t.get("feature")), float(t.get("contribution") or 0.0), t.get("weight"),
                             t.get("normalised"), t.get("raw")) for t in terms),
            facts=tuple(facts), model=recipe.get("model"), seed=recipe.get("seed"),
            details={"moment": d.get("moment"), "mood": mood, "safety": safety, "qr": qr, "layout": layout,
                     "scene_model": d.get("scene_model"), "ids": d.get("ids"), "matcher": d.get("matcher"),
                     "backdrop": backdrop, "flags": d.get("flags")},
            copy=copy, model_share=model_share,
        )

    def inspect(self, path: Any, recipe: Mapping[str, Any]) -> Inspection:
        """The QR code decoded from the stored still, against the recipe's tracking URL."""
        from generators.ads.inspection import QrCheck, inspect_still

        d = (recipe or {}).get("details") or {}
        url = (d.get("qr") or {}).get("qr_url")
        box = (d.get("layout") or {}).get("qr")
        return inspect_still(path, [QrCheck("QR code", url, box)] if isinstance(url, str) else [])

    def regenerate_params(self, params: PauseAdParams) -> dict[str, Any]:
        data = params.to_dict()
        data.pop("title_name", None)
        return data

    @property
    def export_folder(self) -> str:
        return "pause_ads"


def matcher_fact(matcher: Any) -> str:
    """How the matches were scored, in a reviewer's words (shared by the ad kinds)."""
    if not isinstance(matcher, dict):
        return "affinity table"
    model = matcher.get("semantic")
    if not model:
        return str(matcher.get("note") or "affinity table only")
    return f"affinity table + {model.get('id')} embeddings (weights {str(model.get('weights_sha256'))[:12]}…)"


def _backdrop_fact(backdrop: Any) -> str:
    if not isinstance(backdrop, dict):
        return "classical"
    if backdrop.get("engine") == "model":
        return (f"extended by {backdrop.get('model')} (outpainted, {float(backdrop.get('generated_share') or 0):.0%} "
                f"of the pixels made by the model, seed {backdrop.get('seed')})")
    return f"classical ({backdrop.get('strategy')}): {backdrop.get('why', 'no model')}"


def _held(moment: Any) -> str:
    if isinstance(moment, dict) and "start" in moment and "end" in moment:
        return f"{float(moment['end']) - float(moment['start']):.1f}"
    return "?"


def safety_summary(decisions: list[SafetyDecision], out_of_market: list[str]) -> dict[str, Any]:
    blocked = [d for d in decisions if not d.allowed]
    by_rule: dict[str, int] = {}
    for d in blocked:
        for r in d.rules:
            by_rule[r] = by_rule.get(r, 0) + 1
    return {"checked": len(decisions), "blocked": len(blocked), "blocked_by_rule": by_rule,
            "blocked_pairs": [d.to_dict() for d in blocked[:200]], "out_of_market": out_of_market}


__all__ = ["PauseAdKind", "PauseAdParams", "digest", "plan_placements"]
