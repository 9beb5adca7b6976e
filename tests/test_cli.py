"""The command line as a user runs it: real processes, --json for scripts, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import lavfi_video
from tests.test_workflow import flip_one_scan_byte


def run(home, *args, check=True):
    env = {**os.environ, "WORKBENCH_HOME": str(home), "COLUMNS": "200"}
    env.pop("WORKBENCH_DATABASE_URL", None)
    proc = subprocess.run([sys.executable, "-m", "workbench", *args], capture_output=True, text=True, env=env, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"workbench {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory, sample_title):
    home = tmp_path_factory.mktemp("cli") / "home"
    out = json.loads(run(home, "ingest", str(sample_title.path), "--title", "Sample", "--json").stdout)
    assert out["created"] and out["info"]["kind"] == "video"
    return home


def test_analyze_json(cli_home, sample_title):
    out = json.loads(run(cli_home, "analyze", "Sample", "--json").stdout)
    cuts = [t["start_frame"] for t in out["analysis"]["transitions"] if t["kind"] == "cut"]
    assert cuts == list(sample_title.cuts)
    again = json.loads(run(cli_home, "analyze", "1", "--json").stdout)
    assert again["cached"] is True


def test_thumbnails_then_verify_each_file(cli_home, tmp_path):
    out = json.loads(run(cli_home, "thumbnails", "Sample", "--segments", "comedy,thriller", "--top-k", "1", "--webp", "--json").stdout)
    files = [v["export_path"] for v in out["variants"]]
    assert len(files) == 2 * 4 * 2 and any(f.endswith(".webp") for f in files)
    for f in files:
        proc = run(cli_home, "verify", f, "--json")
        assert json.loads(proc.stdout)["state"] in ("Valid", "Trusted")
    tampered = tmp_path / "t.jpg"
    from pathlib import Path

    flip_one_scan_byte(Path(next(f for f in files if f.endswith(".jpg"))), tampered)
    proc = run(cli_home, "verify", str(tampered), check=False)
    assert proc.returncode == 1 and "Invalid" in proc.stdout and "assertion.dataHash.mismatch" in proc.stdout


def test_human_output_tables(cli_home):
    proc = run(cli_home, "titles")
    assert "Sample" in proc.stdout
    proc = run(cli_home, "analyze", "Sample")
    assert "cut at frame" in proc.stdout and "(cached)" in proc.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("analyze", "4242"), "no title '4242'"),
        (("thumbnails", "Sample", "--segments", "westerns"), "unknown segment"),
        (("thumbnails", "Sample", "--formats", "4x3"), "unknown format"),
        (("verify", "/nonexistent/file.jpg"), "no such file"),
    ],
)
def test_errors_are_one_line_without_traceback(cli_home, args, message):
    proc = run(cli_home, *args, check=False)
    assert proc.returncode == 2
    assert message in proc.stderr.lower() or message in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_bad_input_json_error(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("hello\n")
    proc = run(tmp_path / "h", "ingest", str(bad), "--json", check=False)
    assert proc.returncode == 2
    err = json.loads(proc.stdout)
    assert err["type"] == "InvalidInput" and "content is text" in err["error"]


def test_unsigned_file_does_not_verify(tmp_path):
    from PIL import Image

    p = tmp_path / "plain.jpg"
    Image.new("RGB", (64, 64)).save(p)
    proc = run(tmp_path / "h", "verify", str(p), check=False)
    assert proc.returncode == 1 and "Unsigned" in proc.stdout


def test_ingest_still_and_thumbnail_it(tmp_path):
    from PIL import Image, ImageDraw

    p = tmp_path / "poster.png"
    im = Image.new("RGB", (1600, 900), (30, 60, 120))
    ImageDraw.Draw(im).ellipse((600, 200, 1000, 700), fill=(240, 200, 60))
    im.save(p)
    home = tmp_path / "h"
    run(home, "ingest", str(p))
    out = json.loads(run(home, "thumbnails", "poster", "--segments", "kids", "--json").stdout)
    assert len(out["variants"]) == 4  # one keyframe: one pick per format


def test_video_title_small_clip(tmp_path):
    clip = lavfi_video(tmp_path / "clip.mp4", "testsrc2=size=640x360:rate=25", 3, audio=True)
    home = tmp_path / "h"
    run(home, "ingest", str(clip))
    out = json.loads(run(home, "thumbnails", "clip", "--segments", "action", "--formats", "16x9", "--json").stdout)
    assert out["variants"] and all(v["format"] == "16x9" for v in out["variants"])


def test_treatments_rights_and_diffusion_info_from_the_cli(cli_home, tmp_path, monkeypatch):
    proc = run(cli_home, "rights", "Sample", "--json")
    assert json.loads(proc.stdout)["ai_treatments"] == "denied" and json.loads(proc.stdout)["source"] == "default"
    out = json.loads(run(cli_home, "thumbnails", "Sample", "--segments", "drama", "--formats", "9x16", "--top-k", "1",
                         "--treatment", "outpaint", "--json").stdout)
    [variant] = out["variants"]
    assert variant["export_path"].endswith("_outpaint_classic.jpg")
    bad = run(cli_home, "thumbnails", "Sample", "--treatment", "clean", "--region", "0.1,0.1,2,0.1", check=False)
    assert bad.returncode == 2 and "inside 0..1" in bad.stderr + bad.stdout
    proc = run(cli_home, "rights", "Sample", "--ai-treatments", "allowed", "--markets", "us,gb", "--json")
    assert json.loads(proc.stdout)["markets"] == ["US", "GB"]
    assert "no model configured" in run(cli_home, "diffusion", "info").stdout
    model = json.loads(run(cli_home, "diffusion", "tiny", str(tmp_path / "tiny"), "--json").stdout)["model"]
    monkeypatch.setenv("WORKBENCH_DIFFUSION_MODEL", model)  # run() passes the environment on
    info = json.loads(run(cli_home, "diffusion", "info", "--json").stdout)
    assert info["id"] == "tiny" and info["device"] == "cpu" and info["dtype"] == "float32" and info["attention"] == "sdpa"
    assert info["memory"]["weights_mb"] > 0
    monkeypatch.setenv("WORKBENCH_DIFFUSION_DEVICE", "cuda")
    proc = run(cli_home, "diffusion", "info", check=False)
    assert proc.returncode == 2 and "no CUDA" in proc.stderr + proc.stdout
