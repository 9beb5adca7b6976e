"""The Streamlit review app: ``ui/app.py`` routes pages (``ui/pages/``) with ``st.navigation``.

Pages are thin: every read and every decision goes through the library (``workbench.review``,
``workbench.users``, ``workbench.export``, ``workbench.jobs``), which also enforces the roles.
Start it with ``workbench review`` (see :func:`ui.launch.serve`).
"""
