"""Trailer cuts end to end on real media: a title the test assembles from lavfi sources (cuts, a
fade to black, a moving face, a click track), and the licensed clips in ../shared/media when
present. Every property is measured on the output independently of the recipe where it can be:
duration with PyAV, loudness with ffmpeg's ebur128 filter, cuts with the analysis's own detector
run on the trailer, the cut list read back with OpenTimelineIO, provenance with c2pa."""

from __future__ import annotations

import json
import re
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from tests.conftest import FFMPEG, ffmpeg, shared_media
from workbench import workflow
from workbench.errors import InvalidInput

pytestmark = pytest.mark.timeout(900)


# -- media the tests make -------------------------------------------------------------------------


def make_title(dest: Path, *, audio: bool = True) -> Path:
    """~42 s at 25 fps, 1280x720: six shots (hard cuts), a fade to black between shots 3 and 4, a
    face that moves across shot 2, and a click every half second under a tone."""
    from skimage import data as pictures

    work = dest.parent
    face = work / "astronaut.png"
    Image.fromarray(pictures.astronaut()).resize((360, 360)).save(face)
    parts = [
        ("testsrc2=size=1280x720:rate=25", 6.0, ""),
        (None, 8.0, ""),  # the moving face
        ("mandelbrot=size=1280x720:rate=25", 7.0, ",fade=t=out:st=6:d=1"),
        ("smptebars=size=1280x720:rate=25", 7.0, ",fade=t=in:st=0:d=1"),
        ("cellauto=size=1280x720:rate=25:rule=110", 7.0, ""),
        ("gradients=size=1280x720:rate=25:speed=0.02", 7.0, ""),
    ]
    inputs, filters = [], []

    def add(*args: str) -> int:
        inputs.extend(args)
        return inputs.count("-i") - 1

    for n, (src, secs, extra) in enumerate(parts):
        if src is None:
            back = add("-t", str(secs), "-f", "lavfi", "-i", "color=c=0x203050:size=1280x720:rate=25")
            front = add("-loop", "1", "-framerate", "25", "-t", str(secs), "-i", str(face))
            filters.append(f"[{back}:v][{front}:v]overlay=x='100+t*80':y=180:shortest=1,format=yuv420p,"
                           f"trim=duration={secs},setpts=PTS-STARTPTS[v{n}]")
        else:
            i = add("-t", str(secs), "-f", "lavfi", "-i", src)
            filters.append(f"[{i}:v]format=yuv420p,trim=duration={secs},setpts=PTS-STARTPTS{extra}[v{n}]")
    filters.append("".join(f"[v{n}]" for n in range(len(parts))) + f"concat=n={len(parts)}:v=1:a=0[v]")
    total = sum(p[1] for p in parts)
    sound = -1
    if audio:
        sound = add("-f", "lavfi", "-i", f"aevalsrc='0.05*sin(2*PI*220*t)+0.6*lt(mod(t\\,0.5)\\,0.02)*sin(2*PI*1500*t)':s=48000:d={total}")
    args = [*inputs, "-filter_complex", ";".join(filters), "-map", "[v]"]
    if audio:
        args += ["-map", f"{sound}:a", "-c:a", "aac", "-b:a", "128k"]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-pix_fmt", "yuv420p", "-t", str(total), str(dest)]
    ffmpeg(*args)
    return dest


@pytest.fixture(scope="module")
def title_clip(tmp_path_factory) -> Path:
    return make_title(tmp_path_factory.mktemp("trailer-title") / "long-title.mp4")


@pytest.fixture
def title(home, title_clip) -> str:
    return workflow.ingest(title_clip, "Trailer Title").title_name


def probe_mp4(path: Path) -> tuple[int, float, Fraction, tuple[int, int]]:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        frames = sum(1 for p in c.demux(v) if p.size)  # demux ends with an empty flush packet
        return frames, float(c.duration / av.time_base), v.average_rate, (v.codec_context.width, v.codec_context.height)


def ebur128(path: Path) -> tuple[float, float]:
    """Integrated loudness and true peak of a file's audio, measured by ffmpeg."""
    proc = subprocess.run([FFMPEG, "-hide_banner", "-nostats", "-i", str(path), "-filter_complex", "ebur128=peak=true",
                           "-f", "null", "-"], capture_output=True, text=True)
    summary = proc.stderr[proc.stderr.rfind("Summary:"):]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary.split("True peak:")[1]).group(1))
    return integrated, peak


