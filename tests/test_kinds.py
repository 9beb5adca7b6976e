"""The kind interface, exercised by a second kind defined here: a "swatch" (a solid colour PNG
per segment, the colour of a keyframe tinted by a parameter). Registered for these tests, it goes
through a brief, a real worker, review (explain, decide), regenerate with a tweak, and export,
with no core module knowing it (the worker registers it as a plugin, tests/plugins/swatch.py). Bad parameters of any kind fail in milliseconds, before analysis."""

from __future__ import annotations

import os
import time
import zipfile
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

from generators import get_kind, kinds
from generators.base import CreativeKind, Explanation, GenerationContext, TweakSpec
from generators.params import Choice, Int, KindParams, Names, param
from workbench.creative import EditAction, Ingredient, Output, OutputFile, Recipe, Slot, SourceFrame
from workbench.errors import InvalidInput

COLOURS = {"red": (1.0, 0.3, 0.3), "green": (0.3, 1.0, 0.3), "blue": (0.3, 0.3, 1.0)}
SEGMENT_NAMES = ("action", "romance", "kids")


@dataclass(frozen=True)
class SwatchParams(KindParams):
    unknown_noun: ClassVar[str] = "swatch parameter"

    segments: tuple[str, ...] = param(("action",), Names(noun="segment", values=SEGMENT_NAMES))
    colour: str = param("red", Choice(noun="colour", values=tuple(COLOURS)))
    size: int = param(128, Int(64, 1024))


class SwatchKind(CreativeKind):
    kind: ClassVar[str] = "swatch"
    label: ClassVar[str] = "Swatch"
    version: ClassVar[str] = "1"
    Params = SwatchParams
    explain_heading: ClassVar[str] = "Why this colour"
    tweaks: ClassVar[tuple[TweakSpec, ...]] = (TweakSpec("colour", "Colour", choices=tuple((c, c) for c in COLOURS)),)
    export_folder: ClassVar[str] = "swatches"  # type: ignore[misc]

    def fan_out(self, item):
        params = SwatchParams.from_dict(item)
        return [{**params.to_dict(), "segments": [s]} for s in dict.fromkeys(params.segments)]

    def check_inputs(self, context: GenerationContext, params: SwatchParams) -> None:
        if not context.analysis.keyframes:
            raise InvalidInput("no keyframe to take a colour from")

    def generate(self, context: GenerationContext, params: SwatchParams) -> list[Output]:
        from workbench.media.frames import encode_source_frame, read_frames_rgb

        kf = context.analysis.keyframes[0]
        rgb = read_frames_rgb(context.source, [(kf.frame, kf.pts)])[kf.frame]
        mean = rgb.reshape(-1, 3).mean(axis=0)
        tint = np.array(COLOURS[params.colour])
        colour = tuple(int(v) for v in np.clip(mean * tint, 0, 255))
        frame = SourceFrame(kf.frame, kf.time, encode_source_frame(rgb))
        outputs = []
        for segment in params.segments:
            path = context.out_dir / f"swatch_{segment}_{params.colour}.png"
            Image.new("RGB", (params.size, params.size), colour).save(path)
            outputs.append(Output(
                primary=OutputFile(path, "image/png", width=params.size, height=params.size),
                slot=Slot(format="1x1", output="png", segment=segment),
                recipe=Recipe(self.kind, self.version, {**params.to_dict(), "segments": [segment]},
                              context.source_sha256, details={"frame": kf.frame, "colour": list(colour)}),
                actions=(EditAction("c2pa.edited", {"fill": list(colour)}, description="filled with the frame's tinted mean colour"),),
                ingredients=(Ingredient.from_source_frame(frame, context.title_name, context.source_sha256),),
                score=float(sum(colour)) / 765,
            ))
        return outputs

    def explain(self, recipe, score=None) -> Explanation:
        d = recipe.get("details") or {}
        return Explanation(heading=self.explain_heading, summary=f"frame {d.get('frame')} tinted {recipe['parameters']['colour']}",
                           score=score, facts=(("Colour", str(d.get("colour"))),))

    def apply_tweak(self, recipe, tweak) -> SwatchParams:
        super_known = {t.name for t in self.tweaks}
        if set(tweak) - super_known:
            return super().apply_tweak(recipe, tweak)
        return SwatchParams.from_dict({**recipe["parameters"], **tweak})


@pytest.fixture(autouse=True)
def swatch(monkeypatch):
    """The swatch kind, registered for each test here only (a worker gets it as a plugin:
    ``WORKBENCH_PLUGINS=tests.plugins.swatch``)."""
    import generators

    kind = SwatchKind()
    monkeypatch.setitem(generators.KINDS, kind.kind, kind)
    return kind


# -- the tests ------------------------------------------------------------------------------------


def _title(tmp_path) -> str:
    from tests.conftest import lavfi_video
    from workbench import workflow

    clip = lavfi_video(tmp_path / "swatch.mp4", "testsrc2=size=320x240:rate=25", 2)
    return workflow.ingest(clip, "Swatch Source").title_name


