"""Personalized thumbnails: scoring, diverse selection, smart crop, rendering and the generator.

Analyses are built by hand (the dataclasses), media are real: a small video made with the ffmpeg
binary from imageio-ffmpeg, and stills drawn with Pillow.
"""

from __future__ import annotations

import io
import math
import re
import subprocess
import time
from pathlib import Path

import av
import cv2
import imageio_ffmpeg
import pytest
from PIL import Image, ImageDraw

import generators.thumbnails.generator as thumbnail_generator
from generators import get_kind
from generators.thumbnails.kind import ThumbnailKind
from generators.audience import segments as segments_module
from generators.imaging.crop import FORMATS, plan_crop, window_size
from generators.thumbnails.generator import ThumbnailGenerator, ThumbnailParams
from generators.thumbnails.render import render_thumbnail, variant_filename
from generators.audience.scoring import (
    rejected_keyframes,
    score_keyframe,
    score_keyframes_for_segment,
)
from generators.audience.segments import FEATURES, SEGMENTS, TRANSFORMS
from generators.thumbnails.selection import is_near_duplicate, select_top_k
from workbench.analysis.types import Analysis, Box, Face, FrameFeatures, Keyframe, Shot
from workbench.errors import InvalidInput

FPS = 25.0
SHARED_MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"
ALL_SEGMENTS = ("action", "romance", "comedy", "drama", "family", "thriller", "horror", "kids")
NAME_RE = re.compile(r"^[a-z]+_(16x9|2x3|1x1|9x16)_r\d+_f\d+\.(jpg|webp)$")


# ---------------------------------------------------------------------------------------------
# builders


def face(x: float, y: float, w: float = 0.1, h: float = 0.18, confidence: float = 0.95, smile: float = 0.0) -> Face:
    return Face(Box(x, y, w, h), confidence, smile)


def keyframe(
    frame: int,
    shot: int,
    *,
    brightness: float = 0.5,
    contrast: float = 0.15,
    colourfulness: float = 0.3,
    warmth: float = 0.0,
    sharpness: float = 200.0,
    motion: float = 0.02,
    faces: tuple[Face, ...] = (),
    flags: tuple[str, ...] = (),
    saliency_center: tuple[float, float] = (0.5, 0.5),
    saliency_box: Box = Box(0.3, 0.3, 0.4, 0.4),
    pts: int | None = None,
) -> Keyframe:
    features = FrameFeatures(
        sharpness=sharpness,
        brightness=brightness,
        contrast=contrast,
        colourfulness=colourfulness,
        warmth=warmth,
        saliency_center=saliency_center,
        saliency_box=saliency_box,
    )
    return Keyframe(frame, frame / FPS, pts, shot, features, faces, motion, flags)


def analysis_of(
    keyframes: list[Keyframe],
    *,
    width: int = 1280,
    height: int = 720,
    shot_length: int = 50,
    loudness: dict[int, float] | None = None,
    shot_motion: dict[int, float] | None = None,
) -> Analysis:
    count = max(kf.shot for kf in keyframes) + 1
    shots = [
        Shot(
            i,
            i * shot_length,
            (i + 1) * shot_length,
            i * shot_length / FPS,
            (i + 1) * shot_length / FPS,
            motion=(shot_motion or {}).get(i, 0.0),
            loudness_lufs=(loudness or {}).get(i),
        )
        for i in range(count)
    ]
    frames = count * shot_length
    return Analysis("0f" * 32, FPS, frames, width, height, frames / FPS, shots, keyframes, [], loudness is not None)


def run_ffmpeg(*args: str) -> None:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", *args], check=True)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> tuple[Path, list[int]]:
    """A 6 s 1280x720 video of three different 2 s shots, and the pts of every frame."""
    path = tmp_path_factory.mktemp("media") / "three_shots.mp4"
    sources = ["testsrc2", "smptebars", "rgbtestsrc"]
    inputs = []
    for s in sources:
        inputs += ["-f", "lavfi", "-i", f"{s}=size=1280x720:rate=25:duration=2"]
    chain = "".join(f"[{i}:v]format=yuv420p[v{i}];" for i in range(len(sources)))
    chain += "".join(f"[v{i}]" for i in range(len(sources))) + f"concat=n={len(sources)}:v=1[out]"
    run_ffmpeg(*inputs, "-filter_complex", chain, "-map", "[out]", "-c:v", "libx264", "-preset", "veryfast", "-g", "25", str(path))
    with av.open(str(path)) as container:
        pts = [f.pts for f in container.decode(container.streams.video[0])]
    assert len(pts) == 150
    return path, pts


