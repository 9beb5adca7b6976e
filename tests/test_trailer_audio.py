"""The trailer's audio mix: sources made with ffmpeg (lavfi), loudness checked independently with
ffmpeg's own ``ebur128=peak=true`` meter on the written WAV."""

from __future__ import annotations

import re
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

from generators.trailers import audio as trailer_audio
from generators.trailers.audio import (
    AAC_MARGIN_DB,
    RATE,
    AudioReport,
    Cancelled,
    assemble,
    duck_envelope,
    mix,
    record_speech,
    total_samples,
    true_peak_db,
)
from generators.trailers.timeline import Card, Clip, MusicBed, Timeline
from tests.conftest import FFMPEG, ffmpeg, shared_media
from workbench.errors import InvalidInput
from workbench.media.source import open_local

FPS = Fraction(25)
STEPPED_TONE = "0.5*sin(2*PI*(300+40*floor(t))*t)"  # frequency steps every second


def stepped_tone(t: np.ndarray) -> np.ndarray:
    return 0.5 * np.sin(2 * np.pi * (300 + 40 * np.floor(t)) * t)


# -- helpers ------------------------------------------------------------------------------------


def ebur128(path: Path) -> tuple[float, float]:
    """(integrated LUFS, true peak dBFS) as ffmpeg's ebur128 filter measures ``path``."""
    proc = subprocess.run(
        [FFMPEG, "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128=peak=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    summary = proc.stderr[proc.stderr.rindex("Summary:") :]
    integrated = float(re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1))
    return integrated, peak


def read_wav(path: Path) -> np.ndarray:
    rate, data = wavfile.read(path)
    assert rate == RATE and data.dtype == np.float32 and data.ndim == 2 and data.shape[1] == 2
    return data.T


def bounds(timeline: Timeline) -> list[tuple[int, int]]:
    fps = Fraction(timeline.fps)
    return [
        (round(s * RATE / fps), round((s + it.frames) * RATE / fps))
        for s, it in zip(timeline.record_starts(), timeline.items)
    ]


def video_start(path: Path) -> float:
    with open_local(path) as container:
        return float(next(container.decode(video=0)).time)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def timeline(items, **kw) -> Timeline:
    return Timeline(width=320, height=180, fps=kw.pop("fps", FPS), items=tuple(items), **kw)


def clips_of(source_ins, frames=40):
    return [Clip(shot=i, source_in=t, frames=frames) for i, t in enumerate(source_ins)]


VIDEO = ["-f", "lavfi", "-i", "testsrc=size=160x90:rate=25:d=14"]
H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("trailer-audio")
    f = {name: d / name for name in (
        "ramp_early.mov", "ramp_late.mov", "tones_44k.mov", "tones.mov", "pink.mp4", "peaky.mov",
        "mono.mov", "surround.mov", "silent.mp4", "music.mp3", "music.wav", "not_audio.mp3",
        "trunc.mp3", "trunc.wav",
    )}
    # audio = its own time / 100 (lossless float): a sample's value says where it came from.
    # early: the video starts 0.84 s after the audio (as short_hamilton_clip.mp4 does)
    ffmpeg("-itsoffset", "0.84", *VIDEO, "-f", "lavfi", "-i", "aevalsrc=t/100|t/100:s=48000:d=15",
           *H264, "-c:a", "pcm_f32le", str(f["ramp_early.mov"]))
    # late: the audio starts 0.5 s after the video
    ffmpeg(*VIDEO, "-itsoffset", "0.5", "-f", "lavfi", "-i", "aevalsrc=t/100|t/100:s=48000:d=14",
           *H264, "-c:a", "pcm_f32le", str(f["ramp_late.mov"]))
    ffmpeg(*VIDEO, "-f", "lavfi", "-i", f"aevalsrc={STEPPED_TONE}:s=44100:d=14",
           *H264, "-c:a", "pcm_f32le", str(f["tones_44k.mov"]))
    # a tone whose frequency changes every second: phases never line up across an edit
    ffmpeg(*VIDEO, "-f", "lavfi", "-i", f"aevalsrc={STEPPED_TONE}:s=48000:d=14:c=stereo",
           *H264, "-c:a", "pcm_f32le", str(f["tones.mov"]))
    # pink noise, AAC, quiet (about -33 LUFS): the mix must bring it up
    ffmpeg(*VIDEO, "-f", "lavfi", "-i", "anoisesrc=color=pink:amplitude=0.05:sample_rate=48000:seed=7",
           "-t", "14", *H264, "-c:a", "aac", "-b:a", "160k", "-ac", "2", str(f["pink.mp4"]))
    # quiet noise with loud clicks: reaching -14 LUFS needs the limiter
    ffmpeg(*VIDEO, "-f", "lavfi", "-i",
           "aevalsrc=0.03*(random(0)*2-1)+if(lt(mod(t\\,0.5)\\,0.002)\\,0.9\\,0)*sin(2*PI*3000*t):s=48000:d=14",
           *H264, "-c:a", "pcm_f32le", str(f["peaky.mov"]))
    ffmpeg(*VIDEO, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=14",
           *H264, "-c:a", "pcm_f32le", str(f["mono.mov"]))
    # 5.1: FL 440 Hz, FC 660 Hz, a loud LFE, the rest silent
    five = "0.2*sin(2*PI*440*t)|0|0.2*sin(2*PI*660*t)|0.8*sin(2*PI*50*t)|0|0"
    ffmpeg(*VIDEO, "-f", "lavfi", "-i", f"aevalsrc={five}:c=5.1:s=48000:d=14",
           *H264, "-c:a", "pcm_f32le", str(f["surround.mov"]))
    ffmpeg(*VIDEO, *H264, str(f["silent.mp4"]))
    # music: two tones, 40 s (longer than any trailer here), as MP3 and WAV
    music_src = ["-f", "lavfi", "-i", "aevalsrc=0.3*sin(2*PI*220*t)|0.3*sin(2*PI*330*t):s=44100:d=40"]
    ffmpeg(*music_src, "-c:a", "libmp3lame", "-b:a", "128k", str(f["music.mp3"]))
    ffmpeg(*music_src, "-c:a", "pcm_s16le", str(f["music.wav"]))
    f["not_audio.mp3"].write_text("this is a text file, not an mp3\n")
    data = f["music.mp3"].read_bytes()
    f["trunc.mp3"].write_bytes(data[: len(data) // 4])
    data = f["music.wav"].read_bytes()
    f["trunc.wav"].write_bytes(data[: len(data) // 4])
    return f


# -- where each clip's audio comes from ---------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "offset"),
    [("ramp_early.mov", 0.0), ("ramp_late.mov", 0.5)],
    ids=["audio-before-video", "audio-after-video"],
)
def test_each_clip_takes_exactly_its_source_span(media, name, offset):
    """Every record sample of a clip holds the source sample at video_start + source_in + its
    offset into the clip (to a twentieth of a sample), whichever stream starts first."""
    path = media[name]
    vs = video_start(path)
    items = [Card("title", 10, "T"), *clips_of([5.0, 1.0, 0.0, 9.52, 5.2], frames=30)]
    tl = timeline(items, video_start=vs)
    samples = assemble(tl, path).samples
    for item, (a, b) in zip(items, bounds(tl)):
        if isinstance(item, Card):
            assert not np.any(samples[:, a : b - 240]), "a card is silent"
            continue
        j = np.arange(a + 600, b - 600)  # away from the crossfades
        source_time = vs + item.source_in + (j - a) / RATE
        expected = np.where(source_time >= offset, (source_time - offset) / 100, 0.0)
        err_samples = np.abs(samples[0, j] - expected) * 100 * RATE
        assert err_samples.max() < 0.05, (item.source_in, err_samples.max())
        assert np.array_equal(samples[0, j], samples[1, j])


def test_resampled_source_lands_on_the_same_clock(media):
    """A 44.1 kHz mono source is resampled in place: each clip matches the tone it was made
    from (upmixed: 0.707 each side), evaluated at the expected source times, best at lag 0 and
    within half a sample (the 48 kHz grid starts on a 44.1 kHz sample: a 10 us rounding)."""
    path = media["tones_44k.mov"]
    tl = timeline(clips_of([6.1, 2.1, 11.1], frames=20), video_start=video_start(path))
    samples = assemble(tl, path).samples.astype(np.float64)
    for item, (a, b) in zip(tl.items, bounds(tl)):
        j = np.arange(a + 600, b - 600)
        t = tl.video_start + item.source_in + (j - a) / RATE

        def residual(lag: int, j=j, t=t) -> float:
            return float(np.abs(samples[0, j] - np.sqrt(0.5) * stepped_tone(t + lag / RATE)).max())

        scores = {lag: residual(lag) for lag in range(-4, 5)}
        assert min(scores, key=scores.get) == 0, scores
        # a half-sample shift of a 0.35-amplitude 740 Hz tone leaves 0.017
        assert scores[0] < 0.017, scores[0]


def test_real_aac_title_with_late_video_is_aligned():
    """short_hamilton_clip.mp4: the video starts 0.85 s after the audio. Each clip matches a
    plain decode of the whole track, shifted by video_start + source_in, at lag 0."""
    import av

    path = shared_media("short_hamilton_clip.mp4")
    vs = video_start(path)
    assert vs > 0.8
    with open_local(path) as container:
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=RATE)
        chunks, first = [], None
        for frame in container.decode(audio=0):
            first = float(frame.pts * frame.time_base) if first is None else first
            chunks += [f.to_ndarray() for f in resampler.resample(frame)]
        chunks += [f.to_ndarray() for f in resampler.resample(None)]
    reference = np.concatenate(chunks, axis=1).astype(np.float64)
    fps = Fraction(30000, 1001)
    tl = timeline(clips_of([5.0, 1.0, 7.2], frames=45), fps=fps, video_start=vs)
    samples = assemble(tl, path).samples
    for item, (a, b) in zip(tl.items, bounds(tl)):
        seg = samples[0, a + 1000 : b - 1000].astype(np.float64)
        i0 = round((vs + item.source_in - first) * RATE) + 1000

        def corr(lag: int, seg=seg, i0=i0) -> float:
            ref = reference[0, i0 + lag : i0 + lag + seg.size]
            return float(seg @ ref / np.sqrt((seg @ seg) * (ref @ ref)))

        scores = {lag: corr(lag) for lag in range(-8, 9)}
        assert max(scores, key=scores.get) == 0, scores
        assert scores[0] > 0.999


# -- edits, length, channels --------------------------------------------------------------------


def test_edits_are_crossfaded_without_clicks(media):
    """Across every edit the sample-to-sample step stays that of a clean tone; a hard cut (no
    crossfade) between the same clips jumps by far more."""
    path = media["tones.mov"]
    ins = [0.31, 7.77, 3.13, 11.5, 5.05]
    smooth = assemble(timeline(clips_of(ins, frames=23)), path).samples[0]
    hard = assemble(timeline(clips_of(ins, frames=23), crossfade_s=0.0), path).samples[0]
    # a 0.5-amplitude tone of at most 860 Hz steps by at most 2*pi*860*0.5/48000 = 0.056 a sample
    clean_step = 2 * np.pi * 860 * 0.5 / RATE
    tl = timeline(clips_of(ins, frames=23))
    hard_jumps = []
    for _, (a, _b) in list(zip(tl.items, bounds(tl)))[1:]:
        window = slice(a - 400, a + 400)
        assert np.abs(np.diff(smooth[window])).max() < 1.6 * clean_step
        hard_jumps.append(np.abs(np.diff(hard[window])).max())
    assert max(hard_jumps) > 3 * clean_step
    # the trailer starts and ends at zero
    assert abs(smooth[0]) < 0.01 and abs(smooth[-1]) < 0.01


def test_crossfade_is_equal_power(media):
    """Across an edit the outgoing clip runs on under cos and the incoming one comes in under
    sin (so cos^2 + sin^2 = 1): checked sample by sample on the ramp source, where each side's
    value is known."""
    path = media["ramp_early.mov"]
    vs = video_start(path)
    tl = timeline(clips_of([2.0, 8.0], frames=50), video_start=vs)
    samples = assemble(tl, path).samples[0].astype(np.float64)
    (a0, edit), _ = bounds(tl)
    xf = round(tl.crossfade_s * RATE)
    k = np.arange(xf)
    p = edit - xf // 2 + k  # record samples of the crossfade
    out_value = (vs + 2.0 + (p - a0) / RATE) / 100  # the first clip running on
    in_value = (vs + 8.0 + (p - edit) / RATE) / 100  # the second clip's handle
    theta = 0.5 * np.pi * (k + 0.5) / xf
    expected = out_value * np.cos(theta) + in_value * np.sin(theta)
    assert np.abs(samples[p] - expected).max() < 1e-6


def test_a_shot_split_at_an_edit_plays_on_unchanged(media):
    """Two clips where the second starts in the source where the first ends: the crossfade is
    equal-gain, so the audio across the edit is the source itself (no 3 dB bump)."""
    path = media["ramp_early.mov"]
    vs = video_start(path)
    tl = timeline([Clip(0, 2.0, 25), Clip(1, 3.0, 25)], video_start=vs)
    samples = assemble(tl, path).samples[0].astype(np.float64)
    (a0, edit), _ = bounds(tl)
    p = np.arange(edit - 1000, edit + 1000)
    expected = (vs + 2.0 + (p - a0) / RATE) / 100
    assert np.abs(samples[p] - expected).max() < 1e-6


@pytest.mark.parametrize("fps", [Fraction(25), Fraction(24), Fraction(30000, 1001), Fraction(60)])
def test_wav_is_exactly_the_timeline_long(media, tmp_path, fps):
    items = [Card("title", 37, "T"), *clips_of([1.0, 4.0, 2.5], frames=41), Card("end", 29, "E")]
    tl = timeline(items, fps=fps)
    report = mix(tl, media["pink.mp4"], tmp_path / "a.wav")
    data = read_wav(tmp_path / "a.wav")
    assert data.shape[1] == report.samples == round(tl.frames * RATE / fps) == total_samples(tl)
    assert report.rate == RATE and report.channels == 2


def test_mono_is_upmixed_to_both_sides(media):
    samples = assemble(timeline(clips_of([2.0], frames=50)), media["mono.mov"]).samples
    assert np.abs(samples[0]).max() > 0.05
    assert np.array_equal(samples[0], samples[1])


def test_surround_is_downmixed_without_the_lfe(media):
    """5.1 with a front-left tone, a centre tone and a loud LFE: left gets FL + 0.707 FC, right
    0.707 FC, and neither carries the 50 Hz LFE."""
    samples = assemble(timeline(clips_of([2.0], frames=50)), media["surround.mov"]).samples.astype(np.float64)
    left, right = samples[:, 2000:-2000]
    n = np.arange(left.size)

    def at(x, hz):  # amplitude of the hz component (projection on the exact frequency)
        return abs(np.sum(x * np.exp(-2j * np.pi * hz * n / RATE))) * 2 / x.size

    assert at(left, 440) == pytest.approx(0.2, rel=0.02)
    assert at(right, 440) < 0.002
    assert at(left, 660) == pytest.approx(0.2 * 0.7071, rel=0.02)
    assert at(right, 660) == pytest.approx(0.2 * 0.7071, rel=0.02)
    assert at(left, 50) < 0.002 and at(right, 50) < 0.002


def test_bigbuckbunny_surround_aac_mixes_to_target(tmp_path):
    path = shared_media("bigbuckbunny.mp4")
    tl = timeline(clips_of([0.4, 3.0, 1.5], frames=30), video_start=video_start(path))
    report = mix(tl, path, tmp_path / "bbb.wav")
    integrated, peak = ebur128(tmp_path / "bbb.wav")
    assert report.source_audio
    assert integrated == pytest.approx(-23.0, abs=0.5)
    assert peak <= -1.0


# -- loudness -----------------------------------------------------------------------------------


def test_quiet_source_is_normalised_to_target(media, tmp_path):
    items = [Card("title", 50, "T"), *clips_of([0.5, 6.0, 2.0, 9.0, 4.0, 11.0], frames=60), Card("end", 62, "E")]
    tl = timeline(items)
    report = mix(tl, media["pink.mp4"], tmp_path / "pink.wav")
    integrated, peak = ebur128(tmp_path / "pink.wav")
    assert integrated == pytest.approx(tl.loudness_lufs, abs=0.5)
    assert peak <= tl.true_peak_db
    assert report.integrated_lufs == pytest.approx(integrated, abs=0.2)
    assert report.gain_db > 5  # it was brought up
    assert not report.limited and not report.silent and report.source_audio


@pytest.mark.parametrize(("target", "ceiling"), [(-14.0, -1.0), (-24.0, -2.0)])
def test_peaky_source_is_limited_to_the_true_peak_ceiling(media, tmp_path, target, ceiling):
    """Quiet noise with 0.9 clicks: gaining it to the target would put the clicks far over the
    ceiling; the look-ahead limiter holds them, and the loudness still lands on target."""
    tl = timeline(clips_of([0.5, 6.0, 2.0, 9.0, 4.0], frames=75), loudness_lufs=target, true_peak_db=ceiling)
    report = mix(tl, media["peaky.mov"], tmp_path / "peaky.wav")
    integrated, peak = ebur128(tmp_path / "peaky.wav")
    assert report.limited and report.limiter_max_reduction_db > 1
    assert integrated == pytest.approx(target, abs=0.5)
    assert peak <= ceiling
    assert report.true_peak_db <= ceiling - AAC_MARGIN_DB + 0.01
    # our own true peak agrees with ffmpeg's within a few tenths
    assert report.true_peak_db == pytest.approx(peak, abs=0.3)


def test_limiter_gain_is_smooth():
    """The limiter's gain never steps: no more than 0.25 dB between neighbouring samples."""
    rng = np.random.default_rng(3)
    x = np.vstack([0.05 * rng.standard_normal(RATE * 2)] * 2)
    x[:, RATE // 2 : RATE // 2 + 50] = 0.95
    x[:, RATE : RATE + 3] = -1.0
    gain = trailer_audio.limiter_gain_db(x * 4, -1.5)
    assert gain.min() < -10
    assert np.abs(np.diff(gain)).max() < 0.25
    y = x * 4 * 10 ** (gain / 20)
    assert true_peak_db(y) <= -1.5 + 0.05


def test_true_peak_sees_intersample_peaks():
    """A full-scale sine at fs/4 sampled at 45 degrees has sample peaks of 0.707 and a true
    peak of 0 dBTP: the 4x oversampled meter sees it."""
    n = np.arange(RATE)
    x = np.sin(2 * np.pi * (RATE / 4) * n / RATE + np.pi / 4)
    stereo = np.vstack([x, x])
    assert 20 * np.log10(np.abs(stereo).max()) == pytest.approx(-3.01, abs=0.05)
    assert true_peak_db(stereo) == pytest.approx(0.0, abs=0.3)


# -- no audio, silence --------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["no-stream", "no-source"])
def test_title_without_audio_gives_a_silent_bed(media, tmp_path, which):
    source = media["silent.mp4"] if which == "no-stream" else None
    tl = timeline([Card("title", 25, "T"), *clips_of([1.0, 3.0], frames=30)])
    report = mix(tl, source, tmp_path / "s.wav")
    data = read_wav(tmp_path / "s.wav")
    assert not report.source_audio and report.silent and not report.music_used
    assert report.integrated_lufs is None and report.true_peak_db is None and report.gain_db == 0.0
    assert data.shape[1] == total_samples(tl) and not np.any(data)
    assert any("silent" in w for w in report.warnings)


def test_cards_only_is_silent(media, tmp_path):
    tl = timeline([Card("title", 50, "T"), Card("end", 50, "E")])
    report = mix(tl, media["pink.mp4"], tmp_path / "c.wav")
    assert report.silent and report.source_audio
    assert not np.any(read_wav(tmp_path / "c.wav"))


# -- music --------------------------------------------------------------------------------------


def test_speech_is_mapped_through_the_clips():
    """Speech at 10.2..11.0 s of the analysis clock is heard where the clip showing 10..12 s
    plays (after a 1 s card and a 2 s clip), not at 10.2 s of the trailer; speech outside
    every clip is not heard at all."""
    items = [Card("title", 25, "T"), Clip(0, 3.0, 50), Clip(1, 10.0, 50), Clip(2, 20.0, 25)]
    tl = timeline(items, speech=((10.2, 11.0), (2.0, 3.5), (21.0, 40.0)))
    spans = record_speech(tl)
    assert len(spans) == 2
    assert spans[0] == pytest.approx((1.0, 1.5))  # 3.0..3.5 of the first clip
    assert spans[1] == pytest.approx((3.2, 4.0))  # 10.2..11.0 of the second


def test_speech_across_an_edit_is_one_span():
    items = [Clip(0, 3.0, 25), Clip(1, 4.0, 25)]  # the source runs on across the edit
    assert record_speech(timeline(items, speech=((3.5, 4.5),))) == [pytest.approx((0.5, 1.5))]


def test_duck_envelope_is_smooth_and_deep_enough():
    env = duck_envelope(RATE * 4, [(1.0, 2.0)], -12.0)
    assert env[int(0.5 * RATE)] == 0.0
    assert env[int(1.0 * RATE) : int(2.0 * RATE)].max() == pytest.approx(-12.0)
    assert env[int(0.9 * RATE) - 10] > -0.1  # attack starts 100 ms ahead
    assert env[int(2.3 * RATE) + 10] > -0.1  # release over 300 ms
    assert np.abs(np.diff(env)).max() < 12.0 / (0.1 * RATE) * 2


def test_music_bed_is_ducked_under_speech_and_faded(media, tmp_path):
    """A silent title with a music bed: the music is at -12 dB under the (mapped) speech,
    smooth in and out, faded at both ends; loudness still lands on target."""
    items = [Card("title", 50, "T"), Clip(0, 3.0, 100), Clip(1, 10.0, 100), Card("end", 50, "E")]
    tl = timeline(items, music=MusicBed(str(media["music.mp3"]), "x", start=5.0), speech=((10.5, 11.5),))
    report = mix(tl, media["silent.mp4"], tmp_path / "m.wav")
    data = read_wav(tmp_path / "m.wav").astype(np.float64)
    assert report.music_used and not report.source_audio and report.ducked_s == pytest.approx(1.0)
    integrated, peak = ebur128(tmp_path / "m.wav")
    assert integrated == pytest.approx(-23.0, abs=0.5) and peak <= -1.0

    def rms_db(t0, t1):
        seg = data[:, int(t0 * RATE) : int(t1 * RATE)]
        return 10 * np.log10(np.mean(seg ** 2))

    # speech 10.5..11.5 (analysis) is record 6.5..7.5 (2 s card + clip, 4 s first clip: 2+4+0.5)
    ducked, open_ = rms_db(6.6, 7.4), rms_db(4.0, 5.5)
    assert ducked - open_ == pytest.approx(-12.0, abs=0.5)
    # smooth: 20 ms RMS steps through the attack and release never jump (a hard duck would: 12 dB)
    levels = [rms_db(t, t + 0.02) for t in np.arange(6.2, 8.0, 0.02)]
    assert np.abs(np.diff(levels)).max() < 5.0  # a raised-cosine 12 dB over 100 ms: under 4 dB a step
    # fades: near silence at the very ends, full level 1 s in
    assert rms_db(0.0, 0.02) < open_ - 20 and rms_db(data.shape[1] / RATE - 0.02, data.shape[1] / RATE) < open_ - 20


def test_music_sits_relative_to_the_dialogue(media):
    """Before normalisation the music bed plays gain_db LU under the dialogue's loudness."""
    from generators.trailers.audio import integrated_loudness

    clips = clips_of([1.0, 6.0, 2.0], frames=100)
    with_music = timeline(clips, music=MusicBed(str(media["music.wav"]), "x", gain_db=-8.0))
    dialogue_only = assemble(timeline(clips), media["pink.mp4"]).samples
    both = assemble(with_music, media["pink.mp4"]).samples
    music_alone = both - dialogue_only
    a, b = RATE, both.shape[1] - 2 * RATE  # away from the fades
    assert integrated_loudness(music_alone[:, a:b]) == pytest.approx(integrated_loudness(dialogue_only) - 8.0, abs=0.5)


@pytest.mark.parametrize(
    ("name", "words"),
    [("not_audio.mp3", "not a readable audio file"), ("trunc.mp3", "truncated"), ("trunc.wav", "truncated"),
     ("silent.mp4", "no audio stream")],
)
def test_bad_music_is_refused_in_one_line(media, tmp_path, name, words):
    tl = timeline(clips_of([1.0, 2.0], frames=50), music=MusicBed(str(media[name]), "x"))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(InvalidInput, match=words) as err:
        mix(tl, media["pink.mp4"], out / "bad.wav")
    assert "\n" not in str(err.value) and name in str(err.value)
    assert leftovers(out) == []


def test_truncation_past_what_is_used_is_still_found(media):
    """A 4 s trailer uses the first 4 s of a 40 s MP3 cut to a quarter: still refused."""
    tl = timeline(clips_of([1.0], frames=100), music=MusicBed(str(media["trunc.mp3"]), "x"))
    with pytest.raises(InvalidInput, match="truncated"):
        assemble(tl, media["pink.mp4"])


def test_music_start_beyond_its_end_is_refused(media):
    tl = timeline(clips_of([1.0], frames=50), music=MusicBed(str(media["music.wav"]), "x", start=60.0))
    with pytest.raises(InvalidInput, match="40.00 s long"):
        assemble(tl, None)


# -- inputs, cancellation, failures -------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"fps": Fraction(0)}, "fps"),
        ({"items": (Clip(0, -1.0, 10),)}, "source_in"),
        ({"items": (Clip(0, 1.0, 0),)}, "frames"),
        ({"items": ()}, "no items"),
        ({"loudness_lufs": 3.0}, "loudness_lufs"),
        ({"true_peak_db": 2.0}, "true_peak_db"),
        ({"speech": ((3.0, 1.0),)}, "speech"),
        ({"music": MusicBed("/nonexistent/song.mp3", "x")}, "no such file"),
    ],
)
def test_bad_timelines_fail_fast(media, tmp_path, change, words):
    base = {"width": 320, "height": 180, "fps": FPS, "items": tuple(clips_of([1.0]))}
    tl = Timeline(**{**base, **change})
    with pytest.raises(InvalidInput, match=words):
        mix(tl, media["pink.mp4"], tmp_path / "x.wav")
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("when", ["first", "between-clips", "last"])
def test_cancel_leaves_nothing(media, tmp_path, when):
    """cancel() is polled before the first clip, between clips, and a last time after the WAV
    is written but before it is renamed: whenever it says stop, nothing is left."""
    tl = timeline(clips_of([0.5, 6.0, 2.0, 9.0, 4.0], frames=30))
    polls: list[int] = []
    mix(tl, media["pink.mp4"], tmp_path / "count.wav", cancel=lambda: polls.append(1) is None and False)
    (tmp_path / "count.wav").unlink()
    assert len(polls) > 6  # at least one per clip
    stop_at = {"first": 1, "between-clips": 4, "last": len(polls)}[when]
    calls: list[int] = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) >= stop_at

    with pytest.raises(Cancelled):
        mix(tl, media["pink.mp4"], tmp_path / "a.wav", cancel=cancel)
    assert leftovers(tmp_path) == []


def test_failed_write_leaves_nothing(media, tmp_path, monkeypatch):
    def broken(path, rate, data):
        Path(path).write_bytes(b"RIFF partial")
        raise OSError("disk full")

    monkeypatch.setattr(trailer_audio.wavfile, "write", broken)
    with pytest.raises(OSError, match="disk full"):
        mix(timeline(clips_of([1.0])), media["pink.mp4"], tmp_path / "a.wav")
    assert leftovers(tmp_path) == []


def test_existing_destination_is_replaced_whole(media, tmp_path):
    dest = tmp_path / "a.wav"
    dest.write_bytes(b"old")
    report = mix(timeline(clips_of([1.0])), media["pink.mp4"], dest)
    assert isinstance(report, AudioReport) and report.path == dest
    assert read_wav(dest).shape[1] == report.samples
    assert leftovers(tmp_path) == ["a.wav"]
    assert report.to_dict()["path"] == str(dest)
