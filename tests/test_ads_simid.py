"""The shoppable layer's SIMID creative, run for real in headless Chromium: a minimal SIMID player
written here (served from one 127.0.0.1 origin) reads a VAST document the workbench built, frames
the creative page it names (served from another origin, as an ad CDN would), performs the SIMID
handshake (createSession → resolve → Player:init → resolve → Player:startCreative → resolve)
and sends time updates. The right card shows at the right time with a QR code that decodes to its
URL; a click is a clickThru to the exact tracking URL; hostile product names are literal text;
bad hotspot data is rejected; the close button asks the player to stop."""

from __future__ import annotations

import functools
import http.server
import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from generators.ads.qr import decode_qr, tracking_url
from generators.ads.simid import (
    CREATIVE_PATH,
    FORMAT,
    SimidHotspot,
    ad_parameters,
    copy_creative,
    qr_matrix,
)
from generators.ads.vast import (
    NS,
    Creative,
    NonLinearCreative,
    VastAd,
    build_vast,
    validate_vast,
)
from tests.ui_support import chromium_browser
from workbench.deliveries.vast import rewrite_media_urls
from workbench.errors import InvalidInput

pytestmark = pytest.mark.timeout(300)
BASE = "https://t.example.com/ads"
CDN_PAGE = "https://cdn.example.com/media/shoppable_simid.html"
HOSTILE = '<img src=x onerror="window.parent.postMessage(\'pwned\',\'*\')"> ]]> &amp; "Mug"'

