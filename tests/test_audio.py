"""Per-shot loudness: files made with ffmpeg at known levels, checked against pyloudnorm."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pyloudnorm
import pytest

from workbench.analysis.audio import (
    LOUDNESS_RATE,
    LoudnessMeter,
    decode_mono,
    has_audio,
    k_weighting_sos,
    measure_loudness,
    shot_loudness,
)
from workbench.errors import InvalidInput

MEDIA = Path(__file__).resolve().parents[1].parent / "shared" / "media"
RATE = 48_000
TOLERANCE_LU = 0.5
# amplitude 0.1 is -20 dBFS peak; amplitude 0.01 is -40 dBFS peak
SINE = "sin(2*PI*{f}*t)"


def _ffmpeg() -> str:
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    return imageio_ffmpeg.get_ffmpeg_exe()


def _run_ffmpeg(*args: str) -> None:
    subprocess.run([_ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * RATE)) / RATE


def _sine(freq: float, seconds: float) -> np.ndarray:
    return np.sin(2 * np.pi * freq * _t(seconds))


def _reference(signal: np.ndarray, t0: float, t1: float) -> float:
    """pyloudnorm on the raw signal (samples x channels, or 1-D) between t0 and t1 seconds."""
    part = signal[int(round(t0 * RATE)) : int(round(t1 * RATE))]
    return pyloudnorm.Meter(RATE).integrated_loudness(part)


def _stream_start(path: Path) -> float:
    """Presentation time of the first video frame, as the analysis pipeline knows it."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return float(frame.time)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("audio")
    files = {name: out / name for name in ("mono.wav", "stereo.wav", "surround.mp4", "video_late.mp4", "audio_late.mp4", "silent_video.mp4")}
    # mono: 1 s at -20 dBFS, 1 s at -40 dBFS, 1 s of silence (lossless float WAV)
    _run_ffmpeg(
        "-f", "lavfi", "-i", f"aevalsrc=if(lt(t\\,1)\\,0.1\\,if(lt(t\\,2)\\,0.01\\,0))*{SINE.format(f=440)}:s={RATE}:d=3",
        "-c:a", "pcm_f32le", str(files["mono.wav"]),
    )
    # stereo: different tones and levels left and right
    _run_ffmpeg(
        "-f", "lavfi", "-i", f"aevalsrc=0.1*{SINE.format(f=440)}|0.05*{SINE.format(f=1000)}:c=stereo:s={RATE}:d=2",
        "-c:a", "pcm_f32le", str(files["stereo.wav"]),
    )
    # 5.1 AAC with a video track: FL FR FC LFE BL BR, 20 dB quieter after 1 s; the loud LFE must not count
    step = "if(lt(t\\,1)\\,1\\,0.1)"
    channels = [
        f"0.1*{step}*{SINE.format(f=440)}", f"0.1*{step}*{SINE.format(f=440)}", f"0.05*{step}*{SINE.format(f=660)}",
        f"0.3*{step}*{SINE.format(f=60)}", f"0.03*{step}*{SINE.format(f=880)}", f"0.03*{step}*{SINE.format(f=880)}",
    ]
    _run_ffmpeg(
        "-f", "lavfi", "-i", f"aevalsrc={'|'.join(channels)}:c=5.1:s={RATE}:d=2",
        "-f", "lavfi", "-i", "color=c=gray:s=64x64:r=25:d=2",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "384k", str(files["surround.mp4"]),
    )
    # video starts 1 s after the audio; audio is -40 dBFS for its first second, then -20 dBFS
    _run_ffmpeg(
        "-itsoffset", "1", "-f", "lavfi", "-i", "color=c=gray:s=64x64:r=25:d=2",
        "-f", "lavfi", "-i", f"aevalsrc=if(lt(t\\,1)\\,0.01\\,0.1)*{SINE.format(f=440)}:s={RATE}:d=3",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", str(files["video_late.mp4"]),
    )
    # audio starts 0.5 s after the video; audio is -20 dBFS for its first second, then -40 dBFS
    _run_ffmpeg(
        "-f", "lavfi", "-i", "color=c=gray:s=64x64:r=25:d=3",
        "-itsoffset", "0.5", "-f", "lavfi", "-i", f"aevalsrc=if(lt(t\\,1)\\,0.1\\,0.01)*{SINE.format(f=440)}:s={RATE}:d=2",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", str(files["audio_late.mp4"]),
    )
    _run_ffmpeg(
        "-f", "lavfi", "-i", "color=c=gray:s=64x64:r=25:d=2",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-an", str(files["silent_video.mp4"]),
    )
    return files


