"""What trailer editing needs from analysis (analyzer 1.2): times from presentation timestamps,
fades, speech, beats and energy, face tracks, and all of it through the catalog.

Media are made here with ffmpeg lavfi sources and scikit-image pictures; the tests of
../shared/media skip with a reason when that folder is absent."""

from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from tests.conftest import ffmpeg, lavfi_video, shared_media
from workbench.analysis import rhythm, speech
from workbench.analysis.audio import EnergyMeter, decode_mono, measure_audio
from workbench.analysis.fades import FadeDetector
from workbench.analysis.pipeline import analyze
from workbench.analysis.tracks import Detection, link_tracks
from workbench.analysis.types import Analysis, Box, FaceTrack, Span, TrackSample
from workbench.media.probe import probe

FPS = 25
X264 = ("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p")


def run(path: Path) -> Analysis:
    return analyze(path, probe(path), "test-" + path.stem)


def kinds(a: Analysis) -> list[str]:
    return [t.kind for t in a.transitions]


# -- 1. times from presentation timestamps ----------------------------------------------------


@pytest.fixture(scope="module")
def vfr_clip(tmp_path_factory) -> Path:
    """100 frames: 50 at 25 fps, 10 at ~5.7 fps, then 10 fps, with a hard cut at frame 60,
    presented at 3.754 s. The average rate (13 fps) puts frame 60 at 4.6 s."""
    out = tmp_path_factory.mktemp("vfr") / "vfr.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2.4",
           "-f", "lavfi", "-i", "mandelbrot=size=320x240:rate=25",
           "-filter_complex",
           "[1:v]trim=end_frame=40,setpts=PTS-STARTPTS[b];[0:v][b]concat=n=2:v=1:a=0,settb=1/1000,"
           "setpts='if(lt(N,50),N/25,if(lt(N,60),2+(N-50)*0.1754,3.754+(N-60)/10))/TB'[v]",
           "-map", "[v]", "-fps_mode", "passthrough", *X264, "-enc_time_base", "1:1000",
           "-video_track_timescale", "1000", str(out))
    return out


def test_vfr_cut_is_at_its_presentation_time(vfr_clip: Path) -> None:
    info = probe(vfr_clip)
    a = run(vfr_clip)
    cuts = [t for t in a.transitions if t.kind == "cut"]
    assert [t.start_frame for t in cuts] == [60]
    assert 60 / info.fps == pytest.approx(4.6, abs=0.1)  # what index / average fps would say
    # within one frame (here exact: the PTS is in milliseconds)
    assert cuts[0].start_time == pytest.approx(3.754, abs=0.002)
    assert cuts[0].end_time == pytest.approx(3.854, abs=0.002)  # just after the cut frame
    first, second = a.shots
    assert first.end_time == second.start_time == cuts[0].start_time
    assert first.start_time == 0.0 and a.video_start == 0.0
    with av.open(str(vfr_clip)) as container:
        *_, last = container.decode(container.streams.video[0])
        last_end = float(last.time + last.duration * last.time_base)
    assert last.time == pytest.approx(7.654, abs=0.002)
    assert second.end_time == pytest.approx(last_end, abs=1e-4)  # last PTS + its own duration
    assert a.duration == second.end_time
    for k in a.keyframes:  # keyframe times are their frames' PTS too
        expected = k.frame / 25 if k.frame < 50 else (2 + (k.frame - 50) * 0.1754 if k.frame < 60 else 3.754 + (k.frame - 60) / 10)
        assert k.time == pytest.approx(expected, abs=0.002)