def draw_still(path: Path, size: tuple[int, int], faces: tuple[Face, ...] = ()) -> Path:
    """A still with skin-coloured ellipses where the analysis says faces are."""
    w, h = size
    image = Image.new("RGB", size, (40, 60, 90))
    draw = ImageDraw.Draw(image)
    for i in range(0, w, 80):
        draw.rectangle((i, 0, i + 40, h), fill=(60 + i % 120, 80, 120))
    for f in faces:
        b = f.box
        draw.ellipse((b.x * w, b.y * h, (b.x + b.w) * w, (b.y + b.h) * h), fill=(225, 180, 150))
    image.save(path)
    return path


# ---------------------------------------------------------------------------------------------
# segments and scoring


def test_weights_table_covers_every_segment_and_matches_its_documentation():
    assert set(ALL_SEGMENTS) <= set(SEGMENTS)
    for name, segment in SEGMENTS.items():
        assert re.fullmatch(r"[a-z0-9]+", name), "segment names end up in file names"
        assert set(segment.weights) <= set(FEATURES)
        assert math.isclose(sum(w for w in segment.weights.values() if w > 0), 1.0)
    assert set(TRANSFORMS) == set(FEATURES)
    # the module docstring's table (which the README links to) says what the code does
    documented = {}
    for row in re.findall(r"^\| (\w+)\s+\| ([a-z_ .,\-0-9]+?)\s*\|$", segments_module.__doc__, re.M):
        if row[0] in SEGMENTS:
            documented[row[0]] = {
                feature: float(weight) for feature, weight in (item.split() for item in row[1].split(", "))
            }
    assert documented == {name: dict(s.weights) for name, s in SEGMENTS.items()}


def test_action_leans_on_motion_and_romance_on_two_faces():
    assert SEGMENTS["action"].weights["motion"] > 0 and SEGMENTS["action"].weights["loudness"] > 0
    assert SEGMENTS["romance"].weights["two_faces"] > 0 and SEGMENTS["romance"].weights["warmth"] > 0
    assert SEGMENTS["horror"].weights["colourfulness"] < 0
    assert SEGMENTS["kids"].weights["darkness"] < 0


@pytest.mark.parametrize("segment", ALL_SEGMENTS)
def test_scores_are_explainable(segment):
    kf = keyframe(
        10, 0, brightness=0.3, contrast=0.22, colourfulness=0.5, warmth=0.08, motion=0.07,
        faces=(face(0.2, 0.2, smile=0.6), face(0.6, 0.25, w=0.2, h=0.3)),
    )
    shot = Shot(0, 0, 50, 0.0, 2.0, motion=0.04, loudness_lufs=-20.0)
    breakdown = score_keyframe(kf, shot, segment)
    assert breakdown.segment == segment
    assert {t.feature for t in breakdown.terms} == {f for f, w in SEGMENTS[segment].weights.items() if w}
    for term in breakdown.terms:
        assert 0.0 <= term.normalised <= 1.0
        assert term.contribution == pytest.approx(term.normalised * term.weight)
    assert breakdown.total == pytest.approx(sum(t.contribution for t in breakdown.terms))
    as_dict = breakdown.to_dict()
    assert as_dict["total"] == pytest.approx(sum(t["contribution"] for t in as_dict["terms"]), abs=1e-5)


def test_feature_transforms():
    kf = keyframe(0, 0, brightness=0.2, warmth=-0.1, faces=(face(0.1, 0.1), face(0.5, 0.1)))

    def norm(feature, shot=None):
        t = TRANSFORMS[feature]
        return t.normalise(t.raw(kf, shot))

    assert norm("darkness") == pytest.approx(0.8)
    assert norm("brightness") == pytest.approx(0.2)
    assert norm("coolness") == pytest.approx(0.5) and norm("warmth") == 0.0
    assert norm("two_faces") == 1.0 and norm("group") == 0.0
    assert norm("loudness") == 0.5  # no shot: neutral
    assert norm("loudness", Shot(0, 0, 1, 0, 1, loudness_lufs=None)) == 0.5  # silent: neutral
    assert norm("loudness", Shot(0, 0, 1, 0, 1, loudness_lufs=-40.0)) == 0.0
    assert norm("loudness", Shot(0, 0, 1, 0, 1, loudness_lufs=-10.0)) == 1.0
    assert norm("loudness", Shot(0, 0, 1, 0, 1, loudness_lufs=-25.0)) == pytest.approx(0.5)
    assert norm("loudness", Shot(0, 0, 1, 0, 1, loudness_lufs=-3.0)) == 1.0


