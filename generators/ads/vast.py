"""IAB VAST 4.2 documents, built with ElementTree in the schema's element order (namespace
``http://www.iab.com/VAST``), and :func:`validate_vast`: the rules ad servers reject a document
for (clear messages for the usual mistakes, URL schemes the XSD's ``anyURI`` lets through), then
the IAB's own XSD (``assets/ads/schemas/vast_4.2.xsd``, shipped under CC BY 3.0, see the NOTICE
beside it) with ``xmlschema``: libxml2 checks ``xs:anyURI`` more strictly than XSD 1.0 and would
reject the bracket macros. :func:`require_valid_vast` is what every writer calls: a document
that fails is an error naming its first problem, never written or delivered.

Text goes in as element text and attribute values, so ElementTree escapes it (``&``, ``<``,
``>``, quotes); nothing is pasted into markup, so a product called ``]]></AdTitle>`` is a title,
not a tag. Tracking URLs may carry VAST macros (``[ADSERVINGID]``, ``[CACHEBUSTING]``), which
the player substitutes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from workbench.errors import GenerationError

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "assets" / "ads" / "schemas" / "vast_4.2.xsd"
NS = "http://www.iab.com/VAST"
VERSION = "4.2"
LINEAR_EVENTS = ("start", "firstQuartile", "midpoint", "thirdQuartile", "complete")
TRACKING_EVENTS = frozenset({
    "mute", "unmute", "pause", "resume", "rewind", "skip", "playerExpand", "playerCollapse", "loaded", "start",
    "firstQuartile", "midpoint", "thirdQuartile", "complete", "progress", "closeLinear", "creativeView",
    "acceptInvitation", "adExpand", "adCollapse", "minimize", "close", "overlayViewDuration", "otherAdInteraction",
    "interactiveStart",
})
_TIME = re.compile(r"^([0-9]{2}):([0-5][0-9]):([0-5][0-9])(\.[0-9]{3})?$")
_MACRO = re.compile(r"\[[A-Z_]+\]")

ET.register_namespace("", NS)


def duration_text(seconds: float) -> str:
    """``HH:MM:SS.mmm`` as VAST (and xs:time) write a duration."""
    if not 0 <= seconds < 86400:
        raise ValueError(f"a VAST duration is 0 to 24 h, got {seconds}")
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


@dataclass(frozen=True)
class Tracking:
    event: str
    url: str
    offset: str | None = None  # for "progress"


@dataclass(frozen=True)
class MediaFile:
    url: str
    width: int
    height: int
    type: str = "video/mp4"
    delivery: Literal["progressive", "streaming"] = "progressive"
    bitrate: int | None = None  # kbit/s
    codec: str | None = None  # RFC 6381, e.g. "avc1.640028"
    file_size: int | None = None  # bytes


@dataclass(frozen=True)
class InteractiveFile:
    """An ``InteractiveCreativeFile``: the SIMID creative a player loads beside the media."""

    url: str
    type: str = "text/html"
    api_framework: str = "SIMID"
    variable_duration: bool | None = None


@dataclass(frozen=True)
class LinearCreative:
    """A video spot: MediaFiles (one or more renditions), its Duration, click-through, tracking;
    a mezzanine master for ad stitchers and an interactive (SIMID) layer with its AdParameters."""

    duration_s: float
    media_files: tuple[MediaFile, ...]
    click_through: str | None = None
    tracking: tuple[Tracking, ...] = ()
    mezzanine: MediaFile | None = None
    interactive: tuple[InteractiveFile, ...] = ()
    ad_parameters: str | None = None  # what the interactive layer is initialised with (SIMID creativeData)


@dataclass(frozen=True)
class NonLinearCreative:
    """A pause ad or overlay: a still (StaticResource) or an iframe, its click-through."""

    width: int
    height: int
    static_url: str | None = None
    creative_type: str = "image/jpeg"
    iframe_url: str | None = None
    click_through: str | None = None
    min_suggested_duration_s: float | None = None
    api_framework: str | None = None  # "SIMID" for an interactive IFrameResource
    tracking: tuple[Tracking, ...] = ()  # on NonLinearAds (creativeView…)
    id: str | None = None
    ad_parameters: str | None = None  # the SIMID creative's data (creativeData.adParameters)


@dataclass(frozen=True)
class Creative:
    universal_ad_id: str
    linear: LinearCreative | None = None
    nonlinear: NonLinearCreative | None = None
    id: str | None = None
    ad_id: str | None = None
    id_registry: str = "creative-workbench"


@dataclass(frozen=True)
class Category:
    code: str
    authority: str = "https://www.iabtechlab.com/categoryauthority"  # IAB Content Taxonomy


@dataclass(frozen=True)
class Pricing:
    amount: Decimal
    currency: str
    model: Literal["CPM", "CPC", "CPE", "CPV"] = "CPM"


@dataclass(frozen=True)
class VastAd:
    """One InLine ad (the workbench never writes Wrappers: it is the ad server of record)."""

    id: str
    ad_serving_id: str
    title: str
    creatives: tuple[Creative, ...]
    impressions: tuple[str, ...]
    errors: tuple[str, ...] = ()
    ad_system: str = "Creative Workbench"
    ad_system_version: str | None = None
    advertiser: str | None = None
    description: str | None = None
    categories: tuple[Category, ...] = ()
    pricing: Pricing | None = None


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str | None) -> ET.Element:
    el = ET.SubElement(parent, _q(tag), {k: v for k, v in attrs.items() if v is not None})
    if text is not None:
        el.text = text
    return el


def _tracking(parent: ET.Element, events: tuple[Tracking, ...]) -> None:
    if not events:
        return
    te = _sub(parent, "TrackingEvents")
    for t in events:
        _sub(te, "Tracking", t.url, event=t.event, offset=t.offset)


def _media(parent: ET.Element, tag: str, m: MediaFile) -> None:
    # Mezzanine has no bitrate attribute in the schema (it is a master, not a rendition to pick)
    bitrate = None if m.bitrate is None or tag == "Mezzanine" else str(m.bitrate)
    _sub(parent, tag, m.url, delivery=m.delivery, type=m.type, width=str(m.width), height=str(m.height),
         codec=m.codec, bitrate=bitrate, fileSize=None if m.file_size is None else str(m.file_size))


def build_vast(*ads: VastAd) -> bytes:
    """A VAST 4.2 document of these InLine ads, UTF-8 with its XML declaration."""
    root = ET.Element(_q("VAST"), {"version": VERSION})
    for ad in ads:
        ad_el = _sub(root, "Ad", id=ad.id)
        inline = _sub(ad_el, "InLine")
        # the schema's order: AdSystem, Error*, Impression+, Pricing?, then AdServingId,
        # AdTitle, Advertiser?, Category*, Creatives, Description?
        _sub(inline, "AdSystem", ad.ad_system, version=ad.ad_system_version)
        for url in ad.errors:
            _sub(inline, "Error", url)
        for url in ad.impressions:
            _sub(inline, "Impression", url)
        if ad.pricing is not None:
            _sub(inline, "Pricing", f"{ad.pricing.amount:f}", model=ad.pricing.model, currency=ad.pricing.currency)
        _sub(inline, "AdServingId", ad.ad_serving_id)
        _sub(inline, "AdTitle", ad.title)
        if ad.advertiser:
            _sub(inline, "Advertiser", ad.advertiser)
        for c in ad.categories:
            _sub(inline, "Category", c.code, authority=c.authority)
        creatives = _sub(inline, "Creatives")
        for n, c in enumerate(ad.creatives, 1):
            cr = _sub(creatives, "Creative", id=c.id, adId=c.ad_id, sequence=str(n))
            if c.linear is not None:
                lin = _sub(cr, "Linear")
                _tracking(lin, c.linear.tracking)
                if c.linear.ad_parameters is not None:
                    _sub(lin, "AdParameters", c.linear.ad_parameters)
                _sub(lin, "Duration", duration_text(c.linear.duration_s))
                files = _sub(lin, "MediaFiles")
                for m in c.linear.media_files:
                    _media(files, "MediaFile", m)
                if c.linear.mezzanine is not None:
                    _media(files, "Mezzanine", c.linear.mezzanine)
                for f in c.linear.interactive:
                    _sub(files, "InteractiveCreativeFile", f.url, type=f.type, apiFramework=f.api_framework,
                         variableDuration=None if f.variable_duration is None else str(f.variable_duration).lower())
                if c.linear.click_through:
                    _sub(_sub(lin, "VideoClicks"), "ClickThrough", c.linear.click_through)
            if c.nonlinear is not None:
                nl = c.nonlinear
                ads_el = _sub(cr, "NonLinearAds")
                _tracking(ads_el, nl.tracking)
                el = _sub(ads_el, "NonLinear", id=nl.id, width=str(nl.width), height=str(nl.height),
                          minSuggestedDuration=None if nl.min_suggested_duration_s is None
                          else duration_text(nl.min_suggested_duration_s),
                          apiFramework=nl.api_framework, scalable="true", maintainAspectRatio="true")
                if nl.iframe_url:
                    _sub(el, "IFrameResource", nl.iframe_url)
                if nl.static_url:
                    _sub(el, "StaticResource", nl.static_url, creativeType=nl.creative_type)
                if nl.ad_parameters is not None:
                    _sub(el, "AdParameters", nl.ad_parameters)
                if nl.click_through:
                    _sub(el, "NonLinearClickThrough", nl.click_through)
            _sub(cr, "UniversalAdId", c.universal_ad_id, idRegistry=c.id_registry)
        if ad.description:
            _sub(inline, "Description", ad.description)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


# -- checking ---------------------------------------------------------------------------------------

_INLINE_ORDER = ("AdSystem", "Error", "Extensions", "Impression", "Pricing", "ViewableImpression", "AdServingId",
                 "AdTitle", "AdVerifications", "Advertiser", "Category", "Creatives", "Description", "Expires", "Survey")
_INLINE_REQUIRED = ("AdSystem", "Impression", "AdServingId", "AdTitle", "Creatives")
_CREATIVE_ORDER = ("CompanionAds", "CreativeExtensions", "Linear", "NonLinearAds", "UniversalAdId")
_LINEAR_ORDER = ("Icons", "TrackingEvents", "AdParameters", "Duration", "MediaFiles", "VideoClicks")
_URL_TAGS = {"Impression", "Error", "Tracking", "MediaFile", "Mezzanine", "ClickThrough", "ClickTracking",
             "StaticResource", "IFrameResource", "NonLinearClickThrough", "NonLinearClickTracking",
             "InteractiveCreativeFile"}


def url_problem(url: str | None) -> str | None:
    """Why ``url`` is no http(s) URL an ad server may call (macros allowed), or None."""
    if not url or not url.strip():
        return "is empty"
    url = url.strip()
    if any(c.isspace() for c in url):
        return "has blanks in it"
    bare = _MACRO.sub("0", url)
    try:
        parts = urlsplit(bare)
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"must be an absolute http(s) URL, got {url[:60]!r}"
    return None


def _local(tag: str) -> str:
    return tag.split("}", 1)[1] if tag.startswith("{") else tag


def _in_order(children: list[str], order: tuple[str, ...]) -> bool:
    rank = [order.index(c) for c in children if c in order]
    return rank == sorted(rank)


def validate_vast(xml_bytes: bytes) -> list[str]:
    """Problems that make a VAST 4.2 document invalid (empty: none). Parsed with defusedxml: a
    DTD or entity declaration is itself a problem (no billion laughs, no external entities)."""
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    problems: list[str] = []
    try:
        root = DET.fromstring(xml_bytes, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        return [f"refused: {type(exc).__name__} (no DTD or entity declarations in VAST)"]
    except ET.ParseError as exc:
        return [f"not well-formed XML: {exc}"]
    if root.tag != _q("VAST"):
        return [f"the root element must be VAST in the namespace {NS}, got {root.tag}"]
    if root.get("version") != VERSION:
        problems.append(f'VAST version must be "{VERSION}", got {root.get("version")!r}')
    ads = [c for c in root if c.tag == _q("Ad")]
    if not ads and not [c for c in root if c.tag == _q("Error")]:
        problems.append("VAST needs an Ad (or an Error for no ad)")
    for i, ad in enumerate(ads, 1):
        where = f"Ad {i}"
        inner = [c for c in ad if _local(c.tag) in ("InLine", "Wrapper")]
        if len(inner) != 1:
            problems.append(f"{where}: needs exactly one InLine or Wrapper")
            continue
        if _local(inner[0].tag) == "InLine":
            problems += _check_inline(inner[0], where)
    for el in root.iter():
        name = _local(el.tag)
        if el.tag.startswith("{") and not el.tag.startswith(f"{{{NS}}}") and name not in ("Extension",):
            continue
        if name in _URL_TAGS:
            why = url_problem(el.text)
            if why:
                problems.append(f"{name} URL {why}")
        if name == "Tracking" and el.get("event") not in TRACKING_EVENTS:
            problems.append(f"Tracking event {el.get('event')!r} is not a VAST 4.2 event")
        if name == "InteractiveCreativeFile" and el.get("apiFramework") == "SIMID" and el.get("type") != "text/html":
            problems.append('a SIMID InteractiveCreativeFile must have type="text/html"')
        if name == "NonLinear" and el.get("apiFramework") == "SIMID" and el.find(_q("IFrameResource")) is None:
            problems.append("a SIMID NonLinear needs an IFrameResource (the creative's page)")
    return problems + schema_problems(xml_bytes)


@lru_cache(maxsize=1)
def _schema() -> Any:
    import xmlschema

    if not SCHEMA_PATH.is_file():
        raise GenerationError(f"the IAB VAST 4.2 schema is missing ({SCHEMA_PATH}): reinstall the workbench")
    # the schema is local and imports nothing: no resource may be fetched while loading or validating
    return xmlschema.XMLSchema(str(SCHEMA_PATH), allow="sandbox", defuse="always")


def schema_problems(xml_bytes: bytes) -> list[str]:
    """What the IAB VAST 4.2 XSD finds wrong with ``xml_bytes`` (empty: it validates). Call on a
    document :func:`validate_vast` parsed: DTDs and entities are refused before this point."""
    import xmlschema

    resource = xmlschema.XMLResource(xml_bytes, allow="none", defuse="always")
    return [f"XSD: {' '.join(str(e.reason or e.message).split())[:300]} (at {e.path or '/'})"
            for e in _schema().iter_errors(resource)]


def require_valid_vast(xml_bytes: bytes, what: str = "the VAST document") -> bytes:
    """``xml_bytes`` when it is valid VAST 4.2 (our checks and the IAB XSD), else GenerationError
    naming the first problem: an invalid document is never written or delivered."""
    problems = validate_vast(xml_bytes)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise GenerationError(f"{what} is not valid VAST 4.2: {problems[0]}{more}")
    return xml_bytes


def _check_inline(inline: ET.Element, where: str) -> list[str]:
    problems: list[str] = []
    names = [_local(c.tag) for c in inline]
    for req in _INLINE_REQUIRED:
        if req not in names:
            problems.append(f"{where}: InLine is missing the required {req}")
    for once in ("AdSystem", "AdServingId", "AdTitle", "Creatives", "Pricing", "Description"):
        if names.count(once) > 1:
            problems.append(f"{where}: InLine has {names.count(once)} {once} (at most one)")
    unknown = [n for n in names if n not in _INLINE_ORDER]
    if unknown:
        problems.append(f"{where}: InLine has unknown element(s) {', '.join(unknown)}")
    if not _in_order(names, _INLINE_ORDER):
        problems.append(f"{where}: InLine elements are out of the schema's order ({', '.join(names)})")
    for el in inline:
        name = _local(el.tag)
        if name in ("AdSystem", "AdServingId", "AdTitle") and not (el.text or "").strip():
            problems.append(f"{where}: {name} is empty")
        if name == "Category" and not el.get("authority"):
            problems.append(f"{where}: Category needs an authority")
        if name == "Pricing":
            try:
                Decimal((el.text or "").strip())
            except ArithmeticError:
                problems.append(f"{where}: Pricing {el.text!r} is not a decimal")
            if (el.get("model") or "").upper() not in ("CPC", "CPM", "CPE", "CPV"):
                problems.append(f"{where}: Pricing model must be CPC, CPM, CPE or CPV")
            if not re.fullmatch(r"[A-Za-z]{3}", el.get("currency") or ""):
                problems.append(f"{where}: Pricing currency must be a 3-letter code")
    creatives = inline.find(_q("Creatives"))
    if creatives is not None:
        items = [c for c in creatives if c.tag == _q("Creative")]
        if not items:
            problems.append(f"{where}: Creatives needs at least one Creative")
        for n, c in enumerate(items, 1):
            problems += _check_creative(c, f"{where} Creative {n}")
    return problems


def _check_creative(c: ET.Element, where: str) -> list[str]:
    problems: list[str] = []
    names = [_local(e.tag) for e in c]
    if "UniversalAdId" not in names:
        problems.append(f"{where}: UniversalAdId is required in VAST 4")
    for u in c.findall(_q("UniversalAdId")):
        if not u.get("idRegistry") or not (u.text or "").strip():
            problems.append(f"{where}: UniversalAdId needs an idRegistry and a value")
    if not _in_order(names, _CREATIVE_ORDER):
        problems.append(f"{where}: elements out of the schema's order ({', '.join(names)})")
    if names.count("Linear") + names.count("NonLinearAds") + names.count("CompanionAds") == 0:
        problems.append(f"{where}: needs a Linear, NonLinearAds or CompanionAds")
    for lin in c.findall(_q("Linear")):
        lnames = [_local(e.tag) for e in lin]
        if not _in_order(lnames, _LINEAR_ORDER):
            problems.append(f"{where}: Linear elements out of the schema's order ({', '.join(lnames)})")
        dur = lin.find(_q("Duration"))
        if dur is None or not _TIME.match((dur.text or "").strip()):
            problems.append(f"{where}: Linear needs a Duration as HH:MM:SS(.mmm), got {None if dur is None else dur.text!r}")
        files = lin.find(_q("MediaFiles"))
        media = [] if files is None else files.findall(_q("MediaFile"))
        if not media:
            problems.append(f"{where}: Linear needs MediaFiles with at least one MediaFile")
        for m in media:
            if m.get("delivery") not in ("progressive", "streaming"):
                problems.append(f"{where}: MediaFile delivery must be progressive or streaming")
            if not m.get("type"):
                problems.append(f"{where}: MediaFile needs a type")
            for attr in ("width", "height", "bitrate"):
                value = m.get(attr)
                if (value is None and attr != "bitrate") or (value is not None and not value.isdigit()):
                    problems.append(f"{where}: MediaFile {attr} must be a whole number, got {value!r}")
    for nla in c.findall(_q("NonLinearAds")):
        for nl in nla.findall(_q("NonLinear")):
            for attr in ("width", "height"):
                if not (nl.get(attr) or "").isdigit():
                    problems.append(f"{where}: NonLinear {attr} must be a whole number")
            msd = nl.get("minSuggestedDuration")
            if msd is not None and not _TIME.match(msd):
                problems.append(f"{where}: NonLinear minSuggestedDuration {msd!r} is not HH:MM:SS(.mmm)")
            resources = [e for e in nl if _local(e.tag) in ("StaticResource", "IFrameResource", "HTMLResource")]
            if not resources:
                problems.append(f"{where}: NonLinear needs a StaticResource, IFrameResource or HTMLResource")
            for s in nl.findall(_q("StaticResource")):
                if not s.get("creativeType"):
                    problems.append(f"{where}: StaticResource needs a creativeType")
            order = [_local(e.tag) for e in nl]
            if not _in_order(order, ("HTMLResource", "IFrameResource", "StaticResource", "AdParameters",
                                     "NonLinearClickThrough", "NonLinearClickTracking")):
                problems.append(f"{where}: NonLinear elements out of the schema's order ({', '.join(order)})")
    return problems