@pytest.fixture(scope="module")
def offset_clip(tmp_path_factory) -> Path:
    """Video starts 1 s into the container clock (cut 2 s later), audio at 0 with a tone at 3-4 s."""
    out = tmp_path_factory.mktemp("offset") / "offset.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2",
           "-f", "lavfi", "-i", "mandelbrot=size=320x240:rate=25",
           "-f", "lavfi", "-i", "aevalsrc='if(between(t,3,4),0.5*sin(2*PI*440*t),0)':s=48000:d=5",
           "-filter_complex", "[1:v]trim=duration=2,setpts=PTS-STARTPTS[m];[0:v][m]concat=n=2:v=1:a=0,setpts=PTS+1/TB[v]",
           "-map", "[v]", "-map", "2:a", *X264, "-c:a", "aac", str(out))
    return out


def test_start_offset_is_honoured(offset_clip: Path) -> None:
    a = run(offset_clip)
    assert a.video_start == pytest.approx(1.0, abs=1e-3)
    assert a.cut_frames == [50]
    assert a.shots[1].start_time == pytest.approx(2.0, abs=1e-3)  # analysis clock, not 3.0
    # the tone starts at 3.0 s on the container clock = 2.0 s on the analysis clock
    energy = np.array(a.audio.energy_db)
    hop = a.audio.energy_hop
    assert len(energy) == math.ceil(a.duration / hop)
    assert energy[: int(1.9 / hop)].max() <= -90
    assert energy[int(2.05 / hop): int(2.95 / hop)] == pytest.approx(-9.03, abs=0.3)  # 0.5 amplitude sine
    assert a.shots[0].loudness_lufs is None and a.shots[1].loudness_lufs is not None


def test_hamilton_video_starts_after_its_audio() -> None:
    path = shared_media("short_hamilton_clip.mp4")
    a = run(path)
    assert a.video_start == pytest.approx(0.852, abs=0.001)
    assert a.cut_frames == [20, 82, 211]
    assert a.shots[1].start_time == pytest.approx(20 / 29.97, abs=1e-3)
    # speech: the song is sung throughout (a voice detector counts singing)
    assert a.audio.speech and a.audio.speech[0].start == 0.0  # audio before the video is cut away
    assert sum(s.end - s.start for s in a.audio.speech) > 0.8 * a.duration
    assert all(0.0 <= s.start < s.end <= a.duration for s in a.audio.speech)
    assert all(s.speech_share > 0.8 for s in a.shots)
    # the same spans as silero's reference, moved by the 0.844 s between audio and video
    samples, audio_start = decode_mono(path)
    ref = _reference_spans(samples)
    shift = audio_start - a.video_start
    expected = [(max(0.0, s + shift), min(a.duration, e + shift)) for s, e in ref if e + shift > 0]
    assert [(s.start, s.end) for s in a.audio.speech] == [pytest.approx(x, abs=2e-3) for x in expected]


# -- 2. fades ---------------------------------------------------------------------------------


def _two_pictures(out: Path, filters: str, first: float = 3.5, second: float = 3.0) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}:duration={first}",
           "-f", "lavfi", "-i", f"mandelbrot=size=320x240:rate={FPS}",
           "-filter_complex", filters.format(second=second), "-map", "[v]", *X264, str(out))
    return out


def test_fade_to_black_is_a_fade_out_and_a_fade_in(tmp_path: Path) -> None:
    # picture 0-1.96 s, fading 2.04-2.96 s, black, then the next picture fades in from 3.52 s
    path = _two_pictures(tmp_path / "fade.mp4", "[0:v]fade=t=out:st=2:d=1[a];"
                         "[1:v]trim=duration={second},setpts=PTS-STARTPTS,fade=t=in:st=0:d=1[b];[a][b]concat=n=2:v=1:a=0[v]")
    a = run(path)
    assert kinds(a) == ["fade_out", "fade_in"]  # never a cut, never a dissolve
    out, inn = a.transitions
    assert out.colour == inn.colour == "black"
    assert 50 <= out.start_frame <= 52 and 70 <= out.end_frame <= 74  # frames 73-74 already read black
    assert out.start_time == pytest.approx(out.start_frame / FPS) and out.end_time == pytest.approx((out.end_frame + 1) / FPS)
    assert 88 <= inn.start_frame <= 91 and 110 <= inn.end_frame <= 112
    # the boundary is in the fade: the first frame after the black run, where the fade-in starts
    assert [s.start_frame for s in a.shots] == [0, inn.start_frame]
    assert a.shots[1].start_time == inn.start_time
    assert out.end_time < inn.start_time
    assert set(range(out.start_frame, out.end_frame + 1)) <= {k for k in range(a.frame_count)} - {k.frame for k in a.keyframes}


