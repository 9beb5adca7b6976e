"""Export (ad ops): approved variants only, each manifest verified first, rendered to delivery
sizes, re-signed, zipped with manifest.json/manifest.csv. Blocked variants are listed with why.

Before the zip is made the page previews it (``workbench.export.preview_export``): per approved
variant, its cached preview with each delivery's crop window drawn on it, and in words every
delivery that would cut a face. A video shows a frame of the delivered file; a reframed one (a
9:16 cut of a 16:9 title) also shows where each shot's window sits on the title, and names the
shots whose crop cuts a face. The preview is made when the title changes, on "Refresh
preview" and after an export (verifying every approved file costs a few milliseconds each);
the export itself verifies again."""

from __future__ import annotations

import time

import streamlit as st

from ui import components, media
from ui.components import md
from workbench import review
from workbench.export import export_approved, preview_export

RESULT = "x_result"
PREVIEW = "x_preview"  # (title, made at, [VariantPreview])
PREVIEW_COLUMNS = 3

actor = components.require_actor()
settings = components.settings()
st.header("Export approved creatives")
may_export = components.can(actor, "export")
if not may_export:
    st.info(f"Exports are made by ad ops; your role ({md(actor.role)}) cannot export.")

titles = review.filter_options(settings=settings)["titles"]
title = components.any_select(st, "Title", titles, key="x_title", any_label="All titles")
run = st.button("Export approved", key="x_run", type="primary")
if run:
    out_dir = settings.home / "exports"  # the library names each export by title and time
    st.session_state.pop(RESULT, None)
    st.session_state.pop(PREVIEW, None)
    with components.reported(), st.spinner("Verifying, rendering and signing…"):
        st.session_state[RESULT] = export_approved(actor, out_dir, title=title, settings=settings)

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


# -- the preview ---------------------------------------------------------------------------------


HOW = {"own": "the file itself", "scaled": "scaled down", "rewritten": "re-pointed at the exported files"}


def face_text(d) -> str:
    """What a delivery that cuts a face does, in words: ``970x250 cuts 1 of 2 faces``."""
    cut = d.faces_total - d.faces_kept
    return f"{d.width}x{d.height} cuts {cut} of {d.faces_total} face{'s' if d.faces_total != 1 else ''}"


def show_preview(previews) -> None:
    if not previews:
        st.info("Nothing approved here yet: an export would have nothing to deliver.")
        return
    blocked = [p for p in previews if p.blocked]
    cutting = [(p, d) for p in previews for d in p.deliveries if d.cuts_a_face]
    reframed = [p for p in previews if not p.blocked and p.row.is_video and media.face_cuts(p.row)]
    files = sum(len(p.deliveries) for p in previews if not p.blocked)
    st.markdown(f"**{len(previews)}** approved variant{'s' if len(previews) != 1 else ''} · {files} files"
                f" · {len(blocked)} blocked · {len(cutting)} deliver{'ies' if len(cutting) != 1 else 'y'} cut a face"
                + (f" · {len(reframed)} reframed video{'s' if len(reframed) != 1 else ''} cut a face" if reframed
                   else ""))
    for start in range(0, len(previews), PREVIEW_COLUMNS):
        for col, p in zip(st.columns(PREVIEW_COLUMNS), previews[start:start + PREVIEW_COLUMNS]):
            with col.container(border=True):
                st.markdown(components.variant_label(p.row) + f" · {md(p.row.title_name)}")
                if p.blocked:
                    st.error(f"Blocked: {md(p.blocked)}")
                    continue
                if p.row.is_video:  # a frame of it, and for a vertical cut where each shot's window sits
                    media.video_delivery_preview(p.row)
                else:
                    picture = media.crop_windows(p, settings)
                    if picture is not None:
                        st.image(picture, width="stretch")
                for d in p.deliveries:
                    if d.cuts_a_face:
                        st.warning(md(face_text(d)))
                st.dataframe([{"#": n + 1, "delivery": d.delivery, "size": f"{d.width}x{d.height}" if d.width else "–",
                               "how": d.strategy if d.box is not None else HOW.get(d.strategy, d.strategy),
                               "faces kept": f"{d.faces_kept} of {d.faces_total}" if d.faces_total else "–"}
                              for n, d in enumerate(p.deliveries)], hide_index=True, width="stretch")


if may_export:
    st.subheader("Preview", anchor=False)
    cached = st.session_state.get(PREVIEW)
    if st.button("Refresh preview", key="x_refresh") or cached is None or cached[0] != title:
        cached = None
        with components.reported(), st.spinner("Verifying the approved files…"):
            cached = (title, time.strftime("%H:%M:%S"), preview_export(actor, title=title, settings=settings))
            st.session_state[PREVIEW] = cached
    if cached is not None:
        st.caption(f"What the export would deliver, as of {cached[1]}: each window is drawn and numbered as listed;"
                   " faces are outlined in white.")
        show_preview(cached[2])
