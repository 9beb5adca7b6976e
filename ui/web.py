"""The review app's HTTP layer around Streamlit (mounted by ``ui/server.py`` through ``st.App``).

What Streamlit leaves open, and what this closes (``docs/review.md`` has the whole picture):

* **Framing and sniffing.** Streamlit sends no ``X-Frame-Options`` or CSP, so any site could
  frame the app (clickjacking). :class:`SecurityHeaders` adds, to every HTTP response
  (pages, static assets, media, errors, these routes): ``X-Frame-Options: DENY``,
  ``Content-Security-Policy: frame-ancestors 'none'`` (only that directive: a full CSP would
  have to allow Streamlit's own inline styles and scripts), ``X-Content-Type-Options: nosniff``
  and ``Referrer-Policy: no-referrer``.
* **Endpoints nobody here needs.** ``/_stcore/metrics`` (the server's internal figures) and the
  agent API (``/_stcore/agent/...``, off by default, and off in ``ui.launch``) answer 404.
* **Media after logout.** Streamlit serves ``/media/<id>`` files (previews, full-size files,
  downloads) to anyone holding the URL for as long as it keeps them (about a minute after the
  page moved on). :class:`Guard` serves them, and uploads, only to a request carrying a
  ``wb_session`` cookie of a live session, checked in the catalog on each request, so they stop
  at logout.
* **The session cookie** (see :mod:`ui.sessions`): ``POST /_wb/session`` exchanges a single-use
  handoff code for an ``HttpOnly; SameSite=Strict`` cookie; ``POST /_wb/logout`` clears a cookie
  whose session has ended.
* **Media by variant** (``GET /_wb/media/<variant id>/<what>``, :mod:`ui.mediafiles`): the
  full-size file for the lightbox, a video's review copy (with byte ranges, so the player can
  seek), previews and shot stills for the app's scripts, which need a stable address. Served
  only to a live login (any variant: every role may view every variant) or to a live share link
  (only the variants it names); checked per request, so they stop at logout or revocation. The
  address holds an id and a fixed word, never a token: the cookie travels by itself.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from ui import sessions

log = logging.getLogger(__name__)

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
_HEADER_NAMES = frozenset(name for name, _ in SECURITY_HEADERS)
BLOCKED_PREFIXES = ("/_stcore/metrics", "/_stcore/agent")  # 404
SESSION_PREFIXES = ("/media/", "/_stcore/upload_file")  # 403 without a live session cookie
MEDIA_ROUTE = "/_wb/media"  # GET /_wb/media/<variant id>/<what>: see ui.mediafiles
_MEDIA_PATH = re.compile(r"/_wb/media/(?P<id>[1-9][0-9]{0,17})/(?P<what>[a-z0-9-]{1,16})")
MAX_BODY = 1024

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


# -- paths ------------------------------------------------------------------------------------


def base_path() -> str:
    """Streamlit's ``server.baseUrlPath`` as ``/prefix`` ("" when served at the root)."""
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def url(route: str) -> str:
    """A route of this module as the browser calls it (under the base path)."""
    return base_path() + route


def media_url(variant_id: int, what: str) -> str:
    """The same-origin address of one of a variant's media (``file``, ``play``,
    ``preview-640``, ``shot-3``: :mod:`ui.mediafiles`), for the app's scripts."""
    return url(f"{MEDIA_ROUTE}/{int(variant_id)}/{what}")


def app_path(raw: str) -> str:
    """A request path as the routes see it: repeated slashes collapsed, the base path removed."""
    path = re.sub(r"/{2,}", "/", raw or "/")
    base = base_path()
    if base and (path == base or path.startswith(base + "/")):
        path = path[len(base):] or "/"
    return path


