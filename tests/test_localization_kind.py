"""The localized kind end to end on a real ingested title: strings imported, key art per locale ×
placement generated through the one workflow path, signed and catalogued, each with its locale,
QA flags, recipe (fonts, sizes, lines, contrast, flags with reasons) and explanation; a corrected
translation regenerates only the locale whose text changed."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from PIL import Image

from generators.localization.kind import LocalizationKind, LocalizedParams
from tests.conftest import ffmpeg
from tests.test_localization_render import font_or_skip
from workbench import workflow
from workbench.errors import InvalidInput

EN = {"title": "The Long Night", "tagline": "Some doors should stay closed", "call_to_action": "Watch now",
      "date": "2026-12-12", "legal": "© 2026 Example Studio. All rights reserved."}
LOCALES = {
    "en": EN,
    "de": {"title": "Die lange Nacht", "tagline": "Manche Türen sollten für immer und ewig verschlossen bleiben, "
                                                  "selbst in der längsten Nacht des Jahres",
           "call_to_action": "Jetzt ansehen", "date": "Ab {date}", "legal": "© 2026 Example Studio. Alle Rechte vorbehalten."},
    "ar-EG": {"title": "الليلة الطويلة", "tagline": "بعض الأبواب يجب أن تبقى مغلقة", "call_to_action": "شاهد الآن",
              "date": "ابتداءً من {date}", "legal": "© ٢٠٢٦ استوديو مثال"},
    "th": {"title": "คืนอันยาวนาน", "tagline": "ประตูบางบานควรปิดไว้ตลอดไป", "call_to_action": "รับชมเลย",
           "date": "ตั้งแต่ {date}", "legal": "© 2026 Example Studio"},
    "ja": {"title": "長い夜", "tagline": "開けてはならない扉がある", "call_to_action": "今すぐ視聴", "date": "{date}より",
           "legal": "© 2026 Example Studio"},
    "fr": {"title": "La longue nuit", "tagline": "Some doors should stay closed", "call_to_action": "Regarder %s",
           "date": "Dès le {date}", "legal": "© 2026 Example Studio"},
}
SCRIPTS = {"Latn", "Arab", "Thai", "Jpan"}
FIELDS_DRAWN = ("title", "tagline", "call_to_action", "date", "legal")


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """3 s, 640x360: a face (scikit-image's astronaut) on the left of a test pattern."""
    from skimage import data as pictures

    work = tmp_path_factory.mktemp("localized-title")
    face = work / "astronaut.png"
    Image.fromarray(pictures.astronaut()).resize((200, 200)).save(face)
    dest = work / "title.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-loop", "1", "-framerate", "25", "-i", str(face),
           "-filter_complex", "[0:v][1:v]overlay=x=60:y=80:shortest=1,format=yuv420p", "-t", "3",
           "-c:v", "libx264", "-preset", "ultrafast", str(dest))
    return dest


@pytest.fixture
def title(home, clip) -> str:
    for script in SCRIPTS:
        font_or_skip(script)
    return workflow.ingest(clip, "Localized Title").title_name


def import_set(tmp_path: Path, locales: dict, name: str = "promo.json") -> str:
    from generators.localization.store import import_strings

    path = tmp_path / name
    path.write_text(json.dumps({"source_locale": "en", "locales": locales}, ensure_ascii=False), encoding="utf-8")
    sha, _report = import_strings(path)
    return sha


def recipe_of(variant_id: int) -> dict:
    from workbench.catalog import open_catalog, repo

    with open_catalog().session() as session:
        return dict(repo.get_variants(session, [variant_id])[0].recipe)


