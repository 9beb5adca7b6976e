"""The shoppable kind: for a title and an imported catalog, a timeline of hotspots (time ranges ×
normalised boxes × sku) over the programme, a transparent overlay PNG per hotspot, a preview
MP4 with the overlays burned in (ffmpeg ``overlay``, enabled over each hotspot's range), and the
interactive layer a player runs: the SIMID creative (:mod:`generators.ads.simid`) referenced from
a VAST 4.2 NonLinear ``IFrameResource`` whose AdParameters carry the hotspots.

It shares the pause ad's planning (:func:`generators.ads.kind.plan_placements`: market, moods,
scene tags, stable moments, brand safety, matching and caps); only the rendering differs."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from generators.ads.base import AdKind
from generators.ads.kind import (
    PauseAdParams,
    digest,
    matcher_fact,
    plan_placements,
    refuse_pause_only,
)
from generators.ads.overlay import render_overlay
from generators.ads.panel_text import format_price
from generators.ads.pause import (
    HEIGHT,
    WIDTH,
    PauseAdText,
    normalised_box,
)
from generators.ads.qr import tracking_url
from generators.ads.simid import ROLE as SIMID_ROLE
from generators.ads.simid import SimidHotspot, ad_parameters, copy_creative
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
    Explanation,
    GenerationContext,
    Inspection,
    KindCommand,
    Term,
)
from generators.params import Int, param
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

HOTSPOTS_FORMAT = "creative-workbench/hotspots@1"
_MIME = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


@dataclass(frozen=True)
class ShoppableParams(PauseAdParams):
    unknown_noun: ClassVar[str] = "shoppable parameter"

    preview_crf: int = param(26, Int(16, 40))  # x264 quality of the burned-in preview

    def check_together(self) -> None:
        super().check_together()
        refuse_pause_only(self, "a shoppable layer")


class ShoppableKind(AdKind):
    kind: ClassVar[str] = "shoppable"
    label: ClassVar[str] = "Shoppable overlay"
    version: ClassVar[str] = "0.1.0"
    Params = ShoppableParams
    explain_heading: ClassVar[str] = "Why these hotspots"



    def generate(self, context: GenerationContext, params: ShoppableParams) -> list[Output]:
        from workbench.media.frames import encode_source_frame, read_frames_rgb
        from workbench.media.source import load_still

        a = context.analysis
        # 1-4. the shared plan
        plan = plan_placements(context, params)
        if not plan["picks"]:
            raise InvalidInput(f"no hotspot to place: {len(plan['moments'])} stable moment(s), none left after brand safety")
        picks = sorted(plan["picks"], key=lambda m: m.moment.start)
        # 5. one overlay per hotspot, off every face of its shot
        hotspots, overlays, skipped, ingredients, first_frame, interactive = [], [], [], [], None, []
        frames = read_frames_rgb(context.source, [(m.moment.frame, m.moment.pts) for m in picks])
        for n, match in enumerate(picks, 1):
            m, p = match.moment, match.product
            faces = [f for k in a.keyframes if k.shot == m.shot for f in k.faces]
            kf = next(k for k in a.keyframes if k.frame == m.frame)
            creative_id = f"sh-{digest(context.source_sha256, p.sku, m.frame, params.campaign)[:16]}"
            placement_id = f"t{context.title_id}-s{m.shot}-f{m.frame}"
            qr_url = tracking_url(params.tracking_base, campaign=params.campaign, creative=creative_id,
                                  placement=placement_id)
            image_path = context.inputs["product_images"][p.sku]
            text = PauseAdText(brand=p.brand, name=p.name, price=format_price(p.price, p.currency, params.locale))
            card = render_overlay(faces, kf.features.saliency_box, (a.width, a.height), load_still(image_path), text, qr_url)
            if card is None:
                skipped.append({"shot": m.shot, "sku": p.sku, "reason": "every corner would cover a face"})
                continue
            png = context.out_dir / f"overlay_{n}_{p.sku}.png"
            card.image.save(png, "PNG", optimize=True)
            overlays.append((png, m.start, m.end))
            hotspots.append({"id": creative_id, "placement_id": placement_id, "sku": p.sku, "start": m.start, "end": m.end,
                             "box": card.box_normalised(), "qr_box": normalised_box(card.qr), "corner": card.corner,
                             "qr_url": qr_url, "landing_url": p.landing_url, "overlay": png.name, "score": match.score,
                             "terms": list(match.terms), "shot": m.shot, "frame": m.frame,
                             "qr_module_px": card.qr_module_px})
            track = {"campaign": params.campaign, "creative": creative_id, "placement": placement_id}
            interactive.append(SimidHotspot(
                id=creative_id, sku=p.sku, brand=p.brand, name=p.name, price_text=text.price, start=m.start, end=m.end,
                box=tuple(card.box_normalised()), click_url=tracking_url(params.tracking_base, event="click", **track),
                view_url=tracking_url(params.tracking_base, event="view", macros=True, **track), qr_url=qr_url))
            if first_frame is None:
                first_frame = SourceFrame(m.frame, m.time, encode_source_frame(frames[m.frame]))
            ingredients.append(Ingredient(title=f"{p.brand} {p.name} ({p.sku})", mime=_MIME.get(image_path.suffix.lower(), "image/png"),
                                          data=image_path.read_bytes(), relationship="componentOf",
                                          metadata={"com.creativeworkbench.sku": p.sku}))
        if not hotspots:
            raise InvalidInput("no hotspot could be placed off the faces of its moment")
        # 6. the hotspot timeline and the burned-in preview
        timeline = {"format": HOTSPOTS_FORMAT, "title_id": context.title_id, "campaign": params.campaign,
                    "duration": round(a.duration, 4), "size": [WIDTH, HEIGHT], "hotspots": hotspots}
        json_path = context.out_dir / "hotspots.json"
        json_path.write_text(json.dumps(timeline, indent=2, ensure_ascii=False), "utf-8")
        mp4 = context.out_dir / "shoppable_preview.mp4"
        burn_in(context.source, overlays, mp4, crf=params.preview_crf, has_audio=a.has_audio)
        # 7. the interactive layer: the SIMID page and the VAST that frames it with the hotspots
        page = copy_creative(context.out_dir)
        vast_path, vast_info = self._vast(context, params, interactive, page.name)
        recipe = Recipe(
            generator=self.kind, generator_version=self.version,
            parameters={k: v for k, v in params.to_dict().items() if k != "title_name"},
            source_sha256=context.source_sha256,
            details={"hotspots": hotspots, "skipped": skipped, "scene_model": plan["scene"].model, "matcher": plan["matcher"],
                     "vast": vast_info, "vast_media": {vast_info["iframe"]: SIMID_ROLE},
                     "moods": {str(s): m.to_dict() for s, m in plan["moods"].items()},
                     "safety": {"checked": len(plan["decisions"]), "blocked": sum(1 for d in plan["decisions"] if not d.allowed),
                                "blocked_pairs": [d.to_dict() for d in plan["decisions"] if not d.allowed][:200],
                                "out_of_market": plan["out_of_market"]}},
        )
        actions = (EditAction("c2pa.resized", {"to": [WIDTH, HEIGHT]}, description="the programme scaled to 1080p for the preview"),
                   EditAction("c2pa.drawing", {"hotspots": len(hotspots)}, description="shoppable cards (QR, product, price) drawn"),
                   EditAction("c2pa.edited", {"overlays": len(hotspots)}, description="overlays burned in over their time ranges"),
                   EditAction("c2pa.transcoded", {"codec": "h264", "crf": params.preview_crf}))
        parent = Ingredient.from_source_frame(first_frame, context.title_name, context.source_sha256)
        sidecars = (OutputFile(json_path, "application/json", role="hotspots"),
                    OutputFile(vast_path, "application/xml", role="vast"), OutputFile(page, "text/html", role=SIMID_ROLE),
                    *(OutputFile(png, "image/png", role=f"overlay.{n}", width=WIDTH, height=HEIGHT)
                      for n, (png, _s, _e) in enumerate(overlays, 1)))
        score = round(sum(h["score"] for h in hotspots) / len(hotspots), 4)
        return [Output(primary=OutputFile(mp4, "video/mp4", width=WIDTH, height=HEIGHT, duration=a.duration),
                       slot=Slot(format="16x9", output="mp4", locale=params.locale.replace("_", "-"), qualifiers=("shoppable",)),
                       recipe=recipe, actions=actions, ingredients=(parent, *_unique(ingredients)), sidecars=sidecars,
                       score=score)]


    def _vast(self, context: GenerationContext, params: ShoppableParams, hotspots: list[SimidHotspot],
              page_name: str) -> tuple[Any, dict[str, Any]]:
        """A NonLinear creative whose resource is the SIMID page (``apiFramework="SIMID"``) and
        whose AdParameters carry the hotspots; validated (our checks and the IAB XSD) before it
        is written."""
        media_base = (params.media_base or params.tracking_base.rstrip("/") + "/media").rstrip("/")
        creative_id = f"sh-{digest(context.source_sha256, params.campaign, [h.id for h in hotspots])[:16]}"
        placement_id = f"t{context.title_id}-shoppable"
        track = {"campaign": params.campaign, "creative": creative_id, "placement": placement_id, "macros": True}
        iframe = f"{media_base}/{page_name}"
        ad = VastAd(
            id=creative_id, ad_serving_id=digest(creative_id, placement_id, self.version)[:32],
            title=f"{context.title_name} – shoppable ({len(hotspots)} products)", ad_system_version=self.version,
            impressions=(tracking_url(params.tracking_base, event="impression", **track),),
            errors=(tracking_url(params.tracking_base, event="error", **track) + "&code=[ERRORCODE]",),
            creatives=(Creative(universal_ad_id=creative_id, id=creative_id, nonlinear=NonLinearCreative(
                width=WIDTH, height=HEIGHT, iframe_url=iframe, api_framework="SIMID",
                ad_parameters=ad_parameters(hotspots), min_suggested_duration_s=round(max(h.end for h in hotspots), 3),
                tracking=(Tracking("creativeView", tracking_url(params.tracking_base, event="view", **track)),))),),
        )
        data = require_valid_vast(build_vast(ad), "the shoppable layer's VAST")
        path = context.out_dir / "shoppable.vast.xml"
        path.write_bytes(data)
        return path, {"file": path.name, "iframe": iframe, "creative": creative_id, "placement": placement_id,
                      "api_framework": "SIMID", "hotspots": len(hotspots)}

    def deliveries(self, approved: Any) -> list[Any]:
        """The preview MP4, the SIMID page, the VAST re-pointed at the delivered page (under
        ``WORKBENCH_ADS_CDN_BASE`` when set) and re-validated, the hotspot JSON and overlays."""
        from workbench.deliveries import SidecarFile
        from workbench.deliveries.vast import ad_deliveries

        folder = self.export_folder
        return ad_deliveries(approved, folder, validate=validate_vast,
                             media=[SidecarFile(approved, s, folder) for s in approved.sidecars if s.role == SIMID_ROLE],
                             extra=[SidecarFile(approved, s, folder) for s in approved.sidecars
                                    if s.role == "hotspots" or s.role.startswith("overlay.")])

    def cli_commands(self) -> list[KindCommand]:
        from generators.ads.cli import shoppable

        return [KindCommand("shoppable", shoppable)]


    def explain(self, recipe: Mapping[str, Any], score: float | None = None) -> Explanation:
        d = (recipe or {}).get("details") or {}
        hotspots = [h for h in d.get("hotspots") or [] if isinstance(h, dict)]
        terms = tuple(Term(f"{h.get('sku')} {h.get('start')}-{h.get('end')} s", float(h.get("score") or 0.0)) for h in hotspots)
        facts = [("Hotspots", f"{len(hotspots)} over the programme"),
                 ("Skipped", f"{len(d.get('skipped') or [])} (would cover a face)"),
                 ("Brand safety", f"{(d.get('safety') or {}).get('blocked', 0)} pair(s) blocked"),
                 ("Matching", matcher_fact(d.get("matcher"))),
                 ("Interactive", f"SIMID layer {((d.get('vast') or {}).get('iframe'))}")]
        return Explanation(heading=self.explain_heading, summary=", ".join(f"{h.get('sku')} at {h.get('start')} s" for h in hotspots),
                           generator=f"{recipe.get('generator')} {recipe.get('generator_version')}", score=score, terms=terms,
                           facts=tuple(facts), model=recipe.get("model"), details={"hotspots": hotspots})

    def inspect(self, path: Any, recipe: Mapping[str, Any]) -> Inspection:
        """Each hotspot's QR code decoded from the preview at the middle of its range."""
        from generators.ads.inspection import QrCheck, inspect_video

        checks = []
        for h in ((recipe or {}).get("details") or {}).get("hotspots") or []:
            x, y, w, hh = h.get("qr_box") or (0, 0, 0, 0)
            t = (float(h.get("start", 0)) + float(h.get("end", 0))) / 2
            checks.append(QrCheck(f"QR {h.get('sku')} at {t:.1f} s", h.get("qr_url"),
                                  (x * WIDTH, y * HEIGHT, (x + w) * WIDTH, (y + hh) * HEIGHT), t))
        return inspect_video(path, checks)

    @property
    def export_folder(self) -> str:
        return "shoppable"


