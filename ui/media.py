"""Pictures and videos in the review app: cached previews with a "Full size" lightbox (the
queue's cards are one element of their own: :mod:`ui.cardgrid`), the player (frame stepping,
scrubber with the timecoded comments, shot strip), the variant page's picture with its pin tool,
and previews with crop windows or comment pins drawn on them. The scripts behind the lightbox,
player controls and pin tool are in :mod:`ui.viewers`; the files they load come from the
session-checked media route (:mod:`ui.mediafiles`)."""

from __future__ import annotations

import os
import secrets
from fractions import Fraction
from typing import Any

import streamlit as st

from ui import viewers
from ui.components import md, settings, slot_format
from workbench.errors import WorkbenchError
from workbench.settings import Settings


def preview(row: Any, *, side: int | None = None, zoom: bool = False, key_prefix: str = "pv") -> bool:
    """A variant's cached preview, longest side ``side`` (default ``WORKBENCH_PREVIEW_SIDE``),
    never the full-size file; a video shows a poster frame. ``zoom`` adds a "Full size" button
    under a still that opens the stored file in the lightbox. True when a picture was drawn."""
    from workbench.previews import poster_path, preview_path

    try:
        path = preview_path(row.sha256, row.ext, settings(), side=side)
        if path is None:
            path = poster_path(row.sha256, row.ext, settings(), side=side)
            st.caption(f":material/movie: video · {md(slot_format(row.format))}")
    except (WorkbenchError, OSError, ValueError) as exc:  # missing from the store, or not a readable picture
        st.caption(f":material/broken_image: no preview: {md(exc)}")
        return False
    st.image(str(path), width="stretch")
    if zoom and not row.is_video:
        viewers.lightbox_button(row.id, row.width, row.height, key=f"{key_prefix}_zoom_{row.id}")
    return True


def player(row: Any, files: dict | None = None, start_time: float = 0.0, *, viewer: Any = None,
           key_prefix: str = "v") -> None:
    """A video variant's player on its review copy when it has one: ``st.video`` with the
    controls of :func:`ui.viewers.player_controls` (frame stepping at the file's own frame rate,
    a scrubber with the current timecode and the timecoded comments ``viewer`` may read as
    markers, the shot strip). Starts at ``start_time`` s (``?at=`` of a "Play from" link). One
    element (a keyed container), so it fits an ``st.empty`` slot."""
    from ui.mediafiles import clips, playable_path, video_facts
    from ui.web import media_url
    from workbench import review

    files = files if files is not None else review.variant_files(row.id, settings=settings())
    path = playable_path(row, files)
    if path is None:
        st.caption(":material/broken_image: the file is missing from the store")
        return
    try:
        facts = video_facts(row, path)
    except Exception:  # noqa: BLE001 (a file PyAV cannot open still plays, without frame stepping)
        st.video(str(path), start_time=int(max(0.0, start_time)))
        return
    shots = [(int(c["n"]), float(c["record_in"]), media_url(row.id, f"shot-{int(c['n'])}"))
             for c in clips(row) if isinstance(c.get("n"), int) and c.get("record_in") is not None]
    box = f"wbplayer_{key_prefix}_{row.id}"
    with st.container(key=box):
        st.video(str(path), start_time=int(max(0.0, start_time)))
        viewers.player_controls(box, row.id, fps=(facts.fps.numerator, facts.fps.denominator), frames=facts.frames,
                                duration=facts.duration, start=start_time if start_time > 0 else None,
                                marks=time_marks(viewer, row) if viewer is not None else (), shots=shots,
                                key=f"{box}_controls")


def time_marks(viewer: Any, row: Any) -> list[tuple[int, float, float | None]]:
    """The timecoded comment threads of a video variant that ``viewer`` may read: (comment id,
    start, end or None), for the scrubber's markers."""
    from workbench import comments

    try:
        found = comments.threads(viewer, row.id, settings=settings())
    except WorkbenchError:
        return []
    return [(t.id, float(t.time.start), None if t.time.end is None else float(t.time.end))
            for t in found if t.time is not None]


