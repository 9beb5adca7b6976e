"""Briefs: parsing YAML and JSON, schema problems as one line each with their location, hostile
files refused early, and the fan-out into job specs."""

from __future__ import annotations

import json
import textwrap
import time
import tracemalloc
from pathlib import Path

import jsonschema
import pytest

from generators.imaging.crop import FORMATS
from generators.thumbnails.generator import ThumbnailParams
from generators.audience.segments import SEGMENTS
from workbench.briefs import (
    MAX_BRIEF_BYTES,
    InvalidBrief,
    JobSpec,
    brief_schema,
    generator_params,
    load_brief,
    parse_brief,
    plan_jobs,
)
from workbench.errors import InvalidInput

ASSETS = Path(__file__).resolve().parents[1] / "assets" / "briefs"
ALL_SEGMENTS = list(SEGMENTS)
ALL_FORMATS = list(FORMATS)
KNOWN_SEGMENTS = ", ".join(SEGMENTS)
KNOWN_KINDS = "localized, pause_ad, shoppable, spot, thumbnail, trailer"


def yaml_brief(text: str) -> str:
    return textwrap.dedent(text).lstrip()


def problems_of(text: str, fmt: str = "yaml", source: str = "brief.yaml") -> tuple[str, ...]:
    with pytest.raises(InvalidBrief) as info:
        parse_brief(text, fmt, source)
    assert isinstance(info.value, InvalidInput)
    return info.value.problems


def write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


MINIMAL = yaml_brief(
    """
    name: Launch artwork
    title: Sample Title
    generators:
      - kind: thumbnail
    """
)


# -- valid briefs -------------------------------------------------------------------------------


def test_minimal_yaml_brief_fills_every_default():
    brief = parse_brief(MINIMAL, "yaml", "brief.yaml")
    assert (brief.name, brief.title, brief.source) == ("Launch artwork", "Sample Title", "brief.yaml")
    assert [(item.kind, item.params, item.index) for item in brief.items] == [("thumbnail", {}, 0)]
    assert plan_jobs(brief) == [
        JobSpec(
            "thumbnail",
            "Sample Title",
            {"segments": [segment], "formats": ALL_FORMATS, "top_k": 3, "title_text": None, "output": ["jpeg"]},
        )
        for segment in ALL_SEGMENTS
    ]


def test_yaml_and_json_briefs_give_the_same_jobs(tmp_path):
    spec = {
        "name": "Launch artwork",
        "title": "Sample Title",
        "generators": [
            {
                "kind": "thumbnail",
                "segments": ["romance", "action"],
                "formats": ["2x3", "16x9"],
                "top_k": 2,
                "title_text": "Sample Title",
                "output": ["webp", "jpeg"],
            }
        ],
    }
    from_json = load_brief(write(tmp_path, "brief.json", json.dumps(spec)))
    from_yaml = load_brief(
        write(
            tmp_path,
            "brief.yml",
            yaml_brief(
                """
                name: Launch artwork
                title: Sample Title
                generators:
                  - kind: thumbnail
                    segments: [romance, action]
                    formats: [2x3, 16x9]
                    top_k: 2
                    title_text: "Sample Title"
                    output: [webp, jpeg]
                """
            ),
        )
    )
    assert from_json.to_dict() == from_yaml.to_dict() == spec
    shared = {"formats": ["16x9", "2x3"], "top_k": 2, "title_text": "Sample Title", "output": ["jpeg", "webp"]}
    expected = [
        JobSpec("thumbnail", "Sample Title", {"segments": ["romance"], **shared}),
        JobSpec("thumbnail", "Sample Title", {"segments": ["action"], **shared}),
    ]
    assert plan_jobs(from_json) == plan_jobs(from_yaml) == expected


def test_repeated_segments_and_items_give_each_job_once_in_brief_order():
    brief = parse_brief(
        yaml_brief(
            """
            name: Repeats
            title: Sample Title
            generators:
              - {kind: thumbnail, segments: [comedy, action, comedy], formats: [16x9, 1x1, 16x9]}
              - {kind: thumbnail, segments: [action, drama], formats: [1x1, 16x9]}
              - {kind: thumbnail, segments: [action], formats: [1x1], top_k: 5}
            """
        ),
        "yaml",
        "brief.yaml",
    )
    jobs = plan_jobs(brief)
    assert [(j.params["segments"], j.params["formats"], j.params["top_k"]) for j in jobs] == [
        (["comedy"], ["16x9", "1x1"], 3),
        (["action"], ["16x9", "1x1"], 3),
        (["drama"], ["16x9", "1x1"], 3),
        (["action"], ["1x1"], 5),
    ]
    assert len({json.dumps(j.key_material(), sort_keys=True) for j in jobs}) == len(jobs)
    assert plan_jobs(brief) == jobs  # deterministic


