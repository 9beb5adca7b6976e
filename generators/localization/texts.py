"""A locale's copy as it is drawn: each field's text from a strings set, the availability date
filled in per locale (CLDR, with the locale's digits). Shared by every kind that draws copy
(localized key art, trailer cards)."""

from __future__ import annotations

from generators.localization.strings import FIELDS, StringsSet


def texts_for(strings: StringsSet, code: str, date_style: str = "long") -> dict[str, str]:
    """Each field's text for ``code`` (the source's where a translation is missing: the strings
    report flags it as untranslated)."""
    from generators.localization.dates import format_date, render_date_line

    loc, src = strings.get(code), strings.source
    when = format_date(strings.availability, code, date_style) if strings.availability else None  # type: ignore[arg-type]
    out: dict[str, str] = {}
    for f in FIELDS:
        if f == "date":
            template = loc.get("date") if code != strings.source_locale else None
            line = render_date_line(template, strings.availability, code, date_style)  # type: ignore[arg-type]
            if line:
                out[f] = line
            continue
        text = loc.get(f) or src.get(f)
        if text and when is not None:  # {date} in any field is the availability date (literal replace)
            text = text.replace("{date}", when)
        if text:
            out[f] = text
    return out
