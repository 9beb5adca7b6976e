"""Shared by the review UI tests and its benchmark: a small real catalog (signed thumbnails of
the sample title) with one account per role, built once and copied into each test's home; a
Streamlit server started as ``workbench review`` starts it; Debian's Chromium via Playwright."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "correct horse battery"
ACCOUNTS = {"ada": "admin", "cara": "creative", "lou": "localization", "otto": "ad_ops"}
SEGMENTS = ("action", "romance", "comedy", "drama")
FORMATS = ("16x9", "1x1", "2x3")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
WAIT_MS = 30_000


# -- the catalog ------------------------------------------------------------------------------


def add_accounts() -> None:
    from workbench.access import Actor
    from workbench.users import add_user

    add_user("ada", "admin", PASSWORD, by=None)
    admin = Actor("ada", "admin")
    for name, role in ACCOUNTS.items():
        if name != "ada":
            add_user(name, role, PASSWORD, by=admin)


def build_catalog(sample_path: Path, *, segments=SEGMENTS, formats=FORMATS) -> None:
    """Ingest and analyse the sample title, make segments × placements × top-1 signed variants
    (12 by default), and add the accounts. ``WORKBENCH_HOME`` must already point at the home."""
    from generators.thumbnails.generator import ThumbnailParams
    from workbench import workflow

    ingested = workflow.ingest(sample_path, "Sample")
    workflow.generate("thumbnail", ingested.title_id, ThumbnailParams(segments=segments, formats=formats, top_k=1))
    add_accounts()


_TEMPLATES: dict[str, Path] = {}


def template_home(tmp_path_factory: pytest.TempPathFactory, sample_path: Path) -> Path:
    """A built catalog home, made once per test session and shared by the UI test modules (each
    test copies it: see :func:`copy_home`)."""
    from workbench.settings import reset_settings_cache

    key = str(sample_path)
    if key in _TEMPLATES:
        return _TEMPLATES[key]
    path = tmp_path_factory.mktemp("ui-template") / "wb-home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(path))
        mp.delenv("WORKBENCH_DATABASE_URL", raising=False)
        reset_settings_cache()
        try:
            build_catalog(sample_path)
        finally:
            reset_settings_cache()
    _TEMPLATES[key] = path
    return path


def copy_home(template: Path, home: Path) -> Path:
    """A test's own copy of the built catalog (the ``home`` fixture already points at ``home``)."""
    shutil.copytree(template, home, dirs_exist_ok=True)
    return home


def stop_broker(home: Path) -> None:
    """Stop the embedded broker a test started under ``home`` (a regenerate or retry submits a
    job, which starts it); nothing when none runs."""
    from workers.broker import EmbeddedBroker

    EmbeddedBroker(home).stop()


# -- a real server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ReviewServer:
    """``streamlit run`` on a free 127.0.0.1 port with ``home`` as WORKBENCH_HOME, launched with
    the review app's own command line (:func:`ui.launch.command`: ``ui/server.py``, st.App with
    the workbench's middleware); ``script`` swaps the app for another script with the same flags
    (a benchmark's baseline)."""

    def __init__(self, home: Path, logs: Path, *, script: Path | None = None, timeout: float = 60.0):
        from ui.launch import ENTRY, command
        from workbench.settings import get_settings

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = logs / f"streamlit-{self.port}.log"
        cmd = command(self.port, settings=get_settings())
        if script is not None:
            cmd[cmd.index(str(ENTRY))] = str(script)
        env = {**os.environ, "WORKBENCH_HOME": str(home)}
        env.pop("WORKBENCH_DATABASE_URL", None)
        self._out = open(self.log, "wb")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"streamlit not healthy after {timeout:.0f} s: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.close()


# -- the browser ------------------------------------------------------------------------------


def chromium_or_skip() -> Path:
    """Debian's Chromium; the test skips without it, except under CI (where .ci/run installs it)."""
    if CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing under CI (.ci/run installs Debian's chromium)")
    pytest.skip(f"{CHROMIUM} is not installed (Debian package chromium): the browser test needs it")


def launch_chromium(playwright, executable: Path = CHROMIUM):
    return playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)


