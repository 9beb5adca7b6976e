"""Mid-roll ad break markers: shot boundaries with no speech around them, never inside a dialogue,
preferring a fade to black, spaced, clear of the start and the end, each with its score and reason;
exported as a cue list and a VMAP 1.0 document (ad tag URL escaped). The pure function runs on an
analysis built by hand; one real ingested title (a fade to black made with ffmpeg) checks the lot
end to end."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from generators.ads.breaks import (
    VMAP_NS,
    BreakOptions,
    break_sidecars,
    build_vmap,
    check_ad_tag_url,
    dialogue_spans,
    find_breaks,
    validate_vmap,
)
from workbench.analysis.types import Analysis, AudioSignals, Shot, Span, Transition
from workbench.errors import InvalidInput

AD_TAG = "https://ads.example.com/vast?slot=mid&sz=1920x1080&cb=[CACHEBUSTING]"
Q = f"{{{VMAP_NS}}}"


def hand_analysis(speech: tuple[tuple[float, float], ...]) -> Analysis:
    """80 s at 25 fps, shots every 10 s; a fade to black around the boundary at 30 s."""
    fps = 25.0
    shots = [Shot(i, i * 250, (i + 1) * 250, i * 10.0, (i + 1) * 10.0) for i in range(8)]
    transitions = [Transition("cut", b * 250, b * 250, 50.0, b * 10.0, b * 10.0 + 0.04) for b in (1, 2, 4, 5, 6, 7)]
    transitions += [Transition("fade_out", 725, 744, 80.0, 29.0, 29.8, "black"),
                    Transition("fade_in", 750, 769, 70.0, 30.0, 30.8, "black")]
    return Analysis(source_sha256="0" * 64, fps=fps, frame_count=2000, width=1280, height=720, duration=80.0,
                    shots=shots, keyframes=[], transitions=sorted(transitions, key=lambda t: t.start_frame),
                    has_audio=True, audio=AudioSignals(speech=tuple(Span(a, b) for a, b in speech)))


SPEECH = (
    (8.5, 11.0),  # over the 10 s boundary (which is also in the first 12 s)
    (18.0, 19.6), (20.8, 22.0),  # a dialogue across the 20 s boundary (silent at 20, but 1.2 s gap)
    (38.0, 38.9),  # 1.1 s before the 40 s boundary
    (49.0, 51.5),  # over the 50 s boundary
)


def test_breaks_prefer_the_fade_and_refuse_speech_dialogue_and_edges() -> None:
    plan = find_breaks(hand_analysis(SPEECH), BreakOptions(min_spacing_s=15, edge_s=12, speech_guard_s=1.5,
                                                          dialogue_gap_s=2.5))
    by_time = {c.time: c for c in plan.candidates}
    assert sorted(by_time) == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0]  # every shot boundary, nothing inside a shot
    assert by_time[10.0].score == 0 and by_time[10.0].reason == "within 12 s of the start"
    assert by_time[50.0].score == 0 and by_time[50.0].reason == "inside speech"
    assert by_time[20.0].score == 0 and "inside a dialogue" in by_time[20.0].reason
    assert by_time[40.0].score == 0 and "speech 1.10 s away" in by_time[40.0].reason
    assert by_time[70.0].score == 0 and by_time[70.0].reason == "within 12 s of the end"
    fade, cut = by_time[30.0], by_time[60.0]
    assert fade.kind == "fade_to_black" and "fade out to black" in fade.reason and "fade in from black" in fade.reason
    assert cut.kind == "cut" and fade.score > cut.score > 0
    assert [(b.time, b.break_id) for b in plan.breaks] == [(30.0, "midroll-1"), (60.0, "midroll-2")]
    assert all(b.kept and b.terms for b in plan.breaks)
    # spacing: 30 s apart is too close for a 35 s rule; the fade wins, the cut says why it lost
    spaced = find_breaks(hand_analysis(SPEECH), BreakOptions(min_spacing_s=35, edge_s=12))
    assert [b.time for b in spaced.breaks] == [30.0]
    loser = next(c for c in spaced.candidates if c.time == 60.0)
    assert not loser.kept and "not kept: within 35 s of a better break" in loser.reason
    # the first / last N seconds
    assert find_breaks(hand_analysis(()), BreakOptions(min_spacing_s=0, edge_s=50)).breaks == ()


def test_dialogue_spans_join_close_speech() -> None:
    a = hand_analysis(((1.0, 2.0), (3.0, 4.0), (9.0, 10.0)))
    assert dialogue_spans(a, 2.5) == [(1.0, 4.0), (9.0, 10.0)]
    assert dialogue_spans(a, 0.5) == [(1.0, 2.0), (3.0, 4.0), (9.0, 10.0)]


def test_vmap_document_and_cue_list(tmp_path) -> None:
    a = hand_analysis(SPEECH)
    options = BreakOptions(min_spacing_s=15, edge_s=12)
    plan = find_breaks(a, options)
    hostile = "https://ads.example.com/vast?a=1&b=<x>&c=]]>&d=\"q\""
    data = build_vmap(plan.breaks, hostile, template_type="vast4")
    assert validate_vmap(data) == []
    assert b"&amp;b=&lt;x&gt;" in data and b"<x>" not in data  # escaped by the writer
    root = ET.fromstring(data)
    assert root.tag == f"{Q}VMAP" and root.get("version") == "1.0"
    breaks = root.findall(f"{Q}AdBreak")
    assert [(b.get("timeOffset"), b.get("breakType"), b.get("breakId")) for b in breaks] == [
        ("00:00:30.000", "linear", "midroll-1"), ("00:01:00.000", "linear", "midroll-2")]
    tag = breaks[0].find(f"{Q}AdSource/{Q}AdTagURI")
    assert tag.get("templateType") == "vast4" and tag.text == hostile
    assert build_vmap(plan.breaks, AD_TAG).count(b'templateType="vast3"') == 2  # the VMAP 1.0 default
    # a broken document is caught
    assert validate_vmap(data.replace(b'timeOffset="00:00:30.000"', b'timeOffset="30s"'))
    assert validate_vmap(data.replace(b"midroll-2", b"midroll-1")) == ["breakId values must be unique"]
    assert validate_vmap(b"<!DOCTYPE x [<!ENTITY a 'b'>]><x/>")[0].startswith("refused")
    # the sidecars a kind attaches
    files = break_sidecars(a, tmp_path, AD_TAG, options=options)
    assert [f.role for f in files] == ["breaks.cues", "breaks.vmap"]
    cues = json.loads(files[0].path.read_text())
    assert cues["format"] == "creative-workbench/ad-breaks@1" and cues["ad_tag_url"] == AD_TAG
    assert [b["time_offset"] for b in cues["breaks"]] == ["00:00:30.000", "00:01:00.000"]
    assert len(cues["candidates"]) == 7 and all(c["reason"] for c in cues["candidates"])
    assert validate_vmap(files[1].path.read_bytes()) == []


@pytest.mark.parametrize("url", ["http://ads.example.com/vast", "javascript:alert(1)", "https://", "https://a b.com/x",
                                 "ftp://ads.example.com/x", ""])
def test_bad_ad_tag_urls_are_refused(url) -> None:
    with pytest.raises(InvalidInput, match="ad_tag_url"):
        check_ad_tag_url(url)


def test_bad_options_are_refused() -> None:
    a = hand_analysis(())
    for opts, needle in ((BreakOptions(min_spacing_s=-1), "min_spacing_s"), (BreakOptions(edge_s=float("nan")), "edge_s"),
                         (BreakOptions(max_breaks=0), "max_breaks")):
        with pytest.raises(InvalidInput, match=needle):
            find_breaks(a, opts)


@pytest.mark.timeout(300)
def test_breaks_on_an_ingested_title(home, tmp_path) -> None:
    """The trailer tests' title: six shots, a fade to black from shot 3 into shot 4 (at 21.16 s)."""
    from dataclasses import replace

    from tests.test_trailers import make_title
    from workbench import workflow

    name = workflow.ingest(make_title(tmp_path / "title.mp4"), "Breaks Title").title_name
    a = workflow.analyze_title(name).analysis
    plan = find_breaks(a, BreakOptions(min_spacing_s=10, edge_s=5))
    assert len(plan.candidates) == len(a.shots) - 1
    best = max(plan.candidates, key=lambda c: c.score)
    assert best.kind == "fade_to_black" and abs(best.time - 21.16) < 0.05 and best.kept
    assert all(abs(b.time - c.time) >= 10 for b in plan.breaks for c in plan.breaks if b is not c)
    assert all(5 <= b.time <= a.duration - 5 for b in plan.breaks)
    # with speech over the fade (as if someone talked across it), the fade is refused and a cut wins
    talk = replace(a, audio=replace(a.audio, speech=(Span(19.5, 22.5),)))
    plan = find_breaks(talk, BreakOptions(min_spacing_s=10, edge_s=5))
    fade = next(c for c in plan.candidates if c.kind == "fade_to_black")
    assert fade.score == 0 and fade.reason == "inside speech"
    assert plan.breaks and all(b.kind == "cut" for b in plan.breaks)
    files = break_sidecars(a, tmp_path, AD_TAG, options=BreakOptions(min_spacing_s=10, edge_s=5))
    vmap = ET.fromstring(Path(files[1].path).read_bytes())
    assert "00:00:21.160" in [b.get("timeOffset") for b in vmap.findall(f"{Q}AdBreak")]
