"""Export (ad ops): approved variants only, each manifest verified first, rendered to delivery
sizes, re-signed, zipped with manifest.json/manifest.csv. Blocked variants are listed with why."""

from __future__ import annotations

import streamlit as st

from ui import components
from workbench import review
from workbench.export import export_approved

ALL = "All titles"
RESULT = "x_result"

actor = components.require_actor()
settings = components.settings()
st.header("Export approved creatives")
if not components.can(actor, "export"):
    st.info(f"Exports are made by ad ops; your role ({components.md(actor.role)}) cannot export.")

titles = review.filter_options(settings=settings)["titles"]
title = st.selectbox("Title", [ALL, *titles], key="x_title")
if st.button("Export approved", key="x_run", type="primary"):
    out_dir = settings.home / "exports"  # the library names each export by title and time
    st.session_state.pop(RESULT, None)
    with components.reported(), st.spinner("Verifying, rendering and signing…"):
        st.session_state[RESULT] = export_approved(actor, out_dir, title=None if title == ALL else title,
                                                   settings=settings)

result = st.session_state.get(RESULT)
if result is not None:
    st.success(f"Exported {result.variants} variant{'s' if result.variants != 1 else ''} as {len(result.files)} files"
               f" in {result.seconds:.1f} s (verification {result.verify_seconds:.1f} s).")
    st.code(str(result.zip_path), language=None)
    if result.blocked:
        st.warning(f"{len(result.blocked)} approved variant{'s' if len(result.blocked) != 1 else ''} blocked:")
        st.dataframe([{"variant": vid, "reason": reason} for vid, reason in result.blocked], hide_index=True,
                     width="stretch")
    if result.zip_path and result.zip_path.is_file():
        st.download_button("Download zip", data=result.zip_path.read_bytes(), file_name=result.zip_path.name,
                           mime="application/zip", key="x_download", type="primary")
