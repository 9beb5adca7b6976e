"""What the pages share: the signed-in actor, role checks for hiding controls, error display,
and text helpers that keep user-supplied strings out of markup.

Nothing here decides anything: hiding a button is for usability, the library checks every call
(:func:`workbench.access.require`) and the pages show its :class:`PermissionDenied` as an error.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import zoneinfo
from collections.abc import Iterator
from typing import Any

import streamlit as st

from workbench import access
from workbench.access import Actor, PermissionDenied
from workbench.errors import WorkbenchError
from workbench.settings import Settings, get_settings

TOKEN_KEY = "wb_token"  # the login session's token, for this websocket session (see ui/sessions.py)
FLASH_KEY = "wb_flash"  # one message shown on the next run (after a callback or a rerun)
HANDOFF_KEY = "wb_handoff"  # the single-use code that turns this login into the browser's cookie
DEAD_KEY = "wb_dead_cookies"  # digests of tokens this session ended (logout) or found ended in the cookie
ANY = None  # the "any value" choice of a filter: never a string, so no title or segment can be it

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$&])")


def settings() -> Settings:
    return get_settings()


# -- who is signed in -------------------------------------------------------------------------


def cookie_token() -> str | None:
    """The ``wb_session`` cookie the browser sent when this websocket session opened (HttpOnly:
    page scripts cannot read it; Streamlit hands the server the opening request's cookies).
    None under AppTest, which has no cookies."""
    from ui.sessions import COOKIE_NAME, valid_token_text

    try:
        value = st.context.cookies.get(COOKIE_NAME)
    except Exception:  # noqa: BLE001 (no client context: bare runs)
        return None
    return value if valid_token_text(value) else None


def client_address() -> str | None:
    """The client's address for login throttling (None on loopback and under AppTest)."""
    try:
        return st.context.ip_address
    except Exception:  # noqa: BLE001
        return None


def forget_cookie(token: str) -> None:
    """Never read ``token`` from the cookie again in this session (it was ended or refused)."""
    from ui.sessions import digest

    st.session_state.setdefault(DEAD_KEY, set()).add(digest(token))


def current_actor() -> Actor | None:
    """The actor of this browser's login, or None (never logged in, logged out, expired).

    The token comes from this websocket session's state, or else from the ``wb_session``
    cookie (a reload or a new tab: a new websocket session with empty state). Checked in the
    catalog on every run, so an ended session is noticed at the next click."""
    from ui.sessions import digest
    from workbench.users import SessionExpired, actor_for_session

    token = st.session_state.get(TOKEN_KEY)
    from_cookie = False
    if not token:
        token = cookie_token()
        if token is None or digest(token) in st.session_state.get(DEAD_KEY, ()):
            return None
        from_cookie = True
    try:
        actor = actor_for_session(token, settings=settings())
    except SessionExpired:
        st.session_state.pop(TOKEN_KEY, None)
        forget_cookie(token)
        flash("Your session has ended: log in again.", "warning")
        return None
    if from_cookie:
        st.session_state[TOKEN_KEY] = token
    return actor


def signed_in(token: str) -> None:
    """After a successful login: this session holds the token, and a handoff code waits for the
    page to turn it into the browser's cookie (:func:`finish_sign_in`)."""
    from ui.sessions import issue

    st.session_state[TOKEN_KEY] = token
    st.session_state[HANDOFF_KEY] = issue(token)


_COOKIE_JS = """
export default function(component) {
  const { data, setTriggerValue } = component;
  fetch(data.url, {
    method: "POST", credentials: "same-origin", cache: "no-store",
    headers: {"Content-Type": "application/json"}, body: JSON.stringify(data.body || {}),
  }).then((r) => { if (data.report) setTriggerValue("done", r.ok); })
    .catch(() => { if (data.report) setTriggerValue("done", false); });
}
"""


def _cookie_request(key: str, route: str, body: dict[str, str] | None = None, *, report: bool) -> Any:
    """A same-origin POST from the page to one of ``ui.web``'s session routes (the browser
    stores the answer's Set-Cookie). The script is this fixed text; the data is a route path
    and a handoff code: nothing a user typed reaches it."""
    from ui.web import url

    mount = st.components.v2.component("wb_session_cookie", js=_COOKIE_JS)
    callbacks = {"on_done_change": _noop} if report else {}
    return mount(key=key, data={"url": url(route), "body": body or {}, "report": report}, height="content",
                 **callbacks)


def _noop() -> None:
    pass


def finish_sign_in() -> bool:
    """True while a login's cookie is being set: the page shows only "Signing in…" and a script
    posts the handoff code; when the server has answered, the rerun shows the page (whose
    pictures need the cookie). False once the code is used or expired (or there is none)."""
    from ui.sessions import SESSION_ROUTE, pending

    code = st.session_state.get(HANDOFF_KEY)
    if code is None:
        return False
    if not pending(code):
        st.session_state.pop(HANDOFF_KEY, None)
        return False
    result = _cookie_request("wb_handoff", SESSION_ROUTE, {"code": code}, report=True)
    if getattr(result, "done", None) is False:  # the server did not set the cookie
        st.session_state.pop(HANDOFF_KEY, None)
        flash("This browser did not get the session cookie: pictures may not load and a reload will ask "
              "you to log in again.", "warning")
        return False
    st.info("Signing in…")
    st.caption("If this stays, reload the page and log in again.")
    return True


def clear_dead_cookie() -> None:
    """On the login page: when the browser may still hold the cookie of a session that ended
    (a logout here, or an ended session found in the cookie), ask the server to clear it. The
    route clears only a cookie that names no live session, so a newer login elsewhere in this
    browser keeps its own."""
    from ui.sessions import LOGOUT_ROUTE

    if st.session_state.get(DEAD_KEY):
        _cookie_request("wb_clear_cookie", LOGOUT_ROUTE, report=False)


def require_actor() -> Actor:
    """The signed-in actor; a page reached without a login stops with a message."""
    actor = current_actor()
    if actor is None:
        show_flash()
        st.warning("Log in to use the review app.")
        st.stop()
    return actor


def callback_actor() -> Actor | None:
    """Who is signed in, for a button's callback: a callback runs before the page checks the
    session again, so an ended session is said here (as a message on the next run) and the
    callback does nothing."""
    who = current_actor()
    if who is None:
        flash("Your session has ended: log in again.", "warning")
    return who


def can(actor: Actor | None, permission: str) -> bool:
    """Whether to show a control (the library checks again when it is used)."""
    return access.can(actor, permission)


@contextlib.contextmanager
def reported() -> Iterator[None]:
    """Run a library call; its refusal (permission, bad input, missing row) becomes an error box."""
    try:
        yield
    except WorkbenchError as exc:
        error(exc)


def error(exc: BaseException | str) -> None:
    """An error box for a library refusal; its message may quote user input, so it is escaped."""
    prefix = "Not allowed: " if isinstance(exc, PermissionDenied) else ""
    st.error(prefix + md(exc))


def flash(message: str | BaseException, kind: str = "success") -> None:
    """A message for the next run (shown by :func:`show_flash`, escaped: it may quote input)."""
    if isinstance(message, PermissionDenied):
        message = f"Not allowed: {message}"
    st.session_state[FLASH_KEY] = (kind, str(message))


def show_flash() -> None:
    item = st.session_state.pop(FLASH_KEY, None)
    if item:
        kind, message = item
        getattr(st, kind if kind in ("success", "info", "warning", "error") else "info")(md(message))


# -- text -------------------------------------------------------------------------------------


def md(text: Any) -> str:
    """``text`` as literal Markdown: every character Markdown (or Streamlit's ``:color[]`` and
    emoji shortcodes) would interpret is backslash-escaped. Raw HTML is never enabled anyway."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", "" if text is None else str(text))


def dash(value: Any) -> str:
    return "–" if value in (None, "") else str(value)


# -- times in the reader's own time zone ----------------------------------------------------------


def user_timezone() -> dt.tzinfo:
    """The browser's time zone (Streamlit reads it from the page: an IANA name, or at least the
    offset), UTC when the browser did not say (AppTest, a script without a page)."""
    try:
        name = st.context.timezone
        offset = st.context.timezone_offset
    except Exception:  # noqa: BLE001 (no client context)
        name = offset = None
    if name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    if isinstance(offset, int | float):  # JavaScript's getTimezoneOffset: minutes *behind* UTC
        return dt.timezone(dt.timedelta(minutes=-offset))
    return dt.UTC


def local_time(when: Any, *, seconds: bool = False) -> str:
    """A catalog time (ISO 8601 text or an aware datetime, UTC) as the reader's clock shows it:
    "6 Dec 2026, 15:04 CET". "–" for none; the text as given when it is not a time."""
    if when in (None, ""):
        return "–"
    try:
        moment = when if isinstance(when, dt.datetime) else dt.datetime.fromisoformat(str(when))
    except ValueError:
        return str(when)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)  # the catalog keeps UTC
    local = moment.astimezone(user_timezone())
    zone = local.tzname() or ""  # "CET", or "UTC+01:00" when only the offset is known
    return f"{local.day} {local:%b %Y, %H:%M{':%S' if seconds else ''}} {zone}".rstrip()


def slot_format(fmt: str | None) -> str:
    """``16x9.jpg.pick2`` as people say it: ``16x9 pick 2`` (the one parser: workbench.creative.Slot)."""
    from workbench.creative import slot_label

    return slot_label(fmt)


def tweak_specs(kind: str) -> tuple[Any, ...]:
    """The regenerate controls a kind offers (none for a kind not installed here)."""
    from generators import get_kind
    from generators.base import PluginError

    try:
        return get_kind(kind).tweaks
    except PluginError:
        return ()


def variant_name(row: Any) -> str:
    """One line that names a variant: id, segment, locale, placement and pick, version (plain text)."""
    parts = [f"#{row.id}", dash(row.segment), slot_format(row.format), f"v{row.version}"]
    if getattr(row, "locale", None):
        parts.insert(2, row.locale)
    return " · ".join(parts)


def variant_label(row: Any) -> str:
    """:func:`variant_name` as Markdown (escaped)."""
    return md(variant_name(row))


STATUS_COLOURS = {"pending": "orange", "approved": "green", "rejected": "red", "changes_requested": "violet"}


def status_text(status: str) -> str:
    return status.replace("_", " ")


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "gray")


def status_badge(status: str) -> str:
    """A coloured status word; the status is one of the catalog's fixed values, escaped anyway."""
    return f":{status_colour(status)}-badge[{md(status_text(status))}]"