def _variants(result, fmt: str):
    return [v for v in result.variants if v.format == fmt]


# -- the tests --------------------------------------------------------------------------------------


def test_analysis_finds_the_editing_signals(home, title) -> None:
    a = workflow.analyze_title(title).analysis
    kinds = [t.kind for t in a.transitions]
    assert "fade_out" in kinds and "fade_in" in kinds, kinds
    assert len(a.shots) >= 6
    assert a.audio.beats and abs(np.median(np.diff(a.audio.beats)) - 0.5) < 0.05  # the click track
    assert any(t.shot == 1 for t in a.face_tracks), "the moving face is tracked"


def test_a_trailer_is_frame_exact_loudness_normalised_reframed_and_signed(home, title, tmp_path) -> None:
    import opentimelineio as otio

    from provenance import verify_with_settings
    from workbench.settings import Settings

    result = workflow.generate("trailer", title, {"segments": ["action"], "durations": [15], "formats": ["16x9", "9x16"]})
    assert {v.format for v in result.variants} == {"16x9", "9x16"}
    analysis = workflow.analyze_title(title).analysis
    for v in result.variants:
        recipe = json.loads(json.dumps(v.__dict__, default=str))  # noqa: F841 (keeps the variant printable on failure)
        frames, duration, rate, size = probe_mp4(v.path)
        fps = float(rate)
        # 1. frame-exact: within one frame of 15 s, constant rate, the format's size
        assert abs(duration - 15.0) <= 1.0 / fps + 1e-6, duration
        assert frames == round(15 * fps)
        assert size == ((1920, 1080) if v.format == "16x9" else (1080, 1920))
        # 2. loudness, measured independently
        integrated, peak = ebur128(v.path)
        assert abs(integrated - (-23.0)) <= 1.0, integrated
        assert peak <= -1.0, peak
        # 3. provenance: verifies; one changed byte makes it Invalid
        settings = Settings()
        report = verify_with_settings(v.path, settings)
        assert report.state == "Trusted"
        # honest actions: opened on the first shot, one placement per other shot and per card, no model
        acts = report.manifest.actions
        assert acts[0].action == "c2pa.opened"
        placed = [a for a in acts if a.action == "c2pa.placed"]
        titles = {i.title for i in report.manifest.ingredients}
        assert {"title card", "end slate"} <= titles, titles
        assert len(placed) == len(report.manifest.ingredients) - 1
        assert all(a.digital_source_type is None for a in acts)
        broken = tmp_path / f"broken-{v.format}.mp4"
        data = bytearray(v.path.read_bytes())
        data[len(data) // 2] ^= 0x01
        broken.write_bytes(bytes(data))
        assert verify_with_settings(broken, settings).state == "Invalid"
        # 4. the cut list reads back, with the MP4's duration
        timeline = otio.adapters.read_from_file(str(v.files["cutlist.otio"]))
        assert abs(timeline.duration().to_seconds() - duration) <= 1.0 / fps + 1e-6
        edl = v.files["cutlist.edl"].read_text()
        assert "TITLE:" in edl
        # 5. every clip lies inside one source shot, clear of fades
        from workbench.catalog import Variant, open_catalog

        with open_catalog().session() as s:
            details = s.get(Variant, v.variant_id).recipe["details"]
        for clip in details["clips"]:
            shot = analysis.shots[clip["shot"]]
            assert shot.start_time <= clip["source_in"] and clip["source_out"] <= shot.end_time + 1e-6, (clip, shot)
            for t in analysis.transitions:
                if t.kind in ("fade_out", "fade_in"):
                    assert clip["source_out"] <= t.start_time or clip["source_in"] >= t.end_time, (clip, t)
        # 6. vertical: the tracked face inside the window in >= 95 % of its frames
        if v.format == "9x16":
            shares = [c["faces_kept_share"] for c in details["clips"] if c["faces_kept_share"] is not None]
            assert all(s >= 0.95 for s in shares), shares


def test_the_trailer_has_no_cut_inside_a_clip(home, title, tmp_path) -> None:
    """The analysis's own shot detector, run on the trailer, finds cuts only at its edits."""
    result = workflow.generate("trailer", title, {"segments": ["drama"], "durations": [30], "formats": ["16x9"]})
    [v] = result.variants
    from workbench.catalog import Variant, open_catalog

    with open_catalog().session() as s:
        recipe = s.get(Variant, v.variant_id).recipe
    fps = Fraction(recipe["details"]["fps"])
    edits = set()
    n = 0
    for item in [*recipe["details"]["cards"][:1], *recipe["details"]["clips"], *recipe["details"]["cards"][1:]]:
        n += item["frames"]
        edits.add(n)
    trailer_title = workflow.ingest(v.path, "The trailer itself")
    cuts = workflow.analyze_title(trailer_title.title_id).analysis.cut_frames
    tolerance = 2
    assert all(any(abs(c - e) <= tolerance for e in edits) for c in cuts), (cuts, sorted(edits))
    assert float(fps) > 0


def test_segments_cut_differently_and_say_how_much(home, title) -> None:
    # a short cut of a six-shot title: room to choose (a 15 s cut needs nearly every shot)
    result = workflow.generate("trailer", title, {"segments": ["action", "romance"], "durations": [6], "formats": ["16x9"]})
    from workbench.catalog import Variant, open_catalog

    with open_catalog().session() as s:
        recipes = {s.get(Variant, v.variant_id).segment: s.get(Variant, v.variant_id).recipe for v in result.variants}
    shots = {seg: [c["shot"] for c in r["details"]["clips"]] for seg, r in recipes.items()}
    assert shots["action"] != shots["romance"]
    overlap = recipes["romance"]["details"]["overlap_with"]
    assert "action" in overlap and 0.0 <= overlap["action"] < 0.5, overlap


@pytest.mark.parametrize(("params", "message"), [
    ({"durations": [5]}, "durations"),
    ({"durations": [181]}, "durations"),
    ({"formats": ["4x3"]}, "format"),
    ({"segments": ["westerns"]}, "segment"),
    ({"tagline": "two\nlines"}, "tagline"),
])
def test_bad_trailer_parameters_fail_before_any_work(home, title, params, message) -> None:
    with pytest.raises(InvalidInput, match=message):
        workflow.generate("trailer", title, params)


def test_a_title_shorter_than_the_cut_names_its_usable_footage(home, tmp_path) -> None:
    from tests.conftest import lavfi_video

    clip = lavfi_video(tmp_path / "short.mp4", "testsrc2=size=640x360:rate=25", 8, audio=True)
    workflow.ingest(clip, "Short")
    with pytest.raises(InvalidInput, match=r"too short for a 60 s trailer|usable footage"):
        workflow.generate("trailer", "Short", {"segments": ["action"], "durations": [60], "formats": ["16x9"]})


def test_a_title_without_sound_gets_a_silent_bed_stated_in_the_recipe(home, tmp_path) -> None:
    silent = make_title(tmp_path / "silent.mp4", audio=False)
    workflow.ingest(silent, "Silent")
    result = workflow.generate("trailer", "Silent", {"segments": ["kids"], "durations": [15], "formats": ["16x9"]})
    [v] = result.variants
    from workbench.catalog import Variant, open_catalog

    with open_catalog().session() as s:
        audio = s.get(Variant, v.variant_id).recipe["details"]["audio"]
    assert audio["source_audio"] is False


@pytest.mark.parametrize("bad", ["text", "truncated"])
def test_a_bad_music_bed_is_refused_with_one_line(home, tmp_path, bad) -> None:
    from workbench.music import store_music

    path = tmp_path / "bed.mp3"
    if bad == "text":
        path.write_text("not music at all\n")
    else:
        ffmpeg("-f", "lavfi", "-i", "sine=frequency=330:duration=20", "-c:a", "libmp3lame", "-b:a", "128k", str(path))
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    with pytest.raises(InvalidInput) as err:
        store_music(path)
    assert "\n" not in str(err.value) and ("not the mp3" in str(err.value) or "truncated" in str(err.value))


def test_hostile_card_text_is_drawn_literally(home, title) -> None:
    hostile = {"title_text": "It's 100%: \"%{pts}\" \\ {x}", "tagline": "a:b='c' [d] $HOME", "call_to_action": "<b>now</b>",
               "date": "12/12"}
    result = workflow.generate("trailer", title, {"segments": ["comedy"], "durations": [15], "formats": ["16x9"], **hostile})
    [v] = result.variants
    from workbench.catalog import Variant, open_catalog

    with open_catalog().session() as s:
        cards = s.get(Variant, v.variant_id).recipe["details"]["cards"]
    assert cards[0]["title"] == hostile["title_text"] and cards[-1]["call_to_action"] == "<b>now</b>"


def test_vfr_and_offset_shared_clips_cut_frame_exact(home) -> None:
    clip = shared_media("short_hamilton_clip.mp4")
    workflow.ingest(clip, "Hamilton")
    result = workflow.generate("trailer", "Hamilton", {"segments": ["drama"], "durations": [6], "formats": ["16x9", "9x16"]})
    for v in result.variants:
        frames, duration, rate, _ = probe_mp4(v.path)
        assert abs(duration - 6.0) <= 1.0 / float(rate) + 1e-6
        integrated, peak = ebur128(v.path)
        assert abs(integrated + 23.0) <= 1.0 and peak <= -1.0


def test_synthetic_cuts_clips_never_span_a_cut(home) -> None:
    clip = shared_media("synthetic_cuts.mp4")
    workflow.ingest(clip, "Synthetic cuts")
    result = workflow.generate("trailer", "Synthetic cuts", {"segments": ["action"], "durations": [6], "formats": ["16x9"]})
    [v] = result.variants
    from workbench.catalog import Variant, open_catalog

    with open_catalog().session() as s:
        clips = s.get(Variant, v.variant_id).recipe["details"]["clips"]
    cuts = (3.0, 6.0, 9.0)
    for c in clips:
        assert not any(c["source_in"] < t < c["source_out"] for t in cuts), c


def test_the_trailers_command_lists_each_cut_with_its_files(home, title) -> None:
    from typer.testing import CliRunner

    from workbench.cli import app

    r = CliRunner().invoke(app, ["trailers", title, "--segments", "thriller", "--durations", "6", "--formats", "9x16",
                                 "--json"])
    assert r.exit_code == 0, r.output
    [v] = json.loads(r.stdout)["variants"]
    assert v["segment"] == "thriller" and v["format"] == "9x16" and abs(v["duration"] - 6.0) < 0.05
    assert v["path"].endswith(".mp4") and Path(v["path"]).is_file()
    assert set(v["files"]) >= {"cutlist.otio", "cutlist.edl"} and all(Path(p).is_file() for p in v["files"].values())


def _frame_at(path: Path, t: float) -> np.ndarray:
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            if frame.time is not None and frame.time >= t:
                return frame.to_ndarray(format="rgb24")
    raise AssertionError(f"no frame at {t} s in {path}")


def test_subtitles_are_carried_through_the_cut_burned_in_and_written_beside_it(home, title, tmp_path) -> None:
    from generators.localization.fonts import FontMissing, font_for
    from generators.localization.store import store_subtitles
    from generators.localization.subtitles import load_subtitles, read_ttml

    try:
        font_for("Jpan")
    except FontMissing as exc:
        pytest.skip(str(exc))
    srt = tmp_path / "title.ja.srt"
    srt.write_text("".join(f"{n + 1}\n00:00:{2 * n:02d},000 --> 00:00:{2 * n + 1:02d},900\n長い夜が始まる {n}\n\n" for n in range(18)),
                   encoding="utf-8")
    sha = store_subtitles(srt)
    params = {"segments": ["action"], "durations": [6], "formats": ["16x9"]}
    [plain] = workflow.generate("trailer", title, params).variants
    [subbed] = workflow.generate("trailer", title, {**params, "subtitles": sha, "subtitle_locale": "ja"}).variants
    assert set(subbed.files) >= {"subtitles.srt", "subtitles.vtt", "subtitles.ttml"}
    cues = load_subtitles(subbed.files["subtitles.srt"])
    assert cues and all(0 <= c.start < c.end <= 6.0 + 1e-6 for c in cues)
    assert [c.text for c in read_ttml(subbed.files["subtitles.ttml"])] == [c.text for c in cues]
    assert [c.text for c in load_subtitles(subbed.files["subtitles.vtt"])] == [c.text for c in cues]
    # burned in: the bottom band differs from the same cut without subtitles, the top does not
    cue = cues[0]
    a, b = _frame_at(plain.path, (cue.start + cue.end) / 2), _frame_at(subbed.path, (cue.start + cue.end) / 2)
    h = a.shape[0]
    bottom = np.abs(a[int(h * 0.75):].astype(int) - b[int(h * 0.75):].astype(int)).mean()
    top = np.abs(a[: int(h * 0.5)].astype(int) - b[: int(h * 0.5)].astype(int)).mean()
    assert bottom > 3 * max(top, 0.3), (bottom, top)


def test_cards_in_a_locale_use_its_copy_and_script(home, title, tmp_path) -> None:
    """With a strings set and a locale the cards carry that locale's copy, drawn in its script's
    font (shaped, right to left); the slot is the locale's. Drawn with the template's Latin faces
    the same copy would lack every glyph: that is flagged."""
    from generators.localization.fonts import FontMissing, font_for
    from generators.localization.store import import_strings
    from generators.trailers import cards
    from generators.trailers.timeline import Card
    from workbench.catalog import Variant, open_catalog

    try:
        font_for("Arab")
    except FontMissing as exc:
        pytest.skip(str(exc))
    promo = tmp_path / "promo.json"
    promo.write_text(json.dumps({"source_locale": "en", "locales": {
        "en": {"title": "The Long Night", "tagline": "Some doors stay closed", "call_to_action": "Watch now", "date": "2026-12-12"},
        "ar-EG": {"title": "الليلة الطويلة", "tagline": "بعض الأبواب تبقى مغلقة", "call_to_action": "شاهد الآن",
                  "date": "ابتداءً من {date}"}}}, ensure_ascii=False), encoding="utf-8")
    sha, _ = import_strings(promo)
    [v] = workflow.generate("trailer", title, {"segments": ["romance"], "durations": [6], "formats": ["16x9"], "strings": sha,
                                               "locale": "ar-EG"}).variants
    assert v.locale == "ar-EG" and "missing_glyphs" not in v.qa_flags and "overflow" not in v.qa_flags, v.qa_flags
    with open_catalog().session() as s:
        recipe = s.get(Variant, v.variant_id).recipe
    end = recipe["details"]["cards"][-1]
    assert end["title"] == "الليلة الطويلة" and end["call_to_action"] == "شاهد الآن" and "١٢" in end["date"]
    template = cards.load_template()
    localized = cards.layout_card(Card("end", 50, end["title"], call_to_action=end["call_to_action"], locale="ar-EG"),
                                  template, 1920, 1080)
    assert all(f.font.startswith("NotoSansArabic") and not f.missing_glyphs for f in localized.fields)
    assert localized.fields[0].localized.direction == "rtl"
    latin = cards.layout_card(Card("end", 50, end["title"]), template, 1920, 1080)
    assert latin.fields[0].missing_glyphs
    with pytest.raises(InvalidInput, match="locale"):
        workflow.generate("trailer", title, {"strings": sha, "durations": [6]})


def test_every_length_the_footage_allows_is_planned_to_the_frame(home, sample_title, tmp_path) -> None:
    """Near the end of the usable footage the plan takes another shot or refuses, naming the
    footage: it never picks shots that hold the cut in seconds but not in whole frames (the
    sample title looped to 120 s: 52 short shots, the case that once failed at 46-82 s)."""
    from generators.audience.segments import SEGMENTS
    from generators.trailers.plan import plan_segments
    from generators.trailers.render import output_rate

    looped = tmp_path / "looped.mp4"
    ffmpeg("-stream_loop", "-1", "-i", str(sample_title.path), "-t", "120", "-vf", "scale=-2:360", "-c:v", "libx264",
           "-preset", "ultrafast", "-c:a", "aac", str(looped))
    workflow.ingest(looped, "Looped")
    analysis = workflow.analyze_title("Looped").analysis
    fps = output_rate(analysis.fps)
    planned = 0
    for seconds in range(40, 100):
        try:
            plans = plan_segments(analysis, list(SEGMENTS), seconds, fps, title="T")
        except InvalidInput as exc:
            assert "usable footage" in str(exc), str(exc)
            continue
        planned += 1
        for plan in plans.values():
            assert sum(i.frames for i in plan.items) == round(seconds * float(fps))
            for clip in plan.clips:
                choice = next(c for c in plan.choices if c.shot == clip.shot)
                assert choice.span[0] - 1e-6 <= clip.source_in
                assert clip.source_in + clip.frames / float(fps) <= choice.span[1] + 1e-6
    assert planned >= 30
