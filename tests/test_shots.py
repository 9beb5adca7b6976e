"""Shot boundaries: exact hard cuts, flashes that are not cuts, a crossfade as one transition."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import ffmpeg, lavfi_video, shared_media
from workbench.analysis.decode import decode_video
from workbench.analysis.shots import ShotDetector


def detect(path, fps=25.0):
    detector = ShotDetector(fps)
    for frame in decode_video(path):
        detector.push(frame.index, frame.small_bgr)
    detector.finish()
    return detector


def test_sample_title_cuts_are_exact_and_flash_is_not_a_cut(sample_title):
    d = detect(sample_title.path)
    assert [t.start_frame for t in d.transitions if t.kind == "cut"] == list(sample_title.cuts)
    assert sample_title.flash_frame in d.transition_frames


def test_lavfi_concat_cuts_exact(tmp_path):
    parts = []
    for i, src in enumerate(["testsrc2=size=320x180:rate=25", "mandelbrot=size=320x180:rate=25", "smptehdbars=size=320x180:rate=25"]):
        parts.append(lavfi_video(tmp_path / f"p{i}.mp4", src, 2))
    listing = tmp_path / "list.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in parts))
    out = tmp_path / "cuts.mp4"
    ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), "-c:v", "libx264", "-preset", "ultrafast", str(out))
    d = detect(out)
    assert [t.start_frame for t in d.transitions] == [50, 100]
    assert all(t.kind == "cut" for t in d.transitions)


def test_crossfade_is_one_transition_not_a_burst(tmp_path):
    a = lavfi_video(tmp_path / "a.mp4", "testsrc2=size=320x180:rate=25", 3)
    b = lavfi_video(tmp_path / "b.mp4", "color=c=darkblue:size=320x180:rate=25", 3)
    out = tmp_path / "xfade.mp4"
    ffmpeg("-i", str(a), "-i", str(b), "-filter_complex", "xfade=transition=fade:duration=1:offset=2",
           "-c:v", "libx264", "-preset", "ultrafast", str(out))
    d = detect(out)
    assert len(d.transitions) <= 1
    assert not [t for t in d.transitions if t.kind == "cut"]
    if d.transitions:
        t = d.transitions[0]
        assert t.kind == "dissolve" and 45 <= t.start_frame <= t.end_frame <= 80


def test_short_fast_dissolve_is_one_transition(tmp_path):
    a = lavfi_video(tmp_path / "a.mp4", "testsrc2=size=320x180:rate=25", 3)
    b = lavfi_video(tmp_path / "b.mp4", "color=c=yellow:size=320x180:rate=25", 3)
    out = tmp_path / "fast.mp4"
    ffmpeg("-i", str(a), "-i", str(b), "-filter_complex", "xfade=transition=fade:duration=0.16:offset=2",
           "-c:v", "libx264", "-preset", "ultrafast", str(out))
    d = detect(out)
    assert len(d.transitions) == 1
    assert 48 <= d.transitions[0].start_frame <= 55


def test_static_and_noisy_footage_has_no_cut(tmp_path):
    out = lavfi_video(tmp_path / "noise.mp4", "testsrc2=size=320x180:rate=25", 4, extra=("-vf", "noise=alls=20:allf=t"))
    assert detect(out).transitions == []


@pytest.mark.shared_media
def test_shared_synthetic_cuts():
    d = detect(shared_media("synthetic_cuts.mp4"))
    cuts = [t.start_frame for t in d.transitions if t.kind == "cut"]
    assert len(cuts) == 3
    for got, want in zip(cuts, [75, 150, 225]):
        assert abs(got - want) <= 1


@pytest.mark.shared_media
def test_shared_fade_flash_is_not_a_cut():
    d = detect(shared_media("synthetic_fade.mp4"))
    assert [t for t in d.transitions if t.kind == "cut"] == []
    assert 175 in d.transition_frames
    dissolves = [t for t in d.transitions if t.kind == "dissolve"]
    assert len(dissolves) <= 1
    if dissolves:
        assert 95 <= dissolves[0].start_frame and dissolves[0].end_frame <= 130


@pytest.mark.shared_media
def test_shared_hamilton_cuts():
    d = detect(shared_media("short_hamilton_clip.mp4"), fps=29.97)
    cuts = [t.start_frame for t in d.transitions if t.kind == "cut"]
    assert len(cuts) == 3 and all(abs(g - w) <= 1 for g, w in zip(cuts, [20, 82, 211]))


@pytest.mark.shared_media
@pytest.mark.parametrize("name", ["bigbuckbunny.mp4", "carphone.mp4"])
def test_shared_single_shot_has_no_cut(name):
    assert detect(shared_media(name)).transitions == []


def test_signature_is_small_and_bgr(tmp_path):
    out = lavfi_video(tmp_path / "v.mp4", "testsrc2=size=640x360:rate=25", 1)
    frame = next(iter(decode_video(out)))
    assert frame.small_bgr.shape == (54, 96, 3) and frame.small_bgr.dtype == np.uint8
    assert frame.bgr(320).shape == (180, 320, 3)
