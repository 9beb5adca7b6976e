"""Keyboard shortcuts: each page maps keys to its own labelled controls, and a help dialog."""

from __future__ import annotations

from typing import Any

import streamlit as st

# Fixed text; its data is a table of keys to the labels of this page's own controls (no user text).
_KEYS_JS = """
export default function(component) {
  window.__wbKeys = component.data || {};
  if (window.__wbKeysBound) return;
  window.__wbKeysBound = true;
  // a control's own words (an icon's ligature name may come first, on its own line)
  const says = (el, text) => { const t = (el.innerText || "").trim(); return t === text || t.endsWith("\\n" + text); };
  // what is on screen: a page change may leave the old page's copy in the document a moment
  const shown = (el) => el.isConnected && !el.closest('[data-stale="true"]') && el.getClientRects().length > 0;
  const byText = (sel, text) => Array.from(document.querySelectorAll(sel)).reverse()
      .find((el) => says(el, text) && shown(el) && !el.disabled && el.getAttribute("aria-disabled") !== "true");
  const cards = () => Array.from(document.querySelectorAll('[data-testid="stMain"] input[type="checkbox"]'))
      .filter((box) => (box.closest("label") || {}).innerText?.trim().startsWith("Select #"));
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    const typing = target && (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT"
        || (target.tagName === "INPUT" && !["checkbox", "radio", "button"].includes(target.type)));
    if (typing) { if (event.key === "Escape") target.blur(); return; }
    // on a form's choice (a decision being written) letters are not commands
    if (target && target.type === "radio" && target.closest && target.closest('[data-testid="stForm"]')) {
      if (event.key === "Escape") target.blur();
      return;
    }
    const key = {ArrowRight: "j", ArrowLeft: "k"}[event.key] || event.key;
    const action = (window.__wbKeys.keys || {})[key];
    if (!action) return;
    if (action.move) {
      const all = cards();
      if (!all.length) return;
      const at = all.indexOf(document.activeElement);
      const next = all[Math.max(0, Math.min(all.length - 1, at < 0 ? 0 : at + action.move))];
      next.focus();
      next.closest('[data-testid="stVerticalBlock"]')?.scrollIntoView({block: "nearest"});
    } else if (action.open) {
      const box = cards().find((b) => b === document.activeElement) || cards()[0];
      const card = box && box.closest('[data-testid="stVerticalBlockBorderWrapper"], [data-testid="stVerticalBlock"]');
      const link = card && Array.from(card.querySelectorAll("a")).find((a) => says(a, action.open));
      if (link) link.click(); else return;
    } else if (action.pick || action.focus) {
      let picked = false;
      if (action.pick) {
        const choice = Array.from(document.querySelectorAll('[data-testid="stRadio"] label'))
            .find((l) => says(l, action.pick));
        const input = choice && choice.querySelector("input");
        if (choice && !(input && input.checked)) { choice.click(); picked = true; }
      }
      const field = action.focus && document.querySelector(`textarea[aria-label="${action.focus}"], input[aria-label="${action.focus}"]`);
      if (field && !picked) field.focus();
      // a radio's click, or the app settling after a page change, may take the focus back a
      // moment later: give it to the field again unless the person is already in a field
      if (field) [50, 300].forEach((ms) => setTimeout(() => {
        if (!["TEXTAREA", "INPUT"].includes(document.activeElement?.tagName) || document.activeElement.type === "radio") field.focus();
      }, ms));
    } else if (action.click) {
      const control = byText("button, a", action.click);
      if (!control) return;
      control.click();
    }
    event.preventDefault();
  });
}
"""

KEY_HELP = {
    "queue": [("j / →", "next card"), ("k / ←", "previous card"), ("space", "select the focused card"),
              ("o", "open the focused card"), ("?", "this help")],
    "variant": [("a", "approve and go to the next pending variant"), ("r", "reject: the comment box"),
                ("c", "write a comment"), ("j / →", "next variant"), ("k / ←", "previous variant"),
                ("?", "this help")],
}


def keyboard(keys: dict[str, dict[str, Any]]) -> None:
    """Keyboard shortcuts for this page: each key clicks one of the page's labelled controls
    (``{"click": label}``), picks a radio choice and focuses a field (``{"pick": .., "focus": ..}``),
    or moves between the queue's cards (``{"move": 1}``, ``{"open": "Open"}``). Keys typed into a
    field are left alone; Escape leaves the field."""
    mount = st.components.v2.component("wb_keyboard", js=_KEYS_JS)
    mount(key="wb_keyboard", data={"keys": keys}, height="content")


def shortcuts_help(page: str) -> None:
    """A "Keyboard shortcuts" button (``?``) that opens the list."""

    @st.dialog("Keyboard shortcuts")
    def _show() -> None:
        st.table([{"key": k, "does": what} for k, what in KEY_HELP[page]])

    if st.button("Keyboard shortcuts", key=f"keys_help_{page}", icon=":material/keyboard:"):
        _show()
