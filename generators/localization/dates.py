"""Availability dates and numbers as each locale writes them (CLDR through Babel).

A translation phrases the date as a template (``Ab {date}``, ``À partir du {date}``); ``{date}``
becomes the day and month in the locale's order and words (``12. Dezember``, ``12 dic``,
``١٢ ديسمبر``), with the locale's own digits where CLDR's default numbering system is not Latin
(``ar-EG``: Arabic-Indic, ``fa``: extended Arabic-Indic, ``bn``: Bengali). The replacement is
literal: no other braces or percent signs in the template are interpreted.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Literal

DateStyle = Literal["long", "short"]
SKELETONS: dict[str, str] = {"long": "dMMMM", "short": "dMMM"}


def _locale(code: str):
    from generators.localization.strings import babel_locale

    return babel_locale(code)


# CLDR numbering systems with decimal digits: the code point of their zero (the nine others follow
# it in Unicode). Babel knows a locale's default system but formats digits in Latin.
DIGIT_ZEROS: dict[str, int] = {
    "latn": 0x30, "arab": 0x660, "arabext": 0x6F0, "beng": 0x9E6, "deva": 0x966, "guru": 0xA66, "gujr": 0xAE6,
    "orya": 0xB66, "tamldec": 0xBE6, "telu": 0xC66, "knda": 0xCE6, "mlym": 0xD66, "thai": 0xE50, "laoo": 0xED0,
    "tibt": 0xF20, "mymr": 0x1040, "khmr": 0x17E0,
}


@lru_cache(maxsize=256)
def digits_of(locale: str) -> str:
    """The ten digits of the locale's default numbering system ("0123456789" for Latin)."""
    system = getattr(_locale(locale), "default_numbering_system", "latn") or "latn"
    zero = DIGIT_ZEROS.get(system, 0x30)
    return "".join(chr(zero + n) for n in range(10))


def localize_digits(text: str, locale: str) -> str:
    digits = digits_of(locale)
    if digits == "0123456789":
        return text
    return text.translate(str.maketrans("0123456789", digits))


def format_date(value: dt.date | str, locale: str, style: DateStyle = "long") -> str:
    """Day and month of ``value`` (an ISO date or a date) as ``locale`` writes them."""
    from babel.dates import format_skeleton

    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return localize_digits(format_skeleton(SKELETONS[style], day, locale=_locale(locale)), locale)


def format_number(value: float, locale: str) -> str:
    from babel.numbers import format_decimal

    return localize_digits(format_decimal(value, locale=_locale(locale), numbering_system="default"), locale)


def render_date_line(template: str | None, value: str | None, locale: str, style: DateStyle = "long") -> str | None:
    """The date line: the template with ``{date}`` formatted (the date alone without a template)."""
    if value is None:
        return None if template is None or "{date}" in template else template
    formatted = format_date(value, locale, style)
    from generators.localization.strings import date_template

    template = date_template(template) or "{date}"
    return template.replace("{date}", formatted) if "{date}" in template else template
