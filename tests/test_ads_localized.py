"""Localized pause-ad copy (issue 13, item 2): with an imported strings set the panel's headline,
call to action, date and legal line are the locale's, drawn by the localization library in the
locale's script and direction (raqm shaping, ICU line breaks, fit to the box, right-aligned for
Arabic), the price in the locale's format and digits; the same QA flags as localized key art; the
QR code still scans; nothing covers a face; the kind explains each text beside its source."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import generators
from generators.ads import PauseAdKind
from generators.ads.pause import intersects
from generators.ads.qr import decode_qr
from generators.ads.store import import_products
from generators.localization.fit import inset
from generators.localization.fonts import font_for
from tests.test_ads_catalog import HEADER, product_png
from tests.test_ads_kind import BASE, _recipe, make_title
from workbench import workflow
from workbench.errors import InvalidInput

pytestmark = pytest.mark.timeout(600)
KIND = generators.get_kind(PauseAdKind.kind)
LOCALES = {
    "en": {"title": "The Long Night", "tagline": "Coffee tastes better in the morning", "call_to_action": "Scan to shop",
           "date": "2026-12-12", "legal": "Terms apply. While stocks last."},
    "ar-EG": {"title": "الليلة الطويلة", "tagline": "القهوة أطيب في الصباح", "call_to_action": "امسح الرمز للتسوق",
              "date": "ابتداءً من {date}", "legal": "تطبق الشروط والأحكام. حتى نفاد الكمية."},
    "ja": {"title": "長い夜", "tagline": "朝のコーヒーはもっとおいしい", "call_to_action": "スキャンして購入", "date": "{date}から",
           "legal": "利用規約が適用されます。在庫がなくなり次第終了。"},
    "th": {"title": "คืนอันยาวนาน", "tagline": "กาแฟรสชาติดีขึ้นในตอนเช้า", "call_to_action": "สแกนเพื่อซื้อสินค้า",
           "date": "ตั้งแต่ {date}", "legal": "มีข้อกำหนดและเงื่อนไข ข้อเสนอมีจำนวนจำกัด"},
    "de": {"title": "Die lange Nacht", "tagline": "Kaffee schmeckt morgens einfach besser als zu jeder anderen Tageszeit",
           "call_to_action": "Jetzt scannen und einkaufen", "date": "Ab {date}",
           "legal": "Es gelten die Allgemeinen Geschäftsbedingungen. Nur solange der Vorrat reicht."},
}


@pytest.fixture(scope="module")
def title_clip(tmp_path_factory) -> Path:
    return make_title(tmp_path_factory.mktemp("loc-ads") / "title.mp4")


@pytest.fixture
def title(home, title_clip) -> str:
    return workflow.ingest(title_clip, "Localized Ads").title_name


def import_set(tmp_path: Path, locales: dict, name: str = "promo.json") -> str:
    from generators.localization.store import import_strings

    path = tmp_path / name
    path.write_text(json.dumps({"source_locale": "en", "locales": locales}, ensure_ascii=False),
                    encoding="utf-8")
    return import_strings(path)[0]


def catalog(tmp_path: Path, name: str = "Morning Mug") -> str:
    folder = tmp_path / "catalog"
    folder.mkdir(exist_ok=True)
    product_png(folder / "mug.png")
    (folder / "p.csv").write_text(HEADER + f"MUG-1,{name},Acme,1234.50,EUR,https://shop.example.com/mug,mug.png,food,,\n",
                                  encoding="utf-8")
    return import_products(folder / "p.csv")[0]


def ink_columns(rgb: np.ndarray, box) -> np.ndarray:
    """Columns of ``box`` (x0, y0, x1, y1) holding light text pixels (the panel is dark)."""
    x0, y0, x1, y1 = box
    return np.flatnonzero((rgb[y0:y1, x0:x1].mean(axis=2) > 170).any(axis=0))


@pytest.mark.parametrize(("locale", "code", "script"), [("ar_EG", "ar-EG", "Arab"), ("ja_JP", "ja", "Jpan"),
                                                         ("th_TH", "th", "Thai"), ("de_DE", "de", "Latn")])
def test_pause_ad_copy_in_the_locales_script_and_direction(title, tmp_path, locale, code, script) -> None:
    strings = import_set(tmp_path, LOCALES)
    result = workflow.generate("pause_ad", title, {"products": catalog(tmp_path), "tracking_base": BASE, "locale": locale,
                                                   "strings": strings, "max_ads": 1, "min_gap_s": 0.0})
    [v] = result.variants
    recipe = _recipe(v.variant_id)
    d = recipe["details"]
    copy = d["copy"]
    fields = copy["fields"]
    rgb = np.asarray(Image.open(v.path).convert("RGB"))
    # 1. the locale's words, each beside its English source; catalog text is not translated
    assert copy["locale"] == code and copy["strings"] == strings
    assert fields["headline"]["text"] == LOCALES[code]["tagline"]
    assert fields["headline"]["source"] == LOCALES["en"]["tagline"]
    assert fields["cta"]["text"] == LOCALES[code]["call_to_action"] and fields["cta"]["source"] == "Scan to shop"
    assert fields["legal"]["text"] == LOCALES[code]["legal"]
    assert fields["name"]["text"] == "Morning Mug" and fields["name"]["source"] is None
    date_line = fields["date"]["text"]
    assert "{date}" not in date_line and ("12" in date_line or "١٢" in date_line)
    if code == "de":
        assert date_line == "Ab 12. Dezember" and fields["price"]["text"] == "1.234,50\xa0€"
    if code == "ar-EG":  # Egyptian Arabic writes Arabic-Indic digits, in the date and the price
        assert "١٢" in date_line and "١٬٢٣٤٫٥٠" in fields["price"]["text"]
    # 2. every glyph there, in the script's font; the flags are the key art's flags
    for name, f in fields.items():
        assert f["missing_glyphs"] == [] and "missing_glyphs" not in f["flags"], (name, f)
        assert f["contrast"]["ratio"] >= 4.5, (name, f["contrast"])
    assert fields["cta"]["script"] == script
    assert fields["cta"]["font"] == Path(font_for(script, "bold").path).name + (f"#{font_for(script, 'bold').index}"
                                                                                  if font_for(script, "bold").index else "")
    assert "missing_glyphs" not in v.qa_flags and "low_contrast" not in v.qa_flags
    # 3. right to left: Arabic reads from the right edge of each box, shaped; the others from the left
    layout = d["layout"]
    assert layout["rtl"] is (code == "ar-EG")
    for name in ("headline", "cta", "legal"):
        f = fields[name]
        x0, _y0, x1, _y1 = f["box"]
        pad = inset(f["size"])
        ink = ink_columns(rgb, f["box"])
        assert ink.size, name
        if code == "ar-EG":
            assert f["direction"] == "rtl" and abs((x1 - x0 - pad) - ink[-1]) <= 8, (name, ink[-1], x1 - x0 - pad)
        else:
            assert f["direction"] == "ltr" and abs(pad - ink[0]) <= 8, (name, ink[0], pad)
    if code == "ar-EG":
        # shaped: the call to action's ink is as wide as raqm draws it, narrower than letters drawn apart
        f = fields["cta"]
        font = font_for("Arab", "bold")
        widths = {}
        for engine in (ImageFont.Layout.RAQM, ImageFont.Layout.BASIC):
            face = ImageFont.truetype(font.path, f["size"], index=font.index, layout_engine=engine)
            mask = Image.new("L", (3000, 200))
            kw = {"direction": "rtl", "language": "ar"} if engine == ImageFont.Layout.RAQM else {}
            for n, line in enumerate(f["lines"]):
                ImageDraw.Draw(mask).text((10, 60 + n * 60), line, font=face, fill=255, anchor="ls", **kw)
            cols = np.flatnonzero((np.asarray(mask) > 128).any(axis=0))
            widths[engine] = cols[-1] - cols[0]
        ink = ink_columns(rgb, f["box"])
        assert abs((ink[-1] - ink[0]) - widths[ImageFont.Layout.RAQM]) <= 6, (ink[-1] - ink[0], widths)
        assert widths[ImageFont.Layout.RAQM] < 0.9 * widths[ImageFont.Layout.BASIC]
        # the QR code sits at the panel's right, its call to action to its left (mirrored)
        assert layout["qr"][0] > f["box"][2]
    # 4. nothing over a face box; the QR scans from the still and the review check agrees
    assert layout["faces"] is not None
    for face in layout["faces"]:
        for box in [layout["panel"], layout["qr"], layout["product"], *layout["text"].values()]:
            assert not intersects(tuple(face), tuple(box))
    assert decode_qr(rgb) == d["qr"]["qr_url"]
    assert KIND.inspect(v.path, recipe).problems == ()
    # 5. review: each text beside its source, in its locale, with its flags
    why = KIND.explain(recipe, v.score)
    lines = {c.field: c for c in why.copy}
    assert set(lines) == set(fields)
    assert lines["cta"].rendered == LOCALES[code]["call_to_action"] and lines["cta"].source == "Scan to shop"
    assert lines["cta"].locale == code and lines["name"].source is None
    assert why.model_share is None  # no diffusion model configured: no model-made pixels


def test_flags_reach_the_variant_and_the_explanation(title, tmp_path) -> None:
    """A legal line that cannot fit is flagged (and drawn clipped inside its box); a product name
    with a character no installed font has is flagged missing_glyphs; a strings set's own flags
    (an untranslated field) come along."""
    from generators.localization.fit import fit_text

    glyph = "\U00013000"  # an Egyptian hieroglyph: no font of fonts-noto-core / -cjk draws it
    if not fit_text(f"Mug {glyph}", (0, 0, 400, 80), "de", max_size=40, min_size=20).missing:
        pytest.skip("an installed font draws U+13000 (fonts-noto-extra?): no glyph is missing to flag")
    long_legal = " ".join(["Es gelten die Allgemeinen Geschäftsbedingungen der Acme GmbH und ihrer Partner."] * 6)
    locales = {"en": LOCALES["en"], "de": {**LOCALES["de"], "legal": long_legal, "call_to_action": LOCALES["en"]["call_to_action"]}}
    strings = import_set(tmp_path, locales, "flags.json")
    result = workflow.generate("pause_ad", title, {"products": catalog(tmp_path, f"Mug {glyph}"), "tracking_base": BASE,
                                                   "locale": "de_DE", "strings": strings, "max_ads": 1, "min_gap_s": 0.0})
    [v] = result.variants
    d = _recipe(v.variant_id)["details"]
    legal, name = d["copy"]["fields"]["legal"], d["copy"]["fields"]["name"]
    assert {"shrunk_below_min", "overflow"} & set(legal["flags"]), legal
    assert "missing_glyphs" in name["flags"] and name["missing_glyphs"] == ["U+13000"]
    codes = {f["code"] for f in d["flags"]}
    assert {"missing_glyphs", "untranslated"} <= codes and ({"shrunk_below_min", "overflow"} & codes)
    assert {"missing_glyphs", "untranslated"} <= set(v.qa_flags)
    facts = dict(KIND.explain(_recipe(v.variant_id), v.score).facts)
    assert "Flag missing_glyphs" in facts and "U+13000" in facts["Flag missing_glyphs"]
    # the clipped legal line stays inside its box: no light pixel below the panel's bottom edge
    rgb = np.asarray(Image.open(v.path).convert("RGB"))
    panel = d["layout"]["panel"]
    assert decode_qr(rgb) == d["qr"]["qr_url"]
    assert legal["box"][3] <= panel[3]


def test_a_locale_the_strings_set_lacks_is_refused_before_any_work(title, tmp_path) -> None:
    strings = import_set(tmp_path, {"en": LOCALES["en"], "de": LOCALES["de"]}, "small.json")
    with pytest.raises(InvalidInput, match="the strings set has no fr-FR"):
        workflow.generate("pause_ad", title, {"products": catalog(tmp_path), "tracking_base": BASE, "locale": "fr_FR",
                                              "strings": strings})
    with pytest.raises(InvalidInput, match="strings must be the sha256"):
        workflow.generate("pause_ad", title, {"products": catalog(tmp_path), "tracking_base": BASE, "strings": "nope" * 16})


def test_the_commands_take_a_strings_file_or_the_set_imported_last(title, tmp_path) -> None:
    from typer.testing import CliRunner

    from workbench.cli import app

    products = catalog(tmp_path)
    path = tmp_path / "promo.json"
    path.write_text(json.dumps({"source_locale": "en", "locales": {"en": LOCALES["en"], "de": LOCALES["de"]}},
                               ensure_ascii=False), encoding="utf-8")
    r = CliRunner().invoke(app, ["pause-ads", title, "--products", products, "--tracking-base", BASE, "--locale", "de_DE",
                                 "--strings", str(path), "--max-ads", "1", "--json"])
    assert r.exit_code == 0, r.output
    [made] = json.loads(r.stdout)["variants"]
    assert _recipe(made["variant_id"])["details"]["copy"]["fields"]["cta"]["text"] == LOCALES["de"]["call_to_action"]
    # `ads` hands the strings to the pause ads only; the overlay keeps the catalog's text
    r = CliRunner().invoke(app, ["ads", title, "--products", products, "--tracking-base", BASE, "--locale", "de_DE",
                                 "--formats", "pause,overlay", "--strings", "last", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert {c["format"] for c in out["creatives"]} == {"pause", "overlay"}, out["problems"]
    pause = next(c for c in out["creatives"] if c["format"] == "pause")
    assert _recipe(pause["variant_id"])["details"]["copy"]["strings"] is not None
    bad = CliRunner().invoke(app, ["pause-ads", title, "--products", products, "--tracking-base", BASE,
                                   "--strings", str(tmp_path / "missing.json")])
    assert bad.exit_code == 2 and "neither a strings file" in bad.output
