"""The review app's web hardening, against a real server (``ui.launch.command``: st.App with the
workbench's middleware) on loopback, with plain ``http.client`` requests and, where a live
session's media is needed, Debian's headless Chromium:

* security headers on every response (pages, static assets, errors), metrics and agent API 404;
* media only with a live ``wb_session`` cookie (403 without one and after logout);
* the session-cookie routes: single use under concurrent redemption, no cross-site POST;
* ``workbench review`` stops its server on SIGTERM, SIGHUP and SIGINT, and the server dies with
  it on SIGKILL;
* the nginx configuration shipped in deploy/.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.ui_support import (
    WAIT_MS,
    chromium_browser,
    free_port,
    log_in,
    main_area,
    session_cookie,
    settle,
)

ROOT = Path(__file__).resolve().parents[1]
HEADERS = {
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def request(server, method: str, path: str, *, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh loopback connection: status, headers (lower-case names, repeated
    ones joined by "\\n"), body."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        found: dict[str, str] = {}
        for name, value in resp.getheaders():
            found[name.lower()] = f"{found[name.lower()]}\n{value}" if name.lower() in found else value
        return resp.status, found, resp.read()
    finally:
        conn.close()


def assert_hardened(headers: dict[str, str], what: str) -> None:
    for name, value in HEADERS.items():
        assert headers.get(name) == value, (what, name, headers.get(name))


# -- headers and closed endpoints ---------------------------------------------------------------


def test_every_response_carries_the_security_headers(server):
    status, headers, body = request(server, "GET", "/")
    assert status == 200 and b"<html" in body.lower()
    assert_hardened(headers, "/")
    assets = re.findall(rb'(?:src|href)="\.?(/?static/[^"]+\.(?:js|css))"', body)
    assert assets, "index.html names its static bundles"
    asset = "/" + assets[0].decode().lstrip("/")
    status, headers, _ = request(server, "GET", asset)
    assert status == 200
    assert_hardened(headers, asset)
    for path in ("/variant?id=5", "/_stcore/health", "/_stcore/metrics", "/media/nothing.jpg", "/nope/deeper"):
        _, headers, _ = request(server, "GET", path)
        assert_hardened(headers, path)
    _, headers, _ = request(server, "POST", "/_wb/session", body=b"{}", headers={"Content-Type": "application/json"})
    assert_hardened(headers, "/_wb/session")


def test_metrics_and_the_agent_api_are_closed(server):
    assert request(server, "GET", "/_stcore/health")[0] == 200
    for path in ("/_stcore/metrics", "//_stcore/metrics", "/_stcore//metrics", "/_stcore/metrics/",
                 "/_stcore/%6detrics", "/_stcore/agent/openapi.json"):
        status, _, body = request(server, "GET", path)
        assert status == 404, (path, status)
        assert b"streamlit" not in body.lower() and b"session" not in body.lower(), path
    assert request(server, "POST", "/_stcore/agent/interact", body=b"{}")[0] == 404


def test_session_routes_refuse_what_they_should(server):
    assert request(server, "GET", "/_wb/session")[0] == 405
    for body in (b"", b"not json", b'{"code": 5}', b'{"code": "A' + b"a" * 40 + b'"}', b"x" * 5000):
        status, headers, _ = request(server, "POST", "/_wb/session", body=body,
                                     headers={"Content-Type": "application/json"})
        assert status == 403, body[:20]
        assert "set-cookie" not in headers
    status, _, _ = request(server, "POST", "/_wb/session", body=b'{"code": "x"}',
                           headers={"Origin": "https://evil.example", "Content-Type": "application/json"})
    assert status == 403
    # clearing: a cookie that names no live session is cleared
    status, headers, body = request(server, "POST", "/_wb/logout", body=b"",
                                    headers={"Cookie": "wb_session=not-a-live-token"})
    assert status == 200 and json.loads(body) == {"cleared": True}
    assert headers["set-cookie"].startswith("wb_session=;") and "Max-Age=0" in headers["set-cookie"]


@pytest.mark.parametrize(("origin", "host", "site", "same"), [
    ("http://127.0.0.1:8501", "127.0.0.1:8501", "same-origin", True),
    ("https://review.example.com", "review.example.com", None, True),
    ("https://review.example.com:8443", "review.example.com", None, True),  # nginx's $host has no port
    (None, "127.0.0.1:8501", None, True),  # no browser: the code is the credential
    ("https://evil.example", "review.example.com", None, False),
    ("https://review.example.com.evil.example", "review.example.com", None, False),
    ("http://127.0.0.1:9999", "127.0.0.1:8501", None, False),
    (None, "review.example.com", "cross-site", False),
])
def test_the_session_routes_take_same_origin_posts_only(origin, host, site, same):
    from ui.web import _same_origin

    headers = [(b"host", host.encode())]
    headers += [(b"origin", origin.encode())] if origin else []
    headers += [(b"sec-fetch-site", site.encode())] if site else []
    assert _same_origin({"headers": headers}) is same


def test_uploads_need_a_live_session(server):
    status, _, _ = request(server, "PUT", "/_stcore/upload_file/session/file", body=b"x")
    assert status == 403


# -- media follow the session -------------------------------------------------------------------


@pytest.fixture
def browser():
    with chromium_browser() as b:
        yield b


def test_media_are_served_only_to_a_live_session(server, browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    log_in(page, server.url, "cara")

    def loaded(selector: str) -> str:  # the path of the first picture under selector, once it has loaded
        page.wait_for_function(f"() => Array.from(document.querySelectorAll('{selector}'))"
                               ".filter(i => i.complete && i.naturalWidth > 0).length >= 1", timeout=WAIT_MS)
        src = page.locator(selector).first.get_attribute("src")
        return "/" + src.split("://", 1)[-1].split("/", 1)[1] if "://" in src else src

    preview = loaded(".wb-card img")  # the queue's cards: the workbench's media route
    assert preview.startswith("/_wb/media/") and preview.endswith("/preview-320"), preview
    main_area(page).get_by_role("link", name=re.compile(r"^Compare #\d+$")).first.click()
    path = loaded('[data-testid="stImage"] img')  # a Streamlit image: Streamlit's media route
    assert path.startswith("/media/"), path
    cookie = session_cookie(context)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    status, headers, body = request(server, "GET", preview)
    assert status == 403 and not body.startswith(b"\xff\xd8")
    assert_hardened(headers, "403")
    status, headers, body = request(server, "GET", preview, headers={"Cookie": f"wb_session={cookie['value']}"})
    assert status == 200 and headers["content-type"] == "image/jpeg" and body.startswith(b"\xff\xd8")
    assert_hardened(headers, preview)

    status, headers, body = request(server, "GET", path)
    assert status == 403 and not body.startswith(b"\xff\xd8")
    assert_hardened(headers, "403")
    status, headers, body = request(server, "GET", path, headers={"Cookie": "wb_session=guessed-token"})
    assert status == 403
    status, headers, body = request(server, "GET", path, headers={"Cookie": f"wb_session={cookie['value']}"})
    assert status == 200 and headers["content-type"].startswith("image/") and len(body) > 1000
    assert_hardened(headers, path)

    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Log in").wait_for(timeout=WAIT_MS)
    settle(page)
    for address in (path, preview):
        status, _, _ = request(server, "GET", address, headers={"Cookie": f"wb_session={cookie['value']}"})
        assert status == 403, address  # at once: the session is revoked, whatever Streamlit still keeps
    deadline = time.monotonic() + 10
    while session_cookie(context) is not None and time.monotonic() < deadline:
        page.wait_for_timeout(100)  # the login page asks the server to clear the dead cookie
    assert session_cookie(context) is None
    context.close()


def test_kept_alive_connections_are_answered_at_once(server):
    """Each response leaves at once (TCP_NODELAY): without it the second and later requests on a
    kept-alive connection (a page's previews, its static files) waited 40 ms each for the
    browser's delayed acknowledgement."""
    import statistics

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    took = []
    try:
        for _ in range(20):
            start = time.perf_counter()
            conn.request("GET", "/_stcore/health")
            resp = conn.getresponse()
            assert resp.status == 200 and resp.read()
            took.append(time.perf_counter() - start)
    finally:
        conn.close()
    assert statistics.median(took[1:]) < 0.02, [round(t * 1000, 1) for t in took]


# -- the handoff code: single use, also when raced ----------------------------------------------


def test_a_handoff_code_is_redeemed_once_under_concurrency():
    from ui import sessions

    for _ in range(30):
        code = sessions.issue("token-" + os.urandom(8).hex())
        barrier = threading.Barrier(8)
        got: list[str | None] = []
        lock = threading.Lock()

        def redeem(barrier=barrier, code=code, lock=lock, got=got) -> None:
            barrier.wait()
            value = sessions.redeem(code)
            with lock:
                got.append(value)

        threads = [threading.Thread(target=redeem) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len([g for g in got if g is not None]) == 1, got
        assert not sessions.pending(code)


def test_an_expired_handoff_code_is_refused():
    from ui import sessions

    code = sessions.issue("some-token", ttl_s=0.05)
    assert sessions.pending(code)
    time.sleep(0.1)
    assert not sessions.pending(code) and sessions.redeem(code) is None
    assert sessions.redeem("short") is None and sessions.redeem(None) is None


async def _post(app, path: str, body: bytes, headers: list[tuple[bytes, bytes]] = ()) -> tuple[int, dict]:
    sent: list[dict] = []
    chunks = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        return chunks.pop(0) if chunks else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": [(b"host", b"127.0.0.1"), *headers],
             "scheme": "http", "query_string": b""}
    await app(scope, receive, send)
    start = sent[0]
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}