# -- filters and ids from people ----------------------------------------------------------------


def any_select(container: Any, label: str, values: Any, *, key: str, any_label: str = "All",
               current: Any = None, **kwargs: Any) -> Any:
    """A filter's selectbox whose first choice is "any value": :data:`ANY` (None), shown as
    ``any_label``. The values are the real ones (a title called "All" is that title), and no
    value is shown with the same words as the "any" choice or as another value (the browser
    sends the shown words back, so they must name one choice): a value that would read the same
    is shown in quotes. ``current`` preselects a value when the widget has no state yet."""
    values = list(values)
    shown: dict[Any, str] = {}
    taken = {any_label}
    for value in values:
        text = str(value)
        while text in taken:
            text = f"\u201c{text}\u201d"
        taken.add(text)
        shown[value] = text
    options = [ANY, *values]
    index = options.index(current) if current is not None and current in values else 0
    # a state of None (a filter reset from the address) reads as "no choice" to Streamlit, which
    # would show its "Choose an option" placeholder: here None is the "any" choice, so say so
    return container.selectbox(label, options, index=index, key=key, placeholder=any_label,
                               format_func=lambda v: any_label if v is None else shown.get(v, str(v)), **kwargs)


def id_param(what: str = "variant id") -> tuple[int | None, str | None]:
    """The page's ``?id=`` checked as an id (``workbench.ids.parse_id``): ``(id, None)``, or
    ``(None, None)`` when absent, or ``(None, message)`` with one line to show when it is not an
    id (``²``, ``-1``, ``abc``, a number past the 64-bit range)."""
    from workbench.ids import parse_id

    raw = st.query_params.get("id")
    if raw is None or raw == "":
        return None, None
    try:
        return parse_id(raw, what), None
    except WorkbenchError as exc:
        return None, sentence(exc)


