"""The shoppable layer as a SIMID interactive creative: the page the workbench ships
(``assets/ads/simid/shoppable.html``, a self-contained SIMID 1.1 creative) and the data a VAST
document hands it in ``AdParameters`` (SIMID ``creativeData.adParameters``): per hotspot its time
range, its box (shares of the frame), brand, name, price, the https URLs of its click and view
trackers and its QR code as a module matrix (the page draws it; no image is fetched).

A pause ad has no interactive layer (a player shows a paused still); the shoppable overlay is a
NonLinear ``IFrameResource`` with ``apiFramework="SIMID"``; a spot carries it as a Linear
``InteractiveCreativeFile`` over its end card."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import segno

from generators.ads.qr import QUIET_ZONE, check_base_url
from workbench.errors import InvalidInput

CREATIVE_PATH = Path(__file__).resolve().parents[2] / "assets" / "ads" / "simid" / "shoppable.html"
FORMAT = "creative-workbench/simid-hotspots@1"
MIME = "text/html"
ROLE = "simid"  # the sidecar role of the page, and what the VAST's URL for it means at export


@dataclass(frozen=True)
class SimidHotspot:
    id: str
    sku: str
    brand: str
    name: str
    price_text: str
    start: float  # seconds on the media's clock (the programme for an overlay, the spot for a spot)
    end: float
    box: tuple[float, float, float, float]  # x, y, w, h as shares of the frame
    click_url: str  # https: a clickthrough goes there (the tracker redirects to the product)
    view_url: str | None  # https: reported once when the card first shows (VAST macros allowed)
    qr_url: str  # what the code encodes (no macros: a phone opens it as it is)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "sku": self.sku, "brand": self.brand, "name": self.name, "price_text": self.price_text,
                "start": round(self.start, 4), "end": round(self.end, 4), "box": [round(v, 5) for v in self.box],
                "click_url": self.click_url, "view_url": self.view_url, "qr_url": self.qr_url, "qr": qr_matrix(self.qr_url)}


def qr_matrix(url: str) -> dict[str, Any]:
    """The QR code of ``url`` as rows of "0"/"1" (no quiet zone; the page draws ``quiet_zone``
    white modules round it), at error correction M or better, as the stills draw theirs."""
    code = segno.make_qr(url, error="m", boost_error=True)
    rows = ["".join("1" if v else "0" for v in row) for row in code.matrix_iter(scale=1, border=0)]
    return {"rows": rows, "quiet_zone": QUIET_ZONE, "version": int(code.version), "error": str(code.error).lower()}


def ad_parameters(hotspots: list[SimidHotspot], cta: str = "Scan or click to shop") -> str:
    """The AdParameters text: JSON (ASCII: every non-ASCII character escaped, so the document's
    encoding cannot matter), checked as the page will check it."""
    if not hotspots:
        raise InvalidInput("an interactive layer needs at least one hotspot")
    for h in hotspots:
        check_base_url(h.click_url.split("?", 1)[0], "a hotspot's click URL")
        if not (0 <= h.start < h.end) or not all(0.0 <= v <= 1.0 for v in h.box):
            raise InvalidInput(f"hotspot {h.id}: time range {h.start}-{h.end} or box {h.box} out of bounds")
    return json.dumps({"format": FORMAT, "cta": cta, "hotspots": [h.to_dict() for h in hotspots]},
                      ensure_ascii=True, separators=(",", ":"))


def copy_creative(dest_dir: Path, name: str = "shoppable_simid.html") -> Path:
    """The shipped SIMID page, copied into ``dest_dir`` (it travels as the variant's sidecar)."""
    if not CREATIVE_PATH.is_file():
        raise InvalidInput(f"the SIMID creative {CREATIVE_PATH} is missing: reinstall the workbench")
    dest = Path(dest_dir) / name
    shutil.copyfile(CREATIVE_PATH, dest)
    return dest


__all__ = ["CREATIVE_PATH", "FORMAT", "MIME", "ROLE", "SimidHotspot", "ad_parameters", "copy_creative", "qr_matrix"]
