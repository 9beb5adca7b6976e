"""Read-only panels of a variant, in words a creative reads: why it looks as it does (its kind's
explanation, with a small bar chart of what counted), how much of it a model made, the texts
drawn into it beside their sources, what its kind read off the file, its C2PA provenance, how
it was made (the recipe, in words; the raw recipe only behind "Technical details"), and its
review events as a table.

Every value shown passes through :func:`readable`: no JSON, no "None", no Python reprs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import streamlit as st

from ui.components import local_time, md

TERMS_SHOWN = 12  # a chart of more bars than this says how many smaller ones were left out
HIDDEN_DETAILS = {"slot_key", "review_event", "recipe_key", "sha256"}  # technical: in "Technical details"


# -- values in words ----------------------------------------------------------------------------


def label(key: Any) -> str:
    """A recipe or event key as words: ``generated_share`` → "generated share"."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(key)).replace("_", " ").strip().lower()


def readable(value: Any) -> str:
    """Any recipe or event value as one line of text: "–" for nothing, yes/no, numbers without
    noise, lists joined, mappings as "key value; key value". Never JSON or a Python repr."""
    if value is None or value == "" or value == [] or value == {}:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, Mapping):
        return "; ".join(f"{label(k)} {readable(v)}" for k, v in value.items() if v not in (None, "", [], {})) or "–"
    if isinstance(value, list | tuple | set):
        return ", ".join(readable(v) for v in value)
    return str(value)


