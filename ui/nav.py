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
    PageSpec("views/shares.py", "Share links", "shares", "review", ":material/share:"),
    PageSpec("views/export.py", "Export", "export", "export", ":material/ios_share:"),
    PageSpec("views/users.py", "Users", "users", "manage_users", ":material/group:"),
)


def visible_pages(actor: Actor) -> list[PageSpec]:
    return [spec for spec in PAGES if components.can(actor, spec.permission)]


LOGIN_SCRIPT = "views/login.py"
SHARE_SCRIPT = "views/share.py"


def share_page() -> st.Page:
    """An outside reviewer's page (``/share?t=…``): registered signed in or not, hidden."""
    return st.Page(SHARE_SCRIPT, title="Shared review", url_path="share", visibility="hidden")


def pages_for(actor: Actor) -> list[st.Page]:
    specs = visible_pages(actor)
    pages = [st.Page(s.path, title=s.title, url_path=s.url_path, icon=s.icon, default=(i == 0))
             for i, s in enumerate(specs)]
    # /login after signing in (a bookmark, or the login page's own address): the first page
    pages.append(st.Page(_signed_in_already, title="Log in", url_path="login", visibility="hidden"))
    pages.append(share_page())
    return pages


def _signed_in_already() -> None:
    st.switch_page(PAGES[0].path)


def login_pages() -> list[st.Page]:
    """While nobody is signed in: every page's address, each running the login form, so a link
    (``/variant?id=5``) keeps its address and query while the person logs in, and shows what it
    names afterwards. (Registering only a login page would make Streamlit answer "Page not
    found" and drop to it.)"""
    pages = [st.Page(LOGIN_SCRIPT, title="Log in", url_path=s.url_path, default=(i == 0)) for i, s in enumerate(PAGES)]
    pages.append(st.Page(LOGIN_SCRIPT, title="Log in", url_path="login"))
    pages.append(share_page())
    return pages


def logout() -> None:
    """End the login session in the catalog and forget its token (a button callback). The
    browser's cookie names a revoked session from now on (media stop at once); the login page
    then asks the server to clear it."""
    from workbench.users import end_session

    token = st.session_state.pop(components.TOKEN_KEY, None)
    if token:
        end_session(token, settings=components.settings())
        components.forget_cookie(token)
    st.session_state.pop(components.HANDOFF_KEY, None)
    for key in [k for k in st.session_state if str(k).startswith(("q_", "v_", "x_", "a_", "c_", "j_", "cm_", "sh_"))]:
        del st.session_state[key]
    components.flash("Logged out.", "info")