def test_flagged_keyframes_are_never_eligible_and_say_why():
    vivid = dict(brightness=0.6, contrast=0.3, colourfulness=0.9, motion=0.2, sharpness=500,
                 faces=(face(0.3, 0.2, smile=1.0), face(0.55, 0.2, smile=1.0), face(0.7, 0.3, smile=1.0)))
    kfs = [
        keyframe(10, 0, flags=("black",), **vivid),
        keyframe(60, 1, flags=("blurred",), **vivid),
        keyframe(110, 2, flags=("transition", "blurred"), **vivid),
        keyframe(160, 3, brightness=0.4, contrast=0.1, colourfulness=0.1),
        keyframe(210, 4, brightness=0.45, contrast=0.12, colourfulness=0.2, warmth=0.1),
    ]
    analysis = analysis_of(kfs)
    for segment in ALL_SEGMENTS:
        scored = score_keyframes_for_segment(analysis, segment)
        assert {s.frame for s in scored} == {160, 210}
        assert {s.frame for s in select_top_k(scored, 5)} <= {160, 210}
    reasons = {r.frame: r.reasons for r in rejected_keyframes(analysis)}
    assert reasons == {10: ("black",), 60: ("blurred",), 110: ("blurred", "transition")}
    plan = ThumbnailGenerator().plan(analysis, ThumbnailParams(top_k=3))
    assert all(s.frame in (160, 210) for picks in plan.picks.values() for s in picks)
    assert plan.eligible == 2 and len(plan.rejected) == 3


def test_only_flagged_keyframes_is_invalid_input():
    analysis = analysis_of([keyframe(0, 0, flags=("black",)), keyframe(60, 1, flags=("transition",))])
    # said in a reviewer's words: how many candidate frames, and what was wrong with each kind
    with pytest.raises(InvalidInput, match=r"^no frame of this title can make a thumbnail: 1 of 2 black \(no picture\); "
                                           r"1 of 2 inside a transition \(a fade or dissolve\)$"):
        ThumbnailGenerator().check_inputs(analysis, ThumbnailParams())


def test_romance_prefers_a_warm_two_shot_and_action_the_kinetic_frame():
    two_shot = keyframe(
        10, 0, warmth=0.15, brightness=0.55, contrast=0.12, colourfulness=0.3, motion=0.01,
        faces=(face(0.30, 0.2, 0.15, 0.27, smile=0.7), face(0.52, 0.22, 0.15, 0.27, smile=0.5)),
    )
    kinetic = keyframe(60, 1, warmth=-0.02, brightness=0.5, contrast=0.28, colourfulness=0.75, motion=0.18)
    analysis = analysis_of([two_shot, kinetic], loudness={0: -30.0, 1: -12.0}, shot_motion={1: 0.15})
    romance = score_keyframes_for_segment(analysis, "romance")
    action = score_keyframes_for_segment(analysis, "action")
    assert romance[0].frame == 10 and romance[0].total > romance[1].total
    assert action[0].frame == 60 and action[0].total > action[1].total


# ---------------------------------------------------------------------------------------------
# diverse selection


def test_mmr_skips_same_shot_and_near_duplicate_picks():
    look = dict(brightness=0.6, contrast=0.25, colourfulness=0.6, warmth=0.1, motion=0.15)
    best = keyframe(10, 0, **look)
    same_shot = keyframe(30, 0, **{**look, "contrast": 0.24})  # nearly as good, same shot
    cut_back = keyframe(410, 8, **look)  # the same set-up again later: a near-duplicate
    other = keyframe(160, 3, brightness=0.35, contrast=0.2, colourfulness=0.4, motion=0.1, saliency_center=(0.3, 0.6))
    weakest = keyframe(260, 5, brightness=0.25, contrast=0.12, colourfulness=0.2, motion=0.05)
    analysis = analysis_of([best, same_shot, cut_back, other, weakest])
    scored = score_keyframes_for_segment(analysis, "action")
    assert [s.frame for s in scored] == [10, 410, 30, 160, 260]
    assert is_near_duplicate(best, cut_back)

    picks = select_top_k(scored, 3)
    assert [p.frame for p in picks] == [10, 160, 260]
    assert len({p.keyframe.shot for p in picks}) == len(picks)
    # asking for more than there is to give returns fewer, never a duplicate
    more = select_top_k(scored, 10)
    frames = [p.frame for p in more]
    assert 410 not in frames and len(frames) == len(set(frames))