def test_bad_parameters_fail_before_analysis(home) -> None:
    kind = LocalizationKind()
    started = time.perf_counter()
    for data, message in [({}, "strings is required"), ({"strings": "x" * 64}, "sha256 of an imported strings set"),
                          ({"strings": "0" * 64, "locales": ["xx-YY"]}, "unknown locale 'xx-YY'"),
                          ({"strings": "0" * 64, "formats": ["4x3"]}, "unknown format"),
                          ({"strings": "0" * 64, "segment": "opera"}, "unknown segment")]:
        with pytest.raises(InvalidInput, match=message):
            kind.check_params(kind.parse_params(data))
    assert time.perf_counter() - started < 0.5
    assert kind.fan_out({"strings": "0" * 64, "locales": ["de", "ar-EG"]}) == [
        {"strings": "0" * 64, "locales": [loc], "formats": ["16x9", "2x3", "1x1", "9x16"], "segment": "action",
         "date_style": "long"}
        for loc in ("de", "ar-EG")]
    assert isinstance(kind.parse_params({"strings": "0" * 64}), LocalizedParams)


def test_key_art_per_locale_and_placement_with_qa_flags_signed_and_reused(home, title, tmp_path) -> None:
    from provenance import verify_with_settings
    from workbench.settings import Settings

    sha = import_set(tmp_path, LOCALES)
    started = time.perf_counter()
    result = workflow.generate("localized", title, {"strings": sha, "formats": ["16x9", "2x3"]})
    elapsed = time.perf_counter() - started
    variants = {(v.locale, v.format): v for v in result.variants}
    assert set(variants) == {(loc, fmt) for loc in LOCALES for fmt in ("16x9", "2x3")}
    kind = LocalizationKind()
    for (loc, fmt), v in variants.items():
        with Image.open(v.path) as im:
            assert im.format == "JPEG" and im.size == {"16x9": (1920, 1080), "2x3": (1000, 1500)}[fmt]
        recipe = recipe_of(v.variant_id)
        d = recipe["details"]
        assert recipe["parameters"]["locale"] == loc and set(d["fields"]) == {"title", "tagline", "call_to_action", "date", "legal"}
        for name, f in d["fields"].items():
            assert f["missing_glyphs"] == [], (loc, name, f)
            assert f["contrast"]["ratio"] >= 4.5 or "low_contrast" in v.qa_flags, (loc, name, f["contrast"])
            assert f["lines"] and f["font"]
        assert "missing_glyphs" not in v.qa_flags and "overflow" not in v.qa_flags, (loc, fmt, d["flags"])
        for flag in v.qa_flags:  # every flag has a reason a reviewer reads
            assert any(r["code"] == flag and r["reason"] for r in d["flags"]), (flag, d["flags"])
        explained = kind.explain(recipe, v.score)
        assert explained.heading == "How the text was fitted" and any(label == "title" for label, _ in explained.facts)
    # locale-aware dates, shaped scripts, flags from the strings
    de = recipe_of(variants[("de", "16x9")].variant_id)["details"]["fields"]
    assert de["date"]["text"] == "Ab 12. Dezember" and len(de["tagline"]["lines"]) >= 2  # the long tagline wrapped
    ar = recipe_of(variants[("ar-EG", "16x9")].variant_id)["details"]
    assert ar["fields"]["title"]["direction"] == "rtl" and ar["fields"]["date"]["text"] == "ابتداءً من ١٢ ديسمبر"
    assert ar["fields"]["title"]["font"].startswith("NotoSansArabic")
    assert recipe_of(variants[("th", "2x3")].variant_id)["details"]["fields"]["title"]["font"].startswith("NotoSansThai")
    assert recipe_of(variants[("ja", "2x3")].variant_id)["details"]["fields"]["title"]["font"] == "NotoSansCJK-Bold.ttc"
    assert {"untranslated", "placeholder_mismatch"} <= set(variants[("fr", "16x9")].qa_flags)
    assert set(variants[("en", "16x9")].qa_flags) <= {"over_face", "low_contrast", "shrunk_below_min"}
    # provenance, on every output: opened on the source frame, cropped/resized, the text drawn; no model claimed
    for v in variants.values():
        report = verify_with_settings(v.path, Settings())
        assert report.state in ("Valid", "Trusted"), (v.locale, v.format, report.state)
        actions = [a.action for a in report.manifest.actions]
        assert actions[0] == "c2pa.opened" and "c2pa.drawing" in actions
        assert all(a.digital_source_type is None for a in report.manifest.actions)
    assert elapsed < 60, elapsed

    # each text drawn beside its source, with the flags about it (the variant page's two columns)
    de_copy = {c.field: c for c in kind.explain(recipe_of(variants[("de", "2x3")].variant_id)).copy}
    assert set(de_copy) == set(FIELDS_DRAWN) and all(c.locale == "de" for c in de_copy.values())
    assert de_copy["date"].rendered == "Ab 12. Dezember" and de_copy["date"].source == "December 12"
    assert de_copy["tagline"].rendered == LOCALES["de"]["tagline"] and de_copy["tagline"].source == EN["tagline"]
    assert de_copy["title"].flags == ()
    fr_copy = {c.field: c for c in kind.explain(recipe_of(variants[("fr", "16x9")].variant_id)).copy}
    assert fr_copy["tagline"].rendered == fr_copy["tagline"].source == EN["tagline"]
    assert "untranslated" in fr_copy["tagline"].flags and "placeholder_mismatch" in fr_copy["call_to_action"].flags
    assert "untranslated" not in fr_copy["title"].flags
    en_copy = kind.explain(recipe_of(variants[("en", "16x9")].variant_id)).copy
    assert en_copy and all(c.source is None for c in en_copy)  # the source locale's text is not a translation
    for v in variants.values():  # every flag of a variant is on the line of the text it is about
        lines = kind.explain(recipe_of(v.variant_id)).copy
        assert set(v.qa_flags) == {f for c in lines for f in c.flags}, (v.locale, v.format, v.qa_flags, lines)

    # a corrected German tagline: only German is made again
    fixed = {**LOCALES, "de": {**LOCALES["de"], "tagline": "Manche Türen bleiben zu"}}
    again = workflow.generate("localized", title, {"strings": import_set(tmp_path, fixed, "fixed.json"),
                                                   "formats": ["16x9", "2x3"]})
    fresh = {(v.locale, v.format) for v in again.variants if not v.reused}
    assert fresh == {("de", "16x9"), ("de", "2x3")}
    assert {v.version for v in again.variants if v.locale == "de"} == {2}


