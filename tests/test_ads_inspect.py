"""The review page's QR check (``CreativeKind.inspect``): the code is decoded from the stored
pixels and compared with the recipe's tracking URL, fast enough for a page load; a damaged code,
a code that says something else, a file that does not read, and a recipe naming no code are
problems, never exceptions. The shoppable preview is read at each hotspot's time."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import generators
from generators.ads import PauseAdKind, ShoppableKind
from generators.ads.pause import render_pause_ad
from tests.test_ads_pause import TEXT, URL, frame, product

pytestmark = pytest.mark.timeout(300)
PAUSE = generators.get_kind(PauseAdKind.kind)


@pytest.fixture(scope="module")
def still(tmp_path_factory) -> tuple[Path, dict]:
    image, layout = render_pause_ad(frame(4), [], None, product(), TEXT, URL)
    path = tmp_path_factory.mktemp("inspect") / "pause.jpg"
    image.save(path, "JPEG", quality=92)
    return path, {"details": {"qr": {"qr_url": URL}, "layout": {"qr": list(layout.qr)}}}


def test_the_code_is_decoded_and_matches_the_recipe_fast(still) -> None:
    path, recipe = still
    PAUSE.inspect(path, recipe)  # warm OpenCV's detector once, as a long-running review app would be
    started = time.perf_counter()
    seen = PAUSE.inspect(path, recipe)
    took = time.perf_counter() - started
    assert seen.problems == ()
    assert seen.facts == (("QR code", f"decodes to {URL} (the tracking URL)"),)
    assert took < 1.0, f"{took:.2f} s is too slow for a page load"


def test_a_code_that_says_something_else_is_a_problem(still) -> None:
    path, recipe = still
    other = URL.replace("cr=pa-", "cr=px-")
    seen = PAUSE.inspect(path, {"details": {**recipe["details"], "qr": {"qr_url": other}}})
    assert len(seen.problems) == 1 and f"decodes to {URL!r}, not the recipe's {other!r}" in seen.problems[0]
    assert "NOT the tracking URL" in seen.facts[0][1]


def test_a_damaged_code_is_a_problem(still, tmp_path) -> None:
    path, recipe = still
    rgb = np.asarray(Image.open(path).convert("RGB")).copy()
    x0, y0, x1, _y1 = recipe["details"]["layout"]["qr"]
    side = x1 - x0
    # a smear over two of the three finder patterns, as a scratch or a sticker would leave
    rgb[y0 + side // 10:y0 + side * 4 // 10, x0 + side // 10:x1 - side // 10] = 128
    damaged = tmp_path / "damaged.jpg"
    Image.fromarray(rgb).save(damaged, "JPEG", quality=92)
    seen = PAUSE.inspect(damaged, recipe)
    assert seen.problems == (f"QR code: the QR code does not decode (expected {URL})",)
    assert seen.facts == (("QR code", "does not decode"),)


def test_bad_files_and_recipes_are_problems_not_exceptions(still, tmp_path) -> None:
    path, recipe = still
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not a picture at all")
    seen = PAUSE.inspect(junk, recipe)
    assert len(seen.problems) == 1 and seen.problems[0].startswith("could not read the still")
    assert PAUSE.inspect(tmp_path / "missing.jpg", recipe).problems
    assert PAUSE.inspect(path, {}).problems == ("the recipe names no QR code to check",)
    assert PAUSE.inspect(path, {"details": {"qr": {"qr_url": 42}}}).problems == ("the recipe names no QR code to check",)


def test_the_shoppable_preview_is_read_at_each_hotspot(home, tmp_path) -> None:
    """A real preview: the test title's overlays burned in by the kind's own ffmpeg pass."""
    from tests.test_ads_catalog import HEADER, product_png
    from tests.test_ads_kind import BASE, make_title
    from workbench import workflow
    from workbench.review import variant_detail

    title = workflow.ingest(make_title(tmp_path / "title.mp4"), "Inspect Title").title_name
    folder = tmp_path / "cat"
    folder.mkdir()
    product_png(folder / "mug.png")
    (folder / "p.csv").write_text(HEADER + "MUG-1,Mug,Acme,12.50,EUR,https://shop.example.com/mug,mug.png,food,,\n")
    from generators.ads.store import import_products

    sha, _ = import_products(folder / "p.csv")
    [v] = workflow.generate("shoppable", title, {"products": sha, "tracking_base": BASE, "min_gap_s": 2.0,
                                                 "max_ads": 2}).variants
    detail = variant_detail(v.variant_id)  # what the review page calls when it opens
    kind = generators.get_kind(ShoppableKind.kind)
    assert detail.inspection.problems == ()
    hotspots = detail.row.recipe["details"]["hotspots"]
    assert len(detail.inspection.facts) == len(hotspots) >= 1
    for (label, text), h in zip(detail.inspection.facts, hotspots):
        assert h["sku"] in label and text == f"decodes to {h['qr_url']} (the tracking URL)"
    # a recipe whose code is placed where the preview shows none: the check says so
    covered = [(h["start"], h["end"]) for h in hotspots]
    free = next(float(t) for t in np.arange(0.5, 16.0, 0.5) if all(not (s - 0.3 <= t <= e + 0.3) for s, e in covered))
    moved = {"details": {"hotspots": [{**hotspots[0], "start": free - 0.1, "end": free + 0.1}]}}
    seen = kind.inspect(v.path, moved)
    assert seen.problems and "does not decode" in seen.problems[0]
