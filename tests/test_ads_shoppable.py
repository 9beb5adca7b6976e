"""The shoppable kind end to end: hotspot JSON (time ranges × normalised boxes × sku), one
transparent overlay PNG per hotspot, and a preview MP4 where each card is burned in over its
range only: its QR scans inside the range and nothing scans outside any range; no card covers a
face of its shot."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

import generators
from generators.ads import ShoppableKind
from generators.ads.qr import decode_qr
from tests.test_ads_kind import BASE, _recipe, catalog, make_title, title, title_clip  # noqa: F401 (fixtures)
from workbench import workflow

pytestmark = pytest.mark.timeout(300)
KIND = generators.get_kind(ShoppableKind.kind)


def frame_at(path: Path, t: float) -> np.ndarray:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        for f in c.decode(s):
            if f.time is not None and f.time >= t:
                return f.to_ndarray(format="rgb24")
    raise AssertionError(f"no frame at {t}")


def test_hotspots_overlays_and_a_burned_in_preview(title, catalog) -> None:  # noqa: F811
    from provenance import verify_with_settings
    from workbench.settings import get_settings

    result = workflow.generate("shoppable", title, {"products": catalog, "tracking_base": BASE, "campaign": "spring-26",
                                                    "min_gap_s": 2.0, "max_ads": 2})
    assert len(result.variants) == 1
    v = result.variants[0]
    assert verify_with_settings(v.path, get_settings()).state == "Trusted"
    timeline = json.loads(Path(v.files["hotspots"]).read_text())
    hotspots = timeline["hotspots"]
    assert 1 <= len(hotspots) <= 2 and timeline["size"] == [1920, 1080]
    analysis = workflow.analyze_title(title).analysis
    for n, h in enumerate(hotspots, 1):
        assert h["end"] - h["start"] >= 3.0
        x, y, w, hh = h["box"]
        assert 0 <= x and 0 <= y and x + w <= 1 and y + hh <= 1
        # the overlay: RGBA, transparent outside its card, opaque on it
        with Image.open(v.files[f"overlay.{n}"]) as im:
            assert im.mode == "RGBA" and im.size == (1920, 1080)
            alpha = np.asarray(im.getchannel("A"))
        x0, y0, x1, y1 = round(x * 1920), round(y * 1080), round((x + w) * 1920), round((y + hh) * 1080)
        outside = alpha.copy()
        outside[y0:y1, x0:x1] = 0
        assert outside.max() == 0 and alpha[y0 + 40:y1 - 40, x0 + 40:x1 - 40].min() > 0
        # no face of the shot under the card (boxes normalised to the frame, the preview covers 16:9)
        for k in analysis.keyframes:
            if k.shot == h["shot"]:
                for f in k.faces:
                    assert not (f.box.x < x + w and x < f.box.x + f.box.w and f.box.y < y + hh and y < f.box.y + f.box.h)
        # burned in over its range: the QR scans from the preview inside it
        assert decode_qr(frame_at(v.path, (h["start"] + h["end"]) / 2)) == h["qr_url"]
    # and nothing scans where no hotspot is
    covered = [(h["start"], h["end"]) for h in hotspots]
    free = next(t for t in np.arange(0.5, analysis.duration - 0.5, 0.5) if all(not (s - 0.3 <= t <= e + 0.3) for s, e in covered))
    assert decode_qr(frame_at(v.path, float(free))) == ""
    recipe = _recipe(v.variant_id)
    assert recipe["details"]["scene_model"] is None and KIND.explain(recipe, v.score).terms