def test_picks_may_share_a_shot_only_when_there_are_fewer_shots_than_k():
    kfs = [
        keyframe(5, 0, brightness=0.8, colourfulness=0.8, saliency_center=(0.2, 0.5)),
        keyframe(20, 0, brightness=0.5, colourfulness=0.4, saliency_center=(0.5, 0.5)),
        keyframe(40, 0, brightness=0.2, colourfulness=0.1, saliency_center=(0.8, 0.5)),
        keyframe(60, 1, brightness=0.7, colourfulness=0.6, saliency_center=(0.4, 0.3)),
    ]
    scored = score_keyframes_for_segment(analysis_of(kfs), "kids")
    two = select_top_k(scored, 2)
    assert {p.keyframe.shot for p in two} == {0, 1}
    three = select_top_k(scored, 3)
    assert len(three) == 3 and {p.keyframe.shot for p in three} == {0, 1}
    # every distinct shot is used before any shot repeats
    assert {p.keyframe.shot for p in three[:2]} == {0, 1}


def test_selection_prefix_does_not_depend_on_k():
    kfs = [keyframe(10 + 50 * i, i, brightness=0.1 + 0.08 * i, motion=0.01 * i, colourfulness=0.05 * i) for i in range(10)]
    scored = score_keyframes_for_segment(analysis_of(kfs), "action")
    assert [p.frame for p in select_top_k(scored, 2)] == [p.frame for p in select_top_k(scored, 5)][:2]


# ---------------------------------------------------------------------------------------------
# smart crop


def _inside(plan, f: Face) -> bool:
    x0, y0, x1, y1 = plan.box
    b = f.box
    return (
        b.x * plan.frame_width >= x0 - 1e-6
        and b.y * plan.frame_height >= y0 - 1e-6
        and (b.x + b.w) * plan.frame_width <= x1 + 1e-6
        and (b.y + b.h) * plan.frame_height <= y1 + 1e-6
    )


@pytest.mark.parametrize("format_name", list(FORMATS))
def test_crop_keeps_two_faces_whole_in_every_format_when_they_fit(format_name):
    faces = (face(0.37, 0.30, 0.07, 0.14), face(0.56, 0.32, 0.07, 0.14))
    tw, th = FORMATS[format_name]
    plan = plan_crop(1920, 1080, tw, th, faces, Box(0.1, 0.1, 0.2, 0.2))
    assert (plan.width, plan.height) == window_size(1920, 1080, tw, th)
    assert plan.width * th == pytest.approx(plan.height * tw, rel=0.01)
    assert 0 <= plan.x and plan.x + plan.width <= 1920 and 0 <= plan.y and plan.y + plan.height <= 1080
    assert plan.faces_total == 2 and plan.faces_kept == 2 and plan.strategy == "all_faces"
    assert all(_inside(plan, f) for f in faces)


@pytest.mark.parametrize("format_name", list(FORMATS))
def test_crop_with_faces_at_both_sides_keeps_what_fits_and_says_so(format_name):
    big_left = face(0.06, 0.25, 0.14, 0.25, confidence=0.99)
    small_right = face(0.84, 0.30, 0.08, 0.15, confidence=0.9)
    tw, th = FORMATS[format_name]
    plan = plan_crop(1920, 1080, tw, th, (big_left, small_right), None)
    span = (small_right.box.x + small_right.box.w - big_left.box.x) * 1920
    if span <= plan.width:
        assert plan.faces_kept == 2 and all(_inside(plan, f) for f in (big_left, small_right))
    else:
        assert plan.faces_kept == 1 and plan.strategy == "some_faces"
        assert _inside(plan, big_left), "the larger, more confident face wins"
    assert plan.faces_total == 2


def test_a_face_that_cannot_stay_is_left_out_whole_not_sliced():
    left = face(0.30, 0.35, 0.1, 0.25)
    right = face(0.52, 0.30, 0.1, 0.25)  # together 614 px wide: more than a 608 px 9:16 window
    plan = plan_crop(1920, 1080, 1080, 1920, (left, right), None)
    assert plan.faces_kept == 1 and _inside(plan, left)
    x0, _, x1, _ = plan.box
    rx0, rx1 = right.box.x * 1920, (right.box.x + right.box.w) * 1920
    assert x1 <= rx0 or x0 >= rx1, "the face left out is not cut in half at the window's edge"


