"""@mention suggestions while a comment or a reply is typed: after "@", the names of the
accounts that start with what follows, chosen with the arrow keys and Enter or Tab (or a click),
and put into the text as "@name ". The library decides who a mention notifies
(:func:`workbench.comments.add_comment`); this only helps to spell the name.

Streamlit offers no completion inside a text box, so a fixed script (``st.components.v2``, run in
the page itself) shows the list. Its data is the list of names, which it only ever writes with
``textContent``: it builds no markup from data."""

from __future__ import annotations

from typing import Any

import streamlit as st

# Fixed text; its data is {"names": [account names]} (letters, digits and . _ @ -).
_MENTIONS_JS = """
export default function(component) {
  window.__wbNames = (component.data || {}).names || [];
  if (window.__wbMentionsBound) return;
  window.__wbMentionsBound = true;
  const SHOWN = 8;
  // the comment boxes: "New comment" and each "Reply to comment N"
  const isCommentBox = (el) => !!el && (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && el.type === "text"))
      && /^(New comment|Reply to comment \\d+)$/.test(el.getAttribute("aria-label") || "");
  let list = null, names = [], chosen = 0, field = null;
  // the "@word" that ends at the caret, if the caret is in one
  const mentionAt = (el) => {
    const before = el.value.slice(0, el.selectionStart ?? el.value.length);
    const m = /(^|[^A-Za-z0-9_@.])@([A-Za-z0-9._@-]{0,64})$/.exec(before);
    return m ? {start: before.length - m[2].length - 1, typed: m[2]} : null;
  };
  const close = () => {
    if (field) { field.removeAttribute("aria-activedescendant"); field.removeAttribute("aria-controls"); }
    if (list) list.remove();
    list = null; names = []; field = null;
  };
  const draw = () => {
    list.replaceChildren();
    names.forEach((name, i) => {
      const option = document.createElement("div");
      option.id = "wb-mention-" + i;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", i === chosen ? "true" : "false");
      option.textContent = "@" + name;
      Object.assign(option.style, {padding: "4px 10px", cursor: "pointer", whiteSpace: "nowrap",
                                   background: i === chosen ? "#dbe7ff" : "transparent"});
      option.addEventListener("mousedown", (event) => { event.preventDefault(); chosen = i; insert(); });
      list.appendChild(option);
    });
    field.setAttribute("aria-controls", "wb-mentions");
    field.setAttribute("aria-activedescendant", "wb-mention-" + chosen);
  };
  const open = (el, at) => {
    const typed = at.typed.toLowerCase();
    const found = (window.__wbNames || []).filter((n) => n.toLowerCase().startsWith(typed)).slice(0, SHOWN);
    if (!found.length || (found.length === 1 && found[0].toLowerCase() === typed)) { close(); return; }
    if (field !== el) close();
    field = el;
    names = found;
    chosen = Math.min(chosen, names.length - 1);
    if (!list) {
      list = document.createElement("div");
      list.id = "wb-mentions";
      list.setAttribute("role", "listbox");
      list.setAttribute("aria-label", "People to mention");
      Object.assign(list.style, {position: "fixed", zIndex: "100000", background: "#ffffff", color: "#111111",
                                 border: "1px solid #9aa0a6", borderRadius: "6px", boxShadow: "0 4px 12px rgba(0,0,0,.2)",
                                 font: "14px sans-serif", padding: "4px 0", maxHeight: "240px", overflowY: "auto"});
      document.body.appendChild(list);
      chosen = 0;
    }
    const box = el.getBoundingClientRect();
    list.style.left = Math.round(box.left) + "px";
    list.style.top = Math.round(Math.min(box.bottom + 2, window.innerHeight - 40)) + "px";
    draw();
  };
  const insert = () => {
    const el = field, name = names[chosen], at = el && mentionAt(el);
    if (!el || !name || !at) { close(); return; }
    const caret = el.selectionStart ?? el.value.length;
    const value = el.value.slice(0, at.start) + "@" + name + " " + el.value.slice(caret);
    // the field's own value setter, then an input event: React (and so Streamlit) sees a change
    Object.getOwnPropertyDescriptor(Object.getPrototypeOf(el), "value").set.call(el, value);
    close();
    el.dispatchEvent(new Event("input", {bubbles: true}));
    const end = at.start + name.length + 2;
    el.setSelectionRange(end, end);
    el.focus();
  };
  document.addEventListener("input", (event) => {
    const el = event.target;
    if (!isCommentBox(el)) return;
    const at = mentionAt(el);
    if (at) open(el, at); else if (field === el) close();
  }, true);
  // capture: the list's keys go to the list, not to the form (Enter would send it) or the shortcuts
  document.addEventListener("keydown", (event) => {
    if (!list || event.target !== field) return;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      chosen = (chosen + (event.key === "ArrowDown" ? 1 : names.length - 1)) % names.length;
      draw();
    } else if ((event.key === "Enter" || event.key === "Tab") && !(event.ctrlKey || event.metaKey)) {
      insert();
    } else if (event.key === "Escape") {
      close();
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }, true);
  document.addEventListener("focusout", (event) => { if (event.target === field) setTimeout(() => {
    if (field && document.activeElement !== field) close(); }, 200); }, true);
  window.addEventListener("scroll", (event) => { if (list && !list.contains(event.target)) close(); }, true);
}
"""


def autocomplete(viewer: Any) -> None:
    """Suggest account names after "@" in this page's comment boxes (signed-in users only: a
    guest of a share link is not shown who is on the team)."""
    from ui.components import settings
    from workbench import comments
    from workbench.access import Actor
    from workbench.errors import WorkbenchError

    if not isinstance(viewer, Actor):
        return
    try:
        names = comments.mention_names(viewer, settings=settings())
    except WorkbenchError:
        return
    mount = st.components.v2.component("wb_mentions", js=_MENTIONS_JS)
    mount(key="wb_mentions", data={"names": names}, height="content")