def _matches(path: str, prefixes: tuple[str, ...]) -> bool:
    """Whether ``path`` is one of ``prefixes`` or under one."""
    return any(path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/") for p in prefixes)


# -- cookies ----------------------------------------------------------------------------------


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def cookie_token(scope: Scope, name: str = sessions.COOKIE_NAME) -> str | None:
    """The ``wb_session`` (or ``name``) cookie of a request, when it looks like a token at all."""
    raw = [v.decode("latin-1") for k, v in scope.get("headers") or () if k.lower() == b"cookie"]
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load("; ".join(raw))
    except Exception:  # noqa: BLE001 (a malformed Cookie header is no session)
        return None
    morsel = jar.get(name)
    value = morsel.value if morsel is not None else None
    return value if sessions.valid_token_text(value) else None


def session_is_live(token: str) -> bool:
    """Whether a token names a live catalog session (blocking: a database read)."""
    from workbench.settings import get_settings
    from workbench.users import SessionExpired, actor_for_session

    try:
        actor_for_session(token, settings=get_settings())
    except SessionExpired:
        return False
    return True


def share_is_live(token: str) -> bool:
    """Whether a token names a live share link (blocking: a database read)."""
    from workbench.settings import get_settings
    from workbench.shares import ShareExpired, grant_for_token

    try:
        grant_for_token(token, settings=get_settings())
    except ShareExpired:
        return False
    return True


async def live_cookie(scope: Scope) -> bool:
    token = cookie_token(scope)
    if token is None:
        return False
    from anyio import to_thread

    return await to_thread.run_sync(session_is_live, token)


async def live_share_cookie(scope: Scope) -> bool:
    token = cookie_token(scope, sessions.SHARE_COOKIE)
    if token is None:
        return False
    from anyio import to_thread

    return await to_thread.run_sync(share_is_live, token)


def share_allows(token: str, variant_id: int) -> bool:
    """Whether a live share link names ``variant_id`` (blocking: a database read)."""
    from workbench.settings import get_settings
    from workbench.shares import ShareExpired, grant_for_token

    try:
        return variant_id in grant_for_token(token, settings=get_settings()).variant_ids
    except ShareExpired:
        return False


def may_see_variant(login: str | None, share: str | None, variant_id: int) -> bool:
    """A live login (``login``: its session token) may see any variant; a live share link
    (``share``: its token) only the variants it names (blocking: database reads)."""
    if login is not None and session_is_live(login):
        return True
    return share is not None and share_allows(share, variant_id)


def _is_https(scope: Scope) -> bool:
    return scope.get("scheme") == "https" or (_header(scope, b"x-forwarded-proto") or "").lower() == "https"


def _cookie_header(value: str, max_age: int, secure: bool, name: str = sessions.COOKIE_NAME) -> bytes:
    parts = [f"{name}={value}", "HttpOnly", "SameSite=Strict", f"Path={base_path() or '/'}",
             f"Max-Age={max_age}"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts).encode("latin-1")


# -- plain responses --------------------------------------------------------------------------


async def respond(send: Send, status: int, body: bytes | dict | None = None, *,
                  headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    if isinstance(body, dict):
        payload, kind = json.dumps(body).encode(), b"application/json"
    else:
        payload, kind = body or b"", b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind), (b"content-length", str(len(payload)).encode()),
                            (b"cache-control", b"no-store"), *headers]})
    await send({"type": "http.response.body", "body": payload})