def test_crop_gives_headroom_and_thirds_for_one_face():
    # a portrait source cut to 16:9: the window can slide vertically; keep room above the head
    head = face(0.40, 0.30, 0.2, 0.12)
    plan = plan_crop(1080, 1920, 1920, 1080, (head,), None)
    top_px = head.box.y * 1920
    assert plan.y <= top_px - 0.3 * head.box.h * 1920
    eye_y = (head.box.y + 0.4 * head.box.h) * 1920
    assert (eye_y - plan.y) / plan.height == pytest.approx(1 / 3, abs=0.02)
    # a face on the right of a wide frame lands on the right third of a vertical crop
    right = face(0.70, 0.3, 0.06, 0.12)
    plan = plan_crop(1920, 1080, 1080, 1920, (right,), None)
    assert (right.box.cx * 1920 - plan.x) / plan.width == pytest.approx(2 / 3, abs=0.02)
    assert plan.faces_kept == 1


def test_crop_without_faces_centres_on_saliency_and_records_upscale():
    plan = plan_crop(1280, 720, 1000, 1500, (), Box(0.05, 0.3, 0.2, 0.3))
    assert plan.strategy == "saliency" and plan.x == 0  # pushed against the left edge
    assert plan.upscaled and plan.needs_resize
    centred = plan_crop(1280, 720, 1080, 1080, (), None)
    assert centred.strategy == "centre" and centred.x == (1280 - 720) // 2
    same = plan_crop(1920, 1080, 1920, 1080, (), None)
    assert same.is_full_frame and not same.needs_resize and not same.upscaled
    small = plan_crop(640, 360, 1920, 1080, (), None)
    assert small.upscaled and small.to_dict()["upscaled"] is True


# ---------------------------------------------------------------------------------------------
# rendering


def test_render_actions_are_only_what_was_done_in_order():
    frame = Image.new("RGB", (1280, 720), (90, 120, 30))
    wide = render_thumbnail(frame, plan_crop(1280, 720, 1920, 1080, (), None))
    assert [a.action for a in wide.actions] == ["c2pa.resized"]  # full frame: nothing cropped
    tall = plan_crop(1280, 720, 1000, 1500, (), None)
    plain = render_thumbnail(frame, tall)
    assert [a.action for a in plain.actions] == ["c2pa.cropped", "c2pa.resized"]
    assert plain.actions[0].parameters == {"x": tall.x, "y": 0, "width": tall.width, "height": 720, "unit": "px"}
    assert plain.actions[1].parameters["from"] == [tall.width, 720]
    assert plain.actions[1].parameters["to"] == [1000, 1500]
    titled = render_thumbnail(frame, tall, (), "Night Train")
    assert [a.action for a in titled.actions] == ["c2pa.cropped", "c2pa.resized", "c2pa.edited"]
    assert titled.actions[-1].description == "title text drawn"
    assert all(a.digital_source_type is None for a in titled.actions)
    assert titled.image.size == (1000, 1500)
    exact = render_thumbnail(Image.new("RGB", (1920, 1080)), plan_crop(1920, 1080, 1920, 1080, (), None))
    assert exact.actions == () and exact.image.size == (1920, 1080)


def test_title_goes_where_the_faces_are_not():
    frame = Image.new("RGB", (1920, 1080), (30, 30, 30))
    low_face = face(0.45, 0.70, 0.1, 0.25)
    plan = plan_crop(1920, 1080, 1920, 1080, (low_face,), None)
    top = render_thumbnail(frame, plan, (low_face,), "A Long Way Home")
    assert top.title.position == "top" and not top.title.overlaps_face
    high_face = face(0.45, 0.05, 0.1, 0.25)
    plan = plan_crop(1920, 1080, 1920, 1080, (high_face,), None)
    bottom = render_thumbnail(frame, plan, (high_face,), "A Long Way Home")
    assert bottom.title.position == "bottom" and not bottom.title.overlaps_face
    # the text is really there: bright pixels in the lower band, none in the upper
    band = bottom.image.crop((0, 900, 1920, 1080)).convert("L")
    assert band.getextrema()[1] > 200
    assert bottom.image.crop((0, 0, 1920, 100)).convert("L").getextrema()[1] < 60