def test_fast_dip_to_black_and_fade_to_white(tmp_path: Path) -> None:
    dip = run(_two_pictures(tmp_path / "dip.mp4", "[0:v]fade=t=out:st=2.8:d=0.2[a];"
                            "[1:v]trim=duration={second},setpts=PTS-STARTPTS,fade=t=in:st=0:d=0.2[b];[a][b]concat=n=2:v=1:a=0[v]",
                            first=3.0))
    assert kinds(dip) == ["fade_out", "fade_in"]  # a 5-frame fade scores as a cut on content: it is not one
    assert dip.cut_frames == [] and len(dip.shots) == 2
    assert dip.shots[1].start_frame == dip.transitions[1].start_frame
    white = run(_two_pictures(tmp_path / "white.mp4", "[0:v]fade=t=out:st=2:d=1:c=white[a];"
                              "[1:v]trim=duration={second},setpts=PTS-STARTPTS,fade=t=in:st=0:d=1:c=white[b];[a][b]concat=n=2:v=1:a=0[v]",
                              first=3.0))
    assert kinds(white) == ["fade_out", "fade_in"]
    assert {t.colour for t in white.transitions} == {"white"}
    fade_in = white.transitions[1]
    assert 95 <= fade_in.end_frame <= 100  # the ramp ends with the fade, not with the fractal's own drift


def test_fades_at_the_ends_make_no_boundary(tmp_path: Path) -> None:
    path = lavfi_video(tmp_path / "ends.mp4", f"testsrc2=size=320x240:rate={FPS}", 4,
                       extra=("-vf", "fade=t=in:st=0:d=1,fade=t=out:st=3:d=1"))
    a = run(path)
    assert kinds(a) == ["fade_in", "fade_out"] and len(a.shots) == 1


def test_hard_cut_to_black_and_a_flash_are_not_fades(tmp_path: Path) -> None:
    # picture, hard cut to 20 black frames, hard cut to another picture with a one-frame white flash
    path = tmp_path / "cut-black.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}:duration=2",
           "-f", "lavfi", "-i", f"color=c=black:size=320x240:rate={FPS}:duration=0.8",
           "-f", "lavfi", "-i", f"mandelbrot=size=320x240:rate={FPS}",
           "-filter_complex", "[2:v]trim=duration=3,setpts=PTS-STARTPTS[m];[0:v][1:v][m]concat=n=3:v=1:a=0,"
           "drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='eq(n,110)'[v]", "-map", "[v]", *X264, str(path))
    a = run(path)
    assert kinds(a) == ["cut", "cut"] and a.cut_frames == [50, 70]  # the black is its own shot
    assert not [t for t in a.transitions if t.colour]


def test_shared_fade_clip_has_no_fade() -> None:
    """synthetic_fade.mp4: a 1 s cross-fade (100-124) and a white flash at 175, neither a fade."""
    a = run(shared_media("synthetic_fade.mp4"))
    assert a.cut_frames == []
    assert kinds(a) == ["dissolve"] and 100 <= a.transitions[0].start_frame <= a.transitions[0].end_frame <= 126