PLAYER = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>SIMID test player</title>
<style>html,body{margin:0;background:#000}#slot{position:absolute;left:0;top:0;width:960px;height:540px;border:0}</style>
</head><body>
<script>
"use strict";
// A minimal SIMID 1.1 player: one NonLinear ad read from a VAST document, one session.
window.harness = { messages: [], session: null, ready: false, rejected: null, stops: 0, nextId: 0 };
var h = window.harness, frame = null;
function send(type, args) {
  var m = { sessionId: h.session, messageId: h.nextId++, timestamp: Date.now(), type: type, args: args || {} };
  frame.contentWindow.postMessage(JSON.stringify(m), "*");
  return m.messageId;
}
var pending = {};
function request(type, args) { return new Promise(function (ok, no) { pending[send(type, args)] = [ok, no]; }); }
window.addEventListener("message", function (event) {
  if (!frame || event.source !== frame.contentWindow) { return; }
  var m = typeof event.data === "string" ? JSON.parse(event.data) : event.data;
  h.messages.push(m);
  if (m.type === "createSession") {
    h.session = m.sessionId;
    send("resolve", { messageId: m.messageId, value: {} });
    request("SIMID:Player:init", {
      environmentData: { videoDimensions: { x: 0, y: 0, width: 960, height: 540 },
                         creativeDimensions: { x: 0, y: 0, width: 960, height: 540 }, fullscreen: false,
                         fullscreenAllowed: false, variableDurationAllowed: false, skippableState: "notSkippable",
                         version: "1.1", navigationSupport: "playerHandles", closeButtonSupport: "adHandles",
                         nonlinearDuration: 600 },
      creativeData: { adParameters: h.adParameters, clickThruUrl: "" } })
      .then(function () { return request("SIMID:Player:startCreative", {}); })
      .then(function () { h.ready = true; }, function (why) { h.rejected = why; });
    return;
  }
  if (m.sessionId !== h.session) { return; }
  if (m.type === "resolve" || m.type === "reject") {
    var p = pending[m.args.messageId];
    if (p) { delete pending[m.args.messageId]; (m.type === "resolve" ? p[0] : p[1])(m.args.value); }
    return;
  }
  if (m.type === "SIMID:Creative:requestStop") { h.stops++; send("resolve", { messageId: m.messageId }); }
  if (m.type === "SIMID:Creative:clickThru" || m.type === "SIMID:Creative:reportTracking") {
    send("resolve", { messageId: m.messageId });
  }
});
h.time = function (t) { send("SIMID:Media:timeupdate", { currentTime: t }); };
h.stop = function () { return request("SIMID:Player:adStopped", { code: 1 }); };
h.resize = function () { send("SIMID:Player:resize", { mediaDimensions: { x: 0, y: 0, width: 960, height: 540 },
                                                       creativeDimensions: { x: 0, y: 0, width: 960, height: 540 },
                                                       fullscreen: false }); };
h.background = function () { return request("SIMID:Player:appBackgrounded", {}); };
// the ad: fetch the VAST, find the SIMID NonLinear, frame its IFrameResource with its AdParameters
fetch("ad.vast.xml").then(function (r) { return r.text(); }).then(function (xml) {
  var doc = new DOMParser().parseFromString(xml, "application/xml"), ns = "http://www.iab.com/VAST";
  var nl = Array.prototype.filter.call(doc.getElementsByTagNameNS(ns, "NonLinear"),
                                       function (n) { return n.getAttribute("apiFramework") === "SIMID"; })[0];
  h.adParameters = nl.getElementsByTagNameNS(ns, "AdParameters")[0].textContent;
  frame = document.createElement("iframe");
  frame.id = "slot";
  frame.src = nl.getElementsByTagNameNS(ns, "IFrameResource")[0].textContent.trim();
  document.body.appendChild(frame);
});
</script></body></html>
"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@pytest.fixture
def serve() -> Iterator:
    """serve(folder) -> http://127.0.0.1:<port>: a static server for the test's lifetime."""
    servers = []

    def start(folder: Path) -> str:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.fixture
def chromium():
    with chromium_browser() as b:
        yield b


def hotspots() -> list[SimidHotspot]:
    def one(n: int, sku: str, name: str, start: float, end: float, box) -> SimidHotspot:
        track = {"campaign": "spring-26", "creative": f"sh-{n:016d}", "placement": f"t1-s{n}-f{n * 100}"}
        return SimidHotspot(id=f"sh-{n:016d}", sku=sku, brand="Acme <Brand>", name=name, price_text="12,50\xa0€",
                            start=start, end=end, box=box, click_url=tracking_url(BASE, event="click", **track),
                            view_url=tracking_url(BASE, event="view", macros=True, **track),
                            qr_url=tracking_url(BASE, **track))
    return [one(1, "MUG-1", HOSTILE, 2.0, 6.0, (0.60, 0.62, 0.33, 0.30)),
            one(2, "LAMP-2", "Reading Lamp", 8.0, 12.0, (0.05, 0.05, 0.33, 0.30))]


def vast_with(params: str) -> bytes:
    ad = VastAd(id="sh-1", ad_serving_id="asid-1", title="Shoppable", impressions=(f"{BASE}/impression?c=x",),
                creatives=(Creative(universal_ad_id="sh-1", id="sh-1", nonlinear=NonLinearCreative(
                    width=1920, height=1080, iframe_url=CDN_PAGE, api_framework="SIMID", ad_parameters=params,
                    min_suggested_duration_s=12.0)),))
    return build_vast(ad)


def player_page(tmp_path: Path, serve, params: str) -> tuple[str, str]:
    """The player's folder (with the VAST re-pointed at the creative's origin) and its URL."""
    creative_dir, player_dir = tmp_path / "cdn", tmp_path / "player"
    creative_dir.mkdir()
    player_dir.mkdir()
    copy_creative(creative_dir)
    cdn = serve(creative_dir)
    doc = vast_with(params)
    assert validate_vast(doc) == []
    local = rewrite_media_urls(doc, {CDN_PAGE: f"{cdn}/shoppable_simid.html"})  # as export re-points it
    (player_dir / "ad.vast.xml").write_bytes(local)
    (player_dir / "index.html").write_text(PLAYER, "utf-8")
    return serve(player_dir) + "/index.html", cdn


def open_player(chromium, url: str):
    page = chromium.new_page(viewport={"width": 960, "height": 540})
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function("window.harness.ready === true || window.harness.rejected !== null", timeout=15_000)
    return page, dialogs, errors


def creative_frame(page):
    [frame] = [f for f in page.frames if f.url.endswith("/shoppable_simid.html")]
    return frame


def messages(page, type_: str) -> list[dict]:
    return [m for m in page.evaluate("window.harness.messages") if m["type"] == type_]


def test_the_handshake_the_cards_at_their_times_and_a_click_through(chromium, serve, tmp_path) -> None:
    spots = hotspots()
    url, cdn = player_page(tmp_path, serve, ad_parameters(spots))
    page, dialogs, errors = open_player(chromium, url)
    assert page.evaluate("window.harness.rejected") is None and page.evaluate("window.harness.ready")
    # 1. the handshake as SIMID orders it: createSession first, message ids counting from 0
    sent = page.evaluate("window.harness.messages")
    assert sent[0]["type"] == "createSession" and sent[0]["messageId"] == 0
    assert [m["type"] for m in sent[1:3]] == ["resolve", "resolve"]  # init, then startCreative
    assert all(m["sessionId"] == sent[0]["sessionId"] for m in sent)
    frame = creative_frame(page)
    assert frame.url.startswith(cdn)  # the creative runs in its own origin
    cards = frame.locator(".card")
    # 2. the right card at the right time, and none outside the ranges
    page.evaluate("window.harness.time(1.0)")
    page.wait_for_timeout(150)
    assert cards.count() == 0
    page.evaluate("window.harness.time(3.5)")
    frame.wait_for_selector(".card[data-sku='MUG-1']")
    assert cards.count() == 1
    # hostile names are literal text: no element, no script, no dialog
    assert frame.locator(".card .name").text_content() == HOSTILE
    assert frame.locator(".card .brand").text_content() == "Acme <Brand>"
    assert frame.locator("img").count() == 0 and not dialogs
    assert "pwned" not in json.dumps(page.evaluate("window.harness.messages"))
    # the card sits at its box (shares of the 960x540 slot)
    box = frame.locator(".card").bounding_box()
    assert abs(box["x"] - 0.60 * 960) <= 2 and abs(box["y"] - 0.62 * 540) <= 2
    assert abs(box["width"] - 0.33 * 960) <= 2 and abs(box["height"] - 0.30 * 540) <= 2
    # its view tracker is reported once, through the player
    [report] = messages(page, "SIMID:Creative:reportTracking")
    assert report["args"]["trackingUrls"] == [spots[0].view_url]
    # the QR code on the page decodes to its URL (drawn from the module matrix, no image fetched)
    from io import BytesIO

    from PIL import Image

    png = frame.locator(".card canvas.qr").screenshot()
    assert decode_qr(np.asarray(Image.open(BytesIO(png)).convert("RGB")), scales=(1, 2, 3, 4)) == spots[0].qr_url
    # 3. later: the first card goes, the second comes
    page.evaluate("window.harness.time(9.0)")
    frame.wait_for_selector(".card[data-sku='LAMP-2']")
    assert cards.count() == 1 and frame.locator(".card[data-sku='MUG-1']").count() == 0
    page.evaluate("window.harness.resize()")  # the cards follow the slot's size; nothing to answer
    # 4. a click is a clickthrough to the exact tracking URL, which the player opens
    frame.locator(".card[data-sku='LAMP-2'] .name").click()
    page.wait_for_function("window.harness.messages.some(m => m.type === 'SIMID:Creative:clickThru')")
    [click] = messages(page, "SIMID:Creative:clickThru")
    assert click["args"]["url"] == spots[1].click_url and click["args"]["playerHandles"] is True
    assert click["args"]["url"].startswith(f"{BASE}/click?c=spring-26&cr=sh-0000000000000002")
    # 5. backgrounded, then stopped: each resolved, the layer cleared
    assert page.evaluate("window.harness.background().then(() => 'resolved')") == "resolved"
    assert page.evaluate("window.harness.stop().then(() => 'resolved')") == "resolved"
    assert cards.count() == 0
    page.evaluate("window.harness.time(3.5)")  # a stopped creative shows nothing again
    page.wait_for_timeout(150)
    assert cards.count() == 0
    assert not errors, errors


def test_the_close_button_asks_the_player_to_stop(chromium, serve, tmp_path) -> None:
    url, _cdn = player_page(tmp_path, serve, ad_parameters(hotspots()))
    page, _dialogs, errors = open_player(chromium, url)
    page.evaluate("window.harness.time(10.0)")
    frame = creative_frame(page)
    frame.wait_for_selector(".card[data-sku='LAMP-2'] .close")
    frame.locator(".card .close").click()
    page.wait_for_function("window.harness.stops === 1")
    assert frame.locator(".card").count() == 0
    assert not messages(page, "SIMID:Creative:clickThru")  # closing is not a click through
    assert not errors, errors


@pytest.mark.parametrize(("breaker", "needle"), [
    (lambda d: d["hotspots"][0].update(click_url="javascript:alert(1)"), "click_url must be an https URL"),
    (lambda d: d["hotspots"][0].update(click_url="http://t.example.com/click"), "click_url must be an https URL"),
    (lambda d: d["hotspots"][0].update(box=[0.5, 0.5, 2, 0.1]), "box must be four numbers"),
    (lambda d: d["hotspots"][0]["qr"].update(rows=["01", "1"]), "square matrix"),
    (lambda d: d.update(format="something-else"), "not creative-workbench/simid-hotspots@1"),
])
def test_bad_hotspot_data_is_rejected_at_init(chromium, serve, tmp_path, breaker, needle) -> None:
    data = json.loads(ad_parameters(hotspots()))
    breaker(data)
    url, _cdn = player_page(tmp_path, serve, json.dumps(data))
    page, dialogs, errors = open_player(chromium, url)
    rejected = page.evaluate("window.harness.rejected")
    assert rejected["errorCode"] == 1101 and needle in rejected["message"], rejected
    page.evaluate("window.harness.time(3.5)")
    page.wait_for_timeout(150)
    assert creative_frame(page).locator(".card").count() == 0 and not dialogs and not errors


def test_the_page_is_self_contained_and_builds_no_markup_from_data() -> None:
    html = CREATIVE_PATH.read_text("utf-8")
    for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function",
                   "<script src", "<link", "@import", "url("):
        assert banned not in html, banned
    assert "textContent" in html and "default-src 'none'" in html
    assert FORMAT in html


def test_the_python_side_refuses_what_the_page_would_refuse() -> None:
    spot = hotspots()[0]
    for bad in ({"click_url": "javascript:alert(1)"}, {"click_url": "http://t.example.com/x"}, {"start": 5.0, "end": 4.0},
                {"box": (0.5, 0.5, 1.5, 0.1)}):
        with pytest.raises(InvalidInput):
            ad_parameters([SimidHotspot(**{**spot.__dict__, **bad})])
    with pytest.raises(InvalidInput):
        ad_parameters([])
    data = json.loads(ad_parameters([spot]))
    assert data["format"] == FORMAT and data["hotspots"][0]["name"] == HOSTILE
    assert data["hotspots"][0]["qr"] == qr_matrix(spot.qr_url)
    assert ad_parameters([spot]).isascii()  # every non-ASCII character escaped
    # in the VAST the JSON is element text: escaped there, and equal once parsed back
    doc = vast_with(ad_parameters([spot]))
    assert validate_vast(doc) == []
    text = ET.fromstring(doc).find(f".//{{{NS}}}AdParameters").text
    assert json.loads(text) == data
