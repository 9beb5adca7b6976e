"""The mid-roll spot kind: for a title and an imported product catalog, a 6-15 s 16:9 video ad per
product, cut from the title's brand-safe shots that best match the product, closed by a product
end card (the product image, name, brand, the price in the locale's format and a QR code to a
tracking URL), with its sound mixed to EBU R128, and the IAB VAST 4.2 document (a Linear
creative) ad servers serve it by.

Cut, mix and encode are the trailer library's (``plan_cut``, ``Timeline``, ``audio.mix``,
``render``, ``make_rendition``); the brand safety, matching, moods and scene tags are the pause
ad's (``safety``, ``match``, ``mood``, ``scene``); the end card is the pause ad's panel
(``pause.render_pause_ad``) over a blurred frame of the spot's last shot.

The steps (``generate``): 1. the catalog's products for the market; 2. per shot: its mood, scene
tags and a representative keyframe; 3. brand safety for every (shot, product), every block
recorded, and a match score for each allowed pair; 4. the products whose best shots match best
(up to ``max_ads``); 5. per product: the cut restricted to its allowed shots (match scores added
to the trailer's shot scores), the end card, the mix, the MP4, the 720p rendition, the ProRes
mezzanine (:mod:`generators.ads.mezzanine`), the SIMID page over the end card
(:mod:`generators.ads.simid`), the VAST, the recipe; optionally the title's ad-break markers (cue
list + VMAP) as sidecars.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from generators.ads.base import AdKind
from generators.ads.breaks import BreakOptions, break_sidecars, check_ad_tag_url
from generators.ads.kind import (
    PauseAdParams,
    digest,
    matcher_fact,
    refuse_pause_only,
    safety_summary,
)
from generators.ads.match import Match, Semantic, load_affinity, score_match
from generators.ads.mezzanine import Mezzanine, make_mezzanine
from generators.ads.moments import Moment
from generators.ads.mood import ShotMood, shot_moods
from generators.ads.panel_text import format_price
from generators.ads.pause import (
    HEIGHT,
    PAD,
    SCRIM,
    WIDTH,
    PauseAdLayout,
    PauseAdText,
    load_font,
    render_pause_ad,
    safe_area,
    wrap_text,
)
from generators.ads.products import Product
from generators.ads.qr import make_qr, tracking_url
from generators.ads.safety import SafetyDecision, ShotContext, check_shot
from generators.ads.scene import SceneTags, scene_model_dir, scene_tags
from generators.ads.simid import MIME as SIMID_MIME
from generators.ads.simid import ROLE as SIMID_ROLE
from generators.ads.simid import SimidHotspot, ad_parameters, copy_creative
from generators.ads.vast import (
    LINEAR_EVENTS,
    Creative,
    InteractiveFile,
    LinearCreative,
    MediaFile,
    Tracking,
    VastAd,
    build_vast,
    require_valid_vast,
    validate_vast,
)
from generators.audience.segments import SEGMENTS
from generators.base import (
    Explanation,
    GenerationContext,
    Inspection,
    KindCommand,
    Term,
)
from generators.params import Choice, Int, Names, Number, Text, param
from generators.trailers.plan import SPOILER_GUARD, CutPlan, plan_cut
from generators.trailers.timeline import Card, Clip, Timeline
from workbench.creative import (
    EditAction,
    Ingredient,
    Output,
    OutputFile,
    Recipe,
    Rendition,
    Slot,
    SourceFrame,
)
from workbench.errors import InvalidInput

FORMATS: dict[str, tuple[int, int]] = {"16x9": (WIDTH, HEIGHT), "9x16": (HEIGHT, WIDTH)}
RENDITION_SHORT_SIDE = 720  # the "720p" rendition: 1280x720, or 720x1280 vertical (role rendition.<height>p)
VERTICAL_QR_SHARE = 0.20  # of the vertical card's height, as the pause ad asks of its 1080
LOUDNESS_LUFS = -23.0  # EBU R128
TRUE_PEAK_DB = -1.0
VAST_MIME = "application/xml"
END_FADE_IN_S = 0.2
END_FADE_OUT_S = 0.2
BACKDROP_BLUR = 28
HERO_MAX_H = 640  # the large product image on the end card
HERO_MAX_UPSCALE = 2.5  # a small catalog image is enlarged at most this much
PRODUCT_TOP_SHOTS = 3  # a product's rank: the mean match of its best this-many shots
_MIME = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


@dataclass(frozen=True)
class SpotParams(PauseAdParams):
    """The pause ad's parameters (catalog, tracking, campaign, locale, market, maturity), and the
    spot's own. ``max_ads`` is the number of spots (one per product); ``max_per_product`` and
    ``min_gap_s`` do not apply to spots."""

    unknown_noun: ClassVar[str] = "spot parameter"

    max_ads: int = param(1, Int(1, 10))
    duration: int = param(10, Int(6, 15))  # seconds, end card included
    segment: str = param("drama", Choice(noun="segment", values=tuple(SEGMENTS)))  # whose shot scores the cut uses
    formats: tuple[str, ...] = param(("16x9",), Names(noun="format", values=tuple(FORMATS)))
    end_card_s: float = param(3.0, Number(1.5, 5.0))
    spoiler_guard: float = param(SPOILER_GUARD, Number(0, 0.5))
    min_match: float = param(0.0, Number(0, 100))  # shots matching the product worse are not used
    ad_tag_url: str | None = param(None, Text(2048, label="ad_tag_url"))  # when given: the title's ad breaks as VMAP
    break_spacing_s: float = param(300.0, Number(0, 86400))
    break_edge_s: float = param(120.0, Number(0, 86400))

    def check_together(self) -> None:
        super().check_together()
        refuse_pause_only(self, "a spot")
        if self.ad_tag_url is not None:
            check_ad_tag_url(self.ad_tag_url)


@dataclass(frozen=True)
class ShotMatch:
    """What matching knows of one shot for one product."""

    shot: int
    decision: SafetyDecision
    match: Match | None  # None when brand safety blocked the pair


@dataclass(frozen=True)
class SpotPlan:
    """Steps 1-4: the shots' context, every decision and match, the products picked."""

    moods: dict[int, ShotMood]
    scene: SceneTags
    contexts: dict[int, ShotContext]
    by_product: dict[str, list[ShotMatch]]
    decisions: list[SafetyDecision]
    ranking: list[tuple[Product, float]]  # best first: (product, its rank score)
    out_of_market: list[str]
    unmatched_shots: dict[int, str]  # shots no product may use, and why
    matcher: dict[str, Any] = field(default_factory=dict)  # what scored the matches (the embedding model, or none)