@contextlib.contextmanager
def chromium_browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright, for a fixture to yield (skips without
    it, or fails under CI: :func:`chromium_or_skip`)."""
    executable = chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p, executable)
        try:
            yield browser
        finally:
            browser.close()


def settle(page) -> None:
    """Wait until Streamlit has finished the current run and drawn it: no 'Running…' status,
    nothing stale, no placeholder skeleton of a widget still loading."""
    page.wait_for_timeout(100)
    page.wait_for_function(
        "() => !document.querySelector("
        "'[data-testid=\"stStatusWidget\"], [data-stale=\"true\"], [data-testid^=\"stSkeleton\"], "
        "[data-testid=\"stAppSkeleton\"]')",
        timeout=WAIT_MS,
    )


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the Streamlit selectbox labelled ``label``, as a person does: click it,
    then the option. A click that only focused the box (its list did not open: seen about once
    in five runs right after a form submit redrew the page) is clicked again."""
    box = page.get_by_role("combobox", name=label, exact=True)
    choice = page.get_by_role("option", name=option, exact=True)
    for _ in range(3):
        box.click()
        try:
            choice.wait_for(timeout=3000)
            break
        except Exception:  # noqa: BLE001 (the list did not open: click the box again)
            page.keyboard.press("Escape")
    choice.click()


def main_area(page):
    return page.get_by_test_id("stMain")


def log_in(page, url: str | None, name: str, password: str = PASSWORD) -> None:
    """Log in through the form (at ``url``, or on the page as it is when None) and wait until
    the browser holds its session cookie and the page the address names is shown."""
    if url is not None:
        page.goto(url)
    page.get_by_role("textbox", name="User name", exact=True).fill(name)
    page.get_by_role("textbox", name="Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Signed in as").wait_for(timeout=WAIT_MS)
    wait_signed_in(page)


def session_cookie(context) -> dict | None:
    return next((c for c in context.cookies() if c["name"] == "wb_session"), None)


def wait_signed_in(page) -> None:
    """Until the login's handoff has set the ``wb_session`` cookie and the page is drawn."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while session_cookie(page.context) is None:
        if time.monotonic() > deadline:
            raise TimeoutError("the wb_session cookie was not set after the login")
        page.wait_for_timeout(50)
    page.get_by_text("Signing in…").wait_for(state="detached", timeout=WAIT_MS)
    settle(page)


def go(page, title: str) -> None:
    """Follow the sidebar's link to a page (in-app navigation keeps the login session)."""
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    settle(page)


# -- the queue's card grid in AppTest ------------------------------------------------------------
# AppTest draws the grid (one st.components.v2 element) but cannot click in it: these send what
# the grid's script sends after a click, as the browser would, so its callbacks run for real.


def grid_data(at, key: str = "q_grid") -> dict:
    """The data the queue's grid was drawn with ({} where there is no grid)."""
    import json

    grids = [g for g in at.get("bidi_component") if g.key == key]
    return json.loads(grids[0].proto.json) if grids else {}


def grid_cards(at, key: str = "q_grid") -> list[dict]:
    """The cards the queue's grid shows."""
    return grid_data(at, key).get("cards", [])


def grid_ids(at, key: str = "q_grid") -> list[int]:
    return [card["id"] for card in grid_cards(at, key)]


def grid_selected(at, key: str = "q_grid") -> list[int]:
    return grid_data(at, key)["selected"]


_sequence = iter(range(1, 1 << 30))


def _grid_run(at, key: str, *, state: dict | None = None, event: tuple[str, Any] | None = None):
    import json

    from streamlit.components.v2.bidi_component.main import _make_trigger_id

    [grid] = [g for g in at.get("bidi_component") if g.key == key]
    states = at._tree.get_widget_states()
    if state is not None:
        widget = states.widgets.add()
        widget.id = grid.proto.id
        widget.json_value = json.dumps(state)
    if event is not None:
        widget = states.widgets.add()
        widget.id = _make_trigger_id(grid.proto.id, "events")
        widget.json_trigger_value = json.dumps([{"event": event[0], "value": event[1]}])
    return at._run(states)


def grid_tick(at, *ids: int, ticked: bool = True, key: str = "q_grid"):
    """Tick (or untick) cards of the grid shown, as clicks on their boxes do, and run."""
    shown = grid_ids(at, key)
    now = set(grid_selected(at, key))
    now = now | set(ids) if ticked else now - set(ids)
    value = {"shown": shown, "ticked": [i for i in shown if i in now], "seq": next(_sequence)}
    return _grid_run(at, key, state={"ticks": value})


def grid_open(at, variant_id: int, page: str = "variant", key: str = "q_grid"):
    """A plain click on a card's "Open" (``page="variant"``) or "Compare" link, and the run."""
    return _grid_run(at, key, event=("open", {"page": page, "id": int(variant_id)}))
