"""Subtitles for promos: SRT/WebVTT in, each style-guide check on a cue made to break it (and a
clean file that breaks none), SRT/WebVTT/TTML out and back with hostile text kept literal, and a
cue drawn for burn-in with its script's font."""

from __future__ import annotations

import numpy as np
import pytest

from generators.localization.subtitles import (
    Cue,
    StyleGuide,
    check_subtitles,
    load_subtitles,
    read_ttml,
    render_cue,
    write_srt,
    write_ttml,
    write_vtt,
)
from tests.test_localization_render import font_or_skip
from workbench.errors import InvalidInput

FPS = 25.0

CLEAN = [Cue(1.0, 3.0, "The night is long."), Cue(3.2, 5.5, "Some doors\nshould stay closed.")]


def flags_of(cues, **kw):
    return [(f.code, f.cue) for f in check_subtitles(cues, FPS, **kw)]


def test_the_style_guide_is_read_from_its_table() -> None:
    g = StyleGuide.load()
    assert (g.max_chars_per_line, g.max_lines, g.max_cps_adult, g.max_cps_kids, g.max_duration_s, g.min_gap_frames,
            g.shot_change_frames) == (42, 2, 17, 13, 7.0, 2, 12)
    assert abs(g.min_duration_s - 5 / 6) < 1e-3


def test_a_clean_file_has_no_flags() -> None:
    assert flags_of(CLEAN, shot_changes=(2.0, 8.0)) == []


@pytest.mark.parametrize("cues,kw,expected", [
    ([Cue(0, 4, "x" * 43)], {}, ("line_too_long", 1)),
    ([Cue(0, 5, "one\ntwo\nthree")], {}, ("too_many_lines", 1)),
    ([Cue(0, 1.5, "This line is far too fast to read.")], {}, ("reading_speed", 1)),
    ([Cue(0, 2.5, "Thirty-nine characters for the kids...")], {"audience": "kids"}, ("reading_speed", 1)),
    ([Cue(0, 0.6, "Hi")], {}, ("too_short", 1)),
    ([Cue(0, 7.5, "A long pause.")], {}, ("too_long", 1)),
    ([Cue(0, 2, "First."), Cue(2.04, 4, "Second.")], {}, ("gap_too_small", 1)),
    ([Cue(0, 2.5, "First."), Cue(2.0, 4, "Second.")], {}, ("overlap", 1)),
    ([Cue(1, 3, "Across a cut.")], {"shot_changes": (2.8,)}, ("crosses_shot_change", 1)),
], ids=["line", "lines", "cps-adult", "cps-kids", "short", "long", "gap", "overlap", "shot-change"])
def test_each_check_flags_the_cue_that_breaks_it(cues, kw, expected) -> None:
    flags = check_subtitles(cues, FPS, **kw)
    assert expected in [(f.code, f.cue) for f in flags], [f.line() for f in flags]
    assert all(f.line().startswith(f"cue {f.cue}: ") for f in flags)


def test_a_shot_change_mid_cue_or_far_from_its_edges_is_fine() -> None:
    assert flags_of([Cue(1, 4, "Across a cut.")], shot_changes=(2.5,)) == []  # 1.5 s from both edges
    assert flags_of([Cue(1, 4, "Across a cut.")], shot_changes=(4.3,)) == []  # after the cue
    # the same adult-speed cue is too fast for kids
    assert flags_of([Cue(0, 2, "Thirty chars, give or take it.")], audience="kids") == [("reading_speed", 1)]


HOSTILE = [Cue(1.0, 3.0, "<b>bold</b> & {\\an8} 'quotes'"), Cue(3.5, 6.0, "Zeile eins\nZeile zwei — ü")]


def test_srt_vtt_and_ttml_round_trip_literally(tmp_path) -> None:
    srt = load_subtitles(write_srt(HOSTILE, tmp_path / "a.srt"))
    vtt = load_subtitles(write_vtt(HOSTILE, tmp_path / "a.vtt"))
    ttml_path = write_ttml(HOSTILE, tmp_path / "a.ttml", "de")
    ttml = read_ttml(ttml_path)
    assert [c.text for c in ttml] == [c.text for c in HOSTILE]
    assert [(c.start, c.end) for c in ttml] == [(c.start, c.end) for c in HOSTILE]
    raw = ttml_path.read_text(encoding="utf-8")
    assert "&lt;b&gt;bold&lt;/b&gt; &amp;" in raw and 'xml:lang="de"' in raw and "<br />" in raw
    for cues in (srt, vtt):
        assert [(round(c.start, 3), round(c.end, 3)) for c in cues] == [(1.0, 3.0), (3.5, 6.0)]
        assert cues[1].text == "Zeile eins\nZeile zwei — ü"
        assert "bold" in cues[0].text and "&" in cues[0].text


def test_subtitle_files_are_checked_on_the_way_in(tmp_path) -> None:
    bad = tmp_path / "a.ass"
    bad.write_text("x")
    with pytest.raises(InvalidInput, match="must be .srt or .vtt"):
        load_subtitles(bad)
    srt = tmp_path / "b.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,500\nHello\n\n2\n00:00:02,540 --> 00:00:04,000\nThere\n", encoding="utf-8")
    cues = load_subtitles(srt)
    assert [c.text for c in cues] == ["Hello", "There"]
    assert flags_of(cues) == [("gap_too_small", 1)]


@pytest.mark.parametrize("locale,script,text", [("ar", "Arab", "بعض الأبواب يجب أن تبقى مغلقة"),
                                                ("th", "Thai", "ประตูบางบานควรปิดไว้ตลอดไป"),
                                                ("en", "Latn", "Some doors should stay closed")])
def test_a_cue_renders_as_rgba_with_its_script_font(locale, script, text) -> None:
    font_or_skip(script)
    cue = render_cue(text, locale, 1280)
    assert cue.image.mode == "RGBA" and cue.image.width == 1280
    assert cue.layout.script == script and cue.layout.missing == ()
    alpha = np.asarray(cue.image)[..., 3]
    white = (np.asarray(cue.image)[..., :3].min(axis=2) > 200) & (alpha == 255)
    assert white.sum() > 200 and (alpha == 0).mean() > 0.5  # white glyphs with a dark edge on transparency