def test_the_session_route_sets_the_cookie_once_when_two_posts_race(ui_home):
    """The route as the server runs it (the middleware stack, no socket): two POSTs of one code
    at the same moment, 25 times: exactly one gets the cookie."""
    from ui import sessions, web
    from workbench.users import login

    async def downstream(scope, receive, send):  # Streamlit, never reached by these routes
        raise AssertionError("the route should answer before Streamlit")

    app = web.SecurityHeaders(web.Guard(downstream))
    token = login("cara", "correct horse battery")[1]
    for _ in range(25):
        code = sessions.issue(token)
        body = json.dumps({"code": code}).encode()
        barrier = threading.Barrier(2)
        results: list[tuple[int, dict]] = []

        def post(barrier=barrier, results=results, body=body) -> None:
            barrier.wait()
            results.append(asyncio.run(_post(app, "/_wb/session", body, [(b"content-type", b"application/json")])))

        threads = [threading.Thread(target=post) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(status for status, _ in results)
        assert statuses == [204, 403], statuses
        [(_, won)] = [r for r in results if r[0] == 204]
        cookie = won["set-cookie"]
        assert cookie.startswith(f"wb_session={token};")
        assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= {p.strip() for p in cookie.split(";")}
        assert "Secure" not in cookie  # plain http on loopback; behind TLS (X-Forwarded-Proto) it is Secure
        assert won["x-frame-options"] == "DENY"


def test_the_cookie_is_secure_behind_https(ui_home):
    from ui import sessions, web
    from workbench.users import login

    token = login("cara", "correct horse battery")[1]
    code = sessions.issue(token)
    status, headers = asyncio.run(_post(web.Guard(None), "/_wb/session", json.dumps({"code": code}).encode(),
                                        [(b"x-forwarded-proto", b"https")]))
    assert status == 204 and "Secure" in headers["set-cookie"].split("; ")


# -- `workbench review` and its server under signals ----------------------------------------------


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG and /proc are Linux's")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGKILL],
                         ids=lambda s: signal.Signals(s).name)
