"""The cut lists: OTIO and CMX 3600 EDL written from a Timeline, read back with OTIO's own
adapters, every clip's source range and the total duration checked to the frame."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest
from opentimelineio import opentime

from generators.trailers.cutlist import (
    edl_text,
    read_back,
    reel_name,
    write_edl,
    write_otio,
)
from generators.trailers.timeline import Card, Clip, MusicBed, Reframe, Timeline
from workbench.errors import InvalidInput

HOSTILE_NAMES = [
    'The "Big" Night: Part 2',
    "Line one\nLine two\r\n* 002  AX V C 00:00:00:00",
    "***stars*** & <tags> $HOME %{pts} \\back\\",
    "Amélie — 千と千尋の神隠し 🎬",
    "\t\x00\x1b[31m",
    "",
]
EVENT = re.compile(r"^(\d{3})  (\S+)\s+V\s+C\s+(\S{11}) (\S{11}) (\S{11}) (\S{11})$")


def make_timeline(fps=Fraction(25), *, music=None) -> Timeline:
    items = (
        Card("title", 50, 'Night "Train"', tagline="All\naboard", date="12.12"),
        Clip(shot=3, source_in=12.0, frames=48, why="a face, close", score=0.91),
        Clip(shot=1, source_in=2.52, frames=37, why="motion", score=0.72, reframe=Reframe(mode="crop", reason="face")),
        Clip(shot=7, source_in=30.04, frames=25, why="the hook", score=0.66),
        Card("end", 62, "Night Train", call_to_action="Watch now", date="Friday"),
        Clip(shot=9, source_in=41.0, frames=13, why="button", score=0.5),
    )
    return Timeline(width=1920, height=1080, fps=fps, items=items, video_start=0.85, music=music,
                    extra={"segment": "thriller"})


def kwargs(tmp_path: Path, name="Night Train") -> dict:
    return {'source_name': name, 'source_path': tmp_path / "title.mp4", 'source_rate': 25.0, 'source_duration': 60.0}


def frames_of(rt: opentime.RationalTime, fps: Fraction) -> float:
    return rt.rescaled_to(float(fps)).value


# -- OTIO ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fps", [Fraction(25), Fraction(24), Fraction(30000, 1001)])
def test_otio_round_trip_keeps_every_range_and_the_duration(tmp_path, fps):
    tl = make_timeline(fps)
    dest = tmp_path / "cut.otio"
    write_otio(tl, dest, **kwargs(tmp_path))
    back = otio.adapters.read_from_file(str(dest))
    assert read_back(dest).to_json_string() == back.to_json_string()
    video = back.video_tracks()[0]
    assert frames_of(video.duration(), fps) == tl.frames
    assert video.duration().to_seconds() == pytest.approx(tl.duration, abs=1e-9)
    for track in back.tracks:  # dialogue and music tracks last exactly as long
        assert frames_of(track.duration(), fps) == pytest.approx(tl.frames)
    children = list(video)
    assert len(children) == len(tl.items)
    record = 0
    for child, item in zip(children, tl.items):
        assert isinstance(child, otio.schema.Clip)
        sr = child.source_range
        assert frames_of(sr.duration, fps) == item.frames
        assert frames_of(child.range_in_parent().start_time, fps) == record
        record += item.frames
        if isinstance(item, Card):
            ref = child.media_reference
            assert isinstance(ref, otio.schema.GeneratorReference) and ref.generator_kind == "SolidColor"
            assert ref.parameters["title"] == item.title and ref.parameters["card"] == item.kind
        else:
            assert sr.start_time.to_seconds() == pytest.approx(item.source_in, abs=1e-9)
            ref = child.media_reference
            assert isinstance(ref, otio.schema.ExternalReference)
            assert ref.target_url == (tmp_path / "title.mp4").resolve().as_uri()
            assert ref.available_range.duration.to_seconds() == pytest.approx(60.0)
            meta = child.metadata["creative_workbench"]
            assert meta["why"] == item.why and meta["score"] == item.score and meta["segment"] == "thriller"
            assert meta["shot"] == item.shot


def test_otio_carries_the_music_bed_and_the_clock(tmp_path):
    music = MusicBed(path=str(tmp_path / "song.mp3"), sha256="ab" * 32, start=12.5, gain_db=-7.0)
    tl = make_timeline(music=music)
    write_otio(tl, tmp_path / "cut.otio", **kwargs(tmp_path))
    back = read_back(tmp_path / "cut.otio")
    audio = back.audio_tracks()
    assert [t.name for t in audio] == ["A1", "Music"]
    (bed,) = list(audio[1])
    assert bed.source_range.start_time.to_seconds() == pytest.approx(12.5)
    assert frames_of(bed.source_range.duration, tl.fps) == tl.frames
    assert bed.metadata["creative_workbench"]["gain_db"] == -7.0
    assert bed.media_reference.target_url.endswith("song.mp3")
    # the dialogue track has the clips where the picture has them, gaps under the cards
    kinds = [type(c).__name__ for c in audio[0]]
    assert kinds == ["Gap", "Clip", "Clip", "Clip", "Gap", "Clip"]
    meta = back.metadata["creative_workbench"]
    assert meta["video_start_s"] == 0.85 and meta["fps"] == "25/1" and meta["frames"] == tl.frames


def test_otio_keeps_a_source_in_between_frames_exactly(tmp_path):
    """An analysis-clock source_in need not sit on the timeline's frame grid (29.97 source,
    25 fps trailer): the OTIO keeps the exact time; the EDL rounds to the nearest frame."""
    tl = Timeline(1920, 1080, Fraction(25), (Clip(0, 10.0123, 25), Clip(1, 3.039, 25)))
    write_otio(tl, tmp_path / "cut.otio", **kwargs(tmp_path))
    back = read_back(tmp_path / "cut.otio")
    clips = list(back.video_tracks()[0])
    assert clips[0].source_range.start_time.to_seconds() == pytest.approx(10.0123, abs=1e-9)
    write_edl(tl, tmp_path / "cut.edl", **kwargs(tmp_path))
    edl = read_back(tmp_path / "cut.edl", rate=25)
    events = list(edl.video_tracks()[0])
    assert events[0].source_range.start_time.value == round(10.0123 * 25)  # 250
    assert events[1].source_range.start_time.value == round(3.039 * 25)  # 76, not the truncated 75


# -- EDL ----------------------------------------------------------------------------------------


def parse_edl(text: str) -> list[tuple]:
    events = []
    for line in text.splitlines():
        m = EVENT.match(line)
        if m:
            events.append(m.groups())
    return events


@pytest.mark.parametrize("fps", [Fraction(25), Fraction(24), Fraction(30000, 1001)])
def test_edl_has_one_event_per_item_with_the_right_timecodes(tmp_path, fps):
    tl = make_timeline(fps)
    dest = tmp_path / "cut.edl"
    write_edl(tl, dest, **kwargs(tmp_path))
    text = dest.read_text()
    events = parse_edl(text)
    assert len(events) == len(tl.items)
    rate = float(fps)
    record = 0
    for (number, reel, src_in, src_out, rec_in, rec_out), item, i in zip(events, tl.items, range(1, 99)):
        assert int(number) == i
        start = 0 if isinstance(item, Card) else round(item.source_in * rate)
        tc = lambda frames: opentime.to_timecode(opentime.RationalTime(frames, rate), rate)
        assert (src_in, src_out) == (tc(start), tc(start + item.frames))
        assert (rec_in, rec_out) == (tc(record), tc(record + item.frames))
        assert reel == ("BL" if isinstance(item, Card) else reel_name("Night Train"))
        record += item.frames
    # and OTIO's reader agrees
    back = read_back(dest, rate=fps)
    video = back.video_tracks()[0]
    assert round(frames_of(video.duration(), fps)) == tl.frames
    read = [c for c in video if isinstance(c, otio.schema.Clip)]
    assert len(read) == len(tl.items)
    for clip, item in zip(read, tl.items):
        assert round(frames_of(clip.source_range.duration, fps)) == item.frames
        if isinstance(item, Card):
            assert isinstance(clip.media_reference, otio.schema.GeneratorReference)
            assert clip.media_reference.generator_kind == "black"
        else:
            assert round(frames_of(clip.source_range.start_time, fps)) == round(item.source_in * rate)
            assert clip.metadata["cmx_3600"]["reel"] == reel_name("Night Train")


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_title_names_give_a_valid_edl(tmp_path, name):
    """Every line of the EDL is a title, an event, or a comment; all printable ASCII; the
    adapter reads it back with every event in place."""
    tl = make_timeline()
    dest = tmp_path / "cut.edl"
    write_edl(tl, dest, **kwargs(tmp_path, name))
    text = dest.read_text(encoding="ascii")
    for line in text.splitlines():
        assert all(32 <= ord(c) < 127 for c in line), repr(line)
        assert line == "" or line.startswith(("TITLE: ", "* ")) or EVENT.match(line), repr(line)
    assert len(parse_edl(text)) == len(tl.items)
    back = read_back(dest, rate=25)
    assert len([c for c in back.video_tracks()[0] if isinstance(c, otio.schema.Clip)]) == len(tl.items)
    # the OTIO of the same title keeps the name as it is (less NULs: OTIO strings end at one)
    write_otio(tl, tmp_path / "cut.otio", **kwargs(tmp_path, name))
    back = read_back(tmp_path / "cut.otio")  # held: OTIO's children die with their parent
    assert back.metadata["creative_workbench"]["source"] == name.replace("\x00", "")


def test_hostile_source_path_is_url_encoded(tmp_path):
    folder = tmp_path / 'odd "dir"\nname *'
    folder.mkdir()
    args = {**kwargs(tmp_path), "source_path": folder / "Amélie 🎬.mp4"}
    write_edl(make_timeline(), tmp_path / "cut.edl", **args)
    text = (tmp_path / "cut.edl").read_text(encoding="ascii")
    assert len(parse_edl(text)) == len(make_timeline().items)
    write_otio(make_timeline(), tmp_path / "cut.otio", **args)
    back = read_back(tmp_path / "cut.otio")
    clip = list(back.video_tracks()[0])[1]
    from urllib.parse import unquote, urlparse

    assert Path(unquote(urlparse(clip.media_reference.target_url).path)) == (folder / "Amélie 🎬.mp4").resolve()


@pytest.mark.parametrize(
    ("name", "reel"),
    [
        ("Night Train", "NIGHT_TR"),
        ("night-train_2024.mp4", "NIGHT_TR"),
        ("Amélie", "AMELIE"),
        ("千と千尋", "SOURCE"),
        ("", "SOURCE"),
        ("bl", "BL_SRC"),
        ("a" * 40, "AAAAAAAA"),
        ('x"\n*y', "X_Y"),
    ],
)
def test_reel_names_are_safe(name, reel):
    got = reel_name(name)
    assert got == reel
    assert re.fullmatch(r"[A-Z0-9_]{1,8}", got)


def test_edl_text_is_one_ascii_line():
    assert edl_text("a\nb\r\n\tc") == "a b c"
    assert edl_text("Amélie 🎬") == "Amelie ?"
    assert len(edl_text("x" * 500)) == 70


# -- inputs and failures ------------------------------------------------------------------------


def test_clip_past_the_end_of_the_source_is_refused(tmp_path):
    tl = Timeline(1920, 1080, Fraction(25), (Clip(0, 59.5, 25),))
    with pytest.raises(InvalidInput, match="after the end"):
        write_otio(tl, tmp_path / "cut.otio", **kwargs(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments_are_refused(tmp_path):
    tl = make_timeline()
    with pytest.raises(InvalidInput, match="source_rate"):
        write_otio(tl, tmp_path / "a.otio", **{**kwargs(tmp_path), "source_rate": 0})
    with pytest.raises(InvalidInput, match="source_duration"):
        write_otio(tl, tmp_path / "a.otio", **{**kwargs(tmp_path), "source_duration": -1.0})
    with pytest.raises(InvalidInput, match="no items"):
        write_edl(Timeline(1, 1, Fraction(25), ()), tmp_path / "a.edl", source_name="x")
    with pytest.raises(InvalidInput, match="frame rate"):
        write_edl(tl, tmp_path / "a.edl", **kwargs(tmp_path))
        read_back(tmp_path / "a.edl")
    with pytest.raises(InvalidInput, match="no such cut list"):
        read_back(tmp_path / "missing.otio")


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    def broken(timeline, filepath, adapter_name=None, **kw):
        Path(filepath).write_text("partial")
        raise OSError("disk full")

    monkeypatch.setattr(otio.adapters, "write_to_file", broken)
    with pytest.raises(OSError, match="disk full"):
        write_edl(make_timeline(), tmp_path / "cut.edl", **kwargs(tmp_path))
    assert list(tmp_path.iterdir()) == []