def test_long_titles_are_fitted_inside_the_safe_area():
    frame = Image.new("RGB", (1080, 1920), (30, 30, 30))
    plan = plan_crop(1080, 1920, 1080, 1920, (), None)
    text = "The Extraordinary and Rather Long Adventures of Somebody Important"
    out = render_thumbnail(frame, plan, (), text)
    assert len(out.title.lines) == 2 and " ".join(out.title.lines) == text
    lit = out.image.convert("L").point(lambda v: 255 if v > 200 else 0).getbbox()
    assert lit is not None and lit[0] >= 1080 * 0.06 - 2 and lit[2] <= 1080 * 0.94 + 2


def test_title_block_is_never_too_tall_and_its_scrim_spares_faces():
    frame = Image.new("RGB", (1080, 1080), (30, 30, 30))
    faces = (face(0.2, 0.30, 0.2, 0.3), face(0.6, 0.30, 0.2, 0.3))
    plan = plan_crop(1080, 1080, 1080, 1080, faces, None)
    out = render_thumbnail(frame, plan, faces, "Summer Letters: A Love Story")
    assert out.title.position == "bottom" and len(out.title.lines) == 2
    lit = out.image.convert("L").point(lambda v: 255 if v > 200 else 0).getbbox()
    assert lit[3] - lit[1] <= 0.16 * 1080
    # the faces' pixels are untouched by the scrim
    face_bottom = round((0.30 + 0.3) * 1080)
    assert out.image.getpixel((540, face_bottom - 5)) == (30, 30, 30)


def test_variant_filenames_are_safe():
    assert variant_filename("romance", "9x16", 2, 1234, "jpeg") == "romance_9x16_r2_f1234.jpg"
    assert variant_filename("kids", "1x1", 1, 0, "webp") == "kids_1x1_r1_f0.webp"
    with pytest.raises(ValueError):
        variant_filename("../etc", "1x1", 1, 0, "jpeg")


# ---------------------------------------------------------------------------------------------
# the generator


def test_generator_is_registered():
    kind = get_kind("thumbnail")
    assert isinstance(kind, ThumbnailKind) and isinstance(kind.engine, ThumbnailGenerator)
    assert kind.kind == "thumbnail" and kind.version == "1.0.0"


def test_default_parameters_ask_for_everything():
    params = ThumbnailParams()
    assert params.segments == tuple(SEGMENTS) and set(ALL_SEGMENTS) <= set(params.segments)
    assert params.formats == ("16x9", "2x3", "1x1", "9x16")
    assert (params.top_k, params.output, params.title_text, params.title_name) == (3, ("jpeg",), None, "")
    with pytest.raises(InvalidInput, match="unknown segment 'westerns'; known: action"):
        score_keyframes_for_segment(analysis_of([keyframe(0, 0)]), "westerns")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (ThumbnailParams(segments=("action", "westerns")), r"unknown segment\(s\) 'westerns'; known: action, romance"),
        (ThumbnailParams(formats=("4x3",)), r"unknown format\(s\) '4x3'; known: 16x9, 2x3, 1x1, 9x16"),
        (ThumbnailParams(segments=()), r"segments must be a non-empty"),
        (ThumbnailParams(top_k=0), r"top_k must be an integer from 1 to 10"),
        (ThumbnailParams(top_k=11), r"top_k must be an integer from 1 to 10"),
        (ThumbnailParams(output=("png",)), r"unknown output\(s\) 'png'; known: jpeg, webp"),
        (ThumbnailParams(title_text="two\nlines"), r"title_text must be one printable line"),
    ],
)
def test_bad_parameters_fail_fast(params, message):
    analysis = analysis_of([keyframe(10, 0)])
    with pytest.raises(InvalidInput, match=message):
        ThumbnailGenerator().check_inputs(analysis, params)