@dataclass(frozen=True)
class EndCard:
    image: np.ndarray  # RGB uint8 (1080, 1920, 3)
    layout: PauseAdLayout
    hero: tuple[int, int, int, int]  # the large product image on the card's left


def _shot_moment(analysis: Any, shot: Any, keyframes: list[Any]) -> Moment | None:
    """The shot as matching sees it: its sharpest unflagged keyframe over the whole shot."""
    usable = [k for k in keyframes if not k.flags]
    if not usable:
        return None
    k = max(usable, key=lambda k: k.features.sharpness)
    return Moment(shot.index, round(shot.start_time, 4), round(shot.end_time, 4), k.frame, k.time, k.pts,
                  round(k.features.sharpness, 2), round(k.motion, 4))


def plan_spots(context: GenerationContext, params: SpotParams) -> SpotPlan:
    """Steps 1-4: products for the market, per-shot context, brand safety, match scores, ranking."""
    a = context.analysis
    # 1. products for the market
    products: list[Product] = list(context.inputs["products"])
    out_of_market = [p.sku for p in products if not p.in_market(params.market)]
    products = [p for p in products if p.in_market(params.market)]
    # 2. moods, scene tags, a representative keyframe per shot
    moods = {m.shot: m for m in shot_moods(a)}
    scene = scene_tags(a, context.source, model_dir=scene_model_dir(context.settings))
    by_shot: dict[int, list[Any]] = {}
    for k in a.keyframes:
        by_shot.setdefault(k.shot, []).append(k)
    # 3. brand safety and scores per (shot, product)
    affinity = load_affinity()
    contexts: dict[int, ShotContext] = {}
    decisions: list[SafetyDecision] = []
    by_product: dict[str, list[ShotMatch]] = {p.sku: [] for p in products}
    unmatched: dict[int, str] = {}
    shot_moments: dict[int, Moment] = {}
    for shot in a.shots:
        kfs = by_shot.get(shot.index, [])
        moment = _shot_moment(a, shot, kfs)
        if moment is None:
            unmatched[shot.index] = "every keyframe is black, blurred or in a transition"
            continue
        # a flag on every keyframe is the shot's (a black shot); one fading keyframe is not
        flags = frozenset.intersection(*(frozenset(k.flags) for k in kfs)) if kfs else frozenset()
        contexts[shot.index] = ShotContext(shot.index, moods[shot.index].mood, scene.for_shot(a, shot.index), flags)
        shot_moments[shot.index] = moment
    semantic = Semantic.load()
    semantic.prepare(products, list(contexts.values()))  # every text embedded once, in batches
    for index, moment in shot_moments.items():
        ctx = contexts[index]
        for p in products:
            d = check_shot(ctx, p, params.maturity)
            decisions.append(d)
            m = score_match(moment, p, ctx, moods[index].scores, affinity, semantic) if d.allowed else None
            by_product[p.sku].append(ShotMatch(index, d, m))
    # 4. rank products by their best shots
    ranking = []
    for p in products:
        scores = sorted((sm.match.score for sm in by_product[p.sku] if sm.match is not None and sm.match.score >= params.min_match),
                        reverse=True)
        if scores:
            top = scores[:PRODUCT_TOP_SHOTS]
            ranking.append((p, round(sum(top) / len(top), 4)))
    ranking.sort(key=lambda r: (-r[1], r[0].sku))
    return SpotPlan(moods, scene, contexts, by_product, decisions, ranking, out_of_market, unmatched, semantic.info())


