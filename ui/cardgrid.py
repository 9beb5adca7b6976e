"""The queue's cards as one element: a grid of previews, each card with its status, its name,
what it is, its QA flags and open threads, a "Select" tick, "Open" and "Compare" links and, for a
still, the "Full size" lightbox.

One ``st.components.v2`` element draws the whole page of cards. Drawn with Streamlit's own
elements, a page of 24 cards was some 300 elements (a bordered container, an image, two texts, a
tick and two links a card, in rows of columns): 325 WebSocket messages, which the browser drew
one by one, asking for each preview only as its image was drawn. Here the data of every card
arrives at once (54 messages for the page), the cards are drawn in one go, and each preview is
asked for at once from the session-checked media route (``/_wb/media/<id>/preview-<side>``), in
the size the card needs on this screen (the small cached preview, or the larger one where a card
is wider than it in device pixels: a wide window, a 2x display). docs/review.md has the figures.

The grid is drawn in the page itself (not in a shadow root): the keyboard shortcuts
(:mod:`ui.keys`) and assistive technology find its ticks and links like any other control. What
it sends back:

* ``ticks``: the ids shown and the ids ticked among them, after each tick (the whole page each
  time, so a quick second tick never loses the first), with a sequence number (rising, from the
  clock: ticking again what a "Clear selection" cleared is a change, after a reload too). The
  grid is drawn again with the number of the last report applied, and keeps its own ticks while
  a later one is on its way: a run drawn between quick ticks would otherwise untick the later
  ones on the page;
* ``open``: a plain click on "Open" or "Compare" (``{"page": "variant"|"compare", "id": n}``):
  the page is switched on the server, as a Streamlit page link does, without loading the app
  again. The links are real addresses, so a middle click or "open in a new tab" works too.

Like the other scripts (:mod:`ui.viewers`), it is a fixed text; its data are ids, numbers,
same-origin addresses and the cards' words, which it sets as ``textContent``, never as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from ui import viewers
from workbench.ids import is_id

PAGES = {"variant": "views/variant.py", "compare": "views/compare.py"}  # what "open" may name


@dataclass(frozen=True)
class Card:
    """What one card shows, in plain words (set as text, never as markup)."""

    id: int
    status: str  # the catalog's status value: pending, approved, rejected, changes_requested
    name: str  # "#12 · action · 16:9 hero · v1"
    about: str  # "Sample · thumbnail · score 0.812"
    open_query: dict[str, str]  # the variant page's address: the queue's filter and order, and the id
    is_video: bool = False
    placement: str = ""  # a video's placement, said on its poster
    width: int | None = None
    height: int | None = None
    flags: tuple[str, ...] = ()  # QA flags
    open_threads: int = 0
    model_share: str | None = None  # how much of the picture a model made, where one did


def apply_ticks(selected: set[int], value: Any) -> set[int]:
    """The selection after the grid reported its ticks: ``value`` is ``{"shown": [ids],
    "ticked": [ids]}``; the shown ids are set to what was ticked among them, the selection
    elsewhere (other pages, other filters) is kept. Anything malformed changes nothing."""
    if not isinstance(value, dict):
        return set(selected)
    shown, ticked = value.get("shown"), value.get("ticked")
    if not isinstance(shown, list) or not isinstance(ticked, list):
        return set(selected)
    shown_ids = {i for i in shown if is_id(i)}
    ticked_ids = {i for i in ticked if is_id(i)} & shown_ids
    return (set(selected) - shown_ids) | ticked_ids


def opened(value: Any) -> tuple[str, int] | None:
    """The page script and variant id an "open" report names, or None when it names neither."""
    if not isinstance(value, dict):
        return None
    page, variant_id = value.get("page"), value.get("id")
    if not isinstance(page, str) or page not in PAGES or not is_id(variant_id):
        return None
    return PAGES[page], variant_id


def _href(route: str, query: dict[str, str]) -> str:
    from ui.web import url

    return url(f"/{route}") + ("?" + urlencode(query) if query else "")


def _data(card: Card, small: int, large: int) -> dict[str, Any]:
    from ui.components import status_colour, status_text
    from ui.web import media_url

    return {
        "id": int(card.id),
        "statusText": status_text(card.status),
        "tone": status_colour(card.status),  # the badge's colour: the same as Streamlit's badges
        "name": card.name,
        "about": card.about,
        "flags": list(card.flags),
        "threads": int(card.open_threads),
        "model": card.model_share,
        "video": card.placement if card.is_video else None,
        "ratio": [int(card.width), int(card.height)] if card.width and card.height else None,
        "preview": {"small": media_url(card.id, f"preview-{small}"), "large": media_url(card.id, f"preview-{large}")},
        "zoom": None if card.is_video else viewers.zoom_data(card.id, card.width, card.height),
        "open": _href("variant", card.open_query),
        "compare": _href("compare", {"id": str(card.id)}),
    }


def card_grid(cards: Sequence[Card], *, selected: Iterable[int], columns: int, sides: tuple[int, int], key: str,
              on_ticks: Callable[[Any], None], on_open: Callable[[str, int], None]) -> None:
    """Draw ``cards`` in ``columns`` columns, ticked where their id is in ``selected``; previews
    of longest side ``sides[0]``, or ``sides[1]`` where a card is wider than that on the screen.
    As callbacks, before the next run: ``on_ticks`` gets the reported ticks (for
    :func:`apply_ticks`), ``on_open`` the page script and variant id a link click names (a
    report that names neither is dropped)."""
    small, large = sides
    ticked = set(selected)
    mount = st.components.v2.component("wb_card_grid", js=_GRID_JS, isolate_styles=False)
    applied = f"{key}_applied"  # the sequence number of the last ticks report applied

    def ticks_changed() -> None:
        value = (st.session_state.get(key) or {}).get("ticks")
        on_ticks(value)
        seq = value.get("seq") if isinstance(value, dict) else None
        if isinstance(seq, int) and not isinstance(seq, bool):
            st.session_state[applied] = seq

    def open_clicked() -> None:
        target = opened((st.session_state.get(key) or {}).get("open"))
        if target is not None:
            on_open(*target)

    mount(key=key, height="content", on_ticks_change=ticks_changed,
          on_open_change=open_clicked,
          data={"columns": int(columns), "small": int(small), "large": int(large),
                "applied": int(st.session_state.get(applied, 0)),
                "selected": [int(c.id) for c in cards if c.id in ticked],
                "cards": [_data(c, small, large) for c in cards]})


# The page's styles (the grid is in the page, not in a shadow root): outside a shadow root the
# theme's variables are not set, so colours follow the page's own text colour (light and dark
# theme alike) and the status colours are ones that read on both.
_GRID_JS = viewers.LIGHTBOX_CORE_JS + r"""
const GRID_CSS = `
.wb-grid { display: grid; grid-template-columns: repeat(var(--wb-columns, 4), minmax(0, 1fr)); gap: 1rem;
  align-items: start; }
@media (max-width: 640px) { .wb-grid { grid-template-columns: minmax(0, 1fr); } }
.wb-card { display: flex; flex-direction: column; gap: 0.5rem; min-width: 0; padding: 1rem; border-radius: 0.5rem;
  border: 1px solid color-mix(in srgb, currentColor 18%, transparent); }
.wb-card .wb-picture { display: block; width: 100%; height: auto; border-radius: 0.25rem;
  background: color-mix(in srgb, currentColor 6%, transparent); }
.wb-card .wb-note { font-size: 0.875rem; opacity: 0.75; overflow-wrap: anywhere; }
.wb-card .wb-name { overflow-wrap: anywhere; }
.wb-card .wb-badge { display: inline-block; margin-right: 0.4rem; padding: 0 0.4rem; border-radius: 0.25rem;
  font-size: 0.875rem; font-weight: 600; }
.wb-card .wb-badge.orange { color: #e8860c; background: rgba(255, 164, 33, 0.16); }
.wb-card .wb-badge.green { color: #21a35a; background: rgba(33, 195, 84, 0.16); }
.wb-card .wb-badge.red { color: #e5484d; background: rgba(255, 75, 75, 0.16); }
.wb-card .wb-badge.violet { color: #9a6bff; background: rgba(128, 61, 245, 0.16); }
.wb-card .wb-badge.gray { background: color-mix(in srgb, currentColor 10%, transparent); }
.wb-card .wb-badge.flag { font-weight: 400; margin: 0 0.25rem 0 0; }
.wb-card label.wb-tick { display: flex; align-items: center; gap: 0.5rem; cursor: pointer; width: fit-content; }
.wb-card label.wb-tick input { width: 1rem; height: 1rem; margin: 0; accent-color: #ff4b4b; cursor: pointer; }
.wb-card .wb-links { display: flex; flex-wrap: wrap; gap: 0.4rem 1.5rem; }
.wb-card .wb-links a { color: inherit; text-decoration: none; }
.wb-card .wb-links a:hover { text-decoration: underline; }
.wb-card a:focus-visible, .wb-card input:focus-visible, .wb-card button:focus-visible {
  outline: 2px solid #ff4b4b; outline-offset: 2px; }
.wb-card button.wb-zoom { align-self: flex-start; font: inherit; font-size: 0.85rem; padding: 0.15rem 0.6rem;
  border-radius: 0.5rem; cursor: pointer; color: inherit; background: transparent;
  border: 1px solid color-mix(in srgb, currentColor 30%, transparent); }
.wb-card button.wb-zoom:hover { background: color-mix(in srgb, currentColor 8%, transparent); }
`;

