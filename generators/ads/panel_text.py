"""The words on an ad's product panel, in the locale's script and direction: headline (the
campaign's tagline from a strings set, else the product's copy), brand, product name, price
(Babel, the locale's digits), the call to action beside the QR code, the availability date and
the legal line. Each is fitted to its box by the localization library (raqm shaping, ICU line
breaks, shrink then wrap, right-aligned for right-to-left scripts), drawn with a measured WCAG
contrast, and flagged as localized key art is: ``missing_glyphs``, ``overflow``,
``shrunk_below_min``, ``low_contrast``, ``over_face``, and the strings' own flags.

:func:`panel_copy` says what is written; :func:`draw_fields` writes it into boxes the panel
layout (:mod:`generators.ads.pause`) gives."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from PIL import Image

from generators.localization.fonts import Weight

DEFAULT_CTA = "Scan to shop"
LINE_HEIGHT = 1.55  # box height per line, in font sizes: room for the tallest scripts' ascent + descent
STRING_FLAGS = ("untranslated", "placeholder_mismatch", "preshaped_input", "too_long", "control_characters", "bidi_controls")


@dataclass(frozen=True)
class FieldStyle:
    max_size: int
    min_size: int
    lines: int
    weight: Weight
    fill: tuple[int, int, int]

    @property
    def box_height(self) -> int:
        return round(self.max_size * LINE_HEIGHT * self.lines)


STYLES: dict[str, FieldStyle] = {
    "headline": FieldStyle(30, 20, 2, "bold", (225, 225, 230)),
    "brand": FieldStyle(28, 18, 1, "bold", (200, 200, 210)),
    "name": FieldStyle(44, 26, 2, "bold", (255, 255, 255)),
    "price": FieldStyle(54, 34, 1, "bold", (255, 214, 92)),
    "cta": FieldStyle(30, 18, 3, "bold", (255, 255, 255)),
    "date": FieldStyle(24, 16, 2, "regular", (225, 225, 230)),
    "legal": FieldStyle(17, 12, 2, "regular", (190, 190, 198)),
}
ORDER = ("headline", "brand", "name", "price", "cta", "date", "legal")


@dataclass(frozen=True)
class CopyItem:
    """One text for the panel: what is drawn, and the source-language text it translates (None
    for catalog data such as a brand or a product name, which is not translated)."""

    field: str
    text: str
    source: str | None = None


@dataclass(frozen=True)
class PanelCopy:
    locale: str  # BCP 47 (line breaking, shaping language, digits)
    items: tuple[CopyItem, ...]
    strings_sha256: str | None = None
    string_flags: tuple[dict[str, Any], ...] = ()  # the strings set's flags for this locale

    def get(self, name: str) -> CopyItem | None:
        return next((i for i in self.items if i.field == name), None)

    @property
    def rtl(self) -> bool:
        """Whether the panel reads right to left: the direction of its translated copy (the
        call to action, else the headline), else of the locale's own script."""
        from generators.localization.fonts import (
            detect_script,
            font_for,
            script_of_locale,
        )

        sample = next((i.text for i in self.items if i.field in ("cta", "headline") and i.source is not None), None)
        script = detect_script(sample, self.locale) if sample else script_of_locale(self.locale)
        return font_for(script).rtl

    @classmethod
    def plain(cls, brand: str, name: str, price: str, copy: str | None = None, locale: str = "en",
              cta: str = DEFAULT_CTA) -> PanelCopy:
        """Catalog text only (no strings set): the product's copy as the headline, a fixed call
        to action."""
        items = [CopyItem("headline", copy)] if copy else []
        items += [CopyItem("brand", brand.upper()), CopyItem("name", name), CopyItem("price", price), CopyItem("cta", cta)]
        return cls(locale, tuple(items))


def format_price(price: Decimal, currency: str, locale: str) -> str:
    """The price as the locale writes it, in the locale's own digits (CLDR through Babel)."""
    from babel.numbers import format_currency

    from generators.localization.dates import localize_digits
    from generators.localization.strings import babel_locale

    code = locale.replace("_", "-")
    # Babel gives the locale's separators but Latin digits; the dates' digits follow CLDR's default system
    return localize_digits(format_currency(price, currency, locale=babel_locale(code), numbering_system="default"), code)


