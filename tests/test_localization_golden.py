"""Golden images of localized key art, one per script: the copy laid out and drawn by the kind's
own path (``generators.localization.keyart``: block, fit, draw) on a synthetic background made
here, compared with a committed PNG under ``tests/golden/localization/``.

The comparison tolerates what a font or FreeType update changes (anti-aliasing, a pixel of
placement) and catches what breaks text: both images in greyscale, lightly blurred, the SSIM of
every text field (the best over shifts of up to :data:`SHIFT_PX`) must reach :data:`SSIM_MIN`, and
the text's ink bounding box may move by at most :data:`INK_BOX_TOLERANCE_PX`. The negative tests
prove the tolerance means something: Arabic drawn unshaped (Pillow's basic layout), mirrored, or
in another Arabic font fails, and so do Latin, Thai and Devanagari in another face; a 1-px shift
passes.

Regenerate after a deliberate change (then look at every PNG before committing it)::

    WORKBENCH_UPDATE_GOLDENS=1 .venv/bin/python -m pytest tests/test_localization_golden.py

That run writes the PNGs (and ``goldens.json``: the fonts and versions they were drawn with) and
fails each test saying so; under ``CI`` it refuses to write. Without the Noto fonts the tests
skip naming the Debian package (under ``CI`` they fail: ``.ci/run`` installs the fonts).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from generators.localization.fonts import detect_script, font_for
from generators.localization.keyart import (
    FittedField,
    choose_block,
    draw_copy,
    fit_copy,
)
from generators.localization.strings import StringsSet, parse_strings_bytes
from generators.localization.texts import texts_for
from tests.services import in_ci
from tests.test_localization_render import font_or_skip

GOLDEN_DIR = Path(__file__).resolve().parent / "golden" / "localization"
UPDATE = os.environ.get("WORKBENCH_UPDATE_GOLDENS", "").strip().lower() not in ("", "0", "false", "no")
# calibrated on these goldens: a 1-px shift, a half-pixel resample, JPEG q80 or grey noise score >= 0.90;
# unshaped, mirrored or another design of the same script's font score <= 0.84
SSIM_MIN = 0.88
SHIFT_PX = 2  # registration searched per field
INK_BOX_TOLERANCE_PX = 3
INK_LEVEL = 160  # grey level above which a pixel is text: white copy on a background kept under ~100
BLUR_RADIUS = 1.0
REGION_PAD_PX = 6
# placements at a third of their delivery size (the goldens stay a few tens of KB)
SIZES = {"16x9": (640, 360), "2x3": (400, 600), "1x1": (480, 480), "9x16": (360, 640)}

COPY = {"source_locale": "en", "locales": {
    "en": {"title": "The Long Night", "tagline": "Some doors should stay closed", "call_to_action": "Watch now",
           "date": "2026-12-12", "legal": "© 2026 Example Studio. All rights reserved."},
    "de": {"title": "Die lange Nacht", "tagline": "Manche Türen sollten für immer und ewig verschlossen bleiben, "
                                                  "selbst in der längsten Nacht des Jahres",
           "call_to_action": "Jetzt ansehen", "date": "Ab {date}", "legal": "© 2026 Example Studio. Alle Rechte vorbehalten."},
    "el": {"title": "Η μεγάλη νύχτα", "tagline": "Κάποιες πόρτες πρέπει να μένουν κλειστές", "call_to_action": "Δείτε τώρα",
           "date": "Από {date}", "legal": "© 2026 Example Studio. Με την επιφύλαξη παντός δικαιώματος."},
    "ru": {"title": "Долгая ночь", "tagline": "Некоторые двери лучше никогда не открывать", "call_to_action": "Смотреть сейчас",
           "date": "С {date}", "legal": "© 2026 Example Studio. Все права защищены."},
    "ar-EG": {"title": "الليلة الطويلة", "tagline": "بعض الأبواب يجب أن تبقى مغلقة", "call_to_action": "شاهد الآن",
              "date": "ابتداءً من {date}", "legal": "© ٢٠٢٦ استوديو مثال. جميع الحقوق محفوظة."},
    "he": {"title": "הלילה הארוך", "tagline": "יש דלתות שעדיף להשאיר סגורות", "call_to_action": "צפו עכשיו",
           "date": "החל מ-{date}", "legal": "© 2026 Example Studio. כל הזכויות שמורות."},
    "fa": {"title": "شب طولانی", "tagline": "بعضی درها باید برای همیشه بسته بمانند", "call_to_action": "همین حالا ببینید",
           "date": "از {date}", "legal": "© ۲۰۲۶ استودیو نمونه"},
    "hi": {"title": "लंबी रात", "tagline": "कुछ दरवाज़े हमेशा बंद ही रहने चाहिए", "call_to_action": "अभी देखें",
           "date": "{date} से", "legal": "© 2026 Example Studio. सर्वाधिकार सुरक्षित।"},
    "bn": {"title": "দীর্ঘ রাত", "tagline": "কিছু দরজা চিরকাল বন্ধই থাকা উচিত", "call_to_action": "এখনই দেখুন",
           "date": "{date} থেকে", "legal": "© ২০২৬ Example Studio"},
    "ta": {"title": "நீண்ட இரவு", "tagline": "சில கதவுகள் என்றென்றும் மூடியே இருக்க வேண்டும்",
           "call_to_action": "இப்போது பாருங்கள்", "date": "{date} முதல்", "legal": "© 2026 Example Studio"},
    "te": {"title": "సుదీర్ఘ రాత్రి", "tagline": "కొన్ని తలుపులు ఎప్పటికీ మూసే ఉండాలి", "call_to_action": "ఇప్పుడే చూడండి",
           "date": "{date} నుండి", "legal": "© 2026 Example Studio"},
    "th": {"title": "คืนอันยาวนาน", "tagline": "ประตูบางบานควรปิดไว้ตลอดไปและไม่ควรมีใครเปิดมันอีกเลยแม้แต่ในคืนที่ยาวนานที่สุดของปี",
           "call_to_action": "รับชมเลย", "date": "ตั้งแต่ {date}", "legal": "© 2026 Example Studio สงวนลิขสิทธิ์"},
    "ja": {"title": "長い夜", "tagline": "ある扉は永遠に閉ざされたままであるべきだ。誰も、開けてはならない。",
           "call_to_action": "今すぐ視聴", "date": "{date}より", "legal": "© 2026 Example Studio"},
    "ko": {"title": "긴 밤", "tagline": "어떤 문은 영원히 닫혀 있어야 한다", "call_to_action": "지금 시청하기", "date": "{date}부터",
           "legal": "© 2026 Example Studio. 모든 권리 보유."},
    "zh-Hans": {"title": "漫漫长夜", "tagline": "有些门永远不该被打开，即使在一年中最漫长、最黑暗的那个夜里也不行", "call_to_action": "立即观看",
                "date": "{date}起", "legal": "© 2026 Example Studio 版权所有"},
    "zh-Hant": {"title": "漫漫長夜", "tagline": "有些門永遠不該被打開，即使在一年中最漫長、最黑暗的那個夜裡也不行", "call_to_action": "立即觀看",
                "date": "{date}起", "legal": "© 2026 Example Studio 版權所有"},
    "vi": {"title": "Đêm dài", "tagline": "Có những cánh cửa mãi mãi nên đóng lại", "call_to_action": "Xem ngay bây giờ",
           "date": "Từ {date}", "legal": "© 2026 Example Studio. Bảo lưu mọi quyền."},
}}


@dataclass(frozen=True)
class Case:
    name: str  # the golden's file stem
    locale: str
    script: str  # the title's script (its font is checked before anything is drawn)
    placement: str


# one per script, the placements spread among them (a long German tagline, a long Thai one and
# Japanese in a narrow column wrap)
CASES = (
    Case("latin-de", "de", "Latn", "2x3"), Case("greek-el", "el", "Grek", "16x9"),
    Case("cyrillic-ru", "ru", "Cyrl", "1x1"), Case("arabic-ar-EG", "ar-EG", "Arab", "16x9"),
    Case("hebrew-he", "he", "Hebr", "16x9"), Case("persian-fa", "fa", "Arab", "1x1"),
    Case("devanagari-hi", "hi", "Deva", "16x9"), Case("bengali-bn", "bn", "Beng", "2x3"),
    Case("tamil-ta", "ta", "Taml", "16x9"), Case("telugu-te", "te", "Telu", "1x1"),
    Case("thai-th", "th", "Thai", "2x3"), Case("japanese-ja", "ja", "Jpan", "9x16"),
    Case("korean-ko", "ko", "Kore", "16x9"), Case("chinese-zh-Hans", "zh-Hans", "Hans", "1x1"),
    Case("chinese-zh-Hant", "zh-Hant", "Hant", "2x3"), Case("vietnamese-vi", "vi", "Latn", "9x16"),
)
ARABIC = next(c for c in CASES if c.locale == "ar-EG")


# -- making the picture ---------------------------------------------------------------------------


def fonts_or_skip(*scripts: str) -> None:
    """Every script's fonts in both weights the key art uses, and Latin (the fallback for digits and
    names): else skip naming the Debian package, or fail under CI (``.ci/run`` installs them)."""
    for script in dict.fromkeys(("Latn", *scripts)):
        for weight in ("regular", "bold"):
            font_or_skip(script, weight)


def background(size: tuple[int, int]) -> Image.Image:
    """A deterministic dark picture: smooth colour gradients and a soft glow, all under grey ~100,
    so white copy needs no scrim and its ink separates from the background by level alone."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    u, v = x / w, y / h
    glow = np.exp(-(((u - 0.7) / 0.18) ** 2 + ((v - 0.3) / 0.2) ** 2))
    r = 18 + 40 * u + 14 * np.sin(6.0 * v)
    g = 20 + 22 * v + 10 * np.cos(5.0 * u) + 25 * glow
    b = 45 + 35 * (1 - u) * v + 30 * glow
    return Image.fromarray(np.clip(np.rint(np.stack([r, g, b], axis=-1)), 0, 255).astype(np.uint8))