def test_fade_detector_rules() -> None:
    """On luma sequences: a linear and an eased fade, a cut to black, a flash, a noisy picture."""
    def events(luma):
        d = FadeDetector(25)
        out = [e for v in luma for e in d.push(v)]
        return out + d.finish()

    rng = np.random.default_rng(0)
    picture = list(120 + rng.normal(0, 0.8, 40))
    linear = picture + [120 - 11 * i for i in range(1, 10)] + [0] * 10 + [12.5 * i for i in range(1, 10)] + picture
    [e] = events(linear)
    assert (e.fade_out.start_frame, e.fade_out.end_frame) == (40, 48) and e.run == (49, 58)
    assert (e.fade_in.start_frame, e.fade_in.end_frame) == (59, 67) and e.boundary == 59
    eased = picture + [120 * math.cos(math.pi / 2 * i / 15) for i in range(1, 15)] + [0] * 5 + picture
    [e] = events(eased)
    assert e.fade_out is not None and e.fade_out.end_frame == 40 + 13 and e.fade_in is None and e.boundary == 59
    assert events(picture + [0] * 20 + picture) == []  # cut to black and back
    assert events(picture + [255] + picture) == []  # one-frame flash
    assert events(picture + [100, 0] + [0] * 10 + picture) == []  # one step is most of the drop: a cut
    assert events([50 + 30 * math.sin(i / 5) for i in range(200)]) == []  # never reaches the floor


# -- 3. speech --------------------------------------------------------------------------------


def _reference_spans(samples: np.ndarray) -> list[tuple[float, float]]:
    """silero's own get_speech_timestamps (the package sets torch threads to 1 on import: restored)."""
    threads = torch.get_num_threads()
    try:
        from silero_vad import get_speech_timestamps

        model = torch.jit.load(str(speech.find_model())).eval()
        spans = get_speech_timestamps(torch.from_numpy(samples), model, return_seconds=True, time_resolution=4)
    finally:
        torch.set_num_threads(threads)
    return [(s["start"], s["end"]) for s in spans]


def test_fast_speech_probabilities_match_the_reference_loop() -> None:
    """The batched front end + one nn.LSTM call give the reference loop's probabilities."""
    samples, _ = decode_mono(shared_media("short_hamilton_clip.mp4"))
    model = torch.jit.load(str(speech.find_model())).eval()  # the reference: one call per 512 samples
    x = torch.from_numpy(samples)
    with torch.no_grad():
        ref = np.array([model(torch.nn.functional.pad(x[i : i + 512], (0, max(0, i + 512 - x.numel()))), 16000).item()
                        for i in range(0, x.numel(), 512)])
    # fed in uneven pieces: the state is carried across them
    detector = speech.SpeechDetector()
    for piece in np.array_split(samples, [1000, 17000, 40000, 41111]):
        detector.feed(piece)
    fast = detector.finish()
    assert fast.shape == ref.shape
    assert np.abs(fast - ref).max() < 1e-4


def test_speech_spans_hysteresis() -> None:
    chunk = speech.CHUNK / speech.RATE  # 32 ms
    probs = np.zeros(200)
    probs[10:40] = 0.9  # 0.96 s of speech
    probs[40:42] = 0.4  # between the thresholds: still speech
    probs[42:44] = 0.1  # 64 ms under 0.35: shorter than 100 ms of silence, bridged
    probs[44:60] = 0.8
    probs[100:106] = 0.9  # 192 ms: shorter than 250 ms, dropped
    spans = speech.speech_spans(probs, 200 * speech.CHUNK)
    assert len(spans) == 1
    (start, end), = spans
    assert start == pytest.approx(10 * chunk - 0.03, abs=1e-6)
    assert end == pytest.approx(60 * chunk + 0.03, abs=1e-6)  # silence from chunk 60, padded 30 ms


def test_no_speech_in_a_tone_or_in_silence(tmp_path: Path) -> None:
    tone = lavfi_video(tmp_path / "tone.mp4", f"testsrc2=size=320x240:rate={FPS}", 4, audio=True)
    a = run(tone)
    assert a.has_audio and a.audio.speech == () and all(s.speech_share == 0.0 for s in a.shots)
    assert a.audio.beats == () and a.audio.tempo is None  # a steady tone has no beat
    silent = tmp_path / "silent.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}:duration=3", "-f", "lavfi",
           "-i", "anullsrc=r=48000:cl=stereo", "-t", "3", *X264, "-c:a", "aac", "-shortest", str(silent))
    b = run(silent)
    assert b.audio.speech == () and b.audio.beats == () and b.audio.onsets == ()
    assert b.audio.energy_db and max(b.audio.energy_db) == -100.0


