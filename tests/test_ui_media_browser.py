"""Seeing the work in a real browser (Debian's headless Chromium, Playwright), on the server
`workbench review` starts: the lightbox, the trailer player, compare (2-up, 4-up, the
before/after slider), click-to-pin, the sharper queue preview, the export preview of a vertical
video, and the session-checked media route they load from.

One catalog and one server serve the whole module: the UI's signed thumbnails of the sample
title (tests/ui_support.py), a real 6-second trailer of it in 16:9 and 9:16, and a second
version of one thumbnail slot (another signed picture of the same placement). The tests take the
screenshots shown in docs/review.md; they are written into docs/review/ only when asked
(``WORKBENCH_SCREENSHOTS=docs/review pytest tests/test_ui_media_browser.py`` after a deliberate
change to the pages), else into a temp folder, so a test run changes no tracked file.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import io
import os
import re
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.test_ui_review_browser import unnamed_controls
from tests.ui_support import (
    PASSWORD,
    WAIT_MS,
    chromium_browser,
    log_in,
    settle,
)

pytestmark = pytest.mark.timeout(900)

SHOTS_ENV = "WORKBENCH_SCREENSHOTS"
VIEWPORT = {"width": 1440, "height": 900}


# -- one catalog, one server, one browser for the module -------------------------------------------


@dataclass(frozen=True)
class Media:
    url: str
    home: Path
    still: int  # romance 16x9 thumbnail
    pin_still: int  # comedy 16x9 thumbnail
    slot_v1: int  # action 16x9 thumbnail, version 1
    slot_v2: int  # its version 2 (another signed picture of the placement)
    trailer: int  # the 16:9 trailer
    vertical: int  # the 9:16 trailer
    thumbnails: tuple[int, ...]  # the four 16x9 thumbnails' latest versions


def _build() -> dict[str, int]:
    """The trailer cut and the second version, in the home WORKBENCH_HOME names."""
    import sqlalchemy as sa

    from generators.trailers.kind import TrailerParams
    from workbench import review, workflow
    from workbench.catalog import open_catalog, repo
    from workbench.catalog.models import Variant

    made = workflow.generate("trailer", "Sample", TrailerParams(segments=("action",), durations=(6,),
                                                                formats=("16x9", "9x16")))
    cuts = {v.format: v.variant_id for v in made.variants}
    thumbs = {(r.segment, r.placement): r for r in review.query_variants(review.VariantFilter(kind="thumbnail"),
                                                                         per_page=100).items}
    with open_catalog().session() as session:
        base = session.get(Variant, thumbs[("action", "16x9")].id)
        other = session.get(Variant, thumbs[("romance", "16x9")].id)
        v2 = repo.add_variant(session, title=base.title, asset=other.asset, kind=base.kind, segment=base.segment,
                              format=base.format, score=base.score,
                              recipe={**base.recipe, "recipe_key": f"second-version-of-{base.id}"})
        v2_id = v2.id
        assert session.scalar(sa.select(Variant.version).where(Variant.id == v2_id)) == 2
    return {"still": thumbs[("romance", "16x9")].id, "pin_still": thumbs[("comedy", "16x9")].id,
            "slot_v1": thumbs[("action", "16x9")].id, "slot_v2": v2_id, "trailer": cuts["16x9"],
            "vertical": cuts["9x16"],
            "thumbnails": (v2_id, *(thumbs[(s, "16x9")].id for s in ("romance", "comedy", "drama")))}


@pytest.fixture(scope="module")
def media(tmp_path_factory, sample_title):
    from tests.ui_support import ReviewServer, copy_home, stop_broker, template_home
    from workbench.settings import reset_settings_cache

    template = template_home(tmp_path_factory, sample_title.path)
    home = tmp_path_factory.mktemp("media-ui") / "wb-home"
    with pytest.MonkeyPatch.context() as mp:
        copy_home(template, home)
        mp.setenv("WORKBENCH_HOME", str(home))
        mp.delenv("WORKBENCH_DATABASE_URL", raising=False)
        reset_settings_cache()
        try:
            ids = _build()
            server = ReviewServer(home, home.parent)
            try:
                yield Media(server.url, home, **ids)
            finally:
                server.stop()
                stop_broker(home)
        finally:
            reset_settings_cache()


@pytest.fixture(scope="module")
def chromium():
    with chromium_browser() as b:
        yield b


def new_page(chromium, scale: float = 1, **options):
    context = chromium.new_context(viewport=VIEWPORT, device_scale_factor=scale, **options)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


def row(variant_id: int):
    from workbench import review

    [found] = review.get_rows([variant_id])
    return found


@functools.cache
def shots_dir() -> Path:
    """Where screenshots go: the folder ``WORKBENCH_SCREENSHOTS`` names, else a temp folder."""
    chosen = os.environ.get(SHOTS_ENV)
    folder = Path(chosen).resolve() if chosen else Path(tempfile.mkdtemp(prefix="wb-screenshots-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_screenshot(page, name: str, *, height: int | None = None, top: object = None) -> Path:
    """A screenshot for docs/review.md: the viewport (``height`` px tall for this one, with the
    page scrolled so that ``top``, a locator, is near its top), as a PNG of 256 colours (a third
    of the size; a UI loses nothing to it)."""
    if height is not None:
        page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
    if top is not None:
        page.get_by_test_id("stMain").evaluate(
            "(main, el) => main.scrollBy(0, el.getBoundingClientRect().top - 90)", top.element_handle())
    page.mouse.move(1, 1)  # no hover toolbar over what is shown
    page.wait_for_timeout(300)
    raw = page.screenshot()
    if height is not None:
        page.set_viewport_size(VIEWPORT)
    path = shots_dir() / name
    picture = Image.open(io.BytesIO(raw)).convert("RGB")
    picture.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    assert path.stat().st_size > 10_000, path
    return path


def shadow(host_test_id: str, selector: str) -> str:
    """A script expression for an element inside the lightbox's shadow root."""
    return f"document.querySelector('[data-testid=\"{host_test_id}\"]').shadowRoot.querySelector('{selector}')"