def test_generate_from_video(video, tmp_path, monkeypatch):
    path, pts = video
    kfs = [
        keyframe(12, 0, pts=pts[12], brightness=0.5, colourfulness=0.7, motion=0.1,
                 faces=(face(0.30, 0.25, 0.1, 0.2, smile=0.8), face(0.55, 0.25, 0.1, 0.2, smile=0.6)), warmth=0.1),
        keyframe(30, 0, pts=pts[30], brightness=0.52, colourfulness=0.68, motion=0.1, flags=("blurred",)),
        keyframe(70, 1, pts=pts[70], brightness=0.6, contrast=0.3, colourfulness=0.9, motion=0.02),
        keyframe(120, 2, pts=pts[120], brightness=0.4, contrast=0.25, colourfulness=0.8, warmth=-0.1,
                 faces=(face(0.1, 0.3, 0.15, 0.3, smile=0.2),)),
    ]
    analysis = analysis_of(kfs, loudness={0: -20.0, 1: -15.0, 2: -30.0})
    reads = []
    real_read = thumbnail_generator.read_frames_rgb

    def counting_read(source, wanted):
        wanted = list(wanted)
        reads.append(sorted(wanted))
        return real_read(source, wanted)

    monkeypatch.setattr(thumbnail_generator, "read_frames_rgb", counting_read)
    params = ThumbnailParams(segments=("romance", "action"), top_k=2, output=("jpeg", "webp"), title_name="Test Card")
    files = ThumbnailGenerator().generate(analysis, path, params, tmp_path / "out")

    assert len(reads) == 1, "every frame is decoded once, in one call"
    assert {f for f, _ in reads[0]} <= {12, 70, 120}
    assert len(files) == 2 * 4 * 2 * 2
    for f in files:
        assert f.path.parent == tmp_path / "out" and f.path.is_file()
        assert NAME_RE.match(f.path.name) and f.path.name.startswith(f"{f.segment}_{f.format}_r")
        assert (f.width, f.height) == FORMATS[f.format]
        with Image.open(f.path) as im:
            assert im.size == FORMATS[f.format]
            assert im.format == {"image/jpeg": "JPEG", "image/webp": "WEBP"}[f.mime]
            if im.format == "JPEG":
                assert not im.info.get("progressive")  # baseline: 4x faster to encode
        frame = f.source_frame.frame
        assert frame != 30, "a blurred keyframe is never used"
        assert f"_f{frame}." in f.path.name
        details = f.recipe.details
        assert details["frame"] == frame and details["shot"] == {12: 0, 70: 1, 120: 2}[frame]
        assert details["rank"] == f.recipe.parameters["rank"]
        assert details["score"]["segment"] == f.segment
        assert details["score"]["total"] == pytest.approx(sum(t["contribution"] for t in details["score"]["terms"]), abs=1e-5)
        assert details["faces_total"] == len({12: kfs[0], 70: kfs[2], 120: kfs[3]}[frame].faces)
        assert details["faces_kept"] <= details["faces_total"]
        assert details["upscaled"] is True  # a 720p source is smaller than every format
        assert f.recipe.generator == "thumbnail" and f.recipe.generator_version == "1.0.0"
        assert f.recipe.source_sha256 == analysis.source_sha256
        assert f.recipe.parameters["title_name"] == "Test Card" and f.recipe.model is None
        assert [a.action for a in f.actions][:2] in (["c2pa.cropped", "c2pa.resized"], ["c2pa.resized"])
        assert "c2pa.edited" not in [a.action for a in f.actions]
        with Image.open(io.BytesIO(f.source_frame.data)) as src:
            assert src.size == (1280, 720) and src.format == "JPEG" and f.source_frame.mime == "image/jpeg"
    romance_top = [f for f in files if f.segment == "romance" and f.recipe.parameters["rank"] == 1]
    assert {f.source_frame.frame for f in romance_top} == {12}
    # one encoded source frame per frame, shared by every file made from it
    by_frame = {}
    for f in files:
        by_frame.setdefault(f.source_frame.frame, set()).add(id(f.source_frame))
    assert all(len(ids) == 1 for ids in by_frame.values())


def test_generate_from_still_with_title(tmp_path):
    faces = (face(0.35, 0.62, 0.1, 0.3), face(0.55, 0.62, 0.1, 0.3))
    still = draw_still(tmp_path / "still.png", (1600, 900), faces)
    analysis = analysis_of([keyframe(0, 0, faces=faces, warmth=0.1)], width=1600, height=900)
    params = ThumbnailParams(segments=("romance",), formats=("2x3", "16x9"), top_k=3, title_text="Summer Letters")
    files = ThumbnailGenerator().generate(analysis, still, params, tmp_path / "out")
    assert len(files) == 2  # one usable keyframe: one rank per format
    for f in files:
        names = [a.action for a in f.actions]
        assert names[-1] == "c2pa.edited" and f.actions[-1].description == "title text drawn"
        assert names[:-1] in (["c2pa.cropped", "c2pa.resized"], ["c2pa.resized"])
        assert f.recipe.details["title"]["position"] == "top", "faces sit low: the title goes up"
        assert f.recipe.details["faces_kept"] == 2
        with Image.open(f.path) as im:
            assert im.size == FORMATS[f.format]