# -- 4. beats, onsets, energy -----------------------------------------------------------------

CLICKS = "aevalsrc='if(lt(mod(t-0.25,0.5),0.03),0.8*sin(2*PI*1000*t),0)':s=44100:d=12"  # clicks at 0.25 + k/2 s


def test_beats_of_a_click_track(tmp_path: Path) -> None:
    wav = tmp_path / "clicks.wav"
    ffmpeg("-f", "lavfi", "-i", CLICKS, str(wav))
    samples, _ = decode_mono(wav, 22050)  # as the trailer reads its music bed
    tempo, beats, onsets = rhythm.beats_of(samples, 22050)
    clicks = 0.25 + 0.5 * np.arange(24)
    assert tempo == pytest.approx(120, abs=1.5)
    assert len(beats) >= 20
    assert max(np.abs(clicks[:, None] - np.array(beats)[None, :]).min(axis=0)) < 0.03  # every beat on a click
    nearest = np.abs(clicks[:, None] - np.array(onsets)[None, :]).min(axis=1)
    assert (nearest < 0.02).mean() > 0.9  # almost every click is an onset, to 20 ms


def test_beats_of_the_gated_sine_from_the_brief(tmp_path: Path) -> None:
    """A sine gated per audio frame (eval=frame: the clicks land on 21 ms frame boundaries)."""
    wav = tmp_path / "gated.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000:duration=10",
           "-af", "volume='if(lt(mod(t,0.5),0.03),1,0)':eval=frame", str(wav))
    samples, _ = decode_mono(wav)
    tempo, beats, _ = rhythm.beats_of(samples, 16000)
    assert tempo == pytest.approx(120, abs=1.5)
    gates = np.ceil(np.arange(0, 10, 0.5) * 48000 / 1024) * 1024 / 48000  # first frame of each gate
    assert max(np.abs(gates[:, None] - np.array(beats)[None, :]).min(axis=0)) < 0.03


def test_no_beats_in_silence_or_noise() -> None:
    assert rhythm.beats_of(np.zeros(16000 * 5, np.float32), 16000) == (None, (), ())
    noise = np.random.default_rng(1).standard_normal(16000 * 10).astype(np.float32) * 0.1
    tempo, beats, _ = rhythm.beats_of(noise, 16000)
    assert tempo is None and beats == ()


def test_beat_tracker_follows_a_tempo_change_free_pulse() -> None:
    """The dynamic programme on a synthetic envelope: impulses every 37 frames (162 BPM)."""
    env = np.zeros(3000)
    env[20::37] = 20.0  # a click's flux, in dB
    t = rhythm.estimate_tempo(env)
    assert t.bpm == pytest.approx(60 * 100 / 37, rel=0.02) and t.pulse > 0.5
    frames = rhythm.track_beats(env, t.period)
    assert np.all(np.isin(frames, np.arange(20, 3000, 37)))
    assert len(frames) >= 75


def test_analysis_finds_the_beats_of_its_soundtrack(tmp_path: Path) -> None:
    path = tmp_path / "music.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}:duration=8", "-f", "lavfi", "-i", CLICKS,
           "-t", "8", *X264, "-c:a", "aac", str(path))
    a = run(path)
    assert a.audio.tempo == pytest.approx(120, abs=1.5)
    clicks = 0.25 + 0.5 * np.arange(16)
    assert len(a.audio.beats) >= 12
    assert max(np.abs(clicks[:, None] - np.array(a.audio.beats)[None, :]).min(axis=0)) < 0.03
    assert a.audio.speech == ()