# -- the media route: the session, a share link, ranges ------------------------------------------------


def fetch(url: str, *, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, parts.path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_the_media_route_serves_a_variant_only_to_a_live_session_or_a_share_link_naming_it(media):
    from workbench import review, shares
    from workbench.users import end_session, login

    still = row(media.still)
    file_url = f"{media.url}/_wb/media/{still.id}/file"
    # logged out, or with a made-up cookie: refused, and nothing of the file
    status, _, body = fetch(file_url)
    assert status == 403 and still.file_path.read_bytes()[:64] not in body
    assert fetch(file_url, headers={"Cookie": "wb_session=" + "A" * 43})[0] == 403

    actor, token = login("cara", PASSWORD)
    cookie = {"Cookie": f"wb_session={token}"}
    status, headers, body = fetch(file_url, headers=cookie)
    assert status == 200 and hashlib.sha256(body).hexdigest() == still.sha256  # the stored file itself
    assert headers["content-type"] == "image/jpeg" and headers["cache-control"] == "private, no-cache"
    assert headers["x-content-type-options"] == "nosniff"  # the security headers wrap this route too
    status, _, body = fetch(file_url, headers={**cookie, "If-None-Match": headers["etag"]})
    assert status == 304 and body == b""  # checked again, sent again only when changed

    # the player's file: the review copy, in byte ranges (the browser seeks with them)
    review_copy = next(p for r, p in review.variant_files(media.trailer).items() if r.startswith("rendition."))
    status, headers, body = fetch(f"{media.url}/_wb/media/{media.trailer}/play", headers={**cookie, "Range": "bytes=100-199"})
    assert status == 206 and body == review_copy.read_bytes()[100:200]
    assert headers["content-range"] == f"bytes 100-199/{review_copy.stat().st_size}"
    # previews by fixed names only; nothing else is a name
    status, headers, body = fetch(f"{media.url}/_wb/media/{still.id}/preview-640", headers=cookie)
    assert status == 200 and max(Image.open(io.BytesIO(body)).size) == 640
    for what in ("preview-999", "shot-1", "play", "..%2F..%2Fcatalog.sqlite", "file%00"):
        assert fetch(f"{media.url}/_wb/media/{still.id}/{what}", headers=cookie)[0] == 404, what
    assert fetch(f"{media.url}/_wb/media/99999/file", headers=cookie)[0] == 404
    assert fetch(file_url, method="POST", headers=cookie)[0] == 405

    # an outside reviewer's link: exactly its variants
    link = shares.create_share(actor, [media.trailer], label="Agency", access="view", ttl_s=3600)
    guest = {"Cookie": f"wb_share={link.token}"}
    assert fetch(f"{media.url}/_wb/media/{media.trailer}/play", headers=guest)[0] == 200
    assert fetch(file_url, headers=guest)[0] == 403
    shares.revoke_share(actor, link.share.id)
    assert fetch(f"{media.url}/_wb/media/{media.trailer}/play", headers=guest)[0] == 403

    # logged out: the same cookie is refused at once
    end_session(token)
    assert fetch(file_url, headers=cookie)[0] == 403


# -- the queue's previews and the lightbox -----------------------------------------------------------


def review_rows() -> list:
    from workbench import review

    return review.query_variants(per_page=100).items


CARD_PICTURES = "Array.from(document.querySelectorAll('[data-testid=\"stMain\"] .wb-card img'))"


def card_sides(page) -> list[int]:
    page.wait_for_function(f"() => {CARD_PICTURES}.every(i => i.complete && i.naturalWidth > 0)", timeout=WAIT_MS)
    return page.evaluate(f"() => {CARD_PICTURES}.map(i => Math.max(i.naturalWidth, i.naturalHeight))")


def test_queue_cards_get_the_sharper_cached_preview_on_a_2x_screen(media, chromium):
    context, page, errors = new_page(chromium, scale=2)
    log_in(page, f"{media.url}/?kind=thumbnail", "lou")
    page.wait_for_function(f"() => {CARD_PICTURES}.some(i => i.naturalWidth >= 600)", timeout=WAIT_MS)
    settle(page)
    assert set(card_sides(page)) == {640}  # the larger cached preview, never the 1920-px file
    cached = list((media.home / "previews").rglob(f"{row(media.still).sha256}-640.jpg"))
    assert len(cached) == 1
    assert not errors, errors
    context.close()


def most_detailed(path: Path, side: int) -> tuple[int, int]:
    """The top left corner of the ``side``-px square of a picture with the most fine detail
    (the largest mean Laplacian), on a 40-px grid."""
    with Image.open(path) as im:
        g = np.asarray(im.convert("L"), dtype=np.float32)
    lap = np.abs(4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:])
    _, u, v = max((lap[v:v + side, u:u + side].mean(), u, v) for v in range(0, lap.shape[0] - side, 40)
                  for u in range(0, lap.shape[1] - side, 40))
    return u, v