def render_end_card(backdrop_rgb: np.ndarray, product_rgb: np.ndarray, text: PauseAdText, qr_url: str) -> EndCard:
    """The product end card, 1920x1080: the spot's last frame blurred and darkened, the pause ad's
    panel (product, brand, name, price, QR) at the right of the title-safe area, and the product
    image large at the left."""
    frame = Image.fromarray(np.ascontiguousarray(backdrop_rgb[..., :3]), "RGB")
    scale = max(WIDTH / frame.width, HEIGHT / frame.height)
    frame = frame.resize((max(WIDTH, round(frame.width * scale)), max(HEIGHT, round(frame.height * scale))),
                         Image.Resampling.BILINEAR)
    frame = frame.crop(((frame.width - WIDTH) // 2, (frame.height - HEIGHT) // 2,
                        (frame.width - WIDTH) // 2 + WIDTH, (frame.height - HEIGHT) // 2 + HEIGHT))
    frame = frame.filter(ImageFilter.GaussianBlur(BACKDROP_BLUR)).point(lambda v: v * 2 // 5)
    still, layout = render_pause_ad(np.asarray(frame), [], None, product_rgb, text, qr_url)
    sx0, sy0, _sx1, sy1 = safe_area()
    room = (sx0, sy0, layout.panel[0] - 48, sy1)
    hero = Image.fromarray(np.ascontiguousarray(product_rgb[..., :3]), "RGB")
    fit = min((room[2] - room[0]) / hero.width, min(room[3] - room[1], HERO_MAX_H) / hero.height, HERO_MAX_UPSCALE)
    hero = hero.resize((max(1, round(hero.width * fit)), max(1, round(hero.height * fit))), Image.Resampling.LANCZOS)
    x = room[0] + (room[2] - room[0] - hero.width) // 2
    y = room[1] + (room[3] - room[1] - hero.height) // 2
    still.paste(hero, (x, y))
    image = np.asarray(still.convert("RGB")).copy()
    image.setflags(write=False)
    return EndCard(image, layout, (x, y, x + hero.width, y + hero.height))


def render_vertical_end_card(backdrop_rgb: np.ndarray, product_rgb: np.ndarray, text: PauseAdText, qr_url: str) -> EndCard:
    """The product end card, 1080x1920: the blurred last frame, the product image at the top of
    the title-safe area, then on a scrim the brand, name, copy, price and a QR code of at least a
    fifth of the height (the pause ad's fonts, wrapping, scrim and QR)."""
    w, h = HEIGHT, WIDTH
    frame = Image.fromarray(np.ascontiguousarray(backdrop_rgb[..., :3]), "RGB")
    scale = max(w / frame.width, h / frame.height)
    frame = frame.resize((max(w, round(frame.width * scale)), max(h, round(frame.height * scale))), Image.Resampling.BILINEAR)
    left, top = (frame.width - w) // 2, (frame.height - h) // 2
    frame = frame.crop((left, top, left + w, top + h))
    canvas = frame.filter(ImageFilter.GaussianBlur(BACKDROP_BLUR)).point(lambda v: v * 2 // 5).convert("RGBA")
    sx0, sy0, sx1, sy1 = safe_area(w, h)
    qr = make_qr(qr_url, min_side=int(np.ceil(VERTICAL_QR_SHARE * h)))
    fonts = {"brand": load_font("bold", 40), "name": load_font("bold", 64), "copy": load_font("regular", 36),
             "price": load_font("bold", 76), "cta": load_font("bold", 40)}
    inner = sx1 - sx0 - 2 * PAD
    names = wrap_text(text.name, fonts["name"], inner, 2)
    copy = wrap_text(text.copy, fonts["copy"], inner, 2) if text.copy else []
    block = PAD + 52 + 78 * len(names) + (10 + 46 * len(copy) if copy else 0) + 16 + 92 + 16 + qr.side + 16 + 52 + PAD
    panel = (sx0, sy1 - block, sx1, sy1)
    scrim = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    ImageDraw.Draw(scrim).rounded_rectangle((panel[0], panel[1], panel[2] - 1, panel[3] - 1), radius=28, fill=SCRIM)
    canvas = Image.alpha_composite(canvas, scrim).convert("RGB")
    # the product above the panel
    room = (sx0, sy0, sx1, panel[1] - 32)
    hero = Image.fromarray(np.ascontiguousarray(product_rgb[..., :3]), "RGB")
    fit = min((room[2] - room[0]) / hero.width, min(room[3] - room[1], HERO_MAX_H) / hero.height, HERO_MAX_UPSCALE)
    hero = hero.resize((max(1, round(hero.width * fit)), max(1, round(hero.height * fit))), Image.Resampling.LANCZOS)
    hx, hy = room[0] + (room[2] - room[0] - hero.width) // 2, room[1] + (room[3] - room[1] - hero.height) // 2
    canvas.paste(hero, (hx, hy))
    draw = ImageDraw.Draw(canvas)
    x, y = panel[0] + PAD, panel[1] + PAD
    boxes: dict[str, tuple[int, int, int, int]] = {}

    def line(key: str, value: str, font: Any, step: int, fill: tuple[int, int, int] = (255, 255, 255)) -> None:
        nonlocal y
        draw.text((x, y), value, font=font, fill=fill)
        l, t, r, b = draw.textbbox((x, y), value, font=font)
        boxes[key] = (int(l), int(t), int(r), int(b))
        y += step

    line("brand", text.brand.upper()[:60], fonts["brand"], 52, (200, 200, 210))
    for n, part in enumerate(names):
        line(f"name{n + 1}", part, fonts["name"], 78)
    if copy:
        y += 10
        for n, part in enumerate(copy):
            line(f"copy{n + 1}", part, fonts["copy"], 46, (225, 225, 230))
    y += 16
    line("price", text.price, fonts["price"], 92, (255, 214, 92))
    y += 16
    qx = panel[0] + (panel[2] - panel[0] - qr.side) // 2
    canvas.paste(qr.image, (qx, y))
    qr_box = (qx, y, qx + qr.side, y + qr.side)
    y += qr.side + 16
    x = panel[0] + (panel[2] - panel[0] - int(fonts["cta"].getlength(text.call_to_action))) // 2
    line("cta1", text.call_to_action, fonts["cta"], 52)
    product_box = (hx, hy, hx + hero.width, hy + hero.height)
    layout = PauseAdLayout(strategy="inset", panel=panel, product=product_box, qr=qr_box, text=boxes, faces=(),
                           saliency=None, saliency_covered=0.0, frame_box=(0, 0, w, h), qr_module_px=qr.module_px,
                           qr_modules=qr.modules, qr_quiet_zone=qr.quiet_zone, qr_version=qr.version, qr_error=qr.error,
                           qr_url=qr.url)
    image = np.asarray(canvas).copy()
    image.setflags(write=False)
    return EndCard(image, layout, product_box)


def end_card_frames(card: EndCard, n: int, fps: Fraction) -> Iterator[np.ndarray]:
    """``n`` frames of the end card, faded in from and out to black (short fades: the QR holds)."""
    rate = float(fps)
    fin, fout = min(n, round(END_FADE_IN_S * rate)), min(n, round(END_FADE_OUT_S * rate))
    base = card.image.astype(np.float32)
    for i in range(n):
        level = min(1.0, (i + 1) / (fin + 1) if fin and i < fin else 1.0,
                    (n - i) / (fout + 1) if fout and i >= n - fout else 1.0)
        if level >= 1.0:
            yield card.image
        else:
            yield np.rint(base * level).astype(np.uint8)


AVC_PROFILES = {"Baseline": 0x42, "Constrained Baseline": 0x42, "Main": 0x4D, "High": 0x64}


def avc_codec(path: Path) -> str | None:
    """The RFC 6381 codec string of an H.264 file as read from it (``avc1.640028``: High, level
    4.0), or None when it is not one this knows (VAST's codec attribute is optional)."""
    import av

    with av.open(str(path)) as container:
        ctx = container.streams.video[0].codec_context
        profile = AVC_PROFILES.get(str(ctx.profile))
        if ctx.name != "h264" or profile is None or not ctx.level or ctx.level <= 0:
            return None
        flags = 0x40 if ctx.profile == "Constrained Baseline" else 0
        return f"avc1.{profile:02X}{flags:02X}{int(ctx.level):02X}"


def _bitrate_kbps(path: Path, seconds: float) -> int:
    return max(1, round(path.stat().st_size * 8 / 1000 / max(seconds, 1e-3)))


def _still_jpeg(rgb: np.ndarray, height: int = 360) -> bytes:
    im = Image.fromarray(rgb)
    im = im.resize((max(2, round(im.width * height / im.height)), height), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=85)
    return buf.getvalue()


class SpotKind(AdKind):
    kind: ClassVar[str] = "spot"
    label: ClassVar[str] = "Mid-roll spot"
    version: ClassVar[str] = "0.1.0"
    Params = SpotParams
    explain_heading: ClassVar[str] = "Why these shots and this product"



    def check_inputs(self, context: GenerationContext, params: SpotParams) -> None:
        a = context.analysis
        if context.source_info.kind != "video" or not a.shots or a.frame_count < 2:
            raise InvalidInput(f"{context.title_name!r} is a still: a spot needs a video title")
        super().check_inputs(context, params)
        usable = a.duration * (1 - params.spoiler_guard)
        if usable < params.duration - params.end_card_s:
            raise InvalidInput(f"{context.title_name!r} has {usable:.1f} s before the spoiler guard: too short for a "
                               f"{params.duration} s spot with a {params.end_card_s:g} s end card")

    # -- generation ---------------------------------------------------------------------------

    def plan(self, context: GenerationContext, params: SpotParams) -> SpotPlan:
        return plan_spots(context, params)

    def generate(self, context: GenerationContext, params: SpotParams) -> list[Output]:
        from generators.trailers.render import output_rate

        a = context.analysis
        # 1-4. who, where
        plan = self.plan(context, params)
        if not plan.ranking:
            blocked = sum(1 for d in plan.decisions if not d.allowed)
            raise InvalidInput(f"no spot to make: {len(plan.decisions)} (shot, product) pair(s) checked, {blocked} blocked "
                               f"by brand safety, none matching at {params.min_match:g} or more")
        fps = output_rate(a.fps)
        outputs: list[Output] = []
        skipped: list[dict[str, Any]] = []
        # 5. one spot per product, best first, while the product's shots can fill the cut
        made = 0
        formats = [f for f in FORMATS if f in params.formats]
        for product, rank_score in plan.ranking:
            if made >= params.max_ads:
                break
            shots = {sm.shot: sm.match for sm in plan.by_product[product.sku]
                     if sm.match is not None and sm.match.score >= params.min_match}
            try:
                cut = plan_cut(a, params.segment, float(params.duration), fps, guard=params.spoiler_guard,
                               title=product.name, cards=True, card_s=(0.0, params.end_card_s), only_shots=set(shots),
                               boost={s: m.score for s, m in shots.items()})
            except InvalidInput as exc:
                skipped.append({"sku": product.sku, "reason": str(exc)})
                continue
            made += 1
            for fmt in formats:  # one cut, every format: the same shots; ids and files per format
                outputs.append(self._render_one(context, params, plan, product, rank_score, shots, cut, fps, made,
                                                skipped, fmt))
        if not outputs:
            raise InvalidInput("no spot to make: " + "; ".join(f"{s['sku']}: {s['reason']}" for s in skipped))
        return outputs

    def _render_one(self, context: GenerationContext, params: SpotParams, plan: SpotPlan, product: Product,
                    rank_score: float, shots: dict[int, Match], cut: CutPlan, fps: Fraction, rank: int,
                    skipped: list[dict[str, Any]], fmt: str) -> Output:
        from generators.trailers import audio as audio_mix
        from generators.trailers.reframe import reframe_all
        from generators.trailers.render import make_rendition, render
        from workbench.media.frames import encode_source_frame, read_frames_at
        from workbench.media.source import load_still

        a = context.analysis
        started = time.perf_counter()
        # 5a. the timeline: the cut's clips, then the product end card
        out_size = FORMATS[fmt]
        width, height = out_size
        clips = reframe_all(a, cut.clips, fps, (a.width, a.height), out_size)
        clip_iter = iter(clips)
        items = tuple(next(clip_iter) if isinstance(i, Clip) else i for i in cut.items)
        timeline = Timeline(width=width, height=height, fps=fps, items=items, video_start=a.video_start,
                            speech=tuple((s.start, s.end) for s in a.audio.speech), loudness_lufs=LOUDNESS_LUFS,
                            true_peak_db=TRUE_PEAK_DB)
        ids = self._ids(context, params, product, clips, fmt)
        qr_url = tracking_url(params.tracking_base, campaign=params.campaign, creative=ids["creative"],
                              placement=ids["placement"])
        # 5b. the end card, over the last shot's frame (read once: it is also that shot's ingredient)
        stills = read_frames_at(context.source, [c.source_in for c in clips], a.video_start)
        last = clips[-1]
        backdrop = read_frames_at(context.source, [last.source_out(fps) - 1 / float(fps)], a.video_start)
        image_path = Path(context.inputs["product_images"][product.sku])
        product_rgb = load_still(image_path)
        text = PauseAdText(brand=product.brand, name=product.name, copy=product.copy,
                           price=format_price(product.price, product.currency, params.locale),
                           locale=params.locale.replace("_", "-"))
        draw = render_end_card if fmt == "16x9" else render_vertical_end_card
        end_card = draw(next(iter(backdrop.values())), product_rgb, text, qr_url)

        def card_frames(card: Card, w: int, h: int) -> Iterator[np.ndarray]:
            if card.kind != "end" or (w, h) != out_size:
                raise InvalidInput(f"a spot has only its product end card at {width}x{height}, not a {card.kind} card")
            return end_card_frames(end_card, card.frames, fps)

        # 5c. the mix, the MP4, the 720p rendition
        base = f"spot_{rank}_{product.sku}_{fmt}_{params.duration}s"
        folder = context.out_dir
        wav, mp4, small = folder / f"{base}.wav", folder / f"{base}.mp4", folder / f"{base}_{RENDITION_SHORT_SIDE}p.mp4"
        report = audio_mix.mix(timeline, context.source if a.has_audio else None, wav)
        t_audio = time.perf_counter()

        def progress(done: int, total: int | None) -> None:
            if context.on_step is not None:
                context.on_step(done, total)

        result = render(timeline, context.source, mp4, audio=wav, card_frames=card_frames, progress=progress)
        wav.unlink(missing_ok=True)
        t_video = time.perf_counter()
        scale = RENDITION_SHORT_SIDE / min(out_size)
        small_w, small_h = round(width * scale / 2) * 2, round(height * scale / 2) * 2
        make_rendition(mp4, small, small_h)
        mezzanine = make_mezzanine(mp4, folder / f"{base}_mezzanine", width, height)
        # 5d. the interactive end card (SIMID) and the VAST: Linear, both renditions, the mezzanine
        page = copy_creative(folder, f"{base}_simid.html")
        track = {"campaign": params.campaign, "creative": ids["creative"], "placement": ids["placement"]}
        end_start_s = next(s for i, s in zip(items, timeline.record_starts()) if isinstance(i, Card)) / float(fps)
        card_box = end_card.layout.panel
        hotspot = SimidHotspot(
            id=ids["creative"], sku=product.sku, brand=product.brand, name=product.name, price_text=text.price,
            start=round(end_start_s, 4), end=round(timeline.duration, 4),
            box=(card_box[0] / width, card_box[1] / height, (card_box[2] - card_box[0]) / width, (card_box[3] - card_box[1]) / height),
            click_url=tracking_url(params.tracking_base, event="click", **track),
            view_url=tracking_url(params.tracking_base, event="view", macros=True, **track), qr_url=qr_url)
        vast_path, vast_info = self._vast(context, params, product, ids, timeline, mp4, small, (small_w, small_h),
                                          mezzanine, page.name, hotspot)
        sidecars = [OutputFile(vast_path, VAST_MIME, role="vast"), OutputFile(page, SIMID_MIME, role=SIMID_ROLE)]
        breaks_info = None
        if params.ad_tag_url and fmt == params.formats[0]:  # the title's, once per product
            files = break_sidecars(a, folder, params.ad_tag_url, options=BreakOptions(
                min_spacing_s=params.break_spacing_s, edge_s=params.break_edge_s), name=f"{base}_breaks")
            sidecars += files
            breaks_info = {"files": [f.path.name for f in files], "ad_tag_url": params.ad_tag_url}
        t_done = time.perf_counter()
        # 5e. recipe, actions, ingredients
        record = timeline.record_starts()
        starts = {id(item): s for item, s in zip(timeline.items, record)}
        rows, ingredients = [], []
        for n, c in enumerate(clips, 1):
            m = shots[c.shot]
            rows.append({"n": n, "shot": c.shot, "source_in": round(c.source_in, 4), "source_out": round(c.source_out(fps), 4),
                         "frames": c.frames, "record_in": round(starts[id(c)] / float(fps), 4),
                         "why": f"matches {product.sku} at {m.score:.2f} ({_top_term(m)}); {c.why}",
                         "shot_score": c.score, "match": m.breakdown(), "mood": plan.contexts[c.shot].mood,
                         "scene_tags": sorted(plan.contexts[c.shot].tags)})
            frame = SourceFrame(round(c.source_in * (a.fps or 25)), c.source_in, encode_source_frame(stills[c.source_in]))
            ingredients.append(Ingredient.from_source_frame(frame, context.title_name, context.source_sha256,
                                                            relationship="parentOf" if n == 1 else "componentOf"))
        ingredients.append(Ingredient(title=f"{product.brand} {product.name} ({product.sku})",
                                      mime=_MIME.get(image_path.suffix.lower(), "image/png"), data=image_path.read_bytes(),
                                      relationship="componentOf", metadata={"com.creativeworkbench.sku": product.sku}))
        end_frames = next(i.frames for i in items if isinstance(i, Card))
        end_start = next(s for i, s in zip(items, record) if isinstance(i, Card))
        pairs = plan.by_product[product.sku]
        safety = {**safety_summary([sm.decision for sm in pairs], plan.out_of_market),
                  "maturity": params.maturity, "unusable_shots": {str(k): v for k, v in plan.unmatched_shots.items()},
                  "used_shots_allowed": all(sm.decision.allowed for sm in pairs if sm.shot in {c.shot for c in clips}),
                  "used_shot_decisions": [sm.decision.to_dict() for sm in pairs if sm.shot in {c.shot for c in clips}]}
        recipe = Recipe(
            generator=self.kind, generator_version=self.version,
            parameters={**{k: v for k, v in params.to_dict().items() if k != "title_name"}, "rank": rank,
                        "title_name": context.title_name},
            source_sha256=context.source_sha256,
            details={
                "rank": rank, "fps": f"{fps.numerator}/{fps.denominator}", "frames": timeline.frames,
                "duration_s": round(timeline.duration, 6), "size": list(out_size), "format": fmt, "segment": params.segment,
                "clips": rows, "eligible_shots": sorted(shots),
                "product": {"sku": product.sku, "brand": product.brand, "name": product.name, "price": str(product.price),
                            "currency": product.currency, "price_text": text.price, "image_sha256": product.image_sha256,
                            "landing_url": product.landing_url, "rank_score": rank_score},
                "match": {"total": round(sum(shots[c.shot].score for c in clips) / len(clips), 4),
                          "per_shot": [shots[c.shot].breakdown() for c in clips]},
                "safety": safety, "scene_model": plan.scene.model, "matcher": plan.matcher,
                "end_card": {"start_frame": end_start, "frames": end_frames, "start_s": round(end_start / float(fps), 4),
                             "qr_url": qr_url, "hero": list(end_card.hero), "layout": {**end_card.layout.to_dict(),  # shares of this card's height (the pause ad's are of 1080)
                                        "qr_height_share": round((end_card.layout.qr[3] - end_card.layout.qr[1]) / height, 4),
                                        "safe_area": list(safe_area(width, height))}},
                "audio": {"integrated_lufs": _r(report.integrated_lufs), "true_peak_db": _r(report.true_peak_db),
                          "target_lufs": LOUDNESS_LUFS, "ceiling_dbtp": TRUE_PEAK_DB, "source_audio": report.source_audio,
                          "limited": report.limited},
                "ids": ids, "vast": vast_info, "breaks": breaks_info,
                # what each media URL in the VAST means, for export to re-point it (workbench.deliveries.vast)
                "vast_media": {vast_info["media_files"][0]: "primary", vast_info["media_files"][1]: f"rendition.{small_h}p",
                               vast_info["mezzanine"]: "mezzanine", vast_info["interactive"]: SIMID_ROLE},
                "mezzanine": {**mezzanine.to_dict(), "signed": True,
                              "provenance": "a rendition signed with the signed master as its parent"},
                "interactive": {"api_framework": "SIMID", "file": page.name, "hotspot": hotspot.to_dict()},
                "skipped_products": list(skipped),
                "timings_s": {"audio": round(t_audio - started, 3), "video": round(t_video - t_audio, 3),
                              "rendition_vast_breaks": round(t_done - t_video, 3), "source_frames_decoded": result.source_frames},
            },
        )
        actions = [EditAction("c2pa.edited", {"clips": len(clips), "frames": timeline.frames},
                              description=f"{len(clips)} shots of the title cut together")]
        if any(c.reframe is not None for c in clips):
            actions.append(EditAction("c2pa.cropped", {"to": list(out_size), "modes": sorted({c.reframe.mode for c in clips
                                                                                             if c.reframe is not None})},
                                      description="reframed for the output's aspect"))
        if (a.width, a.height) != out_size:
            actions.append(EditAction("c2pa.resized", {"from": [a.width, a.height], "to": list(out_size),
                                                       "upscaled": a.height < height or a.width < width}))
        actions.append(EditAction("c2pa.drawing", {"elements": ["backdrop", "product", "text", "qr"],
                                                   "frames": [end_start, end_start + end_frames],
                                                   "qr": list(end_card.layout.qr)},
                                  description="product end card drawn: product image, brand, name, price and a QR code"))
        actions.append(EditAction("c2pa.edited", {"loudness_lufs": LOUDNESS_LUFS, "true_peak_db": TRUE_PEAK_DB},
                                  description="sound mixed with crossfades and normalised (EBU R128)"))
        return Output(
            primary=OutputFile(mp4, "video/mp4", width=width, height=height, duration=timeline.duration),
            slot=Slot(format=fmt, output="mp4", locale=params.locale.replace("_", "-"),
                      qualifiers=("spot", f"{params.duration}s"), pick=rank),
            recipe=recipe, actions=tuple(actions), ingredients=tuple(ingredients), sidecars=tuple(sidecars),
            renditions=(Rendition(OutputFile(small, "video/mp4", role=f"rendition.{small_h}p", width=small_w,
                                             height=small_h, duration=timeline.duration),
                                  (EditAction("c2pa.resized", {"to": [small_w, small_h]}, description="720p rendition"),
                                   EditAction("c2pa.transcoded", {"codec": "h264"}))),
                        # the mezzanine for ad stitchers: the master in another codec, signed like the 720p copy
                        Rendition(OutputFile(mezzanine.path, mezzanine.mime, role="mezzanine", width=width, height=height,
                                             duration=timeline.duration),
                                  (EditAction("c2pa.transcoded", {"codec": mezzanine.codec, "encoder": mezzanine.encoder,
                                                                  "pix_fmt": mezzanine.pix_fmt},
                                              description="mezzanine master for ad stitchers"),))),
            score=recipe.details["match"]["total"],
        )

    def _ids(self, context: GenerationContext, params: SpotParams, product: Product, clips: list[Clip],
             fmt: str) -> dict[str, str]:
        cut = [(c.shot, c.source_in, c.frames) for c in clips]
        creative = f"sp-{digest(context.source_sha256, product.sku, params.duration, params.campaign, fmt, cut)[:16]}"
        placement = f"t{context.title_id}-spot-{fmt}-{params.duration}s"
        return {"creative": creative, "placement": placement,
                "ad_serving_id": digest(creative, placement, self.version)[:32]}

    def _vast(self, context: GenerationContext, params: SpotParams, product: Product, ids: dict[str, str],
              timeline: Timeline, mp4: Path, small: Path, small_size: tuple[int, int], mezzanine: Mezzanine,
              page_name: str, hotspot: SimidHotspot) -> tuple[Path, dict[str, Any]]:
        media_base = (params.media_base or params.tracking_base.rstrip("/") + "/media").rstrip("/")
        track = {"campaign": params.campaign, "creative": ids["creative"], "placement": ids["placement"], "macros": True}
        # no fileSize here: each file is signed after this (its size changes); export writes the
        # delivered files' exact sizes (workbench.deliveries.vast)
        master = MediaFile(f"{media_base}/{mp4.name}", timeline.width, timeline.height, codec=avc_codec(mp4),
                           bitrate=_bitrate_kbps(mp4, timeline.duration))
        review = MediaFile(f"{media_base}/{small.name}", *small_size, codec=avc_codec(small),
                           bitrate=_bitrate_kbps(small, timeline.duration))
        mezz = MediaFile(f"{media_base}/{mezzanine.path.name}", mezzanine.width, mezzanine.height, type=mezzanine.mime,
                         codec=mezzanine.codec)
        linear = LinearCreative(
            duration_s=timeline.duration, media_files=(master, review), mezzanine=mezz,
            interactive=(InteractiveFile(f"{media_base}/{page_name}"),), ad_parameters=ad_parameters([hotspot]),
            click_through=tracking_url(params.tracking_base, event="click", **track),
            tracking=tuple(Tracking(e, tracking_url(params.tracking_base, event=e, **track)) for e in LINEAR_EVENTS))
        ad = VastAd(
            id=ids["creative"], ad_serving_id=ids["ad_serving_id"], title=f"{product.brand} – {product.name}",
            advertiser=product.brand, description=product.copy, ad_system_version=self.version,
            impressions=(tracking_url(params.tracking_base, event="impression", **track),),
            errors=(tracking_url(params.tracking_base, event="error", **track) + "&code=[ERRORCODE]",),
            creatives=(Creative(universal_ad_id=ids["creative"], id=ids["creative"], linear=linear),),
        )
        data = require_valid_vast(build_vast(ad), "the spot's VAST")
        path = context.out_dir / f"{mp4.stem}.vast.xml"
        path.write_bytes(data)
        return path, {"file": path.name, "media_files": [master.url, review.url], "mezzanine": mezz.url,
                      "interactive": linear.interactive[0].url, "click_through": linear.click_through,
                      "duration": timeline.duration}

    # -- review -------------------------------------------------------------------------------


    def cli_commands(self) -> list[KindCommand]:
        from generators.ads.cli import spots

        return [KindCommand("spots", spots)]


    def explain(self, recipe: Mapping[str, Any], score: float | None = None) -> Explanation:
        recipe = recipe or {}
        d = recipe.get("details") or {}
        clips = [c for c in d.get("clips") or [] if isinstance(c, dict)]
        product = d.get("product") or {}
        audio = d.get("audio") or {}
        safety = d.get("safety") or {}
        end = d.get("end_card") or {}
        qr = end.get("layout") or {}
        facts = [
            ("Product", (f"{product.get('brand')} {product.get('name')} ({product.get('price_text')}), "
                         f"rank score {product.get('rank_score')}")),
            ("Shots", f"{len(clips)} of {len(d.get('eligible_shots') or [])} brand-safe matching shot(s), in story order"),
            ("Brand safety", f"{safety.get('checked', 0)} pair(s) checked, {safety.get('blocked', 0)} blocked"
             + (f" ({', '.join(sorted(safety.get('blocked_by_rule') or {}))})" if safety.get("blocked_by_rule") else "")),
            ("Sound", (f"{audio.get('integrated_lufs')} LUFS, true peak {audio.get('true_peak_db')} dBTP "
                       f"(target {audio.get('target_lufs')} LUFS, ≤ {audio.get('ceiling_dbtp')} dBTP)")),
            ("End card", (f"{end.get('frames')} frames from {end.get('start_s')} s; QR {qr.get('qr_side_px')} px "
                          f"({qr.get('qr_height_share', 0):.0%} of the height) to {end.get('qr_url')}")),
            ("Scene tags", "model" if d.get("scene_model") else "classical"),
            ("Matching", matcher_fact(d.get("matcher"))),
            ("Mezzanine", (f"{(d.get('mezzanine') or {}).get('encoder')} {(d.get('mezzanine') or {}).get('codec')} "
                           f"{(d.get('mezzanine') or {}).get('pix_fmt')}, signed with the master as its parent")),
        ]
        terms = tuple(Term(f"shot {c.get('shot')} ({c.get('source_in')}-{c.get('source_out')} s)",
                           float((c.get("match") or {}).get("total") or 0.0)) for c in clips)
        return Explanation(
            heading=self.explain_heading,
            summary=f"{(recipe.get('parameters') or {}).get('duration')} s spot for {product.get('brand')} "
                    f"{product.get('name')}: {len(clips)} shots and the product end card",
            generator=" ".join(str(recipe[k]) for k in ("generator", "generator_version") if recipe.get(k)) or None,
            score=score if score is not None else (d.get("match") or {}).get("total"), terms=terms, facts=tuple(facts),
            model=recipe.get("model"), seed=recipe.get("seed"),
            details={"clips": clips, "match": d.get("match"), "safety": safety, "audio": audio, "end_card": end,
                     "vast": d.get("vast"), "ids": d.get("ids")},
        )

    def inspect(self, path: Any, recipe: Mapping[str, Any]) -> Inspection:
        """The end card's QR code decoded from the stored MP4 halfway through the card."""
        from generators.ads.inspection import QrCheck, inspect_video

        d = (recipe or {}).get("details") or {}
        end = d.get("end_card") or {}
        if not isinstance(end.get("qr_url"), str):
            return inspect_video(path, [])
        fps = Fraction(str(d.get("fps") or "25"))
        t = float(end.get("start_s") or 0.0) + float(end.get("frames") or 0) / 2 / float(fps)
        return inspect_video(path, [QrCheck("End card QR", end["qr_url"], (end.get("layout") or {}).get("qr"), t)])

    def regenerate_params(self, params: SpotParams) -> dict[str, Any]:
        data = params.to_dict()
        data.pop("title_name", None)
        return data

    @property
    def export_folder(self) -> str:
        return "spots"

    def deliveries(self, approved: Any) -> list[Any]:
        """The signed MP4, its rendition re-encoded from the approved bytes (re-signed), the
        mezzanine and the SIMID page as stored (checked against their hashes), the VAST re-pointed
        at all of them (under ``WORKBENCH_ADS_CDN_BASE`` when set) and re-validated, and the
        ad-break cue list and VMAP when the spot carries them."""
        from workbench.deliveries import SidecarFile
        from workbench.deliveries.vast import ad_deliveries
        from workbench.deliveries.video import VideoRendition

        media_roles = ((approved.row.recipe or {}).get("details") or {}).get("vast_media") or {}
        heights = sorted({int(r[len("rendition."):-1]) for r in media_roles.values()
                          if r.startswith("rendition.") and r.endswith("p") and r[len("rendition."):-1].isdigit()})
        stored = [SidecarFile(approved, sc, self.export_folder) for sc in approved.sidecars
                  if sc.role in ("mezzanine", SIMID_ROLE)]
        return ad_deliveries(approved, self.export_folder, validate=validate_vast,
                             media=[*(VideoRendition(approved, h, self.export_folder) for h in heights), *stored],
                             extra=[SidecarFile(approved, sc, self.export_folder) for sc in approved.sidecars
                                    if sc.role.startswith("breaks.")])


def _top_term(m: Match) -> str:
    best = max(m.terms, key=lambda t: t["contribution"]) if m.terms else None
    return f"strongest: {best['feature']} {best['contribution']:+.2f}" if best else "no terms"


def _r(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


__all__ = ["EndCard", "SpotKind", "SpotParams", "SpotPlan", "end_card_frames", "plan_spots", "render_end_card"]
