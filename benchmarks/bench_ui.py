"""The review UI over a catalog of 10,000 variants, measured in a real browser (Debian's headless
Chromium, Playwright), each figure the median of several runs beside a baseline of the same run.

    python benchmarks/bench_ui.py [--runs 5] [--variants 10000] [--real-files 256] [--decisions 5]

**The catalog.** A 1080p bench title (benchmarks/common.py) is ingested and analysed, and the
thumbnail kind makes ``--real-files`` real signed outputs of it (8 segments x 4 placements x
top-k: 1920x1080, 1080x1620, 1080x1080, 1080x1920 JPEGs). 10,000 variant rows are then spread
over 25 titles, each row naming one of those real files in turn, so that consecutive rows (a
queue page, newest first) show different files: the first 10 pages of 24 have no file twice
(the sample title gives at most 8 picks per segment and placement: 256 files).
It is built once and kept under the bench cache (``WORKBENCH_BENCH_DIR``); each run works on a
copy, the stored files hard-linked.

**What is measured**, in one browser, a fresh context each time:

- *warm*: the queue's first paint (``goto /`` with the session cookie → every preview of page 1
  loaded) and a page change ("Next ▶" → every preview of page 2 loaded), after the previews of
  those pages were made once (the server's preview cache is warm; the browser's is not: its
  context has loaded only the login page); then a return visit (``goto /`` again in the same
  context: the browser's cache warm as well, as for a reviewer coming back to the queue);
- *cold*: the same two with the preview cache emptied first: each of the 24 cards of the page
  makes its preview from the 1080p file on that request;
- *approve and next*: on a variant page, "a" (the keyboard shortcut) → the next pending variant's
  page drawn (its header, its decision buttons, nothing stale); and the same until its picture
  has loaded too;
- *baselines*, in the same run, same server flags: a blank Streamlit page's first paint
  (``goto`` → its title), its rerun (a button click → the new text) and a return visit;
- *server only*: one run of the variant page and one approve-and-next callback in-process
  (Streamlit's AppTest, no browser), to split the round trip into server and browser time.

Targets (issue 15): first paint and page change < 1 s warm and < 2 s cold; approve-and-next
< 300 ms.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import CACHE, bench_title, machine
from tests.ui_support import (
    CHROMIUM,
    PASSWORD,
    ReviewServer,
    add_accounts,
    launch_chromium,
    log_in,
    settle,
)

PER_PAGE = 24
TITLES = 25
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
  if (document.querySelector('[data-stale="true"], [data-testid^="stSkeleton"], [data-testid="stAppSkeleton"]')) return false;
  const imgs = main.querySelectorAll('.wb-card img');
  return imgs.length >= {PER_PAGE} && Array.from(imgs).every(i => i.complete && i.naturalWidth > 0);
}}"""
# A variant page is drawn: its header names the variant, its decision buttons are there and
# nothing of the previous run is left.
VARIANT_READY = """(want) => {
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main || !main.innerText.includes(want)) return false;
  if (document.querySelector('[data-stale="true"], [data-testid^="stSkeleton"], [data-testid="stAppSkeleton"]')) return false;
  return Array.from(main.querySelectorAll('button')).some(b => (b.innerText || '').trim().endsWith('Approve and next'));
}"""
PICTURE_READY = """() => Array.from(document.querySelectorAll('[data-testid="stMain"] img'))
  .filter(i => i.getClientRects().length).every(i => i.complete && i.naturalWidth > 0)"""


# -- the catalog ------------------------------------------------------------------------------