def transform(page) -> tuple[float, float, float]:
    """The lightbox picture's (scale, x, y) from its CSS transform."""
    css = page.evaluate(f"() => {shadow('wbLightbox', 'img')}.style.transform")
    x, y, s = map(float, re.fullmatch(r"translate\(([-\d.e]+)px, ([-\d.e]+)px\) scale\(([-\d.e]+)\)", css).groups())
    return s, x, y


def test_the_lightbox_zooms_and_pans_the_full_resolution_file(media, chromium):
    still = row(media.still)
    context, page, errors = new_page(chromium)
    log_in(page, media.url, "cara")
    page.get_by_text(f"{len(review_rows())} variants").first.wait_for(timeout=WAIT_MS)
    assert set(card_sides(page)) == {320}  # a 1x screen: the small preview is sharp enough
    assert not unnamed_controls(page), unnamed_controls(page)
    save_screenshot(page, "queue.png", height=1100)
    # one "Full size" button under each still's picture (videos have none), kept across a rerun
    stills = sorted(r.id for r in review_rows() if not r.is_video)
    zoom = page.get_by_role("button", name=re.compile(r"^Full size view of #\d+$"))

    def zoom_ids() -> list[int]:
        return sorted(int(n.rsplit("#", 1)[1]) for n in zoom.evaluate_all("bs => bs.map(b => b.ariaLabel)"))

    assert zoom_ids() == stills
    tick = page.locator("label.wb-tick").filter(has_text=re.compile(rf"^Select #{still.id}$"))
    tick.click()
    page.wait_for_function(f"() => document.querySelector('input[aria-label=\"Select #{still.id}\"]')?.checked",
                           timeout=WAIT_MS)
    settle(page)
    assert zoom_ids() == stills
    tick.click()
    settle(page)

    # opened from the card: the stored file, byte for byte
    with page.expect_response(lambda r: f"/_wb/media/{still.id}/file" in r.url, timeout=WAIT_MS) as got:
        page.get_by_role("button", name=f"Full size view of #{still.id}").click()
    assert hashlib.sha256(got.value.body()).hexdigest() == still.sha256
    dialog = page.get_by_role("dialog", name=f"Variant #{still.id} at full size")
    dialog.wait_for(timeout=WAIT_MS)
    page.wait_for_function(f"() => {shadow('wbLightbox', 'img')}.complete", timeout=WAIT_MS)
    natural = page.evaluate(f"() => [{shadow('wbLightbox', 'img')}.naturalWidth, {shadow('wbLightbox', 'img')}.naturalHeight]")
    assert natural == [still.width, still.height] == [1920, 1080]
    stage = dialog.get_by_label("Picture: drag to pan, wheel or + and - to zoom").bounding_box()
    fit, x0, y0 = transform(page)
    assert fit == pytest.approx(min(stage["width"] / 1920, stage["height"] / 1080), rel=1e-3)

    # the wheel zooms about the cursor: the picture's point under it stays under it
    px, py = round(stage["x"] + stage["width"] * 0.6), round(stage["y"] + stage["height"] * 0.4)  # mice are on whole pixels
    page.mouse.move(px, py)
    page.mouse.wheel(0, -300)
    page.wait_for_function(f"() => Number({shadow('wbLightbox', '.stage')}.dataset.scale) > {fit * 1.5}", timeout=WAIT_MS)
    s, x, y = transform(page)
    before = ((px - stage["x"] - x0) / fit, (py - stage["y"] - y0) / fit)
    after = ((px - stage["x"] - x) / s, (py - stage["y"] - y) / s)
    assert after == pytest.approx(before, abs=0.5)
    # a drag pans by as much as the pointer moved
    page.mouse.down()
    page.mouse.move(px - 150, py - 90, steps=6)
    page.mouse.up()
    s2, x2, y2 = transform(page)
    assert (s2, x2 - x, y2 - y) == pytest.approx((s, -150, -90), abs=0.5)
    save_screenshot(page, "lightbox.png")

    # 1: one pixel of the file per pixel of the screen; panned to the file's most detailed part,
    # the screen shows the file's own pixels there, not a small preview blown up
    page.keyboard.press("1")
    s, x, y = transform(page)
    assert s == 1
    u, v = most_detailed(still.file_path, 300)
    left, top = round(stage["x"] + stage["width"] / 2 - 150), round(stage["y"] + stage["height"] / 2 - 150)
    grab = (round(stage["x"] + x + u), round(stage["y"] + y + v))
    page.mouse.move(*grab)
    page.mouse.down()
    page.mouse.move(left, top, steps=6)
    page.mouse.up()
    s, x, y = transform(page)
    u, v = round(left - stage["x"] - x), round(top - stage["y"] - y)
    shown = np.asarray(Image.open(io.BytesIO(page.screenshot(clip={"x": left, "y": top, "width": 300, "height": 300})))
                       .convert("RGB"), dtype=np.float32)
    with Image.open(still.file_path) as im:
        original = np.asarray(im.convert("RGB").crop((u, v, u + 300, v + 300)), dtype=np.float32)
        small = im.convert("RGB").resize((320, 180), Image.Resampling.LANCZOS).resize((1920, 1080), Image.Resampling.BICUBIC)
    blurred = np.asarray(small.crop((u, v, u + 300, v + 300)), dtype=np.float32)
    assert np.abs(shown - original).mean() < 1.5  # the file's pixels, one to one
    assert np.abs(shown - blurred).mean() > 3 * np.abs(shown - original).mean()
    # + zooms in, 0 fits again, Escape closes; the app's own keys stay quiet meanwhile
    page.keyboard.press("+")
    assert transform(page)[0] == pytest.approx(1.25)
    page.keyboard.press("0")
    assert transform(page)[0] == pytest.approx(fit, rel=1e-3)
    page.keyboard.press("j")  # the queue's "next card": not while the lightbox is open
    page.wait_for_timeout(500)
    assert page.evaluate("() => document.activeElement?.type") != "checkbox"
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden", timeout=WAIT_MS)

    # from the variant page too; "a" (approve and next) does nothing while it is open
    page.goto(f"{media.url}/variant?id={still.id}")
    page.get_by_role("heading", name="Decide").wait_for(timeout=WAIT_MS)
    settle(page)
    page.get_by_role("button", name=f"Full size view of #{still.id}").click()
    dialog.wait_for(timeout=WAIT_MS)
    page.keyboard.press("a")
    page.wait_for_timeout(500)
    assert row(still.id).status == "pending"
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden", timeout=WAIT_MS)
    assert not errors, errors
    context.close()



