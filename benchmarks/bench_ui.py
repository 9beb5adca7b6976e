"""The review UI in a real browser (Debian's headless Chromium, Playwright) over a catalog of
2,000 variants: first paint of the Queue page and a page change, medians of several runs.

    python benchmarks/bench_ui.py [--runs 7] [--variants 2000]

Baselines measured in the same run, with the same server flags and browser: a blank Streamlit
page's first paint, and a rerun of that page after a button click.

The catalog: the sample title's real signed thumbnails (8 segments x 4 placements, top-1),
plus synthetic variants up to ``--variants`` spread over 21 titles, each with its own small
distinct JPEG (a real frame with its number drawn on it), so every card on every page loads
a different preview, as in a real queue. Previews are made at setup (they are a cache the
first view fills); the grid always shows previews, never the full-size files.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine
from tests.ui_support import (
    CHROMIUM,
    PASSWORD,
    ReviewServer,
    add_accounts,
    go,
    launch_chromium,
    settle,
)

PER_PAGE = 24
BLANK_APP = """
import streamlit as st
st.title("Blank")
st.session_state.setdefault("n", 0)
if st.button("Rerun"):
    st.session_state.n += 1
st.write(f"runs {st.session_state.n}")
"""
# The queue is painted when the page label is the expected one, nothing is stale or running,
# and every preview of the page has loaded.
GRID_READY = f"""(expected) => {{
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main || !main.innerText.includes(expected)) return false;
  if (document.querySelector('[data-stale="true"]') || document.querySelector('[data-testid="stStatusWidget"]')) return false;
  const imgs = main.querySelectorAll('[data-testid="stImage"] img');
  return imgs.length >= {PER_PAGE} && Array.from(imgs).every(i => i.complete && i.naturalWidth > 0);
}}"""


# -- the catalog ------------------------------------------------------------------------------


def build_catalog(home: Path, variants: int) -> int:
    """Real signed variants of the sample title, then synthetic ones up to ``variants``."""
    from PIL import Image, ImageDraw

    from generators.thumbnails.generator import ThumbnailParams
    from generators.audience.segments import SEGMENTS
    from workbench import workflow
    from workbench.catalog import open_catalog, repo
    from workbench.previews import preview_path
    from workbench.review import query_variants
    from workbench.sample import make_sample_title
    from workbench.store import AssetStore

    sample = make_sample_title(home.parent / "sample-title.mp4")
    ingested = workflow.ingest(sample.path, "Sample")
    made = workflow.generate("thumbnail", ingested.title_id, ThumbnailParams(segments=tuple(SEGMENTS), top_k=1))
    add_accounts()
    real = query_variants(per_page=500).items
    store = AssetStore(home / "store")
    with open_catalog().session() as session:
        source = repo.get_title(session, "Sample").source_asset
        titles = [repo.create_title(session, f"Bench {i:02d}", source) for i in range(1, 22)]
        n, picks = len(made.variants), (1, 2, 3)
        frames = {}
        for base in real:
            with Image.open(base.file_path) as im:
                im.draft("RGB", (480, 480))
                frames[base.id] = im.convert("RGB")
                frames[base.id].thumbnail((480, 480))
        for title in titles:
            for base in real:
                for pick in picks:
                    if n >= variants:
                        break
                    n += 1
                    # a distinct small JPEG per variant: the real frame, shrunk, with its number drawn
                    im = frames[base.id].copy()
                    ImageDraw.Draw(im).text((12, 12), f"{title.name} #{n}", fill=(255, 255, 0))
                    buf = io.BytesIO()
                    im.save(buf, "JPEG", quality=80)
                    stored = store.put_bytes(buf.getvalue(), ".jpg")
                    asset = repo.add_asset_if_absent(session, sha256=stored.sha256, kind="image", mime="image/jpeg",
                                                     ext=".jpg", size_bytes=stored.size, width=im.width,
                                                     height=im.height, original_name=f"bench-{n}.jpg")
                    fmt = f"{base.placement}.jpg.pick{pick}"
                    repo.add_variant(session, title=title, asset=asset, kind=base.kind, segment=base.segment,
                                     format=fmt, score=base.score,
                                     recipe={**base.recipe, "recipe_key": f"bench-{n}"})
    # previews are a cache the first view fills; fill it now, as a queue in use has
    for page in range(1, (n + 499) // 500 + 1):
        for row in query_variants(per_page=500, page=page).items:
            preview_path(row.sha256, row.ext)
    return n


# -- measuring --------------------------------------------------------------------------------


def timed(action, wait) -> float:
    t = time.perf_counter()
    action()
    wait()
    return time.perf_counter() - t


def fmt(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:7.0f} ms  (runs: {', '.join(f'{v * 1000:.0f}' for v in values)})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--variants", type=int, default=2000)
    args = ap.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: install Debian's chromium")
    from playwright.sync_api import sync_playwright

    from workbench.settings import reset_settings_cache

    print(f"machine: {machine()}; {os.uname().sysname} {os.uname().release}")
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        home = Path(tmp) / "home"
        os.environ["WORKBENCH_HOME"] = str(home)
        os.environ.pop("WORKBENCH_DATABASE_URL", None)
        reset_settings_cache()
        t = time.perf_counter()
        total = build_catalog(home, args.variants)
        pages = -(-total // PER_PAGE)
        print(f"catalog: {total} variants ({pages} queue pages of {PER_PAGE}), built in {time.perf_counter() - t:.1f} s")

        blank = Path(tmp) / "blank.py"
        blank.write_text(BLANK_APP)
        app, base = ReviewServer(home, Path(tmp)), ReviewServer(home, Path(tmp), script=blank)
        try:
            with sync_playwright() as p:
                browser = launch_chromium(p)
                print(f"browser: {browser.version} (headless)")
                results = measure(browser, app.url, base.url, args.runs, total, pages)
                browser.close()
        finally:
            app.stop()
            base.stop()
    print()
    width = max(len(k) for k in results)
    for name, values in results.items():
        print(f"{name:<{width}}  {fmt(values)}")
    first = statistics.median(results["queue first paint (login click -> grid loaded)"])
    change = statistics.median(results["queue page change (Next -> grid loaded)"])
    print(f"\ntarget < 2 s: first paint {first:.2f} s {'met' if first < 2 else 'NOT met'}, "
          f"page change {change:.2f} s {'met' if change < 2 else 'NOT met'}")


def measure(browser, app_url: str, blank_url: str, runs: int, total: int, pages: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for run in range(runs + 1):  # run 0 warms the servers and the browser and is not counted
        figures = {**blank_page(browser, blank_url), **queue(browser, app_url, total, pages)}
        if run > 0:
            for key, value in figures.items():
                out.setdefault(key, []).append(value)
    cold = [a + b for a, b in zip(out["login page first paint (goto -> form)"],
                                  out["queue first paint (login click -> grid loaded)"])]
    out["queue cold: goto + log in + grid loaded (sum of the two above)"] = cold
    return out


def blank_page(browser, url: str) -> dict[str, float]:
    """The baseline: a blank Streamlit page's first paint, and one rerun of it after a click."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    try:
        first = timed(lambda: page.goto(url), lambda: page.get_by_role("heading", name="Blank").wait_for())
        settle(page)
        rerun = timed(lambda: page.get_by_role("button", name="Rerun").click(),
                      lambda: page.get_by_text("runs 1").wait_for())
    finally:
        context.close()
    return {"baseline: blank page first paint (goto -> title)": first,
            "baseline: blank page rerun (click -> new text)": rerun}