def shot_strip(detail: Any) -> None:
    """A trailer's shots in words: where each sits in the cut, its source timecode, why it was
    chosen. (The player's strip shows their stills and goes to them.)"""
    from ui.mediafiles import clips

    found = clips(detail.row)
    if not found:
        return
    with st.expander(f"Why these {len(found)} shots", expanded=False):
        for clip in found:
            st.caption(f"**{md(clip.get('n'))}** · at {md(timecode(clip.get('record_in')))} · source "
                       f"{md(timecode(clip.get('source_in')))}–{md(timecode(clip.get('source_out')))} · "
                       f"{md(clip.get('why') or '')}")


def timecode(seconds: Any) -> str:
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return "–"
    return f"{int(s // 60):02d}:{s % 60:05.2f}"


# -- the variant page's still: full file, drawn pins, or the pin tool -----------------------------


PIN_FIELDS = ("px", "py", "pw", "ph")  # the comment form's pin inputs: f"{prefix}_{field}" (ui.threads)


def still_tools(row: Any, *, may_pin: bool, prefix: str = "cm") -> bool:
    """Under a still: the "Full size" lightbox button and, for who may comment, the pin tool's
    switch. True when the pin tool is on (the picture is then the pin pad)."""
    cols = st.columns([1, 3])
    with cols[0]:
        viewers.lightbox_button(row.id, row.width, row.height, key=f"{prefix}_zoom_{row.id}")
    if not may_pin:
        return False
    return cols[1].toggle("Pin tool", key=f"{prefix}_pintool_{row.id}",
                          help="Click the picture to pin a point, or drag on it to pin a box: the pin goes into the "
                               "new comment's Pin fields below (which you can also type into).")


def still_picture(row: Any, pins: list[tuple[int, Any]], slot: Any, *, pin_tool: bool, prefix: str = "cm") -> None:
    """The variant page's picture in ``slot``: the pin pad when the pin tool is on (the selected
    comment's pins and the form's pending pin drawn on it), else the selected comment's pins
    drawn on a large preview, else the stored file itself."""
    caption = f"Comment {pins[0][0]}: its pin drawn on the picture" if pins else None
    if pin_tool:
        key = f"{prefix}_pinpad_{row.id}"
        pending = pending_pin(prefix)
        if pending is not None and any(_same_pin(pending, pin) for _label, pin in pins):
            # saved: the new comment is selected and shows it. (The form's inputs are cleared in
            # the browser, but the server keeps the sent values until the next submit.)
            st.session_state[f"{prefix}_pin_saved"] = pending
        if pending == st.session_state.get(f"{prefix}_pin_saved"):
            pending = None
        with slot.container():
            viewers.pin_pad(row.id, pins=pins, pending=pending, key=key, on_pin=lambda: take_pin(key, prefix))
            st.caption(caption or "Click for a point or drag for a box: the pin goes into the new comment below.")
        return
    if pins:
        drawn = pinned_picture(row, pins)
        if drawn is not None:
            slot.image(drawn, width="stretch", caption=caption)
            return
    slot.image(str(row.file_path), width="stretch")


def pending_pin(prefix: str) -> tuple[float, float, float | None, float | None] | None:
    """The pin the new-comment form holds now (typed, or set by the pin tool)."""
    x, y, w, h = (st.session_state.get(f"{prefix}_{f}") for f in PIN_FIELDS)
    if x is None or y is None:
        return None
    return float(x), float(y), (float(w) if w else None), (float(h) if h else None)


