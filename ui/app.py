"""The review app's entry point: only a router. Each run resolves who is signed in (this
session's login, or the browser's ``wb_session`` cookie: see ``ui/sessions.py``), offers the
pages that actor's role can use (hiding is for usability; the library enforces every call) and
runs the chosen page. Logged out, every page's address runs the login form instead, so a link
lands where it points after the login.

The server runs it through ``ui/server.py`` (``workbench review``); AppTest runs this file
directly (no server, so no cookie: the session state carries the login)."""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run ui/app.py` puts ui/ on sys.path, not the project root the packages live in.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st

from ui import components, threads
from ui.nav import login_pages, logout, pages_for

st.set_page_config(page_title="Creative Workbench review", layout="wide")

actor = components.current_actor()
if actor is None:
    page = st.navigation(login_pages(), position="hidden")
else:
    with st.sidebar:
        st.caption(f"Signed in as **{components.md(actor.name)}** · {components.md(actor.role)}")
        st.button("Log out", key="logout", on_click=logout)
    page = st.navigation(pages_for(actor))
    with st.sidebar:
        threads.notification_bell(actor)  # after the pages are known: its links name them
    if components.finish_sign_in():  # the browser's cookie is being set: the page comes next
        st.stop()
page.run()
