"""VAST 4.2 documents: what the builder writes validates against the IAB XSD the product ships
(assets/ads/schemas, byte-identical to ../shared/schemas when that is here) and against
:func:`validate_vast`, which runs the XSD itself; a document broken on purpose is caught by both
and refused by :func:`require_valid_vast` naming its first problem; hostile text comes out
escaped and parses back equal; DTDs and entities are refused."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal
from pathlib import Path

import pytest
import xmlschema

from generators.ads.vast import (
    LINEAR_EVENTS,
    NS,
    SCHEMA_PATH,
    Category,
    Creative,
    InteractiveFile,
    LinearCreative,
    MediaFile,
    NonLinearCreative,
    Pricing,
    Tracking,
    VastAd,
    build_vast,
    duration_text,
    require_valid_vast,
    schema_problems,
    validate_vast,
)
from workbench.errors import GenerationError

SHARED_XSD = Path(__file__).resolve().parents[1].parent / "shared" / "schemas" / "vast_4.2.xsd"
HOSTILE = 'Mug <b>&amp;</b> ]]> "quoted" \'single\' &lt; <!ENTITY x "y"> &x; \u00e9\u4e2d'
BASE = "https://t.example.com/ads"


@pytest.fixture(scope="module")
def schema():
    """The IAB schema as shipped with the product, loaded independently of the product's code."""
    return xmlschema.XMLSchema(str(SCHEMA_PATH))


def test_the_shipped_schema_is_the_iab_file_with_its_licence() -> None:
    notice = (SCHEMA_PATH.parent / "NOTICE").read_text("utf-8")
    assert "Creative Commons Attribution 3.0" in notice and "creativecommons.org/licenses/by/3.0" in notice
    assert "github.com/InteractiveAdvertisingBureau/vast" in notice and "4.2" in notice
    assert "DISCLAIMS ANY AND ALL EXPRESS, IMPLIED, OR STATUTORY WARRANTIES" in notice
    import hashlib

    assert hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest() in notice  # the NOTICE names the exact file


def test_the_shipped_schema_equals_the_shared_one() -> None:
    if not SHARED_XSD.exists():
        pytest.skip("../shared/schemas/vast_4.2.xsd is not here (a plain clone has no ../shared)")
    assert SCHEMA_PATH.read_bytes() == SHARED_XSD.read_bytes()


def _ad(title: str = "Acme – Mug", **over) -> VastAd:
    track = "?c=camp&cr=cr1&pl=pl1&asid=[ADSERVINGID]&cb=[CACHEBUSTING]"
    pause = Creative(universal_ad_id="cr1", id="cr1", nonlinear=NonLinearCreative(
        width=1920, height=1080, static_url="https://cdn.example.com/pause_1.jpg", click_through="https://shop.example.com/m?a=1&b=2",
        min_suggested_duration_s=5, tracking=(Tracking("creativeView", f"{BASE}/view{track}"),)))
    overlay = Creative(universal_ad_id="cr3", id="cr3", nonlinear=NonLinearCreative(
        width=1920, height=1080, iframe_url="https://cdn.example.com/shoppable.html", api_framework="SIMID",
        ad_parameters='{"hotspots": []}', min_suggested_duration_s=30))
    spot = Creative(universal_ad_id="cr2", id="cr2", linear=LinearCreative(
        duration_s=15.0,
        media_files=(MediaFile("https://cdn.example.com/spot_1080.mp4", 1920, 1080, bitrate=6000, codec="avc1.640028"),
                     MediaFile("https://cdn.example.com/spot_720.mp4", 1280, 720, bitrate=3000)),
        mezzanine=MediaFile("https://cdn.example.com/spot_mezz.mov", 1920, 1080, type="video/quicktime",
                            codec="apch", file_size=90_322_193),
        interactive=(InteractiveFile("https://cdn.example.com/shoppable.html"),),
        ad_parameters='{"hotspots": [{"sku": "A&B <1>"}]}',
        click_through="https://shop.example.com/m",
        tracking=tuple(Tracking(e, f"{BASE}/{e}{track}") for e in LINEAR_EVENTS)))
    fields = {"id": "ad1", "ad_serving_id": "asid-1", "title": title, "creatives": (pause, spot, overlay),
                  "impressions": (f"{BASE}/impression{track}",), "errors": (f"{BASE}/error{track}&code=[ERRORCODE]",),
                  "advertiser": "Acme", "categories": (Category("IAB8-5"),), "pricing": Pricing(Decimal("12.50"), "EUR"),
                  "description": "Coffee tastes better"}
    fields.update(over)
    return VastAd(**fields)