def take_pin(key: str, prefix: str) -> None:
    """The pin tool's click (a callback, so before the form's inputs exist in the run): into
    the new comment's pin fields, where it can still be changed or cleared."""
    pin = (st.session_state.get(key) or {}).get("pin")
    if not isinstance(pin, dict):
        return
    try:
        values = [None if pin.get(f) is None else min(1.0, max(0.0, float(pin[f]))) for f in ("x", "y", "w", "h")]
    except (TypeError, ValueError):
        return
    if values[0] is None or values[1] is None:
        return
    for field, value in zip(PIN_FIELDS, values):
        st.session_state[f"{prefix}_{field}"] = value
    st.session_state.pop(f"{prefix}_pin_saved", None)  # a new pin, even where a saved one is


def _same_pin(pending: tuple[float, float, float | None, float | None], pin: Any) -> bool:
    return all(abs((a or 0.0) - (b or 0.0)) < 1e-6 for a, b in zip(pending, (pin.x, pin.y, pin.w, pin.h)))


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


# -- a reframed video's deliveries: which part of the title each shot shows ------------------------

FACES_KEPT_MIN = 0.95  # a shot keeping its face in fewer of its frames cuts it (the trailer kind's QA flag)
KEPT_COLOUR, CUT_COLOUR = (52, 199, 89), (255, 59, 48)
SHEET_TILE = 320  # each shot's source frame, this wide


def face_cuts(row: Any) -> list[tuple[int, float, float]]:
    """The shots of a reframed video that cut a face: (clip number, start in the cut, share of
    its frames that keep the main face), from the recipe's measure."""
    from ui.mediafiles import clips

    out = []
    for c in clips(row):
        share = c.get("faces_kept_share")
        if isinstance(share, (int, float)) and share < FACES_KEPT_MIN:
            out.append((int(c.get("n") or 0), float(c.get("record_in") or 0.0), float(share)))
    return out


