"""Localized text on pictures: a font per script with no missing glyph for 30+ locales, shaping
and right-to-left order with raqm (against Pillow's basic layout), line breaks only where ICU
allows them (Thai words, CJK), shrink → wrap → below-minimum → overflow, contrast measured on the
pixels with a scrim when needed, faces, and CLDR dates. Tests that need a script's font skip
with the Debian package to install when it is absent (under CI they fail: .ci/run installs it)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from generators.localization.contrast import (
    WCAG_AA,
    draw_legibly,
    measure_contrast,
    over_face,
)
from generators.localization.dates import format_date, format_number, render_date_line
from generators.localization.fit import break_opportunities, fit_text, inset, text_mask
from generators.localization.fonts import (
    FontMissing,
    detect_script,
    font_for,
    missing_glyphs,
    require_raqm,
)
from tests.services import in_ci
from workbench.analysis.types import Box

SAMPLES: dict[str, tuple[str, str]] = {  # locale → (script, a promo line in it)
    "ar": ("Arab", "الليلة الطويلة — من ١٢ ديسمبر"), "he": ("Hebr", "הלילה הארוך — החל מ-12 בדצמבר"),
    "fa": ("Arab", "شب طولانی — از ۱۲ دسامبر"), "hi": ("Deva", "लंबी रात — 12 दिसंबर से"),
    "bn": ("Beng", "দীর্ঘ রাত — ১২ ডিসেম্বর"), "ta": ("Taml", "நீண்ட இரவு — டிசம்பர் 12"),
    "te": ("Telu", "సుదీర్ఘ రాత్రి — డిసెంబర్ 12"), "th": ("Thai", "คืนอันยาวนาน — 12 ธันวาคม"),
    "ja": ("Jpan", "長い夜がやってくる。12月12日"), "ko": ("Kore", "긴 밤 — 12월 12일"),
    "zh-Hans": ("Hans", "漫长的夜晚——12月12日"), "zh-Hant": ("Hant", "漫長的夜晚——12月12日"),
    "ru": ("Cyrl", "Долгая ночь — с 12 декабря"), "uk": ("Cyrl", "Довга ніч — з 12 грудня, їжак, ґанок"),
    "sr": ("Cyrl", "Дуга ноћ — џ ђ"), "bg": ("Cyrl", "Дългата нощ — гледайте"),
    "el": ("Grek", "Η μεγάλη νύχτα — από 12 Δεκεμβρίου"), "vi": ("Latn", "Đêm dài — Xem ngay bây giờ, từ 12 tháng 12"),
    "tr": ("Latn", "Uzun Gece — Şimdi İzleyin, 12 Aralık'tan itibaren ğ ı"),
    "pl": ("Latn", "Długa noc — Oglądaj teraz, od 12 grudnia ż ś ć ę ń"),
    "de": ("Latn", "Die lange Nacht — Jetzt ansehen, ab 12. Dezember ß ü"),
    "fr": ("Latn", "La longue nuit — « Regardez » dès le 12 décembre œ"),
    "es-419": ("Latn", "La larga noche — ¡Mírala ahora! Desde el 12 de diciembre ñ"),
    "pt-BR": ("Latn", "A longa noite — Assista agora, a partir de 12 de dezembro ção"),
    "it": ("Latn", "La lunga notte — Guarda ora"), "nl": ("Latn", "De lange nacht — Kijk nu"),
    "sv": ("Latn", "Den långa natten — Se nu"), "cs": ("Latn", "Dlouhá noc — Sledujte ř ů"),
    "hu": ("Latn", "A hosszú éjszaka — ő ű"), "ro": ("Latn", "Noaptea lungă — ș ț"),
    "id": ("Latn", "Malam yang panjang — Tonton sekarang"), "da": ("Latn", "Den lange nat — ø æ å"),
    "fi": ("Latn", "Pitkä yö — Katso nyt"), "en": ("Latn", "The Long Night — Watch now © 2026"),
}


def font_or_skip(script: str, weight: str = "regular"):
    """The script's font; without it the test skips naming the Debian package, except under CI
    (where .ci/run installs the fonts): then it fails, so coverage is not lost silently."""
    try:
        return font_for(script, weight)
    except FontMissing as exc:
        if in_ci():
            pytest.fail(f"{exc} (CI is set: .ci/run installs the Noto fonts)", pytrace=False)
        pytest.skip(str(exc))


def ink_box(mask: Image.Image) -> tuple[int, int, int, int] | None:
    return mask.point(lambda v: 255 if v > 64 else 0).getbbox()


# -- fonts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", list(SAMPLES))
def test_every_locale_gets_its_script_font_and_no_glyph_is_missing(locale) -> None:
    script, text = SAMPLES[locale]
    assert detect_script(text, locale) == script
    font_or_skip(script)
    layout = fit_text(text, (0, 0, 1400, 300), locale, max_size=56, min_size=24, max_lines=2)
    assert layout.missing == () and "missing_glyphs" not in layout.flags, layout.reasons()
    assert ink_box(text_mask(layout)) is not None


def test_missing_glyphs_are_found_before_rendering() -> None:
    latin = font_or_skip("Latn")
    assert missing_glyphs("Hello 漫 \u200d\n", latin) == (ord("漫"),)
    thai = font_or_skip("Thai")
    layout = fit_text("คืน \U0001f600", (0, 0, 800, 200), "th", max_size=40, min_size=20)  # an emoji no font here has
    assert layout.flags == ("missing_glyphs",) and layout.missing == (0x1F600,)
    assert "U+1F600" in layout.reasons()[0][1] and thai.name in layout.reasons()[0][1]


def test_a_missing_font_is_one_line_naming_the_debian_package(monkeypatch) -> None:
    from generators.localization import fonts

    monkeypatch.setattr(fonts, "_installed", dict)
    with pytest.raises(FontMissing) as info:
        fonts.font_for("Thai")
    assert str(info.value) == "no Thai font: NotoSansThai-Regular.ttf is not installed (Debian: apt-get install fonts-noto-core)"
    with pytest.raises(FontMissing, match="fonts-noto-cjk"):
        fonts.font_for("Hant")


def test_raqm_is_there_and_cjk_is_told_apart_by_locale() -> None:
    require_raqm()  # the project's Pillow shapes text
    assert [detect_script("漢字", loc) for loc in ("ja", "ko", "zh-Hans", "zh-Hant", "zh-TW", "zh")] == \
        ["Jpan", "Kore", "Hans", "Hant", "Hant", "Hans"]
    assert detect_script("2026", "ar-EG") == "Arab" and detect_script("2026", "de") == "Latn"


# -- shaping and direction -------------------------------------------------------------------------


def test_arabic_is_shaped_and_right_to_left_unlike_the_basic_layout() -> None:
    arab = font_or_skip("Arab")

    def draw(text, engine, **kw):
        f = ImageFont.truetype(arab.path, 60, layout_engine=engine)
        im = Image.new("L", (900, 150))
        ImageDraw.Draw(im).text((20, 100), text, font=f, fill=255, anchor="ls", **kw)
        return np.asarray(im) > 64

    # 1. shaped: joined letters are narrower than the same letters drawn apart
    raqm = draw("سلام عليكم", ImageFont.Layout.RAQM, direction="rtl", language="ar")
    basic = draw("سلام عليكم", ImageFont.Layout.BASIC)
    width = lambda m: np.ptp(np.flatnonzero(m.any(axis=0)))
    assert width(raqm) < 0.85 * width(basic)
    # 2. right to left: the first letter (a tall alef) is at the right end with raqm, the left without
    text = "ا مممم"
    for mask, side in ((draw(text, ImageFont.Layout.RAQM, direction="rtl", language="ar"), "right"),
                       (draw(text, ImageFont.Layout.BASIC), "left")):
        meem_top = np.flatnonzero(draw("مممم", ImageFont.Layout.RAQM, direction="rtl").any(axis=1))[0]
        tall = np.flatnonzero(mask[: meem_top - 8].any(axis=0))  # columns only the alef reaches
        ink = np.flatnonzero(mask.any(axis=0))
        middle = (ink[0] + ink[-1]) / 2
        assert tall.size and ((tall.min() > middle) if side == "right" else (tall.max() < middle)), side


@pytest.mark.parametrize("locale,script,text", [("ar", "Arab", "الليلة الطويلة"), ("he", "Hebr", "הלילה הארוך")])
def test_rtl_text_is_right_aligned_in_its_box(locale, script, text) -> None:
    font_or_skip(script)
    box = (100, 50, 900, 160)
    layout = fit_text(text, box, locale, max_size=64, min_size=24)
    assert layout.direction == "rtl" and layout.decision == "fits"
    image = Image.new("RGB", (1100, 300), (0, 0, 0))
    mask = Image.new("L", image.size, 0)
    mask.paste(text_mask(layout), box[:2])
    x0, _, x1, _ = ink_box(mask)
    right_edge = box[0] + box[2] - inset(layout.size)
    assert abs(x1 - right_edge) <= 0.15 * layout.size, (x1, right_edge)  # the ink ends at the box's right
    assert x0 > box[0] + box[2] / 3  # and starts far from its left
    ltr = fit_text("The long night", box, "en", max_size=64, min_size=24)
    assert ltr.lines[0].x == inset(ltr.size)  # left to right starts at the left


# -- line breaking ---------------------------------------------------------------------------------


def test_thai_wraps_only_at_word_boundaries_never_mid_cluster() -> None:
    import icu

    font_or_skip("Thai")
    text = "ประตูบางบานควรปิดไว้ตลอดไปและไม่ควรมีใครเปิดมันอีกเลย"
    layout = fit_text(text, (0, 0, 420, 400), "th", max_size=48, min_size=40, max_lines=4)
    assert layout.decision == "wrapped" and len(layout.lines) >= 2
    assert "".join(ln.text for ln in layout.lines) == text  # nothing lost or added (Thai has no spaces)
    words = icu.BreakIterator.createWordInstance(icu.Locale("th"))
    words.setText(text)
    word_starts = set(words)
    starts, pos = [], 0
    for ln in layout.lines[:-1]:
        pos += len(ln.text)
        starts.append(pos)
    assert set(starts) <= set(break_opportunities(text, "th")) & word_starts
    import unicodedata
    for s in starts:  # a line never begins with a combining vowel or tone mark
        assert unicodedata.category(text[s]) not in ("Mn", "Mc"), text[s]
    for ln in layout.lines:
        assert ln.width <= 420 - 2 * inset(layout.size)


def test_cjk_wraps_between_characters_but_not_before_closing_punctuation() -> None:
    font_or_skip("Jpan")
    text = "ある扉は永遠に閉ざされたままであるべきだ。誰も、開けてはならない。"
    layout = fit_text(text, (0, 0, 500, 400), "ja", max_size=48, min_size=40, max_lines=4)
    assert layout.decision == "wrapped" and "".join(ln.text for ln in layout.lines) == text
    for ln in layout.lines[1:]:
        assert ln.text[0] not in "。、）」", ln.text  # ICU's line rules keep closing punctuation on the line before
    assert all(ln.width <= 500 for ln in layout.lines)


def test_a_long_german_tagline_shrinks_or_wraps_and_stays_in_its_box() -> None:
    font_or_skip("Latn")
    text = "Manche Türen sollten für immer und ewig verschlossen bleiben, selbst in der längsten Nacht des Jahres"
    box = (40, 30, 700, 180)
    layout = fit_text(text, box, "de", max_size=60, min_size=26, max_lines=3)
    assert layout.decision in ("shrunk", "wrapped") and layout.flags == ()
    assert layout.size < 60 and len(layout.lines) <= 3
    mask = text_mask(layout)
    x0, y0, x1, y1 = ink_box(mask)
    assert x0 > 0 and y0 > 0 and x1 < box[2] and y1 < box[3]  # no ink touches the box's edges
    one_line = fit_text("Die lange Nacht", box, "de", max_size=60, min_size=26)
    assert one_line.decision == "fits" and one_line.size == 60


@pytest.mark.parametrize("locale", list(SAMPLES))
def test_copy_is_fitted_by_its_ink_not_by_the_fonts_line_metrics(locale) -> None:
    """A short line of every script in a key-art call-to-action box (62 px tall, sizes 30-42 px, as
    at 1920x1080) fits at its largest size, its ink inside the box. Judged by the fonts' ascent +
    descent instead, Arabic could not even reach the minimum (Noto Sans Arabic's are 2.1 em, room
    for stacked marks), and every Arabic and Persian key art was flagged shrunk_below_min."""
    from generators.localization.fonts import pillow_font

    script, text = SAMPLES[locale]
    font = font_or_skip(script, "bold")
    word = text.split(" — ")[0]
    box = (0, 0, 900, 62)
    layout = fit_text(word, box, locale, max_size=42, min_size=30, max_lines=1, weight="bold")
    assert layout.decision == "fits" and layout.size == 42 and layout.flags == (), (layout.decision, layout.size)
    x0, y0, x1, y1 = ink_box(text_mask(layout))
    assert x0 > 0 and y0 > 0 and x1 < box[2] and y1 < box[3], (x0, y0, x1, y1)
    if script == "Arab":
        assert sum(pillow_font(font, 30).getmetrics()) > box[3]  # the fonts' own line: taller than the box at 30 px


def test_shrunk_below_min_then_overflow_are_flagged() -> None:
    font_or_skip("Latn")
    from generators.localization.fit import _Measure, fallback_chain

    latin = font_for("Latn")
    width_at_30 = _Measure(fallback_chain(latin), False, "de", "regular").width("Donaudampfschifffahrt", 30)
    box = (0, 0, width_at_30 + 2 * inset(30) + 1, 200)
    below = fit_text("Donaudampfschifffahrt", box, "de", max_size=60, min_size=40, floor_size=24, max_lines=1)
    assert below.decision == "shrunk_below_min" and below.flags == ("shrunk_below_min",) and 30 <= below.size < 40
    forced = fit_text("Donaudampfschifffahrtsgesellschaftskapitän", (0, 0, 200, 60), "de", max_size=60, min_size=40,
                      floor_size=30, max_lines=1)
    assert forced.decision == "overflow" and "overflow" in forced.flags and forced.size == 40
    assert "clipped" in dict(forced.reasons())["overflow"]
    assert text_mask(forced).size == (200, 60)  # drawn clipped to the box: nothing outside it


# -- contrast and faces ----------------------------------------------------------------------------


def busy_grey(size=(800, 300), seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(95, 175, (size[1], size[0], 3), dtype=np.uint8))


def test_a_scrim_brings_contrast_to_aa_measured_on_the_pixels() -> None:
    font_or_skip("Latn", "bold")
    image = busy_grey()
    layout = fit_text("Watch now", (60, 60, 680, 160), "en", max_size=90, min_size=40, weight="bold")
    before = image.copy()
    plain = before.copy()
    from generators.localization.fit import draw_layout

    mask = draw_layout(plain, layout, (255, 255, 255))
    assert measure_contrast(plain, mask, layout.box[:2])[0] < WCAG_AA  # white on busy grey alone fails
    result = draw_legibly(image, layout)
    assert result.scrim > 0 and result.passes
    ratio, _text_l, _bg_l = measure_contrast(image, text_mask(layout), layout.box[:2])  # measured again, independently
    assert ratio >= WCAG_AA and abs(ratio - result.ratio) < 1e-6
    outside = np.asarray(image)[:, :15]
    assert np.array_equal(outside, np.asarray(before)[:, :15])  # the scrim stays near the text


def test_contrast_that_cannot_be_had_is_reported_and_plain_backgrounds_get_no_scrim() -> None:
    font_or_skip("Latn")
    layout = fit_text("Watch now", (60, 60, 680, 160), "en", max_size=90, min_size=40)
    grey = Image.new("RGB", (800, 300), (128, 128, 128))
    assert not draw_legibly(grey, layout, fill=(150, 150, 150)).passes  # a grey forced on grey
    dark = Image.new("RGB", (800, 300), (10, 10, 30))
    result = draw_legibly(dark, layout)
    assert result.scrim == 0 and result.fill == (255, 255, 255) and result.ratio > 12


def test_small_text_is_measured_on_its_most_covered_pixels() -> None:
    """A legal line at 8 px covers no pixel fully. Its contrast is still measured (it used to come
    out infinite, so the thinnest text passed on any background, scrim or not)."""
    from generators.localization.fit import draw_layout

    font_or_skip("Latn")
    layout = fit_text("© 2026 Example Studio. All rights reserved.", (20, 20, 400, 30), "en", max_size=8, min_size=7)
    assert np.asarray(text_mask(layout)).max() < 230
    plain = Image.new("RGB", (440, 80), (150, 150, 150))
    mask = draw_layout(plain, layout, (255, 255, 255))
    ratio = measure_contrast(plain, mask, layout.box[:2])[0]
    assert np.isfinite(ratio) and ratio < WCAG_AA  # white on light grey: too little at any size
    result = draw_legibly(Image.new("RGB", (440, 80), (150, 150, 150)), layout, fill=(255, 255, 255))
    assert np.isfinite(result.ratio) and (result.scrim > 0 or not result.passes)


def test_over_face_is_about_the_text_box_and_face_boxes() -> None:
    face = Box(0.6, 0.2, 0.2, 0.3)
    assert over_face((0.5, 0.3, 0.4, 0.2), [face])
    assert not over_face((0.05, 0.6, 0.4, 0.3), [face])
    assert not over_face((0.79, 0.49, 0.2, 0.2), [face])  # a corner graze under the tolerance


# -- dates and numbers -----------------------------------------------------------------------------


def test_dates_and_numbers_follow_cldr_per_locale() -> None:
    assert render_date_line("Ab {date}", "2026-12-12", "de") == "Ab 12. Dezember"
    assert format_date("2026-12-12", "es", "short") == "12 dic"
    assert format_date("2026-12-12", "ar-EG") == "١٢ ديسمبر"  # Arabic-Indic digits, as CLDR says for Egypt
    assert format_date("2026-12-12", "fa") == "۱۲ دسامبر"
    assert format_date("2026-12-12", "ja") == "12月12日"
    assert format_date("2026-12-12", "en") == "December 12"
    assert format_number(1234.5, "de") == "1.234,5" and format_number(1234, "ar-EG") == "١٬٢٣٤"
    assert render_date_line(None, "2026-12-12", "fr") == "12 décembre"
    assert render_date_line("2026-12-12", "2026-12-12", "pt-BR") == "12 de dezembro"
    assert render_date_line("{{date}} %s {date}", "2026-12-12", "en") == "{December 12} %s December 12"  # literal


def test_a_text_block_gets_one_scrim_and_every_field_passes() -> None:
    font_or_skip("Latn", "bold")
    from generators.localization.contrast import draw_block_legibly

    image = busy_grey((900, 500), seed=3)
    before = np.asarray(image).copy()
    title = fit_text("The Long Night", (80, 60, 740, 140), "en", max_size=100, min_size=40, weight="bold")
    cta = fit_text("Watch now — from December 12", (80, 220, 740, 80), "en", max_size=50, min_size=20)
    results = draw_block_legibly(image, [title, cta])
    assert len({r.scrim for r in results}) == 1 and results[0].scrim > 0  # one band, one opacity
    for layout, r in zip((title, cta), results):
        assert r.passes and measure_contrast(image, text_mask(layout), layout.box[:2])[0] >= WCAG_AA
    changed = np.any(np.asarray(image) != before, axis=2)
    _ys, xs = np.nonzero(changed)
    assert xs.min() >= 80 - title.line_height and xs.max() < 820 + title.line_height  # the band hugs the block
