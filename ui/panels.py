"""Read-only panels of a variant: why it looks as it does (its kind's explanation), its C2PA
provenance, and its review events as a table."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from ui.components import md

def explanation(row: Any, info: Any = None, *, heading: bool = True) -> None:
    """"Why this frame" (or the kind's own heading): the library's explanation of a variant (its
    recipe, read as text: ``review.explain``) and the score's terms, largest contribution first."""
    import dataclasses

    from workbench import review

    info = info if info is not None else review.explain(row)
    if heading:
        st.markdown(f"**{md(explanation_heading(info))}**")
    model = info.model
    lines = [("", info.summary), *((f"{label}: ", text) for label, text in info.facts),
             ("Generator: ", info.generator),
             ("Model: ", (model.get("name") or model.get("id") or "yes") if isinstance(model, dict) and model
              else model if model else "none (classical processing only)")]
    if info.seed is not None:
        lines.append(("Seed: ", info.seed))
    for prefix, value in lines:
        if value not in (None, ""):
            st.caption(f"{prefix}{md(value)}")
    if info.terms:
        st.dataframe([dataclasses.asdict(t) for t in info.terms], hide_index=True, width="stretch",
                     column_order=("feature", "contribution", "weight", "normalised", "raw"))


def explanation_heading(info: Any) -> str:
    return getattr(info, "heading", None) or "Why this variant"


def provenance_panel(detail: Any) -> None:
    """Validation state and a manifest summary (signer, actions, digital source type,
    ingredients, training and mining) of a variant's stored file, verified when the page loads."""
    p = detail.provenance
    state_colour = {"Trusted": "green", "Valid": "blue", "Invalid": "red", "Unsigned": "orange"}.get(p.state, "red")
    st.markdown(f"C2PA: :{state_colour}-badge[{md(p.state)}]")
    if detail.file_intact is False:
        st.error("The stored file no longer matches the checksum recorded when it was made.")
    if p.codes:
        st.caption("Status codes: " + md(", ".join(p.codes)))
    if p.detail:
        st.caption(md(p.detail))
    if not (p.signer or p.claim_generator or p.actions):
        return  # no manifest to summarise
    facts = [("Signer", p.signer), ("Issuer", p.issuer), ("Claim generator", p.claim_generator),
             ("Signed at", p.signed_at),
             ("Digital source type", ", ".join(p.digital_source_types) or "no AI claim (classical processing)")]
    for label, value in facts:
        if value:
            st.caption(f"{label}: {md(value)}")
    if p.actions:
        st.markdown("**Actions**")
        st.dataframe([{"action": a.get("action"), "digital source type": a.get("digital_source_type"),
                       "description": a.get("description")} for a in p.actions], hide_index=True, width="stretch")
    if p.ingredients:
        st.markdown("**Ingredients**")
        st.dataframe(p.ingredients, hide_index=True, width="stretch")
    if p.training_mining:
        st.caption("Training and mining: " + md(", ".join(f"{k}: {v}" for k, v in sorted(p.training_mining.items()))))


def event_rows(events: Any) -> list[dict[str, Any]]:
    """Review or audit events as table rows (a table shows text as text: no markup at all)."""
    rows = []
    for e in events:
        rows.append({
            "when": str(e.at)[:19].replace("T", " "),
            "who": e.actor,
            "role": e.role,
            "action": e.action,
            "title": getattr(e, "title_name", None),
            "variant": e.variant_id,
            "comment": e.comment,
            "details": json.dumps(e.details, sort_keys=True, ensure_ascii=False) if e.details else None,
        })
    return rows
