"""The review app's media viewers: small ``st.components.v2`` scripts for what Streamlit has no
element for.

* **Lightbox** (``lightbox_button``): a "Full size" button that opens the stored file at full
  resolution over the page, with wheel/pinch zoom, drag to pan, ``+`` ``-`` ``0`` (fit) ``1``
  (100 %) and Escape.
* **Player controls** (``player_controls``): frame stepping at the file's own frame rate, a
  scrubber with the current timecode and the timecoded comments as markers, and the shot strip
  (click a shot to go to it), driving the ``st.video`` element drawn just before it.
* **Before/after slider** (``before_after``): two versions in one frame, a divider to drag.
* **Pin pad** (``pin_pad``): the picture to click (a point) or drag on (a box) to place a
  comment's pin; the selected comment's pins drawn on it.

Every script is a fixed text below. Its data are ids, numbers and same-origin media addresses
(``ui.web.media_url``: the session cookie travels by itself, no token is ever in an address);
the scripts build their elements with ``createElement`` and ``textContent`` and never parse
markup. Visible words are the scripts' own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import streamlit as st

# -- lightbox -----------------------------------------------------------------------------------

# The page's shortcuts (ui/keys.py) listen on the window, so they see a key before any element
# does: a widget that takes some keys itself (the scrubber's arrows) marks itself
# ``data-wb-own-keys`` (its keys joined by "|"), and a modal (the lightbox) "*"; ui/keys.py leaves
# those keys to the widget.


_LIGHTBOX_CSS = """
button { font: inherit; font-size: 0.85rem; padding: 0.15rem 0.6rem; border-radius: 0.5rem; cursor: pointer;
  border: 1px solid var(--st-border-color, #ccc); background: var(--st-secondary-background-color, #f0f2f6);
  color: var(--st-text-color, #222); }
button:focus-visible { outline: 2px solid var(--st-primary-color, #ff4b4b); outline-offset: 1px; }
"""

# The overlay lives in document.body (in its own shadow root, so the page's styles and its own
# never meet): one for the whole page, shared by every "Full size" button.
# What every viewer script starts with: elements are made from a tag, a class and text (as
# textContent: never parsed as markup).
_DOM_JS = r"""
function make(tag, cls, text) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text !== undefined) el.textContent = text;
  return el;
}
// a button a screen reader can tell apart (its own name), with a tooltip, added to parent
function labelledButton(parent, text, name, hint) {
  const b = make("button", null, text);
  b.type = "button";
  b.setAttribute("aria-label", name);
  b.title = hint;
  parent.appendChild(b);
  return b;
}
"""

LIGHTBOX_CORE_JS = _DOM_JS + r"""
const CSS = `
.backdrop { position: fixed; inset: 0; z-index: 1000100; background: rgba(14, 17, 23, 0.94); display: flex;
  flex-direction: column; font: 14px/1.4 system-ui, sans-serif; color: #f0f2f6; }
.bar { display: flex; gap: 0.4rem; align-items: center; padding: 0.5rem 0.8rem; background: rgba(0, 0, 0, 0.55); }
.bar .title { flex: 1; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.bar button { font: inherit; min-width: 2.4rem; padding: 0.25rem 0.7rem; border-radius: 0.4rem; cursor: pointer;
  border: 1px solid #5a5f6a; background: #262730; color: #f0f2f6; }
.bar button:focus-visible, .stage:focus-visible { outline: 2px solid #ff4b4b; outline-offset: 1px; }
.zoom { min-width: 4.5rem; text-align: center; font-variant-numeric: tabular-nums; }
.stage { position: relative; flex: 1; overflow: hidden; cursor: grab; touch-action: none; }
.stage.dragging { cursor: grabbing; }
.stage img { position: absolute; left: 0; top: 0; transform-origin: 0 0; max-width: none; user-select: none;
  -webkit-user-drag: none; }
.stage img.pixels { image-rendering: pixelated; }
.status { position: absolute; left: 50%; top: 50%; transform: translate(-50%, -50%); }
.hint { padding: 0.3rem 0.8rem; font-size: 12px; color: #a3a8b8; }
`;


function lightbox() {
  if (window.__wbLightbox) return window.__wbLightbox;
  const host = make("div");
  host.setAttribute("data-testid", "wbLightbox");
  host.dataset.wbOwnKeys = "*";  // while it is open every key is the lightbox's
  host.hidden = true;
  const root = host.attachShadow({mode: "open"});
  root.appendChild(make("style", null, CSS));
  const dialog = make("div", "backdrop");
  dialog.setAttribute("role", "dialog");
  dialog.setAttribute("aria-modal", "true");
  const bar = make("div", "bar");
  const title = make("span", "title");
  const button = (text, name, hint) => labelledButton(bar, text, name, hint);
  bar.appendChild(title);
  const out = button("\u2212", "Zoom out", "Zoom out (-)");
  const zoomText = make("span", "zoom");
  zoomText.setAttribute("aria-live", "polite");
  bar.appendChild(zoomText);
  const into = button("+", "Zoom in", "Zoom in (+)");
  const fitButton = button("Fit", "Fit to the window", "Fit to the window (0)");
  const actualButton = button("100 %", "Actual size, 100 %", "One pixel of the file per pixel of the screen (1)");
  const closeButton = button("Close", "Close the full-size view", "Close (Esc)");
  const stage = make("div", "stage");
  stage.tabIndex = 0;
  stage.setAttribute("aria-label", "Picture: drag to pan, wheel or + and - to zoom");
  const img = make("img");
  img.draggable = false;
  const status = make("div", "status");
  stage.append(img, status);
  const hint = make("div", "hint", "Wheel or pinch to zoom, drag to pan \u00b7 + and - zoom, 0 fits, 1 is 100 %, arrows pan, Esc closes");
  dialog.append(bar, stage, hint);
  root.appendChild(dialog);
  document.body.appendChild(host);

  const box = {host, img, stage, opener: null, watch: null, s: 1, tx: 0, ty: 0, w: 1, h: 1};
  const apply = () => {
    if (Math.abs(box.s - Math.round(box.s)) < 1e-9) {
      // at 100 % (200 %, ...) each pixel of the file lands on whole screen pixels: crisp, not resampled
      const r = stage.getBoundingClientRect();
      const dpr = window.devicePixelRatio || 1;
      box.tx = Math.round((r.left + box.tx) * dpr) / dpr - r.left;
      box.ty = Math.round((r.top + box.ty) * dpr) / dpr - r.top;
    }
    img.style.transform = `translate(${box.tx}px, ${box.ty}px) scale(${box.s})`;
    img.classList.toggle("pixels", box.s >= 2);
    zoomText.textContent = `${Math.round(box.s * 100)} %`;
    stage.dataset.scale = String(box.s);
  };
  const fitScale = () => {
    const r = stage.getBoundingClientRect();
    return Math.min(r.width / box.w, r.height / box.h) || 1;
  };
  const fit = () => {
    const r = stage.getBoundingClientRect();
    box.s = fitScale();
    box.tx = (r.width - box.w * box.s) / 2;
    box.ty = (r.height - box.h * box.s) / 2;
    apply();
  };
  // zoom about a point of the stage (the cursor, the pinch's centre): that point stays put
  const zoomTo = (scale, px, py) => {
    const next = Math.min(16, Math.max(Math.min(fitScale(), 1) / 4, scale));
    box.tx = px - (px - box.tx) * next / box.s;
    box.ty = py - (py - box.ty) * next / box.s;
    box.s = next;
    apply();
  };
  const centre = () => {
    const r = stage.getBoundingClientRect();
    return [r.width / 2, r.height / 2];
  };
  out.addEventListener("click", () => zoomTo(box.s / 1.25, ...centre()));
  into.addEventListener("click", () => zoomTo(box.s * 1.25, ...centre()));
  fitButton.addEventListener("click", fit);
  actualButton.addEventListener("click", () => zoomTo(1, ...centre()));
  stage.addEventListener("wheel", (event) => {
    event.preventDefault();
    const r = stage.getBoundingClientRect();
    const step = event.deltaMode === 1 ? 0.05 : 0.002;
    zoomTo(box.s * Math.exp(-event.deltaY * step), event.clientX - r.left, event.clientY - r.top);
  }, {passive: false});
  stage.addEventListener("dblclick", (event) => {
    const r = stage.getBoundingClientRect();
    if (Math.abs(box.s - fitScale()) < 1e-3) zoomTo(1, event.clientX - r.left, event.clientY - r.top); else fit();
  });
  // one pointer pans; two pinch (zoom about their middle) and pan with it
  const pointers = new Map();
  let last = null;
  const gesture = () => {
    const points = Array.from(pointers.values());
    if (!points.length) return null;
    const x = points.reduce((a, p) => a + p.x, 0) / points.length;
    const y = points.reduce((a, p) => a + p.y, 0) / points.length;
    const d = points.length > 1 ? Math.hypot(points[0].x - points[1].x, points[0].y - points[1].y) : 0;
    return {x, y, d, n: points.length};
  };
  stage.addEventListener("pointerdown", (event) => {
    stage.setPointerCapture(event.pointerId);
    pointers.set(event.pointerId, {x: event.clientX, y: event.clientY});
    stage.classList.add("dragging");
    last = gesture();
  });
  stage.addEventListener("pointermove", (event) => {
    if (!pointers.has(event.pointerId)) return;
    pointers.set(event.pointerId, {x: event.clientX, y: event.clientY});
    const now = gesture();
    if (last && now.n === last.n) {
      box.tx += now.x - last.x;
      box.ty += now.y - last.y;
      if (now.n > 1 && last.d > 0) {
        const r = stage.getBoundingClientRect();
        zoomTo(box.s * now.d / last.d, now.x - r.left, now.y - r.top);
      } else {
        apply();
      }
    }
    last = now;
  });
  const lift = (event) => {
    pointers.delete(event.pointerId);
    last = gesture();
    if (!pointers.size) stage.classList.remove("dragging");
  };
  stage.addEventListener("pointerup", lift);
  stage.addEventListener("pointercancel", lift);
  img.addEventListener("load", () => {
    box.w = img.naturalWidth;
    box.h = img.naturalHeight;
    status.textContent = "";
    fit();
  });
  img.addEventListener("error", () => { status.textContent = "The file could not be loaded."; });

  const focusables = () => [...bar.querySelectorAll("button"), stage];
  box.close = () => {
    if (host.hidden) return;
    host.hidden = true;
    clearInterval(box.watch);
    if (box.opener && box.opener.isConnected) box.opener.focus();
  };
  closeButton.addEventListener("click", box.close);
  // While open, every key is the lightbox's: the app's own shortcuts (a approves!) stay quiet.
  window.addEventListener("keydown", (event) => {
    if (host.hidden) return;
    event.stopPropagation();
    const [cx, cy] = centre();
    const keys = {
      "+": () => zoomTo(box.s * 1.25, cx, cy), "=": () => zoomTo(box.s * 1.25, cx, cy),
      "-": () => zoomTo(box.s / 1.25, cx, cy), "_": () => zoomTo(box.s / 1.25, cx, cy),
      "0": fit, "1": () => zoomTo(1, cx, cy), Escape: box.close,
      ArrowLeft: () => { box.tx += 60; apply(); }, ArrowRight: () => { box.tx -= 60; apply(); },
      ArrowUp: () => { box.ty += 60; apply(); }, ArrowDown: () => { box.ty -= 60; apply(); },
    };
    if (event.key === "Tab") {  // keep the focus inside the dialog
      const all = focusables();
      const at = all.indexOf(root.activeElement);
      const next = all[(at + (event.shiftKey ? -1 : 1) + all.length) % all.length];
      next.focus();
      event.preventDefault();
      return;
    }
    const act = keys[event.key];
    if (!act || event.ctrlKey || event.metaKey || event.altKey) return;
    act();
    event.preventDefault();
  }, true);
  window.addEventListener("resize", () => { if (!host.hidden) fit(); });

  box.open = (data, opener) => {
    box.opener = opener;
    dialog.setAttribute("aria-label", `Variant #${data.id} at full size`);
    img.alt = `Variant #${data.id} at full resolution`;
    title.textContent = `#${data.id} \u00b7 ${data.w} \u00d7 ${data.h} px`;
    host.hidden = false;
    if (img.getAttribute("src") !== data.url) {
      box.w = data.w || 1;
      box.h = data.h || 1;
      status.textContent = "Loading the full-resolution file\u2026";
      img.src = data.url;
    }
    fit();
    stage.focus();
    clearInterval(box.watch);
    // the page moved on (another variant, another page): the view closes with it
    box.watch = setInterval(() => { if (!opener.isConnected) box.close(); }, 500);
  };
  window.__wbLightbox = box;
  return box;
}
// a "Full size" button: opens data {id, url, w, h} in the lightbox
function zoomButton() {
  const button = make("button");
  button.type = "button";
  button.addEventListener("click", () => lightbox().open(button.__wbData, button));
  return button;
}
function describe(button, data) {  // changes the button only where it differs (a watcher sees each change)
  button.__wbData = data;
  const says = {
    text: "\u2922 Full size",
    name: `Full size view of #${data.id}`,
    hint: `Open #${data.id} at full resolution (${data.w} \u00d7 ${data.h} px): zoom and pan`,
  };
  if (button.textContent !== says.text) button.textContent = says.text;
  if (button.getAttribute("aria-label") !== says.name) button.setAttribute("aria-label", says.name);
  if (button.title !== says.hint) button.title = says.hint;
}

"""

_LIGHTBOX_JS = LIGHTBOX_CORE_JS + r"""
export default function(component) {
  const { data, parentElement } = component;
  let button = parentElement.querySelector("button");
  if (!button) {
    button = zoomButton();
    parentElement.appendChild(button);
  }
  describe(button, data);
}
"""

def lightbox_button(variant_id: int, width: int | None, height: int | None, *, key: str) -> None:
    """A "Full size" button that opens the variant's stored file (full resolution, through the
    session-checked media route) in the lightbox."""
    mount = st.components.v2.component("wb_lightbox", js=_LIGHTBOX_JS, css=_LIGHTBOX_CSS)
    mount(key=key, data=zoom_data(variant_id, width, height), height="content")


def zoom_data(variant_id: int, width: int | None, height: int | None) -> dict:
    """What a "Full size" button opens: the stored file (the session-checked media route) and its size."""
    from ui.web import media_url

    return {"id": int(variant_id), "url": media_url(variant_id, "file"), "w": int(width or 0), "h": int(height or 0)}


# -- player controls ----------------------------------------------------------------------------

_PLAYER_CSS = """
.player { font-size: 0.8rem; color: var(--st-text-color, #222); display: flex; flex-direction: column; gap: 0.4rem; }
.bar { display: flex; flex-wrap: wrap; gap: 0.3rem; align-items: center; }
button { font: inherit; padding: 0.15rem 0.5rem; border-radius: 0.45rem; cursor: pointer;
  border: 1px solid var(--st-border-color, #ccc); background: var(--st-secondary-background-color, #f0f2f6);
  color: inherit; }
button:focus-visible, .track:focus-visible { outline: 2px solid var(--st-primary-color, #ff4b4b); outline-offset: 1px; }
.time { font-variant-numeric: tabular-nums; margin-left: 0.3rem; }
.frame { font-variant-numeric: tabular-nums; opacity: 0.75; }
.scrub { position: relative; padding-top: 1.35rem; }
.track { position: relative; height: 0.6rem; border-radius: 0.3rem; background: var(--st-border-color, #d5d8de);
  cursor: pointer; touch-action: none; }
.fill { position: absolute; left: 0; top: 0; bottom: 0; border-radius: 0.3rem;
  background: var(--st-primary-color, #ff4b4b); opacity: 0.55; pointer-events: none; }
.head { position: absolute; top: -0.25rem; width: 2px; height: 1.1rem; margin-left: -1px;
  background: var(--st-text-color, #222); pointer-events: none; }
.band { position: absolute; top: 0; bottom: 0; background: #ffb000; opacity: 0.45; pointer-events: none; }
.mark { position: absolute; top: 0; transform: translateX(-50%); padding: 0 0.3rem; min-width: 1.2rem;
  font-size: 0.7rem; line-height: 1.1rem; border-radius: 0.3rem 0.3rem 0.3rem 0; background: #ffb000;
  border-color: #b37b00; color: #1a1a1a; }
.strip { display: flex; gap: 0.4rem; overflow-x: auto; padding-bottom: 0.2rem; }
.shot { display: flex; flex-direction: column; align-items: stretch; gap: 0.15rem; padding: 0.2rem; width: 8.5rem;
  flex: 0 0 auto; text-align: left; }
.shot img { width: 100%; aspect-ratio: 16 / 9; object-fit: cover; border-radius: 0.3rem; background: #000; }
.shot[aria-current="true"] { border-color: var(--st-primary-color, #ff4b4b); box-shadow: 0 0 0 1px var(--st-primary-color, #ff4b4b); }
"""

# Drives the <video> of ``st.video`` drawn just before it in the same keyed container (found by
# the container's class, ``st-key-<box>``); the native controls are replaced by these.
_PLAYER_JS = _DOM_JS + r"""
const two = (n) => String(n).padStart(2, "0");
// the app's timecode: minutes:seconds with hundredths (as "Play from 00:02.00" says it)
const timecode = (s) => `${two(Math.floor(s / 60))}:${(s % 60).toFixed(2).padStart(5, "0")}`;

function build(root) {
  const ui = {root: make("div", "player")};
  const bar = make("div", "bar");
  const button = (text, name, hint) => labelledButton(bar, text, name, hint);
  ui.play = button("\u25b6 Play", "Play", "Play or pause (space on the scrubber)");
  ui.back = button("\u25c2 Frame", "Back one frame", "Back one frame (\u2190 on the scrubber, or ,)");
  ui.forward = button("Frame \u25b8", "Forward one frame", "Forward one frame (\u2192 on the scrubber, or .)");
  ui.time = make("span", "time", "00:00.00");
  ui.frame = make("span", "frame");
  bar.append(ui.time, ui.frame);
  ui.mute = button("Mute", "Mute", "Sound on or off");
  ui.full = button("Full screen", "Full screen", "The video alone, full screen");
  const scrub = make("div", "scrub");
  ui.track = make("div", "track");
  ui.track.tabIndex = 0;
  ui.track.setAttribute("role", "slider");
  ui.track.setAttribute("aria-label", "Position in the video");
  ui.track.setAttribute("aria-valuemin", "0");
  ui.track.dataset.wbOwnKeys = "ArrowLeft|ArrowRight|Home|End| ";
  ui.fill = make("div", "fill");
  ui.bands = make("div");
  ui.head = make("div", "head");
  ui.track.append(ui.bands, ui.fill, ui.head);
  ui.marks = make("div");
  scrub.append(ui.track, ui.marks);
  ui.strip = make("div", "strip");
  ui.strip.setAttribute("role", "group");
  ui.strip.setAttribute("aria-label", "Shots: go to a shot");
  ui.root.append(bar, scrub, ui.strip);
  root.appendChild(ui.root);
  return ui;
}

export default function(component) {
  const { data, parentElement } = component;
  const host = parentElement.host || parentElement;
  const state = parentElement.__wbPlayer || (parentElement.__wbPlayer = {ui: build(parentElement), video: null});
  const ui = state.ui;
  state.data = data;
  // every control names its video: two players side by side (compare) stay told apart
  const named = (words) => `${words} (#${data.id})`;
  ui.back.setAttribute("aria-label", named("Back one frame"));
  ui.forward.setAttribute("aria-label", named("Forward one frame"));
  ui.full.setAttribute("aria-label", named("Full screen"));
  ui.track.setAttribute("aria-label", named("Position in the video"));
  ui.strip.setAttribute("aria-label", named("Shots: go to a shot"));
  const fps = data.fps[0] / data.fps[1];
  const frames = Math.max(1, data.frames);
  const duration = () => (state.video && isFinite(state.video.duration) && state.video.duration > 0)
    ? state.video.duration : data.duration;
  const frameOf = (t) => Math.max(0, Math.min(frames - 1, Math.floor(t * fps + 1e-4)));
  // the middle of frame n: the browser shows exactly that frame (a time on a frame's edge may
  // show the one before it)
  const timeOf = (n) => (Math.max(0, Math.min(frames - 1, n)) + 0.5) / fps;
  const seekFrame = (n) => {
    const v = state.video;
    if (!v) return;
    v.pause();
    v.currentTime = timeOf(n);
    render();
  };
  state.seekFrame = seekFrame;

  const render = () => {
    const v = state.video;
    const t = v ? v.currentTime : 0;
    const d = duration() || 1;
    const n = frameOf(t);
    ui.time.textContent = timecode(t);
    ui.frame.textContent = `frame ${n + 1} of ${frames}`;
    const at = `${Math.min(100, (t / d) * 100)}%`;
    ui.fill.style.width = at;
    ui.head.style.left = at;
    ui.track.setAttribute("aria-valuemax", d.toFixed(2));
    ui.track.setAttribute("aria-valuenow", t.toFixed(2));
    ui.track.setAttribute("aria-valuetext", `${timecode(t)}, frame ${n + 1} of ${frames}`);
    const playing = v && !v.paused && !v.ended;
    ui.play.textContent = playing ? "\u275a\u275a Pause" : "\u25b6 Play";
    ui.play.setAttribute("aria-label", named(playing ? "Pause" : "Play"));
    ui.mute.textContent = v && v.muted ? "Unmute" : "Mute";
    ui.mute.setAttribute("aria-label", named(v && v.muted ? "Unmute" : "Mute"));
    const shots = state.data.shots;
    shots.forEach((shot, i) => {
      const end = i + 1 < shots.length ? shots[i + 1][1] : d + 1;
      const button = ui.strip.children[i];
      if (button) button.setAttribute("aria-current", t >= shot[1] - 0.5 / fps && t < end - 0.5 / fps ? "true" : "false");
    });
  };
  state.render = render;

  // timecoded comments: a marker (and a band for a range) at their place on the scrubber
  const d0 = duration() || 1;
  ui.marks.replaceChildren();
  ui.bands.replaceChildren();
  for (const [id, start, end] of data.marks) {
    const left = `${Math.min(100, (start / d0) * 100)}%`;
    if (end !== null && end > start) {
      const band = make("div", "band");
      band.style.left = left;
      band.style.width = `${Math.min(100, ((end - start) / d0) * 100)}%`;
      ui.bands.appendChild(band);
    }
    const words = end !== null ? `${timecode(start)}\u2013${timecode(end)}` : timecode(start);
    const mark = make("button", "mark", String(id));
    mark.type = "button";
    mark.style.left = left;
    mark.dataset.start = String(start);
    mark.setAttribute("aria-label", `Comment ${id} at ${words}`);
    mark.title = `Comment ${id} at ${words}: go there`;
    mark.addEventListener("click", () => seekFrame(frameOf(start)));
    ui.marks.appendChild(mark);
  }
  // the shot strip: each clip of the cut, a still of it; a click goes to its first frame
  ui.strip.replaceChildren();
  ui.strip.hidden = !data.shots.length;
  for (const [n, start, url] of data.shots) {
    const shot = make("button", "shot");
    shot.type = "button";
    shot.setAttribute("aria-label", named(`Go to shot ${n} at ${timecode(start)}`));
    shot.title = `Shot ${n}: starts at ${timecode(start)} in this cut`;
    const still = make("img");
    still.alt = "";
    still.loading = "lazy";
    still.src = url;
    shot.append(still, make("span", null, `${n} \u00b7 ${timecode(start)}`));
    shot.addEventListener("click", () => seekFrame(Math.round(start * fps)));
    ui.strip.appendChild(shot);
  }

  if (!state.bound) {
    state.bound = true;
    ui.play.addEventListener("click", () => {
      const v = state.video;
      if (!v) return;
      if (v.paused || v.ended) v.play().catch(() => {}); else v.pause();
    });
    ui.back.addEventListener("click", () => state.video && seekFrame(frameOf(state.video.currentTime) - 1));
    ui.forward.addEventListener("click", () => state.video && seekFrame(frameOf(state.video.currentTime) + 1));
    ui.mute.addEventListener("click", () => { if (state.video) state.video.muted = !state.video.muted; });
    ui.full.addEventListener("click", () => { if (state.video) state.video.requestFullscreen().catch(() => {}); });
    const fromPointer = (event) => {
      const r = ui.track.getBoundingClientRect();
      const share = Math.min(1, Math.max(0, (event.clientX - r.left) / r.width));
      seekFrame(frameOf(share * (duration() || 0)));
    };
    ui.track.addEventListener("pointerdown", (event) => {
      ui.track.setPointerCapture(event.pointerId);
      ui.track.focus();
      fromPointer(event);
    });
    ui.track.addEventListener("pointermove", (event) => {
      if (ui.track.hasPointerCapture(event.pointerId)) fromPointer(event);
    });
    // keys in the player are the player's (the page's own shortcuts use arrows and letters too)
    ui.root.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey || !state.video) return;
      const v = state.video;
      const n = frameOf(v.currentTime);
      const onTrack = event.target === ui.track;
      const step = event.shiftKey ? Math.round(fps) : 1;
      const act = {
        ",": () => seekFrame(n - 1), ".": () => seekFrame(n + 1),
        ArrowLeft: onTrack && (() => seekFrame(n - step)), ArrowRight: onTrack && (() => seekFrame(n + step)),
        Home: onTrack && (() => seekFrame(0)), End: onTrack && (() => seekFrame(frames - 1)),
        " ": onTrack && (() => ui.play.click()),
      }[event.key];
      if (!act) return;
      act();
      event.preventDefault();
      event.stopPropagation();
    });
  }

  const bind = (v) => {
    if (state.video === v) return;
    state.video = v;
    v.controls = false;  // these controls replace the browser's own
    v.addEventListener("fullscreenchange", () => { v.controls = document.fullscreenElement === v; });
    for (const name of ["timeupdate", "seeked", "play", "pause", "ended", "loadedmetadata", "volumechange"]) {
      v.addEventListener(name, render);
    }
    // per frame while playing (timeupdate comes only a few times a second)
    const tick = () => {
      render();
      if (!v.paused && !v.ended) {
        if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(tick); else requestAnimationFrame(tick);
      }
    };
    v.addEventListener("play", tick);
    render();
  };
  // the start asked for (?at= of "Play from"), to the hundredth: st.video starts at whole seconds
  const start = () => {
    const v = state.video;
    if (!v || data.start === null || state.started === data.start) return;
    const go = () => { v.currentTime = data.start; state.started = data.start; render(); };
    if (v.readyState >= 1) setTimeout(go, 0); else v.addEventListener("loadedmetadata", () => setTimeout(go, 0), {once: true});
  };
  const find = (tries) => {
    const box = host.closest(`.st-key-${data.box}`);
    const v = box && box.querySelector("video");
    if (v) { bind(v); start(); render(); return; }
    if (tries > 0) setTimeout(() => find(tries - 1), 100);
  };
  find(100);
}
"""


def player_controls(box: str, variant_id: int, *, fps: tuple[int, int], frames: int, duration: float,
                    start: float | None, marks: Iterable[tuple[int, float, float | None]],
                    shots: Iterable[tuple[int, float, str]], key: str) -> None:
    """The controls of the video drawn just before, in the container keyed ``box``: frame
    stepping at ``fps`` (numerator, denominator), the scrubber with the timecoded comments
    ``marks`` (comment id, start, end or None), and the shot strip ``shots`` (clip number, start
    in the cut, still's address). ``start`` seeks there (to the hundredth) when it changes."""
    mount = st.components.v2.component("wb_player", js=_PLAYER_JS, css=_PLAYER_CSS)
    mount(key=key, height="content", data={
        "box": box, "id": int(variant_id), "fps": [int(fps[0]), int(fps[1])], "frames": int(frames),
        "duration": float(duration), "start": None if start is None else round(float(start), 3),
        "marks": [[int(i), round(float(s), 3), None if e is None else round(float(e), 3)] for i, s, e in marks],
        "shots": [[int(n), round(float(s), 4), str(u)] for n, s, u in shots]})


# -- before/after slider --------------------------------------------------------------------------

_SLIDER_CSS = """
.frame { position: relative; width: 100%; margin: 0 auto; overflow: hidden; border-radius: 0.5rem; background: #0e1117;
  touch-action: none; cursor: ew-resize; user-select: none; }
.frame img { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: contain; -webkit-user-drag: none; }
.after { position: absolute; inset: 0; }
.divider { position: absolute; top: 0; bottom: 0; width: 2.2rem; margin-left: -1.1rem; cursor: ew-resize; }
.divider::before { content: ""; position: absolute; left: calc(50% - 1px); top: 0; bottom: 0; width: 2px; background: #fff;
  box-shadow: 0 0 3px rgba(0, 0, 0, 0.8); }
.grip { position: absolute; left: 50%; top: 50%; width: 1.6rem; height: 1.6rem; transform: translate(-50%, -50%);
  border-radius: 50%; background: #fff; box-shadow: 0 0 4px rgba(0, 0, 0, 0.7); }
.divider:focus { outline: none; }
.divider:focus-visible .grip { outline: 3px solid var(--st-primary-color, #ff4b4b); outline-offset: 2px; }
.tag { position: absolute; top: 0.5rem; padding: 0.1rem 0.5rem; border-radius: 0.3rem; font-size: 0.8rem;
  background: rgba(0, 0, 0, 0.65); color: #fff; pointer-events: none; }
.tag.left { left: 0.5rem; }
.tag.right { right: 0.5rem; }
"""

_SLIDER_JS = _DOM_JS + r"""

export default function(component) {
  const { data, parentElement } = component;
  let ui = parentElement.__wbSlider;
  if (!ui) {
    ui = {frame: make("div", "frame"), before: make("img"), after: make("img"), clip: make("div", "after"),
          divider: make("div", "divider"), left: make("span", "tag left"), right: make("span", "tag right"), at: 50};
    ui.before.draggable = false;
    ui.after.draggable = false;
    ui.clip.appendChild(ui.after);
    ui.divider.appendChild(make("span", "grip"));
    ui.divider.tabIndex = 0;
    ui.divider.setAttribute("role", "slider");
    ui.divider.setAttribute("aria-valuemin", "0");
    ui.divider.setAttribute("aria-valuemax", "100");
    ui.divider.dataset.wbOwnKeys = "ArrowLeft|ArrowRight|Home|End";
    ui.frame.append(ui.before, ui.clip, ui.divider, ui.left, ui.right);
    parentElement.appendChild(ui.frame);
    // the before version shows left of the divider, the after version right of it
    ui.set = (at) => {
      ui.at = Math.min(100, Math.max(0, at));
      ui.clip.style.clipPath = `inset(0 0 0 ${ui.at}%)`;
      ui.divider.style.left = `${ui.at}%`;
      ui.divider.setAttribute("aria-valuenow", ui.at.toFixed(0));
      ui.divider.setAttribute("aria-valuetext", `${ui.at.toFixed(0)} % before, ${(100 - ui.at).toFixed(0)} % after`);
    };
    const fromPointer = (event) => {
      const r = ui.frame.getBoundingClientRect();
      ui.set(((event.clientX - r.left) / r.width) * 100);
    };
    ui.frame.addEventListener("pointerdown", (event) => {
      ui.frame.setPointerCapture(event.pointerId);
      ui.divider.focus();
      fromPointer(event);
    });
    ui.frame.addEventListener("pointermove", (event) => {
      if (ui.frame.hasPointerCapture(event.pointerId)) fromPointer(event);
    });
    ui.divider.addEventListener("keydown", (event) => {
      const step = event.shiftKey ? 10 : 1;
      const next = {ArrowLeft: ui.at - step, ArrowRight: ui.at + step, Home: 0, End: 100}[event.key];
      if (next === undefined) return;
      ui.set(next);
      event.preventDefault();
      event.stopPropagation();  // the page's own shortcuts use the arrows too
    });
    parentElement.__wbSlider = ui;
  }
  const [bid, bv, burl] = data.before;
  const [aid, av, aurl] = data.after;
  ui.frame.style.aspectRatio = `${data.w} / ${data.h}`;
  ui.frame.style.width = `min(100%, calc(75vh * ${data.w / data.h}))`;  // all of it on the screen at once
  if (ui.before.getAttribute("src") !== burl) ui.before.src = burl;
  if (ui.after.getAttribute("src") !== aurl) ui.after.src = aurl;
  ui.before.alt = `Before: #${bid} v${bv}`;
  ui.after.alt = `After: #${aid} v${av}`;
  ui.left.textContent = `Before \u00b7 #${bid} v${bv}`;
  ui.right.textContent = `After \u00b7 #${aid} v${av}`;
  ui.divider.setAttribute("aria-label", `Divider between before (#${bid} v${bv}) and after (#${aid} v${av})`);
  ui.set(ui.at);
}
"""


def before_after(before: Any, after: Any, *, key: str) -> None:
    """Two versions in one frame with a divider to drag (or move with the arrow keys): the
    ``before`` row's picture left of it, the ``after`` row's right of it. Both are the 1,280-px
    cached previews; each side's own "Full size" opens the file."""
    from ui.web import media_url

    width, height = after.width or before.width or 16, after.height or before.height or 9
    mount = st.components.v2.component("wb_before_after", js=_SLIDER_JS, css=_SLIDER_CSS)
    mount(key=key, height="content", data={
        "before": [int(before.id), int(before.version), media_url(before.id, "preview-1280")],
        "after": [int(after.id), int(after.version), media_url(after.id, "preview-1280")],
        "w": int(width), "h": int(height)})


# -- pin pad --------------------------------------------------------------------------------------

_PINPAD_CSS = """
.pad { position: relative; width: 100%; cursor: crosshair; touch-action: none; user-select: none; line-height: 0; }
.pad:focus-visible { outline: 3px solid var(--st-primary-color, #ff4b4b); outline-offset: 2px; }
.pad img { width: 100%; height: auto; display: block; -webkit-user-drag: none; }
.pin, .box, .band, .cross { position: absolute; pointer-events: none; line-height: 1.2; }
.pin { width: 1.4rem; height: 1.4rem; transform: translate(-50%, -50%); border-radius: 50%; border: 3px solid #ff3b30;
  box-shadow: 0 0 0 1px #fff; }
.box { border: 3px solid #ff3b30; box-shadow: 0 0 0 1px #fff; }
.pending { border-style: dashed; border-color: #0a84ff; }
.label { position: absolute; left: 100%; top: 100%; padding: 0 0.3rem; font-size: 0.75rem; color: #fff;
  background: #ff3b30; border-radius: 0.2rem; white-space: nowrap; }
.pending .label { background: #0a84ff; }
.band { border: 2px dashed #0a84ff; background: rgba(10, 132, 255, 0.15); }
.cross { width: 1.2rem; height: 1.2rem; transform: translate(-50%, -50%); border: 2px solid #0a84ff; border-radius: 50%; }
"""

_PINPAD_JS = _DOM_JS + r"""
const round = (v) => Math.round(Math.min(1, Math.max(0, v)) * 10000) / 10000;
const pct = (v) => `${v * 100}%`;

function draw(layer, pin, label, pending) {
  const [x, y, w, h] = pin;
  const el = make("div", (w && h ? "box" : "pin") + (pending ? " pending" : ""));
  el.style.left = pct(x);
  el.style.top = pct(y);
  if (w && h) { el.style.width = pct(w); el.style.height = pct(h); }
  el.appendChild(make("span", "label", label));
  layer.appendChild(el);
}

export default function(component) {
  const { data, parentElement, setTriggerValue } = component;
  let ui = parentElement.__wbPinPad;
  if (!ui) {
    ui = {pad: make("div", "pad"), img: make("img"), layer: make("div"), band: make("div", "band"),
          cross: make("div", "cross"), kx: 0.5, ky: 0.5};
    ui.img.draggable = false;
    ui.band.hidden = true;
    ui.cross.hidden = true;
    ui.pad.tabIndex = 0;
    ui.pad.setAttribute("role", "application");
    ui.pad.setAttribute("aria-roledescription", "pin tool");
    ui.pad.dataset.wbOwnKeys = "ArrowLeft|ArrowRight|ArrowUp|ArrowDown|Enter";
    ui.pad.append(ui.img, ui.layer, ui.band, ui.cross);
    parentElement.appendChild(ui.pad);
    const at = (event) => {
      const r = ui.img.getBoundingClientRect();
      return [round((event.clientX - r.left) / r.width), round((event.clientY - r.top) / r.height),
              Math.abs(event.clientX - ui.down.cx) + Math.abs(event.clientY - ui.down.cy)];
    };
    const band = (a, b) => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1])];
    ui.pad.addEventListener("pointerdown", (event) => {
      ui.pad.setPointerCapture(event.pointerId);
      ui.down = {cx: event.clientX, cy: event.clientY};
      ui.down.at = at(event);
    });
    ui.pad.addEventListener("pointermove", (event) => {
      if (!ui.down) return;
      const now = at(event);
      if (now[2] < 6) return;
      const [x, y, w, h] = band(ui.down.at, now);
      Object.assign(ui.band.style, {left: pct(x), top: pct(y), width: pct(w), height: pct(h)});
      ui.band.hidden = false;
    });
    // a click is a point; a drag of more than a few pixels is a box
    ui.pad.addEventListener("pointerup", (event) => {
      if (!ui.down) return;
      const now = at(event);
      const pin = now[2] < 6 ? [ui.down.at[0], ui.down.at[1], null, null] : band(ui.down.at, now).map(round);
      ui.down = null;
      ui.band.hidden = true;
      ui.send(pin);
    });
    ui.pad.addEventListener("pointercancel", () => { ui.down = null; ui.band.hidden = true; });
    // keyboard: arrows move a crosshair (shift: further), Enter pins its point
    ui.pad.addEventListener("focus", () => { ui.cross.hidden = false; ui.moveCross(); });
    ui.pad.addEventListener("blur", () => { ui.cross.hidden = true; });
    ui.moveCross = () => { ui.cross.style.left = pct(ui.kx); ui.cross.style.top = pct(ui.ky); };
    ui.pad.addEventListener("keydown", (event) => {
      const step = event.shiftKey ? 0.1 : 0.01;
      const moves = {ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step]};
      if (moves[event.key]) {
        ui.kx = round(ui.kx + moves[event.key][0]);
        ui.ky = round(ui.ky + moves[event.key][1]);
        ui.moveCross();
      } else if (event.key === "Enter") {
        ui.send([ui.kx, ui.ky, null, null]);
      } else {
        return;
      }
      event.preventDefault();
      event.stopPropagation();  // the page's own shortcuts use the arrows too
    });
    parentElement.__wbPinPad = ui;
  }
  ui.data = data;
  ui.send = (pin) => {
    ui.pending = pin;
    ui.redraw();
    setTriggerValue("pin", {x: pin[0], y: pin[1], w: pin[2], h: pin[3]});
  };
  ui.redraw = () => {
    ui.layer.replaceChildren();
    for (const [label, x, y, w, h] of ui.data.pins) draw(ui.layer, [x, y, w, h], `Comment ${label}`, false);
    if (ui.pending) draw(ui.layer, ui.pending, "New pin", true);
  };
  if (ui.img.getAttribute("src") !== data.url) ui.img.src = data.url;
  ui.img.alt = `Variant #${data.id}`;
  ui.pad.setAttribute("aria-label",
    `Pin tool on variant #${data.id}: click for a point, drag for a box; or arrows to move, Enter to pin`);
  ui.pending = data.pending;  // the pin the comment form holds now (typed or clicked)
  ui.redraw();
}
"""


def pin_pad(variant_id: int, *, pins: Sequence[tuple[int, Any]],
            pending: tuple[float, float, float | None, float | None] | None, on_pin: Callable[[], None],
            key: str) -> None:
    """The picture (the 1,280-px cached preview) to click (a point) or drag on (a box): each
    click sends ``{"x", "y", "w", "h"}`` (fractions of the picture; ``w``/``h`` None for a
    point) as the trigger ``pin`` of ``key``, and ``on_pin`` runs before the next run. ``pins``
    (label, :class:`workbench.comments.Pin`) are drawn; ``pending`` (x, y, w, h) is the pin the
    comment form holds now, drawn dashed."""
    from ui.web import media_url

    def _four(x: Any, y: Any, w: Any, h: Any) -> list[float | None]:
        return [float(x), float(y), None if w is None else float(w), None if h is None else float(h)]

    mount = st.components.v2.component("wb_pin_pad", js=_PINPAD_JS, css=_PINPAD_CSS)
    mount(key=key, height="content", on_pin_change=on_pin, data={
        "id": int(variant_id), "url": media_url(variant_id, "preview-1280"),
        "pins": [[int(label), *_four(pin.x, pin.y, pin.w, pin.h)] for label, pin in pins],
        "pending": _four(*pending) if pending is not None else None})