def test_the_queue_cards_take_the_themes_colours(media, chromium):
    """The cards are drawn in the page (no shadow root, so no theme variables): their words, links
    and "Full size" buttons take the page's text colour, as Streamlit's own controls do, in the
    light and the dark theme, and the buttons stay clear."""
    for scheme in ("light", "dark"):
        context, page, errors = new_page(chromium, color_scheme=scheme)
        log_in(page, media.url, "cara")
        page.get_by_role("button", name=re.compile(r"^Full size view of #")).first.wait_for(timeout=WAIT_MS)
        settle(page)
        colours = page.evaluate("""() => {
          const own = getComputedStyle(Array.from(document.querySelectorAll('[data-testid="stMain"] button'))
            .find(b => b.innerText.trim() === 'Select page')).color;
          const cards = Array.from(document.querySelectorAll('.wb-card'));
          const texts = cards.flatMap(c => Array.from(c.querySelectorAll('.wb-name, .wb-links a, label.wb-tick')));
          return {cards: cards.length, texts: texts.map(t => getComputedStyle(t).color === own),
                  buttons: Array.from(document.querySelectorAll('button.wb-zoom')).map(b => {
                    const s = getComputedStyle(b);
                    return [s.color === own, s.backgroundColor];
                  })};
        }""")
        assert colours["cards"] and len(colours["texts"]) == 4 * colours["cards"] and all(colours["texts"]), \
            (scheme, colours)
        assert colours["buttons"] and all(same and bg == "rgba(0, 0, 0, 0)" for same, bg in colours["buttons"]), \
            (scheme, colours)
        assert not errors, errors
        context.close()


# -- the trailer player ----------------------------------------------------------------------------


def presented(page, action) -> float:
    """The media time of the frame the video presents after ``action`` (requestVideoFrameCallback:
    what is on the screen, not what was asked for)."""
    page.evaluate("() => { const v = document.querySelector('video'); window.__wbFrame = new Promise((done) => {"
                  " v.requestVideoFrameCallback((now, m) => done(m.mediaTime)); setTimeout(() => done(null), 10000); }); }")
    action()
    shown = page.evaluate("() => window.__wbFrame")
    assert shown is not None, "no new frame was presented"
    return shown