# --- the meter itself ------------------------------------------------------------------------


def test_k_weighting_matches_the_bs1770_coefficients_at_48k():
    sos = k_weighting_sos(48_000)
    np.testing.assert_allclose(sos[0, :3], [1.53512485958697, -2.69169618940638, 1.19839281085285], atol=1e-9)
    np.testing.assert_allclose(sos[0, 4:], [-1.69065929318241, 0.73248077421585], atol=1e-9)
    np.testing.assert_allclose(sos[1, :3], [1.0, -2.0, 1.0])
    np.testing.assert_allclose(sos[1, 4:], [-1.99004745483398, 0.99007225036621], atol=1e-9)


def _gated_noise() -> np.ndarray:
    """Noise at three levels (so both gates act), 9 s, seeded."""
    rng = np.random.default_rng(1770)
    levels = np.repeat([0.2, 0.02, 0.001], 3 * RATE)  # about -17, -37 and -63 dBFS RMS
    return rng.standard_normal(levels.size) * levels


def test_meter_matches_pyloudnorm_with_gating():
    signal = _gated_noise()
    meter = LoudnessMeter(RATE)
    meter.feed(signal)
    meter.finish()
    for t0, t1 in [(0, 9), (0, 3), (2, 5), (3, 9), (6, 9), (0.37, 2.91), (1.234, 8.5)]:
        assert meter.loudness(t0, t1) == pytest.approx(_reference(signal, t0, t1), abs=TOLERANCE_LU), (t0, t1)


def test_meter_gives_the_same_answer_whatever_the_chunk_sizes():
    signal = _gated_noise()
    whole = LoudnessMeter(RATE)
    whole.feed(signal)
    whole.finish()
    chunked = LoudnessMeter(RATE)
    rng = np.random.default_rng(0)
    start = 0
    while start < signal.size:
        size = int(rng.integers(1, 9000))
        chunked.feed(signal[start : start + size])
        start += size
    chunked.finish()
    np.testing.assert_allclose(chunked.sub_blocks(), whole.sub_blocks(), rtol=1e-9)
    assert chunked.loudness(1.0, 7.5) == pytest.approx(whole.loudness(1.0, 7.5), abs=1e-9)


def test_meter_memory_is_five_floats_per_100_ms():
    meter = LoudnessMeter(LOUDNESS_RATE, (1.0, 1.0))
    meter.feed(np.zeros((2, LOUDNESS_RATE * 60)))
    meter.finish()
    assert meter.sub_blocks().shape == (3000,)


def test_meter_silent_and_short_spans_are_none():
    meter = LoudnessMeter(RATE)
    meter.feed(np.concatenate([np.zeros(RATE), 0.1 * _sine(440, 1)]))
    meter.finish()
    assert meter.loudness(0.0, 1.0) is None  # digital silence: every block under -70 LUFS
    assert meter.loudness(1.0, 1.3) is None  # shorter than one 400 ms block
    assert meter.loudness(1.0, 2.0) == pytest.approx(-23.7, abs=0.2)


# --- files -------------------------------------------------------------------------------------