def sentence(message: Any) -> str:
    """A library message as one sentence: capital first letter, a full stop."""
    text = str(message).strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


# -- the queue's view in the address -------------------------------------------------------------

QUEUE_PARAMS = ("title", "kind", "segment", "locale", "format", "status", "flag", "version", "sort", "q", "job", "per",
                "page")
SORTS = {"newest": "Newest first", "score": "Best score first", "flags": "Flagged first"}


def queue_view(params: Any = None) -> tuple[Any, str, int, int]:
    """The queue's filter, sort, page size and page from the address (``?segment=action&sort=
    score&q=…``): what the queue shows, and what "next" means on a variant page opened from it.
    Values the catalog does not hold are ignored."""
    from workbench import review
    from workbench.ids import parse_id

    params = params if params is not None else st.query_params
    get = (lambda k: params.get(k)) if hasattr(params, "get") else (lambda k: None)
    sort = get("sort") if get("sort") in review.SORTS else "newest"
    try:
        per = int(get("per") or 24)
    except ValueError:
        per = 24
    try:
        page = max(1, min(10**6, int(get("page") or 1)))
    except ValueError:
        page = 1
    search = (get("q") or "").strip()[:review.SEARCH_MAX] or None
    try:
        job = parse_id(get("job"), "job id") if get("job") else None
    except WorkbenchError:
        job = None
    flt = review.VariantFilter(title=get("title") or None, kind=get("kind") or None, segment=get("segment") or None,
                               locale=get("locale") or None, format=get("format") or None,
                               status=get("status") if get("status") in review.REVIEW_STATUSES else None,
                               version="all" if get("version") == "all" else "latest",
                               flag=get("flag") or None, search=search, job=job)
    return flt, sort, per, page