def test_the_trailer_player_steps_frames_seeks_shots_and_marks_timecoded_comments(media, chromium):
    from fractions import Fraction

    from workbench import comments
    from workbench.access import Actor

    trailer = row(media.trailer)
    details = trailer.recipe["details"]
    fps = Fraction(details["fps"])
    clips = details["clips"]
    assert fps == 25 and len(clips) >= 2
    note = comments.add_comment(Actor("cara", "creative"), trailer.id, "The door cut is late",
                                time=comments.TimeRange(2.0, 3.5))
    context, page, errors = new_page(chromium)
    log_in(page, f"{media.url}/variant?id={trailer.id}", "lou")
    marker = page.get_by_role("button", name=f"Comment {note.id} at 00:02.00–00:03.50")
    marker.wait_for(timeout=WAIT_MS)
    settle(page)
    page.wait_for_function("() => document.querySelector('video')?.readyState >= 2", timeout=WAIT_MS)
    readout = page.get_by_text(re.compile(r"^frame \d+ of \d+$"))
    assert readout.inner_text() == f"frame 1 of {details['frames']}"

    # the comment's marker sits at its time on the scrubber
    track = page.get_by_role("slider", name=f"Position in the video (#{trailer.id})").bounding_box()
    mark = marker.bounding_box()
    assert (mark["x"] + mark["width"] / 2 - track["x"]) / track["width"] == pytest.approx(2.0 / 6.0, abs=1.5 / track["width"])

    # a shot of the strip: the video goes to its first frame
    second = clips[1]
    start_frame = round(second["record_in"] * fps)
    shot = page.get_by_role("button", name=re.compile(rf"^Go to shot {second['n']} at .* \(#{trailer.id}\)$"))
    at = presented(page, shot.click)
    assert at == pytest.approx(start_frame / fps, abs=1e-3)
    assert shot.get_attribute("aria-current") == "true"
    assert readout.inner_text() == f"frame {start_frame + 1} of {details['frames']}"

    # frame stepping: exactly one frame of the file's own rate each way
    forward = presented(page, page.get_by_role("button", name=f"Forward one frame (#{trailer.id})").click)
    assert forward - at == pytest.approx(1 / fps, abs=1e-3)
    again = presented(page, page.get_by_role("button", name=f"Forward one frame (#{trailer.id})").click)
    assert again - forward == pytest.approx(1 / fps, abs=1e-3)
    back = presented(page, page.get_by_role("button", name=f"Back one frame (#{trailer.id})").click)
    assert back == pytest.approx(forward, abs=1e-3)
    assert readout.inner_text() == f"frame {start_frame + 2} of {details['frames']}"
    # the scrubber takes the keyboard: → one frame (and leaves the page's own j/→ alone)
    page.get_by_role("slider", name=f"Position in the video (#{trailer.id})").focus()
    stepped = presented(page, lambda: page.keyboard.press("ArrowRight"))
    page.wait_for_timeout(500)
    assert stepped - back == pytest.approx(1 / fps, abs=1e-3) and f"id={trailer.id}" in page.url

    # the marker goes to the comment's time, and so does the comment's own "Play from" link
    assert presented(page, marker.click) == pytest.approx(2.0, abs=1e-3)
    page.get_by_role("button", name=f"Back one frame (#{trailer.id})").click()
    page.get_by_role("button", name=f"Play from 00:02.00–00:03.50 (comment {note.id})").click()
    page.wait_for_function("() => new URLSearchParams(location.search).get('at') === '2.00'", timeout=WAIT_MS)
    page.wait_for_function("() => Math.abs(document.querySelector('video').currentTime - 2.0) < 0.01", timeout=WAIT_MS)
    settle(page)
    assert not unnamed_controls(page), unnamed_controls(page)
    page.get_by_test_id("stMain").evaluate("(main) => main.scrollTo(0, 0)")
    save_screenshot(page, "trailer-player.png", height=1500)
    assert not errors, errors
    context.close()


# -- compare ----------------------------------------------------------------------------------------


def frame_pixels(page, locator) -> np.ndarray:
    box = locator.bounding_box()
    return np.asarray(Image.open(io.BytesIO(page.screenshot(clip=box))).convert("RGB"), dtype=np.float32)


def preview_as_shown(variant_id: int, shape: tuple[int, int]) -> np.ndarray:
    from workbench.previews import preview_path

    found = row(variant_id)
    with Image.open(preview_path(found.sha256, found.ext, side=1280)) as im:
        return np.asarray(im.convert("RGB").resize((shape[1], shape[0]), Image.Resampling.BILINEAR), dtype=np.float32)