def test_mono_spans_match_pyloudnorm_and_show_the_20_db_step(media):
    signal = np.where(_t(3) < 1, 0.1, np.where(_t(3) < 2, 0.01, 0.0)) * _sine(440, 3)
    loud, quiet, silent = shot_loudness(media["mono.wav"], [(0, 1), (1, 2), (2, 3)], stream_start=0.0)
    assert loud == pytest.approx(_reference(signal, 0, 1), abs=TOLERANCE_LU)
    assert quiet == pytest.approx(_reference(signal, 1, 2), abs=TOLERANCE_LU)
    assert loud - quiet == pytest.approx(20.0, abs=TOLERANCE_LU)
    assert silent is None


def test_stereo_is_measured_per_channel_like_bs1770(media):
    signal = np.stack([0.1 * _sine(440, 2), 0.05 * _sine(1000, 2)], axis=1)
    (measured,) = shot_loudness(media["stereo.wav"], [(0, 2)], stream_start=0.0)
    assert measured == pytest.approx(_reference(signal, 0, 2), abs=TOLERANCE_LU)


def test_surround_weights_the_channels_and_ignores_lfe(media):
    step = np.where(_t(2) < 1, 1.0, 0.1)
    # pyloudnorm's channel order is L, R, C, Ls, Rs (no LFE)
    signal = np.stack(
        [0.1 * _sine(440, 2), 0.1 * _sine(440, 2), 0.05 * _sine(660, 2), 0.03 * _sine(880, 2), 0.03 * _sine(880, 2)],
        axis=1,
    ) * step[:, None]
    loud, quiet = shot_loudness(media["surround.mp4"], [(0, 1), (1, 2)], stream_start=_stream_start(media["surround.mp4"]))
    assert loud == pytest.approx(_reference(signal, 0, 1), abs=TOLERANCE_LU)
    assert quiet == pytest.approx(_reference(signal, 1, 2), abs=TOLERANCE_LU)
    assert loud - quiet == pytest.approx(20.0, abs=TOLERANCE_LU)


def test_video_starting_after_the_audio_is_aligned(media):
    path = media["video_late.mp4"]
    stream_start = _stream_start(path)
    assert stream_start == pytest.approx(1.0, abs=0.01)
    # shot [0, 1) of the video is audio [1, 2): the -20 dBFS part
    first, second = shot_loudness(path, [(0, 1), (1, 2)], stream_start=stream_start)
    assert first == pytest.approx(-23.7, abs=TOLERANCE_LU)
    assert second == pytest.approx(-23.7, abs=TOLERANCE_LU)
    # without the offset the first second would be the quiet part: the offset is what matters
    (unaligned,) = shot_loudness(path, [(0, 1)], stream_start=0.0)
    assert unaligned == pytest.approx(-43.7, abs=TOLERANCE_LU)


def test_audio_starting_after_the_video_is_aligned(media):
    path = media["audio_late.mp4"]
    stream_start = _stream_start(path)
    measured = measure_loudness(path)
    assert measured is not None and measured.start_time == pytest.approx(0.5, abs=0.03)
    before, loud, quiet = shot_loudness(path, [(0.0, 0.45), (0.5, 1.5), (1.5, 2.5)], stream_start=stream_start)
    assert before is None  # the video's first 0.45 s has no audio under it
    assert loud == pytest.approx(-23.7, abs=TOLERANCE_LU)
    assert quiet == pytest.approx(-43.7, abs=TOLERANCE_LU)  # the loud shot just before does not leak in
    assert measured.loudness(0.5, 1.5, stream_start=stream_start) == loud


def test_short_span_is_none(media):
    assert shot_loudness(media["mono.wav"], [(0.2, 0.55), (0.2, 0.6)], stream_start=0.0)[0] is None


def test_file_without_audio(media):
    path = media["silent_video.mp4"]
    assert has_audio(path) is False
    assert has_audio(media["surround.mp4"]) is True
    assert shot_loudness(path, [(0, 1), (1, 2)], stream_start=0.0) == [None, None]
    assert measure_loudness(path) is None
    with pytest.raises(InvalidInput, match="no audio stream"):
        decode_mono(path)


