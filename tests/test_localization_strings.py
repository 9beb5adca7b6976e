"""Translated strings in: every format the localization kind reads, written by the tests
themselves, the checks a localization lead relies on (placeholders, untranslated copy, pre-shaped
Arabic, bad locale codes), hostile files refused with one line and nothing stored, hostile text
kept literal but bounded, and the normalised set stored by content hash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from generators.localization.strings import (
    MAX_FIELD_CHARS,
    check_strings,
    normalize_locale,
    parse_strings,
    placeholders,
    read_strings,
)
from workbench.errors import InvalidInput

EN = {"title": "The Long Night", "tagline": "Some doors stay closed {date}", "call_to_action": "Watch now",
      "date": "2026-12-12", "legal": "© 2026 Example Studio"}
DE = {"title": "Die lange Nacht", "tagline": "Manche Türen bleiben zu {date}", "call_to_action": "Jetzt ansehen",
      "date": "Ab {date}", "legal": "© 2026 Example Studio GmbH"}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def xliff12(source: dict, target: dict, trg: str = "de") -> str:
    units = "".join(f'<trans-unit id="{k}"><source>{v}</source><target>{target[k]}</target></trans-unit>'
                    for k, v in source.items() if k in target)
    return (f'<?xml version="1.0" encoding="UTF-8"?><xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2">'
            f'<file source-language="en" target-language="{trg}" datatype="plaintext" original="promo"><body>{units}'
            f'</body></file></xliff>')


def strings_json(tmp_path: Path, locales: dict, name: str = "s.json") -> Path:
    return write(tmp_path / name, json.dumps({"source_locale": "en", "locales": locales}, ensure_ascii=False))


# -- formats ---------------------------------------------------------------------------------------


def test_xliff_12_reads_source_and_target(tmp_path) -> None:
    s, report = read_strings(write(tmp_path / "de.xlf", xliff12(EN, DE)))
    assert s.format == "xliff12" and s.source_locale == "en" and s.codes == ("en", "de")
    assert s.get("de").title == "Die lange Nacht" and s.get("de").date == "Ab {date}"
    assert s.availability == "2026-12-12"
    assert report.flags == ()


def test_xliff_20_reads_units_and_inline_placeholders(tmp_path) -> None:
    doc = ('<xliff version="2.0" xmlns="urn:oasis:names:tc:xliff:document:2.0" srcLang="en" trgLang="fr-FR">'
           '<file id="f1"><unit id="title"><segment><source>The Long Night</source><target>La longue nuit</target>'
           '</segment></unit><unit id="tagline"><segment><source>Out <ph id="1" equiv="{date}"/></source>'
           '<target>Sortie <ph id="1" equiv="{date}"/></target></segment></unit></file></xliff>')
    s, report = read_strings(write(tmp_path / "fr.xliff", doc))
    assert s.format == "xliff20" and s.codes == ("en", "fr-FR")
    assert s.get("fr-FR").tagline == "Sortie {date}"
    assert not [f for f in report.flags if f.code == "placeholder_mismatch"]


def test_po_csv_and_json_read_the_same_set(tmp_path) -> None:
    po = write(tmp_path / "de.po", 'msgid ""\nmsgstr ""\n"Language: de\\n"\n"X-Source-Language: en\\n"\n'
               '"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
               + "".join(f'msgctxt "{k}"\nmsgid "{v}"\nmsgstr "{DE[k]}"\n\n' for k, v in EN.items()))
    rows = write(tmp_path / "rows.csv", "locale,title,tagline,call_to_action,date,legal\n"
                 + "\n".join(",".join([code, *(f'"{d[k]}"' for k in EN)]) for code, d in (("en", EN), ("de", DE))) + "\n")
    keyed = write(tmp_path / "keys.csv", "key,en,de\n" + "\n".join(f'{k},"{EN[k]}","{DE[k]}"' for k in EN) + "\n")
    js = strings_json(tmp_path, {"en": EN, "de": DE})
    sets = [parse_strings(p) for p in (po, rows, keyed, js)]
    assert [s.format for s in sets] == ["po", "csv", "csv", "json"]
    for s in sets:
        assert s.source_locale == "en" and s.get("de").to_dict() == sets[-1].get("de").to_dict()
        assert s.availability == "2026-12-12"


def po_file(path: Path, lang: str, source: dict, target: dict) -> Path:
    return write(path, f'msgid ""\nmsgstr ""\n"Language: {lang}\\n"\n"X-Source-Language: en\\n"\n'
                       '"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                       + "".join(f'msgctxt "{k}"\nmsgid "{v}"\nmsgstr "{target.get(k, "")}"\n\n' for k, v in source.items()))


FR = {"title": "La longue nuit", "tagline": "Certaines portes restent closes {date}", "call_to_action": "Regarder",
      "date": "Dès le {date}", "legal": "© 2026 Example Studio SAS"}


def test_a_folder_of_po_files_is_one_set(home, tmp_path) -> None:
    """A vendor's delivery: a PO file per locale (and an XLIFF one) in a folder, merged into one set;
    what is not a strings file, hidden files and subfolders are left alone."""
    from generators.localization.store import import_strings, load_strings

    folder = tmp_path / "promo-po"
    folder.mkdir()
    po_file(folder / "de.po", "de", EN, DE)
    po_file(folder / "fr.po", "fr", EN, {k: v for k, v in FR.items() if k != "legal"})
    write(folder / "ja.xlf", xliff12(EN, {**DE, "title": "長い夜"}, trg="ja"))
    write(folder / "README.txt", "delivered 2026-11-30")
    write(folder / ".de.po.swp", "junk")
    (folder / "old").mkdir()
    po_file(folder / "old" / "de.po", "de", EN, {**DE, "title": "Alt"})
    s = parse_strings(folder)
    assert s.source_locale == "en" and s.codes == ("en", "de", "fr", "ja") and s.format == "po+xliff12"
    assert s.get("de").title == "Die lange Nacht" and s.get("ja").title == "長い夜" and s.availability == "2026-12-12"
    sha, report = import_strings(folder)
    assert load_strings(sha).to_dict() == s.to_dict()
    assert report.flags_of("fr") == ("untranslated",) and report.file == "promo-po"
    assert import_strings(folder)[0] == sha  # the same delivery twice is the same set


@pytest.mark.parametrize("files,expected", [
    ({"de.po": ("de", EN, DE), "de-2.po": ("de", EN, DE)}, "de is in both de-2.po and de.po"),
    ({"de.po": ("de", EN, DE), "fr.po": ("fr", {**EN, "title": "The Longest Night"}, FR)},
     "the source title differs between de.po and fr.po"),
    ({}, "a folder with no strings files"),
])
def test_a_folder_that_disagrees_is_refused_with_one_line_and_nothing_stored(home, tmp_path, files, expected) -> None:
    from generators.localization.store import import_strings
    from workbench.settings import get_settings
    from workbench.store import AssetStore

    folder = tmp_path / "delivery"
    folder.mkdir()
    for name, (lang, source, target) in files.items():
        po_file(folder / name, lang, source, target)
    with pytest.raises(InvalidInput) as info:
        import_strings(folder)
    assert str(info.value).startswith(f"delivery: {expected}") and "\n" not in str(info.value), str(info.value)
    assert list(AssetStore(get_settings().store_dir).iter_files()) == []


def test_a_hostile_file_in_a_folder_refuses_the_folder(home, tmp_path) -> None:
    from generators.localization.store import import_strings
    from workbench.settings import get_settings
    from workbench.store import AssetStore

    folder = tmp_path / "delivery"
    folder.mkdir()
    po_file(folder / "de.po", "de", EN, DE)
    write(folder / "evil.xlf", BILLION_LAUGHS)
    with pytest.raises(InvalidInput, match=r"^evil.xlf: refused"):
        import_strings(folder)
    assert list(AssetStore(get_settings().store_dir).iter_files()) == []


def test_locale_codes_are_checked_with_babel(tmp_path) -> None:
    assert [normalize_locale(c) for c in ("pt_BR", "zh-Hant", "es-419", "ar-EG", "sr-Latn")] == \
        ["pt-BR", "zh-Hant", "es-419", "ar-EG", "sr-Latn"]
    with pytest.raises(InvalidInput, match="unknown locale 'xx-YY'"):
        parse_strings(strings_json(tmp_path, {"en": EN, "xx-YY": DE}))
    with pytest.raises(InvalidInput, match="bad locale code"):
        parse_strings(strings_json(tmp_path, {"en": EN, "de;rm -rf": DE}))


# -- checks ----------------------------------------------------------------------------------------


def test_placeholder_mismatch_is_flagged_per_field(tmp_path) -> None:
    assert placeholders("Hi %(name)s, %s on {date} 100%%") == ["%(name)s", "%s", "{date}"]
    de = {**DE, "tagline": "Manche Türen bleiben zu", "call_to_action": "Jetzt {jetzt}"}
    report = check_strings(parse_strings(strings_json(tmp_path, {"en": EN, "de": de})))
    lines = [f.line() for f in report.flags if f.code == "placeholder_mismatch"]
    assert lines == ["de.tagline: placeholder_mismatch: source has {date}; translation has none",
                     "de.call_to_action: placeholder_mismatch: source has none; translation has {jetzt}"]


def test_missing_and_copied_translations_are_untranslated(tmp_path) -> None:
    fr = {"title": "La longue nuit", "tagline": EN["tagline"], "call_to_action": "Regarder"}
    en_gb = {**EN}  # same language as the source: a copy is fine
    report = check_strings(parse_strings(strings_json(tmp_path, {"en": EN, "fr": fr, "en-GB": en_gb})))
    fr_flags = {(f.field, f.message) for f in report.flags if f.locale == "fr" and f.code == "untranslated"}
    assert fr_flags == {("tagline", "identical to the source text"), ("legal", "no translation")}
    assert report.flags_of("en-GB") == ()
    assert "date" not in {f.field for f in report.flags}  # no date phrasing: the formatted date alone


def test_preshaped_arabic_is_flagged(tmp_path) -> None:
    ar = {"title": "\ufeb7\ufe8e\ufeeb\ufeaa", "tagline": "بعض الأبواب {date}", "call_to_action": "شاهد الآن",
          "legal": "© ٢٠٢٦"}
    report = check_strings(parse_strings(strings_json(tmp_path, {"en": EN, "ar": ar})))
    pre = [f for f in report.flags if f.code == "preshaped_input"]
    assert [(f.locale, f.field) for f in pre] == [("ar", "title")]
    assert "U+FEB7" in pre[0].message


def test_the_report_says_per_locale_what_was_found(tmp_path) -> None:
    de = {**DE, "legal": None}
    _s, report = read_strings(strings_json(tmp_path, {"en": EN, "de": de, "ja": {"title": "長い夜"}}))
    text = "\n".join(report.lines())
    assert text.splitlines()[0].startswith("s.json: json, source en, 3 locales")
    assert "German" in text and "Japanese" in text and "ja.tagline: untranslated: no translation" in text
    doc = report.to_dict()
    assert [r["locale"] for r in doc["locales"]] == ["en", "de", "ja"]
    assert doc["locales"][1]["present"] == ["title", "tagline", "call_to_action", "date"]


# -- hostile input ---------------------------------------------------------------------------------


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2"><file source-language="en" target-language="de">
<body><trans-unit id="title"><source>&lol3;</source><target>&lol3;</target></trans-unit></body></file></xliff>"""

EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2"><file source-language="en" target-language="de">
<body><trans-unit id="title"><source>&secret;</source><target>x</target></trans-unit></body></file></xliff>"""


@pytest.mark.parametrize("doc", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_hostile_xml_is_refused_with_one_line_and_nothing_stored(home, tmp_path, doc) -> None:
    from generators.localization.store import import_strings
    from workbench.settings import get_settings
    from workbench.store import AssetStore

    path = write(tmp_path / "evil.xlf", doc)
    with pytest.raises(InvalidInput) as info:
        import_strings(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith("evil.xlf: refused") and "passwd" not in message
    assert list(AssetStore(get_settings().store_dir).iter_files()) == []


def test_a_50_mb_strings_file_is_refused_before_it_is_read(home, tmp_path) -> None:
    from generators.localization.store import import_strings
    from workbench.settings import get_settings
    from workbench.store import AssetStore

    path = tmp_path / "huge.json"
    with open(path, "wb") as f:
        f.truncate(50 * 1000 * 1000)  # sparse: no 50 MB written
    with pytest.raises(InvalidInput, match=r"huge.json: 50.0 MB is too big for a strings file"):
        import_strings(path)
    assert list(AssetStore(get_settings().store_dir).iter_files()) == []


def test_hostile_text_is_kept_literal_but_bounded(tmp_path) -> None:
    hostile = {"title": "<b>Bold</b> %{pts} drawtext=text='x':fontfile=/etc/passwd;[0:v]",
               "tagline": "A\x1b[31mred\x07 line\u202eevil\u2066", "call_to_action": "x" * (MAX_FIELD_CHARS + 500),
               "legal": "{{date}} %% \\N"}
    s, report = read_strings(strings_json(tmp_path, {"en": EN, "de": hostile}))
    de = s.get("de")
    assert de.title == hostile["title"]  # markup and filter syntax are just characters
    assert de.tagline == "A[31mred lineevil"
    assert len(de.call_to_action) == MAX_FIELD_CHARS
    assert de.legal == "{{date}} %% \\N"
    codes = {(f.code, f.field) for f in report.flags if f.locale == "de"}
    assert {("control_characters", "tagline"), ("bidi_controls", "tagline"), ("too_long", "call_to_action")} <= codes


def test_not_a_strings_file_is_one_line(tmp_path) -> None:
    for name, text, expected in [("a.json", "{nope", "not valid JSON"), ("a.xlf", "<xliff", "not well-formed XML"),
                                 ("a.csv", "foo,bar\n1,2\n", "first column must be"), ("a.txt", "hi", "not a strings file"),
                                 ("a.json", json.dumps({"source_locale": "en", "locales": {"en": {"titel": "x"}}}),
                                  "unknown field 'titel'")]:
        with pytest.raises(InvalidInput, match=expected) as info:
            parse_strings(write(tmp_path / name, text))
        assert "\n" not in str(info.value)


# -- stored by content hash ------------------------------------------------------------------------


def test_import_stores_the_normalised_set_once_by_hash(home, tmp_path) -> None:
    from generators.localization.store import import_strings, load_strings
    from workbench.catalog import open_catalog, repo

    sha_xlf, report = import_strings(write(tmp_path / "de.xlf", xliff12(EN, DE)))
    sha_json, _ = import_strings(strings_json(tmp_path, {"en": EN, "de": DE}))
    sha_again, _ = import_strings(write(tmp_path / "again.xlf", xliff12(EN, DE)))
    assert sha_again == sha_xlf and len(sha_xlf) == 64
    assert report.source_locale == "en"
    loaded = load_strings(sha_xlf)
    assert loaded.get("de").title == "Die lange Nacht" and loaded.availability == "2026-12-12"
    assert load_strings(sha_json).get("de").to_dict() == loaded.get("de").to_dict()
    with open_catalog().session() as session:
        asset = repo.get_asset_by_sha256(session, sha_xlf)
        assert (asset.kind, asset.mime, asset.ext, asset.original_name) == ("document", "application/json", ".json", "de.xlf")


def test_strings_import_command_prints_the_report_or_json(home, tmp_path) -> None:
    from typer.testing import CliRunner

    from generators.localization.cli import strings_app

    path = strings_json(tmp_path, {"en": EN, "de": {**DE, "tagline": "ohne Platzhalter"}})
    runner = CliRunner()
    plain = runner.invoke(strings_app, ["import", str(path)])
    assert plain.exit_code == 0, plain.output
    assert "de.tagline: placeholder_mismatch" in plain.output and "stored as " in plain.output
    as_json = runner.invoke(strings_app, ["import", str(path), "--json"])
    doc = json.loads(as_json.output)
    assert len(doc["sha256"]) == 64 and doc["locales"][1]["flags"][0]["code"] == "placeholder_mismatch"
    bad = runner.invoke(strings_app, ["import", str(write(tmp_path / "evil.xlf", BILLION_LAUGHS))])
    assert bad.exit_code == 2 and len(bad.output.strip().splitlines()) == 1
