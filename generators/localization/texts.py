"""A locale's copy as it is drawn: each field's text from a strings set, the availability date
filled in per locale (CLDR, with the locale's digits), and the record a variant keeps of it (each
text beside its source, with its flags). Shared by every kind that draws copy (localized key art,
trailer cards)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from generators.base import CopyLine
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


def source_texts(strings: StringsSet, code: str, date_style: str = "long") -> dict[str, str]:
    """The source locale's copy as drawn, beside which ``code``'s copy is reviewed; empty for the
    source locale itself (its text is not a translation)."""
    if code == strings.source_locale:
        return {}
    return texts_for(strings, strings.source_locale, date_style)


def copy_record(texts: Mapping[str, str], sources: Mapping[str, str], locale: str,
                flags: Mapping[str, Sequence[str]]) -> list[dict[str, Any]]:
    """The recipe's record of each text drawn (JSON): the field, the text as drawn, its source
    text (None when it is not a translation) and the QA flags about that field."""
    return [{"field": name, "rendered": text, "source": sources.get(name), "locale": locale,
             "flags": list(dict.fromkeys(flags.get(name, ())))}
            for name, text in texts.items()]


def copy_lines(rows: Any) -> tuple[CopyLine, ...]:
    """:func:`copy_record` rows read back from a recipe as :class:`CopyLine` (a recipe made before
    the copy was recorded has none: no lines; a malformed row is skipped, never fatal)."""
    lines: list[CopyLine] = []
    for row in rows if isinstance(rows, list) else ():
        if not isinstance(row, Mapping) or not isinstance(row.get("field"), str) or not isinstance(row.get("rendered"), str):
            continue
        source, locale, flags = row.get("source"), row.get("locale"), row.get("flags")
        lines.append(CopyLine(row["field"], row["rendered"], source if isinstance(source, str) else None,
                              locale if isinstance(locale, str) else None,
                              tuple(str(f) for f in flags) if isinstance(flags, list) else ()))
    return tuple(lines)