def test_decode_mono_downmixes_and_resamples(media):
    samples, start = decode_mono(media["stereo.wav"], 16_000)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert samples.size == pytest.approx(2 * 16_000, abs=64)
    assert start == pytest.approx(0.0)
    # 0.707 (L + R) of a 0.1 and a 0.05 sine of different frequencies: RMS = sqrt((0.1^2 + 0.05^2) / 4)
    assert float(np.sqrt(np.mean(samples[1000:-1000] ** 2))) == pytest.approx(np.sqrt((0.01 + 0.0025) / 4), rel=0.02)


def test_bad_inputs_fail_fast(media, tmp_path):
    with pytest.raises(InvalidInput, match="no such file"):
        shot_loudness(tmp_path / "missing.mp4", [(0, 1)], stream_start=0.0)
    with pytest.raises(InvalidInput, match="end >= start"):
        shot_loudness(media["mono.wav"], [(2, 1)], stream_start=0.0)
    not_media = tmp_path / "notes.mp4"
    not_media.write_text("not a video")
    with pytest.raises(InvalidInput, match="not a readable media file"):
        has_audio(not_media)


# --- shared test media -------------------------------------------------------------------------

needs_media = pytest.mark.skipif(not MEDIA.is_dir(), reason=f"shared test media not found at {MEDIA}")


def _native_audio(path: Path) -> tuple[np.ndarray, int, float, list[str]]:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        frames = list(container.decode(stream))
        data = np.concatenate([f.to_ndarray() for f in frames], axis=1).astype(np.float64)
        names = [ch.name for ch in stream.codec_context.layout.channels]
        return data, stream.rate, float(frames[0].time), names


@needs_media
@pytest.mark.shared_media
def test_synthetic_cuts_shots_have_the_same_loudness():
    path = MEDIA / "synthetic_cuts.mp4"
    values = shot_loudness(path, [(0, 3), (3, 6), (6, 9), (9, 12)], stream_start=_stream_start(path))
    data, rate, _, _ = _native_audio(path)
    expected = pyloudnorm.Meter(rate).integrated_loudness(data[0])
    assert all(v == pytest.approx(expected, abs=TOLERANCE_LU) for v in values), (values, expected)
    assert max(values) - min(values) < 0.2
    assert expected == pytest.approx(-23.7, abs=0.3)  # 0.1 peak sine (-19.6 dBFS measured peak)


@needs_media
@pytest.mark.shared_media
def test_hamilton_clip_offsets_are_handled():
    path = MEDIA / "short_hamilton_clip.mp4"
    stream_start = _stream_start(path)
    assert stream_start == pytest.approx(0.852, abs=0.001)
    shots = [(0.0, 0.667), (0.667, 2.736), (2.736, 7.040), (7.040, 9.176)]
    values = shot_loudness(path, shots, stream_start=stream_start)
    data, rate, audio_start, _ = _native_audio(path)
    meter = pyloudnorm.Meter(rate)
    for (t0, t1), value in zip(shots, values):
        a0 = int(round((t0 + stream_start - audio_start) * rate))
        a1 = int(round((t1 + stream_start - audio_start) * rate))
        expected = meter.integrated_loudness(data[:, a0:a1].T)
        assert value == pytest.approx(expected, abs=TOLERANCE_LU), ((t0, t1), value, expected)


@needs_media
@pytest.mark.shared_media
def test_bigbuckbunny_surround_matches_pyloudnorm_without_lfe():
    path = MEDIA / "bigbuckbunny.mp4"
    data, rate, _, names = _native_audio(path)
    assert names == ["FL", "FR", "FC", "LFE", "BL", "BR"]
    expected = pyloudnorm.Meter(rate).integrated_loudness(data[[0, 1, 2, 4, 5]].T)
    (value,) = shot_loudness(path, [(0.0, 5.28)], stream_start=_stream_start(path))
    assert value == pytest.approx(expected, abs=TOLERANCE_LU)