def middle(a: np.ndarray) -> np.ndarray:
    h, w = a.shape[:2]
    return a[h // 5: h * 4 // 5, w // 5: w * 4 // 5]


def test_compare_slider_reveals_the_other_version_and_n_up_shows_the_chosen(media, chromium):
    context, page, errors = new_page(chromium)
    log_in(page, f"{media.url}/compare?id={media.slot_v2}&view=slider", "cara")
    before_img = page.get_by_role("img", name=f"Before: #{media.slot_v1} v1")
    after_img = page.get_by_role("img", name=f"After: #{media.slot_v2} v2")
    for img in (before_img, after_img):
        img.wait_for(timeout=WAIT_MS)
        page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=img.element_handle(), timeout=WAIT_MS)
    settle(page)
    divider = page.get_by_role("slider", name=f"Divider between before (#{media.slot_v1} v1) and after (#{media.slot_v2} v2)")
    frame = before_img.locator("xpath=..")
    box = frame.bounding_box()

    # dragged far left: the middle of the frame is the after version; far right: the before one
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.1, box["y"] + box["height"] * 0.5, steps=8)
    page.mouse.up()
    assert divider.get_attribute("aria-valuenow") == "10"
    shown = frame_pixels(page, frame)
    old, new = preview_as_shown(media.slot_v1, shown.shape), preview_as_shown(media.slot_v2, shown.shape)
    assert np.abs(middle(shown) - middle(new)).mean() < 0.5 * np.abs(middle(shown) - middle(old)).mean()
    divider.focus()
    page.keyboard.press("End")
    for _ in range(10):
        page.keyboard.press("ArrowLeft")
    assert divider.get_attribute("aria-valuenow") == "90"
    shown = frame_pixels(page, frame)
    assert np.abs(middle(shown) - middle(old)).mean() < 0.5 * np.abs(middle(shown) - middle(new)).mean()
    page.keyboard.press("Shift+ArrowLeft")
    for _ in range(3):
        page.keyboard.press("Shift+ArrowLeft")
    assert divider.get_attribute("aria-valuenow") == "50" and f"id={media.slot_v2}" in page.url
    assert not unnamed_controls(page), unnamed_controls(page)
    page.get_by_test_id("stMain").evaluate("(main) => main.scrollTo(0, 0)")
    save_screenshot(page, "compare-slider.png", height=1100)

    # 4-up and 2-up: exactly the variants chosen (from the address, as a link would)
    for view, chosen in (("4up", media.thumbnails), ("2up", media.thumbnails[1:3])):
        page.goto(f"{media.url}/compare?id={chosen[0]}&view={view}&ids={','.join(map(str, chosen))}")
        page.get_by_role("radio", name="2-up" if view == "2up" else "4-up").wait_for(timeout=WAIT_MS)
        settle(page)
        links = page.get_by_test_id("stMain").get_by_role("link", name=re.compile(r"^Open #\d+ and decide$"))
        links.first.wait_for(timeout=WAIT_MS)
        shown_ids = sorted(int(re.search(r"#(\d+)", t).group(1)) for t in links.all_inner_texts())
        assert shown_ids == sorted(chosen), view
        page.wait_for_function(f"() => Array.from(document.querySelectorAll('[data-testid=\"stMain\"] [data-testid=\"stImage\"] "
                               f"img')).filter(i => i.complete && i.naturalWidth === 1280).length === {len(chosen)}",
                               timeout=WAIT_MS)
        assert page.get_by_role("button", name=re.compile(r"^Full size view of #")).count() == len(chosen)
    assert not errors, errors
    context.close()


# -- click to pin ------------------------------------------------------------------------------------


def drawn_centre(page, img, plain_url: str) -> tuple[float, float, int]:
    """Where a drawn picture differs from the same picture without the drawing (the pin's ring
    and number): the centre of those pixels, in fractions of the picture."""
    return tuple(page.evaluate(
        "async ([img, url]) => { const plain = new Image(); plain.src = url; await plain.decode();"
        " const pixels = (im) => { const c = document.createElement('canvas'); c.width = img.naturalWidth;"
        "  c.height = img.naturalHeight; const g = c.getContext('2d'); g.drawImage(im, 0, 0, c.width, c.height);"
        "  return g.getImageData(0, 0, c.width, c.height).data; };"
        " const a = pixels(img), b = pixels(plain), w = img.naturalWidth; let sx = 0, sy = 0, n = 0;"
        " for (let i = 0; i < a.length; i += 4) {"
        "  if (Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2]) > 120) {"
        "   const p = i / 4; sx += p % w; sy += Math.floor(p / w); n++; } }"
        " return [sx / n / w, sy / n / img.naturalHeight, n]; }", [img.element_handle(), plain_url]))