def test_workbench_review_takes_its_server_down_with_it(ui_home, tmp_path, sig):
    port = free_port()
    env = {**os.environ, "WORKBENCH_HOME": str(ui_home)}
    env.pop("WORKBENCH_DATABASE_URL", None)
    log = open(tmp_path / "review.log", "wb")  # noqa: SIM115
    parent = subprocess.Popen([sys.executable, "-m", "workbench", "review", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _port_open(port):
            assert parent.poll() is None, (tmp_path / "review.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the review app never listened"
            time.sleep(0.2)
        [child] = _children(parent.pid)
        assert _alive(child)
        parent.send_signal(sig)
        deadline = time.monotonic() + 15
        while (_port_open(port) or _alive(child)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _port_open(port), f"the port still answers after {signal.Signals(sig).name} to the parent"
        assert not _alive(child), "the server outlived its parent"
        code = parent.wait(timeout=15)
        if sig != signal.SIGKILL:
            assert code == 0, (tmp_path / "review.log").read_text()[-2000:]
    finally:
        for pid in [parent.pid, *_children(parent.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        parent.wait(timeout=10)
        log.close()


# -- the proxy configuration ----------------------------------------------------------------------


def test_the_nginx_config_matches_the_app(monkeypatch):
    text = (ROOT / "deploy" / "nginx" / "workbench-review.conf").read_text()
    live = "\n".join(line.split("#", 1)[0] for line in text.splitlines())  # without the comments
    for name, value in HEADERS.items():
        assert re.search(rf'add_header\s+{re.escape(name)}\s+"{re.escape(value)}"\s+always;', live, re.IGNORECASE), name
    assert re.search(r"location\s*=\s*/_stcore/metrics\s*\{\s*return 404;", live)
    assert re.search(r"location\s*=\s*/_stcore/stream\s*\{[^}]*proxy_set_header Upgrade \$http_upgrade;"
                     r"[^}]*proxy_set_header Connection \$connection_upgrade;", live, re.DOTALL)
    assert "ssl_certificate " in live and "listen 443 ssl" in live
    # client_max_body_size comes from WORKBENCH_MAX_UPLOAD_MB: rendered as envsubst would
    assert "client_max_body_size ${WORKBENCH_MAX_UPLOAD_MB}m;" in live
    rendered = live.replace("${WORKBENCH_MAX_UPLOAD_MB}", "7").replace("${WORKBENCH_REVIEW_HOST}", "review.test")
    assert "client_max_body_size 7m;" in rendered and "${" not in rendered
    from ui.launch import command
    from workbench.settings import reset_settings_cache

    monkeypatch.setenv("WORKBENCH_MAX_UPLOAD_MB", "7")
    reset_settings_cache()
    try:
        flags = dict(zip(command(8501)[5::2], command(8501)[6::2]))
    finally:
        reset_settings_cache()
    assert flags["--server.maxUploadSize"] == "7"  # the app and the proxy cap the same