async def _read_body(receive: Receive, limit: int = MAX_BODY) -> bytes | None:
    """The request body, or None when it is larger than ``limit``."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def _same_origin(scope: Scope) -> bool:
    """A browser's cross-site POST is refused (the cookie is SameSite=Strict anyway)."""
    site = _header(scope, b"sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = _header(scope, b"origin")
    if origin is None:
        return True
    origin_host = origin.split("://", 1)[-1].rstrip("/").lower()
    host = (_header(scope, b"host") or "").lower()
    if origin_host == host:
        return True
    # a proxy may pass the host without the port the browser used (nginx's $host)
    return ":" not in host.rsplit("]", 1)[-1] and origin_host.rsplit(":", 1)[0] == host


# -- middleware -------------------------------------------------------------------------------


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every HTTP response (replacing any of the same name)."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers") or () if k.lower() not in _HEADER_NAMES]
                message = {**message, "headers": [*kept, *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Guard:
    """404 for the endpoints nobody needs; media and uploads only with a live session cookie;
    the two session routes (handled here, before Streamlit's routing)."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = app_path(scope.get("path", "/"))
        if _matches(path, BLOCKED_PREFIXES):
            await respond(send, 404, b"Not Found")
            return
        if _matches(path, SESSION_PREFIXES):
            try:
                # media for a signed-in user, or for an outside reviewer's live share link (its
                # page shows only the variants it names; media ids are content hashes)
                live = await live_cookie(scope) or (path.startswith("/media/") and await live_share_cookie(scope))
            except Exception:  # the catalog did not answer: refuse, with the headers, and say so
                log.exception("event=session_check_failed path=%s", path)
                await respond(send, 503, b"The session could not be checked: try again.")
                return
            if not live:
                await respond(send, 403, b"Log in to see this.")
                return
        if _matches(path, (MEDIA_ROUTE,)):
            await serve_media(scope, receive, send, path)
            return
        if path in (sessions.SESSION_ROUTE, sessions.LOGOUT_ROUTE, sessions.SHARE_ROUTE):
            if scope.get("method") != "POST":
                await respond(send, 405, b"Method Not Allowed", headers=((b"allow", b"POST"),))
            elif not _same_origin(scope):
                await respond(send, 403, {"error": "cross-site request"})
            else:
                try:
                    route = {sessions.SESSION_ROUTE: set_session_cookie, sessions.LOGOUT_ROUTE: clear_session_cookie,
                             sessions.SHARE_ROUTE: set_share_cookie}[path]
                    await route(scope, receive, send)
                except Exception:
                    log.exception("event=session_route_failed path=%s", path)
                    await respond(send, 503, {"error": "the session could not be checked: try again"})
            return
        await self.app(scope, receive, send)


SMALL_FILE = 2 * 1024 * 1024  # previews and stills: read at once, with the check (larger: streamed)


@dataclass(frozen=True)
class _Found:
    allowed: bool
    file: Any = None  # ui.mediafiles.MediaFile, or None: no such variant or file
    body: bytes | None = None  # a small file's bytes, read with the check


def _find_media(login: str | None, share: str | None, variant_id: int, what: str, etag: str | None) -> _Found:
    """The access check, the lookup and, for a small file the browser does not have yet, its
    bytes: one trip to a worker thread (a page of 24 previews asks 24 times at once)."""
    from ui.mediafiles import media_file

    if not may_see_variant(login, share, variant_id):
        return _Found(False)
    found = media_file(variant_id, what)
    if found is None or found.etag == etag:
        return _Found(True, found)
    try:
        size = found.path.stat().st_size
        body = found.path.read_bytes() if size <= SMALL_FILE else None
    except OSError:
        return _Found(True, None)
    return _Found(True, found, body)


async def serve_media(scope: Scope, receive: Receive, send: Send, path: str) -> None:
    """``GET /_wb/media/<variant id>/<what>``: the variant's file (:mod:`ui.mediafiles`) to
    whoever may see the variant, else 403. An address that is not an id and a word is 404; an
    unknown variant or name is 404 only after the access check, so a stranger learns nothing
    about the catalog. A small file (a preview, a still) is sent whole; a large one (a
    full-size file, a video) is Starlette's ``FileResponse``, with byte ranges (video seeking)
    and HEAD. The ETag is content-addressed and ``no-cache`` makes the browser ask again each
    time (a 304 costs nothing), so a logged-out browser's cache is never used without the
    check."""
    from anyio import to_thread
    from starlette.responses import FileResponse

    if scope.get("method") not in ("GET", "HEAD"):
        await respond(send, 405, b"Method Not Allowed", headers=((b"allow", b"GET, HEAD"),))
        return
    match = _MEDIA_PATH.fullmatch(path)
    if match is None:  # not an id and a word: no file has such a name
        await respond(send, 404, b"Not Found")
        return
    etag = _header(scope, b"if-none-match")
    try:
        found = await to_thread.run_sync(_find_media, cookie_token(scope), cookie_token(scope, sessions.SHARE_COOKIE),
                                         int(match["id"]), match["what"], etag)
    except Exception:  # the catalog did not answer: refuse, with the headers, and say so
        log.exception("event=media_failed path=%s", path)
        await respond(send, 503, b"The file could not be read: try again.")
        return
    if not found.allowed:
        await respond(send, 403, b"Log in to see this.")
        return
    if found.file is None:
        await respond(send, 404, b"Not Found")
        return
    headers = {"cache-control": "private, no-cache", "etag": found.file.etag}
    if etag == found.file.etag:
        await send({"type": "http.response.start", "status": 304,
                    "headers": [(k.encode(), v.encode()) for k, v in headers.items()]})
        await send({"type": "http.response.body", "body": b""})
        return
    if found.body is not None and _header(scope, b"range") is None:
        headers |= {"content-type": found.file.mime, "content-length": str(len(found.body))}
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(k.encode(), v.encode()) for k, v in headers.items()]})
        await send({"type": "http.response.body", "body": b"" if scope.get("method") == "HEAD" else found.body})
        return
    await FileResponse(found.file.path, media_type=found.file.mime, headers=headers)(scope, receive, send)


async def set_session_cookie(scope: Scope, receive: Receive, send: Send) -> None:
    """``POST /_wb/session`` with ``{"code": ...}``: the cookie for the code's session, once."""
    from anyio import to_thread

    from workbench.settings import get_settings

    body = await _read_body(receive)
    try:
        code = json.loads(body or b"").get("code") if body else None
    except (ValueError, AttributeError):
        code = None
    token = sessions.redeem(code)
    if token is None or not await to_thread.run_sync(session_is_live, token):
        await respond(send, 403, {"error": "unknown, used or expired code: log in again"})
        return
    cookie = _cookie_header(token, get_settings().session_ttl_s, _is_https(scope))
    await respond(send, 204, headers=((b"set-cookie", cookie),))


async def set_share_cookie(scope: Scope, receive: Receive, send: Send) -> None:
    """``POST /_wb/share`` with ``{"code": ...}``: the share link's cookie, once; it lasts as
    long as the link (the link's own expiry and revocation are checked on every use)."""
    from anyio import to_thread

    from workbench.catalog.models import utcnow
    from workbench.shares import ShareExpired, grant_for_token

    body = await _read_body(receive)
    try:
        code = json.loads(body or b"").get("code") if body else None
    except (ValueError, AttributeError):
        code = None
    token = sessions.redeem(code, kind="share")
    grant = None
    if token is not None:
        try:
            grant = await to_thread.run_sync(grant_for_token, token)
        except ShareExpired:
            grant = None
    if grant is None:
        await respond(send, 403, {"error": "unknown, used or expired code: open the link again"})
        return
    max_age = max(1, int((grant.expires_at - utcnow()).total_seconds()))
    cookie = _cookie_header(token, max_age, _is_https(scope), sessions.SHARE_COOKIE)
    await respond(send, 204, headers=((b"set-cookie", cookie),))


async def clear_session_cookie(scope: Scope, receive: Receive, send: Send) -> None:
    """``POST /_wb/logout``: clear the cookie, unless it names a live session (a newer login
    in another tab of this browser). The session itself was revoked by the logout."""
    await _read_body(receive)
    if await live_cookie(scope):
        await respond(send, 200, {"cleared": False})
        return
    await respond(send, 200, {"cleared": True}, headers=((b"set-cookie", _cookie_header("", 0, _is_https(scope))),))


def tcp_no_delay() -> None:
    """Send each response at once: TCP_NODELAY on every connection of this server.

    Streamlit binds its listening socket itself, as ``socket.socket(family)`` (protocol 0), and
    asyncio turns Nagle's algorithm off only for sockets whose protocol says TCP, so every
    connection kept it on. A response written in two parts (headers, then body: every response
    uvicorn sends) then waited for the browser's delayed acknowledgement, 40 ms, from the second
    request on a kept-alive connection: each of the queue's 24 previews, each static file, and
    WebSocket messages sent in a row. Here uvicorn's HTTP protocols set the option themselves
    when a connection is made (the WebSocket it may become is the same connection)."""
    import socket

    from uvicorn.protocols.http.h11_impl import H11Protocol

    protocols: list[type] = [H11Protocol]
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # httptools is optional
        pass
    else:
        protocols.append(HttpToolsProtocol)
    for protocol in protocols:
        if getattr(protocol, "_wb_no_delay", False):
            continue
        made = protocol.connection_made

        def connection_made(self: Any, transport: Any, _made: Callable = made) -> None:
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                try:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                except OSError:  # not a TCP socket after all: nothing to turn off
                    pass
            _made(self, transport)

        protocol.connection_made = connection_made
        protocol._wb_no_delay = True


def middleware() -> list:
    """The middleware ``st.App`` puts in front of Streamlit's own (outermost first)."""
    from starlette.middleware import Middleware

    return [Middleware(SecurityHeaders), Middleware(Guard)]