def test_a_full_document_validates_against_the_iab_xsd_and_our_checks(schema) -> None:
    doc = build_vast(_ad())
    assert validate_vast(doc) == []
    errors = list(schema.iter_errors(doc.decode("utf-8")))
    assert errors == [], [str(e)[:300] for e in errors]
    root = ET.fromstring(doc)
    assert root.tag == f"{{{NS}}}VAST" and root.get("version") == "4.2"
    durations = [e.text for e in root.iter(f"{{{NS}}}Duration")]
    assert durations == ["00:00:15.000"]
    events = [e.get("event") for e in root.iter(f"{{{NS}}}Tracking")]
    assert set(LINEAR_EVENTS) | {"creativeView"} == set(events)
    # SIMID: the spot's interactive file and the overlay's iframe, each with its AdParameters
    files = root.find(f".//{{{NS}}}MediaFiles")
    assert [_local(c.tag) for c in files] == ["MediaFile", "MediaFile", "Mezzanine", "InteractiveCreativeFile"]
    icf = files.find(f"{{{NS}}}InteractiveCreativeFile")
    assert (icf.get("type"), icf.get("apiFramework")) == ("text/html", "SIMID")
    linear = root.find(f".//{{{NS}}}Linear")
    assert [_local(c.tag) for c in linear][:3] == ["TrackingEvents", "AdParameters", "Duration"]
    assert linear.find(f"{{{NS}}}AdParameters").text == '{"hotspots": [{"sku": "A&B <1>"}]}'
    mezz = files.find(f"{{{NS}}}Mezzanine")
    assert mezz.get("type") == "video/quicktime" and mezz.get("fileSize") == "90322193" and mezz.get("bitrate") is None
    simid = [n for n in root.iter(f"{{{NS}}}NonLinear") if n.get("apiFramework") == "SIMID"]
    assert len(simid) == 1 and [_local(c.tag) for c in simid[0]] == ["IFrameResource", "AdParameters"]


def test_durations_are_hh_mm_ss_mmm() -> None:
    assert duration_text(0) == "00:00:00.000"
    assert duration_text(75.5) == "00:01:15.500"
    assert duration_text(3723.0004) == "01:02:03.000"
    with pytest.raises(ValueError):
        duration_text(-1)


def test_hostile_text_is_escaped_and_parses_back_equal(schema) -> None:
    doc = build_vast(_ad(title=HOSTILE, advertiser=HOSTILE, description=HOSTILE))
    assert b"<b>" not in doc and b"<!ENTITY" not in doc
    assert validate_vast(doc) == []
    assert list(schema.iter_errors(doc.decode("utf-8"))) == []
    root = ET.fromstring(doc)
    assert root.find(f".//{{{NS}}}AdTitle").text == HOSTILE
    assert root.find(f".//{{{NS}}}Advertiser").text == HOSTILE
    assert root.find(f".//{{{NS}}}Description").text == HOSTILE
    url = root.find(f".//{{{NS}}}NonLinearClickThrough").text
    assert url == "https://shop.example.com/m?a=1&b=2"


