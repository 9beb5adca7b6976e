"""Which pages a role sees, and logging out. Kept apart from ``app.py`` so tests can ask."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from ui import components
from workbench.access import Actor


@dataclass(frozen=True)
class PageSpec:
    path: str  # relative to ui/app.py
    title: str
    url_path: str
    permission: str  # shown to roles the library grants this permission
    icon: str


PAGES: tuple[PageSpec, ...] = (
    PageSpec("views/queue.py", "Queue", "queue", "view", ":material/grid_view:"),
    PageSpec("views/compare.py", "Compare", "compare", "view", ":material/compare:"),
    PageSpec("views/variant.py", "Variant", "variant", "view", ":material/image:"),
    PageSpec("views/jobs.py", "Jobs", "jobs", "view", ":material/pending_actions:"),
    PageSpec("views/audit.py", "Audit", "audit", "audit", ":material/history:"),
    PageSpec("views/export.py", "Export", "export", "export", ":material/ios_share:"),
    PageSpec("views/users.py", "Users", "users", "manage_users", ":material/group:"),
)


def visible_pages(actor: Actor) -> list[PageSpec]:
    return [spec for spec in PAGES if components.can(actor, spec.permission)]


def pages_for(actor: Actor) -> list[st.Page]:
    specs = visible_pages(actor)
    return [st.Page(s.path, title=s.title, url_path=s.url_path, icon=s.icon, default=(i == 0))
            for i, s in enumerate(specs)]


def logout() -> None:
    """End the login session in the catalog and forget its token (a button callback)."""
    from workbench.users import end_session

    token = st.session_state.pop(components.TOKEN_KEY, None)
    if token:
        end_session(token, settings=components.settings())
    for key in [k for k in st.session_state if str(k).startswith(("q_", "v_", "x_", "a_", "c_", "j_"))]:
        del st.session_state[key]
    components.flash("Logged out.", "info")
