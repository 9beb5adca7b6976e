"""Per-frame features on frames built with numpy/OpenCV (and on the shared media when present)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import workbench.analysis.features as features_module
from workbench.analysis.features import (
    FEATURE_THRESHOLDS,
    SCENE_TAGS,
    frame_features,
    frame_flags,
    is_black,
    motion_energy,
    sharpness_fast,
)
from workbench.analysis.types import Box, Face
from workbench.errors import InvalidInput

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"
H, W = 360, 640


def _flat(b: int, g: int, r: int) -> np.ndarray:
    frame = np.empty((H, W, 3), np.uint8)
    frame[:] = (b, g, r)
    return frame


def _checkerboard(square: int = 16) -> np.ndarray:
    y, x = np.mgrid[:H, :W]
    grey = (((x // square) + (y // square)) % 2 * 255).astype(np.uint8)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


def _textured(seed: int = 0) -> np.ndarray:
    """Mid-grey noise: sharp, neutral, no tag about brightness or colour."""
    rng = np.random.default_rng(seed)
    grey = rng.normal(128, 30, (H, W)).clip(0, 255).astype(np.uint8)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


def _face(x: float, y: float, w: float, h: float) -> Face:
    return Face(box=Box(x, y, w, h), confidence=0.9)


# --- flags -------------------------------------------------------------------------------------


def test_black_frame_is_flagged_black():
    black = np.zeros((H, W, 3), np.uint8)
    features = frame_features(black)
    assert features.brightness == 0.0 and features.contrast == 0.0
    assert frame_flags(features) == ("black",)
    assert "black" in features.tags and is_black(black)


def test_black_frame_with_a_logo_is_still_black():
    frame = np.zeros((H, W, 3), np.uint8)
    frame[10:40, 560:630] = 230  # a broadcast logo: 0.9% of the frame
    features = frame_features(frame)
    assert features.contrast > FEATURE_THRESHOLDS.black_contrast  # the plain rule alone would miss it
    assert "black" in frame_flags(features) and is_black(frame)


def test_dark_scene_is_not_black():
    frame = (_textured() // 4).astype(np.uint8)  # mean luma about 0.12
    assert "black" not in frame_flags(frame_features(frame))
    assert not is_black(frame)


def test_checkerboard_is_sharp_and_its_blur_is_blurred():
    sharp = _checkerboard()
    blurred = cv2.GaussianBlur(sharp, (0, 0), 5)
    sharp_features, blurred_features = frame_features(sharp), frame_features(blurred)
    assert sharp_features.sharpness > 100 * FEATURE_THRESHOLDS.blurred_sharpness
    assert blurred_features.sharpness < FEATURE_THRESHOLDS.blurred_sharpness
    assert frame_flags(sharp_features) == ()
    assert frame_flags(blurred_features) == ("blurred",)


def test_sharpness_is_measured_at_640_wide_whatever_the_input_size():
    frame = _checkerboard(32)
    big = cv2.resize(frame, (1280, 720), interpolation=cv2.INTER_NEAREST)
    assert frame_features(big).sharpness == pytest.approx(frame_features(frame).sharpness, rel=0.05)


def test_transition_flag_comes_from_the_caller():
    features = frame_features(_textured())
    assert frame_flags(features, is_transition=True) == ("transition",)
    assert frame_flags(features) == ()


# --- colour ------------------------------------------------------------------------------------


def test_warm_and_cool_frames():
    orange = frame_features(_flat(0, 140, 255))
    blue = frame_features(_flat(200, 90, 20))
    assert orange.warmth > 0.5 and blue.warmth < -0.5
    assert "warm" in orange.tags and "cool" not in orange.tags
    assert "cool" in blue.tags and "warm" not in blue.tags


def test_saturated_frame_is_more_colourful_than_grey():
    stripes = np.zeros((H, W, 3), np.uint8)
    for i, colour in enumerate([(0, 0, 255), (0, 255, 0), (255, 0, 0), (0, 255, 255), (255, 0, 255), (255, 255, 0)]):
        stripes[:, i * W // 6 : (i + 1) * W // 6] = colour
    vivid = frame_features(stripes)
    grey = frame_features(cv2.cvtColor(cv2.cvtColor(stripes, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR))
    assert vivid.colourfulness > 1.0
    assert grey.colourfulness == pytest.approx(0.0, abs=1e-6)
    assert "vivid" in vivid.tags and "monochrome" in grey.tags
    assert vivid.colourfulness <= FEATURE_THRESHOLDS.colourfulness_max


def test_muted_frame():
    frame = _textured().astype(np.int16)
    frame[..., 2] += 12  # a slight colour cast with some spread: neither grey nor vivid
    frame[: H // 2, :, 0] += 15
    features = frame_features(frame.clip(0, 255).astype(np.uint8))
    assert "muted" in features.tags and "vivid" not in features.tags and "monochrome" not in features.tags


def test_brightness_and_key_tags():
    bright = frame_features(_flat(235, 235, 235))
    assert bright.brightness == pytest.approx(235 / 255, abs=1e-3)
    assert "bright" in bright.tags and "high-key" in bright.tags
    # low-key: mostly shadow with a hard highlight
    low_key = np.full((H, W, 3), 15, np.uint8)
    cv2.circle(low_key, (W // 2, H // 2), 60, (240, 240, 240), -1)
    tags = frame_features(low_key).tags
    assert "dark" in tags and "low-key" in tags and "black" not in tags


def test_sky_tag_needs_a_bright_bluish_top_third():
    frame = _textured()
    frame[: H // 3] = (235, 206, 135)  # light sky blue
    assert "sky" in frame_features(frame).tags
    assert "sky" not in frame_features(_textured()).tags


# --- saliency ----------------------------------------------------------------------------------


def test_saliency_follows_a_blob_on_the_right():
    frame = np.full((H, W, 3), 60, np.uint8)
    cv2.circle(frame, (int(W * 0.8), H // 2), 40, (255, 255, 255), -1)
    features = frame_features(frame)
    cx, cy = features.saliency_center
    assert cx > 0.6 and 0.3 < cy < 0.7
    box = features.saliency_box
    assert box.x <= 0.8 <= box.x + box.w and box.y <= 0.5 <= box.y + box.h
    assert box.area < 0.25
    assert all(type(v) is float for v in (box.x, box.y, box.w, box.h, cx, cy))  # plain floats serialise


def test_flat_frame_saliency_falls_back_to_the_whole_frame():
    features = frame_features(_flat(128, 128, 128))
    assert features.saliency_center == pytest.approx((0.5, 0.5), abs=0.1)
    assert 0.0 <= features.saliency_box.x and features.saliency_box.x + features.saliency_box.w <= 1.0


def test_saliency_box_is_the_smallest_holding_the_mass():
    sal = np.zeros((90, 160), np.float32)
    sal[20:40, 100:140] = 1.0  # all the mass in one rectangle
    box = features_module._smallest_mass_box(sal, 0.6)
    # 60% of a 20x40 block: a box inside it, never spilling out
    assert 100 / 160 - 0.04 <= box.x and box.x + box.w <= 140 / 160 + 0.04
    assert 20 / 90 - 0.06 <= box.y and box.y + box.h <= 40 / 90 + 0.06
    assert box.area == pytest.approx(0.6 * (20 * 40) / (90 * 160), rel=0.35)


# --- faces -------------------------------------------------------------------------------------


def test_face_tags():
    frame = _textured()
    assert "no-people" in frame_features(frame, ()).tags
    assert not {"no-people", "close-up", "two-shot", "group"} & set(frame_features(frame, None).tags)
    close = frame_features(frame, (_face(0.3, 0.1, 0.35, 0.45),)).tags
    assert "close-up" in close and "two-shot" not in close
    two = frame_features(frame, (_face(0.1, 0.2, 0.1, 0.15), _face(0.6, 0.2, 0.1, 0.15))).tags
    assert "two-shot" in two and "close-up" not in two
    group = frame_features(frame, tuple(_face(0.1 + 0.2 * i, 0.3, 0.08, 0.12) for i in range(4))).tags
    assert "group" in group and "two-shot" not in group


def test_every_tag_is_documented():
    documented = re.findall(r"^\| `([a-z-]+)`", features_module.__doc__, flags=re.MULTILINE)
    assert tuple(documented) == SCENE_TAGS


# --- fast per-frame measures --------------------------------------------------------------------


def test_motion_energy():
    grey = cv2.cvtColor(_textured(), cv2.COLOR_BGR2GRAY)
    assert motion_energy(grey, grey) == 0.0
    assert motion_energy(np.zeros((90, 160), np.uint8), np.full((90, 160), 51, np.uint8)) == pytest.approx(0.2)
    with pytest.raises(InvalidInput, match="one size"):
        motion_energy(grey, grey[:-1])


def test_sharpness_fast_ranks_frames():
    grey = cv2.cvtColor(_checkerboard(8), cv2.COLOR_BGR2GRAY)
    small = cv2.resize(grey, (320, 180), interpolation=cv2.INTER_AREA)
    assert sharpness_fast(small) > sharpness_fast(cv2.GaussianBlur(small, (0, 0), 1.0)) > 0


def test_bad_inputs_fail_fast():
    with pytest.raises(InvalidInput, match="uint8"):
        frame_features(np.zeros((H, W, 3), np.float32))
    with pytest.raises(InvalidInput, match="shape"):
        frame_features(np.zeros((H, W), np.uint8))
    with pytest.raises(InvalidInput, match="too small"):
        frame_features(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(InvalidInput, match="grey"):
        sharpness_fast(np.zeros((H, W, 3), np.uint8))


def test_frame_features_is_fast():
    frames = [_textured(i) for i in range(4)]
    frame_features(frames[0])
    start = time.perf_counter()
    for i in range(40):
        frame_features(frames[i % 4])
    per_frame_ms = (time.perf_counter() - start) / 40 * 1000
    # about 1.5-2 ms on the 2-core dev machine; the bound only catches an accidental slow path
    assert per_frame_ms < 20, per_frame_ms


# --- shared media: the blur threshold against real footage ---------------------------------------


def _sample_frames(name: str, count: int) -> list[np.ndarray]:
    with av.open(str(MEDIA / name)) as container:
        stream = container.streams.video[0]
        wanted = set(np.linspace(0, (stream.frames or 100) - 1, count).astype(int))
        out = []
        for i, frame in enumerate(container.decode(stream)):
            if i in wanted:
                bgr = frame.to_ndarray(format="bgr24")
                size = (640, round(bgr.shape[0] * 640 / bgr.shape[1]))
                shrink = bgr.shape[1] > 640
                out.append(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR))
        return out


@pytest.mark.skipif(not MEDIA.is_dir(), reason=f"shared test media not found at {MEDIA}")
@pytest.mark.shared_media
def test_blur_threshold_separates_real_frames_from_their_blur():
    frames = _sample_frames("short_hamilton_clip.mp4", 6) + _sample_frames("bigbuckbunny.mp4", 2)
    frames += _sample_frames("synthetic_cuts.mp4", 4)
    for frame in frames:
        sharp = frame_features(frame)
        assert frame_flags(sharp) == (), sharp
        blurred = frame_features(cv2.GaussianBlur(frame, (0, 0), 1.5))
        assert frame_flags(blurred) == ("blurred",), blurred.sharpness
    # an upscaled QCIF frame is soft too
    assert "blurred" in frame_flags(frame_features(_sample_frames("carphone.mp4", 1)[0]))
