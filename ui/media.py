"""Pictures and videos in the review app: the queue's cached previews, the variant page's player
and shot strip, and previews with crop windows or comment pins drawn on them."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.components import md, settings, slot_format
from workbench.errors import WorkbenchError
from workbench.settings import Settings

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
                st.caption(f"{md(clip.get('n'))} · source {md(timecode(clip.get('source_in')))}–"
                           f"{md(timecode(clip.get('source_out')))} · at {md(timecode(clip.get('record_in')))}")
                st.caption(md(clip.get("why") or ""))


def timecode(seconds: Any) -> str:
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
