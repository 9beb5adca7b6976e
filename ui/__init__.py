"""The Streamlit review app: ``ui/app.py`` routes pages (``ui/views/``) with ``st.navigation``;
``ui/server.py`` serves it as an ``st.App`` behind the middleware of ``ui/web.py`` (security
headers, the session cookie, media for live sessions only).

Pages are thin: every read and every decision goes through the library (``workbench.review``,
``workbench.users``, ``workbench.export``, ``workbench.jobs``, ``workbench.regenerate``), which
also enforces the roles. Start it with ``workbench review`` (see :func:`ui.launch.serve`).
"""
