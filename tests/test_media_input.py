"""Input media is read as itself and as it is displayed, and refused clearly.

One test (or parametrised family) per class of input bug; every input is made here (ffmpeg lavfi,
Pillow, a hand-built ICC profile). See workbench/media/source.py.
"""

from __future__ import annotations

import io
import os
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageDraw

from tests.conftest import FFMPEG, ffmpeg, lavfi_video
from workbench.analysis import audio as audio_mod
from workbench.analysis.decode import decode_video
from workbench.analysis.pipeline import AnalysisParams, analyze
from workbench.errors import AnalysisError, InvalidInput
from workbench.media import source
from workbench.media.frames import read_frames_rgb
from workbench.media.probe import MIN_SIDE, check_source_file, probe
from workbench.media.source import ffmpeg_input_args, load_still, local_url

RED, LIME, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)
# Two coloured corners tell every one of the eight turns/mirrors apart.
CORNERS = "color=c=black:size=320x180:rate=25,drawbox=x=0:y=0:w=80:h=60:color=red:t=fill,drawbox=x=240:y=0:w=80:h=60:color=lime:t=fill"


def corner_colour(rgb: np.ndarray, corner: str, frac: float = 0.08) -> tuple[int, int, int]:
    """Mean colour of a small patch inside the named corner (tl, tr, bl, br) of an RGB array."""
    h, w = rgb.shape[:2]
    ph, pw = max(2, int(h * frac)), max(2, int(w * frac))
    ys = slice(2, 2 + ph) if corner[0] == "t" else slice(h - 2 - ph, h - 2)
    xs = slice(2, 2 + pw) if corner[1] == "l" else slice(w - 2 - pw, w - 2)
    return tuple(int(v) for v in rgb[ys, xs].reshape(-1, 3).mean(axis=0))


def is_colour(got, want, tol: int = 40) -> bool:
    return all(abs(g - w) <= tol for g, w in zip(got, want))


def colour_at_corners(rgb: np.ndarray) -> dict[str, str]:
    names = {RED: "red", LIME: "lime", (0, 0, 0): "black"}
    out = {}
    for corner in ("tl", "tr", "bl", "br"):
        got = corner_colour(rgb, corner)
        out[corner] = next((n for c, n in names.items() if is_colour(got, c)), str(got))
    return out