def test_click_to_pin_stores_the_point_and_another_user_sees_it_there(media, chromium):
    from workbench import comments
    from workbench.access import Actor

    still = row(media.pin_still)
    context, page, errors = new_page(chromium)
    log_in(page, f"{media.url}/variant?id={still.id}", "cara")
    page.get_by_role("heading", name="Comments").wait_for(timeout=WAIT_MS)
    settle(page)
    page.get_by_text("Pin tool", exact=True).click()
    pad = page.get_by_role("application", name=re.compile(rf"^Pin tool on variant #{still.id}"))
    pad.wait_for(timeout=WAIT_MS)
    picture = pad.get_by_role("img", name=f"Variant #{still.id}")
    page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=picture.element_handle(), timeout=WAIT_MS)
    box = picture.bounding_box()

    def at(fx: float, fy: float) -> tuple[float, float]:
        return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy

    def fields() -> list[str]:
        return [page.get_by_label(name, exact=True).input_value() for name in ("Pin x", "Pin y", "Box width", "Box height")]

    # the keyboard: arrows move a crosshair from the middle (the page's own j/k/arrows stay
    # quiet), Enter pins its point
    pad.focus()
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelector('input[aria-label=\"Pin x\"]').value !== ''", timeout=WAIT_MS)
    assert [float(v) for v in fields()[:2]] == pytest.approx([0.6, 0.52], abs=1e-3)
    page.wait_for_timeout(500)
    assert f"id={still.id}" in page.url
    # a drag is a box
    page.mouse.move(*at(0.1, 0.2))
    page.mouse.down()
    page.mouse.move(*at(0.4, 0.5), steps=8)
    page.mouse.up()
    page.wait_for_function("() => document.querySelector('input[aria-label=\"Box width\"]').value !== ''", timeout=WAIT_MS)
    assert [float(v) for v in fields()] == pytest.approx([0.1, 0.2, 0.3, 0.3], abs=0.003)
    # a click is a point: it replaces the box
    page.mouse.click(*at(0.3, 0.6))
    page.wait_for_function("() => document.querySelector('input[aria-label=\"Box width\"]').value === ''", timeout=WAIT_MS)
    x, y, w, h = fields()
    assert (float(x), float(y), w, h) == (pytest.approx(0.3, abs=0.003), pytest.approx(0.6, abs=0.003), "", "")
    page.get_by_label("New comment").fill("@lou the highlight clips here")
    page.get_by_role("button", name="Add comment").click()
    page.get_by_text(re.compile(r"^Comment \d+ added\.$")).wait_for(timeout=WAIT_MS)
    [made] = [t for t in comments.threads(Actor("cara", "creative"), still.id) if t.pin is not None]
    assert (made.pin.x, made.pin.y, made.pin.w, made.pin.h) == (pytest.approx(0.3, abs=0.003),
                                                                  pytest.approx(0.6, abs=0.003), None, None)
    settle(page)
    assert not unnamed_controls(page), unnamed_controls(page)

    # lou: "Show comment N" draws it on the picture, at the clicked place
    lou_ctx, lou, lou_errors = new_page(chromium)
    log_in(lou, f"{media.url}/variant?id={still.id}", "lou")
    lou.get_by_role("button", name=f"Show comment {made.id} on the picture").click()
    lou.get_by_text(f"Comment {made.id}: its pin drawn on the picture").wait_for(timeout=WAIT_MS)
    drawn = lou.get_by_test_id("stMain").get_by_test_id("stImage").locator("img").first
    lou.wait_for_function("(el) => el.complete && el.naturalWidth >= 1000", arg=drawn.element_handle(), timeout=WAIT_MS)
    cx, cy, n = drawn_centre(lou, drawn, f"{media.url}/_wb/media/{still.id}/preview-1280")
    assert 50 < n < 20_000 and (cx, cy) == (pytest.approx(made.pin.x, abs=0.02), pytest.approx(made.pin.y, abs=0.02))
    lou.get_by_test_id("stMain").evaluate("(main) => main.scrollTo(0, 0)")
    save_screenshot(lou, "comments.png", height=1700)
    # with the pin tool on, the pin is drawn over the picture at the same place
    lou.get_by_text("Pin tool", exact=True).click()
    lou_pad = lou.get_by_role("application", name=re.compile(rf"^Pin tool on variant #{still.id}"))
    lou_pad.wait_for(timeout=WAIT_MS)
    mark = lou_pad.get_by_text(f"Comment {made.id}", exact=True).locator("xpath=..")
    mark.wait_for(timeout=WAIT_MS)
    lou.wait_for_timeout(300)
    img_box, pin_box = lou_pad.get_by_role("img").bounding_box(), mark.bounding_box()
    centre = ((pin_box["x"] + pin_box["width"] / 2 - img_box["x"]) / img_box["width"],
              (pin_box["y"] + pin_box["height"] / 2 - img_box["y"]) / img_box["height"])
    assert centre == (pytest.approx(made.pin.x, abs=0.005), pytest.approx(made.pin.y, abs=0.005))
    assert not errors and not lou_errors, errors + lou_errors
    lou_ctx.close()
    context.close()