def burn_in(source, overlays, dest, *, crf: int = 26, has_audio: bool = False) -> None:
    """The source scaled (cover) to 1920×1080 with each (png, start, end) overlaid over its range."""
    from generators.trailers.render import ffmpeg_exe
    from workbench.media.source import ffmpeg_input_args

    args = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *ffmpeg_input_args(source)]
    for png, _s, _e in overlays:
        args += ffmpeg_input_args(png)
    chain = [f"[0:v]scale={WIDTH}:{HEIGHT}:force_original_aspect_ratio=increase,crop={WIDTH}:{HEIGHT},setsar=1,format=yuv420p[b0]"]
    for n, (_png, start, end) in enumerate(overlays, 1):
        chain.append(f"[b{n - 1}][{n}:v]overlay=0:0:enable='between(t,{start:.3f},{end:.3f})'[b{n}]")
    args += ["-filter_complex", ";".join(chain), "-map", f"[b{len(overlays)}]"]
    if has_audio:
        args += ["-map", "0:a:0?", "-c:a", "aac", "-b:a", "128k"]
    args += ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(dest)]
    proc = subprocess.run(args, check=False, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg could not burn the overlays in: {proc.stderr.strip()[-400:]}")


def _unique(ingredients: list[Ingredient]) -> list[Ingredient]:
    seen, out = set(), []
    for i in ingredients:
        if i.data not in seen:
            seen.add(i.data)
            out.append(i)
    return out


__all__ = ["ShoppableKind", "ShoppableParams", "burn_in"]