def test_recipes_made_before_the_copy_was_recorded_still_explain() -> None:
    """A recipe of kind version 0.1 (no ``copy`` in its details) explains without it; malformed
    rows are skipped, never fatal (a recipe is data from the catalog)."""
    from generators.trailers.kind import TrailerKind

    old = {"generator": "localized", "generator_version": "0.1.0",
           "parameters": {"locale": "de", "format": "16x9", "segment": "action", "texts": {"title": "Die lange Nacht"}},
           "details": {"frame": 12, "time": 0.5, "block": "left", "flags": [],
                       "fields": {"title": {"font": "NotoSans-Bold.ttf", "size": 110, "sizes": [118, 64], "lines": ["Die lange Nacht"],
                                            "decision": "fits", "contrast": {"ratio": 12.1, "scrim": 0.0}}}}}
    explained = LocalizationKind().explain(old)
    assert explained.copy == () and any(label == "title" for label, _ in explained.facts)
    assert TrailerKind().explain({"generator": "trailer", "parameters": {}, "details": {"clips": []}}).copy == ()
    odd = {**old, "details": {**old["details"], "copy": [{"field": "title"}, "x", {"field": "title", "rendered": "Die lange Nacht",
                                                                                   "source": 3, "flags": "overflow"}]}}
    (line,) = LocalizationKind().explain(odd).copy
    assert (line.field, line.rendered, line.source, line.flags) == ("title", "Die lange Nacht", None, ())


def test_a_subset_of_locales_and_an_unknown_one(home, title, tmp_path) -> None:
    sha = import_set(tmp_path, LOCALES)
    result = workflow.generate("localized", title, {"strings": sha, "locales": ["ar-EG"], "formats": ["1x1"]})
    assert [(v.locale, v.format) for v in result.variants] == [("ar-EG", "1x1")]
    with pytest.raises(InvalidInput, match="the strings set has no ko"):
        workflow.generate("localized", title, {"strings": sha, "locales": ["ko"]})


