"""Title cards and end slates: the brand template, literal text fitted to its boxes, pixels
checked against the safe area, fades from and to black."""

from __future__ import annotations

import copy
import itertools
import json
from fractions import Fraction

import numpy as np
import pytest

from generators.trailers import cards
from generators.trailers.cards import (
    BUILTIN_FONT,
    DEFAULT_TEMPLATE,
    card_frames,
    clean_text,
    layout_card,
    load_template,
    parse_template,
    render_background,
    render_card,
)
from generators.trailers.timeline import Card
from workbench.errors import InvalidInput

SIZES = [(1920, 1080), (1080, 1920), (1080, 1080)]
HOSTILE = [
    'He said "No": it\'s 100% {braces} \\ back\\slash',
    "%{pts} %{localtime} $HOME ${PATH} `whoami` <b>bold</b> &amp; </text>",
    "emoji 🎬🍿👩‍👩‍👧 and ★ ☺",
    "line one\nline two\r\nline three",
    "x" * 400,  # one word far wider than any box
    " ".join(["word"] * 300),  # far more text than fits
    "tab\there; bell\x07; nul\x00; escape\x1b[31m",
    "Ünïcödé — ÅÄÖ, Ελληνικά, Кириллица, עברית, العربية",
]


@pytest.fixture(scope="module")
def template():
    return load_template()


def solid_template(color="#204060"):
    """The default template with a solid background (so every background pixel is known)."""
    raw = json.loads(DEFAULT_TEMPLATE.read_text())
    raw["background"] = {"type": "solid", "color": color}
    return parse_template(raw, name="solid.json")


def card(kind="title", **text):
    fields = {"title": "", "tagline": None, "call_to_action": None, "date": None, **text}
    return Card(kind=kind, frames=50, **fields)


def text_pixels(image: np.ndarray, blank: np.ndarray) -> np.ndarray:
    return np.any(image != blank, axis=2)


def inside(mask: np.ndarray, box: tuple[int, int, int, int]) -> bool:
    x0, y0, x1, y1 = box
    outside = mask.copy()
    outside[y0:y1, x0:x1] = False
    return not outside.any()


# -- the template -------------------------------------------------------------------------------


def test_default_template_loads_with_installed_fonts(template):
    assert set(template.cards) == {"title", "end"}
    assert template.cards["title"].duration_s == 2.0 and template.cards["end"].duration_s == 2.5
    assert template.card_frames_for("title", Fraction(25)) == 50
    assert template.card_frames_for("end", Fraction(30000, 1001)) == 75
    for choice in template.fonts.values():
        # DejaVu (Debian fonts-dejavu-core) or Noto when installed; else the built-in, with a warning
        assert choice.path or (choice.family == BUILTIN_FONT and template.warnings)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda t: t.pop("cards"), "cards: is missing"),
        (lambda t: t["background"].update(type="radial"), "background.type"),
        (lambda t: t["background"].update(colors=["#000000"]), "background.colors"),
        (lambda t: t["background"].update(colors=["#000000", "red"]), r"background.colors\[1\]"),
        (lambda t: t["safe_margin"].update(x=0.7), "safe_margin.x"),
        (lambda t: t["fonts"]["heading"].update(families=[]), "fonts.heading.families"),
        (lambda t: t["fonts"]["heading"].update(weight="black"), "fonts.heading.weight"),
        (lambda t: t["cards"]["title"].update(duration_s=0), "cards.title.duration_s"),
        (lambda t: t["cards"]["end"].update(fade_in_s=2.0, fade_out_s=1.0), "cards.end.fade_in_s"),
        (lambda t: t["cards"]["title"]["fields"]["title"].update(box=[0.5, 0.5, 0.6, 0.2]), "cards.title.fields.title.box"),
        (lambda t: t["cards"]["title"]["fields"]["title"].update(box=[0.1, 0.1, 0.5]), "cards.title.fields.title.box"),
        (lambda t: t["cards"]["title"]["fields"]["title"].update(font="serif"), "cards.title.fields.title.font"),
        (lambda t: t["cards"]["title"]["fields"]["title"].update(size=0.02, min_size=0.05), "min_size"),
        (lambda t: t["cards"]["title"]["fields"]["date"].update(color="#GGGGGG"), "cards.title.fields.date.color"),
        (lambda t: t["cards"]["title"]["fields"]["date"].update(align="justify"), "cards.title.fields.date.align"),
        (lambda t: t["cards"]["title"]["fields"]["date"].update(max_lines=0), "max_lines"),
        (lambda t: t["cards"]["title"]["fields"].update(subtitle={}), "cards.title.fields.subtitle: is not a known field"),
        (lambda t: t.update(colour="#fff"), "colour: is not a known field"),
    ],
)
def test_bad_template_is_one_line_naming_the_field(tmp_path, change, words):
    raw = json.loads(DEFAULT_TEMPLATE.read_text())
    change(raw)
    path = tmp_path / "brand.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(InvalidInput, match=words) as err:
        load_template(path)
    assert "\n" not in str(err.value) and "brand.json" in str(err.value)