def strings() -> StringsSet:
    return parse_strings_bytes(json.dumps(COPY, ensure_ascii=False).encode("utf-8"), "json", name="golden.json")


@dataclass(frozen=True)
class Rendered:
    image: Image.Image  # RGB, as the kind draws it
    fields: tuple[FittedField, ...]


def render(case: Case) -> Rendered:
    """The case's copy through the kind's path: texts (dates per locale), block, fit, draw."""
    texts = texts_for(strings(), case.locale)
    image = background(SIZES[case.placement])
    rtl = font_for(detect_script(texts["title"], case.locale)).rtl
    fields = tuple(fit_copy(texts, case.locale, image.size, choose_block(case.placement, rtl)))
    draw_copy(image, fields)
    return Rendered(image, fields)


# -- comparing ------------------------------------------------------------------------------------


def grey(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("L"), dtype=np.uint8)


def ink_box(g: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the pixels at text level, or None."""
    ys, xs = np.nonzero(g >= INK_LEVEL)
    if not xs.size:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


@dataclass(frozen=True)
class Comparison:
    ssim: float  # the worst field's
    worst_field: str
    golden_box: tuple[int, int, int, int] | None
    got_box: tuple[int, int, int, int] | None

    @property
    def box_shift(self) -> int:
        if self.golden_box is None or self.got_box is None:
            return 0 if self.golden_box == self.got_box else 10**6
        return max(abs(a - b) for a, b in zip(self.golden_box, self.got_box))

    @property
    def passes(self) -> bool:
        return self.ssim >= SSIM_MIN and self.box_shift <= INK_BOX_TOLERANCE_PX

    def why(self) -> str:
        return (f"SSIM {self.ssim:.3f} in {self.worst_field} (needs >= {SSIM_MIN}), ink box {self.got_box} vs golden "
                f"{self.golden_box} (moved {self.box_shift} px, at most {INK_BOX_TOLERANCE_PX})")


def compare(golden: np.ndarray, got: np.ndarray, fields: dict[str, tuple[int, int, int, int]]) -> Comparison:
    """Both images lightly blurred; per field box, the best SSIM over shifts of up to
    :data:`SHIFT_PX` (a font update may move one line a pixel), the worst field counting; and the
    ink boxes. Scored per field so that a small field (the legal line) is not outvoted by a big
    one, and the background, the same in both, does not dilute the score."""
    from skimage.metrics import structural_similarity

    assert golden.shape == got.shape, (golden.shape, got.shape)
    h, w = golden.shape
    pad = SHIFT_PX + REGION_PAD_PX
    x0 = max(pad, min(x for x, _, _, _ in fields.values()) - REGION_PAD_PX)
    y0 = max(pad, min(y for _, y, _, _ in fields.values()) - REGION_PAD_PX)
    x1 = min(w - pad, max(x + bw for x, _, bw, _ in fields.values()) + REGION_PAD_PX)
    y1 = min(h - pad, max(y + bh for _, y, _, bh in fields.values()) + REGION_PAD_PX)

    def blurred(a: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(a).filter(ImageFilter.GaussianBlur(BLUR_RADIUS)), dtype=np.float64)

    g, x = blurred(golden), blurred(got)
    best = dict.fromkeys(fields, -1.0)
    for dy in range(-SHIFT_PX, SHIFT_PX + 1):
        for dx in range(-SHIFT_PX, SHIFT_PX + 1):
            _, ssim_map = structural_similarity(g[y0:y1, x0:x1], x[y0 + dy:y1 + dy, x0 + dx:x1 + dx], data_range=255.0,
                                                gaussian_weights=True, sigma=1.5, full=True)
            for name, (fx, fy, fw, fh) in fields.items():
                part = ssim_map[max(0, fy - y0):max(0, fy + fh - y0), max(0, fx - x0):max(0, fx + fw - x0)]
                if part.size:
                    best[name] = max(best[name], float(part.mean()))
    worst = min(best, key=best.get)
    return Comparison(best[worst], worst, ink_box(golden), ink_box(got))


def field_boxes(rendered: Rendered) -> dict[str, tuple[int, int, int, int]]:
    """Each field's box: the placement's geometry (FIELD_STYLES, BLOCKS), not the text's."""
    return {f.name: tuple(int(v) for v in f.box) for f in rendered.fields}


# -- the goldens ----------------------------------------------------------------------------------


def golden_path(case: Case) -> Path:
    return GOLDEN_DIR / f"{case.name}.png"


def font_versions(fields: tuple[FittedField, ...]) -> dict[str, str]:
    """Each font drawn with and its version string (what to suspect when a golden stops matching)."""
    from fontTools.ttLib import TTFont

    out: dict[str, str] = {}
    for font in sorted({f for fld in fields for f in fld.layout.fonts}, key=lambda f: f.name):
        with TTFont(font.path, fontNumber=font.index, lazy=True) as tt:
            out[font.name] = str(tt["name"].getDebugName(5) or "?")
    return out


def read_index() -> dict[str, dict]:
    path = GOLDEN_DIR / "goldens.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def write_golden(case: Case, rendered: Rendered) -> None:
    """Write the golden (greyscale PNG: what is compared) and its entry in goldens.json: the field
    boxes compared, each field's size, lines and decision, and the fonts (with versions) drawn with."""
    import PIL

    if in_ci():
        pytest.fail("WORKBENCH_UPDATE_GOLDENS is set under CI: goldens are made on a workstation, looked at, and committed",
                    pytrace=False)
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    rendered.image.convert("L").save(golden_path(case), optimize=True)
    index = read_index()
    index[case.name] = {"locale": case.locale, "placement": case.placement, "size": list(rendered.image.size),
                        "boxes": {k: list(v) for k, v in field_boxes(rendered).items()},
                        "fields": {f.name: {"size": f.layout.size, "lines": [ln.text for ln in f.layout.lines],
                                            "decision": f.layout.decision} for f in rendered.fields},
                        "fonts": font_versions(rendered.fields), "pillow": PIL.__version__}
    (GOLDEN_DIR / "goldens.json").write_text(json.dumps(dict(sorted(index.items())), ensure_ascii=False, indent=1) + "\n",
                                             encoding="utf-8")


@dataclass(frozen=True)
class Golden:
    grey: np.ndarray
    boxes: dict[str, tuple[int, int, int, int]]
    made_with: str


def golden_of(case: Case) -> Golden:
    path = golden_path(case)
    entry = read_index().get(case.name)
    if not path.exists() or entry is None:
        pytest.fail(f"no golden {path.name}: make it with WORKBENCH_UPDATE_GOLDENS=1 (see this module's docstring)",
                    pytrace=False)
    with Image.open(path) as im:
        g = np.asarray(im.convert("L"), dtype=np.uint8)
    boxes = {k: tuple(int(v) for v in box) for k, box in entry["boxes"].items()}
    return Golden(g, boxes, f"the golden was drawn with {entry.get('fonts')} on Pillow {entry.get('pillow')}")


def check(case: Case, got: np.ndarray) -> Comparison:
    golden = golden_of(case)
    return compare(golden.grey, got, golden.boxes)


# -- the tests ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_key_art_copy_matches_its_golden(case: Case) -> None:
    fonts_or_skip(case.script)
    rendered = render(case)
    # what a golden must never enshrine: missing glyphs, overflow or copy shrunk below its minimum
    for f in rendered.fields:
        assert f.layout.flags == () and f.layout.missing == (), (f.name, f.layout.reasons())
    if UPDATE:
        write_golden(case, rendered)
        pytest.fail(f"wrote tests/golden/localization/{golden_path(case).name}: look at it, commit it, and run again "
                    "without WORKBENCH_UPDATE_GOLDENS", pytrace=False)
    golden = golden_of(case)
    assert golden.boxes == field_boxes(rendered), "the placement's geometry changed since the golden was made: regenerate it"
    result = compare(golden.grey, grey(rendered.image), golden.boxes)
    assert result.passes, f"{case.name}: {result.why()}; {golden.made_with}"


def test_the_goldens_show_what_each_script_needs() -> None:
    """What the committed goldens were checked for, from their record and their pixels: the long
    German, Thai and Japanese taglines wrapped (Thai at a word boundary), right-to-left copy hugs
    the right edge, and every golden is small."""
    import icu

    if UPDATE:
        pytest.skip("goldens are being written")
    index = read_index()
    assert set(index) == {c.name for c in CASES}, "goldens.json and CASES differ: regenerate"
    sizes = [golden_path(c).stat().st_size for c in CASES]
    assert max(sizes) < 80_000 and sum(sizes) < 1_500_000, sizes
    for name in ("latin-de", "thai-th", "japanese-ja"):
        assert len(index[name]["fields"]["tagline"]["lines"]) == 2, (name, index[name]["fields"]["tagline"])
    thai = index["thai-th"]["fields"]["tagline"]["lines"]
    words = icu.BreakIterator.createWordInstance(icu.Locale("th"))
    words.setText("".join(thai))
    assert len(thai[0]) in set(words)  # the first line ends where a word ends
    for case in CASES:  # each field's ink starts at its box's reading start: right for Arabic and Hebrew
        golden = golden_of(case)
        rtl = case.script in ("Arab", "Hebr")
        for name, (x, y, w, h) in golden.boxes.items():
            x0, _y0, x1, _y1 = ink_box(golden.grey[y:y + h, x:x + w])
            start_gap, end_gap = (w - x1, x0) if rtl else (x0, w - x1)
            size = index[case.name]["fields"][name]["size"]  # the margin is the inset and a side bearing
            assert start_gap <= max(4, 0.25 * size) and start_gap <= end_gap, (case.name, name, start_gap, end_gap)
        if case.placement == "16x9":  # the side column: the right one for right-to-left copy
            x0, _y0, x1, _y1 = ink_box(golden.grey)
            width = golden.grey.shape[1]
            assert (x0 > width * 0.45) if rtl else (x1 < width * 0.55), (case.name, x0, x1)


# -- the tolerance means something ----------------------------------------------------------------


def test_a_one_pixel_shift_passes() -> None:
    fonts_or_skip(ARABIC.script)
    g = grey(render(ARABIC).image)
    right = np.concatenate([g[:, :1], g[:, :-1]], axis=1)  # everything one pixel to the right
    down_right = np.concatenate([right[:1], right[:-1]], axis=0)  # and one down
    for shifted in (right, down_right):
        result = check(ARABIC, shifted)
        assert result.passes and result.box_shift == 1, result.why()


def basic_layout(rendered: Rendered, case: Case) -> Image.Image:
    """The same copy at the same sizes, baselines and right edges, drawn with Pillow's basic layout:
    no shaping (isolated letter forms) and no bidi (left-to-right order), as a renderer without
    raqm would."""
    image = background(SIZES[case.placement])
    draw = ImageDraw.Draw(image)
    for f in rendered.fields:
        x, y, _bw, _bh = f.layout.box
        font = ImageFont.truetype(f.layout.font.path, f.layout.size, index=f.layout.font.index,
                                  layout_engine=ImageFont.Layout.BASIC)
        for ln in f.layout.lines:
            right = x + ln.x + ln.width  # where the shaped line ends
            draw.text((right - font.getlength(ln.text), y + ln.baseline), ln.text, font=font, fill=(255, 255, 255), anchor="ls")
    return image


def test_arabic_drawn_unshaped_fails() -> None:
    fonts_or_skip(ARABIC.script)
    result = check(ARABIC, grey(basic_layout(render(ARABIC), ARABIC)))
    assert not result.passes and result.ssim < SSIM_MIN, result.why()


def test_arabic_mirrored_fails_on_ssim_alone() -> None:
    fonts_or_skip(ARABIC.script)
    g = grey(render(ARABIC).image).copy()
    x0, y0, x1, y1 = ink_box(g)
    g[y0:y1, x0:x1] = g[y0:y1, x0:x1][:, ::-1]  # the text mirrored where it stands: the same ink box
    result = check(ARABIC, g)
    assert result.box_shift == 0 and result.ssim < SSIM_MIN, result.why()


def with_font(monkeypatch, script: str, regular: str, bold: str) -> None:
    """The font table with another face for ``script``: everything else takes the product's path."""
    from generators.localization import fonts

    if regular not in fonts._installed() or bold not in fonts._installed():
        pytest.skip(f"{regular} (Debian fonts-noto-core) is not installed")
    table = {k: dict(v) for k, v in fonts.font_table().items()}
    table[script].update(regular=regular, bold=bold)
    monkeypatch.setattr(fonts, "font_table", lambda: table)


def test_arabic_in_another_arabic_font_fails(monkeypatch) -> None:
    """Noto Naskh Arabic instead of Noto Sans Arabic: another design of the same letters."""
    fonts_or_skip(ARABIC.script)
    with_font(monkeypatch, "Arab", "NotoNaskhArabic-Regular.ttf", "NotoNaskhArabic-Bold.ttf")
    rendered = render(ARABIC)
    assert {f.layout.font.name for f in rendered.fields} <= {"NotoNaskhArabic-Regular.ttf", "NotoNaskhArabic-Bold.ttf"}
    result = check(ARABIC, grey(rendered.image))
    assert result.ssim < SSIM_MIN, result.why()


@pytest.mark.parametrize("name,script,regular,bold", [
    ("latin-de", "Latn", "NotoSerif-Regular.ttf", "NotoSerif-Bold.ttf"),
    ("vietnamese-vi", "Latn", "NotoSerif-Regular.ttf", "NotoSerif-Bold.ttf"),
    ("thai-th", "Thai", "NotoSerifThai-Regular.ttf", "NotoSerifThai-Bold.ttf"),
    ("devanagari-hi", "Deva", "NotoSerifDevanagari-Regular.ttf", "NotoSerifDevanagari-Bold.ttf"),
])
def test_another_face_of_the_script_fails_in_other_scripts_too(monkeypatch, name, script, regular, bold) -> None:
    case = next(c for c in CASES if c.name == name)
    fonts_or_skip(case.script)
    with_font(monkeypatch, script, regular, bold)
    result = check(case, grey(render(case).image))
    assert result.ssim < SSIM_MIN, result.why()


def test_a_picture_compared_with_itself_scores_one() -> None:
    fonts_or_skip(ARABIC.script)
    rendered = render(ARABIC)
    g = grey(rendered.image)
    same = compare(g, g.copy(), field_boxes(rendered))
    assert same.ssim == pytest.approx(1.0) and same.box_shift == 0 and same.passes