def test_key_material_is_canonical_json_and_the_spec_builds_generator_params():
    spec = plan_jobs(parse_brief(MINIMAL, "yaml", "brief.yaml"))[0]
    material = spec.key_material()
    assert material == {"kind": "thumbnail", "title": "Sample Title", "params": spec.params}
    assert json.loads(json.dumps(material, allow_nan=False)) == material
    assert generator_params(spec) == ThumbnailParams(segments=("action",), formats=tuple(FORMATS), top_k=3)


def test_title_text_is_data_quotes_colons_and_percent_are_kept():
    text = "It's 100%: Part \\II {x} [y] -- 'quoted'"
    brief = parse_brief(json.dumps({"name": "n", "title": "t", "generators": [{"kind": "thumbnail", "title_text": text}]}),
                        "json", "brief.json")
    assert {j.params["title_text"] for j in plan_jobs(brief)} == {text}


def test_yaml_scalars_follow_yaml_1_2_core():
    # `no` is not false (the Norway problem), an unquoted number is a title id, a quoted one a name
    assert problems_of(MINIMAL.replace("- kind: thumbnail", "- {kind: thumbnail, segments: [no]}")) == (
        f"brief.yaml: generators[0].segments[0]: 'no' is not a known segment (known: {KNOWN_SEGMENTS})",
    )
    assert parse_brief(MINIMAL.replace("Sample Title", "1917"), "yaml", "b.yaml").title == 1917
    assert parse_brief(MINIMAL.replace("Sample Title", '"1917"'), "yaml", "b.yaml").title == "1917"
    assert parse_brief(MINIMAL.replace("Launch artwork", "2024-01-01"), "yaml", "b.yaml").name == "2024-01-01"


def test_the_sample_brief_in_assets_parses():
    brief = load_brief(ASSETS / "sample-launch.yaml")
    assert brief.title == "Sample Title"
    jobs = plan_jobs(brief)
    assert [j.params["segments"] for j in jobs] == [[s] for s in SEGMENTS]
    assert all(j.params["formats"] == ALL_FORMATS and j.params["top_k"] == 3 for j in jobs)


def test_the_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(brief_schema())


def test_a_new_kind_brings_its_own_schema_and_fan_out(monkeypatch):
    from dataclasses import dataclass

    import generators
    from generators.base import CreativeKind
    from generators.params import IntList, KindParams, param

    @dataclass(frozen=True)
    class FakeTeaserParams(KindParams):
        durations: tuple[int, ...] = param((30,), IntList(6, 180))

    class FakeTeaser(CreativeKind):
        kind, label, version, Params = "teaser", "Teaser", "0", FakeTeaserParams

        def fan_out(self, item):
            return [{"duration": d} for d in item.get("durations", [30])]

        def generate(self, context, params):
            raise NotImplementedError

    monkeypatch.setitem(generators.KINDS, "teaser", FakeTeaser())
    text = MINIMAL + "  - kind: teaser\n    durations: [15, 60]\n"
    assert [j.params for j in plan_jobs(parse_brief(text, "yaml", "b.yaml"))][-2:] == [{"duration": 15}, {"duration": 60}]
    assert problems_of(MINIMAL + "  - {kind: teaser, segments: [action]}\n") == (
        "brief.yaml: generators[1].segments: unknown field (allowed: kind, durations)",
    )


# -- one clear line per problem -----------------------------------------------------------------