def cells(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Rows for ``st.table``, whose cells are Markdown: every value as text, escaped."""
    return [{md(k): md(readable(v)) for k, v in row.items()} for row in rows]


def source_type(iri: Any) -> str:
    """A C2PA digital source type as words (the last part of its IPTC address)."""
    if not iri:
        return "–"
    words = label(str(iri).rstrip("/").rsplit("/", 1)[-1])
    return words + (" (a model made pixels)" if "trained algorithmic" in words else "")


def action_name(action: Any) -> str:
    return label(str(action or "").removeprefix("c2pa."))


def action_text(a: Mapping[str, Any]) -> str:
    """What a manifest action did, in words: its own description, else what it acted on (its
    ingredients) and its parameters, e.g. "placed: Acme Mug (MUG-1)", "to 1920 × 1080"."""
    if a.get("description"):
        return str(a["description"])
    parts = []
    names = [str(i.get("title") if isinstance(i, Mapping) else i) for i in a.get("ingredients") or ()]
    if names:
        parts.append(", ".join(n for n in names if n))
    params = a.get("parameters") if isinstance(a.get("parameters"), Mapping) else {}
    for key, value in params.items():
        if key in ("ingredients", "ingredient", "description") or value in (None, "", [], {}):
            continue
        if key in ("to", "from", "size") and isinstance(value, list | tuple) and len(value) == 2:
            value = f"{value[0]} × {value[1]}"
        parts.append(f"{label(key)} {readable(value)}")
    return "; ".join(parts) or "–"


TRAINING = {"allowed": "allowed", "notAllowed": "not allowed", "constrained": "allowed with conditions"}


# -- why it looks as it does ------------------------------------------------------------------------


def explanation_heading(info: Any) -> str:
    return getattr(info, "heading", None) or "Why this variant"


def explanation(row: Any, info: Any = None, *, heading: bool = True) -> None:
    """"Why this frame" (or the kind's own heading): the library's explanation of a variant (its
    recipe, read as text: ``review.explain``), what a model made of it, and the score's terms as
    bars, largest contribution first."""
    from workbench import review

    info = info if info is not None else review.explain(row)
    if heading:
        st.markdown(f"**{md(explanation_heading(info))}**")
    if info.summary:
        st.markdown(md(_sentence(info.summary)))
    for name, text in info.facts:
        if text not in (None, ""):
            st.markdown(f"**{md(name)}:** {md(readable(text))}")
    st.markdown(f"**Model-made pixels:** {md(model_share_text(info, long=True))}")
    made_by = [info.generator or None]
    if info.seed is not None:
        made_by.append(f"seed {info.seed}")
    if any(made_by):
        st.caption("Made by " + md(", ".join(p for p in made_by if p)))
    contribution_chart(info.terms, info.score)


def _sentence(text: str) -> str:
    text = str(text).strip()
    return text[:1].upper() + text[1:]


def model_name(model: Any) -> str | None:
    if isinstance(model, Mapping) and model:
        return str(model.get("name") or model.get("id") or "a model")
    return str(model) if model else None


def model_share_text(info: Any, *, long: bool = False) -> str:
    """How much of the picture a model made, in words (any kind that records it)."""
    share = getattr(info, "model_share", None)
    note = (getattr(info, "details", None) or {}).get("model_share_note")
    model = model_name(getattr(info, "model", None))
    if share is None:
        if model:
            return f"a model ran ({model}); its share of the pixels is not recorded"
        return "none: no model ran (classical processing only)" if long else "none"
    percent = "all" if share >= 0.995 else "under 1 %" if 0 < share < 0.005 else f"{share * 100:.0f} %"
    text = f"{percent} of the pixels" if percent != "all" else "the whole picture"
    if long:
        if note:
            text += f": {note}"
        if model:
            text += f" ({model})"
    return text


def model_share_phrase(info: Any) -> str:
    """The status line's words: "model-made: 12 % of the pixels", or "no model-made pixels"."""
    text = model_share_text(info)
    return "no model-made pixels" if text == "none" else f"model-made: {text}"


def contribution_chart(terms: Any, score: float | None = None) -> None:
    """The score's terms as horizontal bars (longest: the term that counted most), each named
    with what was measured and what it added to or took off the score. Bars, not a chart
    widget: every label is shown whole and read by screen readers."""
    terms = list(terms or ())
    if not terms:
        return
    largest = max(abs(float(t.contribution)) for t in terms) or 1.0
    total = f" (score {score:.3f} = the sum of these)" if score is not None else ""
    st.markdown(f"**What counted**{md(total)}")
    for t in terms[:TERMS_SHOWN]:
        c = float(t.contribution)
        how = f"adds {c:.3f} to the score" if c >= 0 else f"takes {-c:.3f} off the score"
        if t.weight is not None and t.normalised is not None:
            how += f" (weight {float(t.weight):+.2f} × measured {float(t.normalised):.2f} on a 0–1 scale)"
        st.progress(min(1.0, abs(c) / largest), text=md(f"{t.feature}: {how}"))
    if len(terms) > TERMS_SHOWN:
        st.caption(f"…and {len(terms) - TERMS_SHOWN} smaller terms.")


def copy_panel(info: Any) -> None:
    """The texts drawn into the variant, each beside the source it was translated from (a
    localized variant), with the QA flags that concern it."""
    lines = list(getattr(info, "copy", ()) or ())
    if not lines:
        return
    st.markdown("**Text on it**")
    st.table(cells({"Text": line.field, "As drawn": line.rendered, "Source": line.source,
                    "Locale": line.locale, "QA flags": list(line.flags)} for line in lines), hide_index=True)


def inspection_panel(inspection: Any) -> None:
    """What the kind read off the stored file (a decoded QR code, a measured loudness), and the
    problems that should stop an approval."""
    facts = list(getattr(inspection, "facts", ()) or ())
    problems = list(getattr(inspection, "problems", ()) or ())
    if not facts and not problems:
        return
    st.markdown("**Read off the file**")
    for problem in problems:
        st.error(md(_sentence(problem)))
    for name, text in facts:
        st.markdown(f"**{md(name)}:** {md(readable(text))}")


def recipe_panel(row: Any) -> None:
    """How the variant was made, in words (its parameters, then what the generator recorded);
    the raw recipe only behind an explicit "Technical details" toggle."""
    recipe = dict(row.recipe or {})
    params = recipe.get("parameters") if isinstance(recipe.get("parameters"), Mapping) else {}
    lines = [(label(k), readable(v)) for k, v in params.items() if v not in (None, "", [], {})]
    for key in ("generator", "generator_version", "seed"):
        if recipe.get(key) not in (None, ""):
            lines.append((label(key), readable(recipe[key])))
    if lines:
        st.table(cells({"Setting": name, "Value": value} for name, value in lines), hide_index=True)
    else:
        st.caption("No settings recorded.")
    if st.toggle("Technical details (the recipe as stored)", key=f"recipe_raw_{row.id}"):
        st.json(recipe, expanded=False)


# -- provenance ----------------------------------------------------------------------------------


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
             ("Signed", local_time(p.signed_at) if p.signed_at else None),
             ("Digital source type", ", ".join(source_type(t) for t in p.digital_source_types)
              or "no AI claim (classical processing)")]
    for name, value in facts:
        if value:
            st.caption(f"{name}: {md(value)}")
    if p.actions:
        st.markdown("**Actions**")
        st.table(cells({"Action": action_name(a.get("action")), "What it did": action_text(a),
                        "Source type": source_type(a.get("digital_source_type")) if a.get("digital_source_type")
                        else None} for a in p.actions), hide_index=True)
    if p.ingredients:
        st.markdown("**Ingredients**")
        st.table(cells({"Ingredient": i.get("title"), "Relationship": label(i.get("relationship") or ""),
                        "Type": i.get("mime")} for i in p.ingredients), hide_index=True)
    if p.training_mining:
        # cawg.ai_generative_training → "AI generative training: not allowed"
        st.caption("Use for AI training and data mining: " + md(", ".join(
            f"{label(str(k).split('.', 1)[-1]).replace('ai ', 'AI ')}: {TRAINING.get(str(v), readable(v))}"
            for k, v in sorted(p.training_mining.items()))))


# -- events -----------------------------------------------------------------------------------


def details_text(details: Any) -> str:
    """An event's details as a sentence: "pending → approved · v1 · batch of 3 · QA flags
    overridden: overflow". Technical keys (slot key, recipe key, checksums) are left out."""
    if not isinstance(details, Mapping) or not details:
        return ""
    d = dict(details)
    parts = []
    if "from" in d and "to" in d:
        parts.append(f"{label(d.pop('from'))} → {label(d.pop('to'))}")
    if isinstance(d.get("version"), int):
        parts.append(f"v{d.pop('version')}")
    if isinstance(d.get("batch"), int):
        n = d.pop("batch")
        if n > 1:
            parts.append(f"batch of {n}")
    if d.get("override_flags"):
        parts.append("QA flags overridden: " + readable(d.pop("override_flags")))
    if d.get("mentions") is not None:
        mentions = d.pop("mentions")
        if mentions:
            parts.append("mentions " + readable(mentions))
    for key, value in d.items():
        if key in HIDDEN_DETAILS or value in (None, "", [], {}):
            continue
        parts.append(f"{label(key)} {readable(value)}")
    return " · ".join(parts)


def event_rows(events: Any) -> list[dict[str, Any]]:
    """Review or audit events as table rows, in words and the reader's local time."""
    rows = []
    for e in events:
        rows.append({
            "When": local_time(e.at),
            "Who": e.actor,
            "Role": e.role,
            "Action": e.action,  # the trail's own words: the audit filter takes them
            "Title": getattr(e, "title_name", None) or "–",
            "Variant": f"#{e.variant_id}" if e.variant_id is not None else "–",
            "Comment": e.comment or "–",
            "Details": details_text(e.details) or "–",
        })
    return rows


def event_table(events: Any) -> None:
    """A few events (a variant's history) as a static table: every word shown, nothing cut off."""
    rows = [{k: v for k, v in r.items() if k not in ("Title", "Variant")} for r in event_rows(events)]
    st.table(cells(rows), hide_index=True)