def panel_copy(*, brand: str, name: str, price: str, product_copy: str | None, locale: str, strings: Any | None,
               strings_sha256: str | None = None, date_style: str = "long") -> PanelCopy:
    """What the panel says in ``locale``. With ``strings`` (an imported strings set holding the
    locale) the headline is the tagline, and the call to action, date and legal line are the
    locale's, each beside its source text; without, :meth:`PanelCopy.plain`."""
    if strings is None:
        return PanelCopy.plain(brand, name, price, product_copy, locale)
    from generators.localization.strings import check_strings
    from generators.localization.texts import texts_for

    texts = texts_for(strings, locale, date_style)
    sources = texts_for(strings, strings.source_locale, date_style)
    items: list[CopyItem] = []
    if texts.get("tagline"):
        items.append(CopyItem("headline", texts["tagline"], sources.get("tagline")))
    items += [CopyItem("brand", brand.upper()), CopyItem("name", name), CopyItem("price", price)]
    items.append(CopyItem("cta", texts["call_to_action"], sources.get("call_to_action")) if texts.get("call_to_action")
                 else CopyItem("cta", DEFAULT_CTA))
    for f in ("date", "legal"):
        if texts.get(f):
            items.append(CopyItem(f, texts[f], sources.get(f)))
    report = check_strings(strings)
    flags = tuple({"code": f.code, "field": f.field, "reason": f.message}
                  for r in report.locales if r.locale == locale for f in r.flags if f.code in STRING_FLAGS)
    return PanelCopy(locale, tuple(items), strings_sha256, flags)


@dataclass(frozen=True)
class DrawnField:
    field: str
    text: str
    source: str | None
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 on the still
    layout: dict[str, Any]
    contrast: dict[str, Any]
    flags: tuple[str, ...]
    reasons: tuple[dict[str, Any], ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        # "box" as every box of the pause layout: x0, y0, x1, y1 on the still (the fit's x, y, w, h is the same region)
        return {"text": self.text, "source": self.source, **{k: v for k, v in self.layout.items() if k != "box"},
                "box": list(self.box), "contrast": self.contrast, "flags": list(self.flags)}


def draw_fields(image: Image.Image, copy: PanelCopy, boxes: Mapping[str, tuple[int, int, int, int]],
                faces: Sequence[tuple[int, int, int, int]]) -> list[DrawnField]:
    """Fit each item of ``copy`` into its box (x0, y0, x1, y1) and draw it on ``image`` (RGB, in
    place) legibly; each field's flags and their reasons. ``faces`` are pixel boxes: a text box
    over one is flagged ``over_face`` (the layout keeps the panel off faces, so this never
    fires unless the layout is wrong)."""
    from generators.ads.pause import intersects
    from generators.localization.contrast import draw_legibly
    from generators.localization.fit import fit_text
    from generators.localization.fonts import detect_script, font_for

    drawn: list[DrawnField] = []
    panel_rtl = copy.rtl
    for item in copy.items:
        if item.field not in boxes or not item.text:
            continue
        style = STYLES[item.field]
        x0, y0, x1, y1 = boxes[item.field]
        # one edge for the whole panel: in a right-to-left panel a Latin brand name or price is
        # right-aligned too ("start" is the text's own reading start, so it is "end" for them)
        own_rtl = font_for(detect_script(item.text, copy.locale), style.weight).rtl
        layout = fit_text(item.text, (x0, y0, x1 - x0, y1 - y0), copy.locale, max_size=style.max_size,
                          min_size=style.min_size, max_lines=style.lines, align="start" if own_rtl == panel_rtl else "end",
                          valign="middle" if item.field == "cta" else "top", weight=style.weight)
        contrast = draw_legibly(image, layout, fill=style.fill)
        reasons = [{"code": code, "field": item.field, "reason": why} for code, why in layout.reasons()]
        if not contrast.passes:
            reasons.append({"code": "low_contrast", "field": item.field,
                            "reason": f"{contrast.ratio:.2f}:1 even with a {contrast.scrim:.0%} scrim (needs 4.5:1)"})
        if any(intersects(boxes[item.field], f) for f in faces):
            reasons.append({"code": "over_face", "field": item.field, "reason": f"the {item.field} box covers a face"})
        drawn.append(DrawnField(item.field, item.text, item.source, boxes[item.field], layout.to_dict(), contrast.to_dict(),
                                tuple(dict.fromkeys(r["code"] for r in reasons)), tuple(reasons)))
    return drawn


__all__ = ["DEFAULT_CTA", "ORDER", "STYLES", "CopyItem", "DrawnField", "FieldStyle", "PanelCopy", "draw_fields",
           "format_price", "panel_copy"]