const TICK_WAIT_MS = 5000;  // how long sent ticks are taken to be on their way to the server

function gridStyle() {
  if (document.getElementById("wb-grid-style")) return;
  const style = make("style", null, GRID_CSS);
  style.id = "wb-grid-style";
  document.head.appendChild(style);
}

// the preview a card needs: the small one unless the card is wider than it in device pixels
function sideFor(grid, data) {
  const width = grid.getBoundingClientRect().width;
  if (!width) return "small";
  const gap = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  const columns = window.matchMedia("(max-width: 640px)").matches ? 1 : data.columns;
  const card = (width - gap * (columns - 1)) / columns - 2 * gap;  // less the card's own padding
  return card * (window.devicePixelRatio || 1) > data.small * 1.1 ? "large" : "small";
}

function buildCard(card, grid) {
  const box = make("article", "wb-card");
  box.dataset.id = String(card.id);
  box.setAttribute("aria-label", `Variant #${card.id}`);
  const picture = make("img", "wb-picture");
  picture.alt = `Preview of #${card.id}`;
  picture.decoding = "async";
  if (card.ratio) picture.style.aspectRatio = `${card.ratio[0]} / ${card.ratio[1]}`;
  picture.addEventListener("error", () => {
    picture.replaceWith(make("div", "wb-note", "No preview: the file is missing from the store or unreadable"));
  }, {once: true});
  box.appendChild(picture);
  if (card.video) box.appendChild(make("div", "wb-note", `\u25b6 video \u00b7 ${card.video}`));
  if (card.zoom) {
    const zoom = zoomButton();
    zoom.classList.add("wb-zoom");
    describe(zoom, card.zoom);
    box.appendChild(zoom);
  }
  const name = make("div", "wb-name");
  const badge = make("span", `wb-badge ${card.tone}`, card.statusText);
  name.append(badge, document.createTextNode(card.name));
  box.appendChild(name);
  const note = make("div", "wb-note", card.about);
  for (const flag of card.flags) {
    note.append(" \u00b7 ");
    note.appendChild(make("span", "wb-badge orange flag", flag));
  }
  if (card.threads) note.append(` \u00b7 \ud83d\udcac ${card.threads} open`);
  if (card.model) note.append(` \u00b7 model-made: ${card.model}`);
  box.appendChild(note);
  const tick = make("label", "wb-tick");
  const input = make("input");
  input.type = "checkbox";
  input.setAttribute("aria-label", `Select #${card.id}`);
  input.addEventListener("change", () => grid.__wbSendTicks());
  tick.append(input, make("span", null, `Select #${card.id}`));
  box.appendChild(tick);
  const links = make("div", "wb-links");
  for (const [text, page, href] of [["Open", "variant", card.open], ["Compare", "compare", card.compare]]) {
    const link = make("a", null, text);
    link.href = href;
    link.setAttribute("aria-label", `${text} #${card.id}`);
    link.addEventListener("click", (event) => {
      // a plain click switches the page in this app; a middle or modified click opens the address
      if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      grid.__wbOpen(page, card.id);
    });
    links.appendChild(link);
  }
  box.appendChild(links);
  box.__wbPicture = picture;
  box.__wbPreview = card.preview;
  box.__wbTick = input;
  return box;
}