KHMER = {"title": "រាត្រីដ៏វែង", "tagline": "ទ្វារខ្លះគួរតែបិទជានិច្ច", "call_to_action": "មើលឥឡូវនេះ", "date": "{date}",
         "legal": "© 2026 Example Studio"}


def test_a_brief_without_locales_is_a_job_per_locale_and_a_failing_locale_stops_no_other(home, title, tmp_path) -> None:
    """A brief item naming no locales fans out into a job per locale of the stored set; Khmer, whose
    script the font table does not cover, fails its own job with one line, and the others are made."""
    from workbench import jobs
    from workbench.briefs import load_brief, plan_jobs

    sha = import_set(tmp_path, {"en": EN, "de": LOCALES["de"], "km": KHMER})
    brief = tmp_path / "brief.json"
    brief.write_text(json.dumps({"name": "launch", "title": title,
                                 "generators": [{"kind": "localized", "strings": sha, "formats": ["1x1"]}]}), "utf-8")
    specs = plan_jobs(load_brief(brief))
    assert sorted(s.params["locales"] for s in specs) == [["de"], ["en"], ["km"]]
    views = [view for view, _ in jobs.create_jobs(specs, brief_name="launch")]
    outcomes = {view.params["locales"][0]: jobs.run_job(view.id) for view in views}
    assert outcomes["en"].outcome == outcomes["de"].outcome == "done", outcomes
    assert outcomes["km"].outcome == "failed" and "Khmr" in outcomes["km"].error and "\n" not in outcomes["km"].error
    assert len(outcomes["de"].result["variants"]) == 1


def test_the_localize_command_reports_each_locale_as_it_is_done(home, title, tmp_path) -> None:
    """Without --json: a line per variant as its locale is done, a failing locale on stderr, exit 0
    while anything was made."""
    from typer.testing import CliRunner

    from workbench.cli import app

    path = tmp_path / "promo.json"
    path.write_text(json.dumps({"source_locale": "en", "locales": {"en": EN, "de": LOCALES["de"], "km": KHMER}},
                               ensure_ascii=False), encoding="utf-8")
    r = CliRunner().invoke(app, ["localize", title, "--strings", str(path), "--locales", "km,de", "--formats", "1x1"])
    assert r.exit_code == 0, r.output
    assert [ln.split()[:3] for ln in r.stdout.splitlines()] == [["de", "localized", "1x1"]]
    assert "km       localized  not made: no font for the Khmr script" in r.stderr


def test_the_localize_command_builds_params_from_a_file_a_hash_or_the_last_import(home, tmp_path) -> None:
    from generators.localization.cli import localize
    from workbench.cli.generate import kind_command

    kind_command("localized", localize)  # the CLI can mount it (options read from its signature)
    with pytest.raises(InvalidInput, match="no strings imported yet"):
        localize()
    path = tmp_path / "promo.json"
    path.write_text(json.dumps({"source_locale": "en", "locales": {"en": EN, "de": LOCALES["de"]}}), encoding="utf-8")
    from_file = localize(strings=str(path), locales="de", formats="16x9,1x1")
    assert from_file.locales == ("de",) and from_file.formats == ("16x9", "1x1") and len(from_file.strings) == 64
    assert localize(strings=from_file.strings).strings == from_file.strings
    assert localize().strings == from_file.strings  # without --strings: the last import
    with pytest.raises(InvalidInput, match="unknown format"):
        localize(strings=str(path), formats="4x3")


def test_text_goes_beside_the_face_not_over_it(home, title, tmp_path) -> None:
    sha = import_set(tmp_path, {"en": EN})
    result = workflow.generate("localized", title, {"strings": sha, "formats": ["16x9"]})
    (v,) = result.variants
    d = recipe_of(v.variant_id)["details"]
    if not d["faces"]:
        pytest.skip("no face detected in the test clip")
    assert d["faces"][0]["x"] < 0.4 and d["block"] == "right"  # the face is on the left: the block goes right
    assert "over_face" not in v.qa_flags and not any(f["over_face"] for f in d["fields"].values())


