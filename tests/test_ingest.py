"""Ingest refuses bad input with one clear line and stores nothing; good input lands once."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import lavfi_video, shared_media
from workbench import workflow
from workbench.catalog import open_catalog, repo
from workbench.errors import InvalidInput, NotFound
from workbench.settings import get_settings


def stored_files(home: Path) -> list[Path]:
    store = home / "store"
    return [p for p in store.rglob("*") if p.is_file()] if store.exists() else []


def titles_in_catalog() -> int:
    with open_catalog(get_settings()).session() as s:
        return len(repo.list_titles(s))


def png_with_header(path: Path, width: int, height: int, idat: bytes) -> Path:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def assert_refused(home: Path, path: Path, match: str, title: str | None = None) -> None:
    with pytest.raises(InvalidInput, match=match) as info:
        workflow.ingest(path, title)
    message = str(info.value)
    assert "\n" not in message and len(message) < 300
    assert stored_files(home) == []
    assert titles_in_catalog() == 0


def test_empty_file(home, tmp_path):
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    assert_refused(home, p, "empty file")


def test_text_file_named_mp4(home, tmp_path):
    p = tmp_path / "notes.mp4"
    p.write_text("this is not a video, just some notes\n" * 10)
    assert_refused(home, p, "content is text, not the mp4")


def test_unsupported_type(home, tmp_path):
    p = tmp_path / "clip.gif"
    p.write_bytes(b"GIF89a" + b"\0" * 100)
    assert_refused(home, p, "unsupported file type .gif")


def test_truncated_mp4(home, tmp_path):
    full = lavfi_video(tmp_path / "full.mp4", "testsrc2=size=320x180:rate=25", 4)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    assert_refused(home, cut, "truncated or corrupt video")


def test_truncated_faststart_mp4(home, tmp_path):
    full = lavfi_video(tmp_path / "fs.mp4", "testsrc2=size=320x180:rate=25", 6, extra=("-movflags", "+faststart"))
    cut = tmp_path / "cut-fs.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    assert_refused(home, cut, "truncated video")


def test_video_with_zero_decodable_frames(home, tmp_path):
    full = lavfi_video(tmp_path / "fs.mp4", "testsrc2=size=320x180:rate=25", 2, extra=("-movflags", "+faststart"))
    data = bytearray(full.read_bytes())
    mdat = data.index(b"mdat") + 4
    data[mdat:] = b"\0" * (len(data) - mdat)  # the container is intact, every frame is garbage
    bad = tmp_path / "zeros.mp4"
    bad.write_bytes(bytes(data))
    assert_refused(home, bad, "no decodable video frames|truncated")


def test_decompression_bomb_png(home, tmp_path):
    width = height = 9000  # 81 MP: under the pixel limit, but from a few KiB
    raw = zlib.compress(b"\0" * ((width + 1) * 64), 9)  # the stream need not be complete to be refused
    p = png_with_header(tmp_path / "bomb.png", width, height, raw)
    assert_refused(home, p, "decompression bomb")


def test_huge_dimensions_image(home, tmp_path):
    p = png_with_header(tmp_path / "huge.png", 30000, 30000, zlib.compress(b"\0" * 1024))
    assert_refused(home, p, "30000x30000 is 900 MP, over the 100 MP limit")


def test_truncated_jpeg(home, tmp_path):
    good = tmp_path / "good.jpg"
    Image.radial_gradient("L").resize((640, 480)).convert("RGB").save(good, quality=90)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(good.read_bytes()[:2000])
    assert_refused(home, bad, "truncated or corrupt image")


@pytest.mark.parametrize("name", ["../../etc/evil", "a/b", "..", "x\\y", "bad\x00name"])
def test_title_name_with_path_parts(home, tmp_path, name):
    p = lavfi_video(tmp_path / "ok.mp4", "testsrc2=size=160x90:rate=25", 1)
    assert_refused(home, p, "title name", title=name)


def test_missing_title_id(home):
    with pytest.raises(NotFound, match=r"no title '999'; run `workbench ingest` first"):
        workflow.analyze_title("999")


def test_missing_file(home, tmp_path):
    assert_refused(home, tmp_path / "nope.mp4", "no such file")


def test_good_video_ingests_once(home, tmp_path):
    p = lavfi_video(tmp_path / "good clip.mp4", "testsrc2=size=320x180:rate=25", 2, audio=True)
    first = workflow.ingest(p, "Good Clip")
    again = workflow.ingest(p, "Good Clip")
    assert first.created and not again.created and first.title_id == again.title_id
    assert first.info.kind == "video" and first.info.has_audio and first.info.fps == 25.0
    assert (first.info.width, first.info.height) == (320, 180)
    assert len(stored_files(home)) == 1 and titles_in_catalog() == 1
    with pytest.raises(InvalidInput, match="already exists with another source"):
        other = lavfi_video(tmp_path / "other.mp4", "mandelbrot=size=320x180:rate=25", 1)
        workflow.ingest(other, "Good Clip")


def test_good_still_ingests(home, tmp_path):
    p = tmp_path / "poster.webp"
    Image.new("RGB", (800, 600), (200, 40, 40)).save(p, "WEBP")
    r = workflow.ingest(p)
    assert r.info.kind == "image" and r.title_name == "poster"


@pytest.mark.shared_media
def test_shared_media_probe(home):
    r = workflow.ingest(shared_media("short_hamilton_clip.mp4"))
    assert r.info.frame_count == 275 and r.info.has_audio and r.info.width == 640
    c = workflow.ingest(shared_media("carphone.mp4"))
    assert not c.info.has_audio and c.info.pixel_aspect == pytest.approx(128 / 117)