def test_unreadable_templates(tmp_path):
    with pytest.raises(InvalidInput, match="no such file"):
        load_template(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{ not json")
    with pytest.raises(InvalidInput, match="not valid JSON"):
        load_template(tmp_path / "bad.json")


def test_missing_fonts_fall_back_to_builtin_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.setattr(cards, "FONT_DIRS", (str(tmp_path / "no-fonts"),))
    t = load_template()
    assert all(f.path is None and f.family == BUILTIN_FONT for f in t.fonts.values())
    assert any("built-in" in w for w in t.warnings)
    c = card(title="Still drawn", tagline="with the built-in font")
    layout = layout_card(c, t, 1920, 1080)
    assert any("built-in" in w for w in layout.warnings)
    image = render_card(c, t, 1920, 1080, layout=layout)
    assert text_pixels(image, render_background(t.background, 1920, 1080)).sum() > 1000


def test_font_given_as_a_file_path(tmp_path):
    raw = json.loads(DEFAULT_TEMPLATE.read_text())
    real = load_template().fonts["body"].path
    if real is None:
        pytest.skip("no font file installed to point at")
    raw["fonts"]["body"]["families"] = ["/nonexistent/font.ttf", real]
    assert parse_template(raw).fonts["body"].path == real


# -- text: literal, fitted, inside its box ------------------------------------------------------


def test_clean_text_keeps_everything_printable():
    assert clean_text("%{pts} $HOME <b>x</b> {a} \\ \"q\" 'q' : 🎬") == "%{pts} $HOME <b>x</b> {a} \\ \"q\" 'q' : 🎬"
    assert clean_text("a\r\nb\rc\u2028d") == "a\nb\nc\nd"
    assert clean_text("tab\there\x07\x00\x1b[0m") == "tab here[0m"
    assert clean_text("\n\n  \ntext\n\n") == "text"
    assert clean_text(None) == ""


def test_layout_draws_the_text_literally(template):
    c = card(title='He said "No": 100% {braces}', tagline="%{pts} $HOME <b>bold</b> \\n")
    layout = layout_card(c, template, 1920, 1080)
    drawn = {f.name: " ".join(f.lines) for f in layout.fields}
    assert drawn == {"title": 'He said "No": 100% {braces}', "tagline": "%{pts} $HOME <b>bold</b> \\n"}


def test_newlines_are_line_breaks(template):
    layout = layout_card(card(title="one\ntwo\nthree"), template, 1920, 1080)
    assert layout.fields[0].lines == ("one", "two", "three")


def test_long_text_shrinks_and_wraps_then_is_cut(template):
    short = layout_card(card(title="Dune"), template, 1920, 1080).fields[0]
    longer = layout_card(card(title="The Extraordinarily Long and Winding Title of This Film"), template, 1920, 1080).fields[0]
    huge = layout_card(card(title=" ".join(["word"] * 300)), template, 1920, 1080)
    assert short.font_size == round(template.cards["title"].fields["title"].size * 1080) and not short.truncated
    assert longer.font_size < short.font_size and len(longer.lines) >= 2 and not longer.truncated
    field = huge.fields[0]
    assert field.truncated and field.lines[-1].endswith("\u2026")
    assert len(field.lines) <= template.cards["title"].fields["title"].max_lines
    assert "text_truncated:title" in huge.qa_flags


def test_a_word_wider_than_the_box_is_broken(template):
    field = layout_card(card(title="Supercalifragilisticexpialidocious" * 3), template, 1080, 1920).fields[0]
    assert len(field.lines) >= 2 and all(line for line in field.lines)


def test_missing_glyphs_are_reported(template):
    layout = layout_card(card(title="Popcorn 🍿 time"), template, 1920, 1080)
    if not layout.fields[0].missing_glyphs:
        pytest.skip("the installed font has an emoji glyph")
    assert layout.fields[0].missing_glyphs == ("🍿",)
    assert "missing_glyphs:title" in layout.qa_flags


@pytest.mark.parametrize(("width", "height"), SIZES)
@pytest.mark.parametrize("kind", ["title", "end"])
def test_hostile_text_stays_inside_its_boxes_and_the_safe_area(width, height, kind):
    """Every pixel that differs from the bare background lies inside a field's box, and every
    box inside the safe area, for every hostile text in every field, in every aspect."""
    t = solid_template()
    blank = render_background(t.background, width, height)
    for text in HOSTILE:
        c = card(kind, title=text, tagline=text, call_to_action=text, date=text)
        layout = layout_card(c, t, width, height)
        image = render_card(c, t, width, height, layout=layout)
        assert image.shape == (height, width, 3) and image.dtype == np.uint8
        changed = text_pixels(image, blank)
        assert changed.any(), text
        assert inside(changed, layout.safe_box), text
        union = np.zeros_like(changed)
        for field in layout.fields:
            x0, y0, x1, y1 = field.box
            sx0, sy0, sx1, sy1 = layout.safe_box
            assert sx0 <= x0 <= x1 <= sx1 and sy0 <= y0 <= y1 <= sy1
            union[y0:y1, x0:x1] = True
            # and the field's own text lies in its own box
            alone = card(kind, **{"title": "", field.name: text})
            own = text_pixels(render_card(alone, t, width, height), blank)
            assert own.any() and inside(own, field.box), (field.name, text)
        assert not (changed & ~union).any()


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_same_text_same_image_different_text_different_image(template, width, height):
    a = render_card(card(title="Night Train", tagline="All aboard"), template, width, height)
    b = render_card(card(title="Night Train", tagline="All aboard"), template, width, height)
    c = render_card(card(title="Night Trail", tagline="All aboard"), template, width, height)
    d = render_card(card(title="%{pts}", tagline="All aboard"), template, width, height)
    e = render_card(card(title="0.000000", tagline="All aboard"), template, width, height)  # what %{pts} would expand to
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(d, e)


def test_markup_is_not_interpreted(template):
    """'<b>X</b>' is drawn as seven characters: its ink is wider than the lone 'X'."""
    blank = render_background(template.background, 1920, 1080)

    def ink_width(text):
        cols = np.flatnonzero(text_pixels(render_card(card(title=text), template, 1920, 1080), blank).any(axis=0))
        return cols[-1] - cols[0]

    assert ink_width("<b>X</b>") > 3 * ink_width("X")


def test_text_colour_comes_from_the_template():
    t = solid_template("#000000")
    image = render_card(card(title="WWWWWW"), t, 1920, 1080)
    # the title is #FFFFFF: its solid stroke pixels are pure white
    assert (np.all(image == 255, axis=2)).sum() > 500


def test_gradient_background_runs_from_first_to_last_colour(template):
    bg = render_background(template.background, 64, 64)
    top, bottom = bg[0].mean(axis=0), bg[-1].mean(axis=0)
    first, last = np.array(template.background.colors[0]), np.array(template.background.colors[-1])
    assert np.abs(top - first).max() <= 3 and np.abs(bottom - last).max() <= 3


def test_bad_sizes_and_kinds_are_refused(template):
    with pytest.raises(InvalidInput, match="card size"):
        render_card(card(title="x"), template, 0, 1080)
    raw = json.loads(DEFAULT_TEMPLATE.read_text())
    t = parse_template(raw)
    broken = copy.copy(t)
    object.__setattr__(broken, "cards", {"title": t.cards["title"]})
    with pytest.raises(InvalidInput, match="no style for a 'end' card"):
        layout_card(card("end", title="x"), broken, 1920, 1080)


# -- frames and fades ---------------------------------------------------------------------------


def test_card_frames_fade_from_and_to_black(template):
    c = Card(kind="end", frames=63, title="The End", call_to_action="Watch now")
    frames = list(card_frames(c, template, 320, 180, fps=25))
    assert len(frames) == 63
    still = render_card(c, template, 320, 180)
    assert not frames[0].any() and not frames[-1].any()  # black at both ends
    fade_in = round(template.cards["end"].fade_in_s * 25)
    fade_out = round(template.cards["end"].fade_out_s * 25)
    means = [f.mean() for f in frames]
    assert all(a < b for a, b in itertools.pairwise(means[: fade_in + 1]))  # rising
    assert all(a > b for a, b in itertools.pairwise(means[-fade_out - 1 :]))  # falling
    for f in frames[fade_in : 63 - fade_out]:
        assert np.array_equal(f, still)
        assert not f.flags.writeable  # shared, not copied: callers must not draw on it


def test_card_frames_without_fps_assume_the_template_duration(template):
    c = Card(kind="title", frames=50, title="T")
    frames = list(card_frames(c, template, 160, 90))
    assert len(frames) == 50 and not frames[0].any() and frames[25].any()