def test_energy_curve_levels_and_length(tmp_path: Path) -> None:
    # 1 s of silence, then a 0.5-amplitude sine on both channels (RMS -9.03 dBFS), then a 0.05 one (-29.03)
    path = tmp_path / "levels.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}:duration=3", "-f", "lavfi",
           "-i", "aevalsrc='if(lt(t,1),0,if(lt(t,2),0.5,0.05))*sin(2*PI*440*t)|if(lt(t,1),0,if(lt(t,2),0.5,0.05))*sin(2*PI*440*t)':s=48000:d=3",
           *X264, "-c:a", "pcm_s16le", str(path.with_suffix(".mov")))
    path = path.with_suffix(".mov")
    a = run(path)
    e = np.array(a.audio.energy_db)
    assert a.audio.energy_hop == 0.05 and len(e) == 60
    assert np.all(e[:19] == -100.0)
    assert e[21:39] == pytest.approx(-9.03, abs=0.05)
    assert e[41:59] == pytest.approx(-29.03, abs=0.05)


def test_energy_meter_alignment() -> None:
    meter = EnergyMeter(1000)
    x = np.zeros(3000)
    x[1500:] = 1.0  # DC at full scale from 1.5 s: 0 dBFS
    meter.feed(x[:700])
    meter.feed(x[700:])
    meter.finish()
    curve = meter.curve(1.0, 20)  # hops of 50 ms from 1.0 s after the first sample
    assert np.all(curve[:10] == -100.0) and np.all(curve[10:] == pytest.approx(0.0))
    assert np.all(meter.curve(-1.0, 10) == -100.0)  # before the audio: silence


# -- 5. face tracks ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moving_face(tmp_path_factory) -> tuple[Path, float]:
    """The astronaut's head (skimage) panned from x = 20 to 380 px over 4 s on a grey 640x360
    frame; returns the clip and the face centre's x offset inside the overlay."""
    from PIL import Image
    from skimage import data

    folder = tmp_path_factory.mktemp("face")
    head = Image.fromarray(data.astronaut()[0:256, 96:352]).resize((240, 240), Image.LANCZOS)
    head.save(folder / "head.png")
    out = folder / "pan.mp4"
    ffmpeg("-f", "lavfi", "-i", f"color=c=0x404040:size=640x360:rate={FPS}:duration=4", "-loop", "1", "-i",
           str(folder / "head.png"), "-filter_complex", "[0:v][1:v]overlay=x='20+90*t':y=60:shortest=1[v]",
           "-map", "[v]", "-t", "4", *X264, str(out))
    return out, (224 - 96) * 240 / 256


def test_a_moving_face_is_one_track_that_follows_it(moving_face) -> None:
    path, face_dx = moving_face
    a = run(path)
    assert len(a.shots) == 1
    assert len(a.face_tracks) == 1
    track = a.face_tracks[0]
    assert track.shot == 0 and len(track.samples) >= 7  # two samples a second over 4 s
    xs = [s.box.cx for s in track.samples]
    assert all(b > a_ for a_, b in zip(xs, xs[1:]))  # it moves right, sample after sample
    for s in track.samples:
        assert s.box.cx == pytest.approx((20 + 90 * s.time + face_dx) / 640, abs=0.03)
        assert s.box.cy == pytest.approx((60 + 117 * 240 / 256) / 360, abs=0.05)
    mid = track.box_at((track.samples[2].time + track.samples[3].time) / 2)
    assert mid is not None and track.samples[2].box.cx < mid.cx < track.samples[3].box.cx