def test_export_groups_localized_art_per_locale(home, title, tmp_path) -> None:
    import json as _json
    import zipfile

    from tests.review_helpers import AD_OPS, CREATIVE
    from workbench import review
    from workbench.export import export_approved
    from workbench.settings import Settings

    sha = import_set(tmp_path, LOCALES)
    result = workflow.generate("localized", title, {"strings": sha, "locales": ["ar-EG", "de"], "formats": ["1x1"]})
    review.decide(CREATIVE, [v.variant_id for v in result.variants], "approve", "copy checked", settings=Settings())
    out = export_approved(AD_OPS, tmp_path / "exports", settings=Settings())
    assert not out.blocked, out.blocked
    names = {f.arcname for f in out.files}
    assert {n.split("/")[1] for n in names} == {"ar-EG", "de"} and all(n.startswith("localized/") for n in names)
    with zipfile.ZipFile(out.zip_path) as z:
        manifest = _json.loads(z.read("manifest.json"))
    rows = manifest["files"] if isinstance(manifest, dict) and "files" in manifest else manifest
    assert {r["locale"] for r in rows} == {"ar-EG", "de"}


def test_the_localize_batch_makes_key_art_and_trailers_per_locale(home, tmp_path) -> None:
    """``workbench localize TITLE --kinds thumbnail,trailer``: per locale the key art and a trailer
    whose cards carry the locale's copy; --json lists each variant with its locale and flags."""
    from typer.testing import CliRunner

    from tests.test_trailers import make_title
    from workbench.cli import app

    for script in ("Latn", "Arab"):
        font_or_skip(script)
    workflow.ingest(make_title(tmp_path / "long.mp4"), "Batch Title")
    path = tmp_path / "promo.json"
    path.write_text(json.dumps({"source_locale": "en", "locales": {k: LOCALES[k] for k in ("en", "de", "ar-EG", "fr")}},
                               ensure_ascii=False), encoding="utf-8")
    r = CliRunner().invoke(app, ["localize", "Batch Title", "--strings", str(path), "--locales", "de,ar-EG,fr", "--kinds",
                                 "thumbnail,trailer", "--formats", "1x1", "--trailer-durations", "6", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert not out["problems"], out["problems"]
    made = {(v["kind"], v["locale"]) for v in out["variants"]}
    assert made == {(kind, loc) for kind in ("localized", "trailer") for loc in ("de", "ar-EG", "fr")}
    assert all(isinstance(v["qa_flags"], list) and Path(v["file"]).is_file() for v in out["variants"])
    # the trailers' cards: each text drawn beside its source, and the strings' flags on the variant
    from generators.trailers.kind import TrailerKind

    trailers = {v["locale"]: v for v in out["variants"] if v["kind"] == "trailer"}
    ar = {c.field: c for c in TrailerKind().explain(recipe_of(trailers["ar-EG"]["variant_id"])).copy}
    assert ar["title"].rendered == LOCALES["ar-EG"]["title"] and ar["title"].source == EN["title"]
    assert ar["date"].rendered == "ابتداءً من ١٢ ديسمبر" and ar["date"].source == "December 12"
    assert all(c.locale == "ar-EG" and c.flags == () for c in ar.values())
    fr = {c.field: c for c in TrailerKind().explain(recipe_of(trailers["fr"]["variant_id"])).copy}
    assert fr["tagline"].flags == ("untranslated",) and fr["tagline"].rendered == fr["tagline"].source == EN["tagline"]
    assert "placeholder_mismatch" in fr["call_to_action"].flags
    assert {"untranslated", "placeholder_mismatch"} <= set(trailers["fr"]["qa_flags"])
    assert not {"untranslated", "placeholder_mismatch"} & set(trailers["de"]["qa_flags"])
    from provenance import verify_with_settings
    from workbench.settings import Settings

    for v in out["variants"]:  # every output, key art and trailer, verifies
        assert verify_with_settings(Path(v["file"]), Settings()).state in ("Valid", "Trusted"), v
    bad = CliRunner().invoke(app, ["localize", "Batch Title", "--strings", str(path), "--kinds", "hologram"])
    assert bad.exit_code == 2 and "--kinds" in bad.output