def queue_params(flt: Any, sort: str = "newest", per: int | None = None, page: int | None = None) -> dict[str, str]:
    """The address's query for a queue view (only what differs from the defaults)."""
    out: dict[str, str] = {}
    for name in ("title", "kind", "segment", "locale", "format", "status", "flag"):
        value = getattr(flt, name)
        if value not in (None, ""):
            out[name] = str(value)
    if flt.version == "all":
        out["version"] = "all"
    if flt.search:
        out["q"] = flt.search
    if flt.job is not None:
        out["job"] = str(flt.job)
    if sort != "newest":
        out["sort"] = sort
    if per not in (None, 24):
        out["per"] = str(per)
    if page not in (None, 1):
        out["page"] = str(page)
    return out


def carried_params() -> dict[str, str]:
    """The queue's part of this page's address (to carry to the next page's links)."""
    return {k: str(st.query_params[k]) for k in QUEUE_PARAMS if k in st.query_params and k != "page"}


# -- share links (outside reviewers) --------------------------------------------------------------

SHARE_KEY = "wb_share_token"  # this websocket session's share token (outside reviewers)
SHARE_HANDOFF_KEY = "wb_share_handoff"


def share_cookie() -> str | None:
    from ui.sessions import SHARE_COOKIE, valid_token_text

    try:
        value = st.context.cookies.get(SHARE_COOKIE)
    except Exception:  # noqa: BLE001 (no client context)
        return None
    return value if valid_token_text(value) else None


def current_grant() -> Any:
    """The share link this browser holds, as a :class:`workbench.shares.ShareGrant`, or None.

    The link's token arrives once in the address (``/share?t=…``): it is moved into this
    session's state and out of the address at once, and a single-use handoff code turns it into
    the browser's HttpOnly ``wb_share`` cookie (as a login does), so a reload keeps working while
    the address no longer shows it. Re-checked in the catalog on every run (revoked, expired)."""
    from ui.sessions import issue
    from workbench.shares import ShareExpired, grant_for_token

    token, opened = st.session_state.get(SHARE_KEY), False
    raw = st.query_params.get("t")
    if raw:
        st.query_params.pop("t", None)  # out of the address (and of the history's next entry)
        token, opened = raw, True
    if not token:
        token = share_cookie()
    if not token:
        return None
    try:
        grant = grant_for_token(token, opened=opened, settings=settings())
    except ShareExpired as exc:
        st.session_state.pop(SHARE_KEY, None)
        st.session_state["wb_share_refused"] = sentence(exc)
        return None
    if opened or st.session_state.get(SHARE_KEY) != token:
        st.session_state[SHARE_KEY] = token
        if opened:
            st.session_state[SHARE_HANDOFF_KEY] = issue(token, kind="share")
    return grant


def finish_share_handoff() -> bool:
    """True while the share link's cookie is being set (the page waits, as after a login)."""
    from ui.sessions import SHARE_ROUTE, pending

    code = st.session_state.get(SHARE_HANDOFF_KEY)
    if code is None:
        return False
    if not pending(code):
        st.session_state.pop(SHARE_HANDOFF_KEY, None)
        return False
    result = _cookie_request("wb_share_handoff", SHARE_ROUTE, {"code": code}, report=True)
    if getattr(result, "done", None) is False:
        st.session_state.pop(SHARE_HANDOFF_KEY, None)
        return False
    st.info("Opening the shared review…")
    return True