def reframe_sheet(row: Any, settings_: Settings | None = None) -> Any:
    """For a video reframed from a title of another shape (a 9:16 trailer of a 16:9 film): each
    shot's source frame, mid-shot, with the window the delivered video shows there drawn on it
    (both halves of a split screen), numbered as the shots; green where the shot keeps its face,
    red where it cuts one. The recipe records how each shot was reframed but not where, so the
    windows are measured on the two files (``workbench.previews.locate_window``); a shot whose
    window cannot be told is drawn without one. Cached beside the previews (a few hundred
    milliseconds of decoding the first time). None for a video that was not reframed."""
    from PIL import Image, ImageDraw

    from ui.mediafiles import _source_ext, clips
    from workbench.media.frames import read_frames_at
    from workbench.previews import locate_window, preview_dir
    from workbench.store import AssetStore

    settings_ = settings_ or settings()
    reframed = [c for c in clips(row) if isinstance(c.get("reframe"), dict)]
    source = (row.recipe or {}).get("source_sha256")
    if not reframed or not source:
        return None
    dest = preview_dir(settings_) / row.sha256[:2] / f"{row.sha256}-reframe-{SHEET_TILE}.jpg"
    if dest.is_file():
        with Image.open(dest) as im:
            return im.convert("RGB")
    ext = _source_ext(source, settings_)
    if ext is None or not row.file_path.is_file():
        return None
    details = (row.recipe or {}).get("details") or {}
    try:
        fps = float(Fraction(str(details.get("fps") or "25")))
    except (ValueError, ZeroDivisionError):
        fps = 25.0
    # the middle of each shot, on both clocks: the title's (analysis) and the cut's
    mids = [float(c.get("frames") or 0) / fps / 2 for c in reframed]
    src_times = [float(c["source_in"]) + m for c, m in zip(reframed, mids)]
    out_times = [float(c["record_in"]) + m for c, m in zip(reframed, mids)]
    frames = read_frames_at(AssetStore(settings_.store_dir).path_for(source, ext), src_times,
                            float(details.get("video_start") or 0.0))
    shown = read_frames_at(row.file_path, out_times)
    tiles = []
    for c, ts, to in zip(reframed, src_times, out_times):
        frame, picture = frames[ts], shown[to]
        parts = [picture] if c["reframe"].get("mode") != "split" else [picture[: picture.shape[0] // 2],
                                                                         picture[picture.shape[0] // 2:]]
        windows = [locate_window(frame, part) for part in parts]
        tile = Image.fromarray(frame)
        scale = SHEET_TILE / tile.width
        tile = tile.resize((SHEET_TILE, max(1, round(tile.height * scale))), Image.Resampling.LANCZOS)
        draw = ImageDraw.Draw(tile)
        share = c.get("faces_kept_share")
        colour = CUT_COLOUR if isinstance(share, (int, float)) and share < FACES_KEPT_MIN else KEPT_COLOUR
        for box in (w for w in windows if w is not None):
            draw.rectangle([round(box[0] * scale), round(box[1] * scale), round(box[2] * scale) - 1,
                            round(box[3] * scale) - 1], outline=colour, width=3)
        draw.rectangle([0, 0, 18, 14], fill=(0, 0, 0))
        draw.text((4, 1), str(c.get("n")), fill=colour)
        tiles.append(tile)
    per_row = 1  # one shot a row: the export preview's columns are narrow
    gap = 6
    tile_h = max(t.height for t in tiles)
    rows = (len(tiles) + per_row - 1) // per_row
    sheet = Image.new("RGB", (per_row * SHEET_TILE + (per_row - 1) * gap, rows * tile_h + (rows - 1) * gap),
                      (255, 255, 255))
    for i, tile in enumerate(tiles):
        sheet.paste(tile, ((i % per_row) * (SHEET_TILE + gap), (i // per_row) * (tile_h + gap)))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".tmp-{os.getpid()}-{secrets.token_hex(4)}.jpg")
    try:
        sheet.save(tmp, "JPEG", quality=85)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return sheet


def video_delivery_preview(row: Any) -> None:
    """The export preview of a video variant: a frame of the delivered file and, when it was
    reframed, each shot's window on the title with any face it cuts named in words."""
    from workbench.previews import poster_path

    portrait = (row.height or 0) > (row.width or 0)
    try:
        st.image(str(poster_path(row.sha256, row.ext, settings())), width=180 if portrait else "stretch",
                 caption=f"A frame of the delivered {row.width}x{row.height} video")
    except (WorkbenchError, OSError, ValueError) as exc:
        st.caption(f":material/broken_image: no preview: {md(exc)}")
        return
    try:
        sheet = reframe_sheet(row)
    except (WorkbenchError, OSError, ValueError) as exc:
        st.caption(f"The shots' windows could not be read: {md(exc)}")
        sheet = None
    if sheet is not None:
        st.image(sheet, width="stretch",
                 caption=f"Where each shot's {row.width}x{row.height} window sits on the title, numbered as the "
                         "shots (measured on the two files); red: the shot cuts a face")
    for n, start, share in face_cuts(row):
        st.warning(f"Shot {n} (at {timecode(start)}) keeps the face in {share:.0%} of its frames: "
                   f"the {row.width}x{row.height} crop cuts it")


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
    stroke = max(3, round(min(w, h) / 150))
    halo = max(1, stroke // 2)  # a white edge: the pin shows on dark and on red pictures alike
    for n, (label, pin) in enumerate(pins):
        x, y = pin.x * w, pin.y * h
        if pin.is_box:
            shape, box = draw.rectangle, [x, y, x + pin.w * w - 1, y + pin.h * h - 1]
        else:
            r = max(10, round(min(w, h) / 25))
            shape, box = draw.ellipse, [x - r, y - r, x + r, y + r]
        shape([box[0] - halo, box[1] - halo, box[2] + halo, box[3] + halo], outline=(255, 255, 255),
              width=stroke + 2 * halo)
        shape(box, outline=PIN_COLOUR, width=stroke)
        size = max(12, round(min(w, h) / 30))
        draw.text((box[2] + 4, box[3] + 2), str(label), fill=PIN_COLOUR, stroke_width=2, stroke_fill=(255, 255, 255),
                  font_size=size)
    return picture