def test_linking_keeps_two_faces_apart_and_ends_lost_tracks() -> None:
    def det(i, *boxes):
        return Detection(frame=i * 12, time=i * 0.5, faces=tuple((Box(*b), 0.99) for b in boxes))

    # two faces moving towards each other (never overlapping), one lost after sample 3
    dets = [det(i, (0.1 + 0.03 * i, 0.3, 0.1, 0.18), *([(0.7 - 0.03 * i, 0.3, 0.1, 0.18)] if i < 4 else []))
            for i in range(8)]
    dets.append(det(8, (0.34, 0.3, 0.1, 0.18), (0.75, 0.6, 0.1, 0.18)))  # a new face, far from the lost one's path
    tracks = link_tracks(dets, shot=3)
    assert [len(t.samples) for t in tracks] == [9, 4]
    assert all(t.shot == 3 for t in tracks)
    assert [t.track for t in tracks] == [0, 1]
    left, right = tracks
    assert all(s.box.x < 0.6 for s in left.samples) and all(s.box.x > 0.55 for s in right.samples)


# -- 6. storage -------------------------------------------------------------------------------


def test_round_trip_through_the_catalog(tmp_path: Path, moving_face) -> None:
    from workbench.catalog import add_asset_if_absent, create_title, load_analysis, open_catalog, params_hash, save_analysis

    path = tmp_path / "all.mp4"
    # a fade (transitions with times and colour), a face (a track), clicks (beats, energy)
    ffmpeg("-i", str(moving_face[0]), "-f", "lavfi", "-i", CLICKS, "-filter_complex",
           "[0:v]split[x][y];[x]trim=end=2.6,fade=t=out:st=2.0:d=0.5[a];"
           "[y]trim=start=2.6,setpts=PTS-STARTPTS,fade=t=in:st=0.1:d=0.5[b];[a][b]concat=n=2:v=1:a=0[v]",
           "-map", "[v]", "-map", "1:a", "-t", "4", *X264, "-c:a", "aac", str(path))
    a = run(path)
    assert {"fade_out", "fade_in"} <= set(kinds(a)) and a.face_tracks and a.audio.beats and a.audio.energy_db
    catalog = open_catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    try:
        with catalog.session() as session:
            asset = add_asset_if_absent(session, sha256=a.source_sha256.ljust(64, "0")[:64], kind="video",
                                        mime="video/mp4", ext=".mp4", size_bytes=1)
            save_analysis(session, create_title(session, "Round trip", asset), a)
        with catalog.session() as session:
            loaded = load_analysis(session, a.source_sha256, a.analyzer_version, params_hash(a.params))
    finally:
        catalog.close()
    assert loaded == a
    assert Analysis.from_dict(a.to_dict()) == a


def test_old_analysis_dicts_still_load() -> None:
    """An analysis stored before 1.2 has no signals: it loads with empty ones."""
    a = Analysis(source_sha256="x", fps=25.0, frame_count=1, width=64, height=64, duration=0.04, shots=[],
                 keyframes=[], transitions=[], has_audio=False,
                 face_tracks=(FaceTrack(0, 0, (TrackSample(0.0, Box(0.1, 0.1, 0.2, 0.2), 0.9),)),))
    data = a.to_dict()
    for key in ("video_start", "audio", "face_tracks"):
        data.pop(key)
    old = Analysis.from_dict(data)
    assert old.video_start == 0.0 and old.audio.speech == () and old.face_tracks == ()
    assert Analysis.from_dict(a.to_dict()).face_tracks[0].box_at(0.1) == Box(0.1, 0.1, 0.2, 0.2)
    assert Span(1.0, 2.0).contains(1.0) and not Span(1.0, 2.0).contains(2.0)


def test_measure_audio_is_one_pass_of_everything() -> None:
    path = shared_media("bigbuckbunny.mp4")  # 5.1 AAC
    m = measure_audio(path)
    assert m is not None and m.loudness.meter.channels == 5  # LFE left out
    assert m.speech_probs is not None and m.speech_probs.size == math.ceil(m.speech_samples / 512)
    assert m.onset_envelope is not None and m.onset_envelope.size == 1 + m.speech_samples // 160
    assert set(m.timings) == {"speech_s", "rhythm_s"}
