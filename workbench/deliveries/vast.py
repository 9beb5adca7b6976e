"""VAST deliveries: an ad's VAST document, re-pointed at the files the export delivers.

At generation a VAST document names its media under the ``media_base`` the creative gave (the
recipe's ``details.vast_media`` maps each such URL to the file it means: ``"primary"``, a
sidecar's role, or ``"rendition.<H>p"``). Exported, the media get new names (and new signatures),
so every ``StaticResource``, ``IFrameResource``, ``MediaFile``, ``Mezzanine`` and
``InteractiveCreativeFile`` URL is rewritten to the exported file: ``WORKBENCH_ADS_CDN_BASE/<path in the export>`` when that setting
is given, else the original base with the exported name. The rewritten document is validated
again (the kind's validator: for the ad kinds, the IAB XSD too) before it is written: ad ops
never get a document that does not validate or that names a file the export does not hold.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

from defusedxml import ElementTree as SafeET

from workbench.deliveries import (
    ApprovedVariant,
    Delivery,
    DeliveryPreview,
    ExportContext,
    ExportedFile,
    OwnFile,
    StoredSidecar,
    write_bytes,
)
from workbench.names import safe_filename

VAST_NS = "http://www.iab.com/VAST"
MEDIA_TAGS = frozenset({"StaticResource", "IFrameResource", "MediaFile", "Mezzanine", "InteractiveCreativeFile"})
Validator = Callable[[bytes], list[str]]


def ad_deliveries(approved: ApprovedVariant, folder: str, *, validate: Validator | None = None,
                  extra: list[Delivery] | None = None, media: list[Delivery] | None = None) -> list[Delivery]:
    """The approved file, ``media`` (renditions, overlays: deliveries whose files the VAST may
    name), each VAST sidecar re-pointed at what is delivered, and ``extra`` deliveries."""
    own = OwnFile(approved, folder)
    media = list(media or [])
    out: list[Delivery] = [own, *media]
    for sidecar in approved.sidecars:
        if sidecar.role == "vast" or sidecar.role.startswith("vast."):
            out.append(VastDocument(approved, sidecar, folder, validate=validate, media={"primary": own, **{
                _role_of(d): d for d in media}}))
    return out + list(extra or [])


def _role_of(d: Delivery) -> str:
    sidecar = getattr(d, "sidecar", None)
    return sidecar.role if sidecar is not None else d.name.replace("rendition_", "rendition.")


@dataclass
class VastDocument(Delivery):
    approved: ApprovedVariant
    sidecar: StoredSidecar
    folder: str = ""
    validate: Validator | None = None
    media: dict[str, Delivery] = field(default_factory=dict)  # role -> the delivery whose file a URL means

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.sidecar.role

    def preview(self) -> DeliveryPreview:
        return DeliveryPreview(self.name, 0, 0, None, 0, 0, "rewritten")

    def arcname(self) -> str:
        folder = self.folder or self.approved.row.kind
        return f"{folder}/{self.approved.base_name}_{safe_filename(self.sidecar.role, 30)}.xml"

    def write(self, ctx: ExportContext) -> ExportedFile:
        data = self.sidecar.path.read_bytes()
        if hashlib.sha256(data).hexdigest() != self.sidecar.sha256:
            raise ValueError(f"sidecar {self.sidecar.name} was altered after approval")
        urls = ((self.approved.row.recipe or {}).get("details") or {}).get("vast_media") or {}
        targets = {url: self._exported_url(url, role, ctx) for url, role in urls.items()}
        sizes = {url: self._exported_size(role, ctx) for url, role in urls.items()}
        rewritten = rewrite_media_urls(data, targets, {url: n for url, n in sizes.items() if n is not None})
        if self.validate is None:  # nothing unchecked reaches ad ops
            raise ValueError(f"no VAST validator for {self.approved.row.kind}: the document cannot be checked")
        problems = self.validate(rewritten)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise ValueError(f"the exported VAST document is invalid: {problems[0]}{more}")
        return write_bytes(ctx, self.arcname(), rewritten, self.approved, self.name, 0, 0, self.sidecar.mime)

    def _exported_url(self, url: str, role: str, ctx: ExportContext) -> str:
        target = self.media.get(role)
        if target is None:
            raise ValueError(f"the VAST document names {role!r}, which this export does not deliver")
        arcname = _planned_arcname(target)
        base = ctx.settings.ads_cdn_base
        if base:
            return f"{base.rstrip('/')}/{arcname}"
        parts = urlsplit(url)
        parent = str(PurePosixPath(parts.path).parent).rstrip("/")
        return parts._replace(path=f"{parent}/{PurePosixPath(arcname).name}").geturl()


    def _exported_size(self, role: str, ctx: ExportContext) -> int | None:
        """The size of the file a media delivery wrote (the media come before the VAST in an
        item's deliveries); None when it is not written yet."""
        target = self.media.get(role)
        path = ctx.staging / _planned_arcname(target) if target is not None else None
        return path.stat().st_size if path is not None and path.is_file() else None


def _planned_arcname(d: Delivery) -> str:
    """Where a media delivery will write its file in the export (their names are deterministic)."""
    if isinstance(d, OwnFile):
        row = d.approved.row
        return f"{d.folder or row.kind}/{d.approved.base_name}{row.ext}"
    arcname = getattr(d, "arcname", None)
    if callable(arcname):
        return arcname()
    raise ValueError(f"cannot tell where {d.name} is delivered")


def rewrite_media_urls(document: bytes, targets: dict[str, str], sizes: dict[str, int] | None = None) -> bytes:
    """``document`` with each media element whose URL is a key of ``targets`` pointing at its
    value; a media URL that is not a key is an error (it would name a file nobody receives).
    ``sizes`` (by the old URL) sets the ``fileSize`` of ``MediaFile`` and ``Mezzanine``: the
    delivered files are re-signed, so only the export knows their sizes."""
    root = SafeET.fromstring(document, forbid_dtd=True)
    for el in root.iter():
        local = el.tag.rsplit("}", 1)[-1]
        if local in MEDIA_TAGS and el.text and el.text.strip():
            url = el.text.strip()
            if url not in targets:
                raise ValueError(f"the VAST document's {local} {url!r} is none of this creative's files")
            el.text = targets[url]
            if local in ("MediaFile", "Mezzanine") and sizes and url in sizes:
                el.set("fileSize", str(sizes[url]))
    ET.register_namespace("", VAST_NS)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


