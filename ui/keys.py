"""Keyboard shortcuts: each page maps keys to its own labelled controls, and a help dialog.

Streamlit has no key handling, so a fixed script (``st.components.v2``, run in the page itself)
listens for keys and acts on the page's own controls, found by their labels. Streamlit redraws
the page on every run: until a run has been drawn, the previous run's copies of the controls are
still in the document (marked ``data-stale``), and a page switch replaces every element. A key
therefore never acts on what it happens to find at once: it waits until the page it was pressed
on has been drawn (the run that its last click started included), then acts on the control as it
is now, and a field it focused keeps the focus while the run that replaces it is still drawing.

Streamlit has shortcuts of its own on the document: "r" reruns the whole script. The script
listens before them and keeps the page's keys to itself: an "r" that also reran the page was
why the reject shortcut lost its comment box about one time in three after a page switch."""

from __future__ import annotations

from typing import Any

import streamlit as st

RUN_KEY = "wb_keys_run"  # counts this session's runs: the script knows when a run has been drawn

# Fixed text; its data is a table of keys to the labels of this page's own controls (no user
# text) and the run counter.
_KEYS_JS = """
export default function(component) {
  const data = component.data || {};
  window.__wbKeys = data;
  // this component is the last element of every page: when its data arrives, the run is drawn
  window.__wbRun = data.run;
  if (window.__wbKeysBound) return;
  window.__wbKeysBound = true;
  const WAIT_MS = 4000;  // how long a key waits for its page to be drawn and its control to be there
  const HOLD_MS = 1500;  // how long a focused field keeps the focus against the page redrawing it
  const all = (sel) => Array.from(document.querySelectorAll(sel));
  // a control's own words (an icon's ligature name may come first, on its own line)
  const says = (el, text) => { const t = (el.innerText || "").trim(); return t === text || t.endsWith("\\n" + text); };
  // on screen now: not a previous run's copy (a page change leaves the old page a moment)
  const live = (el) => !!el && el.isConnected && !el.closest('[data-stale="true"]') && el.getClientRects().length > 0;
  const enabled = (el) => !el.disabled && el.getAttribute("aria-disabled") !== "true";
  const byText = (sel, text) => all(sel).reverse().find((el) => says(el, text) && live(el) && enabled(el));
  const field = (label) => all("textarea, input").find((el) => el.getAttribute("aria-label") === label && live(el) && enabled(el));
  const cards = () => all('[data-testid="stMain"] input[type="checkbox"]')
      .filter((box) => live(box) && (box.closest("label") || {}).innerText?.trim().startsWith("Select #"));
  const drawing = () => !!document.querySelector('[data-stale="true"], [data-testid^="stSkeleton"], [data-testid="stAppSkeleton"]');

  // A click starts a run; until that run has drawn this component again the page is the old one.
  let clicked = null;  // {run, at}
  const ready = () => !drawing() && (clicked === null || window.__wbRun !== clicked.run
      || performance.now() - clicked.at > WAIT_MS);
  const click = (control) => { clicked = {run: window.__wbRun, at: performance.now()}; control.click(); return true; };

  // a focused field keeps the focus while the page redraws it (a radio's click, a run that
  // replaces the field), until the person does something else or the page has settled
  let holding = null;
  const hold = (label) => {
    const until = performance.now() + HOLD_MS;
    const token = holding = {};
    const step = () => {
      if (holding !== token) return;
      const now = document.activeElement;
      const kept = now && now.getAttribute && now.getAttribute("aria-label") === label && live(now);
      if (!kept && (!now || now === document.body || !live(now) || now.type === "radio")) {
        const again = field(label);
        if (again) again.focus();
      }
      if (performance.now() < until || !ready()) setTimeout(step, 30); else holding = null;
    };
    setTimeout(step, 30);
  };
  const letGo = () => { holding = null; };
  document.addEventListener("pointerdown", letGo, true);

  const act = (action) => {
    if (action.move) {
      const boxes = cards();
      if (!boxes.length) return false;
      const at = boxes.indexOf(document.activeElement);
      const next = boxes[Math.max(0, Math.min(boxes.length - 1, at < 0 ? 0 : at + action.move))];
      next.focus();
      (next.closest(".wb-card") || next.closest('[data-testid="stVerticalBlock"]'))?.scrollIntoView({block: "nearest"});
      return true;
    }
    if (action.open) {
      const boxes = cards();
      const box = boxes.find((b) => b === document.activeElement) || boxes[0];
      const card = box && box.closest('.wb-card, [data-testid="stVerticalBlockBorderWrapper"], [data-testid="stVerticalBlock"]');
      const link = card && Array.from(card.querySelectorAll("a")).find((a) => says(a, action.open) && live(a));
      return link ? click(link) : false;
    }
    if (action.pick || action.focus) {
      if (action.pick) {
        const choice = all('[data-testid="stRadio"] label').find((l) => says(l, action.pick) && live(l));
        if (!choice) return false;
        const input = choice.querySelector("input");
        if (!(input && input.checked)) choice.click();
      }
      const target = action.focus && field(action.focus);
      if (action.focus && !target) return false;
      if (target) { target.focus(); hold(action.focus); }
      return true;
    }
    if (action.click) {
      const control = byText("button, a", action.click);
      return control ? click(control) : false;
    }
    return true;
  };

  // keys wait their turn: each acts once its page is drawn, in the order they were pressed
  const waiting = [];
  let pumping = false;
  const pump = () => {
    if (pumping) return;
    pumping = true;
    const step = () => {
      while (waiting.length && ready()) {
        const next = waiting[0];
        if (act(next.action) || performance.now() - next.at > WAIT_MS) waiting.shift();
        else break;  // its control is not drawn yet
      }
      if (waiting.length) setTimeout(step, 16); else pumping = false;
    };
    step();
  };

  // Capture, on the window: before Streamlit's own document-level hotkeys, which rerun the whole
  // script on "r" (and open a clear-cache dialog on "c" for a developer). Left to it, an "r" here
  // also reran the page: the run that replaced the page under the comment box the key had just
  // focused (or that redrew the old variant over a page switch) took the focus away.
  // A widget that takes some keys itself (the player's scrubber, the compare slider, the pin pad:
  // ui/viewers.py) marks itself data-wb-own-keys with its keys joined by "|"; a modal (the
  // lightbox) marks itself "*" and takes every key while it is shown. Such keys are not shortcuts.
  const owned = (event) => !!document.querySelector('[data-wb-own-keys="*"]:not([hidden])')
      || event.composedPath().some((el) => {
        const own = el && el.dataset ? el.dataset.wbOwnKeys : undefined;
        return own !== undefined && (own === "*" || own.split("|").includes(event.key));
      });

  window.addEventListener("keydown", (event) => {
    const target = event.target;
    const typing = target && (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT"
        || (target.tagName === "INPUT" && !["checkbox", "radio", "button"].includes(target.type)));
    // Ctrl+Enter in a form's box sends the form (Streamlit does that); then the page has the keys
    // again, so the next variant's "a" approves instead of being typed into its comment box
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && typing && target.closest('[data-testid="stForm"]')) {
      letGo();
      setTimeout(() => { if (document.activeElement === target) target.blur(); }, 0);
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape" || event.key === "Tab") letGo();
    if (typing) {
      letGo();  // the person is typing in a field: it is theirs
      // Escape leaves the field (unless it closes the @mention suggestions first)
      if (event.key === "Escape" && !document.getElementById("wb-mentions")) target.blur();
      return;
    }
    // on a form's choice (a decision being written) letters are not commands
    if (target && target.type === "radio" && target.closest && target.closest('[data-testid="stForm"]')) {
      if (event.key === "Escape") target.blur();
      return;
    }
    const key = {ArrowRight: "j", ArrowLeft: "k"}[event.key] || event.key;
    const action = owned(event) ? undefined : ((window.__wbKeys || {}).keys || {})[key];
    if (action || key === "r" || key === "c") event.stopPropagation();  // never Streamlit's rerun or cache keys
    if (!action) return;
    event.preventDefault();
    if (event.repeat && !action.move) return;  // a held key decides once
    letGo();
    waiting.push({action, at: performance.now()});
    pump();
  }, true);
}
"""