SCHEMA_CASES = {
    "unknown kind": (
        "  - kind: westerns\n",
        "brief.yaml: generators[1].kind: 'westerns' is not a known generator kind (known: " + KNOWN_KINDS + ")",
    ),
    "unknown segment": (
        "  - {kind: thumbnail, segments: [action, westerns]}\n",
        f"brief.yaml: generators[1].segments[1]: 'westerns' is not a known segment (known: {KNOWN_SEGMENTS})",
    ),
    "unknown format": (
        "  - {kind: thumbnail, formats: [4x3]}\n",
        "brief.yaml: generators[1].formats[0]: '4x3' is not a known format (known: 16x9, 2x3, 1x1, 9x16)",
    ),
    "unknown output": (
        "  - {kind: thumbnail, output: [png]}\n",
        "brief.yaml: generators[1].output[0]: 'png' is not a known output type (known: jpeg, webp)",
    ),
    "top_k 0": ("  - {kind: thumbnail, top_k: 0}\n", "brief.yaml: generators[1].top_k: must be from 1 to 10, got 0"),
    "top_k 11": ("  - {kind: thumbnail, top_k: 11}\n", "brief.yaml: generators[1].top_k: must be from 1 to 10, got 11"),
    "top_k text": (
        "  - {kind: thumbnail, top_k: '3'}\n",
        "brief.yaml: generators[1].top_k: expected an integer, got text '3'",
    ),
    "top_k float": (
        "  - {kind: thumbnail, top_k: 3.0}\n",
        "brief.yaml: generators[1].top_k: expected an integer, got the number 3.0",
    ),
    "segments not a list": (
        "  - {kind: thumbnail, segments: action}\n",
        "brief.yaml: generators[1].segments: expected a list, got text 'action'",
    ),
    "empty segments": (
        "  - {kind: thumbnail, segments: []}\n",
        "brief.yaml: generators[1].segments: must list at least 1 item, got 0",
    ),
    "extra key in an item": (
        "  - {kind: thumbnail, colour: red}\n",
        "brief.yaml: generators[1].colour: unknown field (allowed: kind, segments, formats, top_k, title_text, output, treatment)",
    ),
    "item without kind": ("  - {top_k: 3}\n", "brief.yaml: generators[1].kind: required field is missing"),
    "item not a mapping": ("  - thumbnail\n", "brief.yaml: generators[1]: expected a mapping, got text 'thumbnail'"),
    "title_text with a control character": (
        '  - {kind: thumbnail, title_text: "Sample\\tTitle"}\n',
        "brief.yaml: generators[1].title_text: must be one printable line: 'Sample\\tTitle' "
        "contains a control character (U+0009)",
    ),
    "title_text on two lines": (
        '  - {kind: thumbnail, title_text: "Sample\\nTitle"}\n',
        "brief.yaml: generators[1].title_text: must be one printable line: 'Sample\\nTitle' "
        "contains a control character (U+000A)",
    ),
    "title_text too long": (
        f"  - {{kind: thumbnail, title_text: {'x' * 101}}}\n",
        "brief.yaml: generators[1].title_text: must be at most 100 characters, got 101",
    ),
    "title_text not text": (
        "  - {kind: thumbnail, title_text: [a]}\n",
        "brief.yaml: generators[1].title_text: expected text, got a list",
    ),
}


@pytest.mark.parametrize("item, line", SCHEMA_CASES.values(), ids=SCHEMA_CASES.keys())
def test_item_problem_is_one_line_with_its_location(item, line):
    problems = problems_of(MINIMAL + item)
    assert problems == (line,)
    assert "\n" not in line


TOP_LEVEL_CASES = {
    "missing title": ("name: n\ngenerators: [{kind: thumbnail}]\n", "brief.yaml: title: required field is missing"),
    "extra key": (MINIMAL + "owner: me\n", "brief.yaml: owner: unknown field (allowed: name, title, generators)"),
    "empty generators": ("name: n\ntitle: t\ngenerators: []\n", "brief.yaml: generators: must list at least 1 item, got 0"),
    "generators not a list": (
        "name: n\ntitle: t\ngenerators: {kind: thumbnail}\n",
        "brief.yaml: generators: expected a list, got a mapping",
    ),
    "too many generators": (
        "name: n\ntitle: t\ngenerators:\n" + "  - {kind: thumbnail}\n" * 51,
        "brief.yaml: generators: must list at most 50 items, got 51",
    ),
    "name not text": (MINIMAL.replace("Launch artwork", "[a, b]"), "brief.yaml: name: expected text, got a list"),
    "name too long": (
        MINIMAL.replace("Launch artwork", "n" * 201),
        "brief.yaml: name: must be at most 200 characters, got 201",
    ),
    "empty name": (MINIMAL.replace("Launch artwork", "''"), "brief.yaml: name: must not be blank"),
    "title a boolean": (MINIMAL.replace("Sample Title", "true"), "brief.yaml: title: expected text or an integer, got true"),
    "title id 0": (MINIMAL.replace("Sample Title", "0"), "brief.yaml: title: a title id is a positive integer, got 0"),
    "title a path": (
        MINIMAL.replace("Sample Title", "../etc"),
        "brief.yaml: title: title name '../etc' may not contain '/', '\\' or '..'",
    ),
}