def build_catalog(home: Path, variants: int, real_files: int, seconds: float) -> dict:
    """Real signed 1080p outputs of the bench title, then rows up to ``variants`` naming them."""
    from generators.audience.segments import SEGMENTS
    from generators.imaging.crop import FORMATS
    from generators.thumbnails.generator import ThumbnailParams
    from workbench import workflow
    from workbench.catalog import open_catalog, repo
    from workbench.catalog.models import Asset, Variant
    from workbench.review import query_variants

    t = time.perf_counter()
    source = bench_title(1080, seconds)
    ingested = workflow.ingest(source, "Bench title")
    top_k = math.ceil(real_files / (len(SEGMENTS) * len(FORMATS)))
    workflow.generate("thumbnail", ingested.title_id,
                      ThumbnailParams(segments=tuple(SEGMENTS), formats=tuple(FORMATS), top_k=top_k))
    generated_s = time.perf_counter() - t
    add_accounts()
    real = query_variants(per_page=500).items
    with open_catalog().session() as session:
        title_source = repo.get_title(session, "Bench title").source_asset
        titles = [repo.create_title(session, f"Bench {i:02d}", title_source) for i in range(1, TITLES)]
        assets = {a.sha256: a for a in session.query(Asset).where(Asset.sha256.in_([r.sha256 for r in real]))}
        picks: dict[tuple[int, str, str], int] = {}
        n = len(real)
        while n < variants:
            base = real[n % len(real)]
            title = titles[(n // len(real)) % len(titles)]
            cell = (title.id, base.segment, base.placement)
            picks[cell] = picks.get(cell, 0) + 1
            repo.add_variant(session, title=title, asset=assets[base.sha256], kind=base.kind, segment=base.segment,
                             format=f"{base.placement}.jpg.pick{picks[cell]}", score=base.score,
                             recipe={**base.recipe, "recipe_key": f"bench-{n}"})
            n += 1
        total = session.query(Variant).count()
    return {"variants": total, "real_files": len(real), "title_seconds": seconds, "generated_s": generated_s,
            "sizes": sorted({(r.width, r.height) for r in real})}


def cached_catalog(variants: int, real_files: int, seconds: float) -> tuple[Path, dict]:
    """The built catalog (made once, kept in the bench cache)."""
    import json

    from workbench.catalog import close_all_catalogs
    from workbench.settings import reset_settings_cache

    home = CACHE / f"ui-{variants}-{real_files}-{int(seconds)}s"
    facts = home.parent / (home.name + ".json")
    if not facts.exists():
        shutil.rmtree(home, ignore_errors=True)
        os.environ["WORKBENCH_HOME"] = str(home)
        reset_settings_cache()
        info = build_catalog(home, variants, real_files, seconds)
        close_all_catalogs()  # checkpoint the WAL so a copy is complete
        shutil.rmtree(home / "previews", ignore_errors=True)
        facts.write_text(json.dumps(info))
    return home, json.loads(facts.read_text())


def working_copy(template: Path, dest: Path) -> Path:
    """A copy to work on: the catalog copied, the (read-only, content-addressed) store linked."""
    def link_or_copy(src: str, dst: str) -> str:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)
        return dst

    shutil.copytree(template, dest, copy_function=link_or_copy, ignore=shutil.ignore_patterns("previews", "broker"))
    (dest / "catalog.sqlite").unlink()
    shutil.copy2(template / "catalog.sqlite", dest / "catalog.sqlite")
    return dest


# -- measuring --------------------------------------------------------------------------------


def timed(action, wait) -> float:
    t = time.perf_counter()
    action()
    wait()
    return time.perf_counter() - t


def fmt(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:6.0f} ms  (runs: {', '.join(f'{v * 1000:.0f}' for v in values)})"


def blank_page(browser, url: str) -> dict[str, float]:
    """The baseline: a blank Streamlit page's first paint, and one rerun of it after a click."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    try:
        first = timed(lambda: page.goto(url), lambda: page.get_by_role("heading", name="Blank").wait_for())
        settle(page)
        rerun = timed(lambda: page.get_by_role("button", name="Rerun").click(),
                      lambda: page.get_by_text("runs 1").wait_for())
        settle(page)
        again = timed(lambda: page.goto(url), lambda: page.get_by_role("heading", name="Blank").wait_for())
    finally:
        context.close()
    return {"baseline: blank page first paint (goto -> title)": first,
            "baseline: blank page rerun (click -> new text)": rerun,
            "baseline: blank page, return visit (browser cache warm)": again}


def signed_in(browser, url: str):
    """A fresh context (an empty browser cache) holding a session cookie."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    log_in(page, f"{url}/jobs", "cara")  # a page without previews: the queue's are measured next
    return context, page


def queue(browser, url: str, home: Path, total: int, *, cold: bool) -> dict[str, float]:
    """The queue's first paint and a page change, with the preview cache emptied first (cold) or
    as the last visit left it (warm)."""
    pages = -(-total // PER_PAGE)
    context, page = signed_in(browser, url)
    what = "cold previews" if cold else "warm previews"
    try:
        if cold:
            shutil.rmtree(home / "previews", ignore_errors=True)

        def grid(label: str):
            return lambda: page.wait_for_function(GRID_READY, arg=label, timeout=120_000, polling="raf")

        first = timed(lambda: page.goto(url), grid(f"{total} variants · page 1 of {pages}"))
        change = timed(lambda: page.get_by_role("button", name="Next ▶").click(), grid(f"page 2 of {pages}"))
        figures = {f"queue first paint, {what} (goto / -> 24 previews loaded)": first,
                   f"queue page change, {what} (Next -> 24 previews loaded)": change}
        if not cold:  # a reviewer coming back to the queue: the browser's cache is warm too
            settle(page)
            figures["queue first paint, warm previews, return visit (browser cache warm)"] = timed(
                lambda: page.goto(url), grid(f"{total} variants · page 1 of {pages}"))
    finally:
        context.close()
    return figures


def approve_and_next(browser, url: str, decisions: int) -> dict[str, list[float]]:
    """"a" on a variant page, ``decisions`` times: to the next variant's page drawn, and to its
    picture loaded."""
    from workbench import review

    pending = [r.id for r in review.query_variants(review.VariantFilter(status="pending"), per_page=decisions + 1,
                                                   settings=None).items]
    context, page = signed_in(browser, url)
    drawn, pictured = [], []
    try:
        page.goto(f"{url}/variant?id={pending[0]}")
        page.wait_for_function(VARIANT_READY, arg=f"pending #{pending[0]} ·", timeout=60_000, polling="raf")
        page.wait_for_function(PICTURE_READY, timeout=60_000, polling="raf")
        page.wait_for_function("() => window.__wbKeysBound === true")
        for n in range(decisions):
            t = time.perf_counter()
            page.keyboard.press("a")
            page.wait_for_function(VARIANT_READY, arg=f"Approved variant #{pending[n]}. Next: #{pending[n + 1]}.",
                                   timeout=60_000, polling="raf")
            drawn.append(time.perf_counter() - t)
            page.wait_for_function(PICTURE_READY, timeout=60_000, polling="raf")
            pictured.append(time.perf_counter() - t)
            settle(page)
    finally:
        context.close()
    return {"approve and next ('a' -> next variant drawn)": drawn,
            "approve and next ('a' -> next variant drawn, its picture loaded)": pictured}


def server_side(runs: int) -> dict[str, list[float]]:
    """The server's share, without a browser: the variant page run by AppTest, and the decision
    callback's library calls (decide + the next pending variant of the queue's order)."""
    from streamlit.testing.v1 import AppTest

    from workbench import review
    from workbench.access import Actor
    from workbench.users import login

    app = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
    at = AppTest.from_file(app, default_timeout=120)
    at.session_state["wb_token"] = login("lou", PASSWORD)[1]
    at.run()
    ids = [r.id for r in review.query_variants(review.VariantFilter(status="pending"), per_page=runs + 1).items]
    page_runs, decisions = [], []
    for vid in ids[:runs]:
        at.query_params.clear()
        at.query_params["id"] = str(vid)
        page_runs.append(timed(lambda: at.switch_page("views/variant.py").run(), lambda: None))
        assert not at.exception, [e.value for e in at.exception]
        flt = review.VariantFilter()

        def decide() -> None:
            review.decide(Actor("lou", "localization"), [vid], "approve")
            review.neighbours(flt, vid)

        decisions.append(timed(decide, lambda: None))
    return {"server: variant page run (AppTest, in-process)": page_runs,
            "server: decide + next pending (library)": decisions}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--variants", type=int, default=10_000)
    ap.add_argument("--real-files", type=int, default=256)
    ap.add_argument("--title-seconds", type=float, default=60.0)
    ap.add_argument("--decisions", type=int, default=5)
    args = ap.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: install Debian's chromium")
    from playwright.sync_api import sync_playwright

    from workbench.settings import reset_settings_cache

    print(f"machine: {machine()}; {os.uname().sysname} {os.uname().release}; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    t = time.perf_counter()
    template, facts = cached_catalog(args.variants, args.real_files, args.title_seconds)
    print(f"catalog: {facts['variants']} variants naming {facts['real_files']} real signed outputs of a "
          f"{facts['title_seconds']:.0f} s 1080p title (sizes {', '.join(f'{w}x{h}' for w, h in facts['sizes'])}); "
          f"ready in {time.perf_counter() - t:.0f} s")
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp:
        home = working_copy(template, Path(tmp) / "home")
        os.environ["WORKBENCH_HOME"] = str(home)
        reset_settings_cache()
        blank = Path(tmp) / "blank.py"
        blank.write_text(BLANK_APP)
        app, base = ReviewServer(home, Path(tmp)), ReviewServer(home, Path(tmp), script=blank)
        try:
            with sync_playwright() as p:
                browser = launch_chromium(p)
                print(f"browser: Chromium {browser.version} (headless)")
                for run in range(args.runs + 1):  # run 0 warms the servers and the browser and is not counted
                    figures = {**blank_page(browser, base.url),
                               **queue(browser, app.url, home, facts["variants"], cold=True),
                               **queue(browser, app.url, home, facts["variants"], cold=False)}
                    if run > 0:
                        for key, value in figures.items():
                            results.setdefault(key, []).append(value)
                for key, values in approve_and_next(browser, app.url, args.decisions * args.runs).items():
                    results[key] = values
                browser.close()
        finally:
            app.stop()
            base.stop()
        results.update(server_side(max(5, args.runs)))
    print()
    width = max(len(k) for k in results)
    for name, values in results.items():
        print(f"{name:<{width}}  {fmt(values)}")
    median = {k: statistics.median(v) for k, v in results.items()}
    checks = [(k, 1.0) for k in median if k.startswith("queue") and "warm" in k]
    checks += [(k, 2.0) for k in median if k.startswith("queue") and "cold" in k]
    checks += [("approve and next ('a' -> next variant drawn)", 0.3)]
    print()
    for key, target in checks:
        print(f"target < {target * 1000:.0f} ms: {key}: {median[key] * 1000:.0f} ms "
              f"{'met' if median[key] < target else 'NOT met'}")


if __name__ == "__main__":
    main()