@pytest.mark.parametrize(("breaker", "needle"), [
    (lambda r: _drop(r, "UniversalAdId"), "UniversalAdId is required"),
    (lambda r: _drop(r, "AdServingId"), "missing the required AdServingId"),
    (lambda r: _drop(r, "Impression"), "missing the required Impression"),
    (lambda r: _drop(r, "AdTitle"), "missing the required AdTitle"),
    (lambda r: _drop(r, "Duration"), "needs a Duration"),
    (lambda r: _set(r, "Duration", "15 s"), "needs a Duration"),
    (lambda r: r.set("version", "3.0"), 'version must be "4.2"'),
    (lambda r: _set(r, "Impression", "javascript:alert(1)"), "http(s) URL"),
    (lambda r: _swap(r, "AdTitle", "AdServingId"), "out of the schema's order"),
    (lambda r: _drop(r, "MediaFile"), "at least one MediaFile"),
    (lambda r: _drop(r, "IFrameResource"), "SIMID NonLinear needs an IFrameResource"),
    (lambda r: _find(r, "InteractiveCreativeFile")[1].set("type", "video/mp4"), 'must have type="text/html"'),
])
def test_a_document_broken_on_purpose_is_caught(schema, breaker, needle) -> None:
    root = ET.fromstring(build_vast(_ad()))
    breaker(root)
    broken = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    problems = validate_vast(broken)
    assert any(needle in p for p in problems), problems
    # the XSD takes any anyURI and any version string, and knows nothing of SIMID's rules
    if needle not in ("http(s) URL", 'version must be "4.2"', "SIMID NonLinear needs an IFrameResource",
                      'must have type="text/html"'):
        assert list(schema.iter_errors(broken.decode("utf-8"))), "the XSD also refuses it"
        assert any(p.startswith("XSD: ") for p in problems), "validate_vast runs the XSD too"
    with pytest.raises(GenerationError, match=r"is not valid VAST 4\.2: ") as caught:
        require_valid_vast(broken, "the test's VAST")
    assert problems[0] in str(caught.value)  # the first problem, named


def test_what_only_the_schema_knows_is_caught_by_the_product() -> None:
    """An attribute value the XSD constrains (a Mezzanine delivery) that our own checks do not
    look at: the product still refuses the document, through the schema."""
    root = ET.fromstring(build_vast(_ad()))
    _find(root, "Mezzanine")[1].set("delivery", "carrier-pigeon")
    broken = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    problems = validate_vast(broken)
    assert problems and all(p.startswith("XSD: ") for p in problems), problems
    assert schema_problems(broken) == problems
    with pytest.raises(GenerationError, match="XSD: "):
        require_valid_vast(broken)
    assert require_valid_vast(build_vast(_ad())) == build_vast(_ad())


def test_dtds_and_entities_are_refused() -> None:
    laughs = (b'<?xml version="1.0"?><!DOCTYPE VAST [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
              b'<VAST xmlns="http://www.iab.com/VAST" version="4.2"><Error>&b;</Error></VAST>')
    problems = validate_vast(laughs)
    assert len(problems) == 1 and "refused" in problems[0]
    assert validate_vast(b"<VAST") and "not well-formed" in validate_vast(b"<VAST")[0]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(root: ET.Element, tag: str) -> tuple[ET.Element, ET.Element]:
    for parent in root.iter():
        for child in parent:
            if child.tag == f"{{{NS}}}{tag}":
                return parent, child
    raise AssertionError(tag)


def _drop(root: ET.Element, tag: str) -> None:
    while True:
        try:
            parent, child = _find(root, tag)
        except AssertionError:
            return
        parent.remove(child)


def _set(root: ET.Element, tag: str, text: str) -> None:
    _find(root, tag)[1].text = text


def _swap(root: ET.Element, a: str, b: str) -> None:
    parent, ea = _find(root, a)
    _, eb = _find(root, b)
    ia, ib = list(parent).index(ea), list(parent).index(eb)
    parent.remove(ea)
    parent.insert(ib, ea)
    assert ia != ib