@pytest.mark.parametrize("text, line", TOP_LEVEL_CASES.values(), ids=TOP_LEVEL_CASES.keys())
def test_top_level_problem_is_one_line_with_its_location(text, line):
    assert problems_of(text) == (line,)


def test_every_problem_is_collected_into_one_error_showing_five():
    text = yaml_brief(
        """
        name: Launch artwork
        extra: 1
        generators:
          - {kind: thumbnail, segments: [westerns], top_k: 0, formats: [4x3], output: [png], colour: red}
          - {kind: hologram}
        """
    )
    with pytest.raises(InvalidBrief) as info:
        parse_brief(text, "yaml", "brief.yaml")
    problems = info.value.problems
    assert problems == (
        "brief.yaml: title: required field is missing",
        "brief.yaml: extra: unknown field (allowed: name, title, generators)",
        f"brief.yaml: generators[0].segments[0]: 'westerns' is not a known segment (known: {KNOWN_SEGMENTS})",
        "brief.yaml: generators[0].formats[0]: '4x3' is not a known format (known: 16x9, 2x3, 1x1, 9x16)",
        "brief.yaml: generators[0].top_k: must be from 1 to 10, got 0",
        "brief.yaml: generators[0].output[0]: 'png' is not a known output type (known: jpeg, webp)",
        "brief.yaml: generators[0].colour: unknown field (allowed: kind, segments, formats, top_k, title_text, output, treatment)",
        "brief.yaml: generators[1].kind: 'hologram' is not a known generator kind (known: " + KNOWN_KINDS + ")",
    )
    assert str(info.value) == "; ".join(problems[:5]) + "; and 3 more"


def test_problems_name_the_file_not_its_directory(tmp_path):
    path = write(tmp_path, "launch.json", json.dumps({"name": "n", "title": "t", "generators": []}))
    with pytest.raises(InvalidBrief, match=r"^launch\.json: generators: must list at least 1 item, got 0$"):
        load_brief(path)


# -- hostile and broken files -------------------------------------------------------------------

BILLION_LAUGHS = yaml_brief(
    """
    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
    h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
    i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
    """
)


def test_billion_laughs_is_refused_at_once(tmp_path):
    path = write(tmp_path, "laughs.yaml", BILLION_LAUGHS)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(InvalidBrief) as info:
            load_brief(path)
    finally:
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert str(info.value) == (
        "laughs.yaml: line 1, column 4: YAML anchors (&a) are not allowed in a brief; write the value out"
    )
    assert elapsed < 0.5
    assert peak < 5 * 2**20


def test_an_alias_alone_is_refused():
    assert problems_of("a: *x\n") == ("brief.yaml: line 1, column 4: YAML aliases (*x) are not allowed in a brief; write the value out",)


@pytest.mark.parametrize(
    "text, tag",
    [
        ("!!python/object/apply:os.system [touch pwned]\n", "!!python/object/apply:os.system"),
        (MINIMAL.replace("Launch artwork", "!!python/object:builtins.dict {}"), "!!python/object:builtins.dict"),
        (MINIMAL.replace("Launch artwork", "!custom x"), "!custom"),
        (MINIMAL.replace("Launch artwork", "!!binary aGk="), "!!binary"),
    ],
)
def test_yaml_tags_are_refused(tmp_path, monkeypatch, text, tag):
    monkeypatch.chdir(tmp_path)
    (problem,) = problems_of(text)
    assert f"YAML tags ({tag}) are not allowed in a brief" in problem
    assert not (tmp_path / "pwned").exists()


