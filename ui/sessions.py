"""How a login reaches the browser as an HttpOnly cookie, without the token ever being in a URL
or in the page's script-readable state.

1. The login page starts a catalog session (``workbench.users.start_session``: the catalog keeps
   only the token's SHA-256) and keeps the token in this websocket session's ``st.session_state``.
2. It also issues a **handoff code** here: random, single use, valid :data:`HANDOFF_TTL_S`
   seconds, kept in this process's memory as its SHA-256 only (mapped to the token).
3. A small script on the page POSTs the code, same origin, to ``/_wb/session``
   (:mod:`ui.web`), which redeems it and answers ``Set-Cookie: wb_session=<token>; HttpOnly;
   SameSite=Strict; Path=/`` (+ ``Secure`` under https). The code is dead after one use, so a
   copy of the page's data is worth nothing.
4. A later websocket session (a reload, a new tab, a link) has an empty ``st.session_state``:
   :func:`ui.components.current_actor` then reads the cookie (``st.context.cookies``; Streamlit
   passes the cookies of the websocket's opening request) and checks it in the catalog.

The redemption happens in the same process as the Streamlit script runs (``ui/server.py`` serves
both), which is why this store can be a dict: one ``workbench review`` process is one server.
Nothing here imports Streamlit, so the ASGI routes use it too.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time

COOKIE_NAME = "wb_session"
SHARE_COOKIE = "wb_share"  # an outside reviewer's share link (see workbench.shares), HttpOnly too
HANDOFF_TTL_S = 60.0
SESSION_ROUTE = "/_wb/session"  # POST {"code": ...}: set the cookie
LOGOUT_ROUTE = "/_wb/logout"  # POST: clear the cookie when it names an ended session
SHARE_ROUTE = "/_wb/share"  # POST {"code": ...}: set the share cookie
CODE_RE = re.compile(r"[A-Za-z0-9_-]{20,64}")
TOKEN_MAX = 256

_lock = threading.Lock()
_codes: dict[str, tuple[str, float, str]] = {}  # sha256(code) -> (token, expires at (monotonic), kind)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _prune(now: float) -> None:
    for key in [k for k, (_token, until, _kind) in _codes.items() if until <= now]:
        del _codes[key]


def issue(token: str, *, ttl_s: float = HANDOFF_TTL_S, kind: str = "session") -> str:
    """A single-use code that ``/_wb/session`` (``kind`` "session") or ``/_wb/share`` ("share")
    exchanges for a cookie holding ``token``."""
    if not isinstance(token, str) or not token or len(token) > TOKEN_MAX:
        raise ValueError("not a session token")
    code = secrets.token_urlsafe(32)
    now = time.monotonic()
    with _lock:
        _prune(now)
        _codes[digest(code)] = (token, now + ttl_s, kind)
    return code


def redeem(code: object, kind: str = "session") -> str | None:
    """The token a live code of ``kind`` was issued for, once (the code is gone afterwards); else None."""
    if not isinstance(code, str) or not CODE_RE.fullmatch(code):
        return None
    now = time.monotonic()
    with _lock:
        item = _codes.pop(digest(code), None)
        _prune(now)
    if item is None or item[1] <= now or item[2] != kind:
        return None
    return item[0]


def pending(code: object) -> bool:
    """Whether a code was issued and is neither redeemed nor expired."""
    if not isinstance(code, str) or not CODE_RE.fullmatch(code):
        return False
    with _lock:
        item = _codes.get(digest(code))
    return item is not None and item[1] > time.monotonic()


def valid_token_text(value: object) -> bool:
    """Whether a cookie value could be a session token at all (cheap, before any lookup)."""
    return isinstance(value, str) and 0 < len(value) <= TOKEN_MAX and value.isascii() and value.isprintable()