def test_the_swatch_kind_is_registered_and_briefable() -> None:
    from workbench.briefs import brief_kinds, parse_brief, plan_jobs

    assert isinstance(get_kind("swatch"), SwatchKind) and "swatch" in kinds() and "swatch" in brief_kinds()
    brief = parse_brief('{"name": "s", "title": "T", "generators": [{"kind": "swatch", "segments": ["kids", "action"]}]}',
                        "json", "b.json")
    assert [j.params["segments"] for j in plan_jobs(brief)] == [["kids"], ["action"]]
    with pytest.raises(InvalidInput, match=r"generators\[0\]\.colour: 'purple' is not a known colour"):
        parse_brief('{"name": "s", "title": "T", "generators": [{"kind": "swatch", "colour": "purple"}]}', "json", "b.json")


@pytest.mark.parametrize(("kind", "params", "field"), [
    ("swatch", {"colour": "purple"}, "colour"),
    ("swatch", {"size": 4096}, "size"),
    ("swatch", {"shape": "round"}, "shape"),
    ("thumbnail", {"segments": ["acton"]}, "segment"),
    ("thumbnail", {"top_k": 0}, "top_k"),
    ("thumbnail", {"treatment": {"name": "outpaint", "steps": 0}}, "steps"),
])
def test_bad_parameters_fail_in_milliseconds_before_analysis(home, tmp_path, kind, params, field) -> None:
    from workbench import workflow
    from workbench.catalog import Analysis, open_catalog

    title = _title(tmp_path)
    started = time.perf_counter()
    with pytest.raises(InvalidInput) as err:
        workflow.generate(kind, title, params)
    elapsed = time.perf_counter() - started
    assert field in str(err.value) and "\n" not in str(err.value)
    assert elapsed < 0.5, f"{elapsed:.3f}s: the check ran after some real work"
    with open_catalog().session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Analysis)) == 0  # nothing was analysed


def test_a_second_kind_goes_through_brief_worker_review_regenerate_and_export(home, tmp_path, monkeypatch) -> None:
    from provenance import verify_with_settings
    from tests.review_helpers import AD_OPS, CREATIVE
    from workbench import jobs, review
    from workbench.export import export_approved
    from workbench.regenerate import regenerate
    from workbench.settings import Settings
    from workers.broker import EmbeddedBroker
    from workers.process import WorkerProcess

    title = _title(tmp_path)
    brief = tmp_path / "swatches.yaml"
    brief.write_text(f"name: Swatches\ntitle: {title}\ngenerators:\n  - kind: swatch\n    segments: [action, kids]\n"
                     "    colour: green\n")
    env = {**os.environ, "WORKBENCH_PLUGINS": "tests.plugins.swatch", "PYTHONUNBUFFERED": "1"}
    try:
        with WorkerProcess(env, tmp_path / "worker.log", concurrency=1):
            # 1. a brief, fanned out and run by a real worker
            submitted = jobs.submit_brief(brief)
            views = jobs.wait([j.id for j in submitted.jobs], timeout=240)
            assert [v.state for v in views] == ["succeeded", "succeeded"], [v.error for v in views]
            page = review.query_variants(review.VariantFilter(kind="swatch"))
            assert page.total == 2
            first = next(r for r in page.items if r.segment == "action")
            assert first.job_id in {v.id for v in views} and first.slot_label == "1x1" and first.mime == "image/png"
            # 2. review: the kind explains itself; a decision
            why = review.explain(first)
            assert why.heading == "Why this colour" and "tinted green" in why.summary
            detail = review.variant_detail(first.id)
            assert detail.provenance.state == "Trusted" and detail.file_intact
            review.decide(CREATIVE, [first.id], "approve")
            # 3. regenerate with the kind's tweak: the slot's next version, made by the worker
            made = regenerate(CREATIVE, first.id, {"colour": "blue"}, comment="cooler")
            [done] = jobs.wait([made.job.id], timeout=240)
            assert done.state == "succeeded", done.error
            versions = review.slot_versions(first.slot_key)
            assert [v.version for v in versions] == [1, 2] and versions[1].recipe["parameters"]["colour"] == "blue"
            with pytest.raises(InvalidInput, match="unknown tweak"):
                regenerate(CREATIVE, first.id, {"shape": "round"})
    finally:
        EmbeddedBroker(home).stop()
    # 4. export: the kind's deliveries (its own file), re-verified and packed
    result = export_approved(AD_OPS, tmp_path / "out")
    assert result.blocked == [] and result.variants == 1
    [f] = result.files
    assert f.delivery == "swatch" and f.arcname.startswith("swatches/") and f.arcname.endswith(".png")
    assert verify_with_settings(f.path, Settings()).state == "Trusted"
    with zipfile.ZipFile(result.zip_path) as zf:
        assert f.arcname in zf.namelist()


def test_the_core_names_no_kind() -> None:
    """No kind name or recipe field of one kind appears in the core's code (docs and strings
    aside): the thumbnail kind is known to the core only through the registry."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    offenders = []
    for package in ("workbench", "workers", "ui", "provenance"):
        for path in sorted((root / package).rglob("*.py")):
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if '"builder": {"thumbnail"' in code:
                    continue  # c2pa-python's setting for its embedded preview image, not a kind
                if re.search(r"[\"']thumbnails?[\"']|ThumbnailParams|TreatmentParams|generators\.thumbnails", code):
                    offenders.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    assert offenders == []