def test_oversize_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:
        f.truncate(4 * 2**30)  # sparse: reading it would take seconds and gigabytes
    started = time.perf_counter()
    with pytest.raises(InvalidBrief, match=r"^huge\.yaml: 4294967296 bytes; a brief is at most 1048576 bytes \(1 MiB\)$"):
        load_brief(path)
    assert time.perf_counter() - started < 0.5
    just_over = write(tmp_path, "over.json", b" " * (MAX_BRIEF_BYTES + 1))
    with pytest.raises(InvalidBrief, match="at most 1048576 bytes"):
        load_brief(just_over)
    with pytest.raises(InvalidBrief, match="at most 1 MiB"):
        parse_brief(" " * (MAX_BRIEF_BYTES + 1), "yaml", "pasted")


def test_non_utf8_is_refused(tmp_path):
    path = write(tmp_path, "latin1.yaml", "name: Caf\u00e9\n".encode("latin-1"))
    with pytest.raises(InvalidBrief, match=r"^latin1\.yaml: not UTF-8 text \(byte 0xe9 at offset 9\); save the brief as UTF-8$"):
        load_brief(path)


def test_utf8_with_a_bom_is_read(tmp_path):
    assert load_brief(write(tmp_path, "bom.yaml", b"\xef\xbb\xbf" + MINIMAL.encode())).name == "Launch artwork"


def test_a_raw_control_character_in_yaml_is_refused():
    assert problems_of("name: a\x07b\n") == (
        "brief.yaml: line 1, column 8: a control character (U+0007) is not allowed in YAML text "
        "(write it as an escape in double quotes, if at all)",
    )


@pytest.mark.parametrize(
    "name, data, message",
    [
        ("empty.yaml", "", "empty.yaml: the brief is empty; it needs name, title and generators"),
        ("comments.yaml", "# nothing yet\n", "comments.yaml: the brief is empty; it needs name, title and generators"),
        ("empty.json", " \n", "empty.json: the brief is empty; it needs name, title and generators"),
        ("list.yaml", "- kind: thumbnail\n", "list.yaml: a brief is a mapping of name, title and generators, not a list"),
        ("text.json", '"brief"', "text.json: a brief is a mapping of name, title and generators, not text"),
        ("brief.txt", MINIMAL, "brief.txt: a brief is a .yaml, .yml or .json file, not '.txt'"),
        ("brief", MINIMAL, "brief: a brief is a .yaml, .yml or .json file, not 'no suffix'"),
        ("dupe.yaml", "name: a\nname: b\n", "dupe.yaml: line 2, column 1: duplicate key 'name'"),
        ("dupe.json", '{"name": "a", "title": "t", "name": "b"}', "dupe.json: duplicate key 'name' in one object"),
        ("keys.yaml", "1: a\n", "keys.yaml: line 1, column 1: mapping keys are text, not an integer (1)"),
        ("nan.json", '{"name": NaN}', "nan.json: NaN is not a JSON number"),
        ("inf.json", '{"name": 1e999}', "inf.json: number '1e999' is out of range"),
        ("broken.json", '{"name": "a",}', "broken.json: line 1, column 14: not valid JSON: Expecting property name enclosed in double quotes"),
        ("broken.yaml", "name: [a\n", "broken.yaml: line 2, column 1: not valid YAML: while parsing a flow sequence expected ',' or ']', but got '<stream end>'"),
        ("two.yaml", "a: 1\n---\nb: 2\n", "two.yaml: line 2, column 1: not valid YAML: expected a single document in the stream but found another document"),
    ],
)
def test_broken_files_give_one_clear_line(tmp_path, name, data, message):
    with pytest.raises(InvalidBrief) as info:
        load_brief(write(tmp_path, name, data))
    assert info.value.problems == (message,)


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(InvalidBrief, match=r"^nope\.yaml: no such file"):
        load_brief(tmp_path / "nope.yaml")


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_deeply_nested_json_is_refused(tmp_path, opening):
    path = write(tmp_path, "deep.json", opening * 200_000)
    started = time.perf_counter()
    with pytest.raises(InvalidBrief, match=r"^deep\.json: nested deeper than 32 levels$"):
        load_brief(path)
    assert time.perf_counter() - started < 0.5


def test_brackets_inside_json_strings_do_not_count_as_nesting():
    text = json.dumps({"name": "[[[[" * 20 + '\\"{{', "title": "t", "generators": [{"kind": "thumbnail"}]})
    assert parse_brief(text, "json", "b.json").name.startswith("[[[[")


def test_deeply_nested_yaml_is_refused():
    assert problems_of("a: " + "[" * 100_000) == ("brief.yaml: line 1, column 35: nested deeper than 32 levels",)