export default function(component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  gridStyle();
  let grid = parentElement.querySelector(":scope > .wb-grid");
  if (!grid) {
    grid = make("div", "wb-grid");
    grid.setAttribute("role", "list");
    grid.__wbSeq = 0;
    grid.__wbSentAt = -Infinity;
    parentElement.appendChild(grid);
  }
  grid.style.setProperty("--wb-columns", String(data.columns));
  grid.__wbSendTicks = () => {
    const boxes = Array.from(grid.querySelectorAll(":scope > .wb-card"));
    // rising, and new across page loads too (the server keeps the last value it saw)
    grid.__wbSeq = Math.max(Date.now(), grid.__wbSeq + 1);
    grid.__wbSentAt = performance.now();
    setStateValue("ticks", {
      shown: boxes.map((b) => Number(b.dataset.id)),
      ticked: boxes.filter((b) => b.__wbTick.checked).map((b) => Number(b.dataset.id)),
      seq: grid.__wbSeq,
    });
  };
  grid.__wbOpen = (page, id) => setTriggerValue("open", {page, id});

  // the cards: drawn again only when what they show changed (a focused tick keeps its focus)
  const drawn = JSON.stringify(data.cards);
  if (grid.__wbDrawn !== drawn) {
    const focused = document.activeElement && grid.contains(document.activeElement)
      ? document.activeElement.closest(".wb-card")?.dataset.id : null;
    grid.replaceChildren(...data.cards.map((card) => {
      const box = buildCard(card, grid);
      box.setAttribute("role", "listitem");
      return box;
    }));
    grid.__wbDrawn = drawn;
    if (focused) grid.querySelector(`.wb-card[data-id="${focused}"] input`)?.focus();
  }
  // the ticks as the server has them, unless this page sent ticks the server has not applied
  // yet: a run drawn while later ticks wait would untick them here (and the next tick would
  // then report them unticked)
  const waiting = grid.__wbSeq > (data.applied || 0) && performance.now() - grid.__wbSentAt < TICK_WAIT_MS;
  const chosen = new Set(data.selected);
  for (const box of waiting ? [] : grid.querySelectorAll(":scope > .wb-card")) {
    const want = chosen.has(Number(box.dataset.id));
    if (box.__wbTick.checked !== want) box.__wbTick.checked = want;
  }
  // each preview in the size its card needs now, and again when the window is resized
  const sharpen = () => {
    const side = sideFor(grid, data);
    for (const box of grid.querySelectorAll(":scope > .wb-card")) {
      const src = box.__wbPreview[side];
      if (box.__wbPicture.isConnected && box.__wbPicture.getAttribute("src") !== src) box.__wbPicture.src = src;
    }
  };
  sharpen();
  if (grid.__wbResize) window.removeEventListener("resize", grid.__wbResize);
  let timer = null;
  grid.__wbResize = () => { clearTimeout(timer); timer = setTimeout(sharpen, 200); };
  window.addEventListener("resize", grid.__wbResize);
  return () => window.removeEventListener("resize", grid.__wbResize);
}
"""