def queue(browser, url: str, total: int, pages: int) -> dict[str, float]:
    """The review app: its login page, the queue after logging in, a page change, and coming
    back to the queue from another page."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()

    def grid(label: str):
        return lambda: page.wait_for_function(GRID_READY, arg=label, timeout=60_000)

    try:
        login = timed(lambda: page.goto(url), lambda: page.get_by_role("button", name="Log in").wait_for())
        settle(page)
        page.get_by_role("textbox", name="User name", exact=True).fill("cara")
        page.get_by_role("textbox", name="Password", exact=True).fill(PASSWORD)
        first = timed(lambda: page.get_by_role("button", name="Log in").click(),
                      grid(f"{total} variants · page 1 of {pages}"))
        change = timed(lambda: page.get_by_role("button", name="Next ▶").click(), grid(f"page 2 of {pages}"))
        go(page, "Jobs")
        back = timed(lambda: page.get_by_test_id("stSidebarNav").get_by_role("link", name="Queue", exact=True).click(),
                     grid("variants · page"))
    finally:
        context.close()
    return {"login page first paint (goto -> form)": login,
            "queue first paint (login click -> grid loaded)": first,
            "queue first paint (sidebar link -> grid loaded)": back,
            "queue page change (Next -> grid loaded)": change}


if __name__ == "__main__":
    main()
