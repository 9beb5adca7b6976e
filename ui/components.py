"""What the pages share: the signed-in actor, role checks for hiding controls, error display,
and text helpers that keep user-supplied strings out of markup.

Nothing here decides anything: hiding a button is for usability, the library checks every call
(:func:`workbench.access.require`) and the pages show its :class:`PermissionDenied` as an error.
"""

from __future__ import annotations

import contextlib
import json
import re
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


def variant_label(row: Any) -> str:
    """One line that names a variant: id, segment, locale, placement and pick, version (escaped)."""
    parts = [f"#{row.id}", dash(row.segment), slot_format(row.format), f"v{row.version}"]
    if getattr(row, "locale", None):
        parts.insert(2, row.locale)
    return md(" · ".join(parts))


STATUS_COLOURS = {"pending": "orange", "approved": "green", "rejected": "red", "changes_requested": "violet"}


def status_badge(status: str) -> str:
    """A coloured status word; the status is one of the catalog's fixed values, escaped anyway."""
    colour = STATUS_COLOURS.get(status, "gray")
    return f":{colour}-badge[{md(status.replace('_', ' '))}]"


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
    return container.selectbox(label, options, index=index, key=key,
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


# -- shared panels ----------------------------------------------------------------------------


def preview(row: Any) -> None:
    """A variant's small cached preview (never the full-size file); a video shows a poster frame."""
    from workbench.previews import poster_path, preview_path

    try:
        path = preview_path(row.sha256, row.ext, settings())
        if path is None:
            path = poster_path(row.sha256, row.ext, settings())
            st.caption(f":material/movie: video · {md(slot_format(row.format))}")
    except (WorkbenchError, OSError, ValueError) as exc:  # missing from the store, or not a readable picture
        st.caption(f":material/broken_image: no preview: {md(exc)}")
        return
    st.image(str(path), width="stretch")


def player(row: Any, files: dict | None = None, start_time: float = 0.0) -> None:
    """A video variant's player, on its review copy when it has one (from ``start_time`` s)."""
    from workbench import review

    files = files if files is not None else review.variant_files(row.id, settings=settings())
    review_copy = next((path for role, path in sorted(files.items()) if role.startswith("rendition.")), None)
    path = review_copy if review_copy is not None and review_copy.is_file() else row.file_path
    if not path.is_file():
        st.caption(":material/broken_image: the file is missing from the store")
        return
    st.video(str(path), start_time=int(max(0.0, start_time)))


def shot_strip(detail: Any) -> None:
    """A trailer's shots: a still of each from the title, its source timecode, why it was chosen."""
    from workbench.previews import poster_path

    clips = (detail.explanation.details or {}).get("clips") or []
    if not clips:
        return
    st.markdown("**Shots**")
    source = detail.row.recipe.get("source_sha256")
    ext = _source_ext(source)
    per_row = 4
    for start in range(0, len(clips), per_row):
        cols = st.columns(per_row)
        for col, clip in zip(cols, clips[start:start + per_row]):
            with col:
                if source and ext:
                    try:
                        st.image(str(poster_path(source, ext, settings(), at=float(clip["source_in"]) + 0.04, side=240,
                                                 video_start=_video_start(detail))), width="stretch")
                    except (WorkbenchError, OSError, ValueError):
                        st.caption(":material/broken_image: no still")
                st.caption(f"{md(clip.get('n'))} · source {md(_timecode(clip.get('source_in')))}–"
                           f"{md(_timecode(clip.get('source_out')))} · at {md(_timecode(clip.get('record_in')))}")
                st.caption(md(clip.get("why") or ""))


def _timecode(seconds: Any) -> str:
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return "–"
    return f"{int(s // 60):02d}:{s % 60:05.2f}"


def _source_ext(sha: str | None) -> str | None:
    if not sha:
        return None
    from workbench.catalog import get_asset_by_sha256, open_catalog

    with open_catalog(settings()).session() as session:
        asset = get_asset_by_sha256(session, sha)
        return asset.ext if asset is not None else None


def _video_start(detail: Any) -> float:
    return float(((detail.row.recipe or {}).get("details") or {}).get("video_start") or 0.0)


BOX_COLOURS = ((255, 59, 48), (52, 199, 89), (10, 132, 255), (255, 204, 0), (175, 82, 222), (255, 149, 0),
               (90, 200, 250), (255, 45, 85))  # one per delivery window, in the order listed
FACE_COLOUR = (255, 255, 255)


def crop_windows(p: Any, settings_: Settings | None = None) -> Any:
    """An export preview's picture: the variant's cached preview with each delivery's crop
    window drawn (numbered and coloured as the deliveries are listed; the file itself gets
    no window) and the faces outlined in white. None for a video or a file not in the store."""
    from PIL import Image, ImageDraw

    from workbench.previews import preview_path

    row = p.row
    try:
        path = preview_path(row.sha256, row.ext, settings_ or settings())
    except (WorkbenchError, OSError, ValueError):
        return None
    if path is None or not row.width or not row.height:
        return None
    with Image.open(path) as im:
        picture = im.convert("RGB")
    sx, sy = picture.width / row.width, picture.height / row.height
    draw = ImageDraw.Draw(picture)
    for face in p.faces:
        b = face.box
        draw.rectangle([round(b.x * picture.width), round(b.y * picture.height),
                        round((b.x + b.w) * picture.width) - 1, round((b.y + b.h) * picture.height) - 1],
                       outline=FACE_COLOUR, width=1)
    for n, d in enumerate(p.deliveries):
        if d.box is None:
            continue
        x0, y0, x1, y1 = d.box
        colour = BOX_COLOURS[n % len(BOX_COLOURS)]
        box = [round(x0 * sx), round(y0 * sy), max(round(x0 * sx), round(x1 * sx) - 1),
               max(round(y0 * sy), round(y1 * sy) - 1)]
        draw.rectangle(box, outline=colour, width=2)
        draw.text((box[0] + 3, box[1] + 2), str(n + 1), fill=colour)
    return picture


def explanation(row: Any, info: Any = None, *, heading: bool = True) -> None:
    """"Why this frame" (or the kind's own heading): the library's explanation of a variant (its
    recipe, read as text: ``review.explain``) and the score's terms, largest contribution first."""
    import dataclasses

    from workbench import review

    info = info if info is not None else review.explain(row)
    if heading:
        st.markdown(f"**{md(explanation_heading(info))}**")
    model = info.model
    lines = [("", info.summary), *((f"{label}: ", text) for label, text in info.facts),
             ("Generator: ", info.generator),
             ("Model: ", (model.get("name") or model.get("id") or "yes") if isinstance(model, dict) and model
              else model if model else "none (classical processing only)")]
    if info.seed is not None:
        lines.append(("Seed: ", info.seed))
    for prefix, value in lines:
        if value not in (None, ""):
            st.caption(f"{prefix}{md(value)}")
    if info.terms:
        st.dataframe([dataclasses.asdict(t) for t in info.terms], hide_index=True, width="stretch",
                     column_order=("feature", "contribution", "weight", "normalised", "raw"))


def explanation_heading(info: Any) -> str:
    return getattr(info, "heading", None) or "Why this variant"


def provenance_panel(detail: Any) -> None:
    """Validation state and a manifest summary (signer, actions, digital source type,
    ingredients, training and mining) of a variant's stored file, verified when the page loads."""
    p = detail.provenance
    state_colour = {"Trusted": "green", "Valid": "blue", "Invalid": "red", "Unsigned": "orange"}.get(p.state, "red")
    st.markdown(f"C2PA: :{state_colour}-badge[{md(p.state)}]")
    if detail.file_intact is False:
        st.error("The stored file no longer matches the checksum recorded when it was made.")
    if p.codes:
        st.caption("Status codes: " + md(", ".join(p.codes)))
    if p.detail:
        st.caption(md(p.detail))
    if not (p.signer or p.claim_generator or p.actions):
        return  # no manifest to summarise
    facts = [("Signer", p.signer), ("Issuer", p.issuer), ("Claim generator", p.claim_generator),
             ("Signed at", p.signed_at),
             ("Digital source type", ", ".join(p.digital_source_types) or "no AI claim (classical processing)")]
    for label, value in facts:
        if value:
            st.caption(f"{label}: {md(value)}")
    if p.actions:
        st.markdown("**Actions**")
        st.dataframe([{"action": a.get("action"), "digital source type": a.get("digital_source_type"),
                       "description": a.get("description")} for a in p.actions], hide_index=True, width="stretch")
    if p.ingredients:
        st.markdown("**Ingredients**")
        st.dataframe(p.ingredients, hide_index=True, width="stretch")
    if p.training_mining:
        st.caption("Training and mining: " + md(", ".join(f"{k}: {v}" for k, v in sorted(p.training_mining.items()))))


def event_rows(events: Any) -> list[dict[str, Any]]:
    """Review or audit events as table rows (a table shows text as text: no markup at all)."""
    rows = []
    for e in events:
        rows.append({
            "when": str(e.at)[:19].replace("T", " "),
            "who": e.actor,
            "role": e.role,
            "action": e.action,
            "title": getattr(e, "title_name", None),
            "variant": e.variant_id,
            "comment": e.comment,
            "details": json.dumps(e.details, sort_keys=True, ensure_ascii=False) if e.details else None,
        })
    return rows


# -- the queue's view in the address -------------------------------------------------------------

QUEUE_PARAMS = ("title", "kind", "segment", "locale", "format", "status", "flag", "version", "sort", "q", "per", "page")
SORTS = {"newest": "Newest first", "score": "Best score first", "flags": "Flagged first"}


def queue_view(params: Any = None) -> tuple[Any, str, int, int]:
    """The queue's filter, sort, page size and page from the address (``?segment=action&sort=
    score&q=…``): what the queue shows, and what "next" means on a variant page opened from it.
    Values the catalog does not hold are ignored."""
    from workbench import review

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
    flt = review.VariantFilter(title=get("title") or None, kind=get("kind") or None, segment=get("segment") or None,
                               locale=get("locale") or None, format=get("format") or None,
                               status=get("status") if get("status") in review.REVIEW_STATUSES else None,
                               version="all" if get("version") == "all" else "latest",
                               flag=get("flag") or None, search=search)
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


# -- keyboard shortcuts --------------------------------------------------------------------------

# Fixed text; its data is a table of keys to the labels of this page's own controls (no user text).
_KEYS_JS = """
export default function(component) {
  window.__wbKeys = component.data || {};
  if (window.__wbKeysBound) return;
  window.__wbKeysBound = true;
  // a control's own words (an icon's ligature name may come first, on its own line)
  const says = (el, text) => { const t = (el.innerText || "").trim(); return t === text || t.endsWith("\\n" + text); };
  // what is on screen: a page change may leave the old page's copy in the document a moment
  const shown = (el) => el.isConnected && !el.closest('[data-stale="true"]') && el.getClientRects().length > 0;
  const byText = (sel, text) => Array.from(document.querySelectorAll(sel)).reverse()
      .find((el) => says(el, text) && shown(el) && !el.disabled && el.getAttribute("aria-disabled") !== "true");
  const cards = () => Array.from(document.querySelectorAll('[data-testid="stMain"] input[type="checkbox"]'))
      .filter((box) => (box.closest("label") || {}).innerText?.trim().startsWith("Select #"));
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const typing = target && (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT"
        || (target.tagName === "INPUT" && !["checkbox", "radio", "button"].includes(target.type)));
    if (typing) { if (event.key === "Escape") target.blur(); return; }
    // on a form's choice (a decision being written) letters are not commands
    if (target && target.type === "radio" && target.closest && target.closest('[data-testid="stForm"]')) {
      if (event.key === "Escape") target.blur();
      return;
    }
    const key = {ArrowRight: "j", ArrowLeft: "k"}[event.key] || event.key;
    const action = (window.__wbKeys.keys || {})[key];
    if (!action) return;
    if (action.move) {
      const all = cards();
      if (!all.length) return;
      const at = all.indexOf(document.activeElement);
      const next = all[Math.max(0, Math.min(all.length - 1, at < 0 ? 0 : at + action.move))];
      next.focus();
      next.closest('[data-testid="stVerticalBlock"]')?.scrollIntoView({block: "nearest"});
    } else if (action.open) {
      const box = cards().find((b) => b === document.activeElement) || cards()[0];
      const card = box && box.closest('[data-testid="stVerticalBlockBorderWrapper"], [data-testid="stVerticalBlock"]');
      const link = card && Array.from(card.querySelectorAll("a")).find((a) => says(a, action.open));
      if (link) link.click(); else return;
    } else if (action.pick || action.focus) {
      let picked = false;
      if (action.pick) {
        const choice = Array.from(document.querySelectorAll('[data-testid="stRadio"] label'))
            .find((l) => says(l, action.pick));
        const input = choice && choice.querySelector("input");
        if (choice && !(input && input.checked)) { choice.click(); picked = true; }
      }
      const field = action.focus && document.querySelector(`textarea[aria-label="${action.focus}"], input[aria-label="${action.focus}"]`);
      if (field && !picked) field.focus();
      // a radio's click, or the app settling after a page change, may take the focus back a
      // moment later: give it to the field again unless the person is already in a field
      if (field) [50, 300].forEach((ms) => setTimeout(() => {
        if (!["TEXTAREA", "INPUT"].includes(document.activeElement?.tagName) || document.activeElement.type === "radio") field.focus();
      }, ms));
    } else if (action.click) {
      const control = byText("button, a", action.click);
      if (!control) return;
      control.click();
    }
    event.preventDefault();
  });
}
"""

KEY_HELP = {
    "queue": [("j / →", "next card"), ("k / ←", "previous card"), ("space", "select the focused card"),
              ("o", "open the focused card"), ("?", "this help")],
    "variant": [("a", "approve and go to the next pending variant"), ("r", "reject: the comment box"),
                ("c", "write a comment"), ("j / →", "next variant"), ("k / ←", "previous variant"),
                ("?", "this help")],
}


def keyboard(keys: dict[str, dict[str, Any]]) -> None:
    """Keyboard shortcuts for this page: each key clicks one of the page's labelled controls
    (``{"click": label}``), picks a radio choice and focuses a field (``{"pick": .., "focus": ..}``),
    or moves between the queue's cards (``{"move": 1}``, ``{"open": "Open"}``). Keys typed into a
    field are left alone; Escape leaves the field."""
    mount = st.components.v2.component("wb_keyboard", js=_KEYS_JS)
    mount(key="wb_keyboard", data={"keys": keys}, height="content")


def shortcuts_help(page: str) -> None:
    """A "Keyboard shortcuts" button (``?``) that opens the list."""

    @st.dialog("Keyboard shortcuts")
    def _show() -> None:
        st.table([{"key": k, "does": what} for k, what in KEY_HELP[page]])

    if st.button("Keyboard shortcuts", key=f"keys_help_{page}", icon=":material/keyboard:"):
        _show()


# -- comments --------------------------------------------------------------------------------------


PIN_COLOUR = (255, 59, 48)


def pinned_picture(row: Any, pins: list[Any], side: int = 1280) -> Any:
    """A still's larger cached preview with ``pins`` drawn (a ring for a point, a box for a box),
    numbered in the order given; None when no preview can be made."""
    from PIL import Image, ImageDraw

    from workbench.previews import preview_path

    try:
        path = preview_path(row.sha256, row.ext, settings(), side=side)
    except (WorkbenchError, OSError, ValueError):
        return None
    if path is None:
        return None
    with Image.open(path) as im:
        picture = im.convert("RGB")
    draw = ImageDraw.Draw(picture)
    w, h = picture.size
    stroke = max(2, round(min(w, h) / 200))
    for n, (label, pin) in enumerate(pins):
        x, y = pin.x * w, pin.y * h
        if pin.is_box:
            draw.rectangle([x, y, x + pin.w * w - 1, y + pin.h * h - 1], outline=PIN_COLOUR, width=stroke)
        else:
            r = max(8, round(min(w, h) / 40))
            draw.ellipse([x - r, y - r, x + r, y + r], outline=PIN_COLOUR, width=stroke)
        draw.text((x + 6, y + 4), str(label), fill=PIN_COLOUR)
    return picture


def when(iso: str) -> str:
    return str(iso)[:16].replace("T", " ") + " UTC"


def time_label(t: Any) -> str:
    return _timecode(t.start) + (f"–{_timecode(t.end)}" if t.end is not None else "")


def comment_panel(author: Any, row: Any, *, may_comment: bool, may_resolve: bool, link_params: dict[str, str],
                  page_path: str = "views/variant.py", prefix: str = "cm") -> Any:
    """A variant's threads (replies, pins, times), and a form for a new comment with a pin (a
    still) or a time (a video). Returns the pins of the selected thread, for the picture."""
    from workbench import comments

    key_sel = f"{prefix}_sel_{row.id}"
    try:
        threads = comments.threads(author, row.id, settings=settings())
    except WorkbenchError as exc:
        error(exc)
        return []
    st.subheader("Comments", anchor=False)
    open_n = sum(not t.resolved for t in threads)
    st.caption(f"{len(threads)} thread{'s' if len(threads) != 1 else ''} · {open_n} open")
    selected = st.session_state.get(key_sel)
    for t in threads:
        with st.container(border=True):
            where = ""
            if t.pin is not None:
                where = " · :material/location_on: " + ("box" if t.pin.is_box else "pin")
            if t.time is not None:
                where = f" · :material/schedule: {md(time_label(t.time))}"
            state = ":green-badge[resolved]" if t.resolved else ""
            st.markdown(f"**{md(t.author)}** · {md(when(t.at))}{where} {state}")
            st.text(t.body)
            if t.time is not None and row.is_video and st.button(
                    f"Play from {time_label(t.time)} (comment {t.id})", key=f"{prefix}_seek_{t.id}",
                    icon=":material/play_arrow:"):
                st.query_params["at"] = f"{t.time.start:.2f}"  # the player's start; the address can be shared
                st.rerun()
            for r in t.replies:
                st.markdown(f"↳ **{md(r.author)}** · {md(when(r.at))}")
                st.text(r.body)
            actions = st.columns(3)
            if t.pin is not None and actions[0].button(
                    f"Hide comment {t.id} on the picture" if selected == t.id else f"Show comment {t.id} on the picture",
                    key=f"{prefix}_show_{t.id}"):
                st.session_state[key_sel] = None if selected == t.id else t.id
                st.rerun()
            if may_resolve and actions[1].button(f"{'Reopen' if t.resolved else 'Resolve'} comment {t.id}",
                                                 key=f"{prefix}_res_{t.id}"):
                with reported():
                    comments.resolve(author, t.id, not t.resolved, settings=settings())
                    st.rerun()
            if may_comment:
                with st.form(f"{prefix}_reply_{t.id}", clear_on_submit=True, border=False):
                    text = st.text_input(f"Reply to comment {t.id}", key=f"{prefix}_reply_text_{t.id}", max_chars=2000)
                    if st.form_submit_button(f"Send reply to comment {t.id}"):
                        with reported():
                            comments.add_comment(author, row.id, text, parent_id=t.id, settings=settings())
                            st.rerun()
    if may_comment:
        with st.form(f"{prefix}_new_{row.id}", clear_on_submit=True):
            body = st.text_area("New comment", key=f"{prefix}_body", max_chars=2000,
                                placeholder="@name to mention someone")
            pin = span = None
            if row.is_video:
                cols = st.columns(2)
                start = cols[0].number_input("At (seconds)", min_value=0.0, value=None, step=0.1, key=f"{prefix}_t0")
                end = cols[1].number_input("Until (seconds, optional)", min_value=0.0, value=None, step=0.1,
                                           key=f"{prefix}_t1")
            else:
                st.caption("Pin: where on the picture, from the left and top edges (0 to 1); a box also has a size.")
                cols = st.columns(4)
                px = cols[0].number_input("Pin x", min_value=0.0, max_value=1.0, value=None, step=0.05, key=f"{prefix}_px")
                py = cols[1].number_input("Pin y", min_value=0.0, max_value=1.0, value=None, step=0.05, key=f"{prefix}_py")
                pw = cols[2].number_input("Box width", min_value=0.0, max_value=1.0, value=None, step=0.05,
                                          key=f"{prefix}_pw")
                ph = cols[3].number_input("Box height", min_value=0.0, max_value=1.0, value=None, step=0.05,
                                          key=f"{prefix}_ph")
            sent = st.form_submit_button("Add comment")
        if sent:
            try:
                if row.is_video:
                    span = None if start is None else comments.TimeRange(start, end)
                elif px is not None or py is not None:
                    if px is None or py is None:
                        raise comments.InvalidPin("a pin needs both x and y")
                    pin = comments.Pin(px, py, pw or None, ph or None) if (pw or ph) else comments.Pin(px, py)
                made = comments.add_comment(author, row.id, body, pin=pin, time=span, settings=settings())
            except WorkbenchError as exc:
                error(exc)
            else:
                if made.pin is not None:
                    st.session_state[key_sel] = made.id
                flash(f"Comment {made.id} added.")
                st.rerun()
    chosen = next((t for t in threads if t.id == st.session_state.get(key_sel) and t.pin is not None), None)
    return [(chosen.id, chosen.pin)] if chosen else []


# -- notifications -----------------------------------------------------------------------------


def notification_bell(actor: Actor) -> None:
    """The sidebar's bell: how many unread, and the list (with links to the variants)."""
    from workbench import notifications

    try:
        items = notifications.for_user(actor, limit=20, settings=settings())
    except WorkbenchError:
        return
    unread = sum(not n.read for n in items)
    with st.popover(f"Notifications: {unread} unread" if unread else "Notifications", icon=":material/notifications:"):
        if not items:
            st.caption("Nothing yet: mentions, new versions of what you commented on, finished batches.")
        for n in items:
            st.markdown(("**new** · " if not n.read else "") + md(n.text))
            if n.variant_id:
                st.page_link("views/variant.py", label=f"Open variant #{n.variant_id} (notification {n.id})",
                             query_params={"id": str(n.variant_id)})
        if unread and st.button("Mark all read", key="notify_read"):
            notifications.mark_read(actor, settings=settings())
            st.rerun()


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
