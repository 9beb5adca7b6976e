"""The review app's server entry point: Streamlit's ASGI app (``st.App``) running ``app.py``,
behind the workbench's own middleware (:mod:`ui.web`: security headers, the session cookie
routes, media and uploads only for a live session, internal endpoints closed).

The two session routes (``POST /_wb/session``, ``POST /_wb/logout``) are answered by that
middleware too, before Streamlit's routing, with the same path handling as the guards.

``workbench review`` runs it (``streamlit run ui/server.py``: Streamlit sees ``web.tcp_no_delay()  # see there: without it, kept-alive requests waited 40 ms each
app = st.App(...)``
and serves it with uvicorn). ``ui/app.py`` stays a plain Streamlit script, which is what
``AppTest`` runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run ui/server.py` puts ui/ on sys.path, not the project root the packages live in.
_ROOT = str(Path(__file__).resolve().parents[1])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

import streamlit as st

from ui import web

web.tcp_no_delay()  # see there: without it, kept-alive requests waited 40 ms each
app = st.App(str(Path(__file__).resolve().with_name("app.py")), middleware=web.middleware())