def ffmpeg_rgb(path: Path, width: int, height: int) -> np.ndarray:
    """The first frame as ffmpeg's own player pipeline shows it (autorotate on), as RGB."""
    raw = subprocess.run(
        [FFMPEG, "-loglevel", "error", *ffmpeg_input_args(path), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3)


def mp4_of_still(dest: Path, still: Path, extra: tuple[str, ...] = (), pix_fmt: str = "yuv420p") -> Path:
    ffmpeg("-loop", "1", "-i", str(still), "-t", "1", "-r", "25", *extra, "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", pix_fmt, str(dest))
    return dest


# -- 1. local paths are files, never URLs -------------------------------------------------------


@pytest.mark.parametrize("rel", ["concat:x.mp4", "take2:final.mp4", "a:b.png", "season:2/clip.mp4", "season:2/a:b.png"])
def test_local_paths_with_colons_are_files_not_urls(tmp_path, monkeypatch, rel):
    monkeypatch.chdir(tmp_path)
    target = Path(rel)
    target.parent.mkdir(parents=True, exist_ok=True)
    # Decoys: what FFmpeg would read if the name were taken as a URL ("concat:x.mp4" -> x.mp4).
    for decoy in ("x.mp4", "final.mp4", "clip.mp4"):
        lavfi_video(tmp_path / decoy, "testsrc2=size=96x64:rate=25", 1)
    if target.suffix == ".png":
        Image.new("RGB", (200, 120), (30, 160, 90)).save(target)
        want = (200, 120, 1)
    else:
        # ffmpeg would take the name as a URL on output too: encode elsewhere, then rename
        os.replace(lavfi_video(tmp_path / "build.mp4", "testsrc2=size=160x96:rate=25", 2, audio=True), target)
        want = (160, 96, 50)
    for path in (target, target.resolve()):
        info = probe(path)
        assert (info.width, info.height, info.frame_count) == want
        analysis = analyze(path, info, "sha", AnalysisParams())
        assert (analysis.width, analysis.height, analysis.frame_count) == want
        [frame] = read_frames_rgb(path, [(0, None)]).values()
        assert frame.shape[:2] == (want[1], want[0])
        if info.kind == "video":
            assert info.has_audio and audio_mod.has_audio(path)
            assert audio_mod.measure_loudness(path) is not None
    # ffmpeg subprocesses read it as itself too
    args = ffmpeg_input_args(target)
    assert args[-2:] == ["-i", "file:" + str(target.resolve())] and args[:2] == ["-protocol_whitelist", "file"]
    rgb = ffmpeg_rgb(target, want[0], want[1])
    assert rgb.shape == (want[1], want[0], 3)


def test_a_workbench_home_with_a_colon_ingests_and_analyses(tmp_path, monkeypatch):
    from workbench import workflow
    from workbench.settings import reset_settings_cache

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WORKBENCH_HOME", "season:2")
    monkeypatch.delenv("WORKBENCH_DATABASE_URL", raising=False)
    reset_settings_cache()
    try:
        clip = tmp_path / "build.mp4"
        lavfi_video(clip, "testsrc2=size=160x96:rate=25", 2)
        os.replace(clip, tmp_path / "take2:final.mp4")
        ingested = workflow.ingest(Path("take2:final.mp4"), "Take Two")
        assert (ingested.info.width, ingested.info.height, ingested.info.frame_count) == (160, 96, 50)
        analyzed = workflow.analyze_title("Take Two")
        assert analyzed.analysis.frame_count == 50
    finally:
        reset_settings_cache()


def test_a_concat_name_is_the_file_itself_not_its_target(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lavfi_video(tmp_path / "good.mp4", "testsrc2=size=160x96:rate=25", 1, audio=True)
    # garbage that even looks like an mp4 to the magic-bytes check
    garbage = Path("concat:good.mp4")
    garbage.write_bytes(b"\x00\x00\x00\x18ftypisom" + os.urandom(4000))
    with pytest.raises(InvalidInput, match=r"^concat:good\.mp4: truncated or corrupt video"):
        probe(garbage)
    with pytest.raises(AnalysisError):
        next(iter(decode_video(garbage)))
    with pytest.raises(InvalidInput):
        read_frames_rgb(garbage, [(0, None)])
    with pytest.raises(InvalidInput):
        audio_mod.has_audio(garbage)
    subfile = Path("subfile,,start,0,end,0,,:good.mp4")
    subfile.write_bytes(garbage.read_bytes())
    with pytest.raises(InvalidInput, match="truncated or corrupt video"):
        probe(subfile)


@pytest.mark.parametrize("kind", ["hls", "ffconcat", "ffconcat-absolute"])
@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_playlists_and_references_to_other_files_are_refused(tmp_path, monkeypatch, kind, suffix):
    monkeypatch.chdir(tmp_path)
    good = lavfi_video(tmp_path / "good.mp4", "testsrc2=size=160x96:rate=25", 1, audio=True)
    text = {
        "hls": f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nfile:{good}\n#EXTINF:1.0,\ngood.mp4\n#EXT-X-ENDLIST\n",
        # a relative entry is "safe" to FFmpeg's concat demuxer: only the demuxer whitelist stops it
        "ffconcat": "ffconcat version 1.0\nfile 'good.mp4'\n",
        "ffconcat-absolute": f"ffconcat version 1.0\nfile 'file:{good}'\n",
    }[kind]
    disguised = tmp_path / f"playlist{suffix}"
    disguised.write_text(text)
    with pytest.raises(InvalidInput, match="content is text"):
        probe(disguised)
    # every reader refuses it on its own, without the probe in front
    with pytest.raises(AnalysisError, match="cannot open for analysis"):
        next(iter(decode_video(disguised)))
    with pytest.raises(InvalidInput, match="cannot open to read frames"):
        read_frames_rgb(disguised, [(0, None)])
    with pytest.raises(InvalidInput, match="not a readable media file"):
        audio_mod.measure_loudness(disguised)
    run = subprocess.run([FFMPEG, "-loglevel", "error", *ffmpeg_input_args(disguised), "-f", "null", "-"], capture_output=True)
    assert run.returncode != 0
    # and the same bytes through plain FFmpeg would have read good.mp4: the test means something
    if kind == "ffconcat":
        import av

        with av.open(str(disguised)) as c:
            assert c.format.name == "concat" and len(list(c.decode(video=0))) == 25


def test_ffmpeg_input_args_read_a_still_as_one_file_not_a_sequence(tmp_path):
    Image.new("RGB", (64, 64), RED).save(tmp_path / "frame1.png")
    weird = tmp_path / "frame%d.png"
    Image.new("RGB", (64, 64), BLUE).save(weird)
    rgb = ffmpeg_rgb(weird, 64, 64)
    assert is_colour(corner_colour(rgb, "tl"), BLUE, 5)


def test_urls_and_protocols_never_open(tmp_path):
    import av

    for url in ("concat:a.mp4|b.mp4", "http://127.0.0.1:9/x.mp4", "subfile,,start,0,end,0,,:x.mp4"):
        with pytest.raises(av.error.FFmpegError):
            av.open(url, container_options=source.local_options())
    assert local_url("rel:name.mp4") == "file:" + str(Path("rel:name.mp4").resolve())


# -- probe of a staged copy ---------------------------------------------------------------------


def test_probe_names_and_types_a_staged_copy_as_the_users_file(tmp_path):
    staged = tmp_path / ".tmp-1234-abcd"
    Image.new("RGB", (300, 200), (90, 20, 200)).save(staged, "PNG")
    info = probe(staged, name="poster.png", ext=".png")
    assert (info.kind, info.ext, info.width, info.height) == ("image", ".png", 300, 200)
    with pytest.raises(InvalidInput, match=r"^poster\.jpg: content is png, not the jpg its name says$"):
        probe(staged, name="poster.jpg", ext=".jpg")
    with pytest.raises(InvalidInput, match=r"^poster\.gif: unsupported file type \.gif"):
        probe(staged, name="poster.gif", ext=".gif")
    tiny = tmp_path / ".tmp-5678"
    Image.new("RGB", (10, 10)).save(tiny, "PNG")
    with pytest.raises(InvalidInput, match=r"^logo\.png: 10×10 is too small"):
        probe(tiny, name="logo.png", ext=".png")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(InvalidInput, match=r"^clip\.mp4: empty file$"):
        check_source_file(empty, name="clip.mp4", ext=".mp4")
    with pytest.raises(InvalidInput, match="no such file"):
        check_source_file(tmp_path / "missing.mp4")


# -- 2. EXIF orientation ------------------------------------------------------------------------

# How to store a picture so that EXIF orientation N displays it upright (the inverse of
# ImageOps.exif_transpose's operation for N).
_STORE_FOR = {
    1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270,
}


def upright_picture(width: int = 240, height: int = 135) -> Image.Image:
    im = Image.new("RGB", (width, height), (0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rectangle((0, 0, width // 4, height // 3), fill=RED)  # top left
    d.rectangle((width - width // 4, 0, width - 1, height // 3), fill=LIME)  # top right
    return im


def stored_with_orientation(dest: Path, orientation: int, fmt: str) -> Image.Image:
    upright = upright_picture()
    op = _STORE_FOR[orientation]
    stored = upright.transpose(op) if op is not None else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    kwargs = {"quality": 95} if fmt == "JPEG" else {}
    stored.save(dest, fmt, exif=exif.tobytes(), **kwargs)
    return upright


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientations_are_displayed_upright(tmp_path, orientation):
    path = tmp_path / f"o{orientation}.jpg"
    upright = stored_with_orientation(path, orientation, "JPEG")
    with Image.open(path) as im:
        assert im.getexif()[0x0112] == orientation
        stored_size = im.size
    info = probe(path)
    assert (info.width, info.height) == upright.size == (240, 135)
    assert (info.rotation, info.mirrored) == source.EXIF_ORIENTATION[orientation]
    if orientation >= 5:
        assert stored_size == (135, 240)
    for rgb in (load_still(path), read_frames_rgb(path, [(0, None)])[0]):
        assert rgb.shape == (135, 240, 3)
        assert colour_at_corners(rgb) == {"tl": "red", "tr": "lime", "bl": "black", "br": "black"}
        assert np.abs(rgb.astype(int) - np.asarray(upright)).mean() < 3
    analysis = analyze(path, info, "sha", AnalysisParams())
    assert (analysis.width, analysis.height) == (240, 135)


@pytest.mark.parametrize("fmt,suffix", [("PNG", ".png"), ("WEBP", ".webp")])
def test_exif_orientation_applies_to_png_and_webp_too(tmp_path, fmt, suffix):
    path = tmp_path / f"o6{suffix}"
    stored_with_orientation(path, 6, fmt)
    info = probe(path)
    assert (info.width, info.height, info.rotation) == (240, 135, 90)
    assert colour_at_corners(load_still(path))["tl"] == "red"


# -- 3. video display rotation and non-square pixels -------------------------------------------

# -display_rotation (counter-clockwise degrees, ffmpeg's convention) -> rotation clockwise,
# displayed size, and where the red (stored top-left) and lime (stored top-right) corners go.
ROTATIONS = {
    "-90": (90, (180, 320), {"tl": "black", "tr": "red", "bl": "black", "br": "lime"}),
    "90": (270, (180, 320), {"tl": "lime", "tr": "black", "bl": "red", "br": "black"}),
    "180": (180, (320, 180), {"tl": "black", "tr": "black", "bl": "lime", "br": "red"}),
}


@pytest.fixture(scope="module")
def corners_clip(tmp_path_factory):
    return lavfi_video(tmp_path_factory.mktemp("rot") / "corners.mp4", CORNERS, 2)


@pytest.mark.parametrize("degrees", list(ROTATIONS))
def test_rotated_videos_are_seen_upright_everywhere(tmp_path, corners_clip, degrees):
    rotation, (w, h), corners = ROTATIONS[degrees]
    path = tmp_path / f"rot{degrees}.mp4"
    ffmpeg("-display_rotation", degrees, "-i", str(corners_clip), "-c", "copy", str(path))
    info = probe(path)
    assert (info.width, info.height, info.rotation, info.mirrored) == (w, h, rotation, False)
    # full-size frames for generators: upright, and equal to what ffmpeg's autorotate shows
    [rgb] = read_frames_rgb(path, [(0, None)]).values()
    assert rgb.shape == (h, w, 3)
    assert colour_at_corners(rgb) == corners
    assert np.abs(rgb.astype(int) - ffmpeg_rgb(path, w, h)).mean() < 1.0
    # the frames analysis measures: signature and keyframe copy, upright
    frame = next(iter(decode_video(path)))
    assert frame.small_bgr.shape == (round(h * 96 / w), 96, 3)
    kf = frame.bgr(640)
    assert kf.shape == (round(h * 640 / w / 2) * 2, 640, 3)
    assert colour_at_corners(kf[..., ::-1]) == corners
    analysis = analyze(path, info, "sha", AnalysisParams())
    assert (analysis.width, analysis.height) == (w, h)
    # saliency is measured on the displayed frame: the boxes' side of the frame
    box = analysis.keyframes[0].features.saliency_box
    upright_box = analyze(corners_clip, probe(corners_clip), "sha", AnalysisParams()).keyframes[0].features.saliency_box
    if degrees == "180":
        assert box.y > upright_box.y  # the coloured boxes are at the bottom now


def test_face_boxes_are_normalised_to_the_displayed_frame(tmp_path):
    """A phone-style clip: frames stored sideways, a display matrix turning them upright. The
    face is found (only the displayed frame has an upright face) and its box is where it is
    in the displayed frame, as in the same picture stored upright."""
    skimage_data = pytest.importorskip("skimage.data")
    canvas = Image.new("RGB", (960, 540), (40, 40, 40))
    canvas.paste(Image.fromarray(skimage_data.astronaut()).resize((400, 400)), (60, 70))
    canvas.save(tmp_path / "upright.png")
    canvas.transpose(Image.Transpose.ROTATE_90).save(tmp_path / "sideways.png")  # stored turned counter-clockwise
    upright = mp4_of_still(tmp_path / "upright.mp4", tmp_path / "upright.png")
    stored = mp4_of_still(tmp_path / "stored.mp4", tmp_path / "sideways.png")
    phone = tmp_path / "phone.mp4"
    ffmpeg("-display_rotation", "-90", "-i", str(stored), "-c", "copy", str(phone))  # shown turned clockwise
    info = probe(phone)
    assert (info.width, info.height, info.rotation) == (960, 540, 90)
    a = analyze(upright, probe(upright), "a", AnalysisParams()).keyframes[0]
    b = analyze(phone, info, "b", AnalysisParams()).keyframes[0]
    assert a.faces and b.faces
    fa, fb = a.faces[0].box, b.faces[0].box
    assert np.allclose((fb.x, fb.y, fb.w, fb.h), (fa.x, fa.y, fa.w, fa.h), atol=0.02), (fb, fa)
    sa, sb = a.features.saliency_box, b.features.saliency_box
    assert np.allclose((sb.x, sb.y, sb.w, sb.h), (sa.x, sa.y, sa.w, sa.h), atol=0.05), (sb, sa)
    # and the displayed frame the generators crop from is the upright picture
    [rgb] = read_frames_rgb(phone, [(b.frame, b.pts)]).values()
    assert rgb.shape == (540, 960, 3)
    assert np.abs(rgb.astype(int) - np.asarray(canvas)).mean() < 6


@pytest.mark.parametrize("flags", [("-display_hflip",), ("-display_rotation", "90", "-display_hflip"), ("-display_vflip",)])
def test_mirrored_display_matrices_match_ffmpeg(tmp_path, corners_clip, flags):
    path = tmp_path / "flip.mp4"
    ffmpeg(*flags, "-i", str(corners_clip), "-c", "copy", str(path))
    info = probe(path)
    assert info.mirrored
    [rgb] = read_frames_rgb(path, [(0, None)]).values()
    assert np.abs(rgb.astype(int) - ffmpeg_rgb(path, info.width, info.height)).mean() < 1.0
    kf = next(iter(decode_video(path))).bgr(320)[..., ::-1]
    assert colour_at_corners(kf) == colour_at_corners(rgb)


def circle_mask_size(rgb: np.ndarray) -> tuple[int, int]:
    ys, xs = np.nonzero(rgb[..., 1] > 128)
    return int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


@pytest.fixture(scope="module")
def anamorphic_clip(tmp_path_factory):
    """960x720 stored, SAR 4:3: a circle 600 px across once shown (stored as a 450x600 ellipse)."""
    folder = tmp_path_factory.mktemp("sar")
    im = Image.new("RGB", (960, 720), (0, 0, 0))
    ImageDraw.Draw(im).ellipse((480 - 225, 360 - 300, 480 + 225, 360 + 300), fill=(255, 255, 255))
    im.save(folder / "ellipse.png")
    return mp4_of_still(folder / "sar.mp4", folder / "ellipse.png", ("-vf", "setsar=4/3"))


def test_non_square_pixels_are_shown_at_their_display_aspect(anamorphic_clip):
    info = probe(anamorphic_clip)
    assert (info.width, info.height) == (1280, 720) and info.pixel_aspect == pytest.approx(4 / 3)
    [rgb] = read_frames_rgb(anamorphic_clip, [(0, None)]).values()
    assert rgb.shape == (720, 1280, 3)
    w, h = circle_mask_size(rgb)
    assert abs(w - h) <= 0.02 * h, (w, h)  # round, not a 450x600 ellipse
    frame = next(iter(decode_video(anamorphic_clip)))
    assert frame.small_bgr.shape == (54, 96, 3)
    kf = frame.bgr(640)
    assert kf.shape == (360, 640, 3)
    w, h = circle_mask_size(kf)
    assert abs(w - h) <= 0.03 * h, (w, h)
    analysis = analyze(anamorphic_clip, info, "sha", AnalysisParams())
    box = analysis.keyframes[0].features.saliency_box
    assert (analysis.width, analysis.height) == (1280, 720)
    assert 0.3 < box.x + box.w / 2 < 0.7  # normalised to the displayed frame


def test_rotation_and_non_square_pixels_together(tmp_path, anamorphic_clip):
    path = tmp_path / "sar-rot.mp4"
    ffmpeg("-display_rotation", "90", "-i", str(anamorphic_clip), "-c", "copy", str(path))
    info = probe(path)
    assert (info.width, info.height, info.rotation) == (720, 1280, 270)
    [rgb] = read_frames_rgb(path, [(0, None)]).values()
    assert rgb.shape == (1280, 720, 3)
    w, h = circle_mask_size(rgb)
    assert abs(w - h) <= 0.02 * h
    kf = next(iter(decode_video(path))).bgr(360)
    assert kf.shape == (640, 360, 3)
    w, h = circle_mask_size(kf)
    assert abs(w - h) <= 0.03 * h


def test_square_unrotated_video_takes_the_plain_path(corners_clip):
    frame = next(iter(decode_video(corners_clip)))
    assert frame.display is not None and frame.display.identity
    assert frame.bgr(640).shape == (360, 640, 3)


# -- 4. bit depths, modes, alpha, colour profiles ----------------------------------------------


def test_sixteen_bit_grey_keeps_its_gradient(tmp_path):
    ramp = np.linspace(0, 65535, 256).round().astype(np.uint16)[None, :].repeat(80, axis=0)
    path = tmp_path / "grey16.png"
    Image.fromarray(ramp).save(path)
    with Image.open(path) as im:
        assert im.mode.startswith("I;16")
    info = probe(path)
    assert (info.width, info.height) == (256, 80)
    rgb = load_still(path)
    row = rgb[40, :, 0].astype(int)
    assert rgb.shape == (80, 256, 3) and (rgb[..., 0] == rgb[..., 1]).all()
    assert row[0] == 0 and row[-1] == 255 and abs(row[128] - 128) <= 1  # mid-grey stays mid-grey
    assert (np.diff(row) >= 0).all() and len(set(row.tolist())) > 200  # a gradient, not clipped to white
    # big-endian 16-bit grey from another encoder reads the same
    be = tmp_path / "grey16be.png"
    ffmpeg("-i", str(path), "-pix_fmt", "gray16be", str(be))
    assert np.abs(load_still(be).astype(int) - rgb).max() <= 1


def test_colour_modes_decode_to_plausible_rgb(tmp_path):
    cases: dict[str, tuple[Path, tuple[int, int, int]]] = {}
    # 16-bit RGB and RGBA (opaque), written by ffmpeg
    Image.new("RGB", (96, 64), (0x33, 0x66, 0x99)).save(tmp_path / "src.png")
    for name, fmt in (("rgb48", "rgb48be"), ("rgba64", "rgba64be")):
        ffmpeg("-i", str(tmp_path / "src.png"), "-pix_fmt", fmt, str(tmp_path / f"{name}.png"))
        cases[name] = (tmp_path / f"{name}.png", (0x33, 0x66, 0x99))
    Image.new("1", (96, 64), 1).save(tmp_path / "bilevel.png")
    cases["1"] = (tmp_path / "bilevel.png", (255, 255, 255))
    Image.new("L", (96, 64), 100).save(tmp_path / "grey.jpg", quality=95)
    cases["L"] = (tmp_path / "grey.jpg", (100, 100, 100))
    Image.new("CMYK", (96, 64), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg", quality=95)
    cases["CMYK"] = (tmp_path / "cmyk.jpg", (255, 0, 0))
    for name, (path, want) in cases.items():
        info = probe(path)
        assert (info.width, info.height) == (96, 64), name
        got = corner_colour(load_still(path), "tl")
        assert is_colour(got, want, 6), (name, got, want)


def test_alpha_is_flattened_over_black(tmp_path):
    assert source.ALPHA_BACKGROUND == (0, 0, 0)
    rgba = Image.new("RGBA", (96, 64), (0, 0, 0, 0))
    d = ImageDraw.Draw(rgba)
    d.rectangle((0, 0, 47, 63), fill=(200, 100, 50, 255))  # left half opaque
    d.rectangle((48, 0, 95, 31), fill=(200, 100, 50, 128))  # top right half transparent
    rgba.save(tmp_path / "rgba.png")
    rgb = load_still(tmp_path / "rgba.png")
    assert tuple(rgb[40, 10]) == (200, 100, 50)
    assert is_colour(tuple(rgb[10, 80]), (100, 50, 25), 2)
    assert tuple(rgb[50, 80]) == (0, 0, 0)
    # LA
    la = Image.new("LA", (96, 64), (0, 0))
    ImageDraw.Draw(la).rectangle((0, 0, 47, 63), fill=(180, 255))
    la.save(tmp_path / "la.png")
    rgb = load_still(tmp_path / "la.png")
    assert tuple(rgb[30, 10]) == (180, 180, 180) and tuple(rgb[30, 80]) == (0, 0, 0)
    # palette with a transparent index whose own colour is white
    p = Image.new("P", (96, 64), 0)
    p.putpalette([255, 255, 255, 20, 120, 220] + [0] * 762)
    ImageDraw.Draw(p).rectangle((0, 0, 47, 63), fill=1)
    p.save(tmp_path / "p.png", transparency=0)
    rgb = load_still(tmp_path / "p.png")
    assert tuple(rgb[30, 10]) == (20, 120, 220) and tuple(rgb[30, 80]) == (0, 0, 0)
    # a 16-bit grey + alpha PNG
    ffmpeg("-i", str(tmp_path / "la.png"), "-pix_fmt", "ya16be", str(tmp_path / "ya16.png"))
    rgb = load_still(tmp_path / "ya16.png")
    assert is_colour(tuple(rgb[30, 10]), (180, 180, 180), 1) and tuple(rgb[30, 80]) == (0, 0, 0)
    for name in ("rgba.png", "la.png", "p.png", "ya16.png"):
        assert (probe(tmp_path / name).width, probe(tmp_path / name).height) == (96, 64)


def _s15f16(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def matrix_icc_profile(red, green, blue, gamma: float = 2.2, name: str = "Test RGB") -> bytes:
    """A minimal ICC v2 RGB display profile: three colorants (D50 XYZ), one gamma per channel."""
    def xyz(v):
        return b"XYZ " + b"\0" * 4 + b"".join(_s15f16(c) for c in v)

    def curve(g):
        return b"curv" + b"\0" * 4 + struct.pack(">IH", 1, round(g * 256)) + b"\0\0"

    ascii_name = name.encode() + b"\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(ascii_name)) + ascii_name + b"\0" * 4 + b"\0" * 4 + b"\0" * 3 + b"\0" * 67
    tags = [(b"desc", desc), (b"wtpt", xyz((0.9642, 1.0, 0.8249))), (b"rXYZ", xyz(red)), (b"gXYZ", xyz(green)),
            (b"bXYZ", xyz(blue)), (b"rTRC", curve(gamma)), (b"gTRC", curve(gamma)), (b"bTRC", curve(gamma)),
            (b"cprt", b"text" + b"\0" * 4 + b"none\0")]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        while (offset + len(data)) % 4:
            data += b"\0"
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    body = struct.pack(">I", len(tags)) + table + data
    size = 128 + len(body)
    header = (struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ " + b"\0" * 12 + b"acsp"
              + b"\0" * 24 + struct.pack(">I", 0) + _s15f16(0.9642) + _s15f16(1.0) + _s15f16(0.8249) + b"\0" * 48)
    assert len(header) == 128
    return header + body


SRGB_D50 = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))


def test_embedded_colour_profiles_are_converted_to_srgb(tmp_path):
    picture = Image.new("RGB", (96, 64), (200, 0, 0))
    ImageDraw.Draw(picture).rectangle((48, 0, 95, 63), fill=(60, 130, 190))
    plain = np.asarray(picture)
    # sRGB-tagged: unchanged
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    picture.save(tmp_path / "srgb.png", icc_profile=srgb)
    assert np.abs(load_still(tmp_path / "srgb.png").astype(int) - plain).max() <= 2
    # a profile whose "red" primary is sRGB's green: the stored red is shown green
    r, g, b = SRGB_D50
    swapped = matrix_icc_profile(g, r, b, name="Swapped primaries")
    ImageCms.ImageCmsProfile(io.BytesIO(swapped))  # a valid profile
    picture.save(tmp_path / "swapped.png", icc_profile=swapped)
    picture.save(tmp_path / "swapped.jpg", icc_profile=swapped, quality=98)
    for name in ("swapped.png", "swapped.jpg"):
        got = corner_colour(load_still(tmp_path / name), "tl")
        assert got[1] > 150 and got[0] < 40 and got[2] < 40, (name, got)
    # a linear-light profile (gamma 1) with sRGB primaries: mid values shown much lighter
    linear = matrix_icc_profile(r, g, b, gamma=1.0, name="Linear sRGB")
    Image.new("RGB", (96, 64), (50, 50, 50)).save(tmp_path / "linear.png", icc_profile=linear)
    assert 115 < corner_colour(load_still(tmp_path / "linear.png"), "tl")[0] < 135  # sRGB(0.196 linear) = 124
    # a broken profile is ignored (the picture still reads, as sRGB)
    picture.save(tmp_path / "broken.png", icc_profile=b"not a profile at all" * 10)
    assert np.abs(load_still(tmp_path / "broken.png").astype(int) - plain).max() == 0
    assert probe(tmp_path / "broken.png").width == 96


# -- 5. slow frame rates are not truncation -----------------------------------------------------


@pytest.mark.parametrize("rate", ["0.5", "0.2"])
@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_slow_frame_rates_are_complete_not_truncated(tmp_path, rate, suffix):
    path = lavfi_video(tmp_path / f"slides{suffix}", f"testsrc2=size=640x360:rate={rate}", 20)
    info = probe(path)
    assert info.fps == pytest.approx(float(rate)) and info.duration == pytest.approx(20, abs=0.1)
    assert info.frame_count == round(20 * float(rate))
    analysis = analyze(path, info, "sha", AnalysisParams())
    assert analysis.frame_count == info.frame_count


@pytest.mark.parametrize("source_spec,seconds", [("testsrc2=size=320x180:rate=25", 6), ("testsrc2=size=640x360:rate=0.5", 20)])
@pytest.mark.parametrize("faststart", [True, False])
def test_truncated_videos_are_refused_at_any_frame_rate(tmp_path, source_spec, seconds, faststart):
    extra = ("-movflags", "+faststart") if faststart else ()
    full = lavfi_video(tmp_path / "full.mp4", source_spec, seconds, extra=extra)
    probe(full)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(InvalidInput, match="truncated"):
        probe(cut)


# -- 6. clear messages for sources too small ----------------------------------------------------


def tiny_video(dest: Path, width: int, height: int) -> Path:
    # x264 4:4:4 takes odd sizes; 1x1 and other tiny ones go through FFV1 in Matroska
    if min(width, height) >= 16:
        ffmpeg("-f", "lavfi", "-i", f"color=c=red:size={width}x{height}:rate=25", "-t", "1", "-c:v", "libx264",
               "-preset", "ultrafast", "-pix_fmt", "yuv444p", str(dest))
    else:
        dest = dest.with_suffix(".mkv")
        ffmpeg("-f", "lavfi", "-i", f"color=c=red:size={width}x{height}:rate=25", "-t", "1", "-c:v", "ffv1", str(dest))
    return dest


@pytest.mark.parametrize("width,height", [(1, 1), (8, 8), (63, 200), (200, 63)])
def test_sources_under_the_minimum_are_refused_in_the_users_terms(tmp_path, width, height):
    msg = rf"^tiny\.(png|jpg|mp4|mkv): {width}×{height} is too small for any placement; the minimum is 64×64$"
    for suffix in (".png", ".jpg"):
        path = tmp_path / f"tiny{suffix}"
        Image.new("RGB", (width, height), RED).save(path)
        with pytest.raises(InvalidInput, match=msg):
            probe(path)
    video = tiny_video(tmp_path / "tiny.mp4", width, height)
    with pytest.raises(InvalidInput, match=msg):
        probe(video)


def test_displayed_size_is_what_counts_for_the_minimum(tmp_path):
    # 63x200 turned on its side shows as 200x63: named in the displayed terms
    path = tmp_path / "side.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.new("RGB", (63, 200), RED).save(path, exif=exif.tobytes())
    with pytest.raises(InvalidInput, match=r"^side\.jpg: 200×63 is too small"):
        probe(path)
    # 48x64 stored with 4:3 pixels shows as 64x64: accepted
    sar = tmp_path / "narrow.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=48x64:rate=25", "-t", "1", "-vf", "setsar=4/3", "-c:v", "libx264",
           "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(sar))
    info = probe(sar)
    assert (info.width, info.height) == (64, 64)


def test_the_minimum_size_is_accepted_and_analyses(tmp_path):
    assert MIN_SIDE == 64
    still = tmp_path / "small.png"
    upright_picture(64, 64).save(still)
    video = lavfi_video(tmp_path / "small.mp4", "testsrc2=size=64x64:rate=25", 2)
    for path in (still, video):
        info = probe(path)
        assert (info.width, info.height) == (64, 64)
        analysis = analyze(path, info, "sha", AnalysisParams())
        assert analysis.keyframes and (analysis.width, analysis.height) == (64, 64)
        assert not any("black" in k.flags for k in analysis.keyframes)