def test_every_segment_every_format_top3(tmp_path):
    """8 segments x 4 formats x top-3 JPEG from a 1080p still: every file, and in good time."""
    kfs = []
    for i in range(24):
        n_faces = i % 4
        kfs.append(
            keyframe(
                i, i, brightness=(i * 0.37) % 1, contrast=0.05 + (i * 0.13) % 0.3, colourfulness=(i * 0.29) % 1,
                warmth=((i * 0.17) % 0.4) - 0.2, motion=(i * 0.07) % 0.2, sharpness=50 + (i * 37) % 400,
                saliency_center=((i * 0.31) % 1, (i * 0.23) % 1),
                faces=tuple(face(0.1 + 0.25 * j, 0.2, 0.1, 0.18, smile=(i * 0.1 * (j + 1)) % 1) for j in range(n_faces)),
            )
        )
    still = draw_still(tmp_path / "still.png", (1920, 1080))
    analysis = analysis_of(kfs, width=1920, height=1080, shot_length=1)
    started = time.perf_counter()
    files = ThumbnailGenerator().generate(analysis, still, ThumbnailParams(), tmp_path / "out")
    elapsed = time.perf_counter() - started
    assert len(files) == 8 * 4 * 3
    assert len({f.path for f in files}) == len(files)
    for segment in ALL_SEGMENTS:
        picks = {f.source_frame.frame for f in files if f.segment == segment}
        assert len(picks) == 3
    # generous: the target is well under 5 s on 2 idle cores; shared CI machines are noisier
    assert elapsed < 30, f"{elapsed:.1f}s for 96 thumbnails"


# ---------------------------------------------------------------------------------------------
# real photographs from ../shared/media (skipped when the folder is absent)


def haar_faces(path: Path) -> tuple[tuple[int, int], tuple[Face, ...]]:
    """Face boxes found by OpenCV's frontal Haar cascade, normalised like the analysis stores them."""
    grey = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2GRAY)
    h, w = grey.shape
    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
    found = cascade.detectMultiScale(grey, 1.1, 5, minSize=(40, 40))
    return (w, h), tuple(Face(Box(x / w, y / h, bw / w, bh / h), 0.9) for x, y, bw, bh in found)


@pytest.mark.shared_media
def test_two_people_photo_keeps_both_faces_where_they_fit(tmp_path):
    path = SHARED_MEDIA / "two_people.jpg"
    if not path.is_file():
        pytest.skip("../shared/media is absent")
    (w, h), faces = haar_faces(path)
    assert len(faces) == 2
    analysis = analysis_of([keyframe(0, 0, faces=faces, warmth=0.05)], width=w, height=h)
    params = ThumbnailParams(segments=("romance",), top_k=1, title_text="Two for the Road")
    files = ThumbnailGenerator().generate(analysis, path, params, tmp_path)
    span = (max(f.box.x + f.box.w for f in faces) - min(f.box.x for f in faces)) * w
    for f in files:
        crop = f.recipe.details["crop"]
        assert crop["faces_total"] == 2 and crop["upscaled"] is True  # 1126x661 is smaller than every format
        if span <= crop["box"]["width"]:
            assert crop["faces_kept"] == 2, f.format
        else:
            assert crop["faces_kept"] == 1, f.format
            x0, x1 = crop["box"]["x"], crop["box"]["x"] + crop["box"]["width"]
            for face_ in faces:
                fx0, fx1 = face_.box.x * w, (face_.box.x + face_.box.w) * w
                assert (fx0 >= x0 - 1 and fx1 <= x1 + 1) or fx1 <= x0 + 1 or fx0 >= x1 - 1, "no face sliced"
        assert not f.recipe.details["title"]["overlaps_face"]
        with Image.open(f.path) as im:
            assert im.size == FORMATS[f.format]


@pytest.mark.shared_media
def test_tall_photo_cut_to_16x9_keeps_the_head_with_headroom():
    path = SHARED_MEDIA / "biden.jpg"
    if not path.is_file():
        pytest.skip("../shared/media is absent")
    (w, h), faces = haar_faces(path)
    assert len(faces) == 1 and h > 2 * w
    plan = plan_crop(w, h, 1920, 1080, faces, None)
    head = faces[0].box
    assert plan.faces_kept == 1 and _inside(plan, faces[0])
    assert head.y * h - plan.y >= 0.3 * head.h * h - 1, "room above the head"
    assert plan.width == w and plan.upscaled