# -- the export preview of a vertical video ---------------------------------------------------------


def window_error(frame: np.ndarray, shown: np.ndarray, window: tuple[int, int, int, int], dx: int) -> float:
    """How far the source cropped at ``window`` (moved ``dx`` px across) and scaled is from
    the cut's frame (mean absolute difference, 0-255)."""
    x0, y0, x1, y1 = window
    crop = Image.fromarray(frame).crop((x0 + dx, y0, x1 + dx, y1)).resize((shown.shape[1] // 4, shown.shape[0] // 4))
    small = Image.fromarray(shown).resize(crop.size)
    return float(np.abs(np.asarray(crop, np.float32) - np.asarray(small, np.float32)).mean())


def test_a_vertical_cut_s_windows_are_measured_where_the_title_shows_them(media):
    """The windows the export preview draws for a 9:16 cut are where its pictures came from: the
    source cropped there and scaled matches the cut's frame, and the window moved by a tenth of
    the frame does not."""
    from ui.mediafiles import _source_ext
    from workbench.media.frames import read_frames_at
    from workbench.previews import locate_window
    from workbench.settings import get_settings
    from workbench.store import AssetStore

    cut = row(media.vertical)
    details = cut.recipe["details"]
    source = AssetStore(get_settings().store_dir).path_for(cut.recipe["source_sha256"],
                                                           _source_ext(cut.recipe["source_sha256"], None))
    crops = [c for c in details["clips"] if c["reframe"] and c["reframe"]["mode"] == "crop"]
    assert crops
    for clip in crops:
        mid = clip["frames"] / 25 / 2
        [frame] = read_frames_at(source, [clip["source_in"] + mid], details.get("video_start") or 0.0).values()
        [shown] = read_frames_at(cut.file_path, [clip["record_in"] + mid]).values()
        window = locate_window(frame, shown)
        x0, y0, x1, y1 = window
        assert (y0, y1) == (0, frame.shape[0]) and (x1 - x0) == round(frame.shape[0] * 9 / 16)
        shift = frame.shape[1] // 10 * (1 if x0 + frame.shape[1] // 10 <= frame.shape[1] - (x1 - x0) else -1)
        found, moved = window_error(frame, shown, window, 0), window_error(frame, shown, window, shift)
        assert found < 12 and moved > 2 * found, clip["n"]


def test_the_export_page_previews_a_vertical_video_with_its_shots_windows(media, chromium):
    from workbench import review
    from workbench.access import Actor

    review.decide(Actor("cara", "creative"), [media.vertical], "approve")
    context, page, errors = new_page(chromium)
    log_in(page, f"{media.url}/export", "otto")
    page.get_by_text("What the export would deliver").wait_for(timeout=60_000)
    page.get_by_text("A frame of the delivered 1080x1920 video").wait_for(timeout=WAIT_MS)
    page.get_by_text(re.compile(r"Where each shot's 1080x1920 window sits on the title")).wait_for(timeout=WAIT_MS)
    settle(page)
    page.wait_for_function("() => Array.from(document.querySelectorAll('[data-testid=\"stMain\"] [data-testid=\"stImage\"] "
                           "img')).filter(i => i.complete && i.naturalWidth > 0).length >= 2", timeout=WAIT_MS)
    sheets = list((media.home / "previews").rglob(f"{row(media.vertical).sha256}-reframe-*.jpg"))
    assert len(sheets) == 1
    assert not errors, errors
    context.close()


def test_a_shot_that_cuts_a_face_is_named_in_words():
    from types import SimpleNamespace

    from ui import media

    cut = SimpleNamespace(recipe={"details": {"clips": [
        {"n": 1, "record_in": 0.92, "faces_kept_share": None}, {"n": 2, "record_in": 2.52, "faces_kept_share": 0.97},
        {"n": 3, "record_in": 4.0, "faces_kept_share": 0.62}]}})
    assert media.face_cuts(cut) == [(3, 4.0, 0.62)]


def test_media_files_are_named_by_a_fixed_word_and_the_player_reads_the_file_s_own_rate(media):
    from fractions import Fraction

    from ui.mediafiles import media_file, playable_path, video_facts
    from workbench import review

    trailer, still = row(media.trailer), row(media.still)
    played = playable_path(trailer, review.variant_files(trailer.id))
    assert played is not None and played != trailer.file_path  # the 720p review copy
    facts = video_facts(trailer, played)
    assert (facts.fps, facts.frames, facts.duration) == (Fraction(25), trailer.recipe["details"]["frames"], 6.0)
    shot = media_file(trailer.id, "shot-2")
    with Image.open(shot.path) as im:
        assert shot.mime == "image/jpeg" and max(im.size) == 240
    assert media_file(still.id, "file").path == still.file_path
    for what in ("play", "shot-1", "preview-100", "preview-1280x", "File", "", "../file"):
        assert media_file(still.id, what) is None, what
    assert media_file(trailer.id, "shot-99") is None
