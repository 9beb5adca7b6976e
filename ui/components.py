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

TOKEN_KEY = "wb_token"  # the login session's token (the only credential the browser session holds)
FLASH_KEY = "wb_flash"  # one message shown on the next run (after a callback or a rerun)

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$&])")


def settings() -> Settings:
    return get_settings()


# -- who is signed in -------------------------------------------------------------------------


def current_actor() -> Actor | None:
    """The actor of this browser session's login, or None (never logged in, logged out, expired).
    Checked on every run, so an expired or ended session is noticed at the next click."""
    from workbench.users import SessionExpired, actor_for_session

    token = st.session_state.get(TOKEN_KEY)
    if not token:
        return None
    try:
        return actor_for_session(token, settings=settings())
    except SessionExpired:
        st.session_state.pop(TOKEN_KEY, None)
        flash("Your session has ended: log in again.", "warning")
        return None


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
    """``16x9.jpg.pick2`` as people say it: ``16x9 pick 2`` (other formats unchanged)."""
    if not fmt:
        return "–"
    parts = fmt.split(".")
    pick = next((p[4:] for p in parts[1:] if p.startswith("pick") and p[4:].isdigit()), None)
    return f"{parts[0]} pick {pick}" if pick else fmt


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


# -- shared panels ----------------------------------------------------------------------------


def preview(row: Any) -> None:
    """A variant's small cached preview (never the full-size file); videos get a placeholder."""
    from workbench.previews import preview_path

    path = preview_path(row.sha256, row.ext, settings())
    if path is None:
        st.markdown(":material/movie: video: open it to play")
    else:
        st.image(str(path), width="stretch")


def explanation(row: Any, info: dict[str, Any] | None = None, *, heading: bool = True) -> None:
    """"Why this frame": the library's explanation of a variant (its recipe, read as text) and the
    score's terms, largest contribution first."""
    from workbench import review

    info = info if info is not None else review.explain(row)
    if heading:
        st.markdown("**Why this frame**")
    lines = [
        ("", info.get("summary")),
        ("Strongest terms: ", info.get("top_terms")),
        ("Crop: ", info.get("crop_text")),
        ("Generator: ", info.get("generator")),
    ]
    model = (info.get("treatment") or {}).get("model")
    lines.append(("Model: ", model if model else "none (classical processing only)"))
    if info.get("seed") is not None:
        lines.append(("Seed: ", info["seed"]))
    for prefix, value in lines:
        if value not in (None, ""):
            st.caption(f"{prefix}{md(value)}")
    if info.get("terms"):
        st.dataframe(info["terms"], hide_index=True, width="stretch",
                     column_order=("feature", "contribution", "weight", "normalised", "raw"))


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