KEY_HELP = {
    "queue": [("j / →", "next card"), ("k / ←", "previous card"), ("space", "select the focused card"),
              ("o", "open the focused card"), ("Escape", "leave a field, close this help"), ("?", "this help")],
    "variant": [("a", "approve and go to the next pending variant"),
                ("r", "reject: the comment box (Ctrl+Enter there sends and goes to the next)"),
                ("c", "write a comment (@ suggests names; Ctrl+Enter adds it)"), ("j / →", "next variant"),
                ("k / ←", "previous variant"), ("Escape", "leave a field, close this help"), ("?", "this help")],
}


def keyboard(keys: dict[str, dict[str, Any]]) -> None:
    """Keyboard shortcuts for this page: each key clicks one of the page's labelled controls
    (``{"click": label}``), picks a radio choice and focuses a field (``{"pick": .., "focus": ..}``),
    or moves between the queue's cards (``{"move": 1}``, ``{"open": "Open"}``). Keys typed into a
    field are left alone; Escape leaves the field. Call it last on the page: its data tells the
    script that the run has been drawn."""
    run = st.session_state.get(RUN_KEY, 0) + 1
    st.session_state[RUN_KEY] = run
    mount = st.components.v2.component("wb_keyboard", js=_KEYS_JS)
    mount(key="wb_keyboard", data={"keys": keys, "run": run}, height="content")


def shortcuts_help(page: str) -> None:
    """A "Keyboard shortcuts" button (``?``) that opens the list."""

    @st.dialog("Keyboard shortcuts")
    def _show() -> None:
        st.table([{"key": k, "does": what} for k, what in KEY_HELP[page]])

    if st.button("Keyboard shortcuts", key=f"keys_help_{page}", icon=":material/keyboard:"):
        _show()
